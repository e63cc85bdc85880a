//! The query string of `GET /api/sm/v1/secrets`.

use core::fmt::Write as _;

use uuid::Uuid;

use crate::error::{Error, Result};

/// The parameters of a secrets listing: `folder_id`, `since`, `cursor` and `limit`, all
/// optional.
///
/// ```
/// use syvault_proto::wire::ListQuery;
///
/// let query = ListQuery { cursor: Some("a+b/c=".into()), limit: Some(50), ..ListQuery::default() };
/// assert_eq!(query.to_query_string(), "cursor=a%2Bb%2Fc%3D&limit=50");
/// assert_eq!(ListQuery::parse(&query.to_query_string())?, query);
///
/// // An incremental listing: what changed since the sync token of an earlier listing.
/// let delta = ListQuery { since: Some("t0.k".into()), ..ListQuery::default() };
/// assert_eq!(delta.to_query_string(), "since=t0.k");
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only list the records of this folder.
    pub folder_id: Option<Uuid>,
    /// The `sync_token` of an earlier listing with the same `folder_id`: asks for what changed
    /// since it instead of every record. Opaque text chosen by the server.
    pub since: Option<String>,
    /// The `next_cursor` of the previous page: opaque text chosen by the server.
    pub cursor: Option<String>,
    /// The most records the page may hold.
    pub limit: Option<u32>,
}

impl ListQuery {
    /// The query string without the leading `?`; empty when no parameter is set.
    ///
    /// Values are percent-encoded as UTF-8, leaving only RFC 3986 unreserved characters as they
    /// are, so any cursor text survives the trip.
    pub fn to_query_string(&self) -> String {
        let mut out = String::new();
        let mut push = |name: &str, value: &str| {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(name);
            out.push('=');
            percent_encode(value, &mut out);
        };
        if let Some(folder_id) = &self.folder_id {
            push("folder_id", &folder_id.to_string());
        }
        if let Some(since) = &self.since {
            push("since", since);
        }
        if let Some(cursor) = &self.cursor {
            push("cursor", cursor);
        }
        if let Some(limit) = self.limit {
            push("limit", &limit.to_string());
        }
        out
    }

    /// Reads a query string, for servers; a leading `?` is allowed.
    ///
    /// Unknown parameters are ignored. A known parameter that repeats, is empty or is malformed
    /// (bad UUID, a `limit` that is not a whole number from 1 to 2³²−1, a bad `%` escape, text
    /// that is not UTF-8) is an [`Error::InvalidInput`] that does not repeat the value. As in
    /// HTML forms, `+` stands for a space.
    pub fn parse(query: &str) -> Result<Self> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut out = Self::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "folder_id" => {
                    let what = "query parameter `folder_id`";
                    let value = known_value(what, value, out.folder_id.is_some())?;
                    let id = value
                        .parse()
                        .map_err(|_| Error::invalid_input(what, "expected a UUID"))?;
                    out.folder_id = Some(id);
                }
                "since" => {
                    let what = "query parameter `since`";
                    out.since = Some(known_value(what, value, out.since.is_some())?);
                }
                "cursor" => {
                    let what = "query parameter `cursor`";
                    out.cursor = Some(known_value(what, value, out.cursor.is_some())?);
                }
                "limit" => {
                    let what = "query parameter `limit`";
                    let value = known_value(what, value, out.limit.is_some())?;
                    out.limit = Some(parse_limit(&value).ok_or_else(|| {
                        Error::invalid_input(what, "expected a whole number from 1 to 4294967295")
                    })?);
                }
                // Names are matched undecoded: a client that percent-encodes a plain ASCII name
                // is broken, and decoding every unknown name would only cost time.
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Decodes the value of a known parameter and applies the checks common to all of them.
fn known_value(what: &'static str, raw: &str, seen: bool) -> Result<String> {
    if seen {
        return Err(Error::invalid_input(what, "given more than once"));
    }
    let value = percent_decode(raw)
        .ok_or_else(|| Error::invalid_input(what, "bad percent-encoding or not UTF-8"))?;
    if value.is_empty() {
        return Err(Error::invalid_input(what, "empty"));
    }
    Ok(value)
}

/// Digits only: `u32::from_str` would also take a leading `+`.
fn parse_limit(text: &str) -> Option<u32> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&limit| limit > 0)
}

fn percent_encode(value: &str, out: &mut String) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

fn percent_decode(value: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'%' => {
                let (&[hi, lo], tail) = rest.split_first_chunk::<2>()?;
                rest = tail;
                bytes.push((hex_value(hi)? << 4) | hex_value(lo)?);
            }
            b'+' => bytes.push(b' '),
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_query_both_ways() {
        assert_eq!(ListQuery::default().to_query_string(), "");
        assert_eq!(ListQuery::parse("").unwrap(), ListQuery::default());
        assert_eq!(ListQuery::parse("?").unwrap(), ListQuery::default());
    }

    #[test]
    fn every_parameter_round_trips() {
        let query = ListQuery {
            folder_id: Some("0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60".parse().unwrap()),
            since: Some("t.1 +/=%".into()),
            cursor: Some("é &=%+?#/\u{0}\u{1F600}".into()),
            limit: Some(u32::MAX),
        };
        let text = query.to_query_string();
        assert!(text.starts_with(
            "folder_id=0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60&since=t.1%20%2B%2F%3D%25&cursor="
        ));
        assert!(text.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(ListQuery::parse(&text).unwrap(), query);
        assert_eq!(ListQuery::parse(&format!("?{text}")).unwrap(), query);
    }

    #[test]
    fn tolerates_unknown_parameters_and_plus() {
        let query = ListQuery::parse("x=1&&limit=007&cursor=a+b&y&cursor%3D=z&Since=q").unwrap();
        assert_eq!(query.limit, Some(7));
        assert_eq!(query.cursor.as_deref(), Some("a b"));
        assert_eq!(query.since, None);
        let query =
            ListQuery::parse("since=a%2Eb&folder_id=0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60").unwrap();
        assert_eq!(query.since.as_deref(), Some("a.b"));
    }

    #[test]
    fn rejects_bad_values_without_echoing_them() {
        for bad in [
            "folder_id=not-a-uuid",
            "folder_id=",
            "limit=0",
            "limit=+5",
            "limit=-1",
            "limit=4294967296",
            "limit=1.5",
            "limit",
            "cursor=",
            "cursor=%",
            "cursor=%4",
            "cursor=%zz",
            "cursor=%FF",
            "limit=1&limit=2",
            "cursor=a&cursor=a",
            "since=",
            "since",
            "since=%",
            "since=%zz",
            "since=%FF",
            "since=a&since=b",
            "since=a&cursor=b&since=a",
        ] {
            let err = ListQuery::parse(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{bad}");
            let shown = err.to_string();
            for value in ["not-a-uuid", "4294967296", "%zz", "%FF", "1.5"] {
                assert!(!shown.contains(value), "{bad}: {shown}");
            }
        }
    }
}
