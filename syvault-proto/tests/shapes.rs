//! Every parser of a JSON object refuses any other JSON value in its place, arrays of the
//! members' values in particular: serde's derived code would take those.

use syvault_proto::Error;
use syvault_proto::model::Credentials;
use syvault_proto::record::RecordPayload;
use syvault_proto::wire::{
    self, BootstrapResponse, DataEnvelope, ErrorEnvelope, FolderList, LeaseCreated, LeaseList,
    LeaseSummary, Record, Rotation, SecretList,
};

const UID: &str = "7Kj9mNpQ2xRs";
const FOLDER: &str = "5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17";
const ROTATION: &str = "0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60";

fn record_object() -> String {
    format!(
        r#"{{"uid":"{UID}","folder_id":"{FOLDER}","revision":1,"encrypted_dek":"AAAA","encrypted_data":"AAAA","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}"#
    )
}

fn record_array() -> String {
    format!(r#"["{UID}","{FOLDER}",1,"AAAA","AAAA","2026-01-01T00:00:00Z","2026-01-01T00:00:00Z"]"#)
}

/// Parses `object` (which must succeed) and `array` (which must fail as malformed).
fn object_only<T: serde::de::DeserializeOwned + std::fmt::Debug>(object: &str, array: &str) {
    wire::parse_body::<T>(200, object.as_bytes()).expect("the object parses");
    let err = wire::parse_body::<T>(200, array.as_bytes()).unwrap_err();
    assert!(
        matches!(err, Error::MalformedResponse { .. }),
        "{array}: {err:?}"
    );
    assert!(err.to_string().contains("invalid type"), "{err}");
}

#[test]
fn response_bodies_are_objects() {
    object_only::<Record>(&record_object(), &record_array());
    object_only::<DataEnvelope<Record>>(
        &format!(r#"{{"data":{}}}"#, record_object()),
        &format!(r#"{{"data":{}}}"#, record_array()),
    );
    object_only::<DataEnvelope<Record>>(
        &format!(r#"{{"data":{}}}"#, record_object()),
        &format!("[{}]", record_object()),
    );
    object_only::<SecretList>(
        &format!(r#"{{"data":[{}],"next_cursor":null}}"#, record_object()),
        &format!(r#"{{"data":[{}],"next_cursor":null}}"#, record_array()),
    );
    object_only::<SecretList>(r#"{"data":[]}"#, r"[[], null]");
    object_only::<SecretList>(
        r#"{"delta":true,"data":[],"deleted":[],"next_cursor":null,"sync_token":"t"}"#,
        r#"[[], null, "t", true, []]"#,
    );
    let folder = format!(
        r#"{{"folder_id":"{FOLDER}","parent_id":null,"encrypted_key":"AAAA","encrypted_name":"AAAA","access":"read"}}"#
    );
    object_only::<FolderList>(
        &format!(r#"{{"data":[{folder}]}}"#),
        &format!(r#"{{"data":[["{FOLDER}",null,"AAAA","AAAA","read"]]}}"#),
    );
    object_only::<BootstrapResponse>(
        &format!(
            r#"{{"client_id":"{FOLDER}","application_id":"{FOLDER}","encrypted_folder_keys":{{}}}}"#
        ),
        &format!(r#"["{FOLDER}","{FOLDER}",{{}}]"#),
    );
    object_only::<DataEnvelope<Rotation>>(
        &format!(r#"{{"data":{{"rotation_id":"{ROTATION}","uid":"{UID}","status":"pending"}}}}"#),
        &format!(r#"{{"data":["{ROTATION}","{UID}","pending",null,null]}}"#),
    );
    let lease = format!(
        r#"{{"lease_id":"{ROTATION}","username":"vf_tmp_k3x9q2mz","password":"p","connection_string":"postgresql://x","expires_at":"2026-01-01T01:00:00Z"}}"#
    );
    object_only::<LeaseCreated>(
        &lease,
        &format!(r#"["{ROTATION}","vf_tmp_k3x9q2mz","p","postgresql://x","2026-01-01T01:00:00Z"]"#),
    );
    let summary = format!(
        r#"{{"lease_id":"{ROTATION}","record_uid":"{UID}","username":"vf_tmp_k3x9q2mz","created_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-01T01:00:00Z"}}"#
    );
    let summary_array = format!(
        r#"["{ROTATION}","{UID}","vf_tmp_k3x9q2mz","2026-01-01T00:00:00Z","2026-01-01T01:00:00Z"]"#
    );
    object_only::<DataEnvelope<LeaseSummary>>(
        &format!(r#"{{"data":{summary}}}"#),
        &format!(r#"{{"data":{summary_array}}}"#),
    );
    object_only::<LeaseList>(
        &format!(r#"{{"data":[{summary}]}}"#),
        &format!(r#"{{"data":[{summary_array}]}}"#),
    );
    object_only::<LeaseList>(
        &format!(r#"{{"data":[{summary}]}}"#),
        &format!("[[{summary}]]"),
    );
    object_only::<ErrorEnvelope>(
        r#"{"error":{"code":"internal","message":"m"}}"#,
        r#"{"error":["internal","m"]}"#,
    );
}

#[test]
fn request_bodies_are_objects() {
    let create = format!(
        r#"{{"uid":"{UID}","folder_id":"{FOLDER}","encrypted_dek":"AAAA","encrypted_data":"AAAA"}}"#
    );
    wire::parse_request::<wire::CreateSecretRequest>(create.as_bytes()).unwrap();
    for (what, body) in [
        ("create", format!(r#"["{UID}","{FOLDER}","AAAA","AAAA"]"#)),
        ("bootstrap", r#"["vft_x","AAAA"]"#.to_owned()),
        ("folder keys", "[{}]".to_owned()),
        ("lease", format!(r#"["{UID}",120]"#)),
        ("renew", "[300]".to_owned()),
    ] {
        let err = match what {
            "create" => wire::parse_request::<wire::CreateSecretRequest>(body.as_bytes()).err(),
            "bootstrap" => wire::parse_request::<wire::BootstrapRequest>(body.as_bytes()).err(),
            "lease" => wire::parse_request::<wire::LeaseRequest>(body.as_bytes()).err(),
            "renew" => wire::parse_request::<wire::RenewLeaseRequest>(body.as_bytes()).err(),
            _ => wire::parse_request::<wire::FolderKeysUpload>(body.as_bytes()).err(),
        };
        assert!(
            matches!(err, Some(Error::InvalidInput { .. })),
            "{what}: {err:?}"
        );
    }
}

#[test]
fn payloads_and_credentials_are_objects() {
    let uid = UID.parse().unwrap();
    assert!(RecordPayload::from_json(&uid, br#"{"title":"T","fields":{"a":"1"}}"#).is_ok());
    for payload in [
        &br#"["T","login",{"a":"1"},"notes"]"#[..],
        br#"  ["T"]"#,
        br#""T""#,
        b"null",
    ] {
        let err = RecordPayload::from_json(&uid, payload).unwrap_err();
        assert!(matches!(err, Error::InvalidPayload { .. }));
    }
    // The payload type's own `Deserialize`, for callers that use serde directly.
    assert!(serde_json::from_str::<RecordPayload>(r#"["T","login",{},"n"]"#).is_err());

    let credentials = format!(
        r#"{{"server":"https://vault.example.com","client_id":"{FOLDER}","client_secret":"MIGH"}}"#
    );
    assert!(Credentials::from_json(&credentials).is_ok());
    let array = format!(r#"["https://vault.example.com","{FOLDER}","MIGH"]"#);
    assert!(Credentials::from_json(&array).is_err());
}
