//! Wall-clock time as the caller supplies it.

use core::ops::{Add, Sub};
use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in wall-clock time, in milliseconds since the Unix epoch.
///
/// The core never reads a clock: every entry point that depends on time takes a `Timestamp` from
/// its caller. JWT claims need wall-clock time, and using the same value for cache and retry
/// timers keeps a single source of time per step. Arithmetic saturates, so a clock that steps
/// backwards can shorten or lengthen a wait but never panics.
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::Timestamp;
///
/// let t = Timestamp::from_unix_secs(1_700_000_000);
/// assert_eq!((t + Duration::from_secs(60)).as_unix_secs(), 1_700_000_060);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Self = Self(0);

    /// A timestamp from whole seconds since the Unix epoch.
    pub const fn from_unix_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub const fn as_unix_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is, or zero if it is not later.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl From<SystemTime> for Timestamp {
    /// Converts a wall-clock reading; times before the epoch become the epoch.
    // Drivers convert a clock reading on every step, cache hits included: inlined, and without
    // the 128-bit arithmetic of `Duration::as_millis`.
    #[inline]
    fn from(t: SystemTime) -> Self {
        let millis = t.duration_since(UNIX_EPOCH).map_or(0, |d| {
            d.as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(d.subsec_millis()))
        });
        Self(millis)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Self;

    fn add(self, rhs: Duration) -> Self {
        let millis = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(millis))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Self;

    fn sub(self, rhs: Duration) -> Self {
        let millis = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_sub(millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let t = Timestamp::from_unix_secs(10);
        assert_eq!(t - Duration::from_secs(20), Timestamp::EPOCH);
        assert_eq!(
            Timestamp::from_unix_millis(u64::MAX) + Duration::from_secs(1),
            Timestamp::from_unix_millis(u64::MAX)
        );
        assert_eq!(
            t.saturating_duration_since(t + Duration::from_secs(1)),
            Duration::ZERO
        );
    }

    #[test]
    fn converts_system_time() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(
            Timestamp::from(t),
            Timestamp::from_unix_millis(1_700_000_000_123)
        );
        assert_eq!(Timestamp::from(t).as_unix_secs(), 1_700_000_000);
        assert_eq!(Timestamp::from(UNIX_EPOCH), Timestamp::EPOCH);
        let before = UNIX_EPOCH.checked_sub(Duration::from_secs(1));
        if let Some(before) = before {
            assert_eq!(Timestamp::from(before), Timestamp::EPOCH);
        }
        let far = UNIX_EPOCH.checked_add(Duration::from_secs(u64::MAX / 100));
        if let Some(far) = far {
            assert_eq!(Timestamp::from(far), Timestamp::from_unix_millis(u64::MAX));
        }
    }
}
