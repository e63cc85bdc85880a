//! One module per command; each takes its arguments and the global options.

mod folder;
mod init;
mod inject;
mod lease;
mod process;
mod read;
mod secret;

use std::path::Path;

use clap::CommandFactory as _;
use syvault_ureq::proto::notation::Reference;
use syvault_ureq::{FolderInfo, Selected, SyVaultClient, Uuid};

use crate::agent::client::Agent;
use crate::cli::{Cli, Command, FolderCommand, Global, LeaseCommand, SecretCommand};
use crate::credentials;
use crate::failure::{Failure, Kind};

/// Runs the command the command line names.
pub(crate) fn run(cli: Cli) -> Result<(), Failure> {
    let global = &cli.global;
    match cli.command {
        Command::Init(args) => init::run(global, &args),
        Command::Read(args) => read::run(global, &args),
        Command::Secret(SecretCommand::List(args)) => secret::list(global, &args),
        Command::Secret(SecretCommand::Get(args)) => secret::get(global, &args),
        Command::Secret(SecretCommand::Create(args)) => secret::create(global, &args),
        Command::Secret(SecretCommand::Rotate(args)) => secret::rotate(global, &args),
        Command::Folder(FolderCommand::List(args)) => folder::list(global, &args),
        Command::Lease(LeaseCommand::Create(args)) => lease::create(global, &args),
        Command::Lease(LeaseCommand::List(args)) => lease::list(global, &args),
        Command::Lease(LeaseCommand::Renew(args)) => lease::renew(global, &args),
        Command::Lease(LeaseCommand::Revoke(args)) => lease::revoke(global, &args),
        Command::Run(args) => process::run(global, args),
        Command::Inject(args) => inject::run(global, &args),
        Command::Agent(args) => crate::agent::server::run(global, &args),
        Command::Completion(args) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "sy", &mut script);
            crate::output::print(&String::from_utf8_lossy(&script))
        }
    }
}

/// `sy read` as the agent's fast path recognised it, before clap.
#[cfg(unix)]
pub(crate) fn read_through_agent(read: &crate::agent::fast::FastRead) -> Result<(), Failure> {
    read::through_agent(&read.socket, &read.reference, read.no_newline)
}

/// Checks a reference's syntax before any credentials are read or requests sent.
fn parse_reference(reference: &str) -> Result<(), Failure> {
    reference
        .parse::<Reference>()
        .map(drop)
        .map_err(|error| Failure::from(syvault_ureq::Error::Notation(error)))
}

/// Resolves labelled references (variables, template lines) in one batch: one value per
/// reference in order, or a failure naming every label whose reference is malformed or
/// cannot be resolved, ending with `consequence`. Values never appear in a failure. With an
/// agent's socket, the agent resolves them and no client is built here.
fn resolve_labelled(
    global: &Global,
    agent: Option<&Path>,
    references: &[(String, &str)],
    consequence: &str,
) -> Result<Vec<Selected>, Failure> {
    let mut problems = Vec::new();
    let mut valid = Vec::new();
    for (label, reference) in references {
        match parse_reference(reference) {
            Ok(()) => valid.push((label, *reference)),
            Err(failure) => problems.push(failure.context(label)),
        }
    }
    let mut values = Vec::new();
    if let (Some(socket), false) = (agent, valid.is_empty()) {
        let texts: Vec<&str> = valid.iter().map(|(_, r)| *r).collect();
        let results = Agent::new(socket).resolve_all(&texts)?;
        for ((label, _), result) in valid.iter().zip(results) {
            match result {
                Ok(selected) => values.push(selected),
                Err(failure) => problems.push(failure.context(label)),
            }
        }
    } else if !valid.is_empty() {
        match credentials::client(global) {
            Ok(client) => {
                let texts: Vec<&str> = valid.iter().map(|(_, r)| *r).collect();
                let results = client.secrets().resolve_all(&texts)?;
                for ((label, _), result) in valid.iter().zip(results) {
                    match result {
                        Ok(selected) => values.push(selected),
                        Err(error) => problems.push(Failure::from(error).context(label)),
                    }
                }
            }
            Err(failure) => problems.push(failure),
        }
    }
    if problems.is_empty() {
        return Ok(values);
    }
    let failed = problems.len();
    let kind = if problems.iter().all(|p| p.kind() == Kind::Usage) {
        Kind::Usage
    } else {
        Kind::Operation
    };
    let mut lines: Vec<String> = problems.into_iter().flat_map(Failure::into_lines).collect();
    let plural = if failed == 1 { "" } else { "s" };
    lines.push(format!("{failed} problem{plural}; {consequence}"));
    Err(Failure::many(kind, lines))
}

/// A folder's path, from its ancestors among `folders`.
fn folder_path(folders: &[FolderInfo], folder: &FolderInfo) -> String {
    let mut names = vec![folder.name.as_str()];
    let mut parent = folder.parent_id;
    while let Some(id) = parent {
        // A cycle in a hostile answer must not loop forever.
        if names.len() > folders.len() {
            break;
        }
        let Some(up) = folders.iter().find(|f| f.folder_id == id) else {
            break;
        };
        names.push(&up.name);
        parent = up.parent_id;
    }
    names.reverse();
    names.join("/")
}

/// The folder a `--folder` option names: by id, by path (`A/B`) or by name.
fn find_folder(client: &SyVaultClient, spec: &str) -> Result<FolderInfo, Failure> {
    let folders = client.secrets().folders()?;
    if let Ok(id) = spec.parse::<Uuid>() {
        return folders
            .into_iter()
            .find(|f| f.folder_id == id)
            .ok_or_else(|| Failure::operation(format!("folder {id} not found")));
    }
    let mut matches: Vec<&FolderInfo> = folders
        .iter()
        .filter(|f| folder_path(&folders, f) == spec)
        .collect();
    if matches.is_empty() {
        matches = folders.iter().filter(|f| f.name == spec).collect();
    }
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::operation(format!("folder `{spec}` not found"))),
        several => {
            let ids: Vec<String> = several.iter().map(|f| f.folder_id.to_string()).collect();
            Err(Failure::operation(format!(
                "folder name `{spec}` matches several folders: {}; give its id",
                ids.join(", ")
            )))
        }
    }
}
