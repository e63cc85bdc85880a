//! The parser: scheme, segments with their escapes, then the selector read from the end.

use super::{FIELD, NotationError, RecordRef, Reference, SCHEME, Selector};

pub(super) fn parse(text: &str) -> Result<Reference, NotationError> {
    let rest = text
        .strip_prefix(SCHEME)
        .ok_or(NotationError::MissingScheme)?;
    let mut segments = split(rest, SCHEME.chars().count())?;
    let selector = take_selector(&mut segments)?;
    let record = match segments.pop() {
        None => return Err(NotationError::MissingRecord),
        Some(title) if segments.is_empty() => RecordRef::Lone(title),
        Some(title) => RecordRef::Path {
            folders: segments,
            title,
        },
    };
    Ok(Reference { record, selector })
}

/// Splits at unescaped `/` and removes the escapes. `offset` is the character position of
/// `rest` in the whole reference, so that errors point into what the user wrote.
fn split(rest: &str, offset: usize) -> Result<Vec<String>, NotationError> {
    // Each segment is copied once, from the input when it has no escape.
    let mut segments = Vec::with_capacity(rest.bytes().filter(|&b| b == b'/').count() + 1);
    let mut segment_start = 0;
    let mut start = offset;
    let mut escaped = false;
    let mut chars = rest.char_indices().zip(offset..);
    while let Some(((byte, c), position)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(((_, '/' | '\\' | '[' | ']'), _)) => escaped = true,
                Some(_) => return Err(NotationError::BadEscape { position }),
                None => return Err(NotationError::DanglingEscape),
            },
            '[' | ']' => return Err(NotationError::UnescapedBracket { position }),
            '/' => {
                let segment = &rest[segment_start..byte];
                if segment.is_empty() {
                    return Err(NotationError::EmptySegment { position: start });
                }
                segments.push(unescape(segment, escaped));
                segment_start = byte + 1;
                start = position + 1;
                escaped = false;
            }
            _ => {}
        }
    }
    let segment = &rest[segment_start..];
    if segment.is_empty() {
        return Err(NotationError::EmptySegment { position: start });
    }
    segments.push(unescape(segment, escaped));
    Ok(segments)
}

/// The text of a segment whose escapes were checked: each `\` stands for the character after it.
fn unescape(segment: &str, escaped: bool) -> String {
    if !escaped {
        return segment.to_owned();
    }
    let mut text = String::with_capacity(segment.len());
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.extend(chars.next()),
            c => text.push(c),
        }
    }
    text
}

fn take_selector(segments: &mut Vec<String>) -> Result<Selector, NotationError> {
    let last = segments.pop().ok_or(NotationError::MissingSelector)?;
    // Needs a record segment before `field`, which is why `sy://field/title` is the title of a
    // record called "field".
    if segments.len() >= 2 && segments.last().is_some_and(|s| s == FIELD) {
        segments.pop();
        return Ok(Selector::Field(last));
    }
    match last.as_str() {
        "title" => Ok(Selector::Title),
        "notes" => Ok(Selector::Notes),
        "uid" => Ok(Selector::Uid),
        FIELD => Err(NotationError::MissingFieldName),
        // A single segment is most likely a record written without a selector.
        _ if segments.is_empty() => Err(NotationError::MissingSelector),
        _ => Err(NotationError::UnknownSelector { selector: last }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> NotationError {
        match parse(text) {
            Ok(reference) => panic!("{text} parsed as {reference:?}"),
            Err(error) => error,
        }
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(
            error(r"sy://Café/数据库\n/title"),
            NotationError::BadEscape { position: 13 }
        );
        assert_eq!(
            error("sy://🔑/a[0]/title"),
            NotationError::UnescapedBracket { position: 8 }
        );
        assert_eq!(
            error("sy://é//title"),
            NotationError::EmptySegment { position: 7 }
        );
    }

    #[test]
    fn empty_segment_positions() {
        assert_eq!(error("sy://"), NotationError::EmptySegment { position: 5 });
        assert_eq!(
            error("sy:///A/title"),
            NotationError::EmptySegment { position: 5 }
        );
        assert_eq!(
            error("sy://A/title/"),
            NotationError::EmptySegment { position: 13 }
        );
    }

    #[test]
    fn the_first_problem_from_the_left_is_reported() {
        assert_eq!(
            error(r"sy://[//\x"),
            NotationError::UnescapedBracket { position: 5 }
        );
        assert_eq!(
            error(r"sy://a//\x"),
            NotationError::EmptySegment { position: 7 }
        );
    }

    #[test]
    fn selector_errors() {
        assert_eq!(error("sy://A/B/field"), NotationError::MissingFieldName);
        assert_eq!(error("sy://field"), NotationError::MissingFieldName);
        assert_eq!(error("sy://title"), NotationError::MissingRecord);
        assert_eq!(error("sy://A"), NotationError::MissingSelector);
        assert_eq!(
            error("sy://field/x"),
            NotationError::UnknownSelector {
                selector: "x".into()
            }
        );
        assert_eq!(
            error(r"sy://A/pass\/word"),
            NotationError::UnknownSelector {
                selector: "pass/word".into()
            }
        );
    }
}
