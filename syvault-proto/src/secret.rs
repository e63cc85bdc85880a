//! Redacting containers for secret values.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A secret string: a field value, notes, a `client_secret` or a token.
///
/// `Debug` and `Display` print `[redacted]`, the memory is zeroized on drop, and reading the value
/// takes an explicit call to [`SecretString::expose`], which is easy to find in review.
///
/// ```
/// use syvault_proto::SecretString;
///
/// let password = SecretString::from("hunter2");
/// assert_eq!(format!("{password:?} {password}"), "[redacted] [redacted]");
/// assert_eq!(password.expose(), "hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a value. The `String` is moved in, so no unzeroized copy is left behind.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret value.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

/// The value is held in [`Zeroizing`], which wipes it, spare capacity included, when dropped.
impl zeroize::ZeroizeOnDrop for SecretString {}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// A 256-bit symmetric key (folder key, record data key or derived key), zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SymmetricKey(Zeroizing<[u8; 32]>);

impl SymmetricKey {
    /// Wraps 32 key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Reads a key from a slice, which must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self::from_bytes)
    }

    /// Draws a fresh key from the caller's random number generator.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut());
        Self(key)
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SymmetricKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = SecretString::from("correct horse");
        assert!(!format!("{s:?}{s}{s:#?}").contains("horse"));
        let k = SymmetricKey::from_bytes([0x41; 32]);
        assert!(!format!("{k:?}").contains("41"));
        assert!(!format!("{k:?}").contains('A'));
    }

    #[test]
    fn serde_round_trips_the_value() {
        let s: SecretString = serde_json::from_str("\"p@ss\"").unwrap();
        assert_eq!(s.expose(), "p@ss");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"p@ss\"");
    }

    #[test]
    fn symmetric_key_requires_32_bytes() {
        assert!(SymmetricKey::from_slice(&[0; 31]).is_none());
        assert!(SymmetricKey::from_slice(&[0; 33]).is_none());
        assert!(SymmetricKey::from_slice(&[0; 32]).is_some());
    }
}
