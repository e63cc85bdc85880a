//! `sy read`: one reference's value, and nothing else.

use std::path::Path;

use syvault_ureq::Selected;

use crate::agent::client::Agent;
use crate::cli::{Global, ReadArgs};
use crate::credentials;
use crate::failure::Failure;
use crate::output;

pub(crate) fn run(global: &Global, args: &ReadArgs) -> Result<(), Failure> {
    if let Some(socket) = args.agent.path() {
        return through_agent(&socket, &args.reference, args.no_newline);
    }
    super::parse_reference(&args.reference)?;
    let client = credentials::client(global)?;
    let selected = client.secrets().notation(&args.reference)?;
    print(&selected, args.no_newline)
}

/// `sy read` through the agent: the same checks and output, and no client of its own.
pub(crate) fn through_agent(
    socket: &Path,
    reference: &str,
    no_newline: bool,
) -> Result<(), Failure> {
    super::parse_reference(reference)?;
    let selected = Agent::new(socket).read(reference)?;
    print(&selected, no_newline)
}

fn print(selected: &Selected, no_newline: bool) -> Result<(), Failure> {
    let newline = if no_newline { "" } else { "\n" };
    output::print(&format!("{}{newline}", selected.expose()))
}
