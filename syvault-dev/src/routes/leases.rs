//! The dynamic-secret endpoints: `POST /dynamic/lease`, `GET /dynamic/leases`,
//! `POST /dynamic/leases/{id}/renew` and `DELETE /dynamic/leases/{id}`.
//!
//! A lease needs a grant on the record's folder (read access suffices) and a record bound to
//! the database as a dynamic target. Leases belong to the client that took them: another
//! client's lease id is answered as unknown.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};
use syvault_proto::Timestamp;
use syvault_proto::error::ErrorCode;
use syvault_proto::lease::{LEASE_CAP, format_rfc3339};
use syvault_proto::wire::{
    self, DataEnvelope, LeaseCreated, LeaseList, LeaseRequest, LeaseSummary, MAX_LEASE_TTL_SECS,
    MIN_LEASE_TTL_SECS, RenewLeaseRequest,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{Answer, Failure, empty, json, json_bytes, parse_json};
use crate::dynamic::{
    self, DbError, IDEMPOTENCY_WINDOW, LeaseEntry, PendingLease, Refusal, Remembered,
};
use crate::service::App;
use crate::{clock, random};

/// The longest `Idempotency-Key` remembered.
const MAX_KEY_LEN: usize = 200;

fn lease_not_found() -> Failure {
    Failure::new(ErrorCode::LeaseNotFound, "no such lease")
}

fn target_unavailable(err: &DbError) -> Failure {
    // The database's own message goes to the log only: it may name roles or hosts.
    tracing::warn!(error = %err, detail = %err.detail(), "database operation failed");
    Failure::new(
        ErrorCode::TargetUnavailable,
        format!("the database failed: {err}"),
    )
}

/// What an `Idempotency-Key` is bound to: the method, the path and the parsed request's
/// members, so that formatting, member order and unknown members make no difference.
fn request_digest(request: &LeaseRequest) -> [u8; 32] {
    Sha256::digest(format!(
        "POST /dynamic/lease\n{}\n{}",
        request.record_uid, request.ttl_seconds
    ))
    .into()
}

fn key_reused() -> Failure {
    Failure::new(
        ErrorCode::IdempotencyKeyReused,
        "this Idempotency-Key was used with another request; draw a new key for a new request",
    )
}

/// The answer to a client that may not lease on a record (any longer).
fn refused(refusal: Refusal) -> Failure {
    match refusal {
        Refusal::NotVisible => Failure::secret_not_found(),
        Refusal::NotTarget => Failure::new(
            ErrorCode::NotDynamicTarget,
            "this secret is not bound to a database",
        ),
    }
}

fn ttl(ttl_seconds: u64) -> Result<Duration, Failure> {
    if (MIN_LEASE_TTL_SECS..=MAX_LEASE_TTL_SECS).contains(&ttl_seconds) {
        Ok(Duration::from_secs(ttl_seconds))
    } else {
        Err(Failure::invalid_request(format!(
            "ttl_seconds must be from {MIN_LEASE_TTL_SECS} to {MAX_LEASE_TTL_SECS}"
        )))
    }
}

fn summary(lease_id: Uuid, lease: &LeaseEntry) -> LeaseSummary {
    LeaseSummary {
        lease_id,
        record_uid: lease.record_uid,
        username: lease.username.clone(),
        created_at: format_rfc3339(lease.created_at()),
        expires_at: format_rfc3339(lease.expires_at()),
    }
}

/// Counts a new lease of `client_id` toward its limit until the guard drops; 409
/// `lease_limit_reached` past it.
fn start_creating(
    app: &App,
    client_id: Uuid,
    now: Timestamp,
) -> Result<dynamic::Creating<'_>, Failure> {
    let active = app.store.read(|vault| {
        vault
            .leases
            .values()
            .filter(|lease| lease.client_id == client_id && lease.is_active(now))
            .count()
    });
    app.dynamic
        .start_creating(client_id, active)
        .map_err(|limit| {
            Failure::with_status(
                StatusCode::CONFLICT,
                ErrorCode::LeaseLimitReached,
                format!(
                    "this client holds {limit} active leases, the most allowed; revoke one first"
                ),
            )
        })
}

pub(super) async fn create(
    app: &App,
    client_id: Uuid,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<Answer, Failure> {
    let request: LeaseRequest = parse_json(body)?;
    let ttl = ttl(request.ttl_seconds)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key) if !key.is_empty() && key.len() <= MAX_KEY_LEN => Some(key.to_owned()),
            _ => {
                return Err(Failure::invalid_request(
                    "Idempotency-Key must be 1 to 200 visible ASCII characters",
                ));
            }
        },
    };
    let template = app.store.read(|vault| {
        dynamic::entitlement(vault, &client_id, &request.record_uid)
            .cloned()
            .map_err(refused)
    })?;
    let Some(postgres) = app.dynamic.postgres() else {
        return Err(Failure::new(
            ErrorCode::NotDynamicTarget,
            "this server has no database binding",
        ));
    };
    // This key's slot only, held until the answer is remembered, so that a concurrent
    // repeat gets the same answer while other requests go on.
    let slot = key.as_deref().map(|key| app.dynamic.slot(client_id, key));
    let mut remembered = match &slot {
        Some(slot) => Some(slot.lock().await),
        None => None,
    };
    let digest = request_digest(&request);
    if let Some(Some(earlier)) = remembered.as_deref()
        && now.saturating_duration_since(earlier.at) < IDEMPOTENCY_WINDOW
    {
        if earlier.request != digest {
            return Err(key_reused());
        }
        return Ok(json_bytes(StatusCode::CREATED, earlier.body.to_vec()));
    }
    let _creating = start_creating(app, client_id, now)?;
    let username = dynamic::new_username();
    let password = dynamic::new_password();
    let expires_at = now + ttl;
    let lease_id = random::uuid();
    // Recorded before the role exists, so that no role is ever without a lease: if the
    // creation fails or this request is cancelled, the lease expires and the sweeper drops
    // whatever the database created.
    let pending = PendingLease::record(
        &app.store,
        lease_id,
        LeaseEntry {
            client_id,
            record_uid: request.record_uid,
            username: username.clone(),
            database: template.database.clone(),
            created_at_ms: now.as_unix_millis(),
            expires_at_ms: expires_at.as_unix_millis(),
            ended: false,
            creating: true,
        },
    );
    app.dynamic
        .create_role(&username, &password, expires_at, &template)
        .await
        .map_err(|err| target_unavailable(&err))?;
    if !pending.created() {
        // The grant or the binding went away while the role was being created.
        return Err(refused(app.store.read(|vault| {
            dynamic::entitlement(vault, &client_id, &request.record_uid)
                .err()
                .unwrap_or(Refusal::NotVisible)
        })));
    }
    let connection_string = postgres.connection_string(&username, &password, &template.database);
    let body = wire::to_body(&LeaseCreated {
        lease_id,
        username: username.clone(),
        password,
        connection_string,
        expires_at: format_rfc3339(expires_at),
    });
    if let Some(remembered) = &mut remembered {
        **remembered = Some(Remembered {
            at: now,
            request: digest,
            body: Zeroizing::new(body.clone()),
        });
    }
    tracing::info!(%lease_id, %username, record_uid = %request.record_uid, "lease created");
    Ok(json_bytes(StatusCode::CREATED, body))
}

pub(super) fn list(app: &App, client_id: Uuid, now: Timestamp) -> Answer {
    let data = app.store.read(|vault| {
        let mut leases: Vec<_> = vault
            .leases
            .iter()
            .filter(|(_, lease)| lease.client_id == client_id && lease.is_active(now))
            .map(|(id, lease)| summary(*id, lease))
            .collect();
        leases.sort_by(|a, b| (&a.created_at, a.lease_id).cmp(&(&b.created_at, b.lease_id)));
        leases
    });
    json(StatusCode::OK, &LeaseList { data })
}

/// The lease `lease_id` of `client_id`, active or not; foreign and unknown ids are 404.
fn own_lease(app: &App, client_id: Uuid, lease_id: &str) -> Result<(Uuid, LeaseEntry), Failure> {
    let lease_id: Uuid = lease_id.parse().map_err(|_| lease_not_found())?;
    app.store
        .read(|vault| vault.leases.get(&lease_id).cloned())
        .filter(|lease| lease.client_id == client_id)
        .map(|lease| (lease_id, lease))
        .ok_or_else(lease_not_found)
}

pub(super) async fn renew(
    app: &App,
    client_id: Uuid,
    lease_id: &str,
    body: &[u8],
    now: Timestamp,
) -> Result<Answer, Failure> {
    let request: RenewLeaseRequest = parse_json(body)?;
    let ttl = ttl(request.ttl_seconds)?;
    let (lease_id, lease) = own_lease(app, client_id, lease_id)?;
    // The grant and the binding that allowed the lease must still stand; a lease that lost
    // them ends (the admin side ends it too when it removes them).
    let still_entitled = |vault: &mut crate::state::VaultState| {
        let refusal = dynamic::entitlement(vault, &client_id, &lease.record_uid).err();
        if refusal.is_some() {
            dynamic::expire_unentitled(vault, clock::now());
        }
        refusal.map_or(Ok(()), |refusal| Err(refused(refusal)))
    };
    app.store.write(still_entitled)?;
    if !lease.is_active(now) {
        return Err(lease_not_found());
    }
    let expires_at = (now + ttl).min(lease.created_at() + LEASE_CAP);
    app.dynamic
        .extend_role(&lease.username, &lease.database, expires_at)
        .await
        .map_err(|err| target_unavailable(&err))?;
    let renewed = app.store.write(|vault| {
        still_entitled(vault)?;
        let entry = vault
            .leases
            .get_mut(&lease_id)
            .ok_or_else(lease_not_found)?;
        // A revocation or an expiry that raced this renewal wins; the sweeper drops the role.
        if !entry.is_active(clock::now()) {
            return Err(lease_not_found());
        }
        entry.expires_at_ms = entry.expires_at_ms.max(expires_at.as_unix_millis());
        Ok(summary(lease_id, entry))
    })?;
    Ok(json(StatusCode::OK, &DataEnvelope::new(renewed)))
}

pub(super) async fn revoke(app: &App, client_id: Uuid, lease_id: &str) -> Result<Answer, Failure> {
    let (lease_id, lease) = own_lease(app, client_id, lease_id)?;
    if !lease.ended {
        app.dynamic
            .drop_role(&lease.username, &lease.database)
            .await
            .map_err(|err| target_unavailable(&err))?;
        app.store.write(|vault| {
            if let Some(entry) = vault.leases.get_mut(&lease_id) {
                entry.ended = true;
            }
        });
        tracing::info!(%lease_id, username = %lease.username, "lease revoked");
    }
    Ok(empty(StatusCode::NO_CONTENT))
}
