//! `sy profile list|show|remove`: the credentials files `sy init` keeps in the profile
//! directory.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use serde_json::{Value, json};
use syvault_ureq::Credentials;

use crate::cli::{
    Global, ListFormat, ProfileListArgs, ProfileRemoveArgs, ProfileShowArgs, TextFormat,
};
use crate::credentials::{self, current_profile, is_profile_name, profile_dir, profile_path};
use crate::failure::Failure;
use crate::output::{self, escape};

/// What a profile holds, without its secret; or why it cannot be read.
fn describe(name: &str, path: &Path, current: &str) -> Value {
    let mut value = json!({
        "name": name,
        "path": path.display().to_string(),
        "current": name == current,
    });
    let read = credentials::check_private(path).and_then(|()| {
        let bytes = syvault_ureq::proto::private_file::read(path)
            .map_err(|error| Failure::usage(format!("cannot read it: {error}")))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Failure::usage("not credentials (not UTF-8 text)"))?;
        let credentials = Credentials::from_json(text)?;
        let tls = credentials::Tls::from_file_text(text).to_json();
        Ok((credentials.server, credentials.client_id, tls))
    });
    match read {
        Ok((server, client_id, tls)) => {
            value["server"] = server.into();
            value["client_id"] = client_id.to_string().into();
            for key in ["ca_file", "client_cert", "client_key"] {
                value[key] = tls.get(key).cloned().unwrap_or(Value::Null);
            }
        }
        Err(failure) => value["error"] = failure.into_lines().join("; ").into(),
    }
    value
}

pub(crate) fn list(global: &Global, args: &ProfileListArgs) -> Result<(), Failure> {
    let dir = profile_dir()?;
    let current = current_profile(global);
    let mut names: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let name = name.strip_suffix(".json")?.to_owned();
                is_profile_name(&name).then_some(name)
            })
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => {
            return Err(Failure::operation(format!(
                "cannot list {}: {error}",
                dir.display()
            )));
        }
    };
    names.sort();
    let profiles: Vec<Value> = names
        .iter()
        .map(|name| describe(name, &dir.join(format!("{name}.json")), &current))
        .collect();
    match args.format {
        ListFormat::Json => output::print_json(&Value::Array(profiles)),
        ListFormat::Table => {
            if profiles.is_empty() {
                return output::print(&format!(
                    "no profiles in {}; create one with `sy init`\n",
                    dir.display()
                ));
            }
            let rows: Vec<Vec<String>> = profiles.iter().map(row).collect();
            output::print(&output::table(&["", "NAME", "SERVER", "CLIENT_ID"], &rows))
        }
    }
}

fn row(profile: &Value) -> Vec<String> {
    let text = |key: &str| profile[key].as_str().unwrap_or_default().to_owned();
    let marker = if profile["current"] == true { "*" } else { "" };
    match profile.get("error").and_then(Value::as_str) {
        Some(error) => vec![
            marker.into(),
            text("name"),
            format!("({error})"),
            String::new(),
        ],
        None => vec![
            marker.into(),
            text("name"),
            text("server"),
            text("client_id"),
        ],
    }
}

pub(crate) fn show(global: &Global, args: &ProfileShowArgs) -> Result<(), Failure> {
    let current = current_profile(global);
    let name = args.name.clone().unwrap_or_else(|| current.clone());
    let path = profile_path(&name)?;
    if !path.exists() {
        return Err(Failure::operation(format!(
            "no profile `{}` ({} does not exist)",
            escape(&name),
            path.display()
        ))
        .category("not_found"));
    }
    let profile = describe(&name, &path, &current);
    if let Some(error) = profile.get("error").and_then(Value::as_str) {
        return Err(Failure::usage(format!(
            "profile `{}`: {error}",
            escape(&name)
        )));
    }
    match args.format {
        ListFormat::Json => output::print_json(&profile),
        ListFormat::Table => {
            let rows: Vec<Vec<String>> = [
                "name",
                "path",
                "server",
                "client_id",
                "ca_file",
                "client_cert",
                "client_key",
            ]
            .iter()
            .filter_map(|key| {
                let value = profile[*key].as_str()?;
                Some(vec![(*key).to_owned(), value.to_owned()])
            })
            .collect();
            output::print(&output::table(&["KEY", "VALUE"], &rows))
        }
    }
}

pub(crate) fn remove(_global: &Global, args: &ProfileRemoveArgs) -> Result<(), Failure> {
    let path = profile_path(&args.name)?;
    if !path.exists() {
        return Err(Failure::operation(format!(
            "no profile `{}` ({} does not exist)",
            escape(&args.name),
            path.display()
        ))
        .category("not_found"));
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::usage(format!(
                "removing profile `{}` deletes the only copy of its client's credentials: pass \
                 --yes to confirm",
                escape(&args.name)
            )));
        }
        eprint!(
            "Delete profile `{}` ({})? Its credentials cannot be recovered. [y/N] ",
            escape(&args.name),
            path.display()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Failure::operation("nothing removed").category("cancelled"));
        }
    }
    std::fs::remove_file(&path).map_err(|error| {
        Failure::operation(format!("cannot remove {}: {error}", path.display()))
    })?;
    match args.format {
        TextFormat::Json => output::print_json(&json!({
            "name": args.name,
            "path": path.display().to_string(),
            "removed": true,
        })),
        TextFormat::Text => output::print(&format!(
            "profile {} removed ({}); the client stays registered on the server\n",
            args.name,
            path.display()
        )),
    }
}
