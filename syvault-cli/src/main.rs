//! `sy`: the SyVault Secrets Manager command line.
//!
//! A thin shell over the blocking client [`syvault_ureq`]: argument handling, output formatting
//! and process handling only. Every protocol rule (tokens, decryption, caching, retries,
//! notation, rotation polling, time limits) lives in the core.
//!
//! Results go to standard output and diagnostics to standard error. The exit status is 0 on
//! success, 1 when an operation failed (not found, authentication, server, transport, time
//! limit) and 2 on a usage error or bad input (a malformed reference, an unreadable file, a file
//! that is not credentials). With `--format json`, an error is one JSON object on standard
//! error.

mod agent;
mod cli;
mod commands;
mod credentials;
mod envfile;
mod failure;
mod mask;
mod output;
mod resolve;
mod session;
mod spinner;
mod suggest;
mod template;
mod values;

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::failure::Failure;

fn main() -> ExitCode {
    // `sy read` through the agent is recognised before clap builds the whole command line, so
    // that it costs little more than starting a process.
    #[cfg(unix)]
    {
        let args: Vec<_> = std::env::args_os().skip(1).collect();
        if let Some(read) = agent::fast::recognise(&args, || cli::env(agent::ENV_SOCKET)) {
            return finish(commands::read_through_agent(&read), false);
        }
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    logging(cli.global.verbose, matches!(cli.command, Command::Agent(_)));
    let json = cli.command.wants_json();
    finish(commands::run(cli), json)
}

/// The exit status of a command's result, its failure reported (as JSON for `json`).
fn finish(result: Result<(), Failure>, json: bool) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(json);
            failure.exit_code()
        }
    }
}

/// Reports a command line that does not parse: as clap does, or as a JSON error when the
/// arguments ask for JSON. Help and version requests print as usual.
fn usage_error(error: &clap::Error) -> ExitCode {
    let asked_json = {
        let args: Vec<String> = std::env::args().collect();
        args.iter().any(|a| a == "--format=json")
            || args
                .windows(2)
                .any(|w| w[0] == "--format" && w[1] == "json")
    };
    if asked_json
        && !matches!(
            error.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        )
    {
        let text = error.render().to_string();
        let message = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_owned();
        Failure::usage(message).report(true);
        return ExitCode::from(2);
    }
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

/// `-v`: each request; `-vv`: also retries, cache decisions, token signatures and rotation
/// polls; `-vvv`: everything the libraries trace. Never values. The agent (`daemon`) also logs
/// its start, reloads, warnings and stop without -v, and with it each request it answers.
fn logging(verbosity: u8, daemon: bool) {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;

    if verbosity == 0 && !daemon {
        return;
    }
    let base = if daemon {
        Targets::new().with_default(Level::INFO)
    } else {
        Targets::new()
    };
    let targets = match verbosity {
        0 => base,
        1 | 2 => {
            // Targets match by prefix: the agent's own module, not every `sy…` crate.
            let requests = base
                .with_target("syvault_ureq", Level::DEBUG)
                .with_target("syvault_hyper", Level::DEBUG)
                .with_target(concat!(env!("CARGO_CRATE_NAME"), "::agent"), Level::DEBUG);
            if verbosity == 2 {
                requests.with_target("syvault_proto", Level::DEBUG)
            } else {
                requests
            }
        }
        _ => Targets::new().with_default(Level::TRACE),
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(Level::TRACE)
        .with_target(false)
        .finish()
        .with(targets);
    // Only fails if a subscriber is already set, which nothing else in `sy` does.
    let _ = tracing::subscriber::set_global_default(subscriber);
}
