//! Known-answer vectors for other implementations of the protocol.
//!
//! Every file under `tests/vectors/` is re-derived here from its own inputs: a vector that no
//! longer matches the code fails the test. `SYVAULT_WRITE_VECTORS=1 cargo test -p syvault-proto
//! --test vectors` rewrites the files from the fixed inputs below (do that only for a deliberate
//! protocol change, and say so in docs/protocol.md).

use std::convert::Infallible;
use std::path::PathBuf;

use hkdf::Hkdf;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use syvault_proto::bootstrap::OneTimeToken;
use syvault_proto::keys::{ClientKey, ClientPublicKey};
use syvault_proto::secret::SymmetricKey;
use syvault_proto::{RecordUid, Timestamp, blob, folder_key, jwt, record, snapshot};
use uuid::Uuid;

#[derive(Serialize, Deserialize)]
struct VectorFile<T> {
    description: String,
    vectors: Vec<T>,
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(format!("{name}.json"))
}

/// Writes the vectors when asked to, then reads them back from disk.
fn load<T: Serialize + DeserializeOwned>(
    name: &str,
    description: &str,
    make: impl FnOnce() -> Vec<T>,
) -> Vec<T> {
    if std::env::var_os("SYVAULT_WRITE_VECTORS").is_some() {
        let file = VectorFile {
            description: description.to_owned(),
            vectors: make(),
        };
        let mut json = serde_json::to_string_pretty(&file).unwrap();
        json.push('\n');
        std::fs::write(path(name), json).unwrap();
    }
    let text = std::fs::read_to_string(path(name)).unwrap();
    let file: VectorFile<T> = serde_json::from_str(&text).unwrap();
    assert!(!file.vectors.is_empty(), "{name} has no vectors");
    file.vectors
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).unwrap().try_into().unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn key(scalar_hex: &str) -> ClientKey {
    ClientKey::from_scalar_bytes(&unhex(scalar_hex)).unwrap()
}

/// Hands out bytes from a fixed list, to pin what an RNG would have drawn.
struct FixedBytes(Vec<u8>);

impl rand_core::TryRng for FixedBytes {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

impl rand_core::TryCryptoRng for FixedBytes {}

const CLIENT_SCALAR: &str = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
const EPHEMERAL_SCALAR: &str = "519b423d715f8b581f4fa8ee59f4771a5b44c8130b4e3eacca54a56dda72b464";
const CLIENT_ID: &str = "5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17";
const FOLDER_ID: &str = "0f6d2c9a-3b71-4e58-8a2d-c41e7b95f306";

#[derive(Serialize, Deserialize)]
struct KeyVector {
    name: String,
    private_scalar_hex: String,
    client_secret: String,
    public_key: String,
}

#[test]
fn keys() {
    let vectors = load(
        "keys",
        "client_secret canonical form (base64 PKCS#8 DER) and public key (base64 SEC1 uncompressed) for a raw P-256 scalar",
        || {
            [("client", CLIENT_SCALAR), ("ephemeral", EPHEMERAL_SCALAR)]
                .map(|(name, scalar)| {
                    let k = key(scalar);
                    KeyVector {
                        name: name.into(),
                        private_scalar_hex: scalar.into(),
                        client_secret: k.to_client_secret().expose().into(),
                        public_key: k.public_key().to_base64(),
                    }
                })
                .into()
        },
    );
    for v in vectors {
        let k = key(&v.private_scalar_hex);
        assert_eq!(k.to_client_secret().expose(), v.client_secret, "{}", v.name);
        assert_eq!(k.public_key().to_base64(), v.public_key, "{}", v.name);
        let parsed = ClientKey::from_client_secret(&v.client_secret).unwrap();
        assert_eq!(parsed.public_key(), k.public_key());
    }
}

#[derive(Serialize, Deserialize)]
struct JwtVector {
    name: String,
    private_scalar_hex: String,
    server_url: String,
    aud: String,
    sub: String,
    iat: u64,
    exp: u64,
    token: String,
}

#[test]
fn jwt() {
    let vectors = load(
        "jwt",
        "ES256 tokens with RFC 6979 deterministic signatures; other ECDSA implementations verify `token` rather than reproduce it",
        || {
            [
                (
                    "default lifetime",
                    "https://vault.example.com",
                    1_767_225_600,
                    600,
                ),
                (
                    "aud canonicalised",
                    "HTTPS://Vault.Example.com:443/some/path/",
                    1_767_225_600,
                    3600,
                ),
                (
                    "loopback with port",
                    "http://127.0.0.1:8200",
                    1_767_225_600,
                    60,
                ),
            ]
            .map(|(name, url, iat, lifetime)| {
                let aud = jwt::canonical_audience(url).unwrap();
                let claims =
                    jwt::Claims::new(CLIENT_ID.parse().unwrap(), aud.clone(), iat, iat + lifetime);
                JwtVector {
                    name: name.into(),
                    private_scalar_hex: CLIENT_SCALAR.into(),
                    server_url: url.into(),
                    aud,
                    sub: CLIENT_ID.into(),
                    iat,
                    exp: iat + lifetime,
                    token: jwt::sign(&key(CLIENT_SCALAR), &claims).expose().into(),
                }
            })
            .into()
        },
    );
    for v in vectors {
        let k = key(&v.private_scalar_hex);
        assert_eq!(
            jwt::canonical_audience(&v.server_url).unwrap(),
            v.aud,
            "{}",
            v.name
        );
        let claims = jwt::Claims::new(v.sub.parse().unwrap(), v.aud.clone(), v.iat, v.exp);
        assert_eq!(jwt::sign(&k, &claims).expose(), v.token, "{}", v.name);
        let public = k.public_key();
        let verified = jwt::verify(&v.token, &v.aud, Timestamp::from_unix_secs(v.iat), |_| {
            Some(public)
        })
        .unwrap();
        assert_eq!(verified, claims);
    }
}

/// Name, key, nonce, AAD and plaintext of a blob vector.
type BlobCase<'a> = (&'a str, [u8; 32], [u8; 12], &'a str, &'a [u8]);

#[derive(Serialize, Deserialize)]
struct BlobVector {
    name: String,
    key_hex: String,
    nonce_hex: String,
    aad: String,
    plaintext_hex: String,
    blob: String,
}

#[test]
fn blobs() {
    let vectors = load(
        "blob",
        "AES-256-GCM blobs: base64(nonce ‖ ciphertext ‖ tag) with the AAD as UTF-8 bytes",
        || {
            let cases: [BlobCase<'_>; 3] = [
                (
                    "folder name",
                    [0x11; 32],
                    [0x22; 12],
                    "syvault.metadata.v1",
                    "Production".as_bytes(),
                ),
                (
                    "empty plaintext",
                    [0x33; 32],
                    [0x44; 12],
                    "syvault.metadata.v1",
                    b"",
                ),
                (
                    "binary plaintext",
                    [0x55; 32],
                    [0x66; 12],
                    "example.aad.v1",
                    &[0, 1, 2, 254, 255],
                ),
            ];
            cases
                .map(|(name, key, nonce, aad, plaintext)| BlobVector {
                    name: name.into(),
                    key_hex: hex::encode(key),
                    nonce_hex: hex::encode(nonce),
                    aad: aad.into(),
                    plaintext_hex: hex::encode(plaintext),
                    blob: b64(&blob::seal_with_nonce(
                        &SymmetricKey::from_bytes(key),
                        nonce,
                        plaintext,
                        aad,
                    )),
                })
                .into()
        },
    );
    for v in vectors {
        let key = SymmetricKey::from_bytes(unhex(&v.key_hex));
        let plaintext = hex::decode(&v.plaintext_hex).unwrap();
        let sealed = blob::seal_with_nonce(&key, unhex(&v.nonce_hex), &plaintext, &v.aad);
        assert_eq!(b64(&sealed), v.blob, "{}", v.name);
        assert_eq!(
            blob::open(&key, &sealed, &v.aad).unwrap().as_slice(),
            plaintext.as_slice()
        );
    }
}

#[derive(Serialize, Deserialize)]
struct FolderKeyVector {
    client_private_scalar_hex: String,
    client_public_key: String,
    client_id: String,
    folder_id: String,
    folder_key_hex: String,
    ephemeral_private_scalar_hex: String,
    nonce_hex: String,
    shared_secret_hex: String,
    kek_hex: String,
    aad: String,
    wrapped: String,
}

/// The ECDH secret and KEK of a wrap by the ephemeral key `ephemeral_scalar_hex` to `client`.
fn ecies_intermediates(client: &ClientKey, ephemeral_scalar_hex: &str) -> (Vec<u8>, Vec<u8>) {
    let ephemeral = key(ephemeral_scalar_hex);
    let shared = p256::ecdh::diffie_hellman(
        p256::SecretKey::from_slice(&unhex::<32>(ephemeral_scalar_hex))
            .unwrap()
            .to_nonzero_scalar(),
        p256::PublicKey::from_sec1_bytes(&client.public_key().to_sec1())
            .unwrap()
            .as_affine(),
    );
    let salt = [
        ephemeral.public_key().to_sec1(),
        client.public_key().to_sec1(),
    ]
    .concat();
    let mut kek = [0; 32];
    Hkdf::<Sha256>::new(Some(&salt), shared.raw_secret_bytes())
        .expand(b"syvault.sm.folder-key.v1", &mut kek)
        .unwrap();
    (shared.raw_secret_bytes().to_vec(), kek.to_vec())
}

#[test]
fn folder_keys() {
    let vectors = load(
        "folder_key",
        "ECIES folder key wrapped to a client: base64(ephemeral_public (65) ‖ nonce (12) ‖ ciphertext (32) ‖ tag (16)); shared_secret is the ECDH x-coordinate, kek = HKDF-SHA256(salt = ephemeral_public ‖ client_public, ikm = shared_secret, info = \"syvault.sm.folder-key.v1\")",
        || {
            let client = key(CLIENT_SCALAR);
            let ephemeral = key(EPHEMERAL_SCALAR);
            let (shared, kek) = ecies_intermediates(&client, EPHEMERAL_SCALAR);
            let (folder, client_id): (Uuid, Uuid) =
                (FOLDER_ID.parse().unwrap(), CLIENT_ID.parse().unwrap());
            let folder_key = [0x77; 32];
            let nonce = [0x88; 12];
            vec![FolderKeyVector {
                client_private_scalar_hex: CLIENT_SCALAR.into(),
                client_public_key: client.public_key().to_base64(),
                client_id: CLIENT_ID.into(),
                folder_id: FOLDER_ID.into(),
                folder_key_hex: hex::encode(folder_key),
                ephemeral_private_scalar_hex: EPHEMERAL_SCALAR.into(),
                nonce_hex: hex::encode(nonce),
                shared_secret_hex: hex::encode(shared),
                kek_hex: hex::encode(kek),
                aad: folder_key::folder_key_aad(&folder, &client_id),
                wrapped: b64(&folder_key::wrap_with_ephemeral(
                    &SymmetricKey::from_bytes(folder_key),
                    &folder,
                    &client_id,
                    &client.public_key(),
                    &ephemeral,
                    nonce,
                )),
            }]
        },
    );
    for v in vectors {
        let client = key(&v.client_private_scalar_hex);
        let ephemeral = key(&v.ephemeral_private_scalar_hex);
        assert_eq!(client.public_key().to_base64(), v.client_public_key);
        let (folder, client_id): (Uuid, Uuid) =
            (v.folder_id.parse().unwrap(), v.client_id.parse().unwrap());
        assert_eq!(folder_key::folder_key_aad(&folder, &client_id), v.aad);
        let (shared, kek) = ecies_intermediates(&client, &v.ephemeral_private_scalar_hex);
        assert_eq!(hex::encode(shared), v.shared_secret_hex);
        assert_eq!(hex::encode(kek), v.kek_hex);
        let folder_key = SymmetricKey::from_bytes(unhex(&v.folder_key_hex));
        let wrapped = folder_key::wrap_with_ephemeral(
            &folder_key,
            &folder,
            &client_id,
            &ClientPublicKey::from_base64(&v.client_public_key).unwrap(),
            &ephemeral,
            unhex(&v.nonce_hex),
        );
        assert_eq!(b64(&wrapped), v.wrapped);
        assert_eq!(
            folder_key::unwrap(&client, &folder, &client_id, &wrapped).unwrap(),
            folder_key
        );
    }
}

#[derive(Serialize, Deserialize)]
struct RecordVector {
    uid: String,
    folder_key_hex: String,
    dek_hex: String,
    dek_nonce_hex: String,
    data_nonce_hex: String,
    dek_aad: String,
    payload_aad: String,
    payload_json: String,
    encrypted_dek: String,
    encrypted_data: String,
}

#[test]
fn records() {
    let vectors = load(
        "record",
        "record encryption: encrypted_dek = blob(folder key, DEK, dek_aad), encrypted_data = blob(DEK, UTF-8 payload JSON, payload_aad)",
        || {
            let uid: RecordUid = "7Kj9mNpQ2xRs".parse().unwrap();
            let payload = r#"{"title":"Database","type":"databaseCredentials","fields":{"host":"db.internal","port":"5432","username":"app","password":"s3cr3t-Pa55"},"notes":"rotated monthly"}"#;
            let (folder_key, dek, dek_nonce, data_nonce) =
                ([0x99; 32], [0xaa; 32], [0xbb; 12], [0xcc; 12]);
            let sealed = record::seal_with(
                &uid,
                &SymmetricKey::from_bytes(folder_key),
                &SymmetricKey::from_bytes(dek),
                dek_nonce,
                data_nonce,
                payload.as_bytes(),
            );
            vec![RecordVector {
                uid: uid.to_string(),
                folder_key_hex: hex::encode(folder_key),
                dek_hex: hex::encode(dek),
                dek_nonce_hex: hex::encode(dek_nonce),
                data_nonce_hex: hex::encode(data_nonce),
                dek_aad: record::dek_aad(&uid),
                payload_aad: record::payload_aad(&uid),
                payload_json: payload.into(),
                encrypted_dek: b64(&sealed.encrypted_dek),
                encrypted_data: b64(&sealed.encrypted_data),
            }]
        },
    );
    for v in vectors {
        let uid: RecordUid = v.uid.parse().unwrap();
        assert_eq!(record::dek_aad(&uid), v.dek_aad);
        assert_eq!(record::payload_aad(&uid), v.payload_aad);
        let folder_key = SymmetricKey::from_bytes(unhex(&v.folder_key_hex));
        let sealed = record::seal_with(
            &uid,
            &folder_key,
            &SymmetricKey::from_bytes(unhex(&v.dek_hex)),
            unhex(&v.dek_nonce_hex),
            unhex(&v.data_nonce_hex),
            v.payload_json.as_bytes(),
        );
        assert_eq!(b64(&sealed.encrypted_dek), v.encrypted_dek);
        assert_eq!(b64(&sealed.encrypted_data), v.encrypted_data);
        let opened = record::open(
            &uid,
            &folder_key,
            &sealed.encrypted_dek,
            &sealed.encrypted_data,
        )
        .unwrap();
        assert_eq!(
            opened.to_json().as_slice(),
            v.payload_json.as_bytes(),
            "payload JSON keeps field order"
        );
    }
}

#[derive(Serialize, Deserialize)]
struct BootstrapVector {
    token_id_hex: String,
    token_secret_hex: String,
    one_time_token: String,
    auth_key_hex: String,
    boot_key_hex: String,
    request_token: String,
    auth_key_sha256_hex: String,
    folder_id: String,
    folder_key_hex: String,
    folder_key_nonce_hex: String,
    folder_key_aad: String,
    encrypted_folder_key: String,
}

#[test]
fn bootstrap() {
    let vectors = load(
        "bootstrap",
        "one-time token derivations: auth_key and boot_key = HKDF-SHA256(salt = token id, ikm = token secret, info = syvault.sm.bootstrap.auth.v1 / syvault.sm.bootstrap.wrap.v1); encrypted_folder_key = blob(boot_key, folder key, folder_key_aad)",
        || {
            let (id, secret) = ([0x01; 16], [0x02; 32]);
            let keys = OneTimeToken::from_parts(id, secret).derive();
            let folder: Uuid = FOLDER_ID.parse().unwrap();
            let (folder_key, nonce) = ([0x77; 32], [0x03; 12]);
            let mut rng = FixedBytes(nonce.to_vec());
            vec![BootstrapVector {
                token_id_hex: hex::encode(id),
                token_secret_hex: hex::encode(secret),
                one_time_token: OneTimeToken::from_parts(id, secret)
                    .to_text()
                    .expose()
                    .into(),
                auth_key_hex: hex::encode(keys.auth_key.expose()),
                boot_key_hex: hex::encode(keys.boot_key.expose()),
                request_token: keys.request_token().expose().into(),
                auth_key_sha256_hex: hex::encode(Sha256::digest(keys.auth_key.expose())),
                folder_id: FOLDER_ID.into(),
                folder_key_hex: hex::encode(folder_key),
                folder_key_nonce_hex: hex::encode(nonce),
                folder_key_aad: syvault_proto::bootstrap::bootstrap_folder_key_aad(&folder),
                encrypted_folder_key: b64(&keys.seal_folder_key(
                    &folder,
                    &SymmetricKey::from_bytes(folder_key),
                    &mut rng,
                )),
            }]
        },
    );
    for v in vectors {
        let token = OneTimeToken::parse(&v.one_time_token).unwrap();
        assert_eq!(hex::encode(token.id()), v.token_id_hex);
        assert_eq!(
            OneTimeToken::from_parts(unhex(&v.token_id_hex), unhex(&v.token_secret_hex))
                .to_text()
                .expose(),
            v.one_time_token
        );
        let keys = token.derive();
        assert_eq!(hex::encode(keys.auth_key.expose()), v.auth_key_hex);
        assert_eq!(hex::encode(keys.boot_key.expose()), v.boot_key_hex);
        assert_eq!(keys.request_token().expose(), v.request_token);
        assert_eq!(
            hex::encode(keys.verifier().auth_hash),
            v.auth_key_sha256_hex
        );
        let folder: Uuid = v.folder_id.parse().unwrap();
        assert_eq!(
            syvault_proto::bootstrap::bootstrap_folder_key_aad(&folder),
            v.folder_key_aad
        );
        let mut rng = FixedBytes(hex::decode(&v.folder_key_nonce_hex).unwrap());
        let folder_key = SymmetricKey::from_bytes(unhex(&v.folder_key_hex));
        let sealed = keys.seal_folder_key(&folder, &folder_key, &mut rng);
        assert_eq!(b64(&sealed), v.encrypted_folder_key);
        assert_eq!(keys.open_folder_key(&folder, &sealed).unwrap(), folder_key);
    }
}

#[derive(Serialize, Deserialize)]
struct UidVector {
    random_bytes_hex: String,
    uid: String,
}

#[test]
fn uids() {
    let vectors = load(
        "uid",
        "UID generation from random bytes: bytes >= 248 are skipped, each other byte b gives ALPHABET[b % 62] with ALPHABET = A-Z a-z 0-9; bytes are drawn 32 at a time",
        || {
            let mut bytes: Vec<u8> = (0..=255u8).rev().step_by(7).collect();
            bytes.resize(32, 0);
            let uid = RecordUid::generate(&mut FixedBytes(bytes.clone()));
            vec![UidVector {
                random_bytes_hex: hex::encode(bytes),
                uid: uid.to_string(),
            }]
        },
    );
    for v in vectors {
        let uid = RecordUid::generate(&mut FixedBytes(hex::decode(&v.random_bytes_hex).unwrap()));
        assert_eq!(uid.as_str(), v.uid);
    }
}

#[derive(Serialize, Deserialize)]
struct SnapshotVector {
    client_private_scalar_hex: String,
    server: String,
    client_id: String,
    salt_hex: String,
    nonce_hex: String,
    key_hex: String,
    aad: String,
    plaintext_json: String,
    sealed: String,
}

/// The snapshot of the vector: one cached secret, its folder, the listing and a sync token.
fn sample_snapshot() -> snapshot::Snapshot {
    use std::sync::Arc;
    use syvault_proto::folders::FolderInfo;
    use syvault_proto::model::Secret;
    use syvault_proto::record::RecordPayload;
    use syvault_proto::snapshot::{Entry, ListedRecord, Listing, Snapshot, SyncToken};
    use syvault_proto::wire::Access;

    let uid: RecordUid = "7Kj9mNpQ2xRs".parse().unwrap();
    let folder = Uuid::parse_str("3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b").unwrap();
    let mut payload = RecordPayload::new("Database");
    payload.record_type = "databaseCredentials".into();
    payload.fields.set("username", "app");
    payload.fields.set("password", "s3cr3t-Pa55");
    let mut snapshot = Snapshot::new(Timestamp::from_unix_millis(1_767_225_660_000));
    snapshot.entries.push(Entry::new(
        Arc::new(Secret::new(uid, folder, 4, payload)),
        Timestamp::from_unix_millis(1_767_225_600_000),
        Some("\"r4\"".into()),
    ));
    let parent = Uuid::parse_str("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d").unwrap();
    snapshot.folders = vec![
        FolderInfo::new(parent, None, "Company", Access::Read),
        FolderInfo::new(folder, Some(parent), "Production", Access::ReadWrite),
    ];
    snapshot.listing = Some(Listing::new(
        Timestamp::from_unix_millis(1_767_225_600_000),
        vec![ListedRecord::new(uid, folder, "Database")],
    ));
    snapshot.sync_tokens.push(SyncToken::new(
        None,
        "c3luYy10b2tlbg",
        Timestamp::from_unix_millis(1_767_225_600_000),
    ));
    snapshot
}

#[test]
fn snapshots() {
    let vectors = load(
        "snapshot",
        "encrypted snapshot: \"SYVSNAP\" ‖ 0x01 ‖ salt ‖ blob(HKDF-SHA256(salt, private scalar, \"syvault.sm.snapshot.v1\"), UTF-8 plaintext JSON, aad)",
        || {
            let client = key("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
            let client_id = Uuid::parse_str("5b1e3a0c-7d4f-4c2a-9e61-2f8b9d0c4e17").unwrap();
            let server = "https://vault.example.com";
            let (salt, nonce) = ([0x55; 32], [0x66; 12]);
            let binding = snapshot::Binding::new(&client, server, client_id).unwrap();
            let sealed = snapshot::seal_with(&sample_snapshot(), &binding, salt, nonce);
            let derived = hkdf_key(&client, &salt);
            let plaintext = blob::open(
                &SymmetricKey::from_bytes(derived),
                &sealed[snapshot::HEADER_LEN..],
                &binding.aad(),
            )
            .unwrap();
            vec![SnapshotVector {
                client_private_scalar_hex:
                    "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721".into(),
                server: server.into(),
                client_id: client_id.to_string(),
                salt_hex: hex::encode(salt),
                nonce_hex: hex::encode(nonce),
                key_hex: hex::encode(derived),
                aad: binding.aad(),
                plaintext_json: String::from_utf8(plaintext.to_vec()).unwrap(),
                sealed: b64(&sealed),
            }]
        },
    );
    for v in vectors {
        let client = key(&v.client_private_scalar_hex);
        let client_id = Uuid::parse_str(&v.client_id).unwrap();
        let binding = snapshot::Binding::new(&client, &v.server, client_id).unwrap();
        assert_eq!(binding.aad(), v.aad);
        let salt: [u8; 32] = unhex(&v.salt_hex);
        assert_eq!(hex::encode(hkdf_key(&client, &salt)), v.key_hex);
        let sealed = snapshot::seal_with(&sample_snapshot(), &binding, salt, unhex(&v.nonce_hex));
        assert_eq!(b64(&sealed), v.sealed);
        let opened = snapshot::open(&sealed, &binding).unwrap();
        assert_eq!(opened, sample_snapshot());
        // Sealing what was opened gives the same plaintext, byte for byte.
        let again = snapshot::seal_with(&opened, &binding, salt, unhex(&v.nonce_hex));
        assert_eq!(again, sealed);
        let plaintext = blob::open(
            &SymmetricKey::from_bytes(unhex(&v.key_hex)),
            &sealed[snapshot::HEADER_LEN..],
            &v.aad,
        )
        .unwrap();
        assert_eq!(plaintext.as_slice(), v.plaintext_json.as_bytes());
    }
}

/// The snapshot key, derived here with HKDF directly.
fn hkdf_key(client: &ClientKey, salt: &[u8; 32]) -> [u8; 32] {
    let scalar: [u8; 32] =
        unhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
    assert_eq!(
        ClientKey::from_scalar_bytes(&scalar).unwrap().public_key(),
        client.public_key()
    );
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), &scalar)
        .expand(b"syvault.sm.snapshot.v1", &mut out)
        .unwrap();
    out
}
