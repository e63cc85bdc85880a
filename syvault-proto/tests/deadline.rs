//! The operation timeout: requests carry the time left, waits that cannot end in time are not
//! waited for, and the error names the server and the last failure, on a virtual clock.

mod common;

use std::time::Duration;

use common::{SERVER, World, error, error_with_retry_after, json};
use http::StatusCode;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::ops::{Deadline, Operation, StartRotation};
use syvault_proto::step::{Input, Step, TimeLeft};
use syvault_proto::wire::{DataEnvelope, Rotation, RotationStatus};
use syvault_proto::{Error, RecordUid};
use uuid::Uuid;

const LIMIT: Duration = Duration::from_secs(5);

fn time_left(request: &http::Request<Vec<u8>>) -> Option<Duration> {
    request.extensions().get::<TimeLeft>().map(|left| left.0)
}

fn timed_out(result: syvault_proto::Result<impl std::fmt::Debug>) -> (Duration, Option<Error>) {
    match result {
        Err(Error::OperationTimeout {
            server,
            timeout,
            last,
        }) => {
            assert_eq!(server, SERVER);
            (timeout, last.map(|last| *last))
        }
        other => panic!("expected an operation timeout, got {other:?}"),
    }
}

#[test]
fn a_server_that_never_answers_ends_the_operation_at_the_limit() {
    let mut w = World::with_config(|c| c.operation_timeout = Some(LIMIT));
    let started = w.now;
    let op = Deadline::new(w.client.list());
    let mut lefts = Vec::new();
    let result = w.drive(op, |w, request| {
        // The transport gives up when the operation's time is up, as drivers do.
        let left = time_left(request).expect("the time left travels with the request");
        lefts.push(left);
        w.advance(left);
        Err(Error::transport(
            TransportErrorKind::Timeout,
            "timeout: global",
        ))
    });
    let (timeout, last) = timed_out(result);
    assert_eq!(timeout, LIMIT);
    assert!(matches!(
        last,
        Some(Error::Transport {
            kind: TransportErrorKind::Timeout,
            ..
        })
    ));
    assert_eq!(w.now.saturating_duration_since(started), LIMIT);
    assert_eq!(w.sent.len(), 1, "no retry once the time is up");
    assert_eq!(lefts, [LIMIT]);
    assert_eq!(
        timed_out_message(&mut World::with_config(
            |c| c.operation_timeout = Some(LIMIT)
        )),
        "no answer from https://vault.example.com within 5 s"
    );
}

fn timed_out_message(w: &mut World) -> String {
    let op = Deadline::new(w.client.list());
    w.drive(op, |w, request| {
        w.advance(time_left(request).unwrap());
        Err(Error::transport(TransportErrorKind::Timeout, "timeout"))
    })
    .unwrap_err()
    .to_string()
}

#[test]
fn retries_get_the_time_left_and_a_wait_past_the_limit_is_not_waited() {
    let mut w = World::with_config(|c| {
        c.operation_timeout = Some(LIMIT);
        // No retry budget: this is about the deadline, not about how many retries a client
        // may add to its traffic (tests/fleet.rs).
        c.retry = syvault_proto::retry::RetryPolicy::default()
            .with_max_attempts(100)
            .with_budget(None);
    });
    let started = w.now;
    let op = Deadline::new(w.client.list());
    let mut lefts = Vec::new();
    let result = w.drive(op, |w, request| {
        lefts.push(time_left(request).unwrap());
        w.advance(Duration::from_millis(400));
        Err(Error::transport(
            TransportErrorKind::Connect,
            "connection refused",
        ))
    });
    let (_, last) = timed_out(result.clone());
    assert!(matches!(
        last,
        Some(Error::Transport {
            kind: TransportErrorKind::Connect,
            ..
        })
    ));
    assert_eq!(
        result.unwrap_err().to_string(),
        "could not connect to https://vault.example.com within 5 s: connection refused"
    );
    assert!(w.sent.len() > 1, "retried while there was time");
    assert!(lefts.windows(2).all(|pair| pair[1] < pair[0]), "{lefts:?}");
    // It gave up as soon as the next wait could not end in time, never after the limit.
    assert!(w.now.saturating_duration_since(started) <= LIMIT);
}

#[test]
fn error_answers_until_the_limit_are_named() {
    let mut w = World::with_config(|c| {
        c.operation_timeout = Some(LIMIT);
        // No retry budget: this is about the deadline, not about how many retries a client
        // may add to its traffic (tests/fleet.rs).
        c.retry = syvault_proto::retry::RetryPolicy::default()
            .with_max_attempts(100)
            .with_budget(None);
    });
    let op = Deadline::new(w.client.list());
    let error = w
        .drive(op, |_, _| {
            Ok(error_with_retry_after(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                2,
            ))
        })
        .unwrap_err();
    assert_eq!(w.sent.len(), 3, "at 0, 2 and 4 s; a fourth would be at 6 s");
    assert!(
        error
            .to_string()
            .starts_with("no success from https://vault.example.com within 5 s; last error: "),
        "{error}"
    );
}

#[test]
fn without_a_limit_steps_pass_through_and_requests_carry_nothing() {
    let mut w = World::new();
    w.add_secret("Production", "Database", &[("password", "pw")]);
    let op = Deadline::new(w.client.list());
    let listed = w
        .drive(op, |w, request| {
            assert_eq!(time_left(request), None);
            Ok(w.serve(request))
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
}

#[test]
fn a_limit_of_its_own_or_set_later_wins_over_the_builders() {
    let mut w = World::new();
    w.client.set_operation_timeout(Some(Duration::from_secs(9)));
    assert_eq!(w.client.operation_timeout(), Some(Duration::from_secs(9)));
    let mut op = Deadline::with_timeout(w.client.list(), Duration::from_secs(2));
    let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(7);
    let Step::Send(request) = op.step(&mut w.client, Input::Start, w.now, &mut rng) else {
        panic!("a request first")
    };
    assert_eq!(time_left(&request), Some(Duration::from_secs(2)));

    let mut op = Deadline::new(w.client.list());
    let Step::Send(request) = op.step(&mut w.client, Input::Start, w.now, &mut rng) else {
        panic!("a request first")
    };
    assert_eq!(time_left(&request), Some(Duration::from_secs(9)));
    // Stepped after it gave up, it refuses rather than starting again.
    w.advance(Duration::from_secs(10));
    assert!(matches!(
        op.step(
            &mut w.client,
            Input::Failed(Error::transport(TransportErrorKind::Timeout, "t")),
            w.now,
            &mut rng
        ),
        Step::Done(Err(Error::OperationTimeout { .. }))
    ));
    assert!(matches!(
        op.step(&mut w.client, Input::Wake, w.now, &mut rng),
        Step::Done(Err(Error::InvalidInput { .. }))
    ));
}

#[test]
fn a_rotation_wait_ends_at_the_limit_and_an_answer_in_time_is_used() {
    let mut w = World::with_config(|c| c.operation_timeout = Some(LIMIT));
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let id = Uuid::from_u128(0x707);
    let started = w.now;
    let op = Deadline::new(w.client.resume_rotation(uid, id));
    let result = w.drive(op, |_, _| {
        Ok(json(
            StatusCode::OK,
            &DataEnvelope::new(rotation(id, uid, RotationStatus::Running)),
        ))
    });
    timed_out(result);
    assert!(w.now.saturating_duration_since(started) <= LIMIT);
    assert!(w.requests_to(&format!("/rotations/{id}")) > 1);
}

fn rotation(id: Uuid, uid: RecordUid, status: RotationStatus) -> Rotation {
    serde_json::from_value(serde_json::json!({
        "rotation_id": id,
        "uid": uid.as_str(),
        "status": status,
    }))
    .unwrap()
}

#[test]
fn starting_a_rotation_says_whether_it_was_already_running() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let id = Uuid::from_u128(0x808);
    let started = w
        .drive(StartRotation::new(uid), |_, _| {
            Ok(json(
                StatusCode::ACCEPTED,
                &DataEnvelope::new(rotation(id, uid, RotationStatus::Pending)),
            ))
        })
        .unwrap();
    assert_eq!((started.rotation_id, started.adopted), (id, false));
    assert_eq!(w.sent.len(), 1);
    assert_eq!(w.sent[0].method(), http::Method::POST);
    assert!(
        w.sent[0]
            .uri()
            .path()
            .ends_with(&format!("/secrets/{uid}/rotate"))
    );

    let adopted = w
        .drive(w.client.start_rotation(uid), |_, _| {
            let body = format!(
                r#"{{"error":{{"code":"rotation_in_progress","message":"busy","details":{{"rotation_id":"{id}"}}}}}}"#
            );
            Ok(http::Response::builder()
                .status(409)
                .body(body.into_bytes())
                .unwrap())
        })
        .unwrap();
    assert_eq!((adopted.rotation_id, adopted.adopted), (id, true));

    let missing = w
        .drive(StartRotation::new(uid), |_, _| {
            Ok(error(StatusCode::NOT_FOUND, "secret_not_found"))
        })
        .unwrap_err();
    assert!(
        matches!(missing, Error::SecretNotFound { .. }),
        "{missing:?}"
    );
    assert_eq!(StartRotation::new(uid).subject(), Some(uid.to_string()));
}
