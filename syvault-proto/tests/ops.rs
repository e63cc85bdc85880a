//! The SDK's operations driven on a virtual clock against scripted answers.

mod common;

use std::cell::Cell;
use std::time::Duration;

use common::{World, bearer, error, error_with_retry_after, json};
use http::{Method, StatusCode};
use syvault_proto::cache::CachePolicy;
use syvault_proto::error::{ErrorCode, TransportErrorKind};
use syvault_proto::model::Selected;
use syvault_proto::notation::NotationError;
use syvault_proto::ops::Operation;
use syvault_proto::record::RecordPayload;
use syvault_proto::retry::RetryPolicy;
use syvault_proto::step::{Input, Step};
use syvault_proto::wire::{self, Access, DataEnvelope, Record, Rotation, RotationStatus};
use syvault_proto::{Error, RecordUid};
use uuid::Uuid;

fn password(secret: &syvault_proto::model::Secret) -> &str {
    secret.field("password").unwrap().expose()
}

fn transport(kind: TransportErrorKind) -> Error {
    Error::transport(kind, "scripted")
}

// ---- get ------------------------------------------------------------------------------------

#[test]
fn get_loads_folders_decrypts_and_then_serves_from_cache() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.get(uid);
    let secret = w.run(op).unwrap();
    assert_eq!(password(&secret), "hunter2");
    assert_eq!(secret.title, "Database");
    assert_eq!(w.requests_to("/folders"), 1);
    assert_eq!(w.sent.len(), 2);
    let op = w.client.get(uid);
    assert_eq!(password(&w.run(op).unwrap()), "hunter2");
    assert_eq!(
        w.sent.len(),
        2,
        "a fresh cache entry does not reach the server"
    );
}

#[test]
fn expired_entries_revalidate_with_if_none_match_and_304_renews_them() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    w.advance(Duration::from_secs(61));
    let op = w.client.get(uid);
    let secret = w.run(op).unwrap();
    assert_eq!(password(&secret), "hunter2");
    let revalidation = w.sent.last().unwrap();
    assert_eq!(revalidation.headers()["if-none-match"], "\"r1\"");
    // The 304 renewed the TTL (less its jitter of at most 10 %): no request within the next
    // 54 s.
    let before = w.sent.len();
    w.advance(Duration::from_secs(53));
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert_eq!(w.sent.len(), before);
}

#[test]
fn expired_entries_pick_up_a_changed_record() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let mut payload = RecordPayload::new("Database");
    payload.fields.set("password", "new");
    w.store(uid, "Production", &payload, 2);
    w.advance(Duration::from_secs(60));
    let op = w.client.get(uid);
    let secret = w.run(op).unwrap();
    assert_eq!((password(&secret), secret.revision), ("new", 2));
}

#[test]
fn zero_ttl_disables_the_cache() {
    let mut w = World::with_config(|c| {
        c.cache = CachePolicy::default().with_ttl(Duration::ZERO);
    });
    let uid = w.add_secret("Production", "Database", &[("password", "p")]);
    for _ in 0..3 {
        let op = w.client.get(uid);
        w.run(op).unwrap();
    }
    assert_eq!(w.requests_to(&format!("/secrets/{uid}")), 3);
}

#[test]
fn missing_secret_is_a_typed_error_with_its_uid() {
    let mut w = World::new();
    let uid: RecordUid = "AAAAAAAAAAAA".parse().unwrap();
    let op = w.client.get(uid);
    match w.run(op) {
        Err(Error::SecretNotFound { uid: missing }) => assert_eq!(missing, "AAAAAAAAAAAA"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_401_on_a_reused_token_re_signs_once_and_succeeds() {
    let mut w = World::new();
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let b = w.add_secret("Production", "B", &[("password", "b")]);
    let op = w.client.get(a);
    w.run(op).unwrap();
    w.advance(Duration::from_secs(100));
    let first_token = bearer(w.sent.last().unwrap()).unwrap();
    let refused = Cell::new(false);
    let op = w.client.get(b);
    let secret = w
        .drive(op, |w, request| {
            if bearer(request).unwrap() == first_token {
                refused.set(true);
                return Ok(error(StatusCode::UNAUTHORIZED, "unauthorized"));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    assert!(refused.get());
    assert_eq!(password(&secret), "b");
}

#[test]
fn a_second_401_is_an_authentication_error() {
    let mut w = World::new();
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(a);
    w.run(op).unwrap();
    w.advance(Duration::from_secs(100));
    let b = w.add_secret("Production", "B", &[("password", "b")]);
    let op = w.client.get(b);
    let result = w.drive(op, |_, _| {
        Ok(error(StatusCode::UNAUTHORIZED, "unauthorized"))
    });
    assert!(
        matches!(
            result,
            Err(Error::AuthenticationFailed {
                status: 401,
                code: ErrorCode::Unauthorized
            })
        ),
        "{result:?}"
    );
    assert_eq!(
        w.requests_to(&format!("/secrets/{b}")),
        2,
        "one retry with a fresh token, no more"
    );
}

#[test]
fn a_fresh_token_refused_is_not_retried() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| {
        Ok(error(StatusCode::UNAUTHORIZED, "token_expired"))
    });
    assert!(matches!(
        result,
        Err(Error::AuthenticationFailed {
            code: ErrorCode::TokenExpired,
            ..
        })
    ));
    assert_eq!(w.sent.len(), 1);
}

#[test]
fn a_429_waits_for_retry_after_then_succeeds() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let limited = Cell::new(false);
    let op = w.client.get(uid);
    let secret = w
        .drive(op, |w, request| {
            if request.uri().path().ends_with("/folders") && !limited.replace(true) {
                return Ok(error_with_retry_after(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    7,
                ));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    assert_eq!(password(&secret), "a");
    assert_eq!(w.slept, [Duration::from_secs(7)]);
}

#[test]
fn a_503_backs_off_with_jitter_then_succeeds() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let failures = Cell::new(0);
    let op = w.client.get(uid);
    w.drive(op, |w, request| {
        if failures.get() < 2 {
            failures.set(failures.get() + 1);
            return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
        }
        Ok(w.serve(request))
    })
    .unwrap();
    assert_eq!(w.slept.len(), 2);
    assert!(w.slept[0] <= Duration::from_millis(200));
    assert!(w.slept[1] <= Duration::from_millis(400));
}

#[test]
fn retries_stop_after_the_configured_attempts() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| Err(transport(TransportErrorKind::Connect)));
    assert!(matches!(
        result,
        Err(Error::Transport {
            kind: TransportErrorKind::Connect,
            ..
        })
    ));
    assert_eq!(w.sent.len(), RetryPolicy::default().max_attempts as usize);
}

#[test]
fn errors_that_a_retry_cannot_fix_are_not_retried() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    for (status, code) in [
        (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        (StatusCode::BAD_REQUEST, "invalid_request"),
    ] {
        w.sent.clear();
        let op = w.client.get(uid);
        let result = w.drive(op, move |_, _| Ok(error(status, code)));
        assert_eq!(result.unwrap_err().status(), Some(status.as_u16()));
        assert_eq!(w.sent.len(), 1);
    }
    w.sent.clear();
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| Err(transport(TransportErrorKind::Tls)));
    assert!(matches!(
        result,
        Err(Error::Transport {
            kind: TransportErrorKind::Tls,
            ..
        })
    ));
    assert_eq!(w.sent.len(), 1);
}

#[test]
fn stale_entries_serve_within_max_stale_and_not_past_it() {
    let mut w = World::with_config(|c| c.cache.max_stale = Some(Duration::from_secs(300)));
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    w.advance(Duration::from_secs(120));
    let op = w.client.get(uid);
    let secret = w
        .drive(op, |_, _| {
            Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"))
        })
        .unwrap();
    assert_eq!(password(&secret), "a");
    let op = w.client.get(uid);
    let secret = w
        .drive(op, |_, _| Err(transport(TransportErrorKind::Timeout)))
        .unwrap();
    assert_eq!(password(&secret), "a");
    w.advance(Duration::from_secs(300));
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| {
        Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"))
    });
    assert_eq!(result.unwrap_err().status(), Some(503));
}

#[test]
fn without_max_stale_an_expired_entry_is_not_served_on_error() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    w.advance(Duration::from_secs(61));
    let op = w.client.get(uid);
    assert!(
        w.drive(op, |_, _| Ok(error(StatusCode::BAD_GATEWAY, "internal")))
            .is_err()
    );
}

#[test]
fn a_403_purges_the_entry_and_stale_is_never_served_after_it() {
    let mut w = World::with_config(|c| c.cache.max_stale = Some(Duration::from_secs(300)));
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert_eq!(w.client.cached_secrets(), 1);
    w.advance(Duration::from_secs(61));
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| Ok(error(StatusCode::FORBIDDEN, "forbidden")));
    assert_eq!(result.unwrap_err().status(), Some(403));
    assert_eq!(w.client.cached_secrets(), 0);
    let op = w.client.get(uid);
    assert!(
        w.drive(op, |_, _| Ok(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable"
        )))
        .is_err()
    );
}

#[test]
fn a_record_served_under_another_uid_is_an_error_never_wrong_plaintext() {
    let mut w = World::new();
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let b = w.add_secret("Production", "B", &[("password", "b")]);
    let op = w.client.get(a);
    let result = w.drive(op, |w, request| {
        if request.uri().path().ends_with(&format!("/secrets/{a}")) {
            // B's ciphertext relabelled as A.
            let mut record = w.records[&b].clone();
            record.uid = a;
            return Ok(json(StatusCode::OK, &DataEnvelope::new(record)));
        }
        Ok(w.serve(request))
    });
    assert!(
        matches!(result, Err(Error::Decryption { .. })),
        "{result:?}"
    );
    assert_eq!(w.client.cached_secrets(), 0);
    assert_eq!(w.client.stats().decryption_failures, 1);
}

#[test]
fn a_response_for_another_uid_is_refused() {
    let mut w = World::new();
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let b = w.add_secret("Production", "B", &[("password", "b")]);
    let op = w.client.get(a);
    let result = w.drive(op, |w, request| {
        if request.uri().path().ends_with(&format!("/secrets/{a}")) {
            return Ok(w.record_response(&b));
        }
        Ok(w.serve(request))
    });
    assert!(
        matches!(result, Err(Error::MalformedResponse { .. })),
        "{result:?}"
    );
}

#[test]
fn a_body_above_the_limit_is_refused() {
    let mut w = World::with_config(|c| c.max_response_body = 1024);
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| {
        Ok(http::Response::builder()
            .status(200)
            .body(vec![b' '; 1025])
            .unwrap())
    });
    assert!(
        matches!(result, Err(Error::BodyTooLarge { limit: 1024 })),
        "{result:?}"
    );
}

#[test]
fn garbage_bodies_are_typed_errors() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    for body in [
        &b"<html>oops</html>"[..],
        b"",
        b"{\"data\":{}}",
        b"{\"data\":[]}",
    ] {
        let op = w.client.get(uid);
        let result = w.drive(op, |_, _| {
            Ok(http::Response::builder()
                .status(200)
                .body(body.to_vec())
                .unwrap())
        });
        assert!(
            matches!(result, Err(Error::MalformedResponse { status: 200, .. })),
            "{result:?}"
        );
    }
}

#[test]
fn a_record_in_a_newly_granted_folder_reloads_the_folders_once() {
    let mut w = World::new();
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(a);
    w.run(op).unwrap();
    w.add_folder("Staging", None, Access::Read);
    let b = w.add_secret("Staging", "B", &[("password", "b")]);
    let op = w.client.get(b);
    assert_eq!(password(&w.run(op).unwrap()), "b");
    assert_eq!(w.requests_to("/folders"), 2);
}

#[test]
fn concurrent_gets_of_one_uid_share_one_request() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    // Load the folders first so that both reads go straight for the record.
    w.client.clear_cache();
    let op = w.client.list();
    w.run(op).unwrap();
    w.client.clear_cache();
    w.sent.clear();

    let mut leader = w.client.get(uid);
    let mut follower = w.client.get(uid);
    let request = match leader.step(&mut w.client, Input::Start, w.now, &mut w.rng) {
        Step::Send(request) => request,
        other => panic!("{other:?}"),
    };
    let join = follower.step(&mut w.client, Input::Start, w.now, &mut w.rng);
    assert!(matches!(join, Step::Join(_)), "{join:?}");
    let response = w.serve(&request);
    let Step::Done(Ok(first)) =
        leader.step(&mut w.client, Input::Response(response), w.now, &mut w.rng)
    else {
        panic!("leader did not finish");
    };
    let Step::Done(Ok(second)) = follower.step(&mut w.client, Input::Wake, w.now, &mut w.rng)
    else {
        panic!("follower did not finish from the cache");
    };
    assert_eq!(first, second);
    let stats = w.client.stats();
    assert_eq!(stats.coalesced_waits, 1);
    assert_eq!(stats.cache_misses, 2, "both missed, once each");
    assert_eq!(
        stats.cache_hits, 0,
        "the follower took the leader's result: {stats:?}"
    );
}

#[test]
fn with_the_cache_disabled_joined_reads_share_the_fetched_result() {
    let mut w = World::with_config(|c| c.cache = CachePolicy::DISABLED);
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.list();
    w.run(op).unwrap();

    let mut leader = w.client.get(uid);
    let mut followers = [w.client.get(uid), w.client.get(uid), w.client.get(uid)];
    let request = match leader.step(&mut w.client, Input::Start, w.now, &mut w.rng) {
        Step::Send(request) => request,
        other => panic!("{other:?}"),
    };
    for follower in &mut followers {
        let join = follower.step(&mut w.client, Input::Start, w.now, &mut w.rng);
        assert!(matches!(join, Step::Join(_)), "{join:?}");
    }
    // The last follower gives up before the fetch ends; it must not hold the result back.
    followers[2].abandon(&mut w.client);
    // A wake before the fetch ends keeps waiting.
    assert!(matches!(
        followers[0].step(&mut w.client, Input::Wake, w.now, &mut w.rng),
        Step::Join(_)
    ));
    let response = w.serve(&request);
    let Step::Done(Ok(first)) =
        leader.step(&mut w.client, Input::Response(response), w.now, &mut w.rng)
    else {
        panic!("leader did not finish");
    };
    for follower in &mut followers[..2] {
        let Step::Done(Ok(shared)) = follower.step(&mut w.client, Input::Wake, w.now, &mut w.rng)
        else {
            panic!("a follower did not receive the fetched result");
        };
        assert!(std::sync::Arc::ptr_eq(&first, &shared));
    }
    assert_eq!(w.client.cached_secrets(), 0);
    // Nothing is kept once every joined read has its copy: the next read asks the server.
    let mut again = w.client.get(uid);
    assert!(matches!(
        again.step(&mut w.client, Input::Start, w.now, &mut w.rng),
        Step::Send(_)
    ));
}

#[test]
fn joined_reads_of_a_failed_fetch_fetch_again() {
    let mut w = World::with_config(|c| c.cache = CachePolicy::DISABLED);
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.list();
    w.run(op).unwrap();

    let mut leader = w.client.get(uid);
    let mut follower = w.client.get(uid);
    assert!(matches!(
        leader.step(&mut w.client, Input::Start, w.now, &mut w.rng),
        Step::Send(_)
    ));
    assert!(matches!(
        follower.step(&mut w.client, Input::Start, w.now, &mut w.rng),
        Step::Join(_)
    ));
    let forbidden = error(StatusCode::FORBIDDEN, "forbidden");
    assert!(matches!(
        leader.step(&mut w.client, Input::Response(forbidden), w.now, &mut w.rng),
        Step::Done(Err(_))
    ));
    assert!(matches!(
        follower.step(&mut w.client, Input::Wake, w.now, &mut w.rng),
        Step::Send(_)
    ));
}

#[test]
fn an_abandoned_fetch_lets_waiting_reads_take_over() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.list();
    w.run(op).unwrap();
    w.client.clear_cache();
    let mut leader = w.client.get(uid);
    let mut follower = w.client.get(uid);
    assert!(matches!(
        leader.step(&mut w.client, Input::Start, w.now, &mut w.rng),
        Step::Send(_)
    ));
    assert!(matches!(
        follower.step(&mut w.client, Input::Start, w.now, &mut w.rng),
        Step::Join(_)
    ));
    leader.abandon(&mut w.client);
    assert!(matches!(
        follower.step(&mut w.client, Input::Wake, w.now, &mut w.rng),
        Step::Send(_)
    ));
}

// ---- statistics -----------------------------------------------------------------------------

#[test]
fn stats_count_requests_tokens_misses_hits_and_revalidations() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    assert_eq!(
        w.client.stats(),
        syvault_proto::stats::ClientStats::default()
    );
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let stats = w.client.stats();
    assert_eq!(
        (
            stats.requests,
            stats.tokens_signed,
            stats.cache_misses,
            stats.cache_hits
        ),
        (2, 1, 1, 0),
        "folders and the record, one signature: {stats:?}"
    );
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let stats = w.client.stats();
    assert_eq!((stats.requests, stats.cache_hits), (2, 1), "{stats:?}");
    w.advance(Duration::from_secs(61));
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let stats = w.client.stats();
    assert_eq!(
        (
            stats.requests,
            stats.revalidations,
            stats.cache_misses,
            stats.tokens_signed
        ),
        (3, 1, 1, 1),
        "a 304 revalidation with the reused token: {stats:?}"
    );
    assert_eq!(stats.cache_hit_ratio(), Some(0.5));
    assert_eq!(stats.retries + stats.stale_serves + stats.evictions, 0);
    assert_eq!(stats.requests, w.sent.len() as u64);
}

#[test]
fn stats_count_retries_and_the_401_re_signature() {
    let mut w = World::new();
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let b = w.add_secret("Production", "B", &[("password", "b")]);
    let op = w.client.get(a);
    let failures = Cell::new(0);
    w.drive(op, |w, request| {
        if request.uri().path().ends_with(a.as_str()) && failures.get() < 2 {
            failures.set(failures.get() + 1);
            return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
        }
        Ok(w.serve(request))
    })
    .unwrap();
    let stats = w.client.stats();
    assert_eq!((stats.retries, stats.requests), (2, 4), "{stats:?}");

    w.advance(Duration::from_secs(100));
    let first_token = bearer(w.sent.last().unwrap()).unwrap();
    let op = w.client.get(b);
    w.drive(op, |w, request| {
        if bearer(request).unwrap() == first_token {
            return Ok(error(StatusCode::UNAUTHORIZED, "unauthorized"));
        }
        Ok(w.serve(request))
    })
    .unwrap();
    let stats = w.client.stats();
    assert_eq!(
        (
            stats.reauthentications,
            stats.tokens_signed,
            stats.retries,
            stats.requests
        ),
        (1, 2, 2, 6),
        "{stats:?}"
    );
    assert_eq!(stats.requests, w.sent.len() as u64);
}

/// What a driver that answers reads itself (the WebAssembly binding does, in JavaScript) relies
/// on: `fresh_hit` says which secret a read would return as a plain hit and until when, the
/// generation says when that stops holding, and `record_hits` makes those reads the client's.
#[test]
fn a_driver_may_answer_fresh_hits_itself_and_record_them_as_the_clients_own() {
    let mut w = World::with_config(|c| c.cache = CachePolicy::default().with_max_entries(2));
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let b = w.add_secret("Production", "B", &[("password", "b")]);
    let c = w.add_secret("Production", "C", &[("password", "c")]);
    assert!(
        w.client.fresh_hit(&a, w.now).is_none(),
        "nothing cached yet"
    );
    let op = w.client.get(a);
    let read_a = w.run(op).unwrap();
    let op = w.client.get(b);
    w.run(op).unwrap();
    let generation = w.client.cache_generation();
    let (secret, until) = w.client.fresh_hit(&a, w.now).expect("a is fresh");
    assert!(std::sync::Arc::ptr_eq(secret, &read_a));

    // Just before `until`, the client's own read is a plain hit of the same secret: no request,
    // no background work, and nothing a fresh read would see changes.
    let before = w.now;
    w.now = until - Duration::from_millis(1);
    let sent = w.sent.len();
    let op = w.client.get(a);
    assert!(std::sync::Arc::ptr_eq(&w.run(op).unwrap(), &read_a));
    assert_eq!(w.sent.len(), sent);
    assert!(w.client.take_background(w.now).is_none());
    assert_eq!(w.client.cache_generation(), generation);
    // At `until` it is not: the read asks for a refresh ahead of expiry.
    assert!(w.client.fresh_hit(&a, until).is_none());
    let op = w.client.get(a);
    w.now = until;
    w.run(op).unwrap();
    assert!(
        w.client.take_background(w.now).is_some(),
        "a refresh ahead is due"
    );
    w.now = before;

    // Reads answered by the driver count as hits and make A the most recently used, so that C
    // evicts B.
    let hits = w.client.stats().cache_hits;
    assert!(w.client.record_hits(&a, 3));
    assert_eq!(w.client.stats().cache_hits, hits + 3);
    assert_eq!(
        w.client.cache_generation(),
        generation,
        "hits change no entry"
    );
    let op = w.client.get(c);
    w.run(op).unwrap();
    assert_ne!(
        w.client.cache_generation(),
        generation,
        "C stored, B evicted"
    );
    assert!(w.client.fresh_hit(&a, w.now).is_some());
    assert!(w.client.fresh_hit(&b, w.now).is_none());
    assert!(!w.client.record_hits(&b, 1), "B is gone: nothing to record");
    assert_eq!(w.client.stats().cache_hits, hits + 3);

    // Dropping the cache, or everything, moves the generation on.
    let generation = w.client.cache_generation();
    w.client.clear_cache();
    assert!(w.client.cache_generation() > generation);
    assert!(w.client.fresh_hit(&a, w.now).is_none());
    let generation = w.client.cache_generation();
    w.client.reset();
    assert!(w.client.cache_generation() > generation);
}

#[test]
fn stats_count_evictions_and_stale_serves_and_reset_clears_them() {
    let mut w = World::with_config(|c| {
        c.cache = CachePolicy::default()
            .with_max_entries(1)
            .with_max_stale(Some(Duration::from_secs(300)));
    });
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let b = w.add_secret("Production", "B", &[("password", "b")]);
    for uid in [a, b] {
        let op = w.client.get(uid);
        w.run(op).unwrap();
    }
    assert_eq!(w.client.stats().evictions, 1, "B pushed A out");
    w.advance(Duration::from_secs(120));
    let op = w.client.get(b);
    let secret = w
        .drive(op, |_, _| Err(transport(TransportErrorKind::Timeout)))
        .unwrap();
    assert_eq!(password(&secret), "b");
    let stats = w.client.stats();
    assert_eq!(stats.stale_serves, 1, "{stats:?}");
    assert_eq!(stats.retries, 3, "the default four attempts: {stats:?}");
    w.client.reset();
    assert_eq!(
        w.client.stats(),
        syvault_proto::stats::ClientStats::default()
    );
}

#[test]
fn last_answer_is_the_last_success_and_neither_errors_nor_cache_hits_move_it() {
    let mut w = World::with_config(|c| {
        c.cache = CachePolicy::default().with_max_stale(Some(Duration::from_secs(300)));
    });
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    assert_eq!(w.client.last_answer(), None);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let first = w.now;
    assert_eq!(w.client.last_answer(), Some(first));
    w.advance(Duration::from_secs(10));
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert_eq!(
        w.client.last_answer(),
        Some(first),
        "a cache hit asks nothing"
    );
    w.advance(Duration::from_secs(60));
    let op = w.client.get(uid);
    w.drive(op, |_, _| {
        Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"))
    })
    .unwrap();
    assert_eq!(
        w.client.last_answer(),
        Some(first),
        "a stale serve is no answer"
    );
    // Past the stale entry's revalidation backoff, the server is asked again.
    w.advance(Duration::from_secs(60));
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert_eq!(w.client.last_answer(), Some(w.now), "a 304 is one");
    assert_eq!(w.client.stats().revalidations, 1);
    w.client.reset();
    assert_eq!(w.client.last_answer(), None);
}

// ---- list -----------------------------------------------------------------------------------

#[test]
fn list_follows_cursors_across_three_pages() {
    let mut w = World::new();
    let uids: Vec<_> = (0..5)
        .map(|i| w.add_secret("Production", &format!("S{i}"), &[("password", "p")]))
        .collect();
    let op = w.client.list();
    let listed = w
        .drive(op, |w, request| {
            let path = request.uri().path();
            if !path.ends_with("/secrets") {
                return Ok(w.serve(request));
            }
            let query = wire::ListQuery::parse(request.uri().query().unwrap_or("")).unwrap();
            // The largest page a server serves, so a large vault takes few round trips.
            assert_eq!(query.limit, Some(500));
            let records: Vec<Record> = w.records.values().cloned().collect();
            let (page, next) = match query.cursor.as_deref() {
                None => (&records[0..2], Some("c/1 &x")),
                Some("c/1 &x") => (&records[2..4], Some("c2")),
                Some("c2") => (&records[4..], None),
                other => panic!("{other:?}"),
            };
            Ok(json(
                StatusCode::OK,
                &wire::SecretList::full(page.to_vec(), next.map(String::from)),
            ))
        })
        .unwrap();
    assert_eq!(listed.len(), 5);
    let mut listed_uids: Vec<_> = listed.iter().map(|s| s.uid).collect();
    listed_uids.sort();
    let mut expected = uids.clone();
    expected.sort();
    assert_eq!(listed_uids, expected);
    assert_eq!(w.requests_to("/secrets"), 3);
    assert!(listed.iter().all(|s| s.folder_path == ["Production"]));
    // Listing filled the cache: reads need no request.
    let before = w.sent.len();
    let op = w.client.get(uids[3]);
    w.run(op).unwrap();
    assert_eq!(w.sent.len(), before);
}

#[test]
fn a_repeating_cursor_is_an_error_not_a_loop() {
    let mut w = World::new();
    w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.list();
    let result = w.drive(op, |w, request| {
        if request.uri().path().ends_with("/secrets") {
            return Ok(json(
                StatusCode::OK,
                &wire::SecretList::full(vec![], Some("again".into())),
            ));
        }
        Ok(w.serve(request))
    });
    assert!(matches!(result, Err(Error::MalformedResponse { .. })));
}

// ---- notation -------------------------------------------------------------------------------

#[test]
fn notation_resolves_many_references_with_one_listing() {
    let mut w = World::new();
    w.add_secret(
        "Production",
        "Database",
        &[("username", "app"), ("password", "hunter2")],
    );
    let stripe = w.add_secret("Production", "Stripe API Key", &[("key", "sk_live")]);
    let op = w.client.resolve_all([
        "sy://Production/Database/field/password",
        "sy://Production/Database/field/username",
        "sy://Stripe API Key/uid",
        &format!("sy://{stripe}/field/key"),
        "sy://Production/Database/field/nope",
        "sy://Production/Nothing/title",
        "not a reference",
    ]);
    let results = w.run(op).unwrap();
    assert_eq!(
        results[0].as_ref().unwrap(),
        &Selected::Secret("hunter2".into())
    );
    assert_eq!(results[1].as_ref().unwrap().expose(), "app");
    assert_eq!(
        results[2].as_ref().unwrap(),
        &Selected::Plain(stripe.to_string())
    );
    assert_eq!(results[3].as_ref().unwrap().expose(), "sk_live");
    assert!(
        matches!(&results[4], Err(Error::Notation(NotationError::FieldNotFound { field, .. })) if field == "nope")
    );
    assert!(matches!(
        &results[5],
        Err(Error::Notation(NotationError::RecordNotFound { .. }))
    ));
    assert!(matches!(&results[6], Err(Error::Notation(_))));
    assert_eq!(
        w.requests_to("/secrets"),
        1,
        "one listing for every reference"
    );
    // The index is reused while fresh.
    let op = w.client.notation("sy://Production/Database/field/password");
    assert_eq!(w.run(op).unwrap().expose(), "hunter2");
    assert_eq!(w.requests_to("/secrets"), 1);
}

#[test]
fn resolve_all_returns_each_references_own_error() {
    use std::error::Error as _;
    // One cache entry: after the first pass only the anchor stays cached, so the second pass
    // finds the others in the fresh notation index and fetches each by its UID.
    let mut w = World::with_config(|c| {
        c.cache = CachePolicy::default().with_max_entries(1);
    });
    let failing = w.add_secret("Production", "Failing", &[("password", "a")]);
    let broken = w.add_secret("Production", "Broken", &[("password", "b")]);
    let garbled = w.add_secret("Production", "Garbled", &[("password", "c")]);
    let anchor = w.add_secret("Production", "Anchor", &[("password", "d")]);
    let op = w.client.resolve_all([format!("sy://{anchor}/uid")]);
    w.run(op).unwrap().pop().unwrap().unwrap();
    let op = w.client.get(anchor);
    w.run(op).unwrap();
    let listings = w.requests_to("/secrets");

    let op = w.client.resolve_all([
        format!("sy://{broken}/field/password"),
        format!("sy://{garbled}/field/password"),
        format!("sy://{failing}/field/password"),
    ]);
    let results = w.drive(op, |world, request| {
        let path = request.uri().path();
        if path.ends_with(failing.as_str()) {
            Ok(error(StatusCode::INTERNAL_SERVER_ERROR, "internal"))
        } else if path.ends_with(broken.as_str()) {
            Err(Error::transport_caused_by(
                TransportErrorKind::Tls,
                "handshake failed",
                std::io::Error::from(std::io::ErrorKind::InvalidData),
            ))
        } else if path.ends_with(garbled.as_str()) {
            Ok(json(StatusCode::OK, &serde_json::json!({"data": 7})))
        } else {
            Ok(world.serve(request))
        }
    });
    let results = results.unwrap();
    assert_eq!(w.requests_to("/secrets"), listings, "the index was fresh");
    let Err(tls) = &results[0] else {
        panic!("{:?}", results[0])
    };
    assert!(
        matches!(
            tls,
            Error::Transport {
                kind: TransportErrorKind::Tls,
                ..
            }
        ),
        "{tls:?}"
    );
    let io = tls
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>());
    assert_eq!(
        io.map(std::io::Error::kind),
        Some(std::io::ErrorKind::InvalidData),
        "the transport error keeps its cause"
    );
    assert!(
        matches!(&results[1], Err(Error::MalformedResponse { status: 200, reason }) if !reason.contains("malformed response")),
        "the error itself, not a rewrite: {:?}",
        results[1]
    );
    assert!(
        matches!(&results[2], Err(Error::Api(api)) if api.code == ErrorCode::Internal),
        "{:?}",
        results[2]
    );
}

#[test]
fn ambiguous_titles_name_candidate_uids_never_values() {
    let mut w = World::new();
    let a = w.add_secret("Production", "Twin", &[("password", "first-value")]);
    w.add_folder("Staging", None, Access::Read);
    let b = w.add_secret("Staging", "Twin", &[("password", "second-value")]);
    let op = w.client.notation("sy://Twin/field/password");
    match &w.run(op) {
        Err(error @ Error::Notation(NotationError::AmbiguousRecord { candidates, .. })) => {
            let mut expected = vec![a, b];
            expected.sort();
            assert_eq!(candidates, &expected);
            let text = error.to_string();
            assert!(!text.contains("first-value") && !text.contains("second-value"));
        }
        other => panic!("{other:?}"),
    }
    // A folder path disambiguates.
    let op = w.client.notation("sy://Staging/Twin/field/password");
    assert_eq!(w.run(op).unwrap().expose(), "second-value");
}

/// Asserts that a resolution failed as ambiguous between exactly these records.
fn assert_ambiguous(result: syvault_proto::Result<Selected>, records: [RecordUid; 2]) {
    match result {
        Err(Error::Notation(NotationError::AmbiguousRecord { candidates, .. })) => {
            let mut expected = records.to_vec();
            expected.sort();
            assert_eq!(candidates, expected);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_resolved_reference_follows_changes_to_the_index() {
    let mut w = World::new();
    let first = w.add_secret("Production", "Twin", &[("password", "first")]);
    let op = w.client.notation("sy://Production/Twin/field/password");
    assert_eq!(w.run(op).unwrap().expose(), "first");
    // Read again while the index is fresh: the same answer, without a listing.
    let op = w.client.notation("sy://Production/Twin/field/password");
    assert_eq!(w.run(op).unwrap().expose(), "first");
    assert_eq!(w.requests_to("/secrets"), 1);
    // A read that brings a second record of that title into the index makes it ambiguous.
    let second = w.add_secret("Production", "Twin", &[("password", "second")]);
    let op = w.client.get(second);
    w.run(op).unwrap();
    let op = w.client.notation("sy://Production/Twin/field/password");
    assert_ambiguous(w.run(op), [first, second]);
}

#[test]
fn a_listing_larger_than_the_cache_still_serves_notation_without_listing_again() {
    let mut w = World::with_config(|c| {
        c.cache = CachePolicy::default().with_max_entries(2);
    });
    for (title, password) in [("A", "a"), ("B", "b"), ("C", "c"), ("D", "d")] {
        w.add_secret("Production", title, &[("password", password)]);
    }
    let op = w.client.list();
    assert_eq!(w.run(op).unwrap().len(), 4);
    assert_eq!(w.client.cached_secrets(), 2);
    // Secrets the cache let go of are still in the index: each is fetched by its UID.
    for (title, password) in [("A", "a"), ("B", "b"), ("C", "c"), ("D", "d")] {
        let op = w
            .client
            .notation(&format!("sy://Production/{title}/field/password"));
        assert_eq!(w.run(op).unwrap().expose(), password);
    }
    assert_eq!(w.requests_to("/secrets"), 1, "one listing");
}

#[test]
fn a_read_after_a_listing_reaches_the_index_the_listing_made() {
    let mut w = World::new();
    let first = w.add_secret("Production", "Twin", &[("password", "first")]);
    let op = w.client.list();
    w.run(op).unwrap();
    // A read that brings a second record of that title makes the reference ambiguous, also
    // when no reference was resolved between the listing and the read.
    let second = w.add_secret("Production", "Twin", &[("password", "second")]);
    let op = w.client.get(second);
    w.run(op).unwrap();
    let op = w.client.notation("sy://Production/Twin/field/password");
    assert_ambiguous(w.run(op), [first, second]);
    assert_eq!(
        w.requests_to("/secrets"),
        1,
        "the listing's index was fresh"
    );
}

#[test]
fn clearing_the_cache_forgets_the_notation_index_too() {
    let mut w = World::new();
    w.add_secret("Production", "A", &[("password", "a")]);
    let reference = "sy://Production/A/field/password";
    let op = w.client.notation(reference);
    w.run(op).unwrap();
    w.client.clear_cache();
    let op = w.client.notation(reference);
    assert_eq!(w.run(op).unwrap().expose(), "a");
    assert_eq!(w.requests_to("/secrets"), 2, "the index is listed again");
    w.client.reset();
    let op = w.client.notation(reference);
    assert_eq!(w.run(op).unwrap().expose(), "a");
    assert_eq!(w.requests_to("/secrets"), 3, "and again after a reset");
}

#[test]
fn a_reference_to_a_secret_added_later_relists_once() {
    let mut w = World::new();
    w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.notation("sy://Production/A/field/password");
    w.run(op).unwrap();
    w.add_secret("Production", "B", &[("password", "b")]);
    let op = w.client.notation("sy://Production/B/field/password");
    assert_eq!(w.run(op).unwrap().expose(), "b");
    assert_eq!(w.requests_to("/secrets"), 2);
}

// ---- create ---------------------------------------------------------------------------------

fn create_payload() -> RecordPayload {
    let mut payload = RecordPayload::new("New Key");
    payload.fields.set("token", "t0ken");
    payload
}

fn accept_create(w: &mut World, request: &syvault_proto::step::Request) -> Record {
    let body: wire::CreateSecretRequest = serde_json::from_slice(request.body()).unwrap();
    let record = Record {
        uid: body.uid,
        folder_id: body.folder_id,
        revision: 1,
        encrypted_dek: body.encrypted_dek,
        encrypted_data: body.encrypted_data,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    };
    w.records.insert(record.uid, record.clone());
    record
}

#[test]
fn create_encrypts_posts_and_caches_the_new_secret() {
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let op = w.client.create(folder, create_payload());
    let created = w
        .drive(op, |w, request| {
            if request.method() == Method::POST {
                let record = accept_create(w, request);
                return Ok(json(StatusCode::CREATED, &DataEnvelope::new(record)));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    assert_eq!(created.field("token").unwrap().expose(), "t0ken");
    // The server holds only ciphertext, and the payload opens with the folder key under the UID.
    let body = String::from_utf8(w.sent.last().unwrap().body().clone()).unwrap();
    assert!(!body.contains("t0ken") && !body.contains("New Key"));
    let stored = &w.records[&created.uid];
    let opened = syvault_proto::record::open(
        &created.uid,
        &w.folder("Production").key,
        stored.encrypted_dek.as_slice(),
        stored.encrypted_data.as_slice(),
    )
    .unwrap();
    assert_eq!(opened.fields.get("token").unwrap().expose(), "t0ken");
    let before = w.sent.len();
    let op = w.client.get(created.uid);
    w.run(op).unwrap();
    assert_eq!(w.sent.len(), before, "the new secret is cached");
}

#[test]
fn a_retried_create_that_meets_its_own_record_succeeds() {
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let attempts = Cell::new(0);
    let op = w.client.create(folder, create_payload());
    let created = w
        .drive(op, |w, request| {
            if request.method() == Method::POST {
                attempts.set(attempts.get() + 1);
                if attempts.get() == 1 {
                    // Stored, but the answer is lost.
                    accept_create(w, request);
                    return Err(transport(TransportErrorKind::ConnectionClosed));
                }
                return Ok(error(StatusCode::CONFLICT, "uid_conflict"));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    assert_eq!(created.field("token").unwrap().expose(), "t0ken");
    assert_eq!(attempts.get(), 2);
}

#[test]
fn a_retried_create_that_meets_someone_elses_record_fails() {
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let other = w.add_secret("Production", "Other", &[("password", "x")]);
    let attempts = Cell::new(0);
    let op = w.client.create(folder, create_payload());
    let result = w.drive(op, |w, request| {
        if request.method() == Method::POST {
            attempts.set(attempts.get() + 1);
            if attempts.get() == 1 {
                return Err(transport(TransportErrorKind::Timeout));
            }
            // Someone else's record under the same UID, sealed for it.
            let body: wire::CreateSecretRequest = serde_json::from_slice(request.body()).unwrap();
            let mut theirs = w.records[&other].clone();
            let key = w.folder("Production").key.clone();
            let sealed = syvault_proto::record::seal(
                &body.uid,
                &key,
                &RecordPayload::new("Other"),
                &mut w.rng,
            );
            theirs.uid = body.uid;
            theirs.encrypted_dek = wire::Base64Bytes(sealed.encrypted_dek);
            theirs.encrypted_data = wire::Base64Bytes(sealed.encrypted_data);
            w.records.insert(body.uid, theirs);
            return Ok(error(StatusCode::CONFLICT, "uid_conflict"));
        }
        Ok(w.serve(request))
    });
    assert!(
        matches!(&result, Err(e) if e.code() == Some(&ErrorCode::UidConflict)),
        "{result:?}"
    );
}

#[test]
fn a_read_only_folder_refuses_create() {
    let mut w = World::new();
    let folder = w.add_folder("Readonly", None, Access::Read);
    let op = w.client.create(folder, create_payload());
    let result = w.drive(op, |w, request| {
        if request.method() == Method::POST {
            return Ok(error(StatusCode::FORBIDDEN, "forbidden"));
        }
        Ok(w.serve(request))
    });
    assert_eq!(result.unwrap_err().code(), Some(&ErrorCode::Forbidden));
}

// ---- rotate ---------------------------------------------------------------------------------

fn rotation(
    id: Uuid,
    uid: RecordUid,
    status: RotationStatus,
    revision: Option<u64>,
    error: Option<&str>,
) -> Rotation {
    Rotation {
        rotation_id: id,
        uid,
        status,
        revision,
        error: error.map(String::from),
    }
}

#[test]
fn rotation_polls_pending_running_completed_and_reads_past_the_cache() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let id = Uuid::from_u128(0x707);
    let polls = Cell::new(0);
    let op = w.client.rotate(uid);
    let outcome = w
        .drive(op, |w, request| {
            let path = request.uri().path().to_owned();
            if path.ends_with("/rotate") {
                let mut r = json(
                    StatusCode::ACCEPTED,
                    &DataEnvelope::new(rotation(id, uid, RotationStatus::Pending, None, None)),
                );
                r.headers_mut().insert("retry-after", "1".parse().unwrap());
                return Ok(r);
            }
            if path.contains("/rotations/") {
                polls.set(polls.get() + 1);
                let status = match polls.get() {
                    1 => RotationStatus::Pending,
                    2 => RotationStatus::Running,
                    _ => {
                        let mut payload = RecordPayload::new("Database");
                        payload.fields.set("password", "new");
                        w.store(uid, "Production", &payload, 2);
                        return Ok(json(
                            StatusCode::OK,
                            &DataEnvelope::new(rotation(
                                id,
                                uid,
                                RotationStatus::Completed,
                                Some(2),
                                None,
                            )),
                        ));
                    }
                };
                return Ok(json(
                    StatusCode::OK,
                    &DataEnvelope::new(rotation(id, uid, status, None, None)),
                ));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    assert_eq!(outcome.rotation_id, id);
    assert_eq!(outcome.revision, 2);
    assert_eq!(outcome.fields().get("password").unwrap().expose(), "new");
    // No Retry-After on polls: 250 ms, then doubled.
    assert_eq!(
        w.slept,
        [Duration::from_millis(250), Duration::from_millis(500)]
    );
    assert!(
        w.sent
            .last()
            .unwrap()
            .headers()
            .get("if-none-match")
            .is_none(),
        "the new revision is read past the cache"
    );
    let op = w.client.get(uid);
    assert_eq!(
        password(&w.run(op).unwrap()),
        "new",
        "the cache holds the new credential"
    );
}

#[test]
fn a_running_rotation_is_adopted() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let id = Uuid::from_u128(0x808);
    let op = w.client.rotate(uid);
    let outcome = w
        .drive(op, |w, request| {
            let path = request.uri().path().to_owned();
            if path.ends_with("/rotate") {
                let body = format!(r#"{{"error":{{"code":"rotation_in_progress","message":"busy","details":{{"rotation_id":"{id}"}}}}}}"#);
                return Ok(http::Response::builder().status(409).body(body.into_bytes()).unwrap());
            }
            if path.ends_with(&format!("/rotations/{id}")) {
                return Ok(json(StatusCode::OK, &DataEnvelope::new(rotation(id, uid, RotationStatus::Completed, Some(1), None))));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    assert_eq!(outcome.rotation_id, id);
}

#[test]
fn a_failed_rotation_is_a_typed_error() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let id = Uuid::from_u128(0x909);
    let op = w.client.rotate(uid);
    let result = w.drive(op, |_, request| {
        if request.uri().path().ends_with("/rotate") {
            return Ok(json(
                StatusCode::ACCEPTED,
                &DataEnvelope::new(rotation(id, uid, RotationStatus::Pending, None, None)),
            ));
        }
        Ok(json(
            StatusCode::OK,
            &DataEnvelope::new(rotation(
                id,
                uid,
                RotationStatus::Failed,
                None,
                Some("target refused"),
            )),
        ))
    });
    match result {
        Err(Error::RotationFailed {
            rotation_id,
            message,
        }) => assert_eq!((rotation_id, message.as_str()), (id, "target refused")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rotation_past_the_deadline_times_out_with_its_id_and_can_resume() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let id = Uuid::from_u128(0xa0a);
    let op = w.client.rotate(uid);
    let start = w.now;
    let result = w.drive(op, |_, request| {
        if request.uri().path().ends_with("/rotate") {
            return Ok(json(
                StatusCode::ACCEPTED,
                &DataEnvelope::new(rotation(id, uid, RotationStatus::Pending, None, None)),
            ));
        }
        Ok(json(
            StatusCode::OK,
            &DataEnvelope::new(rotation(id, uid, RotationStatus::Running, None, None)),
        ))
    });
    assert!(
        matches!(result, Err(Error::RotationTimeout { rotation_id }) if rotation_id == id),
        "{result:?}"
    );
    let waited = w.now.saturating_duration_since(start);
    assert!(
        waited <= Duration::from_secs(60) && waited > Duration::from_secs(55),
        "{waited:?}"
    );
    // Resuming polls the same job without starting another.
    let op = w.client.resume_rotation(uid, id);
    let outcome = w
        .drive(op, |w, request| {
            assert!(!request.uri().path().ends_with("/rotate"));
            if request.uri().path().contains("/rotations/") {
                return Ok(json(
                    StatusCode::OK,
                    &DataEnvelope::new(rotation(id, uid, RotationStatus::Completed, Some(1), None)),
                ));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    assert_eq!(outcome.rotation_id, id);
}

#[test]
fn rotation_of_an_unconfigured_secret_is_an_api_error() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let op = w.client.rotate(uid);
    let result = w.drive(op, |_, _| {
        Ok(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rotation_not_configured",
        ))
    });
    assert_eq!(
        result.unwrap_err().code(),
        Some(&ErrorCode::RotationNotConfigured)
    );
}

#[test]
fn references_that_do_not_parse_need_no_listing() {
    let mut w = World::new();
    let op = w
        .client
        .resolve_all(["sy://Production//field/x", "https://nope"]);
    let results = w.run(op).unwrap();
    assert!(results.iter().all(|r| matches!(r, Err(Error::Notation(_)))));
    assert!(w.sent.is_empty());
}

#[test]
fn list_folders_returns_decrypted_names_and_access() {
    let mut w = World::new();
    let staging = w.add_folder("Staging", Some(w.folder("Production").id), Access::Read);
    let op = w.client.list_folders();
    let folders = w.run(op).unwrap();
    assert_eq!(folders.len(), 2);
    let found = folders.iter().find(|f| f.folder_id == staging).unwrap();
    assert_eq!(
        (found.name.as_str(), found.access, found.parent_id),
        ("Staging", Access::Read, Some(w.folder("Production").id))
    );
}

// ---- the bearer token -----------------------------------------------------------------------

fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}

#[test]
fn the_bearer_header_is_sensitive_and_never_in_debug_output() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let request = w.sent.last().unwrap();
    let token = bearer(request).unwrap();
    let value = &request.headers()[http::header::AUTHORIZATION];
    // Marked sensitive: HTTP clients keep it out of their logs and out of HPACK tables.
    assert!(value.is_sensitive());
    for debug in [format!("{request:?}"), format!("{:?}", w.client)] {
        assert!(!debug.contains(&token), "{debug}");
        assert!(!debug.contains("Bearer"), "{debug}");
    }
    // The token the holder hands out wipes itself, and prints redacted.
    let mut holder = syvault_proto::jwt::TokenHolder::new(
        syvault_proto::jwt::TokenMode::default(),
        w.client_id,
        "https://vault.example.com".into(),
    )
    .unwrap();
    let issued = holder.token(&w.key, w.now);
    zeroized_on_drop(&issued.token);
    for debug in [format!("{issued:?}"), format!("{holder:?}")] {
        assert!(!debug.contains(issued.token.expose()), "{debug}");
    }
}

#[test]
fn a_cached_read_neither_signs_nor_sends_a_token() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let before = w.client.stats();
    for _ in 0..3 {
        let op = w.client.get(uid);
        w.run(op).unwrap();
    }
    let after = w.client.stats();
    assert_eq!(after.cache_hits, before.cache_hits + 3, "{after:?}");
    assert_eq!(
        (after.requests, after.tokens_signed),
        (before.requests, before.tokens_signed),
        "{after:?}"
    );
}
