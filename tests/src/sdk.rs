//! The two clients behind one interface, so that one scenario suite drives both.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use syvault_proto::Result;
use syvault_proto::builder::ClientBuilder;
use syvault_proto::config::RotationPolicy;
use syvault_proto::folders::FolderInfo;
use syvault_proto::model::{Credentials, RotationOutcome, Secret, SecretSummary, Selected};
use syvault_proto::record::RecordPayload;
use syvault_proto::retry::RetryPolicy;
use syvault_proto::stats::ClientStats;
use uuid::Uuid;

/// What a scenario chooses for the client under test.
///
/// ```
/// let settings = syvault_tests::sdk::Settings::default();
/// assert!(settings.max_stale.is_none());
/// ```
#[derive(Clone, Debug)]
pub struct Settings {
    /// Cache TTL (zero disables the cache).
    pub cache_ttl: Duration,
    /// Stale-if-error window, off when `None`.
    pub max_stale: Option<Duration>,
    /// The most each TTL is shortened by, in percent (the SDK's default, 10).
    pub cache_jitter_percent: u8,
    /// The last part of a TTL in which a read refreshes in the background, in percent (the
    /// SDK's default, 20).
    pub refresh_ahead_percent: u8,
    /// Retries; short backoffs so failing scenarios stay fast.
    pub retry: RetryPolicy,
    /// Rotation polling; short intervals for the fast test rotation worker.
    pub rotation: RotationPolicy,
    /// The CA to trust in addition to the operating system's trust store.
    pub ca_pem: Option<String>,
    /// The whole-request timeout.
    pub request_timeout: Duration,
    /// The whole-operation timeout, off when `None`.
    pub operation_timeout: Option<Duration>,
    /// The client certificate chain and key (PEM) to present.
    pub client_identity: Option<(String, String)>,
    /// An explicit proxy URL; `None` disables proxies, so that a proxy set in the environment
    /// of the test run cannot get between the clients and the loopback server.
    pub proxy: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(60),
            max_stale: None,
            cache_jitter_percent: 10,
            refresh_ahead_percent: 20,
            retry: RetryPolicy::default()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(10))
                .with_max_backoff(Duration::from_millis(50))
                .with_max_retry_after(Duration::from_millis(50)),
            rotation: RotationPolicy::default()
                .with_initial_interval(Duration::from_millis(20))
                .with_max_interval(Duration::from_millis(100))
                .with_deadline(Duration::from_secs(10)),
            ca_pem: None,
            request_timeout: Duration::from_secs(5),
            operation_timeout: None,
            client_identity: None,
            proxy: None,
        }
    }
}

/// A client library under test: how to bootstrap and how to connect.
pub trait Sdk {
    /// The connected client.
    type Client: SdkClient;

    /// Bootstraps with a one-time token.
    fn bootstrap(server: &str, token: &str, settings: &Settings) -> Result<Credentials>;

    /// Connects with the credentials stored in a JSON file, as bootstrap's caller saves them.
    fn connect(credentials_file: &Path, settings: &Settings) -> Result<Self::Client>;

    /// Connects with every default, configured by the environment (`from_env()`).
    fn from_env() -> Result<Self::Client>;
}

/// The operations of a connected client, blocking.
pub trait SdkClient: std::fmt::Debug {
    /// `secrets().list()`.
    fn list(&self) -> Result<Vec<SecretSummary>>;
    /// `secrets().get(uid)`.
    fn get(&self, uid: &str) -> Result<Arc<Secret>>;
    /// `n` simultaneous `secrets().get(uid)` calls (threads or tasks).
    fn get_concurrently(&self, uid: &str, n: usize) -> Vec<Result<Arc<Secret>>>;
    /// `secrets().notation(reference)`.
    fn notation(&self, reference: &str) -> Result<Selected>;
    /// `secrets().resolve_all(references)`.
    fn resolve_all(&self, references: &[&str]) -> Result<Vec<Result<Selected>>>;
    /// `secrets().create(folder_id, payload)`.
    fn create(&self, folder_id: Uuid, payload: RecordPayload) -> Result<Secret>;
    /// `secrets().rotate(uid)`.
    fn rotate(&self, uid: &str) -> Result<RotationOutcome>;
    /// `secrets().folders()`.
    fn folders(&self) -> Result<Vec<FolderInfo>>;
    /// How many secrets the client's cache holds.
    fn cached_secrets(&self) -> usize;
    /// `clear_cache()`.
    fn clear_cache(&self);
    /// `stats()`.
    fn stats(&self) -> ClientStats;
    /// `close()`.
    fn close(&self);
}

/// The blocking client, `syvault_ureq::SyVaultClient`.
#[derive(Debug)]
pub struct Blocking;

/// The scenario's settings applied to either client's builder.
fn configure<C>(settings: &Settings) -> ClientBuilder<C> {
    let mut builder = ClientBuilder::new()
        .cache_ttl(settings.cache_ttl)
        .cache_jitter_percent(settings.cache_jitter_percent)
        .refresh_ahead_percent(settings.refresh_ahead_percent)
        .retry(settings.retry)
        .rotation(settings.rotation)
        .request_timeout(settings.request_timeout);
    if let Some(max_stale) = settings.max_stale {
        builder = builder.max_stale(max_stale);
    }
    if let Some(timeout) = settings.operation_timeout {
        builder = builder.operation_timeout(timeout);
    }
    if let Some(ca) = &settings.ca_pem {
        builder = builder.add_root_certificates_pem(ca.clone());
    }
    if let Some((chain, key)) = &settings.client_identity {
        builder = builder.client_certificate_pem(chain.clone(), key.clone());
    }
    match &settings.proxy {
        Some(url) => builder.proxy(url).expect("a valid proxy URL"),
        None => builder.disable_proxy(),
    }
}

impl Sdk for Blocking {
    type Client = syvault_ureq::SyVaultClient;

    fn bootstrap(server: &str, token: &str, settings: &Settings) -> Result<Credentials> {
        syvault_ureq::SyVaultClient::bootstrap_with(&configure(settings).server(server), token)
    }

    fn connect(credentials_file: &Path, settings: &Settings) -> Result<Self::Client> {
        configure::<syvault_ureq::SyVaultClient>(settings)
            .credentials(Credentials::read_from(credentials_file)?)
            .build()
    }

    fn from_env() -> Result<Self::Client> {
        syvault_ureq::SyVaultClient::from_env()
    }
}

impl SdkClient for syvault_ureq::SyVaultClient {
    fn list(&self) -> Result<Vec<SecretSummary>> {
        self.secrets().list()
    }

    fn get(&self, uid: &str) -> Result<Arc<Secret>> {
        self.secrets().get(uid)
    }

    fn get_concurrently(&self, uid: &str, n: usize) -> Vec<Result<Arc<Secret>>> {
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..n)
                .map(|_| scope.spawn(|| self.secrets().get(uid)))
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("reader thread"))
                .collect()
        })
    }

    fn notation(&self, reference: &str) -> Result<Selected> {
        self.secrets().notation(reference)
    }

    fn resolve_all(&self, references: &[&str]) -> Result<Vec<Result<Selected>>> {
        self.secrets().resolve_all(references)
    }

    fn create(&self, folder_id: Uuid, payload: RecordPayload) -> Result<Secret> {
        self.secrets().create(folder_id, payload)
    }

    fn rotate(&self, uid: &str) -> Result<RotationOutcome> {
        self.secrets().rotate(uid)
    }

    fn folders(&self) -> Result<Vec<FolderInfo>> {
        self.secrets().folders()
    }

    fn cached_secrets(&self) -> usize {
        syvault_ureq::SyVaultClient::cached_secrets(self)
    }

    fn clear_cache(&self) {
        syvault_ureq::SyVaultClient::clear_cache(self);
    }

    fn stats(&self) -> ClientStats {
        syvault_ureq::SyVaultClient::stats(self)
    }

    fn close(&self) {
        syvault_ureq::SyVaultClient::close(self);
    }
}

/// The async client, `syvault_hyper::AsyncSyVaultClient`, each call run to completion on a
/// multi-threaded tokio runtime owned by the wrapper.
#[derive(Debug)]
pub struct Async;

/// An [`syvault_hyper::AsyncSyVaultClient`] with the runtime that drives it.
#[derive(Debug)]
pub struct AsyncClient {
    // Dropped before the runtime.
    client: syvault_hyper::AsyncSyVaultClient,
    runtime: tokio::runtime::Runtime,
}

impl AsyncClient {
    /// The client itself, for async-only scenarios.
    pub fn client(&self) -> &syvault_hyper::AsyncSyVaultClient {
        &self.client
    }

    /// The runtime driving it.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

impl Sdk for Async {
    type Client = AsyncClient;

    fn bootstrap(server: &str, token: &str, settings: &Settings) -> Result<Credentials> {
        let builder = configure(settings).server(server);
        runtime().block_on(syvault_hyper::AsyncSyVaultClient::bootstrap_with(
            &builder, token,
        ))
    }

    fn connect(credentials_file: &Path, settings: &Settings) -> Result<Self::Client> {
        let client = configure::<syvault_hyper::AsyncSyVaultClient>(settings)
            .credentials(Credentials::read_from(credentials_file)?)
            .build()?;
        Ok(AsyncClient {
            client,
            runtime: runtime(),
        })
    }

    fn from_env() -> Result<Self::Client> {
        Ok(AsyncClient {
            client: syvault_hyper::AsyncSyVaultClient::from_env()?,
            runtime: runtime(),
        })
    }
}

impl SdkClient for AsyncClient {
    fn list(&self) -> Result<Vec<SecretSummary>> {
        self.runtime.block_on(self.client.secrets().list())
    }

    fn get(&self, uid: &str) -> Result<Arc<Secret>> {
        self.runtime.block_on(self.client.secrets().get(uid))
    }

    fn get_concurrently(&self, uid: &str, n: usize) -> Vec<Result<Arc<Secret>>> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let client = self.client.clone();
                let uid = uid.to_owned();
                self.runtime
                    .spawn(async move { client.secrets().get(&uid).await })
            })
            .collect();
        self.runtime.block_on(async {
            let mut results = Vec::with_capacity(n);
            for task in tasks {
                results.push(task.await.expect("reader task"));
            }
            results
        })
    }

    fn notation(&self, reference: &str) -> Result<Selected> {
        self.runtime
            .block_on(self.client.secrets().notation(reference))
    }

    fn resolve_all(&self, references: &[&str]) -> Result<Vec<Result<Selected>>> {
        self.runtime
            .block_on(self.client.secrets().resolve_all(references))
    }

    fn create(&self, folder_id: Uuid, payload: RecordPayload) -> Result<Secret> {
        self.runtime
            .block_on(self.client.secrets().create(folder_id, payload))
    }

    fn rotate(&self, uid: &str) -> Result<RotationOutcome> {
        self.runtime.block_on(self.client.secrets().rotate(uid))
    }

    fn folders(&self) -> Result<Vec<FolderInfo>> {
        self.runtime.block_on(self.client.secrets().folders())
    }

    fn cached_secrets(&self) -> usize {
        self.client.cached_secrets()
    }

    fn clear_cache(&self) {
        self.client.clear_cache();
    }

    fn stats(&self) -> ClientStats {
        self.client.stats()
    }

    fn close(&self) {
        self.client.close();
    }
}
