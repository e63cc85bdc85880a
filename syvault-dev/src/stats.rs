//! Request counting per method and path, so tests can tell whether a request reached the
//! server (a cache hit must not).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::lock::lock;

/// Counts of the requests a server received, by method and path (without the query string).
/// Every request is counted on arrival, including those answered by an injected fault.
/// Cheap to clone; all clones see the same counts.
///
/// ```
/// use syvault_dev::Stats;
///
/// let stats = Stats::default();
/// assert_eq!(stats.count("GET", "/api/sm/v1/folders"), 0);
/// assert_eq!(stats.total(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Stats {
    counts: Arc<Mutex<BTreeMap<(String, String), u64>>>,
}

impl Stats {
    pub(crate) fn record(&self, method: &str, path: &str) {
        *lock(&self.counts)
            .entry((method.to_owned(), path.to_owned()))
            .or_default() += 1;
    }

    /// How many `method` requests for exactly `path` arrived.
    pub fn count(&self, method: &str, path: &str) -> u64 {
        lock(&self.counts)
            .get(&(method.to_owned(), path.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// How many requests arrived in all.
    pub fn total(&self) -> u64 {
        lock(&self.counts).values().sum()
    }

    /// Every count, keyed by `(method, path)`.
    pub fn snapshot(&self) -> BTreeMap<(String, String), u64> {
        lock(&self.counts).clone()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        lock(&self.counts).clear();
    }
}
