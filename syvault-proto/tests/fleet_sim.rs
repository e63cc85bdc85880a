//! A fleet on the virtual clock: 1,000 clients of one identity (replicas of one service),
//! started within the same second, each reading one secret by UID and one by `sy://` path every
//! second for an hour, against a 2,000-record vault in which one record changes every minute.
//! It counts what the fleet costs the vault, and asserts what issue 19 asks of the defaults:
//!
//! - requests spread over time: the busiest 100 ms slot after the first TTL is at most 1.5×
//!   the busiest of a fleet whose requests fall independently and uniformly (the floor of any
//!   scheme in which clients choose their times independently), and the busiest second at most
//!   2× the mean second;
//! - listing bytes per client per hour at most 2 % of re-listing every TTL;
//! - no read waits on the network after the first TTL;
//! - a 10-minute outage with `max_stale` of 15 minutes fails no read, and the first second
//!   after it costs the vault at most 1.2× a normal second.
//!
//! The same figures are printed for today's behaviour (jitter and refresh-ahead off, a server
//! without incremental listings): `cargo test -p syvault-proto --test fleet_sim -- --nocapture`.
//!
//! Every client is a real [`Client`] driven through the core's operations; only the server is
//! simulated. Requests and listing bytes are counted as a server would send them: a full listing
//! page counts the bytes of all its 500 records, but a client is handed, of each full page, only
//! the records it reads (so that a thousand clients do not each decode the whole vault sixty
//! times an hour). What a client asks for next depends on the records it reads, not on the
//! others, so the requests are those of clients handed whole pages. Deltas and reads by UID are
//! answered in full. Every request takes 10 ms.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chacha20::ChaCha20Rng;
use http::StatusCode;
use rand_core::{Rng, SeedableRng};
use syvault_proto::cache::CachePolicy;
use syvault_proto::config::ClientConfig;
use syvault_proto::jwt::TokenMode;
use syvault_proto::keys::ClientKey;
use syvault_proto::ops::{GetSecret, Operation, ResolveReference};
use syvault_proto::record::{self, RecordPayload};
use syvault_proto::retry::RetryPolicy;
use syvault_proto::secret::SymmetricKey;
use syvault_proto::step::{Input, Request, Response, Step};
use syvault_proto::wire::{
    Access, Base64Bytes, DataEnvelope, Folder, FolderList, ListQuery, Record, SecretList,
};
use syvault_proto::{Client, RecordUid, Timestamp, folder_key};
use uuid::Uuid;

const CLIENTS: usize = 1_000;
const RECORDS: usize = 2_000;
const PAGE: usize = 500;
const TTL_MS: u64 = 60_000;
const LATENCY_MS: u64 = 10;
const SLOT_MS: u64 = 100;
const API: &str = "/api/sm/v1";
const START: Timestamp = common::T0;

/// What the fleet runs with.
#[derive(Clone, Copy, Debug)]
struct Setup {
    /// The defaults (jitter, refresh-ahead, incremental listings), or today's behaviour.
    new: bool,
    duration_s: u64,
    /// When the vault is down, in ms from the start.
    outage: Option<(u64, u64)>,
}

impl Setup {
    fn policy(self) -> (CachePolicy, RetryPolicy) {
        let mut cache = CachePolicy::default();
        if !self.new {
            cache = cache.with_jitter_percent(0).with_refresh_ahead_percent(0);
        }
        if self.outage.is_some() {
            cache = cache.with_max_stale(Some(Duration::from_secs(15 * 60)));
        }
        let mut retry = RetryPolicy::default();
        if !self.new {
            retry = retry.with_budget(None);
        }
        (cache, retry)
    }
}

/// A record as it is from a time on.
struct Version {
    from_ms: u64,
    record: Record,
    /// The body of `GET /secrets/{uid}`.
    body: Vec<u8>,
}

/// The vault as the simulated server holds it over the whole run: every record's versions and
/// every change, with their times, so that each client can be run on its own through the hour
/// (the clients share nothing but the vault, and the vault's changes do not depend on them).
struct Vault {
    /// Each record's versions, oldest first; records sorted by UID, as listings are.
    versions: Vec<Vec<Version>>,
    index: HashMap<RecordUid, usize>,
    /// The title of each record.
    titles: Vec<String>,
    /// The bytes of each page of a full listing, from each time on.
    page_bytes: Vec<Vec<(u64, usize)>>,
    folders: Vec<u8>,
    /// Every change: when, and which record. A sync token is a position in it.
    log: Vec<(u64, RecordUid)>,
    /// Whether it answers incremental listings.
    sync: bool,
}

fn title(i: usize) -> String {
    format!("S{i:04}")
}

impl Vault {
    /// The vault and its changes: one record every minute, half a minute in.
    fn new(
        client_id: Uuid,
        identity: &ClientKey,
        sync: bool,
        duration_ms: u64,
        rng: &mut ChaCha20Rng,
    ) -> Self {
        let folder_id = Uuid::from_u128(0xf01d);
        let key = SymmetricKey::generate(rng);
        let mut created: Vec<(RecordUid, String)> = (0..RECORDS)
            .map(|i| (RecordUid::generate(rng), title(i)))
            .collect();
        created.sort_by_key(|(uid, _)| *uid);
        let version = |i: usize, revision: u64, from_ms: u64, rng: &mut ChaCha20Rng| {
            let (uid, title) = &created[i];
            let record = seal(*uid, folder_id, &key, title, revision, rng);
            Version {
                from_ms,
                body: serde_json::to_vec(&DataEnvelope::new(record.clone())).unwrap(),
                record,
            }
        };
        let mut versions: Vec<Vec<Version>> =
            (0..RECORDS).map(|i| vec![version(i, 1, 0, rng)]).collect();
        let mut log = Vec::new();
        let mut at = 30_000;
        while at < duration_ms {
            let i = usize::try_from(rng.next_u64() % RECORDS as u64).unwrap();
            let revision = versions[i].last().unwrap().record.revision + 1;
            let next = version(i, revision, at, rng);
            log.push((at, next.record.uid));
            versions[i].push(next);
            at += 60_000;
        }
        let folders = serde_json::to_vec(&FolderList {
            data: vec![Folder {
                folder_id,
                parent_id: None,
                encrypted_key: Base64Bytes(folder_key::wrap(
                    &key,
                    &folder_id,
                    &client_id,
                    &identity.public_key(),
                    rng,
                )),
                encrypted_name: Base64Bytes(folder_key::seal_name(&key, "Production", rng)),
                access: Access::Read,
            }],
        })
        .unwrap();
        let mut vault = Self {
            index: created
                .iter()
                .enumerate()
                .map(|(i, (uid, _))| (*uid, i))
                .collect(),
            titles: created.into_iter().map(|(_, title)| title).collect(),
            versions,
            page_bytes: Vec::new(),
            folders,
            log,
            sync,
        };
        // A page's bytes change when one of its records does, and with the token on the last.
        let mut times: Vec<u64> = vec![0];
        times.extend(vault.log.iter().map(|(at, _)| *at));
        vault.page_bytes = (0..RECORDS / PAGE)
            .map(|p| {
                times
                    .iter()
                    .map(|&t| (t, vault.full_page(p, t).len()))
                    .collect()
            })
            .collect();
        vault
    }

    /// Record `i` as it is at `t`.
    fn at(&self, i: usize, t: u64) -> &Version {
        let versions = &self.versions[i];
        let n = versions.partition_point(|v| v.from_ms <= t);
        &versions[n - 1]
    }

    /// How many changes were made up to `t`: the position a sync token of then stands for.
    fn position(&self, t: u64) -> usize {
        self.log.partition_point(|(at, _)| *at <= t)
    }

    /// Full page `p` at `t`, all of its records included.
    fn full_page(&self, p: usize, t: u64) -> Vec<u8> {
        let records = (p * PAGE..(p + 1) * PAGE)
            .map(|i| self.at(i, t).record.clone())
            .collect();
        self.page(p, records, t)
    }

    fn page(&self, p: usize, records: Vec<Record>, t: u64) -> Vec<u8> {
        let last = p + 1 == RECORDS / PAGE;
        let mut page = SecretList::full(records, (!last).then(|| format!("p{}", p + 1)));
        if last && self.sync {
            page.sync_token = Some(format!("t{}", self.position(t)));
        }
        serde_json::to_vec(&page).unwrap()
    }

    /// The answer at `t` to `request` from `member`, and the listing bytes it counts.
    fn answer(&self, request: &Request, member: &Member, t: u64) -> (Response, usize) {
        let path = request.uri().path().strip_prefix(API).unwrap();
        if path == "/folders" {
            return (ok(self.folders.clone()), 0);
        }
        if path == "/secrets" {
            let query = ListQuery::parse(request.uri().query().unwrap_or_default()).unwrap();
            if let Some(since) = query.since.filter(|_| self.sync) {
                let from: usize = since[1..].parse().unwrap();
                let to = self.position(t);
                let mut changed: Vec<usize> = self.log[from..to]
                    .iter()
                    .map(|(_, uid)| self.index[uid])
                    .collect();
                changed.sort_unstable();
                changed.dedup();
                let mut page = SecretList::full(
                    changed
                        .iter()
                        .map(|&i| self.at(i, t).record.clone())
                        .collect(),
                    None,
                );
                page.delta = true;
                page.sync_token = Some(format!("t{to}"));
                let body = serde_json::to_vec(&page).unwrap();
                let bytes = body.len();
                return (ok(body), bytes);
            }
            let p = query.cursor.map_or(0, |c| c[1..].parse::<usize>().unwrap());
            // Of the page, only the records this client reads (see the module's comment).
            let records = [member.uid_index, member.path_index]
                .into_iter()
                .filter(|i| i / PAGE == p)
                .map(|i| self.at(i, t).record.clone())
                .collect();
            let sizes = &self.page_bytes[p];
            let bytes = sizes[sizes.partition_point(|(from, _)| *from <= t) - 1].1;
            return (ok(self.page(p, records, t)), bytes);
        }
        let uid: RecordUid = path.strip_prefix("/secrets/").unwrap().parse().unwrap();
        let version = self.at(self.index[&uid], t);
        let etag = format!("\"r{}\"", version.record.revision);
        if request
            .headers()
            .get("if-none-match")
            .is_some_and(|tag| tag.to_str().unwrap() == etag)
        {
            let response = http::Response::builder()
                .status(StatusCode::NOT_MODIFIED)
                .body(Vec::new())
                .unwrap();
            return (response, 0);
        }
        let mut response = ok(version.body.clone());
        response.headers_mut().insert("etag", etag.parse().unwrap());
        (response, 0)
    }
}

fn seal(
    uid: RecordUid,
    folder_id: Uuid,
    key: &SymmetricKey,
    title: &str,
    revision: u64,
    rng: &mut ChaCha20Rng,
) -> Record {
    let mut payload = RecordPayload::new(title);
    payload.fields.set("password", format!("p{revision}"));
    let sealed = record::seal(&uid, key, &payload, rng);
    Record {
        uid,
        folder_id,
        revision,
        encrypted_dek: Base64Bytes(sealed.encrypted_dek),
        encrypted_data: Base64Bytes(sealed.encrypted_data),
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

fn ok(body: Vec<u8>) -> Response {
    http::Response::builder().status(200).body(body).unwrap()
}

fn unavailable() -> Response {
    common::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
}

/// One replica.
struct Member {
    client: Client,
    rng: ChaCha20Rng,
    /// When in each second it reads, in ms.
    offset: u64,
    uid: RecordUid,
    uid_index: usize,
    path: String,
    path_index: usize,
}

/// What a run measured.
#[derive(Debug, Default)]
struct Figures {
    /// Requests per 100 ms slot.
    slots: Vec<u32>,
    listing_bytes: u64,
    full_listing_bytes: u64,
    reads: u64,
    /// Reads after the first TTL that sent a request or waited for one.
    waited: u64,
    failed: u64,
}

impl Figures {
    /// Requests per window of `per` slots, from `from_ms` to `to_ms`.
    fn windows(&self, per: usize, from_ms: u64, to_ms: u64) -> Vec<u32> {
        let (from, to) = (slot(from_ms), slot(to_ms).min(self.slots.len()));
        self.slots[from..to]
            .chunks(per)
            .filter(|c| c.len() == per)
            .map(|c| c.iter().sum())
            .collect()
    }
}

fn slot(ms: u64) -> usize {
    usize::try_from(ms / SLOT_MS).unwrap()
}

fn max_mean(counts: &[u32]) -> (u32, f64) {
    let max = counts.iter().copied().max().unwrap_or(0);
    let sum: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    #[allow(clippy::cast_precision_loss)]
    let mean = sum as f64 / counts.len().max(1) as f64;
    (max, mean)
}

/// Runs `op` for `member` from `at` (ms) to its end, answering each request 10 ms later;
/// returns its result, when it ended and whether it used the network.
fn drive<O: Operation>(
    vault: &Vault,
    member: &mut Member,
    figures: &mut Figures,
    outage: Option<(u64, u64)>,
    op: &mut O,
    at: u64,
) -> (syvault_proto::Result<O::Output>, u64, bool) {
    let mut now = at;
    let mut input = Input::Start;
    let mut network = false;
    loop {
        let step = op.step(
            &mut member.client,
            input,
            START + Duration::from_millis(now),
            &mut member.rng,
        );
        input = match step {
            Step::Send(request) => {
                network = true;
                if let Some(count) = figures.slots.get_mut(slot(now)) {
                    *count += 1;
                }
                let down = outage.is_some_and(|(from, to)| (from..to).contains(&now));
                let response = if down {
                    unavailable()
                } else {
                    let (response, bytes) = vault.answer(&request, member, now);
                    figures.listing_bytes += bytes as u64;
                    response
                };
                now += LATENCY_MS;
                Input::Response(response)
            }
            Step::Sleep(until) | Step::Join(until) => {
                network = true;
                let until = until.saturating_duration_since(START).as_millis();
                now = now.max(u64::try_from(until).unwrap());
                Input::Wake
            }
            Step::Done(result) => return (result, now, network),
        };
    }
}

/// Runs the fleet through `setup` and sums what its clients cost the vault.
fn run(setup: Setup, seed: u64) -> Figures {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let identity = ClientKey::generate(&mut rng);
    let client_id = Uuid::from_u128(0xf1ee7);
    let duration_ms = setup.duration_s * 1_000;
    let vault = Vault::new(client_id, &identity, setup.new, duration_ms, &mut rng);
    let (cache, retry) = setup.policy();
    let mut config = ClientConfig::new(common::SERVER, client_id, identity.to_client_secret());
    config.cache = cache;
    config.retry = retry;
    // Tokens of the longest lifetime: signing costs no requests, only time here.
    config.token_mode = TokenMode::Reuse {
        lifetime: Duration::from_secs(3_600),
        refresh_margin: Duration::from_secs(60),
    };
    // Each client: the record it reads by UID, the one it reads by path, when in the second
    // it reads, and the seed of its own RNG.
    let fleet: Vec<[u64; 4]> = (0..CLIENTS)
        .map(|_| {
            [
                rng.next_u64() % RECORDS as u64,
                rng.next_u64() % RECORDS as u64,
                rng.next_u64() % 1_000,
                rng.next_u64(),
            ]
        })
        .collect();
    // The clients share nothing but the vault, whose history is fixed: each one is run through
    // the whole run in turn, which keeps its state in the processor's caches, and the fleet is
    // split between threads.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let figures: Vec<Figures> = std::thread::scope(|scope| {
        let workers: Vec<_> = fleet
            .chunks(CLIENTS.div_ceil(threads))
            .map(|part| {
                let (vault, config) = (&vault, &config);
                scope.spawn(move || {
                    let mut figures = Figures {
                        slots: vec![0; slot(duration_ms) + 1],
                        ..Figures::default()
                    };
                    for &[uid_index, path_index, offset, seed] in part {
                        let (uid_index, path_index) = (
                            usize::try_from(uid_index).unwrap(),
                            usize::try_from(path_index).unwrap(),
                        );
                        let mut member = Member {
                            client: Client::new(config.clone()).unwrap(),
                            rng: ChaCha20Rng::seed_from_u64(seed),
                            offset,
                            uid: vault.at(uid_index, 0).record.uid,
                            uid_index,
                            path: format!(
                                "sy://Production/{}/field/password",
                                vault.titles[path_index]
                            ),
                            path_index,
                        };
                        simulate(vault, &mut member, &mut figures, setup);
                    }
                    figures
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut total = Figures {
        slots: vec![0; slot(duration_ms) + 1],
        full_listing_bytes: vault.page_bytes.iter().map(|p| p[0].1 as u64).sum(),
        ..Figures::default()
    };
    for part in figures {
        for (sum, count) in total.slots.iter_mut().zip(&part.slots) {
            *sum += count;
        }
        total.listing_bytes += part.listing_bytes;
        total.reads += part.reads;
        total.waited += part.waited;
        total.failed += part.failed;
    }
    total
}

/// One client's run: every second, a read by UID and one by path, then the background work
/// they asked for.
fn simulate(vault: &Vault, member: &mut Member, figures: &mut Figures, setup: Setup) {
    for second in 0..setup.duration_s {
        let at = second * 1_000 + member.offset;
        let warm = at >= TTL_MS;
        let mut get = GetSecret::new(member.uid);
        let (result, after, network) = drive(vault, member, figures, setup.outage, &mut get, at);
        figures.reads += 1;
        figures.failed += u64::from(result.is_err());
        figures.waited += u64::from(warm && network);
        let mut resolve = ResolveReference::new(&member.path);
        let (result, after, network) =
            drive(vault, member, figures, setup.outage, &mut resolve, after);
        figures.reads += 1;
        figures.failed += u64::from(result.is_err());
        figures.waited += u64::from(warm && network);
        // The background work the reads asked for, running beside them: each job is done well
        // before the next second's reads.
        while let Some(mut job) = member
            .client
            .take_background(START + Duration::from_millis(after))
        {
            let _ = drive(vault, member, figures, setup.outage, &mut job, after);
        }
    }
}

/// The busiest 100 ms slot of `total` requests falling independently and uniformly over
/// `slots` slots.
fn ideal_max(total: u32, slots: usize, rng: &mut ChaCha20Rng) -> u32 {
    let mut counts = vec![0u32; slots];
    for _ in 0..total {
        counts[usize::try_from(rng.next_u64() % slots as u64).unwrap()] += 1;
    }
    counts.into_iter().max().unwrap_or(0)
}

#[allow(clippy::cast_precision_loss)]
fn report(name: &str, setup: Setup, figures: &Figures, rng: &mut ChaCha20Rng) -> (f64, f64, f64) {
    let end = setup.duration_s * 1_000;
    let after_ttl = TTL_MS + 1_000;
    let slots = figures.windows(1, after_ttl, end);
    let seconds = figures.windows(10, after_ttl, end);
    let (max100, mean100) = max_mean(&slots);
    let (max1s, mean1s) = max_mean(&seconds);
    let total: u32 = slots.iter().sum();
    let ideal = ideal_max(total, slots.len(), rng);
    let hours = setup.duration_s as f64 / 3_600.0;
    let per_client_hour = figures.listing_bytes as f64 / CLIENTS as f64 / hours;
    let relisting = figures.full_listing_bytes as f64 * 3_600_000.0 / TTL_MS as f64;
    let bytes_ratio = per_client_hour / relisting;
    println!(
        "{name}: after the first TTL, per 100 ms slot max {max100} mean {mean100:.2} \
         (max/mean {:.1}; an ideal independent fleet's max {ideal}, ratio {:.2}); per second \
         max {max1s} mean {mean1s:.1} (max/mean {:.2}); listing bytes per client per hour \
         {per_client_hour:.0} = {:.2} % of re-listing every TTL ({relisting:.0}); reads {} of \
         which {} waited on the network after the first TTL and {} failed",
        f64::from(max100) / mean100,
        f64::from(max100) / f64::from(ideal),
        f64::from(max1s) / mean1s,
        bytes_ratio * 100.0,
        figures.reads,
        figures.waited,
        figures.failed,
    );
    (
        f64::from(max100) / f64::from(ideal),
        f64::from(max1s) / mean1s,
        bytes_ratio,
    )
}

#[test]
fn a_fleet_spreads_its_requests_and_lists_the_vault_once() {
    let mut rng = ChaCha20Rng::seed_from_u64(19);
    let hour = |new| Setup {
        new,
        duration_s: 3_600,
        outage: None,
    };
    let today = run(hour(false), 1);
    report("today", hour(false), &today, &mut rng);
    let fleet = run(hour(true), 1);
    let (slot_ratio, second_ratio, bytes_ratio) = report("defaults", hour(true), &fleet, &mut rng);
    assert!(slot_ratio <= 1.5, "{slot_ratio}");
    assert!(second_ratio <= 2.0, "{second_ratio}");
    assert!(bytes_ratio <= 0.02, "{bytes_ratio}");
    assert_eq!(fleet.waited, 0);
    assert_eq!(fleet.failed, 0);
    // Today's fleet moves in lockstep, re-lists every TTL and waits at every expiry.
    assert!(today.waited > 1_000 * 60);
}

#[test]
#[allow(clippy::cast_precision_loss)]
fn a_fleet_rides_out_an_outage_and_does_not_stampede_the_recovering_vault() {
    let (down, up) = (15 * 60_000, 25 * 60_000);
    let setup = |new| Setup {
        new,
        duration_s: 30 * 60,
        outage: Some((down, up)),
    };
    for new in [false, true] {
        let figures = run(setup(new), 2);
        // A normal second: the mean over the steady minutes before the outage.
        let normal = figures.windows(10, 2 * 60_000, down);
        let (_, normal_mean) = max_mean(&normal);
        let first = figures.windows(10, up, up + 1_000)[0];
        let during = figures.windows(10, down, up);
        let (during_max, during_mean) = max_mean(&during);
        let name = if new { "defaults" } else { "today" };
        println!(
            "{name}, 10-minute outage with max_stale 15 min: {} failed reads of {}; requests \
             per second before {normal_mean:.1}, during mean {during_mean:.1} max \
             {during_max}, in the first second after {first} ({:.2} of a normal second)",
            figures.failed,
            figures.reads,
            f64::from(first) / normal_mean,
        );
        if new {
            assert_eq!(figures.failed, 0);
            assert!(
                f64::from(first) <= 1.2 * normal_mean,
                "{first} {normal_mean}"
            );
        }
    }
}
