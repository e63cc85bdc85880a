//! Quickstart for the blocking client: everything the SDK does, against a local server.
//!
//! It starts an in-memory `syvault-dev` with demo data (folder `Production` holding `Database`
//! and `Stripe API Key`), has its admin side issue a one-time token, then uses only the SDK to
//! bootstrap, create, list, get, resolve notation and rotate.
//!
//! ```sh
//! cargo run -p syvault-ureq --example quickstart
//! ```
//!
//! This is a demo: it prints secret values on purpose, through explicit `expose()` calls.

use std::time::Duration;

use syvault_dev::DevServer;
use syvault_dev::wire::Access;
use syvault_ureq::{RecordPayload, SyVaultClient};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. A local SyVault with demo data. In production the server is https://<your vault>.
    let server =
        DevServer::start_blocking(DevServer::builder().rotation_delay(Duration::from_millis(200)))?;
    let demo = server.seed_demo()?;
    println!("syvault-dev is listening at {}", server.url());

    // 2. In the web vault, an admin creates a client and grants it the folder; the client is
    //    handed a one-time token.
    let admin = server.admin();
    let new_client = admin.create_client(demo.application_id, "quickstart")?;
    admin.grant(new_client.client_id, demo.folder_id, Access::ReadWrite)?;

    // 3. Bootstrap: the key pair is generated here and the private key never leaves this
    //    process. Store the credentials (as JSON) the way you store any secret.
    let credentials = SyVaultClient::bootstrap(&server.url(), new_client.token.expose())?;
    println!("bootstrapped client {}", credentials.client_id);
    let client = SyVaultClient::from_credentials(credentials)?;

    // 4. Create a secret (encrypted here, before it is sent).
    let mut redis = RecordPayload::new("Redis");
    redis.fields.set("host", "redis.internal.example.com");
    redis.fields.set("password", "quickstart-redis-password");
    let created = client.secrets().create(demo.folder_id, redis)?;
    println!("created {:?} as {}", created.title, created.uid);

    // 5. List what the client can see.
    println!("secrets:");
    for summary in client.secrets().list()? {
        let path = summary.folder_path.join("/");
        println!(
            "  {}  {path}/{}  (revision {})",
            summary.uid, summary.title, summary.revision
        );
    }

    // 6. Read one by UID. Values are redacted in Debug and Display output.
    let database = client.secrets().get(demo.database_uid.as_str())?;
    let names: Vec<&str> = database.fields.names().collect();
    println!("got {:?} with fields {names:?}", database.title);
    println!(
        "its password, as Debug shows it: {:?}",
        database.field("password")
    );

    // 7. Resolve a notation reference.
    let password = client
        .secrets()
        .notation("sy://Production/Database/field/password")?;
    println!(
        "sy://Production/Database/field/password = {}",
        password.expose()
    );

    // 8. Rotate: the server changes the credential; the SDK waits and returns the new value.
    let rotation = client.secrets().rotate(demo.database_uid.as_str())?;
    let rotated = rotation
        .fields()
        .get("password")
        .ok_or("no password field")?;
    println!(
        "rotation {} {:?}: revision {}, new password {}",
        rotation.rotation_id,
        rotation.status,
        rotation.revision,
        rotated.expose()
    );
    println!(
        "the password changed: {}",
        rotated.expose() != password.expose()
    );

    // 9. The cache now serves the new value, without a request.
    let cached = client
        .secrets()
        .notation("sy://Production/Database/field/password")?;
    println!("resolved again (from the cache): {}", cached.expose());

    client.close();
    server.shutdown();
    Ok(())
}
