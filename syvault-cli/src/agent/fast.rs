//! `sy read` through the agent without building the parser of the whole command line.
//!
//! Building clap's description of every command, option and help text costs about as much as
//! the rest of a `sy read` through the agent (a third of its instructions and most of its
//! heap pages), so the plainest forms of that command are recognised here first:
//! `sy read [-n|--no-newline] [--agent PATH|--agent=PATH] REFERENCE`, the options in any order
//! and each at most once, with the agent named by `--agent` or `SY_AGENT_SOCKET`. Anything
//! else (another option, a repeated one, `--`, a value starting with `-`, text that is not
//! UTF-8) goes to clap, which gives the same meaning to every form accepted here: a test
//! checks that on every combination.

use std::ffi::OsString;
use std::path::PathBuf;

/// A `sy read` through the agent, recognised without clap.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FastRead {
    pub(crate) reference: String,
    pub(crate) no_newline: bool,
    pub(crate) socket: PathBuf,
}

/// Recognises `args` (without the program name) as a plain `sy read` through the agent, with
/// `env` looking up `SY_AGENT_SOCKET`. `None` sends the command line to clap.
pub(crate) fn recognise(
    args: &[OsString],
    env: impl FnOnce() -> Option<String>,
) -> Option<FastRead> {
    let (command, rest) = args.split_first()?;
    if command != "read" {
        return None;
    }
    let mut reference = None;
    let mut no_newline = false;
    let mut socket: Option<PathBuf> = None;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        match arg {
            "-n" | "--no-newline" if !no_newline => no_newline = true,
            "--agent" if socket.is_none() => {
                let path = rest.next()?.to_str()?;
                socket = Some(plain(path)?.into());
            }
            _ if arg.starts_with("--agent=") && socket.is_none() => {
                socket = Some(plain(&arg["--agent=".len()..])?.into());
            }
            _ if reference.is_none() => reference = Some(plain(arg)?.to_owned()),
            _ => return None,
        }
    }
    let socket = match socket {
        Some(socket) => socket,
        None => env().filter(|v| !v.is_empty())?.into(),
    };
    Some(FastRead {
        reference: reference?,
        no_newline,
        socket,
    })
}

/// A value clap takes as it is: not empty, not starting with `-`.
fn plain(value: &str) -> Option<&str> {
    (!value.is_empty() && !value.starts_with('-')).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, TextFormat};
    use clap::Parser as _;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    /// What clap makes of `sy ARGS`, in the same terms, when it is a read.
    fn by_clap(args: &[&str], env: Option<&str>) -> Option<FastRead> {
        let cli = Cli::try_parse_from(std::iter::once("sy").chain(args.iter().copied())).ok()?;
        let verbose = cli.global.verbose;
        let Command::Read(read) = cli.command else {
            return None;
        };
        let socket = read
            .agent
            .explicit()
            .or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from))?;
        assert_eq!(verbose, 0, "a verbose read is never recognised here");
        assert_eq!(
            read.format,
            TextFormat::Text,
            "a JSON read is never recognised here"
        );
        Some(FastRead {
            reference: read.reference,
            no_newline: read.no_newline,
            socket,
        })
    }

    #[test]
    fn every_form_recognised_means_what_clap_makes_of_it() {
        let pieces: &[&[&str]] = &[
            &["-n"],
            &["--no-newline"],
            &["--agent", "/run/a.sock"],
            &["--agent=/run/b.sock"],
            &["--agent", "-x"],
            &["--agent="],
            &["sy://P/D/field/password"],
            &["sy://Other/uid"],
            &["-v"],
            &["--"],
            &["-"],
            &["-nv"],
            &["--server", "http://x"],
            &["--no-newline=true"],
            &["--help"],
            &["--format", "json"],
            &["--format=text"],
            &["--timeout", "5s"],
        ];
        // Every sequence of up to three pieces.
        let mut lines: Vec<Vec<&str>> = vec![vec![]];
        let mut last: Vec<Vec<&str>> = vec![vec![]];
        for _ in 0..3 {
            let mut longer = Vec::new();
            for line in &last {
                for piece in pieces {
                    let mut next = line.clone();
                    next.extend_from_slice(piece);
                    longer.push(next);
                }
            }
            lines.extend(longer.iter().cloned());
            last = longer;
        }
        let mut recognised = 0;
        for line in &lines {
            for env in [None, Some("/run/env.sock"), Some("")] {
                let args: Vec<&str> = std::iter::once("read")
                    .chain(line.iter().copied())
                    .collect();
                let fast = recognise(&os(&args), || env.map(str::to_owned));
                if let Some(fast) = fast {
                    recognised += 1;
                    assert_eq!(Some(fast), by_clap(&args, env), "sy {args:?}, env {env:?}");
                }
            }
        }
        assert!(recognised > 100, "{recognised}");
    }

    #[test]
    fn other_commands_and_reads_without_an_agent_go_to_clap() {
        assert_eq!(recognise(&os(&["read", "sy://A/uid"]), || None), None);
        assert_eq!(
            recognise(&os(&["inject", "sy://A/uid"]), || Some("/s".into())),
            None
        );
        assert_eq!(recognise(&os(&[]), || Some("/s".into())), None);
        assert_eq!(
            recognise(&os(&["read", "sy://A/uid", "-n"]), || Some("/s".into())),
            Some(FastRead {
                reference: "sy://A/uid".into(),
                no_newline: true,
                socket: "/s".into(),
            })
        );
    }
}
