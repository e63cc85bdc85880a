//! `sy://` references: parsing, the canonical text form, and resolution against an index of
//! folder names and record titles.
//!
//! A reference names a record, then what to take from it:
//!
//! ```text
//! sy://Production/Database/field/password    field "password" of record "Database" in folder "Production"
//! sy://7Kj9mNpQ2xRs/field/password           by UID (or by title, when no record has that UID)
//! sy://Stripe API Key/uid                    the UID of the record titled "Stripe API Key"
//! ```
//!
//! Segments are separated by `/`. Inside a segment, `\` escapes exactly `/`, `\`, `[` and `]`;
//! any other escape is an error, and so is an unescaped `[` or `]` (reserved for indexing into
//! arrays). Everything else is literal and compared exactly: no Unicode normalisation, no case
//! folding. No segment may be empty.
//!
//! The selector is read from the end. When there are at least three segments and the
//! second-to-last one is `field`, the last one is a field name: `sy://A/field/title` is the field
//! `title` of record `A`. Otherwise the last segment must be `title`, `notes` or `uid`. What
//! precedes the selector is the record: one segment is a UID or a title ([`RecordRef::Lone`]),
//! more are folder names followed by a title ([`RecordRef::Path`]).
//!
//! Every valid reference is in canonical form: [`Reference`]'s `Display` gives back exactly the
//! text it was parsed from.
//!
//! ```
//! use syvault_proto::notation::{RecordRef, Reference, Selector};
//!
//! let reference: Reference = "sy://Production/Database/field/password".parse()?;
//! assert_eq!(
//!     reference.record,
//!     RecordRef::Path {
//!         folders: vec!["Production".into()],
//!         title: "Database".into(),
//!     }
//! );
//! assert_eq!(reference.selector, Selector::Field("password".into()));
//! assert_eq!(reference.to_string(), "sy://Production/Database/field/password");
//! # Ok::<(), syvault_proto::notation::NotationError>(())
//! ```

use core::fmt::{self, Write as _};
use core::str::FromStr;

use crate::uid::RecordUid;

mod listed;
mod parse;
mod resolve;

pub(crate) use listed::ListedIndex;

pub use resolve::NotationIndex;

/// The scheme every reference starts with, exactly as written.
const SCHEME: &str = "sy://";
/// The keyword that introduces a field name.
const FIELD: &str = "field";

/// A parsed `sy://` reference: which record, and what to take from it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Reference {
    /// The record the reference names.
    pub record: RecordRef,
    /// What to take from the record.
    pub selector: Selector,
}

/// How a reference names a record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordRef {
    /// A title inside a folder path, such as `Production/Database`.
    Path {
        /// Folder names from the topmost known folder down to the record's folder; never empty
        /// in a parsed reference.
        folders: Vec<String>,
        /// The record's title.
        title: String,
    },
    /// A single segment: the record's UID if a known record has it, its title otherwise.
    Lone(String),
}

/// What a reference takes from a record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Selector {
    /// `field/<name>`: the value of the named field.
    Field(String),
    /// `title`: the record's title.
    Title,
    /// `notes`: the record's notes.
    Notes,
    /// `uid`: the record's UID.
    Uid,
}

impl Reference {
    /// The reference that selects `selector` of `record`; its `Display` is the notation text.
    ///
    /// ```
    /// use syvault_proto::notation::{RecordRef, Reference, Selector};
    ///
    /// let reference = Reference::new(RecordRef::Lone("Database".into()), Selector::Title);
    /// assert_eq!(reference.to_string(), "sy://Database/title");
    /// ```
    pub fn new(record: RecordRef, selector: Selector) -> Self {
        Self { record, selector }
    }

    /// Parses a reference such as `sy://Production/Database/field/password`.
    pub fn parse(text: &str) -> Result<Self, NotationError> {
        parse::parse(text)
    }
}

impl FromStr for Reference {
    type Err = NotationError;

    fn from_str(text: &str) -> Result<Self, NotationError> {
        Self::parse(text)
    }
}

/// Writes the canonical form, which [`Reference::parse`] reads back.
///
/// A reference built by hand may have no canonical form: an empty name, a [`RecordRef::Path`]
/// without folders (written like a lone title), or a path whose title is `field` followed by a
/// keyword selector (read back as a field selector). Such values format without error but do
/// not parse back to themselves.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.record, self.selector)
    }
}

impl RecordRef {
    /// The unescaped segments of the record reference: the folders, then the title or the lone
    /// segment.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        let (folders, last) = match self {
            Self::Path { folders, title } => (folders.as_slice(), title),
            Self::Lone(text) => (&[][..], text),
        };
        folders
            .iter()
            .map(String::as_str)
            .chain(core::iter::once(last.as_str()))
    }
}

/// Writes the escaped segments joined by `/`, without the scheme: `Production/Database`.
impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments().enumerate() {
            if i > 0 {
                f.write_char('/')?;
            }
            write_escaped(f, segment)?;
        }
        Ok(())
    }
}

/// Writes the selector as it appears at the end of a reference: `field/password`, `title`, ….
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => {
                write!(f, "{FIELD}/")?;
                write_escaped(f, name)
            }
            Self::Title => f.write_str("title"),
            Self::Notes => f.write_str("notes"),
            Self::Uid => f.write_str("uid"),
        }
    }
}

/// Whether `c` must be written with a `\` in front of it.
fn needs_escape(c: char) -> bool {
    matches!(c, '/' | '\\' | '[' | ']')
}

fn write_escaped(f: &mut fmt::Formatter<'_>, segment: &str) -> fmt::Result {
    for c in segment.chars() {
        if needs_escape(c) {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    Ok(())
}

/// Why a reference could not be parsed or resolved.
///
/// Positions count characters (not bytes) from the start of the reference. Messages may name
/// the reference, titles, folder ids and UIDs, which are not secret, but never a field value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotationError {
    /// The reference does not start with `sy://` (lowercase, exactly).
    #[error("a reference must start with `sy://`")]
    MissingScheme,
    /// Two `/` follow each other, or the reference ends with `/` or right after the scheme.
    #[error("empty segment at character {position}")]
    EmptySegment {
        /// Where the empty segment starts.
        position: usize,
    },
    /// A `\` is followed by something other than `/`, `\`, `[` or `]`.
    #[error(r"invalid escape at character {position}: only \/, \\, \[ and \] are allowed")]
    BadEscape {
        /// Where the `\` is.
        position: usize,
    },
    /// The reference ends with a lone `\`.
    #[error(r"the reference ends in the middle of an escape (a lone `\`)")]
    DanglingEscape,
    /// A `[` or `]` is not escaped; they are reserved for indexing into arrays.
    #[error(r"unescaped bracket at character {position} (write \[ or \] for a literal bracket)")]
    UnescapedBracket {
        /// Where the bracket is.
        position: usize,
    },
    /// The reference is a single segment that is not a selector: it names a record but not what
    /// to take from it.
    #[error("the reference has no selector (`field/<name>`, `title`, `notes` or `uid`)")]
    MissingSelector,
    /// The reference ends with `field` and no field name.
    #[error("the `field` selector needs a field name: `field/<name>`")]
    MissingFieldName,
    /// The last segment is not a selector.
    #[error("unknown selector `{selector}` (expected `field/<name>`, `title`, `notes` or `uid`)")]
    UnknownSelector {
        /// The unescaped text of the offending segment.
        selector: String,
    },
    /// Nothing precedes the selector.
    #[error("the reference names no record before its selector")]
    MissingRecord,
    /// No known record matches the reference.
    #[error("no record matches `{reference}`")]
    RecordNotFound {
        /// The canonical text of the record reference.
        reference: String,
    },
    /// Several records match the reference.
    #[error("`{reference}` matches several records: {}", join(candidates))]
    AmbiguousRecord {
        /// The canonical text of the record reference.
        reference: String,
        /// The UIDs of the matching records, sorted.
        candidates: Vec<RecordUid>,
    },
    /// No known folder has the reference's folder path.
    #[error("no folder has the path of `{reference}`")]
    FolderNotFound {
        /// The canonical text of the record reference.
        reference: String,
    },
    /// Several folders have the reference's folder path.
    #[error(
        "the folder path of `{reference}` matches several folders: {}",
        join(candidates)
    )]
    AmbiguousFolder {
        /// The canonical text of the record reference.
        reference: String,
        /// The ids of the matching folders, sorted.
        candidates: Vec<String>,
    },
    /// The record has no field of that name.
    #[error("record {uid} has no field `{field}`")]
    FieldNotFound {
        /// The record.
        uid: RecordUid,
        /// The field name that was asked for.
        field: String,
    },
}

impl NotationError {
    /// A stable `snake_case` name for the kind of error, such as `bad_escape`, for tests and
    /// other implementations.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingScheme => "missing_scheme",
            Self::EmptySegment { .. } => "empty_segment",
            Self::BadEscape { .. } => "bad_escape",
            Self::DanglingEscape => "dangling_escape",
            Self::UnescapedBracket { .. } => "unescaped_bracket",
            Self::MissingSelector => "missing_selector",
            Self::MissingFieldName => "missing_field_name",
            Self::UnknownSelector { .. } => "unknown_selector",
            Self::MissingRecord => "missing_record",
            Self::RecordNotFound { .. } => "record_not_found",
            Self::AmbiguousRecord { .. } => "ambiguous_record",
            Self::FolderNotFound { .. } => "folder_not_found",
            Self::AmbiguousFolder { .. } => "ambiguous_folder",
            Self::FieldNotFound { .. } => "field_not_found",
        }
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    let mut text = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(text, "{item}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(folders: &[&str], title: &str) -> RecordRef {
        RecordRef::Path {
            folders: folders.iter().map(|&f| f.to_owned()).collect(),
            title: title.to_owned(),
        }
    }

    #[test]
    fn display_escapes_exactly_the_four_special_characters() {
        let reference = Reference {
            record: path(&["a/b", r"c\d"], "[x]"),
            selector: Selector::Field("n\u{e9}\n/".into()),
        };
        assert_eq!(
            reference.to_string(),
            "sy://a\\/b/c\\\\d/\\[x\\]/field/n\u{e9}\n\\/"
        );
        assert_eq!(Reference::parse(&reference.to_string()), Ok(reference));
    }

    #[test]
    fn record_ref_display_has_no_scheme() {
        assert_eq!(path(&["A", "B"], "C/D").to_string(), r"A/B/C\/D");
        assert_eq!(RecordRef::Lone("x".into()).to_string(), "x");
    }

    #[test]
    fn messages_name_references_and_uids() {
        let a: RecordUid = "AAAAAAAAAAAA".parse().unwrap();
        let b: RecordUid = "BBBBBBBBBBBB".parse().unwrap();
        let error = NotationError::AmbiguousRecord {
            reference: "Twin".into(),
            candidates: vec![a, b],
        };
        assert_eq!(
            error.to_string(),
            "`Twin` matches several records: AAAAAAAAAAAA, BBBBBBBBBBBB"
        );
        assert_eq!(error.kind(), "ambiguous_record");
        let error = NotationError::FieldNotFound {
            uid: a,
            field: "password".into(),
        };
        assert_eq!(
            error.to_string(),
            "record AAAAAAAAAAAA has no field `password`"
        );
    }
}
