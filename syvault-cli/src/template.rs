//! Templates for `sy inject`: text with `{{ sy://… }}` placeholders.
//!
//! A placeholder is `{{`, optional spaces, a reference starting with `sy://`, optional spaces,
//! `}}`. Any other `{{` is text, so templates of other tools pass through untouched.

/// A piece of a template.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Text copied as it is.
    Text(&'a str),
    /// A placeholder: its reference and the 1-based line it starts on.
    Reference { reference: &'a str, line: usize },
}

/// Splits a template into text and placeholders, or names the line of an unclosed placeholder.
pub(crate) fn parse(template: &str) -> Result<Vec<Piece<'_>>, usize> {
    let mut pieces = Vec::new();
    let mut rest = template;
    let mut consumed = 0;
    while let Some(open) = rest.find("{{") {
        let inner = &rest[open + 2..];
        let trimmed = inner.trim_start_matches([' ', '\t']);
        if !trimmed.starts_with("sy://") {
            // Not ours: keep `{{` as text and look further.
            pieces.push(Piece::Text(&rest[..open + 2]));
            consumed += open + 2;
            rest = inner;
            continue;
        }
        let line = template[..consumed + open].matches('\n').count() + 1;
        let Some(close) = trimmed.find("}}") else {
            return Err(line);
        };
        let reference = trimmed[..close].trim_end_matches([' ', '\t']);
        if reference.contains('\n') {
            return Err(line);
        }
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        pieces.push(Piece::Reference { reference, line });
        let end = open + 2 + (inner.len() - trimmed.len()) + close + 2;
        consumed += end;
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_with_and_without_spaces() {
        let pieces = parse("a={{ sy://P/D/field/password }}\nb={{sy://X/uid}}!").unwrap();
        assert_eq!(
            pieces,
            [
                Piece::Text("a="),
                Piece::Reference {
                    reference: "sy://P/D/field/password",
                    line: 1
                },
                Piece::Text("\nb="),
                Piece::Reference {
                    reference: "sy://X/uid",
                    line: 2
                },
                Piece::Text("!"),
            ]
        );
    }

    #[test]
    fn adjacent_placeholders_leave_no_empty_text_between_them() {
        assert_eq!(
            parse("{{sy://A/uid}}{{ sy://B/uid }}").unwrap(),
            [
                Piece::Reference {
                    reference: "sy://A/uid",
                    line: 1
                },
                Piece::Reference {
                    reference: "sy://B/uid",
                    line: 1
                },
            ]
        );
        assert_eq!(parse("").unwrap(), []);
    }

    #[test]
    fn other_braces_are_text() {
        let pieces = parse("{{ .Values.x }} {{sy://A/uid}}").unwrap();
        let text: String = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => (*t).to_owned(),
                Piece::Reference { reference, .. } => format!("<{reference}>"),
            })
            .collect();
        assert_eq!(text, "{{ .Values.x }} <sy://A/uid>");
    }

    #[test]
    fn an_unclosed_placeholder_names_its_line() {
        assert_eq!(parse("ok\n{{ sy://A/uid\n}}"), Err(2));
        assert_eq!(parse("{{ sy://A/uid"), Err(1));
    }

    #[test]
    fn a_bad_placeholder_after_earlier_ones_names_its_own_line() {
        // Lines are counted over the whole template, past placeholders of this tool and of
        // others on earlier lines.
        assert_eq!(parse("a={{ sy://A/uid }}\nb=2\nc={{ sy://B/uid"), Err(3));
        assert_eq!(parse("{{ .Values.x }}\n\n{{ sy://B/uid\n}}"), Err(3));
        assert_eq!(
            parse("{{ .x }} {{sy://A/uid}}\n{{ .y }}\n\n\nz={{ sy://C/uid"),
            Err(5)
        );
        let pieces = parse("{{ .x }}\n{{sy://A/uid}}\n\n{{ sy://B/uid }}").unwrap();
        let lines: Vec<usize> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Reference { line, .. } => Some(*line),
                Piece::Text(_) => None,
            })
            .collect();
        assert_eq!(lines, [2, 4]);
    }
}
