//! Dynamic secrets and rotation with both clients, against `syvault-dev` bound to a real
//! PostgreSQL cluster: lease, connect, keep (renew), close (revoke); read the database
//! credentials, connect, rotate, reconnect with the new password.

#[path = "../../syvault-dev/tests/pg/mod.rs"]
mod pg;

use std::time::Duration;

use pg::Cluster;
use syvault_dev::wire::Access;
use syvault_dev::{DevServer, RoleTemplate, RotationPolicy, RunningServer};
use syvault_proto::RecordUid;
use syvault_proto::record::RecordPayload;
use syvault_ureq::{Error, LeaseEnd, LeaseStatus};

/// The shortest TTL the protocol allows: the keeper's first renewal falls 30 to 40 s in.
const TTL: Duration = Duration::from_secs(60);

macro_rules! cluster {
    ($name:literal) => {
        match Cluster::require($name) {
            Some(cluster) => cluster,
            None => return,
        }
    };
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Whether `url` logs in (and answers `SELECT 1`).
fn can_connect(rt: &tokio::runtime::Runtime, url: &str) -> bool {
    rt.block_on(async {
        match pg::connect(url).await {
            Ok(client) => client.query_one("SELECT 1", &[]).await.is_ok(),
            Err(_) => false,
        }
    })
}

struct Setup {
    server: RunningServer,
    uid: RecordUid,
    database: RecordUid,
    token: String,
}

/// A server bound to `cluster`, a dynamic target on database `postgres`, a `Database` record
/// for role `orders_app` whose rotation changes its real password, and a client's token.
fn setup(cluster: &Cluster, rt: &tokio::runtime::Runtime) -> Setup {
    rt.block_on(async {
        cluster
            .admin("postgres")
            .await
            .batch_execute(
                "CREATE ROLE orders_app LOGIN PASSWORD 'initial-pw';
                 CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (1);",
            )
            .await
            .unwrap();
    });
    let server = DevServer::start_blocking(
        DevServer::builder()
            .rotation_delay(Duration::from_millis(20))
            .postgres_admin_url(Some(cluster.admin_url())),
    )
    .unwrap();
    let admin = server.admin();
    let app = admin.create_application("Orders");
    let folder = admin.create_folder("Production", None).unwrap();
    let mut target = RecordPayload::new("Orders readers");
    target.fields.set("note", "leases read public.orders");
    let uid = admin.create_secret(folder, &target).unwrap();
    admin
        .set_dynamic_target(uid, RoleTemplate::new("postgres").schema("public"))
        .unwrap();
    let mut database = RecordPayload::new("Database");
    database.fields.set("username", "orders_app");
    database.fields.set("password", "initial-pw");
    let database = admin.create_secret(folder, &database).unwrap();
    admin
        .set_rotation_policy(database, RotationPolicy::new("password"))
        .unwrap();
    admin.bind_rotation_to_postgres(database).unwrap();
    let client = admin.create_client(app, "orders-service").unwrap();
    admin
        .grant(client.client_id, folder, Access::ReadWrite)
        .unwrap();
    Setup {
        server,
        uid,
        database,
        token: client.token.expose().to_owned(),
    }
}

#[test]
fn blocking_client_leases_keeps_and_revokes() {
    let cluster = cluster!("blocking_client_leases_keeps_and_revokes");
    let rt = runtime();
    let setup = setup(&cluster, &rt);
    let credentials =
        syvault_ureq::SyVaultClient::bootstrap(&setup.server.url(), &setup.token).unwrap();
    let client = syvault_ureq::SyVaultClient::from_credentials(credentials).unwrap();
    let uid = setup.uid.to_string();

    let lease = client.dynamic().lease(&uid, TTL).unwrap();
    assert!(!format!("{lease:?}").contains(lease.password.expose()));
    assert!(can_connect(&rt, lease.connection_string.expose()));
    let listed = client.dynamic().leases().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].lease_id, lease.lease_id);

    // Explicit renew and revoke.
    let renewed = client
        .dynamic()
        .renew(lease.lease_id, Duration::from_secs(600))
        .unwrap();
    assert!(renewed.expires_at > lease.expires_at);
    client.dynamic().revoke(lease.lease_id).unwrap();
    assert!(!can_connect(&rt, lease.connection_string.expose()));
    assert!(matches!(
        client.dynamic().renew(lease.lease_id, TTL),
        Err(Error::LeaseNotFound { .. })
    ));
    assert!(matches!(
        client.dynamic().lease(setup.database.as_str(), TTL),
        Err(Error::NotDynamicTarget { .. })
    ));
    assert!(matches!(
        client.dynamic().lease(&uid, Duration::from_secs(30)),
        Err(Error::InvalidInput { .. })
    ));

    // The keeper renews in the background, then revokes on close.
    let lease = client.dynamic().lease(&uid, TTL).unwrap();
    let keeper = client.dynamic().keep(&lease, TTL).unwrap();
    let mut state = keeper.state();
    assert_eq!(state.status, LeaseStatus::Active);
    let deadline = std::time::Instant::now() + Duration::from_secs(50);
    while state.renewals == 0 && std::time::Instant::now() < deadline {
        state = keeper.wait_for_change(&state, Duration::from_secs(5));
    }
    assert!(state.renewals >= 1, "renewed within 50 s: {state:?}");
    assert!(state.expires_at > lease.expires_at);
    assert_eq!(state.status, LeaseStatus::Active);
    assert!(can_connect(&rt, lease.connection_string.expose()));
    let started = std::time::Instant::now();
    assert_eq!(keeper.close().unwrap(), LeaseEnd::Revoked);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!can_connect(&rt, lease.connection_string.expose()));
    assert!(client.dynamic().leases().unwrap().is_empty());

    // Dropping a keeper revokes too.
    let lease = client.dynamic().lease(&uid, TTL).unwrap();
    drop(client.dynamic().keep(&lease, TTL).unwrap());
    assert!(!can_connect(&rt, lease.connection_string.expose()));
}

#[test]
fn async_client_leases_keeps_and_revokes() {
    let cluster = cluster!("async_client_leases_keeps_and_revokes");
    let rt = runtime();
    let setup = setup(&cluster, &rt);
    let url = setup.server.url();
    let uid = setup.uid.to_string();
    let lease = rt.block_on(async {
        let credentials = syvault_hyper::AsyncSyVaultClient::bootstrap(&url, &setup.token)
            .await
            .unwrap();
        let client = syvault_hyper::AsyncSyVaultClient::from_credentials(credentials).unwrap();
        let lease = client.dynamic().lease(&uid, TTL).await.unwrap();
        let keeper = client.dynamic().keep(&lease, TTL).unwrap();
        let mut watch = keeper.watch();
        let renewed = tokio::time::timeout(
            Duration::from_secs(50),
            watch.wait_for(|state| state.renewals >= 1),
        )
        .await
        .expect("renewed within 50 s")
        .map(|state| *state)
        .unwrap();
        assert!(renewed.expires_at > lease.expires_at);
        assert_eq!(keeper.state().status, syvault_hyper::LeaseStatus::Active);
        assert_eq!(
            client.dynamic().leases().await.unwrap()[0].expires_at,
            renewed.expires_at
        );
        let started = std::time::Instant::now();
        assert_eq!(
            keeper.close().await.unwrap(),
            syvault_hyper::LeaseEnd::Revoked
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(client.dynamic().leases().await.unwrap().is_empty());
        lease
    });
    assert!(!can_connect(&rt, lease.connection_string.expose()));
}

#[test]
fn rotation_replaces_the_real_password_and_the_cached_copy() {
    let cluster = cluster!("rotation_replaces_the_real_password_and_the_cached_copy");
    let rt = runtime();
    let setup = setup(&cluster, &rt);
    let credentials =
        syvault_ureq::SyVaultClient::bootstrap(&setup.server.url(), &setup.token).unwrap();
    let client = syvault_ureq::SyVaultClient::from_credentials(credentials).unwrap();
    let uid = setup.database.to_string();
    let url = |password: &str| cluster.url("orders_app", password, "postgres");

    // The Django-style flow: read the credentials, connect.
    let secret = client.secrets().get(&uid).unwrap();
    let old = secret.field("password").unwrap().expose().to_owned();
    assert!(can_connect(&rt, &url(&old)));

    // A failure at the database: RotationFailed, and the old password keeps working.
    setup.server.admin().fail_next_database_change();
    assert!(matches!(
        client.secrets().rotate(&uid),
        Err(Error::RotationFailed { .. })
    ));
    assert!(can_connect(&rt, &url(&old)));
    assert_eq!(
        client
            .secrets()
            .get(&uid)
            .unwrap()
            .field("password")
            .unwrap()
            .expose(),
        old
    );

    // Rotate, reconnect with the new password; the old one no longer works.
    let outcome = client.secrets().rotate(&uid).unwrap();
    let new = outcome
        .secret
        .field("password")
        .unwrap()
        .expose()
        .to_owned();
    assert_ne!(new, old);
    assert!(can_connect(&rt, &url(&new)));
    assert!(!can_connect(&rt, &url(&old)));
    // The cached copy was replaced: a read without the server sees the new password.
    let cached = client.secrets().get(&uid).unwrap();
    assert_eq!(cached.field("password").unwrap().expose(), new);
}
