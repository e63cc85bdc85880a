//! Ciphertexts from the server: blobs, records, wrapped folder keys and folder names open to a
//! typed error or a value, never a panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use syvault_proto::keys::ClientKey;
use syvault_proto::secret::SymmetricKey;
use syvault_proto::{RecordUid, blob, folder_key, record};
use uuid::Uuid;

static CLIENT: LazyLock<ClientKey> =
    LazyLock::new(|| ClientKey::from_scalar_bytes(&[7; 32]).expect("a valid scalar"));

fuzz_target!(|data: &[u8]| {
    let key = SymmetricKey::from_bytes([9; 32]);
    let uid: RecordUid = "7Kj9mNpQ2xRs".parse().expect("a valid UID");
    let _ = blob::open(&key, data, "syvault.metadata.v1");
    let _ = folder_key::open_name(&key, data);
    let _ = folder_key::unwrap(&CLIENT, &Uuid::nil(), &Uuid::nil(), data);
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (dek, payload) = data.split_at(split);
    let _ = record::open(&uid, &key, dek, payload);
    let _ = record::RecordPayload::from_json(&uid, data);
});
