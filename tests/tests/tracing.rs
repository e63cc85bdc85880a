//! The blocking client's `tracing` output, captured while it reads secrets against
//! `syvault-dev` through a 503 retry and a 401 re-sign. Alone in its test binary: an event
//! first met on another thread while no subscriber listened would stay switched off.

mod capture;

use capture::Captured;
use syvault_tests::sdk::{Blocking, SdkClient};
use syvault_tests::vault::{API_KEY, DB_PASSWORD, Vault};

#[test]
fn reads_through_a_retry_and_a_re_sign_are_traced_without_secrets() {
    let vault = Vault::start();
    let client = vault.client::<Blocking>(&vault.settings());
    let captured = Captured::default();
    tracing::subscriber::with_default(captured.subscriber(), || {
        capture::inject_faults(&vault);
        let secret = client.get(vault.database.as_str()).expect("get");
        assert_eq!(
            secret.field("password").expect("password").expose(),
            DB_PASSWORD
        );
        client.get(vault.database.as_str()).expect("cached");
        let stripe = client.get(vault.stripe.as_str()).expect("get after a 401");
        assert_eq!(stripe.field("api_key").expect("api_key").expose(), API_KEY);
    });
    capture::assert_traced(&captured.text(), &vault, &client.stats());
}
