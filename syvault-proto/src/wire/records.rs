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

object_struct! {
/// One page of the answer to `GET /api/sm/v1/secrets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretList {
    /// The records of this page.
    pub data: Vec<Record>,
    /// The cursor of the next page, or `None` on the last page. A missing field is the same as
    /// `null`; an empty string is an error.
    #[serde(default, deserialize_with = "fields::cursor")]
    pub next_cursor: Option<String>,
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
