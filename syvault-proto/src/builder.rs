//! The client builder shared by every driver: identity, policies and transport settings.

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use uuid::Uuid;

use crate::config::{ClientConfig, RotationPolicy};
use crate::error::{Error, Result};
use crate::jwt::TokenMode;
use crate::model::Credentials;
use crate::ops::Bootstrap;
use crate::retry::RetryPolicy;
use crate::secret::SecretString;

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
    /// Extra trusted CA certificates, PEM, beside the platform's root set.
    pub extra_roots_pem: Vec<String>,
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            extra_roots_pem: Vec::new(),
        }
    }
}

/// A client type a [`ClientBuilder`] can build: implemented by each driver.
pub trait FromConfig: Sized {
    /// Builds the client from a checked configuration and its transport settings.
    fn from_config(config: ClientConfig, transport: TransportSettings) -> Result<Self>;
}

/// Builds a client of type `C` (such as a blocking or an async driver's client).
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
pub struct ClientBuilder<C> {
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
    /// `SY_CLIENT_SECRET`.
    pub fn with_env(self) -> Result<Self> {
        let config = ClientConfig::from_env_with(|name| std::env::var(name).ok())?;
        Ok(self.credentials(Credentials {
            server: config.server,
            client_id: config.client_id,
            client_secret: config.client_secret,
        }))
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

    /// Sets the retry policy of failed requests.
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

    /// Trusts the CA certificates in `pem` in addition to the platform's root set, such as a
    /// company CA or `syvault-dev`'s generated `ca.pem`.
    pub fn add_root_certificates_pem(mut self, pem: impl Into<String>) -> Self {
        self.transport.extra_roots_pem.push(pem.into());
        self
    }

    /// Allows plain `http://` to a host that is not a loopback address. Off by default:
    /// secrets are end-to-end encrypted, but bearer tokens are not.
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.settings.allow_plain_http = allow;
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

    /// A bootstrap at the configured server with this builder's retry policy and plain-http
    /// opt-in, for a driver to run over a transport made from [`Self::transport_settings`].
    /// Client id and secret need not be set.
    pub fn bootstrap_operation(&self, one_time_token: &str) -> Result<Bootstrap> {
        let server = required(self.server.clone(), "server")?;
        Ok(Bootstrap::new(&server, one_time_token)
            .allow_plain_http(self.settings.allow_plain_http)
            .retry(self.settings.retry))
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
            .max_response_body(1024)
            .allow_plain_http(true)
            .connect_timeout(Duration::from_secs(1))
            .add_root_certificates_pem("PEM")
            .into_parts()
            .unwrap();
        assert_eq!(
            config.cache,
            CachePolicy {
                ttl: Duration::ZERO,
                max_entries: 5,
                max_stale: Some(Duration::from_secs(9))
            }
        );
        assert_eq!(
            (config.max_response_body, config.allow_plain_http),
            (1024, true)
        );
        assert_eq!(transport.connect_timeout, Duration::from_secs(1));
        assert_eq!(transport.request_timeout, DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(transport.extra_roots_pem, ["PEM"]);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let builder = Builder::new().client_secret("MIGHsecret");
        assert!(!format!("{builder:?}").contains("MIGH"));
    }
}
