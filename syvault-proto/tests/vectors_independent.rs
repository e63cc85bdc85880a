//! The known-answer vectors checked without the project's own code.
//!
//! `vectors.rs` re-derives every vector with the crate itself, which proves the files match the
//! code but not that the code matches the specification. This file reads the same JSON and
//! checks each value from first principles with the `RustCrypto` primitives directly (AES-GCM,
//! ECDSA, ECDH, HKDF, SHA-256, PKCS#8) and the constants of docs/protocol.md, never calling
//! `syvault_proto`. The client key is pinned to the published RFC 6979 A.2.5 test key.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToSec1Point as _;
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// RFC 6979, appendix A.2.5: the P-256 test key and its public point.
const RFC6979_X: &str = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
const RFC6979_UX: &str = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
const RFC6979_UY: &str = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";

fn vectors(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = file["vectors"].as_array().unwrap().clone();
    assert!(!vectors.is_empty(), "{name} has no vectors");
    vectors
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string"))
}

fn hex_field(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(text(v, field)).unwrap()
}

fn b64_field(v: &Value, field: &str) -> Vec<u8> {
    STANDARD.decode(text(v, field)).unwrap()
}

/// Opens `nonce (12) ‖ ciphertext ‖ tag (16)` with AES-256-GCM.
fn open(key: &[u8], blob: &[u8], aad: &str) -> Vec<u8> {
    let (nonce, sealed) = blob.split_at(12);
    let nonce: &[u8; 12] = nonce.try_into().unwrap();
    Aes256Gcm::new_from_slice(key)
        .unwrap()
        .decrypt(
            nonce.into(),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .expect("the blob authenticates")
}

fn public_sec1(scalar: &[u8]) -> Vec<u8> {
    p256::SecretKey::from_slice(scalar)
        .unwrap()
        .public_key()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec()
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &str) -> [u8; 32] {
    let mut out = [0; 32];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info.as_bytes(), &mut out)
        .unwrap();
    out
}

#[test]
fn the_client_key_is_the_rfc_6979_test_key() {
    let client = vectors("keys")
        .into_iter()
        .find(|v| v["name"] == "client")
        .unwrap();
    assert_eq!(text(&client, "private_scalar_hex"), RFC6979_X);
    let expected = [
        vec![4],
        hex::decode(RFC6979_UX).unwrap(),
        hex::decode(RFC6979_UY).unwrap(),
    ]
    .concat();
    assert_eq!(b64_field(&client, "public_key"), expected);
}

#[test]
fn keys_are_pkcs8_der_and_sec1_uncompressed() {
    for v in vectors("keys") {
        let scalar = hex_field(&v, "private_scalar_hex");
        let parsed = p256::SecretKey::from_pkcs8_der(&b64_field(&v, "client_secret")).unwrap();
        assert_eq!(parsed.to_bytes().as_slice(), scalar.as_slice());
        let public = b64_field(&v, "public_key");
        assert_eq!(public.len(), 65);
        assert_eq!(public, public_sec1(&scalar));
    }
}

#[test]
fn jwts_verify_with_plain_ecdsa() {
    for v in vectors("jwt") {
        let token = text(&v, "token");
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let (header, claims) = signing_input.split_once('.').unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "ES256", "typ": "JWT"}));
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["sub"], v["sub"]);
        assert_eq!(claims["aud"], v["aud"]);
        assert_eq!(claims["iat"], v["iat"]);
        assert_eq!(claims["exp"], v["exp"]);
        assert!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap() <= 3600);
        // Raw r ‖ s, never DER.
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert_eq!(signature.len(), 64);
        let key = VerifyingKey::from_sec1_bytes(&public_sec1(&hex_field(&v, "private_scalar_hex")))
            .unwrap();
        key.verify(
            signing_input.as_bytes(),
            &Signature::from_slice(&signature).unwrap(),
        )
        .expect("the token's signature verifies");
    }
}

#[test]
fn blobs_open_with_plain_aes_gcm() {
    for v in vectors("blob") {
        let blob = b64_field(&v, "blob");
        assert_eq!(&blob[..12], hex_field(&v, "nonce_hex").as_slice());
        let plaintext = open(&hex_field(&v, "key_hex"), &blob, text(&v, "aad"));
        assert_eq!(plaintext, hex_field(&v, "plaintext_hex"));
    }
}

#[test]
fn folder_keys_unwrap_with_plain_ecdh_and_hkdf() {
    for v in vectors("folder_key") {
        let (client_id, folder_id) = (text(&v, "client_id"), text(&v, "folder_id"));
        let aad = format!("syvault.sm.folder-key.v1:{folder_id}:{client_id}");
        assert_eq!(text(&v, "aad"), aad);
        let client_scalar = hex_field(&v, "client_private_scalar_hex");
        let client_public = b64_field(&v, "client_public_key");
        assert_eq!(client_public, public_sec1(&client_scalar));

        let wrapped = b64_field(&v, "wrapped");
        assert_eq!(wrapped.len(), 65 + 12 + 32 + 16);
        let ephemeral_public = &wrapped[..65];
        assert_eq!(
            ephemeral_public,
            public_sec1(&hex_field(&v, "ephemeral_private_scalar_hex")).as_slice()
        );
        assert_eq!(&wrapped[65..77], hex_field(&v, "nonce_hex").as_slice());

        // The recipient's side: its own scalar and the ephemeral public key from the blob.
        let shared = p256::ecdh::diffie_hellman(
            p256::SecretKey::from_slice(&client_scalar)
                .unwrap()
                .to_nonzero_scalar(),
            p256::PublicKey::from_sec1_bytes(ephemeral_public)
                .unwrap()
                .as_affine(),
        );
        let shared = shared.raw_secret_bytes().to_vec();
        assert_eq!(shared, hex_field(&v, "shared_secret_hex"));
        let salt = [ephemeral_public, client_public.as_slice()].concat();
        let kek = hkdf(&salt, &shared, "syvault.sm.folder-key.v1");
        assert_eq!(kek.as_slice(), hex_field(&v, "kek_hex").as_slice());
        assert_eq!(
            open(&kek, &wrapped[65..], &aad),
            hex_field(&v, "folder_key_hex")
        );
    }
}

#[test]
fn records_open_with_plain_aes_gcm() {
    for v in vectors("record") {
        let uid = text(&v, "uid");
        let dek_aad = format!("syvault.record.{uid}.dek.v1");
        let payload_aad = format!("syvault.record.{uid}.payload.v1");
        assert_eq!(text(&v, "dek_aad"), dek_aad);
        assert_eq!(text(&v, "payload_aad"), payload_aad);
        let encrypted_dek = b64_field(&v, "encrypted_dek");
        assert_eq!(
            &encrypted_dek[..12],
            hex_field(&v, "dek_nonce_hex").as_slice()
        );
        let dek = open(&hex_field(&v, "folder_key_hex"), &encrypted_dek, &dek_aad);
        assert_eq!(dek, hex_field(&v, "dek_hex"));
        let encrypted_data = b64_field(&v, "encrypted_data");
        assert_eq!(
            &encrypted_data[..12],
            hex_field(&v, "data_nonce_hex").as_slice()
        );
        let payload = open(&dek, &encrypted_data, &payload_aad);
        assert_eq!(payload, text(&v, "payload_json").as_bytes());
        // The same ciphertext under another record's AAD does not open.
        let other = Aes256Gcm::new_from_slice(&dek).unwrap().decrypt(
            (&<[u8; 12]>::try_from(&encrypted_data[..12]).unwrap()).into(),
            Payload {
                msg: &encrypted_data[12..],
                aad: b"syvault.record.AAAAAAAAAAAA.payload.v1",
            },
        );
        assert!(other.is_err());
    }
}

#[test]
fn bootstrap_derivations_with_plain_hkdf_and_sha256() {
    for v in vectors("bootstrap") {
        let (id, secret) = (
            hex_field(&v, "token_id_hex"),
            hex_field(&v, "token_secret_hex"),
        );
        assert_eq!((id.len(), secret.len()), (16, 32));
        let token = format!(
            "vft_{}",
            URL_SAFE_NO_PAD.encode([id.as_slice(), &secret].concat())
        );
        assert_eq!(text(&v, "one_time_token"), token);
        let auth_key = hkdf(&id, &secret, "syvault.sm.bootstrap.auth.v1");
        let boot_key = hkdf(&id, &secret, "syvault.sm.bootstrap.wrap.v1");
        assert_eq!(
            auth_key.as_slice(),
            hex_field(&v, "auth_key_hex").as_slice()
        );
        assert_eq!(
            boot_key.as_slice(),
            hex_field(&v, "boot_key_hex").as_slice()
        );
        // The token secret never reaches the server: the request carries the auth key instead.
        let request = format!(
            "vft_{}",
            URL_SAFE_NO_PAD.encode([id.as_slice(), &auth_key].concat())
        );
        assert_eq!(text(&v, "request_token"), request);
        assert_eq!(
            Sha256::digest(auth_key).as_slice(),
            hex_field(&v, "auth_key_sha256_hex").as_slice()
        );
        let aad = format!(
            "syvault.sm.bootstrap.folder-key.v1:{}",
            text(&v, "folder_id")
        );
        assert_eq!(text(&v, "folder_key_aad"), aad);
        let sealed = b64_field(&v, "encrypted_folder_key");
        assert_eq!(
            &sealed[..12],
            hex_field(&v, "folder_key_nonce_hex").as_slice()
        );
        assert_eq!(
            open(&boot_key, &sealed, &aad),
            hex_field(&v, "folder_key_hex")
        );
    }
}

#[test]
fn uids_follow_the_documented_rejection_sampling() {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for v in vectors("uid") {
        let uid: String = hex_field(&v, "random_bytes_hex")
            .into_iter()
            .filter(|&b| b < 248)
            .take(12)
            .map(|b| char::from(ALPHABET[usize::from(b) % 62]))
            .collect();
        assert_eq!(text(&v, "uid"), uid);
    }
}

#[test]
fn snapshots_open_under_the_documented_key_and_associated_data() {
    for v in vectors("snapshot") {
        assert_eq!(text(&v, "client_private_scalar_hex"), RFC6979_X);
        let salt = hex_field(&v, "salt_hex");
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&salt), &hex::decode(RFC6979_X).unwrap())
            .expand(b"syvault.sm.snapshot.v1", &mut key)
            .unwrap();
        assert_eq!(key.as_slice(), hex_field(&v, "key_hex").as_slice());
        let aad = format!(
            "syvault.sm.snapshot.v1:{}:{}",
            text(&v, "server"),
            text(&v, "client_id")
        );
        assert_eq!(text(&v, "aad"), aad);
        let sealed = b64_field(&v, "sealed");
        assert_eq!(&sealed[..7], b"SYVSNAP");
        assert_eq!(sealed[7], 1, "format version 1");
        assert_eq!(&sealed[8..40], salt.as_slice());
        assert_eq!(&sealed[40..52], hex_field(&v, "nonce_hex").as_slice());
        let plaintext = open(&key, &sealed[40..], &aad);
        assert_eq!(plaintext, text(&v, "plaintext_json").as_bytes());
        let json: Value = serde_json::from_slice(&plaintext).unwrap();
        assert_eq!(
            json["entries"][0]["payload"]["fields"]["password"],
            "s3cr3t-Pa55"
        );
        assert_eq!(json["entries"][0]["fetched_at"], 1_767_225_600_000_u64);
    }
}
