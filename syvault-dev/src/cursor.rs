//! List cursors that only this server can issue.
//!
//! A cursor is the last UID of a page followed by a MAC over that UID, the client it was
//! issued to and the folder filter of the listing, under a key drawn at start. The UID keeps
//! pages stable while records are added (the next page starts after it); the MAC makes
//! cursors unforgeable and non-transferable, so a cursor the server did not issue, one issued
//! to another client or for another folder filter, or one from before a restart is refused
//! with 400 as the protocol says.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use rand_core::Rng as _;
use sha2::Sha256;
use syvault_proto::RecordUid;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::random;

/// Bytes of the MAC kept in a cursor: 128 bits, beyond guessing.
const TAG_LEN: usize = 16;
/// Separates the UID from the tag; not a UID character.
const SEPARATOR: char = '.';

/// The key that authenticates cursors.
pub(crate) struct CursorKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorKey([redacted])")
    }
}

impl CursorKey {
    /// A fresh random key.
    pub(crate) fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        random::rng().fill_bytes(key.as_mut());
        Self(key)
    }

    /// The cursor of a page ending at `last`, for `client` listing with `folder` as filter.
    pub(crate) fn issue(&self, client: &Uuid, folder: Option<&Uuid>, last: &RecordUid) -> String {
        let tag = self.mac(client, folder, last).finalize().into_bytes();
        let mut cursor = String::with_capacity(last.as_str().len() + 1 + 2 * TAG_LEN);
        cursor.push_str(last.as_str());
        cursor.push(SEPARATOR);
        for byte in &tag[..TAG_LEN] {
            cursor.push(char::from(HEX[usize::from(byte >> 4)]));
            cursor.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        cursor
    }

    /// The UID a cursor designates, if this key issued it to `client` for `folder`.
    pub(crate) fn check(
        &self,
        client: &Uuid,
        folder: Option<&Uuid>,
        cursor: &str,
    ) -> Option<RecordUid> {
        let (uid, tag) = cursor.split_once(SEPARATOR)?;
        let uid: RecordUid = uid.parse().ok()?;
        let tag = decode_hex(tag)?;
        self.mac(client, folder, &uid)
            .verify_truncated_left(&tag)
            .ok()?;
        Some(uid)
    }

    fn mac(&self, client: &Uuid, folder: Option<&Uuid>, last: &RecordUid) -> Hmac<Sha256> {
        // `new_from_slice` accepts keys of any length, so this never fails.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        // Fixed-length fields, so no two inputs share an encoding.
        let (flag, folder) = folder.map_or((0u8, [0u8; 16]), |id| (1, *id.as_bytes()));
        mac.chain_update(b"syvault-dev.cursor.v1")
            .chain_update(client.as_bytes())
            .chain_update([flag])
            .chain_update(folder)
            .chain_update(last.as_str().as_bytes())
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

    #[test]
    fn only_issued_cursors_pass() {
        let key = CursorKey::generate();
        let client = Uuid::from_u128(1);
        let folder = Uuid::from_u128(2);
        let uid: RecordUid = "7Kj9mNpQ2xRs".parse().unwrap();
        let cursor = key.issue(&client, Some(&folder), &uid);
        assert_eq!(key.check(&client, Some(&folder), &cursor), Some(uid));
        // Another client, another filter, another key, a bare UID, a changed UID or tag.
        assert_eq!(key.check(&Uuid::from_u128(3), Some(&folder), &cursor), None);
        assert_eq!(key.check(&client, None, &cursor), None);
        assert_eq!(
            CursorKey::generate().check(&client, Some(&folder), &cursor),
            None
        );
        assert_eq!(key.check(&client, Some(&folder), uid.as_str()), None);
        let other = cursor.replacen("7Kj9", "7Kj8", 1);
        assert_eq!(key.check(&client, Some(&folder), &other), None);
        let last = cursor.chars().last().unwrap();
        let flipped = format!(
            "{}{}",
            &cursor[..cursor.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        assert_eq!(key.check(&client, Some(&folder), &flipped), None);
        assert_eq!(
            key.check(&client, Some(&folder), &cursor[..cursor.len() - 2]),
            None
        );
        assert_eq!(key.check(&client, Some(&folder), ""), None);
    }
}
