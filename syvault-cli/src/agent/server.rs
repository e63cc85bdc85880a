//! The daemon: its client, its socket, its connections and its signals.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use syvault_hyper::proto::builder::{FromConfig as _, TransportSettings};
use syvault_hyper::proto::config::ClientConfig;
use syvault_hyper::{AsyncSyVaultClient, SecretString, Uuid};
use tokio::net::UnixStream;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::listener::{self, Bound, Peers};
use super::routes::{self, State};
use crate::cli::{AgentArgs, DEFAULT_TIMEOUT, Global};
use crate::credentials;
use crate::failure::Failure;

/// How long a client may take to send a request's headers, and how long an idle connection
/// is kept.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight may take to finish once the agent is told to stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest read buffer of a connection, and so the largest request head.
const MAX_HEAD: usize = 64 * 1024;

/// What the command line sets besides the credentials.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The limit on each operation a request asks for, retries included.
    pub(crate) timeout: Duration,
    pub(crate) cache_ttl: Option<Duration>,
    pub(crate) max_stale: Option<Duration>,
    pub(crate) refresh_ahead: Option<u8>,
    pub(crate) snapshot: Option<std::path::PathBuf>,
    pub(crate) snapshot_debounce: Option<Duration>,
    pub(crate) max_connections: usize,
}

impl Settings {
    fn from_args(args: &AgentArgs, global: &Global) -> Result<Self, Failure> {
        Ok(Self {
            timeout: global.timeout(DEFAULT_TIMEOUT)?,
            cache_ttl: args.cache_ttl.map(Into::into),
            max_stale: args.max_stale.map(Into::into),
            refresh_ahead: args.refresh_ahead,
            snapshot: args.snapshot_file(),
            snapshot_debounce: args.snapshot_debounce.map(Into::into),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        })
    }
}

/// Who the client is: a SIGHUP that reads the same identity keeps the client and its cache.
#[derive(Debug, PartialEq, Eq)]
struct Identity {
    server: String,
    client_id: Uuid,
    secret: SecretString,
}

/// `sy agent`: serves until SIGTERM or SIGINT.
pub(crate) fn run(global: &Global, args: &AgentArgs) -> Result<(), Failure> {
    let peers = Peers::new(Peers::own_uid(), args.allow_uids.clone());
    let path = if let Some(path) = &args.socket {
        path.clone()
    } else {
        let path = listener::default_path()?;
        if let Some(dir) = path.parent() {
            listener::prepare_default_dir(dir, Peers::own_uid())?;
        }
        path
    };
    let settings = Settings::from_args(args, global)?;
    // One thread: a cached answer takes microseconds, and the multi-threaded scheduler's
    // statistics call `pow`, which would make every `sy` process load libm at start
    // (docs/performance.md). Snapshot writes go to tokio's blocking threads either way.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("sy-agent")
        .build()
        .map_err(|error| Failure::operation(format!("cannot start the runtime: {error}")))?;
    runtime.block_on(async {
        let (client, identity) = build_client(global, &settings)?;
        // The messages of failed operations name the limit, as `sy` does, and the server of
        // the client that failed (which a SIGHUP may replace), not a server recorded here.
        crate::failure::set_limit(settings.timeout);
        let bound = listener::bind(&path, peers.socket_mode())?;
        tracing::info!(
            socket = %path.display(),
            server = %identity.server,
            client_id = %identity.client_id,
            "agent listening"
        );
        let state = Arc::new(State::new(client));
        let reload = |current: &mut Identity| reload(global, &settings, &state, current);
        serve(
            bound,
            Arc::clone(&state),
            peers,
            &settings,
            peer_uid,
            identity,
            reload,
        )
        .await
    })
}

/// The effective uid of the process at the other end, as the kernel recorded it at connect.
fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    stream.peer_cred().map(|credentials| credentials.uid())
}

/// Builds the client of the command line's credentials with the agent's settings.
fn build_client(
    global: &Global,
    settings: &Settings,
) -> Result<(AsyncSyVaultClient, Identity), Failure> {
    let (config, transport, identity) = configure(global, settings)?;
    let client = AsyncSyVaultClient::from_config(config, transport)?;
    Ok((client, identity))
}

/// Reads the credentials and applies the agent's settings, without building the client yet.
fn configure(
    global: &Global,
    settings: &Settings,
) -> Result<(ClientConfig, TransportSettings, Identity), Failure> {
    let (mut builder, _) = credentials::configured(global)?;
    builder = builder.operation_timeout(settings.timeout);
    if let Some(ttl) = settings.cache_ttl {
        builder = builder.cache_ttl(ttl);
    }
    if let Some(max_stale) = settings.max_stale {
        builder = builder.max_stale(max_stale);
    }
    if let Some(percent) = settings.refresh_ahead {
        builder = builder.refresh_ahead_percent(percent);
    }
    if let Some(path) = &settings.snapshot {
        builder = builder.snapshot(path);
    }
    if let Some(debounce) = settings.snapshot_debounce {
        builder = builder.snapshot_debounce(debounce);
    }
    let (config, transport) = builder.into_parts()?;
    let identity = Identity {
        server: config.server.clone(),
        client_id: config.client_id,
        secret: config.client_secret.clone(),
    };
    Ok((config, transport, identity))
}

/// SIGHUP: reads the credentials again. Another identity or server gets a new client (and
/// cache); requests in flight finish with the old one. A file that cannot be read leaves the
/// current client serving.
fn reload(global: &Global, settings: &Settings, state: &State, current: &mut Identity) {
    let built = configure(global, settings).and_then(|(config, transport, identity)| {
        if identity == *current {
            return Ok(None);
        }
        let client = AsyncSyVaultClient::from_config(config, transport)?;
        Ok(Some((client, identity)))
    });
    match built {
        Ok(None) => {
            tracing::info!("SIGHUP: credentials unchanged; the client and its cache stay");
        }
        Ok(Some((client, identity))) => {
            tracing::info!(
                server = %identity.server,
                client_id = %identity.client_id,
                "SIGHUP: new credentials; a new client serves from now on"
            );
            drop(state.replace_client(client));
            *current = identity;
        }
        Err(failure) => {
            tracing::warn!(
                reason = %failure.into_lines().join("; "),
                "SIGHUP: the credentials could not be read again; the current client stays"
            );
        }
    }
}

/// Accepts and serves connections until SIGTERM or SIGINT, then drains them.
async fn serve<U, R>(
    bound: Bound,
    state: Arc<State>,
    peers: Peers,
    settings: &Settings,
    peer_uid: U,
    mut identity: Identity,
    mut reload: R,
) -> Result<(), Failure>
where
    U: Fn(&UnixStream) -> io::Result<u32>,
    R: FnMut(&mut Identity),
{
    let signals = |kind: SignalKind| {
        signal(kind)
            .map_err(|error| Failure::operation(format!("cannot listen for signals: {error}")))
    };
    let mut terminate = signals(SignalKind::terminate())?;
    let mut interrupt = signals(SignalKind::interrupt())?;
    let mut hangup = signals(SignalKind::hangup())?;
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        // A connection is accepted only once a slot is free: excess clients wait in the
        // kernel's backlog instead of each holding a task here.
        let accepted = async {
            let slot = Arc::clone(&slots).acquire_owned().await;
            (slot, bound.listener.accept().await)
        };
        tokio::select! {
            (slot, accepted) = accepted => match accepted {
                Ok((stream, _)) => {
                    let uid = peer_uid(&stream);
                    let serve = connection(stream, uid, Arc::clone(&state), peers.clone(), stopping.clone());
                    connections.spawn(async move {
                        serve.await;
                        drop(slot);
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next() => {}
            _ = hangup.recv() => reload(&mut identity),
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    // No new connections: the socket goes first, then the requests in flight finish.
    bound.remove();
    drop(bound);
    let _ = stop.send(true);
    tracing::info!(
        connections = connections.len(),
        "stopping: draining the requests in flight"
    );
    let drain = async { while connections.join_next().await.is_some() {} };
    tokio::select! {
        () = drain => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("requests still in flight after the drain timeout: abandoned");
        }
        _ = terminate.recv() => tracing::warn!("stopped again: requests in flight abandoned"),
        _ = interrupt.recv() => tracing::warn!("stopped again: requests in flight abandoned"),
    }
    connections.abort_all();
    let client = state.client();
    if settings.snapshot.is_some() {
        match client.write_snapshot().await {
            Ok(()) => tracing::info!("snapshot written"),
            Err(error) => tracing::warn!(%error, "writing the snapshot failed"),
        }
    }
    tracing::info!("agent stopped");
    Ok(())
}

/// Serves one connection: an allowed peer gets the API, any other user a 403 for every
/// request, answered without looking at the client.
async fn connection(
    stream: UnixStream,
    uid: io::Result<u32>,
    state: Arc<State>,
    peers: Peers,
    mut stopping: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD);
    let io = TokioIo::new(stream);
    let uid = match uid {
        Ok(uid) if peers.allows(uid) => uid,
        Ok(uid) => {
            state.metrics.refused();
            tracing::warn!(
                uid,
                "refused a connection of a user this agent does not serve"
            );
            builder.keep_alive(false);
            let service = service_fn(move |_| async move {
                Ok::<_, std::convert::Infallible>(routes::refused(uid))
            });
            let _ = builder.serve_connection(io, service).await;
            return;
        }
        Err(error) => {
            state.metrics.refused();
            tracing::warn!(%error, "refused a connection whose user could not be read");
            return;
        }
    };
    state.metrics.connected();
    let service = service_fn(move |request| routes::serve(Arc::clone(&state), request));
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let stop = async {
        // The guard the wait returns is not kept across the drain below.
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop => {
            // Finishes the request in flight, if any, and closes.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(uid, %error, "connection ended with an error");
    }
}

/// The socket a test agent listens on, and the task serving it.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::PathBuf;

    use super::*;

    /// Serves `client` on `path` as an agent whose peers all look like `uid` to it, until
    /// the process gets SIGTERM (tests drop the runtime instead).
    pub(crate) async fn serve_as(
        path: PathBuf,
        client: AsyncSyVaultClient,
        own: u32,
        uid: u32,
    ) -> Result<(), Failure> {
        let bound = listener::bind(&path, 0o600)?;
        let settings = Settings {
            timeout: crate::cli::DEFAULT_TIMEOUT,
            cache_ttl: None,
            max_stale: None,
            refresh_ahead: None,
            snapshot: None,
            snapshot_debounce: None,
            max_connections: 4,
        };
        let identity = Identity {
            server: client.server(),
            client_id: client.client_id(),
            secret: SecretString::default(),
        };
        let state = Arc::new(State::new(client));
        serve(
            bound,
            state,
            Peers::new(own, vec![]),
            &settings,
            move |_| Ok(uid),
            identity,
            |_| {},
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::testing::serve_as;
    use crate::agent::client::Agent;
    use crate::failure::Kind;

    /// The client key of the protocol's test vectors (syvault-proto/tests/vectors/keys.json).
    const CLIENT_SECRET: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgya+p2EW6dRZrXCFXZ7HWk05Qw9s26JsSe4piKxIPZyGhRANCAARg/tS6JVqdMclh63TGNW1owEm4kjth+mzmaWIuYPKftnkD/hAIuLyZpBrp6VYovGTy8bIMLX6fUXejwpTURiKZ";

    fn client() -> syvault_hyper::AsyncSyVaultClient {
        // Nothing listens there: a request that reached the client fails to connect, once.
        syvault_hyper::AsyncSyVaultClient::builder()
            .server("http://127.0.0.1:9")
            .client_id(syvault_hyper::Uuid::nil())
            .client_secret(CLIENT_SECRET)
            .retry(syvault_hyper::RetryPolicy::default().with_max_attempts(1))
            .build()
            .unwrap()
    }

    /// Through a real socket, with the peer's uid injected: another user is refused before
    /// anything reaches the client, and its own user gets through.
    #[test]
    fn the_peer_check_refuses_other_users_and_serves_the_own() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for (uid, refused) in [(4242, true), (1000, false)] {
            let path = dir.path().join(format!("agent-{uid}.sock"));
            let served = path.clone();
            let _guard = runtime.enter();
            runtime.spawn(async move { serve_as(served, client(), 1000, uid).await });
            while !path.exists() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let agent = Agent::new(&path, std::time::Duration::from_secs(30));
            let failure = agent
                .read("sy://Production/Database/field/password")
                .unwrap_err();
            assert_eq!(failure.kind(), Kind::Operation);
            let line = failure.into_lines().remove(0);
            if refused {
                assert_eq!(line, "this agent does not serve user 4242");
            } else {
                assert!(
                    line.starts_with("cannot connect to"),
                    "the client was asked: {line}"
                );
            }
        }
    }
}
