//! Bodies of the bootstrap exchange and the folder-key upload that follows it.

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::{Base64Bytes, fields};
use crate::object::object_struct;
use crate::secret::SecretString;

object_struct! {
/// The body of `POST /api/sm/v1/bootstrap`.
///
/// `Debug` redacts the token and shows only the length of the public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BootstrapRequest {
    /// `vft_` followed by base64url(token id ‖ auth key): proof of the one-time token that does
    /// not reveal the token secret.
    pub token: SecretString,
    /// The client's public key: the 65-byte uncompressed SEC1 point.
    pub public_key: Base64Bytes,
}
}

object_struct! {
/// The 200 answer to a bootstrap request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BootstrapResponse {
    /// The new client's id; the `sub` of its JWTs.
    pub client_id: Uuid,
    /// The application the client belongs to.
    pub application_id: Uuid,
    /// Each granted folder's key, encrypted under the bootstrap wrapping key. A folder id
    /// appearing twice is an error.
    #[serde(deserialize_with = "fields::folder_map")]
    pub encrypted_folder_keys: BTreeMap<Uuid, Base64Bytes>,
}
}

object_struct! {
/// The body of `PUT /api/sm/v1/folder-keys` (answered 204): the folder keys re-wrapped to the
/// client's own public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderKeysUpload {
    /// Folder id → ECIES blob. A folder id appearing twice is an error.
    #[serde(deserialize_with = "fields::folder_map")]
    pub keys: BTreeMap<Uuid, Base64Bytes>,
}
}
