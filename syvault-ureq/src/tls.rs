//! The client's TLS as ureq takes it: the trust and identity of [`syvault_tls::ClientTls`]
//! (checked when the client is built) turned into a ureq TLS configuration when the first
//! https request needs one, which is when the trust store is read. There is no way to turn
//! verification off.

use std::sync::Arc;

use syvault_proto::builder::TransportSettings;
use syvault_proto::{Error, Result};
use syvault_tls::ClientTls;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};

/// The ureq TLS configuration of `tls`: server certificates verified against the trust store
/// (read now if it has not been yet) and the extra CAs, rustls on *ring*, and the client
/// certificate when one is configured.
pub(crate) fn tls_config(tls: &ClientTls, client_cert: Option<ClientCert>) -> TlsConfig {
    // The store's certificates live as long as the process: borrowed, not copied.
    let store = tls.store().certificates();
    let roots: Vec<Certificate<'static>> = store
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()))
        .chain(
            tls.extra_roots()
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned()),
        )
        .collect();
    TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(syvault_tls::ring_provider()))
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .client_cert(client_cert)
        .build()
}

/// The TLS configuration of an agent that never makes a TLS connection: it trusts nothing,
/// so that one made by mistake fails its handshake.
pub(crate) fn no_tls() -> TlsConfig {
    TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(syvault_tls::ring_provider()))
        .root_certs(RootCerts::Specific(Arc::new(Vec::new())))
        .build()
}

/// The client certificate in ureq's form, made when the client is built: the chain `tls`
/// checked, and the key read again from its PEM by ureq, which keeps its kind.
pub(crate) fn client_cert(
    settings: &TransportSettings,
    tls: &ClientTls,
) -> Result<Option<ClientCert>> {
    let (Some(identity), Some(certificate)) = (tls.identity(), &settings.client_certificate) else {
        return Ok(None);
    };
    let chain: Vec<Certificate<'static>> = identity
        .chain()
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    let key = PrivateKey::from_pem(certificate.key_pem.expose().as_bytes()).map_err(|_| {
        Error::InvalidInput {
            what: "client key PEM",
            reason: "holds no usable private key".to_owned(),
        }
    })?;
    Ok(Some(ClientCert::new_with_certs(&chain, key)))
}
