//! Concealing values in a stream of output, for `sy run --mask`.
//!
//! Output is written as soon as it cannot be the start of a value: bytes that could still grow
//! into one (a value split across two writes of the child) are held back until the next read
//! tells, or until the stream ends.

use aho_corasick::{AhoCorasick, Input, MatchKind};
use zeroize::Zeroizing;

/// What a value is replaced with.
pub(crate) const CONCEALED: &[u8] = b"<concealed by sy>";

/// The most a stream is read at once, which [`Masker::push`] is given.
pub(crate) const CHUNK: usize = 16 * 1024;

/// One stream's masking state. The values it holds, and the output it holds back (which may
/// be the start of one), are wiped when it is dropped; it has no `Debug`, which would show
/// them. The matcher's own copy of the values is not wiped: `aho-corasick` offers no way.
#[derive(Clone)]
pub(crate) struct Masker {
    /// The values; `None` when there is nothing to conceal.
    matcher: Option<AhoCorasick>,
    values: Vec<Zeroizing<Vec<u8>>>,
    /// Whether a byte starts some value.
    starts: [bool; 256],
    longest: usize,
    /// Bytes read but not written yet: never more than a chunk and a value, the capacity it
    /// is given, so that it is never moved, which would leave a copy in freed memory.
    pending: Zeroizing<Vec<u8>>,
}

impl Masker {
    /// A masker of `values`; empty values are ignored.
    pub(crate) fn new<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut values: Vec<Zeroizing<Vec<u8>>> = values
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(|v| Zeroizing::new(v.to_vec()))
            .collect();
        values.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice()));
        values.dedup();
        let mut starts = [false; 256];
        for value in &values {
            starts[usize::from(value[0])] = true;
        }
        let matcher = if values.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(values.iter().map(|value| value.as_slice()))
                .ok()
        };
        let longest = values.iter().map(|value| value.len()).max().unwrap_or(0);
        Self {
            longest,
            matcher,
            values,
            starts,
            pending: Zeroizing::new(Vec::with_capacity(CHUNK + longest)),
        }
    }

    /// Takes `input` and appends to `out` what can be written now.
    pub(crate) fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(input);
        self.drain(false, out);
    }

    /// Appends to `out` everything still held, at the end of the stream.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        self.drain(true, out);
    }

    fn drain(&mut self, end: bool, out: &mut Vec<u8>) {
        let Some(matcher) = &self.matcher else {
            out.append(&mut self.pending);
            return;
        };
        let buf = &self.pending;
        let mut pos = 0;
        loop {
            let hold = if end { buf.len() } else { self.hold_from(pos) };
            match matcher.find(Input::new(buf).span(pos..buf.len())) {
                Some(found) if found.start() < hold => {
                    out.extend_from_slice(&buf[pos..found.start()]);
                    out.extend_from_slice(CONCEALED);
                    pos = found.end();
                }
                _ => {
                    out.extend_from_slice(&buf[pos..hold]);
                    pos = hold;
                    break;
                }
            }
        }
        self.pending.drain(..pos);
    }

    /// The first position from `pos` whose rest of the buffer could still grow into a value,
    /// or the buffer's end.
    fn hold_from(&self, pos: usize) -> usize {
        let buf = &self.pending;
        let from = pos.max(buf.len().saturating_sub(self.longest.saturating_sub(1)));
        (from..buf.len())
            .find(|&at| {
                let rest = &buf[at..];
                self.starts[usize::from(rest[0])]
                    && self
                        .values
                        .iter()
                        .any(|value| value.len() > rest.len() && value.starts_with(rest))
            })
            .unwrap_or(buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Masks `chunks` fed one after the other; also checks that nothing of a value was written
    /// before its end was seen.
    fn masked(values: &[&str], chunks: &[&str]) -> String {
        let mut masker = Masker::new(values.iter().map(|v| v.as_bytes()));
        let mut out = Vec::new();
        for chunk in chunks {
            masker.push(chunk.as_bytes(), &mut out);
        }
        masker.finish(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_are_replaced_wherever_the_writes_split_them() {
        let values = ["hunter2", "correct-horse"];
        let whole = "user=alice pass=hunter2 key=correct-horse!";
        let expected = "user=alice pass=<concealed by sy> key=<concealed by sy>!".to_owned();
        assert_eq!(masked(&values, &[whole]), expected);
        for split in 1..whole.len() {
            let (a, b) = whole.split_at(split);
            assert_eq!(masked(&values, &[a, b]), expected, "split at {split}");
        }
        let bytes: Vec<String> = whole.chars().map(String::from).collect();
        let refs: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(masked(&values, &refs), expected);
    }

    #[test]
    fn a_prefix_of_a_value_is_held_until_the_stream_tells() {
        let mut masker = Masker::new([b"secret".as_slice()]);
        let mut out = Vec::new();
        masker.push(b"a sec", &mut out);
        assert_eq!(out, b"a ", "`sec` may be the start of the value");
        masker.push(b"ond", &mut out);
        assert_eq!(out, b"a second");
        masker.push(b" secr", &mut out);
        masker.finish(&mut out);
        assert_eq!(out, b"a second secr", "a prefix at the end is not a value");
    }

    #[test]
    fn the_longest_value_wins_and_overlaps_never_leak() {
        assert_eq!(
            masked(&["abc", "abcdef"], &["xabcdefy"]),
            "x<concealed by sy>y"
        );
        assert_eq!(
            masked(&["abc", "abcdef"], &["xab", "cde", "fy"]),
            "x<concealed by sy>y"
        );
        assert_eq!(
            masked(&["bcd", "abcdef"], &["xabcd", "efy"]),
            "x<concealed by sy>y"
        );
        assert_eq!(
            masked(&["abc", "abcdef"], &["xabcdy"]),
            "x<concealed by sy>dy"
        );
    }

    #[test]
    fn without_values_everything_passes_at_once() {
        let mut masker = Masker::new([b"".as_slice()]);
        let mut out = Vec::new();
        masker.push(b"anything", &mut out);
        assert_eq!(out, b"anything");
    }
}
