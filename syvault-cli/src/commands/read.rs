//! `sy read`: one reference's value, and nothing else.

use serde::Serialize;
use syvault_ureq::Selected;

use crate::cli::{Global, ReadArgs, TextFormat};
use crate::failure::Failure;
use crate::output;
use crate::resolve;

pub(crate) fn run(global: &Global, args: &ReadArgs) -> Result<(), Failure> {
    let selected = resolve::read(global, args.agent.path().as_deref(), &args.reference)?;
    print(&args.reference, &selected, args.format, args.no_newline)
}

/// `sy read` through the agent as its fast path recognised it: the same checks and output,
/// with the time limit of `SY_TIMEOUT`, and no client of its own.
#[cfg(unix)]
pub(crate) fn through_agent(read: &crate::agent::fast::FastRead) -> Result<(), Failure> {
    resolve::parse(&read.reference)?;
    let timeout = crate::cli::env_timeout(crate::cli::DEFAULT_TIMEOUT)?;
    let selected = crate::agent::client::Agent::new(&read.socket, timeout).read(&read.reference)?;
    print(
        &read.reference,
        &selected,
        TextFormat::Text,
        read.no_newline,
    )
}

fn print(
    reference: &str,
    selected: &Selected,
    format: TextFormat,
    no_newline: bool,
) -> Result<(), Failure> {
    match format {
        TextFormat::Json => output::print_json(&ReadJson {
            reference,
            value: selected.expose(),
        }),
        TextFormat::Text => {
            let newline = if no_newline { "" } else { "\n" };
            output::print(&output::concat_zeroizing(&[selected.expose(), newline]))
        }
    }
}

/// The JSON form of `sy read`. It borrows the value, so that the only copy made is the
/// document, which is wiped ([`output::print_json`]).
#[derive(Serialize)]
struct ReadJson<'a> {
    reference: &'a str,
    value: &'a str,
}
