//! Demo data and client bootstrap through the real HTTP endpoints.
//!
//! [`seed`] creates an application, a folder `Production` holding the secrets `Database`
//! (fields `host`, `port`, `database`, `username`, `password`; rotation enabled on
//! `password`) and `Stripe API Key`, and a client with a read-write grant on the folder. With
//! a PostgreSQL binding, `Database` points at that server, its role `orders_app` is created with
//! the record's password and rotation changes it there, and a record `Database (dynamic)` is a
//! dynamic target leasing roles that read the `public` schema. The
//! client is then bootstrapped exactly as an SDK would do it ([`bootstrap`]): key pair
//! generated locally, `POST /bootstrap` with the token proof, folder keys opened with
//! `boot_key`, wrapped to the client's own public key and uploaded with `PUT /folder-keys`
//! under a signed JWT.

use std::path::Path;

use syvault_proto::error::TransportErrorKind;
use syvault_proto::model::Credentials;
use syvault_proto::ops::{Bootstrap, Operation};
use syvault_proto::record::RecordPayload;
use syvault_proto::step::{Input, Step};
use syvault_proto::wire::Access;
use syvault_proto::{Client, RecordUid, SecretString};
use uuid::Uuid;

use crate::admin::Admin;
use crate::client::HttpClient;
use crate::clock;
use crate::error::Result;
use crate::random::rng;
use crate::rotation::RotationPolicy;
use crate::tls::ClientIdentity;

/// Writes credentials as the `--credentials` file: JSON, atomically, readable by the owner
/// only (Unix).
pub fn write_credentials(credentials: &Credentials, path: &Path) -> Result<()> {
    Ok(credentials.write_to(path)?)
}

/// Reads credentials written by [`write_credentials`].
pub fn read_credentials(path: &Path) -> Result<Credentials> {
    Ok(Credentials::read_from(path)?)
}

/// What [`seed`] created.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DemoSeed {
    /// The demo application.
    pub application_id: Uuid,
    /// The `Production` folder.
    pub folder_id: Uuid,
    /// The `Database` secret, rotatable on `password`.
    pub database_uid: RecordUid,
    /// The `Stripe API Key` secret.
    pub stripe_uid: RecordUid,
    /// The `Database (dynamic)` dynamic target, when the server is bound to PostgreSQL.
    pub dynamic_uid: Option<RecordUid>,
    /// The bootstrapped demo client.
    pub credentials: Credentials,
}

/// Seeds the demo data through `admin` and bootstraps the demo client against the server at
/// `server_url` (trusting `ca_pem` when it is HTTPS, presenting `identity` when the server
/// requires a client certificate).
pub async fn seed(
    server_url: &str,
    ca_pem: Option<&str>,
    identity: Option<&ClientIdentity>,
    admin: &Admin,
) -> Result<DemoSeed> {
    let application_id = admin.create_application("Demo");
    let folder_id = admin.create_folder("Production", None)?;

    let mut database = RecordPayload::new("Database");
    database.record_type = "databaseCredentials".into();
    // With a PostgreSQL binding the record points at that server and its role is real.
    let (host, port, name) = admin.demo_postgres().unwrap_or_else(|| {
        (
            "db.internal.example.com".to_owned(),
            5432,
            "orders".to_owned(),
        )
    });
    database.fields.set("host", host);
    database.fields.set("port", port.to_string());
    database.fields.set("database", name);
    database.fields.set("username", "orders_app");
    let password = RotationPolicy::new("password").generate();
    database.fields.set("password", password.clone());
    let database_uid = admin.create_secret(folder_id, &database)?;
    admin.set_rotation_policy(database_uid, RotationPolicy::new("password"))?;
    let dynamic_uid = admin
        .bind_demo_database(folder_id, database_uid, "orders_app", &password)
        .await?;

    let mut stripe = RecordPayload::new("Stripe API Key");
    stripe.record_type = "apiKey".into();
    let key = RotationPolicy::new("api_key")
        .length(24)
        .alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        .generate();
    stripe
        .fields
        .set("api_key", format!("sk_test_{}", key.expose()));
    let stripe_uid = admin.create_secret(folder_id, &stripe)?;

    let client = admin.create_client(application_id, "demo client")?;
    admin.grant(client.client_id, folder_id, Access::ReadWrite)?;
    let credentials = bootstrap(server_url, ca_pem, identity, &client.token).await?;
    Ok(DemoSeed {
        application_id,
        folder_id,
        database_uid,
        stripe_uid,
        dynamic_uid,
        credentials,
    })
}

/// Bootstraps a client with one-time token `token` exactly as an SDK does: the core's
/// [`Bootstrap`] operation driven over a plain HTTP/1.1 client.
pub async fn bootstrap(
    server_url: &str,
    ca_pem: Option<&str>,
    identity: Option<&ClientIdentity>,
    token: &SecretString,
) -> Result<Credentials> {
    let http = HttpClient::new(server_url, ca_pem, identity)?;
    // The dev server may listen on any address it was told to; it is not a production vault.
    let mut client = Client::builder()
        .server(server_url)
        .allow_plain_http(true)
        .bootstrap_client()?;
    let mut op = Bootstrap::new(token.expose());
    let mut input = Input::Start;
    loop {
        input = match op.step(&mut client, input, clock::now(), &mut rng()) {
            Step::Send(request) => match http.send(request).await {
                Ok(response) => Input::Response(response),
                Err(error) => Input::Failed(syvault_proto::Error::transport_caused_by(
                    TransportErrorKind::Other,
                    error.to_string(),
                    error,
                )),
            },
            Step::Sleep(until) | Step::Join(until) => {
                tokio::time::sleep(until.saturating_duration_since(clock::now())).await;
                Input::Wake
            }
            Step::Done(result) => return Ok(result?),
        };
    }
}
