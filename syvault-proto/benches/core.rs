//! Costs of the core's hot paths, printed with the ratios that justify its design choices:
//! reusing a token instead of signing per request, keeping folder keys decrypted, and serving
//! reads from the cache of decrypted secrets.
//!
//! Run with `cargo bench -p syvault-proto --bench core`. Timings are wall-clock medians on a
//! shared machine: compare the ratios, not the absolute numbers.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chacha20::ChaCha20Rng;
use rand_core::SeedableRng;
use syvault_proto::config::ClientConfig;
use syvault_proto::jwt::{self, Claims, TokenHolder, TokenMode};
use syvault_proto::keys::ClientKey;
use syvault_proto::ops::Operation;
use syvault_proto::record::{self, RecordPayload};
use syvault_proto::secret::SymmetricKey;
use syvault_proto::step::{Input, Step};
use syvault_proto::wire::{self, Access, Base64Bytes, DataEnvelope, Folder, FolderList, Record};
use syvault_proto::{Client, RecordUid, Timestamp, folder_key};
use uuid::Uuid;

const NOW: Timestamp = Timestamp::from_unix_secs(1_767_225_600);

/// The median time of one call of `f`, over batches sized to take about 20 ms each.
fn measure(mut f: impl FnMut()) -> Duration {
    let mut batch = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        if start.elapsed() > Duration::from_millis(20) || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let mut samples: Vec<Duration> = (0..15)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed() / batch
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn report(name: &str, time: Duration) -> Duration {
    println!("{name:<44} {:>12.3} µs", time.as_secs_f64() * 1e6);
    time
}

fn ratio(what: &str, slow: Duration, fast: Duration) {
    println!(
        "  => {what}: {:.0}x",
        slow.as_secs_f64() / fast.as_secs_f64().max(1e-12)
    );
}

fn response(status: u16, body: Vec<u8>, etag: Option<&str>) -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder().status(status);
    if let Some(etag) = etag {
        builder = builder.header("etag", etag);
    }
    builder.body(body).expect("valid response")
}

/// One client's key, one folder and one record in it.
struct Fixture {
    rng: ChaCha20Rng,
    key: ClientKey,
    client_id: Uuid,
    folder_id: Uuid,
    folder: SymmetricKey,
    uid: RecordUid,
    sealed: record::SealedRecord,
    wrapped: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let key = ClientKey::generate(&mut rng);
        let (client_id, folder_id) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let folder = SymmetricKey::generate(&mut rng);
        let uid = RecordUid::generate(&mut rng);
        let mut payload = RecordPayload::new("Database");
        for (name, value) in [
            ("host", "db.internal"),
            ("username", "app"),
            ("password", "s3cr3t-Pa55w0rd"),
        ] {
            payload.fields.set(name, value);
        }
        let sealed = record::seal(&uid, &folder, &payload, &mut rng);
        let wrapped =
            folder_key::wrap(&folder, &folder_id, &client_id, &key.public_key(), &mut rng);
        Self {
            rng,
            key,
            client_id,
            folder_id,
            folder,
            uid,
            sealed,
            wrapped,
        }
    }
}

fn tokens(f: &Fixture) {
    println!("-- tokens");
    let claims = Claims::new(f.client_id, "https://vault.example.com", 0, 600);
    let sign = report(
        "sign an ES256 token",
        measure(|| {
            black_box(jwt::sign(&f.key, &claims));
        }),
    );
    let mut holder = TokenHolder::new(TokenMode::default(), f.client_id, claims.aud.clone())
        .expect("valid mode");
    holder.token(&f.key, NOW);
    let reuse = report(
        "reuse the held token",
        measure(|| {
            black_box(holder.token(&f.key, NOW));
        }),
    );
    ratio("signing per request costs", sign, reuse);
}

fn decryption(f: &Fixture) {
    println!("-- decryption");
    let unwrap = report(
        "unwrap a folder key (ECDH + HKDF + AES-GCM)",
        measure(|| {
            black_box(
                folder_key::unwrap(&f.key, &f.folder_id, &f.client_id, &f.wrapped)
                    .expect("unwraps"),
            );
        }),
    );
    let open = report(
        "decrypt a record with a held folder key",
        measure(|| {
            black_box(
                record::open(
                    &f.uid,
                    &f.folder,
                    &f.sealed.encrypted_dek,
                    &f.sealed.encrypted_data,
                )
                .expect("opens"),
            );
        }),
    );
    ratio(
        "keeping folder keys decrypted saves per read",
        unwrap + open,
        open,
    );
}

fn reads(f: &mut Fixture) {
    println!("-- reads through the client");
    let mut config = ClientConfig::new(
        "https://vault.example.com",
        f.client_id,
        f.key.to_client_secret(),
    );
    config.cache.ttl = Duration::from_secs(3600);
    let mut client = Client::new(config).expect("valid config");
    let folders = wire::to_body(&FolderList {
        data: vec![Folder {
            folder_id: f.folder_id,
            parent_id: None,
            encrypted_key: Base64Bytes(f.wrapped.clone()),
            encrypted_name: Base64Bytes(folder_key::seal_name(&f.folder, "Production", &mut f.rng)),
            access: Access::ReadWrite,
        }],
    });
    let record = wire::to_body(&DataEnvelope::new(Record {
        uid: f.uid,
        folder_id: f.folder_id,
        revision: 1,
        encrypted_dek: Base64Bytes(f.sealed.encrypted_dek.clone()),
        encrypted_data: Base64Bytes(f.sealed.encrypted_data.clone()),
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }));
    let uid = f.uid;
    // Answers every request of a read: the folder listing, then the record.
    let read = |client: &mut Client, rng: &mut ChaCha20Rng| {
        let mut op = client.get(uid);
        let mut input = Input::Start;
        loop {
            input = match op.step(client, input, NOW, rng) {
                Step::Send(request) if request.uri().path().ends_with("/folders") => {
                    Input::Response(response(200, folders.clone(), None))
                }
                Step::Send(_) => Input::Response(response(200, record.clone(), Some("\"r1\""))),
                Step::Done(result) => return result.expect("read succeeds"),
                other => panic!("unexpected {other:?}"),
            };
        }
    };
    let rng = &mut f.rng;
    black_box(read(&mut client, rng));
    let hit = report(
        "get: cache hit",
        measure(|| {
            black_box(read(&mut client, rng));
        }),
    );
    let miss = report(
        "get: miss with folder keys held",
        measure(|| {
            client.clear_cache();
            black_box(read(&mut client, rng));
        }),
    );
    ratio("a cache hit is cheaper than a miss by", miss, hit);
}

fn main() {
    let mut fixture = Fixture::new();
    tokens(&fixture);
    decryption(&fixture);
    reads(&mut fixture);
}
