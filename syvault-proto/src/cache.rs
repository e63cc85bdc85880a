//! The cache of decrypted secrets: TTL, LRU bound, revalidation and stale-if-error.

use core::time::Duration;
use std::collections::{BTreeMap, HashMap};

use crate::model::Secret;
use crate::time::Timestamp;
use crate::uid::RecordUid;

/// Cache settings.
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::cache::CachePolicy;
///
/// let policy = CachePolicy { max_stale: Some(Duration::from_secs(300)), ..CachePolicy::default() };
/// assert_eq!(policy.ttl, Duration::from_secs(60));
/// assert!(CachePolicy::DISABLED.is_disabled());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachePolicy {
    /// How long a decrypted secret is served without asking the server. Zero disables the
    /// cache. Default 60 s.
    pub ttl: Duration,
    /// The most secrets kept; the least recently used is evicted first. Default 1000.
    pub max_entries: usize,
    /// How long past its TTL an entry may still be served when the server cannot be reached,
    /// times out, or answers 429 or 5xx. `None` (the default) never serves stale data.
    pub max_stale: Option<Duration>,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(60),
            max_entries: 1000,
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

    /// Whether this policy caches nothing.
    pub fn is_disabled(&self) -> bool {
        self.ttl.is_zero() || self.max_entries == 0
    }
}

/// What the cache holds for a UID at a given time.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    /// Within its TTL: serve it.
    Fresh(&'a Secret),
    /// Past its TTL: revalidate with this ETag.
    Expired { etag: Option<&'a str> },
    /// Nothing cached.
    Miss,
}

#[derive(Debug)]
struct Entry {
    secret: Secret,
    etag: Option<String>,
    expires_at: Timestamp,
    last_used: u64,
}

/// Decrypted secrets by UID. Values are zeroized when an entry is dropped (evicted, purged or
/// replaced), because every secret value is a `SecretString`.
#[derive(Debug)]
pub(crate) struct SecretCache {
    policy: CachePolicy,
    entries: HashMap<RecordUid, Entry>,
    /// Use order: the smallest tick is the least recently used entry.
    by_use: BTreeMap<u64, RecordUid>,
    tick: u64,
}

impl SecretCache {
    pub(crate) fn new(policy: CachePolicy) -> Self {
        Self {
            policy,
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
            tick: 0,
        }
    }

    pub(crate) fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn lookup(&mut self, uid: &RecordUid, now: Timestamp) -> Lookup<'_> {
        let tick = self.next_tick();
        let Some(entry) = self.entries.get_mut(uid) else {
            return Lookup::Miss;
        };
        self.by_use.remove(&entry.last_used);
        self.by_use.insert(tick, *uid);
        entry.last_used = tick;
        if now < entry.expires_at {
            Lookup::Fresh(&entry.secret)
        } else {
            Lookup::Expired {
                etag: entry.etag.as_deref(),
            }
        }
    }

    /// Stores or replaces a secret, fresh for one TTL from `now`.
    pub(crate) fn insert(&mut self, secret: Secret, etag: Option<String>, now: Timestamp) {
        if self.policy.is_disabled() {
            return;
        }
        let uid = secret.uid;
        self.remove(&uid);
        while self.entries.len() >= self.policy.max_entries {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        let tick = self.next_tick();
        self.by_use.insert(tick, uid);
        self.entries.insert(
            uid,
            Entry {
                secret,
                etag,
                expires_at: now + self.policy.ttl,
                last_used: tick,
            },
        );
    }

    /// Marks an entry fresh again after the server confirmed it unchanged (304).
    pub(crate) fn refresh(&mut self, uid: &RecordUid, now: Timestamp) -> Option<&Secret> {
        let ttl = self.policy.ttl;
        let entry = self.entries.get_mut(uid)?;
        entry.expires_at = now + ttl;
        Some(&entry.secret)
    }

    /// The entry, if it is still within `max_stale` past its TTL.
    pub(crate) fn stale(&self, uid: &RecordUid, now: Timestamp) -> Option<&Secret> {
        let max_stale = self.policy.max_stale?;
        let entry = self.entries.get(uid)?;
        (now < entry.expires_at + max_stale).then_some(&entry.secret)
    }

    /// The ETag of the cached entry if it is of this revision: a listing, which carries no
    /// ETags, keeps what an earlier read learnt.
    pub(crate) fn etag_of_revision(&self, uid: &RecordUid, revision: u64) -> Option<String> {
        let entry = self.entries.get(uid)?;
        (entry.secret.revision == revision).then(|| entry.etag.clone())?
    }

    pub(crate) fn get_any(&self, uid: &RecordUid) -> Option<&Secret> {
        self.entries.get(uid).map(|e| &e.secret)
    }

    pub(crate) fn remove(&mut self, uid: &RecordUid) {
        if let Some(entry) = self.entries.remove(uid) {
            self.by_use.remove(&entry.last_used);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.by_use.clear();
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Fields;
    use crate::secret::SecretString;

    fn secret(uid: &str, password: &str) -> Secret {
        Secret {
            uid: uid.parse().unwrap(),
            folder_id: uuid::Uuid::nil(),
            revision: 1,
            title: uid.into(),
            record_type: "login".into(),
            fields: [("password", password)].into_iter().collect::<Fields>(),
            notes: SecretString::default(),
        }
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
}
