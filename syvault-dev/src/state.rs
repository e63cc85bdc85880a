//! What the HTTP layer sees: ciphertext, public keys, grants and token verifiers.
//!
//! Nothing in this module can decrypt a record or a folder name. Folder keys exist here only
//! as blobs wrapped to a client's public key or sealed under a one-time token's `boot_key`;
//! the plaintext folder keys live in [`crate::admin`], which the request handlers never reach.
//!
//! The whole [`VaultState`] is serializable because it is also what `--data` persists.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use syvault_proto::RecordUid;
use syvault_proto::bootstrap::{RequestToken, TokenVerifier};
use syvault_proto::keys::ClientPublicKey;
use syvault_proto::wire::{Access, Base64Bytes, Record, Rotation, RotationStatus};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock;
use crate::lock::lock;
use crate::rotation::RotationPolicy;
use crate::sync::{Change, SyncLog};

/// Every piece of server state that requests read or change.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct VaultState {
    pub(crate) applications: BTreeMap<Uuid, Application>,
    pub(crate) clients: BTreeMap<Uuid, ClientEntry>,
    /// One-time tokens by the hex form of their id.
    pub(crate) tokens: BTreeMap<String, TokenEntry>,
    pub(crate) folders: BTreeMap<Uuid, FolderEntry>,
    /// Records by UID: iteration order is the listing order.
    pub(crate) records: BTreeMap<RecordUid, StoredRecord>,
    pub(crate) policies: BTreeMap<RecordUid, RotationPolicy>,
    pub(crate) rotations: BTreeMap<Uuid, RotationEntry>,
    /// Records bound to the database as dynamic targets, with their role templates.
    #[serde(default)]
    pub(crate) dynamic_targets: BTreeMap<RecordUid, crate::dynamic::RoleTemplate>,
    /// Leases by id, ended ones included (so that revoking twice is not an error).
    #[serde(default)]
    pub(crate) leases: BTreeMap<Uuid, crate::dynamic::LeaseEntry>,
    /// Records whose rotation changes the password of the database role named by their
    /// `username` field.
    #[serde(default)]
    pub(crate) postgres_rotations: std::collections::BTreeSet<RecordUid>,
    /// The numbered changes behind incremental listings, and the key of tokens and cursors.
    /// A state saved before it existed starts with an empty log.
    #[serde(default)]
    pub(crate) sync: SyncLog,
}

/// An application: a named group of clients.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Application {
    pub(crate) name: String,
}

/// A machine client.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ClientEntry {
    pub(crate) application_id: Uuid,
    pub(crate) name: String,
    /// Set by the first successful bootstrap.
    pub(crate) public_key: Option<StoredKey>,
    pub(crate) grants: BTreeMap<Uuid, Access>,
    /// Folder keys wrapped to `public_key` (ECIES), uploaded by the client or wrapped by the
    /// admin side for grants made after bootstrap.
    pub(crate) folder_keys: BTreeMap<Uuid, Base64Bytes>,
}

/// A one-time token as the server knows it: a verifier, never the token secret.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TokenEntry {
    pub(crate) client_id: Uuid,
    /// SHA-256 of the token's `auth_key`.
    pub(crate) auth_hash: Base64Bytes,
    /// Unix milliseconds after which the token no longer bootstraps.
    pub(crate) expires_at_ms: u64,
    /// Folder keys sealed under the token's `boot_key` by the admin side.
    pub(crate) sealed_keys: BTreeMap<Uuid, Base64Bytes>,
    pub(crate) first_use: Option<FirstUse>,
}

/// When and with which key a token was used, so a retried bootstrap can be recognised.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FirstUse {
    pub(crate) at_ms: u64,
    pub(crate) public_key: StoredKey,
}

impl TokenEntry {
    /// Whether `presented` proves this token, compared in constant time by the core.
    pub(crate) fn accepts(&self, presented: &RequestToken) -> bool {
        let Ok(auth_hash) = <[u8; 32]>::try_from(self.auth_hash.as_slice()) else {
            return false;
        };
        TokenVerifier {
            id: presented.id,
            auth_hash,
        }
        .verify(presented)
    }
}

/// A folder: its place in the tree and its name encrypted under the folder key.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FolderEntry {
    pub(crate) parent_id: Option<Uuid>,
    pub(crate) encrypted_name: Base64Bytes,
}

/// A record exactly as clients upload it: two ciphertexts and metadata.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredRecord {
    pub(crate) folder_id: Uuid,
    pub(crate) revision: u64,
    pub(crate) encrypted_dek: Base64Bytes,
    pub(crate) encrypted_data: Base64Bytes,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

impl StoredRecord {
    /// The record's wire form.
    pub(crate) fn to_wire(&self, uid: RecordUid) -> Record {
        Record {
            uid,
            folder_id: self.folder_id,
            revision: self.revision,
            encrypted_dek: self.encrypted_dek.clone(),
            encrypted_data: self.encrypted_data.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}

/// A rotation job and where it stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RotationEntry {
    pub(crate) uid: RecordUid,
    pub(crate) status: RotationStatus,
    pub(crate) revision: Option<u64>,
    pub(crate) error: Option<String>,
}

impl RotationEntry {
    /// The rotation's wire form.
    pub(crate) fn to_wire(&self, rotation_id: Uuid) -> Rotation {
        Rotation {
            rotation_id,
            uid: self.uid,
            status: self.status,
            revision: self.revision,
            error: self.error.clone(),
        }
    }
}

impl VaultState {
    /// The access `client_id` has to `folder_id`, if it has a grant and the folder exists.
    pub(crate) fn access(&self, client_id: &Uuid, folder_id: &Uuid) -> Option<Access> {
        if !self.folders.contains_key(folder_id) {
            return None;
        }
        self.clients.get(client_id)?.grants.get(folder_id).copied()
    }

    /// Logs a change of record `uid`: created (`before` is `None`), changed or moved, or
    /// deleted (`after` is `None`). Every change of `records` must be logged, or incremental
    /// listings miss it.
    pub(crate) fn log_record(&mut self, uid: RecordUid, before: Option<Uuid>, after: Option<Uuid>) {
        self.sync
            .append(Change::Record { uid, before, after }, clock::now());
    }

    /// Logs that `client`'s grant on `folder` was added or revoked.
    pub(crate) fn log_grant(&mut self, client: Uuid, folder: Uuid, added: bool) {
        self.sync.append(
            Change::Grant {
                client,
                folder,
                added,
            },
            clock::now(),
        );
    }

    /// The id of the rotation of `uid` that has not finished yet, if any.
    pub(crate) fn active_rotation(&self, uid: &RecordUid) -> Option<Uuid> {
        self.rotations
            .iter()
            .find(|(_, r)| r.uid == *uid && !r.status.is_terminal())
            .map(|(id, _)| *id)
    }
}

/// The lowercase hex form of a token id, the key of [`VaultState::tokens`].
pub(crate) fn token_key(id: &[u8]) -> String {
    use std::fmt::Write as _;
    id.iter()
        .fold(String::with_capacity(2 * id.len()), |mut out, b| {
            // Writing to a String cannot fail.
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The vault state behind a lock, plus a signal that it changed (which the persister awaits).
#[derive(Debug, Default)]
pub(crate) struct Store {
    vault: Mutex<VaultState>,
    changed: Notify,
}

impl Store {
    /// A store holding `vault`.
    pub(crate) fn new(vault: VaultState) -> Self {
        Self {
            vault: Mutex::new(vault),
            changed: Notify::new(),
        }
    }

    /// Reads the state.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&VaultState) -> R) -> R {
        f(&lock(&self.vault))
    }

    /// Changes the state and signals the change.
    pub(crate) fn write<R>(&self, f: impl FnOnce(&mut VaultState) -> R) -> R {
        let out = f(&mut lock(&self.vault));
        self.changed.notify_one();
        out
    }

    /// The locked state, for callers that combine it with other locks (the admin side, which
    /// always takes its own lock first). Call [`Store::mark_changed`] after changing it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, VaultState> {
        lock(&self.vault)
    }

    /// Signals a change made through [`Store::lock`].
    pub(crate) fn mark_changed(&self) {
        self.changed.notify_one();
    }

    /// Waits for the next change signal.
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// A client's public key, stored as standard base64 of its SEC1 point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredKey(pub(crate) ClientPublicKey);

impl Serialize for StoredKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_base64())
    }
}

impl<'de> Deserialize<'de> for StoredKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ClientPublicKey::from_base64(&text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}
