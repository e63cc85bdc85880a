//! Encrypted snapshots of what a client knows, so that a process restarted while the vault is
//! down can still serve what it had read (docs/protocol.md §12.10).
//!
//! A snapshot holds the decrypted cache entries with their original fetch times and ETags, the
//! folder names and tree and the listing the notation index resolves references against, and
//! the sync token of each listing filter. This module seals and opens those bytes; it never
//! touches a file (drivers write them with [`crate::private_file`]) and never decides what a
//! client does with an opened snapshot.
//!
//! The sealed form is `"SYVSNAP" ‖ version (1 byte, 1) ‖ salt (32) ‖ nonce (12) ‖ ciphertext
//! ‖ tag (16)`: AES-256-GCM under `HKDF-SHA256(salt, ikm = the client's private scalar, info =
//! "syvault.sm.snapshot.v1")`, with the associated data `syvault.sm.snapshot.v1:{server}:
//! {client_id}` (the canonical server URL of §6.3). A snapshot thus opens only for the client,
//! server and format version that wrote it, and any change to any byte is refused.
//!
//! ```
//! use syvault_proto::keys::ClientKey;
//! use syvault_proto::snapshot::{self, Binding, Snapshot};
//! use syvault_proto::Timestamp;
//!
//! let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
//! let key = ClientKey::generate(&mut rng);
//! let client_id = uuid::Uuid::from_u128(7);
//! let binding = Binding::new(&key, "https://vault.example.com", client_id)?;
//! let sealed = snapshot::seal(&Snapshot::new(Timestamp::from_unix_secs(1_700_000_000)), &binding, &mut rng);
//! let opened = snapshot::open(&sealed, &binding)?;
//! assert_eq!(opened.written_at, Timestamp::from_unix_secs(1_700_000_000));
//!
//! // Another client's configuration refuses it.
//! let other = Binding::new(&key, "https://vault.example.com", uuid::Uuid::from_u128(8))?;
//! assert!(snapshot::open(&sealed, &other).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::sync::Arc;

use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::Sha256;
use uuid::Uuid;

mod state;

pub(crate) use state::Schedule;

use crate::blob;
use crate::error::Result;
use crate::folders::FolderInfo;
use crate::keys::ClientKey;
use crate::model::Secret;
use crate::record::{Fields, RecordPayload};
use crate::secret::{SecretString, SymmetricKey};
use crate::secret_json;
use crate::time::Timestamp;
use crate::uid::RecordUid;
use crate::wire::Access;

/// The first bytes of every snapshot.
pub const MAGIC: &[u8; 7] = b"SYVSNAP";
/// The format version this code writes and reads.
pub const VERSION: u8 = 1;
/// Length of the random salt of the key derivation.
pub const SALT_LEN: usize = 32;
/// Length of everything before the AES-GCM blob: magic, version and salt.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + SALT_LEN;
/// The HKDF `info` of the snapshot key, and the prefix of the associated data.
pub const LABEL: &str = "syvault.sm.snapshot.v1";
/// The longest ETag kept: a longer one is not a snapshot this code wrote.
const MAX_ETAG: usize = 1024;

/// What a snapshot holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// When it was taken.
    pub written_at: Timestamp,
    /// Decrypted secrets, each with when it was fetched and its ETag.
    pub entries: Vec<Entry>,
    /// The folders granted, by name and tree, without their keys.
    pub folders: Vec<FolderInfo>,
    /// The last complete listing the notation index was built from.
    pub listing: Option<Listing>,
    /// The sync token of each listing filter.
    pub sync_tokens: Vec<SyncToken>,
}

/// A cached secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The decrypted secret.
    pub secret: Arc<Secret>,
    /// When the vault last sent or confirmed it: what its freshness and staleness count from.
    pub fetched_at: Timestamp,
    /// The ETag it came with, to revalidate it with `If-None-Match`.
    pub etag: Option<String>,
}

/// A complete listing, as the notation index resolves references against it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Listing {
    /// When the listing was taken.
    pub listed_at: Timestamp,
    /// Every record it held.
    pub records: Vec<ListedRecord>,
}

/// A record of a listing: what a reference can name, without values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedRecord {
    /// The record's UID.
    pub uid: RecordUid,
    /// Its folder.
    pub folder_id: Uuid,
    /// Its title.
    pub title: String,
}

/// Where an incremental listing of one filter resumes.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncToken {
    /// The listing's `folder_id` filter; `None` for the whole vault.
    pub folder_id: Option<Uuid>,
    /// The opaque token the server gave, never empty.
    pub token: String,
    /// When the server gave it.
    pub synced_at: Timestamp,
}

/// The token is the server's business: shown by length only.
impl std::fmt::Debug for SyncToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncToken")
            .field("folder_id", &self.folder_id)
            .field("token_len", &self.token.len())
            .field("synced_at", &self.synced_at)
            .finish()
    }
}

impl Snapshot {
    /// An empty snapshot taken at `written_at`.
    pub fn new(written_at: Timestamp) -> Self {
        Self {
            written_at,
            entries: Vec::new(),
            folders: Vec::new(),
            listing: None,
            sync_tokens: Vec::new(),
        }
    }
}

impl Entry {
    /// A cached secret with its fetch time and ETag.
    pub fn new(secret: Arc<Secret>, fetched_at: Timestamp, etag: Option<String>) -> Self {
        Self {
            secret,
            fetched_at,
            etag,
        }
    }
}

impl Listing {
    /// A listing taken at `listed_at`.
    pub fn new(listed_at: Timestamp, records: Vec<ListedRecord>) -> Self {
        Self { listed_at, records }
    }
}

impl ListedRecord {
    /// A listed record.
    pub fn new(uid: RecordUid, folder_id: Uuid, title: impl Into<String>) -> Self {
        Self {
            uid,
            folder_id,
            title: title.into(),
        }
    }
}

/// What [`crate::Client::restore_snapshot`] took from a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Restored {
    /// When the snapshot was taken.
    pub written_at: Timestamp,
    /// Cached secrets taken, each served only stale until the server confirms it.
    pub entries: usize,
    /// Cached secrets left out: fetched longer ago than the TTL and `max_stale` allow serving.
    pub expired: usize,
    /// Whether the notation index was taken too.
    pub listing: bool,
}

impl SyncToken {
    /// The token of a filter.
    pub fn new(folder_id: Option<Uuid>, token: impl Into<String>, synced_at: Timestamp) -> Self {
        Self {
            folder_id,
            token: token.into(),
            synced_at,
        }
    }
}

/// Why a snapshot was not opened. None of these stops a client: it starts without the
/// snapshot and says why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The bytes do not start like a snapshot.
    #[error("not a snapshot")]
    NotASnapshot,
    /// A snapshot of a format version this code does not read.
    #[error("snapshot format version {version} (this client reads version {VERSION})")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// Shorter than the smallest snapshot.
    #[error("the snapshot is truncated")]
    Truncated,
    /// The ciphertext does not open under this client's key, server and client id: another
    /// client's or server's snapshot, or one altered since it was written.
    #[error(
        "the snapshot does not open for this client: it belongs to another client or server, \
         or it was altered"
    )]
    Refused,
    /// It opened, but its content is not what this code writes.
    #[error("the snapshot's content is malformed: {reason}")]
    Malformed {
        /// What was wrong; never a value.
        reason: &'static str,
    },
    /// It opened, but nothing in it may still be served: everything it holds was fetched
    /// longer ago than the cache's TTL and `max_stale` allow.
    #[error("the snapshot is too old: nothing in it may be served any more")]
    TooOld,
    /// The client has no identity yet to open or seal a snapshot with.
    #[error("the client has no identity yet")]
    NoIdentity,
}

/// What a snapshot is bound to: the client's key, the canonical server URL and the client id.
pub struct Binding<'a> {
    key: &'a ClientKey,
    server: String,
    client_id: Uuid,
}

impl std::fmt::Debug for Binding<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binding")
            .field("server", &self.server)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl<'a> Binding<'a> {
    /// The binding of `key`'s client `client_id` at `server`, which is canonicalised as a
    /// token audience is (§6.3).
    pub fn new(key: &'a ClientKey, server: &str, client_id: Uuid) -> Result<Self> {
        Ok(Self {
            key,
            server: crate::jwt::canonical_audience(server)?,
            client_id,
        })
    }

    /// The associated data: `syvault.sm.snapshot.v1:{server}:{client_id}`.
    pub fn aad(&self) -> String {
        format!("{LABEL}:{}:{}", self.server, self.client_id)
    }

    /// The AES key of a snapshot with this salt.
    fn key(&self, salt: &[u8; SALT_LEN]) -> SymmetricKey {
        let scalar = zeroize::Zeroizing::new(self.key.secret_key().to_bytes());
        let hkdf = Hkdf::<Sha256>::new(Some(salt), scalar.as_slice());
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's output limit.
        let _ = hkdf.expand(LABEL.as_bytes(), key.as_mut());
        SymmetricKey::from_bytes(*key)
    }
}

/// Seals `snapshot` for `binding` with a fresh salt and nonce from `rng`.
pub fn seal<R: rand_core::CryptoRng + ?Sized>(
    snapshot: &Snapshot,
    binding: &Binding<'_>,
    rng: &mut R,
) -> Vec<u8> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let mut nonce = [0u8; blob::NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    seal_with(snapshot, binding, salt, nonce)
}

/// [`seal`] with a given salt and nonce, for known-answer tests. Real snapshots take both from
/// a random number generator.
pub fn seal_with(
    snapshot: &Snapshot,
    binding: &Binding<'_>,
    salt: [u8; SALT_LEN],
    nonce: [u8; blob::NONCE_LEN],
) -> Vec<u8> {
    seal_keyed(snapshot, &binding.key(&salt), salt, nonce, &binding.aad())
}

fn seal_keyed(
    snapshot: &Snapshot,
    key: &SymmetricKey,
    salt: [u8; SALT_LEN],
    nonce: [u8; blob::NONCE_LEN],
    aad: &str,
) -> Vec<u8> {
    let plaintext = to_json(snapshot);
    let sealed = blob::seal_with_nonce(key, nonce, &plaintext, aad);
    let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&sealed);
    out
}

/// A snapshot a client took, with its key already derived (from a fresh salt) for the client it
/// is bound to: the driver seals it away from the client's lock, since encrypting a large cache
/// takes a while, and writes the bytes with [`crate::private_file`].
pub struct SnapshotJob {
    snapshot: Snapshot,
    key: SymmetricKey,
    salt: [u8; SALT_LEN],
    aad: String,
}

impl std::fmt::Debug for SnapshotJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotJob")
            .field("written_at", &self.snapshot.written_at)
            .field("entries", &self.snapshot.entries.len())
            .finish_non_exhaustive()
    }
}

impl SnapshotJob {
    /// The job of sealing `snapshot` for `binding`, with a fresh salt from `rng`.
    pub fn new<R: rand_core::CryptoRng + ?Sized>(
        snapshot: Snapshot,
        binding: &Binding<'_>,
        rng: &mut R,
    ) -> Self {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        Self {
            key: binding.key(&salt),
            salt,
            aad: binding.aad(),
            snapshot,
        }
    }

    /// What is being sealed.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The sealed bytes, with a fresh nonce from `rng`: what [`seal`] gives.
    pub fn seal<R: rand_core::CryptoRng + ?Sized>(&self, rng: &mut R) -> Vec<u8> {
        let mut nonce = [0u8; blob::NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        seal_keyed(&self.snapshot, &self.key, self.salt, nonce, &self.aad)
    }
}

/// Opens a sealed snapshot for `binding`. Any bytes give a snapshot or a typed error.
pub fn open(bytes: &[u8], binding: &Binding<'_>) -> Result<Snapshot, SnapshotError> {
    let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        // A prefix of the magic is a snapshot cut short, anything else is not one.
        return Err(if MAGIC.starts_with(bytes) && !bytes.is_empty() {
            SnapshotError::Truncated
        } else {
            SnapshotError::NotASnapshot
        });
    };
    let (&version, rest) = rest.split_first().ok_or(SnapshotError::Truncated)?;
    if version != VERSION {
        return Err(SnapshotError::UnsupportedVersion { version });
    }
    if rest.len() < SALT_LEN + blob::OVERHEAD {
        return Err(SnapshotError::Truncated);
    }
    let (salt, sealed) = rest.split_at(SALT_LEN);
    let salt: &[u8; SALT_LEN] = salt.try_into().map_err(|_| SnapshotError::Truncated)?;
    let plaintext = blob::open(&binding.key(salt), sealed, &binding.aad())
        .map_err(|_| SnapshotError::Refused)?;
    from_json(&plaintext)
}

// ---- the plaintext: JSON ---------------------------------------------------------------------

#[derive(Serialize)]
struct PlainOut<'a> {
    written_at: u64,
    entries: Vec<EntryOut<'a>>,
    folders: Vec<FolderOut<'a>>,
    listing: Option<ListingOut<'a>>,
    sync_tokens: Vec<SyncOut<'a>>,
}

#[derive(Serialize)]
struct EntryOut<'a> {
    uid: &'a RecordUid,
    folder_id: &'a Uuid,
    revision: u64,
    fetched_at: u64,
    etag: Option<&'a str>,
    payload: PayloadOut<'a>,
}

/// The record payload of §7.5, as it was decrypted.
#[derive(Serialize)]
struct PayloadOut<'a> {
    title: &'a str,
    #[serde(rename = "type")]
    record_type: &'a str,
    fields: &'a Fields,
    notes: &'a SecretString,
}

#[derive(Serialize)]
struct FolderOut<'a> {
    folder_id: Uuid,
    parent_id: Option<Uuid>,
    name: &'a str,
    access: Access,
}

#[derive(Serialize)]
struct ListingOut<'a> {
    listed_at: u64,
    records: Vec<RecordOut<'a>>,
}

#[derive(Serialize)]
struct RecordOut<'a> {
    uid: &'a RecordUid,
    folder_id: &'a Uuid,
    title: &'a str,
}

#[derive(Serialize)]
struct SyncOut<'a> {
    folder_id: Option<&'a Uuid>,
    token: &'a str,
    synced_at: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainIn<'a> {
    written_at: u64,
    #[serde(borrow)]
    entries: Vec<EntryIn<'a>>,
    folders: Vec<FolderIn>,
    listing: Option<ListingIn>,
    sync_tokens: Vec<SyncIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryIn<'a> {
    uid: RecordUid,
    folder_id: Uuid,
    revision: u64,
    fetched_at: u64,
    etag: Option<String>,
    #[serde(borrow)]
    payload: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderIn {
    folder_id: Uuid,
    parent_id: Option<Uuid>,
    name: String,
    access: Access,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListingIn {
    listed_at: u64,
    records: Vec<RecordIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordIn {
    uid: RecordUid,
    folder_id: Uuid,
    title: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncIn {
    folder_id: Option<Uuid>,
    token: String,
    synced_at: u64,
}

/// The plaintext: compact JSON in a buffer of its final size, zeroized on drop.
fn to_json(snapshot: &Snapshot) -> zeroize::Zeroizing<Vec<u8>> {
    let plain = PlainOut {
        written_at: snapshot.written_at.as_unix_millis(),
        entries: snapshot
            .entries
            .iter()
            .map(|e| EntryOut {
                uid: &e.secret.uid,
                folder_id: &e.secret.folder_id,
                revision: e.secret.revision,
                fetched_at: e.fetched_at.as_unix_millis(),
                etag: e.etag.as_deref(),
                payload: PayloadOut {
                    title: &e.secret.title,
                    record_type: &e.secret.record_type,
                    fields: &e.secret.fields,
                    notes: &e.secret.notes,
                },
            })
            .collect(),
        folders: snapshot
            .folders
            .iter()
            .map(|f| FolderOut {
                folder_id: f.folder_id,
                parent_id: f.parent_id,
                name: &f.name,
                access: f.access,
            })
            .collect(),
        listing: snapshot.listing.as_ref().map(|l| ListingOut {
            listed_at: l.listed_at.as_unix_millis(),
            records: l
                .records
                .iter()
                .map(|r| RecordOut {
                    uid: &r.uid,
                    folder_id: &r.folder_id,
                    title: &r.title,
                })
                .collect(),
        }),
        sync_tokens: snapshot
            .sync_tokens
            .iter()
            .map(|s| SyncOut {
                folder_id: s.folder_id.as_ref(),
                token: &s.token,
                synced_at: s.synced_at.as_unix_millis(),
            })
            .collect(),
    };
    // Strings, numbers and maps always serialize.
    secret_json::to_vec(&plain, false).unwrap_or_default()
}

/// Reads the plaintext strictly: every member present, none unknown, no duplicate UID, folder
/// or filter, no empty token, ETags that can be sent back.
fn from_json(json: &[u8]) -> Result<Snapshot, SnapshotError> {
    let malformed = |reason| SnapshotError::Malformed { reason };
    // The derived code would also take an array.
    if json.first() != Some(&b'{') {
        return Err(malformed("not a JSON object"));
    }
    let plain: PlainIn<'_> =
        serde_json::from_slice(json).map_err(|_| malformed("not the snapshot's JSON"))?;

    let mut uids = HashSet::with_capacity(plain.entries.len());
    let mut entries = Vec::with_capacity(plain.entries.len());
    for entry in plain.entries {
        if !uids.insert(entry.uid) {
            return Err(malformed("an entry's UID appears twice"));
        }
        if let Some(etag) = &entry.etag
            && (etag.is_empty()
                || etag.len() > MAX_ETAG
                || !etag.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
        {
            return Err(malformed("an ETag is not a header value"));
        }
        if entry.payload.get().as_bytes().first() != Some(&b'{') {
            return Err(malformed("an entry's payload is not an object"));
        }
        let payload = RecordPayload::from_json(&entry.uid, entry.payload.get().as_bytes())
            .map_err(|_| malformed("an entry's payload is not a record payload"))?;
        entries.push(Entry {
            secret: Arc::new(Secret::from_payload(
                entry.uid,
                entry.folder_id,
                entry.revision,
                payload,
            )),
            fetched_at: Timestamp::from_unix_millis(entry.fetched_at),
            etag: entry.etag,
        });
    }

    let mut folder_ids = HashSet::with_capacity(plain.folders.len());
    let mut folders = Vec::with_capacity(plain.folders.len());
    for folder in plain.folders {
        if !folder_ids.insert(folder.folder_id) {
            return Err(malformed("a folder appears twice"));
        }
        folders.push(FolderInfo {
            folder_id: folder.folder_id,
            parent_id: folder.parent_id,
            name: folder.name,
            access: folder.access,
        });
    }

    let listing = match plain.listing {
        Some(listing) => {
            let mut listed = HashSet::with_capacity(listing.records.len());
            let mut records = Vec::with_capacity(listing.records.len());
            for record in listing.records {
                if !listed.insert(record.uid) {
                    return Err(malformed("a listed record appears twice"));
                }
                records.push(ListedRecord::new(
                    record.uid,
                    record.folder_id,
                    record.title,
                ));
            }
            Some(Listing::new(
                Timestamp::from_unix_millis(listing.listed_at),
                records,
            ))
        }
        None => None,
    };

    let mut filters = HashSet::with_capacity(plain.sync_tokens.len());
    let mut sync_tokens = Vec::with_capacity(plain.sync_tokens.len());
    for sync in plain.sync_tokens {
        if !filters.insert(sync.folder_id) {
            return Err(malformed("a listing filter has two sync tokens"));
        }
        if sync.token.is_empty() {
            return Err(malformed("a sync token is empty"));
        }
        sync_tokens.push(SyncToken::new(
            sync.folder_id,
            sync.token,
            Timestamp::from_unix_millis(sync.synced_at),
        ));
    }

    Ok(Snapshot {
        written_at: Timestamp::from_unix_millis(plain.written_at),
        entries,
        folders,
        listing,
        sync_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use rand_core::SeedableRng;

    const SERVER: &str = "https://vault.example.com";

    fn key() -> ClientKey {
        ClientKey::from_scalar_bytes(&[7; 32]).unwrap()
    }

    fn sample() -> Snapshot {
        let uid: RecordUid = "7Kj9mNpQ2xRs".parse().unwrap();
        let folder = Uuid::from_u128(0xf0);
        let mut payload = RecordPayload::new("Database");
        payload.fields.set("username", "orders_app");
        payload.fields.set("password", "p\"ss\\w\u{f6}rd\n");
        payload.notes = "rotated weekly".into();
        let mut snapshot = Snapshot::new(Timestamp::from_unix_millis(1_767_225_600_500));
        snapshot.entries.push(Entry::new(
            Arc::new(Secret::from_payload(uid, folder, 3, payload)),
            Timestamp::from_unix_millis(1_767_225_590_000),
            Some("\"r3\"".into()),
        ));
        snapshot.folders.push(FolderInfo {
            folder_id: folder,
            parent_id: None,
            name: "Production".into(),
            access: Access::ReadWrite,
        });
        snapshot.listing = Some(Listing::new(
            Timestamp::from_unix_millis(1_767_225_580_000),
            vec![ListedRecord::new(uid, folder, "Database")],
        ));
        snapshot.sync_tokens.push(SyncToken::new(
            None,
            "opaque-token",
            Timestamp::from_unix_millis(1_767_225_580_000),
        ));
        snapshot
    }

    #[test]
    fn a_snapshot_round_trips_with_every_part() {
        let key = key();
        let binding = Binding::new(&key, SERVER, Uuid::from_u128(1)).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let sealed = seal(&sample(), &binding, &mut rng);
        assert_eq!(&sealed[..7], b"SYVSNAP");
        assert_eq!(sealed[7], 1);
        assert_eq!(open(&sealed, &binding).unwrap(), sample());
        // A fresh salt and nonce each time.
        assert_ne!(seal(&sample(), &binding, &mut rng), sealed);
    }

    #[test]
    fn the_server_url_counts_in_its_canonical_form() {
        let key = key();
        let sealed = seal_with(
            &sample(),
            &Binding::new(&key, "HTTPS://Vault.Example.com:443/", Uuid::from_u128(1)).unwrap(),
            [1; 32],
            [2; 12],
        );
        let same = Binding::new(&key, SERVER, Uuid::from_u128(1)).unwrap();
        assert!(open(&sealed, &same).is_ok());
    }

    #[test]
    fn another_client_server_key_or_version_is_refused() {
        let key = key();
        let binding = Binding::new(&key, SERVER, Uuid::from_u128(1)).unwrap();
        let sealed = seal_with(&sample(), &binding, [1; 32], [2; 12]);
        let other_key = ClientKey::from_scalar_bytes(&[8; 32]).unwrap();
        for other in [
            Binding::new(&key, SERVER, Uuid::from_u128(2)).unwrap(),
            Binding::new(&key, "https://other.example.com", Uuid::from_u128(1)).unwrap(),
            Binding::new(&other_key, SERVER, Uuid::from_u128(1)).unwrap(),
        ] {
            assert_eq!(
                open(&sealed, &other),
                Err(SnapshotError::Refused),
                "{other:?}"
            );
        }
        let mut newer = sealed.clone();
        newer[7] = 2;
        assert_eq!(
            open(&newer, &binding),
            Err(SnapshotError::UnsupportedVersion { version: 2 })
        );
    }

    #[test]
    fn every_flipped_bit_and_every_cut_is_refused() {
        let key = key();
        let binding = Binding::new(&key, SERVER, Uuid::from_u128(1)).unwrap();
        let sealed = seal_with(&Snapshot::new(Timestamp::EPOCH), &binding, [1; 32], [2; 12]);
        for byte in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[byte] ^= 1 << bit;
                assert!(open(&bad, &binding).is_err(), "byte {byte} bit {bit}");
            }
        }
        for len in 0..sealed.len() {
            let error = open(&sealed[..len], &binding).unwrap_err();
            let expected = if len == 0 {
                SnapshotError::NotASnapshot
            } else if len < 8 + 32 + 28 {
                SnapshotError::Truncated
            } else {
                SnapshotError::Refused
            };
            assert_eq!(error, expected, "{len} bytes");
        }
        assert_eq!(open(b"{}", &binding), Err(SnapshotError::NotASnapshot));
    }

    #[test]
    fn plaintexts_are_read_strictly() {
        for (json, reason) in [
            ("[]", "not a JSON object"),
            (r#"{"written_at":1}"#, "not the snapshot's JSON"),
            (
                r#"{"written_at":1,"entries":[],"folders":[],"listing":null,"sync_tokens":[],"more":1}"#,
                "not the snapshot's JSON",
            ),
            (
                r#"{"written_at":1,"entries":[],"folders":[],"listing":null,"sync_tokens":[{"folder_id":null,"token":"","synced_at":1}]}"#,
                "a sync token is empty",
            ),
            (
                r#"{"written_at":1,"entries":[],"folders":[],"listing":null,"sync_tokens":[{"folder_id":null,"token":"a","synced_at":1},{"folder_id":null,"token":"b","synced_at":1}]}"#,
                "a listing filter has two sync tokens",
            ),
            (
                r#"{"written_at":1,"entries":[{"uid":"7Kj9mNpQ2xRs","folder_id":"00000000-0000-0000-0000-000000000001","revision":1,"fetched_at":1,"etag":"\"a\nb\"","payload":{"title":"t"}}],"folders":[],"listing":null,"sync_tokens":[]}"#,
                "an ETag is not a header value",
            ),
            (
                r#"{"written_at":1,"entries":[{"uid":"7Kj9mNpQ2xRs","folder_id":"00000000-0000-0000-0000-000000000001","revision":1,"fetched_at":1,"etag":null,"payload":["t"]}],"folders":[],"listing":null,"sync_tokens":[]}"#,
                "an entry's payload is not an object",
            ),
            (
                r#"{"written_at":1,"entries":[{"uid":"7Kj9mNpQ2xRs","folder_id":"00000000-0000-0000-0000-000000000001","revision":1,"fetched_at":1,"etag":null,"payload":{"title":"t","fields":{"a":1}}}],"folders":[],"listing":null,"sync_tokens":[]}"#,
                "an entry's payload is not a record payload",
            ),
        ] {
            assert_eq!(
                from_json(json.as_bytes()),
                Err(SnapshotError::Malformed { reason }),
                "{json}"
            );
        }
        let twice = r#"{"written_at":1,"entries":[{"uid":"7Kj9mNpQ2xRs","folder_id":"00000000-0000-0000-0000-000000000001","revision":1,"fetched_at":1,"etag":null,"payload":{"title":"t"}},{"uid":"7Kj9mNpQ2xRs","folder_id":"00000000-0000-0000-0000-000000000001","revision":1,"fetched_at":1,"etag":null,"payload":{"title":"t"}}],"folders":[],"listing":null,"sync_tokens":[]}"#;
        assert_eq!(
            from_json(twice.as_bytes()),
            Err(SnapshotError::Malformed {
                reason: "an entry's UID appears twice"
            })
        );
    }

    #[test]
    fn a_job_seals_what_seal_would() {
        let key = key();
        let binding = Binding::new(&key, SERVER, Uuid::from_u128(1)).unwrap();
        let job = SnapshotJob::new(sample(), &binding, &mut ChaCha20Rng::seed_from_u64(4));
        let sealed = job.seal(&mut ChaCha20Rng::seed_from_u64(5));
        assert_eq!(open(&sealed, &binding).unwrap(), sample());
        assert!(!format!("{job:?}").contains("orders_app"));
    }

    #[test]
    fn debug_shows_no_value_or_token() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("orders_app"), "{shown}");
        assert!(!shown.contains("opaque-token"), "{shown}");
        assert!(shown.contains("Database"));
    }
}
