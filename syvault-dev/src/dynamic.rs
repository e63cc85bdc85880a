//! Dynamic secrets: records bound to a real PostgreSQL server, the roles leased on them, and
//! rotation that changes a real role's password.
//!
//! With [`DevServerBuilder::postgres_admin_url`](crate::DevServerBuilder::postgres_admin_url) the
//! server holds an admin connection string (never logged, never answered). The admin side marks
//! records as dynamic targets with a [`RoleTemplate`]; a lease then creates a role
//! `vf_tmp_xxxxxxxx` with `LOGIN PASSWORD … VALID UNTIL expires_at` (the password's
//! SCRAM-SHA-256 verifier, so the password itself never reaches SQL text) and the template's
//! grants, and revocation or expiry terminates the role's sessions and drops it. Without the
//! option no record can be a target and every lease request is answered 422
//! `not_dynamic_target`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use syvault_proto::lease::format_rfc3339;
use syvault_proto::{RecordUid, SecretString, Timestamp};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::clock;
use crate::error::{Error, Result};
use crate::random;
use crate::state::{Store, VaultState};

/// How long the server remembers an `Idempotency-Key` and its answer.
pub(crate) const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(600);
/// How often the sweeper looks for expired leases.
const SWEEP_INTERVAL: Duration = Duration::from_millis(500);
/// How often the sweeper drops leased roles that no lease holds, by default.
pub const DEFAULT_ORPHAN_SWEEP_INTERVAL: Duration = Duration::from_secs(300);
/// The first wait before the sweeper retries a lease whose role it could not drop; it doubles
/// on each failure up to [`MAX_SWEEP_BACKOFF`].
const FIRST_SWEEP_BACKOFF: Duration = Duration::from_secs(1);
const MAX_SWEEP_BACKOFF: Duration = Duration::from_secs(300);
/// How many active leases one client may hold at once by default.
pub const DEFAULT_MAX_LEASES_PER_CLIENT: usize = 20;
/// How long one database call (connecting and all its statements) may take by default.
pub(crate) const DEFAULT_DATABASE_TIMEOUT: Duration = Duration::from_secs(10);
/// Table privileges a template may grant.
const PRIVILEGES: [&str; 7] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
];
/// Sessions a leased role may hold at once unless its template says otherwise.
pub const DEFAULT_CONNECTION_LIMIT: u32 = 3;
/// The most sessions a template may allow a leased role.
const MAX_CONNECTION_LIMIT: u32 = 100;
/// The characters of leased passwords: unreserved in URLs, so connection strings show them as is.
const PASSWORD_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";

/// What a leased role may use: the database it connects to and, in it, the schemas whose
/// tables it gets `privileges` on.
///
/// ```
/// use syvault_dev::RoleTemplate;
///
/// let template = RoleTemplate::new("orders").schema("public").privileges(["SELECT", "INSERT"]);
/// assert_eq!(template.schemas, ["public"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleTemplate {
    /// The database the role may connect to (`GRANT CONNECT`).
    pub database: String,
    /// Schemas of that database granted `USAGE`, with `privileges` on all their tables.
    pub schemas: Vec<String>,
    /// Table privileges, from `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`,
    /// `REFERENCES` and `TRIGGER`; `SELECT` unless set.
    pub privileges: Vec<String>,
    /// How many sessions the role may hold at once (`CONNECTION LIMIT`), from 1 to 100;
    /// [`DEFAULT_CONNECTION_LIMIT`] unless set.
    #[serde(default = "default_connection_limit")]
    pub connection_limit: u32,
}

fn default_connection_limit() -> u32 {
    DEFAULT_CONNECTION_LIMIT
}

impl RoleTemplate {
    /// A template connecting to `database`, with no schema yet and `SELECT` as privilege.
    pub fn new(database: impl Into<String>) -> Self {
        Self {
            database: database.into(),
            schemas: Vec::new(),
            privileges: vec!["SELECT".to_owned()],
            connection_limit: DEFAULT_CONNECTION_LIMIT,
        }
    }

    /// Sets how many sessions a leased role may hold at once.
    #[must_use]
    pub fn connection_limit(mut self, limit: u32) -> Self {
        self.connection_limit = limit;
        self
    }

    /// Adds a schema whose tables the role may use.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schemas.push(schema.into());
        self
    }

    /// Sets the table privileges.
    #[must_use]
    pub fn privileges<I, S>(mut self, privileges: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.privileges = privileges.into_iter().map(Into::into).collect();
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let valid_name = |name: &str| !name.is_empty() && name.len() <= 63 && !name.contains('\0');
        if !valid_name(&self.database) {
            return Err(Error::InvalidTemplate(
                "the database name is empty or too long",
            ));
        }
        if !self.schemas.iter().all(|s| valid_name(s)) {
            return Err(Error::InvalidTemplate("a schema name is empty or too long"));
        }
        if !(1..=MAX_CONNECTION_LIMIT).contains(&self.connection_limit) {
            return Err(Error::InvalidTemplate(
                "the connection limit must be from 1 to 100",
            ));
        }
        if self.privileges.is_empty()
            || !self
                .privileges
                .iter()
                .all(|p| PRIVILEGES.contains(&p.to_ascii_uppercase().as_str()))
        {
            return Err(Error::InvalidTemplate(
                "privileges must be SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES or TRIGGER",
            ));
        }
        Ok(())
    }
}

/// A lease as the server keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct LeaseEntry {
    pub(crate) client_id: Uuid,
    pub(crate) record_uid: RecordUid,
    pub(crate) username: String,
    pub(crate) database: String,
    pub(crate) created_at_ms: u64,
    pub(crate) expires_at_ms: u64,
    /// Revoked, or expired and swept: the role is gone.
    pub(crate) ended: bool,
    /// Recorded before its role is created, until that creation succeeds: a creation that fails
    /// or is cancelled expires the lease, and the sweeper drops whatever role it left.
    #[serde(default)]
    pub(crate) creating: bool,
}

impl LeaseEntry {
    pub(crate) fn created_at(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.created_at_ms)
    }

    pub(crate) fn expires_at(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.expires_at_ms)
    }

    /// Whether the lease still holds at `now`.
    pub(crate) fn is_active(&self, now: Timestamp) -> bool {
        !self.ended && !self.creating && now < self.expires_at()
    }

    /// Ends the lease at `now` unless it already ended: the sweeper then drops its role.
    fn expire(&mut self, now: Timestamp) {
        self.expires_at_ms = self.expires_at_ms.min(now.as_unix_millis());
    }
}

/// Why a client may not hold leases on a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The record does not exist or the client has no grant on its folder.
    NotVisible,
    /// The record is not bound to the database.
    NotTarget,
}

/// The template of record `uid` when `client_id` may lease roles on it.
pub(crate) fn entitlement<'a>(
    vault: &'a VaultState,
    client_id: &Uuid,
    uid: &RecordUid,
) -> std::result::Result<&'a RoleTemplate, Refusal> {
    let stored = vault.records.get(uid).ok_or(Refusal::NotVisible)?;
    vault
        .access(client_id, &stored.folder_id)
        .ok_or(Refusal::NotVisible)?;
    vault.dynamic_targets.get(uid).ok_or(Refusal::NotTarget)
}

/// Expires, as of `now`, the leases whose client may no longer lease on their record (its
/// grant was removed, the record moved, deleted or unbound), so that the sweeper drops their
/// roles; answers how many.
pub(crate) fn expire_unentitled(vault: &mut VaultState, now: Timestamp) -> usize {
    let doomed: Vec<Uuid> = vault
        .leases
        .iter()
        .filter(|(_, lease)| !lease.ended && now < lease.expires_at())
        .filter(|(_, lease)| entitlement(vault, &lease.client_id, &lease.record_uid).is_err())
        .map(|(id, _)| *id)
        .collect();
    for lease_id in &doomed {
        if let Some(lease) = vault.leases.get_mut(lease_id) {
            lease.expire(now);
            tracing::info!(%lease_id, username = %lease.username, "lease ended: its client may no longer lease on its record");
        }
    }
    doomed.len()
}

/// A lease recorded before its role is created. Dropped before [`PendingLease::created`]
/// (the creation failed, or the request was cancelled), it expires the lease, so that the
/// sweeper drops the role if the database created it after all.
pub(crate) struct PendingLease<'a> {
    store: &'a Store,
    lease_id: Uuid,
    done: bool,
}

impl<'a> PendingLease<'a> {
    /// Records `lease` (marked as being created) under `lease_id`.
    pub(crate) fn record(store: &'a Store, lease_id: Uuid, mut lease: LeaseEntry) -> Self {
        lease.creating = true;
        store.write(|vault| vault.leases.insert(lease_id, lease));
        Self {
            store,
            lease_id,
            done: false,
        }
    }

    /// Marks the role created; false if the lease ended meanwhile (its client lost the right
    /// to it), when the sweeper drops the role.
    pub(crate) fn created(mut self) -> bool {
        self.done = true;
        let now = clock::now();
        self.store
            .write(|vault| match vault.leases.get_mut(&self.lease_id) {
                Some(lease) => {
                    lease.creating = false;
                    lease.is_active(now)
                }
                None => false,
            })
    }
}

impl Drop for PendingLease<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let now = clock::now();
        self.store.write(|vault| {
            if let Some(lease) = vault.leases.get_mut(&self.lease_id) {
                lease.expire(now);
            }
        });
        tracing::info!(lease_id = %self.lease_id, "lease creation did not finish; its role, if any, will be dropped");
    }
}

/// A remembered successful answer to a lease request, and the digest of the request it
/// answered: the same key with another request is refused rather than answered with it.
pub(crate) struct Remembered {
    pub(crate) at: Timestamp,
    pub(crate) request: [u8; 32],
    /// The answer holds the lease's password: wiped when forgotten.
    pub(crate) body: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Remembered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remembered")
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// The answer to one (client, `Idempotency-Key`), once there is one. Its async lock is held
/// while that request creates its lease, so a concurrent repeat waits for the first answer
/// instead of creating a second role, and nothing else waits.
pub(crate) type Slot = Arc<tokio::sync::Mutex<Option<Remembered>>>;

/// The dynamic-secrets side of the server: the database binding, if any, and the answers
/// remembered for idempotent lease requests.
pub(crate) struct Dynamic {
    postgres: Option<Postgres>,
    /// Answers by (client, `Idempotency-Key`); the map's own lock is never held across an
    /// await.
    remembered: std::sync::Mutex<HashMap<(Uuid, String), Slot>>,
    /// Lease creations under way, by client: they count toward the client's limit.
    creating: std::sync::Mutex<HashMap<Uuid, usize>>,
    max_leases_per_client: usize,
    failing_changes: AtomicU32,
}

/// A lease creation counted toward its client's limit until dropped.
pub(crate) struct Creating<'a> {
    dynamic: &'a Dynamic,
    client_id: Uuid,
}

impl Drop for Creating<'_> {
    fn drop(&mut self) {
        let mut creating = crate::lock::lock(&self.dynamic.creating);
        if let Some(count) = creating.get_mut(&self.client_id) {
            *count -= 1;
            if *count == 0 {
                creating.remove(&self.client_id);
            }
        }
    }
}

impl fmt::Debug for Dynamic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dynamic")
            .field("postgres", &self.postgres.is_some())
            .finish_non_exhaustive()
    }
}

impl Dynamic {
    /// The binding described by `admin_url`, or none; each database call may take `timeout`.
    pub(crate) fn new(
        admin_url: Option<&SecretString>,
        timeout: Duration,
        max_leases_per_client: usize,
    ) -> Result<Self> {
        let postgres = admin_url
            .map(|url| Postgres::parse(url, timeout))
            .transpose()?;
        Ok(Self {
            postgres,
            remembered: std::sync::Mutex::new(HashMap::new()),
            creating: std::sync::Mutex::new(HashMap::new()),
            max_leases_per_client,
            failing_changes: AtomicU32::new(0),
        })
    }

    /// Counts a new lease of `client_id` toward its limit, given its `active` leases; `Err`
    /// with the limit when it has reached it.
    pub(crate) fn start_creating(
        &self,
        client_id: Uuid,
        active: usize,
    ) -> std::result::Result<Creating<'_>, usize> {
        let mut creating = crate::lock::lock(&self.creating);
        let under_way = creating.entry(client_id).or_default();
        if active + *under_way >= self.max_leases_per_client {
            return Err(self.max_leases_per_client);
        }
        *under_way += 1;
        Ok(Creating {
            dynamic: self,
            client_id,
        })
    }

    /// The slot of `client_id`'s `key`, created empty if new.
    pub(crate) fn slot(&self, client_id: Uuid, key: &str) -> Slot {
        Arc::clone(
            crate::lock::lock(&self.remembered)
                .entry((client_id, key.to_owned()))
                .or_default(),
        )
    }

    /// Forgets answers older than the idempotency window, and empty slots nobody is filling.
    fn forget_old_answers(&self, now: Timestamp) {
        crate::lock::lock(&self.remembered).retain(|_, slot| {
            // Someone holds it: a request is creating its lease or is about to.
            if Arc::strong_count(slot) > 1 {
                return true;
            }
            slot.try_lock().map_or(true, |answer| {
                answer.as_ref().is_some_and(|answer| {
                    now.saturating_duration_since(answer.at) < IDEMPOTENCY_WINDOW
                })
            })
        });
    }

    /// Runs one database call within the configured bound.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = std::result::Result<T, DbError>>,
    ) -> std::result::Result<T, DbError> {
        let postgres = self.postgres.as_ref().ok_or(DbError::NotConfigured)?;
        tokio::time::timeout(postgres.timeout, call)
            .await
            .map_err(|_| DbError::Timeout(postgres.timeout))?
    }

    /// The database binding, when the server has one.
    pub(crate) fn postgres(&self) -> Option<&Postgres> {
        self.postgres.as_ref()
    }

    /// Makes the next change to the database (a role created or a password changed) run its
    /// statements and then fail before committing.
    pub(crate) fn fail_next_change(&self) {
        self.failing_changes.fetch_add(1, Ordering::SeqCst);
    }

    fn take_failure(&self) -> bool {
        self.failing_changes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Creates the role of a new lease.
    pub(crate) async fn create_role(
        &self,
        username: &str,
        password: &SecretString,
        expires_at: Timestamp,
        template: &RoleTemplate,
    ) -> std::result::Result<(), DbError> {
        let postgres = self.postgres.as_ref().ok_or(DbError::NotConfigured)?;
        let mut statements = vec![
            format!(
                "CREATE ROLE {} LOGIN CONNECTION LIMIT {} PASSWORD {} VALID UNTIL {}",
                ident(username),
                template.connection_limit,
                literal(&verifier(password)),
                literal(&format_rfc3339(expires_at))
            ),
            format!(
                "GRANT CONNECT ON DATABASE {} TO {}",
                ident(&template.database),
                ident(username)
            ),
        ];
        let privileges = template
            .privileges
            .iter()
            .map(|p| p.to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(", ");
        for schema in &template.schemas {
            statements.push(format!(
                "GRANT USAGE ON SCHEMA {} TO {}",
                ident(schema),
                ident(username)
            ));
            statements.push(format!(
                "GRANT {privileges} ON ALL TABLES IN SCHEMA {} TO {}",
                ident(schema),
                ident(username)
            ));
        }
        let fail = self.take_failure();
        self.bounded(postgres.transaction(&template.database, &statements, fail))
            .await
    }

    /// Moves a lease's role's `VALID UNTIL`.
    pub(crate) async fn extend_role(
        &self,
        username: &str,
        database: &str,
        expires_at: Timestamp,
    ) -> std::result::Result<(), DbError> {
        let postgres = self.postgres.as_ref().ok_or(DbError::NotConfigured)?;
        let statement = format!(
            "ALTER ROLE {} VALID UNTIL {}",
            ident(username),
            literal(&format_rfc3339(expires_at))
        );
        self.bounded(postgres.transaction(database, &[statement], false))
            .await
    }

    /// Terminates the role's sessions and drops it with what it owns and was granted; a role
    /// that no longer exists is not an error.
    pub(crate) async fn drop_role(
        &self,
        username: &str,
        database: &str,
    ) -> std::result::Result<(), DbError> {
        self.bounded(self.drop_role_unbounded(username, database))
            .await
    }

    async fn drop_role_unbounded(
        &self,
        username: &str,
        database: &str,
    ) -> std::result::Result<(), DbError> {
        let postgres = self.postgres.as_ref().ok_or(DbError::NotConfigured)?;
        let client = postgres.connect(database).await?;
        // Refuse new logins first, so no session slips in between termination and the drop.
        let exists = client
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&username])
            .await
            .map_err(|e| DbError::statement(e, postgres.timeout))?
            .is_some();
        if !exists {
            return Ok(());
        }
        client
            .batch_execute(&format!("ALTER ROLE {} NOLOGIN", ident(username)))
            .await
            .map_err(|e| DbError::statement(e, postgres.timeout))?;
        client
            .execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1",
                &[&username],
            )
            .await
            .map_err(|e| DbError::statement(e, postgres.timeout))?;
        // The role may own objects (a large object, a table in a schema open to it) in every
        // database it could log in to, and a role that owns anything cannot be dropped.
        let databases: Vec<String> = client
            .query(
                "SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname",
                &[],
            )
            .await
            .map_err(|e| DbError::statement(e, postgres.timeout))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        for name in &databases {
            let cleanup = |source| DbError::Cleanup {
                database: name.clone(),
                source,
            };
            let session = if name == database {
                None
            } else {
                Some(postgres.connect(name).await?)
            };
            session
                .as_ref()
                .unwrap_or(&client)
                .batch_execute(&format!("DROP OWNED BY {}", ident(username)))
                .await
                .map_err(|e| match DbError::statement(e, postgres.timeout) {
                    DbError::Statement(source) => cleanup(source),
                    other => other,
                })?;
        }
        client
            .batch_execute(&format!("DROP ROLE {}", ident(username)))
            .await
            .map_err(|e| match DbError::statement(e, postgres.timeout) {
                DbError::Statement(source) => DbError::DropRole(source),
                other => other,
            })
    }

    /// Drops the leased roles (`vf_tmp_…`) that no unended lease holds: left by a server
    /// without a data file that stopped without revoking its leases, by a lost data file, by a
    /// creation the database committed after its request gave up, or made by hand. A lease is
    /// recorded before its role is created, so a creation under way holds its role; the roles
    /// are listed before the leases are read, so a role created meanwhile is never taken for
    /// an orphan. Failures are logged only.
    pub(crate) async fn drop_orphans(&self, store: &Store) {
        let Some(postgres) = self.postgres.as_ref() else {
            return;
        };
        let listed = self
            .bounded(async {
                let client = postgres.connect(&postgres.default_database()).await?;
                let rows = client
                    .query("SELECT rolname FROM pg_roles", &[])
                    .await
                    .map_err(|e| DbError::statement(e, postgres.timeout))?;
                Ok(rows
                    .iter()
                    .map(|row| row.get::<_, String>(0))
                    .collect::<Vec<_>>())
            })
            .await;
        let roles = match listed {
            Ok(roles) => roles,
            Err(err) => {
                tracing::warn!(error = %err, detail = %err.detail(), "cannot look for orphaned leased roles");
                return;
            }
        };
        let held: std::collections::HashSet<String> = store.read(|vault| {
            vault
                .leases
                .values()
                .filter(|lease| !lease.ended)
                .map(|lease| lease.username.clone())
                .collect()
        });
        let default = postgres.default_database();
        for role in roles
            .into_iter()
            .filter(|role| role.starts_with("vf_tmp_") && !held.contains(role))
        {
            match self.drop_role(&role, &default).await {
                Ok(()) => tracing::info!(username = %role, "orphaned leased role dropped"),
                Err(err) => {
                    tracing::warn!(username = %role, error = %err, detail = %err.detail(), "dropping an orphaned leased role failed");
                }
            }
        }
    }

    /// Revokes every lease not ended yet: what a server that does not keep its leases across
    /// a stop does at a graceful one. Stops at the first failure to reach the database; the
    /// roles left then refuse new logins after their expiry and go at the next start-up sweep.
    pub(crate) async fn revoke_all(&self, store: &Store) {
        let unended: Vec<(Uuid, LeaseEntry)> = store.read(|vault| {
            vault
                .leases
                .iter()
                .filter(|(_, lease)| !lease.ended)
                .map(|(id, lease)| (*id, lease.clone()))
                .collect()
        });
        let total = unended.len();
        for (done, (lease_id, lease)) in unended.into_iter().enumerate() {
            match self.drop_role(&lease.username, &lease.database).await {
                Ok(()) => {
                    store.write(|vault| {
                        if let Some(entry) = vault.leases.get_mut(&lease_id) {
                            entry.ended = true;
                        }
                    });
                    tracing::info!(%lease_id, username = %lease.username, "lease revoked at stop");
                }
                Err(err @ (DbError::Connect(_) | DbError::Timeout(_))) => {
                    tracing::warn!(error = %err, left = total - done, "the database cannot be reached at stop; leased roles are left to the next start-up sweep");
                    return;
                }
                Err(err) => {
                    tracing::warn!(%lease_id, username = %lease.username, error = %err, detail = %err.detail(), "revoking a lease at stop failed");
                }
            }
        }
    }

    /// Creates a login role with `password`, or sets the password of an existing one.
    pub(crate) async fn ensure_login_role(
        &self,
        username: &str,
        password: &SecretString,
    ) -> std::result::Result<(), DbError> {
        self.bounded(self.ensure_login_role_unbounded(username, password))
            .await
    }

    async fn ensure_login_role_unbounded(
        &self,
        username: &str,
        password: &SecretString,
    ) -> std::result::Result<(), DbError> {
        let postgres = self.postgres.as_ref().ok_or(DbError::NotConfigured)?;
        let database = postgres.default_database();
        let client = postgres.connect(&database).await?;
        let exists = client
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&username])
            .await
            .map_err(|e| DbError::statement(e, postgres.timeout))?
            .is_some();
        let verb = if exists { "ALTER" } else { "CREATE" };
        client
            .batch_execute(&format!(
                "{verb} ROLE {} LOGIN PASSWORD {}",
                ident(username),
                literal(&verifier(password))
            ))
            .await
            .map_err(|e| DbError::statement(e, postgres.timeout))
    }

    /// Sets a role's password, in a transaction that an injected failure rolls back.
    pub(crate) async fn set_password(
        &self,
        username: &str,
        password: &SecretString,
    ) -> std::result::Result<(), DbError> {
        let postgres = self.postgres.as_ref().ok_or(DbError::NotConfigured)?;
        let statement = format!(
            "ALTER ROLE {} WITH PASSWORD {}",
            ident(username),
            literal(&verifier(password))
        );
        let fail = self.take_failure();
        let database = postgres.default_database();
        self.bounded(postgres.transaction(&database, &[statement], fail))
            .await
    }
}

/// A failure at the database. Its text names the kind of failure, never the connection
/// string or a password (statements with passwords are not quoted in it).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error("no PostgreSQL server is configured")]
    NotConfigured,
    #[error("cannot connect to the database")]
    Connect(#[source] tokio_postgres::Error),
    #[error("the database refused a statement")]
    Statement(#[source] tokio_postgres::Error),
    #[error("dropping what the role owns in database `{database}` failed: {}", db_message(.source))]
    Cleanup {
        database: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("the role cannot be dropped: {}", db_message(.0))]
    DropRole(#[source] tokio_postgres::Error),
    #[error("the database did not answer within {} ms; the call was abandoned", .0.as_millis())]
    Timeout(Duration),
    #[error("the change was rolled back (injected failure)")]
    Injected,
}

/// The database's own message, or that the connection failed.
fn db_message(err: &tokio_postgres::Error) -> String {
    err.as_db_error().map_or_else(
        || "connection failure".to_owned(),
        |db| db.message().to_owned(),
    )
}

impl DbError {
    /// A failed statement; one cancelled by `statement_timeout` or `lock_timeout` is a timeout.
    fn statement(err: tokio_postgres::Error, timeout: Duration) -> Self {
        use tokio_postgres::error::SqlState;
        match err.code() {
            Some(code)
                if *code == SqlState::QUERY_CANCELED || *code == SqlState::LOCK_NOT_AVAILABLE =>
            {
                Self::Timeout(timeout)
            }
            _ => Self::Statement(err),
        }
    }

    /// The database's own message (`ERROR: role … does not exist`), for the server log.
    pub(crate) fn detail(&self) -> String {
        match self {
            Self::Connect(e)
            | Self::Statement(e)
            | Self::DropRole(e)
            | Self::Cleanup { source: e, .. } => e.as_db_error().map_or_else(
                || "connection failure".to_owned(),
                |db| db.message().to_owned(),
            ),
            other => other.to_string(),
        }
    }
}

/// The admin connection to a PostgreSQL server.
pub(crate) struct Postgres {
    config: Config,
    /// The bound on one call, also the server-side statement and lock timeout.
    timeout: Duration,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Postgres([redacted])")
    }
}

impl Postgres {
    fn parse(url: &SecretString, timeout: Duration) -> Result<Self> {
        let mut config: Config = url
            .expose()
            .parse()
            .map_err(|_| Error::Postgres("the PostgreSQL admin URL cannot be parsed".into()))?;
        config.connect_timeout(timeout);
        // The server abandons a blocked statement too, so that it does not hold its locks
        // after the call has given up on it.
        let millis = timeout.as_millis().max(1);
        let options = format!(
            "{} -c statement_timeout={millis} -c lock_timeout={millis}",
            config.get_options().unwrap_or_default()
        );
        config.options(options.trim_start());
        Ok(Self { config, timeout })
    }

    fn default_database(&self) -> String {
        self.config
            .get_dbname()
            .or(self.config.get_user())
            .unwrap_or("postgres")
            .to_owned()
    }

    async fn connect(&self, database: &str) -> std::result::Result<Client, DbError> {
        let mut config = self.config.clone();
        config.dbname(database);
        let (client, connection) = config.connect(NoTls).await.map_err(DbError::Connect)?;
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "database connection ended");
            }
        });
        Ok(client)
    }

    /// Runs `statements` in one transaction on `database`; with `fail`, aborts it after them.
    async fn transaction(
        &self,
        database: &str,
        statements: &[String],
        fail: bool,
    ) -> std::result::Result<(), DbError> {
        let mut client = self.connect(database).await?;
        let transaction = client
            .transaction()
            .await
            .map_err(|e| DbError::statement(e, self.timeout))?;
        for statement in statements {
            transaction
                .batch_execute(statement)
                .await
                .map_err(|e| DbError::statement(e, self.timeout))?;
        }
        if fail {
            // Dropping the transaction rolls it back.
            return Err(DbError::Injected);
        }
        transaction
            .commit()
            .await
            .map_err(|e| DbError::statement(e, self.timeout))
    }

    /// The host and port clients connect to, and the admin connection's database.
    pub(crate) fn endpoint(&self) -> (String, u16, String) {
        let host = self
            .config
            .get_hosts()
            .iter()
            .find_map(|host| match host {
                Host::Tcp(name) => Some(name.clone()),
                #[cfg(unix)]
                Host::Unix(_) => None,
            })
            .unwrap_or_else(|| "localhost".to_owned());
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        (host, port, self.default_database())
    }

    /// `postgresql://user:password@host:port/database`, user and password percent-encoded.
    pub(crate) fn connection_string(
        &self,
        username: &str,
        password: &SecretString,
        database: &str,
    ) -> SecretString {
        let (host, port, _) = self.endpoint();
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        SecretString::new(format!(
            "postgresql://{}:{}@{host}:{port}/{}",
            percent_encode(username),
            percent_encode(password.expose()),
            percent_encode(database)
        ))
    }
}

/// `vf_tmp_` and 8 characters from `[a-z0-9]`.
pub(crate) fn new_username() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = (0..8)
        .map(|_| char::from(ALPHABET[random::below(ALPHABET.len())]))
        .collect();
    format!("vf_tmp_{suffix}")
}

/// A 32-character password from the operating system's generator.
pub(crate) fn new_password() -> SecretString {
    SecretString::new(
        (0..32)
            .map(|_| char::from(PASSWORD_ALPHABET[random::below(PASSWORD_ALPHABET.len())]))
            .collect(),
    )
}

/// A quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted SQL string literal in the escape form (`E'…'`), whose backslashes are escapes
/// whatever `standard_conforming_strings` says; both `\` and `'` are doubled.
fn literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// The SCRAM-SHA-256 verifier of `password` with a fresh random salt: what PostgreSQL stores,
/// sent in its place so that the password itself never appears in SQL text, server logs or
/// `pg_stat_activity`.
fn verifier(password: &SecretString) -> String {
    postgres_protocol::password::scram_sha_256(password.expose().as_bytes())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    use std::fmt::Write as _;
    text.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// Drops orphaned leased roles now and every `orphan_interval`, and the roles of expired
/// leases every [`SWEEP_INTERVAL`], until `shutdown` flips.
pub(crate) async fn spawn_sweeper(
    dynamic: Arc<Dynamic>,
    store: Arc<Store>,
    orphan_interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    // No creation is under way before the server serves: those recorded were cut short by a
    // stop, and whatever role they left goes with their lease.
    let now = clock::now();
    store.write(|vault| {
        for lease in vault.leases.values_mut().filter(|lease| lease.creating) {
            lease.creating = false;
            lease.expire(now);
        }
    });
    dynamic.drop_orphans(&store).await;
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(SWEEP_INTERVAL);
        let start = tokio::time::Instant::now() + orphan_interval;
        let mut orphans = tokio::time::interval_at(start, orphan_interval);
        orphans.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut backoff = HashMap::new();
        loop {
            tokio::select! {
                _ = interval.tick() => sweep(&dynamic, &store, &mut backoff).await,
                _ = orphans.tick() => dynamic.drop_orphans(&store).await,
                _ = shutdown.changed() => break,
            }
        }
    })
}

/// Per lease whose role could not be dropped: the last wait and when to try again.
type Backoff = HashMap<Uuid, (Duration, tokio::time::Instant)>;

async fn sweep(dynamic: &Dynamic, store: &Store, backoff: &mut Backoff) {
    let now = clock::now();
    // Whatever way a lease lost its grant or its target, it ends.
    {
        let mut vault = store.lock();
        if expire_unentitled(&mut vault, now) > 0 {
            drop(vault);
            store.mark_changed();
        }
    }
    let expired: Vec<(Uuid, LeaseEntry)> = store.read(|vault| {
        vault
            .leases
            .iter()
            .filter(|(_, lease)| !lease.ended && now >= lease.expires_at())
            .map(|(id, lease)| (*id, lease.clone()))
            .collect()
    });
    let started = tokio::time::Instant::now();
    for (lease_id, lease) in expired {
        if backoff
            .get(&lease_id)
            .is_some_and(|(_, next)| *next > started)
        {
            continue;
        }
        match dynamic.drop_role(&lease.username, &lease.database).await {
            Ok(()) => {
                backoff.remove(&lease_id);
                store.write(|vault| {
                    if let Some(entry) = vault.leases.get_mut(&lease_id) {
                        entry.ended = true;
                    }
                });
                tracing::info!(%lease_id, username = %lease.username, "expired lease swept");
            }
            // The role was created VALID UNTIL its expiry, so it no longer logs in; the next
            // sweep tries again, backing off.
            Err(err) => {
                let wait = backoff
                    .get(&lease_id)
                    .map_or(FIRST_SWEEP_BACKOFF, |(last, _)| {
                        (*last * 2).min(MAX_SWEEP_BACKOFF)
                    });
                backoff.insert(lease_id, (wait, tokio::time::Instant::now() + wait));
                tracing::warn!(%lease_id, error = %err, detail = %err.detail(), retry_in_secs = wait.as_secs(), "sweeping a lease failed");
            }
        }
    }
    dynamic.forget_old_answers(now);
}

/// The admin side of dynamic secrets.
impl crate::Admin {
    fn postgres_dynamic(&self) -> Result<&Arc<Dynamic>> {
        self.dynamic()
            .filter(|dynamic| dynamic.postgres().is_some())
            .ok_or_else(|| Error::Postgres("no PostgreSQL server is configured".into()))
    }

    /// Binds secret `uid` to the configured PostgreSQL server as a dynamic target: leases on it
    /// create roles as `template` says. Needs a server started with a PostgreSQL admin URL.
    pub fn set_dynamic_target(&self, uid: RecordUid, template: RoleTemplate) -> Result<()> {
        template.validate()?;
        self.postgres_dynamic()?;
        self.store().write(|vault| {
            if !vault.records.contains_key(&uid) {
                return Err(Error::UnknownSecret(uid));
            }
            vault.dynamic_targets.insert(uid, template);
            Ok(())
        })
    }

    /// Where the demo's `Database` record should point when the server has a PostgreSQL
    /// binding: host, port and database.
    pub(crate) fn demo_postgres(&self) -> Option<(String, u16, String)> {
        self.dynamic()?.postgres().map(Postgres::endpoint)
    }

    /// Makes the demo's `Database` record real: its role exists with its password and its
    /// rotation changes that role; a second record, `Database (dynamic)`, leases roles that read
    /// the `public` schema of the same database.
    pub(crate) async fn bind_demo_database(
        &self,
        folder_id: Uuid,
        uid: RecordUid,
        username: &str,
        password: &SecretString,
    ) -> Result<Option<RecordUid>> {
        let Some((_, _, database)) = self.demo_postgres() else {
            return Ok(None);
        };
        let dynamic = self.postgres_dynamic()?;
        dynamic
            .ensure_login_role(username, password)
            .await
            .map_err(|err| Error::Postgres(format!("creating the demo role: {err}")))?;
        self.bind_rotation_to_postgres(uid)?;
        let mut target = syvault_proto::record::RecordPayload::new("Database (dynamic)");
        target.record_type = "dynamicDatabase".into();
        target
            .fields
            .set("note", "lease temporary roles that read the public schema");
        let target_uid = self.create_secret(folder_id, &target)?;
        self.set_dynamic_target(target_uid, RoleTemplate::new(database).schema("public"))?;
        Ok(Some(target_uid))
    }

    /// Unbinds secret `uid`. The leases taken on it end: their roles are dropped in the
    /// background, their sessions terminated.
    pub fn clear_dynamic_target(&self, uid: RecordUid) {
        self.store().write(|vault| {
            if vault.dynamic_targets.remove(&uid).is_some() {
                expire_unentitled(vault, clock::now());
            }
        });
    }

    /// Makes rotations of secret `uid` change the password of the PostgreSQL role named by its
    /// `username` field (with `ALTER ROLE`, sending the password's SCRAM-SHA-256 verifier, never
    /// the password) before storing the new value. The secret needs a rotation policy too,
    /// whose field holds the password.
    pub fn bind_rotation_to_postgres(&self, uid: RecordUid) -> Result<()> {
        self.postgres_dynamic()?;
        self.store().write(|vault| {
            if !vault.records.contains_key(&uid) {
                return Err(Error::UnknownSecret(uid));
            }
            vault.postgres_rotations.insert(uid);
            Ok(())
        })
    }

    /// Makes the next change to the database (a leased role created, a password rotated) run
    /// its statements and then fail before committing, so that it is rolled back.
    pub fn fail_next_database_change(&self) {
        if let Some(dynamic) = self.dynamic() {
            dynamic.fail_next_change();
        }
    }

    /// Ends lease `lease_id` now, as if its time had run out; the sweeper then drops its role.
    /// False if there is no such active lease.
    pub fn expire_lease(&self, lease_id: Uuid) -> bool {
        let now = clock::now();
        self.store()
            .write(|vault| match vault.leases.get_mut(&lease_id) {
                Some(lease) if lease.is_active(now) => {
                    lease.expires_at_ms = now.as_unix_millis();
                    true
                }
                _ => false,
            })
    }

    /// The usernames of the leases that still hold, of every client.
    pub fn active_lease_usernames(&self) -> Vec<String> {
        let now = clock::now();
        self.store().read(|vault| {
            vault
                .leases
                .values()
                .filter(|lease| lease.is_active(now))
                .map(|lease| lease.username.clone())
                .collect()
        })
    }

    /// Runs the final step of a rotation of a secret bound to PostgreSQL: a new password,
    /// `ALTER ROLE`, then the record. False if the secret is not bound (the caller rotates the
    /// record alone).
    pub(crate) async fn rotate_on_postgres(&self, rotation_id: Uuid) -> bool {
        let Some(dynamic) = self.dynamic().filter(|d| d.postgres().is_some()).cloned() else {
            return false;
        };
        let plan = {
            let keys = crate::lock::lock(&self.keys()).folder_keys.clone();
            self.store().read(|vault| {
                let entry = vault.rotations.get(&rotation_id)?;
                if !vault.postgres_rotations.contains(&entry.uid) {
                    return None;
                }
                Some(plan_rotation(vault, &keys, entry.uid))
            })
        };
        let Some(plan) = plan else {
            return false;
        };
        let outcome = match plan {
            Ok((username, field, password)) => {
                match dynamic.set_password(&username, &password).await {
                    Ok(()) => self.store_rotated(rotation_id, &field, password),
                    Err(err) => {
                        tracing::warn!(%rotation_id, error = %err, detail = %err.detail(), "rotation at the database failed");
                        Err(format!(
                            "the database did not accept the new password: {err}"
                        ))
                    }
                }
            }
            Err(reason) => Err(reason),
        };
        self.store().write(|vault| {
            if let Some(entry) = vault.rotations.get_mut(&rotation_id) {
                crate::admin::apply_outcome(entry, outcome);
            }
        });
        true
    }

    /// Stores the new password in the record as its next revision.
    fn store_rotated(
        &self,
        rotation_id: Uuid,
        field: &str,
        password: SecretString,
    ) -> std::result::Result<u64, String> {
        let keys = self.keys();
        let keys = crate::lock::lock(&keys);
        self.store().write(|vault| {
            let uid = vault
                .rotations
                .get(&rotation_id)
                .map(|entry| entry.uid)
                .ok_or("the rotation is gone")?;
            let stored = vault
                .records
                .get_mut(&uid)
                .ok_or("the secret no longer exists")?;
            let key = keys
                .folder_keys
                .get(&stored.folder_id)
                .ok_or("the folder key is unknown")?;
            let mut payload = syvault_proto::record::open(
                &uid,
                key,
                stored.encrypted_dek.as_slice(),
                stored.encrypted_data.as_slice(),
            )
            .map_err(|_| "the stored record does not decrypt".to_owned())?;
            payload.fields.set(field.to_owned(), password);
            crate::admin::reseal(stored, &uid, key, &payload);
            let (folder, revision) = (stored.folder_id, stored.revision);
            vault.log_record(uid, Some(folder), Some(folder));
            Ok(revision)
        })
    }
}

/// The role (the record's `username` field), the password field (the policy's) and a new value.
fn plan_rotation(
    vault: &crate::state::VaultState,
    keys: &std::collections::BTreeMap<Uuid, syvault_proto::secret::SymmetricKey>,
    uid: RecordUid,
) -> std::result::Result<(String, String, SecretString), String> {
    let policy = vault
        .policies
        .get(&uid)
        .ok_or("rotation is no longer configured for this secret")?;
    let stored = vault
        .records
        .get(&uid)
        .ok_or("the secret no longer exists")?;
    let key = keys
        .get(&stored.folder_id)
        .ok_or("the folder key is unknown")?;
    let payload = syvault_proto::record::open(
        &uid,
        key,
        stored.encrypted_dek.as_slice(),
        stored.encrypted_data.as_slice(),
    )
    .map_err(|_| "the stored record does not decrypt".to_owned())?;
    let username = payload
        .fields
        .get("username")
        .ok_or("the secret has no field `username` naming the database role")?
        .expose()
        .to_owned();
    if payload.fields.get(&policy.field).is_none() {
        return Err(format!("the secret has no field `{}`", policy.field));
    }
    Ok((username, policy.field.clone(), policy.generate()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_and_passwords_encoded() {
        assert_eq!(ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(literal("it's"), "E'it''s'");
        assert_eq!(percent_encode("a/b c@d:é"), "a%2Fb%20c%40d%3A%C3%A9");
        let name = new_username();
        assert_eq!(name.len(), 15);
        assert!(name.starts_with("vf_tmp_"));
        assert!(
            name[7..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_eq!(new_password().expose().len(), 32);
    }

    #[test]
    fn literals_do_not_depend_on_standard_conforming_strings() {
        assert_eq!(literal(r"a\b"), r"E'a\\b'");
        assert_eq!(literal(r"\'; DROP ROLE x; --"), r"E'\\''; DROP ROLE x; --'");
        assert_eq!(literal("2026-01-01T00:00:00Z"), "E'2026-01-01T00:00:00Z'");
    }

    #[test]
    fn passwords_reach_sql_as_salted_verifiers_needing_no_escapes() {
        let password = SecretString::from(r"it's a \ password");
        let first = verifier(&password);
        let second = verifier(&password);
        assert_ne!(first, second, "each verifier has its own salt");
        for verifier in [&first, &second] {
            // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64 parts.
            let rest = verifier.strip_prefix("SCRAM-SHA-256$4096:").unwrap();
            assert!(!rest.contains("password"));
            assert!(
                rest.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=$:".contains(&b)),
                "{verifier}"
            );
            assert_eq!(literal(verifier), format!("E'{verifier}'"));
        }
    }

    #[test]
    fn a_remembered_answer_never_shows_its_body() {
        let remembered = Remembered {
            at: Timestamp::from_unix_millis(0),
            request: [7; 32],
            body: Zeroizing::new(br#"{"password":"hunter2"}"#.to_vec()),
        };
        let shown = format!("{remembered:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("104, 117"),
            "{shown}"
        );
    }

    #[test]
    fn templates_are_checked() {
        assert!(RoleTemplate::new("app").schema("public").validate().is_ok());
        assert!(RoleTemplate::new("").validate().is_err());
        assert!(
            RoleTemplate::new("app")
                .connection_limit(0)
                .validate()
                .is_err()
        );
        assert!(
            RoleTemplate::new("app")
                .connection_limit(101)
                .validate()
                .is_err()
        );
        assert!(RoleTemplate::new("app").schema("").validate().is_err());
        assert!(
            RoleTemplate::new("app")
                .privileges(["SELECT; DROP TABLE x"])
                .validate()
                .is_err()
        );
        assert!(
            RoleTemplate::new("app")
                .privileges(Vec::<String>::new())
                .validate()
                .is_err()
        );
    }

    #[test]
    fn the_admin_url_never_shows() {
        let url = SecretString::from("postgresql://admin:hunter2@127.0.0.1:5432/postgres");
        let dynamic = Dynamic::new(
            Some(&url),
            DEFAULT_DATABASE_TIMEOUT,
            DEFAULT_MAX_LEASES_PER_CLIENT,
        )
        .unwrap();
        assert!(!format!("{dynamic:?}").contains("hunter2"));
        let err = Dynamic::new(
            Some(&SecretString::from("postgresql://a:hunter2@[bad")),
            DEFAULT_DATABASE_TIMEOUT,
            DEFAULT_MAX_LEASES_PER_CLIENT,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        let postgres = dynamic.postgres().unwrap();
        let conn = postgres.connection_string("vf_tmp_a", &SecretString::from("p/w"), "app");
        assert_eq!(
            conn.expose(),
            "postgresql://vf_tmp_a:p%2Fw@127.0.0.1:5432/app"
        );
    }
}
