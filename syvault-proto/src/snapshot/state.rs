//! What a client keeps about its snapshot: when the next one is due, and taking one or
//! restoring from one.

use core::time::Duration;
use std::sync::Arc;

use super::{Binding, Entry, Restored, Snapshot, SnapshotError, SnapshotJob, SyncToken};
use crate::client::Client;
use crate::config::ClientConfig;
use crate::expiry::Expiry;
use crate::folders::FolderInfo;
use crate::notation::NotationIndex;
use crate::time::Timestamp;

/// When the client's snapshot is written.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    /// Whether the client keeps a snapshot at all.
    enabled: bool,
    /// How long after a change the snapshot is written, and the least time between two.
    debounce: Duration,
    /// The state's generation the last snapshot taken (or restored) recorded; `None` before any,
    /// and after a write failed.
    written: Option<u64>,
    /// When a change not yet written was first seen.
    dirty_since: Option<Timestamp>,
    /// When the last snapshot was taken.
    last_taken: Option<Timestamp>,
    /// A writer is scheduled: no other one is asked for until it takes its snapshot.
    scheduled: bool,
    /// When the snapshot on disk was taken: the last one written, or the one restored.
    on_disk: Option<Timestamp>,
    /// The folders a restored snapshot described, kept while the folders are not loaded.
    folders: Vec<FolderInfo>,
}

impl Schedule {
    pub(crate) fn new(config: &ClientConfig) -> Self {
        Self {
            enabled: config.snapshot_file.is_some(),
            debounce: config.snapshot_debounce,
            // A new client has nothing to record until its state changes.
            written: Some(0),
            ..Self::default()
        }
    }

    /// Forgets the folders a snapshot described (the client forgot everything).
    pub(crate) fn reset(&mut self) {
        self.folders.clear();
        self.written = None;
    }
}

impl Client {
    /// Everything a snapshot records changes this number.
    fn generation(&self) -> u64 {
        self.cache.changes().wrapping_add(self.index.changes())
    }

    fn binding(&self) -> Result<Binding<'_>, SnapshotError> {
        let identity = self
            .session
            .identity
            .as_ref()
            .ok_or(SnapshotError::NoIdentity)?;
        Binding::new(
            &identity.key,
            &self.session.server.audience,
            identity.client_id,
        )
        .map_err(|_| SnapshotError::NoIdentity)
    }

    /// Opens a snapshot this client wrote (the same key, server and client id) and takes what
    /// it holds: its cached secrets as entries that are only ever served stale, within
    /// `max_stale` of their original fetch, until the server confirms them (never after it
    /// answered 401, 403 or 404 for them); its notation index, likewise; its folder names.
    /// Entries fetched too long ago are left out, and a snapshot of which nothing is left is
    /// [`SnapshotError::TooOld`]. A secret already cached keeps what it has. Any error leaves
    /// the client as it was: drivers report it as a warning and go on without the snapshot.
    ///
    /// ```
    /// use std::time::Duration;
    /// use syvault_proto::{Client, Timestamp, keys::ClientKey};
    ///
    /// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
    /// let secret = ClientKey::generate(&mut rng).to_client_secret();
    /// let build = || {
    ///     Client::builder()
    ///         .server("https://vault.example.com")
    ///         .client_id(uuid::Uuid::from_u128(1))
    ///         .client_secret(secret.clone())
    ///         .max_stale(Duration::from_secs(3600))
    ///         .snapshot("snapshot.bin")
    ///         .build()
    /// };
    /// let now = Timestamp::from_unix_secs(1_700_000_000);
    /// let mut client = build()?;
    /// let bytes = client.take_snapshot(now, &mut rng)?.seal(&mut rng);
    /// let mut restarted = build()?;
    /// let restored = restarted.restore_snapshot(&bytes, now + Duration::from_secs(5))?;
    /// assert_eq!(restored.entries, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn restore_snapshot(
        &mut self,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<Restored, SnapshotError> {
        let snapshot = super::open(bytes, &self.binding()?)?;
        let policy = *self.cache.policy();
        let window = policy.ttl + policy.max_stale.unwrap_or_default();
        let servable = |at: Timestamp| now < at + window;
        let held = !snapshot.entries.is_empty() || snapshot.listing.is_some();
        let entries: Vec<Entry> = snapshot.entries;
        let (keep, old): (Vec<Entry>, Vec<Entry>) =
            entries.into_iter().partition(|e| servable(e.fetched_at));
        let listing = snapshot
            .listing
            .filter(|l| servable(l.listed_at) && !self.index.is_held());
        if held && keep.is_empty() && listing.is_none() {
            return Err(SnapshotError::TooOld);
        }
        let restored = Restored {
            written_at: snapshot.written_at,
            entries: keep.len(),
            expired: old.len(),
            listing: listing.is_some(),
        };
        for entry in keep {
            self.cache
                .restore(entry.secret, entry.etag, entry.fetched_at, now);
        }
        if let Some(listing) = listing {
            let held = listing
                .records
                .iter()
                .filter_map(|r| Some((r.uid, Arc::downgrade(self.cache.get_any(&r.uid)?))))
                .collect();
            let token = snapshot
                .sync_tokens
                .into_iter()
                .find(|t| t.folder_id.is_none())
                .map(|t| t.token);
            let mut index = NotationIndex::with_capacity(listing.records.len());
            for folder in &snapshot.folders {
                index.insert_folder(
                    &folder.folder_id.to_string(),
                    folder.parent_id.map(|p| p.to_string()).as_deref(),
                    &folder.name,
                );
            }
            for record in &listing.records {
                index.insert_record_in(record.uid, &record.folder_id, &record.title);
            }
            self.index.restore(
                index,
                held,
                token,
                Expiry::restored(listing.listed_at, now, &policy),
            );
        }
        if !self.folders.is_loaded() {
            self.snapshots.folders = snapshot.folders;
        }
        // What was restored is what is on disk: nothing to write until it changes.
        self.snapshots.written = Some(self.generation());
        self.snapshots.on_disk = Some(snapshot.written_at);
        crate::trace::event!(
            debug,
            entries = restored.entries,
            expired = restored.expired,
            listing = restored.listing,
            "restored a snapshot"
        );
        Ok(restored)
    }

    /// When the driver should write the next snapshot: `Some` once per change not yet
    /// written (the driver then schedules one writer, which calls [`Client::take_snapshot`] at
    /// that time), `None` when nothing changed, a writer is already scheduled, or the client
    /// keeps no snapshot. Cheap: drivers ask after every operation.
    pub fn snapshot_due(&mut self, now: Timestamp) -> Option<Timestamp> {
        let schedule = &self.snapshots;
        if !schedule.enabled || schedule.scheduled {
            return None;
        }
        let generation = self.generation();
        let schedule = &mut self.snapshots;
        if schedule.written == Some(generation) {
            return None;
        }
        let since = *schedule.dirty_since.get_or_insert(now);
        let mut at = since + schedule.debounce;
        if let Some(last) = schedule.last_taken {
            at = at.max(last + schedule.debounce);
        }
        schedule.scheduled = true;
        Some(at)
    }

    /// The snapshot of the client's state now (its cache, notation index and folder names),
    /// with its key derived for this client, to seal and write away from the client's lock.
    /// It counts as written until the driver says otherwise with
    /// [`Client::snapshot_written`]. Drivers also call it to write a last snapshot when they
    /// close.
    pub fn take_snapshot(
        &mut self,
        now: Timestamp,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<SnapshotJob, SnapshotError> {
        let generation = self.generation();
        let entries = self
            .cache
            .entries()
            .map(|(secret, fetched_at, etag)| {
                Entry::new(Arc::clone(secret), fetched_at, etag.map(str::to_owned))
            })
            .collect();
        let folders = if self.folders.is_loaded() {
            self.folders()
        } else {
            self.snapshots.folders.clone()
        };
        let listing = self.index.listing(&self.folders);
        let mut snapshot = Snapshot::new(now);
        snapshot.entries = entries;
        snapshot.folders = folders;
        // The client lists without a folder filter only, so it has one token at most.
        if let (Some(token), Some(listing)) = (self.index.token(), &listing) {
            snapshot.sync_tokens = vec![SyncToken::new(None, token, listing.listed_at)];
        }
        snapshot.listing = listing;
        let job = SnapshotJob::new(snapshot, &self.binding()?, rng);
        let schedule = &mut self.snapshots;
        schedule.scheduled = false;
        schedule.written = Some(generation);
        schedule.dirty_since = None;
        schedule.last_taken = Some(now);
        Ok(job)
    }

    /// Tells the client whether writing the snapshot taken at `taken_at` succeeded; after a
    /// failure the next one is due a debounce after that snapshot was taken. A driver that
    /// could not start the writer [`Client::snapshot_due`] asked for says so too (`written`
    /// false), so that the next operation asks again.
    pub fn snapshot_written(&mut self, taken_at: Timestamp, written: bool) {
        if written {
            self.snapshots.on_disk = Some(
                self.snapshots
                    .on_disk
                    .map_or(taken_at, |at| at.max(taken_at)),
            );
        } else {
            self.snapshots.written = None;
            self.snapshots.scheduled = false;
        }
    }

    /// When the snapshot on disk was taken: the last one written, or the one restored. `None`
    /// before either, and for a client that keeps none.
    pub fn snapshot_taken_at(&self) -> Option<Timestamp> {
        self.snapshots.on_disk
    }
}
