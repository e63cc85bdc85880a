//! Work a client wants done outside any caller's read: refreshing entries ahead of their
//! expiry, revalidating stale ones once their backoff is over, and refreshing the notation
//! index. The core decides when and what; the driver runs it where it likes.

use std::collections::VecDeque;

use rand_core::CryptoRng;

use super::get::GetSecret;
use super::list::Listing;
use super::{Operation, after_finish, pending, serves_stale};
use crate::client::Client;
use crate::expiry::WISH_TIMEOUT;
use crate::step::{Input, Step};
use crate::time::Timestamp;
use crate::uid::RecordUid;

/// Wishes kept at most; beyond, reads ask for nothing and their entries expire normally.
const MAX_WISHES: usize = 256;
/// Background jobs out at once at most, per client.
const MAX_RUNNING: usize = 4;

/// What a read asked to have refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wish {
    /// A cached entry, by a conditional `GET`.
    Entry(RecordUid),
    /// The notation index, by a listing.
    Index,
}

/// The wishes of a client's reads and the jobs its driver runs.
#[derive(Debug)]
pub(crate) struct Queue {
    /// Whether the driver runs background work: it has asked for some at least once. Until
    /// then reads ask for nothing, and expired entries are revalidated in the read, as a driver
    /// without background work needs.
    enabled: bool,
    /// Reserved up front, so that a read that asks never allocates.
    wishes: VecDeque<Wish>,
    /// Jobs handed out and not finished, with when they were.
    running: Vec<(u64, Timestamp)>,
    next_id: u64,
}

impl Default for Queue {
    fn default() -> Self {
        Self {
            enabled: false,
            wishes: VecDeque::with_capacity(MAX_WISHES),
            running: Vec::with_capacity(MAX_RUNNING),
            next_id: 0,
        }
    }
}

impl Queue {
    /// Whether a read may ask for a refresh now.
    pub(crate) fn can_wish(&self) -> bool {
        self.enabled && self.wishes.len() < MAX_WISHES
    }

    /// Queues a wish; the caller checked [`Queue::can_wish`] and marked what it is about as
    /// asked for, so that no second wish for it is queued.
    pub(crate) fn push(&mut self, wish: Wish) {
        if self.wishes.len() < MAX_WISHES {
            self.wishes.push_back(wish);
        }
    }

    /// The next wish to run, unless as many jobs as allowed are out. Jobs out for longer than a
    /// fetch may run are taken for lost (dropped without being abandoned).
    fn take(&mut self, now: Timestamp) -> Option<(u64, Wish)> {
        self.enabled = true;
        if self.wishes.is_empty() {
            return None;
        }
        self.running
            .retain(|&(_, since)| now.saturating_duration_since(since) < WISH_TIMEOUT);
        if self.running.len() >= MAX_RUNNING {
            return None;
        }
        let wish = self.wishes.pop_front()?;
        self.next_id += 1;
        self.running.push((self.next_id, now));
        Some((self.next_id, wish))
    }

    fn finished(&mut self, id: u64) {
        self.running.retain(|&(running, _)| running != id);
    }

    /// Forgets every wish and job (after a reset); whether the driver runs background work is
    /// kept.
    pub(crate) fn clear(&mut self) {
        self.wishes.clear();
        self.running.clear();
    }
}

impl Client {
    /// One unit of background work the client wants done, if there is any and not too much is
    /// already out: an operation like any other, to be stepped to its end with the same loop,
    /// in the background (a thread, a task, a host timer).
    ///
    /// Reads ask for background work when they find an entry (or the notation index) in the last
    /// part of its TTL (refresh-ahead), or served stale with its revalidation due. Drivers call
    /// this after each operation ends, while they still hold the client, and after each
    /// background job ends, and run what it gives. Asking is cheap when there is nothing to do;
    /// a driver that never asks gets no background work, and its reads revalidate expired
    /// entries themselves. See the driver guide, `docs/drivers.md`.
    ///
    /// A job handed out counts as running until it ends, is abandoned
    /// ([`Operation::abandon`]), or has been out for two minutes. A job stepped after
    /// [`Client::reset`] or [`Client::clear_cache`] ends without doing anything.
    ///
    /// ```
    /// use syvault_proto::{Client, Timestamp};
    /// # let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
    /// # let secret = syvault_proto::keys::ClientKey::generate(&mut rng).to_client_secret();
    /// let mut client = Client::builder()
    ///     .server("https://vault.example.com")
    ///     .client_id(uuid::Uuid::nil())
    ///     .client_secret(secret)
    ///     .build()?;
    /// // Nothing was read yet, so nothing needs refreshing.
    /// assert!(client.take_background(Timestamp::from_unix_secs(1_767_225_600)).is_none());
    /// # Ok::<(), syvault_proto::Error>(())
    /// ```
    pub fn take_background(&mut self, now: Timestamp) -> Option<Background> {
        let (id, wish) = self.background.take(now)?;
        Some(Background {
            id,
            epoch: self.epoch,
            state: State::Ready(wish),
        })
    }
}

/// Background work from [`Client::take_background`]: a refresh of a cached entry or of the
/// notation index. Its output is nothing: what it learns goes into the client, and a failure
/// never reaches a caller (the entry then expires normally, or waits its stale backoff).
///
/// Each request is sent once, without retries: a failed refresh is retried by the schedule
/// that asked for it.
#[derive(Debug)]
#[must_use = "background work does nothing unless stepped; abandon it if it will not be"]
pub struct Background {
    id: u64,
    /// The client's epoch when the job was taken: a job from before a reset does nothing.
    epoch: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    Ready(Wish),
    Entry(GetSecret),
    Index(Box<Listing>),
    Finished,
}

impl Background {
    fn start(
        &mut self,
        client: &mut Client,
        wish: Wish,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<()> {
        if client.epoch != self.epoch {
            // The client was reset since: the queue that counted this job is gone.
            self.state = State::Finished;
            return Step::Done(Ok(()));
        }
        match wish {
            Wish::Entry(uid) => {
                // A caller's read already fetching it renews it: nothing to add.
                if !client.cache.contains(&uid) || client.fetching(&uid, now) {
                    client.cache.released(&uid);
                    return self.finish(client);
                }
                let mut get = GetSecret::background(uid);
                let step = get.step(client, Input::Start, now, rng);
                self.on_entry(client, get, step, now, rng)
            }
            Wish::Index => {
                if !client.index.is_held() {
                    return self.finish(client);
                }
                let mut listing = Box::new(Listing::background());
                let step = listing.step(client, Input::Start, now, rng);
                self.on_index(client, listing, step, now, rng)
            }
        }
    }

    fn on_entry(
        &mut self,
        client: &mut Client,
        get: GetSecret,
        step: Step<std::sync::Arc<crate::model::Secret>>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<()> {
        let uid = *get.uid();
        match pending(step) {
            Ok(step) => {
                self.state = State::Entry(get);
                step
            }
            Err(Ok(_)) => self.finish(client),
            Err(Err(error)) => {
                if serves_stale(&error) {
                    client.cache.failed(&uid, now, client.spread.with(rng));
                } else {
                    client.cache.released(&uid);
                }
                crate::trace::event!(debug, uid = %uid, reason = %error, "background refresh failed");
                self.finish(client)
            }
        }
    }

    fn on_index(
        &mut self,
        client: &mut Client,
        listing: Box<Listing>,
        step: Step<Vec<std::sync::Arc<crate::model::Secret>>>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<()> {
        match pending(step) {
            Ok(step) => {
                self.state = State::Index(listing);
                step
            }
            Err(Ok(_)) => self.finish(client),
            Err(Err(error)) => {
                client.index_failed(&error, now, rng);
                self.finish(client)
            }
        }
    }

    fn finish(&mut self, client: &mut Client) -> Step<()> {
        client.background.finished(self.id);
        self.state = State::Finished;
        Step::Done(Ok(()))
    }
}

impl Operation for Background {
    type Output = ();

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<()> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Ready(wish) => self.start(client, wish, now, rng),
            State::Entry(mut get) => {
                let step = get.step(client, input, now, rng);
                self.on_entry(client, get, step, now, rng)
            }
            State::Index(mut listing) => {
                let step = listing.step(client, input, now, rng);
                self.on_index(client, listing, step, now, rng)
            }
            State::Finished => Step::Done(Err(after_finish())),
        }
    }

    fn abandon(&mut self, client: &mut Client) {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Finished => return,
            _ if client.epoch != self.epoch => return,
            State::Ready(Wish::Entry(uid)) => client.cache.released(&uid),
            State::Entry(mut get) => {
                get.abandon(client);
                client.cache.released(get.uid());
            }
            State::Ready(Wish::Index) | State::Index(_) => client.index.released(),
        }
        client.background.finished(self.id);
    }

    /// The record refreshed, if it is one.
    fn subject(&self) -> Option<String> {
        match &self.state {
            State::Ready(Wish::Entry(uid)) => Some(uid.to_string()),
            State::Entry(get) => Some(get.uid().to_string()),
            _ => None,
        }
    }
}
