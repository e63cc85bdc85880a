//! Writes the seeds of the `decrypt`, `hostile_server` and `snapshot` targets, and proves them:
//! every `decrypt` and `snapshot` seed opens under the target's keys, and in every
//! `hostile_server` seed each operation succeeds and uses every answer.
//!
//! `hostile_server` seeds are recorded, not composed: the target's own code (`common/
//! hostile.rs`) runs each operation against a well-behaved server scripted here, which reads
//! the client's requests (the UID and ciphertext a create posts, the public key a bootstrap
//! sends) and answers; the answers, in request order, are the seed. Everything is
//! deterministic, so the target replays the same conversation.
//!
//! From the repository root:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds            # write and check
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds -- --check # check the committed ones
//! ```
//!
//! `--check` writes nothing: it fails if a committed seed differs from the one this code
//! writes, or if any seed does not reach its operation's success. `--replay <files>` prints
//! how each operation of `hostile_server` inputs (seeds, corpus entries, crashes) ended.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use syvault_proto::bootstrap::OneTimeToken;
use syvault_proto::keys::ClientKey;
use syvault_proto::lease::{LEASE_CAP, format_rfc3339};
use syvault_proto::ops::IDEMPOTENCY_KEY;
use syvault_proto::record::{self, RecordPayload};
use syvault_proto::secret::SymmetricKey;
use syvault_proto::step::{Input, Request};
use syvault_proto::wire::{
    self, Base64Bytes, BootstrapRequest, CreateSecretRequest, FolderKeysUpload,
};
use syvault_proto::{Error, RecordUid, Timestamp, blob, folder_key};
use uuid::Uuid;

#[path = "../common/counter.rs"]
mod counter;
#[path = "../common/decrypt.rs"]
mod decrypt;
#[path = "../common/hostile.rs"]
mod hostile;
#[path = "../common/snapshot.rs"]
mod snapshot;

use counter::Counter;
use hostile::{Answers, CLIENT_ID, CREATE_FOLDER, Outcome, Server, UID};

const ROTATION: Uuid = Uuid::from_u128(0x5b1e_3a0c_7d4f_4c2a_9e61_2f8b_9d0c_4e17);
const API: &str = "/api/sm/v1";

// ---------------------------------------------------------------------------------------------
// The answer format of `hostile_server`.

/// One HTTP answer: `retry_after` and `etag` are the format's bytes (0 for no header, `n + 1`
/// for `n` seconds, `n` for `"r<n>"`).
fn answer(status: u16, retry_after: u8, etag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![1];
    out.extend_from_slice(&(status - 100).to_be_bytes());
    out.push(retry_after);
    out.push(etag);
    out.extend_from_slice(&u16::try_from(body.len()).expect("small body").to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn ok(body: &Value) -> Vec<u8> {
    answer(200, 0, 0, body.to_string().as_bytes())
}

fn error(status: u16, retry_after: u8, code: &str, details: Option<Value>) -> Vec<u8> {
    let mut error = json!({"code": code, "message": "m"});
    if let Some(details) = details {
        error["details"] = details;
    }
    answer(
        status,
        retry_after,
        0,
        json!({"error": error}).to_string().as_bytes(),
    )
}

/// A transport failure of class `class` (0 connect, 1 timeout, 2 closed, 3 TLS, 4 other).
fn failure(class: u8) -> Vec<u8> {
    vec![0, class]
}

// ---------------------------------------------------------------------------------------------
// A well-behaved server.

/// The server's state: one folder granted to the target's client, and its records.
struct Vault {
    rng: Counter,
    folder_key: SymmetricKey,
    /// Records by UID, as served.
    records: BTreeMap<String, Value>,
    /// The listing's pages, by cursor (`""` for the first): UIDs and the next cursor.
    pages: BTreeMap<String, (Vec<String>, Option<String>)>,
}

impl Vault {
    fn new() -> Self {
        let mut rng = Counter(42);
        let folder_key = SymmetricKey::generate(&mut rng);
        Self {
            rng,
            folder_key,
            records: BTreeMap::new(),
            pages: BTreeMap::new(),
        }
    }

    fn folders(&mut self) -> Value {
        let client = ClientKey::from_scalar_bytes(&hostile::CLIENT_SCALAR).expect("a key");
        let wrapped = folder_key::wrap(
            &self.folder_key,
            &CREATE_FOLDER,
            &CLIENT_ID,
            &client.public_key(),
            &mut self.rng,
        );
        let name = folder_key::seal_name(&self.folder_key, "Production", &mut self.rng);
        json!({"data": [{
            "folder_id": CREATE_FOLDER,
            "parent_id": null,
            "encrypted_key": Base64Bytes::from(wrapped),
            "encrypted_name": Base64Bytes::from(name),
            "access": "read_write",
        }]})
    }

    /// Stores (or replaces) record `uid` with a payload sealed under the folder key.
    fn put(&mut self, uid: &str, title: &str, revision: u64) {
        let parsed: RecordUid = uid.parse().expect("a valid UID");
        let mut payload = RecordPayload::new(title);
        payload.fields.set("username", "app");
        payload
            .fields
            .set("password", format!("pw-{revision}\n\"quoted\""));
        let sealed = record::seal(&parsed, &self.folder_key, &payload, &mut self.rng);
        self.store(uid, revision, &sealed.encrypted_dek, &sealed.encrypted_data);
    }

    fn store(&mut self, uid: &str, revision: u64, dek: &[u8], data: &[u8]) {
        let record = json!({
            "uid": uid,
            "folder_id": CREATE_FOLDER,
            "revision": revision,
            "encrypted_dek": Base64Bytes::from(dek.to_vec()),
            "encrypted_data": Base64Bytes::from(data.to_vec()),
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T00:00:00Z",
        });
        self.records.insert(uid.to_owned(), record);
    }

    fn page(&mut self, cursor: &str, uids: &[&str], next: Option<&str>) {
        let uids = uids.iter().map(|&uid| uid.to_owned()).collect();
        self.pages
            .insert(cursor.to_owned(), (uids, next.map(str::to_owned)));
    }

    fn revision(&self, uid: &str) -> u8 {
        let revision = self.records[uid]["revision"].as_u64().expect("a revision");
        u8::try_from(revision).expect("a small revision")
    }

    /// Answers the reads every operation makes: folders, one record (with its revision as
    /// `ETag`, and 304 when the client already holds it) and listing pages.
    fn read(&mut self, request: &Request) -> Option<Vec<u8>> {
        let path = request.uri().path();
        if path == format!("{API}/folders") {
            return Some(ok(&self.folders()));
        }
        if path == format!("{API}/secrets") {
            let query = wire::ListQuery::parse(request.uri().query().unwrap_or(""))
                .expect("the client's query");
            let (uids, next) = self.pages[query.cursor.as_deref().unwrap_or("")].clone();
            let data: Vec<Value> = uids.iter().map(|uid| self.records[uid].clone()).collect();
            return Some(ok(&json!({"data": data, "next_cursor": next})));
        }
        let uid = path.strip_prefix(&format!("{API}/secrets/"))?;
        let record = self.records.get(uid)?.clone();
        let etag = self.revision(uid);
        let held = request
            .headers()
            .get("if-none-match")
            .is_some_and(|value| value.as_bytes() == format!("\"r{etag}\"").as_bytes());
        Some(if held {
            answer(304, 0, etag, b"")
        } else {
            answer(200, 0, etag, json!({"data": record}).to_string().as_bytes())
        })
    }
}

/// Runs the target's code against a scripted server and keeps the answers as the seed.
struct Recorder<F> {
    script: F,
    requests: usize,
    seed: Vec<u8>,
}

impl<F: FnMut(usize, &Request, Timestamp) -> Vec<u8>> Server for Recorder<F> {
    fn answer(&mut self, request: &Request, now: Timestamp) -> Option<Input> {
        let bytes = (self.script)(self.requests, request, now);
        self.requests += 1;
        self.seed.extend_from_slice(&bytes);
        // Through the target's own decoder, so that the seed is what the target reads.
        let mut answers = Answers(&bytes);
        let input = answers.next_answer();
        assert!(answers.0.is_empty(), "one answer at a time");
        input
    }
}

/// Records a conversation, then replays the seed as the target reads it: the replay must use
/// every answer and end as the recording did.
fn record(
    which: u8,
    script: impl FnMut(usize, &Request, Timestamp) -> Vec<u8>,
) -> (Vec<u8>, hostile::Conversation) {
    let mut recorder = Recorder {
        script,
        requests: 0,
        seed: vec![which],
    };
    let recorded = hostile::converse(which, &mut recorder);
    let seed = recorder.seed;
    let replayed = replay(&seed);
    for (i, outcome) in recorded.outcomes.iter().enumerate() {
        match (outcome, &replayed.outcomes[i]) {
            (Outcome::Done(a), Outcome::Done(b)) if a == b => {}
            (Outcome::Failed(a), Outcome::Failed(b)) if format!("{a:?}") == format!("{b:?}") => {}
            (a, b) => panic!("recorded {a:?}, replayed {b:?}"),
        }
    }
    (seed, replayed)
}

/// Runs a seed exactly as the target does, and checks that it used every answer.
fn replay(seed: &[u8]) -> hostile::Conversation {
    let (&which, answers) = seed.split_first().expect("an operation byte");
    let mut answers = Answers(answers);
    let conversation = hostile::converse(which, &mut answers);
    hostile::check_credentials_unseen(which, &seed[1..], &conversation);
    assert!(
        answers.0.is_empty(),
        "answers left over: {} bytes",
        answers.0.len()
    );
    conversation
}

/// Checks that a near-miss ends with the error `expected` accepts, after `done` succeeded.
fn check_failure(
    conversation: &hostile::Conversation,
    done: &[&str],
    expected: impl Fn(&Error) -> bool,
) {
    let (last, first) = conversation.outcomes.split_last().expect("an outcome");
    let got: Vec<&Outcome> = first.iter().collect();
    assert_eq!(got.len(), done.len(), "{got:?}");
    for (outcome, done) in got.iter().zip(done) {
        assert!(
            matches!(outcome, Outcome::Done(what) if what == done),
            "{outcome:?}"
        );
    }
    match last {
        Outcome::Failed(error) if expected(error) => {}
        other => panic!("not the expected failure: {other:?}"),
    }
}

fn check_outcomes(conversation: &hostile::Conversation, expected: &[&str]) {
    let got: Vec<&Outcome> = conversation.outcomes.iter().collect();
    assert_eq!(got.len(), expected.len(), "{got:?}");
    for (outcome, expected) in got.iter().zip(expected) {
        match outcome {
            Outcome::Done(what) if what == expected => {}
            Outcome::Failed(error) => panic!("expected success ({expected}), got {error}"),
            other => panic!("expected success ({expected}), got {other:?}"),
        }
    }
}

fn secret_path(uid: &str) -> String {
    format!("{API}/secrets/{uid}")
}

/// The `hostile_server` seeds, each checked to reach its operation's success.
fn hostile_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds = Vec::new();
    let uid = UID;
    let done = |revision: u64| format!("{uid} revision {revision}");

    // get, then get again 60 s later: the entry has expired, the revalidation is answered 304.
    let mut vault = Vault::new();
    vault.put(uid, "Database", 3);
    let (seed, conversation) = record(22, |_, request, _| vault.read(request).expect("a read"));
    check_outcomes(&conversation, &[&done(3), &done(3)]);
    assert_eq!(conversation.stats.revalidations, 1);
    assert_eq!(conversation.stats.cache_misses, 1);
    seeds.push(("get_revalidate", seed));

    // get through retries (a reset connection, a 503 and a 429 with Retry-After), then a cache
    // hit without a request.
    let mut vault = Vault::new();
    vault.put(uid, "Database", 3);
    let (seed, conversation) = record(0, |n, request, _| match n {
        0 => failure(2),
        2 => error(503, 3, "unavailable", None),
        3 => error(429, 2, "rate_limited", None),
        _ => vault.read(request).expect("a read"),
    });
    check_outcomes(&conversation, &[&done(3), &done(3)]);
    assert_eq!(conversation.stats.retries, 3);
    assert_eq!(conversation.stats.cache_hits, 1);
    seeds.push(("get_retries", seed));

    // get, then get 150 s later while the server fails: the expired entry is served stale.
    let mut vault = Vault::new();
    vault.put(uid, "Database", 3);
    let (seed, conversation) = record(55, |n, request, _| match n {
        0 | 1 => vault.read(request).expect("a read"),
        _ => error(503, 0, "unavailable", None),
    });
    check_outcomes(&conversation, &[&done(3), &done(3)]);
    assert_eq!(conversation.stats.stale_serves, 1);
    seeds.push(("get_stale", seed));

    // list over three pages, one of them after a timeout.
    let mut vault = Vault::new();
    vault.put("AAAAAAAAAAAA", "Old Key", 2);
    vault.put(uid, "Database", 3);
    vault.put("9Zx8cVbN7mQa", "Stripe API Key", 1);
    vault.page("", &["AAAAAAAAAAAA"], Some("c1"));
    vault.page("c1", &[uid], Some("c2"));
    vault.page("c2", &["9Zx8cVbN7mQa"], None);
    let (seed, conversation) = record(1, |n, request, _| match n {
        2 => failure(1),
        _ => vault.read(request).expect("a read"),
    });
    check_outcomes(&conversation, &["3 secrets"]);
    assert_eq!(conversation.stats.requests, 5);
    seeds.push(("list_pages", seed));

    // notation by path and by UID over a two-page listing.
    let mut vault = Vault::new();
    vault.put(uid, "Database", 3);
    vault.put("9Zx8cVbN7mQa", "Stripe API Key", 1);
    vault.page("", &[uid], Some("c1"));
    vault.page("c1", &["9Zx8cVbN7mQa"], None);
    let (seed, conversation) = record(2, |_, request, _| vault.read(request).expect("a read"));
    check_outcomes(&conversation, &["2 of 2 resolved"]);
    seeds.push(("resolve_pages", seed));

    // create: 201 with the record as stored, the UID and ciphertext the client posted.
    seeds.push(("create", create_seed(14, false)));
    // create whose first POST is stored but its answer lost: the retry meets 409 uid_conflict
    // and the client reads the record back, finds its own ciphertext and succeeds.
    seeds.push(("create_conflict", create_seed(3, true)));

    // rotate: 202 pending, polls (pending with Retry-After, a reset, running, a 503, running),
    // completed, then the new revision read past the cache from a replica that lags once.
    let mut vault = Vault::new();
    vault.put(uid, "Database", 3);
    let mut polls = 0;
    let mut reads = 0;
    let (seed, conversation) = record(4, |_, request, _| {
        let path = request.uri().path();
        if path == format!("{API}/secrets/{uid}/rotate") {
            return answer(202, 0, 0, rotation("pending", None).to_string().as_bytes());
        }
        if path == format!("{API}/rotations/{ROTATION}") {
            polls += 1;
            return match polls {
                1 => answer(200, 2, 0, rotation("pending", None).to_string().as_bytes()),
                2 => failure(2),
                3 | 5 => ok(&rotation("running", None)),
                4 => error(503, 1, "unavailable", None),
                _ => ok(&rotation("completed", Some(4))),
            };
        }
        let served = vault.read(request).expect("a read");
        if path == secret_path(uid) {
            reads += 1;
            // The first read met a replica still at revision 3; the next one has revision 4.
            vault.put(uid, "Database", 4);
        }
        served
    });
    check_outcomes(&conversation, &["rotated to revision 4"]);
    assert_eq!(reads, 2, "the lagging read is read again");
    seeds.push(("rotate_polls", seed));

    // rotate meeting a running rotation: 409 with its id, then its completion and the read.
    let mut vault = Vault::new();
    vault.put(uid, "Database", 5);
    let (seed, conversation) = record(15, |_, request, _| {
        let path = request.uri().path();
        if path == format!("{API}/secrets/{uid}/rotate") {
            let details = json!({"rotation_id": ROTATION});
            return error(409, 0, "rotation_in_progress", Some(details));
        }
        if path == format!("{API}/rotations/{ROTATION}") {
            return ok(&rotation("completed", Some(5)));
        }
        vault.read(request).expect("a read")
    });
    check_outcomes(&conversation, &["rotated to revision 5"]);
    seeds.push(("rotate_in_progress", seed));

    seeds.push(("bootstrap", bootstrap_seed()));
    seeds.extend(lease_seeds());
    seeds
}

fn rotation(status: &str, revision: Option<u64>) -> Value {
    json!({"data": {
        "rotation_id": ROTATION,
        "uid": UID,
        "status": status,
        "revision": revision,
        "error": null,
    }})
}

fn create_seed(which: u8, conflict: bool) -> Vec<u8> {
    let mut vault = Vault::new();
    let mut posts = 0;
    let mut created = None;
    let mut read_back = false;
    let (seed, conversation) = record(which, |_, request, _| {
        let path = request.uri().path();
        if request.method() == http::Method::POST && path == format!("{API}/secrets") {
            posts += 1;
            let sent: CreateSecretRequest =
                wire::parse_request(request.body()).expect("the client's request");
            assert_eq!(sent.folder_id, CREATE_FOLDER);
            let uid = sent.uid.to_string();
            if posts == 1 {
                let (dek, data) = (
                    sent.encrypted_dek.as_slice(),
                    sent.encrypted_data.as_slice(),
                );
                vault.store(&uid, 1, dek, data);
                created = Some(uid.clone());
            }
            return match (conflict, posts) {
                (true, 1) => failure(1),
                (true, _) => error(409, 0, "uid_conflict", None),
                (false, _) => {
                    let record = vault.records[&uid].clone();
                    answer(201, 0, 0, json!({"data": record}).to_string().as_bytes())
                }
            };
        }
        read_back |= path.starts_with(&format!("{API}/secrets/"));
        vault.read(request).expect("a read")
    });
    let uid = created.expect("a POST");
    check_outcomes(&conversation, &[&format!("created {uid} revision 1")]);
    assert_eq!(posts, if conflict { 2 } else { 1 });
    assert_eq!(read_back, conflict, "the read-back follows the 409");
    seed
}

/// bootstrap: a 503, then the answer with the folder key sealed under the one-time token's
/// key, then the upload of that key wrapped to the client's new key, answered 204. The upload
/// is opened here with the key the client drew, proving it carries the folder key.
fn bootstrap_seed() -> Vec<u8> {
    let mut vault = Vault::new();
    let keys = OneTimeToken::parse(hostile::ONE_TIME_TOKEN)
        .expect("the target's token")
        .derive();
    let new_client = Uuid::from_u128(0x77);
    // The client's first draw from its generator is its key (see `ops::Bootstrap`).
    let client_key = ClientKey::generate(&mut Counter(5));
    let mut uploaded = false;
    let (seed, conversation) = record(5, |n, request, _| {
        let path = request.uri().path();
        if path == format!("{API}/bootstrap") {
            if n == 0 {
                return error(503, 2, "unavailable", None);
            }
            let sent: BootstrapRequest = wire::parse_request(request.body()).expect("a request");
            assert_eq!(
                sent.public_key.as_slice(),
                client_key.public_key().to_sec1()
            );
            let sealed = keys.seal_folder_key(&CREATE_FOLDER, &vault.folder_key, &mut vault.rng);
            return ok(&json!({
                "client_id": new_client,
                "application_id": Uuid::from_u128(2),
                "encrypted_folder_keys": {CREATE_FOLDER.to_string(): Base64Bytes::from(sealed)},
            }));
        }
        assert_eq!(path, format!("{API}/folder-keys"));
        let upload: FolderKeysUpload = wire::parse_request(request.body()).expect("an upload");
        let wrapped = upload.keys[&CREATE_FOLDER].as_slice();
        let opened = folder_key::unwrap(&client_key, &CREATE_FOLDER, &new_client, wrapped);
        assert_eq!(opened.ok().as_ref(), Some(&vault.folder_key));
        uploaded = true;
        answer(204, 0, 0, b"")
    });
    check_outcomes(&conversation, &[&format!("client {new_client}")]);
    assert!(uploaded);
    seed
}

// ---------------------------------------------------------------------------------------------
// `decrypt`.

/// The `decrypt` seeds: one valid input per selector, sealed under the target's keys.
fn decrypt_seeds() -> Vec<(String, Vec<u8>)> {
    let mut rng = Counter(9);
    let key = SymmetricKey::from_bytes(decrypt::KEY);
    let with = |which: u8, parts: &[&[u8]]| {
        let mut seed = vec![which];
        for part in parts {
            seed.extend_from_slice(part);
        }
        seed
    };
    let mut seeds = Vec::new();
    for (i, aad) in decrypt::aads().iter().enumerate() {
        let sealed = blob::seal(&key, &mut rng, b"a value of 32 bytes for the keys", aad);
        let i = u8::try_from(i).expect("few");
        seeds.push((format!("blob{i}"), with(0, &[&[i], &sealed])));
    }
    let name = folder_key::seal_name(&key, "Production", &mut rng);
    seeds.push(("name".into(), with(1, &[&name])));
    let folder = SymmetricKey::generate(&mut rng);
    let public = decrypt::client().public_key();
    let wrapped = folder_key::wrap(
        &folder,
        &decrypt::FOLDER,
        &decrypt::CLIENT_ID,
        &public,
        &mut rng,
    );
    seeds.push(("wrapped".into(), with(2, &[&wrapped])));
    let mut payload = RecordPayload::new("Database");
    payload.fields.set("username", "app");
    payload.fields.set("password", "hunter2");
    payload.notes = "rotated monthly".into();
    let sealed = record::seal(&decrypt::uid(), &key, &payload, &mut rng);
    let dek_len = u8::try_from(sealed.encrypted_dek.len()).expect("a short data key");
    let parts: [&[u8]; 3] = [&[dek_len], &sealed.encrypted_dek, &sealed.encrypted_data];
    seeds.push(("record".into(), with(3, &parts)));
    seeds.push(("payload".into(), with(4, &[&payload.to_json()])));
    let aad = decrypt::aads()[2].clone();
    let aad_len = u8::try_from(aad.len()).expect("a short AAD");
    seeds.push((
        "seal".into(),
        with(5, &[&[aad_len], aad.as_bytes(), b"plaintext"]),
    ));
    for (name, seed) in &seeds {
        assert_eq!(
            decrypt::run(seed),
            decrypt::Outcome::Opened,
            "{name} does not open"
        );
    }
    seeds
}

// ---------------------------------------------------------------------------------------------
// `snapshot`.

/// The `snapshot` seeds: sealed snapshots under the target's binding (an empty one and one with
/// every part), and the plaintext of the full one.
fn snapshot_seeds() -> Vec<(String, Vec<u8>)> {
    use std::sync::Arc;
    use syvault_proto::Timestamp;
    use syvault_proto::folders::FolderInfo;
    use syvault_proto::model::Secret;
    use syvault_proto::snapshot::{Entry, ListedRecord, Listing, Snapshot, SyncToken};
    use syvault_proto::wire::Access;

    let mut rng = Counter(11);
    let binding = snapshot::binding();
    let uid = decrypt::uid();
    let folder = Uuid::from_u128(0xf0);
    let mut payload = RecordPayload::new("Database");
    payload.fields.set("username", "app");
    payload.fields.set("password", "p\"ss\\w\u{f6}rd\n");
    payload.notes = "rotated monthly".into();
    let at = Timestamp::from_unix_millis(1_767_225_600_000);
    let mut full = Snapshot::new(at);
    full.entries.push(Entry::new(
        Arc::new(Secret::new(uid, folder, 3, payload)),
        at,
        Some("\"r3\"".into()),
    ));
    full.folders = vec![
        FolderInfo::new(Uuid::from_u128(0xe0), None, "Company", Access::Read),
        FolderInfo::new(
            folder,
            Some(Uuid::from_u128(0xe0)),
            "Production",
            Access::ReadWrite,
        ),
    ];
    full.listing = Some(Listing::new(
        at,
        vec![ListedRecord::new(uid, folder, "Database")],
    ));
    full.sync_tokens = vec![
        SyncToken::new(None, "token-all", at),
        SyncToken::new(Some(folder), "token-production", at),
    ];
    let empty = syvault_proto::snapshot::seal(&Snapshot::new(at), &binding, &mut rng);
    let sealed = syvault_proto::snapshot::seal(&full, &binding, &mut rng);
    let plaintext = snapshot::plaintext_of(&sealed);
    let with = |which: u8, bytes: &[u8]| {
        let mut seed = vec![which];
        seed.extend_from_slice(bytes);
        seed
    };
    let seeds = vec![
        ("empty".to_owned(), with(0, &empty)),
        ("full".to_owned(), with(0, &sealed)),
        ("plaintext".to_owned(), with(1, &plaintext)),
    ];
    for (name, seed) in &seeds {
        assert_eq!(
            snapshot::run(seed),
            snapshot::Outcome::Opened,
            "{name} does not open"
        );
    }
    seeds
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = match args.first().map(String::as_str) {
        None => false,
        Some("--check") => true,
        Some("--replay") => {
            for path in &args[1..] {
                let seed = std::fs::read(path).expect("read the input");
                let Some((&which, answers)) = seed.split_first() else {
                    continue;
                };
                let mut answers = Answers(answers);
                let conversation = hostile::converse(which, &mut answers);
                println!(
                    "{path}: {:?}, {} answer bytes unused",
                    conversation.outcomes,
                    answers.0.len()
                );
            }
            return;
        }
        Some(other) => panic!("unknown argument {other}; use --check or --replay <files>"),
    };
    let mut all: Vec<(String, String, Vec<u8>)> = Vec::new();
    for (name, seed) in decrypt_seeds() {
        all.push(("decrypt".into(), name, seed));
    }
    for (name, seed) in snapshot_seeds() {
        all.push(("snapshot".into(), name, seed));
    }
    for (name, seed) in hostile_seeds() {
        let conversation = replay(&seed);
        let outcomes: Vec<String> = conversation
            .outcomes
            .iter()
            .map(|outcome| match outcome {
                Outcome::Done(what) => format!("ok: {what}"),
                other => format!("{other:?}"),
            })
            .collect();
        let stats = conversation.stats;
        println!(
            "hostile_server/{name}: {} ({} requests, {} retries, {} revalidations, {} stale)",
            outcomes.join("; "),
            stats.requests,
            stats.retries,
            stats.revalidations,
            stats.stale_serves,
        );
        all.push(("hostile_server".into(), name.into(), seed));
    }
    let mut stale = Vec::new();
    for (target, name, seed) in &all {
        let dir = Path::new("fuzz/seeds").join(target);
        let path = dir.join(name);
        if check {
            if std::fs::read(&path).ok().as_deref() != Some(seed.as_slice()) {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(&dir).expect("the seed directory");
            std::fs::write(&path, seed).expect("write the seed");
        }
    }
    // Seeds on disk that this program does not write are stale too.
    for target in ["decrypt", "hostile_server", "snapshot"] {
        let dir = Path::new("fuzz/seeds").join(target);
        for entry in std::fs::read_dir(&dir).expect("the seed directory") {
            let name = entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            if !all.iter().any(|(t, n, _)| t == target && *n == name) {
                if check {
                    stale.push(dir.join(&name).display().to_string());
                } else {
                    std::fs::remove_file(dir.join(&name)).expect("remove an old seed");
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "seeds differ from what this program writes: {stale:?}; run `cargo run --manifest-path fuzz/Cargo.toml --example seeds` and commit fuzz/seeds"
    );
    println!(
        "{} seeds {}: every decrypt and snapshot seed opens, every hostile_server operation succeeds or, in a near-miss, fails as it should",
        all.len(),
        if check {
            "checked"
        } else {
            "written and checked"
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Leases.

/// The lease the scripted server hands out.
const LEASED: Uuid = Uuid::from_u128(0x3c2e_91d0_5a7b_4f16_b8e4_0d9a_6c51_27f3);
const LEASE_PASSWORD: &str = "Xk9-vT2q_Lm8wPz4";

/// The 201 answer of a lease request at `now` for `ttl`, with `username`.
fn lease_created(now: Timestamp, ttl: Duration, username: &str) -> Vec<u8> {
    let body = json!({
        "lease_id": LEASED,
        "username": username,
        "password": LEASE_PASSWORD,
        "connection_string": format!("postgresql://{username}:{LEASE_PASSWORD}@db:5432/app"),
        "expires_at": format_rfc3339(now + ttl),
    });
    answer(201, 0, 0, body.to_string().as_bytes())
}

fn lease_summary(lease_id: Uuid, created_at: Timestamp, expires_at: Timestamp) -> Value {
    json!({
        "lease_id": lease_id,
        "record_uid": UID,
        "username": "vf_tmp_k3x9q2mz",
        "created_at": format_rfc3339(created_at),
        "expires_at": format_rfc3339(expires_at),
    })
}

fn lease_path(suffix: &str) -> String {
    format!("{API}/dynamic/lease{suffix}")
}

/// The lease operations' seeds (operations 6 to 10): each succeeds, and a few near-misses each
/// end with the error they should.
#[allow(clippy::too_many_lines)]
fn lease_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let start = Timestamp::from_unix_secs(hostile::START);
    let until = |secs: u64| format!("lease {LEASED} until {}", hostile::START + secs);
    let mut seeds = Vec::new();

    // take a lease for an hour.
    let (seed, conversation) = record(6, |_, request, now| {
        assert_eq!(request.uri().path(), lease_path(""));
        lease_created(now, Duration::from_secs(3600), "vf_tmp_k3x9q2mz")
    });
    check_outcomes(&conversation, &[&until(3600)]);
    seeds.push(("lease_create", seed));

    // take a lease for 12 h through a 502 (the database unreachable) and a lost answer: every
    // attempt carries the same idempotency key.
    let mut keys = Vec::new();
    let (seed, conversation) = record(17, |n, request, now| {
        keys.push(request.headers()[IDEMPOTENCY_KEY].clone());
        match n {
            0 => error(502, 0, "target_unavailable", None),
            1 => failure(1),
            _ => lease_created(now, Duration::from_secs(43_200), "vf_tmp_k3x9q2mz"),
        }
    });
    check_outcomes(&conversation, &[&until(43_200)]);
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|key| *key == keys[0]), "{keys:?}");
    seeds.push(("lease_create_retried", seed));

    // near-miss: a 201 with an empty username is malformed, and the error does not carry the
    // password the body held (the target checks it by changing the password).
    let (seed, conversation) = record(6, |_, _, now| {
        lease_created(now, Duration::from_secs(3600), "")
    });
    check_failure(&conversation, &[], |error| {
        !error.to_string().contains(LEASE_PASSWORD) && error.to_string().contains("username")
    });
    seeds.push(("lease_create_malformed", seed));

    // near-miss: the record is no dynamic target.
    let (seed, conversation) = record(6, |_, _, _| error(400, 0, "not_dynamic_target", None));
    check_failure(&conversation, &[], |error| {
        matches!(error, Error::NotDynamicTarget { .. })
    });
    seeds.push(("lease_create_not_dynamic", seed));

    // renew for an hour.
    let (seed, conversation) = record(7, |_, request, now| {
        assert_eq!(
            request.uri().path(),
            lease_path(&format!("s/{}/renew", hostile::LEASE_ID))
        );
        let summary = lease_summary(hostile::LEASE_ID, start, now + Duration::from_secs(3600));
        ok(&json!({"data": summary}))
    });
    check_outcomes(
        &conversation,
        &[&format!("renewed until {}", hostile::START + 3600)],
    );
    seeds.push(("lease_renew", seed));

    // near-miss: the lease has ended.
    let (seed, conversation) = record(7, |_, _, _| error(404, 0, "lease_not_found", None));
    check_failure(
        &conversation,
        &[],
        |error| matches!(error, Error::LeaseNotFound { lease_id } if *lease_id == hostile::LEASE_ID),
    );
    seeds.push(("lease_renew_not_found", seed));

    // revoke through a 503.
    let (seed, conversation) = record(8, |n, request, _| {
        assert_eq!(request.method(), http::Method::DELETE);
        if n == 0 {
            error(503, 1, "unavailable", None)
        } else {
            answer(204, 0, 0, b"")
        }
    });
    check_outcomes(&conversation, &["revoked"]);
    seeds.push(("lease_revoke", seed));

    // list two leases.
    let (seed, conversation) = record(9, |_, request, now| {
        assert_eq!(request.uri().path(), lease_path("s"));
        let hour = Duration::from_secs(3600);
        ok(&json!({"data": [
            lease_summary(hostile::LEASE_ID, now, now + hour),
            lease_summary(LEASED, now - hour, now + hour),
        ]}))
    });
    check_outcomes(&conversation, &["2 leases"]);
    seeds.push(("lease_list", seed));

    // keep a 12-hour lease: renewals (one through a 503) until the server caps it at 24 h
    // after its creation, then it expires.
    let (seed, conversation) = record(21, keeper_server(43_200, None));
    check_outcomes(&conversation, &[&until(43_200), "Expired after 2 renewals"]);
    seeds.push(("lease_keep_cap", seed));

    // keep an hour-long lease: two renewals, then at its third sleep the driver asks for
    // revocation and wakes it early; the DELETE is answered 204.
    assert_eq!(hostile::revoke_after(142), 3);
    let (seed, conversation) = record(142, keeper_server(3600, None));
    check_outcomes(&conversation, &[&until(3600), "Revoked after 2 renewals"]);
    seeds.push(("lease_keep_revoke", seed));

    // near-miss: a renewal that ends 61 s later than asked for is refused, the keeper stops.
    let (seed, conversation) = record(10, keeper_server(3600, Some(61)));
    check_failure(&conversation, &[&until(3600)], |error| {
        error.to_string().contains("later than asked")
    });
    seeds.push(("lease_keep_too_long", seed));
    seeds
}

/// A server for a kept lease taken with `ttl`: it creates the lease, then renews it to
/// `now + ttl` capped at 24 h after its creation (`excess` seconds more, for a near-miss), with
/// a 503 first on the second renewal; it answers a revocation with 204.
fn keeper_server(
    ttl: u64,
    excess: Option<u64>,
) -> impl FnMut(usize, &Request, Timestamp) -> Vec<u8> {
    let ttl = Duration::from_secs(ttl);
    let mut created = None;
    let mut renewals = 0;
    move |_, request, now| {
        let path = request.uri().path();
        if path == lease_path("") {
            created = Some(now);
            return lease_created(now, ttl, "vf_tmp_k3x9q2mz");
        }
        let created = created.expect("a lease");
        if request.method() == http::Method::DELETE {
            assert_eq!(path, lease_path(&format!("s/{LEASED}")));
            return answer(204, 0, 0, b"");
        }
        assert_eq!(path, lease_path(&format!("s/{LEASED}/renew")));
        renewals += 1;
        if renewals == 2 {
            return error(503, 0, "unavailable", None);
        }
        let capped = (now + ttl).min(created + LEASE_CAP);
        let expires_at = capped + Duration::from_secs(excess.unwrap_or(0));
        ok(&json!({"data": lease_summary(LEASED, created, expires_at)}))
    }
}
