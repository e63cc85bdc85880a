//! Reading one secret through the cache.

use core::time::Duration;
use std::sync::Arc;

use http::StatusCode;
use http::header::ETAG;
use rand_core::CryptoRng;

use super::{LoadFolders, Operation, after_finish, out_of_order, pending, serves_stale};
use crate::cache::Lookup;
use crate::client::{Client, FlightTicket, Joined};
use crate::error::{Error, ErrorCode, Result};
use crate::exchange::{self, Call};
use crate::model::Secret;
use crate::step::{Input, Response, Step};
use crate::time::Timestamp;
use crate::trace::event;
use crate::uid::RecordUid;
use crate::wire::{self, DataEnvelope, Record};

/// How long a waiting operation sleeps before looking again, when its driver cannot be told
/// that the fetch it waits on has finished.
const JOIN_POLL: Duration = Duration::from_millis(200);

/// Reads a secret: from the cache while fresh; revalidated with `If-None-Match` once expired (a
/// 304 renews it without decrypting); fetched and decrypted on a miss. Concurrent reads of one
/// UID share one request. Served stale within `max_stale` when the server is unreachable or
/// failing; purged on 401, 403 and 404.
///
/// A read in the last part of the entry's TTL is served at once and asks the client for a
/// background refresh ([`crate::Client::take_background`]). While an entry is served stale,
/// reads get it at once until its next revalidation is due.
///
/// The secret is handed out shared and immutable: a cache hit is a reference count, not a copy.
/// Reads that join another read's fetch receive its result, even with the cache disabled.
#[derive(Debug)]
pub struct GetSecret {
    uid: RecordUid,
    mode: Mode,
    flight: Option<u64>,
    /// The fetch of another operation this one waits for.
    joined: Option<u64>,
    state: State,
    folders_reloaded: bool,
    /// Whether the cache decision was counted in the client's statistics: a read that waits
    /// and looks again counts once.
    counted: bool,
}

/// Whose read this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// A caller's read, through the cache.
    Read,
    /// A read past the cache (after a rotation, the new revision is wanted); its result is still
    /// cached.
    Fresh,
    /// A background revalidation of a cached entry: one conditional request, never waiting on
    /// another read's fetch, never serving stale.
    Background,
}

/// Where the read is. The variants that wait on the network are boxed, so that the
/// operation a cache hit builds, moves and drops stays small.
#[derive(Debug)]
enum State {
    Ready,
    Fetching(Box<Call>),
    LoadingFolders(Box<Reloading>),
    Finished,
}

/// A record of a folder the client did not know, kept while the folders are reloaded.
#[derive(Debug)]
struct Reloading {
    load: LoadFolders,
    record: Record,
    etag: Option<String>,
}

impl GetSecret {
    /// Reads the secret `uid`, through the client's cache.
    pub fn new(uid: RecordUid) -> Self {
        Self {
            uid,
            mode: Mode::Read,
            flight: None,
            joined: None,
            state: State::Ready,
            folders_reloaded: false,
            counted: false,
        }
    }

    /// Reads the server's current revision, ignoring the cache (the result is still cached).
    pub(crate) fn fresh(uid: RecordUid) -> Self {
        Self {
            mode: Mode::Fresh,
            ..Self::new(uid)
        }
    }

    /// Revalidates the cached entry `uid` in the background. The caller has checked that it is
    /// cached and that no other read is fetching it.
    pub(crate) fn background(uid: RecordUid) -> Self {
        Self {
            mode: Mode::Background,
            ..Self::new(uid)
        }
    }

    /// The UID being read.
    pub fn uid(&self) -> &RecordUid {
        &self.uid
    }

    fn begin(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Arc<Secret>> {
        if let Some(id) = self.joined.take() {
            match client.joined(&self.uid, id, now) {
                Joined::Pending => {
                    self.joined = Some(id);
                    self.state = State::Ready;
                    return Step::Join(now + JOIN_POLL);
                }
                Joined::Landed(secret) => return self.finish(client, Ok(secret)),
                Joined::Gone => {}
            }
        }
        let mut once = self.mode == Mode::Background;
        let etag = match self.mode {
            Mode::Fresh => None,
            Mode::Background if client.cache.contains(&self.uid) => client.cache.etag(&self.uid),
            Mode::Background => return self.finish(client, Err(nothing_to_refresh())),
            Mode::Read => {
                let can_wish = client.background.can_wish();
                match client.cache.lookup(&self.uid, now, can_wish) {
                    Lookup::Fresh(secret) => {
                        let secret = Arc::clone(secret);
                        return self.hit(client, secret);
                    }
                    Lookup::Refresh(secret) => {
                        let secret = Arc::clone(secret);
                        event!(debug, uid = %self.uid, "refreshing ahead of expiry");
                        client.ask_refresh(self.uid, now);
                        return self.hit(client, secret);
                    }
                    Lookup::Stale(secret) => {
                        let secret = Arc::clone(secret);
                        return self.stale(client, secret);
                    }
                    Lookup::Retry(secret) => {
                        let secret = Arc::clone(secret);
                        event!(debug, uid = %self.uid, "stale entry due for revalidation");
                        client.ask_refresh(self.uid, now);
                        return self.stale(client, secret);
                    }
                    Lookup::Expired { etag, retrying } => {
                        self.counted = true;
                        once = retrying;
                        event!(debug, uid = %self.uid, "cache entry expired: revalidating");
                        etag.map(str::to_owned)
                    }
                    Lookup::Miss => {
                        if !std::mem::replace(&mut self.counted, true) {
                            client.session.stats.cache_misses += 1;
                            event!(debug, uid = %self.uid, "cache miss");
                        }
                        None
                    }
                }
            }
        };
        // Only a caller's read through the cache takes another fetch's result: one past the
        // cache must see the server's current state, and background work never waits.
        let joins = self.mode == Mode::Read;
        match client.take_flight(self.uid, self.flight, joins, now) {
            FlightTicket::Wait(_) if self.mode == Mode::Background => {
                self.finish(client, Err(nothing_to_refresh()))
            }
            FlightTicket::Wait(id) => {
                if self.joined.is_none() {
                    client.session.stats.coalesced_waits += 1;
                    event!(debug, uid = %self.uid, "waiting for another read's fetch");
                }
                self.joined = joins.then_some(id);
                self.state = State::Ready;
                Step::Join(now + JOIN_POLL)
            }
            FlightTicket::Lead(id) => {
                self.flight = Some(id);
                let mut call = Call::get(wire::paths::secret(&self.uid)).if_none_match(etag);
                if once {
                    call = call.once();
                }
                if self.mode == Mode::Background {
                    client.session.stats.background_refreshes += 1;
                }
                let mut call = Box::new(call);
                let step = call.send(&mut client.session, now);
                self.state = State::Fetching(call);
                self.forward(client, step, now, rng)
            }
        }
    }

    /// Serves a fresh entry.
    fn hit(&mut self, client: &mut Client, secret: Arc<Secret>) -> Step<Arc<Secret>> {
        if !std::mem::replace(&mut self.counted, true) {
            client.session.stats.cache_hits += 1;
            event!(trace, uid = %self.uid, "cache hit");
        }
        self.finish(client, Ok(secret))
    }

    /// Serves an entry past its TTL whose revalidation failed and is not due again.
    fn stale(&mut self, client: &mut Client, secret: Arc<Secret>) -> Step<Arc<Secret>> {
        if !std::mem::replace(&mut self.counted, true) {
            client.session.stats.stale_serves += 1;
            event!(debug, uid = %self.uid, "serving a stale entry while revalidation backs off");
        }
        self.finish(client, Ok(secret))
    }

    fn forward(
        &mut self,
        client: &mut Client,
        step: Step<Response>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Arc<Secret>> {
        match pending(step) {
            Ok(step) => step,
            Err(Ok(response)) => self.on_response(client, &response, now, rng),
            Err(Err(error)) => self.fail(client, error, now, rng),
        }
    }

    fn on_response(
        &mut self,
        client: &mut Client,
        response: &Response,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Arc<Secret>> {
        if response.status() == StatusCode::NOT_MODIFIED {
            let spread = client.spread.with(rng);
            if let Some(secret) = client.cache.refresh(&self.uid, now, spread) {
                let secret = Arc::clone(secret);
                client.session.stats.revalidations += 1;
                event!(debug, uid = %self.uid, "revalidated (304): entry renewed");
                return self.finish(client, Ok(secret));
            }
            if self.mode == Mode::Background {
                return self.finish(client, Err(nothing_to_refresh()));
            }
            // Evicted while the request was out: fetch it whole.
            self.mode = Mode::Fresh;
            return self.begin(client, now, rng);
        }
        let record = match exchange::expect_status(response, StatusCode::OK)
            .and_then(|()| exchange::parse::<DataEnvelope<Record>>(response))
        {
            Ok(envelope) => envelope.data,
            Err(error) => return self.finish(client, Err(error)),
        };
        if record.uid != self.uid {
            let error = Error::malformed(200, "the server answered with another record's UID");
            return self.finish(client, Err(error));
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.install(client, record, etag, now, rng)
    }

    fn install(
        &mut self,
        client: &mut Client,
        record: Record,
        etag: Option<String>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Arc<Secret>> {
        match client.decrypt(&record) {
            Ok(Some(secret)) => {
                let secret = Arc::new(secret);
                client.remember(Arc::clone(&secret), etag, now, rng);
                self.finish(client, Ok(secret))
            }
            Ok(None) if !self.folders_reloaded => {
                // The record names a folder granted after the folders were loaded.
                self.folders_reloaded = true;
                event!(
                    debug,
                    uid = %self.uid,
                    folder_id = %record.folder_id,
                    "record in an unknown folder: reloading folders"
                );
                let mut load = LoadFolders::new();
                let step = load.start(client, now);
                self.state = State::LoadingFolders(Box::new(Reloading { load, record, etag }));
                match pending(step) {
                    Ok(step) => step,
                    Err(result) => self.after_folders(client, result, now, rng),
                }
            }
            Ok(None) => {
                let error = Error::UnknownFolder {
                    folder_id: record.folder_id,
                };
                self.finish(client, Err(error))
            }
            Err(error) => self.finish(client, Err(error)),
        }
    }

    fn after_folders(
        &mut self,
        client: &mut Client,
        result: Result<()>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Arc<Secret>> {
        let State::LoadingFolders(reloading) = std::mem::replace(&mut self.state, State::Finished)
        else {
            return self.finish(client, Err(out_of_order()));
        };
        let Reloading { record, etag, .. } = *reloading;
        match result {
            Ok(()) => self.install(client, record, etag, now, rng),
            Err(error) => self.finish(client, Err(error)),
        }
    }

    fn fail(
        &mut self,
        client: &mut Client,
        error: Error,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Arc<Secret>> {
        match error.status() {
            Some(401 | 403 | 404) => {
                client.forget(&self.uid);
                let error = match &error {
                    Error::Api(api)
                        if api.status == 404 && api.code == ErrorCode::SecretNotFound =>
                    {
                        Error::SecretNotFound {
                            uid: self.uid.to_string(),
                        }
                    }
                    _ => error,
                };
                self.finish(client, Err(error))
            }
            _ if serves_stale(&error) && self.mode == Mode::Read => {
                let stale = client.cache.stale(&self.uid, now).map(Arc::clone);
                match stale {
                    Some(secret) => {
                        client.session.stats.stale_serves += 1;
                        event!(debug, uid = %self.uid, reason = %error, "serving a stale entry");
                        client.cache.failed(&self.uid, now, client.spread.with(rng));
                        self.finish(client, Ok(secret))
                    }
                    None => self.finish(client, Err(error)),
                }
            }
            _ => self.finish(client, Err(error)),
        }
    }

    // Inlined, so that a result is built where the step returns it: a cache hit's result,
    // copied through a call, would be read back in other pieces than it was written.
    #[inline]
    fn finish(&mut self, client: &mut Client, result: Result<Arc<Secret>>) -> Step<Arc<Secret>> {
        if let Some(id) = self.flight.take() {
            client.end_flight(&self.uid, id, result.as_ref().ok());
        }
        self.state = State::Finished;
        Step::Done(result)
    }
}

/// What a background revalidation reports when it finds nothing to do (the entry is gone, or a
/// caller's read is fetching it); never shown to a caller.
fn nothing_to_refresh() -> Error {
    Error::invalid_input("background refresh", "nothing to refresh")
}

impl Operation for GetSecret {
    type Output = Arc<Secret>;

    fn subject(&self) -> Option<String> {
        Some(self.uid.to_string())
    }

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Arc<Secret>> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Ready => self.begin(client, now, rng),
            State::Fetching(mut call) => {
                let step = call.on_input(&mut client.session, input, now, rng);
                self.state = State::Fetching(call);
                self.forward(client, step, now, rng)
            }
            State::LoadingFolders(mut reloading) => {
                let step = reloading.load.step(client, input, now, rng);
                self.state = State::LoadingFolders(reloading);
                match pending(step) {
                    Ok(step) => step,
                    Err(result) => self.after_folders(client, result, now, rng),
                }
            }
            State::Finished => Step::Done(Err(after_finish())),
        }
    }

    fn abandon(&mut self, client: &mut Client) {
        if let Some(id) = self.flight.take() {
            client.end_flight(&self.uid, id, None);
        }
        if let Some(id) = self.joined.take() {
            client.leave_flight(&self.uid, id);
        }
        self.state = State::Finished;
    }
}
