//! Wall time of `sy read` from start to exit, against a raw HTTP GET of the same secret.
//!
//! Run with `cargo bench -p syvault-cli --bench read`. It starts an in-memory `syvault-dev` on
//! a loopback port, bootstraps a client, then alternates, 25 times each:
//!
//! - `sy read sy://Production/Database/field/password`: a new process that reads the
//!   credentials, signs a token, lists the folders and the secrets (one request each),
//!   decrypts and prints the value;
//! - a raw HTTP GET of the same secret (`GET /api/sm/v1/secrets/{uid}` with a token signed
//!   beforehand) over a new TCP connection, in this process, reading the whole answer: the
//!   least any client could do;
//! - `sy --version`: the cost of starting the process alone.
//!
//! It prints the minimum and median of each and the ratios of the medians. Timings come from a
//! shared machine: compare the ratios, not the absolute numbers.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use syvault_dev::DevServer;
use syvault_dev::wire::Access;
use syvault_ureq::SyVaultClient;
use syvault_ureq::proto::jwt::{self, Claims};
use syvault_ureq::proto::keys::ClientKey;
use syvault_ureq::proto::record::RecordPayload;

const ROUNDS: usize = 25;
const PASSWORD: &str = "correct-horse-battery-staple";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = DevServer::start_blocking(DevServer::builder())?;
    let admin = server.admin();
    let application = admin.create_application("Bench");
    let folder = admin.create_folder("Production", None)?;
    let mut payload = RecordPayload::new("Database");
    payload.fields.set("username", "orders_app");
    payload.fields.set("password", PASSWORD);
    let uid = admin.create_secret(folder, &payload)?;
    let new_client = admin.create_client(application, "bench")?;
    admin.grant(new_client.client_id, folder, Access::Read)?;
    let credentials = SyVaultClient::bootstrap(&server.url(), new_client.token.expose())?;

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("credentials.json");
    credentials.write_to(&file)?;

    // A token for the raw GET, signed once: a raw client would hold one too.
    let key = ClientKey::from_client_secret(credentials.client_secret.expose())?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_secs();
    let token = jwt::sign(
        &key,
        &Claims::new(
            credentials.client_id,
            jwt::canonical_audience(&server.url())?,
            now,
            now + 3000,
        ),
    );
    let request = format!(
        "GET /api/sm/v1/secrets/{uid} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n",
        server.addr(),
        token.expose()
    );

    let sy = env!("CARGO_BIN_EXE_sy");
    let read = || -> Duration {
        let start = Instant::now();
        let output = Command::new(sy)
            .env("SY_CREDENTIALS_FILE", &file)
            .args(["read", "-n", "sy://Production/Database/field/password"])
            .output()
            .expect("sy runs");
        let elapsed = start.elapsed();
        assert!(output.status.success() && output.stdout == PASSWORD.as_bytes());
        elapsed
    };
    let raw_get = || -> Duration {
        let start = Instant::now();
        let mut stream = TcpStream::connect(server.addr()).expect("connect");
        stream.write_all(request.as_bytes()).expect("request sent");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("answer read");
        let elapsed = start.elapsed();
        assert!(answer.starts_with(b"HTTP/1.1 200"), "the raw GET succeeds");
        elapsed
    };
    let version = || -> Duration {
        let start = Instant::now();
        let output = Command::new(sy).arg("--version").output().expect("sy runs");
        let elapsed = start.elapsed();
        assert!(output.status.success());
        elapsed
    };

    // Warm the page cache and the server once, then interleave.
    read();
    raw_get();
    version();
    let (mut reads, mut gets, mut versions) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        reads.push(read());
        gets.push(raw_get());
        versions.push(version());
    }

    println!(
        "{ROUNDS} interleaved rounds against syvault-dev on {}",
        server.url()
    );
    let read = report("sy read (process start to exit)", &mut reads);
    let get = report("raw HTTP GET of the same secret", &mut gets);
    let start = report("sy --version (process start alone)", &mut versions);
    println!(
        "  => sy read / raw GET: {:.1}x (median), {:.1}x (min)",
        ratio(read.1, get.1),
        ratio(read.0, get.0)
    );
    println!(
        "  => sy read / sy --version: {:.1}x (median)",
        ratio(read.1, start.1)
    );
    server.shutdown();
    Ok(())
}

/// Prints and returns the minimum and median.
fn report(name: &str, samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let (min, median) = (samples[0], samples[samples.len() / 2]);
    println!(
        "{name:<40} min {:>8.2} ms  median {:>8.2} ms",
        min.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3
    );
    (min, median)
}

fn ratio(slow: Duration, fast: Duration) -> f64 {
    slow.as_secs_f64() / fast.as_secs_f64().max(1e-9)
}
