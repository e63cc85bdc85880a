//! What reaches PostgreSQL when the server sets passwords, against a real PostgreSQL server
//! over real sockets.

mod common;
mod pg;

use std::time::Duration;

use common::{Answer, Fixture};
use http::Method;
use pg::{Cluster, connect};
use syvault_dev::wire::{Access, LeaseCreated, paths};
use syvault_dev::{DevServer, RoleTemplate, RotationPolicy};
use syvault_proto::RecordUid;
use syvault_proto::record::RecordPayload;

/// Starts a cluster with `settings` or returns from the test (a visible skip; a failure under
/// CI=true).
macro_rules! cluster {
    ($name:literal, $settings:expr) => {
        match Cluster::require_with($name, $settings) {
            Some(cluster) => cluster,
            None => return,
        }
    };
}

async fn server_on(cluster: &Cluster) -> DevServer {
    DevServer::builder()
        .rotation_delay(Duration::from_millis(50))
        .postgres_admin_url(Some(cluster.admin_url()))
        .start()
        .await
        .unwrap()
}

/// A database `app` with a table leased roles may read.
async fn create_app_database(cluster: &Cluster) {
    cluster
        .admin("postgres")
        .await
        .batch_execute("CREATE DATABASE app")
        .await
        .unwrap();
    cluster
        .admin("app")
        .await
        .batch_execute(
            "CREATE SCHEMA inventory;
             CREATE TABLE inventory.items (id int, name text);
             INSERT INTO inventory.items VALUES (1, 'widget');",
        )
        .await
        .unwrap();
}

/// A record bound as a dynamic target on `app`.
fn target(fixture: &Fixture, title: &str) -> RecordUid {
    let uid = fixture.secret(title, "unused");
    fixture
        .admin
        .set_dynamic_target(uid, RoleTemplate::new("app").schema("inventory"))
        .unwrap();
    uid
}

async fn lease_with_body(fixture: &Fixture, key: Option<&str>, body: String) -> Answer {
    let auth = format!("Bearer {}", fixture.client.token());
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    fixture
        .http
        .send(
            Method::POST,
            paths::dynamic_lease(),
            &headers,
            body.into_bytes(),
        )
        .await
}

async fn lease(fixture: &Fixture, uid: RecordUid, ttl: u64, key: Option<&str>) -> Answer {
    lease_with_body(
        fixture,
        key,
        format!(r#"{{"record_uid":"{uid}","ttl_seconds":{ttl}}}"#),
    )
    .await
}

/// A leased role logs in with its connection string and reads what its template grants.
async fn assert_logs_in(lease: &LeaseCreated) {
    let session = connect(lease.connection_string.expose())
        .await
        .expect("the leased role logs in");
    let rows = session
        .query("SELECT name FROM inventory.items", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
}

/// A record whose rotation changes the password of role `orders_app`, created with
/// `initial`; new values are drawn from `alphabet`.
async fn rotated_record(
    cluster: &Cluster,
    fixture: &Fixture,
    initial: &str,
    alphabet: &str,
) -> RecordUid {
    cluster
        .admin("postgres")
        .await
        .execute(
            &format!("CREATE ROLE orders_app LOGIN PASSWORD '{initial}'"),
            &[],
        )
        .await
        .unwrap();
    let mut payload = RecordPayload::new("Database");
    payload.fields.set("username", "orders_app");
    payload.fields.set("password", initial);
    let uid = fixture
        .admin
        .create_secret(fixture.folder, &payload)
        .unwrap();
    fixture
        .admin
        .set_rotation_policy(uid, RotationPolicy::new("password").alphabet(alphabet))
        .unwrap();
    fixture.admin.bind_rotation_to_postgres(uid).unwrap();
    uid
}

/// Rotates `uid` over HTTP, waits for it to complete and returns the new password.
async fn rotate(fixture: &Fixture, uid: RecordUid) -> String {
    let token = fixture.client.token();
    let started = fixture
        .http
        .post(&paths::rotate(&uid), Some(&token), Vec::new())
        .await
        .expect(202)
        .json();
    let id = started["data"]["rotation_id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        let polled = fixture
            .get(&format!("/api/sm/v1/rotations/{id}"))
            .await
            .expect(200)
            .json();
        match polled["data"]["status"].as_str() {
            Some("completed") => {
                let record = fixture.admin.read_secret(uid).unwrap();
                return record.fields.get("password").unwrap().expose().to_owned();
            }
            Some("failed") => panic!("the rotation failed: {polled}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("the rotation did not finish");
}

#[tokio::test]
async fn passwords_reach_the_database_log_only_as_scram_verifiers() {
    let cluster = cluster!(
        "passwords_reach_the_database_log_only_as_scram_verifiers",
        &["log_statement=all"]
    );
    create_app_database(&cluster).await;
    let fixture = Fixture::on(server_on(&cluster).await, Access::ReadWrite).await;
    let uid = target(&fixture, "Orders database");
    let leased: LeaseCreated = lease(&fixture, uid, 600, None).await.expect(201).parse();
    assert_logs_in(&leased).await;
    let rotated = rotated_record(&cluster, &fixture, "initial-pw", "abcdefghkmnpqrstuvwxyz").await;
    let new_password = rotate(&fixture, rotated).await;
    connect(&cluster.url("orders_app", &new_password, "postgres"))
        .await
        .expect("the rotated password logs in");

    let log = cluster.log();
    assert!(
        log.contains("CREATE ROLE \"vf_tmp_"),
        "the cluster logs statements"
    );
    assert!(log.contains("ALTER ROLE \"orders_app\""));
    assert!(
        !log.contains(leased.password.expose()),
        "the lease's password is not in the database log"
    );
    assert!(
        !log.contains(&new_password),
        "the rotated password is not in the database log"
    );
    assert!(log.contains("SCRAM-SHA-256$4096:"));
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn leases_and_rotation_work_without_standard_conforming_strings() {
    let cluster = cluster!(
        "leases_and_rotation_work_without_standard_conforming_strings",
        &["standard_conforming_strings=off"]
    );
    let setting: String = cluster
        .admin("postgres")
        .await
        .query_one("SHOW standard_conforming_strings", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(setting, "off");
    create_app_database(&cluster).await;
    let fixture = Fixture::on(server_on(&cluster).await, Access::ReadWrite).await;
    let uid = target(&fixture, "Orders database");
    let leased: LeaseCreated = lease(&fixture, uid, 600, None).await.expect(201).parse();
    assert_logs_in(&leased).await;

    // Values with backslashes and quotes, which such a session reads as escapes.
    let rotated = rotated_record(&cluster, &fixture, "initial-pw", r"ab\'n").await;
    for _ in 0..3 {
        let new_password = rotate(&fixture, rotated).await;
        assert!(new_password.contains('\\') || new_password.contains('\''));
        connect(&cluster.url("orders_app", &percent_encode(&new_password), "postgres"))
            .await
            .expect("the rotated password logs in");
    }
    fixture.server.shutdown().await;
}

/// Percent-encodes a password for a connection URL.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
