//! `--data FILE`: the server state, admin keys included, kept in one JSON file.
//!
//! It is a development server, so the file holds the admin side's folder keys and pending
//! one-time tokens next to the ciphertext and token verifiers, and the change log of
//! incremental listings with the key of their sync tokens and cursors (so those survive a
//! restart); it is written with mode 0600.
//! A background task saves after every change (bursts of changes coalesce into one write) and
//! once more at shutdown. Each save replaces the file atomically through
//! [`syvault_proto::private_file::write`]: an exclusively created temporary file with a random
//! name in the same directory is written, flushed to disk and renamed over the old one, so a
//! crash leaves either the old or the new state, never a mix, and a planted file or symlink is
//! never written through.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use syvault_proto::private_file::{self, Existing};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::{AdminKeys, AdminKeysFile};
use crate::error::{Error, Result};
use crate::lock::lock;
use crate::state::{Store, VaultState};

/// The version of the file layout.
const FORMAT: u32 = 1;

#[derive(Serialize)]
struct SnapshotRef<'a> {
    format: u32,
    vault: &'a VaultState,
    admin: AdminKeysFile,
}

#[derive(Deserialize)]
struct Snapshot {
    format: u32,
    vault: VaultState,
    admin: AdminKeysFile,
}

/// Reads the state saved in `path`; `None` when the file does not exist yet.
pub(crate) fn load(path: &Path) -> Result<Option<(VaultState, AdminKeys)>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io(format!("reading {}", path.display()), err)),
    };
    let state_error = |reason: String| Error::StateFile {
        path: path.to_owned(),
        reason,
    };
    let snapshot: Snapshot = serde_json::from_slice(&bytes)
        .map_err(|e| state_error(format!("not valid JSON state: {e}")))?;
    if snapshot.format != FORMAT {
        return Err(state_error(format!(
            "unsupported format {}",
            snapshot.format
        )));
    }
    let keys = AdminKeys::from_file(&snapshot.admin).map_err(|e| state_error(e.to_owned()))?;
    Ok(Some((snapshot.vault, keys)))
}

/// Writes the current state to `path`.
pub(crate) fn save(path: &Path, store: &Store, keys: &Mutex<AdminKeys>) -> Result<()> {
    // Admin keys first, then the vault: the lock order of the whole crate.
    let bytes = {
        let keys = lock(keys);
        let vault = store.lock();
        serde_json::to_vec(&SnapshotRef {
            format: FORMAT,
            vault: &vault,
            admin: keys.to_file(),
        })
        .map_err(|e| Error::StateFile {
            path: path.to_owned(),
            reason: format!("cannot serialize the state: {e}"),
        })?
    };
    write_private(path, &bytes)
}

/// Saves after every change until `shutdown` flips, then saves a last time.
pub(crate) fn spawn_saver(
    path: PathBuf,
    store: Arc<Store>,
    keys: Arc<Mutex<AdminKeys>>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = store.changed() => {}
                _ = shutdown.changed() => break,
            }
            if let Err(err) = save(&path, &store, &keys) {
                tracing::error!(error = %err, "saving the state failed");
            }
        }
        if let Err(err) = save(&path, &store, &keys) {
            tracing::error!(error = %err, "saving the state at shutdown failed");
        }
    })
}

/// Atomically replaces `path` with `bytes`, readable by the owner only on Unix, through the
/// core's exclusive-create-then-rename writer.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    private_file::write(path, bytes, Existing::Replace)
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn missing_file_is_empty_state_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(load(&path).unwrap().is_none());
        fs::write(&path, b"{not json").unwrap();
        assert!(matches!(load(&path), Err(Error::StateFile { .. })));
    }
}
