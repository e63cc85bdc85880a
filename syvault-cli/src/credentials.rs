//! Where the client's credentials come from, and the client built from them.
//!
//! Highest priority first: `--credentials-file` or `SY_CREDENTIALS_FILE`; `SY_SERVER`,
//! `SY_CLIENT_ID` and `SY_CLIENT_SECRET`; the profile written by `sy init`.

use std::fmt;
use std::path::PathBuf;

use etcetera::BaseStrategy as _;
use syvault_ureq::proto::config::{ClientConfig, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_SERVER};
use syvault_ureq::{Credentials, SyVaultClient, SyVaultClientBuilder};

use crate::cli::{Global, env};
use crate::failure::Failure;

/// The profile used when none is named.
pub(crate) const DEFAULT_PROFILE: &str = "default";

/// A credentials file: named on the command line, or a profile's.
#[derive(Debug)]
pub(crate) struct Stored {
    /// The file.
    pub(crate) path: PathBuf,
    /// The profile it belongs to, if it is one.
    pub(crate) profile: Option<String>,
}

impl fmt::Display for Stored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.profile {
            Some(name) => write!(f, "profile {name} ({})", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// The directory holding the profiles, such as `~/.config/syvault` on Linux.
fn profile_dir() -> Result<PathBuf, Failure> {
    let strategy = etcetera::choose_base_strategy().map_err(|_| {
        Failure::usage("cannot find the home directory to keep profiles in; use --credentials-file")
    })?;
    Ok(strategy.config_dir().join("syvault"))
}

/// The file of a named profile. Names are plain (letters, digits, `-`, `_`, `.`, not starting
/// with `.`), so that a profile can never point outside the profile directory.
fn profile_path(name: &str) -> Result<PathBuf, Failure> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return Err(Failure::usage(format!(
            "invalid profile name `{name}`: use letters, digits, `-`, `_` and `.`"
        )));
    }
    Ok(profile_dir()?.join(format!("{name}.json")))
}

/// Where `sy init` stores the credentials, and where commands read them when the environment
/// holds none: the credentials file if one is named, else the profile.
pub(crate) fn stored(global: &Global) -> Result<Stored, Failure> {
    if let Some(path) = global.credentials_file() {
        return Ok(Stored {
            path,
            profile: None,
        });
    }
    let name = global
        .profile()
        .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
    Ok(Stored {
        path: profile_path(&name)?,
        profile: Some(name),
    })
}

/// Finds the credentials by the precedence rules. The profile directory is only looked up
/// when it is needed, so that the other two work where there is no home directory.
pub(crate) fn resolve(global: &Global) -> Result<Credentials, Failure> {
    if global.credentials_file().is_none()
        && (env(ENV_CLIENT_ID).is_some() || env(ENV_CLIENT_SECRET).is_some())
    {
        let config = ClientConfig::from_env_with(|name| {
            if name == ENV_SERVER && global.server.is_some() {
                global.server.clone()
            } else {
                env(name)
            }
        })?;
        return Ok(Credentials::new(
            config.server,
            config.client_id,
            config.client_secret,
        ));
    }
    let stored = stored(global)?;
    if stored.profile.is_some() && !stored.path.exists() {
        return Err(Failure::usage(format!(
            "no credentials: {stored} does not exist; run `sy init`, pass --credentials-file, \
             or set SY_SERVER, SY_CLIENT_ID and SY_CLIENT_SECRET"
        )));
    }
    Credentials::read_from(&stored.path).map_err(|error| match error {
        // The library's message already names the path of a file it cannot read.
        syvault_ureq::Error::File { .. } => Failure::from(error),
        // A file that is not credentials: name it too.
        other => Failure::from(other).context(stored.path.display()),
    })
}

/// A builder with the transport options of the command line: the extra CA and the server.
pub(crate) fn builder(global: &Global) -> Result<SyVaultClientBuilder, Failure> {
    let mut builder = SyVaultClient::builder();
    if let Some(path) = global.ca_file() {
        let pem = std::fs::read_to_string(&path).map_err(|error| {
            Failure::usage(format!("cannot read CA file {}: {error}", path.display()))
        })?;
        builder = builder.add_root_certificates_pem(pem);
    }
    if let Some(server) = &global.server {
        builder = builder.server(server.clone());
    }
    Ok(builder)
}

/// A builder with the command line's credentials and transport options.
pub(crate) fn configured(global: &Global) -> Result<SyVaultClientBuilder, Failure> {
    let credentials = resolve(global)?;
    let mut builder = builder(global)?.credentials(credentials);
    // `credentials` set the stored server; the command line's overrides it.
    if let Some(server) = &global.server {
        builder = builder.server(server.clone());
    }
    Ok(builder)
}

/// The client of the command line's credentials.
pub(crate) fn client(global: &Global) -> Result<SyVaultClient, Failure> {
    Ok(configured(global)?.build()?)
}
