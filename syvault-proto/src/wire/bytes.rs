//! Binary values carried in JSON as standard base64 with padding.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::encoding::{decode_b64, encode_b64};

/// The message of a base64 decoding failure. It is one of the fixed texts that
/// [`super::parse_body`] may repeat in a [`crate::Error::MalformedResponse`] reason.
pub(super) const INVALID_BASE64: &str = "invalid base64 (standard alphabet with padding required)";

/// Bytes that travel as a JSON string of standard base64 with padding: keys, wrapped keys and
/// encrypted blobs.
///
/// Decoding is strict: the URL-safe alphabet, missing or extra padding, whitespace and
/// non-canonical trailing bits are all rejected. `Debug` shows the length only, so logging a
/// request or a record never dumps ciphertext.
///
/// ```
/// use syvault_proto::wire::Base64Bytes;
///
/// let bytes: Base64Bytes = serde_json::from_str("\"AAE=\"")?;
/// assert_eq!(bytes.0, [0, 1]);
/// assert_eq!(format!("{bytes:?}"), "Base64Bytes(2 bytes)");
/// assert!(serde_json::from_str::<Base64Bytes>("\"AAE\"").is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Base64Bytes(pub Vec<u8>);

impl Base64Bytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for Base64Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl From<&[u8]> for Base64Bytes {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

impl From<Base64Bytes> for Vec<u8> {
    fn from(bytes: Base64Bytes) -> Self {
        bytes.0
    }
}

impl AsRef<[u8]> for Base64Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Base64Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Bytes({} bytes)", self.0.len())
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode_b64(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Borrow where the JSON string has no escapes, to avoid copying large blobs twice.
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        decode_b64(&text)
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom(INVALID_BASE64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_strict() {
        let bytes = Base64Bytes(vec![0xfb, 0xff]);
        let json = serde_json::to_string(&bytes).unwrap();
        assert_eq!(json, "\"+/8=\"");
        assert_eq!(serde_json::from_str::<Base64Bytes>(&json).unwrap(), bytes);
        for bad in [
            "\"-_8=\"",
            "\"+/8\"",
            "\"+/8==\"",
            "\" +/8=\"",
            "\"+/9=\"",
            "12",
            "null",
        ] {
            assert!(serde_json::from_str::<Base64Bytes>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_only_the_length() {
        let bytes = Base64Bytes(b"hunter2".to_vec());
        let shown = format!("{bytes:?} {bytes:#?}");
        assert_eq!(shown, "Base64Bytes(7 bytes) Base64Bytes(7 bytes)");
    }
}
