//! SyVault Secrets Manager for JavaScript hosts: the Sans-IO core compiled to WebAssembly and
//! driven by the host's `fetch`, clock (`Date.now`) and `crypto.getRandomValues`.
//!
//! Built for `wasm32-unknown-unknown` and bound with `wasm-bindgen`, it exposes one class:
//!
//! ```js
//! const { SyVaultClient } = require("./pkg/syvault_wasm.js");
//!
//! const client = new SyVaultClient({ server, clientId, clientSecret });
//! const secrets = await client.list();
//! const db = await client.get(secrets[0].uid);          // { uid, title, fields: {...}, ... }
//! const password = await client.notation("sy://Production/Database/field/password");
//! const created = await client.create({ folderId, title: "Cache", fields: { password: "…" } });
//! const outcome = await client.rotate(db.uid);           // { rotationId, revision, secret }
//! ```
//!
//! Every method returns a Promise. A failure rejects it with an `Error` whose `code` is the
//! server's error code (`secret_not_found`, `forbidden`, …) or the kind of client-side failure
//! (`invalid_input`, `transport_connect`, …), with `status`, `uid`, `rotationId` and
//! `retryable` where they apply. See `README.md` for options, hosts and measurements, and
//! `docs/drivers.md` for how the driver is built.
//!
//! On other targets the crate holds only its host-independent part, the conversion of results
//! and errors ([`convert`]), so the workspace builds and tests it everywhere.

#![forbid(unsafe_code)]

pub mod convert;

#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod host;

#[cfg(target_arch = "wasm32")]
pub use client::SyVaultClient;
