//! A seeded `syvault-dev` server for one scenario.

use std::path::PathBuf;
use std::time::Duration;

use syvault_dev::wire::Access;
use syvault_dev::{Admin, DevServer, Faults, NewClient, RotationPolicy, RunningServer, Stats};
use syvault_proto::RecordUid;
use syvault_proto::model::Credentials;
use syvault_proto::record::RecordPayload;
use uuid::Uuid;

use crate::sdk::{Sdk, Settings};

/// The seeded database password.
pub const DB_PASSWORD: &str = "correct-horse-battery-staple";
/// The seeded database user.
pub const DB_USER: &str = "orders_app";
/// The seeded API key.
pub const API_KEY: &str = "sk_test_4eC39HqLyjWDarjtT1zdp7dc";
/// How long the server's rotation worker waits before each step: short, so rotations take
/// tens of milliseconds.
pub const ROTATION_DELAY: Duration = Duration::from_millis(20);

/// A running server with:
///
/// - folder `Production` (read-write for the client) holding `Database` (fields `username`,
///   `password`, rotatable on `password`) and `Stripe API Key` (`api_key`);
/// - folder `Archive` (read-only for the client) holding `Old Key`;
/// - an application with one not yet bootstrapped client and its one-time token.
///
/// ```no_run
/// use syvault_tests::sdk::{Blocking, SdkClient};
/// use syvault_tests::vault::Vault;
///
/// let vault = Vault::start();
/// let client = vault.client::<Blocking>(&vault.settings());
/// assert_eq!(client.list().unwrap().len(), 3);
/// ```
#[derive(Debug)]
pub struct Vault {
    server: RunningServer,
    dir: tempfile::TempDir,
    /// The admin side of the server.
    pub admin: Admin,
    /// The application of the client.
    pub application: Uuid,
    /// `Production`, read-write for the client.
    pub production: Uuid,
    /// `Archive`, read-only for the client.
    pub archive: Uuid,
    /// `Production/Database`.
    pub database: RecordUid,
    /// `Production/Stripe API Key`.
    pub stripe: RecordUid,
    /// The client, not bootstrapped yet, and its one-time token.
    pub client: NewClient,
}

impl Vault {
    /// A plain-HTTP server on a free loopback port.
    pub fn start() -> Self {
        Self::start_with(false, false)
    }

    /// An HTTPS server whose development CA is generated into a temporary directory.
    pub fn start_tls() -> Self {
        Self::start_with(true, false)
    }

    /// An HTTPS server that also requires a client certificate signed by its client CA; see
    /// [`Vault::client_identity`].
    pub fn start_mtls() -> Self {
        Self::start_with(true, true)
    }

    fn start_with(tls: bool, mtls: bool) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let builder = DevServer::builder()
            .rotation_delay(ROTATION_DELAY)
            .tls_dir(tls.then(|| dir.path().join("tls")))
            .require_client_certificates(mtls);
        let server = DevServer::start_blocking(builder).expect("syvault-dev starts");
        let admin = server.admin();
        let application = admin.create_application("Orders");
        let production = admin.create_folder("Production", None).expect("folder");
        let archive = admin.create_folder("Archive", None).expect("folder");

        let mut database = RecordPayload::new("Database");
        database.fields.set("username", DB_USER);
        database.fields.set("password", DB_PASSWORD);
        let database = admin.create_secret(production, &database).expect("secret");
        admin
            .set_rotation_policy(database, RotationPolicy::new("password").length(24))
            .expect("rotation policy");
        let mut stripe = RecordPayload::new("Stripe API Key");
        stripe.fields.set("api_key", API_KEY);
        let stripe = admin.create_secret(production, &stripe).expect("secret");
        let mut old = RecordPayload::new("Old Key");
        old.fields.set("api_key", "sk_test_retired");
        admin.create_secret(archive, &old).expect("secret");

        let client = admin
            .create_client(application, "orders-service")
            .expect("client");
        admin
            .grant(client.client_id, production, Access::ReadWrite)
            .expect("grant");
        admin
            .grant(client.client_id, archive, Access::Read)
            .expect("grant");
        Self {
            server,
            dir,
            admin,
            application,
            production,
            archive,
            database,
            stripe,
            client,
        }
    }

    /// The server URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The file of the server's development CA, when it serves HTTPS.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls").join("ca.pem")
    }

    /// The scenario's temporary directory.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The client certificate chain and key the server accepts, when it requires one.
    pub fn client_identity(&self) -> Option<(String, String)> {
        self.server
            .client_identity()
            .map(|identity| (identity.chain_pem, identity.key_pem))
    }

    /// The request counts of the server.
    pub fn stats(&self) -> Stats {
        self.server.stats()
    }

    /// The fault switches of the server.
    pub fn faults(&self) -> Faults {
        self.server.faults()
    }

    /// Test settings for a client of this server (trusting its CA when it serves HTTPS).
    pub fn settings(&self) -> Settings {
        Settings {
            ca_pem: self.server.ca_pem(),
            ..Settings::default()
        }
    }

    /// The URL path of one secret, as the server counts it.
    pub fn secret_path(uid: &RecordUid) -> String {
        format!("/api/sm/v1/secrets/{uid}")
    }

    /// A field of a secret as the admin reads it.
    pub fn field(&self, uid: RecordUid, name: &str) -> String {
        let payload = self.admin.read_secret(uid).expect("admin reads the secret");
        payload.fields.get(name).expect("field").expose().to_owned()
    }

    /// Writes credentials as JSON into the scenario's temporary directory.
    pub fn save(&self, credentials: &Credentials) -> PathBuf {
        let path = self
            .dir
            .path()
            .join(format!("{}.json", credentials.client_id));
        credentials.write_to(&path).expect("credentials file");
        path
    }

    /// Bootstraps the seeded client with `S` and connects it; the one-time token is spent.
    pub fn client<S: Sdk>(&self, settings: &Settings) -> S::Client {
        let credentials =
            S::bootstrap(&self.url(), self.client.token.expose(), settings).expect("bootstrap");
        S::connect(&self.save(&credentials), settings).expect("connect")
    }
}
