//! Demo data and client bootstrap through the real HTTP endpoints.
//!
//! [`seed`] creates an application, a folder `Production` holding the secrets `Database`
//! (fields `host`, `port`, `database`, `username`, `password`; rotation enabled on
//! `password`) and `Stripe API Key`, and a client with a read-write grant on the folder. The
//! client is then bootstrapped exactly as an SDK would do it ([`bootstrap`]): key pair
//! generated locally, `POST /bootstrap` with the token proof, folder keys opened with
//! `boot_key`, wrapped to the client's own public key and uploaded with `PUT /folder-keys`
//! under a signed JWT.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use syvault_proto::bootstrap::OneTimeToken;
use syvault_proto::jwt::{self, Claims, canonical_audience};
use syvault_proto::keys::ClientKey;
use syvault_proto::record::RecordPayload;
use syvault_proto::wire::{
    self, Access, Base64Bytes, BootstrapRequest, BootstrapResponse, FolderKeysUpload, paths,
};
use syvault_proto::{RecordUid, SecretString, folder_key};
use uuid::Uuid;

use crate::admin::Admin;
use crate::client::HttpClient;
use crate::clock;
use crate::error::{Error, Result};
use crate::persist::write_private;
use crate::random::rng;
use crate::rotation::RotationPolicy;

/// Lifetime of the token that uploads the folder keys.
const UPLOAD_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// What a bootstrapped client needs to talk to the server: the JSON of the `--credentials`
/// file, `{"server", "client_id", "client_secret"}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Credentials {
    /// The server's base URL.
    pub server: String,
    /// The client's id.
    pub client_id: Uuid,
    /// The client's private key in canonical form (base64 of PKCS#8 DER).
    pub client_secret: SecretString,
}

impl Credentials {
    /// Writes the credentials as JSON, atomically and readable by the owner only (Unix).
    pub fn write_to(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Demo(e.to_string()))?;
        write_private(path, &json)
    }

    /// Reads credentials written by [`Credentials::write_to`].
    pub fn read_from(path: &Path) -> Result<Self> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        serde_json::from_slice(&bytes)
            .map_err(|_| Error::Demo(format!("{} is not a credentials file", path.display())))
    }
}

/// What [`seed`] created.
#[derive(Clone, Debug)]
pub struct DemoSeed {
    /// The demo application.
    pub application_id: Uuid,
    /// The `Production` folder.
    pub folder_id: Uuid,
    /// The `Database` secret, rotatable on `password`.
    pub database_uid: RecordUid,
    /// The `Stripe API Key` secret.
    pub stripe_uid: RecordUid,
    /// The bootstrapped demo client.
    pub credentials: Credentials,
}

/// Seeds the demo data through `admin` and bootstraps the demo client against the server at
/// `server_url` (trusting `ca_pem` when it is HTTPS).
pub async fn seed(server_url: &str, ca_pem: Option<&str>, admin: &Admin) -> Result<DemoSeed> {
    let application_id = admin.create_application("Demo");
    let folder_id = admin.create_folder("Production", None)?;

    let mut database = RecordPayload::new("Database");
    database.record_type = "databaseCredentials".into();
    database.fields.set("host", "db.internal.example.com");
    database.fields.set("port", "5432");
    database.fields.set("database", "orders");
    database.fields.set("username", "orders_app");
    database
        .fields
        .set("password", RotationPolicy::new("password").generate());
    let database_uid = admin.create_secret(folder_id, &database)?;
    admin.set_rotation_policy(database_uid, RotationPolicy::new("password"))?;

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
    let credentials = bootstrap(server_url, ca_pem, &client.token).await?;
    Ok(DemoSeed {
        application_id,
        folder_id,
        database_uid,
        stripe_uid,
        credentials,
    })
}

/// Bootstraps a client with one-time token `token` as an SDK would, and returns its
/// credentials.
pub async fn bootstrap(
    server_url: &str,
    ca_pem: Option<&str>,
    token: &SecretString,
) -> Result<Credentials> {
    let http = HttpClient::new(server_url, ca_pem)?;
    let key = ClientKey::generate(&mut rng());
    let token_keys = OneTimeToken::parse(token.expose())?.derive();
    let request = BootstrapRequest {
        token: token_keys.request_token(),
        public_key: Base64Bytes::from(key.public_key().to_sec1().as_slice()),
    };
    let (status, body) = http
        .send(
            Method::POST,
            paths::bootstrap(),
            None,
            wire::to_body(&request),
        )
        .await?;
    if status != StatusCode::OK {
        return Err(Error::Demo(format!("bootstrap answered HTTP {status}")));
    }
    let answer: BootstrapResponse = wire::parse_body(status.as_u16(), &body)?;

    let mut keys = BTreeMap::new();
    for (folder_id, sealed) in &answer.encrypted_folder_keys {
        let folder_key = token_keys.open_folder_key(folder_id, sealed.as_slice())?;
        let wrapped = folder_key::wrap(
            &folder_key,
            folder_id,
            &answer.client_id,
            &key.public_key(),
            &mut rng(),
        );
        keys.insert(*folder_id, Base64Bytes::from(wrapped));
    }
    let iat = clock::now().as_unix_secs();
    let claims = Claims {
        sub: answer.client_id,
        aud: canonical_audience(server_url)?,
        iat,
        exp: iat + UPLOAD_TOKEN_LIFETIME.as_secs(),
    };
    let bearer = jwt::sign(&key, &claims);
    let upload = wire::to_body(&FolderKeysUpload { keys });
    let (status, _) = http
        .send(
            Method::PUT,
            paths::folder_keys(),
            Some(bearer.expose()),
            upload,
        )
        .await?;
    if status != StatusCode::NO_CONTENT {
        return Err(Error::Demo(format!(
            "folder key upload answered HTTP {status}"
        )));
    }
    Ok(Credentials {
        server: server_url.to_owned(),
        client_id: answer.client_id,
        client_secret: key.to_client_secret(),
    })
}
