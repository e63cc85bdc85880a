//! Writes the seeds of the `hostile_server` target: conversations with a well-behaved server
//! whose ciphertexts really open under the fuzz target's key, so that mutations start deep in
//! the operations (multi-page listings, cache revalidation, rotation polls, retries).
//!
//! Run from the repository root: `cargo run --manifest-path fuzz/Cargo.toml --example
//! hostile_seeds`. The answer format is described in `fuzz_targets/hostile_server.rs`.

use std::path::Path;

use serde_json::{Value, json};
use syvault_proto::keys::ClientKey;
use syvault_proto::record::{self, RecordPayload};
use syvault_proto::secret::SymmetricKey;
use syvault_proto::wire::Base64Bytes;
use syvault_proto::{RecordUid, folder_key};
use uuid::Uuid;

#[path = "../common/counter.rs"]
mod counter;
use counter::Counter;

/// The fuzz target's client.
const CLIENT_ID: u128 = 1;
const FOLDER: &str = "0f6d2c9a-3b71-4e58-8a2d-c41e7b95f306";
const ROTATION: &str = "5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17";

/// One answer in the target's format.
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

/// A transport failure of class `class` (0 connect, 1 timeout, 2 closed, 3 TLS, 4 other).
fn failure(class: u8) -> Vec<u8> {
    vec![0, class]
}

struct World {
    rng: Counter,
    folder_key: SymmetricKey,
    folder: Uuid,
}

impl World {
    fn folders(&mut self) -> Value {
        let key = ClientKey::from_scalar_bytes(&[7; 32]).expect("the target's key");
        let wrapped = folder_key::wrap(
            &self.folder_key,
            &self.folder,
            &Uuid::from_u128(CLIENT_ID),
            &key.public_key(),
            &mut self.rng,
        );
        let name = folder_key::seal_name(&self.folder_key, "Production", &mut self.rng);
        json!({"data": [{
            "folder_id": self.folder,
            "parent_id": null,
            "encrypted_key": Base64Bytes::from(wrapped),
            "encrypted_name": Base64Bytes::from(name),
            "access": "read_write",
        }]})
    }

    fn record(&mut self, uid: &str, title: &str, revision: u64) -> Value {
        let uid: RecordUid = uid.parse().expect("a valid UID");
        let mut payload = RecordPayload::new(title);
        payload.fields.set("username", "app");
        payload
            .fields
            .set("password", format!("pw-{revision}\n\"quoted\""));
        let sealed = record::seal(&uid, &self.folder_key, &payload, &mut self.rng);
        json!({
            "uid": uid.as_str(),
            "folder_id": self.folder,
            "revision": revision,
            "encrypted_dek": Base64Bytes::from(sealed.encrypted_dek),
            "encrypted_data": Base64Bytes::from(sealed.encrypted_data),
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T00:00:00Z",
        })
    }

    fn rotation(status: &str, revision: Option<u64>) -> Value {
        json!({"data": {
            "rotation_id": ROTATION,
            "uid": "7Kj9mNpQ2xRs",
            "status": status,
            "revision": revision,
            "error": null,
        }})
    }
}

fn write(dir: &Path, name: &str, which: u8, answers: &[Vec<u8>]) {
    let mut seed = vec![which];
    for answer in answers {
        seed.extend_from_slice(answer);
    }
    std::fs::write(dir.join(name), seed).expect("write the seed");
}

fn main() {
    let dir = Path::new("fuzz/seeds/hostile_server");
    std::fs::create_dir_all(dir).expect("seed directory");
    let mut rng = Counter(42);
    let folder_key = SymmetricKey::generate(&mut rng);
    let mut w = World {
        rng,
        folder_key,
        folder: FOLDER.parse().expect("a valid UUID"),
    };
    let folders = ok(&w.folders());
    let database = w.record("7Kj9mNpQ2xRs", "Database", 3);
    let stripe = w.record("9Zx8cVbN7mQa", "Stripe API Key", 1);
    let old = w.record("AAAAAAAAAAAA", "Old Key", 2);

    // get, then get again: revalidation answered 304, with an ETag.
    write(
        dir,
        "get_revalidate",
        0,
        &[
            folders.clone(),
            answer(200, 0, 3, json!({"data": database}).to_string().as_bytes()),
            answer(304, 0, 3, b""),
        ],
    );
    // get through retries: a reset, a 503 with Retry-After, a 429, then the record.
    write(
        dir,
        "get_retries",
        0,
        &[
            failure(2),
            folders.clone(),
            answer(
                503,
                2,
                0,
                br#"{"error":{"code":"unavailable","message":"m"}}"#,
            ),
            answer(
                429,
                1,
                0,
                br#"{"error":{"code":"rate_limited","message":"m"}}"#,
            ),
            answer(200, 0, 3, json!({"data": database}).to_string().as_bytes()),
        ],
    );
    // list over three pages.
    write(
        dir,
        "list_pages",
        1,
        &[
            folders.clone(),
            ok(&json!({"data": [old], "next_cursor": "c1"})),
            failure(1),
            ok(&json!({"data": [database], "next_cursor": "c2"})),
            ok(&json!({"data": [stripe], "next_cursor": null})),
        ],
    );
    // notation over a two-page listing.
    write(
        dir,
        "resolve_pages",
        2,
        &[
            folders.clone(),
            ok(&json!({"data": [database], "next_cursor": "c1"})),
            ok(&json!({"data": [stripe]})),
        ],
    );
    // create: folders, then 201 with the record as stored.
    let created = w.record("7Kj9mNpQ2xRs", "New", 1);
    write(
        dir,
        "create",
        3,
        &[
            folders.clone(),
            answer(201, 0, 0, json!({"data": created}).to_string().as_bytes()),
        ],
    );
    // rotate: 202 pending, polls while pending and running, completed, then the new revision.
    let rotated = w.record("7Kj9mNpQ2xRs", "Database", 4);
    let pending = World::rotation("pending", None);
    write(
        dir,
        "rotate_polls",
        4,
        &[
            answer(202, 0, 0, pending.to_string().as_bytes()),
            ok(&World::rotation("pending", None)),
            failure(2),
            ok(&World::rotation("running", None)),
            answer(503, 1, 0, b""),
            ok(&World::rotation("running", None)),
            ok(&World::rotation("completed", Some(4))),
            folders,
            answer(200, 0, 4, json!({"data": rotated}).to_string().as_bytes()),
        ],
    );
    // bootstrap: the answer (its folder keys do not open under the target's token), after a
    // 503, then the folder-key upload.
    let bootstrap = json!({
        "client_id": Uuid::from_u128(CLIENT_ID),
        "application_id": Uuid::from_u128(2),
        "encrypted_folder_keys": {FOLDER: Base64Bytes::from(vec![7u8; 125])},
    });
    write(
        dir,
        "bootstrap",
        5,
        &[
            answer(
                503,
                1,
                0,
                br#"{"error":{"code":"unavailable","message":"m"}}"#,
            ),
            ok(&bootstrap),
            answer(204, 0, 0, b""),
        ],
    );
    // rotate meeting a running rotation: 409 with its id, then polls.
    write(
        dir,
        "rotate_in_progress",
        4,
        &[
            answer(
                409,
                0,
                0,
                json!({"error": {"code": "rotation_in_progress", "message": "m",
                        "details": {"rotation_id": ROTATION}}})
                .to_string()
                .as_bytes(),
            ),
            ok(&World::rotation("failed", None)),
        ],
    );
}
