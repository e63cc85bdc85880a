//! The notation index as the client keeps it: built from the last listing only when something
//! reads or changes it, so that a listing alone pays nothing for it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use core::time::Duration;

use super::NotationIndex;
use crate::expiry::{Expiry, Freshness, Spread};
use crate::folders::FolderStore;
use crate::model::Secret;
use crate::snapshot::{ListedRecord, Listing};
use crate::time::Timestamp;

/// The client's notation index, fresh for one (jittered) cache TTL after the listing it
/// reflects.
#[derive(Debug, Default)]
pub(crate) struct ListedIndex {
    built: NotationIndex,
    /// The last listing, not indexed yet. Weak, so that the index never keeps alive a secret
    /// the cache has let go of (and zeroized).
    listed: Option<Vec<Weak<Secret>>>,
    /// When the index expires, and is refreshed; `None` before the first listing.
    expiry: Option<Expiry>,
    /// Counts the listings taken and the clears, for snapshots.
    changes: u64,
}

impl ListedIndex {
    /// Forgets the index and the listing.
    pub(crate) fn clear(&mut self) {
        let changes = self.changes + 1;
        *self = Self::default();
        self.changes = changes;
    }

    /// Takes a complete listing as the index's content from now on, with this expiry.
    pub(crate) fn replace(&mut self, secrets: &[Arc<Secret>], expiry: Expiry) {
        self.listed = Some(secrets.iter().map(Arc::downgrade).collect());
        self.expiry = Some(expiry);
        self.changes += 1;
    }

    /// Takes an index a snapshot kept, with the expiry of its listing.
    pub(crate) fn restore(&mut self, index: NotationIndex, expiry: Expiry) {
        self.built = index;
        self.listed = None;
        self.expiry = Some(expiry);
        self.changes += 1;
    }

    /// How many listings and clears there have been.
    pub(crate) fn changes(&self) -> u64 {
        self.changes
    }

    /// What a snapshot keeps of the index: when its listing was taken, and every record it
    /// knows, sorted by UID. `None` without a usable listing.
    pub(crate) fn listing(&mut self, folders: &FolderStore) -> Option<Listing> {
        let listed_at = self.expiry?.stored_at();
        self.get(folders);
        self.expiry?;
        let mut records: Vec<ListedRecord> = self
            .built
            .records()
            .filter_map(|(uid, folder_id, title)| {
                Some(ListedRecord::new(uid, folder_id.parse().ok()?, title))
            })
            .collect();
        records.sort_by_key(|record| record.uid);
        Some(Listing::new(listed_at, records))
    }

    /// Whether the index reflects a listing (however old).
    pub(crate) fn is_held(&self) -> bool {
        self.expiry.is_some()
    }

    /// The index, built first from the last listing if it has not been yet.
    pub(crate) fn get(&mut self, folders: &FolderStore) -> &mut NotationIndex {
        if let Some(listed) = self.listed.take() {
            if let Some(index) = build(folders, &listed) {
                self.built = index;
            } else {
                // A listed secret is gone from the cache (evicted), and with it what the index
                // needs to know about it: the next resolution lists again.
                self.built = build(folders, &[]).unwrap_or_default();
                self.expiry = None;
            }
        }
        &mut self.built
    }

    /// Brings newly loaded folders into the index. A listing not indexed yet takes the folders
    /// as they are when it is.
    pub(crate) fn folders_loaded(&mut self, folders: &FolderStore) {
        if self.listed.is_none() {
            insert_folders(&mut self.built, folders);
        }
    }

    /// Whether the index may be used at `now`, and whether it wants a background refresh (then
    /// marked as asked for). See [`Expiry::freshness`].
    pub(crate) fn freshness(
        &mut self,
        folders: &FolderStore,
        now: Timestamp,
        max_stale: Option<Duration>,
        can_wish: bool,
    ) -> Freshness {
        let Some(expiry) = &self.expiry else {
            return Freshness::Expired;
        };
        let freshness = expiry.freshness(now, max_stale, can_wish);
        if freshness == Freshness::Expired {
            return freshness;
        }
        // Building may find a listed secret evicted, which makes the index unusable.
        self.get(folders);
        let Some(expiry) = &mut self.expiry else {
            return Freshness::Expired;
        };
        if matches!(freshness, Freshness::Refresh | Freshness::Retry) {
            expiry.wished(now);
        }
        freshness
    }

    /// Whether a refresh of the index failed and it may still be served stale at `now`: the
    /// next listing is a retry, sent once.
    pub(crate) fn retrying(&self, now: Timestamp, max_stale: Option<Duration>) -> bool {
        self.expiry
            .is_some_and(|e| e.retrying() && e.stale_allowed(now, max_stale))
    }

    /// Whether the index may still be served stale at `now`.
    pub(crate) fn stale_allowed(&self, now: Timestamp, max_stale: Option<Duration>) -> bool {
        self.expiry
            .is_some_and(|expiry| expiry.stale_allowed(now, max_stale))
    }

    /// Notes that refreshing the index failed at `now` because the server could not answer.
    pub(crate) fn failed(&mut self, now: Timestamp, ttl: Duration, spread: &mut Spread) {
        if let Some(expiry) = &mut self.expiry {
            expiry.failed(now, ttl, spread);
        }
    }

    /// Notes that the background refresh asked for ended without a result.
    pub(crate) fn released(&mut self) {
        if let Some(expiry) = &mut self.expiry {
            expiry.released();
        }
    }
}

/// The index of the folders and of the listed secrets; `None` if one of them is gone.
fn build(folders: &FolderStore, listed: &[Weak<Secret>]) -> Option<NotationIndex> {
    let mut index = NotationIndex::with_capacity(listed.len());
    insert_folders(&mut index, folders);
    // Each folder's id is spelt once; its records share the index's copy.
    let folder_ids: HashMap<uuid::Uuid, Arc<str>> = folders
        .iter()
        .filter_map(|f| {
            let id = index.shared_folder_id(&f.folder_id.to_string())?;
            Some((f.folder_id, id))
        })
        .collect();
    for secret in listed {
        let secret = secret.upgrade()?;
        match folder_ids.get(&secret.folder_id) {
            Some(id) => index.insert_record_shared(secret.uid, Arc::clone(id), &secret.title),
            None => index.insert_record_in(secret.uid, &secret.folder_id, &secret.title),
        }
    }
    Some(index)
}

fn insert_folders(index: &mut NotationIndex, folders: &FolderStore) {
    for folder in folders.iter() {
        index.insert_folder(
            &folder.folder_id.to_string(),
            folder.parent_id.map(|p| p.to_string()).as_deref(),
            &folder.name,
        );
    }
}
