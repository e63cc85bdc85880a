//! `GET /folders` and `PUT /folder-keys`.
//!
//! A folder is listed for a client only once the server holds that folder's key wrapped to the
//! client: a listed folder whose key the client cannot open would be of no use to it. So a
//! client that was granted folders but never uploaded its keys gets an empty list. Folders
//! granted after bootstrap are wrapped to the client's public key by the admin side at grant
//! time, so they are listed at once.

use http::StatusCode;
use syvault_proto::folder_key::WRAPPED_LEN;
use syvault_proto::wire::{Folder, FolderKeysUpload, FolderList};
use uuid::Uuid;

use super::{Answer, Failure, empty, json, parse_json};
use crate::service::App;

pub(super) fn list(app: &App, client_id: Uuid) -> Answer {
    let data = app.store.read(|vault| {
        let Some(client) = vault.clients.get(&client_id) else {
            return Vec::new();
        };
        client
            .grants
            .iter()
            .filter_map(|(folder_id, access)| {
                let folder = vault.folders.get(folder_id)?;
                Some(Folder {
                    folder_id: *folder_id,
                    parent_id: folder.parent_id,
                    encrypted_key: client.folder_keys.get(folder_id)?.clone(),
                    encrypted_name: folder.encrypted_name.clone(),
                    access: *access,
                })
            })
            .collect()
    });
    json(StatusCode::OK, &FolderList { data })
}

/// Stores the client's wrapped folder keys, replacing earlier ones. All or nothing: one
/// ungranted folder refuses the whole upload.
pub(super) fn upload(app: &App, client_id: Uuid, body: &[u8]) -> Result<Answer, Failure> {
    let upload: FolderKeysUpload = parse_json(body)?;
    if upload.keys.values().any(|blob| blob.len() != WRAPPED_LEN) {
        return Err(Failure::invalid_request(format!(
            "each wrapped folder key must be {WRAPPED_LEN} bytes"
        )));
    }
    app.store.write(|vault| {
        if upload
            .keys
            .keys()
            .any(|folder_id| vault.access(&client_id, folder_id).is_none())
        {
            return Err(Failure::folder_not_found());
        }
        let client = vault
            .clients
            .get_mut(&client_id)
            .ok_or_else(|| Failure::unauthorized("unknown client"))?;
        client.folder_keys.extend(upload.keys);
        Ok(())
    })?;
    Ok(empty(StatusCode::NO_CONTENT))
}
