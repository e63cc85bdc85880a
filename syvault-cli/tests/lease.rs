//! End-to-end tests of `sy lease` against `syvault-dev` bound to a real, throwaway PostgreSQL
//! cluster: the leased credentials log in, listings never hold passwords, revoke ends the role.
//!
//! Without PostgreSQL these tests skip with a message, except under `CI=true`.

mod common;
#[path = "../../syvault-dev/tests/pg/mod.rs"]
mod pg;

use common::{Client, Vault};
use pg::Cluster;
use serde_json::Value;
use syvault_dev::RoleTemplate;
use syvault_ureq::proto::record::RecordPayload;
use syvault_ureq::{RecordUid, Uuid};
use tokio_postgres::NoTls;

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
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A vault bound to `cluster` with a dynamic target `Orders readers` in `Production`, whose
/// leases may read `public.orders` of database `postgres`.
fn vault(cluster: &Cluster, rt: &tokio::runtime::Runtime) -> (Vault, RecordUid) {
    rt.block_on(async {
        cluster
            .admin("postgres")
            .await
            .batch_execute(
                "CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (7);",
            )
            .await
            .expect("table created");
    });
    let vault = Vault::start_with_postgres(cluster.admin_url());
    let mut target = RecordPayload::new("Orders readers");
    target.fields.set("note", "leases read public.orders");
    let uid = vault
        .admin
        .create_secret(vault.production, &target)
        .expect("target record");
    vault
        .admin
        .set_dynamic_target(uid, RoleTemplate::new("postgres").schema("public"))
        .expect("dynamic target");
    (vault, uid)
}

/// Logs in with a username and password (no URL, so no escaping) and reads `public.orders`.
fn orders_as(
    rt: &tokio::runtime::Runtime,
    cluster: &Cluster,
    user: &str,
    password: &str,
) -> Result<i32, tokio_postgres::Error> {
    rt.block_on(async {
        let (client, connection) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(cluster.port)
            .user(user)
            .password(password)
            .dbname("postgres")
            .connect(NoTls)
            .await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let one: i32 = client.query_one("SELECT 1", &[]).await?.get(0);
        assert_eq!(one, 1);
        Ok(client
            .query_one("SELECT id FROM public.orders", &[])
            .await?
            .get(0))
    })
}

/// Logs in with a connection URL and runs `SELECT 1`.
fn select_one(rt: &tokio::runtime::Runtime, url: &str) -> bool {
    rt.block_on(async {
        match pg::connect(url).await {
            Ok(client) => client.query_one("SELECT 1", &[]).await.is_ok(),
            Err(_) => false,
        }
    })
}

/// `sy lease list --format json`, parsed.
fn listed(client: &Client<'_>) -> Vec<Value> {
    let ran = client.ok(&["lease", "list", "--format", "json"]);
    match serde_json::from_str(&ran.stdout).expect("JSON listing") {
        Value::Array(leases) => leases,
        other => panic!("not an array: {other}"),
    }
}

fn ids(leases: &[Value]) -> Vec<&str> {
    leases
        .iter()
        .map(|l| l["lease_id"].as_str().expect("lease_id"))
        .collect()
}

/// A lease as `sy lease create` printed it.
struct Leased {
    id: String,
    user: String,
    password: String,
    expires_at: String,
}

/// `sy lease create --format json`: every detail, and the credentials log in.
fn create_json(
    client: &Client<'_>,
    cluster: &Cluster,
    rt: &tokio::runtime::Runtime,
    uid: &str,
) -> Leased {
    let ran = client.ok(&["lease", "create", uid, "--ttl", "1h", "--format", "json"]);
    assert!(ran.stderr.is_empty(), "{ran:?}");
    let json: Value = serde_json::from_str(&ran.stdout).expect("JSON lease");
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "lease_id",
        "record_uid",
        "username",
        "password",
        "connection_string",
        "created_at",
        "expires_at",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(json["record_uid"], uid);
    let lease = Leased {
        id: json["lease_id"].as_str().unwrap().to_owned(),
        user: json["username"].as_str().unwrap().to_owned(),
        password: json["password"].as_str().unwrap().to_owned(),
        expires_at: json["expires_at"].as_str().unwrap().to_owned(),
    };
    assert!(lease.password.len() >= 16, "{json}");
    assert!(
        json["expires_at"].as_str().unwrap().ends_with('Z'),
        "{json}"
    );
    assert_eq!(
        orders_as(rt, cluster, &lease.user, &lease.password).expect("leased login"),
        7
    );
    assert!(select_one(rt, json["connection_string"].as_str().unwrap()));
    lease
}

/// `sy lease create --format env`: a POSIX shell reads it back verbatim, and it logs in.
fn create_env(
    client: &Client<'_>,
    cluster: &Cluster,
    rt: &tokio::runtime::Runtime,
    uid: &str,
) -> Leased {
    let env = client.ok(&["lease", "create", uid, "--ttl", "15m", "--format", "env"]);
    let names: Vec<&str> = env
        .stdout
        .lines()
        .map(|l| l.split_once('=').expect("NAME=value").0)
        .collect();
    assert_eq!(
        names,
        [
            "LEASE_ID",
            "RECORD_UID",
            "USERNAME",
            "PASSWORD",
            "CONNECTION_STRING",
            "CREATED_AT",
            "EXPIRES_AT"
        ]
    );
    let shell = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{}printf '%s\\n' \"$LEASE_ID\" \"$USERNAME\" \"$PASSWORD\" \"$CONNECTION_STRING\" \
             \"$EXPIRES_AT\"",
            env.stdout
        ))
        .output()
        .expect("sh runs");
    assert!(shell.status.success(), "{shell:?}");
    let values = String::from_utf8(shell.stdout).unwrap();
    let values: Vec<&str> = values.lines().collect();
    let [id, user, password, url, expires_at] = values[..] else {
        panic!("five values: {values:?}");
    };
    assert_eq!(
        orders_as(rt, cluster, user, password).expect("leased login"),
        7
    );
    assert!(select_one(rt, url));
    Leased {
        id: id.to_owned(),
        user: user.to_owned(),
        password: password.to_owned(),
        expires_at: expires_at.to_owned(),
    }
}

/// `sy lease create`: the table shows where to connect, and the password only with
/// --reveal, which it returns.
fn create_table(client: &Client<'_>, cluster: &Cluster, uid: &str) -> String {
    let table = client.ok(&["lease", "create", uid, "--ttl", "1h"]);
    assert!(
        table.stdout.contains("password           ********"),
        "{table:?}"
    );
    assert!(
        table
            .stdout
            .contains(&format!(":********@127.0.0.1:{}/postgres", cluster.port)),
        "{table:?}"
    );
    assert!(table.stdout.contains("vf_tmp_"), "{table:?}");
    let revealed = client.ok(&["lease", "create", uid, "--ttl", "1h", "--reveal"]);
    let revealed_password = revealed
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("password"))
        .expect("password row")
        .trim();
    assert!(revealed_password.len() >= 16, "{revealed:?}");
    assert!(!revealed.stdout.contains("********"), "{revealed:?}");
    revealed_password.to_owned()
}

#[test]
fn leases_are_created_used_listed_renewed_and_revoked() {
    let cluster = cluster!("leases_are_created_used_listed_renewed_and_revoked");
    let rt = runtime();
    let (vault, target) = vault(&cluster, &rt);
    let client = vault.client();
    let uid = target.to_string();

    let first = create_json(&client, &cluster, &rt, &uid);
    let second = create_env(&client, &cluster, &rt, &uid);
    assert_ne!(first.id, second.id);
    let revealed_password = create_table(&client, &cluster, &uid);
    let (first_id, first_user, first_password) = (&first.id, &first.user, &first.password);

    // The listing: all four, never a password.
    let leases = listed(&client);
    assert_eq!(leases.len(), 4, "{leases:?}");
    assert!(ids(&leases).contains(&first_id.as_str()));
    assert!(ids(&leases).contains(&second.id.as_str()));
    for lease in &leases {
        assert!(lease.get("password").is_none(), "{lease}");
        assert!(lease.get("connection_string").is_none(), "{lease}");
        assert_eq!(lease["record_uid"], uid.as_str());
    }
    let table = client.ok(&["lease", "list"]);
    assert!(table.stdout.starts_with("LEASE_ID"), "{table:?}");
    assert!(table.stdout.contains(first_id.as_str()), "{table:?}");
    assert!(table.stdout.contains(first_user.as_str()), "{table:?}");
    let listing = serde_json::to_string(&listed(&client)).unwrap();
    for secret in [first_password, &second.password, &revealed_password] {
        assert!(!table.stdout.contains(secret), "{table:?}");
        assert!(!listing.contains(secret), "{listing}");
    }

    // Another client sees none of them and cannot revoke them.
    let other = vault.client();
    assert!(listed(&other).is_empty());
    other
        .run(&["lease", "revoke", first_id])
        .fails(1, &[first_password]);

    // Renew moves the expiry.
    let before = &first.expires_at;
    let renewed = client.ok(&["lease", "renew", first_id, "--ttl", "2h"]);
    assert!(
        renewed
            .stdout
            .starts_with(&format!("lease {first_id} expires at ")),
        "{renewed:?}"
    );
    let after = listed(&client)
        .into_iter()
        .find(|l| l["lease_id"] == first_id.as_str())
        .expect("still listed")["expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(after > *before, "{before} -> {after}");

    // Revoke ends it: gone from the listing, and its role no longer logs in.
    let revoked = client.ok(&["lease", "revoke", first_id]);
    assert_eq!(revoked.stdout, format!("lease {first_id} revoked\n"));
    let leases = listed(&client);
    assert_eq!(leases.len(), 3);
    assert!(!ids(&leases).contains(&first_id.as_str()));
    assert!(orders_as(&rt, &cluster, first_user, first_password).is_err());
    // The other leases still work.
    assert!(orders_as(&rt, &cluster, &second.user, &second.password).is_ok());

    // Revoking again is harmless (the protocol's revoke is idempotent); renewing it is not
    // possible any more.
    client.ok(&["lease", "revoke", first_id]);
    let again = client
        .run(&["lease", "renew", first_id, "--ttl", "1h"])
        .fails(1, &[first_password]);
    assert_eq!(again.stderr, format!("sy: lease {first_id} not found\n"));
}

#[test]
fn bad_lease_input_is_one_line_without_secrets() {
    let cluster = cluster!("bad_lease_input_is_one_line_without_secrets");
    let rt = runtime();
    let (vault, target) = vault(&cluster, &rt);
    let client = vault.client();
    let uid = target.to_string();
    let before = vault.stats().total();

    // A TTL out of range is refused before any request: bad input, status 2.
    for ttl in ["10s", "59s", "25h", "90s 500ms"] {
        let ran = client
            .run(&["lease", "create", &uid, "--ttl", ttl])
            .fails(2, &[]);
        // The help's words: 1m to 24h.
        assert!(
            ran.stderr.starts_with("sy: --ttl ")
                && ran.stderr.ends_with(
                    " is out of range: a lease lasts from 1m to 24h, in whole seconds\n"
                ),
            "{ttl}: {ran:?}"
        );
    }
    let ran = client
        .run(&[
            "lease",
            "renew",
            &Uuid::from_u128(0x0f3c_5d2e_8a4b_4c1d_9e7f_2a6b_8c0d_1e3f).to_string(),
            "--ttl",
            "2d",
        ])
        .fails(2, &[]);
    assert!(ran.stderr.contains("from 1m to 24h"), "{ran:?}");
    assert_eq!(vault.stats().total(), before, "no request was sent");
    // A malformed UID is bad input too.
    let ran = client
        .run(&["lease", "create", "bad!", "--ttl", "1h"])
        .fails(2, &[]);
    assert!(ran.stderr.starts_with("sy: invalid record UID"), "{ran:?}");

    // What the grammar refuses: status 2 from the parser.
    for args in [
        &["lease", "create", &uid, "--ttl", "soon"][..],
        &["lease", "create", &uid],
        &["lease", "revoke", "not-a-lease-id"],
        &["lease", "list", "--format", "env"],
    ] {
        let ran = client.run(args);
        assert_eq!(ran.code, Some(2), "{args:?}: {ran:?}");
        assert!(ran.stdout.is_empty(), "{ran:?}");
    }

    // Unknown leases: status 1, one line naming the id.
    let unknown = Uuid::from_u128(0x0f3c_5d2e_8a4b_4c1d_9e7f_2a6b_8c0d_1e3f);
    for command in ["revoke", "renew"] {
        let mut args = vec!["lease", command];
        let id = unknown.to_string();
        args.push(&id);
        if command == "renew" {
            args.extend(["--ttl", "1h"]);
        }
        let ran = client.run(&args).fails(1, &[]);
        assert_eq!(ran.stderr, format!("sy: lease {unknown} not found\n"));
    }

    // A record that is not a dynamic target, and one that does not exist.
    let stripe = vault.stripe.to_string();
    let ran = client
        .run(&["lease", "create", &stripe, "--ttl", "1h"])
        .fails(1, &[]);
    assert_eq!(
        ran.stderr,
        format!("sy: record {stripe} is not a dynamic target\n")
    );
    let ran = client
        .run(&["lease", "create", "AAAAAAAAAAAA", "--ttl", "1h"])
        .fails(1, &[]);
    assert_eq!(ran.stderr.lines().count(), 1, "{ran:?}");
    assert!(ran.stderr.contains("not found"), "{ran:?}");
    assert!(listed(&client).is_empty());

    // The database gone: one line, nothing of the admin connection, status 1.
    drop(cluster);
    let ran = client
        .run(&["lease", "create", &uid, "--ttl", "1h"])
        .fails(1, &["test-admin-pw"]);
    // The server's message, which says what failed.
    assert_eq!(
        ran.stderr,
        "sy: the database behind the dynamic target failed (HTTP 502, target_unavailable): the \
         database failed: cannot connect to the database; try again later\n"
    );
}

#[test]
fn env_names_take_a_prefix_and_renew_and_revoke_answer_in_json() {
    let cluster = cluster!("env_names_take_a_prefix_and_renew_and_revoke_answer_in_json");
    let rt = runtime();
    let (vault, target) = vault(&cluster, &rt);
    let client = vault.client();
    let uid = target.to_string();
    let env = client.ok(&[
        "lease", "create", &uid, "--ttl", "15m", "--format", "env", "--prefix", "PG_",
    ]);
    let names: Vec<&str> = env
        .stdout
        .lines()
        .map(|l| l.split_once('=').expect("NAME=value").0)
        .collect();
    assert_eq!(
        names,
        [
            "PG_LEASE_ID",
            "PG_RECORD_UID",
            "PG_USERNAME",
            "PG_PASSWORD",
            "PG_CONNECTION_STRING",
            "PG_CREATED_AT",
            "PG_EXPIRES_AT"
        ]
    );
    let shell = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{}printf '%s\\n' \"$PG_LEASE_ID\" \"$PG_CONNECTION_STRING\"",
            env.stdout
        ))
        .output()
        .expect("sh runs");
    let values = String::from_utf8(shell.stdout).unwrap();
    let [id, url] = values.lines().collect::<Vec<_>>()[..] else {
        panic!("two values: {values:?}");
    };
    assert!(select_one(&rt, url));

    let renewed: Value = serde_json::from_str(
        &client
            .ok(&["lease", "renew", id, "--ttl", "1h", "--format", "json"])
            .stdout,
    )
    .expect("JSON");
    assert_eq!(renewed["lease_id"], id);
    assert_eq!(renewed["record_uid"], uid);
    assert!(renewed["username"].is_string() && renewed["expires_at"].is_string());
    assert!(renewed.get("password").is_none(), "{renewed}");
    let revoked: Value = serde_json::from_str(
        &client
            .ok(&["lease", "revoke", id, "--format", "json"])
            .stdout,
    )
    .expect("JSON");
    assert_eq!(
        revoked,
        serde_json::json!({"lease_id": id, "revoked": true})
    );
    assert!(!select_one(&rt, url));
    // --prefix goes with env only.
    client
        .run(&["lease", "create", &uid, "--ttl", "15m", "--prefix", "PG_"])
        .fails(2, &[]);
}
