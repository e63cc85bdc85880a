//! Incremental listings (protocol §9.6.2, §12.9): a client that listed once asks only for what
//! changed since, applies it to its cache and notation index, and falls back to a full listing
//! whenever the server cannot answer a delta.

mod common;

use std::cell::Cell;
use std::time::Duration;

use common::{World, error, json};
use http::StatusCode;
use syvault_proto::Error;
use syvault_proto::notation::NotationError;
use syvault_proto::record::RecordPayload;
use syvault_proto::step::Request;
use syvault_proto::wire::{Access, SecretList};

fn query(request: &Request) -> String {
    request.uri().query().unwrap_or_default().to_owned()
}

/// The queries of the listings sent so far.
fn listings(w: &World) -> Vec<String> {
    w.sent
        .iter()
        .filter(|r| r.uri().path().ends_with("/secrets"))
        .map(query)
        .collect()
}

fn titles(w: &mut World) -> Vec<String> {
    let op = w.client.list();
    w.run(op).unwrap().into_iter().map(|s| s.title).collect()
}

/// A vault of three records on a server with incremental listings, listed once.
fn synced() -> World {
    let mut w = World::new();
    w.sync = true;
    w.add_secret("Production", "Database", &[("password", "hunter2")]);
    w.add_secret("Production", "Stripe", &[("api_key", "sk")]);
    w.add_secret("Production", "Cache", &[("password", "c")]);
    assert_eq!(titles(&mut w), ["Cache", "Database", "Stripe"]);
    w
}

#[test]
fn a_second_listing_asks_for_the_changes_since_the_first_and_returns_the_whole_set() {
    let mut w = synced();
    assert_eq!(titles(&mut w), ["Cache", "Database", "Stripe"]);
    let queries = listings(&w);
    assert_eq!(queries.len(), 2);
    assert!(!queries[0].contains("since"), "{queries:?}");
    assert!(queries[1].contains("since=t3"), "{queries:?}");
    // Unchanged: nothing was decrypted again, and the answer was the empty delta.
    assert_eq!(w.client.stats().decryption_failures, 0);
}

#[test]
fn a_changed_record_arrives_in_the_delta_and_replaces_the_cached_one() {
    let mut w = synced();
    let uid = *w.records.keys().next().unwrap();
    let title = {
        let op = w.client.get(uid);
        w.run(op).unwrap().title.clone()
    };
    let mut payload = RecordPayload::new(format!("{title} v2"));
    payload.fields.set("password", "rotated");
    w.store(uid, "Production", &payload, 2);
    let listed = titles(&mut w);
    assert!(listed.contains(&format!("{title} v2")), "{listed:?}");
    assert!(!listed.contains(&title), "{listed:?}");
    let before = w.sent.len();
    let op = w.client.get(uid);
    let secret = w.run(op).unwrap();
    assert_eq!(secret.revision, 2);
    assert_eq!(w.sent.len(), before, "the delta renewed the cache");
    // The notation index follows it.
    let op = w
        .client
        .notation(&format!("sy://Production/{title} v2/title"));
    w.run(op).unwrap();
    assert_eq!(w.sent.len(), before);
}

#[test]
fn a_deleted_record_leaves_the_cache_the_index_and_the_listing() {
    let mut w = synced();
    let op = w.client.notation("sy://Production/Stripe/field/api_key");
    assert_eq!(w.run(op).unwrap().expose(), "sk");
    let uids: Vec<_> = w.records.keys().copied().collect();
    let stripe = uids
        .into_iter()
        .find(|uid| {
            let op = w.client.get(*uid);
            w.run(op).unwrap().title == "Stripe"
        })
        .unwrap();
    w.delete(&stripe);
    assert_eq!(titles(&mut w), ["Cache", "Database"]);
    assert_eq!(w.client.cached_secrets(), 2);
    let op = w.client.notation("sy://Production/Stripe/field/api_key");
    assert!(
        matches!(
            w.run(op),
            Err(Error::Notation(NotationError::RecordNotFound { .. }))
        ),
        "the index no longer knows it"
    );
}

#[test]
fn a_revoked_grant_removes_its_folders_records() {
    let mut w = synced();
    w.add_folder("Staging", None, Access::Read);
    w.add_secret("Staging", "Queue", &[("password", "q")]);
    // A record of a newly granted folder: the folders are loaded again to decrypt it.
    let folders_before = w.requests_to("/folders");
    assert_eq!(titles(&mut w), ["Cache", "Database", "Stripe", "Queue"]);
    assert_eq!(w.requests_to("/folders"), folders_before + 1);
    let op = w.client.notation("sy://Staging/Queue/field/password");
    assert_eq!(w.run(op).unwrap().expose(), "q");

    w.revoke("Staging");
    assert_eq!(titles(&mut w), ["Cache", "Database", "Stripe"]);
    assert!(listings(&w).last().unwrap().contains("since="));
    let op = w.client.notation("sy://Staging/Queue/field/password");
    assert!(w.run(op).is_err());
    assert_eq!(w.client.cached_secrets(), 3);
}

#[test]
fn a_server_that_ignores_since_answers_a_full_listing_which_replaces_what_was_held() {
    let mut w = synced();
    let first = *w.records.keys().next().unwrap();
    // The server stops knowing `since` (an older replica, say) and the record is deleted: the
    // full answer is taken as such, never as "nothing changed".
    w.sync = false;
    w.records.remove(&first);
    let listed = titles(&mut w);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listings(&w).last().unwrap().contains("since="),
        "it asked with since"
    );
    // Without a token, the next listing is a full one.
    titles(&mut w);
    assert!(!listings(&w).last().unwrap().contains("since="));
}

#[test]
fn a_server_ignoring_since_is_followed_through_its_cursors_without_since() {
    let mut w = synced();
    let records: Vec<_> = w.records.values().cloned().collect();
    let op = w.client.list();
    let listed = w
        .drive(op, |w, request| {
            if !request.uri().path().ends_with("/secrets") {
                return Ok(w.serve(request));
            }
            let q = query(request);
            // Two pages of a full listing, whatever the query asked for.
            Ok(if q.contains("cursor=") {
                assert!(!q.contains("since="), "{q}");
                json(
                    StatusCode::OK,
                    &SecretList::full(records[1..].to_vec(), None),
                )
            } else {
                json(
                    StatusCode::OK,
                    &SecretList::full(records[..1].to_vec(), Some("c1".into())),
                )
            })
        })
        .unwrap();
    assert_eq!(listed.len(), 3);
}

#[test]
fn an_expired_token_is_answered_with_a_full_listing() {
    let mut w = synced();
    w.add_secret("Production", "Queue", &[("password", "q")]);
    w.log_start = w.log.len();
    assert_eq!(titles(&mut w), ["Cache", "Database", "Queue", "Stripe"]);
    let queries = listings(&w);
    assert!(
        queries[queries.len() - 2].contains("since=t3"),
        "{queries:?}"
    );
    assert!(
        !queries[queries.len() - 1].contains("since="),
        "{queries:?}"
    );
    // The full listing's token is used next.
    titles(&mut w);
    assert!(listings(&w).last().unwrap().contains("since=t4"));
}

#[test]
fn a_refused_token_is_dropped_and_the_vault_listed_in_full_once() {
    let mut w = synced();
    let refusals = Cell::new(0);
    let op = w.client.list();
    let listed = w
        .drive(op, |w, request| {
            if query(request).contains("since=") {
                refusals.set(refusals.get() + 1);
                return Ok(error(StatusCode::BAD_REQUEST, "invalid_request"));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    assert_eq!((listed.len(), refusals.get()), (3, 1));
    // If the full listing fails too, that failure is reported, without another attempt.
    let mut w = synced();
    let op = w.client.list();
    let result = w.drive(op, |_, _| {
        Ok(error(StatusCode::BAD_REQUEST, "invalid_request"))
    });
    assert_eq!(result.unwrap_err().status(), Some(400));
    assert_eq!(listings(&w).len(), 3, "one delta, one full listing");
}

#[test]
fn a_delta_that_fails_part_way_leaves_the_token_as_it_was() {
    let mut w = synced();
    w.add_secret("Production", "Queue", &[("password", "q")]);
    let op = w.client.list();
    assert!(
        w.drive(op, |_, _| Ok(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal"
        )))
        .is_err()
    );
    assert_eq!(titles(&mut w), ["Cache", "Database", "Queue", "Stripe"]);
    assert!(listings(&w).last().unwrap().contains("since=t3"));
}

#[test]
fn a_later_page_of_a_delta_without_delta_true_is_malformed() {
    let mut w = synced();
    let op = w.client.list();
    let result = w.drive(op, |w, request| {
        if !request.uri().path().ends_with("/secrets") {
            return Ok(w.serve(request));
        }
        let mut page = SecretList::full(Vec::new(), None);
        if !query(request).contains("cursor=") {
            page.delta = true;
            page.next_cursor = Some("c1".into());
        }
        Ok(json(StatusCode::OK, &page))
    });
    assert!(
        matches!(result, Err(Error::MalformedResponse { .. })),
        "{result:?}"
    );
}

#[test]
fn the_notation_index_is_synced_in_the_background_with_a_delta() {
    let mut w = World::with_config(|c| {
        c.cache = syvault_proto::cache::CachePolicy::default().with_jitter_percent(0);
    });
    w.sync = true;
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.notation("sy://Production/Database/field/password");
    w.run(op).unwrap();
    assert!(w.client.take_background(w.now).is_none());
    // Within one TTL the index asks for a refresh, which is a delta.
    for _ in 0..60 {
        w.advance(Duration::from_secs(1));
        let op = w.client.notation("sy://Production/Database/field/password");
        w.run(op).unwrap();
        w.run_background(|w, request| Ok(w.serve(request)));
    }
    let queries = listings(&w);
    assert!(queries.len() >= 2, "{queries:?}");
    assert!(
        queries[1..].iter().all(|q| q.contains("since=t1")),
        "{queries:?}"
    );
    // Every request after the first listing ran in the background: deltas, and the entry's
    // own refresh if it came due before a delta renewed it.
    let reads = w.requests_to(&format!("/secrets/{uid}"));
    assert_eq!(
        w.client.stats().background_refreshes,
        (queries.len() - 1 + reads) as u64
    );
}

#[test]
fn a_listing_whose_records_were_evicted_is_listed_in_full_again() {
    let mut w = World::with_config(|c| c.cache.max_entries = 2);
    w.sync = true;
    for title in ["A", "B", "C"] {
        w.add_secret("Production", title, &[("password", "p")]);
    }
    assert_eq!(titles(&mut w), ["A", "B", "C"]);
    // The cache holds two of the three: a delta cannot give the third back.
    assert_eq!(titles(&mut w), ["A", "B", "C"]);
    let queries = listings(&w);
    assert_eq!(queries.len(), 3, "{queries:?}");
    assert!(queries[1].contains("since=") && !queries[2].contains("since="));
}
