//! Bodies of the rotation endpoints.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::object::object_struct;
use crate::uid::RecordUid;

/// The state of a server-side rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RotationStatus {
    /// `pending`: accepted, not started.
    Pending,
    /// `running`: the gateway is updating the target system.
    Running,
    /// `completed`: the new credential is stored in the record.
    Completed,
    /// `failed`: rolled back; the old credential stays valid.
    Failed,
}

impl RotationStatus {
    /// Whether the rotation has finished, successfully or not, so polling can stop.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

object_struct! {
/// A rotation, as returned by `POST /secrets/{uid}/rotate` (202, inside [`DataEnvelope`]) and
/// `GET /rotations/{rotation_id}`.
///
/// [`DataEnvelope`]: super::DataEnvelope
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rotation {
    /// The rotation's id, used to poll it.
    pub rotation_id: Uuid,
    /// The record being rotated.
    pub uid: RecordUid,
    /// Where the rotation stands.
    pub status: RotationStatus,
    /// The record revision holding the new credential, once completed. Missing means `None`
    /// (the 202 answer omits it).
    #[serde(default)]
    pub revision: Option<u64>,
    /// The server's description of a failure. Missing means `None`.
    #[serde(default)]
    pub error: Option<String>,
}
}
