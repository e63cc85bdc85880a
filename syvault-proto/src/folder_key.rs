//! Folder keys wrapped to a client (ECIES over P-256) and encrypted folder names.
//!
//! A folder key reaches a client as `ephemeral_public (65) ‖ nonce (12) ‖ ciphertext (32) ‖
//! tag (16)`. The key-encryption key is HKDF-SHA256 of the ECDH shared x-coordinate, salted with
//! both public keys, and the associated data binds the blob to one folder and one client.

use hkdf::Hkdf;
use p256::SecretKey;
use p256::elliptic_curve::Generate;
use sha2::Sha256;
use uuid::Uuid;

use crate::blob;
use crate::error::{Error, Result};
use crate::keys::{ClientKey, ClientPublicKey, PUBLIC_KEY_LEN};
use crate::secret::SymmetricKey;

/// HKDF info, and prefix of the associated data, of a wrapped folder key.
pub const FOLDER_KEY_INFO: &str = "syvault.sm.folder-key.v1";
/// Associated data of an encrypted folder name.
pub const METADATA_AAD: &str = "syvault.metadata.v1";
/// Length of a wrapped folder key.
pub const WRAPPED_LEN: usize = PUBLIC_KEY_LEN + blob::OVERHEAD + 32;

/// The associated data of folder `folder_id`'s key wrapped to client `client_id`.
pub fn folder_key_aad(folder_id: &Uuid, client_id: &Uuid) -> String {
    format!("{FOLDER_KEY_INFO}:{folder_id}:{client_id}")
}

/// Wraps a folder key to a client's public key, with an ephemeral key and nonce drawn from `rng`.
///
/// ```
/// use syvault_proto::{folder_key, keys::ClientKey, secret::SymmetricKey};
/// use uuid::Uuid;
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let client = ClientKey::generate(&mut rng);
/// let (folder, client_id) = (Uuid::from_u128(1), Uuid::from_u128(2));
/// let key = SymmetricKey::generate(&mut rng);
/// let wrapped = folder_key::wrap(&key, &folder, &client_id, &client.public_key(), &mut rng);
/// assert_eq!(folder_key::unwrap(&client, &folder, &client_id, &wrapped)?, key);
/// # Ok::<(), syvault_proto::Error>(())
/// ```
pub fn wrap<R: rand_core::CryptoRng + ?Sized>(
    folder_key: &SymmetricKey,
    folder_id: &Uuid,
    client_id: &Uuid,
    recipient: &ClientPublicKey,
    rng: &mut R,
) -> Vec<u8> {
    let ephemeral = SecretKey::generate_from_rng(rng);
    let mut nonce = [0u8; blob::NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    wrap_with(
        folder_key, folder_id, client_id, recipient, &ephemeral, nonce,
    )
}

/// Wraps with a caller-chosen ephemeral key and nonce, for known-answer tests. Use [`wrap`]
/// otherwise.
pub fn wrap_with_ephemeral(
    folder_key: &SymmetricKey,
    folder_id: &Uuid,
    client_id: &Uuid,
    recipient: &ClientPublicKey,
    ephemeral: &ClientKey,
    nonce: [u8; blob::NONCE_LEN],
) -> Vec<u8> {
    wrap_with(
        folder_key,
        folder_id,
        client_id,
        recipient,
        ephemeral.secret_key(),
        nonce,
    )
}

fn wrap_with(
    folder_key: &SymmetricKey,
    folder_id: &Uuid,
    client_id: &Uuid,
    recipient: &ClientPublicKey,
    ephemeral: &SecretKey,
    nonce: [u8; blob::NONCE_LEN],
) -> Vec<u8> {
    let ephemeral_public = ClientPublicKey::from_point(ephemeral.public_key()).to_sec1();
    let kek = derive_kek(
        ephemeral,
        recipient,
        &ephemeral_public,
        &recipient.to_sec1(),
    );
    let sealed = blob::seal_with_nonce(
        &kek,
        nonce,
        folder_key.expose(),
        &folder_key_aad(folder_id, client_id),
    );
    let mut out = Vec::with_capacity(WRAPPED_LEN);
    out.extend_from_slice(&ephemeral_public);
    out.extend_from_slice(&sealed);
    out
}

/// Unwraps a folder key sent to this client.
pub fn unwrap(
    client: &ClientKey,
    folder_id: &Uuid,
    client_id: &Uuid,
    wrapped: &[u8],
) -> Result<SymmetricKey> {
    let aad = folder_key_aad(folder_id, client_id);
    if wrapped.len() != WRAPPED_LEN {
        return Err(Error::decryption(aad));
    }
    let (ephemeral_public, sealed) = wrapped.split_at(PUBLIC_KEY_LEN);
    let ephemeral =
        ClientPublicKey::from_sec1(ephemeral_public).map_err(|_| Error::decryption(&aad))?;
    let kek = derive_kek(
        client.secret_key(),
        &ephemeral,
        ephemeral_public,
        &client.public_key().to_sec1(),
    );
    let key = blob::open(&kek, sealed, &aad)?;
    SymmetricKey::from_slice(&key).ok_or_else(|| Error::decryption(aad))
}

fn derive_kek(
    own: &SecretKey,
    peer: &ClientPublicKey,
    ephemeral_public: &[u8],
    recipient_public: &[u8],
) -> SymmetricKey {
    let shared = p256::ecdh::diffie_hellman(own.to_nonzero_scalar(), peer.as_point().as_affine());
    let mut salt = Vec::with_capacity(2 * PUBLIC_KEY_LEN);
    salt.extend_from_slice(ephemeral_public);
    salt.extend_from_slice(recipient_public);
    let mut kek = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's output limit of 8160 bytes.
    let _ = Hkdf::<Sha256>::new(Some(&salt), shared.raw_secret_bytes())
        .expand(FOLDER_KEY_INFO.as_bytes(), &mut kek);
    SymmetricKey::from_bytes(kek)
}

/// Encrypts a folder name under the folder key.
pub fn seal_name<R: rand_core::CryptoRng + ?Sized>(
    folder_key: &SymmetricKey,
    name: &str,
    rng: &mut R,
) -> Vec<u8> {
    blob::seal(folder_key, rng, name.as_bytes(), METADATA_AAD)
}

/// Decrypts a folder name.
pub fn open_name(folder_key: &SymmetricKey, encrypted_name: &[u8]) -> Result<String> {
    let name = blob::open(folder_key, encrypted_name, METADATA_AAD)?;
    String::from_utf8(name.to_vec()).map_err(|_| Error::decryption("folder name (not UTF-8)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn wrapped_key_is_bound_to_folder_client_and_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let client = ClientKey::generate(&mut rng);
        let other = ClientKey::generate(&mut rng);
        let (folder, client_id) = (Uuid::from_u128(10), Uuid::from_u128(20));
        let key = SymmetricKey::generate(&mut rng);
        let wrapped = wrap(&key, &folder, &client_id, &client.public_key(), &mut rng);
        assert_eq!(wrapped.len(), WRAPPED_LEN);
        assert_eq!(unwrap(&client, &folder, &client_id, &wrapped).unwrap(), key);
        assert!(unwrap(&other, &folder, &client_id, &wrapped).is_err());
        assert!(unwrap(&client, &Uuid::from_u128(11), &client_id, &wrapped).is_err());
        assert!(unwrap(&client, &folder, &Uuid::from_u128(21), &wrapped).is_err());
        assert!(unwrap(&client, &folder, &client_id, &wrapped[..WRAPPED_LEN - 1]).is_err());
        let mut bad_point = wrapped.clone();
        bad_point[64] ^= 1;
        assert!(unwrap(&client, &folder, &client_id, &bad_point).is_err());
    }

    #[test]
    fn two_wraps_of_one_key_differ() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let client = ClientKey::generate(&mut rng);
        let key = SymmetricKey::generate(&mut rng);
        let ids = (Uuid::from_u128(1), Uuid::from_u128(2));
        let a = wrap(&key, &ids.0, &ids.1, &client.public_key(), &mut rng);
        let b = wrap(&key, &ids.0, &ids.1, &client.public_key(), &mut rng);
        assert_ne!(a, b);
    }

    #[test]
    fn folder_names_round_trip_and_reject_other_keys() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let key = SymmetricKey::generate(&mut rng);
        let sealed = seal_name(&key, "Production ✓", &mut rng);
        assert_eq!(open_name(&key, &sealed).unwrap(), "Production ✓");
        assert!(open_name(&SymmetricKey::generate(&mut rng), &sealed).is_err());
        let not_utf8 = blob::seal(&key, &mut rng, &[0xff, 0xfe], METADATA_AAD);
        assert!(open_name(&key, &not_utf8).is_err());
    }
}
