//! What the client holds of its listing of the vault: every record the last listing and the
//! deltas since gave it, the sync token to ask for what changed next, and the notation index,
//! built from them only when something reads or changes it, so that a listing alone pays
//! nothing for it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use core::time::Duration;

use super::NotationIndex;
use crate::expiry::{Expiry, Freshness, Spread};
use crate::folders::FolderStore;
use crate::model::Secret;
use crate::snapshot::{ListedRecord, Listing};
use crate::time::Timestamp;
use crate::uid::RecordUid;

/// The client's listing of the vault (without a folder filter, the only one it makes) and its
/// notation index, fresh for one (jittered) cache TTL after the listing or delta it reflects.
#[derive(Debug, Default)]
pub(crate) struct ListedIndex {
    built: NotationIndex,
    /// Whether `built` has yet to be built from `held`.
    unbuilt: bool,
    /// Every record visible as of the last listing, sorted by UID. Weak, so that it never keeps
    /// alive a secret the cache has let go of (and zeroized).
    held: Vec<(RecordUid, Weak<Secret>)>,
    /// The sync token of that listing, to ask for what changed since; `None` if the server gave
    /// none (or refused it).
    token: Option<String>,
    /// When the index expires, and is refreshed; `None` before the first listing.
    expiry: Option<Expiry>,
    /// Counts the listings, deltas and clears, for snapshots.
    changes: u64,
}

impl ListedIndex {
    /// Forgets the index, the listing and its token.
    pub(crate) fn clear(&mut self) {
        let changes = self.changes + 1;
        *self = Self::default();
        self.changes = changes;
    }

    /// Takes a complete listing as what the client holds from now on, with its token and this
    /// expiry; returns the UIDs held before that it no longer lists.
    pub(crate) fn replace(
        &mut self,
        secrets: &[Arc<Secret>],
        token: Option<String>,
        expiry: Expiry,
    ) -> Vec<RecordUid> {
        let mut held: Vec<(RecordUid, Weak<Secret>)> =
            secrets.iter().map(|s| (s.uid, Arc::downgrade(s))).collect();
        // Listings come in UID order; this only costs a pass then.
        held.sort_unstable_by_key(|(uid, _)| *uid);
        held.dedup_by_key(|(uid, _)| *uid);
        let mut gone = Vec::new();
        let mut listed = held.iter().map(|(uid, _)| uid).peekable();
        for (uid, _) in &self.held {
            while listed.next_if(|l| *l < uid).is_some() {}
            if listed.peek() != Some(&uid) {
                gone.push(*uid);
            }
        }
        self.held = held;
        self.unbuilt = true;
        self.token = token;
        self.expiry = Some(expiry);
        self.changes += 1;
        gone
    }

    /// Applies a complete delta: stores each changed record, forgets each deleted UID, and
    /// takes its token and this expiry.
    pub(crate) fn apply(
        &mut self,
        changed: &[Arc<Secret>],
        deleted: &[RecordUid],
        token: Option<String>,
        expiry: Expiry,
    ) {
        if !self.unbuilt {
            for uid in deleted {
                self.built.remove_record(uid);
            }
            for secret in changed {
                self.built
                    .insert_record_in(secret.uid, &secret.folder_id, &secret.title);
            }
        }
        let mut edits: Vec<(RecordUid, Option<Weak<Secret>>)> = changed
            .iter()
            .map(|s| (s.uid, Some(Arc::downgrade(s))))
            .chain(deleted.iter().map(|uid| (*uid, None)))
            .collect();
        edits.sort_unstable_by_key(|(uid, _)| *uid);
        let old = std::mem::take(&mut self.held);
        let mut held = Vec::with_capacity(old.len() + changed.len());
        let mut old = old.into_iter().peekable();
        for (uid, edit) in edits {
            while let Some(kept) = old.next_if(|(held, _)| *held < uid) {
                held.push(kept);
            }
            old.next_if(|(held, _)| *held == uid);
            if let Some(secret) = edit {
                held.push((uid, secret));
            }
        }
        held.extend(old);
        held.dedup_by_key(|(uid, _)| *uid);
        self.held = held;
        self.token = token;
        self.expiry = Some(expiry);
        self.changes += 1;
    }

    /// Takes the index a snapshot kept, with the expiry of its listing. `held` are the records
    /// whose secrets the snapshot restored; the sync token is kept only if they are all of the
    /// listing, since a delta is applied to what is held.
    pub(crate) fn restore(
        &mut self,
        index: NotationIndex,
        mut held: Vec<(RecordUid, Weak<Secret>)>,
        token: Option<String>,
        expiry: Expiry,
    ) {
        held.sort_unstable_by_key(|(uid, _)| *uid);
        self.token = token.filter(|_| held.len() == index.record_count());
        self.built = index;
        self.unbuilt = false;
        self.held = held;
        self.expiry = Some(expiry);
        self.changes += 1;
    }

    /// How many listings, deltas and clears there have been.
    pub(crate) fn changes(&self) -> u64 {
        self.changes
    }

    /// What a snapshot keeps of the index: when its listing (or the last delta) was taken, and
    /// every record it knows, sorted by UID. `None` without a usable listing.
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
        records.sort_unstable_by_key(|record| record.uid);
        Some(Listing::new(listed_at, records))
    }

    /// Takes a record read by UID in place of the copy held, if one is: the listing then still
    /// holds every record, at its newest revision.
    pub(crate) fn update(&mut self, secret: &Arc<Secret>) {
        if let Ok(at) = self.held.binary_search_by_key(&secret.uid, |(uid, _)| *uid) {
            self.held[at].1 = Arc::downgrade(secret);
        }
    }

    /// Forgets a record the server says is gone or forbidden.
    pub(crate) fn forget(&mut self, uid: &RecordUid) {
        if let Ok(at) = self.held.binary_search_by_key(uid, |(held, _)| *held) {
            self.held.remove(at);
        }
    }

    /// Whether the listing holds `uid` and can be asked for what changed since (a sync token):
    /// then a delta revalidates the record along with every other one held.
    pub(crate) fn syncs(&self, uid: &RecordUid) -> bool {
        self.token.is_some()
            && self
                .held
                .binary_search_by_key(uid, |(held, _)| *held)
                .is_ok()
    }

    /// Asks for a refresh of the index at `now`, unless one is out: whether it was asked.
    pub(crate) fn ask(&mut self, now: Timestamp) -> bool {
        match &mut self.expiry {
            Some(expiry) if !expiry.wished_at(now) => {
                expiry.wished(now);
                true
            }
            _ => false,
        }
    }

    /// When the index expires and is retried.
    pub(crate) fn expiry(&self) -> Option<&Expiry> {
        self.expiry.as_ref()
    }

    /// The records held, by UID.
    pub(crate) fn held(&self) -> &[(RecordUid, Weak<Secret>)] {
        &self.held
    }

    /// Every record held, if the cache still has each of them; `None` if one was evicted.
    pub(crate) fn secrets(&self) -> Option<Vec<Arc<Secret>>> {
        self.held
            .iter()
            .map(|(_, secret)| secret.upgrade())
            .collect()
    }

    /// The sync token to list with.
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Forgets the sync token: the next listing is a full one.
    pub(crate) fn forget_token(&mut self) {
        self.token = None;
    }

    /// Whether the index reflects a listing (however old).
    pub(crate) fn is_held(&self) -> bool {
        self.expiry.is_some()
    }

    /// The index, built first from the records held if it has not been yet.
    pub(crate) fn get(&mut self, folders: &FolderStore) -> &mut NotationIndex {
        if std::mem::take(&mut self.unbuilt) {
            if let Some(index) = build(folders, &self.held) {
                self.built = index;
            } else {
                // A listed secret is gone from the cache (evicted), and with it what the index
                // needs to know about it: the next resolution lists again, in full.
                self.built = build(folders, &[]).unwrap_or_default();
                self.expiry = None;
                self.token = None;
            }
        }
        &mut self.built
    }

    /// Brings newly loaded folders into the index. A listing not indexed yet takes the folders
    /// as they are when it is.
    pub(crate) fn folders_loaded(&mut self, folders: &FolderStore) {
        if !self.unbuilt {
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
fn build(folders: &FolderStore, listed: &[(RecordUid, Weak<Secret>)]) -> Option<NotationIndex> {
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
    for (_, secret) in listed {
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
