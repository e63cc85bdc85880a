//! The hasher of the maps that cached reads look up.

use std::collections::HashMap;

use crate::uid::RecordUid;

/// A map keyed by record UID. Cached reads look such maps up, so natively they use foldhash
/// rather than `SipHash` (with UIDs hashed as two words, a cached read of the async client went
/// from 0.18 µs to 0.15 µs). foldhash does not claim to resist chosen collisions, and its seed
/// comes from addresses, which the OS randomizes, not from the clock (the core reads none); the
/// keys come from the vault's answers, and the maps hold at most what the cache and the
/// operations in flight hold. In WebAssembly, repeated reads are answered in JavaScript
/// (syvault-wasm's `hits.js`), so std's hasher serves there, and one hasher is linked.
pub(crate) type UidMap<V> = HashMap<RecordUid, V, UidHasher>;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) type UidHasher = foldhash::fast::RandomState;
#[cfg(target_arch = "wasm32")]
pub(crate) type UidHasher = std::hash::RandomState;
