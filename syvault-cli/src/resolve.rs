//! Resolving `sy://` references for `read`, `run` and `inject`: the one place they get values
//! from, in one batch, with suggestions for references that name nothing. With an agent's
//! socket (`--agent` or `SY_AGENT_SOCKET`) the agent resolves them, worded alike, and no
//! credentials are read here.

use std::path::Path;

use syvault_ureq::proto::notation::Reference;
use syvault_ureq::{Error, Selected};

use crate::agent::client::Agent;
use crate::cli::{DEFAULT_TIMEOUT, Global};
use crate::failure::{Failure, Kind};
use crate::output::escape;
use crate::session::Session;
use crate::suggest;

/// Checks a reference's syntax before any credentials are read or requests sent.
pub(crate) fn parse(reference: &str) -> Result<Reference, Failure> {
    reference
        .parse::<Reference>()
        .map_err(|error| Failure::from(Error::Notation(error)))
}

/// Resolves one reference, as `sy read` does: through the agent at `agent` if one is named,
/// else as a batch of one.
pub(crate) fn read(
    global: &Global,
    agent: Option<&Path>,
    reference: &str,
) -> Result<Selected, Failure> {
    if let Some(socket) = agent {
        parse(reference)?;
        return Agent::new(socket, global.timeout(DEFAULT_TIMEOUT)?).read(reference);
    }
    resolve(global, None, &[reference])?
        .pop()
        .unwrap_or_else(|| Err(Failure::operation("the reference was not resolved")))
}

/// Resolves references in one batch (one listing, however many): one result per reference,
/// in order, by the agent at `agent` if one is named. A reference that is malformed fails
/// alone, before anything is sent; one that names nothing fails with the closest names the
/// client can see. The outer error is a failure of the whole batch (credentials, the server,
/// the agent).
pub(crate) fn resolve(
    global: &Global,
    agent: Option<&Path>,
    references: &[&str],
) -> Result<Vec<Result<Selected, Failure>>, Failure> {
    let parsed: Vec<Result<Reference, Failure>> = references.iter().map(|r| parse(r)).collect();
    let valid: Vec<&str> = references
        .iter()
        .zip(&parsed)
        .filter(|(_, p)| p.is_ok())
        .map(|(r, _)| *r)
        .collect();
    let mut resolved = if valid.is_empty() {
        Vec::new().into_iter()
    } else if let Some(socket) = agent {
        Agent::new(socket, global.timeout(DEFAULT_TIMEOUT)?)
            .resolve_all(&valid)?
            .into_iter()
    } else {
        let session = Session::open(global, global.timeout(DEFAULT_TIMEOUT)?)?;
        let results = session.secrets().resolve_all(&valid)?;
        let mut suggester = suggest::Suggester::new(&session);
        results
            .into_iter()
            .map(|result| {
                result.map_err(|error| match error {
                    Error::Notation(notation) => suggester.explain(notation),
                    other => Failure::from(other),
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
    };
    Ok(parsed
        .into_iter()
        .map(|parsed| match parsed {
            Err(failure) => Err(failure),
            Ok(_) => resolved
                .next()
                .unwrap_or_else(|| Err(Failure::operation("reference left unresolved"))),
        })
        .collect())
}

/// Resolves labelled references (variables, template lines), through the agent at `agent` if
/// one is named: one value per reference in order, or a failure naming every label whose reference is malformed or cannot be resolved,
/// ending with `consequence`. Values never appear in a failure.
pub(crate) fn resolve_labelled(
    global: &Global,
    agent: Option<&Path>,
    references: &[(String, &str)],
    consequence: &str,
) -> Result<Vec<Selected>, Failure> {
    let texts: Vec<&str> = references.iter().map(|(_, r)| *r).collect();
    let results = match resolve(global, agent, &texts) {
        Ok(results) => results,
        Err(failure) => {
            return Err(failure.hint(consequence));
        }
    };
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for ((label, _), result) in references.iter().zip(results) {
        match result {
            Ok(selected) => values.push(selected),
            Err(failure) => problems.push(failure.context(escape(label))),
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
    let category = if failed == 1 {
        problems[0].category_name()
    } else {
        "references"
    };
    let mut lines: Vec<String> = problems.into_iter().flat_map(Failure::into_lines).collect();
    let plural = if failed == 1 { "" } else { "s" };
    lines.push(format!("{failed} problem{plural}; {consequence}"));
    Err(Failure::many(kind, category, lines))
}
