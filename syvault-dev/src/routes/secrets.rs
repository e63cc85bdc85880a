//! `GET /secrets`, `GET /secrets/{uid}` and `POST /secrets`.
//!
//! Listings are ordered by UID and paged with a cursor that names the last UID of the previous
//! page (authenticated, see [`crate::cursor`]), so pages stay stable while records are added.
//! A client sees the records of every folder it has a grant on. A listing with `since` is a
//! delta computed from the change log ([`crate::sync`]): changed records and the UIDs of those
//! no longer visible, merged in UID order and paged the same way. The last page of either
//! kind carries the sync token of the position at which the walk's first page was served. A
//! record's `ETag` is its revision (`"r3"`), which is all a client needs to revalidate a
//! cached copy.

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
use crate::cursor::{CursorKey, Scope, Tag};
use crate::service::App;
use crate::state::{StoredRecord, VaultState};
use crate::sync::{self, Delta, Expired, Position};

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
    now: Timestamp,
) -> Result<Answer, Failure> {
    let incremental = app.incremental && !app.faults.ignores_since();
    let raw = query.unwrap_or_default();
    let query = if incremental {
        ListQuery::parse(raw)
    } else {
        // A server that does not know `since` does not look at it at all.
        ListQuery::parse(&without_since(raw))
    }
    .map_err(|err| Failure::invalid_request(err.to_string()))?;
    let limit =
        usize::try_from(query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT)).unwrap_or(usize::MAX);
    let scope = Scope {
        client: &client_id,
        folder: query.folder_id.as_ref(),
    };
    let since = query
        .since
        .as_deref()
        .map(|token| {
            CursorKey::read_token(token)
                .ok_or_else(|| Failure::invalid_request("since is not a sync token of this server"))
        })
        .transpose()?;
    let mut page = app.store.read(|vault| {
        let since = since
            .map(|(position, tag)| check_since(app, vault, scope, position, &tag, now))
            .transpose()?;
        let (after, start) = match query.cursor.as_deref() {
            Some(cursor) => {
                let (uid, start) = app.cursors.check(scope, since, cursor).ok_or_else(|| {
                    Failure::invalid_request("cursor is not one this server issued")
                })?;
                (Some(uid), start)
            }
            None => (None, vault.sync.position()),
        };
        if let Some(folder_id) = scope.folder
            && vault.access(&client_id, folder_id).is_none()
        {
            return Err(Failure::folder_not_found());
        }
        let walk = Walk {
            app,
            vault,
            scope,
            after,
            start,
            limit,
        };
        let mut page = match since {
            None => walk.full_page(),
            Some(since) => walk.delta_page(since),
        };
        if page.next_cursor.is_none() && incremental {
            page.sync_token = Some(app.cursors.token(scope, start));
        }
        Ok(page)
    })?;
    if !page.data.is_empty() && app.faults.take_corruption(path) {
        page.data.iter_mut().for_each(corrupt);
    }
    Ok(json(StatusCode::OK, &page))
}

/// The position of a `since` token, if this server issued it for `scope` and still holds every
/// change after it.
fn check_since(
    app: &App,
    vault: &VaultState,
    scope: Scope<'_>,
    position: Position,
    tag: &Tag,
    now: Timestamp,
) -> Result<Position, Failure> {
    // An unknown epoch is a history this server no longer has (410). It is checked before the
    // MAC, which a token from before a lost key would fail.
    if !vault.sync.knows_epoch(position.epoch) {
        return Err(Failure::sync_token_expired());
    }
    if !app.cursors.verify_token(scope, position, tag) {
        return Err(Failure::invalid_request(
            "since is not a sync token this server issued to this client for this folder filter",
        ));
    }
    vault
        .sync
        .covers(position, now)
        .map_err(|Expired| Failure::sync_token_expired())?;
    Ok(position)
}

/// One page of a walk: who lists, after which UID, from which first position.
struct Walk<'a> {
    app: &'a App,
    vault: &'a VaultState,
    scope: Scope<'a>,
    after: Option<RecordUid>,
    start: Position,
    limit: usize,
}

impl Walk<'_> {
    /// The next page of a full listing.
    fn full_page(&self) -> SecretList {
        let Self { app, vault, .. } = *self;
        let after = self.after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut visible = vault
            .records
            .range((after, Bound::Unbounded))
            .filter(|(_, stored)| {
                self.scope.folder.is_none_or(|id| *id == stored.folder_id)
                    && vault.access(self.scope.client, &stored.folder_id).is_some()
            });
        let data: Vec<Record> = visible
            .by_ref()
            .take(self.limit)
            .map(|(uid, stored)| served(app, vault, *uid, stored))
            .collect();
        let next_cursor = data
            .last()
            .filter(|_| visible.next().is_some())
            .map(|record| app.cursors.issue(self.scope, None, &record.uid, self.start));
        SecretList::full(data, next_cursor)
    }

    /// The next page of a delta since `since`: changed records and UIDs no longer visible,
    /// merged in UID order.
    fn delta_page(&self, since: Position) -> SecretList {
        let Self { app, vault, .. } = *self;
        let changes = sync::delta(vault, self.scope.client, self.scope.folder, since.seq);
        let after = self.after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut items = changes.range((after, Bound::Unbounded));
        let mut page = SecretList {
            delta: true,
            ..SecretList::full(Vec::new(), None)
        };
        let mut last = None;
        for (uid, change) in items.by_ref().take(self.limit) {
            match (change, vault.records.get(uid)) {
                (Delta::Changed, Some(stored)) => page.data.push(served(app, vault, *uid, stored)),
                _ => page.deleted.push(*uid),
            }
            last = Some(*uid);
        }
        page.next_cursor = last
            .filter(|_| items.next().is_some())
            .map(|uid| app.cursors.issue(self.scope, Some(since), &uid, self.start));
        page
    }
}

/// The query without its `since` parameters, for a server that does not know them.
fn without_since(query: &str) -> String {
    let query = query.strip_prefix('?').unwrap_or(query);
    query
        .split('&')
        .filter(|pair| pair.split_once('=').map_or(*pair, |(name, _)| name) != "since")
        .collect::<Vec<_>>()
        .join("&")
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
        vault.log_record(request.uid, None, Some(request.folder_id));
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
