//! TLS for the SyVault Secrets Manager clients, [`syvault-ureq`] and [`syvault-hyper`]: what
//! both need that is not protocol, in one place.
//!
//! - rustls on *ring*, verifying servers against the operating system's trust store and the
//!   client's extra CAs; there is no way to turn verification off;
//! - the trust store is a [`TrustStore`], read at most once per process, and only when a
//!   client first connects over TLS: building a client, or talking plain http to a loopback
//!   server, never reads it;
//! - the extra CAs and the client certificate of a client's [`TransportSettings`] are checked
//!   when the client is built ([`ClientTls::new`]);
//! - a TLS failure of a client that trusts no CA at all says so, with what reading the store
//!   met ([`ClientTls::explain_untrusted`]).
//!
//! ```
//! use syvault_proto::builder::TransportSettings;
//! use syvault_tls::{ClientTls, StoreContents, TrustStore};
//!
//! static STORE: TrustStore = TrustStore::new(StoreContents::default);
//! let tls = ClientTls::with_store(&TransportSettings::default(), &STORE)?;
//! assert!(!STORE.is_loaded(), "building reads nothing");
//! let config = tls.rustls_config()?;
//! assert!(STORE.is_loaded(), "the first TLS connection's configuration does");
//! # let _ = config;
//! # Ok::<(), syvault_proto::Error>(())
//! ```
//!
//! Applications use it through the clients; its API follows what they need.
//!
//! [`syvault-ureq`]: https://docs.rs/syvault-ureq
//! [`syvault-hyper`]: https://docs.rs/syvault-hyper

mod pem;
mod store;

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use syvault_proto::builder::TransportSettings;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::{Error, Result};

pub use store::{StoreContents, TrustStore};

/// rustls on *ring*, the project's one crypto provider. rustls 0.23.48 deprecates this
/// constructor because *ring* has no post-quantum key exchange; the choice of *ring* is
/// deliberate (one provider across the tree, no aws-lc-rs), so the warning is silenced here, in
/// the one place both clients build it.
///
/// ```
/// assert!(!syvault_tls::ring_provider().cipher_suites.is_empty());
/// ```
#[allow(deprecated)]
pub fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// What one client trusts and presents: its trust store, its extra CAs and its client
/// certificate, checked when the client is built. The trust store is read when the client's
/// first TLS connection asks for [`ClientTls::rustls_config`] or for the store's certificates.
///
/// ```
/// use syvault_proto::builder::TransportSettings;
///
/// let mut settings = TransportSettings::default();
/// settings.extra_roots_pem = vec!["not PEM".to_owned()];
/// assert!(syvault_tls::ClientTls::new(&settings).is_err());
/// ```
pub struct ClientTls {
    store: &'static TrustStore,
    extra_roots: Vec<CertificateDer<'static>>,
    identity: Option<Identity>,
}

/// A client certificate chain and the private key of its first certificate, checked to
/// belong together. `Debug` never shows the key.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// The client's certificate, then any intermediate CA certificates.
    ///
    /// ```
    /// # fn show(identity: &syvault_tls::Identity) {
    /// println!("{} certificates", identity.chain().len());
    /// # }
    /// ```
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The private key of the first certificate.
    ///
    /// ```
    /// # fn show(identity: &syvault_tls::Identity) {
    /// let key = identity.key();
    /// # let _ = key;
    /// # }
    /// ```
    pub fn key(&self) -> &PrivateKeyDer<'static> {
        &self.key
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("store", &self.store)
            .field("extra_roots", &self.extra_roots.len())
            .field("identity", &self.identity)
            .finish()
    }
}

impl ClientTls {
    /// The TLS of a client with `settings`, trusting the operating system's store
    /// ([`TrustStore::system`]) and the settings' extra CAs. Fails if an extra CA or the client
    /// certificate is unusable; reads no store.
    ///
    /// ```
    /// let tls = syvault_tls::ClientTls::new(&Default::default())?;
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn new(settings: &TransportSettings) -> Result<Self> {
        Self::with_store(settings, TrustStore::system())
    }

    /// [`ClientTls::new`] with another store in place of the operating system's.
    ///
    /// ```
    /// use syvault_tls::{ClientTls, StoreContents, TrustStore};
    ///
    /// static NONE: TrustStore = TrustStore::new(StoreContents::default);
    /// let tls = ClientTls::with_store(&Default::default(), &NONE)?;
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn with_store(settings: &TransportSettings, store: &'static TrustStore) -> Result<Self> {
        let extra_roots = pem::extra_roots(&settings.extra_roots_pem)?;
        let identity = settings
            .client_certificate
            .as_ref()
            .map(pem::identity)
            .transpose()?
            .map(|(chain, key)| Identity { chain, key });
        Ok(Self {
            store,
            extra_roots,
            identity,
        })
    }

    /// The trust store this client reads at its first TLS connection.
    ///
    /// ```
    /// let tls = syvault_tls::ClientTls::new(&Default::default())?;
    /// assert!(std::ptr::eq(tls.store(), syvault_tls::TrustStore::system()));
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn store(&self) -> &'static TrustStore {
        self.store
    }

    /// The client certificate to present, if one is configured.
    ///
    /// ```
    /// let tls = syvault_tls::ClientTls::new(&Default::default())?;
    /// assert!(tls.identity().is_none());
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// The extra CAs of the client's settings, trusted beside the store's (whose certificates,
    /// read by [`TrustStore::certificates`], live as long as the process, so a client can hold
    /// them without copying).
    ///
    /// ```
    /// use syvault_tls::{ClientTls, StoreContents, TrustStore};
    ///
    /// static NONE: TrustStore = TrustStore::new(StoreContents::default);
    /// let tls = ClientTls::with_store(&Default::default(), &NONE)?;
    /// assert!(tls.extra_roots().is_empty());
    /// assert!(tls.store().certificates().is_empty());
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn extra_roots(&self) -> &[CertificateDer<'static>] {
        &self.extra_roots
    }

    /// The rustls configuration of a TLS connection: the store (read now if it has not been
    /// yet) and the extra CAs as trust anchors, TLS 1.2 and 1.3 on *ring*, and the client
    /// certificate if there is one.
    ///
    /// ```
    /// let config = syvault_tls::ClientTls::new(&Default::default())?.rustls_config()?;
    /// assert!(!config.client_auth_cert_resolver.has_certs());
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn rustls_config(&self) -> Result<ClientConfig> {
        let provider = Arc::new(ring_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| pem::invalid("TLS", "no TLS protocol version available"))?
            .with_root_certificates(self.root_store());
        match &self.identity {
            None => Ok(builder.with_no_client_auth()),
            Some(identity) => builder
                .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                .map_err(|_| pem::invalid("client certificate", pem::KEY_MISMATCH)),
        }
    }

    /// The store's trust anchors (parsed once per process) and the extra CAs.
    fn root_store(&self) -> Arc<RootCertStore> {
        let system = self.store.root_store();
        if self.extra_roots.is_empty() {
            return Arc::clone(system);
        }
        let mut roots = RootCertStore::clone(system);
        // Each was checked to be a usable trust anchor when the client was built.
        roots.add_parsable_certificates(self.extra_roots.iter().cloned());
        Arc::new(roots)
    }

    /// Whether the client has read its store and trusts no CA at all.
    ///
    /// ```
    /// use syvault_tls::{ClientTls, StoreContents, TrustStore};
    ///
    /// static NONE: TrustStore = TrustStore::new(StoreContents::default);
    /// let tls = ClientTls::with_store(&Default::default(), &NONE)?;
    /// assert!(!tls.trusts_nothing(), "not known before the store is read");
    /// tls.rustls_config()?;
    /// assert!(tls.trusts_nothing());
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn trusts_nothing(&self) -> bool {
        self.extra_roots.is_empty()
            && self.store.is_loaded()
            && self.store.certificates().is_empty()
    }

    /// Adds the likely cause to a TLS failure: when the client trusts no CA at all (as in a
    /// container image without a CA bundle), what to do about it; when reading the store met
    /// errors, the first of them. Other errors are returned as they are.
    ///
    /// ```
    /// use syvault_proto::error::TransportErrorKind;
    /// use syvault_proto::Error;
    /// use syvault_tls::{ClientTls, StoreContents, TrustStore};
    ///
    /// static NONE: TrustStore = TrustStore::new(StoreContents::default);
    /// let tls = ClientTls::with_store(&Default::default(), &NONE)?;
    /// tls.rustls_config()?;
    /// let failure = Error::transport(TransportErrorKind::Tls, "invalid peer certificate");
    /// assert!(tls.explain_untrusted(failure).to_string().contains("no CA certificate is trusted"));
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn explain_untrusted(&self, error: Error) -> Error {
        match error {
            Error::Transport {
                kind: TransportErrorKind::Tls,
                mut message,
                source,
            } if self.store.is_loaded() => {
                let read_error = self.store.errors().first();
                if self.trusts_nothing() {
                    message.push_str(
                        "; no CA certificate is trusted: the OS trust store is empty or \
                         unreadable",
                    );
                    if let Some(read_error) = read_error {
                        message.push_str(" (");
                        message.push_str(read_error);
                        message.push(')');
                    }
                    message.push_str(
                        " (install the CA bundle or set SSL_CERT_FILE), add the server's CA, \
                         or enable the `mozilla-roots` feature",
                    );
                } else if let Some(read_error) = read_error {
                    message.push_str("; part of the OS trust store could not be read (");
                    message.push_str(read_error);
                    message.push(')');
                }
                Error::Transport {
                    kind: TransportErrorKind::Tls,
                    message,
                    source,
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests;
