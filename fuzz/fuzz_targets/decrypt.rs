//! Ciphertexts from the server: blobs, records, wrapped folder keys, folder names and payload
//! JSON open to a typed error or a value, never a panic. What opens seals back to the same
//! bytes and opens under nothing else; seal-then-open round-trips any plaintext and associated
//! data. The input format and the keys are in `common/decrypt.rs`; the seeds, written by
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`, open under those keys.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/decrypt.rs"]
mod decrypt;

fuzz_target!(|data: &[u8]| {
    let _ = decrypt::run(data);
});
