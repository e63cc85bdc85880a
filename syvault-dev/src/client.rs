//! A minimal HTTP/1.1 client over hyper, used by the demo to bootstrap through the real
//! endpoints (plain or TLS), one connection per request.

use std::sync::Arc;

use bytes::Bytes;
use http::header::HOST;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use syvault_proto::step::{Request as CoreRequest, Response as CoreResponse};

use crate::error::{Error, Result};
use crate::tls;

/// The largest answer body read.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

pub(crate) struct HttpClient {
    host: String,
    port: u16,
    authority: String,
    tls: Option<TlsConnector>,
}

fn failure(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Demo(format!("{what}: {err}"))
}

impl HttpClient {
    /// A client for the server at `base_url`, trusting only `ca_pem` when it is HTTPS and
    /// presenting `identity` when given.
    pub(crate) fn new(
        base_url: &str,
        ca_pem: Option<&str>,
        identity: Option<&tls::ClientIdentity>,
    ) -> Result<Self> {
        let uri: Uri = base_url.parse().map_err(|e| failure("server URL", e))?;
        let https = uri.scheme_str() == Some("https");
        let authority = uri
            .authority()
            .ok_or_else(|| Error::Demo("server URL has no host".into()))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = match (https, ca_pem) {
            (false, _) => None,
            (true, Some(ca)) => Some(TlsConnector::from(Arc::new(tls::client_config(
                ca, identity,
            )?))),
            (true, None) => return Err(Error::Demo("an HTTPS server needs its CA".into())),
        };
        Ok(Self {
            host,
            port,
            authority: authority.as_str().to_owned(),
            tls,
        })
    }

    /// Sends a request the core built (absolute URI) and reads the whole answer.
    pub(crate) async fn send(&self, request: CoreRequest) -> Result<CoreResponse> {
        let (parts, body) = request.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut request = Request::builder()
            .method(parts.method)
            .uri(path)
            .header(HOST, &self.authority);
        for (name, value) in &parts.headers {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| failure("building the request", e))?;
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| failure("connecting", e))?;
        match &self.tls {
            None => exchange(stream, request).await,
            Some(connector) => {
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| failure("server name", e))?;
                let stream = connector
                    .connect(name, stream)
                    .await
                    .map_err(|e| failure("TLS handshake", e))?;
                exchange(stream, request).await
            }
        }
    }
}

async fn exchange<S>(stream: S, request: Request<Full<Bytes>>) -> Result<CoreResponse>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failure("HTTP handshake", e))?;
    let driver = tokio::spawn(connection);
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| failure("sending the request", e))?;
    let (parts, body) = answer.into_parts();
    let body = Limited::new(body, MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| failure("reading the answer", e))?
        .to_bytes();
    driver.abort();
    Ok(CoreResponse::from_parts(parts, body.to_vec()))
}
