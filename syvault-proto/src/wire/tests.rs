//! Tests of the error reasons of `parse_body`, which must never quote the body.

use super::*;

const SECRET: &str = "hunter2-s3cr3t";

fn reason_for<T: DeserializeOwned + core::fmt::Debug>(body: &str) -> String {
    match parse_body::<T>(418, body.as_bytes()) {
        Err(Error::MalformedResponse {
            status: 418,
            reason,
        }) => reason,
        other => panic!("expected MalformedResponse for {body}, got {other:?}"),
    }
}

#[test]
fn reasons_name_the_problem_but_not_the_value() {
    let record = |uid: &str, revision: &str, dek: &str, created: &str| {
        format!(
            r#"{{"uid":{uid},"folder_id":"0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60","revision":{revision},
            "encrypted_dek":{dek},"encrypted_data":"AAE=","created_at":{created},"updated_at":"x"}}"#
        )
    };
    let cases = [
        (
            record(
                r#""7Kj9mNpQ2xRs""#,
                &format!("\"{SECRET}\""),
                r#""AAE=""#,
                r#""t""#,
            ),
            "invalid type, expected u64 at line 1",
        ),
        (
            record(&format!("\"{SECRET}\""), "1", r#""AAE=""#, r#""t""#),
            "invalid record UID at line 1",
        ),
        (
            record(r#""7Kj9mNpQ2xRs""#, "1", &format!("\"{SECRET}\""), r#""t""#),
            "invalid base64 (standard alphabet with padding required) at line 2",
        ),
        (
            record(r#""7Kj9mNpQ2xRs""#, "1", r#""AAE=""#, r#""""#),
            "empty timestamp at line 2",
        ),
        (
            record(r#""7Kj9mNpQ2xRs""#, "-1", r#""AAE=""#, r#""t""#),
            "invalid value, expected u64 at line 1",
        ),
    ];
    for (body, expected) in cases {
        let reason = reason_for::<Record>(&body);
        assert!(reason.starts_with(expected), "{reason:?} vs {expected:?}");
        assert!(!reason.contains(SECRET), "{reason}");
    }
}

#[test]
fn missing_fields_and_unknown_variants_name_only_our_words() {
    let reason = reason_for::<DataEnvelope<Rotation>>(r#"{"data":{"uid":"7Kj9mNpQ2xRs"}}"#);
    assert!(
        reason.starts_with("missing field `rotation_id`"),
        "{reason}"
    );

    // A variant that tries to forge serde's own wording is still not quoted.
    let forged = format!("{SECRET}`, expected one of `{SECRET}");
    let body = format!(
        r#"{{"rotation_id":"0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60","uid":"7Kj9mNpQ2xRs","status":"{forged}"}}"#
    );
    let reason = reason_for::<Rotation>(&body);
    assert!(
        reason.starts_with(
            "unknown variant, expected one of `pending`, `running`, `completed`, `failed`"
        ),
        "{reason}"
    );
    assert!(!reason.contains(SECRET));
}

#[test]
fn bad_uuids_and_syntax_are_described_generically() {
    let reason = reason_for::<FolderKeysUpload>(&format!(r#"{{"keys":{{"{SECRET}":"AAE="}}}}"#));
    assert!(reason.starts_with("invalid UUID"), "{reason}");
    let reason = reason_for::<FolderKeysUpload>(&format!(r#"{{"keys": {SECRET}}}"#));
    assert!(reason.starts_with("invalid JSON at line 1"), "{reason}");
    let reason = reason_for::<FolderKeysUpload>(&format!(r#"{{"keys": "{SECRET}"#));
    assert!(reason.starts_with("truncated JSON"), "{reason}");
    let reason = reason_for::<FolderKeysUpload>("");
    assert!(reason.starts_with("truncated JSON"), "{reason}");
}

#[test]
fn duplicates_are_rejected() {
    let id = "0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60";
    let upper = id.to_ascii_uppercase();
    let reason = reason_for::<FolderKeysUpload>(&format!(
        r#"{{"keys":{{"{id}":"AAE=","{upper}":"AAI="}}}}"#
    ));
    assert!(reason.starts_with("duplicate folder id"), "{reason}");
    let reason = reason_for::<FolderKeysUpload>(r#"{"keys":{},"keys":{}}"#);
    assert!(reason.starts_with("duplicate field `keys`"), "{reason}");
}

#[test]
fn forged_field_names_are_not_quoted() {
    // Field names come from our types, but the check on them is what keeps that true.
    assert!(is_field_name("encrypted_dek"));
    assert!(!is_field_name("a b"));
    assert!(!is_field_name(""));
    assert!(is_type_description("one of `read`, `read_write`"));
    assert!(!is_type_description("string \"x\""));
}

#[test]
fn try_to_body_reports_unserializable_values() {
    let mut map = std::collections::BTreeMap::new();
    map.insert(vec![1u8], 1u8);
    assert!(matches!(try_to_body(&map), Err(Error::InvalidInput { .. })));
    assert_eq!(try_to_body(&[1, 2]).unwrap(), b"[1,2]");
}
