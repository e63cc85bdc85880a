//! When to repeat a failed request, and how long to wait first.

use core::time::Duration;

use crate::error::Error;

/// Retry settings: bounded attempts, exponential backoff with full jitter, and the server's
/// `Retry-After` honoured up to a cap.
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
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
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

    /// Whether a request that failed with `error` on attempt number `attempt` (1-based) is
    /// tried again.
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
