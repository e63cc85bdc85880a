//! Counters of what a client did, for a service to export.

/// What a [`crate::Client`] has done since it was built: requests, retries, cache decisions,
/// token signatures and decryption failures. Counters only grow, except through
/// [`crate::Client::reset`] which starts them again from zero.
///
/// Reading them is cheap (a copy taken under the client's lock), so a service can export them
/// on every scrape.
///
/// ```
/// let stats = syvault_proto::stats::ClientStats::default();
/// assert_eq!(stats.requests, 0);
/// assert_eq!(stats.cache_hit_ratio(), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// HTTP requests handed to the driver, retries, re-signed requests and a bootstrap's
    /// requests included.
    pub requests: u64,
    /// Requests repeated after a retryable failure (connection failures, timeouts, 429, 502,
    /// 503, 504).
    pub retries: u64,
    /// Retries not made because the client's retry budget was spent: the operation failed at
    /// once (or served a stale entry).
    pub retries_refused: u64,
    /// Requests re-sent with a freshly signed token after a 401 to a reused one.
    pub reauthentications: u64,
    /// Reads answered from a fresh cache entry, without a request. A read of an expired entry
    /// is neither a hit nor a miss: it is revalidated.
    pub cache_hits: u64,
    /// Reads of a secret the cache did not hold, each counted once (a read that waits for
    /// another one's fetch is also a coalesced wait).
    pub cache_misses: u64,
    /// Expired entries served because the server could not answer (`max_stale`), or while
    /// their next revalidation after such a failure was not due.
    pub stale_serves: u64,
    /// Background revalidations sent: of entries read in the last part of their TTL
    /// (refresh-ahead), of entries served stale whose retry was due, and of the notation index.
    pub background_refreshes: u64,
    /// Expired entries the server confirmed unchanged (`304 Not Modified`).
    pub revalidations: u64,
    /// Reads that waited for another read of the same secret instead of sending a request.
    pub coalesced_waits: u64,
    /// Entries the cache dropped to stay within `max_entries`.
    pub evictions: u64,
    /// Bearer tokens signed (a reused token counts once).
    pub tokens_signed: u64,
    /// Records that did not decrypt under their folder key and UID.
    pub decryption_failures: u64,
}

impl ClientStats {
    /// Cache hits over reads that consulted the cache (hits and misses), if there were any.
    pub fn cache_hit_ratio(&self) -> Option<f64> {
        let reads = self.cache_hits + self.cache_misses;
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        (reads > 0).then(|| self.cache_hits as f64 / reads as f64)
    }

    /// Adds these counters to `total` and zeroes them: for work counted on a session of its
    /// own (bootstrap's) that belongs to the client's totals.
    pub(crate) fn move_into(&mut self, total: &mut ClientStats) {
        let Self {
            requests,
            retries,
            retries_refused,
            reauthentications,
            cache_hits,
            cache_misses,
            stale_serves,
            background_refreshes,
            revalidations,
            coalesced_waits,
            evictions,
            tokens_signed,
            decryption_failures,
        } = core::mem::take(self);
        total.requests += requests;
        total.retries += retries;
        total.retries_refused += retries_refused;
        total.reauthentications += reauthentications;
        total.cache_hits += cache_hits;
        total.cache_misses += cache_misses;
        total.stale_serves += stale_serves;
        total.background_refreshes += background_refreshes;
        total.revalidations += revalidations;
        total.coalesced_waits += coalesced_waits;
        total.evictions += evictions;
        total.tokens_signed += tokens_signed;
        total.decryption_failures += decryption_failures;
    }
}
