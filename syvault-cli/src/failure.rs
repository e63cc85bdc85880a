//! Why a command failed, as one line on standard error and an exit status.

use std::fmt;
use std::process::ExitCode;

use syvault_ureq::proto::notation::NotationError;
use syvault_ureq::{Error, ErrorCode};

/// What kind of failure, which decides the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The operation failed: not found, authentication, server, transport. Exit status 1.
    Operation,
    /// The command line or an input it names is wrong. Exit status 2.
    Usage,
}

/// A failed command: its kind and the lines to print. Messages never hold secret values.
#[derive(Debug)]
pub(crate) struct Failure {
    kind: Kind,
    lines: Vec<String>,
}

impl Failure {
    pub(crate) fn operation(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Operation,
            lines: vec![message.into()],
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Usage,
            lines: vec![message.into()],
        }
    }

    /// One failure that reports several problems, one per line (failing references).
    pub(crate) fn many(kind: Kind, lines: Vec<String>) -> Self {
        Self { kind, lines }
    }

    pub(crate) fn into_lines(self) -> Vec<String> {
        self.lines
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Prints every line, prefixed with `sy: `, on standard error.
    pub(crate) fn report(&self) {
        for line in &self.lines {
            eprintln!("sy: {line}");
        }
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        match self.kind {
            Kind::Operation => ExitCode::from(1),
            Kind::Usage => ExitCode::from(2),
        }
    }

    /// Prefixes the message with context, such as the name of a variable.
    pub(crate) fn context(mut self, context: impl fmt::Display) -> Self {
        for line in &mut self.lines {
            *line = format!("{context}: {line}");
        }
        self
    }
}

/// The kind of a library error: inputs the user gave are usage errors, the rest are failed
/// operations.
pub(crate) fn kind_of(error: &Error) -> Kind {
    match error {
        Error::InvalidKey { .. }
        | Error::InvalidOneTimeToken { .. }
        | Error::InvalidInput { .. }
        | Error::File { .. } => Kind::Usage,
        Error::Notation(notation) if is_malformed(notation) => Kind::Usage,
        _ => Kind::Operation,
    }
}

/// Whether a notation error is about the reference's text rather than what it names.
fn is_malformed(error: &NotationError) -> bool {
    !matches!(
        error,
        NotationError::RecordNotFound { .. }
            | NotationError::AmbiguousRecord { .. }
            | NotationError::FolderNotFound { .. }
            | NotationError::AmbiguousFolder { .. }
            | NotationError::FieldNotFound { .. }
    )
}

/// The library's message, with the operating system's reason for file errors.
pub(crate) fn describe(error: &Error) -> String {
    match error {
        Error::File { source, .. } => format!("{error}: {source}"),
        Error::Notation(notation) if is_malformed(notation) => {
            format!("malformed reference: {notation}")
        }
        // The server's message is left out: it is about a database the user cannot see.
        Error::Api(api) if api.code == ErrorCode::TargetUnavailable => format!(
            "the database behind the dynamic target cannot be reached (HTTP {}, {}); try again \
             later",
            api.status, api.code
        ),
        _ => error.to_string(),
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self {
            kind: kind_of(&error),
            lines: vec![describe(&error)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_usage_errors_and_lookups_are_operation_errors() {
        let malformed = Error::Notation(NotationError::MissingScheme);
        assert_eq!(kind_of(&malformed), Kind::Usage);
        let missing = Error::Notation(NotationError::RecordNotFound {
            reference: "sy://A/B".into(),
        });
        assert_eq!(kind_of(&missing), Kind::Operation);
        let not_found = Error::SecretNotFound { uid: "abc".into() };
        assert_eq!(kind_of(&not_found), Kind::Operation);
        assert_eq!(describe(&not_found), "secret abc not found");
    }

    #[test]
    fn an_unreachable_target_is_one_line_without_the_server_message() {
        let error = Error::Api(Box::new(syvault_ureq::proto::error::ApiError::new(
            502,
            ErrorCode::TargetUnavailable,
            "cannot reach postgresql://admin:hunter2@db\nsecond line",
        )));
        let line = describe(&error);
        assert_eq!(
            line,
            "the database behind the dynamic target cannot be reached (HTTP 502, \
             target_unavailable); try again later"
        );
        assert_eq!(kind_of(&error), Kind::Operation);
    }

    #[test]
    fn file_errors_name_the_path_and_the_reason() {
        let error = Error::File {
            path: "/nowhere/creds.json".into(),
            action: syvault_ureq::FileAction::Read,
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let line = describe(&error);
        assert!(
            line.starts_with("cannot read /nowhere/creds.json: "),
            "{line}"
        );
        assert_eq!(kind_of(&error), Kind::Usage);
    }
}
