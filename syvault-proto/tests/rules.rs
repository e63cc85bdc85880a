//! The client rules of docs/protocol.md §12 that are easiest to break without noticing, each
//! pinned by a test that fails when the rule is dropped: rotation polling (§12.5), the cache's
//! purge, revalidation and stale rules (§12.2), folder loading (§12.1), create's checks
//! (§12.4), and token and status handling of every exchange (§6.4, §3).

mod common;

use std::cell::Cell;
use std::time::Duration;

use common::{World, bearer, error, error_with_retry_after, json};
use http::{Method, StatusCode};
use syvault_proto::cache::CachePolicy;
use syvault_proto::error::{ErrorCode, TransportErrorKind};
use syvault_proto::ops::Operation;
use syvault_proto::record::RecordPayload;
use syvault_proto::retry::RetryPolicy;
use syvault_proto::step::{Input, Request, Response, Step};
use syvault_proto::wire::{
    self, Access, Base64Bytes, DataEnvelope, Folder, FolderList, Record, Rotation, RotationStatus,
};
use syvault_proto::{Error, RecordUid, folder_key};
use uuid::Uuid;

const ROTATION_ID: Uuid = Uuid::from_u128(0x707);

fn password(secret: &syvault_proto::model::Secret) -> &str {
    secret.field("password").unwrap().expose()
}

fn transport(kind: TransportErrorKind) -> Error {
    Error::transport(kind, "scripted")
}

fn is_malformed(result: &Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(result, Err(Error::MalformedResponse { .. }))
}

fn rotation_answer(
    status: StatusCode,
    id: Uuid,
    uid: RecordUid,
    state: RotationStatus,
    revision: Option<u64>,
) -> Response {
    json(
        status,
        &DataEnvelope::new(Rotation {
            rotation_id: id,
            uid,
            status: state,
            revision,
            error: None,
        }),
    )
}

/// A server that starts rotation [`ROTATION_ID`] of `uid` and answers every poll with `poll`.
fn rotating(
    uid: RecordUid,
    mut poll: impl FnMut(&mut World, u32) -> Response,
) -> impl FnMut(&mut World, &Request) -> Result<Response, Error> {
    let mut polls = 0;
    move |w, request| {
        let path = request.uri().path();
        if path.ends_with("/rotate") {
            return Ok(rotation_answer(
                StatusCode::ACCEPTED,
                ROTATION_ID,
                uid,
                RotationStatus::Pending,
                None,
            ));
        }
        if path.contains("/rotations/") {
            polls += 1;
            return Ok(poll(w, polls));
        }
        Ok(w.serve(request))
    }
}

fn store_password(w: &mut World, uid: RecordUid, value: &str, revision: u64) {
    let mut payload = RecordPayload::new("Database");
    payload.fields.set("password", value);
    w.store(uid, "Production", &payload, revision);
}

// ---- rotation polling (§12.5) ---------------------------------------------------------------

#[test]
fn a_poll_answer_about_another_rotation_or_secret_is_refused() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let other_uid = w.add_secret("Production", "Other", &[("password", "x")]);
    for (id, about) in [(Uuid::from_u128(0xbad), uid), (ROTATION_ID, other_uid)] {
        let op = w.client.rotate(uid);
        let result = w.drive(
            op,
            rotating(uid, |_, _| {
                rotation_answer(
                    StatusCode::OK,
                    id,
                    about,
                    RotationStatus::Completed,
                    Some(1),
                )
            }),
        );
        assert!(is_malformed(&result), "{result:?}");
    }
}

#[test]
fn a_completed_rotation_without_a_revision_is_refused() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let op = w.client.rotate(uid);
    let result = w.drive(
        op,
        rotating(uid, |_, _| {
            rotation_answer(
                StatusCode::OK,
                ROTATION_ID,
                uid,
                RotationStatus::Completed,
                None,
            )
        }),
    );
    assert!(is_malformed(&result), "{result:?}");
}

#[test]
fn a_lagging_replica_is_read_again_until_it_has_the_new_revision() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let reads = Cell::new(0);
    let op = w.client.rotate(uid);
    let mut server = rotating(uid, |_, _| {
        rotation_answer(
            StatusCode::OK,
            ROTATION_ID,
            uid,
            RotationStatus::Completed,
            Some(2),
        )
    });
    let outcome = w
        .drive(op, |w, request| {
            if request.uri().path().ends_with(&format!("/secrets/{uid}")) {
                reads.set(reads.get() + 1);
                // The first read reaches a replica still at revision 1.
                if reads.get() == 2 {
                    store_password(w, uid, "new", 2);
                }
            }
            server(w, request)
        })
        .unwrap();
    assert_eq!(reads.get(), 2);
    assert_eq!((outcome.revision, password(&outcome.secret)), (2, "new"));
}

#[test]
fn retry_after_on_a_poll_sets_the_next_poll() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let op = w.client.rotate(uid);
    w.drive(
        op,
        rotating(uid, |_, polls| {
            if polls == 1 {
                let mut r = rotation_answer(
                    StatusCode::OK,
                    ROTATION_ID,
                    uid,
                    RotationStatus::Running,
                    None,
                );
                r.headers_mut().insert("retry-after", "3".parse().unwrap());
                return r;
            }
            rotation_answer(
                StatusCode::OK,
                ROTATION_ID,
                uid,
                RotationStatus::Completed,
                Some(1),
            )
        }),
    )
    .unwrap();
    assert_eq!(w.slept, [Duration::from_secs(3)]);
}

// ---- the cache (§12.2) ----------------------------------------------------------------------

fn stale_world() -> (World, RecordUid) {
    let mut w = World::with_config(|c| {
        c.cache.max_stale = Some(Duration::from_secs(600));
        c.max_response_body = 4096;
    });
    let uid = w.add_secret("Production", "Database", &[("password", "cached")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    w.advance(Duration::from_secs(61));
    (w, uid)
}

/// After `answer` purged the entry, an outage no longer serves it stale.
fn assert_purged(w: &mut World, uid: RecordUid) {
    assert_eq!(w.client.cached_secrets(), 0);
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| Err(transport(TransportErrorKind::Connect)));
    assert!(matches!(result, Err(Error::Transport { .. })), "{result:?}");
}

#[test]
fn a_404_purges_the_entry() {
    let (mut w, uid) = stale_world();
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| {
        Ok(error(StatusCode::NOT_FOUND, "secret_not_found"))
    });
    assert!(
        matches!(&result, Err(Error::SecretNotFound { uid: u }) if *u == uid.to_string()),
        "{result:?}"
    );
    assert_purged(&mut w, uid);
}

#[test]
fn a_401_purges_the_entry() {
    let (mut w, uid) = stale_world();
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| {
        Ok(error(StatusCode::UNAUTHORIZED, "unauthorized"))
    });
    assert!(
        matches!(result, Err(Error::AuthenticationFailed { status: 401, .. })),
        "{result:?}"
    );
    assert_purged(&mut w, uid);
}

#[test]
fn a_304_for_an_entry_evicted_meanwhile_fetches_it_whole() {
    let mut w = World::with_config(|c| {
        c.cache = CachePolicy::default().with_max_entries(1);
    });
    let a = w.add_secret("Production", "A", &[("password", "a")]);
    let b = w.add_secret("Production", "B", &[("password", "b")]);
    let op = w.client.get(a);
    w.run(op).unwrap();
    w.advance(Duration::from_secs(61));

    let mut op = w.client.get(a);
    let Step::Send(conditional) = op.step(&mut w.client, Input::Start, w.now, &mut w.rng) else {
        panic!("expected a request");
    };
    assert!(conditional.headers().contains_key("if-none-match"));
    // Another read fills the one-entry cache while the revalidation is out.
    let other = w.client.get(b);
    w.run(other).unwrap();
    let not_modified = http::Response::builder()
        .status(304)
        .body(Vec::new())
        .unwrap();
    let Step::Send(whole) = op.step(
        &mut w.client,
        Input::Response(not_modified),
        w.now,
        &mut w.rng,
    ) else {
        panic!("expected an unconditional fetch");
    };
    assert!(!whole.headers().contains_key("if-none-match"));
    let answer = w.serve(&whole);
    let Step::Done(result) = op.step(&mut w.client, Input::Response(answer), w.now, &mut w.rng)
    else {
        panic!("expected the result");
    };
    assert_eq!(password(&result.unwrap()), "a");
}

#[test]
fn a_read_past_the_cache_is_never_served_stale() {
    let (mut w, uid) = stale_world();
    let op = w.client.rotate(uid);
    let mut server = rotating(uid, |_, _| {
        rotation_answer(
            StatusCode::OK,
            ROTATION_ID,
            uid,
            RotationStatus::Completed,
            Some(2),
        )
    });
    let result = w.drive(op, |w, request| {
        if request.uri().path().ends_with(&format!("/secrets/{uid}")) {
            return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
        }
        server(w, request)
    });
    assert_eq!(result.unwrap_err().status(), Some(503));
}

#[test]
fn a_429_serves_stale_but_a_bad_answer_does_not() {
    let (mut w, uid) = stale_world();
    let op = w.client.get(uid);
    let secret = w
        .drive(op, |_, _| {
            Ok(error_with_retry_after(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                1,
            ))
        })
        .unwrap();
    assert_eq!(password(&secret), "cached");

    // Once the stale backoff is over (an eighth of the TTL after the first failure, plus up to
    // a quarter of that), the next read revalidates.
    w.advance(Duration::from_millis(9_375));
    let op = w.client.get(uid);
    let garbage = w.drive(op, |_, _| {
        Ok(http::Response::builder()
            .status(200)
            .body(b"{\"data\":".to_vec())
            .unwrap())
    });
    assert!(is_malformed(&garbage), "{garbage:?}");

    let op = w.client.get(uid);
    let corrupted = w.drive(op, |w, request| {
        let mut record = w.records[&uid].clone();
        let last = record.encrypted_data.0.len() - 1;
        record.encrypted_data.0[last] ^= 1;
        let _ = request;
        Ok(json(StatusCode::OK, &DataEnvelope::new(record)))
    });
    assert!(
        matches!(corrupted, Err(Error::Decryption { .. })),
        "{corrupted:?}"
    );

    let op = w.client.get(uid);
    let oversized = w.drive(op, |_, _| {
        Ok(http::Response::builder()
            .status(200)
            .body(vec![b' '; 5000])
            .unwrap())
    });
    assert!(
        matches!(oversized, Err(Error::BodyTooLarge { .. })),
        "{oversized:?}"
    );
}

// ---- folders (§12.1) ------------------------------------------------------------------------

#[test]
fn a_record_in_a_folder_the_client_never_gets_is_unknown_folder() {
    let mut w = World::new();
    let hidden = w.add_folder("Hidden", None, Access::Read);
    let uid = w.add_secret("Hidden", "Secret", &[("password", "x")]);
    w.folders.retain(|f| f.id != hidden);
    let op = w.client.list_folders();
    w.run(op).unwrap();
    let op = w.client.get(uid);
    let result = w.run(op);
    assert!(
        matches!(result, Err(Error::UnknownFolder { folder_id }) if folder_id == hidden),
        "{result:?}"
    );
    assert_eq!(w.requests_to("/folders"), 2, "reloaded once, then given up");
}

#[test]
fn a_folder_key_that_does_not_unwrap_rejects_the_listing() {
    let mut w = World::new();
    w.add_folder("Staging", None, Access::Read);
    let op = w.client.list_folders();
    let result = w.drive(op, |w, _| {
        let data = w
            .folders
            .iter()
            .enumerate()
            .map(|(i, f)| {
                // The second folder's key is wrapped for another client.
                let for_client = if i == 1 {
                    Uuid::from_u128(0xbad)
                } else {
                    w.client_id
                };
                Folder {
                    folder_id: f.id,
                    parent_id: f.parent,
                    encrypted_key: Base64Bytes(folder_key::wrap(
                        &f.key,
                        &f.id,
                        &for_client,
                        &w.key.public_key(),
                        &mut w.rng,
                    )),
                    encrypted_name: Base64Bytes(folder_key::seal_name(&f.key, &f.name, &mut w.rng)),
                    access: f.access,
                }
            })
            .collect();
        Ok(json(StatusCode::OK, &FolderList { data }))
    });
    assert!(
        matches!(result, Err(Error::Decryption { .. })),
        "{result:?}"
    );
}

// ---- create (§12.4) -------------------------------------------------------------------------

fn create_payload() -> RecordPayload {
    let mut payload = RecordPayload::new("New Key");
    payload.fields.set("token", "t0ken");
    payload
}

/// What the server would store for a create request.
fn stored(request: &Request) -> Record {
    let body: wire::CreateSecretRequest = serde_json::from_slice(request.body()).unwrap();
    Record {
        uid: body.uid,
        folder_id: body.folder_id,
        revision: 1,
        encrypted_dek: body.encrypted_dek,
        encrypted_data: body.encrypted_data,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

#[test]
fn a_create_answer_about_another_uid_or_folder_is_refused() {
    for tamper in [
        (|r: &mut Record| r.uid = "AAAAAAAAAAAA".parse().unwrap()) as fn(&mut Record),
        |r: &mut Record| r.folder_id = Uuid::from_u128(0xf1f),
    ] {
        let mut w = World::new();
        let folder = w.folder("Production").id;
        let op = w.client.create(folder, create_payload());
        let result = w.drive(op, |w, request| {
            if request.method() == Method::POST {
                let mut record = stored(request);
                tamper(&mut record);
                return Ok(json(StatusCode::CREATED, &DataEnvelope::new(record)));
            }
            Ok(w.serve(request))
        });
        assert!(is_malformed(&result), "{result:?}");
        assert_eq!(w.client.cached_secrets(), 0);
    }
}

#[test]
fn a_409_to_the_first_attempt_is_a_conflict_without_reading_back() {
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let op = w.client.create(folder, create_payload());
    let result = w.drive(op, |w, request| {
        if request.method() == Method::POST {
            // The record is there, even with our ciphertext: a first attempt still conflicts.
            let record = stored(request);
            w.records.insert(record.uid, record);
            return Ok(error(StatusCode::CONFLICT, "uid_conflict"));
        }
        Ok(w.serve(request))
    });
    assert_eq!(result.unwrap_err().code(), Some(&ErrorCode::UidConflict));
    assert!(
        !w.sent
            .iter()
            .any(|r| r.method() == Method::GET && r.uri().path().contains("/secrets/")),
        "no read-back after a first-attempt conflict"
    );
}

/// Answers a create as when its first attempt is stored and the answer lost: the retry meets
/// the stored record, 409.
fn store_then_lose(w: &mut World, request: &Request, posts: &Cell<u32>) -> Result<Response, Error> {
    posts.set(posts.get() + 1);
    if posts.get() == 1 {
        let record = stored(request);
        w.records.insert(record.uid, record);
        return Err(Error::transport(
            TransportErrorKind::ConnectionClosed,
            "answer lost",
        ));
    }
    Ok(error(StatusCode::CONFLICT, "uid_conflict"))
}

fn is_read_back(request: &Request) -> bool {
    request.method() == Method::GET && request.uri().path().contains("/secrets/")
}

fn requested_uid(request: &Request) -> RecordUid {
    request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The stored record with its ciphertext's last byte flipped.
fn corrupted(w: &World, uid: RecordUid) -> Response {
    let mut record = w.records[&uid].clone();
    let last = record.encrypted_data.0.len() - 1;
    record.encrypted_data.0[last] ^= 1;
    json(StatusCode::OK, &DataEnvelope::new(record))
}

#[test]
fn a_corrupted_read_back_after_a_lost_create_answer_is_read_again() {
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let (posts, reads) = (Cell::new(0), Cell::new(0));
    let op = w.client.create(folder, create_payload());
    let created = w
        .drive(op, |w, request| {
            if request.method() == Method::POST {
                return store_then_lose(w, request, &posts);
            }
            if !is_read_back(request) {
                return Ok(w.serve(request));
            }
            reads.set(reads.get() + 1);
            let uid = requested_uid(request);
            if reads.get() == 1 {
                return Ok(corrupted(w, uid));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    assert_eq!(created.field("token").unwrap().expose(), "t0ken");
    assert_eq!((posts.get(), reads.get()), (2, 2));
    assert!(w.records.contains_key(&created.uid));
    // A backoff before the POST's retry and one before the second read-back.
    assert_eq!(w.slept.len(), 2, "{:?}", w.slept);
}

#[test]
fn a_read_back_that_never_settles_says_the_secret_may_exist_and_never_conflict() {
    for failure in ["corrupted", "unavailable", "truncated"] {
        let mut w = World::with_config(|c| c.retry = RetryPolicy::default().with_budget(None));
        let folder = w.folder("Production").id;
        let (posts, reads) = (Cell::new(0), Cell::new(0));
        let op = w.client.create(folder, create_payload());
        let result = w.drive(op, |w, request| {
            if request.method() == Method::POST {
                return store_then_lose(w, request, &posts);
            }
            if !is_read_back(request) {
                return Ok(w.serve(request));
            }
            reads.set(reads.get() + 1);
            Ok(match failure {
                "corrupted" => corrupted(w, requested_uid(request)),
                "unavailable" => error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                _ => http::Response::builder()
                    .status(200)
                    .body(b"{\"data\":".to_vec())
                    .unwrap(),
            })
        });
        let err = result.unwrap_err();
        let stored_uid = *w.records.keys().next().unwrap();
        assert!(
            matches!(&err, Error::CreateUnconfirmed { uid, .. } if *uid == stored_uid.to_string()),
            "{failure}: {err:?}"
        );
        assert_ne!(err.code(), Some(&ErrorCode::UidConflict), "{failure}");
        assert!(
            !err.is_retryable(),
            "{failure}: a new create would make a copy"
        );
        assert!(err.to_string().contains(stored_uid.as_str()), "{err}");
        assert!(std::error::Error::source(&err).is_some(), "{failure}");
        assert!(!format!("{err} {err:?}").contains("t0ken"), "{failure}");
        // Read back as often as the retry policy allows a request to be sent, no more.
        assert_eq!(reads.get(), 4, "{failure}");
        assert_eq!(w.client.cached_secrets(), 0, "{failure}");
    }
}

#[test]
fn a_read_back_spends_the_retry_budget_like_any_retry() {
    // The default budget allows three retries in its window: the POST's retry takes one.
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let (posts, reads) = (Cell::new(0), Cell::new(0));
    let op = w.client.create(folder, create_payload());
    let result = w.drive(op, |w, request| {
        if request.method() == Method::POST {
            return store_then_lose(w, request, &posts);
        }
        if !is_read_back(request) {
            return Ok(w.serve(request));
        }
        reads.set(reads.get() + 1);
        Ok(corrupted(w, requested_uid(request)))
    });
    assert!(
        matches!(result, Err(Error::CreateUnconfirmed { .. })),
        "{result:?}"
    );
    assert_eq!(reads.get(), 3);
}

#[test]
fn a_read_back_that_opens_as_another_record_is_a_conflict() {
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let key = w.folder("Production").key.clone();
    let (posts, reads) = (Cell::new(0), Cell::new(0));
    let op = w.client.create(folder, create_payload());
    let result = w.drive(op, |w, request| {
        if request.method() == Method::POST {
            posts.set(posts.get() + 1);
            if posts.get() == 1 {
                return Err(Error::transport(TransportErrorKind::Timeout, "lost"));
            }
            // Another writer's record under the same UID, sealed as a client would.
            let mut theirs = stored(request);
            let sealed = syvault_proto::record::seal(
                &theirs.uid,
                &key,
                &RecordPayload::new("Theirs"),
                &mut w.rng,
            );
            theirs.encrypted_dek = Base64Bytes(sealed.encrypted_dek);
            theirs.encrypted_data = Base64Bytes(sealed.encrypted_data);
            w.records.insert(theirs.uid, theirs);
            return Ok(error(StatusCode::CONFLICT, "uid_conflict"));
        }
        if is_read_back(request) {
            reads.set(reads.get() + 1);
        }
        Ok(w.serve(request))
    });
    assert_eq!(result.unwrap_err().code(), Some(&ErrorCode::UidConflict));
    assert_eq!(reads.get(), 1, "a record that opens settles it at once");
}

#[test]
fn a_read_back_that_is_not_visible_is_a_conflict() {
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let posts = Cell::new(0);
    let op = w.client.create(folder, create_payload());
    let result = w.drive(op, |w, request| {
        if request.method() == Method::POST {
            posts.set(posts.get() + 1);
            if posts.get() == 1 {
                return Err(Error::transport(TransportErrorKind::Timeout, "lost"));
            }
            return Ok(error(StatusCode::CONFLICT, "uid_conflict"));
        }
        if is_read_back(request) {
            return Ok(error(StatusCode::NOT_FOUND, "secret_not_found"));
        }
        Ok(w.serve(request))
    });
    assert_eq!(result.unwrap_err().code(), Some(&ErrorCode::UidConflict));
}

// ---- exchanges (§6.4, §3) -------------------------------------------------------------------

#[test]
fn a_fresh_token_refused_with_401_is_not_used_again() {
    let mut w = World::with_config(|c| c.retry = RetryPolicy::NONE);
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(uid);
    let result = w.drive(op, |_, _| {
        Ok(error(StatusCode::UNAUTHORIZED, "unauthorized"))
    });
    assert!(
        matches!(result, Err(Error::AuthenticationFailed { .. })),
        "{result:?}"
    );
    let refused = bearer(&w.sent[0]).unwrap();
    w.advance(Duration::from_secs(1));
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let next = bearer(w.sent.last().unwrap()).unwrap();
    assert_ne!(
        next, refused,
        "the refused token was dropped and a new one signed"
    );
}

#[test]
fn a_success_status_other_than_the_one_required_is_malformed() {
    // Create must answer 201.
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let op = w.client.create(folder, create_payload());
    let result = w.drive(op, |w, request| {
        if request.method() == Method::POST {
            return Ok(json(StatusCode::OK, &DataEnvelope::new(stored(request))));
        }
        Ok(w.serve(request))
    });
    assert!(is_malformed(&result), "{result:?}");

    // A read must answer 200.
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.get(uid);
    let result = w.drive(op, |w, request| {
        let mut response = w.serve(request);
        if request.uri().path().contains("/secrets/") {
            *response.status_mut() = StatusCode::ACCEPTED;
        }
        Ok(response)
    });
    assert!(is_malformed(&result), "{result:?}");

    // Starting a rotation must answer 202, and a poll 200.
    for (start, poll) in [
        (StatusCode::OK, StatusCode::OK),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED),
    ] {
        let mut w = World::new();
        let uid = w.add_secret("Production", "Database", &[("password", "old")]);
        let op = w.client.rotate(uid);
        let result = w.drive(op, |w, request| {
            let path = request.uri().path();
            if path.ends_with("/rotate") {
                return Ok(rotation_answer(
                    start,
                    ROTATION_ID,
                    uid,
                    RotationStatus::Pending,
                    None,
                ));
            }
            if path.contains("/rotations/") {
                return Ok(rotation_answer(
                    poll,
                    ROTATION_ID,
                    uid,
                    RotationStatus::Completed,
                    Some(1),
                ));
            }
            Ok(w.serve(request))
        });
        assert!(is_malformed(&result), "{start} then {poll}: {result:?}");
    }
}
