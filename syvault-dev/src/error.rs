//! The error type of the server library and its admin API.

use std::io;
use std::path::PathBuf;

use syvault_proto::RecordUid;
use uuid::Uuid;

/// What can go wrong when starting the server or using the admin API.
///
/// Messages name ids and paths, never keys, tokens or secret values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, such as `binding 127.0.0.1:8200`.
        what: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The state file exists but cannot be read as server state.
    #[error("state file {}: {reason}", path.display())]
    StateFile {
        /// The file given with `--data`.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// The TLS certificate could not be generated, loaded or used.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// No application has this id.
    #[error("unknown application {0}")]
    UnknownApplication(Uuid),
    /// No client has this id.
    #[error("unknown client {0}")]
    UnknownClient(Uuid),
    /// No folder has this id.
    #[error("unknown folder {0}")]
    UnknownFolder(Uuid),
    /// No secret has this UID.
    #[error("unknown secret {0}")]
    UnknownSecret(RecordUid),
    /// A secret with this UID already exists.
    #[error("a secret with UID {0} already exists")]
    UidConflict(RecordUid),
    /// A rotation policy was refused.
    #[error("invalid rotation policy: {0}")]
    InvalidPolicy(&'static str),
    /// The PostgreSQL binding is missing, misconfigured or failed. The message never contains
    /// the admin connection string.
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    /// An origin given to allow cross-origin requests from browsers is not one.
    #[error("invalid CORS origin {0}")]
    InvalidOrigin(String),
    /// A dynamic target's role template was refused.
    #[error("invalid role template: {0}")]
    InvalidTemplate(&'static str),
    /// A cryptographic or encoding operation of the core failed.
    #[error(transparent)]
    Protocol(#[from] syvault_proto::Error),
    /// The demo client could not be bootstrapped through the HTTP API.
    #[error("demo bootstrap: {0}")]
    Demo(String),
    /// The background thread of a [`RunningServer`](crate::RunningServer) failed.
    #[error("server thread: {0}")]
    Runtime(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
