//! The SyVault Secrets Manager protocol as pure, Sans-IO code.
//!
//! This crate holds everything a SyVault client or server needs to speak the protocol and nothing
//! that performs I/O: it never opens a socket, reads a clock or asks the operating system for
//! randomness. Time comes in as a [`Timestamp`] argument and randomness as a
//! [`rand_core::CryptoRng`] supplied by the caller, so every behaviour is deterministic under test
//! and the crate builds for `wasm32-unknown-unknown`.
//!
//! The normative description of the protocol is `docs/protocol.md` in the repository; the modules
//! here follow its sections:
//!
//! - [`keys`]: the client's P-256 key pair and the accepted `client_secret` encodings;
//! - [`jwt`]: ES256 bearer tokens, their verification and a token holder that reuses them;
//! - [`blob`], [`record`], [`folder_key`], [`bootstrap`], [`uid`]: the cryptographic envelopes;
//! - [`wire`]: the JSON bodies of every endpoint and the error envelope;
//! - [`notation`]: `sy://` references;
//! - [`snapshot`]: the encrypted snapshot of what a client knows, for restarts in an outage;
//! - [`error`]: the one error type of the crate.
//!
//! # Cargo features
//!
//! - `fs` (off by default): `private_file`, which stores and reads credentials files with
//!   owner-only permissions (`Credentials::write_to`, `Credentials::read_from`), and the
//!   `SY_CREDENTIALS_FILE` and `SY_CA_CERT` variables of [`builder::ClientBuilder::with_env`].
//!   It is the only part of the crate that touches the file system; drivers, the CLI and the
//!   dev server enable it, and the core stays free of I/O without it.
//! - `tracing` (on by default): events through the `tracing` crate for each request sent
//!   (method, path, attempt), token signing, the 401 re-signature, retry waits, cache decisions, folder reloads and rotation status. It does
//!   nothing without a subscriber and never records a value, token, key, body or header value.
//!
//! On top of these sits the client: a [`Client`] value holds what one client knows (identity,
//! token, folder keys, the cache of decrypted secrets, the notation index), and each SDK
//! operation in [`ops`] is a state machine that a driver steps with the current time, a random
//! number generator and HTTP responses, and that answers with the next request, a wait, or its
//! result (see [`step`]). The policies it follows live in [`cache`], [`retry`] and [`config`].
//!
//! A driver supplies HTTP, the time, randomness and waiting, and runs every operation with one
//! loop; [`docs/drivers.md`] is the guide to writing one, for custom runtimes and for
//! WebAssembly hosts, and `examples/std_driver.rs` a complete driver on the standard library.
//!
//! [`docs/drivers.md`]: https://github.com/syvault/syvault-rust/blob/main/docs/drivers.md

#![forbid(unsafe_code)]

pub mod blob;
pub mod bootstrap;
pub mod builder;
pub mod cache;
mod client;
pub mod config;
mod encoding;
pub mod error;
mod exchange;
mod expiry;
pub mod folder_key;
pub mod folders;
mod hashing;
pub mod jwt;
pub mod keys;
pub mod lease;
pub mod model;
pub mod notation;
mod object;
pub mod ops;
#[cfg(feature = "fs")]
pub mod private_file;
pub mod proxy;
pub mod record;
pub mod retry;
pub mod secret;
mod secret_json;
pub mod snapshot;
pub mod stats;
pub mod step;
mod time;
mod trace;
pub mod uid;
pub mod wire;

pub use client::Client;

// The driver guide's Rust blocks run as doctests of this crate; outside doctests the file is not
// read, so the crate still packages on its own.
#[cfg(doctest)]
#[doc = include_str!("../../docs/drivers.md")]
mod drivers_guide {}
pub use error::{Error, Result};
pub use http;
pub use rand_core;
pub use secret::SecretString;
pub use time::Timestamp;
pub use uid::RecordUid;
pub use uuid;
