//! HTTPS with a self-signed development CA.
//!
//! With `--tls-dir DIR` the server generates, once, a CA and a certificate for `localhost`,
//! `127.0.0.1` and `::1` signed by it, and writes into DIR:
//!
//! - `ca.pem`: the CA certificate, which clients trust (and nothing else);
//! - `cert.pem`: the server certificate followed by the CA certificate;
//! - `key.pem`: the server's private key (mode 0600 on Unix).
//!
//! A later start with the same DIR reuses those files, so clients keep trusting the server.
//! The CA's own key is never written: it signs the one server certificate and is dropped.
//! rustls runs on the *ring* provider only.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::error::{Error, Result};
use crate::persist::write_private;

/// The names the server certificate is valid for.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A TLS configuration ready to accept connections, and the CA clients should trust.
pub(crate) struct Tls {
    pub(crate) ca_pem: String,
    pub(crate) config: Arc<ServerConfig>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{what}: {err}"))
}

/// Loads the certificate files from `dir`, generating them first if any is missing.
pub(crate) fn load_or_generate(dir: &Path) -> Result<Tls> {
    let (ca, chain, key) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    if !(ca.exists() && chain.exists() && key.exists()) {
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let generated = generate()?;
        write_private(&key, generated.key.as_bytes())?;
        fs::write(&chain, &generated.chain)
            .map_err(|e| Error::io(format!("writing {}", chain.display()), e))?;
        fs::write(&ca, &generated.ca)
            .map_err(|e| Error::io(format!("writing {}", ca.display()), e))?;
    }
    let ca_pem =
        fs::read_to_string(&ca).map_err(|e| Error::io(format!("reading {}", ca.display()), e))?;
    let certs = CertificateDer::pem_file_iter(&chain)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| tls_error("reading cert.pem", e))?;
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| tls_error("reading key.pem", e))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("protocol versions", e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls_error("server certificate", e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        ca_pem,
        config: Arc::new(config),
    })
}

struct Generated {
    ca: String,
    chain: String,
    key: String,
}

fn generate() -> Result<Generated> {
    let rcgen_error = |e: rcgen::Error| tls_error("generating the certificate", e);
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name("SyVault dev CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(rcgen_error)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(rcgen_error)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let names: Vec<String> = SERVER_NAMES.iter().map(|&n| n.to_owned()).collect();
    let mut params = CertificateParams::new(names).map_err(rcgen_error)?;
    params.distinguished_name = name("localhost");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(rcgen_error)?;
    let cert = params.signed_by(&key, &issuer).map_err(rcgen_error)?;
    Ok(Generated {
        ca: ca_cert.pem(),
        chain: format!("{}{}", cert.pem(), ca_cert.pem()),
        key: key.serialize_pem(),
    })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// A client configuration that trusts only the CA in `ca_pem`.
pub(crate) fn client_config(ca_pem: &str) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| tls_error("reading the CA", e))?;
        roots.add(cert).map_err(|e| tls_error("adding the CA", e))?;
    }
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("protocol versions", e))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
