//! A complete SyVault driver on the standard library alone: the core's operations over plain
//! HTTP/1.1 on `std::net::TcpStream`, the clock from `SystemTime` and the OS's randomness.
//! `docs/drivers.md` explains each part. Plain HTTP only, so loopback `syvault-dev` only:
//!
//! ```text
//! syvault-dev serve --demo --credentials creds.json &
//! cargo run -p syvault-proto --example std_driver -- creds.json
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime};

use syvault_proto::error::TransportErrorKind;
use syvault_proto::ops::{GetSecret, ListSecrets, Operation, ResolveReference, RotateSecret};
use syvault_proto::rand_core::UnwrapErr;
use syvault_proto::step::{Input, Request, Response, Step};
use syvault_proto::{Client, Error, Result, Timestamp};

/// The one loop that runs every operation, bootstrap included.
pub fn run<O: Operation>(client: &mut Client, mut op: O) -> Result<O::Output> {
    let now = || Timestamp::from(SystemTime::now());
    let mut input = Input::Start;
    loop {
        input = match op.step(client, input, now(), &mut UnwrapErr(getrandom::SysRng)) {
            Step::Send(request) => match send(&request, client.max_response_body()) {
                Ok(response) => Input::Response(response),
                Err(error) => Input::Failed(error),
            },
            Step::Sleep(until) | Step::Join(until) => {
                std::thread::sleep(until.saturating_duration_since(now()));
                Input::Wake
            }
            Step::Done(result) => return result,
        };
    }
}

/// Runs the background work the client asked for (refreshing entries and the notation index
/// ahead of their expiry). This driver has one thread and runs one operation at a time, so it
/// does this when it is idle, between operations; a driver with threads or tasks runs each job
/// beside the reads (`docs/drivers.md`, "Background work").
pub fn run_background(client: &mut Client) {
    while let Some(job) = client.take_background(Timestamp::from(SystemTime::now())) {
        // A failed refresh is the core's business: the entry expires normally.
        let _ = run(client, job);
    }
}

/// One request on a fresh connection; redirects are not followed, bodies are read up to one
/// byte past `limit` (the core refuses them), chunked bodies are refused.
pub fn send(request: &Request, limit: usize) -> Result<Response> {
    let failed = |kind, message: String| Error::transport(kind, message);
    let io = |e: std::io::Error| {
        let kind = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => TransportErrorKind::Connect,
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                TransportErrorKind::Timeout
            }
            _ => TransportErrorKind::ConnectionClosed,
        };
        Error::transport_caused_by(kind, e.to_string(), e)
    };
    let uri = request.uri();
    let (Some("http"), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(failed(TransportErrorKind::Other, "http:// only".into()));
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let mut stream = TcpStream::connect((host, authority.port_u16().unwrap_or(80))).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(io)?;
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = Vec::new();
    let (method, body) = (request.method(), request.body());
    write!(out, "{method} {target} HTTP/1.1\r\nHost: {authority}\r\n").map_err(io)?;
    for (name, value) in request.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    write!(
        out,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .map_err(io)?;
    out.extend_from_slice(body);
    stream.write_all(&out).map_err(io)?;

    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(io)?;
    let status = line.split(' ').nth(1).unwrap_or_default();
    let mut response = http::Response::builder().status(status);
    let mut length = None;
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(io)?;
        let Some((name, value)) = line.trim_end().split_once(':') else {
            break;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<u64>().ok(),
            "transfer-encoding" => return Err(failed(TransportErrorKind::Other, "chunked".into())),
            _ => {}
        }
        response = response.header(name, value);
    }
    let cap = length.unwrap_or(u64::MAX).min(limit as u64 + 1);
    let mut body = Vec::new();
    reader.take(cap).read_to_end(&mut body).map_err(io)?;
    response
        .body(body)
        .map_err(|e| failed(TransportErrorKind::ConnectionClosed, e.to_string()))
}

fn main() -> Result<()> {
    let missing = |what, reason: String| Error::InvalidInput { what, reason };
    let path = std::env::args()
        .nth(1)
        .unwrap_or("syvault-credentials.json".into());
    let json = std::fs::read_to_string(&path).map_err(|e| missing("credentials", e.to_string()))?;
    let mut client = Client::builder().credentials_json(&json)?.build()?;

    let secrets = run(&mut client, ListSecrets::new())?;
    println!("list: {} secrets", secrets.len());
    run_background(&mut client);
    let database = secrets
        .iter()
        .find(|s| s.title == "Database")
        .ok_or(missing("Database", "not listed".into()))?;
    let secret = run(&mut client, GetSecret::new(database.uid))?;
    println!(
        "get: {} has fields {:?}",
        secret.title,
        secret.fields.names().collect::<Vec<_>>()
    );
    let reference = "sy://Production/Database/field/password";
    let password = run(&mut client, ResolveReference::new(reference))?;
    println!(
        "notation: {reference} is {} characters",
        password.expose().len()
    );
    let outcome = run(&mut client, RotateSecret::new(database.uid, None))?;
    println!(
        "rotate: {} is at revision {}",
        database.uid, outcome.revision
    );
    Ok(())
}
