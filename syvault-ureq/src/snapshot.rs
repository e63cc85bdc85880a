//! The client's encrypted snapshot: loaded when the client is built, written on a thread of
//! its own a moment after the state changed (the core says when), never while a read waits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use syvault_proto::error::{Error, Result};
use syvault_proto::private_file::{self, SnapshotLoad};
use syvault_proto::{Client, Timestamp};

use crate::driver::{Shared, now, rng, sleep_until};

/// Where the snapshot lives, and the lock that keeps two writes from overtaking each other.
#[derive(Debug, Default)]
pub(crate) struct SnapshotFile {
    path: Option<PathBuf>,
    writing: Mutex<()>,
    /// Set by `close`: its cleared cache must not overwrite the snapshot.
    closed: AtomicBool,
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
        self.closed.store(true, Ordering::SeqCst);
    }
}

/// Reads the snapshot at `path` into a client being built; a snapshot that cannot be used is
/// ignored (with a warning event from the core).
pub(crate) fn load(core: &mut Client, path: &std::path::Path) -> SnapshotLoad {
    private_file::load_snapshot(core, path, now())
}

/// Starts a writer thread for a snapshot the core said is due at `at`.
pub(crate) fn schedule(shared: &Arc<Shared>, at: Timestamp) {
    let weak = Arc::downgrade(shared);
    let spawned = std::thread::Builder::new()
        .name("syvault-snapshot".into())
        .spawn(move || write_later(&weak, at));
    if spawned.is_err() {
        // Without a thread nothing is written now; the next change asks again.
        shared.lock().snapshot_written(now(), false);
    }
}

/// Waits until `at`, then writes the snapshot, unless the client is gone by then.
fn write_later(weak: &Weak<Shared>, at: Timestamp) {
    sleep_until(at);
    if let Some(shared) = weak.upgrade() {
        // Failures are reported as events and retried after the next change.
        let _ = write(&shared);
    }
}

/// Takes the snapshot under the lock, then seals and writes it without the lock.
pub(crate) fn write(shared: &Shared) -> Result<()> {
    let Some(path) = &shared.snapshot.path else {
        return Ok(());
    };
    let _writing = shared
        .snapshot
        .writing
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if shared.snapshot.closed.load(Ordering::SeqCst) {
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
    let written = private_file::write_snapshot(&job, path, &mut rng());
    shared.lock().snapshot_written(taken_at, written.is_ok());
    #[cfg(feature = "tracing")]
    match &written {
        Ok(()) => tracing::debug!("snapshot written"),
        Err(error) => tracing::warn!(%error, "writing the snapshot failed"),
    }
    written
}
