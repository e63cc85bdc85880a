//! The error type of the crate.
//!
//! Every failure, whether a malformed key, a JWT the server rejects, a ciphertext that does not
//! authenticate, a server answer or a transport failure reported by a driver, is one [`Error`]
//! variant. Each says whether a retry could help ([`Error::is_retryable`]) and carries the HTTP
//! status and server error code where there were any. No message ever contains key material,
//! a token or a secret value: variants carry static reasons, identifiers (UIDs, folder ids,
//! rotation ids) and server-chosen messages only.

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::jwt::JwtError;
use crate::notation::NotationError;

/// The result type of the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Longest server message kept in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 512;

/// Everything that can go wrong in the SyVault protocol.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A private or public key could not be parsed or is not a valid P-256 key.
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// Why the key was rejected; never contains key material.
        reason: &'static str,
    },
    /// A one-time token (`vft_…`) is malformed.
    #[error("invalid one-time token: {reason}")]
    InvalidOneTimeToken {
        /// Why the token was rejected; never contains the token.
        reason: &'static str,
    },
    /// A JWT is malformed or fails verification.
    #[error("JWT rejected: {0}")]
    Jwt(#[from] JwtError),
    /// A ciphertext did not authenticate under the expected key and associated data, or is too
    /// short to be a ciphertext. Never yields partial plaintext.
    #[error("cannot decrypt {what}: wrong key, wrong context or corrupted ciphertext")]
    Decryption {
        /// What was being decrypted, such as `record 7Kj9mNpQ2xRs payload`.
        what: String,
    },
    /// A record decrypted correctly but its payload is not a valid payload object.
    #[error("record {uid} decrypted to an invalid payload")]
    InvalidPayload {
        /// The record's UID.
        uid: String,
    },
    /// A value supplied by the caller is not acceptable (a UID, a server URL, a setting).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which input.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A `sy://` reference could not be parsed or resolved.
    #[error(transparent)]
    Notation(#[from] NotationError),
    /// The server's answer is not what the protocol allows: bad JSON, a missing or mistyped
    /// field, bad base64, an unexpected status.
    #[error("malformed response (HTTP {status}): {reason}")]
    MalformedResponse {
        /// The HTTP status of the response.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
    /// The response body is larger than the configured limit.
    #[error("response body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The server refused the client's credentials (HTTP 401).
    #[error("authentication failed (HTTP {status}, {code})")]
    AuthenticationFailed {
        /// The HTTP status.
        status: u16,
        /// The server's error code.
        code: ErrorCode,
    },
    /// The secret does not exist or is not visible to this client (HTTP 404).
    #[error("secret {uid} not found")]
    SecretNotFound {
        /// The UID that was asked for.
        uid: String,
    },
    /// A record lies in a folder whose key the client does not have, even after reloading its
    /// folders.
    #[error("no key for folder {folder_id}")]
    UnknownFolder {
        /// The folder id.
        folder_id: uuid::Uuid,
    },
    /// The server reported that a rotation failed; the old credential stays in force.
    #[error("rotation {rotation_id} failed: {message}")]
    RotationFailed {
        /// The rotation job.
        rotation_id: uuid::Uuid,
        /// The server's reason.
        message: String,
    },
    /// A rotation did not finish before the deadline. It may still complete: wait for it again
    /// with its id.
    #[error("rotation {rotation_id} did not finish in time")]
    RotationTimeout {
        /// The rotation job, to resume waiting for it.
        rotation_id: uuid::Uuid,
    },
    /// The lease does not exist, has expired or been revoked, or belongs to another client
    /// (HTTP 404 `lease_not_found`).
    #[error("lease {lease_id} not found")]
    LeaseNotFound {
        /// The lease that was asked for.
        lease_id: uuid::Uuid,
    },
    /// The record exists but is not bound to a database, so it cannot be leased (HTTP 422
    /// `not_dynamic_target`).
    #[error("record {uid} is not a dynamic target")]
    NotDynamicTarget {
        /// The record's UID.
        uid: String,
    },
    /// A create whose answer was lost may have stored the secret: its retry was answered 409
    /// `uid_conflict` and reading the record back did not show whose it is. Read `uid` (or
    /// list the folder) before creating the secret again, or a second copy may be made. Not
    /// retryable: a new create draws a new UID.
    #[error(
        "secret {uid} may have been created: its retry met a record under that UID which \
         could not be read back; read {uid} before creating the secret again"
    )]
    CreateUnconfirmed {
        /// The UID the create sent, under which the secret may exist.
        uid: String,
        /// Why the last read-back did not settle it; also [`std::error::Error::source`].
        #[source]
        last: Box<Error>,
    },
    /// Any other error answer of the server.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A file could not be read or written, such as a credentials file. The path is named; the
    /// cause is the [`std::io::Error`] returned by [`std::error::Error::source`].
    #[error("cannot {action} {}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What was being done with it.
        action: FileAction,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An operation did not finish within its limit
    /// ([`crate::builder::ClientBuilder::operation_timeout`]). The message names the server and,
    /// from the last failure seen, whether it could not be reached, did not answer, or answered
    /// with errors.
    #[error("{}", operation_timeout_message(server, *timeout, last.as_deref()))]
    OperationTimeout {
        /// The server the operation was talking to.
        server: String,
        /// The limit that passed.
        timeout: Duration,
        /// The last failure before the limit passed (a transport error, or the server's error
        /// answer), if there was one; also [`std::error::Error::source`].
        #[source]
        last: Option<Box<Error>>,
    },
    /// The request did not complete: reported by the driver that performs the I/O. Build it
    /// with [`Error::transport`] or [`Error::transport_caused_by`].
    #[error("transport error ({kind}): {message}")]
    Transport {
        /// The class of failure, which decides whether it is retried.
        kind: TransportErrorKind,
        /// The transport's description, which must not contain secrets.
        message: String,
        /// The HTTP library's or the operating system's error, returned by
        /// [`std::error::Error::source`] when the driver had one.
        #[source]
        source: Option<ErrorSource>,
    },
}

/// The underlying error of an [`Error::Transport`], shared so that errors can be cloned.
///
/// It dereferences to the error itself, so `error.source()` yields that error (a
/// `ureq::Error`, a hyper error or a [`std::io::Error`]) ready for `downcast_ref`.
#[derive(Clone)]
pub struct ErrorSource(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl ErrorSource {
    /// Wraps an error.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }
}

impl core::ops::Deref for ErrorSource {
    type Target = dyn std::error::Error + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for ErrorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// Errors are cloned when one failure answers several requests (a fetch shared by several
/// references of `resolve_all`). Every variant clones exactly, except that the
/// [`std::io::Error`] of [`Error::File`], which cannot be cloned, is rebuilt with the same kind,
/// OS error code and message.
impl Clone for Error {
    fn clone(&self) -> Self {
        match self {
            Self::InvalidKey { reason } => Self::InvalidKey { reason },
            Self::InvalidOneTimeToken { reason } => Self::InvalidOneTimeToken { reason },
            Self::Jwt(e) => Self::Jwt(*e),
            Self::Decryption { what } => Self::Decryption { what: what.clone() },
            Self::InvalidPayload { uid } => Self::InvalidPayload { uid: uid.clone() },
            Self::InvalidInput { what, reason } => Self::InvalidInput {
                what,
                reason: reason.clone(),
            },
            Self::Notation(e) => Self::Notation(e.clone()),
            Self::MalformedResponse { status, reason } => Self::MalformedResponse {
                status: *status,
                reason: reason.clone(),
            },
            Self::BodyTooLarge { limit } => Self::BodyTooLarge { limit: *limit },
            Self::AuthenticationFailed { status, code } => Self::AuthenticationFailed {
                status: *status,
                code: code.clone(),
            },
            Self::SecretNotFound { uid } => Self::SecretNotFound { uid: uid.clone() },
            Self::UnknownFolder { folder_id } => Self::UnknownFolder {
                folder_id: *folder_id,
            },
            Self::RotationFailed {
                rotation_id,
                message,
            } => Self::RotationFailed {
                rotation_id: *rotation_id,
                message: message.clone(),
            },
            Self::RotationTimeout { rotation_id } => Self::RotationTimeout {
                rotation_id: *rotation_id,
            },
            Self::LeaseNotFound { lease_id } => Self::LeaseNotFound {
                lease_id: *lease_id,
            },
            Self::NotDynamicTarget { uid } => Self::NotDynamicTarget { uid: uid.clone() },
            Self::CreateUnconfirmed { uid, last } => Self::CreateUnconfirmed {
                uid: uid.clone(),
                last: last.clone(),
            },
            Self::Api(api) => Self::Api(api.clone()),
            Self::File {
                path,
                action,
                source,
            } => Self::File {
                path: path.clone(),
                action: *action,
                source: match source.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(source.kind(), source.to_string()),
                },
            },
            Self::OperationTimeout {
                server,
                timeout,
                last,
            } => Self::OperationTimeout {
                server: server.clone(),
                timeout: *timeout,
                last: last.clone(),
            },
            Self::Transport {
                kind,
                message,
                source,
            } => Self::Transport {
                kind: *kind,
                message: message.clone(),
                source: source.clone(),
            },
        }
    }
}

impl Error {
    /// Whether repeating the same request could succeed: connection failures, timeouts (of a
    /// request or a whole operation), and the statuses 429, 502, 503 and 504.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { kind, .. } => kind.is_retryable(),
            Self::OperationTimeout { .. } => true,
            Self::Api(api) => matches!(api.status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// The HTTP status of the server answer behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::MalformedResponse { status, .. } | Self::AuthenticationFailed { status, .. } => {
                Some(*status)
            }
            Self::SecretNotFound { .. } | Self::LeaseNotFound { .. } => Some(404),
            Self::NotDynamicTarget { .. } => Some(422),
            Self::Api(api) => Some(api.status),
            _ => None,
        }
    }

    /// The server's error code behind this error, if there was one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::AuthenticationFailed { code, .. } => Some(code),
            Self::SecretNotFound { .. } => Some(&ErrorCode::SecretNotFound),
            Self::LeaseNotFound { .. } => Some(&ErrorCode::LeaseNotFound),
            Self::NotDynamicTarget { .. } => Some(&ErrorCode::NotDynamicTarget),
            Self::Api(api) => Some(&api.code),
            _ => None,
        }
    }

    /// How long the server asked the client to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(api) => api.retry_after,
            _ => None,
        }
    }

    /// Whether the thing asked for does not exist or is not visible to this client: a secret
    /// (HTTP 404), a lease, or the record, folder or field a `sy://` reference names.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::SecretNotFound { .. } | Self::LeaseNotFound { .. } => true,
            Self::Notation(e) => matches!(
                e,
                NotationError::FieldNotFound { .. }
                    | NotationError::RecordNotFound { .. }
                    | NotationError::FolderNotFound { .. }
            ),
            Self::Api(api) => api.status == 404,
            _ => false,
        }
    }

    /// Whether the client's identity is the problem: the server refused its credentials (401)
    /// or its access (403), or a key, token or JWT is invalid.
    pub fn is_auth(&self) -> bool {
        match self {
            Self::AuthenticationFailed { .. }
            | Self::InvalidKey { .. }
            | Self::InvalidOneTimeToken { .. }
            | Self::Jwt(_) => true,
            Self::Api(api) => matches!(api.status, 401 | 403),
            _ => false,
        }
    }

    /// A transport error without an underlying error. The message must not contain secrets.
    pub fn transport(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self::Transport {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A transport error caused by `source`, which [`std::error::Error::source`] returns. The
    /// message must not contain secrets.
    pub fn transport_caused_by(
        kind: TransportErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Transport {
            kind,
            message: message.into(),
            source: Some(ErrorSource::new(source)),
        }
    }

    pub(crate) fn decryption(what: impl Into<String>) -> Self {
        Self::Decryption { what: what.into() }
    }

    pub(crate) fn malformed(status: u16, reason: impl Into<String>) -> Self {
        Self::MalformedResponse {
            status,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_input(what: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            what,
            reason: reason.into(),
        }
    }
}

/// The text of [`Error::OperationTimeout`]: the server, the limit, and in plain words what
/// the last failure says about why.
fn operation_timeout_message(server: &str, timeout: Duration, last: Option<&Error>) -> String {
    let limit = PlainDuration(timeout);
    match last {
        None
        | Some(Error::Transport {
            kind: TransportErrorKind::Timeout | TransportErrorKind::ConnectionClosed,
            ..
        }) => format!("no answer from {server} within {limit}"),
        Some(Error::Transport {
            kind: TransportErrorKind::Connect,
            message,
            ..
        }) => format!("could not connect to {server} within {limit}: {message}"),
        Some(other) => format!("no success from {server} within {limit}; last error: {other}"),
    }
}

/// A duration as people write it: `30 s`, `1.5 s`, `250 ms`.
struct PlainDuration(Duration);

impl fmt::Display for PlainDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // u64 milliseconds last 584 million years; formatting u128 would cost the WebAssembly
        // module its own integer printer.
        let millis = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        if millis < 1000 {
            write!(f, "{millis} ms")
        } else if millis.is_multiple_of(1000) {
            write!(f, "{} s", millis / 1000)
        } else {
            let tenths = (millis + 50) / 100;
            write!(f, "{}.{} s", tenths / 10, tenths % 10)
        }
    }
}

/// An error answer of the server that has no more specific [`Error`] variant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("server answered HTTP {status} ({code}): {message}")]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The error code from the envelope, or one derived from the status when the body had none.
    pub code: ErrorCode,
    /// The server's message, shortened to at most 512 characters.
    pub message: String,
    /// The `details` object of the envelope, if any.
    pub details: Option<ErrorDetails>,
    /// The `Retry-After` the server sent, if any.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Builds an API error, shortening the message so that a hostile server cannot make errors
    /// arbitrarily large.
    pub fn new(status: u16, code: ErrorCode, message: &str) -> Self {
        let message = match message.char_indices().nth(MAX_MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}…", &message[..cut]),
            None => message.to_owned(),
        };
        Self {
            status,
            code,
            message,
            details: None,
            retry_after: None,
        }
    }
}

/// The `details` of an error answer, kept as the JSON text the server sent.
///
/// The protocol reads one thing from it (the running rotation's id, [`ErrorDetails::rotation_id`]);
/// anything else is for the caller, who can parse [`ErrorDetails::get`] as they need. Kept as
/// text, a hostile server's deeply nested value costs a copy rather than a tree, and the module
/// for JavaScript hosts carries no JSON value type.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorDetails(Box<serde_json::value::RawValue>);

impl ErrorDetails {
    /// Details holding `value` as JSON, for servers that write error answers.
    ///
    /// ```
    /// use syvault_proto::error::ErrorDetails;
    ///
    /// let details = ErrorDetails::new(&serde_json::json!({"rotation_id": "r-1"})).unwrap();
    /// assert_eq!(details.get(), r#"{"rotation_id":"r-1"}"#);
    /// ```
    pub fn new<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Self> {
        serde_json::value::to_raw_value(value).map(Self)
    }

    /// The JSON text, as the server sent it.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The running rotation's id, from the details of a 409 `rotation_in_progress` error
    /// (`{"rotation_id": "<uuid>"}`); `None` when absent or not a UUID.
    ///
    /// ```
    /// use syvault_proto::error::ErrorDetails;
    /// use serde_json::json;
    ///
    /// let id = json!({"rotation_id": "0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60", "since": 3});
    /// assert!(ErrorDetails::new(&id).unwrap().rotation_id().is_some());
    /// assert!(ErrorDetails::new(&json!({"rotation_id": 7})).unwrap().rotation_id().is_none());
    /// let listed = json!(["0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60"]);
    /// assert!(ErrorDetails::new(&listed).unwrap().rotation_id().is_none());
    /// ```
    pub fn rotation_id(&self) -> Option<uuid::Uuid> {
        crate::object::object_struct! {
            struct Running {
                rotation_id: uuid::Uuid,
            }
        }
        // Read as bytes, so that this shares the parser of response bodies.
        serde_json::from_slice::<Running>(self.get().as_bytes())
            .ok()
            .map(|running| running.rotation_id)
    }
}

impl PartialEq for ErrorDetails {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for ErrorDetails {}

impl fmt::Debug for ErrorDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ErrorDetails").field(&self.get()).finish()
    }
}

impl From<ApiError> for Error {
    fn from(api: ApiError) -> Self {
        Self::Api(Box::new(api))
    }
}

/// What was being done with a file when [`Error::File`] happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileAction {
    /// Reading it.
    Read,
    /// Creating or replacing it.
    Write,
}

impl fmt::Display for FileAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Write => "write",
        })
    }
}

/// How a request failed to complete, as reported by a driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (DNS, refused, unreachable).
    Connect,
    /// The connect or request timeout elapsed.
    Timeout,
    /// The connection closed or reset before a whole response arrived.
    ConnectionClosed,
    /// TLS failed: certificate not trusted, handshake error.
    Tls,
    /// Anything else; not retried.
    Other,
}

impl TransportErrorKind {
    /// Whether this failure is worth a retry. TLS failures are not: they do not heal by themselves.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Connect | Self::Timeout | Self::ConnectionClosed)
    }
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::ConnectionClosed => "connection closed",
            Self::Tls => "tls",
            Self::Other => "other",
        })
    }
}

/// The `code` of the server's error envelope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request` (400).
    InvalidRequest,
    /// `unauthorized` (401).
    Unauthorized,
    /// `token_expired` (401).
    TokenExpired,
    /// `forbidden` (403).
    Forbidden,
    /// `secret_not_found` (404).
    SecretNotFound,
    /// `folder_not_found` (404).
    FolderNotFound,
    /// `rotation_not_found` (404).
    RotationNotFound,
    /// `uid_conflict` (409).
    UidConflict,
    /// `rotation_in_progress` (409).
    RotationInProgress,
    /// `rotation_not_configured` (422).
    RotationNotConfigured,
    /// `rate_limited` (429).
    RateLimited,
    /// `internal` (500).
    Internal,
    /// `unavailable` (503).
    Unavailable,
    /// `lease_not_found` (404).
    LeaseNotFound,
    /// `not_dynamic_target` (422).
    NotDynamicTarget,
    /// `target_unavailable` (502): the database behind a dynamic target cannot be reached.
    TargetUnavailable,
    /// `sync_token_expired` (410): the `since` token of an incremental listing is older than
    /// the changes the server keeps (or from a change log the server no longer has). Not
    /// retryable as it is: the client lists in full instead.
    SyncTokenExpired,
    /// `idempotency_key_reused` (422): the `Idempotency-Key` of a lease request was first
    /// used with a different request. Not retryable: a new request needs a new key.
    IdempotencyKeyReused,
    /// `lease_limit_reached` (409): the client holds as many active leases as the server
    /// allows. Not retryable as it is: a lease must end first.
    LeaseLimitReached,
    /// A code this version does not know, kept verbatim.
    Other(String),
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::Unauthorized => "unauthorized",
            Self::TokenExpired => "token_expired",
            Self::Forbidden => "forbidden",
            Self::SecretNotFound => "secret_not_found",
            Self::FolderNotFound => "folder_not_found",
            Self::RotationNotFound => "rotation_not_found",
            Self::UidConflict => "uid_conflict",
            Self::RotationInProgress => "rotation_in_progress",
            Self::RotationNotConfigured => "rotation_not_configured",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::LeaseNotFound => "lease_not_found",
            Self::NotDynamicTarget => "not_dynamic_target",
            Self::TargetUnavailable => "target_unavailable",
            Self::SyncTokenExpired => "sync_token_expired",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::LeaseLimitReached => "lease_limit_reached",
            Self::Other(code) => code,
        }
    }

    /// Reads a wire code; unknown codes become [`ErrorCode::Other`].
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "unauthorized" => Self::Unauthorized,
            "token_expired" => Self::TokenExpired,
            "forbidden" => Self::Forbidden,
            "secret_not_found" => Self::SecretNotFound,
            "folder_not_found" => Self::FolderNotFound,
            "rotation_not_found" => Self::RotationNotFound,
            "uid_conflict" => Self::UidConflict,
            "rotation_in_progress" => Self::RotationInProgress,
            "rotation_not_configured" => Self::RotationNotConfigured,
            "rate_limited" => Self::RateLimited,
            "internal" => Self::Internal,
            "unavailable" => Self::Unavailable,
            "lease_not_found" => Self::LeaseNotFound,
            "not_dynamic_target" => Self::NotDynamicTarget,
            "target_unavailable" => Self::TargetUnavailable,
            "sync_token_expired" => Self::SyncTokenExpired,
            "idempotency_key_reused" => Self::IdempotencyKeyReused,
            "lease_limit_reached" => Self::LeaseLimitReached,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code a server would send with `status` when the body names none.
    pub fn for_status(status: u16) -> Self {
        match status {
            400 => Self::InvalidRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            429 => Self::RateLimited,
            503 => Self::Unavailable,
            500..=599 => Self::Internal,
            _ => Self::Other(format!("http_{status}")),
        }
    }

    /// The HTTP status this code is sent with.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            Self::InvalidRequest => 400,
            Self::Unauthorized | Self::TokenExpired => 401,
            Self::Forbidden => 403,
            Self::SecretNotFound
            | Self::FolderNotFound
            | Self::RotationNotFound
            | Self::LeaseNotFound => 404,
            Self::UidConflict | Self::RotationInProgress | Self::LeaseLimitReached => 409,
            Self::SyncTokenExpired => 410,
            Self::RotationNotConfigured | Self::NotDynamicTarget | Self::IdempotencyKeyReused => {
                422
            }
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
            Self::TargetUnavailable => 502,
            Self::Other(_) => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::parse(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses_and_transport_kinds() {
        for status in [429, 502, 503, 504] {
            let e: Error = ApiError::new(status, ErrorCode::for_status(status), "x").into();
            assert!(e.is_retryable(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 410, 422, 500] {
            let e: Error = ApiError::new(status, ErrorCode::for_status(status), "x").into();
            assert!(!e.is_retryable(), "{status}");
        }
        let transport = |kind| Error::transport(kind, "");
        assert!(transport(TransportErrorKind::Connect).is_retryable());
        assert!(transport(TransportErrorKind::Timeout).is_retryable());
        assert!(transport(TransportErrorKind::ConnectionClosed).is_retryable());
        assert!(!transport(TransportErrorKind::Tls).is_retryable());
        assert!(!Error::decryption("x").is_retryable());
    }

    #[test]
    fn codes_round_trip_and_map_to_statuses() {
        for code in [
            "invalid_request",
            "unauthorized",
            "token_expired",
            "forbidden",
            "secret_not_found",
            "folder_not_found",
            "rotation_not_found",
            "uid_conflict",
            "rotation_in_progress",
            "rotation_not_configured",
            "rate_limited",
            "internal",
            "unavailable",
            "lease_not_found",
            "not_dynamic_target",
            "target_unavailable",
            "sync_token_expired",
            "idempotency_key_reused",
            "lease_limit_reached",
        ] {
            let parsed = ErrorCode::parse(code);
            assert!(!matches!(parsed, ErrorCode::Other(_)), "{code}");
            assert_eq!(parsed.as_str(), code);
            assert!(parsed.status().is_some());
        }
        assert_eq!(
            ErrorCode::parse("teapot"),
            ErrorCode::Other("teapot".into())
        );
        assert_eq!(ErrorCode::SyncTokenExpired.status(), Some(410));
        assert_eq!(ErrorCode::TargetUnavailable.status(), Some(502));
        assert_eq!(ErrorCode::IdempotencyKeyReused.status(), Some(422));
        assert_eq!(ErrorCode::LeaseLimitReached.status(), Some(409));
    }

    #[test]
    fn an_expired_sync_token_is_not_retried_and_keeps_its_code() {
        let body = br#"{"error":{"code":"sync_token_expired","message":"list in full"}}"#;
        let error: Error = crate::wire::api_error(410, None, body).into();
        assert!(!error.is_retryable());
        assert_eq!(error.status(), Some(410));
        assert_eq!(error.code(), Some(&ErrorCode::SyncTokenExpired));
        assert!(!error.is_not_found() && !error.is_auth());
        // Without an envelope, a 410 is not assumed to be about a sync token.
        let bare: Error = crate::wire::api_error(410, None, b"gone").into();
        assert_eq!(bare.code(), Some(&ErrorCode::Other("http_410".into())));
    }

    #[test]
    fn long_server_messages_are_shortened_on_a_char_boundary() {
        let api = ApiError::new(500, ErrorCode::Internal, &"é".repeat(2000));
        assert_eq!(api.message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn transport_errors_chain_to_their_cause_and_clone_with_it() {
        use std::error::Error as _;
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let error =
            Error::transport_caused_by(TransportErrorKind::Connect, "connect failed", refused);
        let copy = error.clone();
        for e in [&error, &copy] {
            let io = e
                .source()
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .expect("the io::Error itself is the source");
            assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
            assert_eq!(e.to_string(), "transport error (connect): connect failed");
        }
        assert!(
            Error::transport(TransportErrorKind::Other, "closed")
                .source()
                .is_none()
        );
    }

    #[test]
    fn file_errors_clone_with_their_kind_and_os_code() {
        use std::error::Error as _;
        let error = Error::File {
            path: "/nowhere/creds.json".into(),
            action: FileAction::Read,
            source: std::io::Error::from_raw_os_error(2),
        };
        let copy = error.clone();
        assert_eq!(copy.to_string(), error.to_string());
        let io = copy.source().unwrap().downcast_ref::<std::io::Error>();
        assert_eq!(io.unwrap().raw_os_error(), Some(2));
        assert_eq!(io.unwrap().kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn not_found_and_auth_helpers() {
        let api = |status| Error::from(ApiError::new(status, ErrorCode::for_status(status), "x"));
        let not_found = Error::SecretNotFound { uid: "abc".into() };
        assert!(not_found.is_not_found() && !not_found.is_auth());
        let missing_field = Error::Notation(NotationError::FieldNotFound {
            uid: "7Kj9mNpQ2xRs".parse().unwrap(),
            field: "password".into(),
        });
        assert!(missing_field.is_not_found());
        assert!(api(404).is_not_found());
        for status in [401, 403] {
            assert!(api(status).is_auth(), "{status}");
            assert!(!api(status).is_not_found(), "{status}");
        }
        let refused = Error::AuthenticationFailed {
            status: 401,
            code: ErrorCode::TokenExpired,
        };
        assert!(refused.is_auth());
        assert!(Error::InvalidKey { reason: "x" }.is_auth());
        assert!(Error::Jwt(JwtError::BadSignature).is_auth());
        assert!(!api(500).is_auth() && !api(500).is_not_found());
        assert!(!Error::decryption("x").is_auth());
    }

    #[test]
    fn an_operation_timeout_names_the_server_and_why_in_plain_words() {
        use std::error::Error as _;
        let timeout = |last: Option<Error>| Error::OperationTimeout {
            server: "https://vault.example.com".into(),
            timeout: Duration::from_millis(2500),
            last: last.map(Box::new),
        };
        assert_eq!(
            timeout(None).to_string(),
            "no answer from https://vault.example.com within 2.5 s"
        );
        let hung = timeout(Some(Error::transport(
            TransportErrorKind::Timeout,
            "timeout: global",
        )));
        assert_eq!(
            hung.to_string(),
            "no answer from https://vault.example.com within 2.5 s"
        );
        assert!(hung.source().is_some() && hung.is_retryable());
        let refused = timeout(Some(Error::transport(
            TransportErrorKind::Connect,
            "connection refused",
        )));
        assert_eq!(
            refused.to_string(),
            "could not connect to https://vault.example.com within 2.5 s: connection refused"
        );
        let busy = timeout(Some(
            ApiError::new(503, ErrorCode::Unavailable, "busy").into(),
        ));
        assert_eq!(
            busy.clone().to_string(),
            "no success from https://vault.example.com within 2.5 s; last error: server answered \
             HTTP 503 (unavailable): busy"
        );
        assert_eq!(PlainDuration(Duration::from_secs(30)).to_string(), "30 s");
        assert_eq!(
            PlainDuration(Duration::from_millis(250)).to_string(),
            "250 ms"
        );
    }

    #[test]
    fn status_and_code_are_exposed() {
        let e = Error::SecretNotFound { uid: "abc".into() };
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.code(), Some(&ErrorCode::SecretNotFound));
        assert_eq!(e.to_string(), "secret abc not found");
    }
}
