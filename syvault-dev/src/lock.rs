//! Mutex access that survives poisoning.
//!
//! Every critical section in this crate leaves its data consistent before anything that could
//! panic, so a lock poisoned by a panicking thread still guards valid data; refusing it would
//! only turn one failed request into a server that fails every request.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, recovering the guard if another thread panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
