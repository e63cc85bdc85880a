//! Bodies of the `/api/sm/v1/secrets` endpoints.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Base64Bytes, fields};
use crate::object::object_struct;
use crate::uid::RecordUid;

object_struct! {
/// An encrypted record as the server stores and returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The record's UID, which is bound into both of its AADs.
    pub uid: RecordUid,
    /// The folder whose key wraps the record's data key.
    pub folder_id: Uuid,
    /// Incremented by the server on every change.
    pub revision: u64,
    /// The record's data key, encrypted under the folder key.
    pub encrypted_dek: Base64Bytes,
    /// The record's JSON payload, encrypted under the data key.
    pub encrypted_data: Base64Bytes,
    /// When the record was created (RFC 3339 text; must not be empty).
    #[serde(deserialize_with = "fields::timestamp")]
    pub created_at: String,
    /// When the record last changed (RFC 3339 text; must not be empty).
    #[serde(deserialize_with = "fields::timestamp")]
    pub updated_at: String,
}
}

/// One page of the answer to `GET /api/sm/v1/secrets`: of a full listing, or of a delta
/// listing (an answer to a `since` request, marked by `delta`).
///
/// Members absent on the wire read as `None`, `false` and empty. Serialization writes a full
/// listing's page exactly as before sync tokens existed (`data`, `next_cursor`, and
/// `sync_token` only when there is one), and every member of a delta page:
///
/// ```
/// use syvault_proto::wire::{SecretList, parse_body, to_body};
///
/// let body = br#"{"delta":true,"data":[],"deleted":["7Kj9mNpQ2xRs"],"next_cursor":null,"sync_token":"t2"}"#;
/// let page: SecretList = parse_body(200, body)?;
/// assert!(page.delta);
/// assert_eq!(page.deleted[0].as_str(), "7Kj9mNpQ2xRs");
/// assert_eq!(page.sync_token.as_deref(), Some("t2"));
/// assert_eq!(to_body(&page), body);
///
/// let full: SecretList = parse_body(200, br#"{"data":[],"next_cursor":null}"#)?;
/// assert!(!full.delta && full.deleted.is_empty() && full.sync_token.is_none());
/// assert_eq!(to_body(&full), br#"{"data":[],"next_cursor":null}"#);
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretList {
    /// The records of this page. In a delta, the current version of each record that changed
    /// or became visible since the token.
    pub data: Vec<Record>,
    /// The cursor of the next page, or `None` on the last page. A missing member is the same
    /// as `null`; an empty string is an error.
    pub next_cursor: Option<String>,
    /// On the last page, the token to pass as `since` to learn what changes after this
    /// listing; `None` on other pages and from servers without incremental listings. A
    /// missing member is the same as `null`; an empty string is an error.
    pub sync_token: Option<String>,
    /// Whether this page belongs to a delta listing (`"delta": true`). An answer to a `since`
    /// request without it is a full listing. A missing member is `false`.
    pub delta: bool,
    /// In a delta, the UIDs of records visible since the token that no longer are (deleted,
    /// moved out of view, or in a folder whose grant was revoked). A missing member is empty;
    /// a malformed UID is an error.
    pub deleted: Vec<RecordUid>,
}

impl<'de> crate::object::Derived<'de> for SecretList {
    const NAME: &'static str = "SecretList";

    fn derived<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// serde's code, derived on a private copy (see [`crate::object`]).
        #[derive(Deserialize)]
        struct Derived {
            data: Vec<Record>,
            #[serde(default, deserialize_with = "fields::cursor")]
            next_cursor: Option<String>,
            #[serde(default, deserialize_with = "fields::sync_token")]
            sync_token: Option<String>,
            #[serde(default)]
            delta: bool,
            #[serde(default)]
            deleted: Vec<RecordUid>,
        }
        let derived = Derived::deserialize(deserializer)?;
        Ok(Self {
            data: derived.data,
            next_cursor: derived.next_cursor,
            sync_token: derived.sync_token,
            delta: derived.delta,
            deleted: derived.deleted,
        })
    }
}

impl<'de> Deserialize<'de> for SecretList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::object::deserialize(deserializer)
    }
}

impl SecretList {
    /// A page of a full listing, without a sync token.
    ///
    /// ```
    /// use syvault_proto::wire::{SecretList, to_body};
    ///
    /// let last = SecretList::full(Vec::new(), None);
    /// assert_eq!(to_body(&last), br#"{"data":[],"next_cursor":null}"#);
    /// ```
    pub fn full(data: Vec<Record>, next_cursor: Option<String>) -> Self {
        Self {
            data,
            next_cursor,
            sync_token: None,
            delta: false,
            deleted: Vec::new(),
        }
    }
}

impl Serialize for SecretList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;

        // Members that are at their default are left out of a full listing (so that it reads
        // as it did before sync tokens) but always written in a delta page. A full page that
        // carries `deleted` (which means nothing there) keeps it, so that the value survives a
        // round trip.
        let deleted = self.delta || !self.deleted.is_empty();
        let sync_token = self.delta || self.sync_token.is_some();
        let len = 2 + usize::from(self.delta) + usize::from(deleted) + usize::from(sync_token);
        let mut out = serializer.serialize_struct("SecretList", len)?;
        if self.delta {
            out.serialize_field("delta", &true)?;
        }
        out.serialize_field("data", &self.data)?;
        if deleted {
            out.serialize_field("deleted", &self.deleted)?;
        }
        out.serialize_field("next_cursor", &self.next_cursor)?;
        if sync_token {
            out.serialize_field("sync_token", &self.sync_token)?;
        }
        out.end()
    }
}

/// A body of the form `{"data": …}`, such as the answer to `GET /secrets/{uid}`
/// (`DataEnvelope<Record>`) or to `POST /secrets/{uid}/rotate` (`DataEnvelope<Rotation>`).
///
/// [`Rotation`]: super::Rotation
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataEnvelope<T> {
    /// The wrapped value.
    pub data: T,
}

impl<'de, T: Deserialize<'de>> crate::object::Derived<'de> for DataEnvelope<T> {
    const NAME: &'static str = "DataEnvelope";

    fn derived<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// serde's code, derived on a private copy (see [`crate::object`]).
        #[derive(Deserialize)]
        struct Derived<U> {
            data: U,
        }
        let derived = Derived::<T>::deserialize(deserializer)?;
        Ok(Self { data: derived.data })
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for DataEnvelope<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::object::deserialize(deserializer)
    }
}

impl<T> DataEnvelope<T> {
    /// Wraps a value.
    pub fn new(data: T) -> Self {
        Self { data }
    }

    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.data
    }
}

object_struct! {
/// The body of `POST /api/sm/v1/secrets`, answered 201 with `DataEnvelope<Record>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreateSecretRequest {
    /// The UID chosen by the client, already bound into the ciphertexts.
    pub uid: RecordUid,
    /// The folder to create the record in.
    pub folder_id: Uuid,
    /// The record's data key, encrypted under the folder key.
    pub encrypted_dek: Base64Bytes,
    /// The record's JSON payload, encrypted under the data key.
    pub encrypted_data: Base64Bytes,
}
}
