//! Writing results to standard output: aligned tables, JSON, shell assignments.

use std::io::{self, Write as _};

use crate::failure::Failure;

/// Writes `text` to standard output. A closed pipe (`sy … | head`) ends the command quietly.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::operation(format!(
            "cannot write to standard output: {error}"
        ))),
    }
}

/// Prints a JSON value, pretty, with a final newline.
pub(crate) fn print_json(value: &serde_json::Value) -> Result<(), Failure> {
    // Serializing a `Value` cannot fail.
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    print(&format!("{text}\n"))
}

/// Rows under a header, each column as wide as its widest cell, separated by two spaces.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(width - cell.chars().count() + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// What the table shows instead of a value.
pub(crate) const MASK: &str = "********";

/// A field name as an environment variable name: upper case, anything but A-Z, 0-9 and `_`
/// replaced by `_`, and a leading `_` if it would start with a digit.
pub(crate) fn env_name(field: &str) -> String {
    let mut name: String = field
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// `value` in single quotes for a POSIX shell: every `'` becomes `'\''`.
pub(crate) fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let text = table(
            &["UID", "TITLE"],
            &[
                vec!["a".into(), "Database".into()],
                vec!["bbbb".into(), "X".into()],
            ],
        );
        assert_eq!(text, "UID   TITLE\na     Database\nbbbb  X\n");
    }

    #[test]
    fn env_names_and_quoting_are_shell_safe() {
        assert_eq!(env_name("api-key"), "API_KEY");
        assert_eq!(env_name("2fa"), "_2FA");
        assert_eq!(env_name(""), "_");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
