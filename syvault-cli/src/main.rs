//! `sy`: the SyVault Secrets Manager command line.
//!
//! A thin shell over the blocking client [`syvault_ureq`]: argument handling, output formatting
//! and process handling only. Every protocol rule (tokens, decryption, caching, retries,
//! notation, rotation polling) lives in the core.
//!
//! Results go to standard output and diagnostics to standard error. The exit status is 0 on
//! success, 1 when an operation failed (not found, authentication, server, transport) and 2 on
//! a usage error or bad input (a malformed reference, an unreadable file, a file that is not
//! credentials).

mod agent;
mod cli;
mod commands;
mod credentials;
mod envfile;
mod failure;
mod output;
mod template;
mod values;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::Cli;

fn main() -> ExitCode {
    // `sy read` through the agent is recognised before clap builds the whole command line, so
    // that it costs little more than starting a process.
    #[cfg(unix)]
    {
        let args: Vec<_> = std::env::args_os().skip(1).collect();
        if let Some(read) = agent::fast::recognise(&args, || cli::env(agent::ENV_SOCKET)) {
            return finish(commands::read_through_agent(&read));
        }
    }
    let cli = Cli::parse();
    if cli.global.verbose {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::DEBUG)
            .with_target(false)
            .finish();
        // Only fails if a subscriber is already set, which nothing else in `sy` does.
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
    finish(commands::run(cli))
}

fn finish(result: Result<(), failure::Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report();
            failure.exit_code()
        }
    }
}
