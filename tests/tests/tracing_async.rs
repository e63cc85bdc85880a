//! The async client's `tracing` output, captured while it reads secrets against `syvault-dev`
//! through a 503 retry and a 401 re-sign. Alone in its test binary, like the blocking client's.
//!
//! A subscriber set as the default is a thread's: the client runs on a current-thread runtime,
//! so that the operations, the tasks they spawn (hyper's connections) and the reads spawned
//! below all run on the thread that holds it.

mod capture;

use capture::Captured;
use syvault_tests::sdk::{Async, Sdk};
use syvault_tests::vault::{API_KEY, DB_PASSWORD, Vault};

#[test]
fn reads_through_a_retry_and_a_re_sign_are_traced_without_secrets() {
    let vault = Vault::start();
    let settings = vault.settings();
    let credentials =
        Async::bootstrap(&vault.url(), vault.client.token.expose(), &settings).expect("bootstrap");
    // Only the client is taken: its own multi-threaded runtime stays idle.
    let wrapper = Async::connect(&vault.save(&credentials), &settings).expect("connect");
    let client = wrapper.client().clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let captured = Captured::default();
    let guard = tracing::subscriber::set_default(captured.subscriber());
    capture::inject_faults(&vault);
    runtime.block_on(async {
        let secret = client.secrets().get(vault.database).await.expect("get");
        assert_eq!(
            secret.field("password").expect("password").expose(),
            DB_PASSWORD
        );
        client.secrets().get(vault.database).await.expect("cached");
        // A spawned task: it runs on this thread too, under the same subscriber.
        let reader = client.clone();
        let stripe = vault.stripe;
        let stripe = tokio::spawn(async move { reader.secrets().get(stripe).await })
            .await
            .expect("reader task")
            .expect("get after a 401");
        assert_eq!(stripe.field("api_key").expect("api_key").expose(), API_KEY);
    });
    drop(guard);
    capture::assert_traced(&captured.text(), &vault, &client.stats());
}
