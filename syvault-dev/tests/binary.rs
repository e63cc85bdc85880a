//! The `syvault-dev` binary: `--help`, and `serve --demo` used with the credentials it writes.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Http, now_secs};
use syvault_dev::demo::read_credentials;
use syvault_dev::wire::{FolderList, SecretList, paths};
use syvault_proto::jwt::{self, Claims, canonical_audience};
use syvault_proto::keys::ClientKey;
use syvault_proto::model::Credentials;
use syvault_proto::{SecretString, folder_key, record};

const BIN: &str = env!("CARGO_BIN_EXE_syvault-dev");

/// Kills the child when the test ends, even on a failed assertion.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn help_documents_every_flag() {
    let output = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--addr",
        "--data",
        "--demo",
        "--credentials",
        "--tls-dir",
        "--require-client-cert",
        "--rotation-delay-ms",
        "--token-lifetime-secs",
        "--body-timeout-ms",
        "--max-connections",
        "--sync-retention-secs",
        "--sync-log-capacity",
        "--no-incremental-listings",
        "--postgres-admin-url",
        "--postgres-timeout-ms",
        "--max-leases-per-client",
        "--orphan-sweep-interval-secs",
        "--cors-origin",
        "--demo-tokens",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn client_certificates_need_a_tls_directory() {
    let output = Command::new(BIN)
        .args(["serve", "--require-client-cert"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("--tls-dir"), "{error}");
}

#[tokio::test]
async fn demo_credentials_work_against_the_running_binary() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ["--sync-retention-secs", "3600", "--sync-log-capacity", "10"];
    let (_running, creds) = start_demo(dir.path(), &limits).await;
    let token = read_demo_data(&creds).await;
    // Listings are incremental: the demo vault is unchanged since the listing.
    let since = token.expect("a sync token");
    let path = format!("{}?since={since}", paths::secrets());
    let delta: SecretList = get_as_demo(&creds, &path).await;
    assert!(delta.delta && delta.data.is_empty() && delta.deleted.is_empty());
    assert_eq!(delta.sync_token.as_deref(), Some(since.as_str()));
}

#[tokio::test]
async fn no_incremental_listings_makes_a_server_that_ignores_since() {
    let dir = tempfile::tempdir().unwrap();
    let (_running, creds) = start_demo(dir.path(), &["--no-incremental-listings"]).await;
    assert_eq!(read_demo_data(&creds).await, None);
    let path = format!("{}?since=anything", paths::secrets());
    let listing: SecretList = get_as_demo(&creds, &path).await;
    assert!(!listing.delta && listing.sync_token.is_none());
    assert_eq!(listing.data.len(), 2);
}

/// A bearer token of the demo client, valid for ten minutes, and its key.
fn demo_token(creds: &Credentials) -> (ClientKey, SecretString) {
    let key = ClientKey::from_client_secret(creds.client_secret.expose()).unwrap();
    let now = now_secs();
    let claims = Claims::new(
        creds.client_id,
        canonical_audience(&creds.server).unwrap(),
        now,
        now + 600,
    );
    let token = jwt::sign(&key, &claims);
    (key, token)
}

/// A GET as the demo client, parsed.
async fn get_as_demo<T: serde::de::DeserializeOwned>(creds: &Credentials, path: &str) -> T {
    let (_, token) = demo_token(creds);
    Http::new(&creds.server, None)
        .get(path, token.expose())
        .await
        .expect(200)
        .parse()
}

/// Runs `serve --demo` with `extra` arguments on a free port and returns the credentials it
/// wrote.
async fn start_demo(dir: &std::path::Path, extra: &[&str]) -> (Running, Credentials) {
    let credentials_path = dir.join("credentials.json");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--credentials")
        .arg(&credentials_path)
        .arg("--data")
        .arg(dir.join("state.json"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);

    // The token line comes after the credentials file is written; the UIDs, the folder and the
    // export line follow it.
    let lines = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.starts_with("export SY_CREDENTIALS_FILE=");
            seen.push(line);
            if done || Instant::now() > deadline {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    assert!(
        lines[0].contains(&format!("http://127.0.0.1:{port}")),
        "{lines:?}"
    );
    let token = lines.iter().position(|l| l.contains("vft_"));
    assert!(token.is_some(), "{lines:?}");
    let after = &lines[token.unwrap() + 1..];
    for prefix in [
        "Folder Production: ",
        "Secret Production/Database: ",
        "Secret Production/Stripe API Key: ",
    ] {
        let line = after.iter().find(|l| l.starts_with(prefix));
        let value = line.map(|l| &l[prefix.len()..]);
        assert!(
            value.is_some_and(|v| v.parse::<uuid::Uuid>().is_ok()
                || v.parse::<syvault_proto::RecordUid>().is_ok()),
            "{prefix}: {lines:?}"
        );
    }
    // Without PostgreSQL there is no dynamic target to name.
    assert!(
        !lines.iter().any(|l| l.starts_with("Dynamic target")),
        "{lines:?}"
    );
    let export = after.last().unwrap();
    assert_eq!(
        std::path::Path::new(&export["export SY_CREDENTIALS_FILE=".len()..]),
        std::path::absolute(&credentials_path).unwrap(),
        "{lines:?}"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&credentials_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&credentials_path).unwrap()).unwrap();
    let mut members: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    members.sort();
    assert_eq!(members, ["client_id", "client_secret", "server"]);
    let creds = read_credentials(&credentials_path).unwrap();
    (running, creds)
}

/// Reads and decrypts the demo folder and secrets with the demo client's credentials, and
/// returns the listing's sync token.
async fn read_demo_data(creds: &Credentials) -> Option<String> {
    let (key, token) = demo_token(creds);
    let http = Http::new(&creds.server, None);
    let folders: FolderList = http
        .get(paths::folders(), token.expose())
        .await
        .expect(200)
        .parse();
    assert_eq!(folders.data.len(), 1);
    let folder = &folders.data[0];
    let folder_key = folder_key::unwrap(
        &key,
        &folder.folder_id,
        &creds.client_id,
        folder.encrypted_key.as_slice(),
    )
    .unwrap();
    assert_eq!(
        folder_key::open_name(&folder_key, folder.encrypted_name.as_slice()).unwrap(),
        "Production"
    );

    let secrets: SecretList = http
        .get(paths::secrets(), token.expose())
        .await
        .expect(200)
        .parse();
    let mut titles: Vec<String> = secrets
        .data
        .iter()
        .map(|rec| {
            let payload = record::open(
                &rec.uid,
                &folder_key,
                rec.encrypted_dek.as_slice(),
                rec.encrypted_data.as_slice(),
            )
            .unwrap();
            if payload.title == "Database" {
                let names: Vec<_> = payload.fields.names().collect();
                assert_eq!(names, ["host", "port", "database", "username", "password"]);
            }
            payload.title
        })
        .collect();
    titles.sort();
    assert_eq!(titles, ["Database", "Stripe API Key"]);
    secrets.sync_token
}
