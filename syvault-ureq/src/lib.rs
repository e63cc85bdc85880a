//! Blocking SyVault Secrets Manager client.
//!
//! [`SyVaultClient`] runs the Sans-IO operations of [`syvault_proto`] over a pooled
//! [`ureq`] agent with rustls: it only sends the requests the core builds, sleeps when the core
//! asks, and hands every answer back. Tokens, decryption, caching, retries, notation and
//! rotation polling all happen in the core.
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

mod builder;
mod client;
mod driver;
mod resolver;
mod transport;

pub use builder::SyVaultClientBuilder;
pub use client::{Secrets, SyVaultClient};
pub use syvault_proto as proto;
pub use syvault_proto::builder::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};
pub use syvault_proto::config::RotationPolicy;
pub use syvault_proto::error::{ErrorCode, TransportErrorKind};
pub use syvault_proto::folders::FolderInfo;
pub use syvault_proto::jwt::TokenMode;
pub use syvault_proto::model::{Credentials, RotationOutcome, Secret, SecretSummary, Selected};
pub use syvault_proto::record::{Fields, RecordPayload};
pub use syvault_proto::retry::RetryPolicy;
pub use syvault_proto::{Error, RecordUid, Result, SecretString};
pub use uuid::Uuid;

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Clone + Send + Sync + 'static>() {}

    /// Compile-time: one client can be cloned into and shared between threads.
    #[test]
    fn the_client_is_shareable_between_threads() {
        shareable::<SyVaultClient>();
    }
}
