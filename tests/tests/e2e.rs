//! Both clients through the same scenarios, against `syvault-dev` over real TCP and TLS.

mod ureq {
    syvault_tests::scenario_tests!(syvault_tests::sdk::Blocking);
}

mod hyper {
    syvault_tests::scenario_tests!(syvault_tests::sdk::Async);

    use std::time::Duration;

    use syvault_tests::sdk::{Async, SdkClient};
    use syvault_tests::vault::{DB_PASSWORD, Vault};

    /// A read whose future is dropped mid-request does not hold up the next read of the same
    /// secret (which would otherwise wait for the abandoned fetch).
    #[test]
    fn dropping_a_get_future_releases_its_fetch() {
        let vault = Vault::start();
        let harness = vault.client::<Async>(&vault.settings());
        harness.folders().expect("folders");
        harness.clear_cache();
        vault.faults().set_latency(Duration::from_millis(300));
        let client = harness.client();
        let uid = vault.database.as_str();

        let dropped = harness.runtime().block_on(async {
            tokio::time::timeout(Duration::from_millis(50), client.secrets().get(uid)).await
        });
        assert!(dropped.is_err(), "the first read was cut short");

        let secret = harness
            .runtime()
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(3), client.secrets().get(uid)).await
            })
            .expect("not held up by the abandoned read")
            .expect("get");
        assert_eq!(
            secret.field("password").expect("password").expose(),
            DB_PASSWORD
        );
    }
}
