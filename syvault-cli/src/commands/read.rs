//! `sy read`: one reference's value, and nothing else.

use serde_json::json;

use crate::cli::{Global, ReadArgs, TextFormat};
use crate::failure::Failure;
use crate::output;
use crate::resolve;

pub(crate) fn run(global: &Global, args: &ReadArgs) -> Result<(), Failure> {
    resolve::parse(&args.reference)?;
    let selected = resolve::resolve(global, &[args.reference.as_str()])?
        .pop()
        .unwrap_or_else(|| Err(Failure::operation("the reference was not resolved")))?;
    match args.format {
        TextFormat::Json => output::print_json(&json!({
            "reference": args.reference,
            "value": selected.expose(),
        })),
        TextFormat::Text => {
            let newline = if args.no_newline { "" } else { "\n" };
            output::print(&format!("{}{newline}", selected.expose()))
        }
    }
}
