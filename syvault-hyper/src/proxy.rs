//! The connector under TLS: straight to the server, or through an HTTP proxy with hyper-util's
//! `CONNECT` tunnel, as the core's proxy rules choose for each destination.

use std::error::Error as StdError;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::TokioIo;
use syvault_proto::proxy::{Proxies, ProxyUrl};
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Opens TCP connections, tunnelled through the chosen proxy when there is one.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    direct: HttpConnector,
    proxies: Arc<Proxies>,
}

impl ProxyConnector {
    pub(crate) fn new(direct: HttpConnector, proxies: Proxies) -> Self {
        Self {
            direct,
            proxies: Arc::new(proxies),
        }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        match self.proxies.for_url(&destination.to_string()) {
            None => {
                let connecting = self.direct.call(destination);
                Box::pin(async move { connecting.await.map_err(Into::into) })
            }
            Some(proxy) => {
                let tunnel = tunnel(proxy, self.direct.clone());
                Box::pin(async move {
                    let mut tunnel = tunnel?;
                    poll_fn(|cx| tunnel.poll_ready(cx)).await?;
                    tunnel.call(destination).await.map_err(|error| {
                        // Failures to reach the proxy keep their cause (an I/O error); the
                        // rest are the proxy's refusal or a broken answer.
                        if error.source().is_none() {
                            Box::new(ProxyRefused(error.to_string())) as BoxError
                        } else {
                            error.into()
                        }
                    })
                })
            }
        }
    }
}

/// The proxy answered `CONNECT` with something other than success, such as 407 when the
/// credentials are missing or wrong. Not retried: it does not heal by itself.
#[derive(Debug)]
pub(crate) struct ProxyRefused(String);

impl std::fmt::Display for ProxyRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the proxy refused the tunnel ({})", self.0)
    }
}

impl StdError for ProxyRefused {}

fn tunnel(proxy: &ProxyUrl, direct: HttpConnector) -> Result<Tunnel<HttpConnector>, BoxError> {
    // The core's parser checked host and port, so this URL is well formed.
    let uri: Uri = proxy.url().parse()?;
    let tunnel = Tunnel::new(uri, direct);
    Ok(match proxy.basic_authorization() {
        Some(value) => {
            // `with_auth` marks the value sensitive: hyper never logs it.
            let value = HeaderValue::from_str(value.expose())
                .map_err(|_| "the proxy credentials are not a valid header value")?;
            tunnel.with_auth(value)
        }
        None => tunnel,
    })
}
