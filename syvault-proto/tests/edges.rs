//! Behaviour at the edges of the client state that no other suite pins: what drivers read from
//! the client, and rules whose breakage would otherwise go unnoticed (found by mutation
//! testing; see docs/testing.md).

mod common;

use std::sync::Arc;
use std::time::Duration;

use chacha20::ChaCha20Rng;
use common::{SERVER, T0, World, error, json};
use http::{Method, StatusCode};
use rand_core::SeedableRng;
use syvault_proto::cache::CachePolicy;
use syvault_proto::config::RotationPolicy;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::jwt::{TokenHolder, TokenMode};
use syvault_proto::lease::{LeaseInfo, format_rfc3339};
use syvault_proto::model::Secret;
use syvault_proto::ops::KeepLease;
use syvault_proto::ops::{GetSecret, Operation};
use syvault_proto::record::RecordPayload;
use syvault_proto::retry::RetryPolicy;
use syvault_proto::step::{Input, Request, Response, Step};
use syvault_proto::wire::{self, Access, DataEnvelope, Record, Rotation, RotationStatus};
use syvault_proto::{Error, RecordUid};
use uuid::Uuid;

#[test]
fn the_client_reports_its_canonical_server_and_body_limit_to_drivers() {
    let w = World::with_config(|c| {
        c.server = "https://vault.example.com/".into();
        c.max_response_body = 4096;
    });
    // Drivers print the server and size their reads by the limit.
    assert_eq!(w.client.server(), "https://vault.example.com");
    assert_eq!(w.client.max_response_body(), 4096);
}

#[test]
fn the_clients_debug_output_names_its_server_and_id_but_not_its_key() {
    let w = World::new();
    let debug = format!("{:?}", w.client);
    assert!(debug.contains("https://vault.example.com"), "{debug}");
    assert!(debug.contains(&w.client_id.to_string()), "{debug}");
    let secret = w.key.to_client_secret();
    assert!(!debug.contains(secret.expose()), "{debug}");
}

#[test]
fn a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_refused() {
    let limit = World::new().folders_response().body().len();
    let mut w = World::with_config(|c| c.max_response_body = limit);
    let op = w.client.list_folders();
    assert_eq!(w.run(op).unwrap().len(), 1);
    let mut w = World::with_config(|c| c.max_response_body = limit - 1);
    let op = w.client.list_folders();
    assert!(
        matches!(w.run(op), Err(Error::BodyTooLarge { limit: l }) if l == limit - 1),
        "one byte over the limit"
    );
}

#[test]
fn token_lifetimes_of_one_second_to_one_hour_are_valid() {
    for secs in [1, 3600] {
        let lifetime = Duration::from_secs(secs);
        assert!(
            TokenMode::PerRequest { lifetime }.validate().is_ok(),
            "{secs} s"
        );
    }
    for lifetime in [Duration::from_millis(999), Duration::from_secs(3601)] {
        assert!(
            TokenMode::PerRequest { lifetime }.validate().is_err(),
            "{lifetime:?}"
        );
    }
}

#[test]
fn a_token_holder_reports_its_mode_and_its_debug_output_never_shows_a_token() {
    let w = World::new();
    let mode = TokenMode::PerRequest {
        lifetime: Duration::from_secs(30),
    };
    let mut holder = TokenHolder::new(mode, w.client_id, SERVER.into()).unwrap();
    assert_eq!(holder.mode(), mode);
    let issued = holder.token(&w.key, T0);
    let token = issued.token.expose().to_owned();
    let issued_debug = format!("{issued:?}");
    assert!(issued_debug.contains("reused: false"), "{issued_debug}");
    let holder_debug = format!("{holder:?}");
    assert!(
        holder_debug.contains(&w.client_id.to_string()),
        "{holder_debug}"
    );
    assert!(holder_debug.contains(SERVER), "{holder_debug}");
    for debug in [issued_debug, holder_debug] {
        assert!(!debug.contains(&token), "{debug}");
    }
}

#[test]
fn operations_about_one_record_name_it_for_the_drivers_log_span() {
    let w = World::new();
    let uid: RecordUid = "7Kj9mNpQ2xRs".parse().unwrap();
    assert_eq!(w.client.get(uid).subject().as_deref(), Some("7Kj9mNpQ2xRs"));
    assert_eq!(
        w.client.rotate(uid).subject().as_deref(),
        Some("7Kj9mNpQ2xRs")
    );
    assert_eq!(w.client.list().subject(), None);
    // A reference names folders, a title and a field, never a value: it is its own subject.
    let reference = "sy://Production/Database/field/password";
    assert_eq!(
        w.client.notation(reference).subject().as_deref(),
        Some(reference)
    );
    let folder = w.folder("Production").id;
    let create = w.client.create(folder, RecordPayload::new("New"));
    assert_eq!(create.subject(), None);
}

#[test]
fn backoff_draws_cover_the_documented_closed_range() {
    let policy = RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(1));
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let draws: Vec<_> = (0..64).map(|_| policy.backoff(1, None, &mut rng)).collect();
    // `[0, 1 ms]`: both ends are drawn, nothing else.
    assert!(draws.contains(&Duration::ZERO));
    assert!(draws.contains(&Duration::from_millis(1)));
    assert!(draws.iter().all(|d| *d <= Duration::from_millis(1)));
}

// ---- folders ---------------------------------------------------------------------------------

#[test]
fn folders_are_loaded_once_and_before_the_first_page() {
    let mut w = World::new();
    w.add_secret("Production", "A", &[("password", "a")]);
    for _ in 0..2 {
        let op = w.client.list();
        w.run(op).unwrap();
    }
    let paths: Vec<_> = w.sent.iter().map(|r| r.uri().path().to_owned()).collect();
    assert_eq!(
        paths,
        [
            "/api/sm/v1/folders",
            "/api/sm/v1/secrets",
            "/api/sm/v1/secrets"
        ]
    );
}

#[test]
fn listing_an_empty_vault_still_loads_the_folders() {
    let mut w = World::new();
    let op = w.client.list();
    assert!(w.run(op).unwrap().is_empty());
    let names: Vec<_> = w.client.folders().into_iter().map(|f| f.name).collect();
    assert_eq!(names, ["Production"]);
}

#[test]
fn a_404_that_is_not_secret_not_found_is_not_reported_as_a_missing_secret() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    // A proxy or a wrong base path answers 404 with its own code.
    let op = w.client.get(uid);
    let result = w.drive(op, |w, request| {
        if request.uri().path().contains("/secrets/") {
            return Ok(error(StatusCode::NOT_FOUND, "not_found"));
        }
        Ok(w.serve(request))
    });
    match result {
        Err(Error::Api(api)) => assert_eq!((api.status, api.code.as_str()), (404, "not_found")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_listing_is_sorted_by_folder_path_then_title() {
    let mut w = World::new();
    let production = w.folder("Production").id;
    w.add_folder("Alpha", None, Access::ReadWrite);
    w.add_folder("Beta", Some(production), Access::ReadWrite);
    w.add_secret("Production", "Zulu", &[("password", "z")]);
    w.add_secret("Production", "Apple", &[("password", "a")]);
    w.add_secret("Beta", "Aardvark", &[("password", "a")]);
    w.add_secret("Alpha", "Yak", &[("password", "y")]);
    let op = w.client.list();
    let listed: Vec<_> = w
        .run(op)
        .unwrap()
        .into_iter()
        .map(|s| format!("{}/{}", s.folder_path.join("/"), s.title))
        .collect();
    assert_eq!(
        listed,
        [
            "Alpha/Yak",
            "Production/Apple",
            "Production/Zulu",
            "Production/Beta/Aardvark"
        ]
    );
}

#[test]
fn a_listed_record_in_a_newly_granted_folder_reloads_the_folders_once_without_paging_again() {
    let mut w = World::new();
    w.add_secret("Production", "Old", &[("password", "o")]);
    let op = w.client.list();
    w.run(op).unwrap();
    w.add_folder("Granted", None, Access::Read);
    w.add_secret("Granted", "New", &[("password", "n")]);
    let op = w.client.list();
    let titles: Vec<_> = w.run(op).unwrap().into_iter().map(|s| s.title).collect();
    assert_eq!(titles, ["New", "Old"]);
    assert_eq!(
        (w.requests_to("/folders"), w.requests_to("/secrets")),
        (2, 2)
    );
}

// ---- reads of one secret in flight at once ---------------------------------------------------

/// A client with the cache disabled and its folders loaded, so that reads go straight for the
/// record and nothing but the operations in flight can hold a secret.
fn uncached_world() -> (World, RecordUid) {
    let mut w = World::with_config(|c| c.cache = CachePolicy::DISABLED);
    let uid = w.add_secret("Production", "A", &[("password", "a")]);
    let op = w.client.list();
    w.run(op).unwrap();
    (w, uid)
}

fn start(w: &mut World, op: &mut GetSecret) -> Step<Arc<Secret>> {
    op.step(&mut w.client, Input::Start, w.now, &mut w.rng)
}

fn wake(w: &mut World, op: &mut GetSecret) -> Step<Arc<Secret>> {
    op.step(&mut w.client, Input::Wake, w.now, &mut w.rng)
}

fn answer(w: &mut World, op: &mut GetSecret, request: &Request) -> Step<Arc<Secret>> {
    let response = w.serve(request);
    op.step(&mut w.client, Input::Response(response), w.now, &mut w.rng)
}

fn sent(step: Step<Arc<Secret>>) -> Request {
    match step {
        Step::Send(request) => request,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn done(step: Step<Arc<Secret>>) -> Arc<Secret> {
    match step {
        Step::Done(Ok(secret)) => secret,
        other => panic!("expected a secret, got {other:?}"),
    }
}

#[test]
fn with_the_cache_disabled_the_client_keeps_no_copy_of_a_secret() {
    let (mut w, uid) = uncached_world();
    let op = w.client.get(uid);
    let secret = w.run(op).unwrap();
    // The caller holds the only copy: dropping it zeroizes the value.
    assert_eq!(Arc::strong_count(&secret), 1);
}

#[test]
fn a_joined_read_that_gives_up_leaves_no_copy_behind() {
    let (mut w, uid) = uncached_world();
    let mut leader = w.client.get(uid);
    let mut follower = w.client.get(uid);
    let request = sent(start(&mut w, &mut leader));
    assert!(matches!(start(&mut w, &mut follower), Step::Join(_)));
    follower.abandon(&mut w.client);
    let secret = done(answer(&mut w, &mut leader, &request));
    assert_eq!(Arc::strong_count(&secret), 1);
}

#[test]
fn a_joined_read_keeps_waiting_while_the_fetch_runs_and_counts_one_wait() {
    let (mut w, uid) = uncached_world();
    let mut leader = w.client.get(uid);
    let mut follower = w.client.get(uid);
    let request = sent(start(&mut w, &mut leader));
    let mut step = start(&mut w, &mut follower);
    for _ in 0..5 {
        // A wait that ends in the future: a driver sleeping until then does not spin.
        match step {
            Step::Join(until) => assert!(until > w.now, "{until:?}"),
            other => panic!("{other:?}"),
        }
        w.advance(Duration::from_millis(200));
        step = wake(&mut w, &mut follower);
    }
    assert!(matches!(step, Step::Join(_)), "{step:?}");
    let first = done(answer(&mut w, &mut leader, &request));
    let shared = done(wake(&mut w, &mut follower));
    assert!(Arc::ptr_eq(&first, &shared));
    assert_eq!(w.client.stats().coalesced_waits, 1);
    // Once the joined read has its copy, the client keeps none.
    drop(shared);
    assert_eq!(Arc::strong_count(&first), 1);
}

#[test]
fn a_fetch_running_for_two_minutes_is_taken_over_and_its_late_end_does_not_end_the_new_one() {
    let (mut w, uid) = uncached_world();
    let mut slow = w.client.get(uid);
    let mut waiting = w.client.get(uid);
    let slow_request = sent(start(&mut w, &mut slow));
    assert!(matches!(start(&mut w, &mut waiting), Step::Join(_)));
    w.advance(Duration::from_millis(119_800));
    assert!(matches!(wake(&mut w, &mut waiting), Step::Join(_)));
    // Two minutes after the fetch began, the waiting read stops waiting and fetches itself.
    w.advance(Duration::from_millis(200));
    let takeover = sent(wake(&mut w, &mut waiting));

    // The slow fetch ends late: a third read still joins the fetch that took over.
    done(answer(&mut w, &mut slow, &slow_request));
    let mut third = w.client.get(uid);
    assert!(matches!(start(&mut w, &mut third), Step::Join(_)));
    let secret = done(answer(&mut w, &mut waiting, &takeover));
    assert!(Arc::ptr_eq(&secret, &done(wake(&mut w, &mut third))));
}

// ---- create ---------------------------------------------------------------------------------

fn created(w: &mut World, request: &Request) -> Response {
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
    json(StatusCode::CREATED, &DataEnvelope::new(record))
}

#[test]
fn create_with_the_folders_loaded_sends_only_the_post() {
    let mut w = World::new();
    let folder = w.folder("Production").id;
    let op = w.client.list_folders();
    w.run(op).unwrap();
    w.sent.clear();
    let mut payload = RecordPayload::new("New Key");
    payload.fields.set("token", "t0ken");
    let op = w.client.create(folder, payload);
    w.drive(op, |w, request| {
        if request.method() == Method::POST {
            return Ok(created(w, request));
        }
        Ok(w.serve(request))
    })
    .unwrap();
    assert_eq!(w.sent.len(), 1);
    assert_eq!(w.sent[0].method(), Method::POST);
}

#[test]
fn a_retried_create_accepts_a_read_back_only_if_both_ciphertexts_are_its_own() {
    for tampered in ["dek", "data"] {
        let mut w = World::new();
        let folder = w.folder("Production").id;
        let mut attempts = 0;
        let op = w.client.create(folder, RecordPayload::new("New Key"));
        let result = w.drive(op, |w, request| {
            if request.method() != Method::POST {
                return Ok(w.serve(request));
            }
            attempts += 1;
            if attempts == 1 {
                // Stored, then changed by someone else, and the answer is lost.
                created(w, request);
                let body: wire::CreateSecretRequest =
                    serde_json::from_slice(request.body()).unwrap();
                let stored = w.records.get_mut(&body.uid).unwrap();
                let bytes = if tampered == "dek" {
                    &mut stored.encrypted_dek.0
                } else {
                    &mut stored.encrypted_data.0
                };
                bytes[0] ^= 1;
                return Err(Error::transport(TransportErrorKind::Timeout, "lost"));
            }
            Ok(error(StatusCode::CONFLICT, "uid_conflict"))
        });
        // Not taken as its own, and not a conflict either: the record may be its own, changed.
        assert!(
            matches!(&result, Err(Error::CreateUnconfirmed { .. })),
            "{tampered}: {result:?}"
        );
    }
}

// ---- keeping a lease ---------------------------------------------------------------------------

#[test]
fn a_lease_keeper_reports_its_lease_and_caps_the_margin_at_a_third_of_the_ttl() {
    let summary = wire::LeaseSummary {
        lease_id: Uuid::from_u128(0x1ea5e),
        record_uid: "7Kj9mNpQ2xRs".parse().unwrap(),
        username: "v_app_1".into(),
        created_at: format_rfc3339(T0),
        expires_at: format_rfc3339(T0 + Duration::from_secs(60)),
    };
    let info = LeaseInfo::from_wire(summary, 200).unwrap();
    let keeper = KeepLease::with_margin(&info, Duration::from_secs(60), Duration::from_secs(60));
    assert_eq!(keeper.lease_id(), info.lease_id);
    assert_eq!(keeper.expires_at(), info.expires_at);
    // A 60 s margin on a 60 s lease would report it expiring from the start: 20 s instead.
    assert_eq!(
        keeper.replace_at(),
        info.expires_at - Duration::from_secs(20)
    );
    assert_eq!(keeper.state().replace_at, keeper.replace_at());
}

// ---- rotation --------------------------------------------------------------------------------

#[test]
fn a_rotation_may_still_poll_at_its_deadline_and_not_after() {
    let rotation_id = Uuid::from_u128(0x707);
    for (completes_on_poll, expect_success) in [(4, true), (5, false)] {
        let mut w = World::with_config(|c| {
            c.rotation = RotationPolicy::default()
                .with_initial_interval(Duration::from_secs(1))
                .with_max_interval(Duration::from_secs(1))
                .with_deadline(Duration::from_secs(3));
        });
        let uid = w.add_secret("Production", "Database", &[("password", "old")]);
        let mut polls = 0;
        let op = w.client.rotate(uid);
        let result = w.drive(op, |w, request| {
            let path = request.uri().path();
            let (status, state) = if path.ends_with("/rotate") {
                (StatusCode::ACCEPTED, RotationStatus::Pending)
            } else if path.contains("/rotations/") {
                polls += 1;
                if polls < completes_on_poll {
                    (StatusCode::OK, RotationStatus::Running)
                } else {
                    let mut payload = RecordPayload::new("Database");
                    payload.fields.set("password", "new");
                    w.store(uid, "Production", &payload, 2);
                    (StatusCode::OK, RotationStatus::Completed)
                }
            } else {
                return Ok(w.serve(request));
            };
            let revision = (state == RotationStatus::Completed).then_some(2);
            let rotation = Rotation {
                rotation_id,
                uid,
                status: state,
                revision,
                error: None,
            };
            Ok(json(status, &DataEnvelope::new(rotation)))
        });
        // Polls at 0, 1, 2 and 3 s: the fourth is at the deadline, a fifth would be past it.
        if expect_success {
            assert_eq!(result.unwrap().revision, 2);
        } else {
            assert!(
                matches!(result, Err(Error::RotationTimeout { rotation_id: id }) if id == rotation_id)
            );
        }
        assert_eq!(w.now, T0 + Duration::from_secs(3));
    }
}

/// A server that starts rotation 0x707 of `uid`, answers every poll `completed` at revision 2
/// and serves the rest from the world.
fn rotation_server(uid: RecordUid) -> impl FnMut(&mut World, &Request) -> Result<Response, Error> {
    move |w, request| {
        let path = request.uri().path();
        let (status, state) = if path.ends_with("/rotate") {
            (StatusCode::ACCEPTED, RotationStatus::Pending)
        } else if path.contains("/rotations/") {
            (StatusCode::OK, RotationStatus::Completed)
        } else {
            return Ok(w.serve(request));
        };
        let rotation = Rotation {
            rotation_id: Uuid::from_u128(0x707),
            uid,
            status: state,
            revision: (state == RotationStatus::Completed).then_some(2),
            error: None,
        };
        Ok(json(status, &DataEnvelope::new(rotation)))
    }
}

#[test]
fn after_a_lagging_read_the_record_is_read_again_without_polling_again() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let mut server = rotation_server(uid);
    let mut reads = 0;
    let op = w.client.rotate(uid);
    let outcome = w
        .drive(op, |w, request| {
            if request.uri().path().ends_with(&format!("/secrets/{uid}")) {
                reads += 1;
                // The first read reaches a replica still at revision 1.
                if reads == 2 {
                    let mut payload = RecordPayload::new("Database");
                    payload.fields.set("password", "new");
                    w.store(uid, "Production", &payload, 2);
                }
            }
            server(w, request)
        })
        .unwrap();
    assert_eq!(outcome.revision, 2);
    assert_eq!(
        (
            reads,
            w.requests_to("/rotations/00000000-0000-0000-0000-000000000707")
        ),
        (2, 1)
    );
}

#[test]
fn rotating_a_missing_secret_is_a_missing_secret_error_with_its_uid() {
    let mut w = World::new();
    let uid: RecordUid = "AAAAAAAAAAAA".parse().unwrap();
    let op = w.client.rotate(uid);
    let result = w.drive(op, |_, _| {
        Ok(error(StatusCode::NOT_FOUND, "secret_not_found"))
    });
    match result {
        Err(Error::SecretNotFound { uid: missing }) => assert_eq!(missing, "AAAAAAAAAAAA"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_rotation_abandoned_while_reading_the_new_credential_does_not_hold_up_later_reads() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "old")]);
    let mut server = rotation_server(uid);
    let mut rotate = w.client.rotate(uid);
    let mut input = Input::Start;
    loop {
        match rotate.step(&mut w.client, input, w.now, &mut w.rng) {
            Step::Send(request) if request.uri().path().ends_with(&format!("/secrets/{uid}")) => {
                break;
            }
            Step::Send(request) => input = Input::Response(server(&mut w, &request).unwrap()),
            Step::Sleep(until) => {
                w.now = until;
                input = Input::Wake;
            }
            other => panic!("{other:?}"),
        }
    }
    // The caller gives up (a dropped future) while the new credential is being read.
    rotate.abandon(&mut w.client);
    let mut get = w.client.get(uid);
    assert!(matches!(start(&mut w, &mut get), Step::Send(_)));
}

// ---- notation --------------------------------------------------------------------------------

#[test]
fn references_resolve_against_a_listing_for_one_ttl_and_then_follow_a_replaced_record() {
    const REFERENCE: &str = "sy://Production/Database/field/password";
    for many in [false, true] {
        let mut w = World::new();
        let old = w.add_secret("Production", "Database", &[("password", "old")]);
        let resolve = |w: &mut World| {
            if many {
                let op = w.client.resolve_all([REFERENCE]);
                let mut results = w.run(op).unwrap();
                results.pop().unwrap().unwrap().expose().to_owned()
            } else {
                let op = w.client.notation(REFERENCE);
                w.run(op).unwrap().expose().to_owned()
            }
        };
        assert_eq!(resolve(&mut w), "old");
        // The record is replaced by another of the same title.
        w.records.remove(&old);
        w.add_secret("Production", "Database", &[("password", "new")]);
        w.advance(Duration::from_secs(30));
        assert_eq!(
            resolve(&mut w),
            "old",
            "within the TTL: the listing and cache answer"
        );
        assert_eq!(w.requests_to("/secrets"), 1);
        // The listing is as old as the TTL (60 s): it is listed again.
        w.advance(Duration::from_secs(30));
        assert_eq!(resolve(&mut w), "new", "many: {many}");
        assert_eq!(w.requests_to("/secrets"), 2);
        // Listed again first: the replaced record is never asked for (a stale index would
        // read it, meet a 404 and only then list).
        assert_eq!(w.requests_to(&format!("/secrets/{old}")), 0, "many: {many}");
    }
}

/// Starts `resolve` and abandons it while it reads the record `Database`, then checks that a
/// read of that record goes straight to the server instead of waiting for the abandoned one.
fn abandon_while_reading<O: Operation>(resolve: impl FnOnce(&World) -> O) {
    // A cache of one entry: after the listing and a read of `Other`, the index knows
    // `Database` but the cache does not hold it, so resolving it reads it.
    let mut w = World::with_config(|c| c.cache.max_entries = 1);
    let uid = w.add_secret("Production", "Database", &[("password", "p")]);
    let other = w.add_secret("Production", "Other", &[("password", "o")]);
    let op = w.client.list();
    w.run(op).unwrap();
    let op = w.client.get(other);
    w.run(op).unwrap();
    let mut resolve = resolve(&w);
    let mut input = Input::Start;
    loop {
        match resolve.step(&mut w.client, input, w.now, &mut w.rng) {
            Step::Send(request) if request.uri().path().ends_with(&format!("/secrets/{uid}")) => {
                break;
            }
            Step::Send(request) => input = Input::Response(w.serve(&request)),
            _ => panic!("the resolution did not read the record"),
        }
    }
    resolve.abandon(&mut w.client);
    let mut get = w.client.get(uid);
    assert!(matches!(start(&mut w, &mut get), Step::Send(_)));
}

#[test]
fn a_resolution_abandoned_while_reading_does_not_hold_up_later_reads() {
    const REFERENCE: &str = "sy://Production/Database/field/password";
    abandon_while_reading(|w| w.client.resolve_all([REFERENCE]));
    abandon_while_reading(|w| w.client.notation(REFERENCE));
}
