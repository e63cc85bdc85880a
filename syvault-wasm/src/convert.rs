//! Results and errors as the JavaScript API shows them: values that serialize to JSON with
//! camelCase keys (times as milliseconds since the epoch, which the host turns into `Date`s),
//! an error code for every [`Error`], and the inputs that come back from JavaScript (a secret
//! to create, a lease to keep).
//!
//! Results are written as JSON text and parsed by the host in one call, which is smaller and
//! faster than building objects a property at a time across the boundary.

use core::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use syvault_proto::error::TransportErrorKind;
use syvault_proto::folders::FolderInfo;
use syvault_proto::lease::{Lease, LeaseInfo, format_rfc3339};
use syvault_proto::model::{RotationOutcome, Secret, SecretSummary};
use syvault_proto::ops::{KeeperState, LeaseEnd, LeaseStatus};
use syvault_proto::record::{Fields, RecordPayload};
use syvault_proto::wire::{Access, LeaseSummary};
use syvault_proto::{Error, RecordUid, SecretString, Timestamp};
use uuid::Uuid;

/// The keys of lease values that hold times, which the host shows as `Date`s.
pub const TIME_KEYS: [&str; 3] = ["createdAt", "expiresAt", "replaceAt"];

/// A caller's mistake: what was wrong and why (never the value, which may be a secret).
pub fn invalid_input(what: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidInput {
        what,
        reason: reason.into(),
    }
}

/// A time as JavaScript counts it: milliseconds since the epoch.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Millis(u64);

impl From<Timestamp> for Millis {
    fn from(time: Timestamp) -> Self {
        Self(time.as_unix_millis())
    }
}

/// A lease taken: its credential, and its times.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseJs<'a> {
    lease_id: Uuid,
    record_uid: RecordUid,
    username: &'a str,
    password: &'a str,
    connection_string: &'a str,
    created_at: Millis,
    expires_at: Millis,
}

/// A lease taken.
pub fn lease(lease: &Lease) -> LeaseJs<'_> {
    LeaseJs {
        lease_id: lease.lease_id,
        record_uid: lease.record_uid,
        username: &lease.username,
        password: lease.password.expose(),
        connection_string: lease.connection_string.expose(),
        created_at: lease.created_at.into(),
        expires_at: lease.expires_at.into(),
    }
}

/// A lease as listed or renewed, without its credential.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseInfoJs<'a> {
    lease_id: Uuid,
    record_uid: RecordUid,
    username: &'a str,
    created_at: Millis,
    expires_at: Millis,
}

/// A lease as listed or renewed.
pub fn lease_info(info: &LeaseInfo) -> LeaseInfoJs<'_> {
    LeaseInfoJs {
        lease_id: info.lease_id,
        record_uid: info.record_uid,
        username: &info.username,
        created_at: info.created_at.into(),
        expires_at: info.expires_at.into(),
    }
}

/// A kept lease's state: `{status, expiresAt, replaceAt, renewals}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeeperStateJs {
    status: &'static str,
    expires_at: Millis,
    replace_at: Millis,
    renewals: u32,
}

/// A kept lease's state.
pub fn keeper_state(state: &KeeperState) -> KeeperStateJs {
    KeeperStateJs {
        status: match state.status {
            LeaseStatus::Active => "active",
            LeaseStatus::Expiring => "expiring",
            LeaseStatus::Expired => "expired",
            LeaseStatus::Revoked => "revoked",
            _ => "failed",
        },
        expires_at: state.expires_at.into(),
        replace_at: state.replace_at.into(),
        renewals: state.renewals,
    }
}

/// How a kept lease ended: `"expired"` or `"revoked"`.
pub fn lease_end(end: LeaseEnd) -> &'static str {
    match end {
        LeaseEnd::Revoked => "revoked",
        _ => "expired",
    }
}

/// A lease handed back from JavaScript (as `lease()`, `leases()` or `renew()` gave it, after
/// `JSON.stringify`, which writes `Date`s as RFC 3339 text): what a keeper needs of it.
pub fn lease_from(json: &[u8]) -> syvault_proto::Result<LeaseInfo> {
    let invalid = || {
        invalid_input(
            "lease",
            "must be a lease as lease(), leases() or renew() gave it: \
             {leaseId, recordUid, username, createdAt, expiresAt}",
        )
    };
    let lease: LeaseInput = serde_json::from_slice(json).map_err(|_| invalid())?;
    let summary = LeaseSummary {
        lease_id: lease.lease_id,
        record_uid: lease.record_uid,
        username: lease.username,
        created_at: lease.created_at.0,
        expires_at: lease.expires_at.0,
    };
    LeaseInfo::from_wire(summary, 200).map_err(|_| invalid())
}

/// What [`lease_from`] reads; other properties (the password) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeaseInput {
    lease_id: Uuid,
    record_uid: RecordUid,
    username: String,
    created_at: InputTime,
    expires_at: InputTime,
}

/// A time from JavaScript: a `Date` (RFC 3339 text once stringified) or milliseconds since the
/// epoch, as RFC 3339 text.
struct InputTime(String);

impl<'de> Deserialize<'de> for InputTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;

        impl Visitor<'_> for TimeVisitor {
            type Value = InputTime;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Date or milliseconds since the epoch")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<InputTime, E> {
                Ok(InputTime(text.to_owned()))
            }

            fn visit_u64<E: de::Error>(self, ms: u64) -> Result<InputTime, E> {
                Ok(InputTime(format_rfc3339(Timestamp::from_unix_millis(ms))))
            }
        }

        deserializer.deserialize_any(TimeVisitor)
    }
}

/// A secret: `{uid, title, recordType, folderId, revision, fields, notes}`, its fields an
/// object of strings in the secret's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretJs<'a> {
    uid: RecordUid,
    title: &'a str,
    record_type: &'a str,
    folder_id: Uuid,
    revision: u64,
    fields: &'a Fields,
    notes: &'a str,
}

/// A secret.
pub fn secret(secret: &Secret) -> SecretJs<'_> {
    SecretJs {
        uid: secret.uid,
        title: &secret.title,
        record_type: &secret.record_type,
        folder_id: secret.folder_id,
        revision: secret.revision,
        fields: &secret.fields,
        notes: secret.notes.expose(),
    }
}

/// One entry of a listing: `{uid, title, recordType, folderId, folderPath, revision}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryJs<'a> {
    uid: RecordUid,
    title: &'a str,
    record_type: &'a str,
    folder_id: Uuid,
    folder_path: &'a [String],
    revision: u64,
}

/// One entry of a listing.
pub fn summary(summary: &SecretSummary) -> SummaryJs<'_> {
    SummaryJs {
        uid: summary.uid,
        title: &summary.title,
        record_type: &summary.record_type,
        folder_id: summary.folder_id,
        folder_path: &summary.folder_path,
        revision: summary.revision,
    }
}

/// A folder granted to the client: `{folderId, parentId, name, access}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderJs<'a> {
    folder_id: Uuid,
    parent_id: Option<Uuid>,
    name: &'a str,
    access: Access,
}

/// A folder granted to the client.
pub fn folder(folder: &FolderInfo) -> FolderJs<'_> {
    FolderJs {
        folder_id: folder.folder_id,
        parent_id: folder.parent_id,
        name: &folder.name,
        access: folder.access,
    }
}

/// A completed rotation: `{rotationId, revision, secret}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationJs<'a> {
    rotation_id: Uuid,
    revision: u64,
    secret: SecretJs<'a>,
}

/// A completed rotation.
pub fn rotation(outcome: &RotationOutcome) -> RotationJs<'_> {
    RotationJs {
        rotation_id: outcome.rotation_id,
        revision: outcome.revision,
        secret: secret(&outcome.secret),
    }
}

/// A secret to create, as JavaScript gives it (after `JSON.stringify`): its folder, and the
/// payload to seal.
pub fn new_secret(json: &[u8]) -> syvault_proto::Result<(Uuid, RecordPayload)> {
    // Never serde's message, which may quote a value.
    let input: NewSecret = serde_json::from_slice(json).map_err(|_| {
        invalid_input(
            "secret",
            "must be {folderId: a folder UUID, title: a string, fields?: an object of strings, \
             notes?: a string, recordType?: a string}",
        )
    })?;
    let mut payload = RecordPayload::new(input.title);
    if let Some(record_type) = input.record_type {
        payload.record_type = record_type;
    }
    if let Some(notes) = input.notes {
        payload.notes = notes;
    }
    if let Some(fields) = input.fields {
        payload.fields = fields;
    }
    Ok((input.folder_id, payload))
}

/// What [`new_secret`] reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewSecret {
    folder_id: Uuid,
    title: String,
    #[serde(default)]
    record_type: Option<String>,
    #[serde(default)]
    notes: Option<SecretString>,
    #[serde(default)]
    fields: Option<Fields>,
}

/// The error's properties as JavaScript sees them, besides its `message`: `code` (the
/// server's error code where there was one, such as `secret_not_found`, otherwise the kind of
/// client-side failure), `retryable`, and `status`, `uid`, `rotationId`, `leaseId` and
/// `retryAfterMs` where they apply.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorJs<'a> {
    code: &'a str,
    retryable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
}

/// The error's properties.
pub fn error(error: &Error) -> ErrorJs<'_> {
    let mut value = ErrorJs {
        code: code(error),
        retryable: error.is_retryable(),
        status: error.status(),
        uid: None,
        rotation_id: None,
        lease_id: None,
        retry_after_ms: error
            .retry_after()
            .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
    };
    match error {
        Error::SecretNotFound { uid }
        | Error::InvalidPayload { uid }
        | Error::NotDynamicTarget { uid }
        | Error::CreateUnconfirmed { uid, .. } => value.uid = Some(uid.as_str()),
        Error::RotationFailed { rotation_id, .. } | Error::RotationTimeout { rotation_id } => {
            value.rotation_id = Some(*rotation_id);
        }
        Error::LeaseNotFound { lease_id } => value.lease_id = Some(*lease_id),
        _ => {}
    }
    value
}

/// The stable code of an error. Server errors keep the server's code; client-side failures are
/// named after the Rust variant, in `snake_case`.
pub fn code(error: &Error) -> &str {
    if let Some(code) = error.code() {
        return code.as_str();
    }
    match error {
        Error::InvalidKey { .. } => "invalid_key",
        Error::InvalidOneTimeToken { .. } => "invalid_one_time_token",
        Error::Jwt(_) => "jwt",
        Error::Decryption { .. } => "decryption",
        Error::InvalidPayload { .. } => "invalid_payload",
        Error::InvalidInput { .. } => "invalid_input",
        Error::Notation(_) => "notation",
        Error::MalformedResponse { .. } => "malformed_response",
        Error::BodyTooLarge { .. } => "body_too_large",
        Error::UnknownFolder { .. } => "unknown_folder",
        Error::RotationFailed { .. } => "rotation_failed",
        Error::RotationTimeout { .. } => "rotation_timeout",
        Error::CreateUnconfirmed { .. } => "create_unconfirmed",
        Error::Transport { kind, .. } => match kind {
            TransportErrorKind::Connect => "transport_connect",
            TransportErrorKind::Timeout => "transport_timeout",
            TransportErrorKind::ConnectionClosed => "transport_connection_closed",
            TransportErrorKind::Tls => "transport_tls",
            _ => "transport",
        },
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use serde_json::json;
    use syvault_proto::model::Credentials;

    /// A value that no error may quote.
    const SECRET: &str = "hunter2-secret";

    /// What JavaScript gets: the value as JSON.
    fn js(value: impl Serialize) -> Value {
        serde_json::to_value(value).unwrap()
    }

    #[test]
    fn credentials_have_the_shape_of_the_credentials_file() {
        let text = r#"{"server":"http://127.0.0.1:8200","client_id":"5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17","client_secret":"MIGH-secret"}"#;
        let read = Credentials::from_json(text).unwrap();
        let value = js(&read);
        assert_eq!(value, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(Credentials::from_json(&value.to_string()).unwrap(), read);
    }

    #[test]
    fn a_lease_comes_back_from_javascript_with_dates_or_milliseconds() {
        let given = json!({
            "leaseId": "6f1c1c9e-2a55-4b9b-8d55-0f4c3b1f9a10",
            "recordUid": "7Kj9mNpQ2xRs",
            "username": "vf_tmp_1",
            "password": "ignored",
            "createdAt": "2026-01-01T12:00:00.000Z",
            "expiresAt": 1_767_272_400_000_u64,
        });
        let info = lease_from(given.to_string().as_bytes()).unwrap();
        assert_eq!(info.created_at, Timestamp::from_unix_secs(1_767_268_800));
        assert_eq!(info.expires_at, Timestamp::from_unix_secs(1_767_272_400));
        assert_eq!(js(lease_info(&info))["expiresAt"], 1_767_272_400_000_u64);
        for (key, bad) in [
            ("leaseId", json!("nope")),
            ("recordUid", json!("short")),
            ("createdAt", json!("yesterday")),
            ("expiresAt", json!(-1)),
            ("username", Value::Null),
        ] {
            let mut broken = given.clone();
            broken[key] = bad;
            let error = lease_from(broken.to_string().as_bytes()).unwrap_err();
            assert_eq!(code(&error), "invalid_input", "{key}");
        }
        assert!(lease_from(b"null").is_err());
    }

    #[test]
    fn lease_ends_are_lower_case_words() {
        assert_eq!(lease_end(LeaseEnd::Revoked), "revoked");
        assert_eq!(lease_end(LeaseEnd::Expired), "expired");
    }

    #[test]
    fn lease_errors_name_their_lease_or_record() {
        let id = uuid::Uuid::from_u128(7);
        let value = js(error(&Error::LeaseNotFound { lease_id: id }));
        assert_eq!(value["code"], "lease_not_found");
        assert_eq!(value["leaseId"], id.to_string());
        assert_eq!(value["status"], 404);
        let value = js(error(&Error::NotDynamicTarget {
            uid: "7Kj9mNpQ2xRs".into(),
        }));
        assert_eq!(value["code"], "not_dynamic_target");
        assert_eq!(value["uid"], "7Kj9mNpQ2xRs");
    }

    #[test]
    fn a_missing_secret_carries_its_code_status_and_uid() {
        let value = js(error(&Error::SecretNotFound {
            uid: "AAAAAAAAAAAA".into(),
        }));
        assert_eq!(value["code"], "secret_not_found");
        assert_eq!(value["status"], 404);
        assert_eq!(value["uid"], "AAAAAAAAAAAA");
        assert_eq!(value["retryable"], false);
    }

    #[test]
    fn client_side_failures_are_named_after_their_kind() {
        let refused = Error::transport(TransportErrorKind::Connect, "connection refused");
        let value = js(error(&refused));
        assert_eq!(value["code"], "transport_connect");
        assert_eq!(value["retryable"], true);
        assert!(value.get("status").is_none());
        let bad = Error::InvalidInput {
            what: "uid",
            reason: "not 12 characters".into(),
        };
        assert_eq!(code(&bad), "invalid_input");
    }

    #[test]
    fn new_secrets_take_string_fields_only_in_their_order() {
        let input = r#"{"folderId": "3f2c8e1a-5b7d-4c9e-8a1f-2b3c4d5e6f70", "title": "Cache",
            "fields": {"password": "s3cret", "host": "redis.internal"}, "notes": "primary"}"#;
        let (folder_id, payload) = new_secret(input.as_bytes()).unwrap();
        assert_eq!(
            folder_id.to_string(),
            "3f2c8e1a-5b7d-4c9e-8a1f-2b3c4d5e6f70"
        );
        assert_eq!(payload.title, "Cache");
        assert_eq!(payload.record_type, "login");
        assert_eq!(payload.fields.get("password").unwrap().expose(), "s3cret");
        let names: Vec<&str> = payload.fields.iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            ["password", "host"],
            "in the order JavaScript gave them"
        );
        assert_eq!(payload.notes.expose(), "primary");
        let (_, bare) = new_secret(
            br#"{"folderId":"3f2c8e1a-5b7d-4c9e-8a1f-2b3c4d5e6f70","title":"T","recordType":"databaseCredentials","fields":null}"#,
        )
        .unwrap();
        assert_eq!(bare.record_type, "databaseCredentials");
        assert!(bare.fields.is_empty());
        let folder = "3f2c8e1a-5b7d-4c9e-8a1f-2b3c4d5e6f70";
        for bad in [
            json!({"folderId": folder, "fields": {}}),
            json!({"title": "T"}),
            json!({"folderId": "Production", "title": "T"}),
            json!({"folderId": folder, "title": "T", "fields": {"port": 5432}}),
            json!({"folderId": folder, "title": "T", "fields": ["a"]}),
            json!({"folderId": folder, "title": "T", "notes": 7}),
            json!({"folderId": folder, "title": "T", "fields": {"password": SECRET}, "recordType": 1}),
            json!(null),
        ] {
            let error = new_secret(bad.to_string().as_bytes()).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidInput { what: "secret", .. }),
                "{bad}"
            );
            assert!(!error.to_string().contains(SECRET), "{error}");
        }
    }

    #[test]
    fn a_payload_error_names_the_record() {
        let value = js(error(&Error::InvalidPayload {
            uid: "7Kj9mNpQ2xRs".into(),
        }));
        assert_eq!(value["code"], "invalid_payload");
        assert_eq!(value["uid"], "7Kj9mNpQ2xRs");
    }
}
