//! Env files for `sy run`: `KEY=VALUE` lines.
//!
//! Blank lines and lines starting with `#` are ignored; `export ` may precede the key; a value
//! wrapped in matching single or double quotes loses them (no escapes are interpreted).

/// The variables of an env file, in order, or the 1-based number of the first bad line and why.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, &'static str)> {
    let mut vars = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, value)) = line.split_once('=') else {
            return Err((index + 1, "expected KEY=VALUE"));
        };
        let key = key.trim();
        let valid = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err((
                index + 1,
                "a key is letters, digits and _, not starting with a digit",
            ));
        }
        vars.push((key.to_owned(), unquote(value.trim()).to_owned()));
    }
    Ok(vars)
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_comments_and_quotes() {
        let text = "# comment\n\nA=1\nexport B = \"sy://P/D/field/password\"\nC='x y'\nD=\n";
        assert_eq!(
            parse(text).unwrap(),
            [
                ("A".into(), "1".into()),
                ("B".into(), "sy://P/D/field/password".into()),
                ("C".into(), "x y".into()),
                ("D".into(), String::new()),
            ]
        );
    }

    #[test]
    fn quotes_are_removed_only_when_a_matching_pair_wraps_the_value() {
        for (line, value) in [
            ("A=abc\"", "abc\""),
            ("A=\"abc", "\"abc"),
            ("A=\"", "\""),
            ("A='", "'"),
            ("A=\"\"", ""),
            ("A=''", ""),
            ("A=\"x'", "\"x'"),
            ("A='x\"", "'x\""),
            ("A=\"'x'\"", "'x'"),
            ("A=a\"b\"", "a\"b\""),
        ] {
            assert_eq!(parse(line).unwrap(), [("A".into(), value.into())], "{line}");
        }
    }

    #[test]
    fn keys_take_letters_digits_and_underscores_only() {
        let text = "_PRIVATE=1\nMY_KEY_2=2\nexport   DB_URL=3\n";
        assert_eq!(
            parse(text).unwrap(),
            [
                ("_PRIVATE".into(), "1".into()),
                ("MY_KEY_2".into(), "2".into()),
                ("DB_URL".into(), "3".into()),
            ]
        );
        for line in [
            "MY-KEY=1",
            "MY.KEY=1",
            "MY KEY=1",
            "KÉY=1",
            "=1",
            "export =1",
        ] {
            assert_eq!(
                parse(&format!("A=0\n{line}")),
                Err((
                    2,
                    "a key is letters, digits and _, not starting with a digit"
                )),
                "{line}"
            );
        }
    }

    #[test]
    fn bad_lines_are_reported_by_number() {
        assert_eq!(parse("A=1\nnonsense\n"), Err((2, "expected KEY=VALUE")));
        assert_eq!(parse("1A=x").unwrap_err().0, 1);
    }
}
