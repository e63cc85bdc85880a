//! HTTP over a pooled ureq agent: TLS roots, timeouts, bounded bodies, and transport failures
//! classified for the core's retry rules.

use std::io::Read;
use std::sync::{Arc, Mutex, PoisonError};

use syvault_proto::builder::TransportSettings;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::step::{Input, Request, Response};
use syvault_proto::{Error, Result};
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// A pooled agent, or nothing once the client was closed.
pub(crate) struct Transport {
    agent: Mutex<Option<ureq::Agent>>,
    /// Bodies are read up to one byte past the core's limit, so the core can tell "too large".
    read_limit: u64,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(settings: &TransportSettings, max_response_body: usize) -> Result<Self> {
        let config = ureq::Agent::config_builder()
            // Every answer goes to the core, error statuses and their bodies included.
            .http_status_as_error(false)
            // A redirect would carry the bearer token elsewhere; the core reports 3xx instead.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .save_redirect_history(false)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .tls_config(tls_config(&settings.extra_roots_pem)?)
            .build();
        Ok(Self {
            agent: Mutex::new(Some(ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::new(),
                crate::resolver::LiteralFirst::default(),
            ))),
            read_limit: u64::try_from(max_response_body)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
        })
    }

    /// Sends one request and reads its answer, or reports why that failed.
    pub(crate) fn send(&self, request: Request) -> Input {
        let agent = self
            .agent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(agent) = agent else {
            return Input::Failed(closed());
        };
        match agent.run(request).and_then(|r| self.read(r)) {
            Ok(response) => Input::Response(response),
            Err(error) => Input::Failed(classify(&error)),
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
        let agent = self
            .agent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(agent) = agent {
            agent.shutdown();
        }
    }
}

/// The error of a request on a closed client.
pub(crate) fn closed() -> Error {
    Error::Transport {
        kind: TransportErrorKind::Other,
        message: "the client was closed".to_owned(),
    }
}

/// rustls on *ring*, trusting the Mozilla roots plus the configured CAs.
fn tls_config(extra_roots_pem: &[String]) -> Result<TlsConfig> {
    let mut roots: Vec<Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()))
        .collect();
    for pem in extra_roots_pem {
        roots.extend(parse_roots(pem)?);
    }
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .build())
}

fn parse_roots(pem: &str) -> Result<Vec<Certificate<'static>>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let invalid = |reason: &str| Error::InvalidInput {
        what: "root certificate PEM",
        reason: reason.to_owned(),
    };
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|cert| cert.map(|der| Certificate::from_der(&der).to_owned()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| invalid("not valid PEM"))?;
    if certs.is_empty() {
        return Err(invalid("contains no CERTIFICATE block"));
    }
    Ok(certs)
}

/// Maps a ureq failure to the core's transport error. Messages come from ureq and the OS
/// (statuses, socket errors, TLS alerts) and never include headers, so no token leaks.
fn classify(error: &ureq::Error) -> Error {
    let kind = match error {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            TransportErrorKind::Tls
        }
        ureq::Error::Io(io) => io_kind(io),
        ureq::Error::Protocol(_) | ureq::Error::BodyStalled => TransportErrorKind::ConnectionClosed,
        _ => TransportErrorKind::Other,
    };
    Error::Transport {
        kind,
        message: error.to_string(),
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

    #[test]
    fn io_failures_map_to_retryable_kinds() {
        use std::io::{Error as IoError, ErrorKind as Io};
        let kind = |e: IoError| match classify(&ureq::Error::Io(e)) {
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
        let kind = |e| match classify(&e) {
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
    fn root_pems_must_hold_a_certificate() {
        assert!(parse_roots("").is_err());
        assert!(
            parse_roots("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n").is_err()
        );
        assert!(tls_config(&[]).is_ok());
    }
}
