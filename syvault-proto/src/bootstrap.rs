//! One-time tokens and the key derivations of bootstrap.
//!
//! The admin is shown `vft_` + base64url(token id (16) ‖ token secret (32)). The token secret never
//! reaches the server: the client derives `auth_key` and `boot_key` from it with HKDF-SHA256
//! (salt = token id), proves possession by sending `auth_key`, and uses `boot_key` to open the
//! folder keys in the bootstrap answer. The server stores only SHA-256(`auth_key`).

use core::fmt;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::blob;
use crate::encoding::{decode_b64url, encode_b64url};
use crate::error::{Error, Result};
use crate::secret::{SecretString, SymmetricKey};

/// Prefix of one-time tokens and of the request token.
pub const TOKEN_PREFIX: &str = "vft_";
/// HKDF info of `auth_key`.
pub const AUTH_INFO: &str = "syvault.sm.bootstrap.auth.v1";
/// HKDF info of `boot_key`.
pub const WRAP_INFO: &str = "syvault.sm.bootstrap.wrap.v1";
/// Prefix of the associated data of a folder key in the bootstrap answer.
pub const FOLDER_KEY_AAD_PREFIX: &str = "syvault.sm.bootstrap.folder-key.v1";

/// Length of a token id.
pub const TOKEN_ID_LEN: usize = 16;

/// A token's identifier: not secret, it names the token on the server.
pub type TokenId = [u8; TOKEN_ID_LEN];

/// A one-time token as shown to the admin (`vft_…`).
///
/// ```
/// use syvault_proto::bootstrap::OneTimeToken;
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let token = OneTimeToken::generate(&mut rng);
/// let parsed = OneTimeToken::parse(token.to_text().expose())?;
/// assert_eq!(parsed.id(), token.id());
/// assert_eq!(format!("{parsed:?}"), "OneTimeToken([redacted])");
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone)]
pub struct OneTimeToken {
    id: TokenId,
    secret: Zeroizing<[u8; 32]>,
}

impl OneTimeToken {
    /// Draws a new token (admin side).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut id = [0u8; TOKEN_ID_LEN];
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut id);
        rng.fill_bytes(secret.as_mut());
        Self { id, secret }
    }

    /// Builds a token from its parts, for known-answer tests.
    pub fn from_parts(id: TokenId, secret: [u8; 32]) -> Self {
        Self {
            id,
            secret: Zeroizing::new(secret),
        }
    }

    /// Parses `vft_` + base64url(id ‖ secret). Surrounding whitespace is ignored; errors never
    /// echo the token.
    pub fn parse(text: &str) -> Result<Self> {
        let (id, secret) = split_token(text)?;
        Ok(Self {
            id,
            secret: Zeroizing::new(*secret),
        })
    }

    /// The token as shown to the admin.
    pub fn to_text(&self) -> SecretString {
        token_text(&self.id, &self.secret)
    }

    /// The token's id.
    pub fn id(&self) -> &TokenId {
        &self.id
    }

    /// Derives `auth_key` and `boot_key`.
    pub fn derive(&self) -> BootstrapKeys {
        let hkdf = Hkdf::<Sha256>::new(Some(&self.id), self.secret.as_ref());
        let mut auth = [0u8; 32];
        let mut boot = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's output limit.
        let _ = hkdf.expand(AUTH_INFO.as_bytes(), &mut auth);
        let _ = hkdf.expand(WRAP_INFO.as_bytes(), &mut boot);
        BootstrapKeys {
            id: self.id,
            auth_key: SymmetricKey::from_bytes(auth),
            boot_key: SymmetricKey::from_bytes(boot),
        }
    }
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeToken([redacted])")
    }
}

/// The keys a client derives from a one-time token.
#[derive(Clone, Debug)]
pub struct BootstrapKeys {
    id: TokenId,
    /// Proves possession of the token to the server.
    pub auth_key: SymmetricKey,
    /// Opens the folder keys of the bootstrap answer.
    pub boot_key: SymmetricKey,
}

impl BootstrapKeys {
    /// The `token` field of the bootstrap request: `vft_` + base64url(id ‖ `auth_key`).
    pub fn request_token(&self) -> SecretString {
        token_text(&self.id, self.auth_key.expose())
    }

    /// Opens folder `folder_id`'s key from the bootstrap answer.
    pub fn open_folder_key(&self, folder_id: &Uuid, blob: &[u8]) -> Result<SymmetricKey> {
        let aad = bootstrap_folder_key_aad(folder_id);
        let key = blob::open(&self.boot_key, blob, &aad)?;
        SymmetricKey::from_slice(&key).ok_or_else(|| Error::decryption(aad))
    }

    /// Seals folder `folder_id`'s key for the bootstrap answer (admin side, which knows the token).
    pub fn seal_folder_key<R: rand_core::CryptoRng + ?Sized>(
        &self,
        folder_id: &Uuid,
        folder_key: &SymmetricKey,
        rng: &mut R,
    ) -> Vec<u8> {
        blob::seal(
            &self.boot_key,
            rng,
            folder_key.expose(),
            &bootstrap_folder_key_aad(folder_id),
        )
    }

    /// What the server stores to recognise the token: its id and SHA-256(`auth_key`).
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier {
            id: self.id,
            auth_hash: Sha256::digest(self.auth_key.expose()).into(),
        }
    }
}

/// The associated data of folder `folder_id`'s key in the bootstrap answer.
pub fn bootstrap_folder_key_aad(folder_id: &Uuid) -> String {
    format!("{FOLDER_KEY_AAD_PREFIX}:{folder_id}")
}

/// The server's record of a one-time token: it can check a request token but cannot derive
/// `boot_key`, so it never learns the folder keys.
///
/// Exhaustive on purpose: a server builds it from the two values it stored, which the
/// protocol fixes.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenVerifier {
    /// The token's id.
    pub id: TokenId,
    /// SHA-256 of the token's `auth_key`.
    pub auth_hash: [u8; 32],
}

impl TokenVerifier {
    /// Whether `request_token` (the bootstrap request's `token` field) proves this token.
    /// Compares in constant time.
    pub fn verify(&self, request_token: &RequestToken) -> bool {
        let presented: [u8; 32] = Sha256::digest(request_token.auth_key.as_ref()).into();
        bool::from(self.id.ct_eq(&request_token.id) & self.auth_hash.ct_eq(&presented))
    }
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier").finish_non_exhaustive()
    }
}

/// A bootstrap request's `token` as the server reads it.
pub struct RequestToken {
    /// The token id, which the server looks the verifier up by.
    pub id: TokenId,
    auth_key: Zeroizing<[u8; 32]>,
}

impl RequestToken {
    /// Parses `vft_` + base64url(id ‖ `auth_key`).
    pub fn parse(text: &str) -> Result<Self> {
        let (id, auth_key) = split_token(text)?;
        Ok(Self { id, auth_key })
    }
}

impl fmt::Debug for RequestToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestToken([redacted])")
    }
}

fn token_text(id: &TokenId, key: &[u8; 32]) -> SecretString {
    let mut raw = Zeroizing::new([0u8; TOKEN_ID_LEN + 32]);
    raw[..TOKEN_ID_LEN].copy_from_slice(id);
    raw[TOKEN_ID_LEN..].copy_from_slice(key);
    SecretString::new(format!("{TOKEN_PREFIX}{}", encode_b64url(raw.as_ref())))
}

fn split_token(text: &str) -> Result<(TokenId, Zeroizing<[u8; 32]>)> {
    let body = text
        .trim()
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(Error::InvalidOneTimeToken {
            reason: "missing the vft_ prefix",
        })?;
    let raw = Zeroizing::new(decode_b64url(body).ok_or(Error::InvalidOneTimeToken {
        reason: "not base64url without padding",
    })?);
    if raw.len() != TOKEN_ID_LEN + 32 {
        return Err(Error::InvalidOneTimeToken {
            reason: "wrong length: expected 48 bytes after the prefix",
        });
    }
    let mut id = [0u8; TOKEN_ID_LEN];
    id.copy_from_slice(&raw[..TOKEN_ID_LEN]);
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&raw[TOKEN_ID_LEN..]);
    Ok((id, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use proptest::prelude::*;
    use rand_core::SeedableRng;

    #[test]
    fn request_token_proves_the_token_without_revealing_it() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let token = OneTimeToken::generate(&mut rng);
        let keys = token.derive();
        let request = keys.request_token();
        assert_ne!(request.expose(), token.to_text().expose());
        let verifier = keys.verifier();
        assert!(verifier.verify(&RequestToken::parse(request.expose()).unwrap()));
        // The shown token itself, or another token, is not accepted.
        assert!(!verifier.verify(&RequestToken::parse(token.to_text().expose()).unwrap()));
        let other = OneTimeToken::generate(&mut rng).derive().request_token();
        assert!(!verifier.verify(&RequestToken::parse(other.expose()).unwrap()));
    }

    #[test]
    fn folder_keys_open_only_with_the_token_and_folder() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let keys = OneTimeToken::generate(&mut rng).derive();
        let folder_key = SymmetricKey::generate(&mut rng);
        let folder = Uuid::from_u128(77);
        let sealed = keys.seal_folder_key(&folder, &folder_key, &mut rng);
        assert_eq!(keys.open_folder_key(&folder, &sealed).unwrap(), folder_key);
        assert!(keys.open_folder_key(&Uuid::from_u128(78), &sealed).is_err());
        let other = OneTimeToken::generate(&mut rng).derive();
        assert!(other.open_folder_key(&folder, &sealed).is_err());
    }

    #[test]
    fn malformed_tokens_are_typed_errors() {
        let good = OneTimeToken::from_parts([1; 16], [2; 32]).to_text();
        let body = &good.expose()[4..];
        for bad in [
            String::new(),
            body.to_owned(),
            format!("vft{body}"),
            format!("VFT_{body}"),
            format!("vft_{body}="),
            format!("vft_{}", &body[..body.len() - 2]),
            format!("vft_{body}AAAA"),
            format!("vft_+{}", &body[1..]),
        ] {
            let err = OneTimeToken::parse(&bad).unwrap_err();
            assert!(matches!(err, Error::InvalidOneTimeToken { .. }), "{bad}");
            assert!(!err.to_string().contains(body));
        }
        assert!(OneTimeToken::parse(&format!(" {} \n", good.expose())).is_ok());
    }

    proptest! {
        #[test]
        fn token_parsing_never_panics(text in ".{0,80}") {
            let _ = OneTimeToken::parse(&text);
            let _ = RequestToken::parse(&text);
        }

        #[test]
        fn token_text_round_trips(id in any::<[u8; 16]>(), secret in any::<[u8; 32]>()) {
            let token = OneTimeToken::from_parts(id, secret);
            let parsed = OneTimeToken::parse(token.to_text().expose()).unwrap();
            prop_assert_eq!(parsed.id(), &id);
            prop_assert_eq!(parsed.to_text(), token.to_text());
        }
    }
}
