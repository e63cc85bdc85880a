//! The loop that runs the core's operations: step under the lock, then send, sleep or wait
//! without it. Background work the core asks for runs the same way on threads of its own, which
//! hold the client weakly: once every handle is dropped, they stop at their next step.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::SystemTime;

use syvault_proto::ops::{Background, Operation};
use syvault_proto::rand_core::UnwrapErr;
use syvault_proto::step::{Input, Step};
use syvault_proto::{Client, Result, Timestamp};

use crate::transport::Transport;

/// What every clone of a client shares.
#[derive(Debug)]
pub(crate) struct Shared {
    core: Mutex<Client>,
    /// Signalled whenever an operation ends, so that operations waiting on another one's fetch
    /// (`Step::Join`) look again.
    finished: Condvar,
    /// How many operations wait on `finished`. Counted under the lock, so a finishing operation
    /// that reads zero after its last step cannot miss a waiter, and skips the wake-up (a
    /// system call) when nobody waits.
    waiting: AtomicUsize,
    pub(crate) transport: Transport,
    /// The client's snapshot file, and the writes to it.
    pub(crate) snapshot: crate::snapshot::SnapshotFile,
}

/// The operating system's random number generator; it only fails if the OS cannot provide
/// randomness at all, which no client could survive.
pub(crate) fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

pub(crate) fn now() -> Timestamp {
    Timestamp::from(SystemTime::now())
}

pub(crate) fn sleep_until(until: Timestamp) {
    std::thread::sleep(until.saturating_duration_since(now()));
}

impl Shared {
    pub(crate) fn new(core: Client, transport: Transport) -> Self {
        Self {
            core: Mutex::new(core),
            finished: Condvar::new(),
            waiting: AtomicUsize::new(0),
            transport,
            snapshot: crate::snapshot::SnapshotFile::default(),
        }
    }

    /// The core state. A panic in another thread does not leave it half-updated in a way that
    /// matters more than losing the client would, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Client> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the operations waiting for another one to finish, if there are any.
    fn wake_waiters(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.finished.notify_all();
        }
    }

    /// Runs `op` to completion within the client's operation timeout, then starts the
    /// background work the core wants done, if any.
    pub(crate) fn run<O: Operation>(self: &Arc<Self>, op: O) -> Result<O::Output> {
        let op = syvault_proto::ops::Deadline::new(op);
        // Unless something listens at debug level, no span is made (one atomic load): a cache
        // hit stays as cheap as it is without the feature.
        #[cfg(feature = "tracing")]
        let span = tracing::level_enabled!(tracing::Level::DEBUG)
            .then(|| syvault_proto::ops::span(&op))
            .filter(|span| !span.is_disabled());
        #[cfg(feature = "tracing")]
        let _entered = span.as_ref().map(tracing::Span::enter);
        let mut running = Running {
            op,
            shared: self,
            done: false,
        };
        let mut input = Input::Start;
        loop {
            let mut core = self.lock();
            let stepped_at = now();
            input = match running.op.step(&mut core, input, stepped_at, &mut rng()) {
                Step::Send(request) => {
                    drop(core);
                    send_logged(&self.transport, request)
                }
                Step::Sleep(until) => {
                    drop(core);
                    sleep_until(until);
                    Input::Wake
                }
                Step::Join(until) => {
                    // Waiting releases the lock atomically, so a finish cannot slip in between
                    // the step that saw the other fetch and the wait.
                    let timeout = until.saturating_duration_since(now());
                    self.waiting.fetch_add(1, Ordering::SeqCst);
                    let woken = self.finished.wait_timeout(core, timeout);
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    drop(woken);
                    Input::Wake
                }
                Step::Done(result) => {
                    running.done = true;
                    let background = core.take_background(stepped_at);
                    let snapshot = core.snapshot_due(stepped_at);
                    drop(core);
                    self.wake_waiters();
                    if let Some(job) = background {
                        self.spawn_background(job);
                    }
                    if let Some(at) = snapshot {
                        crate::snapshot::schedule(self, at);
                    }
                    return result;
                }
            };
        }
    }

    /// Runs background work on a thread of its own, which then takes more while there is any.
    fn spawn_background(self: &Arc<Self>, job: Background) {
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name("syvault-refresh".into())
            .spawn(move || run_background(&weak, job));
        // Without a thread the job is dropped; the core takes it for lost after a while and
        // reads revalidate in the foreground meanwhile.
        drop(spawned);
    }
}

/// The background loop: like [`Shared::run`], but holding the client only for each step and
/// each request, so that dropping the last handle ends it; it takes the next job when one
/// ends.
pub(crate) fn run_background(weak: &Weak<Shared>, job: Background) {
    let mut running = RunningBackground {
        job,
        weak,
        done: false,
    };
    let mut input = Input::Start;
    loop {
        let Some(shared) = weak.upgrade() else {
            // The client is gone, and with it what the job would refresh.
            running.done = true;
            return;
        };
        let stepped_at = now();
        let step = running
            .job
            .step(&mut shared.lock(), input, stepped_at, &mut rng());
        input = match step {
            Step::Send(request) => send_logged(&shared.transport, request),
            Step::Sleep(until) | Step::Join(until) => {
                drop(shared);
                sleep_until(until);
                Input::Wake
            }
            Step::Done(_) => {
                let (next, snapshot) = {
                    let mut core = shared.lock();
                    (
                        core.take_background(stepped_at),
                        core.snapshot_due(stepped_at),
                    )
                };
                shared.wake_waiters();
                if let Some(at) = snapshot {
                    crate::snapshot::schedule(&shared, at);
                }
                let Some(job) = next else {
                    running.done = true;
                    return;
                };
                running.job = job;
                Input::Start
            }
        };
    }
}

/// A background job in progress: if its thread unwinds, the core is told, as for
/// [`Running`].
struct RunningBackground<'a> {
    job: Background,
    weak: &'a Weak<Shared>,
    done: bool,
}

impl Drop for RunningBackground<'_> {
    fn drop(&mut self) {
        if !self.done
            && let Some(shared) = self.weak.upgrade()
        {
            self.job.abandon(&mut shared.lock());
            shared.wake_waiters();
        }
    }
}

#[cfg(not(feature = "tracing"))]
fn send_logged(transport: &Transport, request: syvault_proto::step::Request) -> Input {
    transport.send(request)
}

/// Sends one request and logs it at debug level: method, path, status and duration only,
/// never a header, a query string or a body, since those may carry tokens and secrets.
#[cfg(feature = "tracing")]
fn send_logged(transport: &Transport, request: syvault_proto::step::Request) -> Input {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return transport.send(request);
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let input = transport.send(request);
    let elapsed_ms = started.elapsed().as_millis();
    match &input {
        Input::Response(response) => tracing::debug!(
            %method, %path, status = response.status().as_u16(), elapsed_ms, "request"
        ),
        Input::Failed(error) => {
            tracing::debug!(%method, %path, %error, elapsed_ms, "request failed");
        }
        Input::Start | Input::Wake => {}
    }
    input
}

/// An operation in progress. If it is dropped before it finished (a panic unwinding through the
/// loop), it tells the core so that operations waiting on its fetch take over.
struct Running<'a, O: Operation> {
    op: O,
    shared: &'a Shared,
    done: bool,
}

impl<O: Operation> Drop for Running<'_, O> {
    fn drop(&mut self) {
        if !self.done {
            self.op.abandon(&mut self.shared.lock());
            self.shared.wake_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use syvault_dev::DevServer;
    use syvault_proto::ops::GetSecret;

    use super::*;
    use crate::SyVaultClient;

    /// A client that read the demo's `Database` secret (TTL 10 s, no jitter) and a background
    /// refresh of it, taken as if a read had asked for it 9 s later.
    fn refresh_of_a_read_secret() -> (syvault_dev::RunningServer, SyVaultClient, Background) {
        let server = DevServer::start_blocking(DevServer::builder()).expect("server");
        let demo = server.seed_demo().expect("demo");
        let client = SyVaultClient::builder()
            .credentials(demo.credentials)
            .cache_ttl(Duration::from_secs(10))
            .cache_jitter_percent(0)
            .build()
            .expect("client");
        client
            .secrets()
            .get(demo.database_uid.as_str())
            .expect("get");
        let later = now() + Duration::from_secs(9);
        let mut core = client.shared.lock();
        let mut read = GetSecret::new(demo.database_uid);
        let step = read.step(&mut core, Input::Start, later, &mut rng());
        assert!(matches!(step, Step::Done(Ok(_))), "served at once");
        let job = core.take_background(later).expect("a refresh asked for");
        drop(core);
        (server, client, job)
    }

    fn requests(server: &syvault_dev::RunningServer) -> u64 {
        server.stats().total()
    }

    #[test]
    fn background_work_runs_while_the_client_lives() {
        let (server, client, job) = refresh_of_a_read_secret();
        let before = requests(&server);
        run_background(&Arc::downgrade(&client.shared), job);
        assert_eq!(requests(&server), before + 1);
        assert_eq!(client.stats().background_refreshes, 1);
    }

    #[test]
    fn background_work_of_a_dropped_client_does_nothing() {
        let (server, client, job) = refresh_of_a_read_secret();
        let weak = Arc::downgrade(&client.shared);
        let before = requests(&server);
        drop(client);
        run_background(&weak, job);
        assert_eq!(
            requests(&server),
            before,
            "no request after the client is gone"
        );
    }

    #[test]
    fn background_work_of_a_closed_client_sends_nothing() {
        let (server, client, job) = refresh_of_a_read_secret();
        let before = requests(&server);
        client.close();
        run_background(&Arc::downgrade(&client.shared), job);
        assert_eq!(requests(&server), before);
    }
}
