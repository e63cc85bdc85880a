//! Dynamic secrets and rotation against a real PostgreSQL server, over real sockets.

mod common;
mod pg;

use std::time::{Duration, Instant};

use common::{Answer, Fixture, Http, now_secs};
use http::Method;
use pg::{Cluster, connect, server_on};
use syvault_dev::wire::{Access, LeaseCreated, LeaseList, LeaseSummary, paths};
use syvault_dev::{DevServer, RoleTemplate, RotationPolicy};
use syvault_proto::RecordUid;
use syvault_proto::lease::parse_rfc3339;
use syvault_proto::record::RecordPayload;
use syvault_proto::wire::DataEnvelope;

/// Starts a cluster or returns from the test (a visible skip; a failure under CI=true).
macro_rules! cluster {
    ($name:literal) => {
        match Cluster::require($name) {
            Some(cluster) => cluster,
            None => return,
        }
    };
}

/// A database `app` with a table the leases may read and one they may not.
async fn create_app_database(cluster: &Cluster) {
    cluster
        .create_database(
            "app",
            "CREATE SCHEMA inventory;
             CREATE TABLE inventory.items (id int, name text);
             INSERT INTO inventory.items VALUES (1, 'widget'), (2, 'gadget');
             CREATE SCHEMA vault;
             CREATE TABLE vault.keys (k text);",
        )
        .await;
}

async fn lease(
    fixture: &Fixture,
    token: &str,
    uid: RecordUid,
    ttl: u64,
    key: Option<&str>,
) -> Answer {
    let auth = format!("Bearer {token}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    let body = format!(r#"{{"record_uid":"{uid}","ttl_seconds":{ttl}}}"#).into_bytes();
    fixture
        .http
        .send(Method::POST, paths::dynamic_lease(), &headers, body)
        .await
}

async fn renew(http: &Http, token: &str, lease_id: &str, ttl: u64) -> Answer {
    http.post(
        &format!("{}/{lease_id}/renew", paths::dynamic_leases()),
        Some(token),
        format!(r#"{{"ttl_seconds":{ttl}}}"#).into_bytes(),
    )
    .await
}

async fn revoke(http: &Http, token: &str, lease_id: &str) -> Answer {
    let auth = format!("Bearer {token}");
    http.send(
        Method::DELETE,
        &format!("{}/{lease_id}", paths::dynamic_leases()),
        &[("authorization", &auth)],
        Vec::new(),
    )
    .await
}

async fn valid_until(cluster: &Cluster, role: &str) -> u64 {
    let epoch: i64 = cluster
        .admin("postgres")
        .await
        .query_one(
            "SELECT extract(epoch FROM rolvaliduntil)::bigint FROM pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .unwrap()
        .get(0);
    u64::try_from(epoch).unwrap()
}

fn target(fixture: &Fixture) -> RecordUid {
    let uid = fixture.secret("Orders database", "unused");
    fixture
        .admin
        .set_dynamic_target(uid, RoleTemplate::new("app").schema("inventory"))
        .unwrap();
    uid
}

#[tokio::test]
async fn lease_connect_renew_and_revoke_against_postgres() {
    let cluster = cluster!("lease_connect_renew_and_revoke_against_postgres");
    create_app_database(&cluster).await;
    let fixture = Fixture::on(server_on(&cluster).await, Access::Read).await;
    let uid = target(&fixture);
    let token = fixture.client.token();

    let answer = lease(&fixture, &token, uid, 600, Some("first-lease")).await;
    let created: LeaseCreated = answer.expect(201).parse();
    assert!(created.username.starts_with("vf_tmp_") && created.username.len() == 15);
    let expires = parse_rfc3339(&created.expires_at).unwrap().as_unix_secs();
    assert!(
        expires.abs_diff(now_secs() + 600) <= 5,
        "{}",
        created.expires_at
    );
    assert!(
        created
            .connection_string
            .expose()
            .starts_with(&format!("postgresql://{}:", created.username))
    );
    assert_eq!(valid_until(&cluster, &created.username).await, expires);

    // The leased credential connects, reads what the grants allow and nothing else.
    let session = connect(created.connection_string.expose()).await.unwrap();
    let one: i32 = session.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    let items: i64 = session
        .query_one("SELECT count(*) FROM inventory.items", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(items, 2);
    let denied = session
        .query("SELECT * FROM vault.keys", &[])
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("permission denied") || denied.as_db_error().is_some());
    assert!(
        session
            .execute("INSERT INTO inventory.items VALUES (3, 'x')", &[])
            .await
            .is_err(),
        "SELECT only"
    );
    // The username and password also work as separate fields.
    let by_fields = cluster.url(&created.username, created.password.expose(), "app");
    connect(&by_fields).await.unwrap();

    // Listed without its password.
    let listed = fixture.get(paths::dynamic_leases()).await.expect(200);
    assert!(!String::from_utf8_lossy(&listed.body).contains(created.password.expose()));
    let list: LeaseList = listed.parse();
    assert_eq!(list.data.len(), 1);
    assert_eq!(list.data[0].lease_id, created.lease_id);
    assert_eq!(list.data[0].record_uid, uid);

    // Renewal moves the expiry, in the answer and in the database.
    let lease_id = created.lease_id.to_string();
    let renewed: DataEnvelope<LeaseSummary> = renew(&fixture.http, &token, &lease_id, 3600)
        .await
        .expect(200)
        .parse();
    let new_expiry = parse_rfc3339(&renewed.data.expires_at)
        .unwrap()
        .as_unix_secs();
    assert!(new_expiry > expires + 2000, "{}", renewed.data.expires_at);
    assert_eq!(valid_until(&cluster, &created.username).await, new_expiry);

    // Revocation terminates the open session and drops the role.
    let open = connect(created.connection_string.expose()).await.unwrap();
    revoke(&fixture.http, &token, &lease_id).await.expect(204);
    assert!(
        open.query_one("SELECT 1", &[]).await.is_err(),
        "session terminated"
    );
    assert!(connect(created.connection_string.expose()).await.is_err());
    assert!(cluster.leased_roles().await.is_empty());
    // Revoking again is 204; renewing a revoked lease is 404.
    revoke(&fixture.http, &token, &lease_id).await.expect(204);
    renew(&fixture.http, &token, &lease_id, 600)
        .await
        .expect_error(404, "lease_not_found");
    let list: LeaseList = fixture
        .get(paths::dynamic_leases())
        .await
        .expect(200)
        .parse();
    assert!(list.data.is_empty());
    drop(session);
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn idempotency_bad_input_foreign_leases_and_the_sweeper() {
    let cluster = cluster!("idempotency_bad_input_foreign_leases_and_the_sweeper");
    create_app_database(&cluster).await;
    let fixture = Fixture::on(server_on(&cluster).await, Access::Read).await;
    let uid = target(&fixture);
    let token = fixture.client.token();

    // The same key answers the same lease and creates one role.
    let first: LeaseCreated = lease(&fixture, &token, uid, 120, Some("key-1"))
        .await
        .expect(201)
        .parse();
    let again: LeaseCreated = lease(&fixture, &token, uid, 120, Some("key-1"))
        .await
        .expect(201)
        .parse();
    assert_eq!(first, again);
    assert_eq!(
        cluster.leased_roles().await,
        std::slice::from_ref(&first.username)
    );
    let second: LeaseCreated = lease(&fixture, &token, uid, 120, Some("key-2"))
        .await
        .expect(201)
        .parse();
    assert_ne!(second.lease_id, first.lease_id);
    assert_eq!(cluster.leased_roles().await.len(), 2);

    // A failure at the database is a retryable 502 that creates nothing; the retry with the
    // same key then creates exactly one role.
    fixture.admin.fail_next_database_change();
    lease(&fixture, &token, uid, 120, Some("key-3"))
        .await
        .expect_error(502, "target_unavailable");
    assert_eq!(cluster.leased_roles().await.len(), 2);
    let third: LeaseCreated = lease(&fixture, &token, uid, 120, Some("key-3"))
        .await
        .expect(201)
        .parse();
    lease(&fixture, &token, uid, 120, Some("key-3"))
        .await
        .expect(201);
    assert_eq!(cluster.leased_roles().await.len(), 3);

    bad_input(&fixture, &token, uid, &first).await;
    foreign_leases(&fixture, &first).await;
    assert_eq!(cluster.leased_roles().await.len(), 3);

    // An expired lease is swept: its role is dropped and it is no longer listed.
    assert!(fixture.admin.expire_lease(third.lease_id));
    let mut swept = false;
    for _ in 0..100 {
        if !cluster.leased_roles().await.contains(&third.username) {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(swept, "the sweeper dropped the expired role");
    assert!(connect(third.connection_string.expose()).await.is_err());
    let list: LeaseList = fixture
        .get(paths::dynamic_leases())
        .await
        .expect(200)
        .parse();
    assert_eq!(list.data.len(), 2);
    assert!(list.data.iter().all(|l| l.lease_id != third.lease_id));
    revoke(&fixture.http, &token, &third.lease_id.to_string())
        .await
        .expect(204);
    fixture.server.shutdown().await;
}

async fn bad_input(fixture: &Fixture, token: &str, uid: RecordUid, first: &LeaseCreated) {
    let token = token.to_owned();
    for ttl in [0, 59, 86_401] {
        lease(fixture, &token, uid, ttl, None)
            .await
            .expect_error(400, "invalid_request");
    }
    let plain = fixture.secret("Not a target", "pw");
    lease(fixture, &token, plain, 600, None)
        .await
        .expect_error(422, "not_dynamic_target");
    let unknown: RecordUid = "AAAAAAAAAAAA".parse().unwrap();
    lease(fixture, &token, unknown, 600, None)
        .await
        .expect_error(404, "secret_not_found");
    let unknown_lease = uuid::Uuid::from_u128(7).to_string();
    renew(&fixture.http, &token, &unknown_lease, 600)
        .await
        .expect_error(404, "lease_not_found");
    revoke(&fixture.http, &token, &unknown_lease)
        .await
        .expect_error(404, "lease_not_found");
    revoke(&fixture.http, &token, "not-a-uuid")
        .await
        .expect_error(404, "lease_not_found");
    renew(&fixture.http, &token, &first.lease_id.to_string(), 30)
        .await
        .expect_error(400, "invalid_request");
}

/// Another client sees none of these leases and cannot touch them.
async fn foreign_leases(fixture: &Fixture, first: &LeaseCreated) {
    let other = fixture.second_client(Access::Read).await;
    let other_token = other.token();
    let list: LeaseList = fixture
        .http
        .get(paths::dynamic_leases(), &other_token)
        .await
        .expect(200)
        .parse();
    assert!(list.data.is_empty());
    renew(
        &fixture.http,
        &other_token,
        &first.lease_id.to_string(),
        600,
    )
    .await
    .expect_error(404, "lease_not_found");
    revoke(&fixture.http, &other_token, &first.lease_id.to_string())
        .await
        .expect_error(404, "lease_not_found");
}

#[tokio::test]
async fn rotation_changes_the_real_password_and_a_failure_keeps_the_old_one() {
    let cluster = cluster!("rotation_changes_the_real_password_and_a_failure_keeps_the_old_one");
    cluster
        .admin("postgres")
        .await
        .batch_execute("CREATE ROLE orders_app LOGIN PASSWORD 'initial-pw'")
        .await
        .unwrap();
    let fixture = Fixture::on(server_on(&cluster).await, Access::ReadWrite).await;
    let mut payload = RecordPayload::new("Database");
    payload.fields.set("username", "orders_app");
    payload.fields.set("password", "initial-pw");
    let uid = fixture
        .admin
        .create_secret(fixture.folder, &payload)
        .unwrap();
    fixture
        .admin
        .set_rotation_policy(uid, RotationPolicy::new("password"))
        .unwrap();
    fixture.admin.bind_rotation_to_postgres(uid).unwrap();
    connect(&cluster.url("orders_app", "initial-pw", "postgres"))
        .await
        .unwrap();

    // A failure at the database rolls back: reported failed, old password still works.
    fixture.admin.fail_next_database_change();
    let status = fixture.rotate_to_end(uid).await;
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        status["error"].as_str().unwrap().contains("database"),
        "{status}"
    );
    connect(&cluster.url("orders_app", "initial-pw", "postgres"))
        .await
        .expect("the old password still works");
    let unchanged = fixture.admin.read_secret(uid).unwrap();
    assert_eq!(
        unchanged.fields.get("password").unwrap().expose(),
        "initial-pw"
    );

    // A rotation changes the role's password, then the record.
    let status = fixture.rotate_to_end(uid).await;
    assert_eq!(status["status"], "completed", "{status}");
    let rotated = fixture.admin.read_secret(uid).unwrap();
    let new_password = rotated.fields.get("password").unwrap().expose().to_owned();
    assert_ne!(new_password, "initial-pw");
    assert!(
        connect(&cluster.url("orders_app", "initial-pw", "postgres"))
            .await
            .is_err(),
        "the old password stops working"
    );
    connect(&cluster.url("orders_app", &new_password, "postgres"))
        .await
        .expect("the new password works");
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_database_is_a_retryable_502_and_the_url_never_shows() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://postgres:hunter2-admin@127.0.0.1:{port}/postgres");
    let server = DevServer::builder()
        .postgres_admin_url(Some(url))
        .start()
        .await
        .unwrap();
    assert!(!format!("{server:?}").contains("hunter2"));
    let fixture = Fixture::on(server, Access::Read).await;
    let uid = target(&fixture);
    let token = fixture.client.token();
    let answer = lease(&fixture, &token, uid, 600, Some("k"))
        .await
        .expect_error(502, "target_unavailable");
    assert!(!String::from_utf8_lossy(&answer.body).contains("hunter2"));
    assert!(fixture.admin.active_lease_usernames().is_empty());
    fixture.server.shutdown().await;
}

/// Leases `uid`, answering also how long the request took.
async fn timed_lease(
    fixture: &Fixture,
    token: &str,
    uid: RecordUid,
    key: &str,
) -> (Answer, Duration) {
    let started = Instant::now();
    // Far past the server's bound: reaching it means the request hung.
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        lease(fixture, token, uid, 600, Some(key)),
    )
    .await
    .unwrap_or_else(|_| panic!("the lease request `{key}` hung"));
    (answer, started.elapsed())
}

#[tokio::test]
async fn a_blocked_database_times_out_without_holding_up_other_targets() {
    let cluster = cluster!("a_blocked_database_times_out_without_holding_up_other_targets");
    create_app_database(&cluster).await;
    let admin = cluster.admin("postgres").await;
    admin.batch_execute("CREATE DATABASE other").await.unwrap();
    let server = DevServer::builder()
        .postgres_admin_url(Some(cluster.admin_url()))
        .postgres_timeout(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    let fixture = Fixture::on(server, Access::Read).await;
    let blocked = target(&fixture);
    let free = fixture.secret("Other database", "unused");
    fixture
        .admin
        .set_dynamic_target(free, RoleTemplate::new("other"))
        .unwrap();
    let token = fixture.client.token();

    // An open transaction that changed database `app`'s catalog row: the lease's
    // `GRANT CONNECT ON DATABASE app` waits for it, as it would behind a stuck session.
    admin
        .batch_execute("BEGIN; GRANT CONNECT ON DATABASE app TO PUBLIC")
        .await
        .unwrap();
    let ((stuck, stuck_took), (other, other_took)) =
        tokio::join!(timed_lease(&fixture, &token, blocked, "stuck"), async {
            // Starts while the first request is blocked in the database.
            tokio::time::sleep(Duration::from_millis(300)).await;
            timed_lease(&fixture, &token, free, "free").await
        });
    let stuck = stuck.expect_error(502, "target_unavailable");
    let message = stuck.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("did not answer within 2000 ms"),
        "{message}"
    );
    assert!(!message.contains("test-admin-pw"), "{message}");
    let other: LeaseCreated = other.expect(201).parse();
    assert!(
        other_took + Duration::from_millis(300) < stuck_took,
        "the other target waited for the blocked one: {other_took:?} vs {stuck_took:?}"
    );

    // The abandoned creation left no role behind; once unblocked, the target leases again.
    admin.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(
        cluster.leased_roles().await,
        std::slice::from_ref(&other.username)
    );
    assert_eq!(fixture.admin.active_lease_usernames(), [other.username]);
    let again = lease(&fixture, &token, blocked, 600, Some("stuck")).await;
    let again: LeaseCreated = again.expect(201).parse();
    connect(again.connection_string.expose()).await.unwrap();
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn a_leased_role_holds_no_more_sessions_than_its_template_allows() {
    let cluster = cluster!("a_leased_role_holds_no_more_sessions_than_its_template_allows");
    create_app_database(&cluster).await;
    let fixture = Fixture::on(server_on(&cluster).await, Access::Read).await;
    let token = fixture.client.token();
    let two = fixture.secret("Two sessions", "unused");
    fixture
        .admin
        .set_dynamic_target(two, RoleTemplate::new("app").connection_limit(2))
        .unwrap();
    assert!(
        fixture
            .admin
            .set_dynamic_target(two, RoleTemplate::new("app").connection_limit(0))
            .is_err()
    );
    let created: LeaseCreated = lease(&fixture, &token, two, 600, None)
        .await
        .expect(201)
        .parse();
    let url = created.connection_string.expose();
    let _first = connect(url).await.unwrap();
    let _second = connect(url).await.unwrap();
    let third = connect(url).await.unwrap_err();
    let db = third
        .as_db_error()
        .expect("the database refuses the third session");
    assert!(
        db.message().contains("too many connections for role"),
        "{}",
        db.message()
    );

    // Without a setting, the default applies.
    let default = target(&fixture);
    let created: LeaseCreated = lease(&fixture, &token, default, 600, None)
        .await
        .expect(201)
        .parse();
    let limit: i32 = cluster
        .admin("postgres")
        .await
        .query_one(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = $1",
            &[&created.username],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        i64::from(limit),
        i64::from(syvault_dev::DEFAULT_CONNECTION_LIMIT)
    );
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn revocation_drops_what_the_role_owns_in_every_database() {
    let cluster = cluster!("revocation_drops_what_the_role_owns_in_every_database");
    create_app_database(&cluster).await;
    let admin = cluster.admin("postgres").await;
    admin.batch_execute("CREATE DATABASE other").await.unwrap();
    let fixture = Fixture::on(server_on(&cluster).await, Access::Read).await;
    let uid = target(&fixture);
    let token = fixture.client.token();

    // Revocation: the role owns a large object in a database outside its template.
    let created: LeaseCreated = lease(&fixture, &token, uid, 600, None)
        .await
        .expect(201)
        .parse();
    let elsewhere = cluster.url(&created.username, created.password.expose(), "other");
    let session = connect(&elsewhere).await.unwrap();
    session.query_one("SELECT lo_create(0)", &[]).await.unwrap();
    revoke(&fixture.http, &token, &created.lease_id.to_string())
        .await
        .expect(204);
    assert!(cluster.leased_roles().await.is_empty());
    let left: i64 = cluster
        .admin("other")
        .await
        .query_one("SELECT count(*) FROM pg_largeobject_metadata", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    assert!(session.query_one("SELECT 1", &[]).await.is_err(), "ended");

    // Expiry: the same, by the sweeper.
    let created: LeaseCreated = lease(&fixture, &token, uid, 600, None)
        .await
        .expect(201)
        .parse();
    let elsewhere = cluster.url(&created.username, created.password.expose(), "other");
    let session = connect(&elsewhere).await.unwrap();
    session.query_one("SELECT lo_create(0)", &[]).await.unwrap();
    assert!(fixture.admin.expire_lease(created.lease_id));
    for _ in 0..100 {
        if cluster.leased_roles().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        cluster.leased_roles().await.is_empty(),
        "the sweeper dropped it"
    );
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn a_client_holds_no_more_leases_than_the_limit() {
    let cluster = cluster!("a_client_holds_no_more_leases_than_the_limit");
    create_app_database(&cluster).await;
    let server = DevServer::builder()
        .postgres_admin_url(Some(cluster.admin_url()))
        .max_leases_per_client(2)
        .start()
        .await
        .unwrap();
    let fixture = Fixture::on(server, Access::Read).await;
    let uid = target(&fixture);
    let token = fixture.client.token();
    let first: LeaseCreated = lease(&fixture, &token, uid, 600, Some("a"))
        .await
        .expect(201)
        .parse();
    lease(&fixture, &token, uid, 600, Some("b"))
        .await
        .expect(201);
    let refused = lease(&fixture, &token, uid, 600, Some("c"))
        .await
        .expect_error(409, "lease_limit_reached");
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("2 active leases"), "{message}");
    assert_eq!(
        cluster.leased_roles().await.len(),
        2,
        "the refused request created no role"
    );
    // A repeat of an answered request is still answered.
    let repeat: LeaseCreated = lease(&fixture, &token, uid, 600, Some("a"))
        .await
        .expect(201)
        .parse();
    assert_eq!(repeat.lease_id, first.lease_id);
    // Revoking one makes room.
    revoke(&fixture.http, &token, &first.lease_id.to_string())
        .await
        .expect(204);
    lease(&fixture, &token, uid, 600, Some("c"))
        .await
        .expect(201);
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn orphaned_leased_roles_are_dropped_at_start_up() {
    let cluster = cluster!("orphaned_leased_roles_are_dropped_at_start_up");
    create_app_database(&cluster).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("vault.json");
    let start = || {
        DevServer::builder()
            .data_file(Some(data.clone()))
            .postgres_admin_url(Some(cluster.admin_url()))
            .start()
    };
    let fixture = Fixture::on(start().await.unwrap(), Access::Read).await;
    let uid = target(&fixture);
    let token = fixture.client.token();
    let held: LeaseCreated = lease(&fixture, &token, uid, 600, None)
        .await
        .expect(201)
        .parse();
    fixture.server.shutdown().await;
    // A role as a server that stopped before recording its lease leaves it, owning something.
    let admin = cluster.admin("app").await;
    admin
        .batch_execute("CREATE ROLE vf_tmp_orphan01 LOGIN")
        .await
        .unwrap();
    admin
        .batch_execute("SET ROLE vf_tmp_orphan01; SELECT lo_create(0); RESET ROLE")
        .await
        .unwrap();

    let server = start().await.unwrap();
    assert_eq!(
        cluster.leased_roles().await,
        std::slice::from_ref(&held.username)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn without_postgres_nothing_is_a_target() {
    let fixture = Fixture::new(Access::Read).await;
    let uid = fixture.secret("Plain", "pw");
    assert!(
        fixture
            .admin
            .set_dynamic_target(uid, RoleTemplate::new("app"))
            .is_err()
    );
    assert!(fixture.admin.bind_rotation_to_postgres(uid).is_err());
    let token = fixture.client.token();
    lease(&fixture, &token, uid, 600, None)
        .await
        .expect_error(422, "not_dynamic_target");
    let list: LeaseList = fixture
        .get(paths::dynamic_leases())
        .await
        .expect(200)
        .parse();
    assert!(list.data.is_empty());
}

#[tokio::test]
async fn the_demo_database_is_real_with_a_postgres_binding() {
    let cluster = cluster!("the_demo_database_is_real_with_a_postgres_binding");
    let server = server_on(&cluster).await;
    let seed = server.seed_demo().await.unwrap();
    let admin = server.admin();
    let record = admin.read_secret(seed.database_uid).unwrap();
    let field = |name: &str| record.fields.get(name).unwrap().expose().to_owned();
    assert_eq!(field("host"), "127.0.0.1");
    assert_eq!(field("port"), cluster.port.to_string());
    let old = field("password");
    let url = |password: &str| cluster.url("orders_app", password, &field("database"));
    connect(&url(&old)).await.expect("the demo role logs in");

    // Rotating the demo record changes the real password.
    let http = Http::for_server(&server);
    let fixture_token = {
        let key = syvault_proto::keys::ClientKey::from_client_secret(
            seed.credentials.client_secret.expose(),
        )
        .unwrap();
        let now = now_secs();
        syvault_proto::jwt::sign(
            &key,
            &syvault_proto::jwt::Claims::new(
                seed.credentials.client_id,
                syvault_proto::jwt::canonical_audience(&server.url()).unwrap(),
                now,
                now + 600,
            ),
        )
        .expose()
        .to_owned()
    };
    let started = http
        .post(
            &paths::rotate(&seed.database_uid),
            Some(&fixture_token),
            Vec::new(),
        )
        .await
        .expect(202)
        .json();
    let id = started["data"]["rotation_id"].as_str().unwrap().to_owned();
    let mut status = String::new();
    for _ in 0..200 {
        let polled = http
            .get(&format!("/api/sm/v1/rotations/{id}"), &fixture_token)
            .await
            .expect(200)
            .json();
        status = polled["data"]["status"].as_str().unwrap().to_owned();
        if status == "completed" || status == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "completed");
    let new = admin
        .read_secret(seed.database_uid)
        .unwrap()
        .fields
        .get("password")
        .unwrap()
        .expose()
        .to_owned();
    assert_ne!(new, old);
    assert!(connect(&url(&old)).await.is_err());
    connect(&url(&new)).await.expect("the new password logs in");

    // The demo's dynamic target leases roles.
    let list: syvault_dev::wire::SecretList = http
        .get(paths::secrets(), &fixture_token)
        .await
        .expect(200)
        .parse();
    assert_eq!(
        list.data.len(),
        3,
        "Database, Database (dynamic), Stripe API Key"
    );
    let leasable: Vec<_> = list
        .data
        .iter()
        .filter(|record| record.uid != seed.database_uid && record.uid != seed.stripe_uid)
        .collect();
    assert_eq!(seed.dynamic_uid, Some(leasable[0].uid), "the seed names it");
    let auth = format!("Bearer {fixture_token}");
    let created: LeaseCreated = http
        .send(
            Method::POST,
            paths::dynamic_lease(),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            format!(r#"{{"record_uid":"{}","ttl_seconds":60}}"#, leasable[0].uid).into_bytes(),
        )
        .await
        .expect(201)
        .parse();
    connect(created.connection_string.expose())
        .await
        .expect("a leased role logs in");
    server.shutdown().await;
}

#[test]
fn the_binary_never_shows_the_admin_url() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_syvault-dev"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--postgres-admin-url",
            "postgresql://postgres:hunter2-admin@[not-a-host",
        ])
        .env("SYVAULT_LOG", "debug")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        all.contains("PostgreSQL admin URL cannot be parsed"),
        "{all}"
    );
    assert!(!all.contains("hunter2"), "{all}");
}
