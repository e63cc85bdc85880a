//! The client's P-256 key pair and the encodings of `client_secret`.
//!
//! A client creates its key pair at bootstrap, sends the public half to the server and keeps the
//! private half as `client_secret`. The canonical `client_secret` is standard base64 of the PKCS#8
//! DER private key; base64 of the raw 32-byte scalar and the PEM forms `PRIVATE KEY` (PKCS#8) and
//! `EC PRIVATE KEY` (SEC1) are accepted too.

use core::fmt;

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::AssociatedOid;
use p256::pkcs8::der::asn1::BitStringRef;
use p256::pkcs8::der::{
    self, Decode, Encode, Header, Length, Reader, SliceReader, Tag, TagNumber, pem,
};
use p256::{AffinePoint, FieldBytes, NistP256, PublicKey, SecretKey};
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

    /// Base64 of the PKCS#8 document the curve's own encoder writes: version 1, the algorithm
    /// with the curve, and an `ECPrivateKey` holding the scalar and the public key (without the
    /// curve). Built from the public key held rather than derived again (one scalar
    /// multiplication less), with `der`'s headers, like [`Fields`] for reading.
    fn to_pkcs8(&self) -> der::Result<String> {
        let scalar = Zeroizing::new(self.secret.to_bytes());
        let point = self.public.to_sec1_point(false);
        let public_key = der_value(Tag::BitString, &[&[0], point.as_bytes()])?;
        let sec1 = der_value(
            Tag::Sequence,
            &[
                &[0x02, 0x01, 0x01],
                &der_value(Tag::OctetString, &[&scalar])?,
                &der_value(
                    Tag::ContextSpecific {
                        constructed: true,
                        number: TagNumber(1),
                    },
                    &[&public_key],
                )?,
            ],
        )?;
        let algorithm = der_value(
            Tag::Sequence,
            &[
                &der_value(
                    Tag::ObjectIdentifier,
                    &[p256::elliptic_curve::ALGORITHM_OID.as_bytes()],
                )?,
                &der_value(Tag::ObjectIdentifier, &[NistP256::OID.as_bytes()])?,
            ],
        )?;
        let info = der_value(
            Tag::Sequence,
            &[
                &[0x02, 0x01, 0x00],
                &algorithm,
                &der_value(Tag::OctetString, &[&sec1])?,
            ],
        )?;
        Ok(encode_b64(&info))
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

/// Reads PKCS#8 DER (version 1, or 2 with the public key, which is not used) holding a SEC1
/// P-256 private key.
fn parse_pkcs8(der: &[u8]) -> core::result::Result<ClientKey, ()> {
    let mut info = Fields::whole(der, Tag::Sequence)?;
    let with_public_key = match info.take(Tag::Integer)? {
        [0] => false,
        [1] => true,
        _ => return Err(()),
    };
    let mut algorithm = Fields::new(info.take(Tag::Sequence)?)?;
    if algorithm.take(Tag::ObjectIdentifier)? != p256::elliptic_curve::ALGORITHM_OID.as_bytes()
        || algorithm.take(Tag::ObjectIdentifier)? != NistP256::OID.as_bytes()
    {
        return Err(());
    }
    algorithm.finish()?;
    let private_key = info.take(Tag::OctetString)?;
    // The attributes, not used.
    info.take_context(0, true)?;
    if let Some(public_key) = info.take_context(1, false)? {
        let (&unused_bits, bits) = public_key.split_first().ok_or(())?;
        BitStringRef::new(unused_bits, bits).map_err(|_| ())?;
        if !with_public_key {
            return Err(());
        }
    } else if with_public_key {
        return Err(());
    }
    // Fields of later versions, each an explicitly tagged value, are ignored.
    while !info.0.is_finished() {
        let tag = info.peek()?;
        if !tag.is_context_specific() || !tag.is_constructed() {
            return Err(());
        }
        let mut field = Fields::new(info.take(tag)?)?;
        field.any()?;
        field.finish()?;
    }
    parse_sec1(private_key)
}

/// Reads SEC1 DER. The library's own decoder checks an embedded public key with a scalar
/// multiplication of its own and the signing key then derives it again; here the one derived
/// public key is compared with the embedded one instead.
fn parse_sec1(der: &[u8]) -> core::result::Result<ClientKey, ()> {
    let mut sec1 = Fields::whole(der, Tag::Sequence)?;
    if sec1.take(Tag::Integer)? != [1] {
        return Err(());
    }
    let private_key = sec1.take(Tag::OctetString)?;
    if let Some(parameters) = sec1.take_context(0, true)? {
        let mut parameters = Fields::new(parameters)?;
        if parameters.take(Tag::ObjectIdentifier)? != NistP256::OID.as_bytes() {
            return Err(());
        }
        parameters.finish()?;
    }
    let embedded = match sec1.take_context(1, true)? {
        Some(field) => {
            let mut field = Fields::new(field)?;
            let bits = field.take(Tag::BitString)?;
            field.finish()?;
            match bits {
                [0, point @ ..] => Some(point),
                _ => return Err(()),
            }
        }
        None => None,
    };
    sec1.finish()?;
    let secret = SecretKey::from_slice(private_key).map_err(|_| ())?;
    let key = ClientKey::from_secret(secret);
    match embedded {
        Some(embedded) if !is_sec1_encoding_of(embedded, &key.public) => Err(()),
        _ => Ok(key),
    }
}

/// Whether `bytes` is a SEC1 encoding of `public`, in any form: uncompressed, compressed, or
/// compact (the x coordinate of whichever of the point and its negation has the smaller y).
/// Encoding the point and comparing bytes checks what decoding `bytes` and comparing points
/// would, without linking point decompression into the module.
fn is_sec1_encoding_of(bytes: &[u8], public: &PublicKey) -> bool {
    match bytes.first() {
        Some(0x04) => public.to_sec1_point(false).as_bytes() == bytes,
        Some(0x02 | 0x03) => public.to_sec1_point(true).as_bytes() == bytes,
        Some(0x05) => {
            let point = public.as_affine();
            bytes[1..] == point.x()[..] && point.y() < (-*point).y()
        }
        _ => false,
    }
}

/// The fields of a DER structure, each read as its header (through `der`: the tag, and the
/// length in its one canonical form) and its value's bytes.
///
/// The accepted forms have a few fields each, compared with constants or handed to the curve's
/// own checks; reading them so rather than through `pkcs8`'s and `sec1`'s decoders, which
/// instantiate `der`'s generic ones for every field type, makes the WebAssembly module
/// smaller (see syvault-wasm/README.md, "Size and speed").
struct Fields<'a>(SliceReader<'a>);

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> core::result::Result<Self, ()> {
        SliceReader::new(bytes).map(Self).map_err(|_| ())
    }

    /// The fields inside `bytes`, which must be one value with this tag and nothing more.
    fn whole(bytes: &'a [u8], tag: Tag) -> core::result::Result<Self, ()> {
        let mut outer = Self::new(bytes)?;
        let value = outer.take(tag)?;
        outer.finish()?;
        Self::new(value)
    }

    fn peek(&self) -> core::result::Result<Tag, ()> {
        Tag::peek(&self.0).map_err(|_| ())
    }

    /// The next field's value; the field must have this tag.
    fn take(&mut self, tag: Tag) -> core::result::Result<&'a [u8], ()> {
        let header = Header::decode(&mut self.0).map_err(|_| ())?;
        if header.tag() != tag {
            return Err(());
        }
        self.0.read_slice(header.length()).map_err(|_| ())
    }

    /// The next field's value if it is the context-specific field `[number]`, which must then
    /// be constructed or not as given.
    fn take_context(
        &mut self,
        number: u32,
        constructed: bool,
    ) -> core::result::Result<Option<&'a [u8]>, ()> {
        if self.0.is_finished() {
            return Ok(None);
        }
        match self.peek()? {
            Tag::ContextSpecific { number: found, .. } if found == TagNumber(number) => self
                .take(Tag::ContextSpecific {
                    constructed,
                    number: found,
                })
                .map(Some),
            _ => Ok(None),
        }
    }

    /// Skips the next field, whatever its tag.
    fn any(&mut self) -> core::result::Result<(), ()> {
        let tag = self.peek()?;
        self.take(tag).map(|_| ())
    }

    /// Checks that every field was read.
    fn finish(self) -> core::result::Result<(), ()> {
        self.0.finish().map_err(|_| ())
    }
}

/// One DER value: `der`'s header for this tag and the parts' length, then the parts. Allocated
/// at its size, so that key material is never left behind by a reallocation, and wiped on drop.
fn der_value(tag: Tag, parts: &[&[u8]]) -> der::Result<Zeroizing<Vec<u8>>> {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let header = Header::new(tag, Length::try_from(len)?);
    let mut out = Zeroizing::new(Vec::with_capacity(
        usize::try_from(header.encoded_len()?)? + len,
    ));
    header.encode(&mut *out)?;
    for part in parts {
        out.extend_from_slice(part);
    }
    Ok(out)
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
        // The coordinates are checked to be on the curve (and below the field's modulus)
        // directly: the general SEC1 decoder would link point decompression, never used here.
        let (x, y) = bytes[1..].split_at(32);
        let point = match (FieldBytes::try_from(x), FieldBytes::try_from(y)) {
            (Ok(x), Ok(y)) => Option::from(AffinePoint::from_coordinates(&x, &y)),
            _ => None,
        };
        point
            .and_then(|point| PublicKey::from_affine(point).ok())
            .map(Self)
            .ok_or(Error::InvalidKey {
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
    use p256::pkcs8::der::asn1::OctetStringRef;
    use p256::pkcs8::{AlgorithmIdentifierRef, EncodePrivateKey, LineEnding, PrivateKeyInfoRef};
    use rand_core::SeedableRng;
    use sec1::{EcParameters, EcPrivateKey};

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
        // A coordinate at or above the field's modulus, and the origin, are not points.
        let mut too_big = sec1;
        too_big[1..33].fill(0xff);
        assert!(ClientPublicKey::from_sec1(&too_big).is_err());
        let mut origin = [0u8; PUBLIC_KEY_LEN];
        origin[0] = 4;
        assert!(ClientPublicKey::from_sec1(&origin).is_err());
        assert!(ClientPublicKey::from_sec1(&sec1[..33]).is_err());
        assert!(ClientPublicKey::from_sec1(&[]).is_err());
        let compressed = public.0.to_sec1_point(true);
        assert!(ClientPublicKey::from_sec1(compressed.as_bytes()).is_err());
    }

    /// What the crates' own decoders (`pkcs8`, `sec1`) make of `der`, as the key's public key.
    fn reference_pkcs8(der: &[u8]) -> Option<PublicKey> {
        let info = PrivateKeyInfoRef::from_der(der).ok()?;
        info.algorithm
            .assert_oids(p256::elliptic_curve::ALGORITHM_OID, NistP256::OID)
            .ok()?;
        reference_sec1(info.private_key.as_bytes())
    }

    fn reference_sec1(der: &[u8]) -> Option<PublicKey> {
        let sec1 = EcPrivateKey::from_der(der).ok()?;
        if let Some(EcParameters::NamedCurve(curve)) = sec1.parameters
            && curve != NistP256::OID
        {
            return None;
        }
        let public = SecretKey::from_slice(sec1.private_key).ok()?.public_key();
        match sec1.public_key {
            Some(embedded) if PublicKey::from_sec1_bytes(embedded).ok()? != public => None,
            _ => Some(public),
        }
    }

    /// Valid encodings of every shape the readers take: SEC1 with and without the curve and
    /// the public key, and PKCS#8 versions 1 and 2, with and without attributes.
    fn encodings() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        use p256::pkcs8::der::asn1::BitStringRef;
        let key = key();
        let scalar = key.secret.to_bytes();
        let point = key.public_key().to_sec1();
        let curve = Some(EcParameters::NamedCurve(NistP256::OID));
        let sec1: Vec<Vec<u8>> = [
            (None, None),
            (curve, None),
            (None, Some(&point[..])),
            (curve, Some(&point[..])),
        ]
        .into_iter()
        .map(|(parameters, public_key)| {
            EcPrivateKey {
                private_key: &scalar,
                parameters,
                public_key,
            }
            .to_der()
            .unwrap()
        })
        .collect();
        let algorithm = AlgorithmIdentifierRef {
            oid: p256::elliptic_curve::ALGORITHM_OID,
            parameters: Some((&NistP256::OID).into()),
        };
        let mut pkcs8 = Vec::new();
        for inner in &sec1 {
            let mut info = PrivateKeyInfoRef::new(algorithm, OctetStringRef::new(inner).unwrap());
            pkcs8.push(info.to_der().unwrap());
            info.public_key = Some(BitStringRef::from_bytes(&point).unwrap());
            pkcs8.push(info.to_der().unwrap());
        }
        // Version 1 with an empty attribute set ([0], constructed), after the private key.
        let v1 = &pkcs8[0];
        let mut body = v1[2..].to_vec();
        body.extend_from_slice(&[0xa0, 0x00]);
        let mut attributed = vec![0x30, u8::try_from(body.len()).unwrap()];
        attributed.extend_from_slice(&body);
        pkcs8.push(attributed);
        (sec1, pkcs8)
    }

    #[test]
    fn the_readers_take_every_shape_the_crates_decoders_take() {
        let (sec1, pkcs8) = encodings();
        let public = key().public;
        for der in &sec1 {
            assert_eq!(reference_sec1(der), Some(public));
            assert_eq!(parse_sec1(der).map(|k| k.public), Ok(public));
        }
        for der in &pkcs8 {
            assert_eq!(reference_pkcs8(der), Some(public), "{der:02x?}");
            assert_eq!(parse_pkcs8(der).map(|k| k.public), Ok(public));
        }
    }

    /// Our reader's and the crates' decoders' verdicts on `der`, the SEC1 or PKCS#8 reader.
    fn both(sec1: bool, der: &[u8]) -> (Option<PublicKey>, Option<PublicKey>) {
        if sec1 {
            (parse_sec1(der).ok().map(|k| k.public), reference_sec1(der))
        } else {
            (
                parse_pkcs8(der).ok().map(|k| k.public),
                reference_pkcs8(der),
            )
        }
    }

    #[test]
    fn the_readers_agree_with_the_crates_decoders_on_every_single_edit() {
        let (sec1, pkcs8) = encodings();
        let shapes = sec1
            .iter()
            .map(|d| (true, d))
            .chain(pkcs8.iter().map(|d| (false, d)));
        for (is_sec1, der) in shapes {
            for i in 0..der.len() {
                let was = der[i];
                let mut variants: Vec<Vec<u8>> =
                    [0x00, 0x01, 0x02, 0x04, 0x7f, 0x80, 0x81, 0x82, 0xff]
                        .into_iter()
                        .chain([
                            was ^ 0x01,
                            was ^ 0x20,
                            was.wrapping_add(1),
                            was.wrapping_sub(1),
                        ])
                        .filter(|&b| b != was)
                        .map(|b| {
                            let mut edited = der.clone();
                            edited[i] = b;
                            edited
                        })
                        .collect();
                variants.push(der[..i].to_vec());
                for b in [0x00, 0x01, 0x30, 0x80, 0xa0, 0xa1] {
                    let mut edited = der.clone();
                    edited.insert(i, b);
                    variants.push(edited);
                }
                for edited in variants {
                    let (ours, theirs) = both(is_sec1, &edited);
                    assert_eq!(ours, theirs, "{edited:02x?}");
                }
            }
        }
    }

    /// A DER value of this tag byte (content under 256 bytes).
    fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
        let content = parts.concat();
        let len = u8::try_from(content.len()).unwrap();
        let mut out = if len < 0x80 {
            vec![tag, len]
        } else {
            vec![tag, 0x81, len]
        };
        out.extend_from_slice(&content);
        out
    }

    #[test]
    fn the_readers_agree_with_the_crates_decoders_on_each_optional_field() {
        let key = key();
        let scalar = tlv(0x04, &[&key.secret.to_bytes()]);
        let point = key.public_key().to_sec1();
        let p256 = tlv(0x06, &[NistP256::OID.as_bytes()]);
        let p384 = tlv(0x06, &[&[0x2b, 0x81, 0x04, 0x00, 0x22]]);
        let null = [0x05, 0x00];
        let bits = |unused: u8| tlv(0x03, &[&[unused], &point]);
        let sec1 = |fields: &[&[u8]]| tlv(0x30, &[&[0x02, 0x01, 0x01], &scalar, &fields.concat()]);
        let sec1_cases: [(Vec<u8>, bool); 7] = [
            (sec1(&[&tlv(0xa0, &[&p256]), &tlv(0xa1, &[&bits(0)])]), true),
            (sec1(&[&tlv(0xa0, &[&p384])]), false),
            (sec1(&[&tlv(0xa0, &[&p256, &null])]), false),
            (sec1(&[&tlv(0x80, &[&p256])]), false),
            (sec1(&[&tlv(0xa1, &[&bits(1)])]), false),
            (sec1(&[&tlv(0xa1, &[&bits(0), &null])]), false),
            (sec1(&[&tlv(0xa2, &[&null])]), false),
        ];
        for (der, accepted) in &sec1_cases {
            let (ours, theirs) = both(true, der);
            assert_eq!(ours, theirs, "{der:02x?}");
            assert_eq!(ours.is_some(), *accepted, "{der:02x?}");
        }
        let algorithm = tlv(
            0x30,
            &[
                &tlv(0x06, &[p256::elliptic_curve::ALGORITHM_OID.as_bytes()]),
                &p256,
            ],
        );
        let inner = tlv(0x04, &[&sec1(&[])]);
        let pkcs8 = |version: u8, fields: &[&[u8]]| {
            tlv(
                0x30,
                &[&[0x02, 0x01, version], &algorithm, &inner, &fields.concat()],
            )
        };
        let public = tlv(0x81, &[&[0], &point]);
        let pkcs8_cases: [(Vec<u8>, bool); 10] = [
            (pkcs8(0, &[&tlv(0xa0, &[]), &tlv(0xa2, &[&null])]), true),
            (pkcs8(1, &[&public, &tlv(0xa5, &[&null])]), true),
            (pkcs8(0, &[&public]), false),
            (pkcs8(1, &[]), false),
            (pkcs8(1, &[&tlv(0xa1, &[&[0], &point])]), false),
            (pkcs8(0, &[&tlv(0x80, &[])]), false),
            (pkcs8(0, &[&tlv(0x82, &[&null])]), false),
            (pkcs8(0, &[&tlv(0xa2, &[&null, &null])]), false),
            (pkcs8(0, &[&tlv(0xa2, &[])]), false),
            (pkcs8(0, &[&null]), false),
        ];
        for (der, accepted) in &pkcs8_cases {
            let (ours, theirs) = both(false, der);
            assert_eq!(ours, theirs, "{der:02x?}");
            assert_eq!(ours.is_some(), *accepted, "{der:02x?}");
        }
    }

    #[test]
    fn an_embedded_public_key_passes_in_each_of_its_sec1_forms_and_no_other() {
        let mut compact_forms = [false, false];
        for seed in 0..16 {
            let key = ClientKey::generate(&mut ChaCha20Rng::seed_from_u64(seed));
            let scalar = key.secret.to_bytes();
            let point = key.public.as_affine();
            let compressed = key.public.to_sec1_point(true);
            let mut other_parity = compressed.as_bytes().to_vec();
            other_parity[0] ^= 1;
            let compact = [&[0x05][..], &point.x()].concat();
            // The compact form names the one of the point and its negation with the smaller y.
            let compact_is_ours = point.y() < (-*point).y();
            compact_forms[usize::from(compact_is_ours)] = true;
            let uncompressed = key.public_key().to_sec1();
            let cases: [(&[u8], bool); 8] = [
                (&uncompressed, true),
                (compressed.as_bytes(), true),
                (&compact, compact_is_ours),
                (&other_parity, false),
                (&uncompressed[..33], false),
                (&[0x00], false),
                (&[0x04], false),
                (&[0x05], false),
            ];
            for (public_key, accepted) in cases {
                let der = EcPrivateKey {
                    private_key: &scalar,
                    parameters: None,
                    public_key: Some(public_key),
                }
                .to_der()
                .unwrap();
                let (ours, theirs) = both(true, &der);
                assert_eq!(ours, theirs, "{der:02x?}");
                assert_eq!(ours.is_some(), accepted, "{der:02x?}");
            }
        }
        assert_eq!(
            compact_forms,
            [true, true],
            "both outcomes of the compact form"
        );
    }

    proptest::proptest! {
        #[test]
        fn the_readers_agree_with_the_crates_decoders_on_damaged_input(
            which in 0usize..13,
            edits in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>(), 0u8..4), 1..4),
        ) {
            let (sec1, pkcs8) = encodings();
            let is_sec1 = which < sec1.len();
            let mut der = if is_sec1 { sec1[which].clone() } else { pkcs8[which - sec1.len()].clone() };
            for (at, byte, kind) in edits {
                let i = at.index(der.len());
                match kind {
                    0 => der[i] = byte,
                    1 => der[i] ^= 1 << (byte % 8),
                    2 => der.truncate(i),
                    _ => der.insert(i, byte),
                }
                if der.is_empty() {
                    break;
                }
            }
            let (ours, theirs) = both(is_sec1, &der);
            proptest::prop_assert_eq!(ours, theirs, "{:02x?}", der);
        }

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
