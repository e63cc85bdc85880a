//! Record UIDs: twelve characters from `[A-Za-z0-9]`.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Which bytes may appear in a UID.
static ALPHANUMERIC: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = true;
        i += 1;
    }
    table
};
/// Bytes at or above this are rejected so that every character is equally likely (248 = 4 × 62).
const UNBIASED_LIMIT: u8 = 248;

/// The identifier of a record, such as `7Kj9mNpQ2xRs`.
///
/// The client chooses it when creating a record because it is bound into the record's
/// associated data: a server that serves one record under another UID is caught at decryption.
///
/// ```
/// use syvault_proto::RecordUid;
///
/// let uid: RecordUid = "7Kj9mNpQ2xRs".parse()?;
/// assert_eq!(uid.as_str(), "7Kj9mNpQ2xRs");
/// assert!("7Kj9mNpQ2xR".parse::<RecordUid>().is_err());
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone, Copy, Eq, PartialOrd, Ord)]
pub struct RecordUid([u8; RecordUid::LEN]);

// Equality and hashing take the twelve bytes as two words: cached reads compare and hash a UID
// in every map they look up, and byte-wise they were a call to `memcmp` and a hash of a slice
// with its length. Both agree with the byte-wise order `Ord` derives.
impl PartialEq for RecordUid {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.words() == other.words()
    }
}

impl Hash for RecordUid {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (head, tail) = self.words();
        state.write_u64(head);
        state.write_u32(tail);
    }
}

impl RecordUid {
    /// Length of a UID in characters.
    pub const LEN: usize = 12;

    #[inline]
    fn words(&self) -> (u64, u32) {
        let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11] = self.0;
        (
            u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
            u32::from_le_bytes([b8, b9, b10, b11]),
        )
    }

    /// Draws a uniformly random UID from the caller's random number generator.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut uid = [0u8; Self::LEN];
        let mut filled = 0;
        let mut pool = [0u8; 32];
        while filled < Self::LEN {
            rng.fill_bytes(&mut pool);
            for &byte in pool.iter().filter(|&&b| b < UNBIASED_LIMIT) {
                if filled == Self::LEN {
                    break;
                }
                uid[filled] = ALPHABET[usize::from(byte % 62)];
                filled += 1;
            }
        }
        Self(uid)
    }

    /// The UID as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Whether `text` has the form of a UID.
    pub fn is_valid(text: &str) -> bool {
        <[u8; Self::LEN]>::try_from(text.as_bytes()).is_ok_and(|uid| all_alphanumeric(&uid))
    }
}

impl FromStr for RecordUid {
    type Err = Error;

    // Inlined: every read parses its UID, and the parsed value then stays in registers.
    #[inline]
    fn from_str(text: &str) -> Result<Self, Error> {
        match <[u8; Self::LEN]>::try_from(text.as_bytes()) {
            Ok(uid) if all_alphanumeric(&uid) => Ok(Self(uid)),
            _ => Err(invalid_uid()),
        }
    }
}

/// Whether every byte is one of the alphabet's. Checked without an early exit, so it is a
/// dozen table loads with no branch per byte: UIDs are parsed on every read, cache hits included.
fn all_alphanumeric(uid: &[u8; RecordUid::LEN]) -> bool {
    uid.iter()
        .fold(true, |valid, &b| valid & ALPHANUMERIC[usize::from(b)])
}

#[cold]
fn invalid_uid() -> Error {
    Error::invalid_input("record UID", "expected 12 characters from [A-Za-z0-9]")
}

impl TryFrom<&str> for RecordUid {
    type Error = Error;

    fn try_from(text: &str) -> Result<Self, Error> {
        text.parse()
    }
}

impl AsRef<str> for RecordUid {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for RecordUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RecordUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordUid({})", self.as_str())
    }
}

impl Serialize for RecordUid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RecordUid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn generated_uids_are_valid_and_differ() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let a = RecordUid::generate(&mut rng);
        let b = RecordUid::generate(&mut rng);
        assert!(RecordUid::is_valid(a.as_str()));
        assert_ne!(a, b);
    }

    #[test]
    fn rejects_wrong_length_and_characters() {
        for bad in [
            "",
            "7Kj9mNpQ2xR",
            "7Kj9mNpQ2xRs1",
            "7Kj9mNpQ2xR-",
            "7Kj9mNpQ2xRé",
        ] {
            assert!(bad.parse::<RecordUid>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_character_is_reachable() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.extend(RecordUid::generate(&mut rng).as_str().bytes());
        }
        assert_eq!(seen.len(), 62);
    }
}
