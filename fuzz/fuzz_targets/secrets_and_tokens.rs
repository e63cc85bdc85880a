//! Everything a user or a server hands over as text: client secrets in every form, public
//! keys, one-time and request tokens, credentials JSON, bearer tokens and server URLs.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use syvault_proto::bootstrap::{OneTimeToken, RequestToken};
use syvault_proto::keys::{ClientKey, ClientPublicKey};
use syvault_proto::model::Credentials;
use syvault_proto::{Timestamp, jwt};

/// The public key a token is checked against, computed once: deriving it is elliptic-curve
/// arithmetic that would otherwise dominate each run.
static PUBLIC: LazyLock<ClientPublicKey> = LazyLock::new(|| {
    ClientKey::from_scalar_bytes(&[7; 32])
        .expect("a valid scalar")
        .public_key()
});

fuzz_target!(|text: &str| {
    let _ = ClientKey::from_client_secret(text);
    let _ = ClientPublicKey::from_base64(text);
    let _ = ClientPublicKey::from_sec1(text.as_bytes());
    let _ = OneTimeToken::parse(text);
    let _ = RequestToken::parse(text);
    let _ = Credentials::from_json(text);
    let _ = jwt::canonical_audience(text);
    let public = *PUBLIC;
    let verified = jwt::verify(
        text,
        "https://vault.example.com",
        Timestamp::from_unix_secs(1_767_225_600),
        |_| Some(public),
    );
    // Only a signature by the key behind PUBLIC can verify, and the fuzzer cannot forge one.
    assert!(verified.is_err());
});
