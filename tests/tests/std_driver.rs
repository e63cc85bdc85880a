//! The core's std-only example driver (`syvault-proto/examples/std_driver.rs`) against
//! `syvault-dev` over loopback: every operation, bootstrap included, through its one loop.

#[allow(dead_code, unreachable_pub)]
#[path = "../../syvault-proto/examples/std_driver.rs"]
mod std_driver;

use std_driver::run;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::ops::{Bootstrap, GetSecret, ListSecrets, ResolveReference, RotateSecret};
use syvault_proto::{Client, Error, RecordUid};
use syvault_tests::vault::{DB_PASSWORD, Vault};

#[test]
fn the_std_driver_bootstraps_lists_reads_resolves_and_rotates() {
    let vault = Vault::start();
    let mut client = Client::builder()
        .server(vault.url())
        .bootstrap_client()
        .unwrap();
    let credentials = run(&mut client, Bootstrap::new(vault.client.token.expose())).unwrap();
    assert_eq!(client.client_id(), Some(credentials.client_id));

    let titles: Vec<_> = run(&mut client, ListSecrets::new())
        .unwrap()
        .into_iter()
        .map(|s| s.title)
        .collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(titles.iter().any(|t| t == "Database"));

    let secret = run(&mut client, GetSecret::new(vault.database)).unwrap();
    assert_eq!(secret.field("password").unwrap().expose(), DB_PASSWORD);
    let password = run(
        &mut client,
        ResolveReference::new("sy://Production/Database/field/password"),
    )
    .unwrap();
    assert_eq!(password.expose(), DB_PASSWORD);

    let outcome = run(&mut client, RotateSecret::new(vault.database, None)).unwrap();
    let rotated = outcome
        .secret
        .field("password")
        .unwrap()
        .expose()
        .to_owned();
    assert_ne!(rotated, DB_PASSWORD);
    assert_eq!(rotated, vault.field(vault.database, "password"));

    let missing: RecordUid = "AAAAAAAAAAAA".parse().unwrap();
    match run(&mut client, GetSecret::new(missing)) {
        Err(Error::SecretNotFound { uid }) => assert_eq!(uid, "AAAAAAAAAAAA"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_std_driver_reports_a_refused_connection_as_a_connect_failure() {
    // A port that was free a moment ago: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let request = http::Request::get(format!("http://127.0.0.1:{port}/api/sm/v1/secrets"))
        .body(Vec::new())
        .unwrap();
    match std_driver::send(&request, 1024) {
        Err(Error::Transport { kind, .. }) => assert_eq!(kind, TransportErrorKind::Connect),
        other => panic!("{other:?}"),
    }
}
