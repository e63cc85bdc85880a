//! Bodies of `GET /api/sm/v1/folders`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Base64Bytes, fields};
use crate::object::object_struct;

/// What a client's grant on a folder allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Access {
    /// `read`: the client may read the folder's secrets.
    Read,
    /// `read_write`: the client may also create secrets in the folder.
    ReadWrite,
}

impl Access {
    /// Whether the grant allows creating secrets.
    pub fn can_write(self) -> bool {
        self == Self::ReadWrite
    }
}

object_struct! {
/// A folder visible to the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Folder {
    /// The folder's id.
    pub folder_id: Uuid,
    /// The parent folder, or `None` at the top level. The field must be present (as `null` at
    /// the top level): a server that drops it would otherwise silently move folders to the top.
    #[serde(deserialize_with = "fields::nullable_uuid")]
    pub parent_id: Option<Uuid>,
    /// The folder key wrapped to this client's public key (ECIES blob).
    pub encrypted_key: Base64Bytes,
    /// The folder name, encrypted under the folder key.
    pub encrypted_name: Base64Bytes,
    /// What the client's grant allows.
    pub access: Access,
}
}

object_struct! {
/// The 200 answer to `GET /api/sm/v1/folders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FolderList {
    /// Every folder the client has a grant on.
    pub data: Vec<Folder>,
}
}
