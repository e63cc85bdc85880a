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
