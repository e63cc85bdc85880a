//! Fault injection: make the server misbehave on purpose, switchable while it runs.
//!
//! Faults are rules consumed in the order they were injected. Each request takes at most one
//! rule: the first whose path prefix matches and that has uses left. Corrupted ciphertext is
//! taken only by answers that carry records, so it is never wasted on other requests. Latency
//! and record swaps stay in force until changed or [`Faults::clear`]ed.
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
pub enum FaultStatus {
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
            Self::TooManyRequests => ErrorCode::RateLimited,
            Self::InternalServerError => ErrorCode::Internal,
            Self::ServiceUnavailable => ErrorCode::Unavailable,
        }
    }
}

/// What an injected fault does to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

    /// Removes every rule, the latency and the swaps.
    pub fn clear(&self) {
        let mut state = lock(&self.inner);
        state.rules.clear();
        state.latency = Duration::ZERO;
        state.swaps.clear();
    }

    /// How many injected uses are left over all rules.
    pub fn pending(&self) -> u32 {
        lock(&self.inner).rules.iter().map(|rule| rule.times).sum()
    }

    /// The latency to add to each answer.
    pub(crate) fn latency(&self) -> Duration {
        lock(&self.inner).latency
    }

    /// Takes one use of the first matching rule that is not about ciphertext.
    pub(crate) fn take(&self, path: &str) -> Option<FaultKind> {
        self.take_matching(path, false)
    }

    /// Takes one use of the first matching ciphertext-corruption rule.
    pub(crate) fn take_corruption(&self, path: &str) -> bool {
        self.take_matching(path, true).is_some()
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
}
