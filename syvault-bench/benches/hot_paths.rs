//! The SDK's hot paths against their raw baselines, over loopback against `syvault-dev`.
//!
//! Every row of the performance table is measured as a ratio: the SDK's time divided by the
//! time of a baseline that does the least any client must do, both measured in this process,
//! interleaved (the order alternates between repetitions) and repeated; the minimum and the
//! median of the per-repetition ratios are printed. Allocation rows count heap allocations with
//! a counting global allocator.
//!
//! ```text
//! cargo bench -p syvault-bench --bench hot_paths              # the full table (release)
//! cargo bench -p syvault-bench --bench hot_paths -- list      # rows whose group matches
//! cargo bench -p syvault-bench --bench hot_paths -- list --reps=1   # e.g. under callgrind
//! cargo test  -p syvault-bench --bench hot_paths              # smoke mode: small and quick
//! ```
//!
//! The smoke mode (chosen when cargo does not pass `--bench`, or with `--smoke`) runs every
//! row on a small vault with few repetitions, to prove the benchmark still runs; its numbers
//! mean nothing. See `docs/performance.md` for the table and the machine.

#![allow(clippy::missing_panics_doc, clippy::cast_precision_loss)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use p256::ProjectivePoint;
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::group::Group;
use syvault_dev::wire::Access;
use syvault_dev::{Admin, DevServer, RunningServer};
use syvault_hyper::AsyncSyVaultClient;
use syvault_proto::jwt::{self, Claims};
use syvault_proto::keys::ClientKey;
use syvault_proto::model::{Credentials, Secret};
use syvault_proto::record::{self, RecordPayload};
use syvault_proto::secret::SymmetricKey;
use syvault_proto::wire::{self, DataEnvelope, FolderList, ListQuery, Record, SecretList};
use syvault_proto::{RecordUid, folder_key};
use syvault_ureq::SyVaultClient;
use uuid::Uuid;

// ---- counting allocator ------------------------------------------------------------------------

/// The system allocator, counting allocations and live bytes.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size().cast_signed(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size().cast_signed(), Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(
            new_size.cast_signed() - layout.size().cast_signed(),
            Ordering::Relaxed,
        );
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

fn live_bytes() -> isize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

// ---- measurement ---------------------------------------------------------------------------------

/// How much work each row does.
#[derive(Clone, Copy, Debug)]
struct Scale {
    /// Secrets in the large vault.
    secrets: usize,
    /// Repetitions of each interleaved pair.
    reps: usize,
    /// Calls per timed batch of a fast operation: short, so that a batch is rarely preempted
    /// on a busy machine.
    batch: usize,
    /// Repetitions of each interleaved pair of fast batches.
    fast_reps: usize,
    /// Concurrent reads in the concurrency row.
    concurrent: usize,
    /// Clients in the real-clock fleet row, and their cache TTL.
    fleet: usize,
    fleet_ttl: Duration,
}

const FULL: Scale = Scale {
    secrets: 10_000,
    reps: 31,
    batch: 500,
    fast_reps: 301,
    concurrent: 1_000,
    fleet: 1_000,
    fleet_ttl: Duration::from_secs(2),
};

const SMOKE: Scale = Scale {
    secrets: 120,
    reps: 2,
    batch: 50,
    fast_reps: 2,
    concurrent: 20,
    fleet: 20,
    fleet_ttl: Duration::from_millis(500),
};

/// The per-repetition ratios of one row, with the SDK's and the baseline's median times.
struct Row {
    ratios: Vec<f64>,
    sdk: Vec<Duration>,
    base: Vec<Duration>,
}

impl Row {
    fn new() -> Self {
        Self {
            ratios: Vec::new(),
            sdk: Vec::new(),
            base: Vec::new(),
        }
    }

    fn push(&mut self, sdk: Duration, base: Duration) {
        self.ratios
            .push(sdk.as_secs_f64() / base.as_secs_f64().max(1e-12));
        self.sdk.push(sdk);
        self.base.push(base);
    }

    /// Makes the times per operation when each timed call did `group` of them.
    fn per_call(&mut self, group: usize) {
        let group = u32::try_from(group).unwrap_or(u32::MAX);
        for time in self.sdk.iter_mut().chain(self.base.iter_mut()) {
            *time /= group;
        }
    }

    fn min_median(&self) -> (f64, f64) {
        let mut sorted = self.ratios.clone();
        sorted.sort_by(f64::total_cmp);
        (sorted[0], sorted[sorted.len() / 2])
    }

    fn median_sdk(&self) -> Duration {
        median(&self.sdk)
    }

    fn median_base(&self) -> Duration {
        median(&self.base)
    }
}

fn median(durations: &[Duration]) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// Times `sdk` and `base` `reps` times, alternating which goes first, `batch` calls each.
fn interleave(reps: usize, batch: usize, mut sdk: impl FnMut(), mut base: impl FnMut()) -> Row {
    let mut row = Row::new();
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed() / u32::try_from(batch).unwrap_or(u32::MAX)
    };
    // One untimed round warms connections and caches.
    sdk();
    base();
    for rep in 0..reps {
        let (s, b) = if rep % 2 == 0 {
            let s = time(&mut sdk);
            (s, time(&mut base))
        } else {
            let b = time(&mut base);
            (time(&mut sdk), b)
        };
        row.push(s, b);
    }
    row
}

/// [`interleave`] for slow operations that return what they made: only the calls are timed;
/// `prepare` (before each call) and dropping the results are not.
fn interleave_calls<A, B>(
    reps: usize,
    prepare: impl Fn(),
    mut sdk: impl FnMut() -> A,
    mut base: impl FnMut() -> B,
) -> Row {
    let mut row = Row::new();
    let mut time_sdk = || {
        prepare();
        let start = Instant::now();
        let made = black_box(sdk());
        let elapsed = start.elapsed();
        drop(made);
        elapsed
    };
    let mut time_base = || {
        prepare();
        let start = Instant::now();
        let made = black_box(base());
        let elapsed = start.elapsed();
        drop(made);
        elapsed
    };
    time_sdk();
    time_base();
    for rep in 0..reps {
        let (s, b) = if rep % 2 == 0 {
            let s = time_sdk();
            (s, time_base())
        } else {
            let b = time_base();
            (time_sdk(), b)
        };
        row.push(s, b);
    }
    row
}

/// One line of the table: what was measured, the ratio's min and median, and the target.
fn report(what: &str, row: &Row, target: &str, met: bool) {
    let (min, med) = row.min_median();
    println!(
        "{what:<58} min {min:>7.3}x  median {med:>7.3}x  (sdk {:>10.3?}, base {:>10.3?})  target {target}: {}",
        row.median_sdk(),
        row.median_base(),
        if met { "met" } else { "NOT MET" }
    );
}

fn note(what: &str, value: &str, target: &str, met: bool) {
    println!(
        "{what:<58} {value:<52} target {target}: {}",
        if met { "met" } else { "NOT MET" }
    );
}

// ---- the vault -----------------------------------------------------------------------------------

/// A server with `folders` folders holding `secrets` secrets titled `S<i>`, a `Database` secret,
/// `KiB<i>` secrets of 1 KiB each in folder `Big`, and a bootstrapped client granted all of it.
struct Bench {
    server: RunningServer,
    admin: Admin,
    application: Uuid,
    folders: Vec<(Uuid, String)>,
    big: Uuid,
    credentials: Credentials,
    key: ClientKey,
    database: RecordUid,
    listed: Vec<RecordUid>,
    kib: Vec<RecordUid>,
}

const FOLDERS: usize = 10;
const KIB_SECRETS: usize = 200;
const KIB: usize = 1024;

impl Bench {
    fn start(scale: Scale) -> Self {
        // The raw baseline of the concurrent row opens a connection per request; with the
        // server's default limit most would wait in the backlog for idle ones to time out.
        let server = DevServer::start_blocking(DevServer::builder().max_connections(4096))
            .expect("syvault-dev starts");
        let admin = server.admin();
        let application = admin.create_application("Bench");
        let folders: Vec<(Uuid, String)> = (0..FOLDERS)
            .map(|i| {
                let name = format!("F{i}");
                (admin.create_folder(&name, None).expect("folder"), name)
            })
            .collect();
        let big = admin.create_folder("Big", None).expect("folder");
        let mut database = RecordPayload::new("Database");
        database.fields.set("username", "orders_app");
        database
            .fields
            .set("password", "correct-horse-battery-staple");
        let database = admin
            .create_secret(folders[0].0, &database)
            .expect("secret");
        let listed = (0..scale.secrets)
            .map(|i| {
                let mut payload = RecordPayload::new(format!("S{i}"));
                payload.fields.set("username", format!("user{i}"));
                payload
                    .fields
                    .set("password", format!("pw-{i}-0123456789abcdef"));
                admin
                    .create_secret(folders[i % FOLDERS].0, &payload)
                    .expect("secret")
            })
            .collect();
        let kib = (0..KIB_SECRETS)
            .map(|i| {
                let mut payload = RecordPayload::new(format!("KiB{i}"));
                payload.fields.set("blob", "x".repeat(KIB));
                admin.create_secret(big, &payload).expect("secret")
            })
            .collect();
        let mut bench = Self {
            credentials: Credentials::new(String::new(), Uuid::nil(), String::new()),
            key: ClientKey::generate(&mut rand_core::UnwrapErr(getrandom::SysRng)),
            server,
            admin,
            application,
            folders,
            big,
            database,
            listed,
            kib,
        };
        bench.credentials = bench.new_credentials();
        bench.key = ClientKey::from_client_secret(bench.credentials.client_secret.expose())
            .expect("client secret");
        bench
    }

    /// A freshly bootstrapped client granted every folder.
    fn new_credentials(&self) -> Credentials {
        let mut folders: Vec<Uuid> = self.folders.iter().map(|(id, _)| *id).collect();
        folders.push(self.big);
        self.credentials_for(&folders)
    }

    /// A freshly bootstrapped client granted `folders`.
    fn credentials_for(&self, folders: &[Uuid]) -> Credentials {
        let client = self
            .admin
            .create_client(self.application, "bench")
            .expect("client");
        for folder in folders {
            self.admin
                .grant(client.client_id, *folder, Access::Read)
                .expect("grant");
        }
        SyVaultClient::bootstrap(&self.server.url(), client.token.expose()).expect("bootstrap")
    }

    fn blocking(
        &self,
        configure: impl FnOnce(syvault_ureq::SyVaultClientBuilder) -> syvault_ureq::SyVaultClientBuilder,
    ) -> SyVaultClient {
        configure(SyVaultClient::builder().credentials(self.credentials.clone()))
            .build()
            .expect("client")
    }

    fn asynchronous(
        &self,
        configure: impl FnOnce(
            syvault_hyper::AsyncSyVaultClientBuilder,
        ) -> syvault_hyper::AsyncSyVaultClientBuilder,
    ) -> AsyncSyVaultClient {
        configure(AsyncSyVaultClient::builder().credentials(self.credentials.clone()))
            .build()
            .expect("client")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }
}

/// A token the server must verify: `exp` varies with `nonce`, so no two are alike.
fn fresh_token(key: &ClientKey, credentials: &Credentials, nonce: u64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let claims = Claims::new(
        credentials.client_id,
        jwt::canonical_audience(&credentials.server).expect("audience"),
        now,
        now + 300 + nonce % 200,
    );
    jwt::sign(key, &claims).expose().to_owned()
}

/// The token a client with the SDK's defaults signs now: the same claims, the same lifetime.
fn token_as_the_sdk_signs_it(key: &ClientKey, credentials: &Credentials) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let claims = Claims::new(
        credentials.client_id,
        jwt::canonical_audience(&credentials.server).expect("audience"),
        now,
        now + jwt::DEFAULT_LIFETIME.as_secs(),
    );
    jwt::sign(key, &claims).expose().to_owned()
}

/// Returns once the wall clock's whole second has changed: tokens signed from then on differ
/// from every token signed before (their `iat` does).
fn wait_for_the_next_second() {
    let second = || {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs()
    };
    let start = second();
    while second() == start {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The least a blocking client must do: GET with a bearer token over a pooled connection.
struct Raw {
    agent: ureq::Agent,
    token: String,
}

impl Raw {
    fn new(token: String) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            token,
        }
    }

    fn get(&self, url: &str, if_none_match: Option<&str>) -> (u16, Vec<u8>) {
        let mut request = self
            .agent
            .get(url)
            .header("authorization", &format!("Bearer {}", self.token));
        if let Some(etag) = if_none_match {
            request = request.header("if-none-match", etag);
        }
        let mut response = request.call().expect("raw GET");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_vec().expect("raw body");
        (status, body)
    }
}

/// Folder keys as a raw client unwraps them once.
fn folder_keys(bench: &Bench, raw: &Raw) -> HashMap<Uuid, SymmetricKey> {
    let (_, body) = raw.get(&bench.url(wire::paths::folders()), None);
    let list: FolderList = wire::parse_body(200, &body).expect("folders");
    list.data
        .iter()
        .map(|f| {
            let key = folder_key::unwrap(
                &bench.key,
                &f.folder_id,
                &bench.credentials.client_id,
                f.encrypted_key.as_slice(),
            )
            .expect("folder key");
            (f.folder_id, key)
        })
        .collect()
}

fn open(record: &Record, keys: &HashMap<Uuid, SymmetricKey>) -> RecordPayload {
    record::open(
        &record.uid,
        &keys[&record.folder_id],
        record.encrypted_dek.as_slice(),
        record.encrypted_data.as_slice(),
    )
    .expect("record opens")
}

/// The raw floor of a listing: every page at the server's largest size, parsed and decrypted.
#[inline(never)]
fn raw_list(bench: &Bench, raw: &Raw, keys: &HashMap<Uuid, SymmetricKey>) -> Vec<RecordPayload> {
    let mut cursor = None;
    let mut payloads = Vec::new();
    loop {
        let query = ListQuery {
            cursor,
            limit: Some(500),
            ..ListQuery::default()
        };
        let (_, body) = raw.get(&bench.url(&wire::paths::secrets_query(&query)), None);
        let page: SecretList = wire::parse_body(200, &body).expect("page");
        payloads.extend(page.data.iter().map(|record| open(record, keys)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return payloads,
        }
    }
}

// ---- rows ----------------------------------------------------------------------------------------

fn cache_hits(bench: &Bench, scale: Scale) {
    let uid = bench.database.to_string();
    let blocking = bench.blocking(|b| b);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let asynchronous = bench.asynchronous(|b| b);
    let secret = blocking.secrets().get(&uid).expect("get");
    rt.block_on(asynchronous.secrets().get(&uid)).expect("get");
    // The hasher the SDK's own maps keyed by UID use: the fastest lookup a client would choose.
    let map: Mutex<HashMap<RecordUid, Arc<Secret>, foldhash::fast::RandomState>> = Mutex::new(
        [(bench.database, Arc::clone(&secret))]
            .into_iter()
            .collect(),
    );
    let key = bench.database;
    let base = || {
        black_box(SystemTime::now());
        black_box(map.lock().expect("lock").get(&key).map(Arc::clone));
    };

    let row = interleave(
        scale.fast_reps,
        scale.batch,
        || {
            black_box(blocking.secrets().get(&uid).expect("hit"));
        },
        base,
    );
    report(
        "cache hit, blocking (vs now + Mutex<HashMap>::get + Arc::clone)",
        &row,
        "median <= 2.5x",
        row.min_median().1 <= 2.5,
    );
    // Many reads per `block_on`, so that entering the runtime is not what is measured.
    let group = 500;
    let mut row = interleave(
        scale.fast_reps,
        (scale.batch / group).max(1),
        || {
            rt.block_on(async {
                for _ in 0..group {
                    black_box(asynchronous.secrets().get(&uid).await.expect("hit"));
                }
            });
        },
        || {
            for _ in 0..group {
                base();
            }
        },
    );
    row.per_call(group);
    report(
        "cache hit, async (vs now + Mutex<HashMap>::get + Arc::clone)",
        &row,
        "median <= 2.5x",
        row.min_median().1 <= 2.5,
    );

    let n = scale.batch * 20;
    let before = allocations();
    for _ in 0..n {
        black_box(blocking.secrets().get(&uid).expect("hit"));
    }
    let blocking_allocs = (allocations() - before) as f64 / n as f64;
    let before = allocations();
    rt.block_on(async {
        for _ in 0..n {
            black_box(asynchronous.secrets().get(&uid).await.expect("hit"));
        }
    });
    let async_allocs = (allocations() - before) as f64 / n as f64;
    note(
        "heap allocations per cache hit (blocking, async)",
        &format!("{blocking_allocs:.3}, {async_allocs:.3}"),
        "0",
        blocking_allocs == 0.0 && async_allocs == 0.0,
    );
}

fn listing(bench: &Bench, scale: Scale, raw: &Raw, keys: &HashMap<Uuid, SymmetricKey>) {
    let client = bench.blocking(|b| b);
    // Both start cold and keep what they decrypted until the timing ends.
    let row = interleave_calls(
        scale.reps,
        || client.clear_cache(),
        || client.secrets().list().expect("list"),
        || raw_list(bench, raw, keys),
    );
    let total = scale.secrets + 1 + KIB_SECRETS;
    report(
        &format!("list() of {total} secrets (vs paged GETs + parse + decrypt)"),
        &row,
        "<= 1.2x and <= 100 ms",
        row.min_median().1 <= 1.2 && row.median_sdk() <= Duration::from_millis(100),
    );

    // Notation, warm: the index is fresh after the listing.
    let hit_uid = bench.listed[scale.secrets / 2].to_string();
    let i = scale.secrets / 2;
    let reference = format!("sy://F{}/S{i}/field/password", i % FOLDERS);
    client.secrets().list().expect("list");
    let row = interleave(
        scale.fast_reps,
        scale.batch,
        || {
            black_box(client.secrets().notation(&reference).expect("notation"));
        },
        || {
            black_box(client.secrets().get(&hit_uid).expect("hit"));
        },
    );
    report(
        &format!("notation() warm, {total} secrets (vs cache-hit get)"),
        &row,
        "<= 3x",
        row.min_median().1 <= 3.0,
    );

    // resolve_all of a reference to every listed secret, against one listing.
    let references: Vec<String> = (0..scale.secrets)
        .map(|i| format!("sy://F{}/S{i}/field/password", i % FOLDERS))
        .collect();
    // Both start cold: the resolver lists, as one list() does.
    let row = interleave_calls(
        scale.reps,
        || client.clear_cache(),
        || {
            let results = client.secrets().resolve_all(&references).expect("resolve");
            assert!(results.iter().all(Result::is_ok));
            results
        },
        || client.secrets().list().expect("list"),
    );
    report(
        &format!(
            "resolve_all of {} references (vs one list())",
            scale.secrets
        ),
        &row,
        "<= 1.5x",
        row.min_median().1 <= 1.5,
    );
}

fn list_then_get_each(bench: &Bench) {
    let client = bench.blocking(|b| b);
    let stats = bench.server.stats();
    // Warm the connection, the token and the folder keys, so that what stays is the cache.
    client.secrets().folders().expect("folders");
    let live = live_bytes();
    client.secrets().list().expect("list");
    let kept = (live_bytes() - live) as f64;
    let total = bench.listed.len() + 1 + KIB_SECRETS;
    println!(
        "  after list() of {total} secrets the client holds {:.1} MiB more ({:.0} B per secret)",
        kept / (1024.0 * 1024.0),
        kept / total as f64
    );
    // The notation index is built when a reference is first resolved after the listing.
    client
        .secrets()
        .notation("sy://F0/S0/title")
        .expect("notation");
    let indexed = (live_bytes() - live) as f64;
    println!(
        "  and {:.1} MiB ({:.0} B per secret) once a reference built the notation index",
        indexed / (1024.0 * 1024.0),
        indexed / total as f64
    );
    let before = stats.total();
    let start = Instant::now();
    for uid in &bench.listed {
        black_box(client.secrets().get(uid).expect("get"));
    }
    let elapsed = start.elapsed();
    let extra = stats.total() - before;
    let share = extra as f64 / bench.listed.len() as f64;
    note(
        &format!(
            "list() then get() of each of {} with defaults",
            bench.listed.len()
        ),
        &format!(
            "{extra} extra requests ({:.2}%), {elapsed:.1?}",
            share * 100.0
        ),
        "<= 1% extra requests",
        share <= 0.01,
    );
}

fn cold_start(bench: &Bench, scale: Scale) {
    // Each start uses a client of its own, so every token is new to the server and verified.
    let reps = scale.reps.clamp(2, 10);
    // A service granted the one folder it reads from: one folder key to unwrap.
    let granted = [bench.folders[0].0];
    let sdk_credentials: Vec<Credentials> = (0..=reps)
        .map(|_| bench.credentials_for(&granted))
        .collect();
    let raw_credentials: Vec<(Credentials, ClientKey)> = (0..=reps)
        .map(|_| {
            let credentials = bench.credentials_for(&granted);
            let key = ClientKey::from_client_secret(credentials.client_secret.expose())
                .expect("client secret");
            (credentials, key)
        })
        .collect();
    let uid = bench.database.to_string();
    let url = bench.url(&wire::paths::secret(&bench.database));
    // Bootstrapping signed a token for each client (to upload its folder keys), and a token
    // signed within the same second with the same claims is the same token (ES256 signing is
    // deterministic here), which the server has verified already. Once the clock has moved on,
    // both sides sign tokens the server has never seen, as a process started later would.
    wait_for_the_next_second();
    let mut sdk_next = sdk_credentials.into_iter();
    let mut raw_next = raw_credentials.into_iter();
    let row = interleave(
        reps,
        1,
        || {
            let credentials = sdk_next.next().expect("credentials");
            let client = SyVaultClient::from_credentials(credentials).expect("client");
            black_box(client.secrets().get(&uid).expect("first get"));
        },
        || {
            let (credentials, key) = raw_next.next().expect("credentials");
            let raw = Raw::new(token_as_the_sdk_signs_it(&key, &credentials));
            let (status, body) = raw.get(&url, None);
            assert_eq!(status, 200);
            black_box(body);
        },
    );
    report(
        "cold start to first get, one folder (vs agent + new token + GET)",
        &row,
        "<= 3x",
        row.min_median().1 <= 3.0,
    );
}

fn uncached_and_revalidated(
    bench: &Bench,
    scale: Scale,
    raw: &Raw,
    keys: &HashMap<Uuid, SymmetricKey>,
) {
    let uid = bench.database.to_string();
    let url = bench.url(&wire::paths::secret(&bench.database));
    let reps_batch = (scale.batch / 50).max(5);
    let uncached = bench.blocking(|b| b.cache_ttl(Duration::ZERO));
    let row = interleave(
        scale.reps,
        reps_batch,
        || {
            black_box(uncached.secrets().get(&uid).expect("get"));
        },
        || {
            let (_, body) = raw.get(&url, None);
            let record: DataEnvelope<Record> = wire::parse_body(200, &body).expect("record");
            black_box(open(&record.data, keys));
        },
    );
    report(
        "uncached get (vs GET + parse + decrypt)",
        &row,
        "<= 1.15x",
        row.min_median().1 <= 1.15,
    );

    let revalidating = bench.blocking(|b| b.cache_ttl(Duration::from_nanos(1)));
    revalidating.secrets().get(&uid).expect("get");
    let etag = {
        let mut response = raw
            .agent
            .get(&url)
            .header("authorization", &format!("Bearer {}", raw.token))
            .call()
            .expect("GET");
        let etag = response.headers()["etag"]
            .to_str()
            .expect("etag")
            .to_owned();
        drop(response.body_mut().read_to_vec());
        etag
    };
    let before = bench.server.stats().total();
    let row = interleave(
        scale.reps,
        reps_batch,
        || {
            black_box(revalidating.secrets().get(&uid).expect("get"));
        },
        || {
            let (status, _) = raw.get(&url, Some(&etag));
            assert_eq!(status, 304);
        },
    );
    assert!(bench.server.stats().total() > before);
    report(
        "304 revalidation (vs conditional GET answered 304)",
        &row,
        "<= 1.1x",
        row.min_median().1 <= 1.1,
    );
}

fn memory(bench: &Bench) {
    let client = bench.blocking(|b| b);
    // Warm the connection, the token and the folder keys first.
    client.secrets().get(bench.kib[0]).expect("get");
    let uids: Vec<String> = bench.kib[1..].iter().map(ToString::to_string).collect();
    let before = live_bytes();
    for uid in &uids {
        client.secrets().get(uid).expect("get");
    }
    let per_secret = (live_bytes() - before) as f64 / uids.len() as f64;
    let bound = 2.0 * KIB as f64 + 256.0;
    note(
        "memory per cached 1 KiB secret",
        &format!("{per_secret:.0} B (bound {bound:.0} B)"),
        "<= 2x plaintext + 256 B",
        per_secret <= bound,
    );
}

/// What a raw async client needs to read the `Database` secret.
struct RawSource {
    raw: HyperClient<HttpConnector, Empty<Bytes>>,
    url: hyper::Uri,
    authorization: String,
    keys: HashMap<Uuid, SymmetricKey>,
}

impl RawSource {
    /// One GET: the answer's body.
    async fn get(&self) -> Bytes {
        let request = hyper::Request::get(self.url.clone())
            .header("authorization", self.authorization.as_str())
            .body(Empty::new())
            .expect("request");
        let response = self.raw.request(request).await.expect("raw GET");
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
    }

    /// One GET, its answer parsed and decrypted.
    async fn get_and_open(&self) -> Arc<RecordPayload> {
        let body = self.get().await;
        let record: DataEnvelope<Record> = wire::parse_body(200, &body).expect("record");
        Arc::new(open(&record.data, &self.keys))
    }
}

fn concurrent_uncached(bench: &Bench, scale: Scale, keys: &HashMap<Uuid, SymmetricKey>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = bench.asynchronous(|b| b.cache_ttl(Duration::ZERO));
    let uid = bench.database.to_string();
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let source = Arc::new(RawSource {
        raw: HyperClient::builder(TokioExecutor::new()).build(connector),
        url: bench
            .url(&wire::paths::secret(&bench.database))
            .parse()
            .expect("uri"),
        authorization: format!("Bearer {}", fresh_token(&bench.key, &bench.credentials, 0)),
        keys: keys.clone(),
    });
    let n = scale.concurrent;
    let stats = bench.server.stats();
    let mut requests = Vec::new();
    let mut sdk = || {
        let before = stats.total();
        rt.block_on(async {
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let client = client.clone();
                    let uid = uid.clone();
                    tokio::spawn(async move { client.secrets().get(&uid).await })
                })
                .collect();
            for task in tasks {
                black_box(task.await.expect("task").expect("get"));
            }
        });
        requests.push(stats.total() - before);
    };
    let raw_gets = || {
        rt.block_on(async {
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let source = Arc::clone(&source);
                    tokio::spawn(async move { source.get().await })
                })
                .collect();
            for task in tasks {
                black_box(task.await.expect("task"));
            }
        });
    };
    let row = interleave(scale.reps, 1, &mut sdk, raw_gets);
    report(
        &format!("{n} concurrent async gets, cache_ttl = 0 (vs {n} raw GETs)"),
        &row,
        "<= 1.3x",
        row.min_median().1 <= 1.3,
    );

    // What the SDK does for concurrent readers of one UID, done by hand: the first task sends
    // one GET and decrypts the answer once; every task gets that one result.
    let shared_get = || {
        rt.block_on(async {
            let flight = Arc::new(tokio::sync::OnceCell::<Arc<RecordPayload>>::new());
            let tasks: Vec<_> = (0..n)
                .map(|_| {
                    let flight = Arc::clone(&flight);
                    let source = Arc::clone(&source);
                    tokio::spawn(async move {
                        Arc::clone(flight.get_or_init(|| source.get_and_open()).await)
                    })
                })
                .collect();
            for task in tasks {
                black_box(task.await.expect("task"));
            }
        });
    };
    let row = interleave(scale.reps, 1, &mut sdk, shared_get);
    report(
        &format!("{n} concurrent async gets, cache_ttl = 0 (vs one raw GET shared by {n} tasks)"),
        &row,
        "<= 1.3x",
        row.min_median().1 <= 1.3,
    );
    requests.sort_unstable();
    println!(
        "  coalesced: {} server request(s) per {n} concurrent gets (median)",
        requests[requests.len() / 2]
    );
}

fn signing(bench: &Bench, scale: Scale) {
    // The signature's one scalar multiplication is k·G. Without precomputed tables it is a
    // variable-base multiplication, so the signing of before is this signing plus the
    // difference between the two multiplications, all measured here.
    let claims = Claims::new(
        bench.credentials.client_id,
        "https://vault.example.com",
        0,
        600,
    );
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let scalar = p256::NonZeroScalar::generate_from_rng(&mut rng);
    let batch = (scale.batch / 20).max(5);
    let fixed = interleave(
        scale.fast_reps,
        batch,
        || {
            black_box(ProjectivePoint::mul_by_generator(&*scalar));
        },
        || {
            black_box(ProjectivePoint::GENERATOR * *scalar);
        },
    );
    let sign = interleave(
        scale.fast_reps,
        batch,
        || {
            black_box(jwt::sign(&bench.key, &claims));
        },
        || {
            black_box(ProjectivePoint::GENERATOR * *scalar);
        },
    );
    let mut row = Row::new();
    for i in 0..sign.sdk.len() {
        let before = sign.sdk[i] + fixed.base[i].saturating_sub(fixed.sdk[i]);
        row.push(sign.sdk[i], before);
    }
    report(
        "ES256 signing (vs signing with a variable-base k*G)",
        &row,
        "<= 0.6x",
        row.min_median().1 <= 0.6,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke") || !args.iter().any(|a| a == "--bench");
    let mut scale = if smoke { SMOKE } else { FULL };
    // `--reps=N` repeats each pair N times, for a profiler run of one row.
    if let Some(reps) = args
        .iter()
        .find_map(|a| a.strip_prefix("--reps="))
        .and_then(|n| n.parse().ok())
    {
        scale.reps = reps;
    }
    println!(
        "hot paths, {} mode: {} secrets, {} repetitions; ratios are SDK / baseline",
        if smoke { "smoke" } else { "full" },
        scale.secrets,
        scale.reps
    );
    // Other arguments choose rows by name, as cargo bench filters do.
    let filters: Vec<&str> = args[1..]
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let wanted = |row: &str| filters.is_empty() || filters.iter().any(|f| row.contains(f));
    let bench = Bench::start(scale);
    let raw = Raw::new(fresh_token(&bench.key, &bench.credentials, 1));
    let keys = folder_keys(&bench, &raw);

    if wanted("hits") {
        cache_hits(&bench, scale);
    }
    if wanted("list") {
        listing(&bench, scale, &raw, &keys);
        list_then_get_each(&bench);
    }
    if wanted("cold") {
        cold_start(&bench, scale);
    }
    if wanted("concurrent") {
        concurrent_uncached(&bench, scale, &keys);
    }
    if wanted("signing") {
        signing(&bench, scale);
    }
    if wanted("uncached") {
        uncached_and_revalidated(&bench, scale, &raw, &keys);
    }
    if wanted("memory") {
        memory(&bench);
    }
    if wanted("fleet") {
        fleet(&bench, scale);
    }
}

/// Has every client read `uid` at once, so that its key, token and folder keys are loaded.
fn warm_up(rt: &tokio::runtime::Runtime, clients: &[AsyncSyVaultClient], uid: &str) {
    rt.block_on(async {
        let reads: Vec<_> = clients
            .iter()
            .map(|client| {
                let (client, uid) = (client.clone(), uid.to_owned());
                tokio::spawn(async move { client.secrets().get(&uid).await.map(drop) })
            })
            .collect();
        for read in reads {
            read.await.expect("task").expect("warm-up read");
        }
    });
}

/// A fleet on the real clock: `scale.fleet` async clients (each its own client, of one
/// identity) read the same secret at the same instant and then every 100 ms for four TTLs,
/// first with today's behaviour (no jitter, no refresh-ahead), then with the defaults.
/// Reported: the server's requests per 100 ms slot after the first TTL (max and mean, sampled
/// from its request count on a thread of its own) and the slowest read after the first TTL.
///
/// Each client first reads another secret, so that its key, token and folder keys are loaded
/// before the clock starts: a thousand cold starts are a few seconds of elliptic-curve work on
/// this machine, which would otherwise smear the fleet's start over several TTLs.
fn fleet(bench: &Bench, scale: Scale) {
    const SLOT: Duration = Duration::from_millis(100);
    let ttl = scale.fleet_ttl;
    let run_for = ttl * 4;
    let uid = bench.database.to_string();
    for defaults in [false, true] {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let clients: Vec<AsyncSyVaultClient> = (0..scale.fleet)
            .map(|_| {
                bench.asynchronous(|b| {
                    let b = b.cache_ttl(ttl);
                    if defaults {
                        b
                    } else {
                        b.cache_jitter_percent(0).refresh_ahead_percent(0)
                    }
                })
            })
            .collect();
        warm_up(&rt, &clients, bench.listed[0].as_ref());
        let stats = bench.server.stats();
        let start = Instant::now() + SLOT;
        let sampler = std::thread::spawn(move || {
            std::thread::sleep(start.saturating_duration_since(Instant::now()));
            let mut totals = vec![stats.total()];
            for k in 1.. {
                let next = start + SLOT * k;
                if next > start + run_for {
                    break;
                }
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                totals.push(stats.total());
            }
            totals
        });
        let slowest = rt.block_on(async {
            let tasks: Vec<_> = clients
                .iter()
                .map(|client| {
                    let (client, uid) = (client.clone(), uid.clone());
                    tokio::spawn(async move {
                        let mut slowest = Duration::ZERO;
                        let mut tick =
                            tokio::time::interval_at(tokio::time::Instant::from_std(start), SLOT);
                        while start.elapsed() < run_for {
                            tick.tick().await;
                            let began = Instant::now();
                            black_box(client.secrets().get(&uid).await.expect("get"));
                            if began.duration_since(start) > ttl + SLOT {
                                slowest = slowest.max(began.elapsed());
                            }
                        }
                        slowest
                    })
                })
                .collect();
            let mut slowest = Duration::ZERO;
            for task in tasks {
                slowest = slowest.max(task.await.expect("task"));
            }
            slowest
        });
        let totals = sampler.join().expect("sampler");
        let warm = usize::try_from(ttl.as_millis() / SLOT.as_millis()).unwrap_or(0) + 1;
        let slots: Vec<u64> = totals.windows(2).skip(warm).map(|w| w[1] - w[0]).collect();
        let max = slots.iter().copied().max().unwrap_or(0);
        let mean = slots.iter().sum::<u64>() as f64 / slots.len().max(1) as f64;
        let what = if defaults {
            "defaults"
        } else {
            "no jitter, no refresh-ahead"
        };
        let value = format!(
            "max {max}, mean {mean:.1} ({:.1}x); slowest read {slowest:.1?}",
            max as f64 / mean.max(1e-9)
        );
        note(
            &format!(
                "{} async clients, TTL {ttl:?}, {what}: requests/100 ms",
                scale.fleet
            ),
            &value,
            "reported (defaults: max <= 2x mean)",
            !defaults || (max as f64) <= 2.0 * mean,
        );
        drop(clients);
        rt.shutdown_timeout(Duration::from_secs(1));
    }
}
