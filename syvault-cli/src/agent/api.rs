//! The agent's HTTP API: paths, JSON bodies and error codes, shared by the daemon and its
//! clients. docs/agent.md describes it for other clients.

use serde::{Deserialize, Serialize};
use syvault_ureq::proto::notation::NotationError;
use syvault_ureq::{Error, SecretString, Selected};

use crate::failure::{self, Failure, Kind};

/// `GET`: 200 with the agent's state, whatever the vault's.
pub(crate) const HEALTH: &str = "/v1/health";
/// `POST` [`ReadRequest`]: 200 with a [`Value`].
pub(crate) const READ: &str = "/v1/read";
/// `POST` [`ResolveRequest`]: 200 with a [`Resolved`], one outcome per reference.
pub(crate) const RESOLVE: &str = "/v1/resolve";
/// `GET`: 200 with every secret's metadata; `GET SECRETS/{uid}`: 200 with one secret.
pub(crate) const SECRETS: &str = "/v1/secrets";
/// `GET`: the Prometheus text format.
pub(crate) const METRICS: &str = "/metrics";

/// The largest request body the agent reads.
pub(crate) const MAX_BODY: usize = 1024 * 1024;
/// The most references one resolve may carry.
pub(crate) const MAX_REFERENCES: usize = 10_000;

/// `POST /v1/read`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadRequest {
    /// A `sy://` reference.
    pub(crate) reference: String,
}

/// `POST /v1/resolve`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveRequest {
    /// `sy://` references, resolved with at most one listing.
    pub(crate) references: Vec<String>,
}

/// A value a reference selects. `secret` is false for a title or a UID.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Value {
    pub(crate) value: SecretString,
    pub(crate) secret: bool,
}

impl From<Selected> for Value {
    fn from(selected: Selected) -> Self {
        let secret = matches!(selected, Selected::Secret(_));
        Self {
            value: selected.into_secret(),
            secret,
        }
    }
}

impl From<Value> for Selected {
    fn from(value: Value) -> Self {
        if value.secret {
            Self::Secret(value.value)
        } else {
            Self::Plain(value.value.expose().to_owned())
        }
    }
}

/// The answer to `POST /v1/resolve`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Resolved {
    /// One per reference, in order.
    pub(crate) results: Vec<Outcome>,
}

/// A reference's outcome in a [`Resolved`]: its value or why it failed.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Outcome {
    Value(Value),
    Error(ErrorBody),
}

/// `{"error": {"code", "message"}}`: every answer that is not a 2xx, and a failed reference.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) error: ErrorDetail,
}

/// What went wrong: a stable code for programs, the line `sy` prints, and for a failed
/// operation the kind `sy` names in its JSON errors.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ErrorDetail {
    pub(crate) code: Code,
    pub(crate) message: String,
    /// Finer than `code` for failures of the vault (`connection`, `timeout`, `tls`, …); absent
    /// for failures of the request itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<String>,
}

impl ErrorBody {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
                kind: None,
            },
        }
    }

    /// The error of a failed operation of the client of `server`, with the message `sy`
    /// prints without an agent.
    pub(crate) fn from_error(error: &Error, server: &str) -> Self {
        Self::from_failure(Code::of(error), Failure::at(error, server))
    }

    /// A failure worded as `sy` words it (such as a reference explained with suggestions),
    /// under `code`.
    pub(crate) fn from_failure(code: Code, failure: Failure) -> Self {
        let kind = failure.category_name().to_owned();
        let mut body = Self::new(code, failure.into_lines().join("; "));
        body.error.kind = Some(kind);
        body
    }

    /// The failure `sy` reports: the message, the exit status of the code, and its kind. Control
    /// characters are replaced, so that an answer cannot forge lines on a terminal.
    pub(crate) fn into_failure(self) -> Failure {
        let message: String = self
            .error
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let failure = match self.error.code.kind() {
            Kind::Usage => Failure::usage(message),
            Kind::Operation => Failure::operation(message),
        };
        match self.error.kind.as_deref() {
            Some(kind) => match failure::known_category(kind) {
                Some(kind) => failure.category(kind),
                // A kind of a later version: the plain one of the exit status.
                None => failure,
            },
            // The agent itself refused or failed the request.
            None => failure.category("agent"),
        }
    }
}

/// Why a request failed. The HTTP status follows from the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Code {
    /// The reference is not valid notation (400).
    InvalidReference,
    /// Another input is not valid, such as a UID (400).
    InvalidInput,
    /// No secret, record, folder or field matches (404).
    NotFound,
    /// Several records or folders match (409).
    Ambiguous,
    /// The vault refused the agent's credentials (502).
    VaultAuthFailed,
    /// The vault answered 403 (502).
    VaultForbidden,
    /// The vault cannot be reached, times out or is overloaded (503).
    VaultUnavailable,
    /// The vault's answer was an error or could not be used (502).
    VaultError,
    /// The request's body is not what the endpoint takes (400).
    BadRequest,
    /// No endpoint has this path (404).
    NoSuchEndpoint,
    /// The endpoint does not take this method (405).
    MethodNotAllowed,
    /// The body is larger than the agent reads (413).
    PayloadTooLarge,
    /// A body that is not `application/json` (415).
    UnsupportedMediaType,
    /// The peer's user is not served (403).
    Forbidden,
    /// The agent is stopping (503).
    ShuttingDown,
    /// The agent failed (500).
    Internal,
    /// A code this version does not know.
    #[serde(other)]
    Unknown,
}

impl Code {
    /// The code of a failed operation, of the same kind as [`failure::kind_of`] gives it.
    pub(crate) fn of(error: &Error) -> Self {
        match error {
            Error::Notation(notation) => match notation {
                NotationError::RecordNotFound { .. }
                | NotationError::FolderNotFound { .. }
                | NotationError::FieldNotFound { .. } => Self::NotFound,
                NotationError::AmbiguousRecord { .. } | NotationError::AmbiguousFolder { .. } => {
                    Self::Ambiguous
                }
                _ => Self::InvalidReference,
            },
            Error::InvalidKey { .. }
            | Error::InvalidOneTimeToken { .. }
            | Error::InvalidInput { .. }
            | Error::File { .. } => Self::InvalidInput,
            Error::SecretNotFound { .. } => Self::NotFound,
            Error::AuthenticationFailed { .. } => Self::VaultAuthFailed,
            Error::Transport { .. } | Error::OperationTimeout { .. } => Self::VaultUnavailable,
            Error::Api(api) if api.status == 403 => Self::VaultForbidden,
            Error::Api(api) if api.status == 429 || api.status >= 500 => Self::VaultUnavailable,
            _ => Self::VaultError,
        }
    }

    /// Which exit status `sy` gives it.
    pub(crate) fn kind(self) -> Kind {
        match self {
            Self::InvalidReference | Self::InvalidInput => Kind::Usage,
            _ => Kind::Operation,
        }
    }

    /// The HTTP status it is sent with.
    pub(crate) fn status(self) -> u16 {
        match self {
            Self::InvalidReference | Self::InvalidInput | Self::BadRequest => 400,
            Self::Forbidden => 403,
            Self::NotFound | Self::NoSuchEndpoint => 404,
            Self::MethodNotAllowed => 405,
            Self::Ambiguous => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Internal | Self::Unknown => 500,
            Self::VaultAuthFailed | Self::VaultForbidden | Self::VaultError => 502,
            Self::VaultUnavailable | Self::ShuttingDown => 503,
        }
    }

    /// The code as it appears in JSON, for metric labels.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InvalidReference => "invalid_reference",
            Self::InvalidInput => "invalid_input",
            Self::NotFound => "not_found",
            Self::Ambiguous => "ambiguous",
            Self::VaultAuthFailed => "vault_auth_failed",
            Self::VaultForbidden => "vault_forbidden",
            Self::VaultUnavailable => "vault_unavailable",
            Self::VaultError => "vault_error",
            Self::BadRequest => "bad_request",
            Self::NoSuchEndpoint => "no_such_endpoint",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Forbidden => "forbidden",
            Self::ShuttingDown => "shutting_down",
            Self::Internal => "internal",
            Self::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syvault_ureq::proto::error::ApiError;
    use syvault_ureq::{ErrorCode, FileAction, TransportErrorKind};

    fn errors() -> Vec<Error> {
        let uid = "AAAAAAAAAAAA".parse().unwrap();
        vec![
            Error::Notation(NotationError::MissingScheme),
            Error::Notation(NotationError::BadEscape { position: 3 }),
            Error::Notation(NotationError::RecordNotFound {
                reference: "A/B".into(),
            }),
            Error::Notation(NotationError::FieldNotFound {
                uid,
                field: "x".into(),
            }),
            Error::Notation(NotationError::AmbiguousRecord {
                reference: "B".into(),
                candidates: vec![uid],
            }),
            Error::Notation(NotationError::AmbiguousFolder {
                reference: "B".into(),
                candidates: vec!["f".into()],
            }),
            Error::InvalidInput {
                what: "UID",
                reason: "not 12 characters".into(),
            },
            Error::File {
                path: "/x".into(),
                action: FileAction::Read,
                source: std::io::ErrorKind::NotFound.into(),
            },
            Error::SecretNotFound { uid: "x".into() },
            Error::AuthenticationFailed {
                status: 401,
                code: ErrorCode::Unauthorized,
            },
            Error::transport(TransportErrorKind::Connect, "refused"),
            Error::Api(Box::new(ApiError::new(403, ErrorCode::Forbidden, "no"))),
            Error::Api(Box::new(ApiError::new(
                503,
                ErrorCode::Unavailable,
                "later",
            ))),
            Error::Api(Box::new(ApiError::new(429, ErrorCode::RateLimited, "slow"))),
            Error::Api(Box::new(ApiError::new(400, ErrorCode::InvalidRequest, "?"))),
            Error::MalformedResponse {
                status: 200,
                reason: "not JSON".into(),
            },
            Error::Decryption {
                what: "record".into(),
            },
            Error::transport(TransportErrorKind::Timeout, "no answer"),
            Error::transport(TransportErrorKind::Tls, "UnknownIssuer"),
            Error::OperationTimeout {
                server: "https://vault.example.com".into(),
                timeout: std::time::Duration::from_secs(30),
                last: None,
            },
        ]
    }

    #[test]
    fn through_the_agent_every_error_keeps_its_exit_status_kind_and_message() {
        for error in errors() {
            let body = ErrorBody::from_error(&error, "http://127.0.0.1:8200");
            assert_eq!(
                body.error.code.kind(),
                failure::kind_of(&error),
                "{error:?}"
            );
            let json = serde_json::to_string(&body).unwrap();
            let back: ErrorBody = serde_json::from_str(&json).unwrap();
            let failure = back.into_failure();
            let direct = Failure::at(&error, "http://127.0.0.1:8200");
            assert_eq!(failure.kind(), direct.kind());
            assert_eq!(failure.category_name(), direct.category_name());
            assert_eq!(failure.into_lines(), direct.into_lines());
        }
    }

    #[test]
    fn the_agents_own_refusals_are_of_the_agent_kind_and_unknown_kinds_are_ignored() {
        let refused = ErrorBody::new(Code::Forbidden, "this agent does not serve user 7");
        assert_eq!(refused.into_failure().category_name(), "agent");
        let body: ErrorBody = serde_json::from_str(
            r#"{"error":{"code":"not_found","message":"m","kind":"from_the_future"}}"#,
        )
        .unwrap();
        assert_eq!(body.into_failure().category_name(), "operation");
        let json = serde_json::to_value(ErrorBody::new(Code::BadRequest, "m")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "bad_request", "message": "m"}})
        );
    }

    #[test]
    fn codes_have_their_statuses_and_unknown_codes_are_operation_errors() {
        assert_eq!(Code::InvalidReference.status(), 400);
        assert_eq!(Code::NotFound.status(), 404);
        assert_eq!(Code::VaultUnavailable.status(), 503);
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":{"code":"from_the_future","message":"m"}}"#).unwrap();
        assert_eq!(body.error.code, Code::Unknown);
        assert_eq!(body.into_failure().kind(), Kind::Operation);
        for code in [Code::NotFound, Code::PayloadTooLarge, Code::VaultAuthFailed] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
        }
    }

    #[test]
    fn a_message_cannot_forge_lines() {
        let body = ErrorBody::new(Code::NotFound, "one\nsy: two\u{1b}[31m");
        assert_eq!(body.into_failure().into_lines(), ["one sy: two [31m"]);
    }

    #[test]
    fn values_keep_whether_they_are_secret() {
        let value = Value::from(Selected::Secret("p".into()));
        assert!(value.secret);
        assert_eq!(Selected::from(value), Selected::Secret("p".into()));
        let plain = Value::from(Selected::Plain("Database".into()));
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"value":"Database","secret":false}"#
        );
    }
}
