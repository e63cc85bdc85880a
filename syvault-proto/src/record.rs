//! Record encryption: a per-record data key (DEK) under the folder key, and the JSON payload
//! under the DEK, both bound to the record's UID.

use core::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::blob;
use crate::error::{Error, Result};
use crate::object::object_struct;
use crate::secret::{SecretString, SymmetricKey};
use crate::secret_json;
use crate::uid::RecordUid;

/// The associated data of a record's wrapped data key.
pub fn dek_aad(uid: &RecordUid) -> String {
    format!("syvault.record.{uid}.dek.v1")
}

/// The associated data of a record's encrypted payload.
pub fn payload_aad(uid: &RecordUid) -> String {
    format!("syvault.record.{uid}.payload.v1")
}

object_struct! {
/// The decrypted content of a record.
///
/// The title and type are metadata the SDK indexes for notation; field values and notes are
/// secrets and stay in [`SecretString`]s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RecordPayload {
    /// The record's title, unique enough to find it by notation.
    pub title: String,
    /// The record type, such as `login` or `databaseCredentials`. Defaults to `login`.
    #[serde(rename = "type", default = "default_type")]
    pub record_type: String,
    /// The named fields, in the order the record defines them.
    #[serde(default)]
    pub fields: Fields,
    /// Free-form notes. Defaults to empty.
    #[serde(default)]
    pub notes: SecretString,
}
}

fn default_type() -> String {
    "login".to_owned()
}

impl RecordPayload {
    /// A payload with a title, the default type, no fields and no notes.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            record_type: default_type(),
            fields: Fields::default(),
            notes: SecretString::default(),
        }
    }

    /// The payload as the UTF-8 JSON that is encrypted, zeroized on drop. The buffer is
    /// allocated once at its final size, so no partial copy is freed on the way.
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        // Serializing strings and maps into memory cannot fail.
        secret_json::to_vec(self, false).unwrap_or_default()
    }

    /// Reads the decrypted JSON of record `uid`. Errors never contain payload content.
    ///
    /// Field values and notes are unescaped directly into their [`SecretString`]s, never
    /// through a parser's scratch buffer, so no plaintext copy is left in freed memory.
    pub fn from_json(uid: &RecordUid, json: &[u8]) -> Result<Self> {
        let invalid = || Error::InvalidPayload {
            uid: uid.to_string(),
        };
        // The payload is an object; `RawPayload`'s derived code would also take an array.
        if json.trim_ascii_start().first() != Some(&b'{') {
            return Err(invalid());
        }
        let raw: RawPayload<'_> = serde_json::from_slice(json).map_err(|_| invalid())?;
        let mut fields = Vec::with_capacity(raw.fields.0.len());
        for (name, value) in raw.fields.0 {
            fields.push((
                name,
                secret_json::secret_from_raw(value).ok_or_else(invalid)?,
            ));
        }
        let notes = match raw.notes {
            Some(notes) => secret_json::secret_from_raw(notes).ok_or_else(invalid)?,
            None => SecretString::default(),
        };
        Ok(Self {
            title: raw.title,
            record_type: raw.record_type,
            fields: Fields(fields),
            notes,
        })
    }
}

/// A payload whose secret strings are still raw JSON borrowed from the input, the shape
/// [`RecordPayload::from_json`] reads first.
///
/// Derived, so it would also take a sequence: [`RecordPayload::from_json`] checks that the
/// input is an object first.
#[derive(Deserialize)]
struct RawPayload<'a> {
    title: String,
    #[serde(rename = "type", default = "default_type")]
    record_type: String,
    #[serde(default, borrow)]
    fields: RawFields<'a>,
    #[serde(default, borrow, deserialize_with = "present_raw")]
    notes: Option<&'a RawValue>,
}

/// A present field, even `null`, as raw JSON (which must then be a string).
fn present_raw<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'a RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// The `fields` object with raw values, in order, names unique.
#[derive(Default)]
struct RawFields<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for RawFields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawFieldsVisitor<'a>(core::marker::PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for RawFieldsVisitor<'a> {
            type Value = RawFields<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string fields")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, &'a RawValue>()? {
                    if fields.iter().any(|(n, _): &(String, _)| *n == name) {
                        return Err(serde::de::Error::custom("duplicate field name"));
                    }
                    fields.push((name, value));
                }
                Ok(RawFields(fields))
            }
        }

        deserializer.deserialize_map(RawFieldsVisitor(core::marker::PhantomData))
    }
}

/// Named field values in their defined order. Names are unique.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Fields(Vec<(String, SecretString)>);

impl Fields {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Sets field `name`, keeping its position if it exists and appending it otherwise.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<SecretString>) {
        let name = name.into();
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((name, value)),
        }
    }

    /// The field names and values in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &SecretString)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// The field names in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<N: Into<String>, V: Into<SecretString>> FromIterator<(N, V)> for Fields {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut fields = Self::new();
        for (name, value) in iter {
            fields.set(name, value);
        }
        fields
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, v)| (n, v)))
            .finish()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;

        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string fields")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, SecretString>()? {
                    if fields.iter().any(|(n, _): &(String, _)| *n == name) {
                        return Err(serde::de::Error::custom("duplicate field name"));
                    }
                    fields.push((name, value));
                }
                Ok(Fields(fields))
            }
        }

        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// A record's two ciphertexts, as sent in a create request and stored by the server.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealedRecord {
    /// The data key wrapped under the folder key.
    pub encrypted_dek: Vec<u8>,
    /// The payload encrypted under the data key.
    pub encrypted_data: Vec<u8>,
}

impl fmt::Debug for SealedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedRecord")
            .field(
                "encrypted_dek",
                &format_args!("{} bytes", self.encrypted_dek.len()),
            )
            .field(
                "encrypted_data",
                &format_args!("{} bytes", self.encrypted_data.len()),
            )
            .finish()
    }
}

/// Encrypts a new record: draws a data key and two nonces from `rng`.
///
/// ```
/// use syvault_proto::record::{self, RecordPayload};
/// use syvault_proto::{RecordUid, secret::SymmetricKey};
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let folder_key = SymmetricKey::generate(&mut rng);
/// let uid = RecordUid::generate(&mut rng);
/// let mut payload = RecordPayload::new("Database");
/// payload.fields.set("password", "hunter2");
/// let sealed = record::seal(&uid, &folder_key, &payload, &mut rng);
/// let opened = record::open(&uid, &folder_key, &sealed.encrypted_dek, &sealed.encrypted_data)?;
/// assert_eq!(opened.fields.get("password").unwrap().expose(), "hunter2");
/// # Ok::<(), syvault_proto::Error>(())
/// ```
pub fn seal<R: rand_core::CryptoRng + ?Sized>(
    uid: &RecordUid,
    folder_key: &SymmetricKey,
    payload: &RecordPayload,
    rng: &mut R,
) -> SealedRecord {
    let dek = SymmetricKey::generate(rng);
    let mut dek_nonce = [0u8; blob::NONCE_LEN];
    let mut data_nonce = [0u8; blob::NONCE_LEN];
    rng.fill_bytes(&mut dek_nonce);
    rng.fill_bytes(&mut data_nonce);
    seal_with(
        uid,
        folder_key,
        &dek,
        dek_nonce,
        data_nonce,
        &payload.to_json(),
    )
}

/// Encrypts a record with a caller-chosen data key, nonces and payload bytes, for known-answer
/// tests. Use [`seal`] otherwise.
pub fn seal_with(
    uid: &RecordUid,
    folder_key: &SymmetricKey,
    dek: &SymmetricKey,
    dek_nonce: [u8; blob::NONCE_LEN],
    data_nonce: [u8; blob::NONCE_LEN],
    payload_json: &[u8],
) -> SealedRecord {
    SealedRecord {
        encrypted_dek: blob::seal_with_nonce(folder_key, dek_nonce, dek.expose(), &dek_aad(uid)),
        encrypted_data: blob::seal_with_nonce(dek, data_nonce, payload_json, &payload_aad(uid)),
    }
}

/// Unwraps a record's data key with the folder key.
pub fn open_dek(
    uid: &RecordUid,
    folder_key: &SymmetricKey,
    encrypted_dek: &[u8],
) -> Result<SymmetricKey> {
    let aad = dek_aad(uid);
    let dek = blob::open(folder_key, encrypted_dek, &aad)?;
    SymmetricKey::from_slice(&dek).ok_or_else(|| Error::decryption(aad))
}

/// Decrypts record `uid`. A record served under another UID, or under another folder's key,
/// fails here instead of yielding someone else's plaintext.
pub fn open(
    uid: &RecordUid,
    folder_key: &SymmetricKey,
    encrypted_dek: &[u8],
    encrypted_data: &[u8],
) -> Result<RecordPayload> {
    let dek = open_dek(uid, folder_key, encrypted_dek)?;
    let json = blob::open(&dek, encrypted_data, &payload_aad(uid))?;
    RecordPayload::from_json(uid, &json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn uid(s: &str) -> RecordUid {
        s.parse().unwrap()
    }

    #[test]
    fn field_order_is_kept_and_duplicates_rejected() {
        let json =
            br#"{"title":"T","type":"login","fields":{"z":"1","a":"2","m":"3"},"notes":"n"}"#;
        let payload = RecordPayload::from_json(&uid("AAAAAAAAAAAA"), json).unwrap();
        assert_eq!(payload.fields.names().collect::<Vec<_>>(), ["z", "a", "m"]);
        assert_eq!(payload.to_json().as_slice(), json);
        let dup = br#"{"title":"T","fields":{"a":"1","a":"2"}}"#;
        assert!(RecordPayload::from_json(&uid("AAAAAAAAAAAA"), dup).is_err());
    }

    #[test]
    fn defaults_apply_and_title_is_required() {
        let payload = RecordPayload::from_json(&uid("AAAAAAAAAAAA"), br#"{"title":"T"}"#).unwrap();
        assert_eq!(payload.record_type, "login");
        assert!(payload.fields.is_empty() && payload.notes.is_empty());
        let err = RecordPayload::from_json(&uid("AAAAAAAAAAAA"), br#"{"fields":{"p":"hunter2"}}"#)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidPayload { .. }));
        assert!(!err.to_string().contains("hunter2"));
        let err =
            RecordPayload::from_json(&uid("AAAAAAAAAAAA"), br#"{"title":"T","fields":{"p":7}}"#)
                .unwrap_err();
        assert!(matches!(err, Error::InvalidPayload { .. }));
    }

    #[test]
    fn a_record_moved_to_another_uid_or_folder_does_not_decrypt() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let folder_key = SymmetricKey::generate(&mut rng);
        let mut payload = RecordPayload::new("Database");
        payload.fields.set("password", "hunter2");
        let a = uid("AAAAAAAAAAAA");
        let sealed = seal(&a, &folder_key, &payload, &mut rng);
        assert_eq!(
            open(
                &a,
                &folder_key,
                &sealed.encrypted_dek,
                &sealed.encrypted_data
            )
            .unwrap(),
            payload
        );
        let b = uid("BBBBBBBBBBBB");
        let err = open(
            &b,
            &folder_key,
            &sealed.encrypted_dek,
            &sealed.encrypted_data,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Decryption { .. }));
        let other_folder = SymmetricKey::generate(&mut rng);
        assert!(
            open(
                &a,
                &other_folder,
                &sealed.encrypted_dek,
                &sealed.encrypted_data
            )
            .is_err()
        );
        // Payload of one record with the data key of another.
        let other = seal(&a, &folder_key, &payload, &mut rng);
        assert!(
            open(
                &a,
                &folder_key,
                &other.encrypted_dek,
                &sealed.encrypted_data
            )
            .is_err()
        );
    }

    #[test]
    fn debug_hides_values() {
        let mut payload = RecordPayload::new("Database");
        payload.fields.set("password", "hunter2");
        payload.notes = "secret notes".into();
        let debug = format!("{payload:?}");
        assert!(debug.contains("password") && debug.contains("Database"));
        assert!(!debug.contains("hunter2") && !debug.contains("secret notes"));
    }
}
