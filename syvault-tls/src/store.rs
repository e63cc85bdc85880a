//! The operating system's trust store, read at most once per process and only when a TLS
//! connection first needs it.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;

/// A source of trusted CA certificates that is read at most once: the first call that needs
/// its certificates reads it, every later call (from any client of the process) shares what
/// that read found.
///
/// Reading the operating system's store means opening a bundle or a directory of a few
/// hundred files and parsing them: milliseconds, several times a cold client's first request.
/// A client to a plain-http server never needs it, and a process needs it once.
///
/// [`TrustStore::system`] is the operating system's store; tests give clients a store of their
/// own, whose reads they can count.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use syvault_tls::{StoreContents, TrustStore};
///
/// static READS: AtomicUsize = AtomicUsize::new(0);
/// static STORE: TrustStore = TrustStore::new(|| {
///     READS.fetch_add(1, Ordering::SeqCst);
///     StoreContents::new(Vec::new(), vec!["no bundle here".to_owned()])
/// });
///
/// assert!(!STORE.is_loaded());
/// assert!(STORE.certificates().is_empty());
/// assert!(STORE.certificates().is_empty());
/// assert_eq!(READS.load(Ordering::SeqCst), 1);
/// assert_eq!(STORE.errors(), ["no bundle here"]);
/// ```
pub struct TrustStore {
    load: fn() -> StoreContents,
    contents: OnceLock<StoreContents>,
    /// The certificates parsed into trust anchors, for clients that hand rustls a root store.
    anchors: OnceLock<Arc<RootCertStore>>,
}

/// What reading a trust store found: the certificates, and why some could not be read.
#[derive(Clone, Debug, Default)]
pub struct StoreContents {
    certificates: Vec<CertificateDer<'static>>,
    errors: Vec<String>,
}

/// How many of a store's errors are kept: the first says what is wrong; hundreds of broken
/// files would only repeat it.
const KEPT_ERRORS: usize = 3;

impl StoreContents {
    /// The certificates a read found, and a description of each error it met (at most the
    /// first three are kept).
    ///
    /// ```
    /// let contents = syvault_tls::StoreContents::new(Vec::new(), Vec::new());
    /// ```
    pub fn new(certificates: Vec<CertificateDer<'static>>, mut errors: Vec<String>) -> Self {
        errors.truncate(KEPT_ERRORS);
        Self {
            certificates,
            errors,
        }
    }
}

impl TrustStore {
    /// A store read by `load`, the first time its certificates are needed.
    ///
    /// ```
    /// static EMPTY: syvault_tls::TrustStore =
    ///     syvault_tls::TrustStore::new(syvault_tls::StoreContents::default);
    /// ```
    pub const fn new(load: fn() -> StoreContents) -> Self {
        Self {
            load,
            contents: OnceLock::new(),
            anchors: OnceLock::new(),
        }
    }

    /// The operating system's trust store, read through `rustls-native-certs` (which honours
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` on every platform), with the Mozilla bundle beside
    /// it when the `mozilla-roots` feature is on. Certificates of the store that cannot be
    /// read or parsed are skipped, which can only narrow what is trusted; the errors are kept
    /// for the message of a TLS failure.
    ///
    /// ```
    /// let store = syvault_tls::TrustStore::system();
    /// assert!(std::ptr::eq(store, syvault_tls::TrustStore::system()));
    /// ```
    pub fn system() -> &'static Self {
        static SYSTEM: TrustStore = TrustStore::new(read_system_store);
        &SYSTEM
    }

    /// Whether the store has been read.
    ///
    /// ```
    /// static STORE: syvault_tls::TrustStore =
    ///     syvault_tls::TrustStore::new(syvault_tls::StoreContents::default);
    /// assert!(!STORE.is_loaded());
    /// STORE.certificates();
    /// assert!(STORE.is_loaded());
    /// ```
    pub fn is_loaded(&self) -> bool {
        self.contents.get().is_some()
    }

    /// The store's certificates, read now if they have not been yet.
    ///
    /// ```
    /// static STORE: syvault_tls::TrustStore =
    ///     syvault_tls::TrustStore::new(syvault_tls::StoreContents::default);
    /// assert!(STORE.certificates().is_empty());
    /// ```
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.contents().certificates
    }

    /// Why some of the store could not be read (the first few reasons), read now if it has
    /// not been yet.
    ///
    /// ```
    /// static STORE: syvault_tls::TrustStore =
    ///     syvault_tls::TrustStore::new(syvault_tls::StoreContents::default);
    /// assert!(STORE.errors().is_empty());
    /// ```
    pub fn errors(&self) -> &[String] {
        &self.contents().errors
    }

    /// The store's certificates as rustls trust anchors, parsed once; certificates that are
    /// not usable as trust anchors are skipped.
    ///
    /// ```
    /// static STORE: syvault_tls::TrustStore =
    ///     syvault_tls::TrustStore::new(syvault_tls::StoreContents::default);
    /// assert!(STORE.root_store().is_empty());
    /// ```
    pub fn root_store(&self) -> &Arc<RootCertStore> {
        self.anchors.get_or_init(|| {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(self.certificates().iter().cloned());
            Arc::new(roots)
        })
    }

    fn contents(&self) -> &StoreContents {
        self.contents.get_or_init(self.load)
    }
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("loaded", &self.is_loaded())
            .finish_non_exhaustive()
    }
}

fn read_system_store() -> StoreContents {
    #[cfg(feature = "tracing")]
    let started = std::time::Instant::now();
    let found = rustls_native_certs::load_native_certs();
    #[allow(unused_mut)]
    let mut certificates = found.certs;
    #[cfg(feature = "mozilla-roots")]
    certificates.extend(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let errors = found.errors.iter().map(ToString::to_string).collect();
    let contents = StoreContents::new(certificates, errors);
    #[cfg(feature = "tracing")]
    tracing::debug!(
        certificates = contents.certificates.len(),
        errors = found.errors.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "read the OS trust store"
    );
    contents
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    static READS: AtomicUsize = AtomicUsize::new(0);

    fn counted() -> StoreContents {
        READS.fetch_add(1, Ordering::SeqCst);
        StoreContents::new(Vec::new(), (0..10).map(|i| format!("error {i}")).collect())
    }

    /// Concurrent first uses read the store once, and what they share is kept.
    #[test]
    fn a_store_is_read_once_however_many_threads_need_it() {
        static STORE: TrustStore = TrustStore::new(counted);
        assert!(!STORE.is_loaded());
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| STORE.root_store().len());
            }
        });
        assert!(STORE.is_loaded());
        assert_eq!(STORE.errors(), ["error 0", "error 1", "error 2"]);
        assert_eq!(READS.load(Ordering::SeqCst), 1);
    }

    /// With `mozilla-roots`, the whole compiled-in bundle is trusted beside the OS store.
    #[cfg(feature = "mozilla-roots")]
    #[test]
    fn the_mozilla_bundle_is_trusted_with_its_feature() {
        let roots = read_system_store().certificates;
        for root in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            assert!(roots.contains(root));
        }
    }
}
