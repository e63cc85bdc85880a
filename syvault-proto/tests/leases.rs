//! Lease operations and the lease keeper, driven on a virtual clock against scripted answers.

mod common;

use std::collections::VecDeque;
use std::time::Duration;

use common::{T0, World, clone_request, error, json};
use http::{Method, StatusCode};
use syvault_proto::error::{ErrorCode, TransportErrorKind};
use syvault_proto::lease::{Lease, format_rfc3339};
use syvault_proto::ops::{LeaseEnd, LeaseStatus, Operation};
use syvault_proto::retry::{RetryBudget, RetryPolicy};
use syvault_proto::step::{Input, Request, Response, Step};
use syvault_proto::wire::{DataEnvelope, LeaseCreated, LeaseList, LeaseSummary};
use syvault_proto::{Error, RecordUid, SecretString, Timestamp};
use uuid::Uuid;

const LEASE_ID: Uuid = Uuid::from_u128(0x1ea5e);
const DAY: Duration = Duration::from_secs(86_400);

fn uid() -> RecordUid {
    "7Kj9mNpQ2xRs".parse().unwrap()
}

fn transport() -> Error {
    Error::transport(TransportErrorKind::ConnectionClosed, "scripted")
}

fn created(expires_at: Timestamp) -> Response {
    let body = serde_json::json!({
        "lease_id": LEASE_ID,
        "username": "vf_tmp_k3x9q2mz",
        "password": "Pa55-w0rd/x",
        "connection_string": "postgresql://vf_tmp_k3x9q2mz:Pa55-w0rd%2Fx@127.0.0.1:5432/app",
        "expires_at": format_rfc3339(expires_at),
    });
    json(StatusCode::CREATED, &body)
}

fn summary(created_at: Timestamp, expires_at: Timestamp) -> LeaseSummary {
    LeaseSummary {
        lease_id: LEASE_ID,
        record_uid: uid(),
        username: "vf_tmp_k3x9q2mz".into(),
        created_at: format_rfc3339(created_at),
        expires_at: format_rfc3339(expires_at),
    }
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

// ---- create ---------------------------------------------------------------------------------

#[test]
fn create_sends_the_request_with_an_idempotency_key_and_reads_the_unwrapped_answer() {
    let mut world = World::new();
    let op = world.client.lease(uid(), Duration::from_secs(3600));
    let lease = world
        .drive(op, |world, request| {
            assert_eq!(request.method(), Method::POST);
            assert_eq!(request.uri().path(), "/api/sm/v1/dynamic/lease");
            let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"record_uid": "7Kj9mNpQ2xRs", "ttl_seconds": 3600})
            );
            let key: Uuid = header(request, "idempotency-key").unwrap().parse().unwrap();
            assert_eq!(key.get_version_num(), 4);
            Ok(created(world.now + Duration::from_secs(3600)))
        })
        .unwrap();
    assert_eq!(lease.lease_id, LEASE_ID);
    assert_eq!(lease.record_uid, uid());
    assert_eq!(lease.username, "vf_tmp_k3x9q2mz");
    assert_eq!(lease.password.expose(), "Pa55-w0rd/x");
    assert!(lease.connection_string.expose().contains("Pa55-w0rd%2Fx"));
    assert_eq!(lease.created_at, T0);
    assert_eq!(lease.expires_at, T0 + Duration::from_secs(3600));
    let debug = format!("{lease:?}");
    assert!(!debug.contains("Pa55"), "{debug}");
    assert!(debug.contains("vf_tmp_k3x9q2mz"));
}

#[test]
fn a_started_lease_request_reports_the_idempotency_key_it_sends() {
    let mut world = World::new();
    let mut op = world.client.lease(uid(), Duration::from_secs(3600));
    assert_eq!(op.idempotency_key(), None);
    let step = op.step(&mut world.client, Input::Start, world.now, &mut world.rng);
    let Step::Send(request) = step else {
        panic!("{step:?}");
    };
    let sent: Uuid = header(&request, "idempotency-key")
        .unwrap()
        .parse()
        .unwrap();
    // A driver that gives up can log the key, so that a later retry by hand reuses it.
    assert_eq!(op.idempotency_key(), Some(sent));
}

#[test]
fn the_idempotency_key_is_the_same_on_every_retry_and_new_for_each_request() {
    let mut world = World::new();
    let mut answers: VecDeque<Result<Response, Error>> = VecDeque::from([
        Ok(error(StatusCode::BAD_GATEWAY, "target_unavailable")),
        Err(transport()),
        Ok(created(T0 + Duration::from_secs(600))),
    ]);
    let op = world.client.lease(uid(), Duration::from_secs(600));
    let lease = world
        .drive(op, |_, _| answers.pop_front().unwrap())
        .unwrap();
    assert_eq!(lease.lease_id, LEASE_ID);
    let keys: Vec<_> = world
        .sent
        .iter()
        .map(|r| header(r, "idempotency-key").unwrap())
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");

    let op = world.client.lease(uid(), Duration::from_secs(600));
    world
        .drive(op, |world, _| {
            Ok(created(world.now + Duration::from_secs(600)))
        })
        .unwrap();
    let last = header(world.sent.last().unwrap(), "idempotency-key").unwrap();
    assert_ne!(last, keys[0], "a new logical request gets a new key");
}

#[test]
fn a_new_lease_ending_later_than_asked_is_malformed_and_within_the_skew_is_taken() {
    let ttl = Duration::from_secs(600);
    for (what, longer, taken) in [
        ("year 9999", Duration::from_secs(250_000_000_000), false),
        ("2 min longer than asked", Duration::from_secs(120), false),
        ("59 s longer: clock skew", Duration::from_secs(59), true),
    ] {
        let mut world = World::new();
        let op = world.client.lease(uid(), ttl);
        let result = world.drive(op, |world, _| Ok(created(world.now + ttl + longer)));
        if taken {
            assert_eq!(result.unwrap().expires_at, T0 + ttl + longer, "{what}");
        } else {
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::MalformedResponse { status: 201, .. }),
                "{what}: {err:?}"
            );
            assert!(!format!("{err:?} {err}").contains("Pa55"), "{what}");
        }
    }
}

#[test]
fn a_ttl_out_of_range_is_refused_before_sending() {
    let mut world = World::new();
    for secs in [0, 59, 86_401] {
        let op = world.client.lease(uid(), Duration::from_secs(secs));
        let err = world
            .drive(op, |_, _| panic!("nothing is sent"))
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    what: "lease ttl",
                    ..
                }
            ),
            "{err}"
        );
    }
    let op = world.client.lease(uid(), Duration::from_millis(60_500));
    assert!(world.drive(op, |_, _| panic!("nothing is sent")).is_err());
}

#[test]
fn lease_errors_are_typed() {
    let mut world = World::new();
    let cases = [
        (StatusCode::NOT_FOUND, "secret_not_found"),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_dynamic_target"),
        (StatusCode::BAD_GATEWAY, "target_unavailable"),
        (StatusCode::BAD_REQUEST, "invalid_request"),
    ];
    for (status, code) in cases {
        let op = world.client.lease(uid(), Duration::from_secs(600));
        let err = world.drive(op, |_, _| Ok(error(status, code))).unwrap_err();
        match code {
            "secret_not_found" => {
                assert!(matches!(&err, Error::SecretNotFound { uid } if uid == "7Kj9mNpQ2xRs"));
            }
            "not_dynamic_target" => {
                assert!(matches!(&err, Error::NotDynamicTarget { uid } if uid == "7Kj9mNpQ2xRs"));
                assert_eq!(err.status(), Some(422));
            }
            "target_unavailable" => {
                assert!(err.is_retryable());
                assert_eq!(err.code(), Some(&ErrorCode::TargetUnavailable));
            }
            _ => assert_eq!(err.code(), Some(&ErrorCode::InvalidRequest)),
        }
    }
    // The retryable 502 was retried up to the policy's bound, then reported.
    assert!(world.requests_to("/dynamic/lease") > cases.len());
}

#[test]
fn refusals_a_retry_cannot_change_are_typed_errors_sent_once() {
    let cases = [
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            ErrorCode::IdempotencyKeyReused,
        ),
        (
            StatusCode::CONFLICT,
            "lease_limit_reached",
            ErrorCode::LeaseLimitReached,
        ),
    ];
    for (status, code, expected) in cases {
        let mut world = World::new();
        let op = world.client.lease(uid(), Duration::from_secs(600));
        let err = world.drive(op, |_, _| Ok(error(status, code))).unwrap_err();
        assert_eq!(err.code(), Some(&expected), "{code}");
        assert_eq!(err.status(), Some(status.as_u16()), "{code}");
        assert!(!err.is_retryable(), "{code}");
        assert_eq!(world.requests_to("/dynamic/lease"), 1, "{code}");
    }
}

#[test]
fn a_malformed_lease_answer_is_an_error_without_the_password() {
    let mut world = World::new();
    let body = serde_json::json!({
        "lease_id": LEASE_ID, "username": "vf_tmp_k3x9q2mz", "password": "Pa55-w0rd",
        "connection_string": "postgresql://x", "expires_at": "tomorrow",
    });
    let op = world.client.lease(uid(), Duration::from_secs(600));
    let err = world
        .drive(op, |_, _| Ok(json(StatusCode::CREATED, &body)))
        .unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { status: 201, .. }));
    assert!(!err.to_string().contains("Pa55"));

    // The answer wrapped in `data`, as other endpoints are, is not what the protocol says.
    let op = world.client.lease(uid(), Duration::from_secs(600));
    let err = world
        .drive(op, |_, _| {
            Ok(json(
                StatusCode::CREATED,
                &serde_json::json!({"data": serde_json::from_slice::<serde_json::Value>(
                    created(T0).body()).unwrap()}),
            ))
        })
        .unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }));
}

/// The values of a JSON object's members, in order, as an array: what serde's derived code
/// would take for the struct.
fn values(value: &serde_json::Value) -> serde_json::Value {
    serde_json::Value::Array(value.as_object().unwrap().values().cloned().collect())
}

fn body_value(response: &Response) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}

/// Asserts that an answer's parse failed as malformed because of its shape.
fn refused_as_array<T: std::fmt::Debug>(result: Result<T, Error>, status: u16) {
    let err = result.unwrap_err();
    assert!(
        matches!(err, Error::MalformedResponse { status: s, .. } if s == status),
        "{err:?}"
    );
    assert!(err.to_string().contains("invalid type"), "{err}");
    assert!(!err.to_string().contains("Pa55"), "{err}");
}

#[test]
fn lease_answers_as_arrays_are_malformed() {
    let mut world = World::new();
    let op = world.client.lease(uid(), Duration::from_secs(600));
    let array = values(&body_value(&created(T0 + Duration::from_secs(600))));
    refused_as_array(
        world.drive(op, |_, _| Ok(json(StatusCode::CREATED, &array))),
        201,
    );

    let op = world.client.renew_lease(LEASE_ID, Duration::from_secs(900));
    let summary_array = values(&serde_json::to_value(summary(T0, T0 + DAY)).unwrap());
    let renewal = serde_json::json!({ "data": summary_array });
    refused_as_array(
        world.drive(op, |_, _| Ok(json(StatusCode::OK, &renewal))),
        200,
    );

    let op = world.client.leases();
    let listed = serde_json::json!({ "data": [summary_array] });
    refused_as_array(
        world.drive(op, |_, _| Ok(json(StatusCode::OK, &listed))),
        200,
    );
}

// ---- renew, revoke, list --------------------------------------------------------------------

#[test]
fn renew_reads_the_new_expiry_and_an_unknown_lease_is_typed() {
    let mut world = World::new();
    let op = world.client.renew_lease(LEASE_ID, Duration::from_secs(900));
    let info = world
        .drive(op, |world, request| {
            assert_eq!(request.method(), Method::POST);
            assert_eq!(
                request.uri().path(),
                format!("/api/sm/v1/dynamic/leases/{LEASE_ID}/renew")
            );
            assert_eq!(request.body(), br#"{"ttl_seconds":900}"#);
            let expires = world.now + Duration::from_secs(900);
            Ok(json(
                StatusCode::OK,
                &DataEnvelope::new(summary(T0, expires)),
            ))
        })
        .unwrap();
    assert_eq!(info.expires_at, T0 + Duration::from_secs(900));
    assert_eq!(info.created_at, T0);

    let op = world.client.renew_lease(LEASE_ID, Duration::from_secs(900));
    let err = world
        .drive(op, |_, _| {
            Ok(error(StatusCode::NOT_FOUND, "lease_not_found"))
        })
        .unwrap_err();
    assert!(matches!(err, Error::LeaseNotFound { lease_id } if lease_id == LEASE_ID));
    assert_eq!(err.status(), Some(404));

    let op = world.client.renew_lease(LEASE_ID, Duration::from_secs(30));
    assert!(matches!(
        world.drive(op, |_, _| panic!("nothing is sent")),
        Err(Error::InvalidInput { .. })
    ));
}

#[test]
fn revoke_expects_204_and_list_reads_every_lease() {
    let mut world = World::new();
    let op = world.client.revoke_lease(LEASE_ID);
    world
        .drive(op, |_, request| {
            assert_eq!(request.method(), Method::DELETE);
            assert_eq!(
                request.uri().path(),
                format!("/api/sm/v1/dynamic/leases/{LEASE_ID}")
            );
            Ok(http::Response::builder()
                .status(204)
                .body(Vec::new())
                .unwrap())
        })
        .unwrap();
    let op = world.client.revoke_lease(LEASE_ID);
    let err = world
        .drive(op, |_, _| {
            Ok(error(StatusCode::NOT_FOUND, "lease_not_found"))
        })
        .unwrap_err();
    assert!(matches!(err, Error::LeaseNotFound { .. }));

    let op = world.client.leases();
    let leases = world
        .drive(op, |_, request| {
            assert_eq!(request.uri().path(), "/api/sm/v1/dynamic/leases");
            let data = vec![summary(T0, T0 + Duration::from_secs(60))];
            Ok(json(StatusCode::OK, &LeaseList { data }))
        })
        .unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].lease_id, LEASE_ID);
    assert_eq!(leases[0].expires_at, T0 + Duration::from_secs(60));
}

// ---- keeper ---------------------------------------------------------------------------------

/// The server side of one lease: renews up to 24 h after creation, answers scripted failures.
struct LeaseServer {
    created: Timestamp,
    expires: Timestamp,
    revoked: bool,
    failures: VecDeque<Result<Response, Error>>,
    renewed_at: Vec<Timestamp>,
    /// How much shorter than asked the server grants renewals (its own TTL policy).
    short_by: Duration,
    /// How much longer than asked a faulty server grants renewals.
    long_by: Duration,
    /// Whether a faulty server renews past the 24 h cap.
    ignores_cap: bool,
}

impl LeaseServer {
    fn new(ttl: Duration) -> Self {
        Self {
            created: T0,
            expires: T0 + ttl,
            revoked: false,
            failures: VecDeque::new(),
            renewed_at: Vec::new(),
            short_by: Duration::ZERO,
            long_by: Duration::ZERO,
            ignores_cap: false,
        }
    }

    fn lease(&self) -> Lease {
        let created = LeaseCreated {
            lease_id: LEASE_ID,
            username: "vf_tmp_k3x9q2mz".into(),
            password: SecretString::from("Pa55-w0rd"),
            connection_string: SecretString::from("postgresql://"),
            expires_at: format_rfc3339(self.expires),
        };
        Lease::from_wire(created, uid(), self.created).expect("a valid lease")
    }

    fn respond(&mut self, request: &Request, now: Timestamp) -> Result<Response, Error> {
        if request.method() == Method::DELETE {
            self.revoked = true;
            return Ok(http::Response::builder()
                .status(204)
                .body(Vec::new())
                .unwrap());
        }
        if let Some(failure) = self.failures.pop_front() {
            return failure;
        }
        if self.revoked || now >= self.expires {
            return Ok(error(StatusCode::NOT_FOUND, "lease_not_found"));
        }
        let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
        let ttl = Duration::from_secs(body["ttl_seconds"].as_u64().unwrap());
        self.expires = now + ttl - self.short_by + self.long_by;
        if !self.ignores_cap {
            self.expires = self.expires.min(self.created + DAY);
        }
        self.renewed_at.push(now);
        Ok(json(
            StatusCode::OK,
            &DataEnvelope::new(summary(self.created, self.expires)),
        ))
    }
}

/// What the application saw between steps.
struct Run {
    result: syvault_proto::Result<LeaseEnd>,
    statuses: Vec<(Timestamp, LeaseStatus)>,
    ended: Timestamp,
    /// The keeper's own count of renewals at the end.
    renewals: u32,
}

/// Drives a keeper; `revoke_when` is asked after every step whether the application closes it.
fn keep(
    world: &mut World,
    server: &mut LeaseServer,
    ttl: Duration,
    revoke_when: impl FnMut(&LeaseServer, Timestamp) -> bool,
) -> Run {
    keep_waking(world, server, ttl, revoke_when, |until| until)
}

/// [`keep`], waking the keeper at `wake(until)` (no earlier than it asked) after each sleep.
fn keep_waking(
    world: &mut World,
    server: &mut LeaseServer,
    ttl: Duration,
    mut revoke_when: impl FnMut(&LeaseServer, Timestamp) -> bool,
    wake: impl Fn(Timestamp) -> Timestamp,
) -> Run {
    let mut keeper = world.client.keep_lease(&server.lease(), ttl);
    let mut statuses = Vec::new();
    let mut input = Input::Start;
    for _ in 0..10_000 {
        let step = keeper.step(&mut world.client, input, world.now, &mut world.rng);
        statuses.push((world.now, keeper.status()));
        input = match step {
            Step::Send(request) => {
                world.sent.push(clone_request(&request));
                match server.respond(&request, world.now) {
                    Ok(response) => Input::Response(response),
                    Err(error) => Input::Failed(error),
                }
            }
            Step::Sleep(until) | Step::Join(until) => {
                assert!(until >= world.now, "sleeps go forward");
                world.now = wake(until);
                if revoke_when(server, world.now) {
                    keeper.revoke();
                }
                Input::Wake
            }
            Step::Done(result) => {
                return Run {
                    result,
                    statuses,
                    ended: world.now,
                    renewals: keeper.renewals(),
                };
            }
        };
    }
    panic!("the keeper did not finish");
}

#[test]
fn a_renewal_ending_later_than_asked_or_past_the_cap_stops_the_keeper() {
    let ttl = Duration::from_secs(600);
    let far_future = || {
        let mut server = LeaseServer::new(ttl);
        let summary = serde_json::json!({ "data": {
            "lease_id": LEASE_ID, "record_uid": uid().as_str(), "username": "vf_tmp_k3x9q2mz",
            "created_at": format_rfc3339(T0), "expires_at": "9999-12-31T23:59:59Z",
        }});
        server
            .failures
            .push_back(Ok(json(StatusCode::OK, &summary)));
        server
    };
    let two_minutes_long = || {
        let mut server = LeaseServer::new(ttl);
        server.long_by = Duration::from_secs(120);
        server
    };
    let past_the_cap = || {
        // Created nearly a day ago: the renewal may reach the cap, not pass it.
        let mut server = LeaseServer::new(ttl);
        server.created = T0 - Duration::from_secs(86_400 - 900);
        server.ignores_cap = true;
        server
    };
    for (what, make) in [
        ("year 9999", &far_future as &dyn Fn() -> LeaseServer),
        ("2 min longer than asked", &two_minutes_long),
        ("past the cap", &past_the_cap),
    ] {
        let mut world = World::new();
        let mut server = make();
        let run = keep(&mut world, &mut server, ttl, |_, _| false);
        let err = run.result.unwrap_err();
        assert!(
            matches!(err, Error::MalformedResponse { status: 200, .. }),
            "{what}: {err:?}"
        );
        assert_eq!(run.renewals, 0, "{what}: the answer was not taken");
        assert_eq!(
            run.statuses.last().unwrap().1,
            LeaseStatus::Failed,
            "{what}"
        );
        // The keeper stopped at the answer: nothing more was sent, not even a revocation.
        assert_eq!(world.sent.len(), 1, "{what}");
        assert!(run.ended < T0 + ttl, "{what}");
    }
}

#[test]
fn a_renewal_later_than_asked_within_the_allowed_clock_skew_is_taken() {
    let mut world = World::new();
    let ttl = Duration::from_secs(600);
    let mut server = LeaseServer::new(ttl);
    server.long_by = Duration::from_secs(59);
    let run = keep(&mut world, &mut server, ttl, |server, _| {
        server.renewed_at.len() >= 3
    });
    assert_eq!(run.result.unwrap(), LeaseEnd::Revoked);
    assert_eq!(run.renewals, 3);
}

#[test]
fn the_keeper_renews_at_about_two_thirds_of_the_remaining_time_then_revokes() {
    let mut world = World::new();
    let ttl = Duration::from_secs(600);
    let mut server = LeaseServer::new(ttl);
    let run = keep(&mut world, &mut server, ttl, |server, _| {
        server.renewed_at.len() >= 5
    });
    assert_eq!(run.result.unwrap(), LeaseEnd::Revoked);
    assert!(server.revoked);
    assert_eq!(server.renewed_at.len(), 5);
    assert_eq!(run.renewals, 5);
    let mut previous = T0;
    let mut gaps = Vec::new();
    for at in &server.renewed_at {
        let gap = at.saturating_duration_since(previous);
        // Two thirds of the 600 s remaining, less up to a sixth of jitter.
        assert!(
            gap >= Duration::from_secs(300) && gap <= Duration::from_secs(400),
            "{gap:?}"
        );
        gaps.push(gap);
        previous = *at;
    }
    assert!(gaps.iter().any(|g| *g != gaps[0]), "jittered: {gaps:?}");
    assert!(
        run.statuses
            .iter()
            .all(|(_, s)| matches!(s, LeaseStatus::Active | LeaseStatus::Revoked))
    );
    assert_eq!(run.statuses.last().unwrap().1, LeaseStatus::Revoked);
    let last = world.sent.last().unwrap();
    assert_eq!(last.method(), Method::DELETE);
}

#[test]
fn the_keeper_stops_at_the_24_hour_cap_and_reports_expiring_before_the_end() {
    let mut world = World::new();
    let ttl = Duration::from_secs(8 * 3600);
    let mut server = LeaseServer::new(ttl);
    let run = keep(&mut world, &mut server, ttl, |_, _| false);
    assert_eq!(run.result.unwrap(), LeaseEnd::Expired);
    assert_eq!(run.ended, T0 + DAY);
    assert!(!server.revoked);
    // No renewal is asked for once the server's answer was capped: exactly one renewal was
    // late enough to reach the cap.
    let last_renewal = *server.renewed_at.last().unwrap();
    assert!(last_renewal > T0 + DAY - ttl);
    let capped = server
        .renewed_at
        .iter()
        .filter(|at| **at + ttl >= T0 + DAY)
        .count();
    assert_eq!(capped, 1, "{:?}", server.renewed_at);
    assert_eq!(
        world.requests_to("/renew"),
        server.renewed_at.len(),
        "no renewal after the cap"
    );
    let expiring = run
        .statuses
        .iter()
        .find(|(_, s)| *s == LeaseStatus::Expiring)
        .expect("reported expiring");
    assert_eq!(expiring.0, T0 + DAY - Duration::from_secs(60));
    assert_eq!(run.statuses.last().unwrap().1, LeaseStatus::Expired);
}

#[test]
fn a_renewal_granted_shorter_than_asked_is_the_last() {
    // The server's own TTL policy grants a minute less than asked: the lease cannot be kept
    // for the TTL, so the keeper lets it run out. (Answers shorter by less than a second are
    // the rounding of second-precision expiries: the other keeper tests renew through those.)
    let ttl = Duration::from_secs(600);
    let mut world = World::new();
    let mut server = LeaseServer::new(ttl);
    server.short_by = Duration::from_secs(60);
    let run = keep(&mut world, &mut server, ttl, |_, _| false);
    assert_eq!(run.result.unwrap(), LeaseEnd::Expired);
    assert_eq!((server.renewed_at.len(), run.renewals), (1, 1));
    // It ends at the granted expiry, as the answer spells it (to the second).
    assert!(server.expires.saturating_duration_since(run.ended) < Duration::from_secs(1));
}

#[test]
fn a_renewal_granted_up_to_a_second_short_is_rounding_and_renewals_go_on() {
    // Woken on whole seconds, so that an answer a second short is exactly one second short.
    let whole =
        |t: Timestamp| Timestamp::from_unix_millis(t.as_unix_millis().div_ceil(1000) * 1000);
    let ttl = Duration::from_secs(600);
    let mut world = World::new();
    let mut server = LeaseServer::new(ttl);
    server.short_by = Duration::from_secs(1);
    let run = keep_waking(
        &mut world,
        &mut server,
        ttl,
        |server, _| server.renewed_at.len() >= 3,
        whole,
    );
    assert_eq!(run.result.unwrap(), LeaseEnd::Revoked);
    assert_eq!(run.renewals, 3);
}

#[test]
fn a_lease_ending_within_a_second_of_the_cap_is_not_renewed() {
    let mut world = World::new();
    let ttl = Duration::from_secs(8 * 3600);
    let mut server = LeaseServer::new(ttl);
    server.expires = T0 + DAY - Duration::from_secs(1);
    let run = keep(&mut world, &mut server, ttl, |_, _| false);
    assert_eq!(run.result.unwrap(), LeaseEnd::Expired);
    assert!(server.renewed_at.is_empty(), "{:?}", server.renewed_at);
    assert_eq!(
        (run.ended, run.renewals),
        (T0 + DAY - Duration::from_secs(1), 0)
    );
}

#[test]
fn a_retryable_renewal_failure_is_tried_again_and_the_lease_lives_on() {
    let mut world = World::new();
    let ttl = Duration::from_secs(600);
    let mut server = LeaseServer::new(ttl);
    // Every attempt of the first renewal fails (the request's own retries included).
    for _ in 0..4 {
        server
            .failures
            .push_back(Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable")));
    }
    server.failures.push_back(Err(transport()));
    let run = keep(&mut world, &mut server, ttl, |server, _| {
        server.renewed_at.len() >= 2
    });
    assert_eq!(run.result.unwrap(), LeaseEnd::Revoked);
    assert_eq!(server.renewed_at.len(), 2);
    assert!(server.renewed_at[0] < T0 + ttl, "renewed before the end");
    assert!(world.requests_to("/renew") >= 6);
}

#[test]
fn repeating_a_failed_renewal_draws_on_the_retry_budget() {
    // A budget whose window outlasts the lease: the first renewal's retries spend its floor,
    // and nothing the keeper sends afterwards earns more.
    let budget = RetryBudget::default().with_window(Duration::from_secs(3600));
    let mut world =
        World::with_config(|c| c.retry = RetryPolicy::default().with_budget(Some(budget)));
    let ttl = Duration::from_secs(600);
    let mut server = LeaseServer::new(ttl);
    for _ in 0..4 {
        server
            .failures
            .push_back(Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable")));
    }
    let run = keep(&mut world, &mut server, ttl, |_, _| false);
    assert_eq!(run.result.unwrap(), LeaseEnd::Expired);
    assert_eq!(
        world.requests_to("/renew"),
        4,
        "the repeat was never allowed"
    );
    assert!(server.renewed_at.is_empty());
    assert!(world.client.stats().retries_refused >= 1);
    // Without a budget the same keeper repeats the renewal and the lease lives on.
    let mut world = World::with_config(|c| c.retry = RetryPolicy::default().with_budget(None));
    let mut server = LeaseServer::new(ttl);
    for _ in 0..4 {
        server
            .failures
            .push_back(Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable")));
    }
    let run = keep(&mut world, &mut server, ttl, |server, _| {
        !server.renewed_at.is_empty()
    });
    assert_eq!(run.result.unwrap(), LeaseEnd::Revoked);
}

#[test]
fn renewals_failing_until_the_end_report_expiring_then_expired() {
    let mut world = World::new();
    let ttl = Duration::from_secs(600);
    let mut server = LeaseServer::new(ttl);
    for _ in 0..1000 {
        server
            .failures
            .push_back(Ok(error(StatusCode::BAD_GATEWAY, "target_unavailable")));
    }
    let run = keep(&mut world, &mut server, ttl, |_, _| false);
    assert_eq!(run.result.unwrap(), LeaseEnd::Expired);
    // At the end, or once the renewal attempt running then has given up.
    assert!(run.ended >= T0 + ttl && run.ended < T0 + ttl + Duration::from_secs(10));
    let expiring = run
        .statuses
        .iter()
        .find(|(_, s)| *s == LeaseStatus::Expiring)
        .expect("reported expiring");
    assert!(expiring.0 >= T0 + ttl - Duration::from_secs(60) && expiring.0 < T0 + ttl);
}

#[test]
fn a_non_retryable_renewal_failure_stops_the_keeper_with_the_error() {
    let mut world = World::new();
    let ttl = Duration::from_secs(600);
    let mut server = LeaseServer::new(ttl);
    server
        .failures
        .push_back(Ok(error(StatusCode::NOT_FOUND, "lease_not_found")));
    let run = keep(&mut world, &mut server, ttl, |_, _| false);
    assert!(matches!(run.result, Err(Error::LeaseNotFound { lease_id }) if lease_id == LEASE_ID));
    assert_eq!(run.statuses.last().unwrap().1, LeaseStatus::Failed);
    assert_eq!(world.requests_to("/renew"), 1, "not retried");
    assert!(run.ended < T0 + ttl);
}

#[test]
fn revoke_wakes_a_sleeping_keeper_at_once() {
    let mut world = World::new();
    let ttl = Duration::from_secs(3600);
    let mut server = LeaseServer::new(ttl);
    let mut keeper = world.client.keep_lease(&server.lease(), ttl);
    let step = keeper.step(&mut world.client, Input::Start, world.now, &mut world.rng);
    let Step::Sleep(until) = step else {
        panic!("the keeper sleeps until its first renewal")
    };
    assert_eq!(Some(until), keeper.renew_at());
    assert_eq!(keeper.replace_at(), T0 + ttl - Duration::from_secs(60));
    // The application closes the keeper long before the alarm.
    world.advance(Duration::from_secs(5));
    keeper.revoke();
    let Step::Send(request) =
        keeper.step(&mut world.client, Input::Wake, world.now, &mut world.rng)
    else {
        panic!("revoke is sent at once")
    };
    assert_eq!(request.method(), Method::DELETE);
    let response = server.respond(&request, world.now).unwrap();
    let step = keeper.step(
        &mut world.client,
        Input::Response(response),
        world.now,
        &mut world.rng,
    );
    assert!(matches!(step, Step::Done(Ok(LeaseEnd::Revoked))));
    assert_eq!(keeper.status(), LeaseStatus::Revoked);
    assert!(matches!(
        keeper.step(&mut world.client, Input::Wake, world.now, &mut world.rng),
        Step::Done(Err(_))
    ));
}
