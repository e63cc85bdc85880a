//! Where the client's credentials come from, and the client built from them.
//!
//! Highest priority first: `--credentials-file` or `SY_CREDENTIALS_FILE`; `SY_SERVER`,
//! `SY_CLIENT_ID` and `SY_CLIENT_SECRET`; the profile written by `sy init`.

use std::fmt;
use std::path::{Path, PathBuf};

use etcetera::BaseStrategy as _;
use syvault_ureq::proto::config::{ClientConfig, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_SERVER};
use syvault_ureq::{Credentials, SyVaultClient, SyVaultClientBuilder};

use crate::cli::{Global, env};
use crate::failure::Failure;

/// The profile used when none is named.
pub(crate) const DEFAULT_PROFILE: &str = "default";

/// Where a client's credentials were found or go.
#[derive(Debug)]
pub(crate) enum Source {
    /// A file named by `--credentials-file` or `SY_CREDENTIALS_FILE`.
    File(PathBuf),
    /// `SY_SERVER`, `SY_CLIENT_ID` and `SY_CLIENT_SECRET`.
    Environment,
    /// A profile under the configuration directory.
    Profile { name: String, path: PathBuf },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Environment => f.write_str("the environment"),
            Self::Profile { name, path } => write!(f, "profile {name} ({})", path.display()),
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

/// Where `sy init` stores the credentials: the credentials file if one is named, else the
/// profile.
pub(crate) fn destination(global: &Global) -> Result<Source, Failure> {
    if let Some(path) = global.credentials_file() {
        return Ok(Source::File(path));
    }
    let name = global
        .profile()
        .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
    let path = profile_path(&name)?;
    Ok(Source::Profile { name, path })
}

/// Finds the credentials by the precedence rules.
pub(crate) fn resolve(global: &Global) -> Result<(Credentials, Source), Failure> {
    if let Some(path) = global.credentials_file() {
        let credentials = read_file(&path)?;
        return Ok((credentials, Source::File(path)));
    }
    if env(ENV_CLIENT_ID).is_some() || env(ENV_CLIENT_SECRET).is_some() {
        let config = ClientConfig::from_env_with(|name| {
            if name == ENV_SERVER && global.server.is_some() {
                global.server.clone()
            } else {
                env(name)
            }
        })?;
        let credentials = Credentials {
            server: config.server,
            client_id: config.client_id,
            client_secret: config.client_secret,
        };
        return Ok((credentials, Source::Environment));
    }
    let Source::Profile { name, path } = destination(global)? else {
        unreachable!("destination is a file only with --credentials-file, handled above")
    };
    if !path.exists() {
        return Err(Failure::usage(format!(
            "no credentials: profile {name} does not exist ({}); run `sy init`, pass \
             --credentials-file, or set SY_SERVER, SY_CLIENT_ID and SY_CLIENT_SECRET",
            path.display()
        )));
    }
    let credentials = read_file(&path)?;
    Ok((credentials, Source::Profile { name, path }))
}

fn read_file(path: &Path) -> Result<Credentials, Failure> {
    Credentials::read_from(path).map_err(|error| match error {
        // The library's message already names the path of a file it cannot read.
        syvault_ureq::Error::File { .. } => Failure::from(error),
        // A file that is not credentials: name it too.
        other => Failure::from(other).context(path.display()),
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
    let (credentials, _) = resolve(global)?;
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
