//! The cache of decrypted secrets: TTL, LRU bound, revalidation and stale-if-error.

use core::time::Duration;
use std::collections::HashMap;
use std::sync::Arc;

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
/// assert!(CachePolicy::DISABLED.is_disabled());
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
    pub max_stale: Option<Duration>,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            max_entries: DEFAULT_MAX_ENTRIES,
            max_stale: None,
        }
    }
}

impl CachePolicy {
    /// A policy that caches nothing.
    pub const DISABLED: Self = Self {
        ttl: Duration::ZERO,
        max_entries: 0,
        max_stale: None,
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
    /// Past its TTL: revalidate with this ETag.
    Expired { etag: Option<&'a str> },
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
    expires_at: Timestamp,
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
    slots_by_uid: HashMap<RecordUid, usize>,
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// The most recently used slot.
    newest: usize,
    /// The least recently used slot: evicted first.
    oldest: usize,
    /// Entries dropped to stay within `max_entries`, for the client's statistics.
    evictions: u64,
}

impl SecretCache {
    pub(crate) fn new(policy: CachePolicy) -> Self {
        Self {
            policy,
            slots_by_uid: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            newest: NIL,
            oldest: NIL,
            evictions: 0,
        }
    }

    pub(crate) fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    pub(crate) fn len(&self) -> usize {
        self.slots_by_uid.len()
    }

    pub(crate) fn lookup(&mut self, uid: &RecordUid, now: Timestamp) -> Lookup<'_> {
        let Some(&slot) = self.slots_by_uid.get(uid) else {
            return Lookup::Miss;
        };
        self.touch(slot);
        let Some(entry) = self.slots[slot].as_ref() else {
            return Lookup::Miss;
        };
        if now < entry.expires_at {
            Lookup::Fresh(&entry.secret)
        } else {
            Lookup::Expired {
                etag: entry.etag.as_deref(),
            }
        }
    }

    /// Stores or replaces a secret, fresh for one TTL from `now`.
    /// How many entries were dropped to stay within `max_entries`.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    pub(crate) fn insert(&mut self, secret: Arc<Secret>, etag: Option<String>, now: Timestamp) {
        self.remove(&secret.uid);
        self.insert_absent(secret, etag, now);
    }

    /// [`SecretCache::insert`] of a UID known not to be cached.
    pub(crate) fn insert_absent(
        &mut self,
        secret: Arc<Secret>,
        etag: Option<String>,
        now: Timestamp,
    ) {
        if self.policy.is_disabled() {
            return;
        }
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
            expires_at: now + self.policy.ttl,
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

    /// Keeps the cached entry of a listed record when it holds the same revision of the same
    /// folder (a listing carries no ETag, and the plaintext is the same): it is renewed for one
    /// TTL and returned. `None` when the listed record must be inserted instead.
    pub(crate) fn renew_revision(&mut self, listed: &Secret, now: Timestamp) -> Renewal {
        let Some(&slot) = self.slots_by_uid.get(&listed.uid) else {
            return Renewal::Absent;
        };
        let ttl = self.policy.ttl;
        let Some(entry) = self.slots[slot].as_mut() else {
            return Renewal::Replace;
        };
        if entry.secret.revision != listed.revision || entry.secret.folder_id != listed.folder_id {
            return Renewal::Replace;
        }
        entry.expires_at = now + ttl;
        let secret = Arc::clone(&entry.secret);
        self.touch(slot);
        Renewal::Renewed(secret)
    }

    /// Marks an entry fresh again after the server confirmed it unchanged (304).
    pub(crate) fn refresh(&mut self, uid: &RecordUid, now: Timestamp) -> Option<&Arc<Secret>> {
        let ttl = self.policy.ttl;
        let slot = *self.slots_by_uid.get(uid)?;
        let entry = self.slots[slot].as_mut()?;
        entry.expires_at = now + ttl;
        Some(&entry.secret)
    }

    /// The entry, if it is still within `max_stale` past its TTL.
    pub(crate) fn stale(&self, uid: &RecordUid, now: Timestamp) -> Option<&Arc<Secret>> {
        let max_stale = self.policy.max_stale?;
        let entry = self.entry(uid)?;
        (now < entry.expires_at + max_stale).then_some(&entry.secret)
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
        self.slots_by_uid.clear();
        self.slots.clear();
        self.free.clear();
        self.newest = NIL;
        self.oldest = NIL;
    }

    fn entry(&self, uid: &RecordUid) -> Option<&Entry> {
        self.slots[*self.slots_by_uid.get(uid)?].as_ref()
    }

    /// Drops the entry in `slot` and frees the slot.
    fn release(&mut self, slot: usize) {
        self.unlink(slot);
        if let Some(entry) = self.slots[slot].take() {
            self.slots_by_uid.remove(&entry.uid);
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

    #[test]
    fn fresh_within_ttl_then_expired_with_etag() {
        let mut cache = SecretCache::new(CachePolicy::default());
        cache.insert(secret("AAAAAAAAAAAA", "p"), Some("\"r1\"".into()), T0);
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(59)),
            Lookup::Fresh(_)
        ));
        match cache.lookup(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(60)) {
            Lookup::Expired { etag } => assert_eq!(etag, Some("\"r1\"")),
            other => panic!("{other:?}"),
        }
        assert!(
            cache
                .refresh(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(60))
                .is_some()
        );
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(119)),
            Lookup::Fresh(_)
        ));
        assert!(matches!(
            cache.lookup(&uid("BBBBBBBBBBBB"), T0),
            Lookup::Miss
        ));
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let mut cache = SecretCache::new(CachePolicy {
            max_entries: 2,
            ..CachePolicy::default()
        });
        cache.insert(secret("AAAAAAAAAAAA", "a"), None, T0);
        cache.insert(secret("BBBBBBBBBBBB", "b"), None, T0);
        // Touch A so that B is the least recently used.
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0),
            Lookup::Fresh(_)
        ));
        cache.insert(secret("CCCCCCCCCCCC", "c"), None, T0);
        assert_eq!(cache.len(), 2);
        assert!(matches!(
            cache.lookup(&uid("BBBBBBBBBBBB"), T0),
            Lookup::Miss
        ));
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0),
            Lookup::Fresh(_)
        ));
        // Replacing an entry does not evict another.
        cache.insert(secret("CCCCCCCCCCCC", "c2"), None, T0);
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
            ..CachePolicy::default()
        });
        cache.insert(secret("AAAAAAAAAAAA", "a"), None, T0);
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0),
            Lookup::Miss
        ));
    }

    #[test]
    fn stale_only_within_max_stale_and_only_when_enabled() {
        let mut cache = SecretCache::new(CachePolicy {
            max_stale: Some(Duration::from_secs(30)),
            ..CachePolicy::default()
        });
        cache.insert(secret("AAAAAAAAAAAA", "a"), None, T0);
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
        let mut strict = SecretCache::new(CachePolicy::default());
        strict.insert(secret("AAAAAAAAAAAA", "a"), None, T0);
        assert!(
            strict
                .stale(&uid("AAAAAAAAAAAA"), T0 + Duration::from_secs(61))
                .is_none()
        );
    }

    #[test]
    fn remove_and_clear_purge() {
        let mut cache = SecretCache::new(CachePolicy::default());
        cache.insert(secret("AAAAAAAAAAAA", "a"), None, T0);
        cache.insert(secret("BBBBBBBBBBBB", "b"), None, T0);
        cache.remove(&uid("AAAAAAAAAAAA"));
        assert!(matches!(
            cache.lookup(&uid("AAAAAAAAAAAA"), T0),
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
            ..CachePolicy::default()
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
                    cache.insert(secret(&uids[pick], "v"), None, T0);
                    model.retain(|&u| u != pick);
                    if model.len() == 4 {
                        model.remove(0);
                    }
                    model.push(pick);
                }
                1 => {
                    let hit = matches!(cache.lookup(&uid(&uids[pick]), T0), Lookup::Fresh(_));
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
        let mut cache = SecretCache::new(CachePolicy::default());
        cache.insert(secret("AAAAAAAAAAAA", "a"), Some("\"r1\"".into()), T0);
        let later = T0 + Duration::from_secs(50);
        let listed = secret("AAAAAAAAAAAA", "a");
        assert!(matches!(
            cache.renew_revision(&listed, later),
            Renewal::Renewed(_)
        ));
        match cache.lookup(&uid("AAAAAAAAAAAA"), later + Duration::from_secs(59)) {
            Lookup::Fresh(_) => {}
            other => panic!("{other:?}"),
        }
        match cache.lookup(&uid("AAAAAAAAAAAA"), later + Duration::from_secs(60)) {
            Lookup::Expired { etag } => assert_eq!(etag, Some("\"r1\"")),
            other => panic!("{other:?}"),
        }
        let mut newer = (*secret("AAAAAAAAAAAA", "b")).clone();
        newer.revision = 2;
        assert!(matches!(
            cache.renew_revision(&newer, later),
            Renewal::Replace
        ));
        assert!(matches!(
            cache.renew_revision(&secret("BBBBBBBBBBBB", "b"), later),
            Renewal::Absent
        ));
    }
}
