//! The blocking client and its `secrets()` handle.

use std::path::Path;
use std::sync::Arc;

use syvault_proto::builder::IntoClientId;
use syvault_proto::folders::FolderInfo;
use syvault_proto::model::{
    Credentials, RotationOutcome, RotationStarted, Secret, SecretSummary, Selected,
};
use syvault_proto::ops::{Bootstrap, GetSecret, ResolveReference};
use syvault_proto::record::RecordPayload;
use syvault_proto::stats::ClientStats;
use syvault_proto::{Client, RecordUid, Result, SecretString};

#[cfg(doc)]
use crate::Error;
use uuid::Uuid;

use crate::builder::SyVaultClientBuilder;
use crate::driver::Shared;
use crate::transport::Transport;

/// A blocking SyVault Secrets Manager client.
///
/// It keeps the client's token, folder keys and a cache of decrypted secrets, and a pool of
/// connections that closes when the last clone is dropped or [`SyVaultClient::close`] is
/// called. Clones are cheap and share all of it; the client is `Send + Sync`, and threads that
/// read the same uncached secret at once share one request.
///
/// ```no_run
/// use syvault_ureq::SyVaultClient;
///
/// let client = SyVaultClient::from_env()?;
/// let password = client.secrets().notation("sy://Production/Database/field/password")?;
/// let db = client.secrets().get("7Kj9mNpQ2xRs")?;
/// println!("{} has fields {:?}", db.title, db.fields.names().collect::<Vec<_>>());
/// # let _ = password;
/// # Ok::<(), syvault_ureq::Error>(())
/// ```
#[derive(Clone)]
pub struct SyVaultClient {
    pub(crate) shared: Arc<Shared>,
}

/// Server, client id and cache size only: never the cache's contents, tokens or keys.
impl std::fmt::Debug for SyVaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let core = self.shared.lock();
        f.debug_struct("SyVaultClient")
            .field("server", &core.server())
            .field("client_id", &core.client_id())
            .field("cached_secrets", &core.cached_secrets())
            .finish_non_exhaustive()
    }
}

impl SyVaultClient {
    /// A client with default settings for `server`, as the documented SDK's
    /// `SyVaultClient(server, client_id, client_secret)`. The client id is a [`Uuid`] or its
    /// text; the client secret is the private key from bootstrap in any accepted form.
    ///
    /// ```no_run
    /// use syvault_ureq::SyVaultClient;
    ///
    /// let client = SyVaultClient::new(
    ///     "https://vault.example.com",
    ///     "0b5c1c9e-2f3a-4d5e-8f70-8192a3b4c5d6",
    ///     std::env::var("SY_CLIENT_SECRET").unwrap(),
    /// )?;
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn new(
        server: impl Into<String>,
        client_id: impl IntoClientId,
        client_secret: impl Into<SecretString>,
    ) -> Result<Self> {
        Self::builder()
            .server(server)
            .client_id(client_id.into_client_id()?)
            .client_secret(client_secret)
            .build()
    }

    pub(crate) fn from_parts(
        core: Client,
        transport: Transport,
        snapshot: Option<std::path::PathBuf>,
    ) -> Self {
        let mut shared = Shared::new(core, transport);
        shared.snapshot = crate::snapshot::SnapshotFile::at(snapshot);
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Starts configuring a client.
    ///
    /// ```
    /// let builder = syvault_ureq::SyVaultClient::builder().server("https://vault.example.com");
    /// ```
    pub fn builder() -> SyVaultClientBuilder {
        SyVaultClientBuilder::new()
    }

    /// A client with default settings from `SY_SERVER`, `SY_CLIENT_ID` and `SY_CLIENT_SECRET`,
    /// or from the credentials file named by `SY_CREDENTIALS_FILE`; it also trusts the CAs of
    /// the PEM file named by `SY_CA_CERT`, and uses the proxy of `HTTPS_PROXY` and the like.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn from_env() -> Result<Self> {
        Self::builder().with_env()?.build()
    }

    /// A client with default settings from bootstrap's credentials.
    ///
    /// ```no_run
    /// use syvault_ureq::SyVaultClient;
    ///
    /// let credentials = SyVaultClient::bootstrap("https://vault.example.com", "vft_…")?;
    /// let client = SyVaultClient::from_credentials(credentials)?;
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn from_credentials(credentials: Credentials) -> Result<Self> {
        Self::builder().credentials(credentials).build()
    }

    /// A client with default settings from a credentials JSON file, as bootstrap and
    /// `syvault-dev --demo` write it.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_credentials_file("syvault.json")?;
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn from_credentials_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder()
            .credentials(Credentials::read_from(path)?)
            .build()
    }

    /// Bootstraps a new client at `server` with a one-time token (`vft_…`) and returns the
    /// credentials to store. Use [`SyVaultClient::bootstrap_with`] to trust an extra CA or
    /// change timeouts.
    ///
    /// ```no_run
    /// let credentials = syvault_ureq::SyVaultClient::bootstrap("https://vault.example.com", "vft_…")?;
    /// credentials.write_to("syvault.json")?; // atomically, readable by the owner only
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn bootstrap(server: &str, one_time_token: &str) -> Result<Credentials> {
        Self::bootstrap_with(&Self::builder().server(server), one_time_token)
    }

    /// Bootstraps a new client at the builder's server with its transport settings (trusted
    /// CAs, timeouts, plain-http opt-in) and retry policy. Client id and secret need not be set.
    ///
    /// ```no_run
    /// use syvault_ureq::SyVaultClient;
    ///
    /// let builder = SyVaultClient::builder()
    ///     .server("https://vault.internal:8443")
    ///     .add_root_certificates_pem(std::fs::read_to_string("ca.pem").unwrap());
    /// let credentials = SyVaultClient::bootstrap_with(&builder, "vft_…")?;
    /// let client = builder.credentials(credentials).build()?;
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn bootstrap_with(
        builder: &SyVaultClientBuilder,
        one_time_token: &str,
    ) -> Result<Credentials> {
        let core = builder.bootstrap_client()?;
        let transport = Transport::new(builder.transport_settings(), core.max_response_body())?;
        Arc::new(Shared::new(core, transport)).run(Bootstrap::new(one_time_token))
    }

    /// The secrets the client can see.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// for summary in client.secrets().list()? {
    ///     println!("{} {}", summary.uid, summary.title);
    /// }
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn secrets(&self) -> Secrets<'_> {
        Secrets { client: self }
    }

    /// Dynamic secrets: leased database credentials.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// for lease in client.dynamic().leases()? {
    ///     println!("{} as {}", lease.lease_id, lease.username);
    /// }
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn dynamic(&self) -> crate::dynamic::Dynamic<'_> {
        crate::dynamic::Dynamic { client: self }
    }

    /// The server URL requests go to.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// println!("talking to {}", client.server());
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn server(&self) -> String {
        self.shared.lock().server().to_owned()
    }

    /// The client id.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// println!("client {}", client.client_id());
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn client_id(&self) -> Uuid {
        self.shared.lock().client_id().unwrap_or_default()
    }

    /// How many decrypted secrets the cache holds.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// assert_eq!(client.cached_secrets(), 0);
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn cached_secrets(&self) -> usize {
        self.shared.lock().cached_secrets()
    }

    /// When the vault last answered a request with a success status (2xx, or 304 to a
    /// revalidation), for a service to report how recently it heard from the vault: `None`
    /// until it has. Cache hits and stale serves do not move it.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// if let Some(at) = client.last_answer() {
    ///     println!("{:?} since the vault last answered", at.elapsed());
    /// }
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn last_answer(&self) -> Option<std::time::SystemTime> {
        let at = self.shared.lock().last_answer()?;
        std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_millis(at.as_unix_millis()))
    }

    /// Writes the encrypted snapshot now (with the builder's `snapshot(path)`; otherwise does
    /// nothing), as a service does before it exits so that its successor starts with what it
    /// knew. The client also writes it by itself a moment after its state changed.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::builder()
    ///     .with_env()?
    ///     .snapshot("/var/lib/app/syvault.snapshot")
    ///     .max_stale(std::time::Duration::from_secs(3600))
    ///     .build()?;
    /// // … serve, then on shutdown:
    /// client.write_snapshot()?;
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn write_snapshot(&self) -> Result<()> {
        crate::snapshot::write(&self.shared)
    }

    /// When the snapshot on disk was taken: the last one written, or the one the client
    /// started from. `None` before either, and without a snapshot.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// if let Some(at) = client.snapshot_taken_at() {
    ///     println!("snapshot {:?} old", at.elapsed());
    /// }
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn snapshot_taken_at(&self) -> Option<std::time::SystemTime> {
        let at = self.shared.lock().snapshot_taken_at()?;
        std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_millis(at.as_unix_millis()))
    }

    /// What the client has done so far, for a service to export: requests, retries, cache
    /// hits, misses, stale serves, revalidations, coalesced waits, evictions, tokens signed
    /// and decryption failures. Shared by every clone.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let stats = client.stats();
    /// println!("{} requests, {} retries, {} cache hits", stats.requests, stats.retries, stats.cache_hits);
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn stats(&self) -> ClientStats {
        self.shared.lock().stats()
    }

    /// Changes the limit on each operation ([`syvault_proto::builder::ClientBuilder::operation_timeout`])
    /// for operations started from now on, on every clone; `None` removes it. For a caller with
    /// a budget for several calls, such as a command line's whole command.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// client.set_operation_timeout(Some(Duration::from_secs(10)));
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn set_operation_timeout(&self, timeout: Option<std::time::Duration>) {
        self.shared.lock().set_operation_timeout(timeout);
    }

    /// Drops every cached secret (their memory is zeroized) and the notation index.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// client.clear_cache();
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn clear_cache(&self) {
        self.shared.lock().clear_cache();
    }

    /// Closes the pooled connections now, for every clone. Later calls fail with a
    /// [`Error::Transport`] error; cached secrets are dropped, and no snapshot is written any
    /// more (write one before, with [`Self::write_snapshot`]).
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// client.close();
    /// assert!(client.secrets().list().is_err());
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn close(&self) {
        self.shared.snapshot.close();
        self.shared.transport.close();
        self.shared.lock().clear_cache();
    }
}

/// The operations on secrets, from [`SyVaultClient::secrets`]. Each call blocks until it is
/// done, retries included.
#[derive(Clone, Copy, Debug)]
pub struct Secrets<'a> {
    client: &'a SyVaultClient,
}

impl Secrets<'_> {
    fn run<O: syvault_proto::ops::Operation>(
        self,
        op: impl FnOnce(&Client) -> O,
    ) -> Result<O::Output> {
        let op = op(&self.client.shared.lock());
        self.client.shared.run(op)
    }

    /// Lists every secret visible to the client (metadata only, sorted by folder and title).
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let titles: Vec<String> = client.secrets().list()?.into_iter().map(|s| s.title).collect();
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn list(&self) -> Result<Vec<SecretSummary>> {
        self.run(Client::list)
    }

    /// Reads one secret by UID, from the cache while it is fresh. An unknown UID is
    /// [`Error::SecretNotFound`]. Concurrent reads of one UID share one request and its result.
    ///
    /// The secret is shared and immutable: the cache and every caller that read the same
    /// revision hold one copy, zeroized when the last of them drops it.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let secret = client.secrets().get("7Kj9mNpQ2xRs")?;
    /// let password = secret.field("password").map(|p| p.expose().to_owned());
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn get(&self, uid: impl AsRef<str>) -> Result<Arc<Secret>> {
        let uid: RecordUid = uid.as_ref().parse()?;
        // Built without the client, so that a cache hit takes the client's lock once.
        self.client.shared.run(GetSecret::new(uid))
    }

    /// Resolves one `sy://` reference, such as `sy://Production/Database/field/password`.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let password = client.secrets().notation("sy://Production/Database/field/password")?;
    /// connect_to_db(password.expose());
    /// # fn connect_to_db(_: &str) {}
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn notation(&self, reference: &str) -> Result<Selected> {
        self.client.shared.run(ResolveReference::new(reference))
    }

    /// Resolves many references with at most one listing; one result per reference, in order.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let results = client.secrets().resolve_all(&[
    ///     "sy://Production/Database/field/login",
    ///     "sy://Production/Database/field/password",
    /// ])?;
    /// for result in results {
    ///     println!("{}", if result.is_ok() { "resolved" } else { "missing" });
    /// }
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn resolve_all<S: AsRef<str>>(&self, references: &[S]) -> Result<Vec<Result<Selected>>> {
        self.run(|core| core.resolve_all(references))
    }

    /// Creates a secret in a folder the client may write to, and returns it with its new UID.
    ///
    /// ```no_run
    /// use syvault_ureq::RecordPayload;
    ///
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let folder = client.secrets().folders()?.into_iter().find(|f| f.name == "Staging").unwrap();
    /// let mut payload = RecordPayload::new("Cache");
    /// payload.fields.set("password", "s3cret");
    /// let secret = client.secrets().create(folder.folder_id, payload)?;
    /// println!("created {}", secret.uid);
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn create(&self, folder_id: Uuid, payload: RecordPayload) -> Result<Secret> {
        self.run(|core| core.create(folder_id, payload))
    }

    /// Rotates a secret's credential on the server and waits for the outcome, which carries
    /// the secret with its new value. A timeout ([`Error::RotationTimeout`]) can be resumed
    /// with [`Secrets::resume_rotation`].
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let outcome = client.secrets().rotate("7Kj9mNpQ2xRs")?;
    /// println!("now at revision {}", outcome.revision);
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn rotate(&self, uid: impl AsRef<str>) -> Result<RotationOutcome> {
        let uid: RecordUid = uid.as_ref().parse()?;
        self.run(|core| core.rotate(uid))
    }

    /// Starts a rotation of a secret's credential, or adopts the one already running, and
    /// returns its id without waiting: say which rotation runs, then wait for it with
    /// [`Secrets::resume_rotation`]. [`RotationStarted::adopted`] tells whether it was already
    /// running.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let started = client.secrets().start_rotation("7Kj9mNpQ2xRs")?;
    /// println!("rotation {} (already running: {})", started.rotation_id, started.adopted);
    /// let outcome = client.secrets().resume_rotation("7Kj9mNpQ2xRs", started.rotation_id)?;
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn start_rotation(&self, uid: impl AsRef<str>) -> Result<RotationStarted> {
        let uid: RecordUid = uid.as_ref().parse()?;
        self.run(|core| core.start_rotation(uid))
    }

    /// Waits again for a rotation that timed out.
    ///
    /// ```no_run
    /// use syvault_ureq::Error;
    ///
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// let outcome = match client.secrets().rotate("7Kj9mNpQ2xRs") {
    ///     Err(Error::RotationTimeout { rotation_id }) => client.secrets().resume_rotation("7Kj9mNpQ2xRs", rotation_id)?,
    ///     other => other?,
    /// };
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn resume_rotation(
        &self,
        uid: impl AsRef<str>,
        rotation_id: Uuid,
    ) -> Result<RotationOutcome> {
        let uid: RecordUid = uid.as_ref().parse()?;
        self.run(|core| core.resume_rotation(uid, rotation_id))
    }

    /// The folders granted to the client, with their decrypted names and access.
    ///
    /// ```no_run
    /// let client = syvault_ureq::SyVaultClient::from_env()?;
    /// for folder in client.secrets().folders()? {
    ///     println!("{} ({:?})", folder.name, folder.access);
    /// }
    /// # Ok::<(), syvault_ureq::Error>(())
    /// ```
    pub fn folders(&self) -> Result<Vec<FolderInfo>> {
        self.run(Client::list_folders)
    }
}
