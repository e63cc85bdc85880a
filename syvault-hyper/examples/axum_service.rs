//! An axum service that loads its database credentials from SyVault at start-up.
//!
//! With `SY_SERVER`, `SY_CLIENT_ID` and `SY_CLIENT_SECRET` set, it reads them from that server.
//! Without them it starts an in-memory `syvault-dev` with demo data first, so it runs as is:
//!
//! ```sh
//! cargo run -p syvault-hyper --example axum_service
//! curl http://127.0.0.1:3000/health
//! ```
//!
//! `LISTEN` changes the address (default `127.0.0.1:3000`). The password is kept in a
//! `SecretString` and never printed or served.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use syvault_hyper::{AsyncSyVaultClient, SecretString};

/// What the service needs from SyVault to reach its database.
#[derive(Debug)]
struct DatabaseConfig {
    host: String,
    port: String,
    user: String,
    database: String,
    password: SecretString,
}

impl DatabaseConfig {
    /// Resolves every field with one batch (one listing, at most).
    async fn load(vault: &AsyncSyVaultClient) -> syvault_hyper::Result<Self> {
        let fields = ["host", "port", "username", "database", "password"];
        let references: Vec<String> = fields
            .iter()
            .map(|field| format!("sy://Production/Database/field/{field}"))
            .collect();
        let mut values = vault
            .secrets()
            .resolve_all(&references)
            .await?
            .into_iter()
            .collect::<syvault_hyper::Result<Vec<_>>>()?;
        // One result per reference, in order. The password moves into the state as a
        // `SecretString` and is never copied into a plain `String`.
        let password = values
            .pop()
            .map(syvault_hyper::Selected::into_secret)
            .unwrap_or_default();
        let text = |i: usize| values[i].expose().to_owned();
        Ok(Self {
            host: text(0),
            port: text(1),
            user: text(2),
            database: text(3),
            password,
        })
    }
}

/// Shared by every request handler.
#[derive(Clone)]
struct AppState {
    database: Arc<DatabaseConfig>,
    /// Kept for reads at run time; clones share the cache and the connection pool.
    vault: AsyncSyVaultClient,
}

async fn health(State(state): State<AppState>) -> String {
    let db = &state.database;
    // A real service would ping its database here with `db.password.expose()`.
    let password_loaded = !db.password.is_empty();
    format!(
        "ok: database {}@{}:{}/{} (password loaded: {password_loaded}), vault {}\n",
        db.user,
        db.host,
        db.port,
        db.database,
        state.vault.server()
    )
}

/// The SyVault client from the environment, or from a demo server started here.
async fn vault_client()
-> Result<(AsyncSyVaultClient, Option<syvault_dev::DevServer>), Box<dyn std::error::Error>> {
    if std::env::var_os("SY_SERVER").is_some() {
        return Ok((AsyncSyVaultClient::from_env()?, None));
    }
    let server = syvault_dev::DevServer::builder().start().await?;
    let demo = server.seed_demo().await?;
    println!(
        "no SY_SERVER set: started a demo syvault-dev at {}",
        server.url()
    );
    let client = AsyncSyVaultClient::from_credentials(demo.credentials)?;
    Ok((client, Some(server)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (vault, demo_server) = vault_client().await?;
    // Fail fast: without its credentials the service is of no use.
    let database = DatabaseConfig::load(&vault).await?;
    println!("loaded credentials for {}@{}", database.user, database.host);

    let state = AppState {
        database: Arc::new(database),
        vault: vault.clone(),
    };
    let app = Router::new()
        .route("/health", get(health))
        .with_state(state);
    let address = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!(
        "serving http://{}/health (Ctrl-C to stop)",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    // Closes the pooled connections of every clone and zeroizes the cached secrets.
    vault.close();
    println!("stopped");
    if let Some(server) = demo_server {
        server.shutdown().await;
    }
    Ok(())
}
