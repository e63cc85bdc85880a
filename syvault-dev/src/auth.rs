//! Bearer-token authentication with a cache of verified tokens.
//!
//! A token is verified by the core ([`syvault_proto::jwt::verify`]): ES256 signature under the
//! public key the client registered at bootstrap, `aud` equal to the server's canonical origin,
//! `iat` at most 60 s in the future, a lifetime of at most an hour, `exp` not passed. A verified
//! token is remembered (by its SHA-256, so the cache holds no usable credential) until its
//! `exp`: clients reuse a token for many requests, and the signature check is the costliest
//! step of a request.
//!
//! A server bound to a loopback address answers to `localhost`, `127.0.0.1` and `[::1]`
//! alike, so it accepts the origin under each of those names (same scheme and port).

use std::collections::HashMap;
use std::sync::Mutex;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use syvault_proto::Timestamp;
use syvault_proto::jwt::{self, JwtError};
use uuid::Uuid;

use crate::lock::lock;
use crate::routes::Failure;
use crate::state::Store;

/// Entries above which expired tokens are swept from the cache.
const CACHE_SWEEP_AT: usize = 10_000;

/// Checks bearer tokens for one server.
#[derive(Debug)]
pub(crate) struct Authenticator {
    /// Accepted `aud` values, the canonical origin first.
    audiences: Vec<String>,
    verified: Mutex<HashMap<[u8; 32], Verified>>,
}

#[derive(Clone, Copy, Debug)]
struct Verified {
    client_id: Uuid,
    /// Unix seconds.
    exp: u64,
}

impl Authenticator {
    pub(crate) fn new(audiences: Vec<String>) -> Self {
        Self {
            audiences,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The client a request's `Authorization: Bearer` token proves, or the 401 to answer.
    pub(crate) fn authenticate(
        &self,
        headers: &HeaderMap,
        store: &Store,
        now: Timestamp,
    ) -> Result<Uuid, Failure> {
        let token = bearer_token(headers)
            .ok_or_else(|| Failure::unauthorized("missing or malformed bearer token"))?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let cached = lock(&self.verified).get(&digest).copied();
        if let Some(hit) = cached {
            if now.as_unix_secs() < hit.exp {
                return Ok(hit.client_id);
            }
            lock(&self.verified).remove(&digest);
            return Err(rejection(JwtError::Expired));
        }
        let claims = self.verify(token, store, now).map_err(rejection)?;
        let mut cache = lock(&self.verified);
        if cache.len() >= CACHE_SWEEP_AT {
            let now_secs = now.as_unix_secs();
            cache.retain(|_, entry| now_secs < entry.exp);
            if cache.len() >= CACHE_SWEEP_AT {
                cache.clear();
            }
        }
        cache.insert(
            digest,
            Verified {
                client_id: claims.sub,
                exp: claims.exp,
            },
        );
        Ok(claims.sub)
    }

    fn verify(&self, token: &str, store: &Store, now: Timestamp) -> Result<jwt::Claims, JwtError> {
        let lookup = |sub: &Uuid| {
            store.read(|vault| {
                vault
                    .clients
                    .get(sub)
                    .and_then(|client| client.public_key)
                    .map(|key| key.0)
            })
        };
        let mut result = Err(JwtError::WrongAudience);
        // Only a wrong audience is worth trying the next accepted name for.
        for audience in &self.audiences {
            result = jwt::verify(token, audience, now, lookup);
            if result != Err(JwtError::WrongAudience) {
                break;
            }
        }
        result
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None;
    }
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn rejection(err: JwtError) -> Failure {
    match err {
        JwtError::Expired => Failure::token_expired(),
        other => Failure::unauthorized(&format!("token rejected: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::rng;
    use crate::state::{ClientEntry, StoredKey, VaultState};
    use http::HeaderValue;
    use syvault_proto::keys::ClientKey;

    const AUD: &str = "http://127.0.0.1:8200";

    fn headers_for(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        headers
    }

    /// A store holding one client with a registered key, and that key.
    fn one_client() -> (ClientKey, Uuid, Store) {
        let key = ClientKey::generate(&mut rng());
        let client_id = Uuid::from_u128(7);
        let mut vault = VaultState::default();
        vault.clients.insert(
            client_id,
            ClientEntry {
                application_id: Uuid::from_u128(1),
                name: "c".into(),
                public_key: Some(StoredKey(key.public_key())),
                grants: std::collections::BTreeMap::new(),
                folder_keys: std::collections::BTreeMap::new(),
            },
        );
        (key, client_id, Store::new(vault))
    }

    #[test]
    fn a_verified_token_is_served_from_the_cache_until_it_expires() {
        let (key, client_id, store) = one_client();
        let auth = Authenticator::new(vec![AUD.into()]);
        let t0 = 1_700_000_000;
        let sign = |iat: u64| {
            let claims = jwt::Claims::new(client_id, AUD, iat, iat + 600);
            jwt::sign(&key, &claims).expose().to_owned()
        };
        let token = sign(t0);
        let at = |secs| Timestamp::from_unix_secs(secs);
        assert_eq!(
            auth.authenticate(&headers_for(&token), &store, at(t0))
                .unwrap(),
            client_id
        );

        // With the public key gone, only a cached token can still pass: no signature check ran.
        store.write(|vault| vault.clients.get_mut(&client_id).unwrap().public_key = None);
        assert_eq!(
            auth.authenticate(&headers_for(&token), &store, at(t0 + 1))
                .unwrap(),
            client_id
        );
        let fresh = sign(t0 + 1);
        let err = auth
            .authenticate(&headers_for(&fresh), &store, at(t0 + 1))
            .unwrap_err();
        assert!(format!("{err:?}").contains("Unauthorized"), "{err:?}");

        // The expiry rule still applies to cached tokens.
        let err = auth
            .authenticate(&headers_for(&token), &store, at(t0 + 600))
            .unwrap_err();
        assert!(format!("{err:?}").contains("TokenExpired"), "{err:?}");
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        headers.append(AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn the_verified_token_cache_is_swept_of_expired_tokens_at_its_bound() {
        let (key, client_id, store) = one_client();
        let auth = Authenticator::new(vec![AUD.into()]);
        let now = 1_700_000_000;
        let token = |iat: u64| {
            let claims = jwt::Claims::new(client_id, AUD, iat, iat + 600);
            jwt::sign(&key, &claims).expose().to_owned()
        };
        let digest = |n: usize| -> [u8; 32] { Sha256::digest(n.to_be_bytes()).into() };
        let cached = |digest: &[u8; 32]| lock(&auth.verified).contains_key(digest);
        // One entry short of the bound: one live, one expiring exactly now, the rest expired.
        {
            let mut cache = lock(&auth.verified);
            for n in 0..CACHE_SWEEP_AT - 1 {
                let exp = match n {
                    0 => now + 100,
                    1 => now,
                    _ => now - 1,
                };
                cache.insert(digest(n), Verified { client_id, exp });
            }
        }
        let at = Timestamp::from_unix_secs(now);
        // Below the bound nothing is swept: a sweep scans the whole cache.
        let first = token(now - 10);
        auth.authenticate(&headers_for(&first), &store, at).unwrap();
        assert_eq!(lock(&auth.verified).len(), CACHE_SWEEP_AT);
        // At the bound the expired entries go, and only those.
        let second = token(now - 5);
        auth.authenticate(&headers_for(&second), &store, at)
            .unwrap();
        assert_eq!(lock(&auth.verified).len(), 3);
        assert!(cached(&digest(0)) && !cached(&digest(1)));
        for token in [first, second] {
            assert!(cached(&Sha256::digest(token.as_bytes()).into()));
        }

        // When every entry is live, the cache starts over rather than grow.
        {
            let mut cache = lock(&auth.verified);
            for n in 0..CACHE_SWEEP_AT {
                cache.insert(
                    digest(n),
                    Verified {
                        client_id,
                        exp: now + 100,
                    },
                );
            }
        }
        auth.authenticate(&headers_for(&token(now - 1)), &store, at)
            .unwrap();
        assert_eq!(lock(&auth.verified).len(), 1);
    }
}
