//! Why a command failed: lines on standard error (or one JSON object) and an exit status.

use std::fmt;
use std::process::ExitCode;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use syvault_ureq::proto::notation::NotationError;
use syvault_ureq::{Error, ErrorCode, TransportErrorKind};

use crate::output;

/// What kind of failure, which decides the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The operation failed: not found, authentication, server, transport. Exit status 1.
    Operation,
    /// The command line or an input it names is wrong. Exit status 2.
    Usage,
}

/// A failed command: its kind, a category for programs, and the lines to print. Messages
/// never hold secret values.
#[derive(Debug)]
pub(crate) struct Failure {
    kind: Kind,
    /// The `kind` of the JSON form, such as `not_found` or `timeout`.
    category: &'static str,
    lines: Vec<String>,
    /// More members of the JSON form, such as a rotation id.
    details: Map<String, Value>,
}

/// The server this command talks to, once known, so that transport failures can name it. The
/// agent, whose server changes when SIGHUP brings other credentials, names the server of the
/// client that failed instead ([`Failure::at`]).
static SERVER: OnceLock<String> = OnceLock::new();

/// The command's time limit, which operations share: a timeout names it rather than the part
/// left to the operation that ran out.
static LIMIT: OnceLock<std::time::Duration> = OnceLock::new();

/// Records the server the command talks to.
pub(crate) fn set_server(server: &str) {
    let _ = SERVER.set(server.to_owned());
}

/// Records the command's time limit.
pub(crate) fn set_limit(limit: std::time::Duration) {
    let _ = LIMIT.set(limit);
}

fn server() -> &'static str {
    SERVER.get().map_or("the server", String::as_str)
}

impl Failure {
    pub(crate) fn operation(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Operation,
            category: "operation",
            lines: vec![message.into()],
            details: Map::new(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Usage,
            category: "usage",
            lines: vec![message.into()],
            details: Map::new(),
        }
    }

    /// One failure that reports several problems, one per line (failing references).
    pub(crate) fn many(kind: Kind, category: &'static str, lines: Vec<String>) -> Self {
        Self {
            kind,
            category,
            lines,
            details: Map::new(),
        }
    }

    /// Sets the category programs see in the JSON form.
    pub(crate) fn category(mut self, category: &'static str) -> Self {
        self.category = category;
        self
    }

    /// Adds a member to the JSON form, such as the rotation id to resume.
    pub(crate) fn detail(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.details.insert(name.to_owned(), value.into());
        self
    }

    /// Adds a line, such as a suggestion.
    pub(crate) fn hint(mut self, line: impl Into<String>) -> Self {
        self.lines.push(line.into());
        self
    }

    pub(crate) fn into_lines(self) -> Vec<String> {
        self.lines
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    pub(crate) fn category_name(&self) -> &'static str {
        self.category
    }

    /// Prints every line, prefixed with `sy: ` and with control characters escaped, on
    /// standard error; or, for `json`, one object `{"error": {"kind", "message", ...}}`.
    pub(crate) fn report(&self, json: bool) {
        if json {
            eprintln!("{}", self.to_json());
        } else {
            for line in &self.lines {
                eprintln!("sy: {}", output::escape(line));
            }
        }
    }

    /// The JSON form: `kind`, `message` (every line, joined by newlines), `exit_code`, and the
    /// details.
    pub(crate) fn to_json(&self) -> Value {
        let mut error = Map::new();
        error.insert("kind".into(), self.category.into());
        error.insert("message".into(), self.lines.join("\n").into());
        error.insert("exit_code".into(), self.code().into());
        for (name, value) in &self.details {
            error.insert(name.clone(), value.clone());
        }
        json!({ "error": error })
    }

    fn code(&self) -> u8 {
        match self.kind {
            Kind::Operation => 1,
            Kind::Usage => 2,
        }
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
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

/// Every category [`category_of`] gives, for failures that come back from the agent by name.
const CATEGORIES: &[&str] = &[
    "usage",
    "ambiguous",
    "authentication",
    "forbidden",
    "conflict",
    "target_unavailable",
    "server",
    "rotation_failed",
    "timeout",
    "tls",
    "connection",
    "decryption",
    "invalid_response",
    "not_found",
    "operation",
];

/// The category named `name`, if it is one of [`category_of`]'s.
pub(crate) fn known_category(name: &str) -> Option<&'static str> {
    CATEGORIES.iter().copied().find(|c| *c == name)
}

/// The category programs see for a library error.
fn category_of(error: &Error) -> &'static str {
    match error {
        Error::InvalidKey { .. }
        | Error::InvalidOneTimeToken { .. }
        | Error::InvalidInput { .. }
        | Error::File { .. } => "usage",
        Error::Notation(notation) if is_malformed(notation) => "usage",
        Error::Notation(
            NotationError::AmbiguousRecord { .. } | NotationError::AmbiguousFolder { .. },
        ) => "ambiguous",
        Error::AuthenticationFailed { .. } | Error::Jwt(_) => "authentication",
        Error::Api(api) if api.status == 403 => "forbidden",
        Error::Api(api) if api.status == 409 => "conflict",
        Error::Api(api) if api.code == ErrorCode::TargetUnavailable => "target_unavailable",
        Error::Api(_) => "server",
        Error::RotationFailed { .. } => "rotation_failed",
        Error::RotationTimeout { .. } | Error::OperationTimeout { .. } => "timeout",
        Error::Transport { kind, .. } => match kind {
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Tls => "tls",
            _ => "connection",
        },
        Error::Decryption { .. } | Error::InvalidPayload { .. } | Error::UnknownFolder { .. } => {
            "decryption"
        }
        Error::MalformedResponse { .. } | Error::BodyTooLarge { .. } => "invalid_response",
        other if other.is_not_found() => "not_found",
        _ => "operation",
    }
}

/// Whether a notation error is about the reference's text rather than what it names.
pub(crate) fn is_malformed(error: &NotationError) -> bool {
    !matches!(
        error,
        NotationError::RecordNotFound { .. }
            | NotationError::AmbiguousRecord { .. }
            | NotationError::FolderNotFound { .. }
            | NotationError::AmbiguousFolder { .. }
            | NotationError::FieldNotFound { .. }
    )
}

/// The library's message in the words of the command line: `server` named for transport
/// failures, what to do where there is something to do.
fn describe(error: &Error, server: &str) -> String {
    match error {
        Error::File { source, .. } => format!("{error}: {source}"),
        Error::Notation(notation) if is_malformed(notation) => {
            format!("malformed reference: {notation}")
        }
        // The server's message says what failed (no answer in time, which revocation step); it
        // names no credential (protocol §9.11). Escaped: it must not rewrite the
        // terminal.
        Error::Api(api) if api.code == ErrorCode::TargetUnavailable => {
            let reason = match api.message.trim() {
                "" => "it cannot be reached".to_owned(),
                message => crate::output::escape(message),
            };
            format!(
                "the database behind the dynamic target failed (HTTP {}, {}): {reason}; try \
                 again later",
                api.status, api.code
            )
        }
        Error::OperationTimeout {
            server,
            timeout,
            last,
        } => {
            let whole = Error::OperationTimeout {
                server: server.clone(),
                timeout: LIMIT.get().copied().unwrap_or(*timeout),
                last: last.clone(),
            };
            format!(
                "{whole}: the command's time limit ran out; allow more with --timeout or SY_TIMEOUT"
            )
        }
        Error::InvalidInput {
            what: "server URL",
            reason,
        } if reason.starts_with("plain http") => {
            "the server URL uses plain http, which sy allows only to a loopback address \
             (127.0.0.1, ::1, localhost): use its https:// URL"
                .to_owned()
        }
        Error::Transport { kind, message, .. } => transport(*kind, message, error, server),
        _ => error.to_string(),
    }
}

/// A transport failure in plain words, naming the server.
fn transport(kind: TransportErrorKind, message: &str, error: &Error, server: &str) -> String {
    match kind {
        TransportErrorKind::Connect => {
            let refused = std::error::Error::source(error)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
                || message.contains("refused");
            if refused {
                format!(
                    "cannot connect to {server}: connection refused (is the server running, and \
                     is the URL right?)"
                )
            } else if message.contains("host not found") || message.contains("resolve") {
                format!("cannot connect to {server}: its host name does not resolve")
            } else {
                format!("cannot connect to {server}: {message}")
            }
        }
        TransportErrorKind::Timeout => format!("no answer from {server} in time ({message})"),
        TransportErrorKind::ConnectionClosed => {
            format!("{server} closed the connection before answering ({message})")
        }
        TransportErrorKind::Tls if message.contains("UnknownIssuer") => format!(
            "TLS with {server} failed: its certificate is not signed by a CA this machine \
             trusts; pass the CA with --ca-file (or SY_CA_CERT), or keep it in the profile with \
             `sy init --ca-file`"
        ),
        TransportErrorKind::Tls => format!("TLS with {server} failed: {message}"),
        _ => format!("request to {server} failed: {message}"),
    }
}

impl Failure {
    /// The failure of `error`, a failure of the client of `server`: transport failures name
    /// that server rather than the one the command recorded.
    pub(crate) fn at(error: &Error, server: &str) -> Self {
        let mut failure = Self {
            kind: kind_of(error),
            category: category_of(error),
            lines: vec![describe(error, server)],
            details: Map::new(),
        };
        if let Error::RotationTimeout { rotation_id } | Error::RotationFailed { rotation_id, .. } =
            error
        {
            failure = failure.detail("rotation_id", rotation_id.to_string());
        }
        failure
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::at(&error, server())
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
        assert_eq!(category_of(&missing), "not_found");
        let not_found = Error::SecretNotFound { uid: "abc".into() };
        assert_eq!(kind_of(&not_found), Kind::Operation);
        assert_eq!(describe(&not_found, server()), "secret abc not found");
    }

    #[test]
    fn an_unreachable_target_shows_the_server_message_on_one_line() {
        let error = Error::Api(Box::new(syvault_ureq::proto::error::ApiError::new(
            502,
            ErrorCode::TargetUnavailable,
            "the database failed: the database did not answer within 2000 ms; the call was \
             abandoned",
        )));
        assert_eq!(
            describe(&error, server()),
            "the database behind the dynamic target failed (HTTP 502, target_unavailable): the \
             database failed: the database did not answer within 2000 ms; the call was \
             abandoned; try again later"
        );
        assert_eq!(kind_of(&error), Kind::Operation);
        assert_eq!(category_of(&error), "target_unavailable");
        assert_eq!(Failure::from(error).to_json()["error"]["exit_code"], 1);
    }

    #[test]
    fn an_unreachable_target_message_cannot_forge_terminal_output() {
        let error = Error::Api(Box::new(syvault_ureq::proto::error::ApiError::new(
            502,
            ErrorCode::TargetUnavailable,
            "dropping what the role owns failed\nsy: all good\x1b[2K\u{202e}",
        )));
        let line = describe(&error, server());
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(!line.chars().any(char::is_control), "{line}");
        assert!(
            line.contains("dropping what the role owns failed\\nsy: all good\\x1b[2K\\u{202e}"),
            "{line}"
        );
        // No message at all: still a sentence.
        let bare = Error::Api(Box::new(syvault_ureq::proto::error::ApiError::new(
            502,
            ErrorCode::TargetUnavailable,
            " ",
        )));
        assert_eq!(
            describe(&bare, server()),
            "the database behind the dynamic target failed (HTTP 502, target_unavailable): it \
             cannot be reached; try again later"
        );
    }

    #[test]
    fn file_errors_name_the_path_and_the_reason() {
        let error = Error::File {
            path: "/nowhere/creds.json".into(),
            action: syvault_ureq::FileAction::Read,
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let line = describe(&error, server());
        assert!(
            line.starts_with("cannot read /nowhere/creds.json: "),
            "{line}"
        );
        assert_eq!(kind_of(&error), Kind::Usage);
    }

    #[test]
    fn the_json_form_has_kind_message_exit_code_and_details() {
        let failure = Failure::from(Error::RotationTimeout {
            rotation_id: syvault_ureq::Uuid::nil(),
        });
        let value = failure.to_json();
        assert_eq!(value["error"]["kind"], "timeout");
        assert_eq!(value["error"]["exit_code"], 1);
        assert_eq!(
            value["error"]["rotation_id"],
            syvault_ureq::Uuid::nil().to_string()
        );
        assert!(
            value["error"]["message"]
                .as_str()
                .unwrap()
                .contains("rotation")
        );
    }
}
