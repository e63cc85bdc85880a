//! `POST /bootstrap`: a one-time token registers a client's public key.
//!
//! The token is single use, but a retried bootstrap must not strand a client whose first
//! answer was lost: the same token with the same public key within [`REPLAY_WINDOW`] of its
//! first use gets the same answer again. Any other second use (another key, or later) is 401.

use std::time::Duration;

use http::StatusCode;
use syvault_proto::Timestamp;
use syvault_proto::bootstrap::RequestToken;
use syvault_proto::keys::ClientPublicKey;
use syvault_proto::wire::{BootstrapRequest, BootstrapResponse};

use super::{Answer, Failure, json, parse_json};
use crate::service::App;
use crate::state::{FirstUse, StoredKey, VaultState, token_key};

/// How long after its first use a token replays its answer to the same public key.
pub(crate) const REPLAY_WINDOW: Duration = Duration::from_secs(600);

pub(super) fn bootstrap(app: &App, body: &[u8], now: Timestamp) -> Result<Answer, Failure> {
    let request: BootstrapRequest = parse_json(body)?;
    let presented = RequestToken::parse(request.token.expose())
        .map_err(|_| Failure::unauthorized("malformed one-time token"))?;
    let public_key = ClientPublicKey::from_sec1(request.public_key.as_slice()).map_err(|_| {
        Failure::invalid_request("public_key is not a 65-byte uncompressed P-256 point")
    })?;
    let answer = app
        .store
        .write(|vault| register(vault, &presented, public_key, now))?;
    Ok(json(StatusCode::OK, &answer))
}

fn register(
    vault: &mut VaultState,
    presented: &RequestToken,
    public_key: ClientPublicKey,
    now: Timestamp,
) -> Result<BootstrapResponse, Failure> {
    let now_ms = now.as_unix_millis();
    let entry = vault
        .tokens
        .get_mut(&token_key(&presented.id))
        .filter(|entry| entry.accepts(presented))
        .ok_or_else(|| Failure::unauthorized("unknown one-time token"))?;
    let client = vault
        .clients
        .get_mut(&entry.client_id)
        .ok_or_else(|| Failure::unauthorized("unknown one-time token"))?;
    if let Some(first) = &entry.first_use {
        let window = u64::try_from(REPLAY_WINDOW.as_millis()).unwrap_or(u64::MAX);
        if first.public_key.0 != public_key || now_ms.saturating_sub(first.at_ms) > window {
            return Err(Failure::unauthorized("one-time token already used"));
        }
    } else {
        if now_ms >= entry.expires_at_ms {
            return Err(Failure::unauthorized("one-time token expired"));
        }
        if client.public_key.is_some() {
            return Err(Failure::unauthorized("client already bootstrapped"));
        }
        entry.first_use = Some(FirstUse {
            at_ms: now_ms,
            public_key: StoredKey(public_key),
        });
        client.public_key = Some(StoredKey(public_key));
    }
    Ok(BootstrapResponse {
        client_id: entry.client_id,
        application_id: client.application_id,
        encrypted_folder_keys: entry.sealed_keys.clone(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use syvault_proto::bootstrap::OneTimeToken;
    use syvault_proto::keys::ClientKey;
    use syvault_proto::wire::Base64Bytes;
    use uuid::Uuid;

    use super::*;
    use crate::random::rng;
    use crate::state::{ClientEntry, TokenEntry};

    const T0: Timestamp = Timestamp::from_unix_secs(1_767_225_600);
    const CLIENT: Uuid = Uuid::from_u128(0xc11e);

    /// A vault with one client whose one-time token (returned as presented) is unused.
    fn vault() -> (VaultState, RequestToken) {
        let token = OneTimeToken::generate(&mut rng());
        let keys = token.derive();
        let verifier = keys.verifier();
        let mut vault = VaultState::default();
        vault.clients.insert(
            CLIENT,
            ClientEntry {
                application_id: Uuid::from_u128(0xa),
                name: "svc".into(),
                public_key: None,
                grants: BTreeMap::new(),
                folder_keys: BTreeMap::new(),
            },
        );
        vault.tokens.insert(
            token_key(&verifier.id),
            TokenEntry {
                client_id: CLIENT,
                auth_hash: Base64Bytes::from(verifier.auth_hash.as_slice()),
                expires_at_ms: (T0 + Duration::from_secs(3600)).as_unix_millis(),
                sealed_keys: BTreeMap::new(),
                first_use: None,
            },
        );
        let presented = RequestToken::parse(keys.request_token().expose()).unwrap();
        (vault, presented)
    }

    fn public_key() -> ClientPublicKey {
        ClientKey::generate(&mut rng()).public_key()
    }

    fn refusal(result: Result<BootstrapResponse, Failure>) -> String {
        let failure = result.expect_err("refused");
        assert_eq!(failure.status, StatusCode::UNAUTHORIZED);
        failure.message
    }

    #[test]
    fn a_retransmission_replays_within_the_window_and_not_after_it() {
        let (mut vault, presented) = vault();
        let key = public_key();
        let first = register(&mut vault, &presented, key, T0).unwrap();
        let replay = register(&mut vault, &presented, key, T0 + REPLAY_WINDOW).unwrap();
        assert_eq!(replay.client_id, first.client_id);
        let late = T0 + REPLAY_WINDOW + Duration::from_millis(1);
        assert_eq!(
            refusal(register(&mut vault, &presented, key, late)),
            "one-time token already used"
        );
        assert_eq!(
            refusal(register(&mut vault, &presented, public_key(), T0)),
            "one-time token already used",
            "another key never replays"
        );
    }

    #[test]
    fn a_client_that_already_has_a_key_is_not_bootstrapped_again() {
        let (mut vault, presented) = vault();
        let existing = public_key();
        vault.clients.get_mut(&CLIENT).unwrap().public_key = Some(StoredKey(existing));
        assert_eq!(
            refusal(register(&mut vault, &presented, public_key(), T0)),
            "client already bootstrapped"
        );
        let entry = &vault.clients[&CLIENT];
        assert!(entry.public_key.as_ref().is_some_and(|k| k.0 == existing));
        assert!(vault.tokens.values().all(|t| t.first_use.is_none()));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let (mut vault, presented) = vault();
        let expired = T0 + Duration::from_secs(3600);
        assert_eq!(
            refusal(register(&mut vault, &presented, public_key(), expired)),
            "one-time token expired"
        );
    }
}
