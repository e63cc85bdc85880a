//! `GET /secrets`, `GET /secrets/{uid}` and `POST /secrets`.
//!
//! Listings are ordered by UID and paged with a cursor that names the last UID of the previous
//! page (authenticated, see [`crate::cursor`]), so pages stay stable while records are added. A client sees the records of every
//! folder it has a grant on. A record's `ETag` is its revision (`"r3"`), which is all a client
//! needs to revalidate a cached copy.

use std::ops::Bound;

use http::header::{ETAG, HeaderValue, IF_NONE_MATCH, LOCATION};
use http::{HeaderMap, StatusCode};
use syvault_proto::wire::{
    Access, CreateSecretRequest, DataEnvelope, ListQuery, Record, SecretList, paths,
};
use syvault_proto::{RecordUid, Timestamp, blob};
use uuid::Uuid;

use super::{Answer, Failure, json, parse_json};
use crate::clock;
use crate::service::App;
use crate::state::{StoredRecord, VaultState};

/// Page size when the request names none.
pub(crate) const DEFAULT_LIMIT: u32 = 100;
/// Largest page; larger limits are lowered to it.
pub(crate) const MAX_LIMIT: u32 = 500;
/// Length of a wrapped data key: a 32-byte key in an AES-GCM blob.
const DEK_BLOB_LEN: usize = 32 + blob::OVERHEAD;

pub(super) fn list(
    app: &App,
    client_id: Uuid,
    query: Option<&str>,
    path: &str,
) -> Result<Answer, Failure> {
    let query = ListQuery::parse(query.unwrap_or_default())
        .map_err(|err| Failure::invalid_request(err.to_string()))?;
    let limit =
        usize::try_from(query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT)).unwrap_or(usize::MAX);
    let folder_filter = query.folder_id.as_ref();
    let after = query
        .cursor
        .as_deref()
        .map(|cursor| {
            app.cursors
                .check(&client_id, folder_filter, cursor)
                .ok_or_else(|| Failure::invalid_request("cursor is not one this server issued"))
        })
        .transpose()?;
    let (mut data, next_cursor) = app.store.read(|vault| {
        if let Some(folder_id) = &query.folder_id
            && vault.access(&client_id, folder_id).is_none()
        {
            return Err(Failure::folder_not_found());
        }
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut visible = vault
            .records
            .range((start, Bound::Unbounded))
            .filter(|(_, stored)| {
                query.folder_id.is_none_or(|id| id == stored.folder_id)
                    && vault.access(&client_id, &stored.folder_id).is_some()
            });
        let page: Vec<Record> = visible
            .by_ref()
            .take(limit)
            .map(|(uid, stored)| served(app, vault, *uid, stored))
            .collect();
        let more = visible.next().is_some();
        let next = page
            .last()
            .filter(|_| more)
            .map(|record| app.cursors.issue(&client_id, folder_filter, &record.uid));
        Ok((page, next))
    })?;
    if !data.is_empty() && app.faults.take_corruption(path) {
        data.iter_mut().for_each(corrupt);
    }
    Ok(json(StatusCode::OK, &SecretList::full(data, next_cursor)))
}

pub(super) fn get(
    app: &App,
    client_id: Uuid,
    uid: &str,
    headers: &HeaderMap,
    path: &str,
) -> Result<Answer, Failure> {
    let uid: RecordUid = uid.parse().map_err(|_| Failure::secret_not_found())?;
    let record = app
        .store
        .read(|vault| {
            let stored = vault.records.get(&uid)?;
            vault.access(&client_id, &stored.folder_id)?;
            Some(served(app, vault, uid, stored))
        })
        .ok_or_else(Failure::secret_not_found)?;
    let etag = etag(record.revision);
    if matches_any(headers, &etag) {
        let mut answer = super::empty(StatusCode::NOT_MODIFIED);
        answer.headers_mut().insert(ETAG, etag);
        return Ok(answer);
    }
    Ok(record_answer(app, StatusCode::OK, record, path))
}

pub(super) fn create(
    app: &App,
    client_id: Uuid,
    body: &[u8],
    path: &str,
    now: Timestamp,
) -> Result<Answer, Failure> {
    let request: CreateSecretRequest = parse_json(body)?;
    if request.encrypted_dek.len() != DEK_BLOB_LEN {
        return Err(Failure::invalid_request(format!(
            "encrypted_dek must be a {DEK_BLOB_LEN}-byte AES-GCM blob"
        )));
    }
    if request.encrypted_data.len() < blob::OVERHEAD {
        return Err(Failure::invalid_request(
            "encrypted_data is too short to be an AES-GCM blob",
        ));
    }
    let created_at = clock::rfc3339(now);
    let record = app.store.write(|vault| {
        match vault.access(&client_id, &request.folder_id) {
            None => return Err(Failure::folder_not_found()),
            Some(Access::Read) => {
                return Err(Failure::forbidden("the grant on this folder is read-only"));
            }
            Some(Access::ReadWrite) => {}
            // A grant this server does not know is not one to write under.
            Some(_) => {
                return Err(Failure::forbidden(
                    "the grant on this folder does not allow writing",
                ));
            }
        }
        if vault.records.contains_key(&request.uid) {
            return Err(Failure::new(
                syvault_proto::error::ErrorCode::UidConflict,
                "a secret with this UID already exists",
            ));
        }
        let stored = StoredRecord {
            folder_id: request.folder_id,
            revision: 1,
            encrypted_dek: request.encrypted_dek,
            encrypted_data: request.encrypted_data,
            created_at: created_at.clone(),
            updated_at: created_at,
        };
        let record = stored.to_wire(request.uid);
        vault.records.insert(request.uid, stored);
        Ok(record)
    })?;
    let location = HeaderValue::from_str(&paths::secret(&record.uid)).ok();
    let mut answer = record_answer(app, StatusCode::CREATED, record, path);
    if let Some(location) = location {
        answer.headers_mut().insert(LOCATION, location);
    }
    Ok(answer)
}

/// `{"data": record}` with the record's `ETag`, corrupted if a fault says so.
fn record_answer(app: &App, status: StatusCode, mut record: Record, path: &str) -> Answer {
    let etag = etag(record.revision);
    if app.faults.take_corruption(path) {
        corrupt(&mut record);
    }
    let mut answer = json(status, &DataEnvelope::new(record));
    answer.headers_mut().insert(ETAG, etag);
    answer
}

/// The record as served: its stored form, unless a fault swaps its ciphertext with another's.
fn served(app: &App, vault: &VaultState, uid: RecordUid, stored: &StoredRecord) -> Record {
    let mut record = stored.to_wire(uid);
    // A chaos swap serves the next record's ciphertext (in UID order, wrapping around).
    let chaos_swap = || {
        app.faults.chaos_swap().then(|| {
            vault
                .records
                .range((Bound::Excluded(uid), Bound::Unbounded))
                .chain(vault.records.iter())
                .map(|(other, _)| *other)
                .find(|other| *other != uid)
        })?
    };
    if let Some(other) = app
        .faults
        .swapped_with(&uid)
        .or_else(chaos_swap)
        .and_then(|other| vault.records.get(&other))
    {
        record.encrypted_dek = other.encrypted_dek.clone();
        record.encrypted_data = other.encrypted_data.clone();
    }
    record
}

/// Flips a bit of the authentication tag, so the payload no longer decrypts.
fn corrupt(record: &mut Record) {
    if let Some(last) = record.encrypted_data.0.last_mut() {
        *last ^= 0x01;
    }
}

fn etag(revision: u64) -> HeaderValue {
    // Digits and quotes only: always a valid header value.
    HeaderValue::from_str(&format!("\"r{revision}\"")).unwrap_or(HeaderValue::from_static("\"r0\""))
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header).
fn matches_any(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists() {
        let etag = etag(3);
        let check = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(IF_NONE_MATCH, HeaderValue::from_static(value));
            matches_any(&headers, &etag)
        };
        assert!(check("\"r3\""));
        assert!(check("W/\"r3\""));
        assert!(check("\"r1\", \"r3\""));
        assert!(check("*"));
        assert!(!check("\"r2\""));
        assert!(!check("r3"));
        assert!(!matches_any(&HeaderMap::new(), &etag));
    }
}
