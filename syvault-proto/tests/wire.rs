//! Tests of the wire bodies: realistic examples, strictness, error envelopes and fuzzing.

use std::time::Duration;

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use syvault_proto::Error;
use syvault_proto::error::{ErrorCode, ErrorDetails};
use syvault_proto::wire::{
    Access, BootstrapRequest, BootstrapResponse, CreateSecretRequest, DataEnvelope, ErrorEnvelope,
    FolderKeysUpload, FolderList, ListQuery, Record, Rotation, RotationStatus, SecretList,
    WireBody, api_error, error_body, parse_body, parse_retry_after, to_body,
};

/// A value that must never appear in an error reason.
const SECRET: &str = "hunter2";

const FOLDER: &str = "3f2c8e1a-5b7d-4c9e-8a1f-2b3c4d5e6f70";
const PARENT: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
const CLIENT: &str = "0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60";
const APP: &str = "7d1c3e5b-2f4a-4b8e-8c6d-9e0f1a2b3c4d";
const ROTATION: &str = "c4d5e6f7-0a1b-4c2d-8e3f-405162738495";

fn record_json() -> Value {
    json!({
        "uid": "7Kj9mNpQ2xRs",
        "folder_id": FOLDER,
        "revision": 3,
        "encrypted_dek": "q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0VniQ",
        "encrypted_data": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "created_at": "2025-01-31T09:15:00Z",
        "updated_at": "2025-02-01T10:00:00.123+01:00"
    })
}

fn rotation_json() -> Value {
    json!({
        "rotation_id": ROTATION,
        "uid": "7Kj9mNpQ2xRs",
        "status": "completed",
        "revision": 4,
        "error": null
    })
}

fn bootstrap_request() -> Value {
    json!({"token": "vft_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss", "public_key": "BA=="})
}

fn bootstrap_response() -> Value {
    json!({
        "client_id": CLIENT,
        "application_id": APP,
        "encrypted_folder_keys": {FOLDER: "AAEC", PARENT: "AwQF"}
    })
}

fn folder_keys() -> Value {
    json!({"keys": {FOLDER: "AAEC"}})
}

fn folder_list() -> Value {
    json!({"data": [
        {"folder_id": PARENT, "parent_id": null, "encrypted_key": "AAEC", "encrypted_name": "AwQF", "access": "read"},
        {"folder_id": FOLDER, "parent_id": PARENT, "encrypted_key": "BgcI", "encrypted_name": "CQoL", "access": "read_write"}
    ]})
}

fn secret_list() -> Value {
    json!({"data": [record_json()], "next_cursor": "eyJvZmZzZXQiOjEwMH0+/="})
}

/// The last page of a delta listing: a changed record, two that are no longer visible.
fn delta_page() -> Value {
    json!({
        "delta": true,
        "data": [record_json()],
        "deleted": ["0Abc1Def2Ghi", "9zYx8WvU7tSr"],
        "next_cursor": null,
        "sync_token": "Zm9v.Mw==.YmFy+/"
    })
}

fn create_request() -> Value {
    json!({"uid": "7Kj9mNpQ2xRs", "folder_id": FOLDER, "encrypted_dek": "AAEC", "encrypted_data": "AwQF"})
}

fn error_envelope() -> Value {
    json!({"error": {"code": "rotation_in_progress", "message": "a rotation is running",
                     "details": {"rotation_id": ROTATION}}})
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// Parses an example, serializes it again and checks that nothing changed.
fn round_trip<T>(example: &Value) -> T
where
    T: WireBody + DeserializeOwned + PartialEq + core::fmt::Debug,
{
    let parsed: T = parse_body(200, &bytes(example)).unwrap();
    let again: T = parse_body(200, &to_body(&parsed)).unwrap();
    assert_eq!(again, parsed);
    parsed
}

fn assert_malformed<T: DeserializeOwned + core::fmt::Debug>(body: &[u8], context: &str) {
    match parse_body::<T>(299, body) {
        Err(Error::MalformedResponse {
            status: 299,
            reason,
        }) => {
            assert!(
                !reason.contains(SECRET),
                "{context}: reason quotes the body: {reason}"
            );
        }
        other => panic!("{context}: expected MalformedResponse, got {other:?}"),
    }
}

/// Fields holding a map keyed by folder id rather than a struct: not entered by `field_paths`.
const MAP_FIELDS: [&str; 2] = ["encrypted_folder_keys", "keys"];

/// Every path to a struct field of `value` (arrays are entered at their first element).
fn field_paths(value: &Value, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let in_map = prefix
        .last()
        .is_some_and(|name| MAP_FIELDS.contains(&name.as_str()));
    match value {
        Value::Object(_) if in_map => {}
        Value::Object(map) => {
            for (key, child) in map {
                let mut path = prefix.to_vec();
                path.push(key.clone());
                out.push(path.clone());
                field_paths(child, &path, out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                let mut path = prefix.to_vec();
                path.push("0".to_owned());
                field_paths(first, &path, out);
            }
        }
        _ => {}
    }
}

fn pointer(path: &[String]) -> String {
    path.iter().fold(String::new(), |mut out, part| {
        out.push('/');
        out.push_str(part);
        out
    })
}

/// Applies `change` to the field at `path` (or removes it when `change` is `None`).
fn edit(example: &Value, path: &[String], change: Option<Value>) -> Value {
    let mut edited = example.clone();
    let (last, parent) = path.split_last().unwrap();
    let parent = edited.pointer_mut(&pointer(parent)).unwrap();
    match (parent, change) {
        (Value::Object(map), None) => {
            map.remove(last);
        }
        (Value::Object(map), Some(value)) => {
            map.insert(last.clone(), value);
        }
        _ => unreachable!("paths only lead through objects"),
    }
    edited
}

/// A value of the wrong type for the field at `path`.
fn mistyped(example: &Value, path: &[String]) -> Value {
    match example.pointer(&pointer(path)) {
        // `null` examples here are all nullable strings or UUIDs, for which a number is wrong.
        Some(Value::String(_) | Value::Null) => json!(12345),
        _ => json!(SECRET),
    }
}

/// Checks that `T` accepts the example with unknown fields added, and rejects it with any
/// field removed (except `optional` ones) or given a value of the wrong type (except `free` ones).
fn check_strictness<T>(example: &Value, optional: &[&str], free: &[&str])
where
    T: DeserializeOwned + core::fmt::Debug,
{
    let mut paths = Vec::new();
    field_paths(example, &[], &mut paths);
    let mut extended = example.clone();
    for path in &paths {
        let parent = &path[..path.len() - 1];
        if let Some(Value::Object(map)) = extended.pointer_mut(&pointer(parent)) {
            map.insert("x_future".to_owned(), json!({"nested": [1, SECRET]}));
        }
    }
    parse_body::<T>(200, &bytes(&extended)).expect("unknown fields are tolerated");

    for path in &paths {
        let name = path.last().unwrap().as_str();
        let context = format!("{} {}", core::any::type_name::<T>(), pointer(path));
        // Fields inside free-form values (`details`) are not ours to check.
        if path.iter().any(|part| free.contains(&part.as_str())) && !free.contains(&name) {
            continue;
        }
        if optional.contains(&name) {
            parse_body::<T>(200, &bytes(&edit(example, path, None))).expect(&context);
        } else {
            assert_malformed::<T>(
                &bytes(&edit(example, path, None)),
                &format!("{context} missing"),
            );
        }
        if !free.contains(&name) {
            let wrong = mistyped(example, path);
            assert_malformed::<T>(
                &bytes(&edit(example, path, Some(wrong))),
                &format!("{context} mistyped"),
            );
        }
    }
}

#[test]
fn every_body_parses_a_realistic_example_and_round_trips() {
    let request: BootstrapRequest = round_trip(&bootstrap_request());
    assert!(request.token.expose().starts_with("vft_"));
    assert_eq!(request.public_key.0, [4]);

    let response: BootstrapResponse = round_trip(&bootstrap_response());
    assert_eq!(response.client_id.to_string(), CLIENT);
    assert_eq!(response.encrypted_folder_keys.len(), 2);

    let upload: FolderKeysUpload = round_trip(&folder_keys());
    assert_eq!(upload.keys.len(), 1);

    let folders: FolderList = round_trip(&folder_list());
    assert_eq!(folders.data[0].parent_id, None);
    assert_eq!(folders.data[1].parent_id.unwrap().to_string(), PARENT);
    assert_eq!(folders.data[0].access, Access::Read);
    assert!(folders.data[1].access.can_write());

    let list: SecretList = round_trip(&secret_list());
    assert_eq!(list.next_cursor.as_deref(), Some("eyJvZmZzZXQiOjEwMH0+/="));
    assert_eq!(list.data[0].revision, 3);
    assert_eq!(list.data[0].encrypted_data.len(), 32);
    assert!(!list.delta && list.deleted.is_empty() && list.sync_token.is_none());

    let delta: SecretList = round_trip(&delta_page());
    assert!(delta.delta);
    assert_eq!(delta.data[0].uid.as_str(), "7Kj9mNpQ2xRs");
    let deleted: Vec<_> = delta
        .deleted
        .iter()
        .map(syvault_proto::RecordUid::as_str)
        .collect();
    assert_eq!(deleted, ["0Abc1Def2Ghi", "9zYx8WvU7tSr"]);
    assert_eq!(delta.next_cursor, None);
    assert_eq!(delta.sync_token.as_deref(), Some("Zm9v.Mw==.YmFy+/"));

    let record: DataEnvelope<Record> = round_trip(&json!({"data": record_json()}));
    assert_eq!(record.data.uid.as_str(), "7Kj9mNpQ2xRs");

    let create: CreateSecretRequest = round_trip(&create_request());
    assert_eq!(create.folder_id.to_string(), FOLDER);

    let rotation: DataEnvelope<Rotation> = round_trip(&json!({"data": rotation_json()}));
    assert_eq!(rotation.data.status, RotationStatus::Completed);
    assert_eq!(rotation.data.revision, Some(4));

    let envelope: ErrorEnvelope = round_trip(&error_envelope());
    assert_eq!(envelope.error.code, ErrorCode::RotationInProgress);
}

#[test]
fn serialization_uses_the_wire_spellings() {
    let folders: FolderList = parse_body(200, &bytes(&folder_list())).unwrap();
    let back: Value = serde_json::from_slice(&to_body(&folders)).unwrap();
    assert_eq!(back, folder_list());
    let record: Record = parse_body(200, &bytes(&record_json())).unwrap();
    let back: Value = serde_json::from_slice(&to_body(&record)).unwrap();
    assert_eq!(back, record_json());
    let rotation: Rotation = parse_body(200, &bytes(&rotation_json())).unwrap();
    let back: Value = serde_json::from_slice(&to_body(&rotation)).unwrap();
    assert_eq!(back, rotation_json());
    let delta: SecretList = parse_body(200, &bytes(&delta_page())).unwrap();
    let back: Value = serde_json::from_slice(&to_body(&delta)).unwrap();
    assert_eq!(back, delta_page());
}

#[test]
fn a_full_page_serializes_as_before_sync_tokens_and_a_delta_page_in_full() {
    let record: Record = parse_body(200, &bytes(&record_json())).unwrap();
    let page = SecretList::full(vec![record.clone()], Some("c1".into()));
    let text = String::from_utf8(to_body(&page)).unwrap();
    assert!(
        text.starts_with(r#"{"data":[{"uid":"7Kj9mNpQ2xRs""#),
        "{text}"
    );
    assert!(text.ends_with(r#"}],"next_cursor":"c1"}"#), "{text}");

    // The last page of a full listing adds only its token.
    let last = SecretList {
        sync_token: Some("t1".into()),
        ..SecretList::full(Vec::new(), None)
    };
    assert_eq!(
        to_body(&last),
        br#"{"data":[],"next_cursor":null,"sync_token":"t1"}"#
    );

    // A delta page names every member, also when empty or null.
    let unchanged = SecretList {
        delta: true,
        sync_token: Some("t2".into()),
        ..SecretList::full(Vec::new(), None)
    };
    assert_eq!(
        to_body(&unchanged),
        br#"{"delta":true,"data":[],"deleted":[],"next_cursor":null,"sync_token":"t2"}"#
    );
    let middle = SecretList {
        delta: true,
        ..SecretList::full(Vec::new(), Some("c2".into()))
    };
    assert_eq!(
        to_body(&middle),
        br#"{"delta":true,"data":[],"deleted":[],"next_cursor":"c2","sync_token":null}"#
    );
    // `deleted` on a full page means nothing, but is kept so that the value round-trips.
    let odd = SecretList {
        deleted: vec!["7Kj9mNpQ2xRs".parse().unwrap()],
        ..SecretList::full(Vec::new(), None)
    };
    assert_eq!(parse_body::<SecretList>(200, &to_body(&odd)).unwrap(), odd);
}

#[test]
fn strictness_of_every_body() {
    check_strictness::<BootstrapRequest>(&bootstrap_request(), &[], &[]);
    check_strictness::<BootstrapResponse>(&bootstrap_response(), &[], &[]);
    check_strictness::<FolderKeysUpload>(&folder_keys(), &[], &[]);
    check_strictness::<FolderList>(&folder_list(), &[], &[]);
    check_strictness::<SecretList>(&secret_list(), &["next_cursor"], &[]);
    check_strictness::<SecretList>(
        &delta_page(),
        &["next_cursor", "sync_token", "delta", "deleted"],
        &[],
    );
    check_strictness::<DataEnvelope<Record>>(&json!({"data": record_json()}), &[], &[]);
    check_strictness::<CreateSecretRequest>(&create_request(), &[], &[]);
    check_strictness::<DataEnvelope<Rotation>>(
        &json!({"data": rotation_json()}),
        &["revision", "error"],
        &[],
    );
    check_strictness::<ErrorEnvelope>(&error_envelope(), &["details"], &["details"]);
}

#[test]
fn the_202_rotation_answer_has_three_fields() {
    let body =
        json!({"data": {"rotation_id": ROTATION, "uid": "7Kj9mNpQ2xRs", "status": "pending"}});
    let rotation: DataEnvelope<Rotation> = parse_body(202, &bytes(&body)).unwrap();
    assert_eq!(rotation.data.revision, None);
    assert_eq!(rotation.data.error, None);
    assert!(!rotation.data.status.is_terminal());
    assert!(RotationStatus::Failed.is_terminal());
    assert!(!RotationStatus::Running.is_terminal());
    for status in ["PENDING", "done", ""] {
        let body = json!({"rotation_id": ROTATION, "uid": "7Kj9mNpQ2xRs", "status": status});
        assert_malformed::<Rotation>(&bytes(&body), status);
    }
}

#[test]
fn nullable_and_absent_fields() {
    let mut list = secret_list();
    list["next_cursor"] = Value::Null;
    assert_eq!(
        parse_body::<SecretList>(200, &bytes(&list))
            .unwrap()
            .next_cursor,
        None
    );
    list.as_object_mut().unwrap().remove("next_cursor");
    assert_eq!(
        parse_body::<SecretList>(200, &bytes(&list))
            .unwrap()
            .next_cursor,
        None
    );
    list["next_cursor"] = json!("");
    assert_malformed::<SecretList>(&bytes(&list), "empty cursor");

    // The members of incremental listings: absent or null is none, false or empty.
    let mut delta = delta_page();
    delta["sync_token"] = Value::Null;
    assert_eq!(
        parse_body::<SecretList>(200, &bytes(&delta))
            .unwrap()
            .sync_token,
        None
    );
    for member in ["sync_token", "delta", "deleted"] {
        delta.as_object_mut().unwrap().remove(member);
    }
    let page = parse_body::<SecretList>(200, &bytes(&delta)).unwrap();
    assert!(page.sync_token.is_none() && !page.delta && page.deleted.is_empty());
    assert_eq!(page.data.len(), 1);
    let mut delta = delta_page();
    delta["sync_token"] = json!("");
    assert_malformed::<SecretList>(&bytes(&delta), "empty sync token");
    let reason = match parse_body::<SecretList>(200, &bytes(&delta)) {
        Err(Error::MalformedResponse { reason, .. }) => reason,
        other => panic!("{other:?}"),
    };
    assert!(reason.starts_with("empty sync token"), "{reason}");
    // `delta` is a boolean, and `null` is not one; `deleted` holds record UIDs only.
    for bad in [json!(null), json!("true"), json!(1)] {
        let mut delta = delta_page();
        delta["delta"] = bad.clone();
        assert_malformed::<SecretList>(&bytes(&delta), &format!("delta {bad}"));
    }
    for bad in [
        json!(null),
        json!("7Kj9mNpQ2xRs"),
        json!([SECRET]),
        json!(["7Kj9mNpQ2xR"]),
        json!([""]),
        json!([7]),
        json!({"7Kj9mNpQ2xRs": true}),
    ] {
        let mut delta = delta_page();
        delta["deleted"] = bad.clone();
        assert_malformed::<SecretList>(&bytes(&delta), &format!("deleted {bad}"));
    }

    for field in ["created_at", "updated_at"] {
        let mut record = record_json();
        record[field] = json!("");
        assert_malformed::<Record>(&bytes(&record), field);
    }
    for access in ["write", "READ", "readwrite"] {
        let mut folders = folder_list();
        folders["data"][0]["access"] = json!(access);
        assert_malformed::<FolderList>(&bytes(&folders), access);
    }
}

#[test]
fn bad_base64_uuids_and_uids_are_rejected() {
    for bad in ["q83v-_8=", "AAE", "AAE==", "AA E=", "AAF=", "hunter2"] {
        let mut record = record_json();
        record["encrypted_dek"] = json!(bad);
        assert_malformed::<Record>(&bytes(&record), bad);
        let upload = json!({"keys": {FOLDER: bad}});
        assert_malformed::<FolderKeysUpload>(&bytes(&upload), bad);
    }
    for bad in [
        "3f2c8e1a-5b7d-4c9e-8a1f-2b3c4d5e6f7",
        "hunter2",
        "",
        "3f2c8e1a-5b7d-4c9e-8a1f-2b3c4d5e6f7g",
    ] {
        let mut record = record_json();
        record["folder_id"] = json!(bad);
        assert_malformed::<Record>(&bytes(&record), bad);
        let upload = json!({"keys": {bad: "AAEC"}});
        assert_malformed::<FolderKeysUpload>(&bytes(&upload), bad);
        let mut response = bootstrap_response();
        response["client_id"] = json!(bad);
        assert_malformed::<BootstrapResponse>(&bytes(&response), bad);
    }
    for bad in [
        "7Kj9mNpQ2xR",
        "7Kj9mNpQ2xRs1",
        "7Kj9mNpQ2x-s",
        "hunter2hunter2",
        "",
    ] {
        let mut record = record_json();
        record["uid"] = json!(bad);
        assert_malformed::<Record>(&bytes(&record), bad);
    }
    for bad in ["-1", "1.5", "18446744073709551616", "\"3\"", "1e2"] {
        let mut record = record_json();
        record["revision"] = json!("REVISION");
        let body = bytes(&record);
        let body = String::from_utf8(body)
            .unwrap()
            .replace("\"REVISION\"", bad);
        assert_malformed::<Record>(body.as_bytes(), bad);
    }
}

#[test]
fn a_secret_looking_value_never_reaches_the_reason() {
    let mut record = record_json();
    record["revision"] = json!(SECRET);
    let err = parse_body::<Record>(200, &bytes(&record)).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("expected u64"), "{shown}");
    // Also when the value is the body itself or hides in a key.
    for body in [
        format!("\"{SECRET}\""),
        format!("{{\"{SECRET}\": 1"),
        format!("[\"{SECRET}\"]"),
        format!("{{\"data\": {{\"uid\": \"{SECRET}x\"}}}}"),
    ] {
        assert_malformed::<DataEnvelope<Record>>(body.as_bytes(), &body);
    }
}

#[test]
fn debug_never_shows_the_token_or_blobs() {
    let request: BootstrapRequest = parse_body(200, &bytes(&bootstrap_request())).unwrap();
    let shown = format!("{request:?}");
    assert!(!shown.contains("vft_"), "{shown}");
    assert!(shown.contains("Base64Bytes(1 bytes)"), "{shown}");
    let record: Record = parse_body(200, &bytes(&record_json())).unwrap();
    assert!(!format!("{record:?}").contains("AAECAwQF"));
}

#[test]
fn api_error_reads_a_proper_envelope() {
    let err = api_error(409, None, &bytes(&error_envelope()));
    assert_eq!(err.status, 409);
    assert_eq!(err.code, ErrorCode::RotationInProgress);
    assert_eq!(err.message, "a rotation is running");
    assert_eq!(err.retry_after, None);
    let details = err.details.as_ref().unwrap();
    assert_eq!(details.rotation_id().unwrap().to_string(), ROTATION);
    // Kept as the server wrote it.
    assert_eq!(details.get(), format!(r#"{{"rotation_id":"{ROTATION}"}}"#));
    let spaced = br#"{"error":{"code":"rotation_in_progress","message":"m","details": { "n" : [1.5e300, {}] } }}"#;
    let err = api_error(409, None, spaced);
    assert_eq!(err.details.unwrap().get(), r#"{ "n" : [1.5e300, {}] }"#);

    let body = br#"{"error":{"code":"brand_new_code","message":"m"},"request_id":"r"}"#;
    let err = api_error(418, Some("7"), body);
    assert_eq!(err.code, ErrorCode::Other("brand_new_code".into()));
    assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
}

#[test]
fn api_error_survives_garbage_empty_and_truncated_bodies() {
    let html = format!("<html><body>{SECRET}</body></html>");
    let truncated = &bytes(&error_envelope())[..20];
    let wrong_shape = format!(r#"{{"error": "{SECRET}"}}"#);
    for (status, body) in [
        (502, html.as_bytes()),
        (503, b"".as_slice()),
        (500, truncated),
        (400, wrong_shape.as_bytes()),
        (404, b"\xff\xfe\x00".as_slice()),
    ] {
        let err = api_error(status, Some("Wed, 21 Oct 2015 07:28:00 GMT"), body);
        assert_eq!(err.status, status);
        assert_eq!(err.code, ErrorCode::for_status(status));
        assert_eq!(err.message, format!("HTTP {status} with no error envelope"));
        assert_eq!(err.details, None);
        assert_eq!(err.retry_after, None);
    }
    let err = api_error(429, Some(" 30 "), b"");
    assert_eq!(err.code, ErrorCode::RateLimited);
    assert_eq!(err.retry_after, Some(Duration::from_secs(30)));
    let converted: Error = err.into();
    assert!(converted.is_retryable());
}

#[test]
fn error_body_round_trips_through_api_error() {
    let details = ErrorDetails::new(&json!({"rotation_id": ROTATION})).unwrap();
    let body = error_body(ErrorCode::RotationInProgress, "busy", Some(details.clone()));
    let err = api_error(409, None, &body);
    assert_eq!(err.code, ErrorCode::RotationInProgress);
    assert_eq!(err.message, "busy");
    assert_eq!(err.details, Some(details));
    let body = error_body(ErrorCode::Other("x_y".into()), "", None);
    assert_eq!(body, br#"{"error":{"code":"x_y","message":""}}"#);
}

#[test]
fn retry_after_values() {
    let secs = |s| parse_retry_after(s).map(|d| d.as_secs());
    assert_eq!(secs("0"), Some(0));
    assert_eq!(secs("3"), Some(3));
    assert_eq!(secs("\t120\r\n"), Some(120));
    assert_eq!(secs("0003"), Some(3));
    assert_eq!(secs("86400"), Some(86_400));
    assert_eq!(secs("86401"), Some(86_400));
    assert_eq!(secs(&"9".repeat(1000)), Some(86_400));
    for bad in [
        "",
        " ",
        "-1",
        "+1",
        "1.0",
        "1e3",
        "3s",
        "3 4",
        "٣",
        "Wed, 21 Oct 2015 07:28:00 GMT",
    ] {
        assert_eq!(parse_retry_after(bad), None, "{bad:?}");
    }
}

#[test]
fn rotation_id_details_are_checked() {
    for bad in [
        json!(null),
        json!({}),
        json!({"rotation_id": 1}),
        json!({"rotation_id": "x"}),
        json!([ROTATION]),
    ] {
        let details = ErrorDetails::new(&bad).unwrap();
        assert_eq!(details.rotation_id(), None, "{bad}");
    }
    let more = ErrorDetails::new(&json!({"since": 3, "rotation_id": ROTATION})).unwrap();
    assert_eq!(more.rotation_id().unwrap().to_string(), ROTATION);
}

// ---------------------------------------------------------------------------------------------
// Fuzzing: no input makes parsing panic, and every failure is a MalformedResponse.

fn check_outcome<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    match parse_body::<T>(status, body) {
        Ok(_) => Ok(()),
        Err(Error::MalformedResponse {
            status: got,
            reason,
        }) => {
            prop_assert_eq!(got, status);
            prop_assert!(
                !reason.contains("Zx9Secret"),
                "reason quotes the body: {}",
                reason
            );
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!("unexpected error {other:?}"))),
    }
}

fn check_all_responses(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    check_outcome::<BootstrapResponse>(status, body)?;
    check_outcome::<FolderList>(status, body)?;
    check_outcome::<SecretList>(status, body)?;
    check_outcome::<DataEnvelope<Record>>(status, body)?;
    check_outcome::<DataEnvelope<Rotation>>(status, body)?;
    check_outcome::<ErrorEnvelope>(status, body)?;
    let err = api_error(status, None, body);
    prop_assert_eq!(err.status, status);
    Ok(())
}

/// Arbitrary JSON whose strings and keys all carry a marker, so reasons can be checked for it.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(|s| Value::String(format!("Zx9Secret{s}"))),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6).prop_map(|map| {
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| (format!("Zx9Secret{k}"), v))
                        .collect(),
                )
            }),
        ]
    })
}

fn examples() -> Vec<Value> {
    vec![
        bootstrap_response(),
        folder_list(),
        secret_list(),
        delta_page(),
        json!({"data": record_json()}),
        json!({"data": rotation_json()}),
        error_envelope(),
    ]
}

/// An example body with one field replaced by arbitrary JSON.
fn arb_example_with_replaced_field() -> impl Strategy<Value = Vec<u8>> {
    (0..7usize, any::<prop::sample::Index>(), arb_json()).prop_map(|(which, index, value)| {
        let example = examples().swap_remove(which);
        let mut paths = Vec::new();
        field_paths(&example, &[], &mut paths);
        let path = index.get(&paths);
        bytes(&edit(&example, path, Some(value)))
    })
}

/// An example body, serialized, then damaged: truncated, with a byte replaced or inserted.
fn arb_damaged_example() -> impl Strategy<Value = Vec<u8>> {
    (0..7usize, any::<prop::sample::Index>(), any::<u8>(), 0..3u8).prop_map(
        |(which, index, byte, how)| {
            let mut body = bytes(&examples().swap_remove(which));
            let at = index.index(body.len());
            match how {
                0 => body.truncate(at),
                1 => body[at] = byte,
                _ => body.insert(at, byte),
            }
            body
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(status in any::<u16>(), body in prop::collection::vec(any::<u8>(), 0..256)) {
        check_all_responses(status, &body)?;
    }

    #[test]
    fn json_ish_text_never_panics(status in any::<u16>(), body in r#"[\{\}\[\]":,0-9a-z_ .eE+\-\\/=]{0,200}"#) {
        check_all_responses(status, body.as_bytes())?;
    }

    #[test]
    fn arbitrary_json_never_panics(status in any::<u16>(), value in arb_json()) {
        check_all_responses(status, &bytes(&value))?;
        check_all_responses(status, &bytes(&json!({"data": value.clone(), "error": value})))?;
    }

    #[test]
    fn examples_with_a_replaced_field_never_panic(status in any::<u16>(), body in arb_example_with_replaced_field()) {
        check_all_responses(status, &body)?;
    }

    #[test]
    fn damaged_examples_never_panic(status in any::<u16>(), body in arb_damaged_example()) {
        check_all_responses(status, &body)?;
    }

    #[test]
    fn api_error_never_panics(
        status in any::<u16>(),
        retry in prop::option::of(".{0,24}"),
        body in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        let err = api_error(status, retry.as_deref(), &body);
        prop_assert_eq!(err.status, status);
        if serde_json::from_slice::<ErrorEnvelope>(&body).is_err() {
            prop_assert_eq!(err.message, format!("HTTP {status} with no error envelope"));
        }
    }

    #[test]
    fn retry_after_never_panics(value in ".{0,40}") {
        if let Some(delay) = parse_retry_after(&value) {
            prop_assert!(delay <= Duration::from_secs(86_400));
            prop_assert!(value.trim_ascii().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn retry_after_reads_every_number(secs in any::<u64>()) {
        let expected = Duration::from_secs(secs.min(86_400));
        prop_assert_eq!(parse_retry_after(&secs.to_string()), Some(expected));
    }

    #[test]
    fn list_query_round_trips(
        folder in prop::option::of(any::<u128>()),
        since in prop::option::of(".{1,40}"),
        cursor in prop::option::of(".{1,40}"),
        limit in prop::option::of(1..=u32::MAX),
    ) {
        let query = ListQuery { folder_id: folder.map(uuid::Uuid::from_u128), since, cursor, limit };
        prop_assert_eq!(ListQuery::parse(&query.to_query_string()).unwrap(), query);
    }

    /// Every page a server can write parses back to itself, and writing is canonical.
    #[test]
    fn secret_list_pages_round_trip(
        delta in any::<bool>(),
        cursor in prop::option::of("[ -~]{1,24}"),
        token in prop::option::of("[ -~]{1,24}"),
        deleted in prop::collection::vec("[A-Za-z0-9]{12}", 0..4),
    ) {
        let page = SecretList {
            data: vec![parse_body(200, &bytes(&record_json())).unwrap()],
            next_cursor: cursor,
            sync_token: token,
            delta,
            deleted: deleted.iter().map(|uid| uid.parse().unwrap()).collect(),
        };
        let body = to_body(&page);
        let again: SecretList = parse_body(200, &body).unwrap();
        prop_assert_eq!(&again, &page);
        prop_assert_eq!(to_body(&again), body);
    }

    #[test]
    fn list_query_parse_never_panics(text in ".{0,80}") {
        if let Err(err) = ListQuery::parse(&text) {
            prop_assert!(matches!(err, Error::InvalidInput { .. }), "{:?}", err);
        }
    }
}

/// Serialization of the bodies never fails, so `to_body` is never empty.
#[test]
fn to_body_is_never_empty() {
    fn non_empty<T: WireBody>(value: &T) {
        assert!(!to_body(value).is_empty());
    }
    non_empty(&parse_body::<BootstrapRequest>(200, &bytes(&bootstrap_request())).unwrap());
    non_empty(&parse_body::<ErrorEnvelope>(200, &bytes(&error_envelope())).unwrap());
    non_empty(&DataEnvelope::new(
        parse_body::<Rotation>(200, &bytes(&rotation_json())).unwrap(),
    ));
}
