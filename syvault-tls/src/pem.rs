//! The PEM a client's settings carry: extra CAs and a client certificate with its key, each
//! checked the way rustls will use it, so that a mistake fails the build of a client rather
//! than its first handshake.

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use syvault_proto::builder::ClientCertificate;
use syvault_proto::{Error, Result};

/// The configured extra CAs. Unlike the OS store's, each must parse and be usable as a trust
/// anchor, since the user asked for it.
pub(crate) fn extra_roots(extra_roots_pem: &[String]) -> Result<Vec<CertificateDer<'static>>> {
    let mut roots = Vec::new();
    for pem in extra_roots_pem {
        for cert in certificates(pem, "root certificate PEM")? {
            RootCertStore::empty()
                .add(cert.clone())
                .map_err(|_| invalid("root certificate PEM", "not a usable CA certificate"))?;
            roots.push(cert);
        }
    }
    Ok(roots)
}

/// The client certificate chain and key for mutual TLS, checked to belong together.
pub(crate) fn identity(
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
    let signing_key = crate::ring_provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|_| invalid("client certificate", KEY_MISMATCH))?;
    rustls::sign::CertifiedKey::new(chain.clone(), signing_key)
        .keys_match()
        .map_err(|_| invalid("client certificate", KEY_MISMATCH))?;
    Ok((chain, key))
}

pub(crate) const KEY_MISMATCH: &str =
    "the key does not match the certificate, or its type is not supported";

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

pub(crate) fn invalid(what: &'static str, reason: &str) -> Error {
    Error::InvalidInput {
        what,
        reason: reason.to_owned(),
    }
}
