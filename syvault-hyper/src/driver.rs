//! The loop that runs the core's operations: step under the lock, then send, sleep or wait
//! without it. The lock is a `std` mutex held only for one synchronous step, never across an
//! await. Background work the core asks for runs the same way in tasks of its own, which hold
//! the client weakly: once every handle is dropped, they stop at their next step.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::SystemTime;

use syvault_proto::ops::{Background, Deadline, Operation};
use syvault_proto::rand_core::UnwrapErr;
use syvault_proto::step::{Input, Request, Step};
use syvault_proto::{Client, Error, Result, Timestamp};
use tokio::sync::Notify;
use tokio::sync::futures::Notified;

use crate::transport::Transport;

/// What every clone of a client shares.
#[derive(Debug)]
pub(crate) struct Shared {
    core: Mutex<Client>,
    /// Notified whenever an operation ends, so that operations waiting on another one's fetch
    /// (`Step::Join`) look again.
    finished: Notify,
    /// How many operations wait on `finished`. Counted under the lock, so a finishing operation
    /// that reads zero after its last step cannot miss a waiter, and skips the notification
    /// when nobody waits.
    waiting: AtomicUsize,
    pub(crate) transport: Transport,
    /// The client's snapshot file, and the writes to it.
    pub(crate) snapshot: crate::snapshot::SnapshotFile,
}

/// One operation counted in [`Shared::waiting`] until it stops waiting, however that happens.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The operating system's random number generator; it only fails if the OS cannot provide
/// randomness at all, which no client could survive.
pub(crate) fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

pub(crate) fn now() -> Timestamp {
    Timestamp::from(SystemTime::now())
}

pub(crate) async fn sleep_until(until: Timestamp) {
    tokio::time::sleep(until.saturating_duration_since(now())).await;
}

/// What to do after a step, decided while the lock was held.
enum Next<'a, T> {
    Send(Request),
    Sleep(Timestamp),
    Join(Timestamp, Pin<Box<Notified<'a>>>, Waiting<'a>),
    Done(Result<T>),
}

impl Shared {
    pub(crate) fn new(core: Client, transport: Transport) -> Self {
        Self {
            core: Mutex::new(core),
            finished: Notify::new(),
            waiting: AtomicUsize::new(0),
            transport,
            snapshot: crate::snapshot::SnapshotFile::default(),
        }
    }

    /// The core state. A panic in another task does not leave it half-updated in a way that
    /// matters more than losing the client would, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Client> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the operations waiting for another one to finish, if there are any.
    fn wake_waiters(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.finished.notify_waiters();
        }
    }

    /// Runs `op` to completion, within the client's operation timeout, then starts the
    /// background work the core wants done, if any. Dropping the future part-way abandons the
    /// operation cleanly.
    pub(crate) fn run<O: Operation>(self: &Arc<Self>, op: O) -> Run<'_, Deadline<O>> {
        Run {
            state: RunState::Start(Running::new(Deadline::new(op), self)),
        }
    }

    /// [`Shared::run`] of an operation that could not be made: its future ends with `error`.
    pub(crate) fn run_made<O: Operation>(self: &Arc<Self>, op: Result<O>) -> Run<'_, Deadline<O>> {
        match op {
            Ok(op) => self.run(op),
            Err(error) => Run {
                state: RunState::Failed(error),
            },
        }
    }
}

/// The future of [`Shared::run`]. Its first poll takes the operation's first step where the
/// operation lies: one that ends there (a cache hit) costs one lock and no allocation, and its
/// result goes straight back, without being moved from frame to frame (values of a different
/// shape read back soon after they were written cost the processor more than the moves do).
/// The rest, which waits on the network anyway, is the loop of [`Running::drive`] in a box of
/// its own, so that this future stays small.
pub(crate) struct Run<'a, O: Operation> {
    state: RunState<'a, O>,
}

enum RunState<'a, O: Operation> {
    Start(Running<'a, O>),
    Driving(Pin<Box<dyn Future<Output = Result<O::Output>> + Send + 'a>>),
    Failed(Error),
    Finished,
}

impl<'a, O> Future for Run<'a, O>
where
    O: Operation + Send + Unpin + 'a,
    O::Output: Send,
{
    type Output = Result<O::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let running = match &mut this.state {
            RunState::Start(running) => running,
            RunState::Driving(driving) => {
                let polled = driving.as_mut().poll(cx);
                if polled.is_ready() {
                    this.state = RunState::Finished;
                }
                return polled;
            }
            RunState::Failed(_) | RunState::Finished => {
                return match std::mem::replace(&mut this.state, RunState::Finished) {
                    RunState::Failed(error) => Poll::Ready(Err(error)),
                    _ => Poll::Ready(Err(polled_after_completion())),
                };
            }
        };
        #[cfg(feature = "tracing")]
        if let Some(span) = span(&running.op) {
            use tracing::Instrument as _;
            let RunState::Start(mut running) =
                std::mem::replace(&mut this.state, RunState::Finished)
            else {
                return Poll::Ready(Err(polled_after_completion()));
            };
            let traced = async move {
                let next = running.step(Input::Start);
                running.drive(next).await
            };
            this.state = RunState::Driving(Box::pin(traced.instrument(span)));
            return Pin::new(this).poll(cx);
        }
        match running.step(Input::Start) {
            Next::Done(result) => {
                let shared = running.shared;
                // The operation is done: it is dropped where it lies.
                this.state = RunState::Finished;
                shared.wake_waiters();
                Poll::Ready(result)
            }
            next => {
                let RunState::Start(running) =
                    std::mem::replace(&mut this.state, RunState::Finished)
                else {
                    return Poll::Ready(Err(polled_after_completion()));
                };
                this.state = RunState::Driving(Box::pin(running.drive(next)));
                Pin::new(this).poll(cx)
            }
        }
    }
}

/// The span to run `op` in, if something listens at debug level. Unless something does, no
/// span is made (one atomic load): a cache hit stays as cheap as it is without the feature.
#[cfg(feature = "tracing")]
fn span<O: Operation>(op: &O) -> Option<tracing::Span> {
    if !tracing::level_enabled!(tracing::Level::DEBUG) {
        return None;
    }
    let span = syvault_proto::ops::span(op);
    (!span.is_disabled()).then_some(span)
}

/// A driver bug, reported rather than a panic.
#[cold]
fn polled_after_completion() -> Error {
    Error::InvalidInput {
        what: "future",
        reason: "polled after it completed".to_owned(),
    }
}

#[cfg(not(feature = "tracing"))]
async fn send_logged(transport: &Transport, request: Request) -> Input {
    transport.send(request).await
}

/// Sends one request and logs it at debug level: method, path, status and duration only,
/// never a header, a query string or a body, since those may carry tokens and secrets.
#[cfg(feature = "tracing")]
async fn send_logged(transport: &Transport, request: Request) -> Input {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return transport.send(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let input = transport.send(request).await;
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

/// An operation in progress. If its future is dropped before it finished, it tells the core,
/// so that operations waiting on its fetch take over instead of waiting in vain.
struct Running<'a, O: Operation> {
    op: O,
    shared: &'a Arc<Shared>,
    done: bool,
}

impl<'a, O: Operation> Running<'a, O> {
    fn new(op: O, shared: &'a Arc<Shared>) -> Self {
        Self {
            op,
            shared,
            done: false,
        }
    }

    /// Steps the operation under the lock and decides what to do next.
    // Inlined, so that a cache hit's one step does not copy its input into another frame.
    #[inline]
    fn step(&mut self, input: Input) -> Next<'a, O::Output> {
        let shared = self.shared;
        let mut core = shared.lock();
        let stepped_at = now();
        match self.op.step(&mut core, input, stepped_at, &mut rng()) {
            Step::Send(request) => Next::Send(request),
            Step::Sleep(until) => Next::Sleep(until),
            Step::Join(until) => {
                // Registered before the lock is released: a fetch that ends after this step
                // cannot be missed.
                let mut notified = Box::pin(shared.finished.notified());
                notified.as_mut().enable();
                Next::Join(until, notified, Waiting::start(&shared.waiting))
            }
            Step::Done(result) => {
                self.done = true;
                let snapshot = core.snapshot_due(stepped_at);
                if let Some(mut job) = core.take_background(stepped_at) {
                    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                        drop(core);
                        let weak = Arc::downgrade(shared);
                        drop(runtime.spawn(run_background(weak, job)));
                    } else {
                        // Outside a tokio runtime there is nowhere to run it.
                        job.abandon(&mut core);
                    }
                } else {
                    drop(core);
                }
                if let Some(at) = snapshot {
                    crate::snapshot::schedule(shared, at);
                }
                Next::Done(result)
            }
        }
    }

    /// Sends, sleeps and waits as the operation asks, until it is done.
    async fn drive(mut self, mut next: Next<'a, O::Output>) -> Result<O::Output> {
        loop {
            let input = match next {
                Next::Send(request) => send_logged(&self.shared.transport, request).await,
                Next::Sleep(until) => {
                    sleep_until(until).await;
                    Input::Wake
                }
                Next::Join(until, notified, waiting) => {
                    let wait = until.saturating_duration_since(now());
                    // Either outcome means "look again".
                    let _ = tokio::time::timeout(wait, notified).await;
                    drop(waiting);
                    Input::Wake
                }
                Next::Done(result) => return self.finish(result),
            };
            next = self.step(input);
        }
    }

    #[inline]
    fn finish(self, result: Result<O::Output>) -> Result<O::Output> {
        self.shared.wake_waiters();
        result
    }
}

impl<O: Operation> Drop for Running<'_, O> {
    fn drop(&mut self) {
        if !self.done {
            self.op.abandon(&mut self.shared.lock());
            self.shared.wake_waiters();
        }
    }
}

/// The background task: like [`Shared::run`], but holding the client only for each step and
/// each request, so that dropping the last handle ends it; it takes the next job when one
/// ends.
pub(crate) async fn run_background(weak: Weak<Shared>, job: Background) {
    let mut running = RunningBackground {
        job,
        weak,
        done: false,
    };
    let mut input = Input::Start;
    loop {
        let Some(shared) = running.weak.upgrade() else {
            // The client is gone, and with it what the job would refresh.
            running.done = true;
            return;
        };
        let stepped_at = now();
        let step = running
            .job
            .step(&mut shared.lock(), input, stepped_at, &mut rng());
        input = match step {
            Step::Send(request) => send_logged(&shared.transport, request).await,
            Step::Sleep(until) | Step::Join(until) => {
                drop(shared);
                sleep_until(until).await;
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

/// A background job in progress: if its task is dropped (the runtime shuts down), the core is
/// told, as for [`Running`].
struct RunningBackground {
    job: Background,
    weak: Weak<Shared>,
    done: bool,
}

impl Drop for RunningBackground {
    fn drop(&mut self) {
        if !self.done
            && let Some(shared) = self.weak.upgrade()
        {
            self.job.abandon(&mut shared.lock());
            shared.wake_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use syvault_dev::{DevServer, RunningServer};
    use syvault_proto::ops::GetSecret;

    use super::*;
    use crate::AsyncSyVaultClient;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    /// A client that read the demo's `Database` secret (TTL 10 s, no jitter) and a background
    /// refresh of it, taken as if a read had asked for it 9 s later.
    fn refresh_of_a_read_secret(
        runtime: &tokio::runtime::Runtime,
    ) -> (RunningServer, AsyncSyVaultClient, Background) {
        let server = DevServer::start_blocking(DevServer::builder()).expect("server");
        let demo = server.seed_demo().expect("demo");
        let client = AsyncSyVaultClient::builder()
            .credentials(demo.credentials)
            .cache_ttl(Duration::from_secs(10))
            .cache_jitter_percent(0)
            .build()
            .expect("client");
        runtime
            .block_on(client.secrets().get(demo.database_uid.as_str()))
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

    #[test]
    fn background_work_runs_while_the_client_lives() {
        let runtime = runtime();
        let (server, client, job) = refresh_of_a_read_secret(&runtime);
        let before = server.stats().total();
        runtime.block_on(run_background(Arc::downgrade(&client.shared), job));
        assert_eq!(server.stats().total(), before + 1);
        assert_eq!(client.stats().background_refreshes, 1);
    }

    #[test]
    fn background_work_of_a_dropped_client_does_nothing() {
        let runtime = runtime();
        let (server, client, job) = refresh_of_a_read_secret(&runtime);
        let weak = Arc::downgrade(&client.shared);
        let before = server.stats().total();
        drop(client);
        runtime.block_on(run_background(weak, job));
        assert_eq!(
            server.stats().total(),
            before,
            "no request after the client is gone"
        );
    }
}
