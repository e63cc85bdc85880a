//! End-to-end tests of the SyVault clients.
//!
//! One scenario suite ([`scenarios`]) runs against both clients: each scenario is a function
//! generic over [`sdk::Sdk`], implemented by the blocking [`sdk::Blocking`] (syvault-ureq) and the
//! async [`sdk::Async`] (syvault-hyper, driven from a tokio runtime). [`scenario_tests!`] turns
//! the suite into `#[test]` functions for one driver. Every scenario starts its own
//! [`vault::Vault`]: a `syvault-dev` server on a free loopback port, seeded through its admin
//! side, reached over real TCP (and TLS in one scenario).
//!
//! ```no_run
//! use syvault_tests::sdk::Blocking;
//!
//! syvault_tests::scenarios::list_get_and_notation::<Blocking>();
//! ```

// A test harness reports failures by panicking, as assertions do; every function may.
#![allow(clippy::missing_panics_doc)]

pub mod child;
pub mod environment;
pub mod fake;
pub mod proxy;
pub mod scenarios;
pub mod sdk;
pub mod vault;

/// The README's Rust examples, compiled as doctests so that they keep up with the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;

/// Generates one `#[test]` per scenario for the given [`sdk::Sdk`] driver.
///
/// ```no_run
/// mod ureq {
///     syvault_tests::scenario_tests!(syvault_tests::sdk::Blocking);
/// }
/// ```
#[macro_export]
macro_rules! scenario_tests {
    ($sdk:ty) => {
        $crate::scenario_tests!(@each $sdk;
            bootstrap_from_one_time_token,
            list_get_and_notation,
            batch_resolve_uses_one_listing,
            create_then_get,
            rotate_completes_and_replaces_the_cached_password,
            cache_hit_does_not_reach_the_server,
            ttl_expiry_revalidates_with_304,
            stale_if_error_while_the_server_answers_503,
            wrong_key_fails_authentication,
            unknown_uid_is_secret_not_found,
            read_only_folder_refuses_create,
            concurrent_gets_share_one_request,
            tls_with_the_generated_ca,
            close_releases_pooled_connections,
            dropped_connection_then_success,
            truncated_body_then_success,
            request_timeout_is_retried_then_reported,
            corrupted_ciphertext_is_a_decryption_error,
            redirects_are_not_followed,
            mtls_required_presented_and_missing,
            proxy_tunnels_with_credentials,
            unreachable_proxy_is_a_retryable_connect_error,
            plain_http_through_a_proxy_tunnel,
            errors_chain_to_their_causes,
            debug_output_is_concise_and_reveals_no_secret,
            refresh_ahead_revalidates_in_the_background,
            incremental_listing_follows_changes,
        );
    };
    (@each $sdk:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$name::<$sdk>();
            }
        )*
    };
}

/// Generates the environment scenarios ([`environment`]) for the given [`sdk::Sdk`] driver,
/// and the ignored `child_lists_from_env` entry point their child processes run. The
/// invoking module must be a direct child of the test crate's root, such as `mod ureq`.
///
/// ```no_run
/// mod ureq {
///     syvault_tests::environment_tests!(syvault_tests::sdk::Blocking);
/// }
/// ```
#[macro_export]
macro_rules! environment_tests {
    ($sdk:ty) => {
        /// The child side of the environment scenarios; does nothing unless a parent runs it.
        #[test]
        #[ignore = "entry point of the environment scenarios' child processes"]
        fn child_lists_from_env() {
            $crate::child::child_lists_from_env::<$sdk>();
        }

        $crate::environment_tests!(@each $sdk;
            os_trust_store_from_ssl_cert_file,
            trust_store_read_at_the_first_tls_connection,
            credentials_file_and_ca_from_env,
            proxies_from_env,
        );
    };
    (@each $sdk:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let module = module_path!().split_once("::").map_or(module_path!(), |(_, m)| m);
                $crate::environment::$name::<$sdk>(module);
            }
        )*
    };
}
