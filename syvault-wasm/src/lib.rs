//! SyVault Secrets Manager for JavaScript hosts: the Sans-IO core compiled to WebAssembly and
//! driven by the host's `fetch`, clock (`Date.now`), timers and `crypto.getRandomValues`.
//!
//! Shipped as the npm package built by `scripts/wasm-package.sh` (see `README.md`), with entry
//! points for Node (`import` and `require`), Deno, Bun, Cloudflare's `workerd` and browsers:
//!
//! ```js
//! import { SyVaultClient } from "@syvault/sdk";
//!
//! const client = new SyVaultClient(credentials);       // the credentials file, object or text
//! const secrets = await client.list();
//! const db = await client.get(secrets[0].uid);          // { uid, title, fields: {...}, ... }
//! const password = await client.notation("sy://Production/Database/field/password");
//! ```
//!
//! Every method returns a Promise. A failure rejects it with an `Error` named `SyVaultError`
//! whose `code` is the server's error code (`secret_not_found`, `forbidden`, …) or the kind of
//! client-side failure (`invalid_input`, `transport_connect`, …), with `status`, `uid`,
//! `rotationId`, `leaseId`, `retryAfterMs` and `retryable` where they apply.
//!
//! On other targets the crate holds only its host-independent part, the conversion of results
//! and errors ([`convert`]) and the plain-http rule ([`server`]), so the workspace builds and
//! tests it everywhere.

#![forbid(unsafe_code)]

pub mod convert;
pub mod server;

#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod driver;
#[cfg(target_arch = "wasm32")]
mod dynamic;
#[cfg(target_arch = "wasm32")]
mod hits;
#[cfg(target_arch = "wasm32")]
mod host;

#[cfg(target_arch = "wasm32")]
pub use client::SyVaultClient;
#[cfg(target_arch = "wasm32")]
pub use dynamic::{Dynamic, LeaseKeeper};

/// Whether `value` is an error this package raised (an `Error` named `SyVaultError` with a
/// string `code`): a type guard for TypeScript.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(js_name = isSyVaultError)]
pub fn is_syvault_error(value: &wasm_bindgen::JsValue) -> bool {
    use wasm_bindgen::JsCast;
    value.dyn_ref::<js_sys::Error>().is_some_and(|error| {
        error.name() == "SyVaultError"
            && js_sys::Reflect::get(value, &"code".into()).is_ok_and(|code| code.is_string())
    })
}

// Talc in place of Rust's default allocator on wasm32 (dlmalloc): 6.8 KB smaller in the module,
// for about 2 % on a cached read (README.md, "Size and speed"). Its lock-free cell is sound only
// in a module without threads (no `atomics`).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
