//! Client configuration: where the server is, who the client is, and the policies it follows.

use core::time::Duration;

use uuid::Uuid;

use crate::cache::CachePolicy;
use crate::error::{Error, Result};
use crate::jwt::TokenMode;
use crate::model::Credentials;
use crate::retry::RetryPolicy;
use crate::secret::SecretString;

/// Default limit on a response body: 16 MiB.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;

/// Environment variable holding the server URL.
pub const ENV_SERVER: &str = "SY_SERVER";
/// Environment variable holding the client id.
pub const ENV_CLIENT_ID: &str = "SY_CLIENT_ID";
/// Environment variable holding the client secret.
pub const ENV_CLIENT_SECRET: &str = "SY_CLIENT_SECRET";
/// Environment variable naming the file a client keeps its encrypted snapshot in.
pub const ENV_SNAPSHOT_FILE: &str = "SY_SNAPSHOT_FILE";

/// Default wait between a change and the snapshot that records it: 2 s.
pub const DEFAULT_SNAPSHOT_DEBOUNCE: Duration = Duration::from_secs(2);

/// How rotation is awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationPolicy {
    /// First wait between status polls when the server sends no `Retry-After`. Default 250 ms.
    pub initial_interval: Duration,
    /// The interval doubles up to this. Default 2 s.
    pub max_interval: Duration,
    /// How long to wait for a terminal status before giving up with
    /// [`Error::RotationTimeout`], which carries the rotation id so waiting can resume.
    /// Default 60 s.
    pub deadline: Duration,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(2),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RotationPolicy {
    /// This policy with [`Self::initial_interval`] set (the struct is `#[non_exhaustive]`, so
    /// that it can gain settings: build it from [`Self::default`] with these).
    ///
    /// ```
    /// use std::time::Duration;
    /// use syvault_proto::config::RotationPolicy;
    ///
    /// let policy = RotationPolicy::default()
    ///     .with_initial_interval(Duration::from_millis(100))
    ///     .with_max_interval(Duration::from_secs(1))
    ///     .with_deadline(Duration::from_secs(30));
    /// assert_eq!(policy.deadline, Duration::from_secs(30));
    /// ```
    #[must_use]
    pub const fn with_initial_interval(mut self, initial_interval: Duration) -> Self {
        self.initial_interval = initial_interval;
        self
    }

    /// This policy with [`Self::max_interval`] set.
    #[must_use]
    pub const fn with_max_interval(mut self, max_interval: Duration) -> Self {
        self.max_interval = max_interval;
        self
    }

    /// This policy with [`Self::deadline`] set.
    #[must_use]
    pub const fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

/// Everything a client is configured with.
///
/// ```
/// use syvault_proto::config::ClientConfig;
///
/// let config = ClientConfig::from_env_with(|name| match name {
///     "SY_SERVER" => Some("https://vault.example.com".into()),
///     "SY_CLIENT_ID" => Some("5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17".into()),
///     "SY_CLIENT_SECRET" => Some("MIGHAgEA...".into()),
///     _ => None,
/// })?;
/// assert_eq!(config.server, "https://vault.example.com");
/// assert!(!format!("{config:?}").contains("MIGH"));
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The server URL, such as `https://vault.example.com`. It may carry a path prefix.
    pub server: String,
    /// The client id given at bootstrap.
    pub client_id: Uuid,
    /// The client's private key in any accepted form.
    pub client_secret: SecretString,
    /// The cache of decrypted secrets.
    pub cache: CachePolicy,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// Waiting for rotations.
    pub rotation: RotationPolicy,
    /// Token reuse or a token per request.
    pub token_mode: TokenMode,
    /// Responses with a larger body are refused. Default 16 MiB.
    pub max_response_body: usize,
    /// Allow plain `http://` to a host that is not a loopback address. Off by default: secrets
    /// are encrypted end to end, but bearer tokens are not.
    pub allow_plain_http: bool,
    /// The file the driver keeps the client's encrypted snapshot in (docs/protocol.md §12.10):
    /// read when the client is built, written after changes. `None` (the default) keeps none.
    /// The core never touches it; it only decides when a snapshot is due.
    pub snapshot_file: Option<std::path::PathBuf>,
    /// How long after a change the snapshot recording it is written, and the least time between
    /// two snapshots. Default 2 s.
    pub snapshot_debounce: Duration,
    /// Limit on one whole operation (a `get`, a `list`, a `rotate`, …): every attempt, retry
    /// wait and poll included. Past it the operation ends with [`Error::OperationTimeout`].
    /// `None` (the default) leaves only the per-request timeouts and the retry and rotation
    /// policies to bound it.
    pub operation_timeout: Option<Duration>,
}

impl ClientConfig {
    /// A configuration with default policies. The client secret may be given in any form the
    /// builder accepts (`&str`, `String` or [`SecretString`]).
    pub fn new(
        server: impl Into<String>,
        client_id: Uuid,
        client_secret: impl Into<SecretString>,
    ) -> Self {
        Self {
            server: server.into(),
            client_id,
            client_secret: client_secret.into(),
            cache: CachePolicy::default(),
            retry: RetryPolicy::default(),
            rotation: RotationPolicy::default(),
            token_mode: TokenMode::default(),
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            allow_plain_http: false,
            snapshot_file: None,
            snapshot_debounce: DEFAULT_SNAPSHOT_DEBOUNCE,
            operation_timeout: None,
        }
    }

    /// A configuration from bootstrap's credentials.
    pub fn from_credentials(credentials: Credentials) -> Self {
        Self::new(
            credentials.server,
            credentials.client_id,
            credentials.client_secret,
        )
    }

    /// A configuration from `SY_SERVER`, `SY_CLIENT_ID` and `SY_CLIENT_SECRET`, read through
    /// `lookup` (drivers pass `std::env::var`), so the core itself never touches the process
    /// environment.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| Error::invalid_input(name, "environment variable is not set"))
        };
        let server = get(ENV_SERVER)?;
        let client_id = get(ENV_CLIENT_ID)?
            .trim()
            .parse()
            .map_err(|_| Error::invalid_input(ENV_CLIENT_ID, "not a UUID"))?;
        let secret = SecretString::new(get(ENV_CLIENT_SECRET)?);
        Ok(Self::new(server.trim(), client_id, secret))
    }
}

/// The server URL checked and split into what requests need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerUrl {
    /// The URL without a trailing slash; request paths are appended to it.
    pub(crate) base: String,
    /// The canonical origin, the `aud` of tokens.
    pub(crate) audience: String,
    /// The base's parts, so that a request's URI is built without parsing the base again.
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    /// The base's path without a trailing slash (empty for none), which request paths follow.
    prefix: String,
}

impl ServerUrl {
    pub(crate) fn parse(server: &str, allow_plain_http: bool) -> Result<Self> {
        let server = server.trim();
        let audience = crate::jwt::canonical_audience(server)?;
        let uri: http::Uri = server
            .parse()
            .map_err(|_| Error::invalid_input("server URL", "not an absolute URL"))?;
        if uri.query().is_some() || server.contains('#') {
            return Err(Error::invalid_input(
                "server URL",
                "must not carry a query or fragment",
            ));
        }
        if audience.starts_with("http://")
            && !allow_plain_http
            && !is_loopback(uri.host().unwrap_or_default())
        {
            return Err(Error::invalid_input(
                "server URL",
                "plain http is only allowed to loopback addresses; use https, or allow plain \
                 http to other hosts with the builder's `allow_plain_http(true)`",
            ));
        }
        let parts = uri.into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(Error::invalid_input("server URL", "not an absolute URL"));
        };
        let prefix = parts
            .path_and_query
            .as_ref()
            .map_or("", http::uri::PathAndQuery::path)
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            base: server.trim_end_matches('/').to_owned(),
            audience,
            scheme,
            authority,
            prefix,
        })
    }

    /// The URI of the request path `path` (which starts with `/`) on this server.
    pub(crate) fn uri(&self, path: &str) -> Result<http::Uri> {
        let path = if self.prefix.is_empty() {
            http::uri::PathAndQuery::try_from(path)
        } else {
            http::uri::PathAndQuery::try_from(format!("{}{path}", self.prefix))
        };
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path.map_err(|_| not_a_request_uri())?);
        http::Uri::from_parts(parts).map_err(|_| not_a_request_uri())
    }
}

#[cold]
fn not_a_request_uri() -> Error {
    Error::invalid_input("request", "the server URL does not form a valid URI")
}

/// Whether `host` (as in a URL, IPv6 in brackets) names this machine.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    host.parse::<core::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "https://vault.example.com",
            "http://127.0.0.1:8200",
            "http://localhost:1",
            "http://[::1]:8200/",
            "http://127.5.6.7",
        ] {
            assert!(ServerUrl::parse(ok, false).is_ok(), "{ok}");
        }
        assert!(ServerUrl::parse("http://vault.example.com", false).is_err());
        assert!(ServerUrl::parse("http://10.0.0.1:8200", false).is_err());
        assert!(ServerUrl::parse("http://vault.example.com", true).is_ok());
        assert!(ServerUrl::parse("https://vault.example.com/?x=1", false).is_err());
    }

    #[test]
    fn base_keeps_a_path_prefix_and_drops_the_trailing_slash() {
        let url = ServerUrl::parse("https://Example.com/vault/", false).unwrap();
        assert_eq!(
            url.uri("/api/sm/v1/folders").unwrap(),
            "https://Example.com/vault/api/sm/v1/folders"
        );
        assert_eq!(url.audience, "https://example.com");
        let url = ServerUrl::parse("http://127.0.0.1:8200/", false).unwrap();
        assert_eq!(url.base, "http://127.0.0.1:8200");
        assert_eq!(
            url.uri("/api/sm/v1/secrets?limit=500&cursor=a%2Fb")
                .unwrap(),
            "http://127.0.0.1:8200/api/sm/v1/secrets?limit=500&cursor=a%2Fb"
        );
        let url = ServerUrl::parse("https://[::1]:8443/a/b", false).unwrap();
        assert_eq!(
            url.uri("/api/sm/v1/folders").unwrap(),
            "https://[::1]:8443/a/b/api/sm/v1/folders"
        );
        assert!(url.uri("/bad path").is_err());
    }

    #[test]
    fn env_requires_every_variable() {
        let missing =
            ClientConfig::from_env_with(|name| (name == ENV_SERVER).then(|| "https://x".into()));
        assert!(matches!(
            missing,
            Err(Error::InvalidInput {
                what: "SY_CLIENT_ID",
                ..
            })
        ));
        let bad_id = ClientConfig::from_env_with(|name| {
            Some(if name == ENV_CLIENT_ID {
                "nope".into()
            } else {
                "https://x".into()
            })
        });
        assert!(matches!(
            bad_id,
            Err(Error::InvalidInput {
                what: "SY_CLIENT_ID",
                ..
            })
        ));
    }
}
