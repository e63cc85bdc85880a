//! `sy read`: one reference's value, and nothing else.

use crate::cli::{Global, ReadArgs};
use crate::credentials;
use crate::failure::Failure;
use crate::output;

pub(crate) fn run(global: &Global, args: &ReadArgs) -> Result<(), Failure> {
    super::parse_reference(&args.reference)?;
    let client = credentials::client(global)?;
    let selected = client.secrets().notation(&args.reference)?;
    let newline = if args.no_newline { "" } else { "\n" };
    output::print(&format!("{}{newline}", selected.expose()))
}
