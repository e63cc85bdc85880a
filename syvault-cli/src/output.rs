//! Writing results to standard output: aligned tables, JSON, shell assignments, and text made
//! safe for a terminal.

use std::fmt::Write as _;
use std::io::{self, Write as _};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::failure::Failure;

/// Writes `text` to standard output. A closed pipe (`sy … | head`) ends the command quietly.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    print_bytes(text.as_bytes())
}

/// Prints a document as pretty JSON with a final newline. Documents may hold secret values, so
/// the text goes through [`json_zeroizing`].
pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let mut text = json_zeroizing(value, true)
        .map_err(|error| Failure::operation(format!("cannot write the JSON document: {error}")))?;
    text.push(b'\n');
    print_bytes(&text)
}

/// Writes `bytes` to standard output, as [`print()`] does.
pub(crate) fn print_bytes(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::operation(format!(
            "cannot write to standard output: {error}"
        ))),
    }
}

/// `value` as JSON (pretty or compact), wiped when dropped. It is measured first and written
/// once into a buffer of that size plus one spare byte (for a newline): a buffer that grew
/// would leave copies of the values it held in freed memory.
pub(crate) fn json_zeroizing<T: Serialize + ?Sized>(
    value: &T,
    pretty: bool,
) -> serde_json::Result<Zeroizing<Vec<u8>>> {
    fn write<T: Serialize + ?Sized>(
        out: impl io::Write,
        value: &T,
        pretty: bool,
    ) -> serde_json::Result<()> {
        if pretty {
            serde_json::to_writer_pretty(out, value)
        } else {
            serde_json::to_writer(out, value)
        }
    }
    let mut counter = Counter(0);
    write(&mut counter, value, pretty)?;
    let mut buffer = Zeroizing::new(Vec::with_capacity(counter.0 + 1));
    write(&mut *buffer, value, pretty)?;
    Ok(buffer)
}

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

/// `parts` joined, in a buffer of exactly their length that is wiped when dropped: for text
/// that holds a secret value on its way to standard output or a file.
pub(crate) fn concat_zeroizing(parts: &[&str]) -> Zeroizing<String> {
    let mut text = Zeroizing::new(String::with_capacity(parts.iter().map(|p| p.len()).sum()));
    for part in parts {
        text.push_str(part);
    }
    text
}

/// `text` with every control character (C0, DEL, C1) and every bidirectional override written
/// as an escape (`\x1b`, `\u{202e}`), so that text from the server (a title, a field name) or
/// the user cannot move the cursor, rewrite a line, set the terminal's title or reorder what is
/// shown. Tabs become `\t` too: they would break the columns.
pub(crate) fn escape(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x100 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Rows under a header, each column as wide as its widest cell, separated by two spaces. Every
/// cell is escaped ([`escape`]).
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| escape(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
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
/// replaced by `_`, and a leading `_` if it would start with a digit (and no prefix comes
/// before it).
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

/// Names that change how a shell, the dynamic loader or the C library behave for whoever
/// `eval`s the output, exactly.
const DANGEROUS: &[&str] = &[
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "CDPATH",
    "GLOBIGNORE",
    "PROMPT_COMMAND",
    "PS0",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PROMPT",
    "RPROMPT",
    "SHELLOPTS",
    "BASHOPTS",
    "POSIXLY_CORRECT",
    "HOME",
    "SHELL",
    "HISTFILE",
    "INPUTRC",
    "FPATH",
    "ZDOTDIR",
    "MAIL",
    "MAILPATH",
    "TMOUT",
    "EXECIGNORE",
    "TMPDIR",
    "GCONV_PATH",
    "GETCONF_DIR",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "LOCPATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "TZDIR",
];

/// Prefixes of such names.
const DANGEROUS_PREFIXES: &[&str] = &["LD_", "DYLD_", "BASH_FUNC_", "MALLOC_"];

/// Whether `name` is a variable that changes how a shell or the dynamic loader behaves.
pub(crate) fn is_dangerous(name: &str) -> bool {
    DANGEROUS.contains(&name) || DANGEROUS_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Whether `name` is portable: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_portable(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME='value'` lines for a POSIX shell, each name being `prefix` and the key made portable
/// ([`env_name`]). A name that would change how a shell or the loader behaves, or two keys
/// that give the same name, are refused: the output is meant to be `eval`ed.
pub(crate) fn env_lines<'a>(
    prefix: Option<&str>,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Zeroizing<String>, Failure> {
    let prefix = prefix.unwrap_or_default();
    if !prefix.is_empty() && !is_portable(prefix) {
        return Err(Failure::usage(format!(
            "--prefix `{}` is not a portable variable name start: use letters, digits and _, \
             not starting with a digit",
            escape(prefix)
        )));
    }
    let mut lines: Vec<(String, &str)> = Vec::new();
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (key, value) in pairs {
        let name = if prefix.is_empty() {
            env_name(key)
        } else {
            let mut base = env_name(key);
            if base.starts_with('_') && key.starts_with(|c: char| c.is_ascii_digit()) {
                base.remove(0);
            }
            format!("{prefix}{base}")
        };
        if is_dangerous(&name) {
            return Err(Failure::operation(format!(
                "field `{}` would set {name}, which changes how a shell or the dynamic loader \
                 behaves; nothing was printed: pass --prefix (such as --prefix APP_) to \
                 namespace the names",
                escape(key)
            ))
            .category("unsafe_name"));
        }
        if let Some((_, other)) = seen.iter().find(|(n, _)| *n == name) {
            return Err(Failure::operation(format!(
                "fields `{}` and `{}` would both set {name}; nothing was printed",
                escape(other),
                escape(key)
            ))
            .category("unsafe_name"));
        }
        seen.push((name.clone(), key));
        lines.push((name, value));
    }
    // Values are secrets: written once, into a buffer of the final size that is wiped.
    let size = lines
        .iter()
        .map(|(name, value)| name.len() + quoted_len(value) + 2)
        .sum();
    let mut text = Zeroizing::new(String::with_capacity(size));
    for (name, value) in lines {
        text.push_str(&name);
        text.push('=');
        push_shell_quoted(&mut text, value);
        text.push('\n');
    }
    Ok(text)
}

/// The length of `value` as [`push_shell_quoted`] writes it.
fn quoted_len(value: &str) -> usize {
    value.len() + 2 + 3 * value.matches('\'').count()
}

/// Appends `value` in single quotes for a POSIX shell: every `'` becomes `'\''`.
fn push_shell_quoted(out: &mut String, value: &str) {
    out.push('\'');
    for (i, piece) in value.split('\'').enumerate() {
        if i > 0 {
            out.push_str(r"'\''");
        }
        out.push_str(piece);
    }
    out.push('\'');
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
    fn control_characters_and_bidi_overrides_are_escaped() {
        assert_eq!(escape("plain É"), "plain É");
        assert_eq!(
            escape("a\x1b]0;pwned\x07b\r\u{202e}c\u{9b}"),
            r"a\x1b]0;pwned\x07b\r\u{202e}c\x9b"
        );
        let text = table(&["TITLE"], &[vec!["x\x1b[2Ky".into()]]);
        assert_eq!(text, "TITLE\nx\\x1b[2Ky\n");
    }

    #[test]
    fn env_names_and_quoting_are_shell_safe() {
        assert_eq!(env_name("api-key"), "API_KEY");
        assert_eq!(env_name("2fa"), "_2FA");
        assert_eq!(env_name(""), "_");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn dangerous_names_need_a_prefix_and_collisions_are_refused() {
        for field in [
            "PATH",
            "ld_preload",
            "prompt-command",
            "PS1",
            "Bash_Env",
            "IFS",
        ] {
            assert!(env_lines(None, [(field, "x")]).is_err(), "{field}");
            let prefixed = env_lines(Some("APP_"), [(field, "x")]).unwrap();
            assert!(prefixed.starts_with("APP_"), "{}", prefixed.as_str());
        }
        // A prefix that itself makes a dangerous name is refused too.
        assert!(env_lines(Some("LD_"), [("preload", "x")]).is_err());
        assert!(env_lines(Some("1X"), [("a", "x")]).is_err());
        assert!(env_lines(None, [("api-key", "1"), ("API_KEY", "2")]).is_err());
        assert_eq!(
            env_lines(Some("PG_"), [("password", "p'w"), ("2fa", "1")])
                .unwrap()
                .as_str(),
            "PG_PASSWORD='p'\\''w'\nPG_2FA='1'\n"
        );
    }

    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}

    fn shell_quote(value: &str) -> String {
        let mut quoted = String::new();
        push_shell_quoted(&mut quoted, value);
        quoted
    }

    #[test]
    fn quoting_handles_every_quote_and_says_its_length() {
        for value in ["", "'", "''", "a'b''c'", "plain", "é'ü"] {
            let quoted = shell_quote(value);
            assert_eq!(quoted, format!("'{}'", value.replace('\'', r"'\''")));
            assert_eq!(quoted.len(), quoted_len(value), "{value}");
        }
    }

    /// Text holding secret values (env lines, JSON documents, `sy read` and `sy inject`
    /// output) is wiped when dropped, and written at its final size: a buffer that grew would
    /// have left copies of what it held in freed memory.
    #[test]
    fn secret_output_is_wiped_on_drop_and_never_regrown() {
        let lines = env_lines(
            Some("APP_"),
            [("password", "it's a secret"), ("token", &"x".repeat(300))],
        )
        .unwrap();
        zeroized_on_drop(&lines);
        assert_eq!(lines.len(), lines.capacity());

        let document = serde_json::json!({"value": "line\nbreak \"quoted\" \u{1}", "n": [1, 2]});
        let json = json_zeroizing(&document, true).unwrap();
        zeroized_on_drop(&json);
        assert_eq!(
            json.as_slice(),
            serde_json::to_string_pretty(&document).unwrap().as_bytes()
        );
        assert_eq!(json.capacity(), json.len() + 1, "room for the newline only");
        let compact = json_zeroizing(&document, false).unwrap();
        assert_eq!(compact.as_slice(), serde_json::to_vec(&document).unwrap());

        let text = concat_zeroizing(&["a=", "hunter2", "\n"]);
        zeroized_on_drop(&text);
        assert_eq!((text.as_str(), text.capacity()), ("a=hunter2\n", 10));
    }
}
