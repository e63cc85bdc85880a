//! Dynamic secrets: leased database credentials and a task that keeps a lease alive.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use syvault_proto::error::TransportErrorKind;
use syvault_proto::lease::{Lease, LeaseInfo};
use syvault_proto::ops::{KeepLease, KeeperState, LeaseEnd, Operation};
use syvault_proto::step::{Input, Step};
use syvault_proto::{Error, RecordUid, Result, Timestamp};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::client::AsyncSyVaultClient;
use crate::driver::{Shared, rng};

/// How long closing (or dropping) a keeper gives the revocation.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The dynamic-secret operations, from [`AsyncSyVaultClient::dynamic`].
#[derive(Clone, Copy, Debug)]
pub struct Dynamic<'a> {
    pub(crate) client: &'a AsyncSyVaultClient,
}

impl Dynamic<'_> {
    /// Takes a lease on a dynamic target: a temporary database role with a random password,
    /// valid for `ttl` (60 s to 24 h). The request is retried safely: its `Idempotency-Key`
    /// makes a retry return the same lease.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// # async fn run() -> syvault_hyper::Result<()> {
    /// let client = syvault_hyper::AsyncSyVaultClient::from_env()?;
    /// let lease = client.dynamic().lease("7Kj9mNpQ2xRs", Duration::from_secs(3600)).await?;
    /// connect(lease.connection_string.expose());
    /// # Ok(()) }
    /// # fn connect(_: &str) {}
    /// ```
    pub async fn lease(&self, uid: &str, ttl: Duration) -> Result<Lease> {
        let uid: RecordUid = uid.parse()?;
        let op = self.client.shared.lock().lease(uid, ttl);
        self.client.shared.run(op).await
    }

    /// Renews a lease for `ttl` from now; the server caps it at 24 h after its creation.
    pub async fn renew(&self, lease_id: Uuid, ttl: Duration) -> Result<LeaseInfo> {
        let op = self.client.shared.lock().renew_lease(lease_id, ttl);
        self.client.shared.run(op).await
    }

    /// Revokes a lease now: its role's sessions end and the role is dropped.
    pub async fn revoke(&self, lease_id: Uuid) -> Result<()> {
        let op = self.client.shared.lock().revoke_lease(lease_id);
        self.client.shared.run(op).await
    }

    /// This client's active leases, without passwords.
    pub async fn leases(&self) -> Result<Vec<LeaseInfo>> {
        let op = self.client.shared.lock().leases();
        self.client.shared.run(op).await
    }

    /// Keeps `lease` (taken with `ttl`) alive in a task on the current tokio runtime: it
    /// renews at about two thirds of the remaining time until the 24 h cap, and revokes the
    /// lease when the keeper is closed or dropped, within [`DEFAULT_CLOSE_TIMEOUT`]. Outside a
    /// runtime this is an error.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use syvault_hyper::LeaseStatus;
    ///
    /// # async fn run() -> syvault_hyper::Result<()> {
    /// let client = syvault_hyper::AsyncSyVaultClient::from_env()?;
    /// let ttl = Duration::from_secs(600);
    /// let lease = client.dynamic().lease("7Kj9mNpQ2xRs", ttl).await?;
    /// let keeper = client.dynamic().keep(&lease, ttl)?;
    /// let mut state = keeper.watch();
    /// while state.changed().await.is_ok() {
    ///     if state.borrow().status == LeaseStatus::Expiring {
    ///         break; // take a new lease
    ///     }
    /// }
    /// keeper.close().await?; // revokes
    /// # Ok(()) }
    /// ```
    pub fn keep(&self, lease: &Lease, ttl: Duration) -> Result<AsyncLeaseKeeper> {
        AsyncLeaseKeeper::spawn(Arc::clone(&self.client.shared), lease, ttl)
    }
}

/// A lease kept alive by a task; see [`Dynamic::keep`].
///
/// Dropping it asks the task to revoke the lease; the task then gives up after the close
/// timeout. [`AsyncLeaseKeeper::close`] does the same and waits for the outcome.
#[derive(Debug)]
pub struct AsyncLeaseKeeper {
    lease_id: Uuid,
    close: watch::Sender<Option<Duration>>,
    state: watch::Receiver<KeeperState>,
    task: Option<JoinHandle<Result<LeaseEnd>>>,
    close_timeout: Duration,
}

impl AsyncLeaseKeeper {
    fn spawn(shared: Arc<Shared>, lease: &Lease, ttl: Duration) -> Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::InvalidInput {
            what: "lease keeper",
            reason: "must be started inside a tokio runtime".into(),
        })?;
        let keeper = shared.lock().keep_lease(lease, ttl);
        let (state_tx, state) = watch::channel(keeper.state());
        let (close, close_rx) = watch::channel(None);
        let task = runtime.spawn(keep(shared, keeper, state_tx, close_rx));
        Ok(Self {
            lease_id: lease.lease_id,
            close,
            state,
            task: Some(task),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
        })
    }

    /// The kept lease's id.
    pub fn lease_id(&self) -> Uuid {
        self.lease_id
    }

    /// Where the lease stands now: status, expiry, when to replace it, renewals so far.
    pub fn state(&self) -> KeeperState {
        *self.state.borrow()
    }

    /// A receiver that sees every change of [`AsyncLeaseKeeper::state`].
    pub fn watch(&self) -> watch::Receiver<KeeperState> {
        self.state.clone()
    }

    /// Sets how long closing or dropping gives the revocation.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Revokes the lease and ends the task, within the close timeout. A lease that already
    /// expired or whose keeper failed reports how it ended.
    pub async fn close(mut self) -> Result<LeaseEnd> {
        let _ = self.close.send(Some(self.close_timeout));
        let Some(task) = self.task.take() else {
            return Err(closed());
        };
        // The task bounds itself; the margin covers its last step.
        match tokio::time::timeout(self.close_timeout + Duration::from_secs(1), task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(closed()),
            Err(_) => Err(timed_out()),
        }
    }
}

impl Drop for AsyncLeaseKeeper {
    fn drop(&mut self) {
        // The task revokes on its own, bounded by the close timeout.
        let _ = self.close.send(Some(self.close_timeout));
    }
}

fn closed() -> Error {
    Error::transport(
        TransportErrorKind::Other,
        "the lease keeper task ended abnormally",
    )
}

fn timed_out() -> Error {
    Error::transport(
        TransportErrorKind::Timeout,
        "revoking the lease did not finish in time",
    )
}

fn now() -> Timestamp {
    Timestamp::from(SystemTime::now())
}

/// The keeper task: steps the core's schedule; a close request interrupts its sleep and, from
/// then on, every step must finish before the close deadline.
async fn keep(
    shared: Arc<Shared>,
    mut keeper: KeepLease,
    state: watch::Sender<KeeperState>,
    mut close: watch::Receiver<Option<Duration>>,
) -> Result<LeaseEnd> {
    let mut input = Input::Start;
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if deadline.is_none()
            && let Some(timeout) = *close.borrow()
        {
            keeper.revoke();
            deadline = Some(tokio::time::Instant::now() + timeout);
        }
        let step = {
            let mut core = shared.lock();
            keeper.step(&mut core, input, now(), &mut rng())
        };
        state.send_if_modified(|current| {
            let changed = *current != keeper.state();
            *current = keeper.state();
            changed
        });
        input = match step {
            Step::Send(request) => match deadline {
                None => shared.transport.send(request).await,
                Some(deadline) => {
                    match tokio::time::timeout_at(deadline, shared.transport.send(request)).await {
                        Ok(input) => input,
                        Err(_) => return Err(timed_out()),
                    }
                }
            },
            Step::Sleep(until) | Step::Join(until) => {
                let sleep = tokio::time::sleep(until.saturating_duration_since(now()));
                if deadline.is_none() {
                    tokio::select! {
                        () = sleep => {}
                        // A close request, or the handle gone without one: revoke either way.
                        _ = close.changed() => {}
                    }
                } else {
                    sleep.await;
                }
                Input::Wake
            }
            Step::Done(result) => return result,
        };
    }
}
