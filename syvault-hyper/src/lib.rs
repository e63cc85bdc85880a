//! Asynchronous SyVault Secrets Manager client for tokio.
//!
//! [`AsyncSyVaultClient`] runs the Sans-IO operations of [`syvault_proto`] over hyper 1 with
//! rustls (HTTP/1.1, pooled connections): it only sends the requests the core builds, sleeps
//! when the core asks, and hands every answer back. Tokens, decryption, caching, retries,
//! notation and rotation polling all happen in the core. The client is `Clone + Send + Sync`,
//! concurrent reads of one secret share one request, and every future is cancel-safe.
//! Each request is logged through `tracing` at debug level (method, path, status, duration;
//! never a header, query or body).
//!
//! ```no_run
//! use syvault_hyper::AsyncSyVaultClient;
//!
//! #[tokio::main]
//! async fn main() -> syvault_hyper::Result<()> {
//!     // Once, with the one-time token from the web vault:
//!     let credentials = AsyncSyVaultClient::bootstrap("https://vault.example.com", "vft_…").await?;
//!     let client = AsyncSyVaultClient::from_credentials(credentials)?;
//!
//!     let password = client.secrets().notation("sy://Production/Database/field/password").await?;
//!     let task = {
//!         let client = client.clone();
//!         tokio::spawn(async move { client.secrets().list().await })
//!     };
//!     for summary in task.await.expect("task")? {
//!         println!("{} {:?} {}", summary.uid, summary.folder_path, summary.title);
//!     }
//!     # let _ = password;
//!     Ok(())
//! }
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
//! by default, tunnelling with hyper-util's `CONNECT` support; `proxy(url)` sets a proxy explicitly and
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
mod proxy;
mod snapshot;
mod tls;
mod transport;

pub use builder::AsyncSyVaultClientBuilder;
pub use client::{AsyncSyVaultClient, Secrets};
pub use dynamic::{AsyncLeaseKeeper, DEFAULT_CLOSE_TIMEOUT, Dynamic};
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
    fn send<T: Send>(_: &T) {}

    /// Compile-time: the documented constructor takes the client id as text or as a UUID, and
    /// the UID arguments take text or a [`RecordUid`].
    #[test]
    fn constructors_and_uid_arguments_take_text_or_typed_values() {
        #[allow(dead_code)]
        async fn calls(secret: SecretString, id: Uuid, uid: RecordUid) -> Result<()> {
            let client = AsyncSyVaultClient::new("https://vault.example.com", id, secret)?;
            AsyncSyVaultClient::new(
                "https://vault.example.com",
                "0b5c1c9e-2f3a-4d5e-8f70-8192a3b4c5d6",
                "MIG…",
            )?;
            AsyncSyVaultClient::new(String::from("https://x"), id.to_string(), String::new())?;
            let secrets = client.secrets();
            let _: std::sync::Arc<Secret> = secrets.get(uid).await?;
            secrets.get("7Kj9mNpQ2xRs").await?;
            secrets.get(String::from("7Kj9mNpQ2xRs")).await?;
            let outcome: RotationOutcome = secrets.rotate(uid).await?;
            let _: &Fields = outcome.new_fields();
            let _: RotationStatus = outcome.status;
            secrets.resume_rotation(uid, outcome.rotation_id).await?;
            let _: SecretString = secrets.notation("sy://x/title").await?.into_secret();
            let _: Option<Access> = None;
            let _: http::StatusCode = http::StatusCode::OK;
            let _: uuid::Uuid = id;
            let _: ClientStats = client.stats();
            Ok(())
        }
    }

    #[test]
    fn a_client_id_that_is_not_a_uuid_is_invalid_input() {
        let error =
            AsyncSyVaultClient::new("https://vault.example.com", "not-a-uuid", "x").unwrap_err();
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

    /// Compile-time: the client can be shared across tasks, and every operation's future can be
    /// spawned on a multi-threaded runtime.
    #[test]
    fn the_client_is_shareable_and_its_futures_are_send() {
        fn futures(client: &AsyncSyVaultClient) {
            let secrets = client.secrets();
            send(&secrets.list());
            send(&secrets.get("7Kj9mNpQ2xRs"));
            send(&secrets.notation("sy://Production/Database/field/password"));
            send(&secrets.resolve_all(&["sy://Production/Database/uid"]));
            send(&secrets.create(Uuid::nil(), RecordPayload::new("x")));
            send(&secrets.rotate("7Kj9mNpQ2xRs"));
            send(&secrets.folders());
            let dynamic = client.dynamic();
            send(&dynamic.lease("7Kj9mNpQ2xRs", std::time::Duration::from_secs(60)));
            send(&dynamic.renew(Uuid::nil(), std::time::Duration::from_secs(60)));
            send(&dynamic.revoke(Uuid::nil()));
            send(&dynamic.leases());
            send(&AsyncSyVaultClient::bootstrap(
                "https://vault.example.com",
                "vft_x",
            ));
        }
        shareable::<AsyncSyVaultClient>();
        let _ = futures;
    }

    /// A malformed UID is the future's error, not a panic when it is made; a future polled
    /// again after it ended says so rather than panicking.
    #[test]
    fn a_get_reports_a_malformed_uid_and_a_poll_after_its_end() {
        use std::future::Future as _;
        use std::task::{Context, Poll, Waker};

        let secret =
            syvault_proto::keys::ClientKey::generate(&mut crate::driver::rng()).to_client_secret();
        let client = AsyncSyVaultClient::new("https://vault.example.com", Uuid::nil(), secret)
            .expect("client");
        let secrets = client.secrets();
        let mut get = std::pin::pin!(secrets.get("not/a/uid"));
        let mut cx = Context::from_waker(Waker::noop());
        let what = |poll: Poll<Result<_>>| match poll {
            Poll::Ready(Err(Error::InvalidInput { what, .. })) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(what(get.as_mut().poll(&mut cx)), "record UID");
        assert_eq!(what(get.as_mut().poll(&mut cx)), "future");
    }
}
