//! `sy read` through `sy agent`, as whole processes, against the least a process can do for the
//! same answer, and against `sy read` without the agent; then 200 concurrent clients of the
//! agent.
//!
//! Run with `cargo bench -p syvault-cli --bench agent` (`cargo test -p syvault-cli --bench
//! agent` runs a short smoke version whose numbers mean nothing). It starts an in-memory
//! `syvault-dev` on a loopback port, bootstraps a client, starts `sy agent` on a Unix socket
//! and warms it with one read, builds the baseline (`benches/probe/unix_read.rs`, standard
//! library only) with `rustc -O`, then runs, interleaved, in each round:
//!
//! - **agent**: `sy read -n REF` with `SY_AGENT_SOCKET` set: a new process that sends one
//!   request to the agent and prints the value;
//! - **probe**: the baseline, a new process that sends the same request to the agent and
//!   prints the answer's body: what any process must do for the same answer;
//! - **direct**: `sy read -n REF` without the agent against the same `syvault-dev`: a new
//!   process that reads the credentials, builds a client, signs a token, lists and decrypts.
//!
//! It prints the minimum and median of each, and for agent / probe (target ≤ 1.3) and direct /
//! agent (target ≥ 3) the ratio of the minimums and the median of the per-round ratios, and
//! direct / probe: what direct / agent would be if the agent's client cost no more than the
//! probe, its ceiling. Then 200 threads, started together, each send 5 reads over their own
//! connections to the warm agent, and it prints the p50 and p99 latency of those 1,000
//! requests.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use syvault_dev::DevServer;
use syvault_dev::wire::Access;
use syvault_ureq::SyVaultClient;
use syvault_ureq::proto::record::RecordPayload;

const PASSWORD: &str = "correct-horse-battery-staple";
const REFERENCE: &str = "sy://Production/Database/field/password";
const CLIENTS: usize = 200;
const READS_PER_CLIENT: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = if full { 301 } else { 5 };

    let server = DevServer::start_blocking(DevServer::builder())?;
    let admin = server.admin();
    let application = admin.create_application("Bench");
    let folder = admin.create_folder("Production", None)?;
    let mut payload = RecordPayload::new("Database");
    payload.fields.set("username", "orders_app");
    payload.fields.set("password", PASSWORD);
    admin.create_secret(folder, &payload)?;
    let new_client = admin.create_client(application, "bench")?;
    admin.grant(new_client.client_id, folder, Access::Read)?;
    let credentials = SyVaultClient::bootstrap(&server.url(), new_client.token.expose())?;

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("credentials.json");
    credentials.write_to(&file)?;
    let socket = dir.path().join("agent.sock");
    let probe = build_probe(dir.path())?;

    let sy = env!("CARGO_BIN_EXE_sy");
    let mut agent = Agent(
        Command::new(sy)
            .env("SY_CREDENTIALS_FILE", &file)
            .arg("agent")
            .arg("--socket")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the agent listens");
        std::thread::sleep(Duration::from_millis(10));
    }

    let through_agent = || {
        timed(
            Command::new(sy)
                .env("SY_AGENT_SOCKET", &socket)
                .args(["read", "-n", REFERENCE]),
            |out| out == PASSWORD.as_bytes(),
        )
    };
    let body = format!(r#"{{"reference":"{REFERENCE}"}}"#);
    let raw = || {
        timed(
            Command::new(&probe)
                .env("SY_AGENT_SOCKET", &socket)
                .arg(&body),
            |out| {
                out.windows(PASSWORD.len())
                    .any(|w| w == PASSWORD.as_bytes())
            },
        )
    };
    let direct = || {
        timed(
            Command::new(sy)
                .env("SY_CREDENTIALS_FILE", &file)
                .args(["read", "-n", REFERENCE]),
            |out| out == PASSWORD.as_bytes(),
        )
    };

    // Warm the agent's cache, the page cache and the server, then interleave, alternating
    // which of the agent and the probe goes first.
    for _ in 0..3 {
        through_agent();
        raw();
        direct();
    }
    let (mut agents, mut probes, mut directs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            agents.push(through_agent());
            probes.push(raw());
        } else {
            probes.push(raw());
            agents.push(through_agent());
        }
        directs.push(direct());
    }

    println!(
        "{rounds} interleaved rounds, processes started and waited for, against syvault-dev on {}",
        server.url()
    );
    report("sy read through the agent", &agents);
    report("probe: one raw request to the agent", &probes);
    report("sy read without the agent", &directs);
    ratios("agent / probe (target <= 1.3)", &agents, &probes);
    ratios("direct / agent (target >= 3)", &directs, &agents);
    // What direct / agent would be if `sy read` through the agent cost no more than the probe.
    ratios("direct / probe (its ceiling)", &directs, &probes);

    concurrent(&socket, &body);

    agent.stop();
    server.shutdown();
    Ok(())
}

/// Builds the baseline with the toolchain on the path, optimised, into `dir`.
fn build_probe(dir: &Path) -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/probe/unix_read.rs");
    let binary = dir.join("unix_read");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let status = Command::new(rustc)
        .args(["--edition", "2024", "-C", "opt-level=3", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()?;
    if !status.success() {
        return Err(format!("rustc failed on {}", source.display()).into());
    }
    Ok(binary)
}

/// Runs a process to its end and checks its output.
fn timed(command: &mut Command, expected: impl Fn(&[u8]) -> bool) -> Duration {
    let start = Instant::now();
    let output = command.stdin(Stdio::null()).output().expect("runs");
    let elapsed = start.elapsed();
    assert!(
        output.status.success() && expected(&output.stdout),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

fn report(name: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    println!(
        "{name:<40} min {:>7.3} ms  median {:>7.3} ms",
        ms(sorted[0]),
        ms(sorted[sorted.len() / 2])
    );
}

/// The ratio of the minimums, and the median of the per-round ratios. (On a shared machine
/// the smallest per-round ratio mostly records a preempted baseline, so it is not shown.)
fn ratios(name: &str, slow: &[Duration], fast: &[Duration]) {
    let mut each: Vec<f64> = slow
        .iter()
        .zip(fast)
        .map(|(s, f)| s.as_secs_f64() / f.as_secs_f64().max(1e-9))
        .collect();
    each.sort_by(f64::total_cmp);
    let min = |samples: &[Duration]| samples.iter().min().copied().unwrap_or_default();
    println!(
        "  => {name:<36} min {:.2}x  median {:.2}x",
        min(slow).as_secs_f64() / min(fast).as_secs_f64().max(1e-9),
        each[each.len() / 2]
    );
}

/// 200 threads, started together, each sending reads over its own connections.
fn concurrent(socket: &Path, body: &str) {
    let start = std::sync::Barrier::new(CLIENTS);
    let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..CLIENTS)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    (0..READS_PER_CLIENT)
                        .map(|_| {
                            let began = Instant::now();
                            let answer = read(socket, body);
                            let took = began.elapsed();
                            assert!(
                                answer.starts_with(b"HTTP/1.1 200"),
                                "{}",
                                String::from_utf8_lossy(&answer)
                            );
                            took
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("no client failed"))
            .collect()
    });
    latencies.sort();
    let at = |per_mille: usize| latencies[(latencies.len() - 1) * per_mille / 1000];
    println!(
        "{CLIENTS} concurrent clients x {READS_PER_CLIENT} reads, no errors: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(at(500)),
        ms(at(990)),
        ms(latencies[latencies.len() - 1])
    );
}

fn read(socket: &Path, body: &str) -> Vec<u8> {
    let mut stream = UnixStream::connect(socket).expect("connect");
    let request = format!(
        "POST /v1/read HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("receive");
    answer
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The agent process, stopped with SIGTERM (killed if that fails).
struct Agent(Child);

impl Agent {
    fn stop(&mut self) {
        let stopped = i32::try_from(self.0.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|pid| {
                rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
            });
        if !stopped {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
