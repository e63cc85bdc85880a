//! The JSON bodies of every endpoint, the error envelope and the endpoint paths.
//!
//! Every request and response body has a serde type here. Parsing is strict where it matters
//! and lenient where the protocol may grow: unknown fields are ignored, while a missing or
//! mistyped field, bad base64, a bad UUID or record UID is an error. [`parse_body`] turns any
//! such failure into [`Error::MalformedResponse`] whose reason never repeats a value from the
//! body, so a malformed answer cannot leak a secret into a log.
//!
//! The body structs are exhaustive on purpose: a server (such as `syvault-dev`) and tests build
//! them with struct literals, and each mirrors a shape `docs/protocol.md` fixes, so a new field
//! comes with a protocol revision and a major release of this crate. The enums that reach the
//! SDK's users, [`Access`] and [`RotationStatus`], are `#[non_exhaustive]`: the server may
//! grow them.
//!
//! ```
//! use syvault_proto::wire::{DataEnvelope, Rotation, RotationStatus, parse_body};
//!
//! let body = br#"{"data":{"rotation_id":"0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60",
//!                 "uid":"7Kj9mNpQ2xRs","status":"pending"}}"#;
//! let rotation: DataEnvelope<Rotation> = parse_body(202, body)?;
//! assert_eq!(rotation.data.status, RotationStatus::Pending);
//! assert_eq!(rotation.data.revision, None);
//! # Ok::<(), syvault_proto::Error>(())
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::{Error, Result};

mod bootstrap;
mod bytes;
mod errors;
mod fields;
mod folders;
mod lease;
pub mod paths;
mod query;
mod records;
mod rotation;

pub use bootstrap::{BootstrapRequest, BootstrapResponse, FolderKeysUpload};
pub use bytes::Base64Bytes;
pub use errors::{
    ErrorBody, ErrorEnvelope, MAX_RETRY_AFTER_SECS, api_error, error_body, parse_retry_after,
};
pub use folders::{Access, Folder, FolderList};
pub use lease::{
    LeaseCreated, LeaseList, LeaseRequest, LeaseSummary, MAX_LEASE_TTL_SECS, MIN_LEASE_TTL_SECS,
    RenewLeaseRequest,
};
pub use query::ListQuery;
pub use records::{CreateSecretRequest, DataEnvelope, Record, SecretList};
pub use rotation::{Rotation, RotationStatus};

/// The path of the API below the server URL.
pub const API_BASE: &str = "/api/sm/v1";

/// The body types of this module, whose serialization cannot fail: all their map keys are
/// UUIDs, which serialize as strings, and none of their fields has a fallible `Serialize`.
///
/// The trait is sealed; use [`try_to_body`] for any other type.
pub trait WireBody: Serialize + sealed::Sealed {}

/// Keeps other crates from implementing [`WireBody`] for types whose serialization can fail.
mod sealed {
    pub trait Sealed {}
}

macro_rules! wire_bodies {
    ($($ty:ty),* $(,)?) => {
        $(
            impl sealed::Sealed for $ty {}
            impl WireBody for $ty {}
        )*
    };
}

wire_bodies!(
    BootstrapRequest,
    BootstrapResponse,
    FolderKeysUpload,
    Folder,
    FolderList,
    Record,
    SecretList,
    CreateSecretRequest,
    Rotation,
    ErrorEnvelope,
    ErrorBody,
    LeaseRequest,
    RenewLeaseRequest,
    LeaseCreated,
    LeaseSummary,
    LeaseList,
);

impl<T: WireBody> sealed::Sealed for DataEnvelope<T> {}
impl<T: WireBody> WireBody for DataEnvelope<T> {}

/// Serializes a body of this module as compact JSON.
///
/// ```
/// use syvault_proto::wire::{FolderKeysUpload, to_body};
///
/// let body = to_body(&FolderKeysUpload { keys: Default::default() });
/// assert_eq!(body, br#"{"keys":{}}"#);
/// ```
pub fn to_body<T: WireBody>(value: &T) -> Vec<u8> {
    // Unreachable for `WireBody` types (see the trait); an empty body would then be refused by
    // the peer rather than crash this process.
    try_to_body(value).unwrap_or_default()
}

/// Serializes any value as compact JSON, for bodies that are not [`WireBody`] types.
///
/// Fails with [`Error::InvalidInput`] when the value cannot be JSON, such as a map with
/// non-string keys.
pub fn try_to_body<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|_| Error::invalid_input("JSON body", "value cannot be serialized as JSON"))
}

/// Parses a response body, attributing any failure to the response's HTTP `status`.
///
/// Any failure (invalid JSON, a missing or mistyped field, bad base64, a bad UUID or record
/// UID) is [`Error::MalformedResponse`]. Its reason names the kind of problem, its position
/// and, where it helps, the expected type or the missing field, but never a value from the body.
///
/// ```
/// use syvault_proto::Error;
/// use syvault_proto::wire::{Record, parse_body};
///
/// let err = parse_body::<Record>(200, br#"{"uid": "hunter2hunter2!"}"#).unwrap_err();
/// assert!(matches!(err, Error::MalformedResponse { status: 200, .. }));
/// assert!(!err.to_string().contains("hunter2"));
/// ```
pub fn parse_body<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|err| Error::malformed(status, malformed_reason(&err)))
}

/// Reads a JSON request body, for a server. Any failure is [`Error::InvalidInput`] with
/// `what = "request body"` and a reason built as [`parse_body`] builds it, never repeating a
/// value from the body.
///
/// ```
/// use syvault_proto::Error;
/// use syvault_proto::wire::{CreateSecretRequest, parse_request};
///
/// let err = parse_request::<CreateSecretRequest>(br#"{"uid":"hunter2"}"#).unwrap_err();
/// assert!(matches!(err, Error::InvalidInput { what: "request body", .. }));
/// assert!(!err.to_string().contains("hunter2"));
/// ```
pub fn parse_request<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|err| Error::invalid_input("request body", malformed_reason(&err)))
}

/// A description of a parse failure built only from text this crate controls: the error
/// category, the position, our own fixed messages and names taken from our type definitions.
fn malformed_reason(err: &serde_json::Error) -> String {
    let what = match err.classify() {
        Category::Syntax => "invalid JSON".to_owned(),
        Category::Eof => "truncated JSON".to_owned(),
        Category::Io => "unreadable body".to_owned(),
        Category::Data => data_reason(err),
    };
    if err.line() == 0 {
        what
    } else {
        format!("{what} at line {} column {}", err.line(), err.column())
    }
}

/// Fixed messages of this module that may be repeated as they are.
const FIXED_MESSAGES: [&str; 5] = [
    bytes::INVALID_BASE64,
    fields::EMPTY_TIMESTAMP,
    fields::EMPTY_CURSOR,
    fields::EMPTY_SYNC_TOKEN,
    fields::DUPLICATE_KEY,
];

/// Message prefixes of other crates' errors (uuid, our own `RecordUid`) and what to say instead;
/// the rest of those messages can quote a character of the value.
const KNOWN_PREFIXES: [(&str, &str); 2] = [
    ("UUID parsing failed", "invalid UUID"),
    ("invalid record UID", "invalid record UID"),
];

/// serde's messages that quote one of our field names: the name is checked and kept.
const FIELD_MESSAGES: [&str; 2] = ["missing field `", "duplicate field `"];

/// serde's messages of the form `<label> <value from the body>, expected <our type>`: only the
/// label and the expectation are kept. The separator is searched from the end, where serde puts
/// the expectation, so a value that contains it cannot take its place.
const EXPECTATION_MESSAGES: [(&str, &str, &str); 4] = [
    ("unknown variant `", "unknown variant", "`, expected "),
    ("invalid type: ", "invalid type", ", expected "),
    ("invalid value: ", "invalid value", ", expected "),
    ("invalid length ", "invalid length", ", expected "),
];

fn data_reason(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    let message = full.strip_suffix(position.as_str()).unwrap_or(&full);

    if let Some(fixed) = FIXED_MESSAGES.iter().find(|&&fixed| message == fixed) {
        return (*fixed).to_owned();
    }
    if let Some((_, said)) = KNOWN_PREFIXES
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))
    {
        return (*said).to_owned();
    }
    for prefix in FIELD_MESSAGES {
        if let Some(name) = message
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix('`'))
        {
            return if is_field_name(name) {
                format!("{prefix}{name}`")
            } else {
                "invalid field".to_owned()
            };
        }
    }
    for (prefix, label, separator) in EXPECTATION_MESSAGES {
        if message.starts_with(prefix) {
            return match message.rsplit_once(separator) {
                Some((_, expected)) if is_type_description(expected) => {
                    format!("{label}, expected {expected}")
                }
                _ => label.to_owned(),
            };
        }
    }
    "invalid value".to_owned()
}

fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Descriptions such as `u64`, `struct Record` or ``one of `read`, `read_write` ``.
fn is_type_description(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'_' | b'`' | b','))
}

#[cfg(test)]
mod tests;
