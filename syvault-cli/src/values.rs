//! Values given on the command line that may come from a file (`@PATH`) or standard input
//! (`-`), so that secrets need not appear in the process's arguments.

use std::io::Read as _;
use std::path::Path;

use crate::failure::Failure;

/// Reads values, allowing standard input to be used once.
#[derive(Debug, Default)]
pub(crate) struct ValueReader {
    stdin_used: bool,
}

impl ValueReader {
    /// The value `spec` stands for, for the input named `what` (such as `field password`).
    pub(crate) fn read(&mut self, what: &str, spec: &str) -> Result<String, Failure> {
        if spec == "-" {
            if self.stdin_used {
                return Err(Failure::usage(format!(
                    "{what}: standard input (`-`) can be used for one value only"
                )));
            }
            self.stdin_used = true;
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|error| {
                    Failure::usage(format!("{what}: cannot read standard input: {error}"))
                })?;
            return Ok(strip_newline(text));
        }
        if let Some(path) = spec.strip_prefix('@') {
            let text = std::fs::read_to_string(Path::new(path))
                .map_err(|error| Failure::usage(format!("{what}: cannot read {path}: {error}")))?;
            return Ok(strip_newline(text));
        }
        Ok(spec.to_owned())
    }
}

/// Drops one trailing newline (`\n` or `\r\n`), as `echo` and editors add one.
fn strip_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_newline_is_dropped() {
        assert_eq!(strip_newline("a\n".into()), "a");
        assert_eq!(strip_newline("a\r\n".into()), "a");
        assert_eq!(strip_newline("a\n\n".into()), "a\n");
        assert_eq!(strip_newline("a".into()), "a");
    }

    #[test]
    fn literal_values_pass_and_missing_files_are_usage_errors() {
        let mut reader = ValueReader::default();
        assert_eq!(reader.read("field x", "plain").unwrap(), "plain");
        let error = reader
            .read("field x", "@/nonexistent/secret.txt")
            .unwrap_err();
        assert_eq!(error.kind(), crate::failure::Kind::Usage);
    }
}
