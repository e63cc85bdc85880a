//! The notation index as the client keeps it: built from the last listing only when something
//! reads or changes it, so that a listing alone pays nothing for it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use super::NotationIndex;
use crate::folders::FolderStore;
use crate::model::Secret;
use crate::time::Timestamp;

/// The client's notation index, fresh until the listing it reflects is as old as the cache's
/// TTL.
#[derive(Debug, Default)]
pub(crate) struct ListedIndex {
    built: NotationIndex,
    /// The last listing, not indexed yet. Weak, so that the index never keeps alive a secret
    /// the cache has let go of (and zeroized).
    listed: Option<Vec<Weak<Secret>>>,
    /// Until when the index reflects a listing; `None` before the first listing.
    fresh_until: Option<Timestamp>,
}

impl ListedIndex {
    /// Forgets the index and the listing.
    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    /// Takes a complete listing as the index's content from now on, until `fresh_until`.
    pub(crate) fn replace(&mut self, secrets: &[Arc<Secret>], fresh_until: Timestamp) {
        self.listed = Some(secrets.iter().map(Arc::downgrade).collect());
        self.fresh_until = Some(fresh_until);
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
                self.fresh_until = None;
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

    /// Whether the index reflects a listing that is still fresh at `now`.
    pub(crate) fn is_fresh(&mut self, folders: &FolderStore, now: Timestamp) -> bool {
        let fresh = |until: Option<Timestamp>| until.is_some_and(|until| now < until);
        if !fresh(self.fresh_until) {
            return false;
        }
        // Building may find a listed secret evicted, which makes the index stale.
        self.get(folders);
        fresh(self.fresh_until)
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
