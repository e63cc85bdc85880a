//! Resolving `sy://` references through the notation index.

use std::sync::Arc;

use rand_core::CryptoRng;

use super::get::GetSecret;
use super::list::Listing;
use super::{Operation, after_finish, pending, serves_stale};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::expiry::Freshness;
use crate::hashing::UidMap;
use crate::model::{Secret, Selected};
use crate::notation::{NotationError, RecordRef, Reference, Selector};
use crate::step::{Input, Step};
use crate::time::Timestamp;
use crate::uid::RecordUid;

/// Resolves references such as `sy://Production/Database/field/password`, one result per
/// reference, in order.
///
/// Resolution is client-side: folder names and titles are only known decrypted. One listing
/// builds the index for any number of references and is reused while it is as fresh as the
/// cache TTL (refreshed in the background ahead of its expiry, and served stale within
/// `max_stale` when the server cannot answer); a reference that names nothing known triggers
/// one fresh listing before it is reported missing. A reference by UID (`sy://<UID>/…`) is
/// read with a `GET` by UID, through the cache, and needs no listing; only if the server knows
/// no such record is its segment looked up as a title. Errors name candidate UIDs, never
/// values.
#[derive(Debug)]
pub struct ResolveNotation {
    references: Vec<Result<Reference, NotationError>>,
    listed: bool,
    /// The listing succeeded: the cache holds what it listed, fresh. After a failed one (the
    /// index served stale), a cached secret is read through the cache's stale rules instead.
    listing_ok: bool,
    fetched: UidMap<Result<Arc<Secret>>>,
    state: State,
}

#[derive(Debug)]
enum State {
    Ready,
    Listing(Box<Listing>),
    Fetching(GetSecret),
    Finished,
}

/// The UID a lone reference segment spells, if it spells one.
fn spelt_uid(reference: &Reference) -> Option<RecordUid> {
    match &reference.record {
        RecordRef::Lone(text) => text.parse().ok(),
        RecordRef::Path { .. } => None,
    }
}

/// Whether a read by UID found that the server knows no such record.
fn absent(result: Option<&Result<Arc<Secret>>>) -> bool {
    matches!(result, Some(Err(Error::SecretNotFound { .. })))
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
            listing_ok: false,
            fetched: UidMap::default(),
            state: State::Ready,
        }
    }

    /// Whether `reference` is resolved with the index: it is not a UID, or the server knows no
    /// record of that UID.
    fn needs_index(&self, reference: &Reference) -> bool {
        spelt_uid(reference).is_none_or(|uid| absent(self.fetched.get(&uid)))
    }

    fn resolve_uids(&self, client: &mut Client) -> Vec<Result<RecordUid>> {
        self.references
            .iter()
            .map(|reference| match reference {
                Ok(reference) => match spelt_uid(reference) {
                    Some(uid) if !self.needs_index(reference) => Ok(uid),
                    _ => client
                        .index()
                        .resolve(&reference.record)
                        .map_err(Error::from),
                },
                Err(error) => Err(error.clone().into()),
            })
            .collect()
    }

    /// Reads `uid` through the cache into `fetched`, unless it is there; the step to pass on if
    /// the read waits.
    fn fetch(
        &mut self,
        uid: RecordUid,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Option<Step<Vec<Result<Selected>>>> {
        if self.fetched.contains_key(&uid) {
            return None;
        }
        if let Some(secret) = client.cache.get_any(&uid).filter(|_| self.listing_ok) {
            self.fetched.insert(uid, Ok(Arc::clone(secret)));
            return None;
        }
        let mut get = GetSecret::new(uid);
        let step = get.step(client, Input::Start, now, rng);
        self.state = State::Fetching(get);
        match pending(step) {
            Ok(step) => Some(step),
            Err(result) => {
                self.fetched.insert(uid, result);
                self.state = State::Ready;
                None
            }
        }
    }

    /// Decides what to do next: read references by UID, list, fetch a resolved secret, or
    /// finish.
    fn advance(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Result<Selected>>> {
        let by_uid: Vec<RecordUid> = self
            .references
            .iter()
            .flatten()
            .filter_map(spelt_uid)
            .collect();
        for uid in by_uid {
            if let Some(step) = self.fetch(uid, client, now, rng) {
                return step;
            }
        }
        let indexed = self
            .references
            .iter()
            .flatten()
            .any(|reference| self.needs_index(reference));
        if indexed && !self.listed && !usable(client.index_freshness(now)) {
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
            if let Some(step) = self.fetch(*uid, client, now, rng) {
                return step;
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
        // An index served stale after a failed refresh is listed again once, without retries:
        // if that fails too, it is served stale at once.
        let mut listing = Box::new(if client.index_retrying(now) {
            Listing::once()
        } else {
            Listing::new()
        });
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
                self.listing_ok = true;
                self.fetched
                    .extend(secrets.into_iter().map(|s| (s.uid, Ok(s))));
                self.state = State::Ready;
                self.advance(client, now, rng)
            }
            // The server cannot answer: an index within `max_stale` still resolves, and its
            // next refresh waits the stale backoff.
            Err(Err(error)) if serves_stale(&error) && client.index_stale_allowed(now) => {
                crate::trace::event!(debug, reason = %error, "serving a stale notation index");
                client.index_failed(&error, now, rng);
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

/// Whether an index of this freshness may be resolved against.
fn usable(freshness: Freshness) -> bool {
    freshness != Freshness::Expired
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
/// While the index is usable and names the record, the reference costs an index lookup and a
/// read through the cache; a reference by UID is a read through the cache. Otherwise it takes
/// [`ResolveNotation`]'s path (listing when the index is stale or the record unknown).
#[derive(Debug)]
pub struct ResolveReference(Single);

#[derive(Debug)]
enum Single {
    /// The reference as written: parsed only when the index has not resolved it before.
    Ready(Box<str>),
    Fetching(Arc<Selector>, GetSecret),
    /// A reference by UID being read; boxed, as the general path it may fall back to.
    ByUid(Box<(Reference, GetSecret)>),
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
        let index_usable = usable(client.index_freshness(now));
        if index_usable && let Some((uid, selector)) = client.index().resolved(text) {
            return self.fetch(uid, selector, client, now, rng);
        }
        match Reference::parse(text) {
            Ok(reference) if let Some(uid) = spelt_uid(&reference) => {
                let mut get = GetSecret::new(uid);
                let step = get.step(client, Input::Start, now, rng);
                self.by_uid(Box::new((reference, get)), step, client, now, rng)
            }
            Ok(reference) if index_usable => match client.index().resolve(&reference.record) {
                Ok(uid) => {
                    let selector = Arc::new(reference.selector);
                    client
                        .index()
                        .remember_resolved(text, uid, Arc::clone(&selector));
                    self.fetch(uid, selector, client, now, rng)
                }
                Err(_) => self.general(
                    ResolveNotation::parsed(vec![Ok(reference)]),
                    client,
                    now,
                    rng,
                ),
            },
            parsed => self.general(ResolveNotation::parsed(vec![parsed]), client, now, rng),
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

    /// Continues a read by UID: its result, or the general path if the server knows no such
    /// record (the segment may be a title).
    fn by_uid(
        &mut self,
        read: Box<(Reference, GetSecret)>,
        step: Step<Arc<Secret>>,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Selected> {
        match pending(step) {
            Ok(step) => {
                self.0 = Single::ByUid(read);
                step
            }
            Err(Err(Error::SecretNotFound { uid })) => {
                let (reference, get) = *read;
                let mut general = ResolveNotation::parsed(vec![Ok(reference)]);
                general
                    .fetched
                    .insert(*get.uid(), Err(Error::SecretNotFound { uid }));
                self.general(general, client, now, rng)
            }
            Err(result) => Step::Done(result.and_then(|secret| select(&secret, &read.0.selector))),
        }
    }

    /// The general path, from the start.
    fn general(
        &mut self,
        resolve: ResolveNotation,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Selected> {
        let mut resolve = Box::new(resolve);
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
            Single::ByUid(mut read) => {
                let step = read.1.step(client, input, now, rng);
                self.by_uid(read, step, client, now, rng)
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
            Single::ByUid(read) => read.1.abandon(client),
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
