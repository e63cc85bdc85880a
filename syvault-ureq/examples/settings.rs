//! The documented Django settings flow, in Rust: a blocking program that builds the client from
//! `SY_*` variables, reads the secret named by `SY_DB_SECRET_UID`, and fills its database
//! configuration from that secret's fields.
//!
//! ```sh
//! # Against your vault (or `cargo run -p syvault-dev -- serve --demo` and its export line):
//! export SY_CREDENTIALS_FILE=/path/to/credentials.json   # or SY_SERVER, SY_CLIENT_ID, SY_CLIENT_SECRET
//! export SY_DB_SECRET_UID=7Kj9mNpQ2xRs
//! cargo run -p syvault-ureq --example settings
//! ```
//!
//! Without `SY_DB_SECRET_UID` it starts an in-memory `syvault-dev` with demo data and reads the
//! demo `Database` secret, so it runs as is. It prints nothing secret: the password stays a
//! `SecretString`, whose `Debug` is `[redacted]`.

use syvault_ureq::{Error, SecretString, SyVaultClient};

/// The database settings, as Django's `DATABASES["default"]` holds them.
#[derive(Debug)]
struct DatabaseConfig {
    host: String,
    port: u16,
    name: String,
    user: String,
    password: SecretString,
}

impl DatabaseConfig {
    /// Fills the configuration from the secret's fields; a missing or malformed field is a clear
    /// error naming the field, never its value.
    fn load(client: &SyVaultClient, uid: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let secret = client.secrets().get(uid)?;
        let field = |name: &'static str| {
            secret
                .field(name)
                .cloned()
                .ok_or(format!("secret {uid} has no field {name:?}"))
        };
        Ok(Self {
            host: field("host")?.expose().to_owned(),
            port: field("port")?
                .expose()
                .parse()
                .map_err(|_| format!("field \"port\" of secret {uid} is not a port number"))?,
            name: field("database")?.expose().to_owned(),
            user: field("username")?.expose().to_owned(),
            password: field("password")?,
        })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, uid, demo) = if let Ok(uid) = std::env::var("SY_DB_SECRET_UID") {
        (SyVaultClient::from_env()?, uid, None)
    } else {
        let server = syvault_dev::DevServer::start_blocking(syvault_dev::DevServer::builder())?;
        let seed = server.seed_demo()?;
        println!("no SY_DB_SECRET_UID set: reading the demo Database secret");
        let client = SyVaultClient::from_credentials(seed.credentials)?;
        (client, seed.database_uid.to_string(), Some(server))
    };
    let database = match DatabaseConfig::load(&client, &uid) {
        Err(error)
            if error
                .downcast_ref::<Error>()
                .is_some_and(Error::is_not_found) =>
        {
            return Err(
                format!("SY_DB_SECRET_UID names no secret this client can see: {uid}").into(),
            );
        }
        other => other?,
    };
    println!("{database:?}");
    println!(
        "postgres://{}@{}:{}/{} (password loaded: {})",
        database.user,
        database.host,
        database.port,
        database.name,
        !database.password.is_empty()
    );
    client.close();
    if let Some(server) = demo {
        server.shutdown();
    }
    Ok(())
}
