//! Snapshot files: any bytes open to a snapshot or a typed error, never a panic; what opens
//! seals back to the same value, canonically, and opens for no other client; a plaintext
//! sealed under the target's key is refused only for its content. The input format and the
//! binding are in `common/snapshot.rs`; the seeds, written by `cargo run --manifest-path
//! fuzz/Cargo.toml --example seeds`, open under that binding.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../common/snapshot.rs"]
mod snapshot;

fuzz_target!(|data: &[u8]| {
    let _ = snapshot::run(data);
});
