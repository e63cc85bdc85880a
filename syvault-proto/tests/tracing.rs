//! The `tracing` feature's events, captured on a virtual clock. Alone in its test binary: an
//! event first met on another thread while no subscriber listened would stay switched off.
#![cfg(feature = "tracing")]

mod common;

use std::cell::Cell;
use std::time::Duration;

use common::{World, bearer, error};
use http::StatusCode;

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn tracing_shows_retries_re_signing_and_cache_decisions_and_never_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let mut tokens = Vec::new();
    let mut w = World::new();
    let a = w.add_secret("Production", "A", &[("password", "first-secret-value")]);
    let b = w.add_secret("Production", "B", &[("password", "second-secret-value")]);
    tracing::subscriber::with_default(subscriber, || {
        let op = w.client.get(a);
        let failures = Cell::new(0);
        w.drive(op, |w, request| {
            if request.uri().path().ends_with(a.as_str()) && failures.get() < 1 {
                failures.set(1);
                return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
            }
            Ok(w.serve(request))
        })
        .unwrap();
        let op = w.client.get(a);
        w.run(op).unwrap();
        w.advance(Duration::from_secs(100));
        let first_token = bearer(w.sent.last().unwrap()).unwrap();
        let op = w.client.get(b);
        w.drive(op, |w, request| {
            if bearer(request).unwrap() == first_token {
                return Ok(error(StatusCode::UNAUTHORIZED, "unauthorized"));
            }
            Ok(w.serve(request))
        })
        .unwrap();
    });
    tokens.extend(w.sent.iter().filter_map(bearer));
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "loading folders",
        "signed a new bearer token",
        "cache miss",
        "retrying",
        "attempt=1",
        "sending request",
        "attempt=2",
        "cache hit",
        "401 to a reused token: re-signing once",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(text.contains(&format!("uid={a}")), "{text}");
    let client_secret = w.key.to_client_secret();
    assert!(!tokens.is_empty());
    for secret in [
        "first-secret-value",
        "second-secret-value",
        client_secret.expose(),
    ]
    .into_iter()
    .chain(tokens.iter().map(String::as_str))
    {
        assert!(!text.contains(secret), "a secret was logged:\n{text}");
    }
}
