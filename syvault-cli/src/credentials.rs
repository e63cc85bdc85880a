//! Where the client's credentials come from, the TLS settings stored with them, and the
//! builder made from both.
//!
//! Highest priority first: `--credentials-file` or `SY_CREDENTIALS_FILE`; `SY_SERVER`,
//! `SY_CLIENT_ID` and `SY_CLIENT_SECRET`; the profile written by `sy init`.
//!
//! A credentials file `sy init` writes is the SDK's credentials JSON with one more member,
//! `tls`: the CA file and client certificate paths the client was created with, so that later
//! commands reach the same server the same way. The SDK ignores the member.

use std::fmt;
use std::path::{Path, PathBuf};

use etcetera::BaseStrategy as _;
use serde_json::{Value, json};
use syvault_ureq::proto::config::{ClientConfig, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_SERVER};
use syvault_ureq::proto::private_file::{self, Existing};
use syvault_ureq::{Credentials, SyVaultClient, SyVaultClientBuilder};

use crate::cli::{CONNECT_TIMEOUT, Global, env};
use crate::failure::Failure;
use crate::output::escape;

/// The profile used when none is named.
pub(crate) const DEFAULT_PROFILE: &str = "default";

/// A credentials file: named on the command line, or a profile's.
#[derive(Clone, Debug)]
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

/// Where the credentials of a command came from.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// A credentials file or a profile.
    File(Stored),
    /// `SY_SERVER`, `SY_CLIENT_ID` and `SY_CLIENT_SECRET`.
    Environment,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(stored) => stored.fmt(f),
            Self::Environment => f.write_str("SY_SERVER, SY_CLIENT_ID and SY_CLIENT_SECRET"),
        }
    }
}

/// The TLS settings a client was created with: paths, never contents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tls {
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) client_cert: Option<PathBuf>,
    pub(crate) client_key: Option<PathBuf>,
}

impl Tls {
    /// The settings of the command line (options, then environment), each absolute.
    pub(crate) fn from_command_line(global: &Global) -> Result<Self, Failure> {
        let identity = global.client_identity()?;
        Ok(Self {
            ca_file: global.ca_file().map(|p| absolute(&p)),
            client_cert: identity.as_ref().map(|(cert, _)| absolute(cert)),
            client_key: identity.as_ref().map(|(_, key)| absolute(key)),
        })
    }

    /// These settings, with those of the command line in place of the stored ones.
    fn overridden_by(self, command_line: Self) -> Self {
        let identity = if command_line.client_cert.is_some() {
            (command_line.client_cert, command_line.client_key)
        } else {
            (self.client_cert, self.client_key)
        };
        Self {
            ca_file: command_line.ca_file.or(self.ca_file),
            client_cert: identity.0,
            client_key: identity.1,
        }
    }

    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The `tls` member of a credentials file.
    pub(crate) fn to_json(&self) -> Value {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        json!({
            "ca_file": path(&self.ca_file),
            "client_cert": path(&self.client_cert),
            "client_key": path(&self.client_key),
        })
    }

    /// The `tls` member of credentials JSON, if any. Other members are skipped unread, so that
    /// the client secret is not copied.
    pub(crate) fn from_file_text(text: &str) -> Self {
        #[derive(serde::Deserialize)]
        struct File {
            #[serde(default)]
            tls: Option<Stored>,
        }
        #[derive(serde::Deserialize)]
        struct Stored {
            ca_file: Option<PathBuf>,
            client_cert: Option<PathBuf>,
            client_key: Option<PathBuf>,
        }
        match serde_json::from_str::<File>(text) {
            Ok(File {
                tls: Some(stored), ..
            }) => Self {
                ca_file: stored.ca_file,
                client_cert: stored.client_cert,
                client_key: stored.client_key,
            },
            _ => Self::default(),
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The directory holding the profiles, such as `~/.config/syvault` on Linux.
pub(crate) fn profile_dir() -> Result<PathBuf, Failure> {
    let strategy = etcetera::choose_base_strategy().map_err(|_| {
        Failure::usage("cannot find the home directory to keep profiles in; use --credentials-file")
    })?;
    Ok(strategy.config_dir().join("syvault"))
}

/// Whether `name` is a plain profile name (letters, digits, `-`, `_`, `.`, not starting with
/// `.`), so that a profile can never point outside the profile directory.
pub(crate) fn is_profile_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The file of a named profile.
pub(crate) fn profile_path(name: &str) -> Result<PathBuf, Failure> {
    if !is_profile_name(name) {
        return Err(Failure::usage(format!(
            "invalid profile name `{}`: use letters, digits, `-`, `_` and `.`",
            escape(name)
        )));
    }
    Ok(profile_dir()?.join(format!("{name}.json")))
}

/// The profile in use: `--profile`, `SY_PROFILE` or `default`.
pub(crate) fn current_profile(global: &Global) -> String {
    global
        .profile()
        .unwrap_or_else(|| DEFAULT_PROFILE.to_owned())
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
    let name = current_profile(global);
    Ok(Stored {
        path: profile_path(&name)?,
        profile: Some(name),
    })
}

/// Credentials, where they came from, and the TLS settings to reach their server with.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) credentials: Credentials,
    pub(crate) source: Source,
    pub(crate) tls: Tls,
}

/// Finds the credentials by the precedence rules. The profile directory is only looked up
/// when it is needed, so that the other two work where there is no home directory.
pub(crate) fn resolve(global: &Global) -> Result<Resolved, Failure> {
    let command_line = Tls::from_command_line(global)?;
    if global.credentials_file().is_none() {
        let set: Vec<&str> = [ENV_SERVER, ENV_CLIENT_ID, ENV_CLIENT_SECRET]
            .into_iter()
            .filter(|name| env(name).is_some())
            .collect();
        if !set.is_empty() {
            return from_environment(global, &set).map(|credentials| Resolved {
                credentials,
                source: Source::Environment,
                tls: command_line,
            });
        }
    }
    let stored = stored(global)?;
    if stored.profile.is_some() {
        if !stored.path.exists() {
            return Err(Failure::usage(format!(
                "no credentials: {stored} does not exist; run `sy init`, pass \
                 --credentials-file, or set SY_SERVER, SY_CLIENT_ID and SY_CLIENT_SECRET"
            )));
        }
        check_private(&stored.path)?;
    }
    let bytes = private_file::read(&stored.path).map_err(|source| {
        Failure::from(syvault_ureq::Error::File {
            path: stored.path.clone(),
            action: syvault_ureq::FileAction::Read,
            source,
        })
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Failure::usage(format!(
            "{}: not credentials (the file is not UTF-8 text)",
            stored.path.display()
        ))
    })?;
    let credentials = Credentials::from_json(text)
        .map_err(|error| Failure::from(error).context(stored.path.display()))?;
    let tls = Tls::from_file_text(text).overridden_by(command_line);
    Ok(Resolved {
        credentials,
        source: Source::File(stored),
        tls,
    })
}

/// Credentials from the three variables, all of which must be set.
fn from_environment(global: &Global, set: &[&str]) -> Result<Credentials, Failure> {
    let missing: Vec<&str> = [ENV_SERVER, ENV_CLIENT_ID, ENV_CLIENT_SECRET]
        .into_iter()
        .filter(|name| !set.contains(name))
        .collect();
    if !missing.is_empty() {
        return Err(Failure::usage(format!(
            "{} {} set but {} {} not: the three go together. Set {}, or unset {} to use the \
             profile ({} overrides a profile's server)",
            set.join(" and "),
            if set.len() == 1 { "is" } else { "are" },
            missing.join(" and "),
            if missing.len() == 1 { "is" } else { "are" },
            missing.join(" and "),
            set.join(" and "),
            "--server"
        )));
    }
    let config = ClientConfig::from_env_with(|name| {
        if name == ENV_SERVER && global.server.is_some() {
            global.server.clone()
        } else {
            env(name)
        }
    })?;
    Ok(Credentials::new(
        config.server,
        config.client_id,
        config.client_secret,
    ))
}

/// Refuses a profile file, or its directory, that is not the user's own or that others may
/// write: someone else could swap in their own server and client, as ssh guards against.
pub(crate) fn check_private(file: &Path) -> Result<(), Failure> {
    check_private_dir(file.parent().unwrap_or(Path::new(".")))?;
    check_owned(file, "file", "600")
}

/// Refuses a profile directory that is not the user's own or that others may write.
pub(crate) fn check_private_dir(dir: &Path) -> Result<(), Failure> {
    check_owned(dir, "directory", "700")
}

#[cfg(unix)]
fn check_owned(path: &Path, what: &str, mode: &str) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt as _;
    let me = rustix::process::geteuid().as_raw();
    let metadata = std::fs::metadata(path)
        .map_err(|error| Failure::usage(format!("cannot check {}: {error}", path.display())))?;
    if metadata.uid() != me {
        return Err(Failure::usage(format!(
            "the profile {what} {} belongs to another user (uid {}), so it cannot be trusted; \
             fix: remove it, or `chown {me} {}` if it is yours",
            path.display(),
            metadata.uid(),
            path.display()
        ))
        .category("insecure_profile"));
    }
    if metadata.mode() & 0o022 != 0 {
        return Err(Failure::usage(format!(
            "the profile {what} {} is writable by other users (mode {:o}), so it cannot be \
             trusted; fix: `chmod {mode} {}` (and check that what it holds is yours)",
            path.display(),
            metadata.mode() & 0o777,
            path.display()
        ))
        .category("insecure_profile"));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owned(_path: &Path, _what: &str, _mode: &str) -> Result<(), Failure> {
    Ok(())
}

/// A builder with the transport options of the command line and of `tls`: the extra CA, the
/// client certificate, the server and the connect timeout.
pub(crate) fn builder(global: &Global, tls: &Tls) -> Result<SyVaultClientBuilder, Failure> {
    let mut builder = SyVaultClient::builder().connect_timeout(CONNECT_TIMEOUT);
    if let Some(path) = &tls.ca_file {
        let pem = std::fs::read_to_string(path).map_err(|error| {
            Failure::usage(format!("cannot read CA file {}: {error}", path.display()))
        })?;
        builder = builder.add_root_certificates_pem(pem);
    }
    if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
        let chain = std::fs::read_to_string(cert).map_err(|error| {
            Failure::usage(format!(
                "cannot read client certificate {}: {error}",
                cert.display()
            ))
        })?;
        let bytes = private_file::read(key).map_err(|error| {
            Failure::usage(format!("cannot read client key {}: {error}", key.display()))
        })?;
        let key_pem = std::str::from_utf8(&bytes)
            .map_err(|_| Failure::usage(format!("client key {} is not PEM text", key.display())))?;
        builder = builder.client_certificate_pem(chain, key_pem.to_owned());
    }
    if let Some(server) = &global.server {
        builder = builder.server(server.clone());
    }
    Ok(builder)
}

/// A builder with the command line's credentials and transport options, and where the
/// credentials came from.
pub(crate) fn configured(global: &Global) -> Result<(SyVaultClientBuilder, Source), Failure> {
    let resolved = resolve(global)?;
    let mut builder = builder(global, &resolved.tls)?.credentials(resolved.credentials);
    // `credentials` set the stored server; the command line's overrides it.
    if let Some(server) = &global.server {
        builder = builder.server(server.clone());
    }
    Ok((builder, resolved.source))
}

/// Writes credentials and their TLS settings to `path`, readable by the owner only.
pub(crate) fn write(
    path: &Path,
    credentials: &Credentials,
    tls: &Tls,
    existing: Existing,
) -> std::io::Result<()> {
    let json = credentials.to_json();
    if tls.is_empty() {
        return private_file::write(path, json.as_bytes(), existing);
    }
    // The SDK's JSON, with `tls` added before its closing brace: the secret is copied once,
    // into a buffer that is cleared when dropped.
    let body = json
        .trim_end()
        .strip_suffix('}')
        .unwrap_or(&json)
        .trim_end();
    let tls = serde_json::to_string_pretty(&json!({ "tls": tls.to_json() })).unwrap_or_default();
    let tls = tls.trim_start_matches('{').trim_start();
    let mut text = zeroize::Zeroizing::new(String::with_capacity(json.len() + tls.len() + 8));
    text.push_str(body);
    text.push_str(",\n  ");
    text.push_str(tls);
    text.push('\n');
    private_file::write(path, text.as_bytes(), existing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_round_trip_through_a_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        let credentials = Credentials::new(
            "https://vault.example.com",
            syvault_ureq::Uuid::nil(),
            "c2VjcmV0",
        );
        let tls = Tls {
            ca_file: Some("/etc/ca.pem".into()),
            client_cert: Some("/etc/client.pem".into()),
            client_key: Some("/etc/client.key".into()),
        };
        write(&path, &credentials, &tls, Existing::Replace).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(Credentials::from_json(&text).unwrap(), credentials);
        assert_eq!(Tls::from_file_text(&text), tls);
        // Without settings the file is the SDK's own JSON.
        write(&path, &credentials, &Tls::default(), Existing::Replace).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("tls"));
        assert_eq!(Tls::from_file_text(&text), Tls::default());
    }

    #[test]
    fn command_line_settings_win_over_stored_ones() {
        let stored = Tls {
            ca_file: Some("/a".into()),
            client_cert: Some("/c".into()),
            client_key: Some("/k".into()),
        };
        let given = Tls {
            ca_file: Some("/b".into()),
            ..Tls::default()
        };
        let merged = stored.clone().overridden_by(given);
        assert_eq!(merged.ca_file, Some("/b".into()));
        assert_eq!(merged.client_cert, stored.client_cert);
    }
}
