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

mod cli;
mod commands;
mod credentials;
mod envfile;
mod failure;
mod mask;
mod output;
mod resolve;
mod session;
mod suggest;
mod template;
mod values;

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;

use crate::cli::Cli;
use crate::failure::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    logging(cli.global.verbose);
    let json = cli.command.wants_json();
    match commands::run(cli) {
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
/// polls; `-vvv`: everything the libraries trace. Never values.
fn logging(verbosity: u8) {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;

    if verbosity == 0 {
        return;
    }
    let targets = match verbosity {
        1 => Targets::new().with_target("syvault_ureq", Level::DEBUG),
        2 => Targets::new()
            .with_target("syvault_ureq", Level::DEBUG)
            .with_target("syvault_proto", Level::DEBUG),
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
