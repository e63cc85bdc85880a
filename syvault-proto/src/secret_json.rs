//! JSON that holds secrets, written and read without leaving plaintext copies in freed memory.
//!
//! `serde_json::to_vec` grows its buffer by reallocation, and each move frees a copy of what
//! was written so far; `serde_json::from_slice` unescapes strings in a scratch buffer that is
//! freed without being cleared. Here output goes into a buffer sized exactly in advance and
//! zeroized on drop, and secret strings are read as borrowed raw JSON and unescaped once,
//! directly into their final, pre-sized allocation.

use std::io;

use serde::Serialize;
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::secret::SecretString;

/// Counts the bytes a serializer writes.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Serializes `value` as JSON (pretty-printed if asked) into a buffer allocated once, at its
/// final size, and zeroized on drop. `None` when the value cannot be serialized.
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T, pretty: bool) -> Option<Zeroizing<Vec<u8>>> {
    let write = |out: &mut dyn io::Write| {
        if pretty {
            serde_json::to_writer_pretty(out, value)
        } else {
            serde_json::to_writer(out, value)
        }
    };
    let mut counter = Counter(0);
    write(&mut counter).ok()?;
    let mut out = Zeroizing::new(Vec::with_capacity(counter.0));
    write(&mut *out).ok()?;
    Some(out)
}

/// The value of a raw JSON string literal, unescaped straight into a [`SecretString`]. `None`
/// when `raw` is not a string or holds an escape that is not valid (a lone surrogate).
pub(crate) fn secret_from_raw(raw: &RawValue) -> Option<SecretString> {
    let inner = raw.get().strip_prefix('"')?.strip_suffix('"')?;
    // Unescaping never lengthens text, so this allocation is never moved: no copy is freed.
    let mut out = Zeroizing::new(String::with_capacity(inner.len()));
    let mut rest = inner;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = *rest.as_bytes().get(at + 1)?;
        rest = &rest[at + 2..];
        let ch = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let (unit, after) = hex4(rest)?;
                rest = after;
                match unit {
                    0xD800..=0xDBFF => {
                        let (low, after) = hex4(rest.strip_prefix("\\u")?)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        rest = after;
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    _ => char::from_u32(unit)?,
                }
            }
            _ => return None,
        };
        out.push(ch);
    }
    out.push_str(rest);
    Some(SecretString::new(core::mem::take(&mut *out)))
}

/// Four hex digits at the start of `text`, and what follows them.
fn hex4(text: &str) -> Option<(u32, &str)> {
    let digits = text.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((u32::from_str_radix(digits, 16).ok()?, &text[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescape(json: &str) -> Option<String> {
        let raw: &RawValue = serde_json::from_str(json).unwrap();
        secret_from_raw(raw).map(|s| s.expose().to_owned())
    }

    #[test]
    fn unescaping_agrees_with_serde_json() {
        for json in [
            r#""plain""#,
            r#""""#,
            r#""a\"b\\c\/d\be\ff\ng\rh\ti""#,
            r#""\u0041\u00e9\u20ac\ud83d\ude00 end""#,
            r#""-----BEGIN KEY-----\nMIGH\n-----END KEY-----\n""#,
            "\"caf\u{e9} \u{1f600}\"",
        ] {
            let expected: String = serde_json::from_str(json).unwrap();
            assert_eq!(unescape(json).as_deref(), Some(expected.as_str()), "{json}");
        }
    }

    #[test]
    fn non_strings_and_lone_surrogates_are_refused() {
        for json in [
            "7",
            "null",
            "[\"a\"]",
            r#"{"a":"b"}"#,
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\ud83d\u0041""#,
        ] {
            assert_eq!(unescape(json), None, "{json}");
        }
    }

    #[test]
    fn output_is_exactly_sized() {
        let value = serde_json::json!({"a": "x".repeat(1000), "b": [1, 2, 3]});
        for pretty in [false, true] {
            let out = to_vec(&value, pretty).unwrap();
            assert_eq!(out.len(), out.capacity());
            let expected = if pretty {
                serde_json::to_vec_pretty(&value).unwrap()
            } else {
                serde_json::to_vec(&value).unwrap()
            };
            assert_eq!(*out, expected);
        }
    }
}
