//! The two base64 alphabets of the protocol, decoded strictly.
//!
//! Binary fields in JSON use standard base64 with padding; JWTs and one-time tokens use base64url
//! without padding. Both decoders reject the other alphabet, missing or extra padding, whitespace
//! and non-canonical trailing bits.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Standard base64 with padding.
pub(crate) fn encode_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 with padding.
pub(crate) fn decode_b64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// base64url without padding.
pub(crate) fn encode_b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
pub(crate) fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_is_strict() {
        assert_eq!(decode_b64("AAE=").unwrap(), [0, 1]);
        assert!(decode_b64("AAE").is_none(), "missing padding");
        assert!(decode_b64("AAF=").is_none(), "non-canonical trailing bits");
        assert!(decode_b64("-_8=").is_none(), "url alphabet");
        assert!(decode_b64("AA E=").is_none(), "whitespace");
    }

    #[test]
    fn url_is_strict() {
        assert_eq!(decode_b64url("-_8").unwrap(), [0xfb, 0xff]);
        assert!(decode_b64url("-_8=").is_none(), "padding");
        assert!(decode_b64url("+/8").is_none(), "standard alphabet");
    }
}
