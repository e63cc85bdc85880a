//! `POST /secrets/{uid}/rotate` and `GET /rotations/{rotation_id}`.
//!
//! Starting a rotation needs a read-write grant on the secret's folder and a rotation policy
//! on the secret. While one rotation of a secret is unfinished, another start answers 409
//! `rotation_in_progress` naming it, so a retried start adopts the running rotation instead of
//! rotating twice. A rotation is visible to every client with a grant on its secret's folder.

use http::StatusCode;
use http::header::{HeaderValue, RETRY_AFTER};
use syvault_proto::RecordUid;
use syvault_proto::error::ErrorCode;
use syvault_proto::wire::{DataEnvelope, RotationStatus};
use uuid::Uuid;

use super::{Answer, Failure, json};
use crate::random;
use crate::service::App;
use crate::state::RotationEntry;

pub(super) fn start(app: &App, client_id: Uuid, uid: &str) -> Result<Answer, Failure> {
    let uid: RecordUid = uid.parse().map_err(|_| Failure::secret_not_found())?;
    let (rotation_id, entry) = app.store.write(|vault| {
        let stored = vault
            .records
            .get(&uid)
            .ok_or_else(Failure::secret_not_found)?;
        let access = vault
            .access(&client_id, &stored.folder_id)
            .ok_or_else(Failure::secret_not_found)?;
        if !access.can_write() {
            return Err(Failure::forbidden(
                "rotating needs a read-write grant on the secret's folder",
            ));
        }
        if !vault.policies.contains_key(&uid) {
            return Err(Failure::new(
                ErrorCode::RotationNotConfigured,
                "rotation is not configured for this secret",
            ));
        }
        if let Some(running) = vault.active_rotation(&uid) {
            return Err(Failure::new(
                ErrorCode::RotationInProgress,
                "a rotation of this secret is in progress",
            )
            .details(&serde_json::json!({ "rotation_id": running })));
        }
        let rotation_id = random::uuid();
        let entry = RotationEntry {
            uid,
            status: RotationStatus::Pending,
            revision: None,
            error: None,
        };
        vault.rotations.insert(rotation_id, entry.clone());
        Ok((rotation_id, entry))
    })?;
    // Without a worker (the server is stopping) the job stays pending in the state and the
    // next start resumes it.
    let _ = app.rotations.send(rotation_id);
    Ok(json(
        StatusCode::ACCEPTED,
        &DataEnvelope::new(entry.to_wire(rotation_id)),
    ))
}

pub(super) fn get(app: &App, client_id: Uuid, rotation_id: &str) -> Result<Answer, Failure> {
    let rotation_id: Uuid = rotation_id
        .parse()
        .map_err(|_| Failure::rotation_not_found())?;
    let rotation = app
        .store
        .read(|vault| {
            let entry = vault.rotations.get(&rotation_id)?;
            let stored = vault.records.get(&entry.uid)?;
            vault.access(&client_id, &stored.folder_id)?;
            Some(entry.to_wire(rotation_id))
        })
        .ok_or_else(Failure::rotation_not_found)?;
    let terminal = rotation.status.is_terminal();
    let mut answer = json(StatusCode::OK, &DataEnvelope::new(rotation));
    if !terminal {
        answer
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Ok(answer)
}
