//! The folders a client can read: their keys and names, decrypted once and kept in memory.

use std::collections::HashMap;

use uuid::Uuid;

use crate::error::Result;
use crate::folder_key;
use crate::keys::ClientKey;
use crate::secret::SymmetricKey;
use crate::wire::{Access, FolderList};

/// A folder as the client sees it, without its key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FolderInfo {
    /// The folder id.
    pub folder_id: Uuid,
    /// The parent folder, if any.
    pub parent_id: Option<Uuid>,
    /// The decrypted name.
    pub name: String,
    /// Whether the client may create secrets in it.
    pub access: Access,
}

impl FolderInfo {
    /// A folder as a listing describes it, for code that fakes the SDK in its own tests and
    /// for snapshots; the SDK's listings build them the same way.
    ///
    /// ```
    /// use syvault_proto::folders::FolderInfo;
    /// use syvault_proto::wire::Access;
    ///
    /// let folder = FolderInfo::new(uuid::Uuid::from_u128(1), None, "Production", Access::Read);
    /// assert_eq!(folder.name, "Production");
    /// ```
    pub fn new(
        folder_id: Uuid,
        parent_id: Option<Uuid>,
        name: impl Into<String>,
        access: Access,
    ) -> Self {
        Self {
            folder_id,
            parent_id,
            name: name.into(),
            access,
        }
    }
}

#[derive(Debug)]
struct FolderEntry {
    info: FolderInfo,
    key: SymmetricKey,
}

/// Decrypted folder keys and names. Keys are zeroized when dropped.
#[derive(Debug, Default)]
pub(crate) struct FolderStore {
    entries: HashMap<Uuid, FolderEntry>,
    loaded: bool,
}

impl FolderStore {
    /// Whether the folders have been loaded at least once.
    pub(crate) fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Replaces the folders with a fresh listing, unwrapping every key. Nothing changes if any
    /// folder fails to decrypt.
    pub(crate) fn load(
        &mut self,
        list: FolderList,
        key: &ClientKey,
        client_id: &Uuid,
    ) -> Result<()> {
        let mut entries = HashMap::with_capacity(list.data.len());
        for folder in list.data {
            let folder_key = folder_key::unwrap(
                key,
                &folder.folder_id,
                client_id,
                folder.encrypted_key.as_slice(),
            )?;
            let name = folder_key::open_name(&folder_key, folder.encrypted_name.as_slice())?;
            entries.insert(
                folder.folder_id,
                FolderEntry {
                    info: FolderInfo {
                        folder_id: folder.folder_id,
                        parent_id: folder.parent_id,
                        name,
                        access: folder.access,
                    },
                    key: folder_key,
                },
            );
        }
        self.entries = entries;
        self.loaded = true;
        Ok(())
    }

    pub(crate) fn key(&self, folder_id: &Uuid) -> Option<&SymmetricKey> {
        self.entries.get(folder_id).map(|e| &e.key)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &FolderInfo> {
        self.entries.values().map(|e| &e.info)
    }

    /// Names from the topmost known ancestor down to the folder, as notation spells a path.
    pub(crate) fn path(&self, folder_id: &Uuid) -> Vec<String> {
        let mut path = Vec::new();
        let mut current = self.entries.get(folder_id);
        while let Some(entry) = current {
            // A cycle in the server's parent links must not loop forever.
            if path.len() > self.entries.len() {
                break;
            }
            path.push(entry.info.name.clone());
            current = entry.info.parent_id.and_then(|p| self.entries.get(&p));
        }
        path.reverse();
        path
    }
}
