//! Benchmarks of the SyVault clients' hot paths; the code is in `benches/hot_paths.rs`.
//!
//! ```text
//! cargo bench -p syvault-bench --bench hot_paths   # the full table, release build
//! cargo test  -p syvault-bench --bench hot_paths   # smoke mode, as CI runs it
//! ```
