//! The cache of decrypted secrets: TTL, LRU bound, revalidation and stale-if-error.

use core::time::Duration;
use std::sync::Arc;

use uuid::Uuid;

use crate::expiry::{Expiry, Freshness, Spread};
use crate::hashing::UidMap;
use crate::model::Secret;
use crate::time::Timestamp;
use crate::uid::RecordUid;

/// The default bound on cached secrets.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

/// Cache settings.
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::cache::CachePolicy;
///
/// let policy = CachePolicy::default().with_max_stale(Some(Duration::from_secs(300)));
/// assert_eq!(policy.ttl, Duration::from_secs(60));
/// assert_eq!((policy.jitter_percent, policy.refresh_ahead_percent), (10, 20));
/// assert!(CachePolicy::DISABLED.is_disabled());
///
/// // Every entry lives exactly one TTL and is revalidated by the read that finds it expired.
/// let lockstep = CachePolicy::default().with_jitter_percent(0).with_refresh_ahead_percent(0);
/// # let _ = lockstep;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CachePolicy {
    /// How long a decrypted secret is served without asking the server. Zero disables the
    /// cache. Default 60 s.
    pub ttl: Duration,
    /// The most secrets kept; the least recently used is evicted first. Default 100 000, so
    /// that a listing of a large vault followed by reads of its secrets does not evict what it
    /// just cached; see the crate's performance notes for the memory this implies.
    pub max_entries: usize,
    /// How long past its TTL an entry may still be served when the server cannot be reached,
    /// times out, or answers 429 or 5xx. `None` (the default) never serves stale data.
    ///
    /// While an entry is served stale, its revalidation is tried again after a jittered backoff
    /// that grows from an eighth of the TTL to about the TTL, not on every read; reads in between
    /// get the stale entry at once.
    pub max_stale: Option<Duration>,
    /// Each TTL (of an entry, and of the notation index) is shortened by a random fraction of up
    /// to this many percent, drawn from the injected RNG whenever it is stored or renewed (once
    /// for all a listing stores), so that clients started together do not expire together. `0`
    /// turns it off; below 100. Default 10.
    pub jitter_percent: u8,
    /// A read in the last this many percent of an entry's (or the notation index's) TTL is
    /// served from the cache at once and asks for one background revalidation (a conditional
    /// `GET`; for the index, a listing), if the driver runs background work
    /// ([`crate::Client::take_background`]). `0` turns it off; below 100. Default 20.
    pub refresh_ahead_percent: u8,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            max_entries: DEFAULT_MAX_ENTRIES,
            max_stale: None,
            jitter_percent: 10,
            refresh_ahead_percent: 20,
        }
    }
}

impl CachePolicy {
    /// A policy that caches nothing.
    pub const DISABLED: Self = Self {
        ttl: Duration::ZERO,
        max_entries: 0,
        max_stale: None,
        jitter_percent: 0,
        refresh_ahead_percent: 0,
    };

    /// This policy with [`Self::ttl`] set (the struct is `#[non_exhaustive]`, so that it can
    /// gain settings: build it from [`Self::default`] with these).
    #[must_use]
    pub const fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// This policy with [`Self::max_entries`] set.
    #[must_use]
    pub const fn with_max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// This policy with [`Self::max_stale`] set.
    #[must_use]
    pub const fn with_max_stale(mut self, max_stale: Option<Duration>) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// This policy with [`Self::jitter_percent`] set.
    #[must_use]
    pub const fn with_jitter_percent(mut self, percent: u8) -> Self {
        self.jitter_percent = percent;
        self
    }

    /// This policy with [`Self::refresh_ahead_percent`] set.
    #[must_use]
    pub const fn with_refresh_ahead_percent(mut self, percent: u8) -> Self {
        self.refresh_ahead_percent = percent;
        self
    }

    /// Whether this policy caches nothing.
    pub fn is_disabled(&self) -> bool {
        self.ttl.is_zero() || self.max_entries == 0
    }
}

/// What the cache holds for a UID at a given time.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    /// Within its TTL: serve it.
    Fresh(&'a Arc<Secret>),
    /// Within its TTL and due for a refresh ahead of expiry, now marked as asked for: serve it
    /// and queue the refresh.
    Refresh(&'a Arc<Secret>),
    /// Past its TTL, and served stale at once: its next revalidation is not due (or running).
    Stale(&'a Arc<Secret>),
    /// Past its TTL, served stale at once, and due for a background revalidation, now marked as
    /// asked for: queue it.
    Retry(&'a Arc<Secret>),
    /// Past its TTL: revalidate with this ETag. `retrying` when an earlier revalidation failed
    /// and the entry may still be served stale: the request is then sent once, since a failure
    /// serves the entry stale anyway.
    Expired {
        etag: Option<&'a str>,
        retrying: bool,
    },
    /// Nothing cached.
    Miss,
}

/// What [`SecretCache::renew_revision`] found.
#[derive(Debug)]
pub(crate) enum Renewal {
    /// The same revision was cached: renewed, and here it is.
    Renewed(Arc<Secret>),
    /// Nothing cached for the UID.
    Absent,
    /// Another revision is cached: replace it.
    Replace,
}

/// No slot: the end of the use-order list.
const NIL: usize = usize::MAX;

#[derive(Debug)]
struct Entry {
    uid: RecordUid,
    secret: Arc<Secret>,
    etag: Option<String>,
    expiry: Expiry,
    /// The next more recently used slot.
    newer: usize,
    /// The next less recently used slot.
    older: usize,
}

/// Decrypted secrets by UID. Values are zeroized when the last holder of an entry's secret
/// drops it (the cache evicts, purges or replaces it, and no caller still holds the shared
/// copy it was handed), because every secret value is a `SecretString`.
///
/// The use order is a doubly linked list threaded through a slab of entries, so a hit moves
/// its entry to the front without allocating and eviction takes the back in constant time.
#[derive(Debug)]
pub(crate) struct SecretCache {
    policy: CachePolicy,
    slots_by_uid: UidMap<usize>,
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// The most recently used slot.
    newest: usize,
    /// The least recently used slot: evicted first.
    oldest: usize,
    /// Entries dropped to stay within `max_entries`, for the client's statistics.
    evictions: u64,
    /// Counts every change a snapshot would see: stores, renewals, removals.
    changes: u64,
    /// Grows whenever a fresh read could see something else: a different value, or a different
    /// time to refresh it.
    generation: u64,
}

impl SecretCache {
    pub(crate) fn new(policy: CachePolicy) -> Self {
        Self {
            policy,
            slots_by_uid: UidMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            evictions: 0,
            changes: 0,
            generation: 0,
        }
    }

    /// How many changes a snapshot would see there have been: it grows on every store,
    /// renewal and removal.
    pub(crate) fn changes(&self) -> u64 {
        self.changes
    }

    /// Every entry, least recently used first, with when it was fetched or last confirmed and
    /// its ETag: what a snapshot keeps.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&Arc<Secret>, Timestamp, Option<&str>)> {
        let mut slot = self.oldest;
        core::iter::from_fn(move || {
            let entry = self.slots.get(slot)?.as_ref()?;
            slot = entry.newer;
            Some((
                &entry.secret,
                entry.expiry.stored_at(),
                entry.etag.as_deref(),
            ))
        })
    }

    /// Takes a secret a snapshot kept, fetched at `fetched_at`, as an expired entry that may
    /// only be served stale (by its original fetch time) until the server confirms it. A UID
    /// already cached keeps what it has.
    pub(crate) fn restore(
        &mut self,
        secret: Arc<Secret>,
        etag: Option<String>,
        fetched_at: Timestamp,
        now: Timestamp,
    ) {
        if self.policy.is_disabled() || self.slots_by_uid.contains_key(&secret.uid) {
            return;
        }
        let expiry = Expiry::restored(fetched_at, now, &self.policy);
        self.place(secret, etag, expiry);
    }

    pub(crate) fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    pub(crate) fn len(&self) -> usize {
        self.slots_by_uid.len()
    }

    /// See [`crate::Client::cache_generation`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// A cache that goes on from `other`'s generation, for a client that drops its cache.
    pub(crate) fn succeeding(policy: CachePolicy, other: &Self) -> Self {
        Self {
            generation: other.generation + 1,
            ..Self::new(policy)
        }
    }

    /// The entry `uid` and when it stops being fresh, if it is fresh at `now`: until then, a
    /// read of it returns it and changes nothing but the use order.
    pub(crate) fn fresh(
        &self,
        uid: &RecordUid,
        now: Timestamp,
    ) -> Option<(&Arc<Secret>, Timestamp)> {
        let entry = self.entry(uid)?;
        let until = entry.expiry.fresh_until();
        (now < until).then_some((&entry.secret, until))
    }

    /// Moves `uid` to the front of the use order, as a read does; whether it is cached.
    pub(crate) fn touched(&mut self, uid: &RecordUid) -> bool {
        let Some(&slot) = self.slots_by_uid.get(uid) else {
            return false;
        };
        self.touch(slot);
        true
    }

    /// What the cache holds for `uid` at `now`. `can_wish` says whether the caller can queue a
    /// background refresh; an entry due for one is marked as asked for when it is returned as
    /// [`Lookup::Refresh`] or [`Lookup::Retry`].
    pub(crate) fn lookup(&mut self, uid: &RecordUid, now: Timestamp, can_wish: bool) -> Lookup<'_> {
        let Some(&slot) = self.slots_by_uid.get(uid) else {
            return Lookup::Miss;
        };
        self.touch(slot);
        let max_stale = self.policy.max_stale;
        let Some(entry) = self.slots[slot].as_mut() else {
            return Lookup::Miss;
        };
        match entry.expiry.freshness(now, max_stale, can_wish) {
            Freshness::Fresh => Lookup::Fresh(&entry.secret),
            Freshness::Refresh => {
                entry.expiry.wished(now);
                Lookup::Refresh(&entry.secret)
            }
            Freshness::Stale => Lookup::Stale(&entry.secret),
            Freshness::Retry => {
                entry.expiry.wished(now);
                Lookup::Retry(&entry.secret)
            }
            Freshness::Expired => Lookup::Expired {
                etag: entry.etag.as_deref(),
                retrying: entry.expiry.retrying() && entry.expiry.stale_allowed(now, max_stale),
            },
        }
    }

    /// How many entries were dropped to stay within `max_entries`.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Stores or replaces a secret, fresh for one (jittered) TTL from `now`.
    pub(crate) fn insert(
        &mut self,
        secret: Arc<Secret>,
        etag: Option<String>,
        now: Timestamp,
        spread: &mut Spread,
    ) {
        let first = !self.slots_by_uid.contains_key(&secret.uid);
        let expiry = Expiry::new(now, &self.policy, spread, first);
        self.insert_expiring(secret, etag, expiry);
    }

    /// Stores or replaces a secret with this expiry (a listing's, shared by what it holds).
    pub(crate) fn insert_expiring(
        &mut self,
        secret: Arc<Secret>,
        etag: Option<String>,
        expiry: Expiry,
    ) {
        self.remove(&secret.uid);
        self.insert_absent(secret, etag, expiry);
    }

    /// [`SecretCache::insert_expiring`] of a UID known not to be cached.
    pub(crate) fn insert_absent(
        &mut self,
        secret: Arc<Secret>,
        etag: Option<String>,
        expiry: Expiry,
    ) {
        if self.policy.is_disabled() {
            return;
        }
        self.place(secret, etag, expiry);
    }

    /// Puts an entry in, evicting the least recently used ones to stay within the bound.
    fn place(&mut self, secret: Arc<Secret>, etag: Option<String>, expiry: Expiry) {
        self.changed();
        let uid = secret.uid;
        while self.slots_by_uid.len() >= self.policy.max_entries && self.oldest != NIL {
            let oldest = self.oldest;
            self.release(oldest);
            self.evictions += 1;
            crate::trace::event!(debug, "evicted the least recently used entry");
        }
        let entry = Entry {
            uid,
            secret,
            etag,
            expiry,
            newer: NIL,
            older: NIL,
        };
        let slot = if let Some(slot) = self.free.pop() {
            self.slots[slot] = Some(entry);
            slot
        } else {
            self.slots.push(Some(entry));
            self.slots.len() - 1
        };
        self.link_newest(slot);
        self.slots_by_uid.insert(uid, slot);
    }

    /// Makes room for `additional` more entries (within the bound) before a batch of inserts.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let room = additional.min(self.policy.max_entries.saturating_sub(self.len()));
        self.slots_by_uid.reserve(room);
        self.slots.reserve(room.saturating_sub(self.free.len()));
    }

    /// The cached secret `uid` if it is `revision` of a record in `folder_id`: a listed record
    /// that need not be decrypted again.
    pub(crate) fn same_revision(
        &self,
        uid: &RecordUid,
        revision: u64,
        folder_id: &Uuid,
    ) -> Option<&Arc<Secret>> {
        let entry = self.entry(uid)?;
        (entry.secret.revision == revision && entry.secret.folder_id == *folder_id)
            .then_some(&entry.secret)
    }

    /// Keeps the cached entry of a listed record when it holds the same revision of the same
    /// folder (a listing carries no ETag, and the plaintext is the same): it is renewed with the
    /// listing's expiry and returned. `None` when the listed record must be inserted instead.
    pub(crate) fn renew_revision(&mut self, listed: &Secret, expiry: Expiry) -> Renewal {
        let Some(&slot) = self.slots_by_uid.get(&listed.uid) else {
            return Renewal::Absent;
        };
        let Some(entry) = self.slots[slot].as_mut() else {
            return Renewal::Replace;
        };
        if entry.secret.revision != listed.revision || entry.secret.folder_id != listed.folder_id {
            return Renewal::Replace;
        }
        entry.expiry = expiry;
        let secret = Arc::clone(&entry.secret);
        self.changed();
        self.touch(slot);
        Renewal::Renewed(secret)
    }

    /// Renews the entry `uid`, if there is one, with the expiry of a delta listing that
    /// confirmed it unchanged.
    pub(crate) fn renew(&mut self, uid: &RecordUid, expiry: Expiry) {
        if let Some(entry) = self.entry_mut(uid) {
            entry.expiry = expiry;
            self.generation += 1;
        }
    }

    /// Marks an entry fresh again after the server confirmed it unchanged (304).
    pub(crate) fn refresh(
        &mut self,
        uid: &RecordUid,
        now: Timestamp,
        spread: &mut Spread,
    ) -> Option<&Arc<Secret>> {
        let slot = *self.slots_by_uid.get(uid)?;
        self.slots[slot].as_ref()?;
        let expiry = Expiry::new(now, &self.policy, spread, false);
        self.changed();
        let entry = self.slots[slot].as_mut()?;
        entry.expiry = expiry;
        Some(&entry.secret)
    }

    /// The entry, if it is still within `max_stale` past its TTL.
    pub(crate) fn stale(&self, uid: &RecordUid, now: Timestamp) -> Option<&Arc<Secret>> {
        let entry = self.entry(uid)?;
        entry
            .expiry
            .stale_allowed(now, self.policy.max_stale)
            .then_some(&entry.secret)
    }

    /// Whether anything is cached for `uid`, however old.
    pub(crate) fn contains(&self, uid: &RecordUid) -> bool {
        self.slots_by_uid.contains_key(uid)
    }

    /// The ETag to revalidate the cached entry `uid` with, if it has one.
    pub(crate) fn etag(&self, uid: &RecordUid) -> Option<String> {
        self.entry(uid).and_then(|e| e.etag.clone())
    }

    /// Notes that revalidating `uid` failed at `now` because the server could not answer: its
    /// next revalidation waits the stale backoff.
    pub(crate) fn failed(&mut self, uid: &RecordUid, now: Timestamp, spread: &mut Spread) {
        let ttl = self.policy.ttl;
        if let Some(entry) = self.entry_mut(uid) {
            entry.expiry.failed(now, ttl, spread);
        }
    }

    /// Notes that the refresh of the notation index that `uid` waited for (if it did) failed:
    /// the entry is retried with the index, on its schedule (`leader`), or, without one, may
    /// ask again.
    pub(crate) fn follow(&mut self, uid: &RecordUid, now: Timestamp, leader: Option<&Expiry>) {
        if let Some(entry) = self.entry_mut(uid)
            && entry.expiry.wished_at(now)
        {
            match leader {
                Some(leader) => entry.expiry.follow(leader),
                None => entry.expiry.released(),
            }
        }
    }

    /// Notes that the background refresh asked for `uid` ended without a result.
    pub(crate) fn released(&mut self, uid: &RecordUid) {
        if let Some(entry) = self.entry_mut(uid) {
            entry.expiry.released();
        }
    }

    pub(crate) fn get_any(&self, uid: &RecordUid) -> Option<&Arc<Secret>> {
        self.entry(uid).map(|e| &e.secret)
    }

    pub(crate) fn remove(&mut self, uid: &RecordUid) {
        if let Some(&slot) = self.slots_by_uid.get(uid) {
            self.release(slot);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.changed();
        self.slots_by_uid.clear();
        self.slots.clear();
        self.free.clear();
        self.newest = NIL;
        self.oldest = NIL;
    }

    fn entry(&self, uid: &RecordUid) -> Option<&Entry> {
        self.slots[*self.slots_by_uid.get(uid)?].as_ref()
    }

    fn entry_mut(&mut self, uid: &RecordUid) -> Option<&mut Entry> {
        self.slots[*self.slots_by_uid.get(uid)?].as_mut()
    }

    /// Counts a change a snapshot would see, which a fresh read may see too.
    fn changed(&mut self) {
        self.changes += 1;
        self.generation += 1;
    }

    /// Drops the entry in `slot` and frees the slot.
    fn release(&mut self, slot: usize) {
        self.unlink(slot);
        if let Some(entry) = self.slots[slot].take() {
            self.slots_by_uid.remove(&entry.uid);
            self.changed();
        }
        self.free.push(slot);
    }

    /// Moves `slot` to the front of the use order.
    fn touch(&mut self, slot: usize) {
        if self.newest != slot {
            self.unlink(slot);
            self.link_newest(slot);
        }
    }

    fn unlink(&mut self, slot: usize) {
        let Some(entry) = self.slots[slot].as_mut() else {
            return;
        };
        let (newer, older) = (entry.newer, entry.older);
        entry.newer = NIL;
        entry.older = NIL;
        match self.slots.get_mut(newer).and_then(Option::as_mut) {
            Some(e) => e.older = older,
            None if self.newest == slot => self.newest = older,
            None => {}
        }
        match self.slots.get_mut(older).and_then(Option::as_mut) {
            Some(e) => e.newer = newer,
            None if self.oldest == slot => self.oldest = newer,
            None => {}
        }
    }

    fn link_newest(&mut self, slot: usize) {
        let previous = self.newest;
        if let Some(entry) = self.slots[slot].as_mut() {
            entry.older = previous;
            entry.newer = NIL;
        }
        match self.slots.get_mut(previous).and_then(Option::as_mut) {
            Some(e) => e.newer = slot,
            None => self.oldest = slot,
        }
        self.newest = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Fields;
    use crate::secret::SecretString;

    fn secret(uid: &str, password: &str) -> Arc<Secret> {
        Arc::new(Secret {
            uid: uid.parse().unwrap(),
            folder_id: uuid::Uuid::nil(),
            revision: 1,
            title: uid.into(),
            record_type: "login".into(),
            fields: [("password", password)].into_iter().collect::<Fields>(),
            notes: SecretString::default(),
        })
    }

    fn uid(s: &str) -> RecordUid {
        s.parse().unwrap()
    }

    const T0: Timestamp = Timestamp::from_unix_secs(1_000);

    /// The default policy without jitter, so that expiry times are exact.
    fn exact() -> CachePolicy {
        CachePolicy::default().with_jitter_percent(0)
    }

    fn spread() -> Spread {
        let mut spread = Spread::default();
        spread.with(&mut <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1));
        spread
    }

    #[test]
    fn fresh_within_ttl_then_expired_with_etag() {
        let mut cache = SecretCache::new(exact());
        cache.insert(
            secret("AAAAAAAAAAAA", "p"),
            Some("\"r1\"".into()),
            T0,
            &mut spread(),
        );
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(59), false),
            Lookup::Fresh(_)
        ));
        match cache.lookup(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(60), false) {
            Lookup::Expired { etag, .. } => assert_eq!(etag, Some("\"r1\"")),
            other => panic!("{other:?}"),
        }
        assert!(
            cache
                .refresh(
                    &uid("AAAAAAAAAAAA"),
                    T0 + Duration::from_secs(60),
                    &mut spread()
                )
                .is_some()
        );
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(119), false),
            Lookup::Fresh(_)
        ));
        assert!(matches!(
            cache.lookup(&uid("BBBBBBBBBBBB"), T0, false),
            Lookup::Miss
        ));
    }

    #[test]
    fn the_generation_moves_with_every_change_a_fresh_read_could_see() {
        let mut cache = SecretCache::new(exact());
        let (a, b) = (uid("AAAAAAAAAAAA"), uid("BBBBBBBBBBBB"));
        let mut last = cache.generation();
        let mut moved = |cache: &SecretCache, what: &str| {
            let now = cache.generation();
            assert!(now > last, "{what} did not move the generation");
            last = now;
        };
        cache.insert(secret("AAAAAAAAAAAA", "a"), None, T0, &mut spread());
        moved(&cache, "a store");
        let (_, until) = cache.fresh(&a, T0).expect("fresh");
        assert!(
            cache.fresh(&a, until).is_none(),
            "fresh until its refresh time only"
        );
        cache.insert(secret("BBBBBBBBBBBB", "b"), None, T0, &mut spread());
        moved(&cache, "another store");
        let later = T0 + Duration::from_secs(60);
        cache.renew(&a, Expiry::new(later, &cache.policy, &mut spread(), false));
        moved(&cache, "a renewal by a listing");
        cache.refresh(&a, later, &mut spread());
        moved(&cache, "a revalidation");
        assert_eq!(
            cache.fresh(&a, later).map(|(_, until)| until > later),
            Some(true)
        );

        // Reads, a failed revalidation and a touch change nothing a fresh read sees.
        let before = cache.generation();
        assert!(matches!(cache.lookup(&a, later, true), Lookup::Fresh(_)));
        assert!(cache.touched(&b));
        assert!(!cache.touched(&uid("CCCCCCCCCCCC")));
        cache.failed(&a, later, &mut spread());
        assert_eq!(cache.generation(), before);

        cache.remove(&b);
        moved(&cache, "a removal");
        cache.clear();
        moved(&cache, "clearing");
        let next = SecretCache::succeeding(exact(), &cache);
        moved(&next, "a new cache in its place");
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let mut cache = SecretCache::new(CachePolicy {
            max_entries: 2,
            ..exact()
        });
        cache.insert(secret("AAAAAAAAAAAA", "a"), None, T0, &mut spread());
        cache.insert(secret("BBBBBBBBBBBB", "b"), None, T0, &mut spread());
        // Touch A so that B is the least recently used.
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0, false),
            Lookup::Fresh(_)
        ));
        cache.insert(secret("CCCCCCCCCCCC", "c"), None, T0, &mut spread());
        assert_eq!(cache.len(), 2);
        assert!(matches!(
            cache.lookup(&uid("BBBBBBBBBBBB"), T0, false),
            Lookup::Miss
        ));
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0, false),
            Lookup::Fresh(_)
        ));
        // Replacing an entry does not evict another.
        cache.insert(secret("CCCCCCCCCCCC", "c2"), None, T0, &mut spread());
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache
                .get_any(&uid("CCCCCCCCCCCC"))
                .unwrap()
                .fields
                .get("password")
                .unwrap()
                .expose(),
            "c2"
        );
    }

    #[test]
    fn zero_ttl_disables_caching() {
        let mut cache = SecretCache::new(CachePolicy {
            ttl: Duration::ZERO,
            ..exact()
        });
        cache.insert(secret("AAAAAAAAAAAA", "a"), None, T0, &mut spread());
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0, false),
            Lookup::Miss
        ));
    }

    #[test]
    fn stale_only_within_max_stale_and_only_when_enabled() {
        let mut cache = SecretCache::new(CachePolicy {
            max_stale: Some(Duration::from_secs(30)),
            ..exact()
        });
        cache.insert(secret("AAAAAAAAAAAA", "a"), None, T0, &mut spread());
        assert!(
            cache
                .stale(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(89))
                .is_some()
        );
        assert!(
            cache
                .stale(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(90))
                .is_none()
        );
        let mut strict = SecretCache::new(exact());
        strict.insert(secret("AAAAAAAAAAAA", "a"), None, T0, &mut spread());
        assert!(
            strict
                .stale(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(61))
                .is_none()
        );
    }

    #[test]
    fn remove_and_clear_purge() {
        let mut cache = SecretCache::new(exact());
        cache.insert(secret("AAAAAAAAAAAA", "a"), None, T0, &mut spread());
        cache.insert(secret("BBBBBBBBBBBB", "b"), None, T0, &mut spread());
        cache.remove(&uid("AAAAAAAAAAAA"));
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0, false),
            Lookup::Miss
        ));
        cache.clear();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn use_order_matches_a_reference_model() {
        // A plain vector as the model: front is the least recently used.
        let uids: Vec<String> = (0..8).map(|i| format!("{i}AAAAAAAAAAA")).collect();
        let mut cache = SecretCache::new(CachePolicy {
            max_entries: 4,
            ..exact()
        });
        let mut model: Vec<usize> = Vec::new();
        let mut state = 12_345_u64;
        for _ in 0..5_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let pick = usize::try_from(state >> 61).unwrap();
            match (state >> 40) % 3 {
                0 => {
                    cache.insert(secret(&uids[pick], "v"), None, T0, &mut spread());
                    model.retain(|&u| u != pick);
                    if model.len() == 4 {
                        model.remove(0);
                    }
                    model.push(pick);
                }
                1 => {
                    let hit =
                        matches!(cache.lookup(&uid(&uids[pick]), T0, false), Lookup::Fresh(_));
                    assert_eq!(hit, model.contains(&pick));
                    if hit {
                        model.retain(|&u| u != pick);
                        model.push(pick);
                    }
                }
                _ => {
                    cache.remove(&uid(&uids[pick]));
                    model.retain(|&u| u != pick);
                }
            }
            assert_eq!(cache.len(), model.len());
        }
    }

    #[test]
    fn a_listed_revision_renews_the_entry_and_keeps_its_etag() {
        let mut cache = SecretCache::new(exact());
        cache.insert(
            secret("AAAAAAAAAAAA", "a"),
            Some("\"r1\"".into()),
            T0,
            &mut spread(),
        );
        let later = T0 + Duration::from_secs(50);
        let listed = secret("AAAAAAAAAAAA", "a");
        assert!(matches!(
            cache.renew_revision(&listed, Expiry::new(later, &exact(), &mut spread(), false)),
            Renewal::Renewed(_)
        ));
        match cache.lookup(&uid("AAAAAAAAAAAA"), later + Duration::from_secs(59), false) {
            Lookup::Fresh(_) => {}
            other => panic!("{other:?}"),
        }
        match cache.lookup(&uid("AAAAAAAAAAAA"), later + Duration::from_secs(60), false) {
            Lookup::Expired { etag, .. } => assert_eq!(etag, Some("\"r1\"")),
            other => panic!("{other:?}"),
        }
        let mut newer = (*secret("AAAAAAAAAAAA", "b")).clone();
        newer.revision = 2;
        assert!(matches!(
            cache.renew_revision(&newer, Expiry::new(later, &exact(), &mut spread(), false)),
            Renewal::Replace
        ));
        assert!(matches!(
            cache.renew_revision(
                &secret("BBBBBBBBBBBB", "b"),
                Expiry::new(later, &exact(), &mut spread(), false)
            ),
            Renewal::Absent
        ));
    }
}
