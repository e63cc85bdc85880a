//! The client's P-256 key pair and the encodings of `client_secret`.
//!
//! A client creates its key pair at bootstrap, sends the public half to the server and keeps the
//! private half as `client_secret`. The canonical `client_secret` is standard base64 of the PKCS#8
//! DER private key; base64 of the raw 32-byte scalar and the PEM forms `PRIVATE KEY` (PKCS#8) and
//! `EC PRIVATE KEY` (SEC1) are accepted too.

use core::fmt;

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::der::asn1::OctetStringRef;
use p256::pkcs8::der::{self, Decode, Encode, pem};
use p256::pkcs8::{AlgorithmIdentifierRef, AssociatedOid, PrivateKeyInfoRef};
use p256::{NistP256, PublicKey, SecretKey};
use sec1::{EcParameters, EcPrivateKey};
use zeroize::Zeroizing;

use crate::encoding::{decode_b64, encode_b64};
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// Length of a SEC1 uncompressed P-256 point: `0x04 ‖ X ‖ Y`.
pub const PUBLIC_KEY_LEN: usize = 65;

/// A client's private key, with the signing key and the public key derived from it once: the
/// public key is computed when the key is loaded (one scalar multiplication) and never again.
///
/// The scalar is zeroized on drop, and `Debug` shows only the public key.
///
/// ```
/// use syvault_proto::keys::ClientKey;
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let key = ClientKey::generate(&mut rng);
/// let secret = key.to_client_secret();
/// let again = ClientKey::from_client_secret(secret.expose())?;
/// assert_eq!(key.public_key(), again.public_key());
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientKey {
    secret: SecretKey,
    signing: SigningKey,
    public: PublicKey,
}

impl ClientKey {
    /// Generates a key pair from the caller's random number generator.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_secret(SecretKey::generate_from_rng(rng))
    }

    /// Parses a `client_secret` in any accepted form. Surrounding whitespace is ignored. A
    /// public key embedded in the encoding must match the private key.
    ///
    /// Errors never echo the input.
    pub fn from_client_secret(client_secret: &str) -> Result<Self> {
        let text = client_secret.trim();
        if text.starts_with("-----BEGIN") {
            return parse_pem(text);
        }
        let der = Zeroizing::new(decode_b64(text).ok_or(Error::InvalidKey {
            reason: "client_secret is neither PEM nor standard base64",
        })?);
        if der.len() == 32 {
            let secret = SecretKey::from_slice(&der).map_err(|_| Error::InvalidKey {
                reason: "raw scalar is not a valid P-256 private key",
            })?;
            return Ok(Self::from_secret(secret));
        }
        parse_pkcs8(&der).map_err(|()| Error::InvalidKey {
            reason: "not a PKCS#8 P-256 private key",
        })
    }

    /// Builds a key from a raw 32-byte big-endian scalar.
    pub fn from_scalar_bytes(bytes: &[u8; 32]) -> Result<Self> {
        SecretKey::from_slice(bytes)
            .map(Self::from_secret)
            .map_err(|_| Error::InvalidKey {
                reason: "scalar is zero or not below the group order",
            })
    }

    fn from_secret(secret: SecretKey) -> Self {
        // The one scalar multiplication of loading a key: the signing key derives d·G.
        let signing = SigningKey::from(&secret);
        let public = PublicKey::from(signing.verifying_key());
        Self {
            secret,
            signing,
            public,
        }
    }

    /// The canonical `client_secret`: standard base64 of the PKCS#8 DER private key.
    pub fn to_client_secret(&self) -> SecretString {
        // Encoding a valid key into PKCS#8 has no failure path in practice; an empty secret
        // would be refused when read back, never silently accepted.
        SecretString::new(self.to_pkcs8().unwrap_or_default())
    }

    /// Base64 of the PKCS#8 document the curve's own encoder writes (an `ECPrivateKey` with
    /// the public key, wrapped with the algorithm and curve), built from the public key held
    /// rather than derived again: one scalar multiplication less, and in WebAssembly the
    /// encoder's document type and its own derivation are not linked.
    fn to_pkcs8(&self) -> der::Result<String> {
        let scalar = Zeroizing::new(self.secret.to_bytes());
        let point = self.public.to_sec1_point(false);
        let sec1 = Zeroizing::new(
            EcPrivateKey {
                private_key: &scalar,
                parameters: None,
                public_key: Some(point.as_bytes()),
            }
            .to_der()?,
        );
        let algorithm = AlgorithmIdentifierRef {
            oid: p256::elliptic_curve::ALGORITHM_OID,
            parameters: Some((&NistP256::OID).into()),
        };
        let info = PrivateKeyInfoRef::new(algorithm, OctetStringRef::new(&sec1)?);
        let der = Zeroizing::new(info.to_der()?);
        Ok(encode_b64(&der))
    }

    /// The public key of this client.
    pub fn public_key(&self) -> ClientPublicKey {
        ClientPublicKey(self.public)
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub(crate) fn secret_key(&self) -> &SecretKey {
        &self.secret
    }
}

fn parse_pem(text: &str) -> Result<ClientKey> {
    let pem_error = |reason| move |()| Error::InvalidKey { reason };
    if text.starts_with("-----BEGIN PRIVATE KEY-----") {
        let reason = "PEM PRIVATE KEY is not a PKCS#8 P-256 private key";
        let der = decode_pem(text, "PRIVATE KEY").map_err(pem_error(reason))?;
        parse_pkcs8(&der).map_err(pem_error(reason))
    } else if text.starts_with("-----BEGIN EC PRIVATE KEY-----") {
        let reason = "PEM EC PRIVATE KEY is not a SEC1 P-256 private key";
        let der = decode_pem(text, "EC PRIVATE KEY").map_err(pem_error(reason))?;
        parse_sec1(&der).map_err(pem_error(reason))
    } else {
        Err(Error::InvalidKey {
            reason: "PEM label is neither PRIVATE KEY nor EC PRIVATE KEY",
        })
    }
}

fn decode_pem(text: &str, label: &str) -> core::result::Result<Zeroizing<Vec<u8>>, ()> {
    let (found, der) = pem::decode_vec(text.as_bytes()).map_err(|_| ())?;
    let der = Zeroizing::new(der);
    if found == label { Ok(der) } else { Err(()) }
}

/// Reads PKCS#8 DER holding a SEC1 P-256 private key.
fn parse_pkcs8(der: &[u8]) -> core::result::Result<ClientKey, ()> {
    let info = PrivateKeyInfoRef::from_der(der).map_err(|_| ())?;
    info.algorithm
        .assert_oids(p256::elliptic_curve::ALGORITHM_OID, NistP256::OID)
        .map_err(|_| ())?;
    parse_sec1(info.private_key.as_bytes())
}

/// Reads SEC1 DER. The library's own decoder checks an embedded public key with a scalar
/// multiplication of its own and the signing key then derives it again; here the one derived
/// public key is compared with the embedded one instead.
fn parse_sec1(der: &[u8]) -> core::result::Result<ClientKey, ()> {
    let sec1 = EcPrivateKey::from_der(der).map_err(|_| ())?;
    if let Some(EcParameters::NamedCurve(curve)) = sec1.parameters
        && curve != NistP256::OID
    {
        return Err(());
    }
    let secret = SecretKey::from_slice(sec1.private_key).map_err(|_| ())?;
    let key = ClientKey::from_secret(secret);
    if let Some(embedded) = sec1.public_key {
        let embedded = PublicKey::from_sec1_bytes(embedded).map_err(|_| ())?;
        if embedded != key.public {
            return Err(());
        }
    }
    Ok(key)
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// A client's public key: a point on P-256, exchanged as a 65-byte SEC1 uncompressed point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClientPublicKey(PublicKey);

impl ClientPublicKey {
    /// Reads a 65-byte SEC1 uncompressed point; compressed points and points off the curve are
    /// rejected.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != PUBLIC_KEY_LEN || bytes[0] != 0x04 {
            return Err(Error::InvalidKey {
                reason: "public key is not a 65-byte SEC1 uncompressed point",
            });
        }
        PublicKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| Error::InvalidKey {
                reason: "public key is not a point on P-256",
            })
    }

    /// Reads standard base64 of a SEC1 uncompressed point, as sent in the bootstrap request.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = decode_b64(text).ok_or(Error::InvalidKey {
            reason: "public key is not standard base64",
        })?;
        Self::from_sec1(&bytes)
    }

    /// The 65-byte SEC1 uncompressed encoding.
    pub fn to_sec1(&self) -> [u8; PUBLIC_KEY_LEN] {
        let point = self.0.to_sec1_point(false);
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out.copy_from_slice(point.as_bytes());
        out
    }

    /// Standard base64 of the SEC1 uncompressed encoding.
    pub fn to_base64(&self) -> String {
        encode_b64(&self.to_sec1())
    }

    pub(crate) fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from(&self.0)
    }

    pub(crate) fn as_point(&self) -> &PublicKey {
        &self.0
    }

    pub(crate) fn from_point(point: PublicKey) -> Self {
        Self(point)
    }
}

impl fmt::Debug for ClientPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientPublicKey({})", self.to_base64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    use rand_core::SeedableRng;

    fn key() -> ClientKey {
        ClientKey::generate(&mut ChaCha20Rng::seed_from_u64(42))
    }

    #[test]
    fn the_canonical_form_is_the_curves_own_pkcs8_encoding() {
        for seed in 0..8 {
            let key = ClientKey::generate(&mut ChaCha20Rng::seed_from_u64(seed));
            let theirs = key.secret.to_pkcs8_der().unwrap();
            assert_eq!(
                key.to_client_secret().expose(),
                encode_b64(theirs.as_bytes())
            );
        }
    }

    #[test]
    fn every_accepted_form_parses_to_the_same_key() {
        let key = key();
        let scalar = encode_b64(&key.secret.to_bytes());
        let pkcs8_pem = key.secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let sec1_pem = key.secret.to_sec1_pem(LineEnding::CRLF).unwrap();
        let canonical = key.to_client_secret();
        for form in [
            canonical.expose(),
            &format!("  {}\n", canonical.expose()),
            &scalar,
            &pkcs8_pem,
            &sec1_pem,
        ] {
            let parsed = ClientKey::from_client_secret(form).unwrap();
            assert_eq!(parsed.public_key(), key.public_key());
            assert_eq!(parsed.to_client_secret(), canonical);
        }
    }

    #[test]
    fn bad_secrets_are_typed_errors_that_do_not_echo_input() {
        let key = key();
        let canonical = key.to_client_secret();
        let url = canonical.expose().replace('+', "-").replace('/', "_");
        let cases = [
            String::new(),
            "not base64!".into(),
            encode_b64(&[0u8; 32]),          // zero scalar
            encode_b64(&[0xff; 32]),         // above the order
            encode_b64(&[1u8; 31]),          // wrong length, not DER
            canonical.expose()[..40].into(), // truncated
            format!("{url}x"),               // url alphabet
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----".into(),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into(),
        ];
        for case in &cases {
            let err = ClientKey::from_client_secret(case).unwrap_err();
            assert!(matches!(err, Error::InvalidKey { .. }), "{err}");
            if case.len() > 8 {
                assert!(!err.to_string().contains(case.as_str()));
            }
        }
    }

    #[test]
    fn an_embedded_public_key_must_match_the_private_key() {
        use p256::pkcs8::der::Encode;
        let key = key();
        let other = ClientKey::generate(&mut ChaCha20Rng::seed_from_u64(43));
        let scalar = key.secret.to_bytes();
        let encode = |public: &[u8]| {
            let sec1 = EcPrivateKey {
                private_key: &scalar,
                parameters: Some(EcParameters::NamedCurve(NistP256::OID)),
                public_key: Some(public),
            };
            let der = sec1.to_der().unwrap();
            pem::encode_string("EC PRIVATE KEY", LineEnding::LF, &der).unwrap()
        };
        let matching = encode(&key.public_key().to_sec1());
        assert_eq!(
            ClientKey::from_client_secret(&matching)
                .unwrap()
                .public_key(),
            key.public_key()
        );
        let mismatched = encode(&other.public_key().to_sec1());
        assert!(matches!(
            ClientKey::from_client_secret(&mismatched),
            Err(Error::InvalidKey { .. })
        ));
    }

    #[test]
    fn debug_shows_no_private_material() {
        let key = key();
        let debug = format!("{key:?}");
        assert!(debug.contains(&key.public_key().to_base64()));
        assert!(!debug.contains(key.to_client_secret().expose()));
        assert!(!debug.contains(&encode_b64(&key.secret.to_bytes())));
    }

    #[test]
    fn public_key_round_trips_and_rejects_bad_points() {
        let public = key().public_key();
        let sec1 = public.to_sec1();
        assert_eq!(sec1[0], 4);
        assert_eq!(ClientPublicKey::from_sec1(&sec1).unwrap(), public);
        assert_eq!(
            ClientPublicKey::from_base64(&public.to_base64()).unwrap(),
            public
        );
        let mut off_curve = sec1;
        off_curve[64] ^= 1;
        assert!(ClientPublicKey::from_sec1(&off_curve).is_err());
        assert!(ClientPublicKey::from_sec1(&sec1[..33]).is_err());
        assert!(ClientPublicKey::from_sec1(&[]).is_err());
        let compressed = public.0.to_sec1_point(true);
        assert!(ClientPublicKey::from_sec1(compressed.as_bytes()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn key_parsing_never_panics(text in ".{0,200}", bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..140)) {
            let _ = ClientKey::from_client_secret(&text);
            let _ = ClientKey::from_client_secret(&encode_b64(&bytes));
            let _ = ClientKey::from_client_secret(&format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----", encode_b64(&bytes)));
            let _ = ClientPublicKey::from_sec1(&bytes);
            let _ = ClientPublicKey::from_base64(&text);
        }
    }
}
