//! How long leased PostgreSQL roles live: leases follow the grants and bindings they depend
//! on, and no leased role outlives its lease (cancelled requests, roles nobody holds, stops).
//! Against a real PostgreSQL server, over real sockets.

mod common;
mod pg;

use std::time::Duration;

use common::{Answer, Fixture, Http};
use http::Method;
use pg::{Cluster, connect};
use syvault_dev::wire::{Access, LeaseCreated, LeaseList, paths};
use syvault_dev::{DevServer, DevServerBuilder};
use syvault_proto::RecordUid;

/// Starts a cluster or returns from the test (a visible skip; a failure under CI=true).
macro_rules! cluster {
    ($name:literal) => {
        match Cluster::require($name) {
            Some(cluster) => cluster,
            None => return,
        }
    };
}

fn builder(cluster: &Cluster) -> DevServerBuilder {
    DevServer::builder().postgres_admin_url(Some(cluster.admin_url()))
}

/// A database `app` with a schema the leases may read.
async fn create_app_database(cluster: &Cluster) {
    cluster
        .create_database(
            "app",
            "CREATE SCHEMA inventory; CREATE TABLE inventory.items (id int)",
        )
        .await;
}

fn lease_body(uid: RecordUid) -> Vec<u8> {
    format!(r#"{{"record_uid":"{uid}","ttl_seconds":600}}"#).into_bytes()
}

async fn lease(fixture: &Fixture, uid: RecordUid) -> LeaseCreated {
    try_lease(fixture, uid).await.expect(201).parse()
}

async fn try_lease(fixture: &Fixture, uid: RecordUid) -> Answer {
    let auth = format!("Bearer {}", fixture.client.token());
    fixture
        .http
        .send(
            Method::POST,
            paths::dynamic_lease(),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            lease_body(uid),
        )
        .await
}

async fn renew(http: &Http, token: &str, lease: &LeaseCreated) -> Answer {
    http.post(
        &format!("{}/{}/renew", paths::dynamic_leases(), lease.lease_id),
        Some(token),
        br#"{"ttl_seconds":3600}"#.to_vec(),
    )
    .await
}

/// Waits up to 15 s for the leased roles to be exactly `expected`.
async fn await_roles(cluster: &Cluster, expected: &[&str]) {
    let mut left = Vec::new();
    for _ in 0..150 {
        left = cluster.leased_roles().await;
        if left == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("leased roles {left:?}, expected {expected:?}");
}

async fn listed(fixture: &Fixture) -> Vec<uuid::Uuid> {
    let list: LeaseList = fixture
        .get(paths::dynamic_leases())
        .await
        .expect(200)
        .parse();
    list.data.iter().map(|lease| lease.lease_id).collect()
}

#[tokio::test]
async fn removing_the_grant_ends_the_leases_it_allowed() {
    let cluster = cluster!("removing_the_grant_ends_the_leases_it_allowed");
    create_app_database(&cluster).await;
    let fixture = Fixture::on(builder(&cluster).start().await.unwrap(), Access::Read).await;
    let uid = fixture.dynamic_target("Orders database");
    let token = fixture.client.token();
    let created = lease(&fixture, uid).await;
    let session = connect(created.connection_string.expose()).await.unwrap();
    // Another client's lease on the same record keeps its grant and its lease.
    let other = fixture.second_client(Access::Read).await;
    let other_token = other.token();
    let auth = format!("Bearer {other_token}");
    let kept: LeaseCreated = fixture
        .http
        .send(
            Method::POST,
            paths::dynamic_lease(),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            lease_body(uid),
        )
        .await
        .expect(201)
        .parse();

    fixture
        .admin
        .revoke(fixture.client.client_id, fixture.folder)
        .unwrap();
    renew(&fixture.http, &token, &created)
        .await
        .expect_error(404, "secret_not_found");
    await_roles(&cluster, &[&kept.username]).await;
    assert!(
        session.query_one("SELECT 1", &[]).await.is_err(),
        "the open session was terminated"
    );
    assert!(connect(created.connection_string.expose()).await.is_err());
    assert!(listed(&fixture).await.is_empty());
    // The answer stays the same, and a new grant does not bring the lease back.
    renew(&fixture.http, &token, &created)
        .await
        .expect_error(404, "secret_not_found");
    fixture
        .admin
        .grant(fixture.client.client_id, fixture.folder, Access::Read)
        .unwrap();
    renew(&fixture.http, &token, &created)
        .await
        .expect_error(404, "lease_not_found");
    renew(&fixture.http, &other_token, &kept).await.expect(200);
    connect(kept.connection_string.expose()).await.unwrap();
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn moving_or_deleting_the_record_ends_its_leases() {
    let cluster = cluster!("moving_or_deleting_the_record_ends_its_leases");
    create_app_database(&cluster).await;
    let fixture = Fixture::on(builder(&cluster).start().await.unwrap(), Access::Read).await;
    let token = fixture.client.token();
    let moved = fixture.dynamic_target("Moved");
    let deleted = fixture.dynamic_target("Deleted");
    let moved_lease = lease(&fixture, moved).await;
    let deleted_lease = lease(&fixture, deleted).await;
    let elsewhere = fixture.admin.create_folder("Elsewhere", None).unwrap();

    fixture.admin.move_secret(moved, elsewhere).unwrap();
    renew(&fixture.http, &token, &moved_lease)
        .await
        .expect_error(404, "secret_not_found");
    await_roles(&cluster, &[&deleted_lease.username]).await;
    fixture.admin.delete_secret(deleted).unwrap();
    renew(&fixture.http, &token, &deleted_lease)
        .await
        .expect_error(404, "secret_not_found");
    await_roles(&cluster, &[]).await;
    assert!(
        connect(deleted_lease.connection_string.expose())
            .await
            .is_err()
    );
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn a_grant_removed_while_the_role_is_created_ends_that_lease() {
    let cluster = cluster!("a_grant_removed_while_the_role_is_created_ends_that_lease");
    create_app_database(&cluster).await;
    let fixture = Fixture::on(builder(&cluster).start().await.unwrap(), Access::Read).await;
    let uid = fixture.dynamic_target("Orders database");
    // The creation's `GRANT CONNECT ON DATABASE app` waits for this transaction.
    let blocker = cluster.admin("postgres").await;
    blocker
        .batch_execute("BEGIN; GRANT CONNECT ON DATABASE app TO PUBLIC")
        .await
        .unwrap();
    let (answer, ()) = tokio::join!(try_lease(&fixture, uid), async {
        await_waiting(&cluster, "wait_event_type = 'Lock'", 1).await;
        fixture
            .admin
            .revoke(fixture.client.client_id, fixture.folder)
            .unwrap();
        blocker.batch_execute("ROLLBACK").await.unwrap();
    });
    answer.expect_error(404, "secret_not_found");
    await_roles(&cluster, &[]).await;
    assert!(fixture.admin.active_lease_usernames().is_empty());
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn unbinding_a_target_ends_its_leases() {
    let cluster = cluster!("unbinding_a_target_ends_its_leases");
    create_app_database(&cluster).await;
    let fixture = Fixture::on(builder(&cluster).start().await.unwrap(), Access::Read).await;
    let token = fixture.client.token();
    let unbound = fixture.dynamic_target("Unbound");
    let bound = fixture.dynamic_target("Still bound");
    let ended = lease(&fixture, unbound).await;
    let kept = lease(&fixture, bound).await;
    let session = connect(ended.connection_string.expose()).await.unwrap();

    fixture.admin.clear_dynamic_target(unbound);
    renew(&fixture.http, &token, &ended)
        .await
        .expect_error(422, "not_dynamic_target");
    await_roles(&cluster, &[&kept.username]).await;
    assert!(
        session.query_one("SELECT 1", &[]).await.is_err(),
        "the open session was terminated"
    );
    assert!(connect(ended.connection_string.expose()).await.is_err());
    assert_eq!(listed(&fixture).await, [kept.lease_id]);
    renew(&fixture.http, &token, &kept).await.expect(200);
    fixture.server.shutdown().await;
}

/// Waits up to 15 s until `count` sessions of the cluster match `condition` (on
/// `pg_stat_activity`).
async fn await_waiting(cluster: &Cluster, condition: &str, count: i64) {
    let admin = cluster.admin("postgres").await;
    let query = format!("SELECT count(*) FROM pg_stat_activity WHERE {condition}");
    for _ in 0..150 {
        let waiting: i64 = admin.query_one(&query, &[]).await.unwrap().get(0);
        if waiting == count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{count} sessions never matched {condition}");
}

/// Sets `synchronous_standby_names`, empty to reset it, and waits for the change to apply.
async fn standby_names(cluster: &Cluster, names: &str) {
    let admin = cluster.admin("postgres").await;
    admin
        .batch_execute(&format!(
            "ALTER SYSTEM SET synchronous_standby_names = '{names}'"
        ))
        .await
        .unwrap();
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_lease_request_cancelled_mid_creation_leaves_no_role() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let cluster = cluster!("a_lease_request_cancelled_mid_creation_leaves_no_role");
    create_app_database(&cluster).await;
    let server = builder(&cluster)
        .postgres_timeout(Duration::from_secs(60))
        .orphan_sweep_interval(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let fixture = Fixture::on(server, Access::Read).await;
    let uid = fixture.dynamic_target("Orders database");

    // Commits in `app` wait for a standby that never comes: a creation sits in its COMMIT,
    // committed in the database's log but not yet visible, until the setting is reset. (The
    // test cluster runs with `synchronous_commit=off`; the database's setting overrides it.)
    cluster
        .admin("postgres")
        .await
        .batch_execute("ALTER DATABASE app SET synchronous_commit = on")
        .await
        .unwrap();
    standby_names(&cluster, "nobody").await;
    let addr = fixture.server.addr();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = lease_body(uid);
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        paths::dynamic_lease(),
        fixture.client.token(),
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let mut answer = [0; 512];
    if let Ok(read) = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut answer)).await {
        let read = read.unwrap();
        panic!("answered: {}", String::from_utf8_lossy(&answer[..read]));
    }
    await_waiting(&cluster, "wait_event = 'SyncRep'", 1).await;
    // The client gives up; the server cancels its request.
    drop(stream);
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Now the database completes the creation nobody waits for any more.
    standby_names(&cluster, "").await;
    await_waiting(&cluster, "wait_event = 'SyncRep'", 0).await;
    await_roles(&cluster, &[]).await;
    assert!(fixture.admin.active_lease_usernames().is_empty());
    // The target leases as before.
    let created = lease(&fixture, uid).await;
    connect(created.connection_string.expose()).await.unwrap();
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn roles_no_lease_holds_are_dropped_while_the_server_runs() {
    let cluster = cluster!("roles_no_lease_holds_are_dropped_while_the_server_runs");
    create_app_database(&cluster).await;
    let server = builder(&cluster)
        .orphan_sweep_interval(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let fixture = Fixture::on(server, Access::Read).await;
    let uid = fixture.dynamic_target("Orders database");
    let held = lease(&fixture, uid).await;
    // A role no lease holds, owning something, appears while the server runs.
    let admin = cluster.admin("app").await;
    admin
        .batch_execute("CREATE ROLE vf_tmp_planted1 LOGIN")
        .await
        .unwrap();
    admin
        .batch_execute("SET ROLE vf_tmp_planted1; SELECT lo_create(0); RESET ROLE")
        .await
        .unwrap();
    await_roles(&cluster, &[&held.username]).await;
    // Leases created while the sweep runs every 50 ms keep their roles: a creation under
    // way holds its role.
    let mut usernames = vec![held.username.clone()];
    for _ in 0..5 {
        let created = lease(&fixture, uid).await;
        connect(created.connection_string.expose()).await.unwrap();
        usernames.push(created.username);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    usernames.sort();
    assert_eq!(cluster.leased_roles().await, usernames);
    fixture.server.shutdown().await;
}

#[tokio::test]
async fn a_stop_revokes_the_leases_a_server_does_not_keep() {
    let cluster = cluster!("a_stop_revokes_the_leases_a_server_does_not_keep");
    create_app_database(&cluster).await;

    // Without a data file the leases would be forgotten: a graceful stop revokes them.
    let fixture = Fixture::on(builder(&cluster).start().await.unwrap(), Access::Read).await;
    let uid = fixture.dynamic_target("Orders database");
    let created = lease(&fixture, uid).await;
    let session = connect(created.connection_string.expose()).await.unwrap();
    fixture.server.shutdown().await;
    assert!(cluster.leased_roles().await.is_empty());
    assert!(
        session.query_one("SELECT 1", &[]).await.is_err(),
        "the open session was terminated"
    );

    // With one they are kept, and the next start resumes them.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("vault.json");
    let start = || builder(&cluster).data_file(Some(data.clone())).start();
    let fixture = Fixture::on(start().await.unwrap(), Access::Read).await;
    let uid = fixture.dynamic_target("Orders database");
    let kept = lease(&fixture, uid).await;
    let session = connect(kept.connection_string.expose()).await.unwrap();
    fixture.server.shutdown().await;
    assert_eq!(
        cluster.leased_roles().await,
        std::slice::from_ref(&kept.username)
    );
    session.query_one("SELECT 1", &[]).await.unwrap();
    let server = start().await.unwrap();
    assert_eq!(server.admin().active_lease_usernames(), [kept.username]);
    connect(kept.connection_string.expose()).await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn a_creation_cut_short_by_a_crash_is_undone_at_start_up() {
    let cluster = cluster!("a_creation_cut_short_by_a_crash_is_undone_at_start_up");
    create_app_database(&cluster).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("vault.json");
    let start = || builder(&cluster).data_file(Some(data.clone())).start();
    let fixture = Fixture::on(start().await.unwrap(), Access::Read).await;
    let uid = fixture.dynamic_target("Orders database");
    let kept = lease(&fixture, uid).await;
    let cut_short = lease(&fixture, uid).await;
    fixture.server.shutdown().await;
    // The state a crash leaves while the role of `cut_short` is being created: its lease
    // recorded as being created, its role possibly committed.
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&data).unwrap()).unwrap();
    state["vault"]["leases"][cut_short.lease_id.to_string()]["creating"] = true.into();
    std::fs::write(&data, serde_json::to_vec(&state).unwrap()).unwrap();

    let server = start().await.unwrap();
    assert_eq!(
        server.admin().active_lease_usernames(),
        std::slice::from_ref(&kept.username)
    );
    await_roles(&cluster, &[&kept.username]).await;
    assert!(connect(cut_short.connection_string.expose()).await.is_err());
    connect(kept.connection_string.expose()).await.unwrap();
    server.shutdown().await;
}
