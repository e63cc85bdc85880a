//! List cursors and sync tokens that only this server can issue.
//!
//! A cursor is the last UID of a page, the [`Position`] of the walk's first page and a MAC
//! over both, the client it was issued to, the folder filter of the listing and the position
//! of its `since` token (if any). The UID keeps pages stable while records are added (the next
//! page starts after it); the first page's position is what the walk's last page hands out as
//! its sync token; the MAC makes cursors unforgeable and non-transferable, so a cursor the
//! server did not issue, one issued to another client, for another folder filter or another
//! `since`, is refused with 400 as the protocol says.
//!
//! A sync token is a position and a MAC over it, the client and the folder filter. The key is
//! kept with the state (see [`crate::sync`]), so tokens and cursors survive a restart with
//! `--data`.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use syvault_proto::RecordUid;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::sync::{ListKey, Position};

/// Bytes of the MAC kept in a cursor or token: 128 bits, beyond guessing.
const TAG_LEN: usize = 16;
/// Separates the parts; neither a UID character nor a hex digit.
const SEPARATOR: char = '.';

/// A MAC as carried in a token, checked later against the one this key computes.
pub(crate) type Tag = [u8; TAG_LEN];

/// The key that authenticates cursors and sync tokens.
pub(crate) struct CursorKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey([redacted])")
    }
}

/// What a listing is bound to: the client and its folder filter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scope<'a> {
    pub(crate) client: &'a Uuid,
    pub(crate) folder: Option<&'a Uuid>,
}

impl CursorKey {
    /// The key of the state's change log.
    pub(crate) fn new(key: &ListKey) -> Self {
        Self(Zeroizing::new(*key.bytes()))
    }

    /// The cursor of a page ending at `last`, in a walk whose first page was served at
    /// `start`, for a listing since `since` (a delta) or without it (a full listing).
    pub(crate) fn issue(
        &self,
        scope: Scope<'_>,
        since: Option<Position>,
        last: &RecordUid,
        start: Position,
    ) -> String {
        let tag = self
            .cursor_mac(scope, since, last, start)
            .finalize()
            .into_bytes();
        let mut cursor = String::with_capacity(last.as_str().len() + 2 + 4 * TAG_LEN);
        cursor.push_str(last.as_str());
        cursor.push(SEPARATOR);
        cursor.push_str(&start.to_hex());
        cursor.push(SEPARATOR);
        push_hex(&tag[..TAG_LEN], &mut cursor);
        cursor
    }

    /// The UID a cursor designates and the position of its walk's first page, if this key
    /// issued it for `scope` and `since`.
    pub(crate) fn check(
        &self,
        scope: Scope<'_>,
        since: Option<Position>,
        cursor: &str,
    ) -> Option<(RecordUid, Position)> {
        let mut parts = cursor.split(SEPARATOR);
        let (uid, start, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let uid: RecordUid = uid.parse().ok()?;
        let start = Position::from_hex(start)?;
        let tag = decode_hex(tag)?;
        self.cursor_mac(scope, since, &uid, start)
            .verify_truncated_left(&tag)
            .ok()?;
        Some((uid, start))
    }

    /// The sync token of `position` for `scope`.
    pub(crate) fn token(&self, scope: Scope<'_>, position: Position) -> String {
        let tag = self.token_mac(scope, position).finalize().into_bytes();
        let mut token = position.to_hex();
        token.push(SEPARATOR);
        push_hex(&tag[..TAG_LEN], &mut token);
        token
    }

    /// Reads a sync token's position and MAC without checking the MAC, which needs the
    /// position's epoch to be known first (an unknown epoch is an expired token, not a
    /// forged one). `None` if it is not of this server's form.
    pub(crate) fn read_token(token: &str) -> Option<(Position, Tag)> {
        let (position, tag) = token.split_once(SEPARATOR)?;
        Some((Position::from_hex(position)?, decode_hex(tag)?))
    }

    /// Whether `tag` is this key's MAC of `position` for `scope`.
    pub(crate) fn verify_token(&self, scope: Scope<'_>, position: Position, tag: &Tag) -> bool {
        self.token_mac(scope, position)
            .verify_truncated_left(tag)
            .is_ok()
    }

    fn cursor_mac(
        &self,
        scope: Scope<'_>,
        since: Option<Position>,
        last: &RecordUid,
        start: Position,
    ) -> Hmac<Sha256> {
        let (flag, since) = since.map_or((0u8, [0u8; 16]), |since| (1, since.to_bytes()));
        self.mac(b"syvault-dev.cursor.v2", scope)
            .chain_update([flag])
            .chain_update(since)
            .chain_update(start.to_bytes())
            .chain_update(last.as_str().as_bytes())
    }

    fn token_mac(&self, scope: Scope<'_>, position: Position) -> Hmac<Sha256> {
        self.mac(b"syvault-dev.sync-token.v1", scope)
            .chain_update(position.to_bytes())
    }

    /// A MAC over a label and the scope; the label separates cursors from tokens.
    fn mac(&self, label: &[u8], scope: Scope<'_>) -> Hmac<Sha256> {
        // `new_from_slice` accepts keys of any length, so this never fails.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        // Fixed-length fields after distinct labels, so no two inputs share an encoding.
        let (flag, folder) = scope
            .folder
            .map_or((0u8, [0u8; 16]), |id| (1, *id.as_bytes()));
        mac.chain_update(label)
            .chain_update(scope.client.as_bytes())
            .chain_update([flag])
            .chain_update(folder)
    }
}

fn push_hex(bytes: &[u8], out: &mut String) {
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn decode_hex(text: &str) -> Option<[u8; TAG_LEN]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * TAG_LEN {
        return None;
    }
    let mut out = [0u8; TAG_LEN];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let high = HEX.iter().position(|&h| h == pair[0])?;
        let low = HEX.iter().position(|&h| h == pair[1])?;
        *byte = u8::try_from(high << 4 | low).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CursorKey {
        CursorKey::new(&crate::sync::SyncLog::default().key().clone())
    }

    const START: Position = Position {
        epoch: 0xfeed,
        seq: 7,
    };

    #[test]
    fn only_issued_cursors_pass() {
        let key = key();
        let client = Uuid::from_u128(1);
        let folder = Uuid::from_u128(2);
        let scope = Scope {
            client: &client,
            folder: Some(&folder),
        };
        let uid: RecordUid = "7Kj9mNpQ2xRs".parse().unwrap();
        let cursor = key.issue(scope, None, &uid, START);
        assert_eq!(key.check(scope, None, &cursor), Some((uid, START)));
        // Another client, another filter, another since, another key, a bare UID, a changed
        // UID, position or tag, extra parts.
        let other_client = Uuid::from_u128(3);
        let stranger = Scope {
            client: &other_client,
            ..scope
        };
        assert_eq!(key.check(stranger, None, &cursor), None);
        let unfiltered = Scope {
            folder: None,
            ..scope
        };
        assert_eq!(key.check(unfiltered, None, &cursor), None);
        assert_eq!(key.check(scope, Some(START), &cursor), None);
        assert_eq!(self::key().check(scope, None, &cursor), None);
        assert_eq!(key.check(scope, None, uid.as_str()), None);
        let other = cursor.replacen("7Kj9", "7Kj8", 1);
        assert_eq!(key.check(scope, None, &other), None);
        let moved = cursor.replacen(&START.to_hex(), &Position { seq: 8, ..START }.to_hex(), 1);
        assert_eq!(key.check(scope, None, &moved), None);
        let last = cursor.chars().last().unwrap();
        let flipped = format!(
            "{}{}",
            &cursor[..cursor.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        assert_eq!(key.check(scope, None, &flipped), None);
        assert_eq!(key.check(scope, None, &cursor[..cursor.len() - 2]), None);
        assert_eq!(key.check(scope, None, &format!("{cursor}.")), None);
        assert_eq!(key.check(scope, None, ""), None);

        // A delta walk's cursor is bound to its since.
        let delta = key.issue(scope, Some(START), &uid, START);
        assert_eq!(key.check(scope, Some(START), &delta), Some((uid, START)));
        assert_eq!(key.check(scope, None, &delta), None);
        let since = Position { seq: 6, ..START };
        assert_eq!(key.check(scope, Some(since), &delta), None);
    }

    #[test]
    fn only_issued_tokens_verify() {
        let key = key();
        let client = Uuid::from_u128(1);
        let scope = Scope {
            client: &client,
            folder: None,
        };
        let token = key.token(scope, START);
        let (position, tag) = CursorKey::read_token(&token).unwrap();
        assert_eq!(position, START);
        assert!(key.verify_token(scope, position, &tag));
        let folder = Uuid::from_u128(2);
        let filtered = Scope {
            folder: Some(&folder),
            ..scope
        };
        assert!(!key.verify_token(filtered, position, &tag));
        let other_client = Uuid::from_u128(3);
        let stranger = Scope {
            client: &other_client,
            ..scope
        };
        assert!(!key.verify_token(stranger, position, &tag));
        assert!(!key.verify_token(scope, Position { seq: 8, ..START }, &tag));
        assert!(!self::key().verify_token(scope, position, &tag));
        // A cursor's MAC is not a token's, even over the same values.
        let uid: RecordUid = "7Kj9mNpQ2xRs".parse().unwrap();
        let cursor = key.issue(scope, None, &uid, START);
        let cursor_tag = decode_hex(cursor.rsplit('.').next().unwrap()).unwrap();
        assert!(!key.verify_token(scope, START, &cursor_tag));
        for bad in [
            "",
            ".",
            token.split('.').next().unwrap(),
            &token[1..],
            &format!("{token}0"),
            &token.to_ascii_uppercase(),
            &format!("{token}.x"),
        ] {
            assert_eq!(CursorKey::read_token(bad), None, "{bad}");
        }
    }
}
