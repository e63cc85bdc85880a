//! Keeping a lease alive: the renewal schedule as a pure state machine.

use core::time::Duration;

use rand_core::CryptoRng;
use uuid::Uuid;

use super::lease::{RenewLease, RevokeLease};
use super::{Operation, after_finish, pending};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::lease::{LATER_THAN_ASKED, LEASE_CAP, LEASE_SKEW, Lease, LeaseInfo};
use crate::retry::jitter;
use crate::step::{Input, Step};
use crate::time::Timestamp;

/// How far ahead of its end a lease that will not be renewed again is reported as
/// [`LeaseStatus::Expiring`], at most: a third of the TTL for shorter leases.
pub const DEFAULT_EXPIRING_MARGIN: Duration = Duration::from_secs(60);

/// Rounding of the server's whole-second timestamps.
const ROUNDING: Duration = Duration::from_secs(1);

/// Where a kept lease stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeaseStatus {
    /// Valid, and renewed on schedule.
    Active,
    /// Valid for a little longer only (the 24 h cap is reached, or renewals keep failing): the
    /// application should take a new lease now.
    Expiring,
    /// Past its end; the credential no longer works.
    Expired,
    /// Revoked on request.
    Revoked,
    /// A renewal or the revocation failed with an error a retry cannot fix; the keeper stopped.
    Failed,
}

/// A snapshot of a kept lease, for the application to watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeeperState {
    /// Where the lease stands.
    pub status: LeaseStatus,
    /// When the lease ends unless renewed.
    pub expires_at: Timestamp,
    /// When to take a new lease if this one has not been renewed by then.
    pub replace_at: Timestamp,
    /// How many renewals succeeded.
    pub renewals: u32,
}

/// How a kept lease ended, when the keeper ends without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeaseEnd {
    /// It reached its end (the 24 h cap, or renewals failed until it expired).
    Expired,
    /// It was revoked on request.
    Revoked,
}

/// Keeps a lease alive until it is revoked or can live no longer.
///
/// The schedule: after each renewal, the next one is due at about two thirds of the remaining
/// time (between one half and two thirds, jittered from the injected RNG so that many clients do
/// not renew in step), asking for the lease's TTL again. Once the server answers with less than
/// that TTL, or the lease reaches 24 h after its creation, it cannot be extended: the keeper stops
/// renewing, reports [`LeaseStatus::Expiring`] [`DEFAULT_EXPIRING_MARGIN`] (at most a third of
/// the TTL) ahead of the end, and finishes with [`LeaseEnd::Expired`] at the end.
///
/// A renewal that fails with a retryable error (after the request's own retries) is tried again
/// after a third of the remaining time; if the lease meanwhile enters its last margin it is
/// reported [`LeaseStatus::Expiring`]. That repeat is a retry like any other: when the client's
/// [`crate::retry::RetryBudget`] is spent, it waits until the budget allows it. A renewal that fails with any other error (such as
/// [`Error::LeaseNotFound`]) ends the keeper with that error and [`LeaseStatus::Failed`].
///
/// [`KeepLease::revoke`] asks for revocation: at its next step (the driver wakes it early) the
/// keeper revokes the lease and finishes with [`LeaseEnd::Revoked`]. Between steps a driver
/// reads [`KeepLease::status`], [`KeepLease::expires_at`] and [`KeepLease::replace_at`].
#[derive(Debug)]
pub struct KeepLease {
    lease_id: Uuid,
    ttl: Duration,
    cap: Timestamp,
    expires_at: Timestamp,
    margin: Duration,
    renew_at: Option<Timestamp>,
    /// The next renewal repeats one that failed: it draws on the retry budget.
    retrying: bool,
    revoke_requested: bool,
    renewals: u32,
    status: LeaseStatus,
    state: State,
}

#[derive(Debug)]
enum State {
    Idle,
    Renewing(RenewLease),
    Revoking(RevokeLease),
    Finished,
}

impl KeepLease {
    pub(crate) fn new(lease: &Lease, ttl: Duration) -> Self {
        Self::with_margin(&lease.info(), ttl, DEFAULT_EXPIRING_MARGIN)
    }

    /// A keeper for a lease whose TTL is `ttl`, reporting [`LeaseStatus::Expiring`] at most
    /// `margin` ahead of the end.
    pub fn with_margin(lease: &LeaseInfo, ttl: Duration, margin: Duration) -> Self {
        Self {
            lease_id: lease.lease_id,
            ttl,
            cap: lease.created_at + LEASE_CAP,
            expires_at: lease.expires_at,
            margin: margin.min(ttl / 3),
            renew_at: None,
            retrying: false,
            revoke_requested: false,
            renewals: 0,
            status: LeaseStatus::Active,
            state: State::Idle,
        }
    }

    /// The kept lease's id.
    pub fn lease_id(&self) -> Uuid {
        self.lease_id
    }

    /// Where the lease stands.
    pub fn status(&self) -> LeaseStatus {
        self.status
    }

    /// When the lease ends unless renewed.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// When the next renewal is due; `None` once the lease will not be renewed again.
    pub fn renew_at(&self) -> Option<Timestamp> {
        self.renew_at
    }

    /// When the application should take a new lease if this one is not renewed by then: the
    /// start of its last margin.
    pub fn replace_at(&self) -> Timestamp {
        self.expires_at - self.margin
    }

    /// How many renewals succeeded.
    pub fn renewals(&self) -> u32 {
        self.renewals
    }

    /// Status, expiry, replacement time and renewals at once.
    pub fn state(&self) -> KeeperState {
        KeeperState {
            status: self.status,
            expires_at: self.expires_at,
            replace_at: self.replace_at(),
            renewals: self.renewals,
        }
    }

    /// Asks for the lease to be revoked at the next step. A driver that is sleeping should wake
    /// the keeper (step it with [`Input::Wake`]) rather than wait for its alarm.
    pub fn revoke(&mut self) {
        self.revoke_requested = true;
    }

    fn schedule(&mut self, now: Timestamp, rng: &mut dyn CryptoRng) {
        let remaining = self.expires_at.saturating_duration_since(now);
        let extensible = self.expires_at + ROUNDING < self.cap;
        self.renew_at =
            extensible.then(|| now + remaining * 2 / 3 - jitter(remaining / 6, &mut *rng));
    }

    /// What to do when no request is running.
    fn idle(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<LeaseEnd> {
        if self.revoke_requested {
            let mut revoke = RevokeLease::new(self.lease_id);
            let step = revoke.step(client, Input::Start, now, rng);
            self.state = State::Revoking(revoke);
            return self.on_revoked(step);
        }
        if now >= self.expires_at {
            self.status = LeaseStatus::Expired;
            return self.finish(Ok(LeaseEnd::Expired));
        }
        if self.renew_at.is_some_and(|at| now >= at)
            && self.retrying
            && !client.session.try_retry(now)
        {
            // The budget's window slides: look again within half of it.
            let window = client
                .session
                .retry
                .budget
                .map_or(Duration::ZERO, |b| b.window);
            let remaining = self.expires_at.saturating_duration_since(now);
            let wait = (window / 4 + jitter(window / 4, &mut *rng)).min(remaining / 3);
            self.renew_at = Some(now + wait.max(Duration::from_secs(1)));
        }
        if self.renew_at.is_some_and(|at| now >= at) {
            let mut renew = RenewLease::new(self.lease_id, self.ttl);
            let step = renew.step(client, Input::Start, now, rng);
            self.state = State::Renewing(renew);
            return self.on_renewed(client, step, now, rng);
        }
        if now >= self.replace_at() {
            self.status = LeaseStatus::Expiring;
        }
        let mut wake = self.expires_at;
        if self.status == LeaseStatus::Active {
            wake = wake.min(self.replace_at());
        }
        if let Some(at) = self.renew_at {
            wake = wake.min(at);
        }
        self.state = State::Idle;
        Step::Sleep(wake)
    }

    fn on_renewed(
        &mut self,
        client: &mut Client,
        step: Step<LeaseInfo>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<LeaseEnd> {
        match pending(step) {
            Ok(step) => step,
            Err(Ok(info)) => {
                // A lease longer than asked or past the cap is not one the protocol lets a
                // server grant; taking it would keep credentials in use past their real end.
                if info.expires_at > now + self.ttl + LEASE_SKEW
                    || info.expires_at > self.cap + ROUNDING
                {
                    self.status = LeaseStatus::Failed;
                    return self.finish(Err(Error::malformed(200, LATER_THAN_ASKED)));
                }
                self.renewals += 1;
                self.retrying = false;
                self.expires_at = info.expires_at;
                self.schedule(now, rng);
                // An answer shorter than asked means the server capped the lease.
                if info.expires_at + ROUNDING < now + self.ttl {
                    self.renew_at = None;
                }
                self.status = LeaseStatus::Active;
                self.idle(client, now, rng)
            }
            Err(Err(error)) if error.is_retryable() => {
                let remaining = self.expires_at.saturating_duration_since(now);
                self.renew_at = Some(now + (remaining / 3).max(Duration::from_secs(1)));
                self.retrying = true;
                self.idle(client, now, rng)
            }
            Err(Err(error)) => {
                self.status = LeaseStatus::Failed;
                self.finish(Err(error))
            }
        }
    }

    fn on_revoked(&mut self, step: Step<()>) -> Step<LeaseEnd> {
        match pending(step) {
            Ok(step) => step,
            // Our own lease unknown to the server has already ended.
            Err(Ok(()) | Err(Error::LeaseNotFound { .. })) => {
                self.status = LeaseStatus::Revoked;
                self.finish(Ok(LeaseEnd::Revoked))
            }
            Err(Err(error)) => {
                self.status = LeaseStatus::Failed;
                self.finish(Err(error))
            }
        }
    }

    fn finish(&mut self, result: Result<LeaseEnd>) -> Step<LeaseEnd> {
        self.state = State::Finished;
        self.renew_at = None;
        Step::Done(result)
    }
}

impl Operation for KeepLease {
    type Output = LeaseEnd;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<LeaseEnd> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Idle => {
                if matches!(input, Input::Start) {
                    self.schedule(now, rng);
                }
                self.idle(client, now, rng)
            }
            State::Renewing(mut renew) => {
                let step = renew.step(client, input, now, rng);
                self.state = State::Renewing(renew);
                self.on_renewed(client, step, now, rng)
            }
            State::Revoking(mut revoke) => {
                let step = revoke.step(client, input, now, rng);
                self.state = State::Revoking(revoke);
                self.on_revoked(step)
            }
            State::Finished => Step::Done(Err(after_finish())),
        }
    }
}
