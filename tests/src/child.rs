//! Tests that configure a client through environment variables run it in a child process of
//! the test binary, with the variables set for that process only: a test never changes the
//! environment of the process that runs the other tests (which would race them).
//!
//! The parent starts the servers and proxies, then runs the binary's ignored test
//! `child_lists_from_env` (see [`crate::environment_tests!`]) with the variables; the child
//! builds a client with `from_env()`, lists the secrets, and prints one [`Outcome`] line that
//! the parent checks.

use std::process::Command;

use crate::sdk::{Sdk, SdkClient};

/// Set in a child's environment so that its entry point runs.
pub const CHILD: &str = "SYVAULT_TESTS_CHILD";

/// Every variable a child starts without unless the parent sets it: the client's own, the
/// proxy ones and the trust store's.
const CLEARED: [&str; 14] = [
    "SY_SERVER",
    "SY_CLIENT_ID",
    "SY_CLIENT_SECRET",
    "SY_CREDENTIALS_FILE",
    "SY_CA_CERT",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_DIR",
];

/// What the child saw: the number of secrets listed, or the error's `Display` and `Debug`.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `from_env()` and `list()` succeeded with this many secrets.
    Listed(usize),
    /// They failed: the error as `Display`, then as `Debug`.
    Failed(String),
}

/// The child's side: builds the client from the environment, lists, prints the outcome.
pub fn child_lists_from_env<S: Sdk>() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let outcome = match S::from_env().and_then(|client| client.list()) {
        Ok(list) => format!("listed {}", list.len()),
        Err(error) => format!("failed {error} | {error:?}").replace('\n', " "),
    };
    println!("OUTCOME {outcome}");
    let store = if syvault_tls::TrustStore::system().is_loaded() {
        "read"
    } else {
        "unread"
    };
    println!("TRUST_STORE {store}");
}

/// Runs `module::child_lists_from_env` of the current test binary with `vars` set (and
/// the client, proxy and trust-store variables otherwise unset) and returns its outcome.
pub fn run(module: &str, vars: &[(&str, String)]) -> Outcome {
    run_reporting_store(module, vars).0
}

/// [`run`], and whether the child read the OS trust store.
pub fn run_reporting_store(module: &str, vars: &[(&str, String)]) -> (Outcome, bool) {
    let exe = std::env::current_exe().expect("the test binary");
    let test = format!("{module}::child_lists_from_env");
    let mut command = Command::new(exe);
    command
        .args([
            test.as_str(),
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1");
    for name in CLEARED.iter().chain(&["SSL_CERT_FILE"]) {
        command.env_remove(name);
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran its test: {stdout}"
    );
    let line = stdout
        .lines()
        // The test harness may print the test's name on the same line first.
        .find_map(|line| line.split_once("OUTCOME ").map(|(_, outcome)| outcome))
        .unwrap_or_else(|| panic!("the child printed no outcome: {stdout}"));
    let outcome = match line.split_once(' ') {
        Some(("listed", n)) => Outcome::Listed(n.parse().expect("a count")),
        Some(("failed", error)) => Outcome::Failed(error.to_owned()),
        _ => panic!("unexpected outcome line {line}"),
    };
    let store = stdout
        .lines()
        .find_map(|line| line.split_once("TRUST_STORE ").map(|(_, store)| store))
        .unwrap_or_else(|| panic!("the child did not say whether it read the store: {stdout}"));
    (outcome, store == "read")
}
