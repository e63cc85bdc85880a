//! What the clients' tracing tests share: a subscriber that keeps its output in memory, the
//! faults the scripted reads run into, and what the output must and must not contain.

use std::sync::{Arc, Mutex};

use syvault_dev::{Fault, FaultStatus};
use syvault_proto::stats::ClientStats;
use syvault_tests::vault::{API_KEY, DB_PASSWORD, Vault};

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// A subscriber that records everything, down to `TRACE`, into this buffer.
    pub(crate) fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
    }

    /// What was recorded so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// The faults of the scripted reads: the first read of the database secret gets a 503 without
/// `Retry-After` (a retry), the first read of the Stripe key a 401 to the token the client
/// reuses from the first read (one re-signed request).
pub(crate) fn inject_faults(vault: &Vault) {
    vault.faults().inject(
        Fault::status(FaultStatus::ServiceUnavailable)
            .retry_after(None)
            .on_path(Vault::secret_path(&vault.database)),
    );
    vault.faults().inject(
        Fault::status(FaultStatus::Unauthorized)
            .retry_after(None)
            .on_path(Vault::secret_path(&vault.stripe)),
    );
}

/// Checks the captured output of: get the database secret (503, retry), get it again (cache
/// hit), get the Stripe key (401, re-sign). Every event is there; no secret value, token or
/// client secret is.
pub(crate) fn assert_traced(text: &str, vault: &Vault, stats: &ClientStats) {
    assert_eq!(vault.faults().pending(), 0, "both faults were met");
    let database = Vault::secret_path(&vault.database);
    let stripe = Vault::secret_path(&vault.stripe);
    for expected in [
        "syvault{op=\"GetSecret\" subject=",
        "sending request",
        "attempt=2",
        "signed a new bearer token",
        "cache miss",
        "status=503",
        "retrying",
        "status=200",
        "cache hit",
        "status=401",
        "401 to a reused token: re-signing once",
        database.as_str(),
        stripe.as_str(),
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert_eq!(
        text.matches("signed a new bearer token").count(),
        2,
        "one token for the first request, one after the 401:\n{text}"
    );
    assert_eq!(
        (
            stats.retries,
            stats.reauthentications,
            stats.tokens_signed,
            stats.cache_hits
        ),
        (1, 1, 2, 1),
        "{stats:?}"
    );
    for value in [DB_PASSWORD, API_KEY] {
        assert!(!text.contains(value), "a secret value in:\n{text}");
    }
    assert!(
        !text.contains("Bearer") && !text.contains("eyJ"),
        "no token: {text}"
    );
    let file = vault.dir().join(format!("{}.json", vault.client.client_id));
    let credentials = std::fs::read_to_string(file).expect("the client's credentials file");
    let json: serde_json::Value = serde_json::from_str(&credentials).unwrap();
    let client_secret = json["client_secret"].as_str().expect("client_secret");
    let middle = &client_secret[client_secret.len() / 2..][..24];
    assert!(
        !text.contains(client_secret) && !text.contains(middle),
        "no client secret: {text}"
    );
    assert!(
        !text.contains(vault.client.token.expose()),
        "no one-time token: {text}"
    );
}
