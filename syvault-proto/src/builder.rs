//! The client builder shared by every driver: identity, policies and transport settings.

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use uuid::Uuid;

use crate::client::Client;
use crate::config::{ClientConfig, RotationPolicy};
use crate::error::{Error, Result};
use crate::jwt::TokenMode;
use crate::model::Credentials;
use crate::proxy::{ProxySetting, ProxyUrl};
use crate::retry::RetryPolicy;
use crate::secret::SecretString;

/// Names a credentials JSON file for [`ClientBuilder::with_env`] (feature `fs`).
pub const ENV_CREDENTIALS_FILE: &str = "SY_CREDENTIALS_FILE";
/// Names a PEM file of extra trusted CA certificates for [`ClientBuilder::with_env`]
/// (feature `fs`).
pub const ENV_CA_CERT: &str = "SY_CA_CERT";

/// Default limit on establishing a connection, TLS included.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit on one whole request: connecting, sending, and reading the whole answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a driver needs to set up its HTTP transport. The core only carries these settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportSettings {
    /// Limit on establishing a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Limit on one whole request. Default 30 s; each retry gets it anew.
    pub request_timeout: Duration,
    /// Extra trusted CA certificates, PEM, beside the operating system's trust store (and the
    /// Mozilla bundle when a driver's `mozilla-roots` feature is on).
    pub extra_roots_pem: Vec<String>,
    /// Whether plain `http://` may reach any address. When `false` (the default) a driver
    /// connects plain-http requests only to loopback addresses, checking the address it
    /// actually connects to: a loopback *name* such as `x.localhost` is not proof enough.
    pub allow_plain_http: bool,
    /// The certificate the client presents to servers that require one (mTLS).
    pub client_certificate: Option<ClientCertificate>,
    /// Which HTTP proxy requests go through; the environment's by default.
    pub proxy: ProxySetting,
}

/// A client certificate chain and its private key, both PEM, for servers that require mutual
/// TLS. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCertificate {
    /// The client's certificate, then any intermediate CA certificates.
    pub chain_pem: String,
    /// The private key of the first certificate: PKCS#8, PKCS#1 or SEC1.
    pub key_pem: SecretString,
}

impl ClientCertificate {
    /// A certificate chain and its private key, both PEM; checked when a client is built.
    pub fn new(chain_pem: impl Into<String>, key_pem: impl Into<SecretString>) -> Self {
        Self {
            chain_pem: chain_pem.into(),
            key_pem: key_pem.into(),
        }
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("chain_pem", &self.chain_pem)
            .field("key_pem", &self.key_pem)
            .finish()
    }
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            extra_roots_pem: Vec::new(),
            client_certificate: None,
            proxy: ProxySetting::default(),
            allow_plain_http: false,
        }
    }
}

/// A client type a [`ClientBuilder`] can build: implemented by each driver, and by the core's
/// [`Client`] itself for drivers that keep it on their own.
pub trait FromConfig: Sized {
    /// Builds the client from a checked configuration and its transport settings.
    fn from_config(config: ClientConfig, transport: TransportSettings) -> Result<Self>;
}

/// The core client alone: the transport settings are the driver's business, read from
/// [`ClientBuilder::transport_settings`] before building.
impl FromConfig for Client {
    fn from_config(config: ClientConfig, _transport: TransportSettings) -> Result<Self> {
        Client::new(config)
    }
}

/// Builds a client of type `C`: a driver's client (such as the blocking `SyVaultClient` or the
/// async `AsyncSyVaultClient`), or by default the core's [`Client`] for a driver of one's own
/// ([`Client::builder`]).
///
/// Server, client id and client secret are required: set them one by one, from
/// [`Credentials`], from credentials JSON, or from the environment. Everything else has a
/// default: a 60 s cache of 100 000 secrets without stale serving, four attempts per request, 10 s
/// connect and 30 s request timeouts, a reused token, https only except to loopback hosts.
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::builder::{ClientBuilder, FromConfig, TransportSettings};
/// use syvault_proto::config::ClientConfig;
///
/// // A driver's client; the real ones are `SyVaultClient` and `AsyncSyVaultClient`.
/// struct Probe(ClientConfig, TransportSettings);
/// impl FromConfig for Probe {
///     fn from_config(config: ClientConfig, transport: TransportSettings) -> syvault_proto::Result<Self> {
///         Ok(Probe(config, transport))
///     }
/// }
///
/// let json = r#"{"server":"https://vault.example.com","client_id":"5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17","client_secret":"MIGH..."}"#;
/// let Probe(config, transport) = ClientBuilder::<Probe>::new()
///     .credentials_json(json)?
///     .cache_ttl(Duration::from_secs(30))
///     .request_timeout(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(config.cache.ttl, Duration::from_secs(30));
/// assert_eq!(transport.request_timeout, Duration::from_secs(5));
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder<C = Client> {
    server: Option<String>,
    client_id: Option<Uuid>,
    client_secret: Option<SecretString>,
    /// Everything but the identity, starting from [`ClientConfig::new`]'s defaults; its own
    /// server, client id and secret are placeholders replaced in [`Self::into_parts`].
    settings: ClientConfig,
    transport: TransportSettings,
    client: PhantomData<fn() -> C>,
}

impl<C> Default for ClientBuilder<C> {
    fn default() -> Self {
        Self {
            server: None,
            client_id: None,
            client_secret: None,
            settings: ClientConfig::new(String::new(), Uuid::nil(), SecretString::default()),
            transport: TransportSettings::default(),
            client: PhantomData,
        }
    }
}

impl<C> Clone for ClientBuilder<C> {
    fn clone(&self) -> Self {
        Self {
            server: self.server.clone(),
            client_id: self.client_id,
            client_secret: self.client_secret.clone(),
            settings: self.settings.clone(),
            transport: self.transport.clone(),
            client: PhantomData,
        }
    }
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let settings = &self.settings;
        f.debug_struct("ClientBuilder")
            .field("server", &self.server)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("cache", &settings.cache)
            .field("retry", &settings.retry)
            .field("rotation", &settings.rotation)
            .field("token_mode", &settings.token_mode)
            .field("max_response_body", &settings.max_response_body)
            .field("allow_plain_http", &settings.allow_plain_http)
            .field("snapshot_file", &settings.snapshot_file)
            .field("operation_timeout", &settings.operation_timeout)
            .field("transport", &self.transport)
            .finish()
    }
}

impl<C> ClientBuilder<C> {
    /// A builder with every default and no identity.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the server URL, such as `https://vault.example.com` (a path prefix is allowed).
    pub fn server(mut self, url: impl Into<String>) -> Self {
        self.server = Some(url.into());
        self
    }

    /// Sets the client id given at bootstrap.
    pub fn client_id(mut self, client_id: Uuid) -> Self {
        self.client_id = Some(client_id);
        self
    }

    /// Sets the client secret (the private key from bootstrap) in any accepted form.
    pub fn client_secret(mut self, client_secret: impl Into<SecretString>) -> Self {
        self.client_secret = Some(client_secret.into());
        self
    }

    /// Sets server, client id and client secret from bootstrap's credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.server = Some(credentials.server);
        self.client_id = Some(credentials.client_id);
        self.client_secret = Some(credentials.client_secret);
        self
    }

    /// Sets server, client id and client secret from credentials JSON
    /// (`{"server", "client_id", "client_secret"}`), as bootstrap and `syvault-dev --demo` write
    /// it. Errors never quote the input.
    pub fn credentials_json(self, json: &str) -> Result<Self> {
        Ok(self.credentials(Credentials::from_json(json)?))
    }

    /// Sets server, client id and client secret from `SY_SERVER`, `SY_CLIENT_ID` and
    /// `SY_CLIENT_SECRET`, or, with the `fs` feature, from the credentials file named by
    /// `SY_CREDENTIALS_FILE` (setting both ways at once is an error). With the `fs` feature it
    /// also trusts the CA certificates in the PEM file named by `SY_CA_CERT`. `SY_SNAPSHOT_FILE`
    /// sets [`Self::snapshot`].
    pub fn with_env(mut self) -> Result<Self> {
        let lookup = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(path) = lookup(crate::config::ENV_SNAPSHOT_FILE) {
            self = self.snapshot(path.trim());
        }
        let (builder, from_file) = self.env_extras(&lookup)?;
        if from_file {
            return Ok(builder);
        }
        let config = ClientConfig::from_env_with(lookup)?;
        Ok(builder.credentials(Credentials {
            server: config.server,
            client_id: config.client_id,
            client_secret: config.client_secret,
        }))
    }

    /// `SY_CREDENTIALS_FILE` and `SY_CA_CERT`: files, so only with the `fs` feature.
    #[cfg(feature = "fs")]
    fn env_extras(mut self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<(Self, bool)> {
        use crate::config::{ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_SERVER};

        let credentials_file = lookup(ENV_CREDENTIALS_FILE);
        if let Some(path) = &credentials_file {
            if let Some(both) = [ENV_SERVER, ENV_CLIENT_ID, ENV_CLIENT_SECRET]
                .into_iter()
                .find(|name| lookup(name).is_some())
            {
                return Err(Error::invalid_input(
                    ENV_CREDENTIALS_FILE,
                    format!("set together with {both}; set one or the other"),
                ));
            }
            self = self.credentials(Credentials::read_from(path.trim())?);
        }
        if let Some(path) = lookup(ENV_CA_CERT) {
            let pem = crate::private_file::read_text(std::path::Path::new(path.trim()))?;
            self = self.add_root_certificates_pem(pem);
        }
        Ok((self, credentials_file.is_some()))
    }

    #[cfg(not(feature = "fs"))]
    #[allow(clippy::unnecessary_wraps)]
    fn env_extras(self, _lookup: &dyn Fn(&str) -> Option<String>) -> Result<(Self, bool)> {
        Ok((self, false))
    }

    /// How long a decrypted secret is served from memory without asking the server. Zero
    /// disables the cache. Default 60 s.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.settings.cache.ttl = ttl;
        self
    }

    /// The most secrets the cache keeps; the least recently used go first. Default 100 000,
    /// enough for a listing of a large vault and reads of all it listed (a small secret takes
    /// well under 1 KiB cached).
    pub fn cache_max_entries(mut self, max_entries: usize) -> Self {
        self.settings.cache.max_entries = max_entries;
        self
    }

    /// Serves a cached secret up to `max_stale` past its TTL when the server cannot be reached,
    /// times out, or answers 429 or 5xx (never after 401, 403 or 404). Off by default.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.settings.cache.max_stale = Some(max_stale);
        self
    }

    /// Shortens each TTL (of a cached secret, and of the notation index) by a random fraction of
    /// up to `percent` %, drawn whenever it is stored or renewed, so that clients started
    /// together do not expire together. `0` turns it off; it must be below 100. Default 10.
    pub fn cache_jitter_percent(mut self, percent: u8) -> Self {
        self.settings.cache.jitter_percent = percent;
        self
    }

    /// Serves a read in the last `percent` % of an entry's (or the notation index's) TTL from
    /// the cache at once, and refreshes it in the background. `0` turns it off, and then a read
    /// that finds an entry expired revalidates it itself; it must be below 100. Default 20.
    pub fn refresh_ahead_percent(mut self, percent: u8) -> Self {
        self.settings.cache.refresh_ahead_percent = percent;
        self
    }

    /// Keeps an encrypted snapshot of the cache, the notation index and the sync state in `path`
    /// (docs/protocol.md §12.10), so that a process restarted while the vault cannot be reached
    /// still serves what it had read, as stale entries within [`Self::max_stale`]. The client
    /// reads it when it is built (a snapshot that does not open is ignored with a warning
    /// event) and writes it, atomically and readable by its owner only, a moment after its
    /// state changed ([`Self::snapshot_debounce`]), never while a read waits. Off by default.
    ///
    /// ```
    /// let builder = syvault_proto::Client::builder()
    ///     .snapshot("/var/lib/app/syvault.snapshot")
    ///     .max_stale(std::time::Duration::from_secs(3600));
    /// # let _ = builder;
    /// ```
    pub fn snapshot(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.settings.snapshot_file = Some(path.into());
        self
    }

    /// How long after a change the snapshot recording it is written, and the least time
    /// between two snapshots. Default 2 s.
    pub fn snapshot_debounce(mut self, debounce: Duration) -> Self {
        self.settings.snapshot_debounce = debounce;
        self
    }

    /// Sets the retry policy of failed requests, its retry budget included.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.settings.retry = retry;
        self
    }

    /// Sets how rotations are awaited (poll intervals and deadline).
    pub fn rotation(mut self, rotation: RotationPolicy) -> Self {
        self.settings.rotation = rotation;
        self
    }

    /// Reuses one signed token until shortly before it expires (the default), or signs one per
    /// request.
    pub fn token_mode(mut self, mode: TokenMode) -> Self {
        self.settings.token_mode = mode;
        self
    }

    /// Refuses response bodies larger than this many bytes. Default 16 MiB.
    pub fn max_response_body(mut self, bytes: usize) -> Self {
        self.settings.max_response_body = bytes;
        self
    }

    /// Limits establishing a connection, TLS included. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.transport.connect_timeout = timeout;
        self
    }

    /// Limits each request as a whole, from connecting to the last byte of the answer.
    /// Default 30 s. Retries get the same limit each.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.transport.request_timeout = timeout;
        self
    }

    /// Limits each operation as a whole (a `get`, a `list`, a `rotate`, a lease, a bootstrap):
    /// every attempt, retry wait and poll included. Each request is given at most the time the
    /// operation has left, and a retry that could not start in time is not waited for. Past the
    /// limit the operation ends with [`Error::OperationTimeout`], which names the server and
    /// what went wrong last. Off by default: then the request timeout, the retry policy and the
    /// rotation deadline bound an operation.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let builder = syvault_proto::Client::builder()
    ///     .server("https://vault.example.com")
    ///     .connect_timeout(Duration::from_secs(5))
    ///     .operation_timeout(Duration::from_secs(30));
    /// # let _ = builder;
    /// ```
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.settings.operation_timeout = Some(timeout);
        self
    }

    /// Trusts the CA certificates in `pem` in addition to the operating system's trust store,
    /// such as a company CA or `syvault-dev`'s generated `ca.pem`. Server certificates are
    /// always verified; there is no way to turn that off.
    pub fn add_root_certificates_pem(mut self, pem: impl Into<String>) -> Self {
        self.transport.extra_roots_pem.push(pem.into());
        self
    }

    /// Presents this client certificate (chain and private key, PEM) to servers that require
    /// one. Both are checked when the client is built.
    pub fn client_certificate_pem(
        mut self,
        chain_pem: impl Into<String>,
        key_pem: impl Into<SecretString>,
    ) -> Self {
        self.transport.client_certificate = Some(ClientCertificate::new(chain_pem, key_pem));
        self
    }

    /// Sends every request through this HTTP proxy, such as `http://proxy.corp:3128` or
    /// `http://user:password@proxy.corp:3128` (percent-encoded), tunnelling with `CONNECT`.
    /// Without this, the `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` environment
    /// variables decide (see [`crate::proxy`]). Errors never quote the URL.
    pub fn proxy(mut self, url: &str) -> Result<Self> {
        self.transport.proxy = ProxySetting::Explicit(url.parse::<ProxyUrl>()?);
        Ok(self)
    }

    /// Connects straight to the server, ignoring the proxy environment variables.
    pub fn disable_proxy(mut self) -> Self {
        self.transport.proxy = ProxySetting::Disabled;
        self
    }

    /// Allows plain `http://` to a host that is not a loopback address. Off by default:
    /// secrets are end-to-end encrypted, but bearer tokens are not.
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.settings.allow_plain_http = allow;
        self.transport.allow_plain_http = allow;
        self
    }

    /// The transport settings so far.
    pub fn transport_settings(&self) -> &TransportSettings {
        &self.transport
    }

    /// Checks that the identity is complete and splits the builder into the core's
    /// configuration and the driver's transport settings.
    pub fn into_parts(self) -> Result<(ClientConfig, TransportSettings)> {
        let mut config = self.settings;
        config.server = required(self.server, "server")?;
        config.client_id = required(self.client_id, "client_id")?;
        config.client_secret = required(self.client_secret, "client_secret")?;
        Ok((config, self.transport))
    }

    /// A core client at the configured server with this builder's policies but no identity,
    /// for a driver to run a [`crate::ops::Bootstrap`] on, like any other operation, over a
    /// transport made from [`Self::transport_settings`]. Client id and secret need not be set;
    /// once the bootstrap succeeds the client has the new identity.
    ///
    /// ```
    /// let client = syvault_proto::Client::builder()
    ///     .server("http://127.0.0.1:8200")
    ///     .bootstrap_client()?;
    /// assert_eq!(client.client_id(), None);
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn bootstrap_client(&self) -> Result<Client> {
        let mut config = self.settings.clone();
        config.server = required(self.server.clone(), "server")?;
        Client::unidentified(config)
    }
}

impl<C: FromConfig> ClientBuilder<C> {
    /// Checks the settings and builds the client. Nothing is sent yet.
    pub fn build(self) -> Result<C> {
        let (config, transport) = self.into_parts()?;
        C::from_config(config, transport)
    }
}

fn required<T>(value: Option<T>, what: &'static str) -> Result<T> {
    value.ok_or_else(|| Error::invalid_input(what, "not set"))
}

/// A client id, given as a [`Uuid`] or as its text: what the clients' `new` constructors
/// accept, as the documented SDK takes `client_id` as a string.
pub trait IntoClientId {
    /// The client id; text that is not a UUID is [`Error::InvalidInput`].
    fn into_client_id(self) -> Result<Uuid>;
}

impl IntoClientId for Uuid {
    fn into_client_id(self) -> Result<Uuid> {
        Ok(self)
    }
}

impl IntoClientId for &str {
    fn into_client_id(self) -> Result<Uuid> {
        Uuid::parse_str(self.trim()).map_err(|_| Error::invalid_input("client id", "not a UUID"))
    }
}

impl IntoClientId for String {
    fn into_client_id(self) -> Result<Uuid> {
        self.as_str().into_client_id()
    }
}

impl IntoClientId for &String {
    fn into_client_id(self) -> Result<Uuid> {
        self.as_str().into_client_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CachePolicy;

    type Builder = ClientBuilder<()>;

    #[test]
    fn every_identity_setting_is_required() {
        let missing = |b: Builder| match b.into_parts() {
            Err(Error::InvalidInput { what, .. }) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(missing(Builder::new()), "server");
        assert_eq!(missing(Builder::new().server("https://x")), "client_id");
        assert_eq!(
            missing(Builder::new().server("https://x").client_id(Uuid::nil())),
            "client_secret"
        );
    }

    #[test]
    fn settings_reach_the_config_and_the_transport() {
        let (config, transport) = Builder::new()
            .server("https://vault.example.com")
            .client_id(Uuid::nil())
            .client_secret("secret")
            .cache_ttl(Duration::ZERO)
            .cache_max_entries(5)
            .max_stale(Duration::from_secs(9))
            .cache_jitter_percent(0)
            .refresh_ahead_percent(50)
            .max_response_body(1024)
            .allow_plain_http(true)
            .connect_timeout(Duration::from_secs(1))
            .add_root_certificates_pem("PEM")
            .into_parts()
            .unwrap();
        assert_eq!(
            config.cache,
            CachePolicy::default()
                .with_ttl(Duration::ZERO)
                .with_max_entries(5)
                .with_max_stale(Some(Duration::from_secs(9)))
                .with_jitter_percent(0)
                .with_refresh_ahead_percent(50)
        );
        assert_eq!(
            (config.max_response_body, config.allow_plain_http),
            (1024, true)
        );
        assert_eq!(transport.connect_timeout, Duration::from_secs(1));
        assert_eq!(transport.request_timeout, DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(transport.extra_roots_pem, ["PEM"]);
        assert!(transport.allow_plain_http);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let builder = Builder::new().client_secret("MIGHsecret");
        assert!(!format!("{builder:?}").contains("MIGH"));
    }

    #[test]
    fn client_certificate_and_proxy_reach_the_transport_and_stay_out_of_debug() {
        let builder = Builder::new()
            .client_certificate_pem("CHAIN", "KEY-MATERIAL")
            .proxy("http://build:hunter2@proxy.corp:3128")
            .unwrap();
        let debug = format!("{builder:?}");
        assert!(
            !debug.contains("KEY-MATERIAL") && !debug.contains("hunter2"),
            "{debug}"
        );
        assert!(
            debug.contains("CHAIN") && debug.contains("proxy.corp:3128"),
            "{debug}"
        );

        let transport = builder.transport_settings();
        let certificate = transport.client_certificate.as_ref().unwrap();
        assert_eq!(certificate.key_pem.expose(), "KEY-MATERIAL");
        let ProxySetting::Explicit(proxy) = &transport.proxy else {
            panic!("{:?}", transport.proxy)
        };
        assert_eq!(proxy.password().unwrap().expose(), "hunter2");

        let direct = builder.disable_proxy();
        assert_eq!(direct.transport_settings().proxy, ProxySetting::Disabled);
        assert_eq!(
            Builder::new().transport_settings().proxy,
            ProxySetting::FromEnv
        );
    }

    #[test]
    fn a_bad_proxy_url_is_refused_without_quoting_it() {
        let error = Builder::new()
            .proxy("socks5://build:hunter2@proxy.corp")
            .unwrap_err();
        assert!(matches!(
            error,
            Error::InvalidInput {
                what: "proxy URL",
                ..
            }
        ));
        assert!(!format!("{error} {error:?}").contains("hunter2"));
    }
}
