//! Everything a user or a server hands over as text: client secrets in every form, public
//! keys, one-time and request tokens, credentials JSON, bearer tokens and server URLs. What
//! parses writes back to a form that parses to the same value.
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
    if let Ok(key) = ClientKey::from_client_secret(text) {
        // Any accepted form → the canonical secret → the same key, and the canonical form is
        // a fixed point.
        let secret = key.to_client_secret();
        let again = ClientKey::from_client_secret(secret.expose()).expect("a canonical secret");
        assert_eq!(again.to_client_secret().expose(), secret.expose());
        assert_eq!(again.public_key(), key.public_key());
    }
    if let Ok(public) = ClientPublicKey::from_base64(text) {
        assert_eq!(
            ClientPublicKey::from_base64(&public.to_base64()).ok(),
            Some(public)
        );
    }
    if let Ok(public) = ClientPublicKey::from_sec1(text.as_bytes()) {
        assert_eq!(
            ClientPublicKey::from_sec1(&public.to_sec1()).ok(),
            Some(public)
        );
    }
    let request = RequestToken::parse(text);
    match OneTimeToken::parse(text) {
        Ok(token) => {
            let shown = token.to_text();
            let again = OneTimeToken::parse(shown.expose()).expect("a shown token parses");
            assert_eq!(again.id(), token.id());
            assert_eq!(again.to_text().expose(), shown.expose());
            // The request token proves the token; the one-time token itself, read as a request
            // token (same format), does not: the server never learns the token's secret.
            let keys = token.derive();
            let proof = RequestToken::parse(keys.request_token().expose()).expect("a proof");
            assert_eq!(&proof.id, token.id());
            assert!(keys.verifier().verify(&proof));
            let request = request.expect("both tokens share one format");
            assert!(!keys.verifier().verify(&request));
        }
        Err(_) => assert!(request.is_err(), "both tokens share one format"),
    }
    if let Ok(credentials) = Credentials::from_json(text) {
        let again = Credentials::from_json(&credentials.to_json()).expect("written credentials");
        assert_eq!(again, credentials);
    }
    if let Ok(audience) = jwt::canonical_audience(text) {
        assert_eq!(
            jwt::canonical_audience(&audience).ok().as_deref(),
            Some(audience.as_str()),
            "canonical_audience is not idempotent"
        );
    }
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
