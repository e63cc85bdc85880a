//! Listing every secret visible to the client, following cursors.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use http::StatusCode;
use rand_core::CryptoRng;

use super::{LoadFolders, Operation, after_finish, pending};
use crate::cache::{Renewal, SecretCache};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::exchange::{self, Call};
use crate::expiry::Expiry;
use crate::model::{Secret, SecretSummary};
use crate::step::{Input, Response, Step};
use crate::time::Timestamp;
use crate::uid::RecordUid;
use crate::wire::{self, ListQuery, Record, SecretList};

/// A listing longer than this many pages is taken for a server that never ends it.
const MAX_PAGES: usize = 100_000;

/// The page size asked for: the largest a server serves (protocol §7), so that a large vault
/// takes as few round trips as possible.
pub(crate) const PAGE_LIMIT: u32 = 500;

/// Lists every secret visible to the client: loads the folders if needed, follows
/// `next_cursor` to the end, decrypts every record the cache does not already hold at the same
/// revision, and refreshes the cache and the notation index with what it read.
#[derive(Debug)]
pub struct ListSecrets {
    listing: Listing,
}

impl Default for ListSecrets {
    fn default() -> Self {
        Self::new()
    }
}

impl ListSecrets {
    /// Lists every secret visible to the client.
    pub fn new() -> Self {
        Self {
            listing: Listing::new(),
        }
    }
}

impl Operation for ListSecrets {
    type Output = Vec<SecretSummary>;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<SecretSummary>> {
        let step = self.listing.step(client, input, now, rng);
        match step {
            Step::Done(Ok(secrets)) => Step::Done(Ok(summarize(client, &secrets))),
            other => other.map(|_| Vec::new()),
        }
    }
}

/// The summaries of a listing, sorted by folder path, title and UID.
fn summarize(client: &Client, secrets: &[Arc<Secret>]) -> Vec<SecretSummary> {
    // Each folder's path is spelt once and ranked once, so that sorting compares numbers
    // rather than lists of names; folders with equal paths share a rank.
    // Every listed secret is in a known folder (it was decrypted with that folder's key).
    let mut folders: Vec<(Vec<String>, uuid::Uuid)> = client
        .folders
        .iter()
        .map(|f| (client.folders.path(&f.folder_id), f.folder_id))
        .collect();
    folders.sort_unstable();
    let mut ranks: HashMap<uuid::Uuid, (usize, &[String])> = HashMap::with_capacity(folders.len());
    let mut rank = 0;
    for (i, (path, id)) in folders.iter().enumerate() {
        if i > 0 && folders[i - 1].0 != *path {
            rank += 1;
        }
        ranks.insert(*id, (rank, path.as_slice()));
    }
    let mut ranked: Vec<((usize, u64), SecretSummary)> = secrets
        .iter()
        .map(|s| {
            let (rank, path) = ranks.get(&s.folder_id).copied().unwrap_or((0, &[]));
            let summary = SecretSummary {
                uid: s.uid,
                title: s.title.clone(),
                record_type: s.record_type.clone(),
                folder_id: s.folder_id,
                folder_path: path.to_vec(),
                revision: s.revision,
            };
            ((rank, title_prefix(&s.title)), summary)
        })
        .collect();
    // The title's first bytes as a number order most pairs without comparing strings; equal
    // prefixes fall back to the titles. UIDs are unique, so no two keys are equal and an
    // unstable sort is exact.
    ranked.sort_unstable_by(|(ka, a), (kb, b)| {
        ka.cmp(kb)
            .then_with(|| a.title.cmp(&b.title))
            .then_with(|| a.uid.cmp(&b.uid))
    });
    ranked.into_iter().map(|(_, summary)| summary).collect()
}

/// The first eight bytes of `title`, zero-padded, read big-endian: ordered as the titles are
/// wherever they differ.
fn title_prefix(title: &str) -> u64 {
    let mut prefix = [0u8; 8];
    let bytes = title.as_bytes();
    let n = bytes.len().min(8);
    prefix[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(prefix)
}

/// The listing itself, shared by [`ListSecrets`], notation resolution and background refreshes
/// of the notation index.
///
/// With a sync token from an earlier listing it asks only for what changed since (protocol
/// §9.6.2, §12.9): a delta, applied to what the client holds. A token the server refuses (400)
/// or no longer knows (410) is dropped and the listing starts again in full, once; an answer
/// without `"delta": true` is a full listing from a server that ignores `since`.
#[derive(Debug)]
pub(crate) struct Listing {
    state: State,
    /// Records read so far: each page is decrypted as it arrives, while it is still in the
    /// processor's caches.
    decrypted: Vec<Listed>,
    /// Records of folders the client did not know when their page arrived.
    pending: Vec<Record>,
    /// In a delta, the UIDs no longer visible.
    deleted: Vec<RecordUid>,
    cursors: HashSet<String>,
    /// The token this walk asks with; `None` for a full listing.
    since: Option<String>,
    /// Whether the walk is a delta: its first page said so.
    delta: bool,
    /// The last page's token.
    token: Option<String>,
    pages: usize,
    flags: Flags,
}

/// How a listing runs and where it is.
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // independent switches, each read in one place
struct Flags {
    folders_reloaded: bool,
    /// Background work, counted as such; nobody reads its result.
    background: bool,
    /// Each request is sent once, without retries.
    once: bool,
    /// A token was refused and the listing started again in full.
    restarted: bool,
}

/// A listed record as the listing holds it until it is installed.
#[derive(Debug)]
enum Listed {
    /// The cache held the same revision of the same folder: not decrypted again.
    Kept(Arc<Secret>),
    /// Decrypted from the listing.
    Decrypted(Secret),
}

#[derive(Debug)]
enum State {
    Ready,
    LoadingFolders(LoadFolders),
    Paging(Call),
    Finished,
}

impl Listing {
    pub(crate) fn new() -> Self {
        Self {
            state: State::Ready,
            decrypted: Vec::new(),
            pending: Vec::new(),
            deleted: Vec::new(),
            cursors: HashSet::new(),
            since: None,
            delta: false,
            token: None,
            pages: 0,
            flags: Flags::default(),
        }
    }

    /// A listing for background work: each request is sent once, without retries.
    pub(crate) fn background() -> Self {
        let mut listing = Self::once();
        listing.flags.background = true;
        listing
    }

    /// A listing whose requests are sent once, without retries: a retry of its own.
    pub(crate) fn once() -> Self {
        let mut listing = Self::new();
        listing.flags.once = true;
        listing
    }

    pub(crate) fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Arc<Secret>>> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::Ready => {
                if self.flags.background {
                    client.session.stats.background_refreshes += 1;
                }
                self.since = client.index.token().map(str::to_owned);
                if client.folders.is_loaded() {
                    self.page(client, None, now, rng)
                } else {
                    self.load_folders(client, now, rng)
                }
            }
            State::LoadingFolders(mut load) => {
                let step = load.step(client, input, now, rng);
                self.state = State::LoadingFolders(load);
                self.after_step(client, step, now, rng)
            }
            State::Paging(mut call) => {
                let step = call.on_input(&mut client.session, input, now, rng);
                self.state = State::Paging(call);
                match pending(step) {
                    Ok(step) => step,
                    Err(Ok(response)) => self.on_page(client, &response, now, rng),
                    Err(Err(error)) => self.failed(client, error, now, rng),
                }
            }
            State::Finished => self.finish(Err(after_finish())),
        }
    }

    fn load_folders(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Arc<Secret>>> {
        let mut load = LoadFolders::new();
        if self.flags.once {
            load = load.once();
        }
        let step = load.start(client, now);
        self.state = State::LoadingFolders(load);
        self.after_step(client, step, now, rng)
    }

    fn after_step(
        &mut self,
        client: &mut Client,
        step: Step<()>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Arc<Secret>>> {
        match pending(step) {
            Ok(step) => step,
            Err(Err(error)) => self.finish(Err(error)),
            // Folders loaded: start paging, or decrypt again after a reload.
            Err(Ok(())) if self.flags.folders_reloaded => self.decrypt_pending(client, now, rng),
            Err(Ok(())) => self.page(client, None, now, rng),
        }
    }

    fn page(
        &mut self,
        client: &mut Client,
        cursor: Option<String>,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Arc<Secret>>> {
        let query = ListQuery {
            since: self.since.clone(),
            cursor,
            limit: Some(PAGE_LIMIT),
            ..ListQuery::default()
        };
        let mut call = Call::get(wire::paths::secrets_query(&query));
        if self.flags.once {
            call = call.once();
        }
        let step = call.send(&mut client.session, now);
        self.state = State::Paging(call);
        match pending(step) {
            Ok(step) => step,
            Err(Ok(response)) => self.on_page(client, &response, now, rng),
            Err(Err(error)) => self.failed(client, error, now, rng),
        }
    }

    /// A page failed. A token the server refuses (400) or no longer knows (410) is dropped,
    /// and the listing starts again in full, once.
    fn failed(
        &mut self,
        client: &mut Client,
        error: Error,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Arc<Secret>>> {
        let refused = matches!(error.status(), Some(400 | 410));
        if refused && self.since.is_some() && !self.flags.restarted {
            crate::trace::event!(debug, reason = %error, "sync token refused: listing in full");
            return self.restart(client, now, rng);
        }
        self.finish(Err(error))
    }

    /// Starts the listing again in full, without the token, which the client forgets.
    fn restart(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Arc<Secret>>> {
        client.index.forget_token();
        self.flags.restarted = true;
        self.since = None;
        self.delta = false;
        self.pages = 0;
        self.token = None;
        self.decrypted.clear();
        self.pending.clear();
        self.deleted.clear();
        self.cursors.clear();
        self.page(client, None, now, rng)
    }

    fn on_page(
        &mut self,
        client: &mut Client,
        response: &Response,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Arc<Secret>>> {
        let page = match exchange::expect_status(response, StatusCode::OK)
            .and_then(|()| exchange::parse::<SecretList>(response))
        {
            Ok(page) => page,
            Err(error) => return self.failed(client, error, now, rng),
        };
        if self.pages == 0 && self.since.is_some() {
            // Without "delta": true, this is a full listing from a server that ignores
            // `since`: its cursors are followed without it, and it replaces what was held.
            self.delta = page.delta;
            if !page.delta {
                crate::trace::event!(debug, "the server ignored the sync token: a full listing");
                self.since = None;
            }
        }
        self.pages += 1;
        if page.delta != self.delta || (!self.delta && !page.deleted.is_empty()) {
            let error = if self.delta {
                "a page of a delta listing without \"delta\": true"
            } else {
                "a page of a full listing that claims to be a delta"
            };
            return self.finish(Err(Error::malformed(200, error)));
        }
        self.decrypted.reserve(page.data.len());
        for record in page.data {
            // The same revision of the same folder has the same plaintext: keep the cached copy.
            if let Some(cached) =
                client
                    .cache
                    .same_revision(&record.uid, record.revision, &record.folder_id)
            {
                self.decrypted.push(Listed::Kept(Arc::clone(cached)));
                continue;
            }
            match client.decrypt(&record) {
                Ok(Some(secret)) => self.decrypted.push(Listed::Decrypted(secret)),
                Ok(None) => self.pending.push(record),
                Err(error) => return self.finish(Err(error)),
            }
        }
        self.deleted.extend(page.deleted);
        let Some(cursor) = page.next_cursor else {
            self.token = page.sync_token;
            return self.complete(client, now, rng);
        };
        if self.cursors.len() >= MAX_PAGES || !self.cursors.insert(cursor.clone()) {
            return self.finish(Err(Error::malformed(
                200,
                "the listing's cursors repeat or never end",
            )));
        }
        self.page(client, Some(cursor), now, rng)
    }

    /// After the last page: reloads the folders once if a record named an unknown one.
    fn complete(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Arc<Secret>>> {
        if self.pending.is_empty() {
            return self.decrypt_pending(client, now, rng);
        }
        if self.flags.folders_reloaded {
            let folder_id = self.pending[0].folder_id;
            return self.finish(Err(Error::UnknownFolder { folder_id }));
        }
        self.flags.folders_reloaded = true;
        self.load_folders(client, now, rng)
    }

    /// Decrypts the records whose folders were unknown, then installs the whole listing.
    fn decrypt_pending(
        &mut self,
        client: &mut Client,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<Arc<Secret>>> {
        for record in std::mem::take(&mut self.pending) {
            match client.decrypt(&record) {
                Ok(Some(secret)) => self.decrypted.push(Listed::Decrypted(secret)),
                Ok(None) => {
                    return self.finish(Err(Error::UnknownFolder {
                        folder_id: record.folder_id,
                    }));
                }
                Err(error) => return self.finish(Err(error)),
            }
        }
        // What a listing holds shares its expiry, so that one delta renews it all at once.
        let expiry = client.index_expiry(now, rng);
        let listed = install(client, std::mem::take(&mut self.decrypted), expiry);
        let token = self.token.take();
        if !self.delta {
            let gone = client.index.replace(&listed, token, expiry);
            // Records no longer listed are no longer visible.
            for uid in &gone {
                client.cache.remove(uid);
            }
            if listed.len() > client.cache.policy().max_entries {
                // The cache cannot hold the whole listing, so the index is built while every
                // listed secret is still at hand.
                client.index.get(&client.folders);
            }
            return self.finish(Ok(listed));
        }
        let deleted = std::mem::take(&mut self.deleted);
        for uid in &deleted {
            client.cache.remove(uid);
        }
        client.index.apply(&listed, &deleted, token, expiry);
        // What the delta did not name is unchanged since the token: its cached copy is current.
        for (uid, _) in client.index.held() {
            client.cache.renew(uid, expiry);
        }
        crate::trace::event!(
            debug,
            changed = listed.len(),
            deleted = deleted.len(),
            "applied a delta listing"
        );
        if self.flags.background {
            return self.finish(Ok(Vec::new()));
        }
        match client.index.secrets() {
            Some(all) => self.finish(Ok(all)),
            // A record held was evicted from the cache: only a full listing has it again.
            None => self.restart(client, now, rng),
        }
    }

    fn finish(&mut self, result: Result<Vec<Arc<Secret>>>) -> Step<Vec<Arc<Secret>>> {
        self.state = State::Finished;
        self.decrypted.clear();
        self.pending.clear();
        self.deleted.clear();
        Step::Done(result)
    }
}

/// Caches what a listing read, with the listing's expiry. A cached entry of the same revision
/// is kept (with the ETag an earlier read learnt) and handed out instead of a new copy, so
/// unchanged secrets are neither copied nor replaced.
fn install(client: &mut Client, listed: Vec<Listed>, expiry: Expiry) -> Vec<Arc<Secret>> {
    client.cache.reserve(listed.len());
    let mut shared = Vec::with_capacity(listed.len());
    for listed in listed {
        let secret = match listed {
            Listed::Kept(cached) => {
                let renewal = client.cache.renew_revision(&cached, expiry);
                keep(&mut client.cache, renewal, cached, expiry)
            }
            Listed::Decrypted(secret) => match client.cache.renew_revision(&secret, expiry) {
                Renewal::Renewed(cached) => cached,
                renewal => keep(&mut client.cache, renewal, Arc::new(secret), expiry),
            },
        };
        shared.push(secret);
    }
    shared
}

/// The secret a listing hands out after [`SecretCache::renew_revision`] said `renewal`:
/// the cached one if it was renewed, else `secret`, now cached.
fn keep(
    cache: &mut SecretCache,
    renewal: Renewal,
    secret: Arc<Secret>,
    expiry: Expiry,
) -> Arc<Secret> {
    match renewal {
        Renewal::Renewed(cached) => cached,
        Renewal::Absent => {
            cache.insert_absent(Arc::clone(&secret), None, expiry);
            secret
        }
        Renewal::Replace => {
            cache.insert_expiring(Arc::clone(&secret), None, expiry);
            secret
        }
    }
}

#[cfg(test)]
mod tests {
    use super::title_prefix;

    #[test]
    fn title_prefixes_never_contradict_the_order_of_titles() {
        let titles = [
            "",
            "\0",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefgi",
            "b",
            "é",
            "ZZ",
            "Stripe API Key",
            "Stripe API",
            "S10",
            "S9",
        ];
        for a in titles {
            for b in titles {
                let (pa, pb) = (title_prefix(a), title_prefix(b));
                if pa != pb {
                    assert_eq!(pa.cmp(&pb), a.cmp(b), "{a:?} {b:?}");
                }
            }
        }
    }
}
