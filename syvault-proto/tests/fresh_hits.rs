//! The contract a driver relies on when it answers reads itself (the WebAssembly binding does,
//! in JavaScript): while the cache generation stays and the instant has not come, a read of a
//! UID that `fresh_hit` gave is a plain hit of that very secret. Checked over random histories
//! of reads, listings, changes on the server, reads answered by the driver and cleared caches,
//! on the virtual clock, against reads the client makes itself.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::World;
use proptest::prelude::*;
use syvault_proto::RecordUid;
use syvault_proto::Timestamp;
use syvault_proto::cache::CachePolicy;
use syvault_proto::model::Secret;
use syvault_proto::record::RecordPayload;

#[derive(Clone, Debug)]
enum Action {
    /// The client reads secret `n`.
    Get(usize),
    /// The driver answers `reads` reads of secret `n` from its ticket, if it holds a valid one.
    Answer(usize, u64),
    /// The client lists (which renews, replaces or drops cached entries).
    List,
    /// Secret `n` changes on the server.
    Change(usize),
    /// Time passes.
    Advance(u64),
    ClearCache,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0..4usize).prop_map(Action::Get),
        3 => (0..4usize, 1..5u64).prop_map(|(n, reads)| Action::Answer(n, reads)),
        1 => Just(Action::List),
        1 => (0..4usize).prop_map(Action::Change),
        // Steps within the expiry jitter, and up to a little past the TTL, so that entries cross
        // their refresh and expiry times.
        2 => (0..8_000u64).prop_map(Action::Advance),
        2 => (0..70_000u64).prop_map(Action::Advance),
        1 => Just(Action::ClearCache),
    ]
}

/// What a driver holds for one UID: the secret, until when, and the generation it was given in.
struct Ticket {
    secret: Arc<Secret>,
    until: Timestamp,
    generation: u64,
}

fn valid<'a>(
    tickets: &'a HashMap<RecordUid, Ticket>,
    w: &World,
    uid: &RecordUid,
) -> Option<&'a Ticket> {
    tickets
        .get(uid)
        .filter(|t| t.generation == w.client.cache_generation() && w.now < t.until)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_valid_ticket_answers_as_the_client_would(
        actions in prop::collection::vec(action(), 1..40),
        incremental in any::<bool>(),
    ) {
        // Three entries of room for four secrets, so that reads evict; jitter and refresh-ahead
        // as by default.
        let mut w = World::with_config(|c| c.cache = CachePolicy::default().with_max_entries(3));
        // Listings by what changed since the last (which renew the entries they confirm), or
        // whole.
        w.sync = incremental;
        let uids: Vec<RecordUid> = (0..4)
            .map(|n| w.add_secret("Production", &format!("S{n}"), &[("password", "p0")]))
            .collect();
        let mut revisions = [1u64; 4];
        let mut tickets: HashMap<RecordUid, Ticket> = HashMap::new();
        let mut answered: u64 = 0;
        for action in actions {
            match action {
                Action::Get(n) => {
                    let uid = uids[n];
                    let expected = valid(&tickets, &w, &uid).map(|t| Arc::clone(&t.secret));
                    let (sent, generation, hits) =
                        (w.sent.len(), w.client.cache_generation(), w.client.stats().cache_hits);
                    let op = w.client.get(uid);
                    let read = w.run(op).unwrap();
                    if let Some(expected) = expected {
                        prop_assert!(Arc::ptr_eq(&read, &expected), "another secret than the ticket's");
                        prop_assert_eq!(w.sent.len(), sent, "a read under a valid ticket sent a request");
                        prop_assert_eq!(w.client.cache_generation(), generation);
                        prop_assert_eq!(w.client.stats().cache_hits, hits + 1);
                        prop_assert!(w.client.take_background(w.now).is_none(), "background work asked for");
                    }
                    w.run_background(|world, request| Ok(world.serve(request)));
                }
                Action::Answer(n, reads) => {
                    let uid = uids[n];
                    if valid(&tickets, &w, &uid).is_some() {
                        let generation = w.client.cache_generation();
                        prop_assert!(w.client.record_hits(&uid, reads), "a valid ticket's entry is gone");
                        prop_assert_eq!(w.client.cache_generation(), generation);
                        answered += reads;
                    }
                }
                Action::List => {
                    let op = w.client.list();
                    w.run(op).unwrap();
                }
                Action::Change(n) => {
                    revisions[n] += 1;
                    let mut payload = RecordPayload::new(format!("S{n}"));
                    payload.fields.set("password", format!("p{}", revisions[n]));
                    w.store(uids[n], "Production", &payload, revisions[n]);
                }
                Action::Advance(ms) => w.advance(Duration::from_millis(ms)),
                Action::ClearCache => w.client.clear_cache(),
            }
            // The driver takes a ticket for every secret the client says is a plain hit now.
            for uid in &uids {
                if let Some((secret, until)) = w.client.fresh_hit(uid, w.now) {
                    prop_assert!(w.now < until);
                    let generation = w.client.cache_generation();
                    tickets.insert(*uid, Ticket { secret: Arc::clone(secret), until, generation });
                }
            }
        }
        // Reads answered by the driver counted as the client's hits.
        prop_assert!(w.client.stats().cache_hits >= answered);
    }
}
