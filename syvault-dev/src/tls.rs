//! HTTPS with a self-signed development CA.
//!
//! With `--tls-dir DIR` the server generates, once, a CA and a certificate for `localhost`,
//! `127.0.0.1` and `::1` signed by it, and writes into DIR:
//!
//! - `ca.pem`: the CA certificate, which clients trust (and nothing else);
//! - `cert.pem`: the server certificate followed by the CA certificate;
//! - `key.pem`: the server's private key (mode 0600 on Unix).
//!
//! With [`crate::DevServerBuilder::require_client_certificates`] (`--require-client-cert`)
//! the server also generates a second CA for clients, and accepts only connections that
//! present a certificate it signed. It writes, next to the others:
//!
//! - `client-ca.pem`: the CA that signs client certificates;
//! - `client.pem`: a client certificate signed by it, followed by the CA certificate;
//! - `client-key.pem`: that certificate's private key (mode 0600 on Unix).
//!
//! A later start with the same DIR reuses those files, so clients keep trusting the server.
//! The CAs' own keys are never written: each signs its one certificate and is dropped.
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
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::error::{Error, Result};
use crate::persist::write_private;

/// The names the server certificate is valid for.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A TLS configuration ready to accept connections, and the CA clients should trust.
pub(crate) struct Tls {
    pub(crate) ca_pem: String,
    pub(crate) config: Arc<ServerConfig>,
    /// The client certificate to present, when the server requires one.
    pub(crate) client_identity: Option<ClientIdentity>,
}

/// A client certificate the server accepts, with its key, both PEM: what a client presents to
/// a server started with [`crate::DevServerBuilder::require_client_certificates`]. `Debug`
/// never shows the key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientIdentity {
    /// The client certificate followed by the client CA's certificate.
    pub chain_pem: String,
    /// The certificate's private key, PKCS#8.
    pub key_pem: String,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("chain_pem", &self.chain_pem)
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

/// rustls on *ring*, the project's one crypto provider. rustls 0.23.48 deprecates this
/// constructor because *ring* has no post-quantum key exchange; *ring* is the deliberate choice
/// across the tree, so the warning is silenced in this one place.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Tls(format!("{what}: {err}"))
}

/// Loads the certificate files from `dir`, generating them first if any is missing; with
/// `require_client_certificates`, the client CA and a client certificate too.
pub(crate) fn load_or_generate(dir: &Path, require_client_certificates: bool) -> Result<Tls> {
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
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("protocol versions", e))?;
    let (builder, client_identity) = if require_client_certificates {
        let (client_ca, identity) = load_or_generate_client(dir)?;
        let mut roots = RootCertStore::empty();
        roots
            .add(client_ca)
            .map_err(|e| tls_error("adding the client CA", e))?;
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| tls_error("client certificate verifier", e))?;
        (builder.with_client_cert_verifier(verifier), Some(identity))
    } else {
        (builder.with_no_client_auth(), None)
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| tls_error("server certificate", e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        ca_pem,
        config: Arc::new(config),
        client_identity,
    })
}

/// The client CA, and the client certificate with its key, generated first if any is missing.
fn load_or_generate_client(dir: &Path) -> Result<(CertificateDer<'static>, ClientIdentity)> {
    let (ca, chain, key) = (
        dir.join("client-ca.pem"),
        dir.join("client.pem"),
        dir.join("client-key.pem"),
    );
    if !(ca.exists() && chain.exists() && key.exists()) {
        let generated = generate_client()?;
        write_private(&key, generated.key.as_bytes())?;
        fs::write(&chain, &generated.chain)
            .map_err(|e| Error::io(format!("writing {}", chain.display()), e))?;
        fs::write(&ca, &generated.ca)
            .map_err(|e| Error::io(format!("writing {}", ca.display()), e))?;
    }
    let read = |path: &Path| {
        fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
    };
    let client_ca =
        CertificateDer::from_pem_file(&ca).map_err(|e| tls_error("reading client-ca.pem", e))?;
    Ok((
        client_ca,
        ClientIdentity {
            chain_pem: read(&chain)?,
            key_pem: read(&key)?,
        },
    ))
}

fn generate_client() -> Result<Generated> {
    let rcgen_error = |e: rcgen::Error| tls_error("generating the client certificate", e);
    let (ca_cert, issuer) = generate_ca("SyVault dev client CA")?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
    params.distinguished_name = name("syvault-dev client");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().map_err(rcgen_error)?;
    let cert = params.signed_by(&key, &issuer).map_err(rcgen_error)?;
    Ok(Generated {
        ca: ca_cert.pem(),
        chain: format!("{}{}", cert.pem(), ca_cert.pem()),
        key: key.serialize_pem(),
    })
}

/// A new CA certificate and the issuer that signs with its key.
fn generate_ca(common_name: &str) -> Result<(rcgen::Certificate, Issuer<'static, KeyPair>)> {
    let rcgen_error = |e: rcgen::Error| tls_error("generating a CA", e);
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name(common_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(rcgen_error)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(rcgen_error)?;
    Ok((ca_cert, Issuer::new(ca_params, ca_key)))
}

struct Generated {
    ca: String,
    chain: String,
    key: String,
}

fn generate() -> Result<Generated> {
    let rcgen_error = |e: rcgen::Error| tls_error("generating the certificate", e);
    let (ca_cert, issuer) = generate_ca("SyVault dev CA")?;

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

/// A client configuration that trusts only the CA in `ca_pem`, presenting `identity` when
/// given.
pub(crate) fn client_config(
    ca_pem: &str,
    identity: Option<&ClientIdentity>,
) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| tls_error("reading the CA", e))?;
        roots.add(cert).map_err(|e| tls_error("adding the CA", e))?;
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("protocol versions", e))?
        .with_root_certificates(roots);
    let Some(identity) = identity else {
        return Ok(builder.with_no_client_auth());
    };
    let chain = CertificateDer::pem_slice_iter(identity.chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error("reading client.pem", e))?;
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes())
        .map_err(|e| tls_error("reading client-key.pem", e))?;
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|e| tls_error("client certificate", e))
}
