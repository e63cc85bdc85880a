//! A seeded `syvault-dev` on a loopback port and a way to run the `sy` binary against it.

#![allow(dead_code, unreachable_pub)] // Not every test binary uses every helper.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use syvault_dev::wire::Access;
use syvault_dev::{
    Admin, DevServer, DevServerBuilder, Faults, RotationPolicy, RunningServer, Stats,
};
use syvault_ureq::proto::record::RecordPayload;
use syvault_ureq::{RecordUid, Uuid};

pub const DB_USER: &str = "orders_app";
pub const DB_PASSWORD: &str = "correct-horse-battery-staple";
pub const API_KEY: &str = "sk_test_4eC39HqLyjWDarjtT1zdp7dc";

/// A running server with folder `Production` (read-write) holding `Database` (`username`,
/// `password`, rotatable) and `Stripe API Key` (`api_key`), folder `Archive` (read-only)
/// holding `Old Key`, and an application to create clients in.
pub struct Vault {
    server: RunningServer,
    pub dir: tempfile::TempDir,
    pub admin: Admin,
    pub application: Uuid,
    pub production: Uuid,
    pub archive: Uuid,
    pub database: RecordUid,
    pub stripe: RecordUid,
}

impl Vault {
    pub fn start() -> Self {
        Self::start_with(false, Duration::from_millis(20))
    }

    pub fn start_tls() -> Self {
        Self::start_with(true, Duration::from_millis(20))
    }

    /// A server whose rotations take several `delay`s.
    pub fn start_with(tls: bool, delay: Duration) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let builder = DevServer::builder()
            .rotation_delay(delay)
            .tls_dir(tls.then(|| dir.path().join("tls")));
        Self::start_from(dir, builder)
    }

    /// A server whose dynamic targets are bound to the PostgreSQL server at `admin_url`.
    pub fn start_with_postgres(admin_url: String) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let builder = DevServer::builder()
            .rotation_delay(Duration::from_millis(20))
            .postgres_admin_url(Some(admin_url));
        Self::start_from(dir, builder)
    }

    fn start_from(dir: tempfile::TempDir, builder: DevServerBuilder) -> Self {
        let server = DevServer::start_blocking(builder).expect("syvault-dev starts");
        let admin = server.admin();
        let application = admin.create_application("Orders");
        let production = admin.create_folder("Production", None).expect("folder");
        let archive = admin.create_folder("Archive", None).expect("folder");
        let mut database = RecordPayload::new("Database");
        database.fields.set("username", DB_USER);
        database.fields.set("password", DB_PASSWORD);
        let database = admin.create_secret(production, &database).expect("secret");
        admin
            .set_rotation_policy(database, RotationPolicy::new("password").length(24))
            .expect("rotation policy");
        let mut stripe = RecordPayload::new("Stripe API Key");
        stripe.fields.set("api_key", API_KEY);
        let stripe = admin.create_secret(production, &stripe).expect("secret");
        let mut old = RecordPayload::new("Old Key");
        old.fields.set("api_key", "sk_test_retired");
        admin.create_secret(archive, &old).expect("secret");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        Self {
            server,
            dir,
            admin,
            application,
            production,
            archive,
            database,
            stripe,
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn stats(&self) -> Stats {
        self.server.stats()
    }

    pub fn faults(&self) -> Faults {
        self.server.faults()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA of a TLS server, written to a file.
    pub fn ca_file(&self) -> PathBuf {
        let path = self.path("ca.pem");
        std::fs::write(&path, self.server.ca_pem().expect("a TLS server")).expect("ca.pem");
        path
    }

    /// A new client granted both folders, and its one-time token.
    pub fn new_token(&self) -> String {
        let client = self
            .admin
            .create_client(self.application, "orders-service")
            .expect("client");
        self.admin
            .grant(client.client_id, self.production, Access::ReadWrite)
            .expect("grant");
        self.admin
            .grant(client.client_id, self.archive, Access::Read)
            .expect("grant");
        client.token.expose().to_owned()
    }

    /// `sy` with a clean environment: no `SY_*` variable of the caller, and a home and
    /// configuration directory inside the vault's temporary directory.
    pub fn sy(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sy"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SY_") {
                command.env_remove(name);
            }
        }
        command
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .current_dir(self.dir.path());
        command
    }

    /// `sy --credentials-file FILE` for a freshly bootstrapped client (through `sy init`).
    pub fn client(&self) -> Client<'_> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let file = self.path(&format!(
            "creds-{}.json",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let token = self.new_token();
        let mut command = self.sy();
        command
            .args(["init", "--server", &self.url(), "--credentials-file"])
            .arg(&file)
            .args(["--token", &token]);
        if let Some(ca) = self.server.ca_pem() {
            let ca_path = self.path("ca.pem");
            std::fs::write(&ca_path, ca).expect("ca.pem");
            command.arg("--ca-file").arg(&ca_path);
        }
        run(&mut command, None).success();
        Client { vault: self, file }
    }
}

/// A bootstrapped client's credentials file.
pub struct Client<'a> {
    pub vault: &'a Vault,
    pub file: PathBuf,
}

impl Client<'_> {
    /// `sy` with this client's credentials (and the server's CA when it serves TLS).
    pub fn sy(&self) -> Command {
        let mut command = self.vault.sy();
        command.env("SY_CREDENTIALS_FILE", &self.file);
        if self.vault.server.ca_pem().is_some() {
            command.env("SY_CA_CERT", self.vault.path("ca.pem"));
        }
        command
    }

    /// Runs `sy ARGS` and checks that it succeeded.
    pub fn ok(&self, args: &[&str]) -> Ran {
        run(self.sy().args(args), None).success()
    }

    /// Runs `sy ARGS`.
    pub fn run(&self, args: &[&str]) -> Ran {
        run(self.sy().args(args), None)
    }

    pub fn credentials_json(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&self.file).expect("credentials")).expect("JSON")
    }
}

/// What a run of `sy` did.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "sy failed: {self:?}");
        self
    }

    /// Checks the exit status and that standard error is one or more `sy: ` lines holding none
    /// of `secrets`.
    #[track_caller]
    pub fn fails(self, code: i32, secrets: &[&str]) -> Self {
        assert_eq!(self.code, Some(code), "{self:?}");
        assert!(self.stdout.is_empty(), "nothing on stdout: {self:?}");
        assert!(!self.stderr.is_empty(), "{self:?}");
        for line in self.stderr.lines() {
            assert!(line.starts_with("sy: "), "{self:?}");
        }
        assert_clean(&self.stderr, secrets);
        self
    }
}

/// Checks that no secret appears in `text`.
#[track_caller]
pub fn assert_clean(text: &str, secrets: &[&str]) {
    for secret in [DB_PASSWORD, API_KEY].iter().chain(secrets) {
        assert!(!text.contains(secret), "a secret leaked: {text}");
    }
}

/// Runs a command with `stdin` (or none) and collects what it printed.
pub fn run(command: &mut Command, stdin: Option<&str>) -> Ran {
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("sy starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("stdin written");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("sy ends");
    Ran {
        code: status.code(),
        stdout: String::from_utf8(stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(stderr).expect("UTF-8 stderr"),
    }
}

/// The file's permission bits.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}
