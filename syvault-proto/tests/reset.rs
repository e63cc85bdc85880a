//! `Client::reset` forgets what the server said and keeps the identity and its token.

mod common;

use common::{World, bearer};
use syvault_proto::cache::CachePolicy;

#[test]
fn reset_forgets_secrets_and_folders_but_keeps_the_token() {
    let mut w = World::new();
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    let op = w.client.get(uid);
    w.run(op).unwrap();
    assert_eq!(w.client.cached_secrets(), 1);
    let token = bearer(&w.sent[0]).expect("a bearer token");

    w.client.reset();
    assert_eq!(w.client.cached_secrets(), 0);
    let op = w.client.get(uid);
    let secret = w.run(op).unwrap();
    assert_eq!(secret.field("password").unwrap().expose(), "hunter2");
    // Folders were loaded again, the secret fetched again, under the same token.
    assert_eq!(w.requests_to("/folders"), 2);
    assert_eq!(w.sent.len(), 4);
    assert!(
        w.sent
            .iter()
            .all(|request| bearer(request) == Some(token.clone()))
    );
}

#[test]
fn reset_keeps_the_configured_cache_policy() {
    let mut w = World::with_config(|c| c.cache = CachePolicy::DISABLED);
    let uid = w.add_secret("Production", "Database", &[("password", "hunter2")]);
    w.client.reset();
    for _ in 0..2 {
        let op = w.client.get(uid);
        w.run(op).unwrap();
    }
    // Still disabled after the reset: both reads reach the server and nothing is kept.
    assert_eq!(w.requests_to(&format!("/secrets/{uid}")), 2);
    assert_eq!(w.client.cached_secrets(), 0);
}
