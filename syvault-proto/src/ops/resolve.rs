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
    /// Resolves every reference in `references`, with at most one listing.
    pub fn new<I, S>(references: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::parsed(
            references
                .into_iter()
                .map(|r| Reference::parse(r.as_ref()))
                .collect(),
        )
    }

    fn parsed(references: Vec<Result<Reference, NotationError>>) -> Self {
        Self {
            references,
            listed: false,
            fetched: HashMap::new(),
            state: State::Ready,
        }
    }

    fn resolve_uids(&self, client: &mut Client) -> Vec<Result<RecordUid>> {
        let index = client.index();
        self.references
            .iter()
            .map(|reference| match reference {
                Ok(reference) => index.resolve(&reference.record).map_err(Error::from),
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
        let index_fresh = client.index_is_fresh(now);
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
                    Some(Err(error)) => return Err(error.clone()),
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
///
/// While the index is fresh and names the record, the reference costs an index lookup and a
/// read through the cache; otherwise it takes [`ResolveNotation`]'s path (listing when the
/// index is stale or the record unknown).
#[derive(Debug)]
pub struct ResolveReference(Single);

#[derive(Debug)]
enum Single {
    /// The reference as written: parsed only when the index has not resolved it before.
    Ready(Box<str>),
    Fetching(Arc<Selector>, GetSecret),
    /// Boxed: the common case, a fresh index, never builds it.
    General(Box<ResolveNotation>),
    Finished,
}

impl ResolveReference {
    /// Resolves `reference`; the same as [`Client::notation`].
    pub fn new(reference: &str) -> Self {
        Self(Single::Ready(reference.into()))
    }

    fn start(
        &mut self,
        text: &str,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Selected> {
        let index_fresh = client.index_is_fresh(now);
        if index_fresh && let Some((uid, selector)) = client.index().resolved(text) {
            return self.fetch(uid, selector, client, now, rng);
        }
        match Reference::parse(text) {
            Ok(reference) if index_fresh => match client.index().resolve(&reference.record) {
                Ok(uid) => {
                    let selector = Arc::new(reference.selector);
                    client
                        .index()
                        .remember_resolved(text, uid, Arc::clone(&selector));
                    self.fetch(uid, selector, client, now, rng)
                }
                Err(_) => self.general(Ok(reference), client, now, rng),
            },
            parsed => self.general(parsed, client, now, rng),
        }
    }

    fn fetch(
        &mut self,
        uid: RecordUid,
        selector: Arc<Selector>,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Selected> {
        let mut get = GetSecret::new(uid);
        let step = get.step(client, Input::Start, now, rng);
        self.fetched(selector, get, step)
    }

    /// The general path, from the start.
    fn general(
        &mut self,
        reference: Result<Reference, NotationError>,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Selected> {
        let mut resolve = Box::new(ResolveNotation::parsed(vec![reference]));
        let step = resolve.step(client, Input::Start, now, rng);
        self.0 = Single::General(resolve);
        one(step)
    }

    fn fetched(
        &mut self,
        selector: Arc<Selector>,
        get: GetSecret,
        step: Step<Arc<Secret>>,
    ) -> Step<Selected> {
        match pending(step) {
            Ok(step) => {
                self.0 = Single::Fetching(selector, get);
                step
            }
            Err(result) => Step::Done(result.and_then(|secret| select(&secret, &selector))),
        }
    }
}

/// The one result of a [`ResolveNotation`] of one reference.
fn one(step: Step<Vec<Result<Selected>>>) -> Step<Selected> {
    match pending(step) {
        Ok(step) => step,
        Err(result) => Step::Done(result.and_then(|mut results| {
            results
                .pop()
                .unwrap_or_else(|| Err(Error::invalid_input("reference", "no result")))
        })),
    }
}

impl Operation for ResolveReference {
    type Output = Selected;

    /// The reference as written: it names folders, a title and a field, never a value.
    fn subject(&self) -> Option<String> {
        match &self.0 {
            Single::Ready(text) => Some(text.to_string()),
            _ => None,
        }
    }

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Selected> {
        match std::mem::replace(&mut self.0, Single::Finished) {
            Single::Ready(text) => self.start(&text, client, now, rng),
            Single::Fetching(selector, mut get) => {
                let step = get.step(client, input, now, rng);
                self.fetched(selector, get, step)
            }
            Single::General(mut resolve) => {
                let step = resolve.step(client, input, now, rng);
                self.0 = Single::General(resolve);
                one(step)
            }
            Single::Finished => Step::Done(Err(after_finish())),
        }
    }

    fn abandon(&mut self, client: &mut Client) {
        match &mut self.0 {
            Single::Fetching(_, get) => get.abandon(client),
            Single::General(resolve) => resolve.abandon(client),
            Single::Ready(_) | Single::Finished => {}
        }
        self.0 = Single::Finished;
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
