//! Slow and numerous clients over real sockets: the body timeout and the connection cap.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use syvault_dev::DevServer;

/// Reads what the server sends until it closes the connection or `limit` passes; the flag
/// says whether it closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (received, false);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (received, true),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (received, false);
            }
            Err(_) => return (received, true),
        }
    }
}

#[test]
fn a_body_that_never_arrives_gets_408_and_the_connection_closes() {
    let server =
        DevServer::start_blocking(DevServer::builder().body_timeout(Duration::from_millis(300)))
            .unwrap();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    // Bootstrap reads its body before any authentication.
    stream
        .write_all(
            b"POST /api/sm/v1/bootstrap HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"tok",
        )
        .unwrap();
    let started = Instant::now();
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&received);
    assert!(closed, "the connection stayed open: {text}");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_slow_body_within_the_timeout_is_read_as_usual() {
    let server =
        DevServer::start_blocking(DevServer::builder().body_timeout(Duration::from_secs(5)))
            .unwrap();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let body = br#"{"token":"vft_not-a-real-token"}"#;
    let head = format!(
        "POST /api/sm/v1/bootstrap HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    for chunk in body.chunks(8) {
        std::thread::sleep(Duration::from_millis(20));
        stream.write_all(chunk).unwrap();
    }
    let (received, _) = read_until_closed(&mut stream, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&received);
    // The body was read and judged: no timeout, a refused token.
    assert!(!text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.starts_with("HTTP/1.1 4"), "{text}");
}

#[test]
fn connections_over_the_cap_wait_until_one_closes() {
    let server = DevServer::start_blocking(DevServer::builder().max_connections(2)).unwrap();
    let request =
        b"GET /api/sm/v1/folders HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    // Two idle connections take both slots.
    let first = TcpStream::connect(server.addr()).unwrap();
    let _second = TcpStream::connect(server.addr()).unwrap();
    // Time for the server to accept both, so the third is the one over the cap.
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(server.addr()).unwrap();
    third.write_all(request).unwrap();
    let (received, closed) = read_until_closed(&mut third, Duration::from_millis(700));
    assert!(
        received.is_empty() && !closed,
        "a connection over the cap was served: {}",
        String::from_utf8_lossy(&received)
    );
    drop(first);
    let (received, _) = read_until_closed(&mut third, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
}

/// Sends a bootstrap request (whose body is read before any authentication) with a chunked
/// body made of `chunks`, ignoring a connection the server closed early, and returns the
/// answer's text.
fn bootstrap_chunked(chunks: &[&[u8]]) -> String {
    let server = DevServer::start_blocking(DevServer::builder()).unwrap();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(
            b"POST /api/sm/v1/bootstrap HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
              Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
    for chunk in chunks {
        // The server may answer and close before the body ends.
        if stream.write_all(chunk).is_err() {
            break;
        }
    }
    let (received, _) = read_until_closed(&mut stream, Duration::from_secs(10));
    String::from_utf8_lossy(&received).into_owned()
}

#[test]
fn a_chunked_body_over_1_mib_gets_413_without_a_length_announced() {
    let data = vec![b' '; 64 * 1024];
    let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(b"\r\n");
    // Seventeen chunks of 64 KiB: one more than 1 MiB.
    let chunks = vec![chunk.as_slice(); 17];
    let text = bootstrap_chunked(&chunks);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
}

#[test]
fn a_body_that_breaks_its_chunked_framing_is_a_bad_request() {
    let text = bootstrap_chunked(&[b"zz\r\n{}\r\n0\r\n\r\n"]);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("invalid_request"), "{text}");
}

/// Connects and pipelines up to `count` unauthenticated requests without ever reading an
/// answer, until the writes block for a second or fail (the server closed), and returns the
/// connection, still open on this side.
fn pipeline_without_reading(server: &syvault_dev::RunningServer, count: usize) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let batch = b"GET /api/sm/v1/folders HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(1000);
    for _ in 0..count.div_ceil(1000) {
        if stream.write_all(&batch).is_err() {
            break;
        }
    }
    stream
}

/// Sends one request on a new connection and returns the answer's text once the server
/// closes, or what arrived within `limit`.
fn one_request(server: &syvault_dev::RunningServer, limit: Duration) -> String {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(
            b"GET /api/sm/v1/folders HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let (received, _) = read_until_closed(&mut stream, limit);
    String::from_utf8_lossy(&received).into_owned()
}

#[test]
fn a_client_that_pipelines_and_never_reads_does_not_keep_the_only_slot() {
    // The defaults but for the one slot: the request bound and the write timeout at work.
    let server = DevServer::start_blocking(DevServer::builder().max_connections(1)).unwrap();
    let started = Instant::now();
    let mut hog = pipeline_without_reading(&server, 190_000);
    let text = one_request(&server, Duration::from_secs(30));
    assert!(
        text.starts_with("HTTP/1.1 401"),
        "another client was not served: {text}"
    );
    assert!(started.elapsed() < syvault_dev::DEFAULT_WRITE_TIMEOUT + Duration::from_secs(10));
    let (_, closed) = read_until_closed(&mut hog, Duration::from_secs(10));
    assert!(closed, "the connection that never read stayed open");
}

#[test]
fn an_answer_the_client_does_not_read_within_the_write_timeout_closes_the_connection() {
    let write_timeout = Duration::from_millis(500);
    // No request bound, so only the write timeout can free the slot.
    let server = DevServer::start_blocking(
        DevServer::builder()
            .max_connections(1)
            .max_requests_per_connection(usize::MAX)
            .write_timeout(write_timeout),
    )
    .unwrap();
    let mut hog = pipeline_without_reading(&server, 190_000);
    // The hog's writes block once the server stopped reading because its own writes block.
    let blocked = Instant::now();
    let text = one_request(&server, Duration::from_secs(30));
    assert!(
        text.starts_with("HTTP/1.1 401"),
        "another client was not served: {text}"
    );
    assert!(
        blocked.elapsed() < write_timeout + Duration::from_secs(5),
        "served only after {:?}",
        blocked.elapsed()
    );
    let (_, closed) = read_until_closed(&mut hog, Duration::from_secs(10));
    assert!(closed, "the connection that never read stayed open");
}

#[test]
fn a_connection_serves_at_most_the_request_bound_and_says_so_in_the_last_answer() {
    let server =
        DevServer::start_blocking(DevServer::builder().max_requests_per_connection(3)).unwrap();
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(&b"GET /api/sm/v1/folders HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(5))
        .unwrap();
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&received);
    assert!(closed, "{text}");
    let answers: Vec<&str> = text.split("HTTP/1.1 ").skip(1).collect();
    assert_eq!(answers.len(), 3, "{text}");
    assert!(
        answers.iter().all(|answer| answer.starts_with("401")),
        "{text}"
    );
    let closing = |answer: &str| answer.to_ascii_lowercase().contains("connection: close");
    assert!(!closing(answers[0]) && !closing(answers[1]), "{text}");
    assert!(closing(answers[2]), "{text}");
}
