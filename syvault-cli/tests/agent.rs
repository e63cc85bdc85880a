//! End-to-end tests of `sy agent` and of `sy read`, `sy run` and `sy inject` through it: the
//! agent runs as its own process against `syvault-dev` over loopback TCP, and its clients talk
//! to it over a real Unix socket.
#![cfg(unix)]

mod common;

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{API_KEY, Client, DB_PASSWORD, DB_USER, Vault, assert_clean, run};
use rustix::process::{Pid, Signal, kill_process};

/// A running `sy agent`, stopped (SIGKILL) if a test ends without stopping it.
struct Agent {
    child: Option<Child>,
    socket: PathBuf,
    log: PathBuf,
}

impl Agent {
    /// Starts `sy agent` for `client` on a socket in the vault's directory, with `args`, and
    /// waits until it answers.
    fn start(client: &Client<'_>, args: &[&str]) -> Self {
        let socket = client.vault.path(&format!("agent-{}.sock", unique()));
        Self::start_at(client, socket, args)
    }

    fn start_at(client: &Client<'_>, socket: PathBuf, args: &[&str]) -> Self {
        let log = socket.with_extension("log");
        let child = client
            .sy()
            .arg("agent")
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("sy agent starts");
        let agent = Self {
            child: Some(child),
            socket,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while request(&agent.socket, "GET", "/v1/health", None).0 != 200 {
            assert!(
                Instant::now() < deadline,
                "the agent answers: {}",
                agent.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        agent
    }

    fn pid(&self) -> Pid {
        let id = self.child.as_ref().expect("running").id();
        Pid::from_raw(i32::try_from(id).expect("a pid")).expect("not zero")
    }

    fn signal(&self, signal: Signal) {
        kill_process(self.pid(), signal).expect("signal sent");
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        self.signal(Signal::TERM);
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the agent stops: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the agent logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `sy` of `client` with `SY_AGENT_SOCKET` set and no credentials at all.
    fn sy(&self, client: &Client<'_>) -> Command {
        let mut command = client.vault.sy();
        command.env("SY_AGENT_SOCKET", &self.socket);
        command
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One raw HTTP/1.1 request over the socket: status and body (0 when it could not connect).
fn request(socket: &Path, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return (0, String::new());
    };
    let head = match body {
        Some(body) => format!(
            "{method} {path} HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        None => format!("{method} {path} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n"),
    };
    // The agent may answer (413) and close before a large body is all sent.
    let _ = stream.write_all(head.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8(answer).expect("UTF-8 answer");
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON: {body}"))
}

const PASSWORD_REF: &str = "sy://Production/Database/field/password";

// ---------------------------------------------------------------------------------------------
// Reads, runs and injects through the agent

#[test]
fn read_run_and_inject_through_the_agent_print_what_they_print_without_it() {
    let vault = Vault::start();
    let client = vault.client();
    let agent = Agent::start(&client, &[]);

    // `sy read`, with and without the newline, with the agent named by the variable or the
    // option, and the caller holding no credentials at all.
    let direct = client.ok(&["read", PASSWORD_REF]);
    let through = run(agent.sy(&client).args(["read", PASSWORD_REF]), None).success();
    assert_eq!(through.stdout, direct.stdout);
    assert_eq!(through.stdout, format!("{DB_PASSWORD}\n"));
    let through = run(
        vault
            .sy()
            .args(["read", "-n", "--agent"])
            .arg(&agent.socket)
            .arg("sy://Production/Database/field/username"),
        None,
    )
    .success();
    assert_eq!(through.stdout, DB_USER);
    let uid = run(
        agent
            .sy(&client)
            .args(["read", "sy://Production/Stripe API Key/uid"]),
        None,
    )
    .success();
    assert_eq!(uid.stdout, format!("{}\n", vault.stripe));

    // Failures: the same lines and exit statuses as without the agent.
    for (reference, code) in [
        ("sy://Production/Nothing/field/password", 1),
        ("sy://Production/Database/field/nothing", 1),
        ("Production/Database", 2),
        ("sy://Production/Data\\base/title", 2),
    ] {
        let direct = client.run(&["read", reference]).fails(code, &[]);
        let through = run(agent.sy(&client).args(["read", reference]), None).fails(code, &[]);
        assert_eq!(through.stderr, direct.stderr, "{reference}");
    }

    // `sy run`: the variables resolved in one batch, the failures named alike.
    let printed = run(
        agent
            .sy(&client)
            .env("DB_PASSWORD", PASSWORD_REF)
            .env("STRIPE", "sy://Production/Stripe API Key/field/api_key")
            .args([
                "run",
                "--",
                "sh",
                "-c",
                "printf '%s %s' \"$DB_PASSWORD\" \"$STRIPE\"",
            ]),
        None,
    )
    .success();
    assert_eq!(printed.stdout, format!("{DB_PASSWORD} {API_KEY}"));
    let failing = |command: &mut Command| {
        run(
            command
                .env("GOOD", PASSWORD_REF)
                .env("MISSING", "sy://Production/Nothing/title")
                .env("MALFORMED", "sy://Production//title")
                .args(["run", "--", "true"]),
            None,
        )
        .fails(1, &[])
    };
    let direct = failing(&mut client.sy());
    let through = failing(&mut agent.sy(&client));
    assert_eq!(through.stderr, direct.stderr);
    assert!(through.stderr.contains("MISSING: "), "{through:?}");

    // `sy inject`.
    let template = "user={{ sy://Production/Database/field/username }}\n\
                    password = {{sy://Production/Database/field/password}}\n";
    let direct = run(client.sy().arg("inject"), Some(template)).success();
    let through = run(agent.sy(&client).arg("inject"), Some(template)).success();
    assert_eq!(through.stdout, direct.stdout);
    assert_eq!(
        through.stdout,
        format!("user={DB_USER}\npassword = {DB_PASSWORD}\n")
    );
    let broken = "{{ sy://Production/Nothing/title }}\n{{ sy://Production/Database/title }}\n";
    let direct = run(client.sy().arg("inject"), Some(broken)).fails(1, &[]);
    let through = run(agent.sy(&client).arg("inject"), Some(broken)).fails(1, &[]);
    assert_eq!(through.stderr, direct.stderr);

    // The agent logged, and logged no value.
    let status = agent.stop();
    assert!(status.success(), "{status:?}");
}

#[test]
fn suggestions_json_and_doctor_through_the_agent_are_as_without_it() {
    let vault = Vault::start();
    let client = vault.client();
    let agent = Agent::start(&client, &[]);

    // A reference that names nothing gets the same suggestions, drawn by the agent.
    for (reference, hint) in [
        (
            "sy://Production/Database/field/pasword",
            "did you mean `password`?",
        ),
        (
            "sy://Production/Databse/title",
            "did you mean `Production/Database`?",
        ),
        (
            "sy://Prodution/Database/title",
            "did you mean `Production/Database`?",
        ),
    ] {
        let direct = client.run(&["read", reference]).fails(1, &[]);
        assert!(direct.stderr.contains(hint), "{reference}: {direct:?}");
        let through = run(agent.sy(&client).args(["read", reference]), None).fails(1, &[]);
        assert_eq!(through.stderr, direct.stderr, "{reference}");
    }

    // `--format json`: the same value object, and the same error objects (kind included).
    let direct = client.ok(&["read", PASSWORD_REF, "--format", "json"]);
    let through = run(
        agent
            .sy(&client)
            .args(["read", PASSWORD_REF, "--format", "json"]),
        None,
    )
    .success();
    assert_eq!(through.stdout, direct.stdout);
    for (reference, code, kind) in [
        ("sy://Production/Nothing/field/password", 1, "not_found"),
        ("sy://Production/Data\\base/title", 2, "usage"),
    ] {
        let direct = client.run(&["read", reference, "--format", "json"]);
        let through = run(
            agent
                .sy(&client)
                .args(["read", reference, "--format", "json"]),
            None,
        );
        assert_eq!(direct.code, Some(code), "{direct:?}");
        assert_eq!(through.code, Some(code), "{through:?}");
        assert_eq!(through.stderr, direct.stderr, "{reference}");
        assert_eq!(json(&through.stderr)["error"]["kind"], kind, "{through:?}");
    }

    // `sy doctor` finds the real agent healthy and names the client it serves.
    let client_id = client.credentials_json()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let doctor = run(
        client
            .sy()
            .env("SY_AGENT_SOCKET", &agent.socket)
            .args(["doctor", "--format", "json"]),
        None,
    )
    .success();
    let report = json(&doctor.stdout);
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "agent")
        .unwrap()
        .clone();
    assert_eq!(check["status"], "ok", "{report}");
    assert!(
        check["message"].as_str().unwrap().contains(&client_id),
        "{check}"
    );
    assert!(agent.stop().success());
}

#[test]
fn an_agent_that_never_answers_ends_the_command_at_its_time_limit() {
    let vault = Vault::start();
    // The option or the variable, with or without the fast path, for one or a batch.
    let wedged = vault.path("wedged.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&wedged).unwrap();
    let mut option = vault.sy();
    option
        .arg("read")
        .arg("--agent")
        .arg(&wedged)
        .args(["--timeout", "1s", PASSWORD_REF]);
    let mut variable = vault.sy();
    variable
        .env("SY_AGENT_SOCKET", &wedged)
        .env("SY_TIMEOUT", "1s")
        .args(["read", PASSWORD_REF]);
    let mut batch = vault.sy();
    batch
        .env("SY_AGENT_SOCKET", &wedged)
        .env("SY_TIMEOUT", "1s")
        .env("GOOD", PASSWORD_REF)
        .args(["run", "--", "true"]);
    for mut command in [option, variable, batch] {
        let started = Instant::now();
        let late = run(&mut command, None).fails(1, &[]);
        assert!(started.elapsed() < Duration::from_secs(10), "{late:?}");
        assert!(late.stderr.contains("did not answer within 1s"), "{late:?}");
    }
    let late = run(
        vault.sy().env("SY_AGENT_SOCKET", &wedged).args([
            "read",
            PASSWORD_REF,
            "--timeout",
            "1s",
            "--format",
            "json",
        ]),
        None,
    );
    assert_eq!(late.code, Some(1), "{late:?}");
    assert_eq!(json(&late.stderr)["error"]["kind"], "timeout", "{late:?}");
}

#[test]
fn the_agent_logs_no_values_and_its_clients_never_see_the_client_secret() {
    let vault = Vault::start();
    let client = vault.client();
    let secret = client.credentials_json()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = Agent::start(&client, &["-v"]);
    let read = run(agent.sy(&client).args(["read", PASSWORD_REF]), None).success();
    assert_eq!(read.stdout, format!("{DB_PASSWORD}\n"));
    for path in ["/v1/health", "/metrics", "/v1/secrets"] {
        let (status, body) = request(&agent.socket, "GET", path, None);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body.contains(&secret), "{path}");
    }
    let (status, body) = request(
        &agent.socket,
        "GET",
        &format!("/v1/secrets/{}", vault.database),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains(&secret));
    let log = agent.log();
    assert!(log.contains("/v1/read"), "-v logs each request: {log}");
    assert_clean(&log, &[&secret]);
    agent.stop();
    assert_clean(&agent_log_after_stop(&client), &[&secret]);
}

/// Every log file of the vault's directory, joined.
fn agent_log_after_stop(client: &Client<'_>) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(client.vault.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            text.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// The API

#[test]
fn the_api_answers_its_documented_json() {
    let vault = Vault::start();
    let client = vault.client();
    let agent = Agent::start(&client, &[]);
    let client_id = client.credentials_json()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, body) = request(&agent.socket, "GET", "/v1/health", None);
    assert_eq!(status, 200);
    let health = json(&body);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["client_id"], client_id.as_str());
    assert_eq!(health["server"], vault.url().as_str());

    let (status, body) = request(
        &agent.socket,
        "POST",
        "/v1/read",
        Some(&format!(r#"{{"reference":"{PASSWORD_REF}"}}"#)),
    );
    assert_eq!(status, 200);
    assert_eq!(
        json(&body),
        serde_json::json!({"value": DB_PASSWORD, "secret": true})
    );

    let (status, body) = request(
        &agent.socket,
        "POST",
        "/v1/resolve",
        Some(
            r#"{"references":["sy://Production/Database/field/username","sy://Production/Nothing/title","sy://Production/Database/title","nonsense"]}"#,
        ),
    );
    assert_eq!(status, 200, "{body}");
    let results = json(&body)["results"].clone();
    assert_eq!(
        results[0],
        serde_json::json!({"value": DB_USER, "secret": true})
    );
    assert_eq!(results[1]["error"]["code"], "not_found");
    assert_eq!(
        results[2],
        serde_json::json!({"value": "Database", "secret": false})
    );
    assert_eq!(results[3]["error"]["code"], "invalid_reference");

    let (status, body) = request(&agent.socket, "GET", "/v1/secrets", None);
    assert_eq!(status, 200);
    let listed = json(&body)["data"].as_array().unwrap().clone();
    let database = listed
        .iter()
        .find(|s| s["uid"] == vault.database.as_str())
        .expect("listed");
    assert_eq!(database["folder"], "Production");
    assert_eq!(database["title"], "Database");
    assert!(!body.contains(DB_PASSWORD), "a listing holds no values");

    let (status, body) = request(
        &agent.socket,
        "GET",
        &format!("/v1/secrets/{}", vault.database),
        None,
    );
    assert_eq!(status, 200);
    let shown = json(&body)["data"].clone();
    assert_eq!(shown["title"], "Database");
    assert_eq!(
        shown["fields"],
        serde_json::json!({"username": DB_USER, "password": DB_PASSWORD})
    );
    let (status, body) = request(&agent.socket, "GET", "/v1/secrets/AAAAAAAAAAAA", None);
    assert_eq!(
        (status, json(&body)["error"]["code"].clone()),
        (404, "not_found".into())
    );
    let (status, body) = request(&agent.socket, "GET", "/v1/secrets/short", None);
    assert_eq!(
        (status, json(&body)["error"]["code"].clone()),
        (400, "invalid_input".into())
    );

    let (status, metrics) = request(&agent.socket, "GET", "/metrics", None);
    assert_eq!(status, 200);
    for line in [
        "syvault_agent_requests_total{endpoint=\"read\",status=\"200\"} 1",
        "syvault_agent_errors_total{code=\"not_found\"} 2",
        "syvault_agent_cache_hits_total ",
        "syvault_agent_cache_misses_total ",
        "syvault_agent_vault_requests_total ",
        "syvault_agent_last_sync_timestamp_seconds ",
        "# TYPE syvault_agent_cache_hits_total counter",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    agent.stop();
}

#[test]
fn requests_are_checked_before_anything_reaches_the_client() {
    let vault = Vault::start();
    let client = vault.client();
    let agent = Agent::start(&client, &[]);
    let before = vault.stats().total();
    let huge = format!(r#"{{"reference":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let cases: &[(&str, &str, Option<&str>, u16, &str)] = &[
        ("GET", "/v1/read", None, 405, "method_not_allowed"),
        (
            "DELETE",
            "/v1/secrets/AAAAAAAAAAAA",
            None,
            405,
            "method_not_allowed",
        ),
        ("GET", "/v1/nothing", None, 404, "no_such_endpoint"),
        ("GET", "/v1/secrets/a/b", None, 404, "no_such_endpoint"),
        ("POST", "/v1/read", Some("{}"), 400, "bad_request"),
        ("POST", "/v1/read", Some("not json"), 400, "bad_request"),
        (
            "POST",
            "/v1/read",
            Some(r#"{"reference":"sy://A/uid","extra":1}"#),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/v1/resolve",
            Some(r#"{"references":"sy://A/uid"}"#),
            400,
            "bad_request",
        ),
        ("POST", "/v1/read", Some(&huge), 413, "payload_too_large"),
    ];
    for &(method, path, body, status, code) in cases {
        let (got, answer) = request(&agent.socket, method, path, body);
        assert_eq!(got, status, "{method} {path}: {answer}");
        assert_eq!(json(&answer)["error"]["code"], code, "{method} {path}");
    }
    // A body that is not announced as JSON.
    let mut stream = UnixStream::connect(&agent.socket).unwrap();
    let body = format!(r#"{{"reference":"{PASSWORD_REF}"}}"#);
    let head = format!(
        "POST /v1/read HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 415"), "{answer}");
    // Too many references.
    let many: Vec<String> = (0..10_001).map(|i| format!("sy://A{i}/uid")).collect();
    let body = serde_json::json!({ "references": many }).to_string();
    let (status, answer) = request(&agent.socket, "POST", "/v1/resolve", Some(&body));
    assert_eq!(
        (status, json(&answer)["error"]["code"].clone()),
        (413, "payload_too_large".into())
    );

    assert_eq!(vault.stats().total(), before, "nothing reached the vault");
    let (_, metrics) = request(&agent.socket, "GET", "/metrics", None);
    assert!(
        metrics.contains("syvault_agent_cache_misses_total 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("syvault_agent_cache_hits_total 0\n"),
        "{metrics}"
    );
    agent.stop();
}

// ---------------------------------------------------------------------------------------------
// Load

#[test]
fn a_thousand_reads_through_a_warm_agent_cost_the_vault_no_request() {
    let vault = Vault::start();
    let client = vault.client();
    // Without refresh-ahead, whose one background refresh per time to live may come at any
    // point of the first one.
    let agent = Agent::start(&client, &["--refresh-ahead", "0"]);
    run(agent.sy(&client).args(["read", PASSWORD_REF]), None).success();
    let warm = vault.stats().snapshot();
    for _ in 0..1_000 {
        let read = run(agent.sy(&client).args(["read", "-n", PASSWORD_REF]), None);
        assert_eq!(
            (read.code, read.stdout.as_str()),
            (Some(0), DB_PASSWORD),
            "{read:?}"
        );
    }
    assert_eq!(vault.stats().snapshot(), warm, "the vault saw no request");
    let (_, metrics) = request(&agent.socket, "GET", "/metrics", None);
    assert!(
        metrics.contains("syvault_agent_requests_total{endpoint=\"read\",status=\"200\"} 1001\n"),
        "{metrics}"
    );
    agent.stop();
}

#[test]
fn two_hundred_concurrent_clients_all_get_their_answers() {
    const CLIENTS: usize = 200;
    const READS: usize = 5;
    let vault = Vault::start();
    let client = vault.client();
    let agent = Agent::start(&client, &["--refresh-ahead", "0"]);
    run(agent.sy(&client).args(["read", PASSWORD_REF]), None).success();
    let warm = vault.stats().snapshot();
    let socket = agent.socket.clone();
    let start = std::sync::Barrier::new(CLIENTS);
    let body = format!(r#"{{"reference":"{PASSWORD_REF}"}}"#);
    let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..CLIENTS)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    (0..READS)
                        .map(|_| {
                            let began = Instant::now();
                            let (status, answer) =
                                request(&socket, "POST", "/v1/read", Some(&body));
                            let took = began.elapsed();
                            assert_eq!(status, 200, "{answer}");
                            assert_eq!(json(&answer)["value"], DB_PASSWORD);
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
    // The sample at `per_mille` thousandths of the sorted run.
    let at = |per_mille: usize| latencies[(latencies.len() - 1) * per_mille / 1000];
    eprintln!(
        "{CLIENTS} concurrent clients x {READS} reads: p50 {:?}, p99 {:?}, max {:?}",
        at(500),
        at(990),
        latencies[latencies.len() - 1]
    );
    assert_eq!(latencies.len(), CLIENTS * READS);
    assert_eq!(
        vault.stats().snapshot(),
        warm,
        "all answered from the cache"
    );
    agent.stop();
}

// ---------------------------------------------------------------------------------------------
// Failures and security

#[test]
fn an_unreachable_agent_is_a_clear_error_never_a_direct_read() {
    let vault = Vault::start();
    let client = vault.client();
    let missing = vault.path("no-agent.sock");
    let before = vault.stats().total();
    // The caller has working credentials: they must not be used.
    let read = run(
        client
            .sy()
            .env("SY_AGENT_SOCKET", &missing)
            .args(["read", PASSWORD_REF]),
        None,
    )
    .fails(1, &[]);
    assert!(
        read.stderr.starts_with(&format!(
            "sy: cannot reach the agent at {}: ",
            missing.display()
        )),
        "{read:?}"
    );
    assert!(read.stderr.contains("is `sy agent` running"), "{read:?}");
    let ran = run(
        client
            .sy()
            .env("X", PASSWORD_REF)
            .args(["run", "--agent"])
            .arg(&missing)
            .args(["--", "true"]),
        None,
    )
    .fails(1, &[]);
    assert!(ran.stderr.contains("cannot reach the agent"), "{ran:?}");
    let injected = run(
        client.sy().env("SY_AGENT_SOCKET", &missing).arg("inject"),
        Some("{{ sy://Production/Database/title }}"),
    )
    .fails(1, &[]);
    assert!(
        injected.stderr.contains("cannot reach the agent"),
        "{injected:?}"
    );
    // A malformed reference is still a usage error, found before the agent is asked.
    run(
        client
            .sy()
            .env("SY_AGENT_SOCKET", &missing)
            .args(["read", "Production/Database"]),
        None,
    )
    .fails(2, &[]);
    assert_eq!(vault.stats().total(), before, "nothing reached the vault");
}

#[test]
fn the_socket_is_private_and_removed_when_the_agent_stops() {
    let vault = Vault::start();
    let client = vault.client();
    let agent = Agent::start(&client, &[]);
    let mode = std::fs::symlink_metadata(&agent.socket)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // A second agent on the same socket is refused and the first keeps serving.
    let second = run(
        client.sy().arg("agent").arg("--socket").arg(&agent.socket),
        None,
    )
    .fails(1, &[]);
    assert!(second.stderr.contains("already listening"), "{second:?}");
    assert_eq!(request(&agent.socket, "GET", "/v1/health", None).0, 200);
    let socket = agent.socket.clone();
    assert!(agent.stop().success());
    assert!(!socket.exists());
}

/// A process of another user cannot read through the socket: the file's mode keeps it out,
/// and when it can connect (a socket opened to everyone), the peer check refuses it unless
/// it is allowed with `--allow-uid`. Switching users needs root; elsewhere the peer check is
/// tested with an injected uid (the unit tests of `agent::server`).
#[test]
fn another_user_cannot_read_through_the_socket() {
    const NOBODY: u32 = 65_534;
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("skipped: switching to another user needs root");
        return;
    }
    let vault = Vault::start();
    let client = vault.client();
    // A directory the other user can reach.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_nobody = |socket: &Path| {
        use std::os::unix::process::CommandExt as _;
        let mut command = Command::new(env!("CARGO_BIN_EXE_sy"));
        command
            .env_clear()
            .env("SY_AGENT_SOCKET", socket)
            .args(["read", PASSWORD_REF])
            .current_dir("/")
            .uid(NOBODY)
            .gid(NOBODY);
        run(&mut command, None)
    };

    let agent = Agent::start_at(&client, dir.path().join("private.sock"), &[]);
    let refused = as_nobody(&agent.socket).fails(1, &[]);
    assert!(
        refused.stderr.contains("cannot reach the agent"),
        "{refused:?}"
    );
    assert!(refused.stderr.contains("ermission denied"), "{refused:?}");
    // Opened to everyone by hand: the peer check still refuses.
    std::fs::set_permissions(&agent.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let refused = as_nobody(&agent.socket).fails(1, &[]);
    assert_eq!(
        refused.stderr,
        format!("sy: this agent does not serve user {NOBODY}\n")
    );
    let (_, metrics) = request(&agent.socket, "GET", "/metrics", None);
    assert!(
        metrics.contains("syvault_agent_connections_refused_total 1\n"),
        "{metrics}"
    );
    agent.stop();

    let allowed = Agent::start_at(
        &client,
        dir.path().join("shared.sock"),
        &["--allow-uid", &NOBODY.to_string()],
    );
    let read = as_nobody(&allowed.socket).success();
    assert_eq!(read.stdout, format!("{DB_PASSWORD}\n"));
    allowed.stop();
}

// ---------------------------------------------------------------------------------------------
// Signals

#[test]
fn sighup_reads_the_credentials_again() {
    let vault = Vault::start();
    let first = vault.client();
    // The second credentials name another server.
    let other = Vault::start();
    let second = other.client();
    // The agent's credentials file, which the test replaces.
    let file = vault.path("agent-credentials.json");
    std::fs::copy(&first.file, &file).unwrap();
    let agent_client = Client {
        vault: &vault,
        file: file.clone(),
    };
    let agent = Agent::start(&agent_client, &[]);
    let client_id = |c: &Client<'_>| c.credentials_json()["client_id"].clone();
    let health = || json(&request(&agent.socket, "GET", "/v1/health", None).1);
    assert_eq!(health()["client_id"], client_id(&first));
    run(agent.sy(&first).args(["read", PASSWORD_REF]), None).success();
    let cached = health()["cached_secrets"].clone();
    assert!(cached.as_u64().unwrap() > 0, "{cached}");

    // The same credentials: the client and its cache stay.
    agent.signal(Signal::HUP);
    wait_for(|| agent.log().contains("credentials unchanged"), &agent);
    assert_eq!(health()["cached_secrets"], cached);

    // Other credentials, of another server: a new client, and the log, the health answer and
    // the failures name the new server, never the first.
    std::fs::copy(&second.file, &file).unwrap();
    agent.signal(Signal::HUP);
    wait_for(|| health()["client_id"] == client_id(&second), &agent);
    assert_eq!(health()["cached_secrets"], 0);
    assert_eq!(health()["server"], other.url());
    let reloaded = agent
        .log()
        .lines()
        .find(|line| line.contains("new credentials"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(reloaded.contains(&other.url()), "{}", agent.log());
    vault_down(&other);
    let failed = run(agent.sy(&first).args(["read", PASSWORD_REF]), None).fails(1, &[]);
    assert!(failed.stderr.contains(&other.url()), "{failed:?}");
    assert!(!failed.stderr.contains(&vault.url()), "{failed:?}");
    other.faults().clear();
    let before = other.stats().total();
    let read = run(agent.sy(&first).args(["read", PASSWORD_REF]), None).success();
    assert_eq!(read.stdout, format!("{DB_PASSWORD}\n"));
    assert!(other.stats().total() > before, "the new server was asked");

    // A broken file: the current client stays and keeps serving.
    std::fs::write(&file, "{not credentials").unwrap();
    agent.signal(Signal::HUP);
    wait_for(|| agent.log().contains("could not be read again"), &agent);
    assert_eq!(health()["client_id"], client_id(&second));
    run(agent.sy(&first).args(["read", PASSWORD_REF]), None).success();
    assert!(agent.stop().success());
}

#[test]
fn sigterm_lets_requests_in_flight_finish_then_exits() {
    let vault = Vault::start();
    let client = vault.client();
    let agent = Agent::start(&client, &[]);
    vault.faults().set_latency(Duration::from_millis(600));
    let before = vault.stats().total();
    let socket = agent.socket.clone();
    let body = format!(r#"{{"reference":"{PASSWORD_REF}"}}"#);
    let reader = std::thread::spawn(move || request(&socket, "POST", "/v1/read", Some(&body)));
    // The read is waiting on the slow vault (its folder listing first).
    wait_for(|| vault.stats().total() > before, &agent);
    let socket = agent.socket.clone();
    let stopped = std::thread::spawn(move || agent.stop());
    let (status, answer) = reader.join().unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(json(&answer)["value"], DB_PASSWORD);
    let status = stopped.join().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists());
    assert_eq!(request(&socket, "GET", "/v1/health", None).0, 0);
}

fn wait_for(mut condition: impl FnMut() -> bool, agent: &Agent) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out: {}", agent.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// The snapshot

/// What the agent's client snapshot binds to: the client's key, server and id.
fn open_snapshot(
    client: &Client<'_>,
    bytes: &[u8],
) -> Result<syvault_ureq::proto::snapshot::Snapshot, syvault_ureq::proto::snapshot::SnapshotError> {
    use syvault_ureq::proto::keys::ClientKey;
    use syvault_ureq::proto::snapshot::{self, Binding};
    let credentials = client.credentials_json();
    let key = ClientKey::from_client_secret(credentials["client_secret"].as_str().unwrap())
        .expect("the client key");
    let client_id = credentials["client_id"].as_str().unwrap().parse().unwrap();
    let binding = Binding::new(&key, credentials["server"].as_str().unwrap(), client_id).unwrap();
    snapshot::open(bytes, &binding)
}

fn vault_down(vault: &Vault) {
    vault
        .faults()
        .inject(syvault_dev::Fault::drop_connection().times(1_000_000));
}

#[test]
fn vault_down_and_agent_restarted_it_serves_what_it_had_read_within_max_stale() {
    let vault = Vault::start();
    let client = vault.client();
    let snapshot = vault.path("agent.snapshot");
    let snapshot_arg = snapshot.to_str().unwrap().to_owned();
    let args = [
        "--snapshot",
        &snapshot_arg,
        "--cache-ttl",
        "1s",
        "--max-stale",
        "5s",
        "--refresh-ahead",
        "0",
    ];
    let agent = Agent::start(&client, &args);
    let fetched = Instant::now();
    let template = "{{ sy://Production/Database/field/username }}:{{ sy://Production/Stripe API Key/field/api_key }}";
    let before = run(agent.sy(&client).args(["read", PASSWORD_REF]), None).success();
    let injected = run(agent.sy(&client).arg("inject"), Some(template)).success();
    // SIGTERM writes the snapshot.
    assert!(agent.stop().success());
    let bytes = std::fs::read(&snapshot).expect("a snapshot on SIGTERM");
    assert_eq!(common::mode(&snapshot), 0o600);
    assert!(
        !bytes
            .windows(DB_PASSWORD.len())
            .any(|w| w == DB_PASSWORD.as_bytes())
    );
    let opened = open_snapshot(&client, &bytes).expect("the snapshot opens for its client");
    assert!(opened.entries.len() >= 2, "{}", opened.entries.len());

    vault_down(&vault);
    let agent = Agent::start(&client, &args);
    assert!(agent.log().contains("snapshot loaded"), "{}", agent.log());
    let after = run(agent.sy(&client).args(["read", PASSWORD_REF]), None).success();
    assert_eq!(after.stdout, before.stdout);
    let again = run(agent.sy(&client).arg("inject"), Some(template)).success();
    assert_eq!(again.stdout, injected.stdout);
    let (_, metrics) = request(&agent.socket, "GET", "/metrics", None);
    assert!(
        !metrics.contains("syvault_agent_stale_serves_total 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("syvault_agent_snapshot_age_seconds "),
        "{metrics}"
    );

    // Past max_stale after the original fetch: a clear error, exit status 1.
    std::thread::sleep(
        Duration::from_secs(6).saturating_sub(fetched.elapsed()) + Duration::from_millis(300),
    );
    let late = run(agent.sy(&client).args(["read", PASSWORD_REF]), None).fails(1, &[]);
    assert!(
        late.stderr.starts_with(&format!(
            "sy: {} closed the connection before answering",
            vault.url()
        )),
        "the vault's failure, named as sy names it: {late:?}"
    );

    // The vault is back: its answer is served.
    vault.faults().clear();
    let back = run(agent.sy(&client).args(["read", PASSWORD_REF]), None).success();
    assert_eq!(back.stdout, before.stdout);
    assert!(agent.stop().success());
}

#[test]
fn a_snapshot_copied_to_another_client_or_altered_by_one_bit_is_refused() {
    let vault = Vault::start();
    let first = vault.client();
    let second = vault.client();
    let snapshot = vault.path("first.snapshot");
    let snapshot_arg = snapshot.to_str().unwrap().to_owned();
    let args = ["--snapshot", &snapshot_arg, "--max-stale", "1h"];
    let agent = Agent::start(&first, &args);
    run(agent.sy(&first).args(["read", PASSWORD_REF]), None).success();
    assert!(agent.stop().success());
    let bytes = std::fs::read(&snapshot).unwrap();
    vault_down(&vault);

    // The first client's snapshot in the second client's configuration.
    let copied = vault.path("copied.snapshot");
    std::fs::copy(&snapshot, &copied).unwrap();
    let other = Agent::start(
        &second,
        &["--snapshot", copied.to_str().unwrap(), "--max-stale", "1h"],
    );
    assert!(other.log().contains("snapshot ignored"), "{}", other.log());
    assert!(
        other.log().contains("does not open for this client"),
        "{}",
        other.log()
    );
    run(other.sy(&second).args(["read", PASSWORD_REF]), None).fails(1, &[]);
    drop(other);

    // One bit flipped.
    let mut tampered = bytes.clone();
    let at = tampered.len() - 30;
    tampered[at] ^= 0x04;
    let altered = vault.path("altered.snapshot");
    std::fs::write(&altered, &tampered).unwrap();
    let agent = Agent::start(
        &first,
        &["--snapshot", altered.to_str().unwrap(), "--max-stale", "1h"],
    );
    assert!(agent.log().contains("snapshot ignored"), "{}", agent.log());
    run(agent.sy(&first).args(["read", PASSWORD_REF]), None).fails(1, &[]);
    drop(agent);

    // The genuine one serves.
    let agent = Agent::start(&first, &args);
    run(agent.sy(&first).args(["read", PASSWORD_REF]), None).success();
}

/// Kills the agent (SIGKILL) a hundred times while it writes snapshots back to back, most times
/// the moment a write's temporary file appears: the snapshot is always a whole one that opens,
/// and each restart loads it.
#[test]
fn a_hundred_kill_9_during_snapshot_writes_never_leave_a_snapshot_that_does_not_open() {
    const KILLS: usize = 100;
    let vault = Vault::start();
    // A snapshot of some size, so that writes take a while.
    let mut payload = syvault_ureq::proto::record::RecordPayload::new("filler");
    payload.fields.set("blob", "x".repeat(1024));
    for i in 0..40 {
        payload.title = format!("Filler {i}");
        vault
            .admin
            .create_secret(vault.production, &payload)
            .unwrap();
    }
    let client = vault.client();
    let snapshot = vault.path("killed.snapshot");
    let snapshot_arg = snapshot.to_str().unwrap().to_owned();
    let args = [
        "--snapshot",
        &snapshot_arg,
        "--snapshot-debounce",
        "0s",
        "--cache-ttl",
        "100ms",
        "--refresh-ahead",
        "0",
        "--max-stale",
        "1h",
    ];
    let body = r#"{"references":["sy://Production/Database/field/password","sy://Production/Filler 7/field/blob"]}"#;
    let temporaries = || -> Vec<String> {
        std::fs::read_dir(vault.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| {
                name.starts_with(".killed.snapshot.")
                    && Path::new(name).extension().is_some_and(|e| e == "tmp")
            })
            .collect()
    };
    // A first snapshot, written when the agent stops.
    let agent = Agent::start(&client, &args);
    request(&agent.socket, "POST", "/v1/resolve", Some(body));
    assert!(agent.stop().success());
    assert!(snapshot.exists());
    let mut interrupted = 0;
    let mut state = 0x2545_f491_u32;
    for round in 0..KILLS {
        let agent = Agent::start(&client, &args);
        {
            let log = agent.log();
            assert!(log.contains("snapshot loaded"), "round {round}: {log}");
            assert!(!log.contains("snapshot ignored"), "round {round}: {log}");
        }
        // Reads that renew the cache every 100 ms, and so snapshots back to back.
        let stop = std::sync::atomic::AtomicBool::new(false);
        let before = temporaries();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    request(&agent.socket, "POST", "/v1/resolve", Some(body));
                }
            });
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let deadline = Instant::now() + Duration::from_secs(30);
            if round % 4 == 3 {
                // Now and then at a random moment instead.
                std::thread::sleep(Duration::from_millis(100 + u64::from(state % 400)));
            } else {
                // The moment a write has created its temporary file.
                while temporaries().len() <= before.len() {
                    assert!(Instant::now() < deadline, "no write: {}", agent.log());
                    std::hint::spin_loop();
                }
            }
            agent.signal(Signal::KILL);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let log = agent.log();
        drop(agent);
        if temporaries().len() > before.len() {
            interrupted += 1;
        }
        let bytes = std::fs::read(&snapshot)
            .unwrap_or_else(|e| panic!("round {round}: no snapshot ({e}): {log}"));
        let opened = open_snapshot(&client, &bytes)
            .unwrap_or_else(|e| panic!("round {round}: the snapshot does not open: {e}"));
        assert!(!opened.entries.is_empty(), "round {round}");
    }
    eprintln!("{KILLS} kills, {interrupted} of them in the middle of a write");
    assert!(interrupted > 0, "no kill interrupted a write");
}
