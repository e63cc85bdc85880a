//! `sy init`: bootstrap from a one-time token and store the credentials.

use std::io::BufRead as _;
use std::path::Path;

use syvault_ureq::{Error, SyVaultClient};

use crate::cli::{self, Global, InitArgs};
use crate::credentials;
use crate::failure::Failure;
use crate::output;

pub(crate) fn run(global: &Global, args: &InitArgs) -> Result<(), Failure> {
    let token = token(args)?;
    let server = global
        .server
        .clone()
        .or_else(|| cli::env("SY_SERVER"))
        .ok_or_else(|| Failure::usage("the server is required: --server URL or SY_SERVER"))?;
    let destination = credentials::stored(global)?;
    let path = destination.path.clone();
    // Checked before the token is spent; `write_new` checks again when it writes.
    if !args.force && path.symlink_metadata().is_ok() {
        return Err(refuse(&path));
    }
    if destination.profile.is_some() {
        create_profile_dir(&path)?;
    }

    let builder = credentials::builder(global)?.server(server);
    let stored = SyVaultClient::bootstrap_with(&builder, &token).map_err(bootstrap_failure)?;
    let written = if args.force {
        stored.write_to(&path)
    } else {
        stored.write_new(&path)
    };
    match written {
        Err(Error::File { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(refuse(&path));
        }
        other => other?,
    }

    // The credentials are stored: say so before anything else can fail.
    output::print(&format!(
        "Client {} bootstrapped.\nCredentials written to {destination}.\n",
        stored.client_id
    ))?;
    let client = builder.credentials(stored).build()?;
    let folders = client
        .secrets()
        .folders()
        .map_err(|error| Failure::from(error).context("counting the folders granted"))?
        .len();
    let plural = if folders == 1 { "" } else { "s" };
    output::print(&format!("{folders} folder{plural} granted.\n"))
}

/// The one-time token: the argument, `SY_TOKEN`, or a line of standard input (`-`).
fn token(args: &InitArgs) -> Result<String, Failure> {
    match args
        .token
        .clone()
        .or_else(|| cli::env("SY_TOKEN"))
        .as_deref()
    {
        Some("-") => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|error| {
                    Failure::usage(format!(
                        "cannot read the token from standard input: {error}"
                    ))
                })?;
            let token = line.trim().to_owned();
            if token.is_empty() {
                return Err(Failure::usage("standard input held no token"));
            }
            Ok(token)
        }
        Some(token) if !token.trim().is_empty() => Ok(token.trim().to_owned()),
        _ => Err(Failure::usage(
            "a one-time token is required: --token TOKEN, SY_TOKEN, or --token - to read it \
             from standard input",
        )),
    }
}

fn refuse(path: &Path) -> Failure {
    Failure::operation(format!(
        "credentials already exist at {}; pass --force to replace them",
        path.display()
    ))
}

/// Creates the profile directory, readable by the owner only on Unix.
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
        .map_err(|error| Failure::operation(format!("cannot create {}: {error}", dir.display())))
}

/// A refused token gets a sentence saying what to do; everything else keeps its library meaning.
fn bootstrap_failure(error: Error) -> Failure {
    match error {
        Error::AuthenticationFailed { .. } => Failure::operation(
            "the server refused the one-time token: it is unknown, already used or expired; \
             ask the vault administrator for a new one",
        ),
        other => other.into(),
    }
}
