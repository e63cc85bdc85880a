//! Fault injection: make the server misbehave on purpose, switchable while it runs.
//!
//! Faults are rules consumed in the order they were injected. Each request takes at most one
//! rule: the first whose path prefix matches and that has uses left. Corrupted ciphertext is
//! taken only by answers that carry records, so it is never wasted on other requests. Latency
//! and record swaps stay in force until changed or [`Faults::clear`]ed.
//!
//! [`Faults::ignore_since`] makes the server one that does not know incremental listings.
//!
//! [`Chaos`] draws faults at random instead, from a seed: every request without a rule may get
//! latency, an error status with or without `Retry-After`, a dropped connection, a truncated
//! body, corrupted ciphertext or another record's ciphertext.
//!
//! ```
//! use std::time::Duration;
//! use syvault_dev::faults::{Fault, FaultStatus, Faults};
//!
//! let faults = Faults::default();
//! faults.inject(Fault::status(FaultStatus::ServiceUnavailable).times(2).on_path("/api/sm/v1/secrets"));
//! faults.set_latency(Duration::from_millis(20));
//! assert_eq!(faults.pending(), 2);
//! faults.clear();
//! assert_eq!(faults.pending(), 0);
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use syvault_proto::RecordUid;
use syvault_proto::error::ErrorCode;

use crate::lock::lock;

/// The error statuses a [`Fault::status`] can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultStatus {
    /// 401 `unauthorized`, as a server answers a token it no longer accepts. [`Chaos`] never
    /// draws it: it is not a failure to retry.
    Unauthorized,
    /// 429 `rate_limited`.
    TooManyRequests,
    /// 500 `internal`.
    InternalServerError,
    /// 503 `unavailable`.
    ServiceUnavailable,
}

impl FaultStatus {
    pub(crate) fn code(self) -> ErrorCode {
        match self {
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::TooManyRequests => ErrorCode::RateLimited,
            Self::InternalServerError => ErrorCode::Internal,
            Self::ServiceUnavailable => ErrorCode::Unavailable,
        }
    }
}

/// What an injected fault does to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with an error envelope and this status, plus `Retry-After` when set.
    Status {
        /// The status.
        status: FaultStatus,
        /// The `Retry-After` header in seconds, if any.
        retry_after: Option<u64>,
    },
    /// Close the connection without answering.
    DropConnection,
    /// Announce the whole body in `Content-Length` but send only half of it, then close.
    TruncateBody,
    /// Flip a bit in the `encrypted_data` of every record in the answer.
    CorruptCiphertext,
}

/// Random faults drawn from a seed, for chaos testing: see [`Faults::set_chaos`].
///
/// ```
/// use std::time::Duration;
/// use syvault_dev::faults::{Chaos, Faults};
///
/// let faults = Faults::default();
/// faults.set_chaos(Some(Chaos::new(7).percent(25).max_latency(Duration::from_millis(5))));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chaos {
    seed: u64,
    percent: u8,
    max_latency: Duration,
}

impl Chaos {
    /// Faults drawn from `seed`: by default 20 % of requests fail in one of the ways of
    /// [`FaultKind`], 5 % of record answers are corrupted, 5 % of records are served with
    /// another record's ciphertext, and every answer is delayed by up to 10 ms.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            percent: 20,
            max_latency: Duration::from_millis(10),
        }
    }

    /// The share of requests (0 to 100) that fail; a quarter of it applies to corruption and
    /// to swapped ciphertext.
    #[must_use]
    pub fn percent(mut self, percent: u8) -> Self {
        self.percent = percent.min(100);
        self
    }

    /// The longest random delay added to an answer.
    #[must_use]
    pub fn max_latency(mut self, max: Duration) -> Self {
        self.max_latency = max;
        self
    }
}

/// The state of a running [`Chaos`]: its settings and a generator (`SplitMix64`).
#[derive(Debug)]
struct ChaosState {
    chaos: Chaos,
    state: u64,
}

impl ChaosState {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn fault(&mut self) -> Option<FaultKind> {
        if !self.chance(u64::from(self.chaos.percent)) {
            return None;
        }
        let retry_after = match self.next() % 3 {
            0 => None,
            n => Some(n - 1),
        };
        let status = |status| FaultKind::Status {
            status,
            retry_after,
        };
        Some(match self.next() % 5 {
            0 => status(FaultStatus::TooManyRequests),
            1 => status(FaultStatus::InternalServerError),
            2 => status(FaultStatus::ServiceUnavailable),
            3 => FaultKind::DropConnection,
            _ => FaultKind::TruncateBody,
        })
    }

    fn latency(&mut self) -> Duration {
        let max = u64::try_from(self.chaos.max_latency.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(self.next() % max.saturating_add(1))
    }
}

/// A rule for the next requests: what to do, how many times, and to which paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    kind: FaultKind,
    times: u32,
    path_prefix: Option<String>,
}

impl Fault {
    /// Answer with `status` and `Retry-After: 1` (change it with [`Fault::retry_after`]).
    pub fn status(status: FaultStatus) -> Self {
        Self::new(FaultKind::Status {
            status,
            retry_after: Some(1),
        })
    }

    /// Close the connection without an answer.
    pub fn drop_connection() -> Self {
        Self::new(FaultKind::DropConnection)
    }

    /// Send half of the answer's body, then close.
    pub fn truncate_body() -> Self {
        Self::new(FaultKind::TruncateBody)
    }

    /// Corrupt the ciphertext of the records in the answer.
    pub fn corrupt_ciphertext() -> Self {
        Self::new(FaultKind::CorruptCiphertext)
    }

    fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            times: 1,
            path_prefix: None,
        }
    }

    /// Applies to the next `n` matching requests instead of one.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    /// Applies only to requests whose path starts with `prefix`, such as `/api/sm/v1/secrets`.
    #[must_use]
    pub fn on_path(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Sets the `Retry-After` of a status fault in seconds; `None` sends no header.
    #[must_use]
    pub fn retry_after(mut self, secs: Option<u64>) -> Self {
        if let FaultKind::Status { retry_after, .. } = &mut self.kind {
            *retry_after = secs;
        }
        self
    }

    /// What the fault does.
    pub fn kind(&self) -> FaultKind {
        self.kind
    }

    fn matches(&self, path: &str, corrupting: bool) -> bool {
        self.times > 0
            && corrupting == (self.kind == FaultKind::CorruptCiphertext)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
    }
}

/// The fault switches of a running server. Cheap to clone; all clones act on the same server.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
}

#[derive(Debug, Default)]
struct FaultState {
    rules: Vec<Fault>,
    latency: Duration,
    /// Each swapped UID maps to the UID whose ciphertext is served in its place.
    swaps: BTreeMap<RecordUid, RecordUid>,
    chaos: Option<ChaosState>,
    ignore_since: bool,
}

impl Faults {
    /// Adds a rule after those already waiting.
    pub fn inject(&self, fault: Fault) {
        lock(&self.inner).rules.push(fault);
    }

    /// Delays every answer by `latency` (zero to stop).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.inner).latency = latency;
    }

    /// Serves record `a`'s ciphertext under UID `b` and the other way round, as a server
    /// mixing up records would, until cleared.
    pub fn swap_records(&self, a: RecordUid, b: RecordUid) {
        let mut state = lock(&self.inner);
        state.swaps.insert(a, b);
        state.swaps.insert(b, a);
    }

    /// Makes the server one that does not know incremental listings (`true`) or back
    /// (`false`): `since` is ignored as an unknown parameter, every listing is answered in
    /// full and no page carries a sync token. Tokens handed out before stay valid for when
    /// it is switched back, as after a downgrade and an upgrade of a real server.
    pub fn ignore_since(&self, ignore: bool) {
        lock(&self.inner).ignore_since = ignore;
    }

    /// Removes every rule, the latency, the swaps, the chaos and [`Faults::ignore_since`].
    pub fn clear(&self) {
        let mut state = lock(&self.inner);
        state.rules.clear();
        state.latency = Duration::ZERO;
        state.swaps.clear();
        state.chaos = None;
        state.ignore_since = false;
    }

    /// Whether `since` is to be ignored.
    pub(crate) fn ignores_since(&self) -> bool {
        lock(&self.inner).ignore_since
    }

    /// Starts drawing random faults for requests that no rule takes (`None` to stop).
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        lock(&self.inner).chaos = chaos.map(|chaos| ChaosState {
            chaos,
            state: chaos.seed,
        });
    }

    /// How many injected uses are left over all rules.
    pub fn pending(&self) -> u32 {
        lock(&self.inner).rules.iter().map(|rule| rule.times).sum()
    }

    /// The latency to add to each answer.
    pub(crate) fn latency(&self) -> Duration {
        let mut state = lock(&self.inner);
        let random = state
            .chaos
            .as_mut()
            .map_or(Duration::ZERO, ChaosState::latency);
        state.latency + random
    }

    /// Takes one use of the first matching rule that is not about ciphertext.
    pub(crate) fn take(&self, path: &str) -> Option<FaultKind> {
        self.take_matching(path, false)
            .or_else(|| lock(&self.inner).chaos.as_mut()?.fault())
    }

    /// Takes one use of the first matching ciphertext-corruption rule.
    pub(crate) fn take_corruption(&self, path: &str) -> bool {
        self.take_matching(path, true).is_some() || self.chaos_chance()
    }

    /// Whether chaos picks this occasion, with a quarter of its failure share.
    fn chaos_chance(&self) -> bool {
        let mut state = lock(&self.inner);
        state.chaos.as_mut().is_some_and(|chaos| {
            let percent = u64::from(chaos.chaos.percent) / 4;
            chaos.chance(percent)
        })
    }

    /// Whether chaos serves this record with another record's ciphertext.
    pub(crate) fn chaos_swap(&self) -> bool {
        self.chaos_chance()
    }

    fn take_matching(&self, path: &str, corrupting: bool) -> Option<FaultKind> {
        let mut state = lock(&self.inner);
        let index = state
            .rules
            .iter()
            .position(|rule| rule.matches(path, corrupting))?;
        let rule = &mut state.rules[index];
        rule.times -= 1;
        let kind = rule.kind;
        if rule.times == 0 {
            state.rules.remove(index);
        }
        Some(kind)
    }

    /// The UID whose ciphertext is served for `uid`, if it is swapped.
    pub(crate) fn swapped_with(&self, uid: &RecordUid) -> Option<RecordUid> {
        lock(&self.inner).swaps.get(uid).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_taken_in_order_by_prefix_and_count() {
        let faults = Faults::default();
        faults.inject(Fault::drop_connection().on_path("/a"));
        faults.inject(Fault::status(FaultStatus::TooManyRequests).times(2));
        faults.inject(Fault::corrupt_ciphertext());
        assert!(matches!(faults.take("/b"), Some(FaultKind::Status { .. })));
        assert_eq!(faults.take("/a"), Some(FaultKind::DropConnection));
        assert!(matches!(faults.take("/a"), Some(FaultKind::Status { .. })));
        assert_eq!(faults.take("/a"), None);
        assert!(faults.take_corruption("/x"));
        assert!(!faults.take_corruption("/x"));
        assert_eq!(faults.pending(), 0);
    }

    #[test]
    fn chaos_draws_every_kind_from_its_seed() {
        let draws = |seed| {
            let faults = Faults::default();
            faults.set_chaos(Some(Chaos::new(seed).percent(100)));
            (0..200).map(|_| faults.take("/x")).collect::<Vec<_>>()
        };
        let first = draws(3);
        assert_eq!(first, draws(3), "the same seed draws the same faults");
        assert_ne!(first, draws(4));
        assert!(first.iter().all(Option::is_some));
        for kind in [FaultKind::DropConnection, FaultKind::TruncateBody] {
            assert!(first.contains(&Some(kind)), "{kind:?}");
        }
        for status in [
            FaultStatus::TooManyRequests,
            FaultStatus::InternalServerError,
            FaultStatus::ServiceUnavailable,
        ] {
            assert!(first.iter().any(
                |kind| matches!(kind, Some(FaultKind::Status { status: s, .. }) if *s == status)
            ));
        }
        let faults = Faults::default();
        faults.set_chaos(Some(Chaos::new(1).percent(0)));
        assert!((0..100).all(|_| faults.take("/x").is_none() && !faults.take_corruption("/x")));
        faults.clear();
        assert_eq!(faults.latency(), Duration::ZERO);
    }
}
