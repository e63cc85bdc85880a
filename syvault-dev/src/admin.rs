//! The admin side ("web vault"): the only part of the server that holds plaintext keys.
//!
//! An admin creates applications, clients, folders and secrets, grants folders to clients and
//! sets rotation policies. It keeps every folder key and, until a client bootstraps, the
//! client's one-time token, so it can seal folder keys for the bootstrap answer. Everything it
//! hands to the HTTP layer is ciphertext: folder names and records sealed with the core, folder
//! keys sealed under the token's `boot_key` or wrapped to the client's public key.
//!
//! Key material lives in [`AdminKeys`], a structure separate from the
//! [`VaultState`](crate::state::VaultState) that request handlers read; handlers hold no
//! reference to it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use syvault_proto::bootstrap::OneTimeToken;
use syvault_proto::record::{self, RecordPayload};
use syvault_proto::secret::SymmetricKey;
use syvault_proto::wire::{Access, Base64Bytes, Record, Rotation, RotationStatus};
use syvault_proto::{RecordUid, SecretString, folder_key};
use uuid::Uuid;

use crate::clock;
use crate::error::{Error, Result};
use crate::lock::lock;
use crate::random::{self, rng};
use crate::rotation::RotationPolicy;
use crate::state::{
    Application, ClientEntry, FolderEntry, RotationEntry, Store, StoredKey, StoredRecord,
    TokenEntry, VaultState, token_key,
};

/// How long a one-time token bootstraps unless configured otherwise.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The plaintext keys of the admin side.
#[derive(Default)]
pub(crate) struct AdminKeys {
    pub(crate) folder_keys: BTreeMap<Uuid, SymmetricKey>,
    /// The one-time token of each client that has not bootstrapped yet.
    pending_tokens: BTreeMap<Uuid, OneTimeToken>,
}

/// [`AdminKeys`] as persisted in the `--data` file.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct AdminKeysFile {
    folder_keys: BTreeMap<Uuid, Base64Bytes>,
    pending_tokens: BTreeMap<Uuid, SecretString>,
}

impl AdminKeys {
    pub(crate) fn to_file(&self) -> AdminKeysFile {
        AdminKeysFile {
            folder_keys: self
                .folder_keys
                .iter()
                .map(|(id, key)| (*id, Base64Bytes::from(key.expose().as_slice())))
                .collect(),
            pending_tokens: self
                .pending_tokens
                .iter()
                .map(|(id, token)| (*id, token.to_text()))
                .collect(),
        }
    }

    pub(crate) fn from_file(file: &AdminKeysFile) -> std::result::Result<Self, &'static str> {
        let mut keys = Self::default();
        for (id, key) in &file.folder_keys {
            let key =
                SymmetricKey::from_slice(key.as_slice()).ok_or("a folder key is not 32 bytes")?;
            keys.folder_keys.insert(*id, key);
        }
        for (id, token) in &file.pending_tokens {
            let token =
                OneTimeToken::parse(token.expose()).map_err(|_| "a pending token is malformed")?;
            keys.pending_tokens.insert(*id, token);
        }
        Ok(keys)
    }
}

/// A client as created by [`Admin::create_client`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewClient {
    /// The client's id, the `sub` of its tokens once bootstrapped.
    pub client_id: Uuid,
    /// The one-time token (`vft_…`) to hand to the client for bootstrap.
    pub token: SecretString,
}

/// A handle on the admin side of a running server. Cheap to clone; all clones act on the same
/// server. Methods are synchronous and may be called from any thread.
#[derive(Clone)]
pub struct Admin {
    inner: Arc<AdminInner>,
}

struct AdminInner {
    keys: Arc<Mutex<AdminKeys>>,
    store: Arc<Store>,
    token_lifetime: Duration,
    failing_rotations: AtomicU32,
    /// The ciphertext of every revision that rotations replaced, per record, oldest first.
    replaced: Mutex<BTreeMap<RecordUid, Vec<Record>>>,
    dynamic: std::sync::OnceLock<Arc<crate::dynamic::Dynamic>>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl Admin {
    pub(crate) fn new(keys: AdminKeys, store: Arc<Store>, token_lifetime: Duration) -> Self {
        Self {
            inner: Arc::new(AdminInner {
                keys: Arc::new(Mutex::new(keys)),
                store,
                token_lifetime,
                failing_rotations: AtomicU32::new(0),
                replaced: Mutex::new(BTreeMap::new()),
                dynamic: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The key store, for the persister.
    pub(crate) fn keys(&self) -> Arc<Mutex<AdminKeys>> {
        Arc::clone(&self.inner.keys)
    }

    /// Gives the admin side the server's dynamic-secrets binding (once, at start).
    pub(crate) fn attach_dynamic(&self, dynamic: Arc<crate::dynamic::Dynamic>) {
        let _ = self.inner.dynamic.set(dynamic);
    }

    /// The server's dynamic-secrets binding.
    pub(crate) fn dynamic(&self) -> Option<&Arc<crate::dynamic::Dynamic>> {
        self.inner.dynamic.get()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Creates an application and returns its id.
    pub fn create_application(&self, name: &str) -> Uuid {
        let id = random::uuid();
        self.store().write(|vault| {
            vault.applications.insert(
                id,
                Application {
                    name: name.to_owned(),
                },
            );
        });
        id
    }

    /// Creates a client of `application_id` with a one-time token valid for the server's
    /// configured token lifetime (24 hours by default).
    pub fn create_client(&self, application_id: Uuid, name: &str) -> Result<NewClient> {
        self.create_client_with_token_lifetime(application_id, name, self.inner.token_lifetime)
    }

    /// Creates a client whose one-time token expires after `lifetime`.
    pub fn create_client_with_token_lifetime(
        &self,
        application_id: Uuid,
        name: &str,
        lifetime: Duration,
    ) -> Result<NewClient> {
        let mut keys = lock(&self.inner.keys);
        let mut vault = self.store().lock();
        if !vault.applications.contains_key(&application_id) {
            return Err(Error::UnknownApplication(application_id));
        }
        let client_id = random::uuid();
        let token = OneTimeToken::generate(&mut rng());
        let verifier = token.derive().verifier();
        vault.clients.insert(
            client_id,
            ClientEntry {
                application_id,
                name: name.to_owned(),
                public_key: None,
                grants: BTreeMap::new(),
                folder_keys: BTreeMap::new(),
            },
        );
        vault.tokens.insert(
            token_key(&verifier.id),
            TokenEntry {
                client_id,
                auth_hash: Base64Bytes::from(verifier.auth_hash.as_slice()),
                expires_at_ms: (clock::now() + lifetime).as_unix_millis(),
                sealed_keys: BTreeMap::new(),
                first_use: None,
            },
        );
        let text = token.to_text();
        keys.pending_tokens.insert(client_id, token);
        drop(vault);
        self.store().mark_changed();
        Ok(NewClient {
            client_id,
            token: text,
        })
    }

    /// Creates a folder named `name` (encrypted under a new folder key) below `parent`.
    pub fn create_folder(&self, name: &str, parent: Option<Uuid>) -> Result<Uuid> {
        let mut keys = lock(&self.inner.keys);
        let mut vault = self.store().lock();
        if let Some(parent) = parent
            && !vault.folders.contains_key(&parent)
        {
            return Err(Error::UnknownFolder(parent));
        }
        let id = random::uuid();
        let key = SymmetricKey::generate(&mut rng());
        let encrypted_name = folder_key::seal_name(&key, name, &mut rng());
        vault.folders.insert(
            id,
            FolderEntry {
                parent_id: parent,
                encrypted_name: encrypted_name.into(),
            },
        );
        keys.folder_keys.insert(id, key);
        drop(vault);
        self.store().mark_changed();
        Ok(id)
    }

    /// Grants `client_id` access to every secret of `folder_id`, present and future, replacing
    /// an earlier grant on that folder.
    ///
    /// Before the client bootstraps, the folder key is sealed for its one-time token (it will be
    /// in the bootstrap answer); afterwards it is wrapped to the client's public key.
    pub fn grant(&self, client_id: Uuid, folder_id: Uuid, access: Access) -> Result<()> {
        let mut keys = lock(&self.inner.keys);
        let mut guard = self.store().lock();
        let vault = &mut *guard;
        let key = keys
            .folder_keys
            .get(&folder_id)
            .filter(|_| vault.folders.contains_key(&folder_id))
            .ok_or(Error::UnknownFolder(folder_id))?;
        let client = vault
            .clients
            .get_mut(&client_id)
            .ok_or(Error::UnknownClient(client_id))?;
        let added = client.grants.insert(folder_id, access).is_none();
        if let Some(StoredKey(public_key)) = client.public_key {
            client.folder_keys.entry(folder_id).or_insert_with(|| {
                folder_key::wrap(key, &folder_id, &client_id, &public_key, &mut rng()).into()
            });
            // The token has been used: its boot_key is no longer needed.
            keys.pending_tokens.remove(&client_id);
        } else if let Some(token) = keys.pending_tokens.get(&client_id) {
            let sealed = token.derive().seal_folder_key(&folder_id, key, &mut rng());
            if let Some(entry) = vault.tokens.get_mut(&token_key(token.id())) {
                entry.sealed_keys.insert(folder_id, sealed.into());
            }
        }
        if added {
            vault.log_grant(client_id, folder_id, true);
        }
        drop(guard);
        self.store().mark_changed();
        Ok(())
    }

    /// Removes `client_id`'s grant on `folder_id` and every copy of the folder key held for it.
    /// The client's leases on records it no longer sees end: their roles are dropped in the
    /// background, their sessions terminated.
    pub fn revoke(&self, client_id: Uuid, folder_id: Uuid) -> Result<()> {
        self.store().write(|vault| {
            let client = vault
                .clients
                .get_mut(&client_id)
                .ok_or(Error::UnknownClient(client_id))?;
            let revoked = client.grants.remove(&folder_id).is_some();
            client.folder_keys.remove(&folder_id);
            for entry in vault.tokens.values_mut() {
                if entry.client_id == client_id && entry.first_use.is_none() {
                    entry.sealed_keys.remove(&folder_id);
                }
            }
            if revoked {
                vault.log_grant(client_id, folder_id, false);
                crate::dynamic::expire_unentitled(vault, clock::now());
            }
            Ok(())
        })
    }

    /// Creates a secret in `folder_id` under a newly generated UID.
    pub fn create_secret(&self, folder_id: Uuid, payload: &RecordPayload) -> Result<RecordUid> {
        self.create_secret_with_uid(folder_id, RecordUid::generate(&mut rng()), payload)
    }

    /// Creates a secret in `folder_id` under `uid`, as a client that chose its UID would.
    pub fn create_secret_with_uid(
        &self,
        folder_id: Uuid,
        uid: RecordUid,
        payload: &RecordPayload,
    ) -> Result<RecordUid> {
        let keys = lock(&self.inner.keys);
        let mut vault = self.store().lock();
        let key = keys
            .folder_keys
            .get(&folder_id)
            .ok_or(Error::UnknownFolder(folder_id))?;
        if vault.records.contains_key(&uid) {
            return Err(Error::UidConflict(uid));
        }
        let sealed = record::seal(&uid, key, payload, &mut rng());
        let now = clock::rfc3339(clock::now());
        vault.records.insert(
            uid,
            StoredRecord {
                folder_id,
                revision: 1,
                encrypted_dek: sealed.encrypted_dek.into(),
                encrypted_data: sealed.encrypted_data.into(),
                created_at: now.clone(),
                updated_at: now,
            },
        );
        vault.log_record(uid, None, Some(folder_id));
        drop(vault);
        self.store().mark_changed();
        Ok(uid)
    }

    /// Replaces the content of secret `uid` (fresh data key) and returns its new revision.
    pub fn update_secret(&self, uid: RecordUid, payload: &RecordPayload) -> Result<u64> {
        let keys = lock(&self.inner.keys);
        let mut vault = self.store().lock();
        let stored = vault
            .records
            .get_mut(&uid)
            .ok_or(Error::UnknownSecret(uid))?;
        let key = keys
            .folder_keys
            .get(&stored.folder_id)
            .ok_or(Error::UnknownFolder(stored.folder_id))?;
        reseal(stored, &uid, key, payload);
        let (folder_id, revision) = (stored.folder_id, stored.revision);
        vault.log_record(uid, Some(folder_id), Some(folder_id));
        drop(vault);
        self.store().mark_changed();
        Ok(revision)
    }

    /// Moves secret `uid` to `folder_id`: its content is sealed under that folder's key (with a
    /// fresh data key) as the next revision, which it returns. Clients without a grant on the
    /// new folder no longer see it, and their leases on it end; clients with one start to.
    pub fn move_secret(&self, uid: RecordUid, folder_id: Uuid) -> Result<u64> {
        let keys = lock(&self.inner.keys);
        let mut vault = self.store().lock();
        let new_key = keys
            .folder_keys
            .get(&folder_id)
            .filter(|_| vault.folders.contains_key(&folder_id))
            .ok_or(Error::UnknownFolder(folder_id))?;
        let stored = vault
            .records
            .get_mut(&uid)
            .ok_or(Error::UnknownSecret(uid))?;
        let old_folder = stored.folder_id;
        let old_key = keys
            .folder_keys
            .get(&old_folder)
            .ok_or(Error::UnknownFolder(old_folder))?;
        let payload = record::open(
            &uid,
            old_key,
            stored.encrypted_dek.as_slice(),
            stored.encrypted_data.as_slice(),
        )?;
        stored.folder_id = folder_id;
        reseal(stored, &uid, new_key, &payload);
        let revision = stored.revision;
        vault.log_record(uid, Some(old_folder), Some(folder_id));
        crate::dynamic::expire_unentitled(&mut vault, clock::now());
        drop(vault);
        self.store().mark_changed();
        Ok(revision)
    }

    /// Deletes secret `uid`, with its rotation policy and any binding to a database; leases
    /// taken on it end (their roles are dropped in the background). Clients that listed it
    /// learn of it as deleted from their next incremental listing.
    pub fn delete_secret(&self, uid: RecordUid) -> Result<()> {
        self.store().write(|vault| {
            let stored = vault
                .records
                .remove(&uid)
                .ok_or(Error::UnknownSecret(uid))?;
            vault.policies.remove(&uid);
            vault.dynamic_targets.remove(&uid);
            vault.postgres_rotations.remove(&uid);
            vault.log_record(uid, Some(stored.folder_id), None);
            crate::dynamic::expire_unentitled(vault, clock::now());
            Ok(())
        })
    }

    /// Decrypts secret `uid` as the admin sees it.
    pub fn read_secret(&self, uid: RecordUid) -> Result<RecordPayload> {
        let keys = lock(&self.inner.keys);
        let vault = self.store().lock();
        let stored = vault.records.get(&uid).ok_or(Error::UnknownSecret(uid))?;
        let key = keys
            .folder_keys
            .get(&stored.folder_id)
            .ok_or(Error::UnknownFolder(stored.folder_id))?;
        Ok(record::open(
            &uid,
            key,
            stored.encrypted_dek.as_slice(),
            stored.encrypted_data.as_slice(),
        )?)
    }

    /// Every revision of secret `uid` since this server started, oldest first: those that
    /// rotations replaced, then the current one. A client may legitimately have been served
    /// any of them, and nothing else.
    pub fn history(&self, uid: RecordUid) -> Result<Vec<RecordPayload>> {
        // One snapshot, with the locks in the rotation worker's order: read apart, a rotation
        // finishing in between would leave out the revision it replaced.
        let keys = lock(&self.inner.keys);
        let vault = self.store().lock();
        let replaced = lock(&self.inner.replaced)
            .get(&uid)
            .cloned()
            .unwrap_or_default();
        let current = vault.records.get(&uid).ok_or(Error::UnknownSecret(uid))?;
        let current = current.to_wire(uid);
        drop(vault);
        let mut history = Vec::with_capacity(replaced.len() + 1);
        for old in replaced.iter().chain([&current]) {
            let key = keys
                .folder_keys
                .get(&old.folder_id)
                .ok_or(Error::UnknownFolder(old.folder_id))?;
            history.push(record::open(
                &uid,
                key,
                old.encrypted_dek.as_slice(),
                old.encrypted_data.as_slice(),
            )?);
        }
        Ok(history)
    }

    /// Secret `uid` exactly as the server stores and serves it (ciphertext only).
    pub fn record(&self, uid: RecordUid) -> Option<Record> {
        self.store()
            .read(|vault| vault.records.get(&uid).map(|stored| stored.to_wire(uid)))
    }

    /// Makes secret `uid` rotatable under `policy`, replacing an earlier policy.
    pub fn set_rotation_policy(&self, uid: RecordUid, policy: RotationPolicy) -> Result<()> {
        policy.validate()?;
        self.store().write(|vault| {
            if !vault.records.contains_key(&uid) {
                return Err(Error::UnknownSecret(uid));
            }
            vault.policies.insert(uid, policy);
            Ok(())
        })
    }

    /// Makes secret `uid` no longer rotatable.
    pub fn clear_rotation_policy(&self, uid: RecordUid) {
        self.store().write(|vault| vault.policies.remove(&uid));
    }

    /// Makes the next rotation that reaches its final step fail, leaving its record untouched.
    /// Calls add up: two calls fail the next two rotations.
    pub fn fail_next_rotation(&self) {
        self.inner.failing_rotations.fetch_add(1, Ordering::SeqCst);
    }

    /// The state of rotation `rotation_id`.
    pub fn rotation(&self, rotation_id: Uuid) -> Option<Rotation> {
        self.store().read(|vault| {
            vault
                .rotations
                .get(&rotation_id)
                .map(|entry| entry.to_wire(rotation_id))
        })
    }

    /// Moves a pending rotation to `running`; false if it is not pending.
    pub(crate) fn start_rotation(&self, rotation_id: Uuid) -> bool {
        self.store()
            .write(|vault| match vault.rotations.get_mut(&rotation_id) {
                Some(entry) if entry.status == RotationStatus::Pending => {
                    entry.status = RotationStatus::Running;
                    true
                }
                _ => false,
            })
    }

    /// Completes a running rotation with a regenerated field, or fails it without touching the
    /// record.
    pub(crate) fn finish_rotation(&self, rotation_id: Uuid) {
        let keys = lock(&self.inner.keys);
        let mut vault = self.store().lock();
        let Some(uid) = vault
            .rotations
            .get(&rotation_id)
            .filter(|entry| entry.status == RotationStatus::Running)
            .map(|entry| entry.uid)
        else {
            return;
        };
        let injected_failure = self
            .inner
            .failing_rotations
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let before = vault.records.get(&uid).map(|stored| stored.to_wire(uid));
        let outcome = if injected_failure {
            Err("the rotation gateway could not update the target system".to_owned())
        } else {
            rotate_record(&keys, &mut vault, uid)
        };
        if let (Ok(_), Some(before)) = (&outcome, before) {
            lock(&self.inner.replaced)
                .entry(uid)
                .or_default()
                .push(before);
        }
        if let Some(entry) = vault.rotations.get_mut(&rotation_id) {
            apply_outcome(entry, outcome);
        }
        drop(vault);
        self.store().mark_changed();
    }
}

pub(crate) fn apply_outcome(entry: &mut RotationEntry, outcome: std::result::Result<u64, String>) {
    match outcome {
        Ok(revision) => {
            entry.status = RotationStatus::Completed;
            entry.revision = Some(revision);
        }
        Err(reason) => {
            entry.status = RotationStatus::Failed;
            entry.error = Some(reason);
        }
    }
}

/// Regenerates the policy's field of record `uid` and stores it as the next revision.
fn rotate_record(
    keys: &AdminKeys,
    vault: &mut VaultState,
    uid: RecordUid,
) -> std::result::Result<u64, String> {
    let policy = vault
        .policies
        .get(&uid)
        .cloned()
        .ok_or("rotation is no longer configured for this secret")?;
    let stored = vault
        .records
        .get_mut(&uid)
        .ok_or("the secret no longer exists")?;
    let key = keys
        .folder_keys
        .get(&stored.folder_id)
        .ok_or("the folder key is unknown")?;
    let mut payload = record::open(
        &uid,
        key,
        stored.encrypted_dek.as_slice(),
        stored.encrypted_data.as_slice(),
    )
    .map_err(|_| "the stored record does not decrypt".to_owned())?;
    if payload.fields.get(&policy.field).is_none() {
        return Err(format!("the secret has no field `{}`", policy.field));
    }
    payload.fields.set(policy.field.clone(), policy.generate());
    reseal(stored, &uid, key, &payload);
    let (folder_id, revision) = (stored.folder_id, stored.revision);
    vault.log_record(uid, Some(folder_id), Some(folder_id));
    Ok(revision)
}

/// Seals `payload` under a fresh data key as the next revision of `stored`.
pub(crate) fn reseal(
    stored: &mut StoredRecord,
    uid: &RecordUid,
    key: &SymmetricKey,
    payload: &RecordPayload,
) {
    let sealed = record::seal(uid, key, payload, &mut rng());
    stored.encrypted_dek = sealed.encrypted_dek.into();
    stored.encrypted_data = sealed.encrypted_data.into();
    stored.revision += 1;
    stored.updated_at = clock::rfc3339(clock::now());
}
