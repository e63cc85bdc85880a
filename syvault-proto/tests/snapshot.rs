//! A client's snapshot on the virtual clock: what a restarted client serves from it while the
//! server cannot answer, and what it never serves (docs/protocol.md §12.10).

mod common;

use std::time::Duration;

use common::{SERVER, World, error};
use http::StatusCode;
use syvault_proto::cache::CachePolicy;
use syvault_proto::config::ClientConfig;
use syvault_proto::error::TransportErrorKind;
use syvault_proto::model::Selected;
use syvault_proto::snapshot::SnapshotError;
use syvault_proto::{Client, Error, RecordUid};

const MAX_STALE: Duration = Duration::from_secs(600);
const REFERENCE: &str = "sy://Production/Database/field/password";

fn configure(config: &mut ClientConfig) {
    config.cache = CachePolicy::default()
        .with_max_stale(Some(MAX_STALE))
        .with_jitter_percent(0)
        .with_refresh_ahead_percent(0);
    config.snapshot_file = Some("snapshot.bin".into());
    config.snapshot_debounce = Duration::from_secs(2);
}

/// A world with one secret the client has read by UID (which gave it an ETag) and by
/// reference (a listing, which keeps the entry and its ETag).
fn warm() -> (World, RecordUid) {
    let mut w = World::with_config(configure);
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let op = w.client.notation(REFERENCE);
    assert_eq!(w.run(op).unwrap().expose(), "hunter2");
    (w, uid)
}

/// The client's snapshot now, sealed.
fn snapshot(w: &mut World) -> Vec<u8> {
    let now = w.now;
    w.client
        .take_snapshot(now, &mut w.rng)
        .unwrap()
        .seal(&mut w.rng)
}

/// A new process of the same client, started at the world's time from `bytes`.
fn restart(
    w: &mut World,
    bytes: &[u8],
) -> Result<syvault_proto::snapshot::Restored, SnapshotError> {
    restart_with(w, bytes, configure)
}

fn restart_with(
    w: &mut World,
    bytes: &[u8],
    configure: impl FnOnce(&mut ClientConfig),
) -> Result<syvault_proto::snapshot::Restored, SnapshotError> {
    let mut config = ClientConfig::new(SERVER, w.client_id, w.key.to_client_secret());
    configure(&mut config);
    w.client = Client::new(config).unwrap();
    let now = w.now;
    w.client.restore_snapshot(bytes, now)
}

fn down() -> Result<http::Response<Vec<u8>>, Error> {
    Err(Error::transport(
        TransportErrorKind::Connect,
        "connection refused",
    ))
}

#[test]
fn a_restarted_client_serves_what_it_had_read_while_the_vault_is_down_within_max_stale() {
    let (mut w, uid) = warm();
    let bytes = snapshot(&mut w);
    w.advance(Duration::from_secs(30));
    let restored = restart(&mut w, &bytes).unwrap();
    assert_eq!((restored.entries, restored.listing), (1, true));

    // By reference and by UID, with every request failing.
    let op = w.client.notation(REFERENCE);
    let value = w.drive(op, |_, _| down()).unwrap();
    assert_eq!(value, Selected::Secret("hunter2".into()));
    let op = w.client.get(uid);
    let secret = w.drive(op, |_, _| down()).unwrap();
    assert_eq!(secret.field("password").unwrap().expose(), "hunter2");
    assert!(w.client.stats().stale_serves >= 2, "{:?}", w.client.stats());

    // Max_stale counts from the original fetch (at T0, TTL 60 s): served until T0 + 660 s,
    // refused from then on, with the transport's error.
    w.now = common::T0 + Duration::from_secs(659);
    let op = w.client.notation(REFERENCE);
    assert!(w.drive(op, |_, _| down()).is_ok());
    w.now = common::T0 + Duration::from_secs(660);
    let op = w.client.notation(REFERENCE);
    let error = w.drive(op, |_, _| down()).unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    let op = w.client.get(uid);
    assert!(w.drive(op, |_, _| down()).is_err());
}

#[test]
fn a_restored_entry_is_never_fresh_the_vault_is_asked_first() {
    let (mut w, uid) = warm();
    let bytes = snapshot(&mut w);
    // Restarted within the entry's TTL: still, a read asks the vault (a 304 renews it).
    w.advance(Duration::from_secs(5));
    restart(&mut w, &bytes).unwrap();
    let sent = w.sent.len();
    let op = w.client.get(uid);
    let secret = w.run(op).unwrap();
    assert_eq!(secret.field("password").unwrap().expose(), "hunter2");
    assert_eq!(w.sent.len(), sent + 1, "one conditional GET");
    assert_eq!(w.sent.last().unwrap().headers()["if-none-match"], "\"r1\"");
    assert_eq!(w.client.stats().revalidations, 1);
    // Confirmed: now an ordinary fresh entry.
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert_eq!(w.sent.len(), sent + 1);
}

#[test]
fn the_vault_s_answer_replaces_a_restored_entry_and_a_404_purges_it_for_good() {
    let (mut w, uid) = warm();
    let bytes = snapshot(&mut w);
    restart(&mut w, &bytes).unwrap();
    // A new revision on the server: served instead of the snapshot's.
    let mut payload = syvault_proto::record::RecordPayload::new("Database");
    payload.fields.set("password", "rotated");
    w.store(uid, "Production", &payload, 2);
    let op = w.client.get(uid);
    let secret = w.run(op).unwrap();
    assert_eq!(secret.field("password").unwrap().expose(), "rotated");

    // Another restart from the old snapshot; the secret is gone on the server: 404, purged,
    // and not served stale afterwards when the vault is down.
    restart(&mut w, &bytes).unwrap();
    let op = w.client.get(uid);
    let failure = w
        .drive(op, |_, _| {
            Ok(error(StatusCode::NOT_FOUND, "secret_not_found"))
        })
        .unwrap_err();
    assert!(
        matches!(failure, Error::SecretNotFound { .. }),
        "{failure:?}"
    );
    let op = w.client.get(uid);
    assert!(
        w.drive(op, |_, _| down()).is_err(),
        "never served after a 404"
    );

    // 401 and 403 purge it too.
    for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN] {
        restart(&mut w, &bytes).unwrap();
        let op = w.client.get(uid);
        let code = if status == StatusCode::FORBIDDEN {
            "forbidden"
        } else {
            "unauthorized"
        };
        assert!(w.drive(op, |_, _| Ok(error(status, code))).is_err());
        let op = w.client.get(uid);
        assert!(
            w.drive(op, |_, _| down()).is_err(),
            "never served after {status}"
        );
    }
}

#[test]
fn without_max_stale_a_snapshot_serves_nothing_but_saves_a_download() {
    let (mut w, uid) = warm();
    let bytes = snapshot(&mut w);
    w.advance(Duration::from_secs(5));
    let no_stale = |config: &mut ClientConfig| {
        configure(config);
        config.cache = config.cache.with_max_stale(None);
    };
    restart_with(&mut w, &bytes, no_stale).unwrap();
    let op = w.client.get(uid);
    assert!(w.drive(op, |_, _| down()).is_err());
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert_eq!(w.client.stats().revalidations, 1, "a 304, not a download");
}

#[test]
fn a_second_restart_keeps_the_original_fetch_times() {
    let (mut w, uid) = warm();
    let bytes = snapshot(&mut w);
    w.advance(Duration::from_secs(300));
    restart(&mut w, &bytes).unwrap();
    let op = w.client.get(uid);
    w.drive(op, |_, _| down()).unwrap();
    // Written again while the vault is down, then restarted: still bounded by T0.
    let again = snapshot(&mut w);
    w.advance(Duration::from_secs(300));
    restart(&mut w, &again).unwrap();
    let op = w.client.get(uid);
    assert!(w.drive(op, |_, _| down()).is_ok(), "at T0 + 600 s");
    w.now = common::T0 + Duration::from_secs(660);
    let op = w.client.get(uid);
    assert!(w.drive(op, |_, _| down()).is_err(), "at T0 + 660 s");
}

#[test]
fn snapshots_of_others_altered_or_too_old_are_refused_and_leave_the_client_empty() {
    let (mut w, _) = warm();
    let bytes = snapshot(&mut w);

    let mut flipped = bytes.clone();
    flipped[bytes.len() - 20] ^= 0x10;
    assert_eq!(restart(&mut w, &flipped), Err(SnapshotError::Refused));
    assert_eq!(w.client.cached_secrets(), 0);

    // Another client's configuration (another client id, same key and server).
    let mut config = ClientConfig::new(
        SERVER,
        uuid::Uuid::from_u128(0xbad),
        w.key.to_client_secret(),
    );
    configure(&mut config);
    let mut other = Client::new(config).unwrap();
    assert_eq!(
        other.restore_snapshot(&bytes, w.now),
        Err(SnapshotError::Refused)
    );

    // Another server.
    let mut config = ClientConfig::new(
        "https://other.example.com",
        w.client_id,
        w.key.to_client_secret(),
    );
    configure(&mut config);
    let mut other = Client::new(config).unwrap();
    assert_eq!(
        other.restore_snapshot(&bytes, w.now),
        Err(SnapshotError::Refused)
    );

    let mut newer = bytes.clone();
    newer[7] = 2;
    assert_eq!(
        restart(&mut w, &newer),
        Err(SnapshotError::UnsupportedVersion { version: 2 })
    );
    assert_eq!(restart(&mut w, &bytes[..40]), Err(SnapshotError::Truncated));
    assert_eq!(
        restart(&mut w, b"garbage"),
        Err(SnapshotError::NotASnapshot)
    );

    w.now = common::T0 + Duration::from_secs(660);
    assert_eq!(restart(&mut w, &bytes), Err(SnapshotError::TooOld));
    assert_eq!(w.client.cached_secrets(), 0);
}

#[test]
fn a_snapshot_is_due_a_debounce_after_a_change_and_never_twice_for_one() {
    let mut w = World::with_config(configure);
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let now = w.now;
    assert_eq!(w.client.snapshot_due(now), None, "nothing changed");
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let now = w.now;
    let due = w.client.snapshot_due(now).expect("a change");
    assert_eq!(due, now + Duration::from_secs(2));
    assert_eq!(w.client.snapshot_due(now), None, "a writer is scheduled");

    w.now = due;
    let job = w.client.take_snapshot(due, &mut w.rng).unwrap();
    assert_eq!(job.snapshot().entries.len(), 1);
    w.client.snapshot_written(due, true);
    assert_eq!(w.client.snapshot_taken_at(), Some(due));
    // A cache hit changes nothing.
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert_eq!(w.client.snapshot_due(w.now), None);

    // A change soon after the last snapshot waits a debounce after it.
    w.advance(Duration::from_secs(61));
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let now = w.now;
    let due = w.client.snapshot_due(now).unwrap();
    assert_eq!(due, now + Duration::from_secs(2));
    let job = w.client.take_snapshot(due, &mut w.rng).unwrap();
    drop(job);
    // A failed write is due again after the next operation.
    w.client.snapshot_written(due, false);
    assert_eq!(
        w.client.snapshot_taken_at(),
        Some(common::T0 + Duration::from_secs(2))
    );
    let op = w.client.get(uid);
    w.run(op).unwrap();
    let again = w.client.snapshot_due(due).unwrap();
    assert_eq!(again, due + Duration::from_secs(2));
    // A writer that could not be started is asked for again.
    assert_eq!(w.client.snapshot_due(due), None, "a writer is scheduled");
    w.client.snapshot_written(due, false);
    assert_eq!(w.client.snapshot_due(due), Some(again));

    // A client without a snapshot file never wants one.
    let mut plain = World::new();
    let uid = plain.add_secret("Production", "Database", &[("password", "x")]);
    let op = plain.client.get(uid);
    plain.run(op).unwrap();
    assert_eq!(plain.client.snapshot_due(plain.now), None);
}

#[test]
fn a_restored_snapshot_is_not_written_back_until_something_changes() {
    let (mut w, uid) = warm();
    let bytes = snapshot(&mut w);
    restart(&mut w, &bytes).unwrap();
    assert_eq!(w.client.snapshot_due(w.now), None);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert!(w.client.snapshot_due(w.now).is_some(), "the 304 renewed it");
}

#[test]
fn the_sync_token_comes_back_with_a_whole_listing_and_the_next_refresh_is_a_delta() {
    let (mut w, _) = {
        let mut w = World::with_config(configure);
        w.sync = true;
        let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
        w.add_secret("Production", "Stripe", &[("api_key", "sk")]);
        let op = w.client.notation(REFERENCE);
        w.run(op).unwrap();
        (w, uid)
    };
    let now = w.now;
    let job = w.client.take_snapshot(now, &mut w.rng).unwrap();
    let tokens = &job.snapshot().sync_tokens;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].folder_id, None);
    let bytes = job.seal(&mut w.rng);
    w.advance(Duration::from_secs(120));
    restart(&mut w, &bytes).unwrap();
    let sent = w.sent.len();
    let op = w.client.notation(REFERENCE);
    assert_eq!(w.run(op).unwrap().expose(), "hunter2");
    let listing = w.sent[sent..]
        .iter()
        .find(|r| r.uri().path().ends_with("/secrets"))
        .expect("the index refreshed");
    assert!(
        listing.uri().query().unwrap_or_default().contains("since="),
        "a delta from the snapshot's token: {:?}",
        listing.uri()
    );

    // A snapshot whose listing lost an entry (the second secret was not cached) keeps no
    // token: the next refresh lists in full.
    let mut w2 = World::with_config(|c| {
        configure(c);
        c.cache = c.cache.with_max_entries(1);
    });
    w2.sync = true;
    w2.add_secret("Production", "Database", &[("password", "hunter2")]);
    w2.add_secret("Production", "Stripe", &[("api_key", "sk")]);
    let op = w2.client.notation(REFERENCE);
    w2.run(op).unwrap();
    let now = w2.now;
    let job = w2.client.take_snapshot(now, &mut w2.rng).unwrap();
    assert_eq!(job.snapshot().entries.len(), 1);
    assert_eq!(job.snapshot().listing.as_ref().unwrap().records.len(), 2);
    assert_eq!(job.snapshot().sync_tokens.len(), 1);
    let bytes = job.seal(&mut w2.rng);
    restart_with(&mut w2, &bytes, |c| {
        configure(c);
        c.cache = c.cache.with_max_entries(1);
    })
    .unwrap();
    let sent = w2.sent.len();
    let op = w2.client.notation(REFERENCE);
    w2.run(op).unwrap();
    let listing = w2.sent[sent..]
        .iter()
        .find(|r| r.uri().path().ends_with("/secrets"))
        .expect("the index refreshed");
    assert!(
        !listing.uri().query().unwrap_or_default().contains("since="),
        "{:?}",
        listing.uri()
    );
}
