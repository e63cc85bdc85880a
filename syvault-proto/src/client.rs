//! The state one client keeps between operations.

use core::time::Duration;
use std::sync::Arc;

use uuid::Uuid;

use crate::builder::ClientBuilder;
use crate::cache::SecretCache;
use crate::config::{ClientConfig, RotationPolicy, ServerUrl};
use crate::error::{Error, Result};
use crate::exchange::Session;
use crate::expiry::{Expiry, Freshness, Spread};
use crate::folders::{FolderInfo, FolderStore};
use crate::hashing::UidMap;
use crate::jwt::TokenMode;
use crate::keys::ClientKey;
use crate::lease::Lease;
use crate::model::Secret;
use crate::notation::{ListedIndex, NotationIndex};
use crate::ops::{CreateLease, KeepLease, ListLeases, Queue, RenewLease, RevokeLease, Wish};
use crate::ops::{
    CreateSecret, GetSecret, ListFolders, ListSecrets, ResolveNotation, ResolveReference,
    RotateSecret, StartRotation,
};
use crate::record::{self, RecordPayload};
use crate::stats::ClientStats;
use crate::time::Timestamp;
use crate::uid::RecordUid;
use crate::wire::Record;

/// How long a fetch may run before operations waiting on it take over: longer than the retries
/// of one request with a driver's default timeouts.
const FLIGHT_TAKEOVER: Duration = Duration::from_secs(120);

/// What a client knows: its configuration and identity, the current token, decrypted folder keys
/// and names, the cache of decrypted secrets and the notation index.
///
/// Operations ([`GetSecret`], [`ListSecrets`], …) borrow it for one step at a time, so a driver
/// can keep it behind a mutex shared by many tasks and never hold the lock across I/O.
///
/// ```
/// use syvault_proto::{Client, keys::ClientKey};
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let secret = ClientKey::generate(&mut rng).to_client_secret();
/// let client = Client::builder()
///     .server("https://vault.example.com")
///     .client_id(uuid::Uuid::nil())
///     .client_secret(secret)
///     .build()?;
/// assert_eq!(client.server(), "https://vault.example.com");
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct Client {
    pub(crate) session: Session,
    pub(crate) cache: SecretCache,
    pub(crate) folders: FolderStore,
    pub(crate) index: ListedIndex,
    pub(crate) rotation: RotationPolicy,
    /// How the identity signs tokens, kept for an identity that bootstrap installs later.
    pub(crate) token_mode: TokenMode,
    /// The limit on each operation that [`crate::ops::Deadline`] applies.
    operation_timeout: Option<Duration>,
    flights: UidMap<Flight>,
    /// Results of finished fetches that operations joined, kept until each has taken its copy:
    /// with the cache disabled they would have nowhere else to find it.
    landed: UidMap<Landed>,
    next_flight: u64,
    /// Draws the jitter of expiry times.
    pub(crate) spread: Spread,
    /// Refreshes asked for by reads, and background jobs running.
    pub(crate) background: Queue,
    /// Counts resets and cache clears: background work taken before one does nothing.
    pub(crate) epoch: u64,
    /// When the snapshot is written, and what a restored one described.
    pub(crate) snapshots: crate::snapshot::Schedule,
}

#[derive(Clone, Copy, Debug)]
struct Flight {
    id: u64,
    started: Timestamp,
    /// Operations waiting for this fetch's result.
    joined: usize,
}

#[derive(Debug)]
struct Landed {
    id: u64,
    secret: Arc<Secret>,
    /// Joined operations that have not taken their copy yet.
    joined: usize,
}

/// Whether an operation may fetch a secret itself or must wait for another one to finish.
pub(crate) enum FlightTicket {
    Lead(u64),
    Wait(u64),
}

/// What became of a fetch an operation joined.
pub(crate) enum Joined {
    /// Still running: keep waiting.
    Pending,
    /// Finished with this secret.
    Landed(Arc<Secret>),
    /// Failed or abandoned: look again.
    Gone,
}

impl Client {
    /// A builder for the core client alone, for drivers of their own: set the identity and
    /// policies, read [`ClientBuilder::transport_settings`] for the HTTP side, then
    /// [`ClientBuilder::build`] (or [`ClientBuilder::bootstrap_client`] to run a bootstrap).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let builder = syvault_proto::Client::builder()
    ///     .server("https://vault.example.com")
    ///     .request_timeout(Duration::from_secs(5));
    /// assert_eq!(builder.transport_settings().request_timeout, Duration::from_secs(5));
    /// ```
    pub fn builder() -> ClientBuilder<Self> {
        ClientBuilder::new()
    }

    /// Checks a configuration and builds the client state: the key is parsed, the server URL
    /// canonicalised, and the transport rule (https unless loopback or allowed) applied.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let key = ClientKey::from_client_secret(config.client_secret.expose())?;
        let (client_id, token_mode) = (config.client_id, config.token_mode);
        let mut client = Self::unidentified(config)?;
        client.session.identify(client_id, key, token_mode)?;
        Ok(client)
    }

    /// A client with `config`'s server and policies, without an identity yet (client id and
    /// secret of `config` are not read).
    pub(crate) fn unidentified(config: ClientConfig) -> Result<Self> {
        let snapshots = crate::snapshot::Schedule::new(&config);
        let ClientConfig {
            server,
            cache,
            retry,
            rotation,
            token_mode,
            max_response_body,
            allow_plain_http,
            operation_timeout,
            ..
        } = config;
        if max_response_body == 0 {
            return Err(Error::invalid_input(
                "max_response_body",
                "must be positive",
            ));
        }
        if retry.max_attempts == 0 {
            return Err(Error::invalid_input(
                "retry.max_attempts",
                "must be at least 1",
            ));
        }
        if cache.jitter_percent >= 100 {
            return Err(Error::invalid_input(
                "cache.jitter_percent",
                "must be below 100",
            ));
        }
        if cache.refresh_ahead_percent >= 100 {
            return Err(Error::invalid_input(
                "cache.refresh_ahead_percent",
                "must be below 100",
            ));
        }
        let session = Session {
            server: ServerUrl::parse(&server, allow_plain_http)?,
            identity: None,
            retry,
            max_response_body,
            stats: ClientStats::default(),
            last_answer: None,
            budget: crate::retry::BudgetTracker::default(),
        };
        Ok(Self {
            session,
            cache: SecretCache::new(cache),
            folders: FolderStore::default(),
            index: ListedIndex::default(),
            rotation,
            token_mode,
            operation_timeout,
            flights: UidMap::default(),
            landed: UidMap::default(),
            next_flight: 0,
            spread: Spread::default(),
            background: Queue::default(),
            epoch: 0,
            snapshots,
        })
    }

    /// The server URL requests go to (without a trailing slash).
    pub fn server(&self) -> &str {
        &self.session.server.base
    }

    /// The client id, or `None` before a [`crate::ops::Bootstrap`] gave the client one.
    pub fn client_id(&self) -> Option<Uuid> {
        self.session.identity.as_ref().map(|i| i.client_id)
    }

    /// The largest response body the client accepts. Drivers read at most one byte more and
    /// hand the body over; the core then refuses it.
    pub fn max_response_body(&self) -> usize {
        self.session.max_response_body
    }

    /// The limit on each operation (see [`crate::builder::ClientBuilder::operation_timeout`]),
    /// if there is one.
    pub fn operation_timeout(&self) -> Option<Duration> {
        self.operation_timeout
    }

    /// Changes the limit on operations started from now on; `None` removes it. A caller with a
    /// budget for several operations (a command line's whole command, say) gives each what is
    /// left of it.
    pub fn set_operation_timeout(&mut self, timeout: Option<Duration>) {
        self.operation_timeout = timeout;
    }

    /// The folders loaded so far (empty until an operation needed them).
    pub fn folders(&self) -> Vec<FolderInfo> {
        let mut folders: Vec<_> = self.folders.iter().cloned().collect();
        folders.sort_unstable_by_key(|f| f.folder_id);
        folders
    }

    /// How many decrypted secrets the cache holds.
    pub fn cached_secrets(&self) -> usize {
        self.cache.len()
    }

    /// The secret a read of `uid` at `now` would return from the cache as a plain hit, and the
    /// instant until which every read would: until then, a read changes nothing but the entry's
    /// place in the use order and the hit count, which [`Client::record_hits`] applies. `None`
    /// when the read would do more (fetch, revalidate, refresh ahead, serve stale).
    ///
    /// A driver whose calls into the client are costly (the WebAssembly binding, where each is a
    /// crossing out of JavaScript) may answer such reads itself while
    /// [`Client::cache_generation`] stays as it was and the instant has not come.
    pub fn fresh_hit(&self, uid: &RecordUid, now: Timestamp) -> Option<(&Arc<Secret>, Timestamp)> {
        self.cache.fresh(uid, now)
    }

    /// A number that grows whenever a cached secret is stored, replaced, renewed or dropped:
    /// what [`Client::fresh_hit`] said holds while it does not change.
    pub fn cache_generation(&self) -> u64 {
        self.cache.generation()
    }

    /// Accounts for `reads` reads of `uid` that a driver answered from [`Client::fresh_hit`]:
    /// the entry moves to the front of the use order (so that eviction sees them) and they
    /// count as cache hits. Returns whether `uid` is cached; if not, nothing is counted.
    pub fn record_hits(&mut self, uid: &RecordUid, reads: u64) -> bool {
        let cached = self.cache.touched(uid);
        if cached {
            self.session.stats.cache_hits += reads;
        }
        cached
    }

    /// What the client has done so far: requests, retries, cache decisions, tokens signed and
    /// decryption failures.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            evictions: self.cache.evictions(),
            ..self.session.stats
        }
    }

    /// When the server last answered a request with a success status (2xx, or 304 to a
    /// revalidation), for a service to report how recently it heard from the vault; `None`
    /// until it has.
    ///
    /// ```
    /// # let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
    /// # let secret = syvault_proto::keys::ClientKey::generate(&mut rng).to_client_secret();
    /// let client = syvault_proto::Client::builder()
    ///     .server("https://vault.example.com")
    ///     .client_id(uuid::Uuid::nil())
    ///     .client_secret(secret)
    ///     .build()?;
    /// assert_eq!(client.last_answer(), None);
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn last_answer(&self) -> Option<Timestamp> {
        self.session.last_answer
    }

    /// Drops every cached secret (their values are zeroized) and the notation index; background
    /// work taken before does nothing.
    pub fn clear_cache(&mut self) {
        self.cache.clear();
        self.landed.clear();
        self.index.clear();
        self.background.clear();
        self.epoch += 1;
    }

    /// Forgets everything learned from the server: cached secrets, folders and their keys, the
    /// notation index and operations in flight. The identity stays, with the token it holds, so
    /// the client is as if newly built but without parsing its key or signing again: for
    /// harnesses that run many independent conversations, such as fuzzing. Operations started
    /// before the reset must not be stepped after it.
    pub fn reset(&mut self) {
        self.session.stats = ClientStats::default();
        self.session.last_answer = None;
        self.session.budget = crate::retry::BudgetTracker::default();
        self.background.clear();
        self.epoch += 1;
        self.snapshots.reset();
        self.cache = SecretCache::succeeding(*self.cache.policy(), &self.cache);
        self.folders = FolderStore::default();
        self.index.clear();
        self.flights.clear();
        self.landed.clear();
        self.next_flight = 0;
    }

    /// Reads one secret, through the cache.
    ///
    /// This and the methods below are shorthands for the operations' own constructors
    /// ([`GetSecret::new`], [`ListSecrets::new`], …), which need no client: use those where the
    /// client is already borrowed, as in `run(&mut client, GetSecret::new(uid))`.
    pub fn get(&self, uid: RecordUid) -> GetSecret {
        GetSecret::new(uid)
    }

    /// Lists every secret visible to the client.
    pub fn list(&self) -> ListSecrets {
        ListSecrets::new()
    }

    /// Resolves one `sy://` reference.
    pub fn notation(&self, reference: &str) -> ResolveReference {
        ResolveReference::new(reference)
    }

    /// Lists the folders granted to the client, refreshing their keys and names.
    pub fn list_folders(&self) -> ListFolders {
        ListFolders::new()
    }

    /// Resolves many `sy://` references with at most one listing, one result per reference.
    pub fn resolve_all<I, S>(&self, references: I) -> ResolveNotation
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        ResolveNotation::new(references)
    }

    /// Creates a secret in a folder the client may write to.
    pub fn create(&self, folder_id: Uuid, payload: RecordPayload) -> CreateSecret {
        CreateSecret::new(folder_id, payload)
    }

    /// Starts a rotation of a secret and waits for its outcome.
    pub fn rotate(&self, uid: RecordUid) -> RotateSecret {
        RotateSecret::new(uid, None)
    }

    /// Starts a rotation of a secret, or adopts the one already running, without waiting.
    pub fn start_rotation(&self, uid: RecordUid) -> StartRotation {
        StartRotation::new(uid)
    }

    /// Waits for a rotation that is already running, such as one whose wait timed out.
    pub fn resume_rotation(&self, uid: RecordUid, rotation_id: Uuid) -> RotateSecret {
        RotateSecret::new(uid, Some(rotation_id))
    }

    /// Takes a lease on a dynamic target: a temporary database credential valid for `ttl`
    /// (60 s to 24 h).
    pub fn lease(&self, uid: RecordUid, ttl: Duration) -> CreateLease {
        CreateLease::new(uid, ttl)
    }

    /// Renews a lease for `ttl` from now, within 24 h of its creation.
    pub fn renew_lease(&self, lease_id: Uuid, ttl: Duration) -> RenewLease {
        RenewLease::new(lease_id, ttl)
    }

    /// Revokes a lease now.
    pub fn revoke_lease(&self, lease_id: Uuid) -> RevokeLease {
        RevokeLease::new(lease_id)
    }

    /// Lists this client's active leases.
    pub fn leases(&self) -> ListLeases {
        ListLeases::new()
    }

    /// Keeps a lease taken with `ttl` alive by renewing it on schedule, until revoked or capped.
    pub fn keep_lease(&self, lease: &Lease, ttl: Duration) -> KeepLease {
        KeepLease::new(lease, ttl)
    }

    /// Decrypts a record with its folder's key. `Ok(None)` means the folder is unknown (the
    /// caller may reload the folders once).
    pub(crate) fn decrypt(&mut self, record: &Record) -> Result<Option<Secret>> {
        let Some(key) = self.folders.key(&record.folder_id) else {
            return Ok(None);
        };
        let payload = record::open(
            &record.uid,
            key,
            record.encrypted_dek.as_slice(),
            record.encrypted_data.as_slice(),
        )
        .inspect_err(|error| {
            if matches!(error, Error::Decryption { .. }) {
                self.session.stats.decryption_failures += 1;
            }
        })?;
        Ok(Some(Secret::from_payload(
            record.uid,
            record.folder_id,
            record.revision,
            payload,
        )))
    }

    /// The notation index, built from the last listing first if it has not been yet.
    pub(crate) fn index(&mut self) -> &mut NotationIndex {
        self.index.get(&self.folders)
    }

    /// Whether the notation index may be used at `now` (fresh, or stale within `max_stale`
    /// while its next revalidation is not due), asking for a background refresh where it wants
    /// one.
    pub(crate) fn index_freshness(&mut self, now: Timestamp) -> Freshness {
        let can_wish = self.background.can_wish();
        let max_stale = self.cache.policy().max_stale;
        let freshness = self
            .index
            .freshness(&self.folders, now, max_stale, can_wish);
        if matches!(freshness, Freshness::Refresh | Freshness::Retry) {
            crate::trace::event!(debug, "refreshing the notation index in the background");
            self.background.push(Wish::Index);
        }
        freshness
    }

    /// The expiry of the notation index after a listing (or a delta) at `now`.
    pub(crate) fn index_expiry(
        &mut self,
        now: Timestamp,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Expiry {
        let first = !self.index.is_held();
        Expiry::new(now, self.cache.policy(), self.spread.with(rng), first)
    }

    /// Notes that refreshing the notation index failed with `error` at `now`: if the server
    /// could not answer, its next refresh waits the stale backoff, and so do the entries that
    /// waited for it (they are retried with it, by one request).
    pub(crate) fn index_failed(
        &mut self,
        error: &Error,
        now: Timestamp,
        rng: &mut dyn rand_core::CryptoRng,
    ) {
        let stale = crate::ops::serves_stale(error);
        if stale {
            let ttl = self.cache.policy().ttl;
            self.index.failed(now, ttl, self.spread.with(rng));
        } else {
            self.index.released();
        }
        let leader = self.index.expiry().filter(|_| stale);
        for (uid, _) in self.index.held() {
            self.cache.follow(uid, now, leader);
        }
    }

    /// Asks for a background refresh of the entry `uid`, which a read found due for one. An
    /// entry that a synced listing holds is refreshed by a delta, which renews every entry the
    /// listing holds: one request for all of them.
    pub(crate) fn ask_refresh(&mut self, uid: RecordUid, now: Timestamp) {
        if self.index.syncs(&uid) {
            if self.index.ask(now) {
                self.background.push(Wish::Index);
            }
            return;
        }
        self.background.push(Wish::Entry(uid));
    }

    /// Whether a refresh of the notation index failed and it may still be served stale at
    /// `now`: listing it again is a retry, sent once.
    pub(crate) fn index_retrying(&self, now: Timestamp) -> bool {
        self.index.retrying(now, self.cache.policy().max_stale)
    }

    /// Whether the notation index may be served stale at `now`, after a listing failed.
    pub(crate) fn index_stale_allowed(&self, now: Timestamp) -> bool {
        self.index.stale_allowed(now, self.cache.policy().max_stale)
    }

    /// Keeps a decrypted secret: in the cache and in the notation index.
    pub(crate) fn remember(
        &mut self,
        secret: Arc<Secret>,
        etag: Option<String>,
        now: Timestamp,
        rng: &mut dyn rand_core::CryptoRng,
    ) {
        self.index()
            .insert_record_in(secret.uid, &secret.folder_id, &secret.title);
        self.index.update(&secret);
        self.cache.insert(secret, etag, now, self.spread.with(rng));
    }

    /// Whether an operation is fetching `uid` now.
    pub(crate) fn fetching(&self, uid: &RecordUid, now: Timestamp) -> bool {
        self.flights
            .get(uid)
            .is_some_and(|f| now.saturating_duration_since(f.started) < FLIGHT_TAKEOVER)
    }

    /// Forgets a secret the server says is gone or forbidden.
    pub(crate) fn forget(&mut self, uid: &RecordUid) {
        self.cache.remove(uid);
        self.index().remove_record(uid);
        self.index.forget(uid);
    }

    /// Decides whether an operation fetches `uid` itself or waits for the fetch in flight.
    /// A waiter that `joins` is counted, so that the fetch's result is kept for it.
    pub(crate) fn take_flight(
        &mut self,
        uid: RecordUid,
        own: Option<u64>,
        joins: bool,
        now: Timestamp,
    ) -> FlightTicket {
        if let Some(flight) = self.flights.get_mut(&uid) {
            let abandoned = now.saturating_duration_since(flight.started) >= FLIGHT_TAKEOVER;
            if Some(flight.id) != own && !abandoned {
                if joins {
                    flight.joined += 1;
                }
                return FlightTicket::Wait(flight.id);
            }
        }
        self.next_flight += 1;
        let id = self.next_flight;
        let flight = Flight {
            id,
            started: now,
            joined: 0,
        };
        self.flights.insert(uid, flight);
        FlightTicket::Lead(id)
    }

    /// Ends fetch `id` of `uid`. A successful result is kept for the operations that joined it.
    pub(crate) fn end_flight(&mut self, uid: &RecordUid, id: u64, result: Option<&Arc<Secret>>) {
        let Some(flight) = self.flights.get(uid).filter(|f| f.id == id) else {
            return;
        };
        let joined = flight.joined;
        self.flights.remove(uid);
        if let Some(secret) = result.filter(|_| joined > 0) {
            let landed = Landed {
                id,
                secret: Arc::clone(secret),
                joined,
            };
            self.landed.insert(*uid, landed);
        }
    }

    /// What became of fetch `id` of `uid`, which the caller joined. `Landed` and `Gone` count
    /// the caller out.
    pub(crate) fn joined(&mut self, uid: &RecordUid, id: u64, now: Timestamp) -> Joined {
        if let Some(flight) = self.flights.get_mut(uid).filter(|f| f.id == id) {
            if now.saturating_duration_since(flight.started) < FLIGHT_TAKEOVER {
                return Joined::Pending;
            }
            flight.joined = flight.joined.saturating_sub(1);
            return Joined::Gone;
        }
        match self.take_landed(uid, id) {
            Some(secret) => Joined::Landed(secret),
            None => Joined::Gone,
        }
    }

    /// Counts out an operation that joined fetch `id` and will not look again.
    pub(crate) fn leave_flight(&mut self, uid: &RecordUid, id: u64) {
        if let Some(flight) = self.flights.get_mut(uid).filter(|f| f.id == id) {
            flight.joined = flight.joined.saturating_sub(1);
            return;
        }
        drop(self.take_landed(uid, id));
    }

    fn take_landed(&mut self, uid: &RecordUid, id: u64) -> Option<Arc<Secret>> {
        let landed = self.landed.get_mut(uid).filter(|l| l.id == id)?;
        landed.joined -= 1;
        if landed.joined == 0 {
            return self.landed.remove(uid).map(|l| l.secret);
        }
        Some(Arc::clone(&landed.secret))
    }

    pub(crate) fn folder_key_missing(&self, folder_id: &Uuid) -> bool {
        self.folders.key(folder_id).is_none()
    }
}
