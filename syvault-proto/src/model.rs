//! What the SDK's operations return: decrypted secrets, listings, credentials and rotations.
//!
//! These types are `#[non_exhaustive]`, so that a later release can add a field or a variant:
//! read their fields and build them through their constructors ([`Secret::new`],
//! [`Credentials::new`]), never with a struct literal, and give a `match` on [`Selected`] a
//! wildcard arm.
//!
//! ```compile_fail,E0639
//! # use syvault_proto::model::Credentials;
//! let credentials = Credentials {
//!     server: "https://vault.example.com".into(),
//!     client_id: syvault_proto::uuid::Uuid::nil(),
//!     client_secret: "MIGH...".into(),
//! };
//! ```
//!
//! ```compile_fail,E0004
//! # use syvault_proto::model::Selected;
//! # let selected = Selected::Plain("Database".into());
//! match selected {
//!     Selected::Secret(value) => drop(value),
//!     Selected::Plain(text) => drop(text),
//! }
//! ```

use core::fmt;

use serde::Serialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::object::object_struct;
use crate::record::{Fields, RecordPayload};
use crate::secret::SecretString;
use crate::uid::RecordUid;
use crate::wire::RotationStatus;

/// A decrypted secret.
///
/// `Debug` shows the metadata and field names, never a value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Secret {
    /// The record's UID.
    pub uid: RecordUid,
    /// The folder holding it.
    pub folder_id: Uuid,
    /// The revision, which the server increments on every change.
    pub revision: u64,
    /// The title.
    pub title: String,
    /// The record type, such as `login`.
    pub record_type: String,
    /// The named field values, in order.
    pub fields: Fields,
    /// Free-form notes.
    pub notes: SecretString,
}

impl Secret {
    /// A secret from its metadata and decrypted payload, for code that fakes the SDK in its
    /// own tests; the SDK's reads build them the same way.
    ///
    /// ```
    /// use syvault_proto::model::Secret;
    /// use syvault_proto::record::RecordPayload;
    ///
    /// let mut payload = RecordPayload::new("Database");
    /// payload.fields.set("password", "hunter2");
    /// let uid = "7Kj9mNpQ2xRs".parse()?;
    /// let secret = Secret::new(uid, syvault_proto::uuid::Uuid::from_u128(1), 1, payload);
    /// assert_eq!(secret.field("password").map(|v| v.expose()), Some("hunter2"));
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn new(uid: RecordUid, folder_id: Uuid, revision: u64, payload: RecordPayload) -> Self {
        Self::from_payload(uid, folder_id, revision, payload)
    }

    pub(crate) fn from_payload(
        uid: RecordUid,
        folder_id: Uuid,
        revision: u64,
        payload: RecordPayload,
    ) -> Self {
        Self {
            uid,
            folder_id,
            revision,
            title: payload.title,
            record_type: payload.record_type,
            fields: payload.fields,
            notes: payload.notes,
        }
    }

    /// The value of field `name`.
    pub fn field(&self, name: &str) -> Option<&SecretString> {
        self.fields.get(name)
    }

    /// The payload to encrypt for this secret.
    pub fn to_payload(&self) -> RecordPayload {
        RecordPayload {
            title: self.title.clone(),
            record_type: self.record_type.clone(),
            fields: self.fields.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// One entry of a listing: what identifies a secret, without its values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretSummary {
    /// The record's UID.
    pub uid: RecordUid,
    /// The title.
    pub title: String,
    /// The record type.
    pub record_type: String,
    /// The folder holding it.
    pub folder_id: Uuid,
    /// The folder's path of names from its topmost visible ancestor, as notation spells it.
    pub folder_path: Vec<String>,
    /// The revision.
    pub revision: u64,
}

object_struct! {
/// What a client needs to talk to SyVault, as bootstrap produces it and as `syvault-dev --demo`
/// writes it: `{"server", "client_id", "client_secret"}`.
///
/// ```
/// use syvault_proto::model::Credentials;
///
/// let json = r#"{"server":"https://vault.example.com","client_id":"5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17","client_secret":"MIGH..."}"#;
/// let credentials: Credentials = serde_json::from_str(json)?;
/// assert!(!format!("{credentials:?}").contains("MIGH"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Credentials {
    /// The server URL.
    pub server: String,
    /// The client id.
    pub client_id: Uuid,
    /// The client's private key in canonical form.
    pub client_secret: SecretString,
}
}

impl Credentials {
    /// Credentials from their three parts, such as a deployment's own configuration holds them.
    ///
    /// ```
    /// use syvault_proto::model::Credentials;
    ///
    /// let credentials = Credentials::new(
    ///     "https://vault.example.com",
    ///     syvault_proto::uuid::Uuid::from_u128(1),
    ///     "MIGH...",
    /// );
    /// assert_eq!(credentials.server, "https://vault.example.com");
    /// ```
    pub fn new(
        server: impl Into<String>,
        client_id: Uuid,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        Self {
            server: server.into(),
            client_id,
            client_secret: client_secret.into(),
        }
    }

    /// Reads credentials JSON. Errors name the position only: a message quoting the input could
    /// quote the client secret.
    pub fn from_json(json: &str) -> crate::Result<Self> {
        serde_json::from_slice(json.as_bytes()).map_err(|e| {
            crate::Error::invalid_input(
                "credentials",
                format!(
                    "expected {{\"server\", \"client_id\", \"client_secret\"}} (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    /// The credentials as JSON, to store where the client will find them again. The text
    /// holds the client secret, so it is zeroized on drop and built without intermediate
    /// copies.
    pub fn to_json(&self) -> Zeroizing<String> {
        // Strings and a UUID always serialize, and serde_json writes UTF-8.
        let mut bytes = crate::secret_json::to_vec(self, true).unwrap_or_default();
        match String::from_utf8(core::mem::take(&mut *bytes)) {
            Ok(text) => Zeroizing::new(text),
            Err(err) => {
                Zeroizing::new(err.into_bytes());
                Zeroizing::default()
            }
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .finish()
    }
}

/// The result of a completed rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationOutcome {
    /// The rotation job's id.
    pub rotation_id: Uuid,
    /// Always [`RotationStatus::Completed`]: failures are errors.
    pub status: RotationStatus,
    /// The revision the rotation stored.
    pub revision: u64,
    /// The secret as it is after the rotation, with the new credential.
    pub secret: Secret,
}

impl RotationOutcome {
    /// The new field values.
    pub fn fields(&self) -> &Fields {
        &self.secret.fields
    }

    /// The new field values, as the documented SDK's `rotate(uid).new_fields` names them.
    ///
    /// ```
    /// # fn show(outcome: &syvault_proto::model::RotationOutcome) {
    /// let password = outcome.new_fields().get("password");
    /// # let _ = password;
    /// # }
    /// ```
    pub fn new_fields(&self) -> &Fields {
        self.fields()
    }
}

/// A rotation the server is running, as [`crate::ops::StartRotation`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationStarted {
    /// The rotation job's id, to wait for it with `resume_rotation`.
    pub rotation_id: Uuid,
    /// Whether the rotation was already running (started by someone else, or by an earlier
    /// attempt), rather than started now.
    pub adopted: bool,
}

/// A value a `sy://` reference selects.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selected {
    /// A field value or the notes: secret.
    Secret(SecretString),
    /// The title or the UID: not secret.
    Plain(String),
}

impl Selected {
    /// The selected text; call sites that print it should know it may be a secret.
    pub fn expose(&self) -> &str {
        match self {
            Self::Secret(s) => s.expose(),
            Self::Plain(s) => s,
        }
    }

    /// The selected text as a [`SecretString`], whichever it was, so that it can be kept
    /// (in an application's state, say) without copying a secret into a plain `String`.
    ///
    /// ```
    /// use syvault_proto::model::Selected;
    ///
    /// let password = Selected::Secret("hunter2".into()).into_secret();
    /// assert_eq!(password.expose(), "hunter2");
    /// assert_eq!(Selected::Plain("Database".into()).into_secret().expose(), "Database");
    /// ```
    pub fn into_secret(self) -> SecretString {
        match self {
            Self::Secret(s) => s,
            Self::Plain(s) => SecretString::from(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_errors_never_quote_the_input() {
        let json = r#"{"server":"https://x","client_id":"hunter2-not-a-uuid","client_secret":"MIGHsecret"}"#;
        let error = Credentials::from_json(json).unwrap_err().to_string();
        assert!(
            !error.contains("hunter2") && !error.contains("MIGH"),
            "{error}"
        );
        let error =
            Credentials::from_json(r#"{"server":"https://x","client_secret":7}"#).unwrap_err();
        assert!(matches!(
            error,
            crate::Error::InvalidInput {
                what: "credentials",
                ..
            }
        ));
    }

    #[test]
    fn credentials_round_trip_through_json() {
        let credentials = Credentials {
            server: "https://vault.example.com".into(),
            client_id: Uuid::from_u128(1),
            client_secret: "MIGH".into(),
        };
        assert_eq!(
            Credentials::from_json(&credentials.to_json()).unwrap(),
            credentials
        );
    }
}
