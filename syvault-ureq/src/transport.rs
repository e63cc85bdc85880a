//! HTTP over a pooled ureq agent: TLS roots, timeouts, bounded bodies, and transport failures
//! classified for the core's retry rules.

use std::io::Read;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use syvault_proto::builder::TransportSettings;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::proxy::Proxies;
use syvault_proto::step::{Input, Request, Response, TimeLeft};
use syvault_proto::{Error, Result};
use syvault_tls::{ClientTls, TrustStore};
use ureq::tls::{ClientCert, TlsConfig};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{Connector as _, DefaultConnector, NextTimeout};

/// Pooled agents, or nothing once the client was closed.
pub(crate) struct Transport {
    agents: Mutex<Option<Agents>>,
    /// What the client trusts and presents; the trust store is read when the first https
    /// request builds the TLS agent.
    tls: ClientTls,
    client_cert: Option<ClientCert>,
    connect_timeout: Duration,
    request_timeout: Duration,
    /// The proxies of the settings, with the environment read when the client was built.
    proxies: Proxies,
    /// Plain http may reach any address (the loopback rule is off).
    plain_http_anywhere: bool,
    /// Bodies are read up to one byte past the core's limit, so the core can tell "too large".
    read_limit: u64,
}

/// An agent for plain http, made with the client, and one for https, made at the first https
/// request: a client of a plain-http server never reads the trust store.
struct Agents {
    plain: ureq::Agent,
    tls: Option<ureq::Agent>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(settings: &TransportSettings, max_response_body: usize) -> Result<Self> {
        Self::with_store(settings, max_response_body, TrustStore::system())
    }

    /// [`Transport::new`] trusting `store` in place of the operating system's.
    pub(crate) fn with_store(
        settings: &TransportSettings,
        max_response_body: usize,
        store: &'static TrustStore,
    ) -> Result<Self> {
        let tls = ClientTls::with_store(settings, store)?;
        let client_cert = crate::tls::client_cert(settings, &tls)?;
        let mut transport = Self {
            agents: Mutex::new(None),
            tls,
            client_cert,
            connect_timeout: settings.connect_timeout,
            request_timeout: settings.request_timeout,
            proxies: Proxies::resolve(&settings.proxy, |name| std::env::var(name).ok())?,
            plain_http_anywhere: settings.allow_plain_http,
            read_limit: u64::try_from(max_response_body)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
        };
        let plain = transport.agent_with(crate::tls::no_tls());
        transport.agents = Mutex::new(Some(Agents { plain, tls: None }));
        Ok(transport)
    }

    /// An agent with this client's settings and `tls`.
    fn agent_with(&self, tls: TlsConfig) -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            // Every answer goes to the core, error statuses and their bodies included.
            .http_status_as_error(false)
            // A redirect would carry the bearer token elsewhere; the core reports 3xx instead.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .save_redirect_history(false)
            .timeout_connect(Some(self.connect_timeout))
            .timeout_global(Some(self.request_timeout))
            .tls_config(tls)
            // Proxies are chosen per request from `proxies`, by the core's rules.
            .proxy(None)
            .build();
        let resolver = LoopbackForPlainHttp {
            names: crate::resolver::LiteralFirst::default(),
            plain_http_anywhere: self.plain_http_anywhere,
        };
        let connector = DefaultConnector::default().chain(crate::timeouts::SteadyTimeouts);
        ureq::Agent::with_parts(config, connector, resolver)
    }

    /// The agent for a request, or `None` once the client was closed. The first https request
    /// makes the TLS agent, reading the trust store if no client of the process has yet.
    fn agent(&self, https: bool) -> Option<ureq::Agent> {
        let mut agents = self.agents.lock().unwrap_or_else(PoisonError::into_inner);
        let agents = agents.as_mut()?;
        if !https {
            return Some(agents.plain.clone());
        }
        let tls = agents.tls.get_or_insert_with(|| {
            self.agent_with(crate::tls::tls_config(&self.tls, self.client_cert.clone()))
        });
        Some(tls.clone())
    }

    /// Sends one request and reads its answer, or reports why that failed.
    pub(crate) fn send(&self, request: Request) -> Input {
        let https = request.uri().scheme() == Some(&ureq::http::uri::Scheme::HTTPS);
        let Some(agent) = self.agent(https) else {
            return Input::Failed(closed());
        };
        let proxy = match proxy_for(&self.proxies, request.uri(), self.plain_http_anywhere) {
            Ok(proxy) => proxy,
            Err(error) => return Input::Failed(classify(error)),
        };
        // The operation's time left, when it has a limit, bounds the request too.
        let limit = request
            .extensions()
            .get::<TimeLeft>()
            .map(|left| left.0.min(self.request_timeout));
        let request = configure(&agent, request, proxy, limit);
        // A request without a body goes without one: an empty one would be sent as
        // `content-length: 0`, which a GET has no use for.
        let bodiless = request.body().is_empty()
            && !matches!(
                *request.method(),
                ureq::http::Method::POST | ureq::http::Method::PUT | ureq::http::Method::PATCH
            );
        let answer = if bodiless {
            agent.run(request.map(|_| ()))
        } else {
            agent.run(request)
        };
        match answer.and_then(|r| self.read(r)) {
            Ok(response) => Input::Response(response),
            Err(error) => Input::Failed(self.tls.explain_untrusted(classify(error))),
        }
    }

    fn read(
        &self,
        response: ureq::http::Response<ureq::Body>,
    ) -> std::result::Result<Response, ureq::Error> {
        let (parts, body) = response.into_parts();
        // Sized from Content-Length (within the limit), so a large page is not copied again
        // and again as the buffer grows.
        let expected = parts
            .headers
            .get(ureq::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |length| length.min(self.read_limit));
        let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        body.into_reader()
            .take(self.read_limit)
            .read_to_end(&mut bytes)?;
        Ok(Response::from_parts(parts, bytes))
    }

    /// Closes the pooled connections and refuses later requests.
    pub(crate) fn close(&self) {
        let agents = self
            .agents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(agents) = agents {
            agents.plain.shutdown();
            if let Some(tls) = agents.tls {
                tls.shutdown();
            }
        }
    }
}

/// `request` with its proxy and time limit, if any, as ureq sends it. The headers are the
/// core's, moved rather than rebuilt: the `Authorization` value stays marked sensitive (ureq
/// never logs it) and its bytes are the core's own, wiped once dropped. What ureq writes of it
/// into the connection's buffer is ureq's, which does not wipe it.
fn configure(
    agent: &ureq::Agent,
    request: Request,
    proxy: Option<ureq::Proxy>,
    limit: Option<Duration>,
) -> Request {
    if proxy.is_none() && limit.is_none() {
        return request;
    }
    let mut config = agent.configure_request(request);
    if let Some(proxy) = proxy {
        config = config.proxy(Some(proxy));
    }
    if let Some(limit) = limit {
        config = config.timeout_global(Some(limit));
    }
    config.build()
}

/// The system resolver, keeping only loopback addresses for plain `http` unless plain http was
/// allowed everywhere. The core lets plain http through for loopback *names* (`localhost`,
/// `*.localhost`), but a resolver may send such a name anywhere; the bearer token must not
/// follow. Every address ureq may connect to comes from here.
#[derive(Debug)]
struct LoopbackForPlainHttp {
    names: crate::resolver::LiteralFirst,
    plain_http_anywhere: bool,
}

impl Resolver for LoopbackForPlainHttp {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved = self.names.resolve(uri, config, timeout)?;
        // A proxy's own lookup: for plain-http requests `proxy_for` already pinned it to a
        // loopback address; https requests may use any proxy.
        let proxy_lookup = config.proxy().is_some_and(|proxy| proxy.uri() == uri);
        if self.plain_http_anywhere
            || proxy_lookup
            || uri.scheme() != Some(&ureq::http::uri::Scheme::HTTP)
        {
            return Ok(resolved);
        }
        let mut loopback = self.empty();
        for addr in resolved.iter().filter(|addr| addr.ip().is_loopback()) {
            loopback.push(*addr);
        }
        if loopback.is_empty() {
            return Err(plain_http_refused());
        }
        Ok(loopback)
    }
}

/// The error of a request on a closed client.
pub(crate) fn closed() -> Error {
    Error::transport(TransportErrorKind::Other, "the client was closed")
}

/// The `CONNECT` proxy of a request to `uri`, if the client's proxy settings choose one.
///
/// A plain-http request tunnels its bearer token in clear through the proxy, so the loopback
/// rule applies to the proxy then: its name is resolved here, only loopback addresses are kept,
/// and ureq is handed that address rather than the name, so what was checked is what it
/// connects to.
fn proxy_for(
    proxies: &Proxies,
    uri: &ureq::http::Uri,
    plain_http_anywhere: bool,
) -> std::result::Result<Option<ureq::Proxy>, ureq::Error> {
    // Most clients have no proxy: then the URI is not even spelled out.
    if proxies.is_empty() {
        return Ok(None);
    }
    let Some(proxy) = proxies.for_url(&uri.to_string()) else {
        return Ok(None);
    };
    let host = if plain_http_anywhere || uri.scheme() != Some(&ureq::http::uri::Scheme::HTTP) {
        proxy.host().to_owned()
    } else {
        match loopback_address(proxy.host(), proxy.port())? {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        }
    };
    let mut builder = ureq::Proxy::builder(ureq::ProxyProtocol::Http)
        .host(&host)
        .port(proxy.port());
    if let (Some(user), Some(password)) = (proxy.username(), proxy.password()) {
        builder = builder.username(user).password(password.expose());
    }
    // Host and port were checked by the core's parser; nothing is left to fail here.
    Ok(builder.build().ok())
}

/// The first loopback address `host` resolves to, or the refusal of a plain-http connection.
fn loopback_address(host: &str, port: u16) -> std::result::Result<std::net::IpAddr, ureq::Error> {
    use std::net::ToSocketAddrs as _;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host, port)
        .to_socket_addrs()
        .map_err(|_| ureq::Error::HostNotFound)?
        .map(|addr| addr.ip())
        .find(std::net::IpAddr::is_loopback)
        .ok_or_else(plain_http_refused)
}

fn plain_http_refused() -> ureq::Error {
    ureq::Error::Io(std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        "plain http is only allowed to loopback peers, and the host (or the proxy it goes through) resolved elsewhere",
    ))
}

/// Maps a ureq failure to the core's transport error. Messages come from ureq and the OS
/// (statuses, socket errors, TLS alerts) and never include headers, so no token leaks.
fn classify(error: ureq::Error) -> Error {
    let kind = match &error {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            TransportErrorKind::Tls
        }
        ureq::Error::Io(io) => io_kind(io),
        ureq::Error::BodyStalled => TransportErrorKind::ConnectionClosed,
        // Everything else, `Protocol` included: bytes that are not a valid HTTP answer (a bad
        // status line, conflicting lengths) are a malformed response, which the protocol says
        // is not retried, as hyper's parse errors are not.
        _ => TransportErrorKind::Other,
    };
    let message = error.to_string();
    // ureq's I/O variant does not chain to its io::Error, so that error is the source itself.
    match error {
        ureq::Error::Io(io) => Error::transport_caused_by(kind, message, io),
        other => Error::transport_caused_by(kind, message, other),
    }
}

fn io_kind(io: &std::io::Error) -> TransportErrorKind {
    use std::io::ErrorKind as Io;

    // A failed TLS handshake surfaces as an I/O error wrapping the rustls error, possibly
    // wrapped again.
    let mut inner = io.get_ref();
    while let Some(cause) = inner {
        if cause.is::<rustls::Error>() {
            return TransportErrorKind::Tls;
        }
        inner = cause
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
    }
    match io.kind() {
        Io::ConnectionRefused
        | Io::HostUnreachable
        | Io::NetworkUnreachable
        | Io::AddrNotAvailable
        | Io::NetworkDown => TransportErrorKind::Connect,
        Io::TimedOut | Io::WouldBlock => TransportErrorKind::Timeout,
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
            TransportErrorKind::ConnectionClosed
        }
        _ => TransportErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first request of a listing, as the core builds it: authenticated.
    fn authenticated_request() -> Request {
        use syvault_proto::ops::{ListSecrets, Operation as _};
        use syvault_proto::rand_core::UnwrapErr;
        use syvault_proto::step::Step;
        let mut rng = UnwrapErr(getrandom::SysRng);
        let key = syvault_proto::keys::ClientKey::generate(&mut rng);
        let mut client = syvault_proto::Client::builder()
            .server("https://vault.example.com")
            .client_id(syvault_proto::uuid::Uuid::from_u128(7))
            .client_secret(key.to_client_secret())
            .build()
            .unwrap();
        let now = syvault_proto::Timestamp::from_unix_secs(1_700_000_000);
        match ListSecrets::new().step(&mut client, Input::Start, now, &mut rng) {
            Step::Send(request) => request,
            _ => panic!("the listing sent nothing"),
        }
    }

    #[test]
    fn the_bearer_header_is_sent_marked_sensitive() {
        let agent = ureq::Agent::new_with_defaults();
        let proxy = ureq::Proxy::new("http://127.0.0.1:3128").ok();
        for (proxy, limit) in [
            (None, None),
            (None, Some(Duration::from_secs(1))),
            (proxy, Some(Duration::from_secs(1))),
        ] {
            let configured = configure(&agent, authenticated_request(), proxy, limit);
            let value = &configured.headers()[ureq::http::header::AUTHORIZATION];
            assert!(value.is_sensitive());
            assert!(value.as_bytes().starts_with(b"Bearer ey"));
            assert!(!format!("{configured:?}").contains("Bearer"));
        }
    }

    #[test]
    fn io_failures_map_to_retryable_kinds() {
        use std::io::{Error as IoError, ErrorKind as Io};
        let kind = |e: IoError| match classify(ureq::Error::Io(e)) {
            Error::Transport { kind, .. } => kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            kind(IoError::from(Io::ConnectionRefused)),
            TransportErrorKind::Connect
        );
        assert_eq!(
            kind(IoError::from(Io::TimedOut)),
            TransportErrorKind::Timeout
        );
        assert_eq!(
            kind(IoError::from(Io::ConnectionReset)),
            TransportErrorKind::ConnectionClosed
        );
        assert_eq!(
            kind(IoError::from(Io::UnexpectedEof)),
            TransportErrorKind::ConnectionClosed
        );
        let tls = || IoError::new(Io::InvalidData, rustls::Error::General("bad".into()));
        assert_eq!(kind(tls()), TransportErrorKind::Tls);
        assert_eq!(kind(IoError::other(tls())), TransportErrorKind::Tls);
        assert_eq!(
            kind(IoError::from(Io::PermissionDenied)),
            TransportErrorKind::Other
        );
    }

    #[test]
    fn ureq_failures_map_to_kinds() {
        let kind = |e| match classify(e) {
            Error::Transport { kind, .. } => kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            kind(ureq::Error::Timeout(ureq::Timeout::Connect)),
            TransportErrorKind::Timeout
        );
        assert_eq!(kind(ureq::Error::HostNotFound), TransportErrorKind::Connect);
        assert_eq!(kind(ureq::Error::Tls("handshake")), TransportErrorKind::Tls);
    }

    #[test]
    fn plain_http_resolves_to_loopback_addresses_only() {
        let config = ureq::Agent::config_builder().build();
        let resolve = |anywhere: bool, url: &str| {
            LoopbackForPlainHttp {
                names: crate::resolver::LiteralFirst::default(),
                plain_http_anywhere: anywhere,
            }
            .resolve(&url.parse().unwrap(), &config, NextTimeout::default())
        };
        // IP literals resolve without any lookup. 192.0.2.1 is a documentation address.
        let refused = resolve(false, "http://192.0.2.1:8200/").unwrap_err();
        assert!(refused.to_string().contains("loopback"));
        assert_eq!(
            match classify(refused) {
                Error::Transport { kind, .. } => kind,
                other => panic!("{other:?}"),
            },
            TransportErrorKind::Other
        );
        assert_eq!(
            resolve(false, "http://127.0.0.1:8200/").unwrap()[..],
            ["127.0.0.1:8200".parse().unwrap()]
        );
        assert_eq!(
            resolve(false, "http://[::1]:8200/").unwrap()[..],
            ["[::1]:8200".parse().unwrap()]
        );
        // https, or plain http explicitly allowed, go wherever the name resolves.
        assert!(resolve(false, "https://192.0.2.1:8200/").is_ok());
        assert!(resolve(true, "http://192.0.2.1:8200/").is_ok());
    }

    fn get(url: &str) -> Request {
        let url = format!("{url}{}", syvault_proto::wire::paths::folders());
        ureq::http::Request::get(url)
            .body(Vec::new())
            .expect("request")
    }

    /// A plain-http client never reads the trust store, not when it is built and not when it
    /// sends; the first https request reads it, and later ones (of any client) do not again.
    #[test]
    fn the_trust_store_is_read_at_the_first_https_request_only() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static READS: AtomicUsize = AtomicUsize::new(0);
        static STORE: TrustStore = TrustStore::new(|| {
            READS.fetch_add(1, Ordering::SeqCst);
            syvault_tls::StoreContents::new(Vec::new(), vec!["the test's store".to_owned()])
        });
        let dir = tempfile::tempdir().expect("directory");
        let plain = syvault_dev::DevServer::start_blocking(syvault_dev::DevServer::builder())
            .expect("server");
        let tls = syvault_dev::DevServer::builder().tls_dir(Some(dir.path().join("tls")));
        let tls = syvault_dev::DevServer::start_blocking(tls).expect("server");
        let mut settings = TransportSettings::default();
        settings.proxy = syvault_proto::proxy::ProxySetting::Disabled;
        let transport = Transport::with_store(&settings, 1 << 20, &STORE).expect("transport");
        match transport.send(get(&plain.url())) {
            Input::Response(response) => assert_eq!(response.status(), 401),
            other => panic!("{other:?}"),
        }
        assert_eq!(READS.load(Ordering::SeqCst), 0);

        for _ in 0..2 {
            // Refused, and not for want of a read: an empty store (whose error the message
            // names, as the end-to-end tests check with a real one).
            let refused = transport.send(get(&tls.url()));
            assert!(
                matches!(
                    &refused,
                    Input::Failed(Error::Transport {
                        kind: TransportErrorKind::Tls,
                        message,
                        ..
                    }) if message.contains("the test's store")
                ),
                "{refused:?}"
            );
        }
        settings.extra_roots_pem = vec![tls.ca_pem().expect("the CA")];
        let trusting = Transport::with_store(&settings, 1 << 20, &STORE).expect("transport");
        match trusting.send(get(&tls.url())) {
            Input::Response(response) => assert_eq!(response.status(), 401),
            other => panic!("{other:?}"),
        }
        assert_eq!(READS.load(Ordering::SeqCst), 1);
    }
}
