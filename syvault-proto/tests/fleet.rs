//! The rules that keep a fleet of clients from moving in lockstep or piling onto a recovering
//! vault: jittered expiry, refresh-ahead run as background work, the stale backoff, the retry
//! budget, reads of references by UID and listings that do not decrypt what the cache holds.

mod common;

use std::cell::Cell;
use std::time::Duration;

use chacha20::ChaCha20Rng;
use common::{World, error};
use http::StatusCode;
use rand_core::SeedableRng;
use syvault_proto::cache::CachePolicy;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::ops::{GetSecret, Operation};
use syvault_proto::record::RecordPayload;
use syvault_proto::retry::{RetryBudget, RetryPolicy};
use syvault_proto::step::{Input, Request, Response, Step};
use syvault_proto::{Error, RecordUid};

const TTL: Duration = Duration::from_secs(60);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn password(secret: &syvault_proto::model::Secret) -> &str {
    secret.field("password").unwrap().expose()
}

// Responders in the shape `World::drive` takes.
#[allow(clippy::unnecessary_wraps)]
fn healthy(w: &mut World, request: &Request) -> Result<Response, Error> {
    Ok(w.serve(request))
}

#[allow(clippy::unnecessary_wraps)]
fn unavailable(_: &mut World, _: &Request) -> Result<Response, Error> {
    Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"))
}

fn refused(_: &mut World, _: &Request) -> Result<Response, Error> {
    Err(Error::transport(TransportErrorKind::Connect, "scripted"))
}

/// A client without jitter (so that times are exact) whose driver runs background work, and a
/// secret it read and then revalidated once, so that its entry is in a regular cycle: fresh
/// for 60 s from `w.now`, refreshed ahead from 48 s on.
fn settled(configure: impl FnOnce(&mut CachePolicy)) -> (World, RecordUid) {
    let mut w = World::with_config(|c| {
        c.cache = CachePolicy::default().with_jitter_percent(0);
        configure(&mut c.cache);
    });
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    w.advance(TTL);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    // The driver runs background work: it asks after each operation.
    assert!(w.client.take_background(w.now).is_none());
    (w, uid)
}

fn read(w: &mut World, uid: RecordUid) -> String {
    let op = w.client.get(uid);
    let before = w.sent.len();
    let secret = w.drive(op, |_, request| {
        panic!("the read waited on the network: {}", request.uri())
    });
    assert_eq!(w.sent.len(), before);
    password(&secret.unwrap()).to_owned()
}

// ---- refresh-ahead ----------------------------------------------------------------------------

#[test]
fn a_read_in_the_last_fifth_of_the_ttl_is_served_at_once_and_refreshes_once_in_the_background() {
    let (mut w, uid) = settled(|_| {});
    w.advance(secs(47));
    read(&mut w, uid);
    assert!(w.client.take_background(w.now).is_none(), "not yet due");

    w.advance(secs(1));
    for _ in 0..5 {
        assert_eq!(read(&mut w, uid), "hunter2");
    }
    let job = w
        .client
        .take_background(w.now)
        .expect("one refresh asked for");
    assert!(
        w.client.take_background(w.now).is_none(),
        "five reads, one refresh"
    );
    let before = w.sent.len();
    w.drive(job, healthy).unwrap();
    assert_eq!(w.sent.len(), before + 1);
    let revalidation = w.sent.last().unwrap();
    assert_eq!(revalidation.headers()["if-none-match"], "\"r1\"");
    let stats = w.client.stats();
    assert_eq!((stats.background_refreshes, stats.revalidations), (1, 2));

    // The 304 renewed the entry from the refresh on: no request for another 48 s.
    w.advance(secs(47));
    read(&mut w, uid);
    assert!(w.client.take_background(w.now).is_none());
    w.advance(secs(1));
    read(&mut w, uid);
    assert!(w.client.take_background(w.now).is_some());
}

#[test]
fn a_background_refresh_picks_up_a_changed_record() {
    let (mut w, uid) = settled(|_| {});
    let mut payload = RecordPayload::new("Database");
    payload.fields.set("password", "rotated");
    w.store(uid, "Production", &payload, 2);
    w.advance(secs(50));
    assert_eq!(read(&mut w, uid), "hunter2");
    assert_eq!(w.run_background(healthy), 1);
    assert_eq!(read(&mut w, uid), "rotated");
}

#[test]
fn a_driver_that_runs_no_background_work_revalidates_in_the_read() {
    let mut w = World::with_config(|c| c.cache = CachePolicy::default().with_jitter_percent(0));
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    for _ in 0..59 {
        w.advance(secs(1));
        read(&mut w, uid);
    }
    w.advance(secs(1));
    let before = w.sent.len();
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert_eq!(w.sent.len(), before + 1, "revalidated in the read");
    assert!(
        w.client.take_background(w.now).is_none(),
        "no read asked for background work"
    );
}

#[test]
fn an_expired_entry_read_during_its_background_refresh_joins_it() {
    let (mut w, uid) = settled(|_| {});
    w.advance(secs(55));
    read(&mut w, uid);
    let mut job = w.client.take_background(w.now).unwrap();
    let Step::Send(request) = job.step(&mut w.client, Input::Start, w.now, &mut w.rng) else {
        panic!("the refresh sends");
    };
    // The entry expires while the refresh is out: a read joins it rather than sending again.
    w.advance(secs(6));
    let mut foreground = GetSecret::new(uid);
    let step = foreground.step(&mut w.client, Input::Start, w.now, &mut w.rng);
    assert!(matches!(step, Step::Join(_)), "{step:?}");
    let response = w.serve(&request);
    assert!(matches!(
        job.step(&mut w.client, Input::Response(response), w.now, &mut w.rng),
        Step::Done(Ok(()))
    ));
    let Step::Done(Ok(secret)) = foreground.step(&mut w.client, Input::Wake, w.now, &mut w.rng)
    else {
        panic!("the read takes the refresh's result");
    };
    assert_eq!(password(&secret), "hunter2");
    assert_eq!(w.client.stats().coalesced_waits, 1);
}

#[test]
fn a_refresh_finds_a_read_already_fetching_and_sends_nothing() {
    let (mut w, uid) = settled(|_| {});
    w.advance(secs(50));
    read(&mut w, uid);
    let job = w.client.take_background(w.now).unwrap();
    // A read past the cache (as after a rotation) is fetching the record.
    w.advance(secs(11));
    let mut foreground = GetSecret::new(uid);
    let Step::Send(request) = foreground.step(&mut w.client, Input::Start, w.now, &mut w.rng)
    else {
        panic!("the expired entry is revalidated");
    };
    let before = w.sent.len();
    w.drive(job, |_, _| panic!("a second request")).unwrap();
    assert_eq!(w.sent.len(), before);
    let response = w.serve(&request);
    assert!(matches!(
        foreground.step(&mut w.client, Input::Response(response), w.now, &mut w.rng),
        Step::Done(Ok(_))
    ));
}

#[test]
fn a_failed_background_refresh_never_fails_a_read_and_the_entry_then_expires_normally() {
    let (mut w, uid) = settled(|_| {});
    w.advance(secs(50));
    read(&mut w, uid);
    assert_eq!(w.run_background(unavailable), 1);
    // One request, never retried in the background.
    assert_eq!(w.client.stats().retries, 0);
    for _ in 0..9 {
        w.advance(secs(1));
        assert_eq!(read(&mut w, uid), "hunter2");
    }
    assert!(w.client.take_background(w.now).is_none(), "not asked again");
    w.advance(secs(1));
    let op = w.client.get(uid);
    let result = w.drive(op, unavailable);
    assert_eq!(
        result.unwrap_err().status(),
        Some(503),
        "expired, without max_stale"
    );
}

#[test]
fn background_work_taken_before_a_reset_or_a_cache_clear_does_nothing() {
    for clear in [true, false] {
        let (mut w, uid) = settled(|_| {});
        w.advance(secs(50));
        read(&mut w, uid);
        let job = w.client.take_background(w.now).unwrap();
        if clear {
            w.client.clear_cache();
        } else {
            w.client.reset();
        }
        let before = w.sent.len();
        w.drive(job, |_, _| panic!("a refresh after the reset"))
            .unwrap();
        assert_eq!(w.sent.len(), before);
        assert!(w.client.take_background(w.now).is_none());
    }
}

#[test]
fn an_abandoned_refresh_may_be_asked_for_again() {
    let (mut w, uid) = settled(|_| {});
    w.advance(secs(50));
    read(&mut w, uid);
    let mut job = w.client.take_background(w.now).unwrap();
    assert!(matches!(
        job.step(&mut w.client, Input::Start, w.now, &mut w.rng),
        Step::Send(_)
    ));
    job.abandon(&mut w.client);
    read(&mut w, uid);
    assert_eq!(w.run_background(healthy), 1);
    // A job dropped without a word counts as running until it has been out two minutes.
    w.advance(secs(50));
    read(&mut w, uid);
    drop(w.client.take_background(w.now).unwrap());
    w.advance(secs(11));
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert!(w.client.take_background(w.now).is_none());
}

#[test]
fn at_most_four_background_jobs_run_at_once() {
    let mut w = World::with_config(|c| c.cache = CachePolicy::default().with_jitter_percent(0));
    let uids: Vec<RecordUid> = (0..6)
        .map(|i| w.add_secret("Production", &format!("S{i}"), &[("password", "p")]))
        .collect();
    let op = w.client.list();
    w.run(op).unwrap();
    assert!(w.client.take_background(w.now).is_none());
    w.advance(TTL);
    for uid in &uids {
        let op = w.client.get(*uid);
        w.run(op).unwrap();
    }
    w.advance(secs(50));
    for uid in &uids {
        read(&mut w, *uid);
    }
    let mut jobs: Vec<_> = (0..4)
        .map(|_| w.client.take_background(w.now).unwrap())
        .collect();
    assert!(w.client.take_background(w.now).is_none(), "four are out");
    w.drive(jobs.pop().unwrap(), healthy).unwrap();
    assert!(w.client.take_background(w.now).is_some());
}

// ---- jitter -------------------------------------------------------------------------------------

/// When a client that read a secret at T0 and keeps reading it every second revalidates in
/// the read (its driver runs no background work), over ten minutes.
fn revalidation_times(seed: u64, policy: CachePolicy) -> Vec<u64> {
    let mut w = World::with_config(|c| c.cache = policy);
    w.rng = ChaCha20Rng::seed_from_u64(seed);
    let uid = w.add_secret("Production", "Database", &[("password", "p")]);
    let mut times = Vec::new();
    for _ in 0..600 {
        let before = w.sent.len();
        let op = w.client.get(uid);
        w.run(op).unwrap();
        if w.sent.len() > before {
            times.push(w.now.saturating_duration_since(common::T0).as_secs());
        }
        w.advance(secs(1));
    }
    times
}

#[test]
fn expiry_jitter_is_drawn_from_the_injected_rng() {
    let jittered = revalidation_times(1, CachePolicy::default());
    assert_eq!(jittered, revalidation_times(1, CachePolicy::default()));
    assert_ne!(jittered, revalidation_times(2, CachePolicy::default()));
    // Each TTL is 54 to 60 s (read every second, so revalidated 54 to 61 s apart).
    for pair in jittered[1..].windows(2) {
        assert!((54..=61).contains(&(pair[1] - pair[0])), "{jittered:?}");
    }
    // Without jitter, every client revalidates at the same instants.
    let exact = CachePolicy::default().with_jitter_percent(0);
    let lockstep = revalidation_times(1, exact);
    assert_eq!(lockstep, revalidation_times(2, exact));
    assert_eq!(&lockstep[..4], [0, 60, 120, 180]);
}

#[test]
fn jitter_and_refresh_ahead_of_100_percent_or_more_are_refused() {
    for policy in [
        CachePolicy::default().with_jitter_percent(100),
        CachePolicy::default().with_refresh_ahead_percent(100),
    ] {
        let mut config = syvault_proto::config::ClientConfig::new(
            common::SERVER,
            uuid::Uuid::nil(),
            syvault_proto::keys::ClientKey::generate(&mut ChaCha20Rng::seed_from_u64(1))
                .to_client_secret(),
        );
        config.cache = policy;
        assert!(
            matches!(
                syvault_proto::Client::new(config),
                Err(Error::InvalidInput { .. })
            ),
            "{policy:?}"
        );
    }
}

// ---- the stale backoff ------------------------------------------------------------------------

#[test]
fn while_served_stale_an_entry_is_revalidated_on_a_growing_backoff_not_on_every_read() {
    for background in [false, true] {
        let mut w = World::with_config(|c| {
            c.cache = CachePolicy::default()
                .with_jitter_percent(0)
                .with_max_stale(Some(Duration::from_secs(900)));
        });
        let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
        let op = w.client.get(uid);
        w.run(op).unwrap();
        if background {
            assert!(w.client.take_background(w.now).is_none());
        }
        w.advance(TTL);
        // Ten minutes of outage, a read every second: each one is served, and only the
        // revalidations the backoff allows reach the server.
        let mut attempts = Vec::new();
        for second in 0..600 {
            let before = w.sent.len();
            let op = w.client.get(uid);
            let secret = w.drive(op, refused).unwrap();
            assert_eq!(password(&secret), "hunter2");
            w.run_background(refused);
            if w.sent.len() > before {
                attempts.push(second);
            }
            w.advance(secs(1));
        }
        let gaps: Vec<u64> = attempts.windows(2).map(|p| p[1] - p[0]).collect();
        // 7.5, 15, 30 s, then 60 s, each up to a quarter longer (read every second).
        let ceilings = [7_500, 15_000, 30_000, 60_000, 60_000, 60_000, 60_000];
        for (gap, ceiling) in gaps.iter().zip(ceilings) {
            let gap = gap * 1_000;
            assert!(
                gap >= ceiling && gap <= ceiling * 5 / 4 + 1_000,
                "{background}: {attempts:?}"
            );
        }
        assert!(attempts.len() <= 14, "{attempts:?}");
        let stats = w.client.stats();
        assert!(stats.stale_serves >= 590, "{stats:?}");
        if background {
            // No read waited: every revalidation ran in the background.
            assert_eq!(stats.background_refreshes, attempts.len() as u64 - 1);
        }
        // The vault is back: the next due revalidation (at most 75 s away) renews the entry.
        let mut recovered = false;
        for _ in 0..76 {
            let op = w.client.get(uid);
            w.run(op).unwrap();
            w.run_background(healthy);
            w.advance(secs(1));
            recovered |= w.client.stats().revalidations > 0;
        }
        assert!(recovered);
    }
}

// ---- the retry budget ---------------------------------------------------------------------------

#[test]
fn retries_beyond_the_budget_fail_fast_with_a_retryable_error() {
    let mut w = World::new();
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.list();
    w.run(op).unwrap();
    w.client.clear_cache();
    // A lone failed request may use its three retries.
    let op = w.client.get(a);
    let first = w.drive(op, refused).unwrap_err();
    assert!(first.is_retryable());
    assert_eq!(w.client.stats().retries, 3);
    // The next one, within the window, may not: it fails after one attempt.
    let before = w.sent.len();
    let op = w.client.get(a);
    let second = w.drive(op, refused).unwrap_err();
    assert!(second.is_retryable(), "{second:?}");
    assert_eq!(w.sent.len(), before + 1);
    let stats = w.client.stats();
    assert_eq!((stats.retries, stats.retries_refused), (3, 1));
    // Once the window has slid past them, retries are allowed again.
    w.advance(secs(11));
    let op = w.client.get(a);
    let _ = w.drive(op, refused);
    assert_eq!(w.client.stats().retries, 6);
}

#[test]
fn a_busy_client_may_retry_a_fifth_of_its_requests() {
    let mut w = World::new();
    let uids: Vec<RecordUid> = (0..100)
        .map(|i| w.add_secret("Production", &format!("S{i}"), &[("password", "p")]))
        .collect();
    let op = w.client.list();
    w.run(op).unwrap();
    w.client.clear_cache();
    // Every read fails at its first attempt, and would succeed if retried.
    for uid in &uids {
        let first = Cell::new(true);
        let op = w.client.get(*uid);
        let _ = w.drive(op, |w, request| {
            if first.replace(false) {
                Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"))
            } else {
                Ok(w.serve(request))
            }
        });
    }
    let stats = w.client.stats();
    // 100 reads and the listing's 2 requests allow about 20 retries of the 100 wanted.
    assert!((19..=21).contains(&stats.retries), "{stats:?}");
    assert_eq!(stats.retries + stats.retries_refused, 100, "{stats:?}");
}

#[test]
fn a_stale_entry_is_served_when_the_budget_refuses_a_retry() {
    let mut w = World::with_config(|c| c.cache.max_stale = Some(Duration::from_secs(900)));
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let b = w.add_secret("Production", "B", &[("password", "b")]);
    let op = w.client.list();
    w.run(op).unwrap();
    w.advance(secs(61));
    let op = w.client.get(a);
    assert_eq!(password(&w.drive(op, refused).unwrap()), "a");
    let op = w.client.get(b);
    assert_eq!(password(&w.drive(op, refused).unwrap()), "b");
    let stats = w.client.stats();
    assert_eq!(
        (stats.retries, stats.retries_refused, stats.stale_serves),
        (3, 1, 2)
    );
}

#[test]
fn without_a_budget_every_request_uses_all_its_attempts() {
    let mut w = World::with_config(|c| c.retry = RetryPolicy::default().with_budget(None));
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.list();
    w.run(op).unwrap();
    w.client.clear_cache();
    for _ in 0..5 {
        let op = w.client.get(a);
        let _ = w.drive(op, refused);
    }
    assert_eq!(w.client.stats().retries, 15);
}

#[test]
fn a_budget_of_its_own_is_honoured() {
    let budget = RetryBudget::default().with_min_retries(0).with_percent(0);
    let mut w = World::with_config(|c| c.retry = RetryPolicy::default().with_budget(Some(budget)));
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(a);
    let _ = w.drive(op, refused);
    assert_eq!(w.client.stats().retries, 0);
}

// ---- references by UID ------------------------------------------------------------------------

#[test]
fn a_reference_by_uid_is_read_by_uid_without_a_listing() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    w.add_secret("Production", "Other", &[("password", "x")]);
    let op = w.client.notation(&format!("sy://{uid}/field/password"));
    assert_eq!(w.run(op).unwrap().expose(), "hunter2");
    assert_eq!(w.requests_to("/secrets"), 0, "no listing");
    assert_eq!(w.requests_to(&format!("/secrets/{uid}")), 1);
    // Cached, and revalidated with a 304 once expired.
    let op = w.client.notation(&format!("sy://{uid}/title"));
    w.run(op).unwrap();
    w.advance(secs(61));
    let op = w.client.notation(&format!("sy://{uid}/field/password"));
    w.run(op).unwrap();
    assert_eq!(w.requests_to(&format!("/secrets/{uid}")), 2);
    assert_eq!(w.client.stats().revalidations, 1);
    // In a batch too.
    let op = w.client.resolve_all([format!("sy://{uid}/title")]);
    w.run(op).unwrap();
    assert_eq!(w.requests_to("/secrets"), 0);
}

#[test]
fn a_lone_segment_no_record_has_as_uid_is_a_title() {
    let mut w = World::new();
    // A record whose title spells a UID that no record has.
    let uid = w.add_secret("Production", "AAAAAAAAAAAA", &[("password", "titled")]);
    assert_ne!(uid.to_string(), "AAAAAAAAAAAA");
    let op = w.client.notation("sy://AAAAAAAAAAAA/field/password");
    assert_eq!(w.run(op).unwrap().expose(), "titled");
    assert_eq!(w.requests_to("/secrets/AAAAAAAAAAAA"), 1);
    assert_eq!(
        w.requests_to("/secrets"),
        1,
        "one listing to find the title"
    );
    let op = w.client.resolve_all(["sy://AAAAAAAAAAAA/field/password"]);
    let results = w.run(op).unwrap();
    assert_eq!(results[0].as_ref().unwrap().expose(), "titled");
}

// ---- listings -----------------------------------------------------------------------------------

#[test]
fn a_listing_does_not_decrypt_a_revision_the_cache_holds() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.list();
    w.run(op).unwrap();
    // The same revision, listed again with ciphertext that would not decrypt: the cached copy
    // is kept without decrypting it.
    let mut record = w.records[&uid].clone();
    let last = record.encrypted_data.0.len() - 1;
    record.encrypted_data.0[last] ^= 1;
    w.records.insert(uid, record.clone());
    w.advance(secs(61));
    let op = w.client.list();
    assert_eq!(w.run(op).unwrap().len(), 1);
    assert_eq!(w.client.stats().decryption_failures, 0);
    assert_eq!(read(&mut w, uid), "hunter2");
    // Another revision is decrypted.
    record.revision = 2;
    w.records.insert(uid, record);
    let op = w.client.list();
    assert!(matches!(w.run(op), Err(Error::Decryption { .. })));
}

// ---- the notation index -------------------------------------------------------------------------

const REFERENCE: &str = "sy://Production/Database/field/password";

#[test]
fn the_notation_index_is_refreshed_ahead_in_the_background() {
    let mut w = World::with_config(|c| c.cache = CachePolicy::default().with_jitter_percent(0));
    w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.notation(REFERENCE);
    w.run(op).unwrap();
    assert!(w.client.take_background(w.now).is_none());
    // Listed again in the read once expired, the index is in a regular cycle.
    w.advance(TTL);
    let op = w.client.notation(REFERENCE);
    w.run(op).unwrap();
    w.run_background(healthy);
    let listings = w.requests_to("/secrets");
    assert_eq!(listings, 2);
    w.advance(secs(48));
    let before = w.sent.len();
    let op = w.client.notation(REFERENCE);
    assert_eq!(w.run(op).unwrap().expose(), "hunter2");
    assert_eq!(w.sent.len(), before, "served at once");
    w.run_background(healthy);
    assert_eq!(
        w.requests_to("/secrets"),
        listings + 1,
        "one listing in the background"
    );
    // Renewed: fresh for another 48 s.
    w.advance(secs(47));
    let op = w.client.notation(REFERENCE);
    w.run(op).unwrap();
    assert_eq!(w.run_background(healthy), 0);
}

#[test]
fn in_an_outage_the_notation_index_is_served_stale_within_max_stale() {
    let mut w = World::with_config(|c| {
        c.cache = CachePolicy::default().with_max_stale(Some(Duration::from_secs(900)));
    });
    w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.notation(REFERENCE);
    w.run(op).unwrap();
    let mut listings = 0;
    for _ in 0..600 {
        w.advance(secs(1));
        let before = w.requests_to("/secrets");
        let op = w.client.notation(REFERENCE);
        assert_eq!(w.drive(op, unavailable).unwrap().expose(), "hunter2");
        listings += w.requests_to("/secrets") - before;
    }
    // Listed again on the stale backoff (once each time, after the first), not on every read.
    assert!((5..=16).contains(&listings), "{listings}");
    // Past max_stale, it is not.
    w.advance(secs(900));
    let op = w.client.notation(REFERENCE);
    assert!(w.drive(op, unavailable).is_err());
}

#[test]
fn the_retry_budget_is_shared_by_every_request_of_a_client() {
    let mut w = World::new();
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(a);
    w.run(op).unwrap();
    w.client.clear_cache();
    // One failed read spends the floor; a listing after it fails at its first error.
    let op = w.client.get(a);
    let _ = w.drive(op, unavailable);
    let before = w.sent.len();
    let op = w.client.list();
    assert!(w.drive(op, unavailable).is_err());
    assert_eq!(w.sent.len(), before + 1);
}
