//! Behaviour at the edges of the client state that no other suite pins: what drivers read from
//! the client, and rules whose breakage would otherwise go unnoticed (found by mutation
//! testing; see docs/testing.md).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{World, json};
use http::{Method, StatusCode};
use syvault_proto::RecordUid;
use syvault_proto::cache::CachePolicy;
use syvault_proto::model::Secret;
use syvault_proto::ops::{GetSecret, Operation};
use syvault_proto::record::RecordPayload;
use syvault_proto::step::{Input, Request, Response, Step};
use syvault_proto::wire::{self, DataEnvelope, Record};

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
    assert!(matches!(start(&mut w, &mut follower), Step::Join(_)));
    for _ in 0..5 {
        w.advance(Duration::from_millis(200));
        assert!(matches!(wake(&mut w, &mut follower), Step::Join(_)));
    }
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
