//! Resolution of record references against the folder names and record titles a client has
//! decrypted.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use super::{NotationError, RecordRef, Selector};
use crate::hashing::{UidHasher, UidMap};
use crate::uid::RecordUid;

/// The folder names and record titles a client knows, for resolving [`RecordRef`]s.
///
/// Folders form a tree through their parent ids. A folder's path is the chain of names from its
/// topmost *known* ancestor (one whose parent is `None` or not in the index) down to the folder
/// itself, so a folder shared without its parent starts a path of its own. Folders caught in a
/// cycle of parent links, which only malformed data produces, have no path and match nothing.
///
/// Folders are indexed by name and records by title, so resolving a reference costs a few hash
/// lookups and a walk up the named folder path, however many records the index holds.
///
/// ```
/// use syvault_proto::RecordUid;
/// use syvault_proto::notation::{NotationIndex, Reference};
///
/// let uid: RecordUid = "7Kj9mNpQ2xRs".parse()?;
/// let mut index = NotationIndex::new();
/// index.insert_folder("f1", None, "Production");
/// index.insert_record(uid, "f1", "Database");
/// let reference: Reference = "sy://Production/Database/field/password".parse()?;
/// assert_eq!(index.resolve(&reference.record)?, uid);
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct NotationIndex {
    folders: HashMap<Arc<str>, Folder>,
    /// Folder ids by folder name.
    folders_by_name: HashMap<String, Vec<Arc<str>>>,
    /// Record titles by UID.
    records: UidMap<Arc<str>>,
    /// Record UIDs by title, each with its folder id.
    records_by_title: HashMap<Arc<str>, Vec<(RecordUid, Arc<str>)>>,
    /// References already resolved against exactly this content, by their text: emptied by
    /// every change, so an answer from it is the one `resolve` would give.
    resolved: HashMap<Box<str>, (RecordUid, Arc<Selector>)>,
}

/// The most resolved references remembered; beyond it they are forgotten all at once.
const MAX_RESOLVED: usize = 4096;

#[derive(Clone, Debug)]
struct Folder {
    parent_id: Option<String>,
    name: String,
}

impl NotationIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a folder, or replaces the one with the same id.
    pub fn insert_folder(&mut self, folder_id: &str, parent_id: Option<&str>, name: &str) {
        let id: Arc<str> = match self.folders.get_key_value(folder_id) {
            Some((id, _)) => Arc::clone(id),
            None => Arc::from(folder_id),
        };
        let folder = Folder {
            parent_id: parent_id.map(str::to_owned),
            name: name.to_owned(),
        };
        self.resolved.clear();
        if let Some(old) = self.folders.insert(Arc::clone(&id), folder)
            && let Some(named) = self.folders_by_name.get_mut(old.name.as_str())
        {
            named.retain(|f| *f != id);
            if named.is_empty() {
                self.folders_by_name.remove(old.name.as_str());
            }
        }
        self.folders_by_name
            .entry(name.to_owned())
            .or_default()
            .push(id);
    }

    /// Adds a record, or replaces the one with the same UID (after a rename or a move).
    ///
    /// The folder need not be known: such a record is still found by UID or lone title.
    pub fn insert_record(&mut self, uid: RecordUid, folder_id: &str, title: &str) {
        let folder_id = match self.folders.get_key_value(folder_id) {
            Some((id, _)) => Arc::clone(id),
            None => Arc::from(folder_id),
        };
        self.insert_record_shared(uid, folder_id, title);
    }

    /// The index's own copy of a known folder's id, to share with the records inserted in it.
    pub(crate) fn shared_folder_id(&self, folder_id: &str) -> Option<Arc<str>> {
        self.folders
            .get_key_value(folder_id)
            .map(|(id, _)| Arc::clone(id))
    }

    /// [`NotationIndex::insert_record`] with the folder id already shared.
    pub(crate) fn insert_record_shared(
        &mut self,
        uid: RecordUid,
        folder_id: Arc<str>,
        title: &str,
    ) {
        if let Some(known) = self.records.get(&uid) {
            if **known == *title
                && let Some(entry) = self
                    .records_by_title
                    .get_mut(title)
                    .and_then(|titled| titled.iter_mut().find(|(u, _)| *u == uid))
            {
                // Same title: at most the folder changed.
                if entry.1 != folder_id {
                    entry.1 = folder_id;
                    self.resolved.clear();
                }
                return;
            }
            self.remove_record(&uid);
        }
        self.resolved.clear();
        // One lookup by title; the new title's allocation is only wasted when it is known.
        let title = match self.records_by_title.entry(Arc::from(title)) {
            Entry::Occupied(mut titled) => {
                titled.get_mut().push((uid, folder_id));
                Arc::clone(titled.key())
            }
            Entry::Vacant(titled) => {
                let title = Arc::clone(titled.key());
                titled.insert(vec![(uid, folder_id)]);
                title
            }
        };
        self.records.insert(uid, title);
    }

    /// An empty index with room for `records` records.
    pub(crate) fn with_capacity(records: usize) -> Self {
        Self {
            records: UidMap::with_capacity_and_hasher(records, UidHasher::default()),
            records_by_title: HashMap::with_capacity(records),
            ..Self::default()
        }
    }

    /// [`NotationIndex::insert_record`] with the folder id as the SDK holds it, spelt without
    /// allocating.
    pub(crate) fn insert_record_in(&mut self, uid: RecordUid, folder_id: &uuid::Uuid, title: &str) {
        let mut buffer = uuid::Uuid::encode_buffer();
        let folder_id = folder_id.hyphenated().encode_lower(&mut buffer);
        self.insert_record(uid, folder_id, title);
    }

    /// Every record: its UID, its folder's id and its title, in no particular order.
    pub(crate) fn records(&self) -> impl Iterator<Item = (RecordUid, &str, &str)> {
        self.records_by_title.iter().flat_map(|(title, titled)| {
            titled
                .iter()
                .map(move |(uid, folder_id)| (*uid, &**folder_id, &**title))
        })
    }

    /// Forgets a record; nothing happens if it is not there.
    pub fn remove_record(&mut self, uid: &RecordUid) {
        if let Some(title) = self.records.remove(uid)
            && let Some(titled) = self.records_by_title.get_mut(&*title)
        {
            self.resolved.clear();
            titled.retain(|(u, _)| u != uid);
            if titled.is_empty() {
                self.records_by_title.remove(&*title);
            }
        }
    }

    /// Whether a folder with this id is known.
    pub fn contains_folder(&self, folder_id: &str) -> bool {
        self.folders.contains_key(folder_id)
    }

    /// Whether a record with this UID is known.
    pub fn contains_record(&self, uid: &RecordUid) -> bool {
        self.records.contains_key(uid)
    }

    /// The number of records known.
    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// Whether the index knows neither folders nor records.
    pub fn is_empty(&self) -> bool {
        self.folders.is_empty() && self.records.is_empty()
    }

    /// The folder's path of names, as a [`RecordRef::Path`] spells it; `None` if the folder is
    /// unknown or its ancestors form a cycle.
    pub fn folder_path(&self, folder_id: &str) -> Option<Vec<String>> {
        let mut folder = self.folders.get(folder_id)?;
        let mut path = Vec::new();
        loop {
            path.push(folder.name.clone());
            let Some(parent) = self.parent_of(folder) else {
                break;
            };
            // A chain longer than the number of folders must revisit one of them.
            if path.len() >= self.folders.len() {
                return None;
            }
            folder = parent;
        }
        path.reverse();
        Some(path)
    }

    /// Finds the one record that `record` names.
    ///
    /// A path must match exactly one folder (else [`NotationError::FolderNotFound`] or
    /// [`NotationError::AmbiguousFolder`]) and then exactly one title in that folder. A lone
    /// segment is a UID when a known record has that UID, and a title looked up in every folder
    /// otherwise. Several matching records give [`NotationError::AmbiguousRecord`] with their
    /// UIDs sorted, none [`NotationError::RecordNotFound`].
    pub fn resolve(&self, record: &RecordRef) -> Result<RecordUid, NotationError> {
        match record {
            RecordRef::Path { folders, title } => {
                let named = folders
                    .last()
                    .and_then(|name| self.folders_by_name.get(name.as_str()))
                    .map_or(&[][..], Vec::as_slice);
                let mut candidates = named.iter().filter(|id| self.has_path(id, folders));
                match (candidates.next(), candidates.next()) {
                    (None, _) => Err(NotationError::FolderNotFound {
                        reference: record.to_string(),
                    }),
                    (Some(folder_id), None) => self.unique(record, title, |f| f == &**folder_id),
                    (Some(_), Some(_)) => {
                        let mut candidates: Vec<String> = named
                            .iter()
                            .filter(|id| self.has_path(id, folders))
                            .map(ToString::to_string)
                            .collect();
                        candidates.sort_unstable();
                        Err(NotationError::AmbiguousFolder {
                            reference: record.to_string(),
                            candidates,
                        })
                    }
                }
            }
            RecordRef::Lone(text) => {
                if let Ok(uid) = text.parse::<RecordUid>()
                    && self.records.contains_key(&uid)
                {
                    return Ok(uid);
                }
                self.unique(record, text, |_| true)
            }
        }
    }

    /// What the reference spelt `text` resolved to, if it was resolved since the index last
    /// changed.
    pub(crate) fn resolved(&self, text: &str) -> Option<(RecordUid, Arc<Selector>)> {
        self.resolved
            .get(text)
            .map(|(uid, selector)| (*uid, Arc::clone(selector)))
    }

    /// Remembers what the reference spelt `text` resolved to.
    pub(crate) fn remember_resolved(
        &mut self,
        text: &str,
        uid: RecordUid,
        selector: Arc<Selector>,
    ) {
        if self.resolved.len() >= MAX_RESOLVED {
            self.resolved.clear();
        }
        self.resolved.insert(text.into(), (uid, selector));
    }

    fn parent_of(&self, folder: &Folder) -> Option<&Folder> {
        folder
            .parent_id
            .as_deref()
            .and_then(|id| self.folders.get(id))
    }

    /// Whether the folder's path is exactly `path`. Walks up at most `path.len()` links, so a
    /// cycle cannot keep it going.
    fn has_path(&self, folder_id: &str, path: &[String]) -> bool {
        let mut folder = self.folders.get(folder_id);
        for (i, name) in path.iter().rev().enumerate() {
            let Some(current) = folder else {
                return false;
            };
            if current.name != *name {
                return false;
            }
            let parent = self.parent_of(current);
            if i + 1 == path.len() {
                // The path must start at the topmost known ancestor.
                return parent.is_none();
            }
            folder = parent;
        }
        // No folder has an empty path.
        false
    }

    /// The one record titled `title` whose folder id `in_folder` accepts.
    fn unique(
        &self,
        record: &RecordRef,
        title: &str,
        in_folder: impl Fn(&str) -> bool,
    ) -> Result<RecordUid, NotationError> {
        let titled = self
            .records_by_title
            .get(title)
            .map_or(&[][..], Vec::as_slice);
        let accepted = |(_, folder_id): &&(RecordUid, Arc<str>)| in_folder(folder_id);
        let mut found = titled.iter().filter(accepted);
        match (found.next(), found.next()) {
            (None, _) => Err(NotationError::RecordNotFound {
                reference: record.to_string(),
            }),
            (Some((uid, _)), None) => Ok(*uid),
            (Some(_), Some(_)) => {
                let mut candidates: Vec<RecordUid> = titled
                    .iter()
                    .filter(accepted)
                    .map(|(uid, _)| *uid)
                    .collect();
                candidates.sort_unstable();
                Err(NotationError::AmbiguousRecord {
                    reference: record.to_string(),
                    candidates,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(text: &str) -> RecordUid {
        text.parse().unwrap()
    }

    fn path(folders: &[&str], title: &str) -> RecordRef {
        RecordRef::Path {
            folders: folders.iter().map(|&f| f.to_owned()).collect(),
            title: title.to_owned(),
        }
    }

    fn lone(text: &str) -> RecordRef {
        RecordRef::Lone(text.to_owned())
    }

    /// Production (p) ⊃ Eu (pe), Staging (s), Archive (a) ⊃ Production (ap).
    fn sample() -> NotationIndex {
        let mut index = NotationIndex::new();
        index.insert_folder("p", None, "Production");
        index.insert_folder("pe", Some("p"), "Eu");
        index.insert_folder("s", None, "Staging");
        index.insert_folder("a", None, "Archive");
        index.insert_folder("ap", Some("a"), "Production");
        index.insert_record(uid("DBprod000001"), "p", "Database");
        index.insert_record(uid("DBprodEu0001"), "pe", "Database");
        index.insert_record(uid("DBstage00001"), "s", "Database");
        index.insert_record(uid("DBarch000001"), "ap", "Database");
        index.insert_record(uid("STRIPE000001"), "p", "Stripe API Key");
        index
    }

    #[test]
    fn a_path_matches_the_full_folder_path_only() {
        let index = sample();
        assert_eq!(
            index.resolve(&path(&["Production"], "Database")),
            Ok(uid("DBprod000001"))
        );
        assert_eq!(
            index.resolve(&path(&["Production", "Eu"], "Database")),
            Ok(uid("DBprodEu0001"))
        );
        assert_eq!(
            index.resolve(&path(&["Archive", "Production"], "Database")),
            Ok(uid("DBarch000001"))
        );
        // "Eu" alone is not a path: its folder has a known parent.
        assert_eq!(
            index
                .resolve(&path(&["Eu"], "Database"))
                .map_err(|e| e.kind()),
            Err("folder_not_found")
        );
    }

    #[test]
    fn missing_folder_and_missing_record_are_told_apart() {
        let index = sample();
        assert_eq!(
            index.resolve(&path(&["Nowhere", "x/y"], "Database")),
            Err(NotationError::FolderNotFound {
                reference: r"Nowhere/x\/y/Database".into()
            })
        );
        assert_eq!(
            index.resolve(&path(&["Staging"], "Stripe API Key")),
            Err(NotationError::RecordNotFound {
                reference: "Staging/Stripe API Key".into()
            })
        );
        assert_eq!(
            index.resolve(&lone("Nothing")),
            Err(NotationError::RecordNotFound {
                reference: "Nothing".into()
            })
        );
    }

    #[test]
    fn lone_uid_wins_over_a_title_and_falls_back_to_titles() {
        let mut index = sample();
        assert_eq!(
            index.resolve(&lone("STRIPE000001")),
            Ok(uid("STRIPE000001"))
        );
        assert_eq!(
            index.resolve(&lone("Stripe API Key")),
            Ok(uid("STRIPE000001"))
        );
        // A record titled like another record's UID is still shadowed by that UID.
        index.insert_record(uid("Shadow000001"), "s", "STRIPE000001");
        assert_eq!(
            index.resolve(&lone("STRIPE000001")),
            Ok(uid("STRIPE000001"))
        );
        // A UID-shaped title with no record of that UID is a title.
        index.insert_record(uid("Titled000001"), "s", "AAAAAAAAAAAA");
        assert_eq!(
            index.resolve(&lone("AAAAAAAAAAAA")),
            Ok(uid("Titled000001"))
        );
    }

    #[test]
    fn ambiguous_titles_list_sorted_uids() {
        let index = sample();
        assert_eq!(
            index.resolve(&lone("Database")),
            Err(NotationError::AmbiguousRecord {
                reference: "Database".into(),
                candidates: vec![
                    uid("DBarch000001"),
                    uid("DBprod000001"),
                    uid("DBprodEu0001"),
                    uid("DBstage00001"),
                ],
            })
        );
        let mut index = index;
        index.insert_record(uid("ZZtwin000001"), "s", "Database");
        assert_eq!(
            index.resolve(&path(&["Staging"], "Database")),
            Err(NotationError::AmbiguousRecord {
                reference: "Staging/Database".into(),
                candidates: vec![uid("DBstage00001"), uid("ZZtwin000001")],
            })
        );
    }

    #[test]
    fn folders_sharing_a_path_are_ambiguous() {
        let mut index = sample();
        // Shared without its parent, so it starts a path of its own.
        index.insert_folder("orphan", Some("not-visible"), "Staging");
        assert_eq!(
            index.resolve(&path(&["Staging"], "Database")),
            Err(NotationError::AmbiguousFolder {
                reference: "Staging/Database".into(),
                candidates: vec!["orphan".into(), "s".into()],
            })
        );
        assert_eq!(index.folder_path("orphan"), Some(vec!["Staging".into()]));
    }

    #[test]
    fn parent_cycles_terminate_and_match_nothing() {
        let mut index = NotationIndex::new();
        index.insert_folder("x", Some("y"), "X");
        index.insert_folder("y", Some("x"), "Y");
        index.insert_folder("self", Some("self"), "Self");
        index.insert_folder("below", Some("x"), "Below");
        index.insert_record(uid("Cycle0000001"), "below", "R");
        for folders in [
            &["X"][..],
            &["Y", "X"],
            &["X", "Y", "X", "Below"],
            &["Self"],
        ] {
            assert_eq!(
                index.resolve(&path(folders, "R")).map_err(|e| e.kind()),
                Err("folder_not_found")
            );
        }
        for id in ["x", "y", "self", "below"] {
            assert_eq!(index.folder_path(id), None, "{id}");
        }
        // Still reachable by title.
        assert_eq!(index.resolve(&lone("R")), Ok(uid("Cycle0000001")));
    }

    #[test]
    fn reinserting_replaces_and_removing_forgets() {
        let mut index = sample();
        let stripe = uid("STRIPE000001");
        index.insert_record(stripe, "s", "Stripe Test Key");
        assert_eq!(index.record_count(), 5);
        assert_eq!(
            index
                .resolve(&path(&["Production"], "Stripe API Key"))
                .map_err(|e| e.kind()),
            Err("record_not_found")
        );
        assert_eq!(
            index.resolve(&path(&["Staging"], "Stripe Test Key")),
            Ok(stripe)
        );
        index.remove_record(&stripe);
        assert!(!index.contains_record(&stripe));
        assert_eq!(
            index.resolve(&lone("STRIPE000001")).map_err(|e| e.kind()),
            Err("record_not_found")
        );
        index.remove_record(&stripe);
        assert_eq!(index.record_count(), 4);
    }

    #[test]
    fn renaming_a_folder_moves_its_path() {
        let mut index = sample();
        index.insert_folder("s", None, "Stage");
        assert_eq!(
            index.resolve(&path(&["Stage"], "Database")),
            Ok(uid("DBstage00001"))
        );
        assert_eq!(
            index
                .resolve(&path(&["Staging"], "Database"))
                .map_err(|e| e.kind()),
            Err("folder_not_found")
        );
    }

    #[test]
    fn accessors() {
        let mut index = NotationIndex::new();
        assert!(index.is_empty());
        index.insert_folder("p", None, "Production");
        assert!(!index.is_empty());
        assert!(index.contains_folder("p"));
        assert!(!index.contains_folder("q"));
        assert_eq!(index.folder_path("q"), None);
        let index = sample();
        assert_eq!(
            index.folder_path("pe"),
            Some(vec!["Production".into(), "Eu".into()])
        );
    }

    #[test]
    fn records_in_unknown_folders_are_found_by_lone_reference_only() {
        let mut index = NotationIndex::new();
        index.insert_record(uid("Loose0000001"), "gone", "Loose");
        assert_eq!(index.resolve(&lone("Loose")), Ok(uid("Loose0000001")));
        assert_eq!(
            index
                .resolve(&path(&["gone"], "Loose"))
                .map_err(|e| e.kind()),
            Err("folder_not_found")
        );
    }

    #[test]
    fn a_path_without_folders_matches_no_folder() {
        let index = sample();
        assert_eq!(
            index.resolve(&path(&[], "Database")).map_err(|e| e.kind()),
            Err("folder_not_found")
        );
    }
}
