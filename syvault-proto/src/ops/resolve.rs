//! Resolving `sy://` references through the notation index.

use std::collections::HashMap;
use std::sync::Arc;

use rand_core::CryptoRng;

use super::get::GetSecret;
use super::list::Listing;
use super::{Operation, after_finish, pending};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::model::{Secret, Selected};
use crate::notation::{NotationError, Reference, Selector};
use crate::step::{Input, Step};
use crate::time::Timestamp;
use crate::uid::RecordUid;

/// Resolves references such as `sy://Production/Database/field/password`, one result per
/// reference, in order.
///
/// Resolution is client-side: folder names and titles are only known decrypted. One listing
/// builds the index for any number of references and is reused while it is as fresh as the
/// cache TTL; a reference that names nothing known triggers one fresh listing before it is
/// reported missing. Errors name candidate UIDs, never values.
#[derive(Debug)]
pub struct ResolveNotation {
    references: Vec<Result<Reference, NotationError>>,
    listed: bool,
    fetched: HashMap<RecordUid, Result<Arc<Secret>>>,
    state: State,
}

#[derive(Debug)]
enum State {
    Ready,
    Listing(Listing),
    Fetching(GetSecret),
    Finished,
}

impl ResolveNotation {
    pub(crate) fn new<I, S>(references: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            references: references
                .into_iter()
                .map(|r| Reference::parse(r.as_ref()))
                .collect(),
            listed: false,
            fetched: HashMap::new(),
            state: State::Ready,
        }
    }

    fn resolve_uids(&self, client: &Client) -> Vec<Result<RecordUid>> {
        self.references
            .iter()
            .map(|reference| match reference {
                Ok(reference) => client.index.resolve(&reference.record).map_err(Error::from),
                Err(error) => Err(error.clone().into()),
            })
            .collect()
    }

    /// Decides what to do with the index as it is: list, fetch a missing secret, or finish.
    fn advance(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Result<Selected>>> {
        let index_fresh = client.index_fresh_until.is_some_and(|until| now < until);
        let any_valid = self.references.iter().any(Result::is_ok);
        if any_valid && !self.listed && !index_fresh {
            return self.list(client, now, rng);
        }
        let uids = self.resolve_uids(client);
        let missing = uids.iter().any(|r| {
            matches!(
                r,
                Err(Error::Notation(
                    NotationError::RecordNotFound { .. } | NotationError::FolderNotFound { .. }
                ))
            )
        });
        if missing && !self.listed {
            return self.list(client, now, rng);
        }
        for uid in uids.iter().flatten() {
            if self.fetched.contains_key(uid) {
                continue;
            }
            if let Some(secret) = client.cache.get_any(uid).filter(|_| self.listed) {
                self.fetched.insert(*uid, Ok(Arc::clone(secret)));
                continue;
            }
            let mut get = GetSecret::new(*uid);
            let step = get.step(client, Input::Start, now, rng);
            self.state = State::Fetching(get);
            match pending(step) {
                Ok(step) => return step,
                Err(result) => {
                    self.fetched.insert(*uid, result);
                    self.state = State::Ready;
                }
            }
        }
        let results = uids
            .into_iter()
            .zip(&self.references)
            .map(|(uid, reference)| {
                let uid = uid?;
                let secret = match self.fetched.get(&uid) {
                    Some(Ok(secret)) => secret,
                    Some(Err(error)) => return Err(clone_error(error)),
                    None => {
                        return Err(Error::SecretNotFound {
                            uid: uid.to_string(),
                        });
                    }
                };
                let selector = reference
                    .as_ref()
                    .map(|r| &r.selector)
                    .map_err(|e| Error::from(e.clone()))?;
                select(secret, selector)
            })
            .collect();
        self.state = State::Finished;
        Step::Done(Ok(results))
    }

    fn list(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Result<Selected>>> {
        self.listed = true;
        let mut listing = Listing::new();
        let step = listing.step(client, Input::Start, now, rng);
        self.state = State::Listing(listing);
        self.after_listing(client, step, now, rng)
    }

    fn after_listing(
        &mut self,
        client: &mut Client,
        step: Step<Vec<Arc<Secret>>>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Result<Selected>>> {
        match pending(step) {
            Ok(step) => step,
            Err(Ok(secrets)) => {
                self.fetched
                    .extend(secrets.into_iter().map(|s| (s.uid, Ok(s))));
                self.state = State::Ready;
                self.advance(client, now, rng)
            }
            Err(Err(error)) => {
                self.state = State::Finished;
                Step::Done(Err(error))
            }
        }
    }
}

impl Operation for ResolveNotation {
    type Output = Vec<Result<Selected>>;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Ready => self.advance(client, now, rng),
            State::Listing(mut listing) => {
                let step = listing.step(client, input, now, rng);
                self.state = State::Listing(listing);
                self.after_listing(client, step, now, rng)
            }
            State::Fetching(mut get) => {
                let uid = *get.uid();
                let step = get.step(client, input, now, rng);
                self.state = State::Fetching(get);
                match pending(step) {
                    Ok(step) => step,
                    Err(result) => {
                        self.fetched.insert(uid, result);
                        self.state = State::Ready;
                        self.advance(client, now, rng)
                    }
                }
            }
            State::Finished => Step::Done(Err(after_finish())),
        }
    }

    fn abandon(&mut self, client: &mut Client) {
        if let State::Fetching(get) = &mut self.state {
            get.abandon(client);
        }
        self.state = State::Finished;
    }
}

/// Resolves a single `sy://` reference: [`ResolveNotation`] with one result.
#[derive(Debug)]
pub struct ResolveReference(ResolveNotation);

impl ResolveReference {
    /// Resolves `reference`; the same as [`Client::notation`].
    pub fn new(reference: &str) -> Self {
        Self(ResolveNotation::new([reference]))
    }
}

impl Operation for ResolveReference {
    type Output = Selected;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Selected> {
        match pending(self.0.step(client, input, now, rng)) {
            Ok(step) => step,
            Err(result) => Step::Done(result.and_then(|mut results| {
                results
                    .pop()
                    .unwrap_or_else(|| Err(Error::invalid_input("reference", "no result")))
            })),
        }
    }

    fn abandon(&mut self, client: &mut Client) {
        self.0.abandon(client);
    }
}

/// Applies a selector to a decrypted secret.
pub(crate) fn select(secret: &Secret, selector: &Selector) -> Result<Selected> {
    Ok(match selector {
        Selector::Field(name) => {
            Selected::Secret(secret.field(name).cloned().ok_or_else(|| {
                NotationError::FieldNotFound {
                    uid: secret.uid,
                    field: name.clone(),
                }
            })?)
        }
        Selector::Title => Selected::Plain(secret.title.clone()),
        Selector::Notes => Selected::Secret(secret.notes.clone()),
        Selector::Uid => Selected::Plain(secret.uid.to_string()),
    })
}

/// Errors are not `Clone` (they may carry boxed server details); one fetch can serve several
/// references, so each gets an equivalent copy.
fn clone_error(error: &Error) -> Error {
    match error {
        Error::SecretNotFound { uid } => Error::SecretNotFound { uid: uid.clone() },
        Error::AuthenticationFailed { status, code } => Error::AuthenticationFailed {
            status: *status,
            code: code.clone(),
        },
        Error::Api(api) => Error::Api(api.clone()),
        Error::Transport { kind, message } => Error::Transport {
            kind: *kind,
            message: message.clone(),
        },
        Error::Notation(e) => Error::Notation(e.clone()),
        Error::Decryption { what } => Error::Decryption { what: what.clone() },
        other => Error::malformed(other.status().unwrap_or(0), other.to_string()),
    }
}
