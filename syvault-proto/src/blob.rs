//! AES-256-GCM blobs: `nonce (12) ‖ ciphertext ‖ tag (16)`.
//!
//! Every symmetric envelope of the protocol (record data keys and payloads, folder names, folder
//! keys in the bootstrap answer) is such a blob. The associated data names what the blob is and
//! whose it is, so a blob moved to another place does not decrypt.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, AeadInOut, KeyInit, Payload};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::SymmetricKey;

/// Length of the nonce at the start of a blob.
pub const NONCE_LEN: usize = 12;
/// Length of the authentication tag at the end of a blob.
pub const TAG_LEN: usize = 16;
/// Bytes a blob adds to its plaintext.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// Encrypts `plaintext` under `key` with a fresh nonce from the caller's random number generator.
///
/// ```
/// use syvault_proto::blob;
/// use syvault_proto::secret::SymmetricKey;
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let key = SymmetricKey::generate(&mut rng);
/// let sealed = blob::seal(&key, &mut rng, b"hello", "example.v1");
/// assert_eq!(sealed.len(), 5 + blob::OVERHEAD);
/// assert_eq!(blob::open(&key, &sealed, "example.v1")?.as_slice(), b"hello");
/// assert!(blob::open(&key, &sealed, "other.v1").is_err());
/// # Ok::<(), syvault_proto::Error>(())
/// ```
pub fn seal<R: rand_core::CryptoRng + ?Sized>(
    key: &SymmetricKey,
    rng: &mut R,
    plaintext: &[u8],
    aad: &str,
) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    seal_with_nonce(key, nonce, plaintext, aad)
}

/// Encrypts with a caller-chosen nonce. A nonce must never be used twice with one key: this
/// exists for known-answer tests; use [`seal`] otherwise.
pub fn seal_with_nonce(
    key: &SymmetricKey,
    nonce: [u8; NONCE_LEN],
    plaintext: &[u8],
    aad: &str,
) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.expose().into());
    let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
    out.extend_from_slice(&nonce);
    // Room for the tag up front: growing the buffer would free a copy of it. Zeroized in case
    // encryption fails and leaves plaintext in it.
    let mut body = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    body.extend_from_slice(plaintext);
    // AES-GCM fails only for inputs beyond 64 GiB, far above any body limit of the protocol.
    if cipher
        .encrypt_in_place((&nonce).into(), aad.as_bytes(), &mut *body)
        .is_ok()
    {
        out.extend_from_slice(&body);
    }
    out
}

/// Decrypts a blob, checking it against `aad`.
///
/// Fails with [`Error::Decryption`], naming the associated data (which never holds a secret),
/// when the blob is shorter than [`OVERHEAD`] or does not authenticate. The plaintext is zeroized
/// when dropped.
pub fn open(key: &SymmetricKey, blob: &[u8], aad: &str) -> Result<Zeroizing<Vec<u8>>> {
    if blob.len() < OVERHEAD {
        return Err(Error::decryption(aad));
    }
    let (nonce, body) = blob.split_at(NONCE_LEN);
    let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| Error::decryption(aad))?;
    let cipher = Aes256Gcm::new(key.expose().into());
    cipher
        .decrypt(
            nonce.into(),
            Payload {
                msg: body,
                aad: aad.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::decryption(aad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use proptest::prelude::*;
    use rand_core::SeedableRng;

    #[test]
    fn short_or_tampered_blobs_fail() {
        let key = SymmetricKey::from_bytes([7; 32]);
        let sealed = seal_with_nonce(&key, [1; 12], b"secret", "a");
        assert!(open(&key, &sealed[..OVERHEAD - 1], "a").is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x80;
            assert!(open(&key, &bad, "a").is_err(), "byte {i}");
        }
        let err = open(&SymmetricKey::from_bytes([8; 32]), &sealed, "a").unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot decrypt a: wrong key, wrong context or corrupted ciphertext"
        );
    }

    #[test]
    fn empty_plaintext_is_allowed() {
        let key = SymmetricKey::from_bytes([7; 32]);
        let sealed = seal_with_nonce(&key, [0; 12], b"", "a");
        assert_eq!(sealed.len(), OVERHEAD);
        assert!(open(&key, &sealed, "a").unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn opens_only_with_the_same_key_and_aad(
            seed in any::<u64>(),
            plaintext in proptest::collection::vec(any::<u8>(), 0..256),
            aad in ".{0,40}",
            other_aad in ".{0,40}",
            flip in any::<u8>(),
        ) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let key = SymmetricKey::generate(&mut rng);
            let sealed = seal(&key, &mut rng, &plaintext, &aad);
            let opened = open(&key, &sealed, &aad).unwrap();
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
            if other_aad != aad {
                prop_assert!(open(&key, &sealed, &other_aad).is_err());
            }
            let mut other = *key.expose();
            other[usize::from(flip) % 32] ^= 1;
            prop_assert!(open(&SymmetricKey::from_bytes(other), &sealed, &aad).is_err());
        }

        #[test]
        fn open_never_panics(blob in proptest::collection::vec(any::<u8>(), 0..128)) {
            let key = SymmetricKey::from_bytes([3; 32]);
            prop_assert!(open(&key, &blob, "x").is_err());
        }
    }
}
