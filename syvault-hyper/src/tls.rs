//! Trust and identity of the client's TLS: rustls on *ring*, the operating system's trust
//! store plus the configured CAs, and an optional client certificate. There is no way to turn
//! verification off.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use syvault_proto::builder::{ClientCertificate, TransportSettings};
use syvault_proto::error::TransportErrorKind;
use syvault_proto::{Error, Result};

/// The rustls configuration for `settings`: server certificates verified against the system
/// roots and the extra CAs, and the client certificate when one is configured. The flag tells
/// whether no CA at all is trusted.
pub(crate) fn client_config(settings: &TransportSettings) -> Result<(ClientConfig, bool)> {
    let system = SYSTEM_ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(system_roots());
        Arc::new(roots)
    });
    let extra = extra_roots(&settings.extra_roots_pem)?;
    let roots = if extra.is_empty() {
        Arc::clone(system)
    } else {
        let mut roots = RootCertStore::clone(system);
        for cert in extra {
            roots
                .add(cert)
                .map_err(|_| invalid("root certificate PEM", "not a usable CA certificate"))?;
        }
        Arc::new(roots)
    };
    let trusts_nothing = roots.is_empty();
    let provider = Arc::new(ring_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| invalid("TLS", "no TLS protocol version available"))?
        .with_root_certificates(roots);
    let config = match &settings.client_certificate {
        None => builder.with_no_client_auth(),
        Some(certificate) => {
            let (chain, key) = identity(certificate)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|_| invalid("client certificate", KEY_MISMATCH))?
        }
    };
    Ok((config, trusts_nothing))
}

/// rustls on *ring*, the project's one crypto provider. rustls 0.23.48 deprecates this
/// constructor because *ring* has no post-quantum key exchange; the choice of *ring* is
/// deliberate (one provider across the tree, no aws-lc-rs), so the warning is silenced here, in
/// the one place that builds it.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Adds the likely cause to a TLS failure of a client that trusts no CA at all, as in a
/// container image without a CA bundle.
pub(crate) fn explain_untrusted(error: Error, trusts_nothing: bool) -> Error {
    match error {
        Error::Transport {
            kind: TransportErrorKind::Tls,
            mut message,
            source,
        } if trusts_nothing => {
            message.push_str(
                "; no CA certificate is trusted: the OS trust store is empty or unreadable \
                 (install the CA bundle or set SSL_CERT_FILE), add the server's CA, or enable \
                 the `mozilla-roots` feature",
            );
            Error::Transport {
                kind: TransportErrorKind::Tls,
                message,
                source,
            }
        }
        other => other,
    }
}

const KEY_MISMATCH: &str = "the key does not match the certificate, or its type is not supported";

/// The certificates of the operating system's trust store, and of the Mozilla bundle with the
/// `mozilla-roots` feature.
///
/// The OS store is read through `rustls-native-certs`, which honours `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` on every platform. Certificates of the store that cannot be read or parsed
/// are skipped: that can only narrow what is trusted.
fn system_roots() -> Vec<CertificateDer<'static>> {
    #[allow(unused_mut)]
    let mut roots = rustls_native_certs::load_native_certs().certs;
    #[cfg(feature = "mozilla-roots")]
    roots.extend(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    roots
}

/// How long a process keeps the trust store: it is read when the first client is built and
/// shared by every later one. Reading it means a few hundred files and costs milliseconds,
/// several times a cold client's first request, and it changes no more often than processes
/// restart.
static SYSTEM_ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();

/// The configured extra CAs. Unlike the OS store's, each must parse and be usable as a trust
/// anchor, since the user asked for it.
fn extra_roots(extra_roots_pem: &[String]) -> Result<Vec<CertificateDer<'static>>> {
    let mut roots = Vec::new();
    for pem in extra_roots_pem {
        for cert in certificates(pem, "root certificate PEM")? {
            rustls::RootCertStore::empty()
                .add(cert.clone())
                .map_err(|_| invalid("root certificate PEM", "not a usable CA certificate"))?;
            roots.push(cert);
        }
    }
    Ok(roots)
}

/// The client certificate chain and key for mutual TLS.
fn identity(
    certificate: &ClientCertificate,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain = certificates(&certificate.chain_pem, "client certificate PEM")?;
    let key =
        PrivateKeyDer::from_pem_slice(certificate.key_pem.expose().as_bytes()).map_err(|_| {
            invalid(
                "client key PEM",
                "holds no PKCS#8, PKCS#1 or SEC1 private key",
            )
        })?;
    Ok((chain, key))
}

/// Every `CERTIFICATE` block of `pem`; at least one.
fn certificates(pem: &str, what: &'static str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| invalid(what, "not valid PEM"))?;
    if certs.is_empty() {
        return Err(invalid(what, "contains no CERTIFICATE block"));
    }
    Ok(certs)
}

fn invalid(what: &'static str, reason: &str) -> Error {
    Error::InvalidInput {
        what,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(roots: &[&str]) -> TransportSettings {
        let mut settings = TransportSettings::default();
        settings.extra_roots_pem = roots.iter().map(|&pem| pem.to_owned()).collect();
        settings
    }

    /// With `mozilla-roots`, the whole compiled-in bundle is trusted beside the OS store.
    #[cfg(feature = "mozilla-roots")]
    #[test]
    fn the_mozilla_bundle_is_trusted_with_its_feature() {
        let roots = system_roots();
        for root in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            assert!(roots.contains(root));
        }
    }

    #[test]
    fn root_pems_must_hold_a_certificate() {
        assert!(client_config(&settings(&[""])).is_err());
        let garbage = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
        assert!(client_config(&settings(&[garbage])).is_err());
        assert!(client_config(&settings(&[])).is_ok());
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let mut with_cert = settings(&[]);
        with_cert.client_certificate = Some(ClientCertificate::new(String::new(), "no key"));
        let error = client_config(&with_cert).unwrap_err();
        assert!(matches!(
            error,
            Error::InvalidInput {
                what: "client certificate PEM",
                ..
            }
        ));
        assert!(!format!("{error:?}").contains("no key"));
    }
}
