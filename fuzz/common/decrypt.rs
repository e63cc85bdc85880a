//! The `decrypt` target's keys and its run, shared with the seed writer, which seals its seeds
//! under these keys and checks that each one opens.
//!
//! The first byte picks what the rest is:
//!
//! | byte % 6 | the rest |
//! |---|---|
//! | 0 | an associated-data byte (one of [`AADS`]), then a blob under [`KEY`] |
//! | 1 | a folder name sealed under [`KEY`] |
//! | 2 | a folder key wrapped to [`client`] for [`FOLDER`] and [`CLIENT_ID`] |
//! | 3 | a data-key length byte, the data key sealed under [`KEY`], then record [`UID`]'s payload |
//! | 4 | a record payload's JSON |
//! | 5 | an associated-data length byte, the associated data, then a plaintext to seal and open |

use std::sync::LazyLock;

use syvault_proto::keys::ClientKey;
use syvault_proto::record::{self, RecordPayload};
use syvault_proto::secret::SymmetricKey;
use syvault_proto::{RecordUid, blob, bootstrap, folder_key};
use uuid::Uuid;

/// The symmetric key every blob, name and record of the target is sealed under.
pub const KEY: [u8; 32] = [9; 32];
/// The client scalar folder keys are wrapped to.
pub const CLIENT_SCALAR: [u8; 32] = [7; 32];
/// The folder and client a wrapped folder key is bound to.
pub const FOLDER: Uuid = Uuid::from_u128(0x0f6d_2c9a_3b71_4e58_8a2d_c41e_7b95_f306);
pub const CLIENT_ID: Uuid = Uuid::from_u128(1);
/// The record the target opens, and another one.
pub const UID: &str = "7Kj9mNpQ2xRs";
const OTHER_UID: &str = "9Zx8cVbN7mQa";

/// The associated data a blob of selector 0 is opened with: every kind the protocol uses.
pub fn aads() -> [String; 5] {
    let uid = uid();
    [
        folder_key::METADATA_AAD.to_owned(),
        record::dek_aad(&uid),
        record::payload_aad(&uid),
        bootstrap::bootstrap_folder_key_aad(&FOLDER),
        folder_key::folder_key_aad(&FOLDER, &CLIENT_ID),
    ]
}

/// The client key, derived once: a scalar multiplication per run would dominate it.
pub fn client() -> &'static ClientKey {
    static CLIENT: LazyLock<ClientKey> =
        LazyLock::new(|| ClientKey::from_scalar_bytes(&CLIENT_SCALAR).expect("a valid scalar"));
    &CLIENT
}

pub fn uid() -> RecordUid {
    UID.parse().expect("a valid UID")
}

/// What a run came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No selector byte.
    Empty,
    /// The input did not open (a typed error).
    Refused,
    /// The input opened, and every invariant held.
    Opened,
}

/// Runs one input; the invariants are assertions, so a broken one is a crash.
pub fn run(data: &[u8]) -> Outcome {
    let Some((&which, rest)) = data.split_first() else {
        return Outcome::Empty;
    };
    let key = SymmetricKey::from_bytes(KEY);
    let opened = match which % 6 {
        0 => open_blob(&key, rest),
        1 => folder_key::open_name(&key, rest).is_ok(),
        2 => unwrap_folder_key(rest),
        3 => open_record(&key, rest),
        4 => payload_round_trips(rest),
        _ => seal_then_open(&key, rest),
    };
    if opened {
        Outcome::Opened
    } else {
        Outcome::Refused
    }
}

fn open_blob(key: &SymmetricKey, rest: &[u8]) -> bool {
    let Some((&which, sealed)) = rest.split_first() else {
        return false;
    };
    let aads = aads();
    let aad = &aads[usize::from(which) % aads.len()];
    let Ok(plaintext) = blob::open(key, sealed, aad) else {
        return false;
    };
    // AES-GCM is deterministic given the nonce: sealing the plaintext again with the blob's
    // nonce gives the blob back, so nothing was accepted that the key did not write.
    let nonce: [u8; blob::NONCE_LEN] = sealed[..blob::NONCE_LEN].try_into().expect("a nonce");
    assert_eq!(blob::seal_with_nonce(key, nonce, &plaintext, aad), sealed);
    for other in aads.iter().filter(|other| *other != aad) {
        assert!(
            blob::open(key, sealed, other).is_err(),
            "opened under {other}"
        );
    }
    true
}

fn unwrap_folder_key(wrapped: &[u8]) -> bool {
    let client = client();
    if folder_key::unwrap(client, &FOLDER, &CLIENT_ID, wrapped).is_err() {
        return false;
    }
    // The key is bound to its folder and client: swapped or other ids do not unwrap it.
    assert!(folder_key::unwrap(client, &CLIENT_ID, &FOLDER, wrapped).is_err());
    assert!(folder_key::unwrap(client, &FOLDER, &Uuid::from_u128(2), wrapped).is_err());
    true
}

fn open_record(key: &SymmetricKey, rest: &[u8]) -> bool {
    let Some((&dek_len, rest)) = rest.split_first() else {
        return false;
    };
    let (dek, payload) = rest.split_at(usize::from(dek_len).min(rest.len()));
    let uid = uid();
    if record::open(&uid, key, dek, payload).is_err() {
        return false;
    }
    // A record served under another UID does not open.
    let other: RecordUid = OTHER_UID.parse().expect("a valid UID");
    assert!(record::open(&other, key, dek, payload).is_err());
    // AES-GCM is deterministic given the nonces: sealing the decrypted data key and payload
    // again with the record's nonces gives the record back.
    let data_key = record::open_dek(&uid, key, dek).expect("the data key opened once");
    let json = blob::open(&data_key, payload, &record::payload_aad(&uid)).expect("it opened");
    let nonce = |sealed: &[u8]| -> [u8; blob::NONCE_LEN] {
        sealed[..blob::NONCE_LEN].try_into().expect("a nonce")
    };
    let again = record::seal_with(&uid, key, &data_key, nonce(dek), nonce(payload), &json);
    assert_eq!(again.encrypted_dek, dek);
    assert_eq!(again.encrypted_data, payload);
    true
}

fn payload_round_trips(json: &[u8]) -> bool {
    let uid = uid();
    let Ok(payload) = RecordPayload::from_json(&uid, json) else {
        return false;
    };
    let written = payload.to_json();
    let again = RecordPayload::from_json(&uid, &written).expect("a written payload parses");
    assert_eq!(again, payload, "parse → write → parse changed a payload");
    assert_eq!(
        again.to_json(),
        written,
        "writing a payload is not canonical"
    );
    true
}

/// Seal-then-open round-trips with any plaintext and associated data, and opening with any
/// other associated data (one byte flipped, one byte more or less) fails.
fn seal_then_open(key: &SymmetricKey, rest: &[u8]) -> bool {
    let Some((&aad_len, rest)) = rest.split_first() else {
        return false;
    };
    let (aad, plaintext) = rest.split_at(usize::from(aad_len).min(rest.len()));
    let aad = String::from_utf8_lossy(aad);
    let nonce: [u8; blob::NONCE_LEN] =
        std::array::from_fn(|i| plaintext.len().wrapping_add(i) as u8);
    let sealed = blob::seal_with_nonce(key, nonce, plaintext, &aad);
    assert_eq!(sealed.len(), plaintext.len() + blob::OVERHEAD);
    let opened = blob::open(key, &sealed, &aad).expect("a sealed blob opens");
    assert_eq!(opened.as_slice(), plaintext);

    let mut others = vec![format!("{aad}\0")];
    if let Some((last, _)) = aad.char_indices().next_back() {
        others.push(aad[..last].to_owned());
        // Flip the lowest bit of an ASCII byte (it stays ASCII, so the text stays UTF-8).
        let at = plaintext.len() % aad.len();
        if aad.as_bytes()[at].is_ascii() {
            let mut flipped = aad.as_bytes().to_vec();
            flipped[at] ^= 1;
            others.push(String::from_utf8(flipped).expect("still UTF-8"));
        }
    }
    for other in &others {
        assert!(
            blob::open(key, &sealed, other).is_err(),
            "opened under other AAD"
        );
    }
    // Any flipped bit of the blob fails too.
    let mut tampered = sealed.clone();
    let at = usize::from(aad_len) % tampered.len();
    tampered[at] ^= 1 << (plaintext.len() % 8);
    assert!(
        blob::open(key, &tampered, &aad).is_err(),
        "opened a tampered blob"
    );
    true
}
