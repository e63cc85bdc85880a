//! Structs that deserialize from JSON objects only.
//!
//! serde's derived `Deserialize` for a struct also takes a sequence of its fields in order, so
//! `["7Kj9mNpQ2xRs", …]` would pass for a record. The protocol defines objects only, and each
//! extra accepted shape is one more parser path for an attacker. [`object_only!`] keeps the
//! derived code (generated under `#[serde(remote = "Self")]`) and asks the deserializer for a
//! map, which `serde_json` refuses to produce from anything but `{…}`.

use core::fmt;
use core::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};

/// A struct whose derived deserializer is reached through [`deserialize`].
pub(crate) trait Derived<'de>: Sized {
    /// The struct's name, for error messages.
    const NAME: &'static str;

    /// The code serde derived for the struct, which takes a map or a sequence.
    fn derived<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// Deserializes `T` from a map only.
pub(crate) fn deserialize<'de, T: Derived<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<fn() -> T>);

impl<'de, T: Derived<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", T::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::derived(MapAccessDeserializer::new(map))
    }
}

/// Implements `Deserialize` (object only) and, unless `deserialize_only`, `Serialize` for
/// structs that derive both under `#[serde(remote = "Self")]`.
macro_rules! object_only {
    (deserialize_only $($ty:ident),+ $(,)?) => {
        $(
            impl<'de> $crate::object::Derived<'de> for $ty {
                const NAME: &'static str = stringify!($ty);

                fn derived<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    // The inherent function that `remote = "Self"` derived.
                    $ty::deserialize(deserializer)
                }
            }

            impl<'de> serde::Deserialize<'de> for $ty {
                fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    $crate::object::deserialize(deserializer)
                }
            }
        )+
    };
    ($($ty:ident),+ $(,)?) => {
        $crate::object::object_only!(deserialize_only $($ty),+);
        $(
            impl serde::Serialize for $ty {
                fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    $ty::serialize(self, serializer)
                }
            }
        )+
    };
}

pub(crate) use object_only;
