//! Chaos: both clients run mixed operations at once while `syvault-dev` injects faults drawn
//! from a seed (latency, 429/500/503 with and without `Retry-After`, dropped connections,
//! truncated bodies, corrupted ciphertext, records served with another record's ciphertext).
//!
//! Every secret a client returns must be one of the revisions the admin side holds for that
//! record; no call may take longer than a bound; no error may contain a secret; nothing may
//! panic. A few seconds by default; `SYVAULT_CHAOS_SECS` runs longer and `SYVAULT_CHAOS_SEED`
//! picks the seed. The outcome counts are printed (`cargo test --test chaos -- --nocapture`).

use std::collections::BTreeMap;
use std::sync::{Barrier, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use syvault_dev::faults::Chaos;
use syvault_dev::wire::Access;
use syvault_proto::config::RotationPolicy;
use syvault_proto::model::Secret;
use syvault_proto::record::RecordPayload;
use syvault_proto::retry::RetryPolicy;
use syvault_proto::{Error, RecordUid};
use syvault_tests::sdk::{Async, Blocking, Sdk, SdkClient, Settings};
use syvault_tests::vault::Vault;

/// No single call may take longer: four attempts of at most two seconds each with short
/// backoffs, and for a rotation its five-second polling deadline and the final read, with room
/// for a loaded machine.
const CALL_BOUND: Duration = Duration::from_secs(30);

fn settings(vault: &Vault) -> Settings {
    Settings {
        cache_ttl: Duration::from_millis(200),
        retry: RetryPolicy::default()
            .with_max_attempts(4)
            .with_initial_backoff(Duration::from_millis(5))
            .with_max_backoff(Duration::from_millis(40))
            .with_max_retry_after(Duration::from_millis(40)),
        rotation: RotationPolicy::default()
            .with_initial_interval(Duration::from_millis(10))
            .with_max_interval(Duration::from_millis(50))
            .with_deadline(Duration::from_secs(5)),
        request_timeout: Duration::from_secs(2),
        ..vault.settings()
    }
}

/// `SplitMix64`, for the choice of operations.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

/// What the run saw, shared by the workers.
#[derive(Default)]
struct Ledger {
    /// Operation → outcome ("ok" or the error's kind) → count.
    outcomes: BTreeMap<String, usize>,
    /// The text of every error, checked for secrets at the end.
    error_texts: Vec<String>,
    /// Records the workers know of, with the field that holds a secret.
    records: Vec<(RecordUid, &'static str)>,
    /// Values the workers asked to create: they are secrets too.
    created_values: Vec<String>,
    slowest: Duration,
}

fn kind_of(error: &Error) -> String {
    let debug = format!("{error:?}");
    let name = debug
        .split([' ', '(', '{'])
        .next()
        .unwrap_or("?")
        .to_owned();
    match error.status() {
        Some(status) => format!("{name} {status}"),
        None => name,
    }
}

/// Every secret a client returns must be a revision the admin side holds for its record.
fn check_secret(vault: &Vault, secret: &Secret) {
    let history = vault
        .admin
        .history(secret.uid)
        .expect("the admin reads the history");
    let fields = |payload: &RecordPayload| -> Vec<(String, String)> {
        payload
            .fields
            .iter()
            .map(|(name, value)| (name.to_owned(), value.expose().to_owned()))
            .collect()
    };
    let returned: Vec<(String, String)> = secret
        .fields
        .iter()
        .map(|(name, value)| (name.to_owned(), value.expose().to_owned()))
        .collect();
    assert!(
        history.iter().any(|revision| revision.title == secret.title
            && fields(revision) == returned
            && revision.notes.expose() == secret.notes.expose()),
        "record {} was returned with a plaintext that is none of its revisions",
        secret.uid
    );
}

fn worker<S: Sdk>(
    name: &'static str,
    vault: &Vault,
    token: &str,
    seed: u64,
    run_for: Duration,
    start: &Barrier,
    ledger: &Mutex<Ledger>,
) {
    let settings = settings(vault);
    let connected = S::bootstrap(&vault.url(), token, &settings)
        .and_then(|credentials| S::connect(&vault.save(&credentials), &settings));
    // Past the barrier even on failure, so that the other threads do not wait forever.
    start.wait();
    let client = connected.expect("bootstrap and connect");
    let mut draw = Draw(seed);
    let deadline = Instant::now() + run_for;
    let mut created = 0;
    while Instant::now() < deadline {
        let records = ledger
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .records
            .clone();
        let (uid, field) = records[draw.below(records.len())];
        let started = Instant::now();
        let (op, outcome): (&str, Result<(), Error>) = match draw.below(6) {
            0 | 1 => (
                "get",
                client.get(uid.as_str()).map(|s| check_secret(vault, &s)),
            ),
            2 => (
                "list",
                client.list().map(|list| {
                    for summary in list {
                        let current = vault.admin.read_secret(summary.uid).expect("known");
                        assert_eq!(summary.title, current.title, "a listed title");
                    }
                }),
            ),
            3 => (
                "notation",
                client
                    .notation(&format!("sy://{uid}/field/{field}"))
                    .map(|selected| {
                        let history = vault.admin.history(uid).expect("history");
                        assert!(
                            history.iter().any(|revision| revision
                                .fields
                                .get(field)
                                .is_some_and(|value| value.expose() == selected.expose())),
                            "notation on {uid} returned none of its values"
                        );
                    }),
            ),
            4 => {
                created += 1;
                let value = format!("chaos-{name}-{seed}-{created}-value");
                let mut payload = RecordPayload::new(format!("chaos {name} {created}"));
                payload.fields.set("password", value.as_str());
                ledger
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .created_values
                    .push(value.clone());
                let result = client.create(vault.production, payload);
                if let Err(error) = &result {
                    check_failed_create(vault, error, &value);
                }
                (
                    "create",
                    result.map(|secret| {
                        assert_eq!(secret.field("password").unwrap().expose(), value);
                        check_secret(vault, &secret);
                        ledger
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .records
                            .push((secret.uid, "password"));
                    }),
                )
            }
            _ => (
                "rotate",
                client.rotate(vault.database.as_str()).map(|outcome| {
                    assert_eq!(outcome.secret.revision, outcome.revision);
                    check_secret(vault, &outcome.secret);
                }),
            ),
        };
        let took = started.elapsed();
        assert!(took < CALL_BOUND, "{op} took {took:?}");
        let mut ledger = ledger.lock().unwrap_or_else(PoisonError::into_inner);
        ledger.slowest = ledger.slowest.max(took);
        let outcome = match outcome {
            Ok(()) => "ok".to_owned(),
            Err(error) => {
                ledger.error_texts.push(format!("{error} {error:?}"));
                kind_of(&error)
            }
        };
        *ledger
            .outcomes
            .entry(format!("{name} {op}: {outcome}"))
            .or_default() += 1;
    }
}

/// Every UID a client draws is new, so a 409 can only meet the client's own first attempt:
/// a create must never report a conflict, and one reported as possibly stored must be.
fn check_failed_create(vault: &Vault, error: &Error, value: &str) {
    assert_ne!(
        error.code(),
        Some(&syvault_proto::error::ErrorCode::UidConflict),
        "a create reported a conflict with its own record"
    );
    if let Error::CreateUnconfirmed { uid, .. } = error {
        let uid: RecordUid = uid.parse().expect("the UID of an unconfirmed create");
        let stored = vault
            .admin
            .read_secret(uid)
            .expect("the unconfirmed secret exists");
        assert_eq!(
            stored.fields.get("password").map(|v| v.expose() == value),
            Some(true),
            "the unconfirmed secret holds the value sent"
        );
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
}

#[test]
fn both_clients_under_random_faults_return_only_true_plaintext() {
    let seed = env_u64("SYVAULT_CHAOS_SEED").unwrap_or(0x5EED_C4A0);
    let run_for = Duration::from_secs(env_u64("SYVAULT_CHAOS_SECS").unwrap_or(3));
    let vault = Vault::start();
    let second = vault
        .admin
        .create_client(vault.application, "chaos second client")
        .expect("client");
    vault
        .admin
        .grant(second.client_id, vault.production, Access::ReadWrite)
        .expect("grant");
    vault
        .admin
        .grant(second.client_id, vault.archive, Access::Read)
        .expect("grant");
    let ledger = Mutex::new(Ledger {
        records: vec![(vault.database, "password"), (vault.stripe, "api_key")],
        ..Ledger::default()
    });
    // Both clients bootstrap before the chaos starts: a one-time token is spent only once.
    let start = Barrier::new(3);
    thread::scope(|scope| {
        let (vault, ledger, start) = (&vault, &ledger, &start);
        let ureq = scope.spawn(move || {
            let token = vault.client.token.expose().to_owned();
            worker::<Blocking>("ureq", vault, &token, seed, run_for, start, ledger);
        });
        let hyper = scope.spawn(move || {
            let token = second.token.expose().to_owned();
            worker::<Async>("hyper", vault, &token, seed ^ 1, run_for, start, ledger);
        });
        start.wait();
        vault.faults().set_chaos(Some(
            Chaos::new(seed)
                .percent(25)
                .max_latency(Duration::from_millis(10)),
        ));
        for handle in [ureq, hyper] {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    vault.faults().clear();

    let ledger = ledger.into_inner().unwrap_or_else(PoisonError::into_inner);
    // Every secret value that existed during the run: no error may contain one.
    let mut secrets = ledger.created_values.clone();
    for (uid, field) in &ledger.records {
        for revision in vault.admin.history(*uid).expect("history") {
            if let Some(value) = revision.fields.get(field) {
                secrets.push(value.expose().to_owned());
            }
        }
    }
    for text in &ledger.error_texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "an error contains a secret"
            );
        }
    }
    report(seed, run_for, &ledger);
    let total: usize = ledger.outcomes.values().sum();
    let ok: usize = ledger
        .outcomes
        .iter()
        .filter(|(key, _)| key.ends_with(": ok"))
        .map(|(_, count)| count)
        .sum();
    assert!(ok > 0, "no operation succeeded under chaos");
    assert!(ok < total, "no fault reached a client");
}

fn report(seed: u64, run_for: Duration, ledger: &Ledger) {
    println!(
        "chaos: seed {seed:#x}, {run_for:?}, {} operations, slowest {:?}",
        ledger.outcomes.values().sum::<usize>(),
        ledger.slowest
    );
    for (outcome, count) in &ledger.outcomes {
        println!("  {count:>5}  {outcome}");
    }
}
