//! ES256 bearer tokens: signing, verification and reuse.
//!
//! A token is `b64url(header).b64url(claims).b64url(r ‖ s)` with the header
//! `{"alg":"ES256","typ":"JWT"}` and the claims `sub` (client id), `aud` (the server's canonical
//! origin), `iat` and `exp` in Unix seconds. Signatures use RFC 6979 nonces, so signing is
//! deterministic and needs no randomness.

use core::fmt;
use core::time::Duration;

use p256::ecdsa::Signature;
use p256::ecdsa::signature::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::encoding::{decode_b64url, encode_b64url};
use crate::error::{Error, Result};
use crate::keys::{ClientKey, ClientPublicKey};
use crate::object::object_struct;
use crate::secret::SecretString;
use crate::time::Timestamp;
use zeroize::Zeroizing;

/// The exact header the SDK signs.
pub const HEADER: &str = r#"{"alg":"ES256","typ":"JWT"}"#;
/// The longest lifetime a server accepts, `exp - iat`.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// The clock skew a server tolerates on `iat`.
pub const MAX_SKEW: Duration = Duration::from_secs(60);
/// Lifetime of the tokens the SDK signs unless configured otherwise.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
/// How long before expiry a reused token is replaced unless configured otherwise.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Why a token was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not three base64url parts, or a part is not the expected JSON.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm other than ES256 or a type other than JWT.
    #[error("unsupported algorithm or type")]
    UnsupportedAlgorithm,
    /// `sub` names no known client.
    #[error("unknown client")]
    UnknownClient,
    /// The signature does not verify under the client's public key.
    #[error("bad signature")]
    BadSignature,
    /// `aud` is not this server's canonical origin.
    #[error("wrong audience")]
    WrongAudience,
    /// `iat` lies further in the future than the allowed skew.
    #[error("issued in the future")]
    IssuedInFuture,
    /// `exp` is not after `iat`, or more than an hour after it.
    #[error("lifetime not within (0, 3600] seconds")]
    BadLifetime,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
}

object_struct! {
/// The claims of a SyVault token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Claims {
    /// The client id.
    pub sub: Uuid,
    /// The server's canonical origin, see [`canonical_audience`].
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
}
}

impl Claims {
    /// The claims of a token for client `sub` at the server whose canonical origin is `aud`,
    /// valid from `iat` to `exp` (Unix seconds), as [`sign`] takes them.
    pub fn new(sub: Uuid, aud: impl Into<String>, iat: u64, exp: u64) -> Self {
        Self {
            sub,
            aud: aud.into(),
            iat,
            exp,
        }
    }
}

struct Header {
    alg: String,
    /// Absent is fine; present, it must be a string (`null` is refused) and then `"JWT"`.
    typ: Option<String>,
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::object::deserialize(deserializer)
    }
}

impl<'de> crate::object::Derived<'de> for Header {
    const NAME: &'static str = "Header";

    fn derived<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// serde's code, derived on a private copy (see [`crate::object`]).
        #[derive(Deserialize)]
        struct Derived {
            alg: String,
            #[serde(default, deserialize_with = "present_string")]
            typ: Option<String>,
        }
        let derived = Derived::deserialize(deserializer)?;
        Ok(Self {
            alg: derived.alg,
            typ: derived.typ,
        })
    }
}

/// A field that may be missing but, when present, must be a string.
fn present_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

/// The canonical origin of a server URL, used as `aud`: lowercase scheme and host, default port
/// dropped, no path, query or trailing slash. Only `http` and `https` are accepted.
///
/// ```
/// use syvault_proto::jwt::canonical_audience;
///
/// assert_eq!(canonical_audience("HTTPS://Vault.Example.com:443/some/path/")?, "https://vault.example.com");
/// assert_eq!(canonical_audience("http://127.0.0.1:8200")?, "http://127.0.0.1:8200");
/// # Ok::<(), syvault_proto::Error>(())
/// ```
pub fn canonical_audience(server_url: &str) -> Result<String> {
    let invalid = |reason: &str| Error::invalid_input("server URL", reason);
    let uri: http::Uri = server_url
        .trim()
        .parse()
        .map_err(|_| invalid("not an absolute URL"))?;
    let scheme = uri
        .scheme_str()
        .ok_or_else(|| invalid("missing scheme"))?
        .to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return Err(invalid("scheme must be http or https")),
    };
    let authority = uri.authority().ok_or_else(|| invalid("missing host"))?;
    if authority.as_str().contains('@') {
        return Err(invalid("credentials in the URL are not allowed"));
    }
    let host = authority.host();
    if host.is_empty() {
        return Err(invalid("missing host"));
    }
    if !valid_host(host) {
        return Err(invalid("the host is not a DNS name or an IP address"));
    }
    // Nothing may follow the host but a port: the origin must read back as itself.
    let rest = &authority.as_str()[host.len()..];
    if !(rest.is_empty()
        || rest
            .strip_prefix(':')
            .is_some_and(|p| p.parse::<u16>().is_ok()))
    {
        return Err(invalid("the port is not a number from 0 to 65535"));
    }
    let host = host.to_ascii_lowercase();
    Ok(match authority.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Whether `host` is a bracketed IPv6 address or a DNS name or IPv4 address: letters, digits,
/// `-`, `_` and `.` only.
fn valid_host(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => ipv6.parse::<core::net::Ipv6Addr>().is_ok(),
        None => host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
    }
}

/// Signs a token for `claims`.
///
/// ```
/// use syvault_proto::{jwt, keys::ClientKey, Timestamp};
/// use uuid::Uuid;
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let key = ClientKey::generate(&mut rng);
/// let client_id = Uuid::from_u128(1);
/// let now = Timestamp::from_unix_secs(1_700_000_000);
/// let claims = jwt::Claims::new(client_id, "https://vault.example.com", 1_700_000_000, 1_700_000_600);
/// let token = jwt::sign(&key, &claims);
/// let verified = jwt::verify(token.expose(), "https://vault.example.com", now, |_| Some(key.public_key()))?;
/// assert_eq!(verified, claims);
/// # Ok::<(), syvault_proto::jwt::JwtError>(())
/// ```
pub fn sign(key: &ClientKey, claims: &Claims) -> SecretString {
    // Serializing a struct of a UUID, a string and two integers cannot fail.
    let claims_json = serde_json::to_vec(claims).unwrap_or_default();
    let signing_input = format!(
        "{}.{}",
        encode_b64url(HEADER.as_bytes()),
        encode_b64url(&claims_json)
    );
    let signature: Signature = key.signing_key().sign(signing_input.as_bytes());
    // The signature is what makes the token a credential: its text is wiped, and the token's
    // own buffer is sized so that it never moves (a move would leave a copy behind).
    let signature = Zeroizing::new(encode_b64url(&signature.to_bytes()));
    let mut token = String::with_capacity(signing_input.len() + 1 + signature.len());
    token.push_str(&signing_input);
    token.push('.');
    token.push_str(&signature);
    SecretString::new(token)
}

/// Verifies a token as a server does, in this order: structure, header, signature under the
/// public key that `lookup` returns for `sub`, audience, then the time rules (`iat` at most
/// [`MAX_SKEW`] ahead of `now`, `iat < exp <= iat + 3600`, `now < exp`).
pub fn verify(
    token: &str,
    audience: &str,
    now: Timestamp,
    lookup: impl FnOnce(&Uuid) -> Option<ClientPublicKey>,
) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("expected three parts"));
    };
    let header: Header = decode_json(header_b64, "header")?;
    if header.alg != "ES256" || header.typ.as_deref().is_some_and(|t| t != "JWT") {
        return Err(JwtError::UnsupportedAlgorithm);
    }
    let claims: Claims = decode_json(claims_b64, "claims")?;
    let signature = decode_b64url(signature_b64)
        .and_then(|raw| Signature::from_slice(&raw).ok())
        .ok_or(JwtError::Malformed("signature is not 64 bytes of r ‖ s"))?;
    let public_key = lookup(&claims.sub).ok_or(JwtError::UnknownClient)?;
    let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
    public_key
        .verifying_key()
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| JwtError::BadSignature)?;
    if claims.aud != audience {
        return Err(JwtError::WrongAudience);
    }
    let now_secs = now.as_unix_secs();
    if claims.iat > now_secs.saturating_add(MAX_SKEW.as_secs()) {
        return Err(JwtError::IssuedInFuture);
    }
    if claims.exp <= claims.iat || claims.exp - claims.iat > MAX_LIFETIME.as_secs() {
        return Err(JwtError::BadLifetime);
    }
    if now_secs >= claims.exp {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

fn decode_json<T: for<'de> Deserialize<'de>>(
    part: &str,
    what: &'static str,
) -> Result<T, JwtError> {
    let malformed = || {
        JwtError::Malformed(if what == "header" {
            "header is not base64url JSON"
        } else {
            "claims are not base64url JSON with sub, aud, iat and exp"
        })
    };
    let raw = decode_b64url(part).ok_or_else(malformed)?;
    serde_json::from_slice(&raw).map_err(|_| malformed())
}

/// How a client uses its tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenMode {
    /// Reuse one token until fewer than `refresh_margin` of its `lifetime` remain (the default:
    /// signing is the most expensive CPU step of a request).
    Reuse {
        /// `exp - iat` of each token.
        lifetime: Duration,
        /// How long before `exp` a new token is signed.
        refresh_margin: Duration,
    },
    /// Sign a fresh token for every request.
    PerRequest {
        /// `exp - iat` of each token.
        lifetime: Duration,
    },
}

impl Default for TokenMode {
    fn default() -> Self {
        Self::Reuse {
            lifetime: DEFAULT_LIFETIME,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
        }
    }
}

impl TokenMode {
    /// Checks that the lifetime is whole seconds in `[1 s, 3600 s]` and that a reused token's
    /// refresh margin is shorter than its lifetime.
    pub fn validate(&self) -> Result<()> {
        let lifetime = match *self {
            Self::Reuse {
                lifetime,
                refresh_margin,
            } => {
                if refresh_margin >= lifetime {
                    return Err(Error::invalid_input(
                        "token mode",
                        "refresh margin must be shorter than the lifetime",
                    ));
                }
                lifetime
            }
            Self::PerRequest { lifetime } => lifetime,
        };
        if lifetime < Duration::from_secs(1) || lifetime > MAX_LIFETIME {
            return Err(Error::invalid_input(
                "token mode",
                "lifetime must be between 1 s and 3600 s",
            ));
        }
        Ok(())
    }

    fn lifetime(self) -> Duration {
        match self {
            Self::Reuse { lifetime, .. } | Self::PerRequest { lifetime } => lifetime,
        }
    }
}

/// A token a request was sent with, as the [`TokenHolder`] handed it out.
#[derive(Clone)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The token; send it as `Authorization: Bearer <token>`.
    pub token: SecretString,
    /// Whether the holder had handed out this token before. A 401 answer to a reused token may
    /// mean the server forgot it, so the client re-signs once and retries.
    pub reused: bool,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &self.token)
            .field("reused", &self.reused)
            .finish()
    }
}

/// Holds a client's current token and decides when to sign a new one.
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::{jwt::TokenHolder, keys::ClientKey, Timestamp};
/// use uuid::Uuid;
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let key = ClientKey::generate(&mut rng);
/// let mut holder = TokenHolder::new(Default::default(), Uuid::from_u128(1), "https://vault.example.com".into())?;
/// let t0 = Timestamp::from_unix_secs(1_700_000_000);
/// let first = holder.token(&key, t0);
/// let again = holder.token(&key, t0 + Duration::from_secs(500));
/// assert!(!first.reused && again.reused);
/// let refreshed = holder.token(&key, t0 + Duration::from_secs(541));
/// assert!(!refreshed.reused);
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone)]
pub struct TokenHolder {
    mode: TokenMode,
    client_id: Uuid,
    audience: String,
    current: Option<(SecretString, u64)>,
}

impl TokenHolder {
    /// A holder for client `client_id` talking to the server whose canonical origin is `audience`.
    pub fn new(mode: TokenMode, client_id: Uuid, audience: String) -> Result<Self> {
        mode.validate()?;
        Ok(Self {
            mode,
            client_id,
            audience,
            current: None,
        })
    }

    /// The token to send at `now`: the current one while it is fresh enough (reuse mode), a newly
    /// signed one otherwise.
    pub fn token(&mut self, key: &ClientKey, now: Timestamp) -> IssuedToken {
        if self.reusable(now)
            && let Some((token, _)) = &self.current
        {
            return IssuedToken {
                token: token.clone(),
                reused: true,
            };
        }
        let iat = now.as_unix_secs();
        let exp = iat.saturating_add(self.mode.lifetime().as_secs());
        let claims = Claims {
            sub: self.client_id,
            aud: self.audience.clone(),
            iat,
            exp,
        };
        let token = sign(key, &claims);
        if matches!(self.mode, TokenMode::Reuse { .. }) {
            self.current = Some((token.clone(), exp));
        }
        IssuedToken {
            token,
            reused: false,
        }
    }

    /// Whether [`TokenHolder::token`] would hand out the current token again at `now`.
    pub(crate) fn reusable(&self, now: Timestamp) -> bool {
        matches!(
            (self.mode, &self.current),
            (TokenMode::Reuse { refresh_margin, .. }, Some((_, exp)))
                if now.as_unix_secs().saturating_add(refresh_margin.as_secs()) < *exp
        )
    }

    /// Forgets the current token, so the next request signs a new one (after a 401).
    pub fn invalidate(&mut self) {
        self.current = None;
    }

    /// The token mode.
    pub fn mode(&self) -> TokenMode {
        self.mode
    }
}

impl fmt::Debug for TokenHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenHolder")
            .field("mode", &self.mode)
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("has_token", &self.current.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use proptest::prelude::*;
    use rand_core::SeedableRng;

    const AUD: &str = "https://vault.example.com";
    const T0: u64 = 1_700_000_000;

    fn key(seed: u64) -> ClientKey {
        ClientKey::generate(&mut ChaCha20Rng::seed_from_u64(seed))
    }

    fn claims(iat: u64, exp: u64) -> Claims {
        Claims {
            sub: Uuid::from_u128(7),
            aud: AUD.into(),
            iat,
            exp,
        }
    }

    fn check(token: &str, key: &ClientKey, now: u64) -> Result<Claims, JwtError> {
        let public = key.public_key();
        verify(token, AUD, Timestamp::from_unix_secs(now), |sub| {
            (*sub == Uuid::from_u128(7)).then_some(public)
        })
    }

    #[test]
    fn layout_is_header_claims_raw_signature() {
        let token = sign(&key(1), &claims(T0, T0 + 600));
        let parts: Vec<_> = token.expose().split('.').collect();
        assert_eq!(decode_b64url(parts[0]).unwrap(), HEADER.as_bytes());
        assert_eq!(
            String::from_utf8(decode_b64url(parts[1]).unwrap()).unwrap(),
            format!(
                r#"{{"sub":"00000000-0000-0000-0000-000000000007","aud":"{AUD}","iat":{T0},"exp":{}}}"#,
                T0 + 600
            )
        );
        assert_eq!(decode_b64url(parts[2]).unwrap().len(), 64);
        assert!(!token.expose().contains('='));
    }

    #[test]
    fn time_rules() {
        let k = key(1);
        let ok = |iat, exp, now| check(sign(&k, &claims(iat, exp)).expose(), &k, now);
        assert!(ok(T0, T0 + 600, T0).is_ok());
        assert!(ok(T0 + 60, T0 + 600, T0).is_ok(), "60 s skew allowed");
        assert_eq!(ok(T0 + 61, T0 + 600, T0), Err(JwtError::IssuedInFuture));
        assert!(ok(T0, T0 + 3600, T0).is_ok());
        assert_eq!(ok(T0, T0 + 3601, T0), Err(JwtError::BadLifetime));
        assert_eq!(ok(T0, T0, T0), Err(JwtError::BadLifetime));
        assert_eq!(ok(T0, T0 + 600, T0 + 600), Err(JwtError::Expired));
        assert!(ok(T0, T0 + 600, T0 + 599).is_ok());
    }

    #[test]
    fn rejects_wrong_key_audience_client_and_tampering() {
        let k = key(1);
        let token = sign(&k, &claims(T0, T0 + 600));
        assert_eq!(
            check(token.expose(), &key(2), T0),
            Err(JwtError::BadSignature)
        );
        let public = k.public_key();
        assert_eq!(
            verify(
                token.expose(),
                "https://other.example.com",
                Timestamp::from_unix_secs(T0),
                |_| Some(public)
            ),
            Err(JwtError::WrongAudience)
        );
        assert_eq!(
            verify(token.expose(), AUD, Timestamp::from_unix_secs(T0), |_| None),
            Err(JwtError::UnknownClient)
        );
        // Claims swapped for a longer-lived set under the same signature.
        let parts: Vec<_> = token.expose().split('.').collect();
        let forged_claims = encode_b64url(&serde_json::to_vec(&claims(T0, T0 + 3600)).unwrap());
        let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
        assert_eq!(check(&forged, &k, T0), Err(JwtError::BadSignature));
        // A DER signature is not accepted.
        let sig = Signature::from_slice(&decode_b64url(parts[2]).unwrap()).unwrap();
        let der = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            encode_b64url(sig.to_der().as_bytes())
        );
        assert!(matches!(check(&der, &k, T0), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn rejects_other_algorithms() {
        let k = key(1);
        let token = sign(&k, &claims(T0, T0 + 600));
        let rest = token.expose().split_once('.').unwrap().1;
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"ES256","typ":"JWS"}"#,
        ] {
            let t = format!("{}.{rest}", encode_b64url(header.as_bytes()));
            assert_eq!(check(&t, &k, T0), Err(JwtError::UnsupportedAlgorithm));
        }
        let reordered = format!(
            "{}.{rest}",
            encode_b64url(br#"{"typ":"JWT","alg":"ES256"}"#)
        );
        // A different header changes the signing input, so it parses but fails the signature.
        assert_eq!(check(&reordered, &k, T0), Err(JwtError::BadSignature));
    }

    /// A token over exactly this header and these claims, validly signed.
    fn signed_raw(k: &ClientKey, header: &str, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            encode_b64url(header.as_bytes()),
            encode_b64url(claims.as_bytes())
        );
        let signature: Signature = k.signing_key().sign(input.as_bytes());
        format!("{input}.{}", encode_b64url(&signature.to_bytes()))
    }

    #[test]
    fn header_and_claims_must_be_objects_and_typ_a_string() {
        let k = key(1);
        let claims = format!(
            r#"{{"sub":"{}","aud":"{AUD}","iat":{T0},"exp":{}}}"#,
            Uuid::from_u128(7),
            T0 + 600
        );
        // The same token with object header and claims verifies.
        assert!(check(&signed_raw(&k, HEADER, &claims), &k, T0).is_ok());
        assert!(check(&signed_raw(&k, r#"{"alg":"ES256"}"#, &claims), &k, T0).is_ok());

        let array_claims = format!(r#"["{}","{AUD}",{T0},{}]"#, Uuid::from_u128(7), T0 + 600);
        assert_eq!(
            check(&signed_raw(&k, HEADER, &array_claims), &k, T0),
            Err(JwtError::Malformed(
                "claims are not base64url JSON with sub, aud, iat and exp"
            ))
        );
        for header in [
            r#"["ES256","JWT"]"#,
            r#"["ES256"]"#,
            r#"{"alg":"ES256","typ":null}"#,
        ] {
            let result = check(&signed_raw(&k, header, &claims), &k, T0);
            assert!(
                matches!(
                    result,
                    Err(JwtError::Malformed(_) | JwtError::UnsupportedAlgorithm)
                ),
                "{header}: {result:?}"
            );
        }
    }

    #[test]
    fn audience_canonicalisation() {
        for (input, expected) in [
            ("https://vault.example.com", "https://vault.example.com"),
            ("https://vault.example.com/", "https://vault.example.com"),
            (
                "HTTPS://VAULT.Example.COM:443/api/",
                "https://vault.example.com",
            ),
            ("http://localhost:80", "http://localhost"),
            ("http://localhost:8200/x?y#z", "http://localhost:8200"),
            (
                "https://vault.example.com:8443",
                "https://vault.example.com:8443",
            ),
            ("http://[::1]:8200", "http://[::1]:8200"),
            ("http://[::1]", "http://[::1]"),
            ("https://vault_1.internal:443", "https://vault_1.internal"),
        ] {
            let canonical = canonical_audience(input).unwrap();
            assert_eq!(
                canonical_audience(&canonical).unwrap(),
                canonical,
                "idempotent"
            );
            assert_eq!(canonical_audience(input).unwrap(), expected, "{input}");
        }
        for bad in [
            "",
            "vault.example.com",
            "ftp://vault.example.com",
            "https://user:pw@vault.example.com",
            "/api",
            // Found by fuzzing: a host with brackets in it, and junk after it.
            "HTTPS://VaI6f9[fI.0MwHTjPS:.fUX:]M$TRlci",
            "https://vault[.example.com",
            "https://[vault.example.com]",
            "https://vault.example.com:8x",
            "https://vault.example.com:99999",
        ] {
            assert!(canonical_audience(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn holder_reuses_until_margin_and_per_request_always_signs() {
        let k = key(1);
        let mut holder =
            TokenHolder::new(TokenMode::default(), Uuid::from_u128(7), AUD.into()).unwrap();
        let t0 = Timestamp::from_unix_secs(T0);
        let a = holder.token(&k, t0);
        let b = holder.token(&k, t0 + Duration::from_secs(539));
        assert!(b.reused);
        assert_eq!(a.token, b.token);
        let c = holder.token(&k, t0 + Duration::from_secs(540));
        assert!(!c.reused);
        assert_ne!(a.token, c.token);
        holder.invalidate();
        assert!(!holder.token(&k, t0 + Duration::from_secs(541)).reused);
        assert!(check(c.token.expose(), &k, T0 + 540).is_ok());

        let mut per_request = TokenHolder::new(
            TokenMode::PerRequest {
                lifetime: Duration::from_secs(60),
            },
            Uuid::from_u128(7),
            AUD.into(),
        )
        .unwrap();
        assert!(!per_request.token(&k, t0).reused);
        assert!(!per_request.token(&k, t0).reused);
        assert!(!format!("{holder:?}").contains(a.token.expose()));
    }

    #[test]
    fn token_modes_are_validated() {
        let bad = [
            TokenMode::Reuse {
                lifetime: Duration::from_secs(60),
                refresh_margin: Duration::from_secs(60),
            },
            TokenMode::Reuse {
                lifetime: Duration::from_secs(3601),
                refresh_margin: Duration::from_secs(60),
            },
            TokenMode::PerRequest {
                lifetime: Duration::ZERO,
            },
        ];
        for mode in bad {
            assert!(
                TokenHolder::new(mode, Uuid::nil(), AUD.into()).is_err(),
                "{mode:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn verify_never_panics(token in "[A-Za-z0-9_.=-]{0,200}") {
            let public = key(1).public_key();
            let _ = verify(&token, AUD, Timestamp::from_unix_secs(T0), |_| Some(public));
        }

        #[test]
        fn verify_never_panics_on_structured_garbage(h in ".{0,40}", c in ".{0,80}", s in proptest::collection::vec(any::<u8>(), 0..70)) {
            let token = format!("{}.{}.{}", encode_b64url(h.as_bytes()), encode_b64url(c.as_bytes()), encode_b64url(&s));
            let public = key(1).public_key();
            prop_assert!(verify(&token, AUD, Timestamp::from_unix_secs(T0), |_| Some(public)).is_err());
        }
    }
}
