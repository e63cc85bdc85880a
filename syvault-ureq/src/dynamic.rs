//! Dynamic secrets: leased database credentials and a thread that keeps a lease alive.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use syvault_proto::error::TransportErrorKind;
use syvault_proto::lease::{Lease, LeaseInfo};
use syvault_proto::ops::{KeeperState, LeaseEnd, Operation};
use syvault_proto::step::{Input, Step};
use syvault_proto::{Error, RecordUid, Result, Timestamp};
use uuid::Uuid;

use crate::client::SyVaultClient;
use crate::driver::{Shared, rng};

/// How long closing (or dropping) a keeper waits for the revocation.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The dynamic-secret operations, from [`SyVaultClient::dynamic`]. Each call blocks until it
/// is done, retries included.
#[derive(Clone, Copy, Debug)]
pub struct Dynamic<'a> {
    pub(crate) client: &'a SyVaultClient,
}

impl Dynamic<'_> {
    /// Takes a lease on a dynamic target: a temporary database role with a random password,
    /// valid for `ttl` (60 s to 24 h). The request is retried safely: its `Idempotency-Key`
    /// makes a retry return the same lease.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let lease = client.dynamic().lease("7Kj9mNpQ2xRs", Duration::from_secs(3600))?;
    /// connect(lease.connection_string.expose());
    /// # fn connect(_: &str) {}
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn lease(&self, uid: &str, ttl: Duration) -> Result<Lease> {
        let uid: RecordUid = uid.parse()?;
        let op = self.client.shared.lock().lease(uid, ttl);
        self.client.shared.run(op)
    }

    /// Renews a lease for `ttl` from now; the server caps it at 24 h after its creation.
    pub fn renew(&self, lease_id: Uuid, ttl: Duration) -> Result<LeaseInfo> {
        let op = self.client.shared.lock().renew_lease(lease_id, ttl);
        self.client.shared.run(op)
    }

    /// Revokes a lease now: its role's sessions end and the role is dropped.
    pub fn revoke(&self, lease_id: Uuid) -> Result<()> {
        let op = self.client.shared.lock().revoke_lease(lease_id);
        self.client.shared.run(op)
    }

    /// This client's active leases, without passwords.
    pub fn leases(&self) -> Result<Vec<LeaseInfo>> {
        let op = self.client.shared.lock().leases();
        self.client.shared.run(op)
    }

    /// Keeps `lease` (taken with `ttl`) alive on a background thread: it renews at about two
    /// thirds of the remaining time until the 24 h cap, and revokes the lease when the keeper
    /// is closed or dropped, waiting at most [`DEFAULT_CLOSE_TIMEOUT`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use syvault_ureq::LeaseStatus;
    ///
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let ttl = Duration::from_secs(600);
    /// let lease = client.dynamic().lease("7Kj9mNpQ2xRs", ttl)?;
    /// let keeper = client.dynamic().keep(&lease, ttl)?;
    /// // … use lease.username and lease.password …
    /// if keeper.state().status == LeaseStatus::Expiring {
    ///     // take a new lease
    /// }
    /// keeper.close()?; // revokes
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn keep(&self, lease: &Lease, ttl: Duration) -> Result<LeaseKeeper> {
        LeaseKeeper::spawn(Arc::clone(&self.client.shared), lease, ttl)
    }
}

/// What the keeper thread and its handle share.
#[derive(Debug)]
struct Signal {
    state: Mutex<(bool, KeeperState)>,
    changed: Condvar,
}

impl Signal {
    fn lock(&self) -> std::sync::MutexGuard<'_, (bool, KeeperState)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A lease kept alive by a background thread; see [`Dynamic::keep`].
///
/// Dropping it revokes the lease like [`LeaseKeeper::close`], waiting at most the close
/// timeout.
#[derive(Debug)]
pub struct LeaseKeeper {
    lease_id: Uuid,
    signal: Arc<Signal>,
    result: Option<mpsc::Receiver<Result<LeaseEnd>>>,
    thread: Option<JoinHandle<()>>,
    close_timeout: Duration,
}

impl LeaseKeeper {
    fn spawn(shared: Arc<Shared>, lease: &Lease, ttl: Duration) -> Result<Self> {
        let mut keeper = shared.lock().keep_lease(lease, ttl);
        let signal = Arc::new(Signal {
            state: Mutex::new((false, keeper.state())),
            changed: Condvar::new(),
        });
        let (done, result) = mpsc::channel();
        let thread_signal = Arc::clone(&signal);
        let thread = std::thread::Builder::new()
            .name("syvault-lease-keeper".into())
            .spawn(move || {
                let _ = done.send(keep(&shared, &mut keeper, &thread_signal));
            })
            .map_err(|error| {
                Error::transport_caused_by(
                    TransportErrorKind::Other,
                    "cannot start the lease keeper thread",
                    error,
                )
            })?;
        Ok(Self {
            lease_id: lease.lease_id,
            signal,
            result: Some(result),
            thread: Some(thread),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
        })
    }

    /// The kept lease's id.
    pub fn lease_id(&self) -> Uuid {
        self.lease_id
    }

    /// Where the lease stands now: status, expiry, when to replace it, renewals so far.
    pub fn state(&self) -> KeeperState {
        self.signal.lock().1
    }

    /// Waits until the state differs from `seen` or `timeout` passes, and returns it.
    pub fn wait_for_change(&self, seen: &KeeperState, timeout: Duration) -> KeeperState {
        let guard = self.signal.lock();
        let (guard, _) = self
            .signal
            .changed
            .wait_timeout_while(guard, timeout, |(_, state)| state == seen)
            .unwrap_or_else(PoisonError::into_inner);
        guard.1
    }

    /// Sets how long closing or dropping waits for the revocation.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Revokes the lease and stops the thread, waiting at most the close timeout. A lease that
    /// already expired or whose keeper failed reports how it ended.
    pub fn close(mut self) -> Result<LeaseEnd> {
        self.finish()
    }

    fn finish(&mut self) -> Result<LeaseEnd> {
        {
            let mut state = self.signal.lock();
            state.0 = true;
        }
        self.signal.changed.notify_all();
        let Some(result) = self.result.take() else {
            return Err(closed());
        };
        match result.recv_timeout(self.close_timeout) {
            Ok(outcome) => {
                if let Some(thread) = self.thread.take() {
                    let _ = thread.join();
                }
                outcome
            }
            // The thread is left to finish its request; it holds no lock the caller needs.
            Err(_) => Err(Error::transport(
                TransportErrorKind::Timeout,
                "revoking the lease did not finish in time",
            )),
        }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        if self.result.is_some() {
            let _ = self.finish();
        }
    }
}

fn closed() -> Error {
    Error::transport(TransportErrorKind::Other, "the lease keeper is closed")
}

fn now() -> Timestamp {
    Timestamp::from(SystemTime::now())
}

/// The keeper thread: steps the core's schedule, sleeping on the condition variable so that a
/// close wakes it at once.
fn keep(
    shared: &Shared,
    keeper: &mut syvault_proto::ops::KeepLease,
    signal: &Signal,
) -> Result<LeaseEnd> {
    let mut input = Input::Start;
    let mut revoking = false;
    loop {
        if !revoking && signal.lock().0 {
            keeper.revoke();
            revoking = true;
        }
        let step = {
            let mut core = shared.lock();
            keeper.step(&mut core, input, now(), &mut rng())
        };
        {
            let mut state = signal.lock();
            if state.1 != keeper.state() {
                state.1 = keeper.state();
                signal.changed.notify_all();
            }
        }
        input = match step {
            Step::Send(request) => shared.transport.send(request),
            Step::Sleep(until) | Step::Join(until) => {
                let guard = signal.lock();
                let timeout = until.saturating_duration_since(now());
                drop(
                    signal
                        .changed
                        .wait_timeout_while(guard, timeout, |(close, _)| !*close)
                        .unwrap_or_else(PoisonError::into_inner),
                );
                Input::Wake
            }
            Step::Done(result) => return result,
        };
    }
}
