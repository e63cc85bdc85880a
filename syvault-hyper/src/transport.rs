//! HTTP/1.1 over a pooled hyper client with rustls: TLS roots, timeouts, bounded bodies, and
//! transport failures classified for the core's retry rules.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper_rustls::MaybeHttpsStream;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector, HttpInfo};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use syvault_proto::builder::TransportSettings;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::proxy::Proxies;
use syvault_proto::step::{Input, Request, Response, TimeLeft};
use syvault_proto::{Error, Result};
use syvault_tls::{ClientTls, TrustStore};
use tokio::net::TcpStream;
use tower_service::Service;

use crate::proxy::ProxyConnector;
use crate::tls::LazyTls;

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest transport message kept in an error.
const MAX_MESSAGE: usize = 300;

type Pool = HyperClient<LoopbackForPlainHttp, Full<Bytes>>;

/// A pooled hyper client, or nothing once the client was closed.
pub(crate) struct Transport {
    pool: Mutex<Option<Pool>>,
    request_timeout: Duration,
    /// What the client trusts and presents; TLS failures are explained with it.
    tls: Arc<LazyTls>,
    /// Bodies are read up to one byte past the core's limit, so the core can tell "too large".
    read_limit: usize,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    /// Builds the pool. No runtime is needed until the first request, and no trust store
    /// until the first https connection.
    pub(crate) fn new(settings: &TransportSettings, max_response_body: usize) -> Result<Self> {
        Self::with_store(settings, max_response_body, TrustStore::system())
    }

    /// [`Transport::new`] trusting `store` in place of the operating system's.
    pub(crate) fn with_store(
        settings: &TransportSettings,
        max_response_body: usize,
        store: &'static TrustStore,
    ) -> Result<Self> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(settings.connect_timeout));
        let tls = Arc::new(LazyTls::new(ClientTls::with_store(settings, store)?));
        let proxies = Proxies::resolve(&settings.proxy, |name| std::env::var(name).ok())?;
        let connector = LoopbackForPlainHttp {
            tcp: ProxyConnector::new(http, proxies),
            tls: Arc::clone(&tls),
            plain_http_anywhere: settings.allow_plain_http,
        };
        let pool = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Ok(Self {
            pool: Mutex::new(Some(pool)),
            request_timeout: settings.request_timeout,
            tls,
            read_limit: max_response_body.saturating_add(1),
        })
    }

    /// Sends one request and reads its answer within the request timeout, or reports why that
    /// failed.
    pub(crate) async fn send(&self, request: Request) -> Input {
        let pool = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(pool) = pool else {
            return Input::Failed(closed());
        };
        // The operation's time left, when it has a limit, bounds the request too.
        let limit = request
            .extensions()
            .get::<TimeLeft>()
            .map_or(self.request_timeout, |left| {
                left.0.min(self.request_timeout)
            });
        let request = for_hyper(request);
        match tokio::time::timeout(limit, exchange(&pool, request, self.read_limit)).await {
            Ok(Ok(response)) => Input::Response(response),
            Ok(Err(error)) => Input::Failed(self.tls.explain_untrusted(error)),
            Err(elapsed) => Input::Failed(Error::transport_caused_by(
                TransportErrorKind::Timeout,
                format!("no complete answer within {limit:?}"),
                elapsed,
            )),
        }
    }

    /// Drops the pool: idle connections close now, busy ones when their request ends. Later
    /// requests are refused.
    pub(crate) fn close(&self) {
        drop(
            self.pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }
}

/// `request` with the body hyper sends. The headers are the core's, moved rather than rebuilt:
/// the `Authorization` value stays marked sensitive (hyper never logs it) and its bytes are the
/// core's own, wiped once dropped. What hyper writes of it into the connection's buffer is
/// hyper's, which does not wipe it.
fn for_hyper(request: Request) -> http::Request<Full<Bytes>> {
    request.map(|body| Full::new(Bytes::from(body)))
}

async fn exchange(
    pool: &Pool,
    request: http::Request<Full<Bytes>>,
    limit: usize,
) -> Result<Response> {
    let response = pool.request(request).await.map_err(transport_error)?;
    let (parts, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    // Stop at the limit: the rest of an oversized body is never buffered.
    while bytes.len() < limit {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
            }
            Some(Err(error)) => return Err(transport_error(error)),
        }
    }
    bytes.truncate(limit);
    Ok(Response::from_parts(parts, bytes))
}

/// The connector: TLS for https, made at the first https connection; plain TCP for http,
/// refusing a connection whose peer is not a loopback address unless plain http was allowed
/// everywhere. The core lets plain http through for loopback *names* (`localhost`,
/// `*.localhost`), but a resolver may send such a name anywhere; the check is on the address
/// actually connected, before a byte of the request is written. Which schemes are allowed is
/// the core's decision (https, or http to loopback).
#[derive(Clone)]
pub(crate) struct LoopbackForPlainHttp {
    tcp: ProxyConnector,
    tls: Arc<LazyTls>,
    plain_http_anywhere: bool,
}

impl std::fmt::Debug for LoopbackForPlainHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackForPlainHttp")
            .field("plain_http_anywhere", &self.plain_http_anywhere)
            .finish_non_exhaustive()
    }
}

type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;
type BoxError = Box<dyn StdError + Send + Sync>;

impl Service<Uri> for LoopbackForPlainHttp {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        self.tcp.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            let connecting = self.tls.connector(&self.tcp).map(|mut tls| tls.call(uri));
            return Box::pin(async move { connecting?.await });
        }
        let check = !self.plain_http_anywhere && uri.scheme() == Some(&http::uri::Scheme::HTTP);
        let connecting = self.tcp.call(uri);
        Box::pin(async move {
            let stream = connecting.await?;
            if check && !loopback_peer(&stream.connected()) {
                return Err(PlainHttpRefused.into());
            }
            Ok(MaybeHttpsStream::Http(stream))
        })
    }
}

/// Whether a connection's peer is known to be a loopback address.
fn loopback_peer(connected: &Connected) -> bool {
    let mut extras = http::Extensions::new();
    connected.get_extras(&mut extras);
    extras
        .get::<HttpInfo>()
        .is_some_and(|info| info.remote_addr().ip().to_canonical().is_loopback())
}

/// A plain-http connection reached an address that is not loopback.
#[derive(Debug)]
struct PlainHttpRefused;

impl std::fmt::Display for PlainHttpRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "plain http is only allowed to loopback peers, and the connection (or the proxy it goes through) is elsewhere",
        )
    }
}

impl StdError for PlainHttpRefused {}

/// The error of a request on a closed client.
pub(crate) fn closed() -> Error {
    Error::transport(TransportErrorKind::Other, "the client was closed")
}

/// Maps a hyper failure to the core's transport error, which keeps it as its source.
fn transport_error(error: impl StdError + Send + Sync + 'static) -> Error {
    let (kind, message) = classify(&error);
    Error::transport_caused_by(kind, message, error)
}

/// The class and description of a hyper failure: the first cause in the chain that tells the
/// class of failure decides it. Messages come from hyper, rustls and the OS and never include
/// headers, so no token leaks.
fn classify(error: &(dyn StdError + 'static)) -> (TransportErrorKind, String) {
    let mut kind = None;
    let mut message = String::new();
    let mut cause = Some(error);
    while let Some(current) = cause {
        kind = kind.or_else(|| kind_of(current));
        let text = current.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        cause = next_cause(current);
    }
    let connect = error
        .downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(hyper_util::client::legacy::Error::is_connect);
    let fallback = if connect {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE) {
        message.truncate(cut);
    }
    (kind.unwrap_or(fallback), message)
}

/// The next cause: what an I/O error wraps (which its `source()` skips, and where a failed
/// TLS handshake keeps its rustls error), else the error's source.
fn next_cause<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    if let Some(inner) = error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
    {
        return Some(inner);
    }
    error.source()
}

fn kind_of(error: &(dyn StdError + 'static)) -> Option<TransportErrorKind> {
    use std::io::ErrorKind as Io;

    if error.is::<rustls::Error>() {
        return Some(TransportErrorKind::Tls);
    }
    if error.is::<crate::proxy::ProxyRefused>() || error.is::<PlainHttpRefused>() {
        // Neither heals by itself: the same proxy refuses, the same address is reached.
        return Some(TransportErrorKind::Other);
    }
    if let Some(io) = error.downcast_ref::<std::io::Error>() {
        return match io.kind() {
            Io::ConnectionRefused
            | Io::HostUnreachable
            | Io::NetworkUnreachable
            | Io::AddrNotAvailable
            | Io::NetworkDown => Some(TransportErrorKind::Connect),
            Io::TimedOut => Some(TransportErrorKind::Timeout),
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
                Some(TransportErrorKind::ConnectionClosed)
            }
            _ => None,
        };
    }
    if let Some(hyper) = error.downcast_ref::<hyper::Error>() {
        if hyper.is_timeout() {
            return Some(TransportErrorKind::Timeout);
        }
        if hyper.is_incomplete_message() || hyper.is_canceled() || hyper.is_closed() {
            return Some(TransportErrorKind::ConnectionClosed);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_header_is_sent_marked_sensitive() {
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
        let Step::Send(request) = ListSecrets::new().step(&mut client, Input::Start, now, &mut rng)
        else {
            panic!("the listing sent nothing");
        };
        let sent = for_hyper(request);
        let value = &sent.headers()[http::header::AUTHORIZATION];
        assert!(value.is_sensitive());
        assert!(value.as_bytes().starts_with(b"Bearer ey"));
        assert!(!format!("{sent:?}").contains("Bearer"));
    }

    fn connector(plain_http_anywhere: bool) -> LoopbackForPlainHttp {
        static STORE: TrustStore = TrustStore::new(syvault_tls::StoreContents::default);
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        let mut settings = TransportSettings::default();
        settings.proxy = syvault_proto::proxy::ProxySetting::Disabled;
        let proxies = Proxies::resolve(&settings.proxy, |_| None).unwrap();
        let tls = ClientTls::with_store(&settings, &STORE).unwrap();
        LoopbackForPlainHttp {
            tcp: ProxyConnector::new(http, proxies),
            tls: Arc::new(LazyTls::new(tls)),
            plain_http_anywhere,
        }
    }

    #[test]
    fn a_connection_without_a_known_loopback_peer_is_refused() {
        assert!(!loopback_peer(&Connected::new()));
    }

    #[tokio::test]
    async fn plain_http_connects_to_a_loopback_peer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri: Uri = format!("http://{}/", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        for anywhere in [false, true] {
            let stream = connector(anywhere).call(uri.clone()).await.unwrap();
            assert!(loopback_peer(&stream.connected()));
        }
        let refused = PlainHttpRefused;
        assert_eq!(kind(&refused), TransportErrorKind::Other);
    }

    fn kind(error: &(dyn StdError + 'static)) -> TransportErrorKind {
        classify(error).0
    }

    #[test]
    fn causes_deep_in_the_chain_decide_the_kind() {
        use std::io::{Error as IoError, ErrorKind as Io};
        #[derive(Debug)]
        struct Wrapper(IoError);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tcp connect error")
            }
        }
        impl StdError for Wrapper {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(
            kind(&Wrapper(IoError::from(Io::ConnectionRefused))),
            TransportErrorKind::Connect
        );
        assert_eq!(
            kind(&Wrapper(IoError::from(Io::TimedOut))),
            TransportErrorKind::Timeout
        );
        assert_eq!(
            kind(&Wrapper(IoError::from(Io::ConnectionReset))),
            TransportErrorKind::ConnectionClosed
        );
        let tls = IoError::new(
            Io::InvalidData,
            rustls::Error::General("bad certificate".into()),
        );
        assert_eq!(kind(&Wrapper(IoError::other(tls))), TransportErrorKind::Tls);
        assert_eq!(
            kind(&Wrapper(IoError::from(Io::PermissionDenied))),
            TransportErrorKind::Other
        );
        let (_, message) = classify(&Wrapper(IoError::from(Io::ConnectionRefused)));
        assert!(message.starts_with("tcp connect error: "), "{message}");
    }

    fn get(url: &str) -> Request {
        let url = format!("{url}{}", syvault_proto::wire::paths::folders());
        http::Request::get(url).body(Vec::new()).expect("request")
    }

    /// A plain-http client never reads the trust store, not when it is built and not when it
    /// connects; the first https connection reads it, and later ones (of any client) do not
    /// again.
    #[tokio::test]
    async fn the_trust_store_is_read_at_the_first_https_connection_only() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static READS: AtomicUsize = AtomicUsize::new(0);
        static STORE: TrustStore = TrustStore::new(|| {
            READS.fetch_add(1, Ordering::SeqCst);
            syvault_tls::StoreContents::new(Vec::new(), vec!["the test's store".to_owned()])
        });
        let dir = tempfile::tempdir().expect("directory");
        let plain = syvault_dev::DevServer::builder()
            .start()
            .await
            .expect("server");
        let tls = syvault_dev::DevServer::builder()
            .tls_dir(Some(dir.path().join("tls")))
            .start()
            .await
            .expect("server");
        let mut settings = TransportSettings::default();
        settings.proxy = syvault_proto::proxy::ProxySetting::Disabled;
        let transport = Transport::with_store(&settings, 1 << 20, &STORE).expect("transport");
        match transport.send(get(&plain.url())).await {
            Input::Response(response) => assert_eq!(response.status(), 401),
            other => panic!("{other:?}"),
        }
        assert_eq!(READS.load(Ordering::SeqCst), 0);

        for _ in 0..2 {
            // Refused, and not for want of a read: an empty store (whose error the message
            // names, as the end-to-end tests check with a real one).
            let refused = transport.send(get(&tls.url())).await;
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
        match trusting.send(get(&tls.url())).await {
            Input::Response(response) => assert_eq!(response.status(), 401),
            other => panic!("{other:?}"),
        }
        assert_eq!(READS.load(Ordering::SeqCst), 1);
    }
}
