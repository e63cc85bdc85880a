//! `sy run`: a command with the `sy://` references of its environment resolved.

use std::ffi::OsString;
use std::process::Command;

use crate::cli::{Global, RunArgs};
use crate::envfile;
use crate::failure::Failure;

const SCHEME: &str = "sy://";

pub(crate) fn run(global: &Global, args: RunArgs) -> Result<(), Failure> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    for path in &args.env_file {
        let text = std::fs::read_to_string(path).map_err(|error| {
            Failure::usage(format!("cannot read env file {}: {error}", path.display()))
        })?;
        let vars = envfile::parse(&text).map_err(|(line, reason)| {
            Failure::usage(format!("{}:{line}: {reason}", path.display()))
        })?;
        for (key, value) in vars {
            let key = OsString::from(key);
            env.retain(|(k, _)| *k != key);
            env.push((key, value.into()));
        }
    }

    let references: Vec<(usize, String)> = env
        .iter()
        .enumerate()
        .filter_map(|(i, (_, value))| {
            let value = value.to_str()?;
            value.starts_with(SCHEME).then(|| (i, value.to_owned()))
        })
        .collect();
    if !references.is_empty() {
        resolve(global, args.agent.path().as_deref(), &mut env, &references)?;
    }

    let mut parts = args.command.into_iter();
    let program = parts.next().unwrap_or_default();
    let mut command = Command::new(&program);
    command.args(parts).env_clear().envs(env);
    exec(command, &program)
}

/// Replaces every reference in `env` by its value, or fails naming every variable that could
/// not be resolved; nothing is replaced then.
fn resolve(
    global: &Global,
    agent: Option<&std::path::Path>,
    env: &mut [(OsString, OsString)],
    references: &[(usize, String)],
) -> Result<(), Failure> {
    let labelled: Vec<(String, &str)> = references
        .iter()
        .map(|(i, reference)| (env[*i].0.to_string_lossy().into_owned(), reference.as_str()))
        .collect();
    let values = super::resolve_labelled(global, agent, &labelled, "the command was not started")?;
    for ((i, _), selected) in references.iter().zip(values) {
        env[*i].1 = OsString::from(selected.expose());
    }
    Ok(())
}

/// Runs the command in place of `sy`, so that signals and the exit status are its own.
#[cfg(unix)]
fn exec(mut command: Command, program: &OsString) -> Result<(), Failure> {
    use std::os::unix::process::CommandExt as _;
    let error = command.exec();
    Err(Failure::operation(format!(
        "cannot run {}: {error}",
        program.to_string_lossy()
    )))
}

/// Runs the command and exits with its status.
#[cfg(not(unix))]
fn exec(mut command: Command, program: &OsString) -> Result<(), Failure> {
    let status = command.status().map_err(|error| {
        Failure::operation(format!("cannot run {}: {error}", program.to_string_lossy()))
    })?;
    std::process::exit(status.code().unwrap_or(1));
}
