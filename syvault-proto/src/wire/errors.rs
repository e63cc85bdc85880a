//! The error envelope, both for reading a server's error answer and for writing one.

use core::time::Duration;

use serde::Serialize;

use crate::error::{ApiError, ErrorCode, ErrorDetails};
use crate::object::object_struct;

/// The longest `Retry-After` honoured, in seconds (one day); longer values are clamped to it.
pub const MAX_RETRY_AFTER_SECS: u64 = 86_400;

object_struct! {
/// The body of every error answer: `{"error": {"code", "message", "details"?}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}
}

object_struct! {
/// The inside of an [`ErrorEnvelope`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The machine-readable code; unknown codes are kept as [`ErrorCode::Other`].
    pub code: ErrorCode,
    /// A human-readable description, which never contains secret values.
    pub message: String,
    /// Structured extra information, such as the running `rotation_id` of a
    /// `rotation_in_progress` error. Omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<ErrorDetails>,
}
}

/// Turns an error answer into an [`ApiError`]; never fails.
///
/// `retry_after` is the raw `Retry-After` header, read with [`parse_retry_after`]. When the body
/// is not a valid envelope (an HTML page from a proxy, an empty or truncated body) the code is
/// derived from the status and the message is generic: such a body is never copied into the
/// error, since it may be large or hold anything.
///
/// ```
/// use syvault_proto::error::ErrorCode;
/// use syvault_proto::wire::api_error;
///
/// let err = api_error(429, Some("3"), br#"{"error":{"code":"rate_limited","message":"slow down"}}"#);
/// assert_eq!(err.code, ErrorCode::RateLimited);
/// assert_eq!(err.retry_after, Some(std::time::Duration::from_secs(3)));
///
/// let err = api_error(502, None, b"<html>Bad Gateway</html>");
/// assert_eq!(err.code, ErrorCode::Internal);
/// assert_eq!(err.message, "HTTP 502 with no error envelope");
/// ```
pub fn api_error(status: u16, retry_after: Option<&str>, body: &[u8]) -> ApiError {
    let mut err = match serde_json::from_slice::<ErrorEnvelope>(body) {
        Ok(ErrorEnvelope { error }) => {
            let mut err = ApiError::new(status, error.code, &error.message);
            err.details = error.details;
            err
        }
        Err(_) => ApiError::new(
            status,
            ErrorCode::for_status(status),
            &format!("HTTP {status} with no error envelope"),
        ),
    };
    err.retry_after = retry_after.and_then(parse_retry_after);
    err
}

/// Reads a `Retry-After` header value given in delta-seconds.
///
/// Surrounding ASCII whitespace is ignored; anything but one or more ASCII digits (a sign, a
/// fraction, garbage) gives `None`. Values above [`MAX_RETRY_AFTER_SECS`] are clamped to it
/// rather than rejected: the server plainly wants a long pause, and the caller applies its own,
/// usually much smaller, cap anyway. HTTP-date values also give `None`, because this crate reads
/// no clock; the caller then falls back to its own backoff.
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::wire::parse_retry_after;
///
/// assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
/// assert_eq!(parse_retry_after("99999999999999999999"), Some(Duration::from_secs(86_400)));
/// assert_eq!(parse_retry_after("1.5"), None);
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
/// ```
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Saturating arithmetic: any number of digits is accepted and clamped, never overflows.
    let secs = digits.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    });
    Some(Duration::from_secs(secs.min(MAX_RETRY_AFTER_SECS)))
}

/// Serializes an error envelope, for servers.
///
/// ```
/// use syvault_proto::error::ErrorCode;
/// use syvault_proto::wire::error_body;
///
/// let body = error_body(ErrorCode::Forbidden, "read-only grant", None);
/// assert_eq!(body, br#"{"error":{"code":"forbidden","message":"read-only grant"}}"#);
/// ```
pub fn error_body(code: ErrorCode, message: &str, details: Option<ErrorDetails>) -> Vec<u8> {
    super::to_body(&ErrorEnvelope {
        error: ErrorBody {
            code,
            message: message.to_owned(),
            details,
        },
    })
}
