//! Blocking SyVault Secrets Manager client.
//!
//! [`SyVaultClient`] runs the Sans-IO operations of [`syvault_proto`] over a pooled
//! [`ureq`] agent with rustls: it only sends the requests the core builds, sleeps when the core
//! asks, and hands every answer back. Tokens, decryption, caching, retries, notation and
//! rotation polling all happen in the core. Each request is logged through `tracing` at debug
//! level (method, path, status, duration; never a header, query or body).
//!
//! ```no_run
//! use syvault_ureq::{RecordPayload, SyVaultClient};
//!
//! // Once, with the one-time token from the web vault:
//! let credentials = SyVaultClient::bootstrap("https://vault.example.com", "vft_…")?;
//! let client = SyVaultClient::from_credentials(credentials)?;
//!
//! let password = client.secrets().notation("sy://Production/Database/field/password")?;
//! for summary in client.secrets().list()? {
//!     println!("{} {:?} {}", summary.uid, summary.folder_path, summary.title);
//! }
//! let rotated = client.secrets().rotate("7Kj9mNpQ2xRs")?;
//! println!("rotated to revision {}", rotated.revision);
//! # let _ = password;
//! # Ok::<(), syvault_ureq::Error>(())
//! ```
//!
//! Secret values are [`SecretString`]s: `Debug` and `Display` print `[redacted]`, and reading
//! one takes an explicit [`SecretString::expose`].
//!
//! # Networks
//!
//! Server certificates are verified against the operating system's trust store, read through
//! `rustls-native-certs` (which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`) at most once per
//! process, at the first TLS connection (a client of a plain-http loopback server never reads
//! it), plus the CAs given
//! with `add_root_certificates_pem` or the `SY_CA_CERT` PEM file; there is no way to turn
//! verification off. `client_certificate_pem` presents a client certificate for mutual TLS.
//! `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (upper or lower case) are honoured
//! by default, tunnelling with `CONNECT`; `proxy(url)` sets a proxy explicitly and
//! `disable_proxy()` goes direct (see [`syvault_proto::proxy`]).
//!
//! # Cargo features
//!
//! - `mozilla-roots` (off by default): also trust the Mozilla root bundle compiled into the
//!   binary, for containers without an OS trust store (such as `scratch` or distroless images
//!   without `ca-certificates`).
//! - `tracing` (on by default): one span per operation (with the UID, reference or lease id
//!   it is about) and events for every request (method, path, attempt, status, elapsed
//!   time), retry wait, token signature, 401 re-signature, cache decision (hit, miss,
//!   revalidation, stale serve, coalesced wait, eviction), folder reload, rotation status and
//!   the reading of the OS trust store (certificates, errors, milliseconds), through the
//!   `tracing` crate; install a subscriber to see them. Never a
//!   value, token, key, body or header value. [`ClientStats`] counters (from `stats()`) are
//!   always kept.

mod builder;
mod client;
mod driver;
mod dynamic;
mod resolver;
mod snapshot;
mod timeouts;
mod tls;
mod transport;

pub use builder::SyVaultClientBuilder;
pub use client::{Secrets, SyVaultClient};
pub use dynamic::{DEFAULT_CLOSE_TIMEOUT, Dynamic, LeaseKeeper};
pub use syvault_proto as proto;
pub use syvault_proto::builder::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, IntoClientId};
pub use syvault_proto::config::RotationPolicy;
pub use syvault_proto::error::{
    ApiError, ErrorCode, ErrorDetails, ErrorSource, FileAction, TransportErrorKind,
};
pub use syvault_proto::folders::FolderInfo;
pub use syvault_proto::jwt::TokenMode;
pub use syvault_proto::lease::{Lease, LeaseInfo};
pub use syvault_proto::model::{
    Credentials, RotationOutcome, RotationStarted, Secret, SecretSummary, Selected,
};
pub use syvault_proto::ops::{KeeperState, LeaseEnd, LeaseStatus};
pub use syvault_proto::record::{Fields, RecordPayload};
pub use syvault_proto::retry::RetryPolicy;
pub use syvault_proto::stats::ClientStats;
pub use syvault_proto::uuid::Uuid;
pub use syvault_proto::wire::{Access, RotationStatus};
pub use syvault_proto::{Error, RecordUid, Result, SecretString, http, uuid};

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Clone + Send + Sync + 'static>() {}

    /// Compile-time: one client can be cloned into and shared between threads.
    #[test]
    fn the_client_is_shareable_between_threads() {
        shareable::<SyVaultClient>();
    }

    /// Compile-time: the documented constructor takes the client id as text or as a UUID, and
    /// the UID arguments take text or a [`RecordUid`].
    #[test]
    fn constructors_and_uid_arguments_take_text_or_typed_values() {
        #[allow(dead_code)]
        fn calls(secret: SecretString, id: Uuid, uid: RecordUid) -> Result<()> {
            let client = SyVaultClient::new("https://vault.example.com", id, secret)?;
            SyVaultClient::new(
                "https://vault.example.com",
                "0b5c1c9e-2f3a-4d5e-8f70-8192a3b4c5d6",
                "MIG…",
            )?;
            SyVaultClient::new(String::from("https://x"), id.to_string(), String::new())?;
            let secrets = client.secrets();
            let _: std::sync::Arc<Secret> = secrets.get(uid)?;
            secrets.get("7Kj9mNpQ2xRs")?;
            secrets.get(String::from("7Kj9mNpQ2xRs"))?;
            let outcome: RotationOutcome = secrets.rotate(uid)?;
            let _: &Fields = outcome.new_fields();
            let _: RotationStatus = outcome.status;
            secrets.resume_rotation(uid, outcome.rotation_id)?;
            let _: SecretString = secrets.notation("sy://x/title")?.into_secret();
            let _: Option<Access> = None;
            let _: http::StatusCode = http::StatusCode::OK;
            let _: uuid::Uuid = id;
            let _: ClientStats = client.stats();
            Ok(())
        }
    }

    #[test]
    fn a_client_id_that_is_not_a_uuid_is_invalid_input() {
        let error = SyVaultClient::new("https://vault.example.com", "not-a-uuid", "x").unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidInput {
                    what: "client id",
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
