//! What reaches PostgreSQL when the server sets passwords, and how lease requests are bound to
//! their `Idempotency-Key`, against a real PostgreSQL server over real sockets.

mod common;
mod pg;

use common::{Answer, Fixture};
use http::Method;
use pg::{Cluster, connect, server_on};
use syvault_dev::wire::{Access, LeaseCreated, paths};
use syvault_dev::{RoleTemplate, RotationPolicy};
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

/// A database `app` with a table leased roles may read.
async fn create_app_database(cluster: &Cluster) {
    cluster
        .create_database(
            "app",
            "CREATE SCHEMA inventory;
             CREATE TABLE inventory.items (id int, name text);
             INSERT INTO inventory.items VALUES (1, 'widget');",
        )
        .await;
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
    let ended = fixture.rotate_to_end(uid).await;
    assert_eq!(ended["status"], "completed", "the rotation failed: {ended}");
    let record = fixture.admin.read_secret(uid).unwrap();
    record.fields.get("password").unwrap().expose().to_owned()
}

#[tokio::test]
async fn passwords_reach_the_database_log_only_as_scram_verifiers() {
    let cluster = cluster!(
        "passwords_reach_the_database_log_only_as_scram_verifiers",
        &["log_statement=all"]
    );
    create_app_database(&cluster).await;
    let fixture = Fixture::on(server_on(&cluster).await, Access::ReadWrite).await;
    let uid = fixture.dynamic_target("Orders database");
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
    let uid = fixture.dynamic_target("Orders database");
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

#[tokio::test]
async fn an_idempotency_key_is_bound_to_its_request_and_only_successes_are_kept() {
    let cluster = cluster!(
        "an_idempotency_key_is_bound_to_its_request_and_only_successes_are_kept",
        &[]
    );
    create_app_database(&cluster).await;
    let fixture = Fixture::on(server_on(&cluster).await, Access::ReadWrite).await;
    let first_target = fixture.dynamic_target("Orders database");
    let other_target = fixture.dynamic_target("Billing database");

    // The same key with the same request answers the same lease, however the body is
    // formatted and whatever unknown members it carries.
    let first: LeaseCreated = lease(&fixture, first_target, 120, Some("key-1"))
        .await
        .expect(201)
        .parse();
    let reformatted =
        format!(r#"{{ "ttl_seconds": 120, "note": "ignored", "record_uid": "{first_target}" }}"#);
    let again: LeaseCreated = lease_with_body(&fixture, Some("key-1"), reformatted)
        .await
        .expect(201)
        .parse();
    assert_eq!(first, again);
    assert_eq!(cluster.leased_roles().await.len(), 1);

    // The same key with another record or another TTL is refused, and creates nothing.
    let refused = lease(&fixture, other_target, 86_400, Some("key-1"))
        .await
        .expect_error(422, "idempotency_key_reused");
    assert!(!String::from_utf8_lossy(&refused.body).contains(first.password.expose()));
    lease(&fixture, first_target, 600, Some("key-1"))
        .await
        .expect_error(422, "idempotency_key_reused");
    assert_eq!(cluster.leased_roles().await.len(), 1);
    // The key still answers its own request.
    let still: LeaseCreated = lease(&fixture, first_target, 120, Some("key-1"))
        .await
        .expect(201)
        .parse();
    assert_eq!(first, still);

    // A 502 is not remembered: the retry with the same key creates the lease, which is
    // remembered from then on.
    fixture.admin.fail_next_database_change();
    lease(&fixture, first_target, 120, Some("key-2"))
        .await
        .expect_error(502, "target_unavailable");
    assert_eq!(cluster.leased_roles().await.len(), 1);
    let retried: LeaseCreated = lease(&fixture, first_target, 120, Some("key-2"))
        .await
        .expect(201)
        .parse();
    assert_ne!(retried.lease_id, first.lease_id);
    let repeated: LeaseCreated = lease(&fixture, first_target, 120, Some("key-2"))
        .await
        .expect(201)
        .parse();
    assert_eq!(retried, repeated);
    lease(&fixture, other_target, 120, Some("key-2"))
        .await
        .expect_error(422, "idempotency_key_reused");
    assert_eq!(cluster.leased_roles().await.len(), 2);

    // Nor is a 422: once the record is bound, the same key and request get a lease.
    let later_target = fixture.secret("Reports database", "unused");
    lease(&fixture, later_target, 120, Some("key-3"))
        .await
        .expect_error(422, "not_dynamic_target");
    fixture
        .admin
        .set_dynamic_target(later_target, RoleTemplate::new("app").schema("inventory"))
        .unwrap();
    let bound: LeaseCreated = lease(&fixture, later_target, 120, Some("key-3"))
        .await
        .expect(201)
        .parse();
    assert_logs_in(&bound).await;
    assert_eq!(
        bound,
        lease(&fixture, later_target, 120, Some("key-3"))
            .await
            .expect(201)
            .parse::<LeaseCreated>()
    );

    // A failure does not bind the key to its request either.
    let unknown: RecordUid = "AAAAAAAAAAAA".parse().unwrap();
    lease(&fixture, unknown, 120, Some("key-4"))
        .await
        .expect_error(404, "secret_not_found");
    lease(&fixture, first_target, 120, Some("key-4"))
        .await
        .expect(201);
    assert_eq!(cluster.leased_roles().await.len(), 4);

    // Keys are per client: another client's same key is a new request.
    let other = fixture.second_client(Access::Read).await;
    let auth = format!("Bearer {}", other.token());
    let body = format!(r#"{{"record_uid":"{other_target}","ttl_seconds":300}}"#);
    let theirs: LeaseCreated = fixture
        .http
        .send(
            Method::POST,
            paths::dynamic_lease(),
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("idempotency-key", "key-1"),
            ],
            body.into_bytes(),
        )
        .await
        .expect(201)
        .parse();
    assert_ne!(theirs.lease_id, first.lease_id);
    fixture.server.shutdown().await;
}
