//! The client's encrypted snapshot: loaded when the client is built, written by a task of its
//! own a moment after the state changed (the core says when), never while a read waits.

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use syvault_proto::Client;
use syvault_proto::Timestamp;
use syvault_proto::error::{Error, Result};
use syvault_proto::private_file::{self, SnapshotLoad};

use crate::driver::{Shared, now, rng, sleep_until};

/// Where the snapshot lives, and the lock that keeps two writes from overtaking each other.
#[derive(Debug, Default)]
pub(crate) struct SnapshotFile {
    path: Option<PathBuf>,
    writing: tokio::sync::Mutex<()>,
    /// Set by `close`: its cleared cache must not overwrite the snapshot.
    closed: std::sync::atomic::AtomicBool,
}

impl SnapshotFile {
    pub(crate) fn at(path: Option<PathBuf>) -> Self {
        Self {
            path,
            ..Self::default()
        }
    }

    /// No snapshot is written from now on.
    pub(crate) fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Reads the snapshot at `path` into a client being built; a snapshot that cannot be used is
/// ignored (with a warning event from the core).
pub(crate) fn load(core: &mut Client, path: &std::path::Path) -> SnapshotLoad {
    private_file::load_snapshot(core, path, now())
}

/// Starts a writer task for a snapshot the core said is due at `at`. Called after an operation
/// ends, with the lock released.
pub(crate) fn schedule(shared: &Arc<Shared>, at: Timestamp) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        drop(runtime.spawn(write_later(Arc::downgrade(shared), at)));
    } else {
        // Outside a tokio runtime nothing is written now; the next change asks again.
        shared.lock().snapshot_written(now(), false);
    }
}

/// Waits until `at`, then writes the snapshot, unless the client is gone by then.
async fn write_later(weak: Weak<Shared>, at: Timestamp) {
    sleep_until(at).await;
    if let Some(shared) = weak.upgrade() {
        // Failures are reported as events and retried after the next change.
        let _ = write(&shared).await;
    }
}

/// Takes the snapshot under the lock, then seals and writes it on a blocking thread.
pub(crate) async fn write(shared: &Shared) -> Result<()> {
    let Some(path) = shared.snapshot.path.clone() else {
        return Ok(());
    };
    let _writing = shared.snapshot.writing.lock().await;
    if shared
        .snapshot
        .closed
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return Ok(());
    }
    let taken_at = now();
    let job = shared
        .lock()
        .take_snapshot(taken_at, &mut rng())
        .map_err(|e| Error::InvalidInput {
            what: "snapshot",
            reason: e.to_string(),
        })?;
    let written =
        tokio::task::spawn_blocking(move || private_file::write_snapshot(&job, &path, &mut rng()))
            .await
            .unwrap_or_else(|_| {
                Err(Error::File {
                    path: shared.snapshot.path.clone().unwrap_or_default(),
                    action: syvault_proto::error::FileAction::Write,
                    source: std::io::Error::other("the snapshot writer stopped"),
                })
            });
    shared.lock().snapshot_written(taken_at, written.is_ok());
    #[cfg(feature = "tracing")]
    match &written {
        Ok(()) => tracing::debug!("snapshot written"),
        Err(error) => tracing::warn!(%error, "writing the snapshot failed"),
    }
    written
}
