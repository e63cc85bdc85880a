//! Suggestions for names that match nothing: the closest folder paths, titles and field names
//! by edit distance. Names only, never a value.

use syvault_ureq::proto::notation::{NotationError, RecordRef, Reference};
use syvault_ureq::{Error, FolderInfo, RecordUid, SecretSummary};

use crate::failure::Failure;
use crate::output::escape;
use crate::session::Session;

/// At most this many suggestions.
const MAX: usize = 3;

/// The names among `candidates` closest to `wanted`: at most three, closest first, each within
/// an edit distance of a third of its length (at least 2), or containing `wanted` (or contained
/// in it) ignoring case.
pub(crate) fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .filter(|c| *c != wanted)
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            let distance = strsim::levenshtein(&wanted_lower, &lower);
            let limit = (wanted.chars().count().max(candidate.chars().count()) / 3).max(2);
            let related = !wanted_lower.is_empty()
                && (lower.contains(&wanted_lower) || wanted_lower.contains(&lower));
            (distance <= limit || related).then_some((distance, candidate))
        })
        .collect();
    scored.sort_unstable();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(MAX).map(|(_, c)| c).collect()
}

/// `did you mean `a`, `b` or `c`?`, or nothing.
fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        [init @ .., last] => format!("; did you mean {} or {last}?", init.join(", ")),
    }
}

/// A folder's path, from its ancestors among `folders`.
pub(crate) fn folder_path(folders: &[FolderInfo], folder: &FolderInfo) -> String {
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

/// What suggestions are drawn from: the names the client can see.
pub(crate) trait Names {
    /// Every folder's path.
    fn folder_paths(&mut self) -> &[String];
    /// Every secret's metadata.
    fn secrets(&mut self) -> &[SecretSummary];
    /// A record's field names; `None` when it cannot be read.
    fn field_names(&mut self, uid: RecordUid) -> Option<Vec<String>>;
}

/// Explains references that name nothing, fetching what the client can see once, when first
/// needed.
pub(crate) struct Suggester<'a> {
    session: &'a Session,
    folders: Option<Vec<String>>,
    secrets: Option<Vec<SecretSummary>>,
}

impl<'a> Suggester<'a> {
    pub(crate) fn new(session: &'a Session) -> Self {
        Self {
            session,
            folders: None,
            secrets: None,
        }
    }

    /// The failure for a notation error, with suggestions when it names nothing.
    pub(crate) fn explain(&mut self, error: NotationError) -> Failure {
        explain(self, error)
    }
}

impl Names for Suggester<'_> {
    fn folder_paths(&mut self) -> &[String] {
        if self.folders.is_none() {
            let folders = self.session.secrets().folders().unwrap_or_default();
            self.folders = Some(folders.iter().map(|f| folder_path(&folders, f)).collect());
        }
        self.folders.as_deref().unwrap_or_default()
    }

    fn secrets(&mut self) -> &[SecretSummary] {
        if self.secrets.is_none() {
            self.secrets = Some(self.session.secrets().list().unwrap_or_default());
        }
        self.secrets.as_deref().unwrap_or_default()
    }

    fn field_names(&mut self, uid: RecordUid) -> Option<Vec<String>> {
        let secret = self.session.secrets().get(uid.as_str()).ok()?;
        Some(secret.fields.names().map(str::to_owned).collect())
    }
}

/// The failure for a notation error, with suggestions from `names` when it names nothing.
pub(crate) fn explain(names: &mut impl Names, error: NotationError) -> Failure {
    let hint = match &error {
        NotationError::FolderNotFound { reference } => folder_hint(names, reference),
        NotationError::RecordNotFound { reference } => record_hint(names, reference),
        NotationError::FieldNotFound { uid, field } => field_hint(names, *uid, field),
        NotationError::AmbiguousRecord { candidates, .. } => ambiguous_hint(names, candidates),
        _ => String::new(),
    };
    let failure = Failure::from(Error::Notation(error));
    if hint.is_empty() {
        return failure;
    }
    let (kind, category) = (failure.kind(), failure.category_name());
    let mut lines = failure.into_lines();
    if let Some(first) = lines.first_mut() {
        first.push_str(&hint);
    }
    Failure::many(kind, category, lines)
}

fn folder_hint(names: &mut impl Names, reference: &str) -> String {
    let Some(RecordRef::Path { folders, title }) = record_of(reference) else {
        return String::new();
    };
    let wanted = folders.join("/");
    let paths = names.folder_paths();
    let suggestions: Vec<String> = closest(&wanted, paths.iter().map(String::as_str))
        .into_iter()
        .map(|path| format!("`{}/{}`", escape(path), escape(&title)))
        .collect();
    did_you_mean(&suggestions)
}

fn record_hint(names: &mut impl Names, reference: &str) -> String {
    let Some(record) = record_of(reference) else {
        return String::new();
    };
    let (folder, title) = match &record {
        RecordRef::Path { folders, title } => (Some(folders.join("/")), title.clone()),
        RecordRef::Lone(title) => (None, title.clone()),
        _ => return String::new(),
    };
    let secrets = names.secrets();
    let candidates: Vec<(String, &str)> = secrets
        .iter()
        .filter(|s| {
            folder
                .as_ref()
                .is_none_or(|f| s.folder_path.join("/") == *f)
        })
        .map(|s| (s.folder_path.join("/"), s.title.as_str()))
        .collect();
    let close = closest(&title, candidates.iter().map(|(_, t)| *t));
    let suggestions: Vec<String> = close
        .iter()
        .filter_map(|name| candidates.iter().find(|(_, t)| t == name))
        .map(|(path, title)| format!("`{}/{}`", escape(path), escape(title)))
        .collect();
    did_you_mean(&suggestions)
}

fn field_hint(names: &mut impl Names, uid: RecordUid, field: &str) -> String {
    let Some(fields) = names.field_names(uid) else {
        return String::new();
    };
    if fields.is_empty() {
        return "; it has no fields".to_owned();
    }
    let close: Vec<String> = closest(field, fields.iter().map(String::as_str))
        .into_iter()
        .map(|n| format!("`{}`", escape(n)))
        .collect();
    let all: Vec<String> = fields.iter().map(|n| format!("`{}`", escape(n))).collect();
    if close.is_empty() {
        format!("; its fields are {}", all.join(", "))
    } else {
        format!("{} (its fields: {})", did_you_mean(&close), all.join(", "))
    }
}

fn ambiguous_hint(names: &mut impl Names, candidates: &[RecordUid]) -> String {
    let secrets = names.secrets();
    let places: Vec<String> = candidates
        .iter()
        .map(|uid| {
            let path = secrets
                .iter()
                .find(|s| s.uid == *uid)
                .map(|s| s.folder_path.join("/"))
                .unwrap_or_default();
            format!("{uid} in `{}`", escape(&path))
        })
        .collect();
    format!(
        "; name it by its folder path or UID ({})",
        places.join(", ")
    )
}

/// The record a canonical record reference (as notation errors carry it) names.
fn record_of(reference: &str) -> Option<RecordRef> {
    format!("sy://{reference}/uid")
        .parse::<Reference>()
        .ok()
        .map(|r| r.record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_names_come_first_and_unrelated_ones_never() {
        let names = ["Production", "Staging", "Archive", "Prod"];
        assert_eq!(closest("Prodution", names), ["Production", "Prod"]);
        assert_eq!(closest("staging", names), ["Staging"]);
        assert!(closest("Zebra", names).is_empty());
        assert_eq!(closest("pasword", ["username", "password"]), ["password"]);
        assert_eq!(closest("x", ["a", "b", "c", "d", "e"]).len(), MAX);
    }

    #[test]
    fn suggestions_read_as_a_sentence() {
        assert_eq!(did_you_mean(&[]), "");
        assert_eq!(did_you_mean(&["`a`".into()]), "; did you mean `a`?");
        assert_eq!(
            did_you_mean(&["`a`".into(), "`b`".into(), "`c`".into()]),
            "; did you mean `a`, `b` or `c`?"
        );
    }
}
