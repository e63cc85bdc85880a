//! `sy://` parsing against the shared case file `tests/notation_cases.json`, and properties of
//! the canonical form.

use proptest::prelude::*;
use serde_json::Value;
use syvault_proto::notation::{NotationError, RecordRef, Reference, Selector};

const CASES: &str = include_str!("notation_cases.json");

fn string(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

fn record_from(value: &Value) -> RecordRef {
    if let Some(path) = value.get("path") {
        RecordRef::Path {
            folders: path["folders"]
                .as_array()
                .expect("folders")
                .iter()
                .map(string)
                .collect(),
            title: string(&path["title"]),
        }
    } else {
        RecordRef::Lone(string(&value["lone"]))
    }
}

fn selector_from(value: &Value) -> Selector {
    match value {
        Value::String(keyword) => match keyword.as_str() {
            "title" => Selector::Title,
            "notes" => Selector::Notes,
            "uid" => Selector::Uid,
            other => panic!("unknown selector keyword {other:?} in the case file"),
        },
        other => Selector::Field(string(&other["field"])),
    }
}

/// The extra details a case may pin down for an error.
fn check_details(input: &str, error: &NotationError, expect: &Value) {
    if let Some(position) = expect.get("position").and_then(Value::as_u64) {
        let actual = match error {
            NotationError::EmptySegment { position }
            | NotationError::BadEscape { position }
            | NotationError::UnescapedBracket { position } => *position,
            other => panic!("{input:?}: {other:?} has no position"),
        };
        assert_eq!(
            u64::try_from(actual).ok(),
            Some(position),
            "{input:?}: position"
        );
    }
    if let Some(selector) = expect.get("selector").and_then(Value::as_str) {
        match error {
            NotationError::UnknownSelector { selector: actual } => {
                assert_eq!(actual, selector, "{input:?}: selector");
            }
            other => panic!("{input:?}: {other:?} names no selector"),
        }
    }
}

#[test]
fn case_file() {
    let file: Value = serde_json::from_str(CASES).expect("valid JSON");
    let cases = file["cases"].as_array().expect("a cases array");
    assert!(cases.len() >= 45, "only {} cases", cases.len());
    let (mut valid, mut invalid) = (0, 0);
    for case in cases {
        let input = case["input"].as_str().expect("an input string");
        let expect = &case["expect"];
        let result = Reference::parse(input);
        if let Some(ok) = expect.get("ok") {
            let expected =
                Reference::new(record_from(&ok["record"]), selector_from(&ok["selector"]));
            assert_eq!(result.as_ref(), Ok(&expected), "{input:?}");
            let canonical = case.get("canonical").and_then(Value::as_bool) != Some(false);
            if canonical {
                assert_eq!(expected.to_string(), input, "{input:?} is canonical");
            }
            assert_eq!(input.parse::<Reference>().as_ref(), Ok(&expected));
            valid += 1;
        } else {
            let kind = expect["error"].as_str().expect("an error kind");
            match result {
                Ok(reference) => panic!("{input:?} parsed as {reference:?}, expected {kind}"),
                Err(error) => {
                    assert_eq!(error.kind(), kind, "{input:?}: {error}");
                    check_details(input, &error, expect);
                }
            }
            invalid += 1;
        }
    }
    assert!(
        valid >= 20 && invalid >= 20,
        "{valid} valid, {invalid} invalid"
    );
}

/// Every error kind the parser can produce appears in the case file.
#[test]
fn case_file_covers_every_parse_error() {
    for kind in [
        "missing_scheme",
        "empty_segment",
        "bad_escape",
        "dangling_escape",
        "unescaped_bracket",
        "missing_selector",
        "missing_field_name",
        "unknown_selector",
        "missing_record",
    ] {
        assert!(CASES.contains(&format!("\"error\": \"{kind}\"")), "{kind}");
    }
}

#[test]
fn errors_render_without_panicking_and_name_the_problem() {
    let error = Reference::parse("sy://A/B/password").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown selector `password` (expected `field/<name>`, `title`, `notes` or `uid`)"
    );
    let error = Reference::parse(r"sy://A/B\n/title").unwrap_err();
    assert!(error.to_string().contains("character 8"), "{error}");
}

fn name_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(vec!['/', '\\', '[', ']']),
        4 => prop::char::range(' ', '~'),
        2 => prop::char::range('\u{a0}', '\u{ff}'),
        1 => prop::char::range('\u{300}', '\u{36f}'),
        2 => prop::char::range('\u{4e00}', '\u{9fff}'),
        2 => prop::char::range('\u{1f300}', '\u{1f64f}'),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        // Keywords as names exercise the selector rules.
        1 => prop::sample::select(vec!["field", "title", "notes", "uid"]).prop_map(String::from),
        6 => prop::collection::vec(name_char(), 1..10).prop_map(|chars| chars.into_iter().collect()),
    ]
}

fn reference() -> impl Strategy<Value = Reference> {
    let record = (prop::collection::vec(name(), 0..4), name()).prop_map(|(folders, title)| {
        if folders.is_empty() {
            RecordRef::Lone(title)
        } else {
            RecordRef::Path { folders, title }
        }
    });
    let selector = prop_oneof![
        2 => name().prop_map(Selector::Field),
        1 => Just(Selector::Title),
        1 => Just(Selector::Notes),
        1 => Just(Selector::Uid),
    ];
    (record, selector).prop_map(|(record, selector)| Reference::new(record, selector))
}

/// The one shape that reads back differently: a record path ending in a title `field` followed
/// by a keyword selector is read as a field selector.
fn is_ambiguous(reference: &Reference) -> bool {
    matches!(&reference.record, RecordRef::Path { title, .. } if title == "field")
        && !matches!(reference.selector, Selector::Field(_))
}

/// Text shaped like a reference, dense in the characters that matter to the parser.
fn reference_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec!["/", "\\", "[", "]", "field", "title", "notes", "uid", "sy://", "\\/", "\\n", ""]).prop_map(String::from),
        3 => name(),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| format!("sy://{}", pieces.concat()))
}

proptest! {
    #[test]
    fn format_parse_format_is_stable(reference in reference()) {
        let text = reference.to_string();
        let parsed = Reference::parse(&text);
        prop_assert!(parsed.is_ok(), "{text:?}: {parsed:?}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.to_string(), text.clone());
        if is_ambiguous(&reference) {
            prop_assert!(matches!(parsed.selector, Selector::Field(_)), "{text:?}");
        } else {
            prop_assert_eq!(parsed, reference);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Reference::parse(&text);
        let _ = Reference::parse(&format!("sy://{text}"));
    }

    #[test]
    fn every_valid_input_is_canonical(text in reference_like()) {
        match Reference::parse(&text) {
            Ok(reference) => prop_assert_eq!(reference.to_string(), text),
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }
}
