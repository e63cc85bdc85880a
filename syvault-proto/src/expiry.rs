//! When a cached value (a secret, or the notation index) is fresh, when it is refreshed ahead of
//! its expiry, and when it is revalidated again while it is served stale.
//!
//! Three rules keep a fleet of clients from moving in lockstep:
//!
//! - **Jittered expiry**: each time a value is stored or renewed, its TTL is shortened by a
//!   random fraction of up to [`CachePolicy::jitter_percent`].
//! - **Refresh-ahead**: a read in the last [`CachePolicy::refresh_ahead_percent`] of the TTL is
//!   served at once and asks for one background revalidation. The first refresh of a value
//!   stored for the first time comes at a random point before that window, so that clients
//!   started together spread their refreshes over a whole cycle at once rather than only over
//!   the jitter's width.
//! - **Stale backoff**: while a value is served stale after failed revalidations, the next one
//!   is tried after a jittered wait that doubles from an eighth of the TTL up to about the TTL
//!   (up to a quarter more each time), not on every read.
//!
//! What a listing holds shares the listing's expiry (one draw per listing), so that one delta
//! renews it all; see `ops/list.rs`.

use core::time::Duration;

use rand_core::CryptoRng;

use crate::cache::CachePolicy;
use crate::time::Timestamp;

/// How long a background refresh may stay out before another one may be asked for: as long as
/// a fetch may run before others take over.
pub(crate) const WISH_TIMEOUT: Duration = Duration::from_secs(120);

/// A small generator of non-cryptographic numbers, seeded once from the injected RNG.
///
/// Spreading expiry draws a number for every value stored, and a listing of a large vault stores
/// thousands at once: drawing each from the driver's RNG (often a system call) would cost more
/// than the rest of storing them. Jitter needs no unpredictability, only independence between
/// clients, which the seed gives. `SplitMix64`.
#[derive(Debug, Default)]
pub(crate) struct Spread {
    state: u64,
    seeded: bool,
}

impl Spread {
    /// The generator, seeded from `rng` on first use.
    pub(crate) fn with(&mut self, rng: &mut dyn CryptoRng) -> &mut Self {
        if !self.seeded {
            self.state = rng.next_u64();
            self.seeded = true;
        }
        self
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A whole number of milliseconds drawn uniformly from `[0, ceiling]`.
    pub(crate) fn up_to(&mut self, ceiling: Duration) -> Duration {
        let ceiling = millis(ceiling);
        if ceiling == 0 {
            return Duration::ZERO;
        }
        // The modulo bias over a 64-bit draw is below 2^-40 for any sane ceiling.
        Duration::from_millis(self.next() % (ceiling + 1))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `percent` % of `duration`.
fn percent_of(duration: Duration, percent: u8) -> Duration {
    Duration::from_millis(millis(duration).saturating_mul(u64::from(percent)) / 100)
}

/// What a read may do with a cached value at some time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// Within its TTL: use it.
    Fresh,
    /// Within its TTL, and due for a background refresh, which the caller asks for.
    Refresh,
    /// Past its TTL, served stale while the next revalidation is not due (or is running).
    Stale,
    /// Past its TTL, served stale, and due for a background revalidation, which the caller asks
    /// for.
    Retry,
    /// Past its TTL: revalidate before using it (and serve it stale if that fails, where
    /// `max_stale` allows).
    Expired,
}

/// The times that decide a cached value's [`Freshness`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Expiry {
    /// When the value was stored, or last confirmed by the server: what a snapshot keeps as
    /// its fetch time.
    stored_at: Timestamp,
    /// The end of the (jittered) TTL.
    pub(crate) expires_at: Timestamp,
    /// What `max_stale` counts from: the end of the TTL, or for a value from a snapshot the end
    /// of the TTL of its original fetch.
    stale_from: Timestamp,
    /// A value from a snapshot that the server has not confirmed in this process: never fresh,
    /// and its first revalidation is sent once, since a failure serves it stale anyway.
    restored: bool,
    /// From here on, a read asks for a background refresh.
    refresh_at: Timestamp,
    /// No new background refresh is asked for before this: one is queued or running.
    wish_after: Timestamp,
    /// While revalidations fail: when the next one may be tried.
    retry_at: Option<Timestamp>,
    /// Revalidations failed in a row.
    failures: u32,
}

impl Expiry {
    /// The expiry of a value stored or renewed at `now`. `first` marks a value the client did not
    /// hold before, whose first refresh point is spread over the TTL.
    pub(crate) fn new(
        now: Timestamp,
        policy: &CachePolicy,
        spread: &mut Spread,
        first: bool,
    ) -> Self {
        let life = policy
            .ttl
            .saturating_sub(spread.up_to(percent_of(policy.ttl, policy.jitter_percent)));
        let expires_at = now + life;
        let window = percent_of(life, policy.refresh_ahead_percent);
        let refresh_at = if window.is_zero() {
            expires_at
        } else if first {
            now + spread.up_to(life.saturating_sub(window))
        } else {
            expires_at - window
        };
        Self {
            stored_at: now,
            expires_at,
            stale_from: expires_at,
            restored: false,
            refresh_at,
            wish_after: Timestamp::EPOCH,
            retry_at: None,
            failures: 0,
        }
    }

    /// The expiry of a value a snapshot kept, fetched at `fetched_at` and loaded at `now`:
    /// expired from the start (a read asks the server first), and served stale at most until
    /// `max_stale` after the TTL of its original fetch.
    pub(crate) fn restored(fetched_at: Timestamp, now: Timestamp, policy: &CachePolicy) -> Self {
        let stale_from = fetched_at + policy.ttl;
        let expires_at = stale_from.min(now);
        Self {
            stored_at: fetched_at,
            expires_at,
            stale_from,
            restored: true,
            refresh_at: expires_at,
            wish_after: Timestamp::EPOCH,
            retry_at: None,
            failures: 0,
        }
    }

    /// When the value was fetched or last confirmed by the server.
    pub(crate) fn stored_at(&self) -> Timestamp {
        self.stored_at
    }

    /// Until when the value is [`Freshness::Fresh`] whatever else holds.
    pub(crate) fn fresh_until(&self) -> Timestamp {
        self.refresh_at
    }

    /// Whether the value may be used as it is, and whether it wants a background refresh.
    /// `can_wish` says whether the caller can queue one; when it cannot, a stale value due for
    /// revalidation is [`Freshness::Expired`], so that the read revalidates it itself.
    pub(crate) fn freshness(
        &self,
        now: Timestamp,
        max_stale: Option<Duration>,
        can_wish: bool,
    ) -> Freshness {
        if now < self.refresh_at {
            return Freshness::Fresh;
        }
        let wished = now < self.wish_after;
        if now < self.expires_at {
            // After a failed refresh the value expires normally.
            return if can_wish && !wished && self.retry_at.is_none() {
                Freshness::Refresh
            } else {
                Freshness::Fresh
            };
        }
        match self.retry_at {
            Some(retry_at) if self.stale_allowed(now, max_stale) => {
                if now < retry_at || wished {
                    Freshness::Stale
                } else if can_wish {
                    Freshness::Retry
                } else {
                    Freshness::Expired
                }
            }
            _ => Freshness::Expired,
        }
    }

    /// Whether a revalidation of the value failed since it was last stored or renewed: the
    /// next one is a retry, sent once, since the value is served stale if it fails.
    pub(crate) fn retrying(&self) -> bool {
        self.retry_at.is_some() || self.restored
    }

    /// Whether the value may still be served stale at `now`.
    pub(crate) fn stale_allowed(&self, now: Timestamp, max_stale: Option<Duration>) -> bool {
        max_stale.is_some_and(|max_stale| now < self.stale_from + max_stale)
    }

    /// Notes that a background refresh was asked for at `now`.
    pub(crate) fn wished(&mut self, now: Timestamp) {
        self.wish_after = now + WISH_TIMEOUT;
    }

    /// Notes that the background refresh asked for ended without a result (it was abandoned,
    /// or failed in a way that does not call for the stale backoff): another may be asked for.
    pub(crate) fn released(&mut self) {
        self.wish_after = Timestamp::EPOCH;
    }

    /// Notes that a revalidation failed at `now` because the server could not answer: the next
    /// one waits a jittered backoff that doubles from an eighth of the TTL up to the TTL, drawn
    /// from between that and a quarter more, so that a fleet serving stale retries less often
    /// than it revalidates when the server is healthy (at most every 80 % of a TTL, with
    /// refresh-ahead), and a recovering server does not meet more than a normal load.
    pub(crate) fn failed(&mut self, now: Timestamp, ttl: Duration, spread: &mut Spread) {
        let ceiling = (ttl / 8)
            .saturating_mul(1 << self.failures.min(16))
            .min(ttl);
        let wait = ceiling + spread.up_to(ceiling / 4);
        self.retry_at = Some(now + wait);
        self.failures = self.failures.saturating_add(1);
        self.wish_after = Timestamp::EPOCH;
    }

    /// Takes the retry schedule of `other` (the notation index whose refresh this value waited
    /// for), so that the two are retried together, by one request.
    pub(crate) fn follow(&mut self, other: &Self) {
        self.retry_at = other.retry_at;
        self.failures = other.failures;
        self.wish_after = Timestamp::EPOCH;
    }

    /// Whether a background refresh asked for at or before `now` is still out.
    pub(crate) fn wished_at(&self, now: Timestamp) -> bool {
        now < self.wish_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use rand_core::SeedableRng;

    const T0: Timestamp = Timestamp::from_unix_secs(1_000);

    fn spread(seed: u64) -> Spread {
        let mut spread = Spread::default();
        spread.with(&mut ChaCha20Rng::seed_from_u64(seed));
        spread
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_same_seed_draws_the_same_jitter_and_another_seed_does_not() {
        let policy = CachePolicy::default();
        let draw = |seed| {
            let mut spread = spread(seed);
            (0..50)
                .map(|_| Expiry::new(T0, &policy, &mut spread, false).expires_at)
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn ttls_are_shortened_by_up_to_the_jitter_and_spread_over_it() {
        let policy = CachePolicy::default();
        let mut spread = spread(7);
        let lives: Vec<Duration> = (0..2_000)
            .map(|_| {
                Expiry::new(T0, &policy, &mut spread, false)
                    .expires_at
                    .saturating_duration_since(T0)
            })
            .collect();
        assert!(lives.iter().all(|l| *l <= secs(60) && *l >= secs(54)));
        // Every tenth of the jitter's range is drawn about as often.
        let mut tenths = [0usize; 10];
        for life in &lives {
            let cut = secs(60).saturating_sub(*life).as_millis();
            tenths[usize::try_from((cut * 10 / 6_001).min(9)).unwrap()] += 1;
        }
        assert!(
            tenths.iter().all(|&n| (140..=260).contains(&n)),
            "{tenths:?}"
        );
    }

    #[test]
    fn zero_jitter_is_the_exact_ttl() {
        let policy = CachePolicy::default().with_jitter_percent(0);
        let mut spread = spread(3);
        for first in [false, true] {
            let expiry = Expiry::new(T0, &policy, &mut spread, first);
            assert_eq!(expiry.expires_at, T0 + secs(60));
        }
    }

    #[test]
    fn a_read_in_the_last_fifth_asks_for_a_refresh_once() {
        let policy = CachePolicy::default().with_jitter_percent(0);
        let mut expiry = Expiry::new(T0, &policy, &mut spread(1), false);
        assert_eq!(
            expiry.freshness(T0 + secs(47), None, true),
            Freshness::Fresh
        );
        assert_eq!(
            expiry.freshness(T0 + secs(48), None, true),
            Freshness::Refresh
        );
        // Without a way to queue it, the value is merely fresh.
        assert_eq!(
            expiry.freshness(T0 + secs(48), None, false),
            Freshness::Fresh
        );
        expiry.wished(T0 + secs(48));
        assert_eq!(
            expiry.freshness(T0 + secs(50), None, true),
            Freshness::Fresh
        );
        // A refresh that never reports back is asked for again after the timeout; by then the
        // value has expired.
        assert_eq!(
            expiry.freshness(T0 + secs(60), None, true),
            Freshness::Expired
        );
        expiry.released();
        assert_eq!(
            expiry.freshness(T0 + secs(52), None, true),
            Freshness::Refresh
        );
    }

    #[test]
    fn refresh_ahead_off_never_asks() {
        let policy = CachePolicy::default().with_refresh_ahead_percent(0);
        let expiry = Expiry::new(T0, &policy, &mut spread(1), true);
        for s in 0..60 {
            let freshness = expiry.freshness(T0 + secs(s), None, true);
            assert!(
                matches!(freshness, Freshness::Fresh | Freshness::Expired),
                "{s}: {freshness:?}"
            );
        }
    }

    #[test]
    fn a_first_refresh_point_falls_anywhere_before_the_window() {
        let policy = CachePolicy::default().with_jitter_percent(0);
        let mut spread = spread(11);
        let points: Vec<u128> = (0..1_000)
            .map(|_| {
                Expiry::new(T0, &policy, &mut spread, true)
                    .refresh_at
                    .saturating_duration_since(T0)
                    .as_millis()
            })
            .collect();
        assert!(points.iter().all(|&p| p <= 48_000));
        let early = points.iter().filter(|&&p| p < 24_000).count();
        assert!((400..=600).contains(&early), "{early}");
        // A renewal refreshes at the window's start.
        assert_eq!(
            Expiry::new(T0, &policy, &mut spread, false).refresh_at,
            T0 + secs(48)
        );
    }

    #[test]
    fn a_restored_value_is_never_fresh_and_stale_only_by_its_original_fetch() {
        let policy = CachePolicy::default();
        let max_stale = Some(secs(300));
        // Fetched 10 s before the load: within its TTL, yet expired.
        let loaded = T0 + secs(10);
        let expiry = Expiry::restored(T0, loaded, &policy);
        assert_eq!(expiry.stored_at(), T0);
        assert_eq!(
            expiry.freshness(loaded, max_stale, true),
            Freshness::Expired
        );
        assert!(expiry.retrying(), "its first revalidation is sent once");
        // Stale until max_stale after the original TTL, not after the load.
        assert!(expiry.stale_allowed(T0 + secs(359), max_stale));
        assert!(!expiry.stale_allowed(T0 + secs(360), max_stale));
        assert!(!expiry.stale_allowed(loaded, None));
        // Fetched long ago: the same bound.
        let old = Expiry::restored(T0, T0 + secs(3_600), &policy);
        assert!(!old.stale_allowed(T0 + secs(3_600), max_stale));
        // A confirmation by the server starts an ordinary value.
        let confirmed = Expiry::new(loaded, &policy, &mut spread(1), false);
        assert!(!confirmed.retrying());
        assert_eq!(confirmed.stored_at(), loaded);
    }

    #[test]
    fn stale_values_wait_a_growing_jittered_backoff_between_revalidations() {
        let policy = CachePolicy::default().with_jitter_percent(0);
        let max_stale = Some(secs(900));
        let mut spread = spread(5);
        let mut expiry = Expiry::new(T0, &policy, &mut spread, false);
        let expired = T0 + secs(60);
        assert_eq!(
            expiry.freshness(expired, max_stale, true),
            Freshness::Expired
        );
        let mut now = expired;
        let mut waits = Vec::new();
        for _ in 0..6 {
            expiry.failed(now, secs(60), &mut spread);
            let retry_at = expiry.retry_at.unwrap();
            let wait = retry_at.saturating_duration_since(now);
            waits.push(wait);
            assert_eq!(
                expiry.freshness(retry_at - Duration::from_millis(1), max_stale, true),
                Freshness::Stale
            );
            assert_eq!(
                expiry.freshness(retry_at, max_stale, true),
                Freshness::Retry
            );
            // A driver that runs no background work revalidates in the read.
            assert_eq!(
                expiry.freshness(retry_at, max_stale, false),
                Freshness::Expired
            );
            expiry.wished(retry_at);
            assert_eq!(
                expiry.freshness(retry_at, max_stale, true),
                Freshness::Stale
            );
            now = retry_at;
        }
        let ceilings = [7_500, 15_000, 30_000, 60_000, 60_000, 60_000];
        for (wait, ceiling) in waits.iter().zip(ceilings) {
            let wait = wait.as_millis();
            assert!(wait >= ceiling && wait <= ceiling * 5 / 4, "{waits:?}");
        }
        // Past max_stale, nothing is served stale.
        assert_eq!(
            expiry.freshness(expired + secs(900), max_stale, true),
            Freshness::Expired
        );
        assert_eq!(expiry.freshness(now, None, true), Freshness::Expired);
        // A success starts a new cycle without backoff.
        let renewed = Expiry::new(now, &policy, &mut spread, false);
        assert!(renewed.retry_at.is_none());
    }
}
