//! The clients' `tracing` output, captured while the blocking client reads a secret through a
//! 503 retry against `syvault-dev`. Alone in its test binary: an event first met on another
//! thread while no subscriber listened would stay switched off.

use std::sync::{Arc, Mutex};

use syvault_dev::{Fault, FaultStatus};
use syvault_tests::sdk::{Blocking, SdkClient};
use syvault_tests::vault::{DB_PASSWORD, Vault};

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_get_through_a_retry_is_traced_without_secrets() {
    let vault = Vault::start();
    let client = vault.client::<Blocking>(&vault.settings());
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        vault.faults().inject(
            Fault::status(FaultStatus::ServiceUnavailable)
                .times(1)
                .retry_after(None)
                .on_path(Vault::secret_path(&vault.database)),
        );
        let secret = client.get(vault.database.as_str()).expect("get");
        assert_eq!(
            secret.field("password").expect("password").expose(),
            DB_PASSWORD
        );
        client.get(vault.database.as_str()).expect("cached");
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let path = Vault::secret_path(&vault.database);
    for expected in [
        "syvault{op=\"GetSecret\" uid=",
        "signed a new bearer token",
        "cache miss",
        "status=503",
        "retrying",
        "status=200",
        "cache hit",
        path.as_str(),
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(!text.contains(DB_PASSWORD), "{text}");
    assert!(
        !text.contains("Bearer") && !text.contains("eyJ"),
        "no token: {text}"
    );
    let file = vault.dir().join(format!("{}.json", vault.client.client_id));
    let credentials = std::fs::read_to_string(file).expect("the client's credentials file");
    let json: serde_json::Value = serde_json::from_str(&credentials).unwrap();
    let client_secret = json["client_secret"].as_str().expect("client_secret");
    assert!(!text.contains(client_secret), "{text}");
}
