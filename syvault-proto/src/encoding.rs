//! The two base64 alphabets of the protocol, decoded strictly.
//!
//! Binary fields in JSON use standard base64 with padding; JWTs and one-time tokens use base64url
//! without padding. Both decoders reject the other alphabet, missing or extra padding, whitespace
//! and non-canonical trailing bits.
//!
//! Native builds use the `base64` crate, whose decoder is several times faster on the records of
//! a listing. The WebAssembly build uses `base64ct`, which the key encodings (PEM) bring in
//! anyway, so that the module carries one base64 implementation rather than two.

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use fast::{decode_b64, decode_b64url, encode_b64, encode_b64url};
#[cfg(target_arch = "wasm32")]
pub(crate) use small::{decode_b64, decode_b64url, encode_b64, encode_b64url};

#[cfg(not(target_arch = "wasm32"))]
mod fast {
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
}

#[cfg(any(target_arch = "wasm32", test))]
mod small {
    use base64ct::{Base64, Base64UrlUnpadded, Encoding as _};

    /// Standard base64 with padding.
    pub(crate) fn encode_b64(bytes: &[u8]) -> String {
        Base64::encode_string(bytes)
    }

    /// Decodes standard base64 with padding.
    pub(crate) fn decode_b64(text: &str) -> Option<Vec<u8>> {
        Base64::decode_vec(text).ok()
    }

    /// base64url without padding.
    pub(crate) fn encode_b64url(bytes: &[u8]) -> String {
        Base64UrlUnpadded::encode_string(bytes)
    }

    /// Decodes base64url without padding.
    pub(crate) fn decode_b64url(text: &str) -> Option<Vec<u8>> {
        Base64UrlUnpadded::decode_vec(text).ok()
    }
}

#[cfg(test)]
mod tests {
    // Both implementations, whichever the target uses: they must agree.
    macro_rules! strictness {
        ($name:ident) => {
            mod $name {
                use super::super::$name::{decode_b64, decode_b64url, encode_b64, encode_b64url};

                #[test]
                fn standard_is_strict() {
                    assert_eq!(decode_b64("AAE=").unwrap(), [0, 1]);
                    assert!(decode_b64("AAE").is_none(), "missing padding");
                    assert!(decode_b64("AAF=").is_none(), "non-canonical trailing bits");
                    assert!(decode_b64("-_8=").is_none(), "url alphabet");
                    assert!(decode_b64("AA E=").is_none(), "whitespace");
                    assert!(decode_b64("AAE=AAE=").is_none(), "padding inside");
                    assert_eq!(encode_b64(&[0xfb, 0xff]), "+/8=");
                }

                #[test]
                fn url_is_strict() {
                    assert_eq!(decode_b64url("-_8").unwrap(), [0xfb, 0xff]);
                    assert!(decode_b64url("-_8=").is_none(), "padding");
                    assert!(decode_b64url("+/8").is_none(), "standard alphabet");
                    assert!(
                        decode_b64url("-_9").is_none(),
                        "non-canonical trailing bits"
                    );
                    assert_eq!(encode_b64url(&[0xfb, 0xff]), "-_8");
                }

                #[test]
                fn round_trips_every_length() {
                    let bytes: Vec<u8> = (0..=255).collect();
                    for len in 0..bytes.len() {
                        let part = &bytes[..len];
                        assert_eq!(decode_b64(&encode_b64(part)).unwrap(), part);
                        assert_eq!(decode_b64url(&encode_b64url(part)).unwrap(), part);
                    }
                }
            }
        };
    }

    #[cfg(not(target_arch = "wasm32"))]
    strictness!(fast);
    strictness!(small);
}
