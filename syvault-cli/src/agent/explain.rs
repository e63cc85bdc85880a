//! Failed references worded as `sy` words them without an agent: one that names nothing gets
//! the closest names the agent's client can see, fetched (from its cache, mostly) only when a
//! failure needs them.

use syvault_hyper::proto::notation::NotationError;
use syvault_hyper::{AsyncSyVaultClient, Error, RecordUid, SecretSummary};

use super::api::{Code, ErrorBody};
use crate::suggest::{self, Names, folder_path};

/// The names suggestions are drawn from, fetched once each for all the failures of a request.
pub(crate) struct Explainer<'a> {
    client: &'a AsyncSyVaultClient,
    folders: Option<Vec<String>>,
    secrets: Option<Vec<SecretSummary>>,
    fields: Vec<(RecordUid, Option<Vec<String>>)>,
}

impl<'a> Explainer<'a> {
    pub(crate) fn new(client: &'a AsyncSyVaultClient) -> Self {
        Self {
            client,
            folders: None,
            secrets: None,
            fields: Vec::new(),
        }
    }

    /// The error body of a failed reference, with suggestions where `sy` gives them.
    pub(crate) async fn body(&mut self, error: Error) -> ErrorBody {
        let code = Code::of(&error);
        let Error::Notation(notation) = error else {
            return ErrorBody::from_error(&error, &self.client.server());
        };
        self.fetch_for(&notation).await;
        ErrorBody::from_failure(code, suggest::explain(self, notation))
    }

    /// Fetches what explaining `error` reads; a fetch that fails leaves the hint out.
    async fn fetch_for(&mut self, error: &NotationError) {
        let secrets = self.client.secrets();
        match error {
            NotationError::FolderNotFound { .. } if self.folders.is_none() => {
                let folders = secrets.folders().await.unwrap_or_default();
                self.folders = Some(folders.iter().map(|f| folder_path(&folders, f)).collect());
            }
            NotationError::RecordNotFound { .. } | NotationError::AmbiguousRecord { .. }
                if self.secrets.is_none() =>
            {
                self.secrets = Some(secrets.list().await.unwrap_or_default());
            }
            NotationError::FieldNotFound { uid, .. }
                if !self.fields.iter().any(|(known, _)| known == uid) =>
            {
                let names = secrets
                    .get(uid.as_str())
                    .await
                    .ok()
                    .map(|secret| secret.fields.names().map(str::to_owned).collect());
                self.fields.push((*uid, names));
            }
            _ => {}
        }
    }
}

impl Names for Explainer<'_> {
    fn folder_paths(&mut self) -> &[String] {
        self.folders.as_deref().unwrap_or_default()
    }

    fn secrets(&mut self) -> &[SecretSummary] {
        self.secrets.as_deref().unwrap_or_default()
    }

    fn field_names(&mut self, uid: RecordUid) -> Option<Vec<String>> {
        self.fields
            .iter()
            .find(|(known, _)| *known == uid)
            .and_then(|(_, names)| names.clone())
    }
}
