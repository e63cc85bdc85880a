//! Every response body parser and the error mapping: a typed error or a value, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use syvault_proto::wire::{
    self, BootstrapRequest, BootstrapResponse, CreateSecretRequest, DataEnvelope, ErrorEnvelope,
    FolderKeysUpload, FolderList, ListQuery, Record, Rotation, SecretList,
};

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => (200, data),
    };
    let _ = wire::parse_body::<BootstrapResponse>(status, body);
    let _ = wire::parse_body::<FolderList>(status, body);
    let _ = wire::parse_body::<SecretList>(status, body);
    let _ = wire::parse_body::<DataEnvelope<Record>>(status, body);
    let _ = wire::parse_body::<DataEnvelope<Rotation>>(status, body);
    let _ = wire::parse_body::<ErrorEnvelope>(status, body);
    // What a server parses.
    let _ = wire::parse_request::<CreateSecretRequest>(body);
    let _ = wire::parse_request::<BootstrapRequest>(body);
    let _ = wire::parse_request::<FolderKeysUpload>(body);
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = wire::api_error(status, Some(text), body);
        let _ = wire::parse_retry_after(text);
        let _ = ListQuery::parse(text);
    }
});
