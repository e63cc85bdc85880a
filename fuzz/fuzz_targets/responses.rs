//! Every response body parser and the error mapping: a typed error or a value, never a panic,
//! and what parses serializes back to itself.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use syvault_proto::wire::{
    self, BootstrapRequest, BootstrapResponse, CreateSecretRequest, DataEnvelope, ErrorEnvelope,
    FolderKeysUpload, FolderList, ListQuery, MAX_RETRY_AFTER_SECS, Record, Rotation, SecretList,
    WireBody,
};

/// Parse → serialize → parse gives the value back, and serializing is canonical (the second
/// serialization is the first, byte for byte).
fn round_trips<T>(value: &T)
where
    T: WireBody + DeserializeOwned + PartialEq + Debug,
{
    let body = wire::to_body(value);
    let again: T = wire::parse_body(200, &body).expect("a serialized body parses");
    assert_eq!(&again, value, "parse → serialize → parse changed the value");
    assert_eq!(
        wire::to_body(&again),
        body,
        "serialization is not canonical"
    );
}

/// Serializes a request body a server parsed; requests are `WireBody` types too.
fn request_round_trips<T>(body: &[u8])
where
    T: WireBody + DeserializeOwned + PartialEq + Debug,
{
    if let Ok(value) = wire::parse_request::<T>(body) {
        let again: T = wire::parse_request(&wire::to_body(&value)).expect("a serialized body");
        assert_eq!(again, value, "parse → serialize → parse changed a request");
    }
}

/// The error mapping never copies a body that is not an error envelope, and copies nothing but
/// the envelope's fields from one that is.
fn api_error_hides_the_body(status: u16, retry_after: Option<&str>, body: &[u8]) {
    let error = wire::api_error(status, retry_after, body);
    match wire::parse_body::<ErrorEnvelope>(status, body) {
        Err(_) => {
            // The error is exactly the one for an empty body: nothing of this body is in it.
            let bodiless = wire::api_error(status, retry_after, b"");
            assert_eq!(
                error, bodiless,
                "a body that is no envelope changed the error"
            );
            // The same, said as the issue says it: the body's text is not in the error's text
            // (unless the fixed text for an empty body already holds it, as "HTTP 5" would be).
            if let Ok(text) = std::str::from_utf8(body)
                && text.len() >= 8
            {
                for (shown, fixed) in [
                    (error.to_string(), bodiless.to_string()),
                    (format!("{error:?}"), format!("{bodiless:?}")),
                ] {
                    assert!(
                        fixed.contains(text) || !shown.contains(text),
                        "the error repeats the body"
                    );
                }
            }
        }
        Ok(envelope) => {
            // Only the parsed fields count: the canonical serialization maps to the same error.
            let canonical = wire::to_body(&envelope);
            let from_canonical = wire::api_error(status, retry_after, &canonical);
            assert_eq!(
                error, from_canonical,
                "the error depends on more than the envelope"
            );
            assert_eq!(error.status, status);
        }
    }
    if let Some(after) = error.retry_after {
        let raw = retry_after
            .expect("a Retry-After from no header")
            .trim_ascii();
        assert!(!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()));
        assert!(after.as_secs() <= MAX_RETRY_AFTER_SECS);
    }
}

/// `Retry-After` values picked by the top six bits of the status word.
const RETRY_AFTER: [&str; 12] = [
    "0",
    "3",
    "120",
    "86400",
    "86401",
    "99999999999999999999",
    " 7 ",
    "-1",
    "1.5",
    "",
    "+3",
    "Wed, 21 Oct 2015 07:28:00 GMT",
];

// The input is a big-endian word, then the body. The word's low ten bits are the status; its
// top six bits pick a `Retry-After` header (0 for none), so that a header can come with a
// valid envelope. The body's first line is also tried as a header, for arbitrary text.
fuzz_target!(|data: &[u8]| {
    let (word, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => (200, data),
    };
    let status = word & 0x3ff;
    let header = match usize::from(word >> 10) {
        0 => None,
        k => Some(RETRY_AFTER[(k - 1) % RETRY_AFTER.len()]),
    };
    if let Ok(value) = wire::parse_body::<BootstrapResponse>(status, body) {
        round_trips(&value);
    }
    if let Ok(value) = wire::parse_body::<FolderList>(status, body) {
        round_trips(&value);
    }
    if let Ok(value) = wire::parse_body::<SecretList>(status, body) {
        round_trips(&value);
    }
    if let Ok(value) = wire::parse_body::<DataEnvelope<Record>>(status, body) {
        round_trips(&value);
    }
    if let Ok(value) = wire::parse_body::<DataEnvelope<Rotation>>(status, body) {
        round_trips(&value);
    }
    if let Ok(value) = wire::parse_body::<ErrorEnvelope>(status, body) {
        round_trips(&value);
    }
    // What a server parses.
    request_round_trips::<CreateSecretRequest>(body);
    request_round_trips::<BootstrapRequest>(body);
    request_round_trips::<FolderKeysUpload>(body);
    api_error_hides_the_body(status, header, body);
    let first_line = body
        .split(|&b| b == b'\n')
        .next()
        .and_then(|line| std::str::from_utf8(line).ok());
    api_error_hides_the_body(status, first_line, body);
    if let Ok(text) = std::str::from_utf8(body) {
        if let Some(after) = wire::parse_retry_after(text) {
            let digits = text.trim_ascii();
            assert!(!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
            assert!(after.as_secs() <= MAX_RETRY_AFTER_SECS);
            assert!(after.subsec_nanos() == 0);
        }
        if let Ok(query) = ListQuery::parse(text) {
            let again = ListQuery::parse(&query.to_query_string()).expect("a written query");
            assert_eq!(again, query, "parse → write → parse changed a list query");
        }
    }
});
