//! `sy init`: bootstrap from a one-time token and store the credentials.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;

use serde_json::json;
use syvault_ureq::proto::private_file::Existing;
use syvault_ureq::{Error, SyVaultClient};
use zeroize::Zeroizing;

use crate::cli::{self, DEFAULT_TIMEOUT, Global, InitArgs, TextFormat};
use crate::credentials::{self, Tls};
use crate::failure::{self, Failure};
use crate::output;

pub(crate) fn run(global: &Global, args: &InitArgs) -> Result<(), Failure> {
    let server = global
        .server
        .clone()
        .or_else(|| cli::env("SY_SERVER"))
        .ok_or_else(|| Failure::usage("the server is required: --server URL or SY_SERVER"))?;
    let timeout = global.timeout(DEFAULT_TIMEOUT)?;
    let destination = credentials::stored(global)?;
    let path = destination.path.clone();
    // Checked before the token is spent; the write checks again.
    if !args.force && path.symlink_metadata().is_ok() {
        return Err(refuse(&path));
    }
    if destination.profile.is_some() {
        create_profile_dir(&path)?;
    }
    let tls = Tls::from_command_line(global)?;
    let token = token(args)?;

    failure::set_server(&server);
    failure::set_limit(timeout);
    let builder = credentials::builder(global, &tls)?
        .server(server)
        .operation_timeout(timeout);
    let started = std::time::Instant::now();
    let stored = SyVaultClient::bootstrap_with(&builder, &token).map_err(bootstrap_failure)?;
    let existing = if args.force {
        Existing::Replace
    } else {
        Existing::Keep
    };
    match credentials::write(&path, &stored, &tls, existing) {
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(refuse(&path));
        }
        Err(error) => {
            return Err(Failure::operation(format!(
                "the client was created but its credentials could not be written to {}: \
                 {error}; ask for a new one-time token",
                path.display()
            )));
        }
        Ok(()) => {}
    }

    let json = args.format == TextFormat::Json;
    // The credentials are stored: say so before anything else can fail.
    if !json {
        output::print(&format!(
            "Client {} bootstrapped.\nCredentials written to {destination}.\n",
            stored.client_id
        ))?;
    }
    let client_id = stored.client_id;
    let server = stored.server.clone();
    let left = timeout.saturating_sub(started.elapsed());
    let client = builder
        .credentials(stored)
        .operation_timeout(left)
        .build()?;
    let folders = client
        .secrets()
        .folders()
        .map_err(|error| Failure::from(error).context("counting the folders granted"))?
        .len();
    if json {
        return output::print_json(&json!({
            "client_id": client_id,
            "server": server,
            "credentials": path.display().to_string(),
            "profile": destination.profile,
            "folders": folders,
        }));
    }
    let plural = if folders == 1 { "" } else { "s" };
    output::print(&format!("{folders} folder{plural} granted.\n"))
}

/// The one-time token: the argument, `SY_TOKEN`, or standard input (`-`): a prompt that does
/// not echo on a terminal, else its first line.
fn token(args: &InitArgs) -> Result<Zeroizing<String>, Failure> {
    match args
        .token
        .clone()
        .or_else(|| cli::env("SY_TOKEN"))
        .as_deref()
    {
        Some("-") => {
            let line = if std::io::stdin().is_terminal() {
                rpassword::prompt_password("One-time token (vft_…, not shown): ").map_err(
                    |error| {
                        Failure::usage(format!("cannot read the token from the terminal: {error}"))
                    },
                )?
            } else {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|error| {
                        Failure::usage(format!(
                            "cannot read the token from standard input: {error}"
                        ))
                    })?;
                line
            };
            let line = Zeroizing::new(line);
            let token = line.trim();
            if token.is_empty() {
                return Err(Failure::usage("standard input held no token"));
            }
            Ok(Zeroizing::new(token.to_owned()))
        }
        Some(token) if !token.trim().is_empty() => Ok(Zeroizing::new(token.trim().to_owned())),
        _ => Err(Failure::usage(
            "a one-time token is required: --token - reads it from standard input (or a \
             prompt), or set SY_TOKEN",
        )),
    }
}

fn refuse(path: &Path) -> Failure {
    Failure::operation(format!(
        "credentials already exist at {}; pass --force to replace them",
        path.display()
    ))
    .category("conflict")
}

/// Creates the profile directory, readable by the owner only on Unix, and checks that an
/// existing one is the user's own and not writable by others.
fn create_profile_dir(path: &Path) -> Result<(), Failure> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|error| Failure::operation(format!("cannot create {}: {error}", dir.display())))?;
    credentials::check_private_dir(dir)
}

/// A refused token gets a sentence saying what to do; everything else keeps its library meaning.
fn bootstrap_failure(error: Error) -> Failure {
    match error {
        Error::AuthenticationFailed { .. } => Failure::operation(
            "the server refused the one-time token: it is unknown, already used or expired; \
             ask the vault administrator for a new one",
        )
        .category("authentication"),
        other => other.into(),
    }
}
