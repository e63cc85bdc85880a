//! One module per command; each takes its arguments and the global options.

mod doctor;
mod folder;
mod init;
mod inject;
mod lease;
mod process;
mod profile;
mod read;
mod secret;
mod whoami;

use clap::CommandFactory as _;
use syvault_ureq::{FolderInfo, Uuid};

use crate::cli::{
    Cli, Command, FolderCommand, Global, LeaseCommand, ProfileCommand, SecretCommand,
};
use crate::failure::Failure;
use crate::output::escape;
use crate::session::Session;
use crate::suggest::{self, folder_path};

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
        Command::Whoami(args) => whoami::run(global, &args),
        Command::Doctor(args) => doctor::run(global, &args),
        Command::Profile(ProfileCommand::List(args)) => profile::list(global, &args),
        Command::Profile(ProfileCommand::Show(args)) => profile::show(global, &args),
        Command::Profile(ProfileCommand::Remove(args)) => profile::remove(global, &args),
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
    read::through_agent(read)
}

/// The folder a `--folder` option names (by id, by path `A/B` or by name) and its path; a
/// miss suggests the closest paths.
fn find_folder(session: &Session, spec: &str) -> Result<(FolderInfo, String), Failure> {
    let folders = session.secrets().folders()?;
    let with_path = |f: &FolderInfo| (f.clone(), folder_path(&folders, f));
    if let Ok(id) = spec.parse::<Uuid>() {
        return folders
            .iter()
            .find(|f| f.folder_id == id)
            .map(with_path)
            .ok_or_else(|| {
                Failure::operation(format!("folder {id} not found")).category("not_found")
            });
    }
    let mut matches: Vec<&FolderInfo> = folders
        .iter()
        .filter(|f| folder_path(&folders, f) == spec)
        .collect();
    if matches.is_empty() {
        matches = folders.iter().filter(|f| f.name == spec).collect();
    }
    match matches.as_slice() {
        [one] => Ok(with_path(one)),
        [] => {
            let paths: Vec<String> = folders.iter().map(|f| folder_path(&folders, f)).collect();
            let close: Vec<String> = suggest::closest(spec, paths.iter().map(String::as_str))
                .into_iter()
                .map(|p| format!("`{}`", escape(p)))
                .collect();
            let hint = match close.as_slice() {
                [] => String::new(),
                [one] => format!("; did you mean {one}?"),
                several => format!("; did you mean one of {}?", several.join(", ")),
            };
            Err(
                Failure::operation(format!("folder `{}` not found{hint}", escape(spec)))
                    .category("not_found"),
            )
        }
        several => {
            let ids: Vec<String> = several.iter().map(|f| f.folder_id.to_string()).collect();
            Err(Failure::operation(format!(
                "folder name `{}` matches several folders: {}; give its path or id",
                escape(spec),
                ids.join(", ")
            ))
            .category("ambiguous"))
        }
    }
}

/// The session of a command, with the default or given time limit.
fn session(global: &Global) -> Result<Session, Failure> {
    Session::open(global, global.timeout(crate::cli::DEFAULT_TIMEOUT)?)
}
