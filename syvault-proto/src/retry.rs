//! When to repeat a failed request, and how long to wait first.

use core::time::Duration;

use crate::error::Error;
use crate::time::Timestamp;

/// Retry settings: bounded attempts, exponential backoff with full jitter, the server's
/// `Retry-After` honoured up to a cap, and a [`RetryBudget`] across the client.
///
/// Retried failures are those [`Error::is_retryable`] accepts: connection failures, timeouts and
/// the statuses 429, 502, 503 and 504. Every operation of the SDK is safe to repeat (creation
/// through its conflict check, rotation through adopting the running job).
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::retry::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// // After the second failure the wait is drawn from [0, 400 ms].
/// assert!(policy.backoff(2, None, &mut rng) <= Duration::from_millis(400));
/// // A server's Retry-After wins, up to the cap.
/// assert_eq!(policy.backoff(1, Some(Duration::from_secs(3)), &mut rng), Duration::from_secs(3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included; `1` disables retries. Default 4.
    pub max_attempts: u32,
    /// The backoff ceiling after the first failure; it doubles with each failure. Default 200 ms.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling. Default 5 s.
    pub max_backoff: Duration,
    /// The longest `Retry-After` that is honoured as given; longer ones are cut to this.
    /// Default 30 s.
    pub max_retry_after: Duration,
    /// How many retries the whole client may add to its requests; `None` bounds them only per
    /// request. Default [`RetryBudget::default`]: 20 % of recent requests.
    pub budget: Option<RetryBudget>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            budget: Some(RetryBudget::default()),
        }
    }
}

impl RetryPolicy {
    /// No retries: every failure is reported at once.
    pub const NONE: Self = Self {
        max_attempts: 1,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
        max_retry_after: Duration::ZERO,
        budget: None,
    };

    /// This policy with [`Self::max_attempts`] set (the struct is `#[non_exhaustive]`, so
    /// that it can gain settings: build it from [`Self::default`] with these).
    ///
    /// ```
    /// use std::time::Duration;
    /// use syvault_proto::retry::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default()
    ///     .with_max_attempts(3)
    ///     .with_initial_backoff(Duration::from_millis(50))
    ///     .with_max_backoff(Duration::from_secs(1))
    ///     .with_max_retry_after(Duration::from_secs(5));
    /// assert_eq!(policy.max_attempts, 3);
    /// ```
    #[must_use]
    pub const fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// This policy with [`Self::initial_backoff`] set.
    #[must_use]
    pub const fn with_initial_backoff(mut self, initial_backoff: Duration) -> Self {
        self.initial_backoff = initial_backoff;
        self
    }

    /// This policy with [`Self::max_backoff`] set.
    #[must_use]
    pub const fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// This policy with [`Self::max_retry_after`] set.
    #[must_use]
    pub const fn with_max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// This policy with [`Self::budget`] set.
    #[must_use]
    pub const fn with_budget(mut self, budget: Option<RetryBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// Whether a request that failed with `error` on attempt number `attempt` (1-based) may be
    /// tried again, as far as this request goes (the client's [`RetryBudget`] has its say too).
    pub fn should_retry(&self, attempt: u32, error: &Error) -> bool {
        attempt < self.max_attempts && error.is_retryable()
    }

    /// How long to wait after failed attempt number `attempt` (1-based): the server's
    /// `retry_after` capped at [`Self::max_retry_after`] if it sent one, otherwise a uniformly
    /// random duration in `[0, min(max_backoff, initial_backoff × 2^(attempt-1))]`.
    pub fn backoff<R: rand_core::Rng + ?Sized>(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut R,
    ) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let doublings = attempt.saturating_sub(1).min(31);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff);
        jitter(ceiling, rng)
    }
}

/// A bound on the retries of a whole client: retries may add at most [`Self::percent`] of the
/// requests the client first sent within the last [`Self::window`], or [`Self::min_retries`]
/// when that is more, so that a client that rarely sends can still retry a failed request.
///
/// When an outage makes every request fail, per-request retries alone multiply the load on the
/// recovering vault by the number of attempts; the budget keeps it within a fifth more than
/// the client's own traffic. A retry the budget refuses is not made: the operation fails at once
/// with the request's (retryable) error, or serves a stale entry where
/// [`crate::cache::CachePolicy::max_stale`] allows. Rotation polling and lease renewal draw on
/// the same budget.
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::retry::{RetryBudget, RetryPolicy};
///
/// let budget = RetryBudget::default();
/// assert_eq!((budget.percent, budget.min_retries), (20, 3));
/// assert_eq!(budget.window, Duration::from_secs(10));
/// let policy = RetryPolicy::default().with_budget(Some(budget.with_percent(10)));
/// # let _ = policy;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryBudget {
    /// Retries allowed, in percent of the requests first sent within the window. Default 20.
    pub percent: u32,
    /// Retries allowed within the window however few requests were sent. Default 3: the
    /// retries of one failed request under the default policy.
    pub min_retries: u32,
    /// The sliding window over which requests and retries are counted, on the caller's clock.
    /// Default 10 s.
    pub window: Duration,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self {
            percent: 20,
            min_retries: 3,
            window: Duration::from_secs(10),
        }
    }
}

impl RetryBudget {
    /// This budget with [`Self::percent`] set.
    #[must_use]
    pub const fn with_percent(mut self, percent: u32) -> Self {
        self.percent = percent;
        self
    }

    /// This budget with [`Self::min_retries`] set.
    #[must_use]
    pub const fn with_min_retries(mut self, min_retries: u32) -> Self {
        self.min_retries = min_retries;
        self
    }

    /// This budget with [`Self::window`] set.
    #[must_use]
    pub const fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }
}

/// Buckets the budget's window is split into: the window slides by a tenth of itself.
const BUCKETS: usize = 10;

/// The requests and retries of a client within its budget's window.
#[derive(Debug, Default)]
pub(crate) struct BudgetTracker {
    /// Per bucket: which bucket of time it counts (its start divided by the bucket's width),
    /// requests first sent and retries.
    buckets: [(u64, u32, u32); BUCKETS],
}

impl BudgetTracker {
    fn bucket_ms(budget: &RetryBudget) -> u64 {
        let window = u64::try_from(budget.window.as_millis()).unwrap_or(u64::MAX);
        (window / BUCKETS as u64).max(1)
    }

    /// The bucket counting `now`, emptied first if it last counted an older time.
    fn bucket(&mut self, budget: &RetryBudget, now: Timestamp) -> &mut (u64, u32, u32) {
        let index = now.as_unix_millis() / Self::bucket_ms(budget);
        let bucket = &mut self.buckets[usize::try_from(index % BUCKETS as u64).unwrap_or(0)];
        if bucket.0 != index {
            *bucket = (index, 0, 0);
        }
        bucket
    }

    /// Counts a request sent for the first time.
    pub(crate) fn sent(&mut self, budget: Option<&RetryBudget>, now: Timestamp) {
        if let Some(budget) = budget {
            let bucket = self.bucket(budget, now);
            bucket.1 = bucket.1.saturating_add(1);
        }
    }

    /// Whether a retry may be made at `now`; if so, it is counted.
    pub(crate) fn try_retry(&mut self, budget: Option<&RetryBudget>, now: Timestamp) -> bool {
        let Some(budget) = budget else {
            return true;
        };
        let current = now.as_unix_millis() / Self::bucket_ms(budget);
        let (mut sent, mut retried) = (0u64, 0u64);
        for &(index, s, r) in &self.buckets {
            if index + (BUCKETS as u64) > current && index <= current {
                sent += u64::from(s);
                retried += u64::from(r);
            }
        }
        let allowed = (sent * u64::from(budget.percent) / 100).max(u64::from(budget.min_retries));
        if retried >= allowed {
            return false;
        }
        let bucket = self.bucket(budget, now);
        bucket.2 = bucket.2.saturating_add(1);
        true
    }
}

/// A uniformly random duration in `[0, ceiling]` at millisecond resolution.
pub(crate) fn jitter<R: rand_core::Rng + ?Sized>(ceiling: Duration, rng: &mut R) -> Duration {
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    if ceiling_ms == 0 {
        return Duration::ZERO;
    }
    // The modulo bias over a 64-bit draw is below 2^-40 for any sane ceiling.
    Duration::from_millis(rng.next_u64() % (ceiling_ms + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, ErrorCode, TransportErrorKind};
    use chacha20::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn api(status: u16) -> Error {
        ApiError::new(status, ErrorCode::for_status(status), "").into()
    }

    #[test]
    fn retries_only_retryable_errors_and_stops_at_the_bound() {
        let policy = RetryPolicy::default();
        for status in [429, 502, 503, 504] {
            assert!(policy.should_retry(1, &api(status)));
            assert!(policy.should_retry(3, &api(status)));
            assert!(!policy.should_retry(4, &api(status)), "bounded");
        }
        for status in [400, 401, 403, 404, 409, 422, 500] {
            assert!(!policy.should_retry(1, &api(status)), "{status}");
        }
        let timeout = Error::transport(TransportErrorKind::Timeout, "");
        assert!(policy.should_retry(1, &timeout));
        assert!(!RetryPolicy::NONE.should_retry(1, &timeout));
    }

    #[test]
    fn backoff_is_jittered_below_a_doubling_capped_ceiling() {
        let policy = RetryPolicy::default();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for (attempt, ceiling_ms) in [
            (1, 200),
            (2, 400),
            (3, 800),
            (5, 3200),
            (6, 5000),
            (40, 5000),
        ] {
            let draws: Vec<_> = (0..200)
                .map(|_| policy.backoff(attempt, None, &mut rng))
                .collect();
            let max = draws.iter().max().unwrap();
            assert!(
                *max <= Duration::from_millis(ceiling_ms),
                "attempt {attempt}"
            );
            // Full jitter spreads over the range rather than sitting at the ceiling.
            assert!(
                *max > Duration::from_millis(ceiling_ms / 2),
                "attempt {attempt}"
            );
            assert!(draws.iter().min().unwrap() < &Duration::from_millis(ceiling_ms / 2));
        }
    }

    #[test]
    fn the_budget_allows_a_fifth_of_recent_requests_with_a_floor() {
        let budget = RetryBudget::default();
        let mut tracker = BudgetTracker::default();
        let t0 = Timestamp::from_unix_secs(1_000);
        // One lone failed request may use its three retries, not a fourth.
        tracker.sent(Some(&budget), t0);
        for _ in 0..3 {
            assert!(tracker.try_retry(Some(&budget), t0));
        }
        assert!(!tracker.try_retry(Some(&budget), t0));
        // 100 requests in the window allow 20 retries in all.
        for _ in 0..99 {
            tracker.sent(Some(&budget), t0 + Duration::from_secs(5));
        }
        let granted = (0..40)
            .filter(|_| tracker.try_retry(Some(&budget), t0 + Duration::from_secs(9)))
            .count();
        assert_eq!(granted, 17);
        // The window slides: once the first requests and retries are older than 10 s, they
        // count no more, and what remains (99 sent, 17 retried) allows 2 more.
        let later = t0 + Duration::from_secs(10);
        let granted = (0..40)
            .filter(|_| tracker.try_retry(Some(&budget), later))
            .count();
        assert_eq!(granted, 2);
        // Long after, the floor alone.
        let much_later = t0 + Duration::from_secs(60);
        let granted = (0..40)
            .filter(|_| tracker.try_retry(Some(&budget), much_later))
            .count();
        assert_eq!(granted, 3);
        // No budget: no bound.
        assert!((0..1_000).all(|_| tracker.try_retry(None, much_later)));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let policy = RetryPolicy::default();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        assert_eq!(
            policy.backoff(1, Some(Duration::from_secs(2)), &mut rng),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.backoff(1, Some(Duration::from_secs(3600)), &mut rng),
            Duration::from_secs(30)
        );
    }
}
