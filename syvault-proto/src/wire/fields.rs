//! Field-level checks shared by the body types, used through `#[serde(deserialize_with)]`.
//!
//! Each failure uses one of the fixed messages below, which [`super::parse_body`] may repeat in
//! its error reason because they never contain data from the body.

use core::fmt;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use super::Base64Bytes;

/// An RFC 3339 timestamp field held an empty string.
pub(super) const EMPTY_TIMESTAMP: &str = "empty timestamp";
/// A cursor was present but empty, which would make a client re-list from the start forever.
pub(super) const EMPTY_CURSOR: &str = "empty cursor";
/// A sync token was present but empty.
pub(super) const EMPTY_SYNC_TOKEN: &str = "empty sync token";
/// A JSON object named the same folder twice.
pub(super) const DUPLICATE_KEY: &str = "duplicate folder id";

/// A timestamp: any non-empty string. Timestamps are informational and stay as text.
pub(super) fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Err(D::Error::custom(EMPTY_TIMESTAMP));
    }
    Ok(text)
}

/// A cursor: null or a non-empty string.
pub(super) fn cursor<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        Some(text) if text.is_empty() => Err(D::Error::custom(EMPTY_CURSOR)),
        other => Ok(other),
    }
}

/// A sync token: null or a non-empty string.
pub(super) fn sync_token<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        Some(text) if text.is_empty() => Err(D::Error::custom(EMPTY_SYNC_TOKEN)),
        other => Ok(other),
    }
}

/// A UUID that must be present but may be null. A custom deserializer also stops serde from
/// treating a missing field as `None`.
pub(super) fn nullable_uuid<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Uuid>, D::Error> {
    Option::<Uuid>::deserialize(deserializer)
}

/// A map from folder id to blob in which no folder appears twice.
///
/// serde's own map impl lets a later duplicate silently replace an earlier one; here the second
/// occurrence is an error, so a body cannot carry two different keys for one folder (also not as
/// two spellings of one UUID, such as upper and lower case).
pub(super) fn folder_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<Uuid, Base64Bytes>, D::Error> {
    struct FolderMap;

    impl<'de> Visitor<'de> for FolderMap {
        type Value = BTreeMap<Uuid, Base64Bytes>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map from folder id to base64")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((id, blob)) = map.next_entry::<Uuid, Base64Bytes>()? {
                match out.entry(id) {
                    Entry::Vacant(slot) => {
                        slot.insert(blob);
                    }
                    Entry::Occupied(_) => return Err(A::Error::custom(DUPLICATE_KEY)),
                }
            }
            Ok(out)
        }
    }

    deserializer.deserialize_map(FolderMap)
}
