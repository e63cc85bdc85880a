//! `sy inject`: a template with its `{{ sy://… }}` placeholders replaced.

use std::io::Read as _;
use std::path::Path;

use syvault_ureq::Selected;
use syvault_ureq::proto::private_file::{self, Existing};
use zeroize::Zeroizing;

use crate::cli::{Global, InjectArgs};
use crate::failure::Failure;
use crate::output;
use crate::resolve;
use crate::template::{self, Piece};

pub(crate) fn run(global: &Global, args: &InjectArgs) -> Result<(), Failure> {
    let template = if let Some(path) = &args.input {
        std::fs::read_to_string(path).map_err(|error| {
            Failure::usage(format!("cannot read template {}: {error}", path.display()))
        })?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|error| {
                Failure::usage(format!(
                    "cannot read the template from standard input: {error}"
                ))
            })?;
        text
    };
    let pieces = template::parse(&template).map_err(|line| {
        Failure::usage(format!(
            "line {line}: a placeholder `{{{{ sy://…` is not closed by `}}}}` on its line"
        ))
    })?;
    let rendered = render(global, args.agent.path().as_deref(), &pieces)?;
    match &args.output {
        Some(path) => {
            private_file::write(path, rendered.as_bytes(), Existing::Replace).map_err(|error| {
                Failure::operation(format!("cannot write {}: {error}", path.display()))
            })
        }
        None => output::print(&rendered),
    }
}

/// The template with every placeholder replaced, or every failing placeholder listed.
fn render(
    global: &Global,
    agent: Option<&Path>,
    pieces: &[Piece<'_>],
) -> Result<Zeroizing<String>, Failure> {
    let references: Vec<(String, &str)> = pieces
        .iter()
        .filter_map(|piece| match piece {
            Piece::Reference { reference, line } => Some((format!("line {line}"), *reference)),
            Piece::Text(_) => None,
        })
        .collect();
    let values = resolve::resolve_labelled(global, agent, &references, "nothing was written")?;
    let mut values = values.iter();
    let parts: Vec<&str> = pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(t) => t,
            Piece::Reference { .. } => values.next().map_or("", Selected::expose),
        })
        .collect();
    // The rendered text holds the values: built once, at its final size, and wiped.
    Ok(output::concat_zeroizing(&parts))
}
