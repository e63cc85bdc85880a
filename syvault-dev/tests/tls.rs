//! `--tls-dir`: HTTPS with a generated CA that clients trust, and nothing else.

mod common;

use common::{Fixture, Http};
use syvault_dev::DevServer;
use syvault_dev::wire::{Access, FolderList, paths};

#[tokio::test]
async fn https_with_the_generated_ca() {
    let dir = tempfile::tempdir().unwrap();
    let server = DevServer::builder()
        .tls_dir(Some(dir.path().to_owned()))
        .start()
        .await
        .unwrap();
    let url = server.url();
    assert!(url.starts_with("https://localhost:"), "{url}");
    let ca = server.ca_pem().expect("a CA");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca.pem")).unwrap(),
        ca
    );
    for file in ["cert.pem", "key.pem"] {
        assert!(dir.path().join(file).exists(), "{file}");
    }

    // A client trusting only ca.pem bootstraps and reads over TLS.
    let fx = Fixture::on(server, Access::Read).await;
    let folders: FolderList = fx.get(paths::folders()).await.expect(200).parse();
    assert_eq!(folders.data.len(), 1);

    // Another CA is not trusted.
    let other_dir = tempfile::tempdir().unwrap();
    let other = DevServer::builder()
        .tls_dir(Some(other_dir.path().to_owned()))
        .start()
        .await
        .unwrap();
    let stranger = Http::new(&url, other.ca_pem().as_deref());
    let err = stranger
        .try_send(http::Method::GET, paths::folders(), &[], Vec::new())
        .await
        .unwrap_err();
    assert!(err.starts_with("tls"), "{err}");
    other.shutdown().await;

    // A restart with the same directory keeps the CA, so clients keep trusting it.
    fx.server.shutdown().await;
    let again = DevServer::builder()
        .tls_dir(Some(dir.path().to_owned()))
        .start()
        .await
        .unwrap();
    assert_eq!(again.ca_pem().as_deref(), Some(ca.as_str()));
    let http = Http::for_server(&again);
    http.send(http::Method::GET, paths::folders(), &[], Vec::new())
        .await
        .expect_error(401, "unauthorized");
    again.shutdown().await;
}

#[test]
fn key_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        DevServer::start_blocking(DevServer::builder().tls_dir(Some(dir.path().to_owned())))
            .unwrap();
    assert!(server.url().starts_with("https://"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The demo bootstraps over HTTPS as well.
    let seeded = server.seed_demo().unwrap();
    assert_eq!(seeded.credentials.server, server.url());
}

/// `require_client_certificates`: a client CA and a client certificate appear next to the
/// server's files (the key private), the demo bootstraps with that certificate, and a restart
/// reuses all of it.
#[tokio::test]
async fn client_certificates_are_generated_required_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        DevServer::builder()
            .tls_dir(Some(dir.path().to_owned()))
            .require_client_certificates(true)
            .start()
    };
    let server = start().await.unwrap();
    let identity = server.client_identity().expect("a client certificate");
    assert!(!format!("{identity:?}").contains(&identity.key_pem));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("client-key.pem")).unwrap(),
        identity.key_pem
    );
    assert!(dir.path().join("client-ca.pem").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("client-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The demo's own client presents the certificate, so seeding works over mTLS.
    let seed = server.seed_demo().await.expect("demo over mTLS");
    assert!(seed.credentials.server.starts_with("https://"));
    server.shutdown().await;

    let again = start().await.unwrap();
    assert_eq!(again.client_identity(), Some(identity));
    again.shutdown().await;

    let without_tls = DevServer::builder()
        .require_client_certificates(true)
        .start()
        .await;
    assert!(without_tls.is_err(), "client certificates need TLS");
}
