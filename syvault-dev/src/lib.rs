//! `syvault-dev`: the reference server of the SyVault Secrets Manager protocol.
//!
//! SyVault's own server is not available at development time, so this crate serves
//! `docs/protocol.md` faithfully, the way `vault server -dev` serves `HashiCorp` Vault users.
//! Clients, examples and end-to-end tests run against it over real sockets. It is a library
//! that tests embed and a binary (`syvault-dev serve`) people run locally.
//!
//! - [`DevServer`] serves every endpoint under `/api/sm/v1` over HTTP or HTTPS
//!   ([`DevServerBuilder::tls_dir`]), in memory or persisted ([`DevServerBuilder::data_file`]).
//! - [`Admin`] is the admin side ("web vault"): applications, clients and their one-time
//!   tokens, folders, secrets, grants and rotation policies. It alone holds plaintext keys;
//!   the HTTP layer stores and serves ciphertext only.
//! - With [`DevServerBuilder::postgres_admin_url`] (`serve --postgres-admin-url`), dynamic
//!   secrets and rotation act on a real PostgreSQL server: [`Admin::set_dynamic_target`] binds a
//!   secret with a [`RoleTemplate`], leases create and drop real roles, and
//!   [`Admin::bind_rotation_to_postgres`] makes rotation change a real role's password.
//! - Listings are incremental (`docs/protocol.md` §9.6.2): a full listing's last page carries
//!   a sync token, and `GET /secrets?since=TOKEN` answers what changed since, from a change
//!   log kept for [`DevServerBuilder::sync_retention`] (a day by default) and at most
//!   [`DevServerBuilder::sync_log_capacity`] changes, persisted with the state.
//!   [`DevServerBuilder::incremental_listings`] (`serve --no-incremental-listings`) or
//!   [`Faults::ignore_since`] make it a server that does not know `since`.
//! - [`Faults`] switches failures on while the server runs, and [`Stats`] counts requests.
//! - [`demo`] seeds demo data and bootstraps a client through the HTTP API.
//! - [`DevServerBuilder::require_client_certificates`] makes the HTTPS server require client
//!   certificates signed by a client CA it generates ([`ClientIdentity`]), for mutual TLS.
//!
//! The crate has no cargo features.
//!
//! ```
//! use syvault_dev::DevServer;
//! use syvault_dev::wire::Access;
//! use syvault_proto::record::RecordPayload;
//!
//! let server = DevServer::start_blocking(DevServer::builder())?;
//! let admin = server.admin();
//! let app = admin.create_application("Billing");
//! let folder = admin.create_folder("Production", None)?;
//! let mut payload = RecordPayload::new("Database");
//! payload.fields.set("password", "hunter2");
//! let uid = admin.create_secret(folder, &payload)?;
//! let client = admin.create_client(app, "billing-service")?;
//! admin.grant(client.client_id, folder, Access::Read)?;
//! // Hand `client.token` (a `vft_…` one-time token) to the client, which bootstraps over HTTP:
//! let seeded = server.seed_demo()?;
//! assert_eq!(admin.read_secret(uid)?.fields.get("password").unwrap().expose(), "hunter2");
//! # let _ = seeded;
//! # Ok::<(), syvault_dev::Error>(())
//! ```

mod admin;
mod auth;
mod body;
mod client;
mod clock;
mod cors;
mod cursor;
pub mod demo;
mod dynamic;
mod error;
pub mod faults;
mod lock;
mod persist;
mod progress;
mod random;
mod rotation;
mod routes;
mod server;
mod service;
mod state;
mod stats;
mod sync;
mod tls;

pub use admin::{Admin, DEFAULT_TOKEN_LIFETIME, NewClient};
pub use dynamic::{
    DEFAULT_CONNECTION_LIMIT, DEFAULT_MAX_LEASES_PER_CLIENT, DEFAULT_ORPHAN_SWEEP_INTERVAL,
    RoleTemplate,
};
pub use error::{Error, Result};
pub use faults::{Chaos, Fault, FaultKind, FaultStatus, Faults};
pub use rotation::{DEFAULT_ALPHABET, DEFAULT_LENGTH, MAX_LENGTH, RotationPolicy};
pub use server::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REQUESTS_PER_CONNECTION,
    DEFAULT_ROTATION_DELAY, DEFAULT_WRITE_TIMEOUT, DevServer, DevServerBuilder, RunningServer,
};
pub use stats::Stats;
pub use sync::{DEFAULT_SYNC_LOG_CAPACITY, DEFAULT_SYNC_RETENTION};
/// The protocol's wire types, re-exported for convenience.
pub use syvault_proto::wire;
pub use tls::ClientIdentity;
