//! The change log behind incremental listings (`docs/protocol.md` §9.6.2).
//!
//! Every change that can alter what a client lists is numbered in one sequence: a record
//! created, changed, moved or deleted (with the folder it left, so a deleted or moved record
//! leaves a tombstone), and a grant added or revoked for one client. A sync token stands for a
//! [`Position`] in that sequence; a delta since it is computed from the changes after it, so an
//! unchanged vault costs a lookup, not a walk of every record.
//!
//! The log keeps changes for a bounded time and up to a bounded number; a token whose position
//! is older than the oldest change kept is expired (410). Each start of the server opens a new
//! *epoch* with a random id: positions name their epoch, and a restart that lost changes (the
//! process was killed before it saved them) ends the old epoch at the last saved change, so a
//! token of a lost position is expired rather than silently wrong. The log and the key that
//! authenticates tokens and cursors are part of the state `--data` persists.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use rand_core::Rng as _;
use serde::{Deserialize, Serialize};
use syvault_proto::wire::Base64Bytes;
use syvault_proto::{RecordUid, Timestamp};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::random;
use crate::state::VaultState;

/// How long changes are kept unless configured otherwise: a day, longer than any sensible
/// cache TTL, so that a client that lists once per TTL never meets an expired token.
pub const DEFAULT_SYNC_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How many changes are kept at most unless configured otherwise.
pub const DEFAULT_SYNC_LOG_CAPACITY: usize = 100_000;

/// How many epochs (starts of the server) are remembered at most. Older ones are forgotten,
/// and their tokens expire, even when no change was made since, so that a server restarted
/// again and again does not grow its state without bound.
const MAX_EPOCHS: usize = 64;

/// A point in the change history: an epoch and the sequence number of the last change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) epoch: u64,
    pub(crate) seq: u64,
}

impl Position {
    /// Length of [`Position::to_hex`].
    pub(crate) const HEX_LEN: usize = 32;

    /// 32 lowercase hex digits: the epoch, then the sequence number.
    pub(crate) fn to_hex(self) -> String {
        format!("{:016x}{:016x}", self.epoch, self.seq)
    }

    /// Reads [`Position::to_hex`]'s form exactly (lowercase, fixed length).
    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        let valid = text.len() == Self::HEX_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return None;
        }
        let (epoch, seq) = text.split_at(16);
        Some(Self {
            epoch: u64::from_str_radix(epoch, 16).ok()?,
            seq: u64::from_str_radix(seq, 16).ok()?,
        })
    }

    /// The bytes a MAC covers.
    pub(crate) fn to_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.epoch.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }
}

/// The key that authenticates sync tokens and list cursors, kept with the state.
#[derive(Clone)]
pub(crate) struct ListKey(Zeroizing<[u8; 32]>);

impl ListKey {
    fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        random::rng().fill_bytes(key.as_mut());
        Self(key)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ListKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ListKey([redacted])")
    }
}

impl Serialize for ListKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Base64Bytes::from(self.0.as_slice()).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ListKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = Zeroizing::new(Base64Bytes::deserialize(deserializer)?.0);
        let key = <[u8; 32]>::try_from(bytes.as_slice())
            .map_err(|_| serde::de::Error::custom("the list key is not 32 bytes"))?;
        Ok(Self(Zeroizing::new(key)))
    }
}

/// One start of the server: the sequence numbers its positions may have.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Epoch {
    id: u64,
    /// The head when the epoch began.
    first: u64,
    /// The head when it ended (the last change saved); `None` for the running epoch.
    last: Option<u64>,
}

/// A numbered change.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Event {
    seq: u64,
    /// Unix milliseconds, never less than the previous event's.
    at_ms: u64,
    change: Change,
}

/// What changed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Change {
    /// A record was created (`before` is `None`), changed, moved, or deleted (`after` is
    /// `None`). The folders say where a client could have seen it.
    Record {
        uid: RecordUid,
        before: Option<Uuid>,
        after: Option<Uuid>,
    },
    /// `client`'s grant on `folder` was added or revoked.
    Grant {
        client: Uuid,
        folder: Uuid,
        added: bool,
    },
}

/// Why a token's position cannot be answered with a delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expired;

/// The change log. See the module documentation.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SyncLog {
    key: ListKey,
    epochs: Vec<Epoch>,
    /// The sequence number of the last change.
    head: u64,
    /// Every change numbered above `floor` is in `events`.
    floor: u64,
    events: VecDeque<Event>,
    #[serde(skip, default = "default_retention")]
    retention: Duration,
    #[serde(skip, default = "default_capacity")]
    capacity: usize,
}

fn default_retention() -> Duration {
    DEFAULT_SYNC_RETENTION
}

fn default_capacity() -> usize {
    DEFAULT_SYNC_LOG_CAPACITY
}

impl Default for SyncLog {
    fn default() -> Self {
        Self {
            key: ListKey::generate(),
            epochs: vec![Epoch {
                id: random::rng().next_u64(),
                first: 0,
                last: None,
            }],
            head: 0,
            floor: 0,
            events: VecDeque::new(),
            retention: DEFAULT_SYNC_RETENTION,
            capacity: DEFAULT_SYNC_LOG_CAPACITY,
        }
    }
}

impl SyncLog {
    /// Begins a start of the server: applies the limits, ends the running epoch at the last
    /// change the state holds and opens a new one.
    pub(crate) fn start(&mut self, retention: Duration, capacity: usize, now: Timestamp) {
        self.retention = retention;
        self.capacity = capacity;
        let head = self.head;
        for epoch in &mut self.epochs {
            epoch.last.get_or_insert(head);
        }
        let mut id = random::rng().next_u64();
        while self.epochs.iter().any(|epoch| epoch.id == id) {
            id = random::rng().next_u64();
        }
        self.epochs.push(Epoch {
            id,
            first: head,
            last: None,
        });
        let excess = self.epochs.len().saturating_sub(MAX_EPOCHS);
        self.epochs.drain(..excess);
        self.trim(now);
    }

    /// The key of tokens and cursors.
    pub(crate) fn key(&self) -> &ListKey {
        &self.key
    }

    /// The current position.
    pub(crate) fn position(&self) -> Position {
        let epoch = self
            .epochs
            .iter()
            .find(|epoch| epoch.last.is_none())
            .or(self.epochs.last())
            .map_or(0, |epoch| epoch.id);
        Position {
            epoch,
            seq: self.head,
        }
    }

    /// Whether positions of `epoch` can be placed; tokens of other epochs are expired.
    pub(crate) fn knows_epoch(&self, epoch: u64) -> bool {
        self.epochs.iter().any(|known| known.id == epoch)
    }

    /// Checks that every change after `position` is still known.
    pub(crate) fn covers(&self, position: Position, now: Timestamp) -> Result<(), Expired> {
        let epoch = self
            .epochs
            .iter()
            .find(|epoch| epoch.id == position.epoch)
            .ok_or(Expired)?;
        let last = epoch.last.unwrap_or(self.head);
        if position.seq < epoch.first || position.seq > last {
            return Err(Expired);
        }
        if position.seq < self.live_floor(now) {
            return Err(Expired);
        }
        Ok(())
    }

    /// Appends a change and forgets what is now beyond the limits.
    pub(crate) fn append(&mut self, change: Change, now: Timestamp) {
        self.head += 1;
        let at_ms = self
            .events
            .back()
            .map_or(0, |last| last.at_ms)
            .max(now.as_unix_millis());
        self.events.push_back(Event {
            seq: self.head,
            at_ms,
            change,
        });
        self.trim(now);
    }

    /// The changes numbered above `seq`.
    fn since(&self, seq: u64) -> impl Iterator<Item = &Change> {
        let start = self.events.partition_point(|event| event.seq <= seq);
        self.events.range(start..).map(|event| &event.change)
    }

    /// `floor`, raised past the changes that have outlived the retention since they were
    /// last trimmed (trimming happens on writes, and listings only read).
    fn live_floor(&self, now: Timestamp) -> u64 {
        let expired = self
            .events
            .partition_point(|event| self.is_expired(event, now));
        expired
            .checked_sub(1)
            .and_then(|last| self.events.get(last))
            .map_or(self.floor, |event| event.seq.max(self.floor))
    }

    fn is_expired(&self, event: &Event, now: Timestamp) -> bool {
        let retention = u64::try_from(self.retention.as_millis()).unwrap_or(u64::MAX);
        event.at_ms.saturating_add(retention) <= now.as_unix_millis()
    }

    fn trim(&mut self, now: Timestamp) {
        while let Some(front) = self.events.front() {
            if self.events.len() <= self.capacity && !self.is_expired(front, now) {
                break;
            }
            self.floor = front.seq;
            self.events.pop_front();
        }
        let floor = self.floor;
        self.epochs
            .retain(|epoch| epoch.last.is_none_or(|last| last >= floor));
    }
}

/// How a UID appears in a delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delta {
    /// Visible now: its current version goes in `data`.
    Changed,
    /// Not visible now: its UID goes in `deleted`.
    Gone,
}

/// What changed for `client` under `filter` after sequence number `since`, by UID.
///
/// A record is a candidate when a change after `since` touched it or its folder's grant.
/// Candidates visible now are [`Delta::Changed`]; the others are [`Delta::Gone`] if one of the
/// folders they were in since then was granted to the client (under the filter) at some time
/// since then, and left out otherwise, so a delta never names a record of a folder the client
/// was never granted.
pub(crate) fn delta(
    vault: &VaultState,
    client: &Uuid,
    filter: Option<&Uuid>,
    since: u64,
) -> BTreeMap<RecordUid, Delta> {
    let in_filter = |folder: &Uuid| filter.is_none_or(|only| only == folder);
    let current = vault.clients.get(client).map(|entry| &entry.grants);
    // Folders granted at some time since `since`: those granted now and those whose grant
    // changed since (before a revocation, or after an addition).
    let mut granted: BTreeSet<Uuid> = current
        .into_iter()
        .flat_map(|grants| grants.keys().copied())
        .filter(|folder| in_filter(folder) && vault.folders.contains_key(folder))
        .collect();
    let mut regranted = BTreeSet::new();
    let mut touched: BTreeMap<RecordUid, Vec<Uuid>> = BTreeMap::new();
    for change in vault.sync.since(since) {
        match change {
            Change::Record { uid, before, after } => {
                let folders = touched.entry(*uid).or_default();
                folders.extend(before.iter().chain(after.iter()).copied());
            }
            Change::Grant {
                client: whose,
                folder,
                ..
            } if whose == client && in_filter(folder) => {
                granted.insert(*folder);
                regranted.insert(*folder);
            }
            Change::Grant { .. } => {}
        }
    }
    if !regranted.is_empty() {
        for (uid, stored) in &vault.records {
            if regranted.contains(&stored.folder_id) {
                touched.entry(*uid).or_default().push(stored.folder_id);
            }
        }
    }
    touched
        .into_iter()
        .filter_map(|(uid, folders)| {
            let now_in = vault.records.get(&uid).map(|stored| stored.folder_id);
            let visible = now_in.is_some_and(|folder| {
                in_filter(&folder) && vault.access(client, &folder).is_some()
            });
            if visible {
                return Some((uid, Delta::Changed));
            }
            let seen = folders
                .iter()
                .chain(now_in.iter())
                .any(|f| granted.contains(f));
            seen.then_some((uid, Delta::Gone))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_unix_secs(1_000_000);

    fn record(n: u8) -> Change {
        let uid: RecordUid = format!("AAAAAAAAAAA{}", char::from(b'a' + n))
            .parse()
            .unwrap();
        Change::Record {
            uid,
            before: None,
            after: Some(Uuid::from_u128(1)),
        }
    }

    #[test]
    fn positions_read_back_and_refuse_other_forms() {
        let position = Position {
            epoch: 0x0123_4567_89ab_cdef,
            seq: 42,
        };
        let hex = position.to_hex();
        assert_eq!(hex, "0123456789abcdef000000000000002a");
        assert_eq!(Position::from_hex(&hex), Some(position));
        for bad in [
            "0123456789ABCDEF000000000000002a",
            "0123456789abcdef000000000000002",
            "0123456789abcdef000000000000002a0",
            "+123456789abcdef000000000000002a",
            "",
        ] {
            assert_eq!(Position::from_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn capacity_drops_the_oldest_changes_and_expires_tokens_before_them() {
        let mut log = SyncLog::default();
        log.start(DEFAULT_SYNC_RETENTION, 3, T0);
        let start = log.position();
        for n in 0..3 {
            log.append(record(n), T0);
        }
        assert_eq!(log.covers(start, T0), Ok(()));
        log.append(record(3), T0);
        assert_eq!(log.covers(start, T0), Err(Expired));
        let after_one = Position { seq: 1, ..start };
        assert_eq!(log.covers(after_one, T0), Ok(()));
        assert_eq!(log.since(1).count(), 3);
        assert_eq!(log.covers(log.position(), T0), Ok(()));
    }

    #[test]
    fn retention_expires_old_changes_even_before_the_next_write() {
        let mut log = SyncLog::default();
        log.start(Duration::from_secs(60), 100, T0);
        let start = log.position();
        log.append(record(0), T0);
        let later = T0 + Duration::from_secs(30);
        log.append(record(1), later);
        assert_eq!(log.covers(start, later), Ok(()));
        let expired = T0 + Duration::from_secs(60);
        assert_eq!(log.covers(start, expired), Err(Expired));
        let after_first = Position { seq: 1, ..start };
        assert_eq!(log.covers(after_first, expired), Ok(()));
        // A token of the head stays good however old it is: nothing after it was lost.
        let head = log.position();
        assert_eq!(
            log.covers(head, T0 + Duration::from_secs(86_400 * 30)),
            Ok(())
        );
    }

    #[test]
    fn a_restart_keeps_saved_positions_and_expires_lost_ones() {
        let mut log = SyncLog::default();
        log.start(DEFAULT_SYNC_RETENTION, 100, T0);
        log.append(record(0), T0);
        let saved = log.position();
        // The state as saved here; one more change is made and lost in a crash.
        let mut restored: SyncLog =
            serde_json::from_str(&serde_json::to_string(&log).unwrap()).unwrap();
        log.append(record(1), T0);
        let lost = log.position();

        restored.start(DEFAULT_SYNC_RETENTION, 100, T0);
        assert_ne!(restored.position().epoch, saved.epoch);
        assert_eq!(restored.covers(saved, T0), Ok(()));
        assert_eq!(restored.covers(lost, T0), Err(Expired));
        assert!(restored.knows_epoch(saved.epoch));
        assert!(!restored.knows_epoch(saved.epoch ^ 1));
        assert_eq!(restored.key().bytes(), log.key().bytes());
        // The next change after the restart is numbered like the lost one, in a new epoch.
        restored.append(record(2), T0);
        assert_eq!(restored.position().seq, lost.seq);
        assert_ne!(restored.position(), lost);
    }

    #[test]
    fn restarts_are_remembered_up_to_a_bound() {
        let mut log = SyncLog::default();
        log.start(DEFAULT_SYNC_RETENTION, 100, T0);
        let first = log.position();
        for _ in 1..MAX_EPOCHS {
            log.start(DEFAULT_SYNC_RETENTION, 100, T0);
        }
        assert_eq!(log.covers(first, T0), Ok(()));
        log.start(DEFAULT_SYNC_RETENTION, 100, T0);
        assert_eq!(log.epochs.len(), MAX_EPOCHS);
        assert!(!log.knows_epoch(first.epoch));
        assert_eq!(log.covers(first, T0), Err(Expired));
        assert_eq!(log.covers(log.position(), T0), Ok(()));
    }

    #[test]
    fn the_key_never_shows_in_debug() {
        let log = SyncLog::default();
        let shown = format!("{log:?}");
        assert!(shown.contains("ListKey([redacted])"), "{shown}");
    }
}
