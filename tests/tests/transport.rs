//! Transport rules of both clients: answers that are not HTTP are not retried, a dropped
//! connection is, and plain http to a loopback name reaches the loopback server.
//!
//! A raw TCP server reads each request's head and then answers with fixed bytes (or nothing),
//! counting requests, so the test sees exactly how often each client tried.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use syvault_proto::Error;
use syvault_proto::error::TransportErrorKind;
use syvault_tests::fake::FakeServer;
use syvault_tests::sdk::{Async, Blocking, Sdk, SdkClient, Settings};
use syvault_tests::vault::Vault;

/// Serves `answer` (possibly empty: close without answering) to every request; returns the
/// server URL and the request count.
fn raw_server(answer: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let requests = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&requests);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Ok(reader) = stream.try_clone() else {
                return;
            };
            let mut reader = BufReader::new(reader);
            // The client's requests carry no body (list and get are GETs).
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line == "\r\n" => {
                        count.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.write_all(answer);
                        break;
                    }
                    Ok(_) => {}
                }
            }
            // Dropping the stream closes the connection.
        }
    });
    (url, requests)
}

/// A client of `S` for the server at `url`; credentials come from the fake server's helper
/// with the URL replaced.
fn client<S: Sdk>(url: &str, dir: &std::path::Path) -> S::Client {
    let fake = FakeServer::start();
    let path = fake.credentials_file(dir);
    let text = std::fs::read_to_string(&path).expect("read credentials");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("credentials JSON");
    json["server"] = url.into();
    std::fs::write(&path, json.to_string()).expect("write credentials");
    S::connect(&path, &Settings::default()).expect("connect")
}

fn requests_for<S: Sdk>(answer: &'static [u8]) -> (usize, Error) {
    let (url, requests) = raw_server(answer);
    let dir = tempfile::tempdir().expect("temporary directory");
    let client = client::<S>(&url, dir.path());
    let error = client
        .list()
        .expect_err("the raw server never answers properly");
    (requests.load(Ordering::SeqCst), error)
}

const NOT_HTTP: &[u8] = b"this is not HTTP at all\r\n\r\n";
const CONFLICTING_LENGTHS: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 30\r\n\r\n{}";

fn malformed_answers_are_sent_once<S: Sdk>() {
    for answer in [NOT_HTTP, CONFLICTING_LENGTHS] {
        let (requests, error) = requests_for::<S>(answer);
        assert_eq!(requests, 1, "{error:?}");
        assert!(!error.is_retryable(), "{error:?}");
        assert!(
            !matches!(
                error,
                Error::Transport {
                    kind: TransportErrorKind::ConnectionClosed,
                    ..
                }
            ),
            "{error:?}"
        );
    }
}

fn dropped_connections_are_retried<S: Sdk>() {
    let (requests, error) = requests_for::<S>(b"");
    let attempts = usize::try_from(Settings::default().retry.max_attempts).unwrap();
    assert_eq!(requests, attempts, "{error:?}");
    assert!(error.is_retryable(), "{error:?}");
}

#[test]
fn ureq_sends_a_malformed_answer_once() {
    malformed_answers_are_sent_once::<Blocking>();
}

#[test]
fn hyper_sends_a_malformed_answer_once() {
    malformed_answers_are_sent_once::<Async>();
}

#[test]
fn ureq_retries_a_dropped_connection() {
    dropped_connections_are_retried::<Blocking>();
}

#[test]
fn hyper_retries_a_dropped_connection() {
    dropped_connections_are_retried::<Async>();
}

/// Accepts connections and reads requests but never answers: a hung server.
fn hung_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            // Kept open, and never answered.
            held.push(stream);
        }
    });
    url
}

/// With an operation timeout, a hung server ends the operation at the limit, not after every
/// attempt's request timeout, and the error names the server in plain words.
fn a_hung_server_ends_the_operation_at_its_limit<S: Sdk>() {
    let url = hung_server();
    let dir = tempfile::tempdir().expect("temporary directory");
    let fake = FakeServer::start();
    let path = fake.credentials_file(dir.path());
    let text = std::fs::read_to_string(&path).expect("read credentials");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("credentials JSON");
    json["server"] = url.as_str().into();
    std::fs::write(&path, json.to_string()).expect("write credentials");
    let settings = Settings {
        operation_timeout: Some(std::time::Duration::from_millis(600)),
        request_timeout: std::time::Duration::from_secs(20),
        ..Settings::default()
    };
    let client = S::connect(&path, &settings).expect("connect");
    let started = std::time::Instant::now();
    let error = client.list().expect_err("nothing answers");
    let elapsed = started.elapsed();
    assert!(matches!(error, Error::OperationTimeout { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("no answer from {url} within 600 ms")
    );
    // Far below one request timeout: the limit, not the request timeout, ended it.
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    assert!(
        elapsed >= std::time::Duration::from_millis(600),
        "{elapsed:?}"
    );
}

#[test]
fn ureq_ends_an_operation_on_a_hung_server_at_its_limit() {
    a_hung_server_ends_the_operation_at_its_limit::<Blocking>();
}

#[test]
fn hyper_ends_an_operation_on_a_hung_server_at_its_limit() {
    a_hung_server_ends_the_operation_at_its_limit::<Async>();
}

/// `localhost` is a loopback name and resolves to the server's loopback address, which the
/// drivers check before sending the token.
fn plain_http_to_localhost_works<S: Sdk>() {
    let vault = Vault::start();
    let url = vault.url().replace("127.0.0.1", "localhost");
    let credentials =
        S::bootstrap(&url, vault.client.token.expose(), &vault.settings()).expect("bootstrap");
    assert_eq!(credentials.server, url);
    let client = S::connect(&vault.save(&credentials), &vault.settings()).expect("connect");
    assert_eq!(client.list().expect("list").len(), 3);
}

#[test]
fn ureq_reaches_localhost_over_plain_http() {
    plain_http_to_localhost_works::<Blocking>();
}

#[test]
fn hyper_reaches_localhost_over_plain_http() {
    plain_http_to_localhost_works::<Async>();
}
