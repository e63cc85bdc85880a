//! Structs that deserialize from JSON objects only.
//!
//! serde's derived `Deserialize` for a struct also takes a sequence of its fields in order, so
//! `["7Kj9mNpQ2xRs", …]` would pass for a record. The protocol defines objects only, and each
//! extra accepted shape is one more parser path for an attacker. [`object_struct!`] keeps the
//! derived code on a private copy of the struct and asks the deserializer for a map, which
//! `serde_json` refuses to produce from anything but `{…}`.

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

/// Defines a struct whose `Deserialize` takes a JSON object only.
///
/// The definition is written once; the macro derives serde's code on a private copy of it (so
/// that lenient code is not reachable from outside) and implements `Deserialize` for the
/// struct itself through [`deserialize`], converting the copy field by field. Other derives,
/// `Serialize` included, stay on the struct as written.
macro_rules! object_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field_vis:vis $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[$field_meta])*
                $field_vis $field: $ty,
            )*
        }

        const _: () = {
            #[derive(serde::Deserialize)]
            struct Derived {
                $(
                    $(#[$field_meta])*
                    $field: $ty,
                )*
            }

            impl<'de> $crate::object::Derived<'de> for $name {
                const NAME: &'static str = stringify!($name);

                fn derived<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    let derived = <Derived as serde::Deserialize>::deserialize(deserializer)?;
                    Ok($name {
                        $($field: derived.$field,)*
                    })
                }
            }

            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    $crate::object::deserialize(deserializer)
                }
            }
        };
    };
}

pub(crate) use object_struct;
