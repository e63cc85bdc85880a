//! Starting, serving and stopping the server.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::HeaderValue;
use http::header::CONNECTION;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use uuid::Uuid;

use crate::admin::{Admin, AdminKeys, DEFAULT_TOKEN_LIFETIME};
use crate::auth::Authenticator;
use crate::cors::Cors;
use crate::cursor::CursorKey;
use crate::demo::{self, DemoSeed};
use crate::error::{Error, Result};
use crate::faults::Faults;
use crate::progress::WriteDeadline;
use crate::service::{self, App};
use crate::state::{Store, VaultState};
use crate::stats::Stats;
use crate::sync::{DEFAULT_SYNC_LOG_CAPACITY, DEFAULT_SYNC_RETENTION};
use crate::tls::ClientIdentity;
use crate::{clock, dynamic, persist, rotation, tls};

/// How long the rotation worker waits before each step unless configured otherwise.
pub const DEFAULT_ROTATION_DELAY: Duration = Duration::from_millis(250);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long open connections get to finish at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a client may take to send a request body unless configured otherwise.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections are served at once unless configured otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// How long a write to a client may stay blocked unless configured otherwise.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many requests one connection is served unless configured otherwise.
pub const DEFAULT_MAX_REQUESTS_PER_CONNECTION: usize = 1000;

/// Settings of a server to start.
///
/// ```
/// use std::time::Duration;
/// use syvault_dev::DevServer;
///
/// let builder = DevServer::builder().rotation_delay(Duration::from_millis(10));
/// # let _ = builder;
/// ```
#[derive(Clone, Debug)]
pub struct DevServerBuilder {
    addr: SocketAddr,
    tls_dir: Option<PathBuf>,
    require_client_certificates: bool,
    data_file: Option<PathBuf>,
    rotation_delay: Duration,
    token_lifetime: Duration,
    body_timeout: Duration,
    max_connections: usize,
    write_timeout: Duration,
    max_requests_per_connection: usize,
    incremental_listings: bool,
    sync_retention: Duration,
    sync_log_capacity: usize,
    /// Redacted in `Debug`: it holds the database admin's password.
    postgres_admin_url: Option<syvault_proto::SecretString>,
    postgres_timeout: Duration,
    max_leases_per_client: usize,
    orphan_sweep_interval: Duration,
    cors_origins: Vec<String>,
}

impl Default for DevServerBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            tls_dir: None,
            require_client_certificates: false,
            data_file: None,
            rotation_delay: DEFAULT_ROTATION_DELAY,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_requests_per_connection: DEFAULT_MAX_REQUESTS_PER_CONNECTION,
            incremental_listings: true,
            sync_retention: DEFAULT_SYNC_RETENTION,
            sync_log_capacity: DEFAULT_SYNC_LOG_CAPACITY,
            postgres_admin_url: None,
            postgres_timeout: dynamic::DEFAULT_DATABASE_TIMEOUT,
            max_leases_per_client: dynamic::DEFAULT_MAX_LEASES_PER_CLIENT,
            orphan_sweep_interval: dynamic::DEFAULT_ORPHAN_SWEEP_INTERVAL,
            cors_origins: Vec::new(),
        }
    }
}

impl DevServerBuilder {
    /// The address to listen on; `127.0.0.1:0` (a free loopback port) by default.
    #[must_use]
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Serve HTTPS with a development CA kept in `dir` (see the `tls` files described in the
    /// crate documentation); plain HTTP when `None`, the default.
    #[must_use]
    pub fn tls_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.tls_dir = dir;
        self
    }

    /// With [`DevServerBuilder::tls_dir`], accept only clients that present a certificate
    /// signed by a client CA the server generates into the same directory (`client-ca.pem`,
    /// with `client.pem` and `client-key.pem` for a client to use). Off by default.
    #[must_use]
    pub fn require_client_certificates(mut self, require: bool) -> Self {
        self.require_client_certificates = require;
        self
    }

    /// Persist the state in `file`, loading it at start if it exists; in memory when `None`,
    /// the default.
    #[must_use]
    pub fn data_file(mut self, file: Option<PathBuf>) -> Self {
        self.data_file = file;
        self
    }

    /// How long a rotation waits before becoming `running`, and again before finishing.
    #[must_use]
    pub fn rotation_delay(mut self, delay: Duration) -> Self {
        self.rotation_delay = delay;
        self
    }

    /// How long new one-time tokens stay valid; 24 hours by default.
    #[must_use]
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// How long a client may take to send a whole request body, from the end of its headers;
    /// [`DEFAULT_BODY_TIMEOUT`] by default. A slower client gets `408` and the connection is
    /// closed, so a client that announces a body and never sends it cannot hold a connection.
    #[must_use]
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// How many connections are served at once; [`DEFAULT_MAX_CONNECTIONS`] by default, and
    /// at least 1. Further connections wait in the listen backlog until one closes.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a write of an answer may stay blocked because the client does not read;
    /// [`DEFAULT_WRITE_TIMEOUT`] by default. The connection is then closed, so a client that
    /// sends requests (pipelined or not) and never reads the answers cannot hold a connection
    /// slot. The clock restarts whenever a write makes progress.
    #[must_use]
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// How many requests one connection is served, pipelined or one after the other;
    /// [`DEFAULT_MAX_REQUESTS_PER_CONNECTION`] by default, and at least 1. The last answer
    /// carries `Connection: close`, the connection closes after it and requests the client
    /// pipelined behind it are not read; clients reconnect.
    #[must_use]
    pub fn max_requests_per_connection(mut self, max: usize) -> Self {
        self.max_requests_per_connection = max.max(1);
        self
    }

    /// Whether listings are incremental (on by default): full listings end with a sync token
    /// and `GET /secrets?since=TOKEN` answers what changed since it. Off, the server is one
    /// that does not know `since`: it ignores the parameter, as the protocol says unknown
    /// parameters are, answers every listing in full and never sends a sync token. For
    /// testing clients against such servers; [`Faults::ignore_since`] switches the same
    /// behaviour while the server runs.
    ///
    /// [`Faults::ignore_since`]: crate::Faults::ignore_since
    #[must_use]
    pub fn incremental_listings(mut self, on: bool) -> Self {
        self.incremental_listings = on;
        self
    }

    /// How long the change log behind incremental listings keeps a change;
    /// [`DEFAULT_SYNC_RETENTION`] (a day) by default. A sync token older than the oldest change
    /// kept is answered 410 `sync_token_expired`, and its client lists in full.
    #[must_use]
    pub fn sync_retention(mut self, retention: Duration) -> Self {
        self.sync_retention = retention;
        self
    }

    /// How many changes the change log keeps at most; [`DEFAULT_SYNC_LOG_CAPACITY`] by
    /// default. The oldest go first, and tokens from before them are answered 410.
    #[must_use]
    pub fn sync_log_capacity(mut self, capacity: usize) -> Self {
        self.sync_log_capacity = capacity;
        self
    }

    /// Binds dynamic secrets and rotation to the PostgreSQL server at `url` (such as
    /// `postgresql://postgres:password@127.0.0.1:5432/postgres`), connected with the rights to
    /// create, alter and drop roles. The URL never appears in logs, errors or answers. Without
    /// it (the default) no secret can be a dynamic target and rotation changes records only.
    #[must_use]
    pub fn postgres_admin_url(mut self, url: Option<String>) -> Self {
        self.postgres_admin_url = url.map(syvault_proto::SecretString::new);
        self
    }

    /// How long one call to the PostgreSQL server may take: connecting, and each lease
    /// creation, renewal, revocation or rotation with all its statements; 10 seconds by
    /// default. It is also the server-side `statement_timeout` and `lock_timeout` of the
    /// admin sessions. A call that runs out is answered 502 `target_unavailable`.
    #[must_use]
    pub fn postgres_timeout(mut self, timeout: Duration) -> Self {
        self.postgres_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How many active leases one client may hold at once;
    /// [`DEFAULT_MAX_LEASES_PER_CLIENT`](crate::DEFAULT_MAX_LEASES_PER_CLIENT) (20) by
    /// default. A lease request past it is answered 409 `lease_limit_reached`.
    #[must_use]
    pub fn max_leases_per_client(mut self, limit: usize) -> Self {
        self.max_leases_per_client = limit;
        self
    }

    /// How often the server drops the leased roles (`vf_tmp_…`) on the PostgreSQL server that
    /// none of its leases holds, besides once at start-up;
    /// [`DEFAULT_ORPHAN_SWEEP_INTERVAL`](crate::DEFAULT_ORPHAN_SWEEP_INTERVAL) (5 minutes) by
    /// default, at least 10 ms.
    #[must_use]
    pub fn orphan_sweep_interval(mut self, interval: Duration) -> Self {
        self.orphan_sweep_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Lets browser pages of `origin` (exactly `scheme://host[:port]`, such as
    /// `http://127.0.0.1:5173`) call the API across origins: preflights from it are answered,
    /// and answers to it carry `Access-Control-Allow-Origin` and expose `ETag` and
    /// `Retry-After` (protocol §3.1). Call it once per origin. No origin is allowed by default,
    /// `*` never, and credentials mode never: clients send a bearer token, not cookies. An
    /// origin that is not one makes [`DevServerBuilder::start`] fail with
    /// [`Error::InvalidOrigin`].
    #[must_use]
    pub fn cors_origin(mut self, origin: impl Into<String>) -> Self {
        self.cors_origins.push(origin.into());
        self
    }

    /// The dynamic-secrets side the options describe.
    fn dynamic(&self) -> Result<dynamic::Dynamic> {
        dynamic::Dynamic::new(
            self.postgres_admin_url.as_ref(),
            self.postgres_timeout,
            self.max_leases_per_client,
        )
    }

    /// Starts the server on the current tokio runtime.
    pub async fn start(self) -> Result<DevServer> {
        let cors = Cors::new(&self.cors_origins)?;
        let (vault, keys) = match &self.data_file {
            Some(path) => persist::load(path)?.unwrap_or_default(),
            None => (VaultState::default(), AdminKeys::default()),
        };
        let tls = self
            .tls_dir
            .as_deref()
            .map(|dir| tls::load_or_generate(dir, self.require_client_certificates))
            .transpose()?;
        if self.require_client_certificates && tls.is_none() {
            return Err(Error::Tls(
                "client certificates need a TLS directory".into(),
            ));
        }
        let listener = TcpListener::bind(self.addr)
            .await
            .map_err(|e| Error::io(format!("binding {}", self.addr), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the bound address", e))?;
        let url = server_url(tls.is_some(), addr);

        let store = Arc::new(Store::new(vault));
        let list_key = store.write(|vault| {
            vault
                .sync
                .start(self.sync_retention, self.sync_log_capacity, clock::now());
            vault.sync.key().clone()
        });
        let unfinished = reset_unfinished_rotations(&store);
        let admin = Admin::new(keys, Arc::clone(&store), self.token_lifetime);
        let dynamic = Arc::new(self.dynamic()?);
        admin.attach_dynamic(Arc::clone(&dynamic));
        let (jobs, job_queue) = mpsc::unbounded_channel();
        let faults = Faults::default();
        let stats = Stats::default();
        let app = Arc::new(App {
            store: Arc::clone(&store),
            auth: Authenticator::new(audiences(tls.is_some(), addr, &url)),
            faults: faults.clone(),
            stats: stats.clone(),
            rotations: jobs.clone(),
            cursors: CursorKey::new(&list_key),
            incremental: self.incremental_listings,
            body_timeout: self.body_timeout,
            dynamic: Arc::clone(&dynamic),
            cors,
        });

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = vec![rotation::spawn_worker(
            admin.clone(),
            job_queue,
            self.rotation_delay,
            shutdown_rx.clone(),
        )];
        let revoke_at_stop = self
            .start_sweeper(dynamic, &store, shutdown_rx.clone(), &mut tasks)
            .await;
        for rotation_id in unfinished {
            let _ = jobs.send(rotation_id);
        }
        if let Some(path) = &self.data_file {
            persist::save(path, &store, &admin.keys())?;
            tasks.push(persist::spawn_saver(
                path.clone(),
                Arc::clone(&store),
                admin.keys(),
                shutdown_rx.clone(),
            ));
        }
        let ca_pem = tls.as_ref().map(|tls| tls.ca_pem.clone());
        let client_identity = tls.as_ref().and_then(|tls| tls.client_identity.clone());
        let acceptor = tls.map(|tls| TlsAcceptor::from(tls.config));
        tasks.push(tokio::spawn(accept_loop(
            listener,
            app,
            acceptor,
            self.connection_limits(),
            shutdown_rx,
        )));
        tracing::info!(%url, "SyVault dev server listening");
        Ok(DevServer {
            handles: Handles {
                url,
                addr,
                ca_pem,
                client_identity,
                admin,
                faults,
                stats,
            },
            shutdown,
            tasks,
            revoke_at_stop,
        })
    }

    /// Starts the lease sweeper of a server with a database binding. Answers what a graceful
    /// stop must revoke: the leases of a server without a data file, which forgets them.
    async fn start_sweeper(
        &self,
        dynamic: Arc<dynamic::Dynamic>,
        store: &Arc<Store>,
        shutdown: watch::Receiver<bool>,
        tasks: &mut Vec<JoinHandle<()>>,
    ) -> Option<(Arc<dynamic::Dynamic>, Arc<Store>)> {
        dynamic.postgres()?;
        let revoke_at_stop = self
            .data_file
            .is_none()
            .then(|| (Arc::clone(&dynamic), Arc::clone(store)));
        tasks.push(
            dynamic::spawn_sweeper(
                dynamic,
                Arc::clone(store),
                self.orphan_sweep_interval,
                shutdown,
            )
            .await,
        );
        revoke_at_stop
    }

    fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            slots: Arc::new(Semaphore::new(self.max_connections)),
            write_timeout: self.write_timeout,
            max_requests: self.max_requests_per_connection,
        }
    }

    /// Starts the server on its own runtime thread, for blocking code. The server stops when
    /// the returned value is dropped.
    pub fn start_blocking(self) -> Result<RunningServer> {
        RunningServer::start(self)
    }
}

/// Rotations cut short by a stop start over from `pending`.
fn reset_unfinished_rotations(store: &Store) -> Vec<Uuid> {
    store.write(|vault| {
        vault
            .rotations
            .iter_mut()
            .filter(|(_, entry)| !entry.status.is_terminal())
            .map(|(id, entry)| {
                entry.status = syvault_proto::wire::RotationStatus::Pending;
                *id
            })
            .collect()
    })
}

fn server_url(https: bool, addr: SocketAddr) -> String {
    let port = addr.port();
    if https {
        // The certificate names localhost; clients check the name they connect to.
        return format!("https://localhost:{port}");
    }
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("http://127.0.0.1:{port}"),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("http://[::1]:{port}"),
        IpAddr::V4(ip) => format!("http://{ip}:{port}"),
        IpAddr::V6(ip) => format!("http://[{ip}]:{port}"),
    }
}

/// The `aud` values accepted: the URL's origin and, on loopback, its other loopback names.
fn audiences(https: bool, addr: SocketAddr, url: &str) -> Vec<String> {
    let mut audiences = vec![url.to_owned()];
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        let scheme = if https { "https" } else { "http" };
        let port = addr.port();
        for host in ["localhost", "127.0.0.1", "[::1]"] {
            let alias = format!("{scheme}://{host}:{port}");
            if !audiences.contains(&alias) {
                audiences.push(alias);
            }
        }
    }
    audiences
}

/// What bounds the connections and what each may take.
#[derive(Clone, Debug)]
struct ConnectionLimits {
    slots: Arc<Semaphore>,
    write_timeout: Duration,
    max_requests: usize,
}

async fn accept_loop(
    listener: TcpListener,
    app: Arc<App>,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        // A connection is accepted only once a slot is free, so excess clients wait in the
        // kernel's backlog instead of each holding a task and a socket here.
        let accepted = async {
            let slot = Arc::clone(&limits.slots).acquire_owned().await;
            (slot, listener.accept().await)
        };
        tokio::select! {
            (slot, accepted) = accepted => match accepted {
                Ok((stream, _)) => {
                    let serve = connection(
                        stream,
                        Arc::clone(&app),
                        tls.clone(),
                        &limits,
                        shutdown.clone(),
                    );
                    connections.spawn(async move {
                        serve.await;
                        drop(slot);
                    });
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        connections.abort_all();
        // Their requests are dropped by the time the loop ends (a lease being created expires),
        // so that what runs after the stop sees where they left off.
        while connections.join_next().await.is_some() {}
    }
}

fn connection(
    stream: TcpStream,
    app: Arc<App>,
    tls: Option<TlsAcceptor>,
    limits: &ConnectionLimits,
    shutdown: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send + 'static {
    let _ = stream.set_nodelay(true);
    // Below TLS, so that a stalled handshake or alert write is bounded too.
    let stream = WriteDeadline::new(stream, limits.write_timeout);
    let max_requests = limits.max_requests;
    async move {
        let Some(acceptor) = tls else {
            return serve_connection(stream, app, max_requests, shutdown).await;
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => serve_connection(stream, app, max_requests, shutdown).await,
            Ok(Err(err)) => tracing::debug!(error = %err, "TLS handshake failed"),
            Err(_) => tracing::debug!("TLS handshake timed out"),
        }
    }
}

async fn serve_connection<S>(
    io: S,
    app: Arc<App>,
    max_requests: usize,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let served = AtomicUsize::new(0);
    let service = service_fn(move |request| {
        let last = served.fetch_add(1, Ordering::Relaxed) + 1 >= max_requests;
        let answer = service::serve(Arc::clone(&app), request);
        async move {
            let mut answer = answer.await?;
            if last {
                // hyper closes the connection after an answer that says so, and drops what
                // the client pipelined behind it unread.
                answer
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, service::DropConnection>(answer)
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "connection ended with an error");
    }
}

/// What both server handles share.
#[derive(Clone, Debug)]
struct Handles {
    url: String,
    addr: SocketAddr,
    ca_pem: Option<String>,
    client_identity: Option<ClientIdentity>,
    admin: Admin,
    faults: Faults,
    stats: Stats,
}

/// A server running on the caller's tokio runtime. Dropping it stops the server; prefer
/// [`DevServer::shutdown`], which also waits for the last state save and revokes the leases of
/// a server that does not keep them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), syvault_dev::Error> {
/// use syvault_dev::DevServer;
///
/// let server = DevServer::builder().start().await?;
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// let app = server.admin().create_application("Example");
/// # let _ = app;
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct DevServer {
    handles: Handles,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// A server with a database binding and no data file revokes its leases at a graceful stop.
    revoke_at_stop: Option<(Arc<dynamic::Dynamic>, Arc<Store>)>,
}

impl DevServer {
    /// Settings for a new server.
    pub fn builder() -> DevServerBuilder {
        DevServerBuilder::default()
    }

    /// Starts a server on its own runtime thread; see [`DevServerBuilder::start_blocking`].
    pub fn start_blocking(builder: DevServerBuilder) -> Result<RunningServer> {
        RunningServer::start(builder)
    }

    /// The base URL, such as `http://127.0.0.1:41234` or `https://localhost:41234`. Its origin
    /// is the `aud` the server expects in tokens.
    pub fn url(&self) -> String {
        self.handles.url.clone()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.handles.addr
    }

    /// The PEM of the CA to trust, when serving HTTPS.
    pub fn ca_pem(&self) -> Option<String> {
        self.handles.ca_pem.clone()
    }

    /// The client certificate and key the server accepts, when it requires one.
    pub fn client_identity(&self) -> Option<ClientIdentity> {
        self.handles.client_identity.clone()
    }

    /// The admin side.
    pub fn admin(&self) -> Admin {
        self.handles.admin.clone()
    }

    /// The fault switches.
    pub fn faults(&self) -> Faults {
        self.handles.faults.clone()
    }

    /// The request counts.
    pub fn stats(&self) -> Stats {
        self.handles.stats.clone()
    }

    /// Seeds the demo data and bootstraps a demo client through the HTTP API.
    pub async fn seed_demo(&self) -> Result<DemoSeed> {
        let h = &self.handles;
        demo::seed(
            &h.url,
            h.ca_pem.as_deref(),
            h.client_identity.as_ref(),
            &h.admin,
        )
        .await
    }

    /// Stops accepting connections, lets open ones finish (briefly), stops the rotation worker
    /// and writes the state a last time. A server bound to PostgreSQL without a data file
    /// then revokes its leases (their roles are dropped, their sessions terminated), since it
    /// forgets them; with a data file they stay, and the next start resumes them.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        if let Some((dynamic, store)) = self.revoke_at_stop.take() {
            dynamic.revoke_all(&store).await;
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A server running on a runtime thread of its own, for blocking tests and examples. Dropping
/// it stops the server and waits for the thread.
///
/// ```
/// use syvault_dev::DevServer;
///
/// let server = DevServer::start_blocking(DevServer::builder())?;
/// assert!(server.url().starts_with("http://"));
/// drop(server);
/// # Ok::<(), syvault_dev::Error>(())
/// ```
#[derive(Debug)]
pub struct RunningServer {
    handles: Handles,
    runtime: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    fn start(builder: DevServerBuilder) -> Result<Self> {
        let (ready, started) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("syvault-dev".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready.send(Err(Error::io("starting the runtime", err)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match builder.start().await {
                        Ok(server) => {
                            let (stop, stopped) = oneshot::channel();
                            let handles = server.handles.clone();
                            if ready.send(Ok((handles, Handle::current(), stop))).is_ok() {
                                let _ = stopped.await;
                            }
                            server.shutdown().await;
                        }
                        Err(err) => {
                            let _ = ready.send(Err(err));
                        }
                    }
                });
            })
            .map_err(|e| Error::io("spawning the server thread", e))?;
        let (handles, runtime, stop) = started
            .recv()
            .map_err(|_| Error::Runtime("the server thread ended before starting".into()))??;
        Ok(Self {
            handles,
            runtime,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The base URL; see [`DevServer::url`].
    pub fn url(&self) -> String {
        self.handles.url.clone()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.handles.addr
    }

    /// The PEM of the CA to trust, when serving HTTPS.
    pub fn ca_pem(&self) -> Option<String> {
        self.handles.ca_pem.clone()
    }

    /// The client certificate and key the server accepts, when it requires one.
    pub fn client_identity(&self) -> Option<ClientIdentity> {
        self.handles.client_identity.clone()
    }

    /// The admin side.
    pub fn admin(&self) -> Admin {
        self.handles.admin.clone()
    }

    /// The fault switches.
    pub fn faults(&self) -> Faults {
        self.handles.faults.clone()
    }

    /// The request counts.
    pub fn stats(&self) -> Stats {
        self.handles.stats.clone()
    }

    /// Seeds the demo data and bootstraps a demo client through the HTTP API, blocking until
    /// done. Must not be called from inside an async runtime.
    pub fn seed_demo(&self) -> Result<DemoSeed> {
        let h = &self.handles;
        self.runtime.block_on(demo::seed(
            &h.url,
            h.ca_pem.as_deref(),
            h.client_identity.as_ref(),
            &h.admin,
        ))
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_audiences() {
        let v4: SocketAddr = "127.0.0.1:8200".parse().unwrap();
        assert_eq!(server_url(false, v4), "http://127.0.0.1:8200");
        assert_eq!(server_url(true, v4), "https://localhost:8200");
        let v6: SocketAddr = "[::1]:8200".parse().unwrap();
        assert_eq!(server_url(false, v6), "http://[::1]:8200");
        assert_eq!(
            audiences(false, v4, "http://127.0.0.1:8200"),
            [
                "http://127.0.0.1:8200",
                "http://localhost:8200",
                "http://[::1]:8200"
            ]
        );
        let public: SocketAddr = "192.0.2.1:8200".parse().unwrap();
        assert_eq!(
            audiences(false, public, "http://192.0.2.1:8200"),
            ["http://192.0.2.1:8200"]
        );
    }
}
