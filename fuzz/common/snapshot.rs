//! The `snapshot` target's binding and its run, shared with the seed writer, which seals its
//! seeds under this binding and checks that each one opens.
//!
//! The first byte picks what the rest is:
//!
//! | byte % 2 | the rest |
//! |---|---|
//! | 0 | a whole snapshot file, opened for [`binding`] |
//! | 1 | a plaintext, sealed here for [`binding`] (the key derived with HKDF directly, a salt and a nonce from the input's length) and opened |

use std::sync::LazyLock;

use hkdf::Hkdf;
use sha2::Sha256;
use syvault_proto::blob;
use syvault_proto::keys::ClientKey;
use syvault_proto::secret::SymmetricKey;
use syvault_proto::snapshot::{self, Binding, SnapshotError};
use uuid::Uuid;

/// The client scalar snapshots are bound to.
pub const CLIENT_SCALAR: [u8; 32] = [7; 32];
/// The server and client they are bound to.
pub const SERVER: &str = "https://vault.example.com";
pub const CLIENT_ID: Uuid = Uuid::from_u128(1);

/// The client key, derived once: a scalar multiplication per run would dominate it.
pub fn client() -> &'static ClientKey {
    static CLIENT: LazyLock<ClientKey> =
        LazyLock::new(|| ClientKey::from_scalar_bytes(&CLIENT_SCALAR).expect("a valid scalar"));
    &CLIENT
}

pub fn binding() -> Binding<'static> {
    Binding::new(client(), SERVER, CLIENT_ID).expect("a valid server")
}

/// Another client's binding, which must refuse everything this one opens.
fn other_binding() -> Binding<'static> {
    Binding::new(client(), SERVER, Uuid::from_u128(2)).expect("a valid server")
}

/// A snapshot of `plaintext`, sealed as the format says: magic, version, salt, then the blob.
pub fn seal_plaintext(plaintext: &[u8], salt: [u8; 32], nonce: [u8; 12]) -> Vec<u8> {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), &CLIENT_SCALAR)
        .expand(snapshot::LABEL.as_bytes(), &mut key)
        .expect("32 bytes");
    let sealed = blob::seal_with_nonce(
        &SymmetricKey::from_bytes(key),
        nonce,
        plaintext,
        &binding().aad(),
    );
    let mut out = snapshot::MAGIC.to_vec();
    out.push(snapshot::VERSION);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&sealed);
    out
}

/// The plaintext of a snapshot sealed for [`binding`].
#[allow(dead_code)] // The seed writer's; the target never needs it.
pub fn plaintext_of(sealed: &[u8]) -> Vec<u8> {
    let salt: [u8; 32] = sealed[8..40].try_into().expect("a salt");
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&salt), &CLIENT_SCALAR)
        .expand(snapshot::LABEL.as_bytes(), &mut key)
        .expect("32 bytes");
    blob::open(
        &SymmetricKey::from_bytes(key),
        &sealed[40..],
        &binding().aad(),
    )
    .expect("a snapshot of this binding")
    .to_vec()
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
    let binding = binding();
    if which % 2 == 0 {
        return match snapshot::open(rest, &binding) {
            Ok(opened) => {
                round_trips(&opened, rest);
                Outcome::Opened
            }
            Err(_) => Outcome::Refused,
        };
    }
    let fill = u8::try_from(rest.len() % 251).expect("small");
    let sealed = seal_plaintext(rest, [fill; 32], [fill ^ 0x5a; 12]);
    match snapshot::open(&sealed, &binding) {
        Ok(opened) => {
            round_trips(&opened, &sealed);
            Outcome::Opened
        }
        // What opens under the key can only be refused for its content.
        Err(error) => {
            assert!(
                matches!(error, SnapshotError::Malformed { .. }),
                "a sealed plaintext refused as {error:?}"
            );
            Outcome::Refused
        }
    }
}

/// What opened seals back, with the same salt and nonce, to a snapshot that opens to the same
/// value and whose plaintext is a fixed point; no other client opens it, and a flipped bit of
/// the input is refused.
fn round_trips(opened: &snapshot::Snapshot, sealed: &[u8]) {
    let binding = binding();
    let salt: [u8; 32] = sealed[8..40].try_into().expect("a salt");
    let nonce: [u8; 12] = sealed[40..52].try_into().expect("a nonce");
    let again = snapshot::seal_with(opened, &binding, salt, nonce);
    let reopened = snapshot::open(&again, &binding).expect("a snapshot this code sealed opens");
    assert_eq!(&reopened, opened, "opening what was sealed gives it back");
    assert_eq!(
        snapshot::seal_with(&reopened, &binding, salt, nonce),
        again,
        "the plaintext written is canonical"
    );
    assert_eq!(
        snapshot::open(&again, &other_binding()),
        Err(SnapshotError::Refused),
        "another client refuses it"
    );
    let mut flipped = sealed.to_vec();
    let at = sealed.len() / 2;
    flipped[at] ^= 0x01;
    assert!(
        snapshot::open(&flipped, &binding).is_err(),
        "byte {at} flipped"
    );
}
