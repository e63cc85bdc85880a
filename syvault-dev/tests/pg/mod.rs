//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory as the
//! unprivileged `postgres` user (when running as root), listening on a free loopback port with
//! its unix socket in that directory, stopped when the guard drops (also on panic).
//!
//! When no cluster can be started, tests skip with a message on stderr, except under
//! `CI=true`, where that is a failure.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tokio_postgres::{Client, NoTls};

/// The superuser's password in every test cluster.
const ADMIN_PASSWORD: &str = "test-admin-pw";

/// A running cluster; dropping it stops the server and deletes its files.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
}

impl Cluster {
    /// Starts a cluster, or says why not: a skip locally, a panic under `CI=true`.
    pub fn require(test: &str) -> Option<Self> {
        Self::require_with(test, &[])
    }

    /// [`Cluster::require`] with server settings (`name=value`) added to the command line.
    pub fn require_with(test: &str, settings: &[&str]) -> Option<Self> {
        match Self::start(settings) {
            Ok(cluster) => Some(cluster),
            Err(reason) if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
                panic!("{test}: PostgreSQL is required under CI=true but cannot start: {reason}")
            }
            Err(reason) => {
                eprintln!("SKIPPED {test}: cannot start PostgreSQL: {reason}");
                None
            }
        }
    }

    fn start(settings: &[&str]) -> Result<Self, String> {
        let bin = find_bin()?;
        let root = run_plain("id", &["-u"])
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
        let dir = tempfile::Builder::new()
            .prefix("syvault-pg-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        if root {
            run_plain("chown", &["postgres:", path_str(dir.path())?])?;
        }
        let port = free_port()?;
        let mut cluster = Self {
            dir,
            bin,
            as_postgres: root,
            port,
        };
        let pwfile = cluster.dir.path().join("pw");
        std::fs::write(&pwfile, ADMIN_PASSWORD).map_err(|e| format!("password file: {e}"))?;
        if root {
            run_plain("chown", &["postgres:", path_str(&pwfile)?])?;
        }
        let data = cluster.data();
        cluster.pg(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-U",
                "postgres",
                &format!("--pwfile={}", path_str(&pwfile)?),
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        )?;
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            path_str(cluster.dir.path())?
        );
        for setting in settings {
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let log = cluster.dir.path().join("log");
        let started = cluster.pg(
            "pg_ctl",
            &[
                "-D",
                path_str(&data)?,
                "-o",
                &options,
                "-l",
                path_str(&log)?,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        if let Err(reason) = started {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            // Nothing to stop; the temporary directory is removed on drop.
            cluster.port = 0;
            return Err(format!("{reason}\n{log}"));
        }
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg(&self, program: &str, args: &[&str]) -> Result<Output, String> {
        let program = self.bin.join(program);
        let program = path_str(&program)?;
        if self.as_postgres {
            let mut all = vec!["-u", "postgres", "--", program];
            all.extend_from_slice(args);
            run_plain("runuser", &all)
        } else {
            run_plain(program, args)
        }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The superuser's connection URL, for the dev server.
    pub fn admin_url(&self) -> String {
        self.url("postgres", ADMIN_PASSWORD, "postgres")
    }

    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!(
            "postgresql://{user}:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// A superuser session on `database`.
    /// Creates database `name` and runs `setup` in it as the superuser.
    pub async fn create_database(&self, name: &str, setup: &str) {
        self.admin("postgres")
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        self.admin(name).await.batch_execute(setup).await.unwrap();
    }

    /// The leased roles (`vf_tmp_…`) that exist now, sorted.
    pub async fn leased_roles(&self) -> Vec<String> {
        self.admin("postgres")
            .await
            .query(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE 'vf_tmp_%' ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    pub async fn admin(&self, database: &str) -> Client {
        connect(&self.url("postgres", ADMIN_PASSWORD, database))
            .await
            .expect("the superuser connects")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.port == 0 {
            return;
        }
        if let Ok(data) = path_str(&self.data()).map(str::to_owned) {
            let _ = self.pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
    }
}

/// Connects with a URL, driving the connection on a task.
pub async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn find_bin() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Ok(std::fs::canonicalize(dir.join("initdb"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .unwrap_or(dir));
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "initdb is not on PATH and /usr/lib/postgresql does not exist".to_owned())?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| "no initdb found under /usr/lib/postgresql".to_owned())
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("free port: {e}"))
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| "a temporary path is not UTF-8".to_owned())
}

fn run_plain(program: &str, args: &[&str]) -> Result<Output, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A dev server bound to `cluster`, rotating after 50 ms.
pub async fn server_on(cluster: &Cluster) -> syvault_dev::DevServer {
    syvault_dev::DevServer::builder()
        .rotation_delay(std::time::Duration::from_millis(50))
        .postgres_admin_url(Some(cluster.admin_url()))
        .start()
        .await
        .unwrap()
}
