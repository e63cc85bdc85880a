use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject as _;
use syvault_proto::builder::ClientCertificate;

use super::*;

fn settings(roots: &[&str]) -> TransportSettings {
    let mut settings = TransportSettings::default();
    settings.extra_roots_pem = roots.iter().map(|&pem| pem.to_owned()).collect();
    settings
}

/// A self-signed CA certificate and its key, both PEM.
fn ca() -> (String, String) {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("certificate");
    (cert.pem(), key.serialize_pem())
}

fn tls_failure() -> Error {
    Error::transport(
        TransportErrorKind::Tls,
        "invalid peer certificate: UnknownIssuer",
    )
}

#[test]
fn root_pems_must_hold_a_usable_ca_certificate() {
    static STORE: TrustStore = TrustStore::new(StoreContents::default);
    let build = |roots: &[&str]| ClientTls::with_store(&settings(roots), &STORE);
    assert!(build(&[""]).is_err());
    let garbage = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
    assert!(build(&[garbage]).is_err());
    let not_a_certificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        build(&[not_a_certificate]),
        Err(Error::InvalidInput {
            what: "root certificate PEM",
            ..
        })
    ));
    let (ca, _) = ca();
    assert_eq!(build(&[&ca]).expect("a CA").extra_roots.len(), 1);
    assert!(!STORE.is_loaded(), "checking the settings reads no store");
}

#[test]
fn a_client_certificate_needs_its_key() {
    let mut with_cert = settings(&[]);
    with_cert.client_certificate = Some(ClientCertificate::new(String::new(), "no key"));
    let error = ClientTls::new(&with_cert).unwrap_err();
    assert!(matches!(
        error,
        Error::InvalidInput {
            what: "client certificate PEM",
            ..
        }
    ));
    assert!(!format!("{error:?}").contains("no key"));

    // A certificate with another certificate's key.
    let ((cert, _), (_, other_key)) = (ca(), ca());
    with_cert.client_certificate = Some(ClientCertificate::new(cert.clone(), other_key.clone()));
    let error = ClientTls::new(&with_cert).unwrap_err();
    assert!(matches!(
        error,
        Error::InvalidInput {
            what: "client certificate",
            ..
        }
    ));
    assert!(!format!("{error:?}").contains(&other_key));
}

#[test]
fn a_client_certificate_is_presented_and_never_shown() {
    static STORE: TrustStore = TrustStore::new(StoreContents::default);
    let (cert, key) = ca();
    let mut with_cert = settings(&[]);
    with_cert.client_certificate = Some(ClientCertificate::new(cert, key.clone()));
    let tls = ClientTls::with_store(&with_cert, &STORE).expect("a matching key");
    assert_eq!(tls.identity().expect("identity").chain().len(), 1);
    let config = tls.rustls_config().expect("config");
    assert!(config.client_auth_cert_resolver.has_certs());
    let shown = format!("{tls:?}");
    let body = key.lines().nth(1).expect("a line of base64");
    assert!(!shown.contains(body), "{shown}");
}

/// The one behaviour this crate exists for: building clients and checking their settings
/// reads no store; the first TLS configuration reads it; every later one, of any client,
/// shares that read.
#[test]
fn the_store_is_read_at_the_first_tls_configuration_and_only_then() {
    static READS: AtomicUsize = AtomicUsize::new(0);
    static STORE: TrustStore = TrustStore::new(|| {
        READS.fetch_add(1, Ordering::SeqCst);
        let (ca, _) = ca();
        let der = CertificateDer::from_pem_slice(ca.as_bytes()).expect("PEM");
        StoreContents::new(vec![der], Vec::new())
    });
    let (extra, _) = ca();
    let plain = ClientTls::with_store(&settings(&[]), &STORE).expect("client");
    let with_extra = ClientTls::with_store(&settings(&[&extra]), &STORE).expect("client");
    assert_eq!(READS.load(Ordering::SeqCst), 0);
    assert!(!plain.trusts_nothing());

    let config = plain.rustls_config().expect("config");
    assert_eq!(READS.load(Ordering::SeqCst), 1);
    drop(config);
    assert_eq!(
        STORE.certificates().len() + with_extra.extra_roots().len(),
        2
    );
    assert_eq!(with_extra.root_store().len(), 2);
    assert!(Arc::ptr_eq(&plain.root_store(), STORE.root_store()));
    with_extra.rustls_config().expect("config");
    assert_eq!(READS.load(Ordering::SeqCst), 1);
}

/// An empty or unreadable store is named as the likely cause of a TLS failure, with the
/// first error reading it met; other failures are left alone.
#[test]
fn a_broken_store_surfaces_in_tls_failures() {
    static BROKEN: TrustStore = TrustStore::new(|| {
        StoreContents::new(
            Vec::new(),
            vec!["could not load PEM file \"/nowhere/ca.pem\": No such file".to_owned()],
        )
    });
    let tls = ClientTls::with_store(&settings(&[]), &BROKEN).expect("client");
    // Before the store was read, nothing is known about it.
    assert_eq!(
        tls.explain_untrusted(tls_failure()).to_string(),
        tls_failure().to_string()
    );
    tls.rustls_config()
        .expect("a configuration, which will trust nothing");
    assert!(tls.trusts_nothing());
    let explained = tls.explain_untrusted(tls_failure()).to_string();
    assert!(
        explained.contains("no CA certificate is trusted"),
        "{explained}"
    );
    assert!(explained.contains("/nowhere/ca.pem"), "{explained}");
    assert!(explained.contains("SSL_CERT_FILE"), "{explained}");
    assert!(matches!(
        tls.explain_untrusted(tls_failure()),
        Error::Transport {
            kind: TransportErrorKind::Tls,
            ..
        }
    ));
    let refused = Error::transport(TransportErrorKind::Connect, "connection refused");
    assert_eq!(
        tls.explain_untrusted(refused).to_string(),
        Error::transport(TransportErrorKind::Connect, "connection refused").to_string()
    );

    // An extra CA is trusted: the failure is not for want of one, but the store's error is
    // still worth knowing.
    let (extra, _) = ca();
    let tls = ClientTls::with_store(&settings(&[&extra]), &BROKEN).expect("client");
    tls.rustls_config().expect("config");
    assert!(!tls.trusts_nothing());
    let explained = tls.explain_untrusted(tls_failure()).to_string();
    assert!(!explained.contains("no CA certificate"), "{explained}");
    assert!(explained.contains("/nowhere/ca.pem"), "{explained}");
}
