//! Results and errors as the JavaScript API shows them: JSON values with camelCase keys, and an
//! error code for every [`Error`].

use serde_json::{Map, Value, json};
use syvault_proto::Error;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::folders::FolderInfo;
use syvault_proto::model::{RotationOutcome, Secret, SecretSummary, Selected};
use syvault_proto::record::RecordPayload;

/// A secret with its fields as an object of strings.
pub fn secret(secret: &Secret) -> Value {
    let fields: Map<String, Value> = secret
        .fields
        .iter()
        .map(|(name, value)| (name.to_owned(), Value::from(value.expose())))
        .collect();
    json!({
        "uid": secret.uid.as_str(),
        "folderId": secret.folder_id.to_string(),
        "revision": secret.revision,
        "title": secret.title,
        "recordType": secret.record_type,
        "fields": fields,
        "notes": secret.notes.expose(),
    })
}

/// One entry of a listing.
pub fn summary(summary: &SecretSummary) -> Value {
    json!({
        "uid": summary.uid.as_str(),
        "title": summary.title,
        "recordType": summary.record_type,
        "folderId": summary.folder_id.to_string(),
        "folderPath": summary.folder_path,
        "revision": summary.revision,
    })
}

/// A folder granted to the client.
pub fn folder(folder: &FolderInfo) -> Value {
    json!({
        "folderId": folder.folder_id.to_string(),
        "parentId": folder.parent_id.map(|id| id.to_string()),
        "name": folder.name,
        "access": serde_json::to_value(folder.access).unwrap_or(Value::Null),
    })
}

/// What a reference selected, as a string.
pub fn selected(selected: &Selected) -> Value {
    Value::from(selected.expose())
}

/// A completed rotation.
pub fn rotation(outcome: &RotationOutcome) -> Value {
    json!({
        "rotationId": outcome.rotation_id.to_string(),
        "revision": outcome.revision,
        "secret": secret(&outcome.secret),
    })
}

/// The payload of `create({title, fields, notes, recordType})`: fields is an object of strings.
pub fn payload(input: &Value) -> syvault_proto::Result<RecordPayload> {
    let invalid = |reason: &str| Error::InvalidInput {
        what: "secret",
        reason: reason.to_owned(),
    };
    let title = input
        .get("title")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("title must be a string"))?;
    let mut payload = RecordPayload::new(title);
    if let Some(record_type) = input.get("recordType").and_then(Value::as_str) {
        record_type.clone_into(&mut payload.record_type);
    }
    if let Some(notes) = input.get("notes").and_then(Value::as_str) {
        payload.notes = notes.into();
    }
    match input.get("fields") {
        None | Some(Value::Null) => {}
        Some(Value::Object(fields)) => {
            for (name, value) in fields {
                let value = value
                    .as_str()
                    .ok_or_else(|| invalid("every field value must be a string"))?;
                payload.fields.set(name.as_str(), value);
            }
        }
        Some(_) => return Err(invalid("fields must be an object of strings")),
    }
    Ok(payload)
}

/// The error as JavaScript sees it: `code` (the server's error code where there was one, such
/// as `secret_not_found`, otherwise the kind of client-side failure), `message`, `retryable`,
/// and `status`, `uid`, `rotationId` where they apply.
pub fn error(error: &Error) -> Value {
    let mut value = json!({
        "code": code(error),
        "message": error.to_string(),
        "retryable": error.is_retryable(),
    });
    let extra = match error {
        Error::SecretNotFound { uid } | Error::InvalidPayload { uid } => Some(("uid", uid.clone())),
        Error::RotationFailed { rotation_id, .. } | Error::RotationTimeout { rotation_id } => {
            Some(("rotationId", rotation_id.to_string()))
        }
        _ => None,
    };
    if let Some((key, extra)) = extra {
        value[key] = Value::from(extra);
    }
    if let Some(status) = error.status() {
        value["status"] = Value::from(status);
    }
    value
}

/// The stable code of an error. Server errors keep the server's code; client-side failures are
/// named after the Rust variant, in `snake_case`.
pub fn code(error: &Error) -> String {
    if let Some(code) = error.code() {
        return code.as_str().to_owned();
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
        Error::Transport { kind, .. } => match kind {
            TransportErrorKind::Connect => "transport_connect",
            TransportErrorKind::Timeout => "transport_timeout",
            TransportErrorKind::ConnectionClosed => "transport_connection_closed",
            TransportErrorKind::Tls => "transport_tls",
            _ => "transport",
        },
        _ => "error",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_secret_carries_its_code_status_and_uid() {
        let value = error(&Error::SecretNotFound {
            uid: "AAAAAAAAAAAA".into(),
        });
        assert_eq!(value["code"], "secret_not_found");
        assert_eq!(value["status"], 404);
        assert_eq!(value["uid"], "AAAAAAAAAAAA");
        assert_eq!(value["retryable"], false);
    }

    #[test]
    fn client_side_failures_are_named_after_their_kind() {
        let refused = Error::transport(TransportErrorKind::Connect, "connection refused");
        let value = error(&refused);
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
    fn payloads_take_string_fields_only() {
        let payload = payload(&json!({
            "title": "Cache",
            "fields": {"host": "redis.internal", "password": "s3cret"},
            "notes": "primary",
        }))
        .unwrap();
        assert_eq!(payload.title, "Cache");
        assert_eq!(payload.fields.get("password").unwrap().expose(), "s3cret");
        assert_eq!(payload.notes.expose(), "primary");
        for bad in [
            json!({"fields": {}}),
            json!({"title": "T", "fields": {"port": 5432}}),
            json!({"title": "T", "fields": ["a"]}),
        ] {
            assert!(matches!(
                super::payload(&bad),
                Err(Error::InvalidInput { what: "secret", .. })
            ));
        }
    }

    #[test]
    fn a_payload_error_names_the_record() {
        let value = error(&Error::InvalidPayload {
            uid: "7Kj9mNpQ2xRs".into(),
        });
        assert_eq!(value["code"], "invalid_payload");
        assert_eq!(value["uid"], "7Kj9mNpQ2xRs");
    }
}
