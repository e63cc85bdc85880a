//! `sy doctor`: checks the setup one step at a time, each a line with what to do about it.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::cli::{CONNECT_TIMEOUT, DEFAULT_TIMEOUT, DoctorArgs, Global, TextFormat, env};
use crate::credentials::{self, Source, Tls};
use crate::failure::Failure;
use crate::output;
use crate::session::Session;

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "fail",
            Self::Skip => "skip",
        }
    }
}

/// One line of the report.
struct Check {
    name: &'static str,
    status: Status,
    message: String,
    fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, message: impl Into<String>) -> Self {
        Self {
            name,
            status,
            message: message.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// A certificate expiring within this is a warning.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);
/// A clock off by more than this is a warning; by more than [`SKEW_FAIL`], a failure (signed
/// tokens are then refused or expire early).
const SKEW_WARN: Duration = Duration::from_secs(5);
const SKEW_FAIL: Duration = Duration::from_secs(60);

pub(crate) fn run(global: &Global, args: &DoctorArgs) -> Result<(), Failure> {
    let mut checks = Vec::new();
    let resolved = credentials_check(global, &mut checks);
    if let Some((server, tls)) = resolved {
        let server = global.server.clone().unwrap_or(server);
        let reached = server_checks(&server, &tls, &mut checks);
        if reached {
            token_check(global, &mut checks);
        } else {
            checks.push(Check::new(
                "token",
                Status::Skip,
                "not checked: the server cannot be reached",
            ));
        }
    }
    checks.push(agent_check(args));
    report(&checks, args.format == TextFormat::Json)?;
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    if failed == 0 {
        return Ok(());
    }
    let plural = if failed == 1 { "" } else { "s" };
    Err(Failure::operation(format!("{failed} check{plural} failed")).category("doctor"))
}

fn report(checks: &[Check], json: bool) -> Result<(), Failure> {
    if json {
        return output::print_json(&json!({
            "ok": checks.iter().all(|c| c.status != Status::Fail),
            "checks": checks
                .iter()
                .map(|c| json!({
                    "check": c.name,
                    "status": c.status.name(),
                    "message": c.message,
                    "fix": c.fix,
                }))
                .collect::<Vec<Value>>(),
        }));
    }
    let mut text = String::new();
    for check in checks {
        let _ = writeln!(
            text,
            "{:<5} {:<12} {}",
            check.status.name(),
            check.name,
            output::escape(&check.message)
        );
        if let Some(fix) = &check.fix {
            let _ = writeln!(text, "{:<18} fix: {}", "", output::escape(fix));
        }
    }
    output::print(&text)
}

/// Where the credentials come from and whether their file is private. Returns the server and
/// TLS settings when there are credentials to go on with.
fn credentials_check(global: &Global, checks: &mut Vec<Check>) -> Option<(String, Tls)> {
    let resolved = match credentials::resolve(global) {
        Ok(resolved) => resolved,
        Err(failure) => {
            let message = failure.into_lines().join("; ");
            checks.push(Check::new("credentials", Status::Fail, message).fix(
                "run `sy init --token - --server URL < token.txt`, pass --credentials-file, \
                     or set SY_SERVER, SY_CLIENT_ID and SY_CLIENT_SECRET",
            ));
            return None;
        }
    };
    let check = match &resolved.source {
        Source::Environment => Check::new(
            "credentials",
            Status::Ok,
            "from SY_SERVER, SY_CLIENT_ID and SY_CLIENT_SECRET",
        ),
        Source::File(stored) => file_check(&stored.path, &resolved.source.to_string()),
    };
    checks.push(check);
    Some((resolved.credentials.server, resolved.tls))
}

/// A credentials file's owner and mode.
#[cfg(unix)]
fn file_check(path: &Path, source: &str) -> Check {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(metadata) = std::fs::metadata(path) else {
        return Check::new(
            "credentials",
            Status::Fail,
            format!("{source}: cannot be read"),
        );
    };
    let mode = metadata.mode() & 0o777;
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me {
        return Check::new(
            "credentials",
            Status::Warn,
            format!(
                "{source}: belongs to uid {}, not to you (uid {me})",
                metadata.uid()
            ),
        )
        .fix(format!(
            "make sure that this is intended, or `chown {me} {}`",
            path.display()
        ));
    }
    if mode & 0o077 != 0 {
        return Check::new(
            "credentials",
            Status::Fail,
            format!("{source}: mode {mode:o}, so other users can read or change the client secret"),
        )
        .fix(format!("chmod 600 {}", path.display()));
    }
    Check::new(
        "credentials",
        Status::Ok,
        format!("{source}: yours, mode {mode:o}"),
    )
}

#[cfg(not(unix))]
fn file_check(_path: &Path, source: &str) -> Check {
    Check::new("credentials", Status::Ok, source.to_owned())
}

/// The server's URL, a TCP connection to it, its TLS certificate and its clock. Returns whether
/// it was reached.
fn server_checks(server: &str, tls: &Tls, checks: &mut Vec<Check>) -> bool {
    let Some((https, host, port)) = parse_url(server) else {
        checks.push(
            Check::new(
                "server",
                Status::Fail,
                format!("`{server}` is not an http:// or https:// URL"),
            )
            .fix("pass --server https://HOST, or run `sy init` again"),
        );
        return false;
    };
    let started = Instant::now();
    let stream = match connect(&host, port) {
        Ok(stream) => stream,
        Err(reason) => {
            checks.push(
                Check::new("server", Status::Fail, format!("{server}: {reason}"))
                    .fix("check the URL, that the server runs, and that no firewall is between"),
            );
            return false;
        }
    };
    checks.push(Check::new(
        "server",
        Status::Ok,
        format!(
            "{server} reachable ({} ms to connect)",
            started.elapsed().as_millis()
        ),
    ));
    let head = if https {
        match tls_check(stream, &host, tls, checks) {
            Handshake::Done(head) => head,
            Handshake::Failed => return true,
        }
    } else {
        checks.push(Check::new(
            "tls",
            Status::Skip,
            "plain http (allowed to loopback addresses only)",
        ));
        let mut stream = stream;
        request_head(&mut stream, &host)
    };
    checks.push(clock_check(head.as_deref()));
    true
}

/// `(https, host, port)` of a server URL.
fn parse_url(server: &str) -> Option<(bool, String, u16)> {
    let uri: syvault_ureq::http::Uri = server.trim().parse().ok()?;
    let https = match uri.scheme_str()? {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    Some((https, host.to_owned(), port))
}

fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|_| format!("the host name `{host}` does not resolve"))?
        .collect();
    let mut last = format!("`{host}` resolves to no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                let _ = stream.set_read_timeout(Some(CONNECT_TIMEOUT));
                let _ = stream.set_write_timeout(Some(CONNECT_TIMEOUT));
                return Ok(stream);
            }
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!("connection to {addr} refused");
            }
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {
                last = format!(
                    "no connection to {addr} within {} s",
                    CONNECT_TIMEOUT.as_secs()
                );
            }
            Err(error) => last = format!("cannot connect to {addr}: {error}"),
        }
    }
    Err(last)
}

/// rustls on *ring*, the project's one crypto provider (see the clients' TLS modules for why
/// its deprecation is silenced).
#[allow(deprecated)]
fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// How the TLS check went.
enum Handshake {
    /// It failed (and said so in the checks).
    Failed,
    /// It succeeded; the head of an answer to a request over the connection, if one came.
    Done(Option<String>),
}

/// The TLS handshake against the trusted CAs, and the certificate's expiry.
fn tls_check(stream: TcpStream, host: &str, tls: &Tls, checks: &mut Vec<Check>) -> Handshake {
    tls_handshake(stream, host, tls, checks).unwrap_or(Handshake::Failed)
}

fn tls_handshake(
    stream: TcpStream,
    host: &str,
    tls: &Tls,
    checks: &mut Vec<Check>,
) -> Option<Handshake> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, ServerName};

    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(ca) = &tls.ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
            .map(|iter| iter.filter_map(Result::ok).collect())
            .unwrap_or_default();
        if certs.is_empty() {
            checks.push(
                Check::new(
                    "tls",
                    Status::Fail,
                    format!("the CA file {} holds no certificate", ca.display()),
                )
                .fix("point --ca-file (or the profile's CA) at the server's CA certificate, PEM"),
            );
            return Some(Handshake::Failed);
        }
        for cert in certs {
            let _ = roots.add(cert);
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).ok()?;
    let connection = rustls::ClientConnection::new(Arc::new(config), name).ok()?;
    let mut tls_stream = rustls::StreamOwned::new(connection, stream);
    // Completing the handshake verifies the chain and the name.
    while tls_stream.conn.is_handshaking() {
        if let Err(error) = tls_stream.conn.complete_io(&mut tls_stream.sock) {
            let message = error.to_string();
            let fix = if message.contains("UnknownIssuer") {
                "the certificate is not signed by a CA this machine trusts: pass the CA with \
                 --ca-file (or SY_CA_CERT), or keep it in the profile with `sy init --ca-file`"
            } else if message.contains("NotValidForName") {
                "the certificate is for another name: use the host name it was issued for"
            } else if message.contains("Expired") {
                "the server's certificate has expired: renew it"
            } else {
                "check that the URL is the vault's and that it serves TLS"
            };
            checks.push(Check::new("tls", Status::Fail, message).fix(fix));
            return Some(Handshake::Failed);
        }
    }
    checks.push(expiry_check(tls_stream.conn.peer_certificates()));
    Some(Handshake::Done(request_head(&mut tls_stream, host)))
}

/// The leaf certificate's expiry.
fn expiry_check(chain: Option<&[rustls::pki_types::CertificateDer<'_>]>) -> Check {
    use x509_cert::der::Decode as _;
    let leaf = chain
        .and_then(|chain| chain.first())
        .and_then(|der| x509_cert::Certificate::from_der(der).ok());
    let Some(leaf) = leaf else {
        return Check::new(
            "tls",
            Status::Warn,
            "trusted, but the certificate could not be read",
        );
    };
    let not_after = leaf.tbs_certificate().validity().not_after.to_system_time();
    let left = not_after
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let until = httpdate::fmt_http_date(not_after);
    if left.is_zero() {
        Check::new(
            "tls",
            Status::Fail,
            format!("the certificate expired ({until})"),
        )
        .fix("renew the server's certificate")
    } else if left < EXPIRY_WARNING {
        Check::new(
            "tls",
            Status::Warn,
            format!(
                "trusted, but expires in {} days ({until})",
                left.as_secs() / 86_400
            ),
        )
        .fix("renew the server's certificate soon")
    } else {
        Check::new(
            "tls",
            Status::Ok,
            format!(
                "trusted chain; valid for {} more days ({until})",
                left.as_secs() / 86_400
            ),
        )
    }
}

/// Sends `HEAD /` and returns the answer's head, if one came.
fn request_head(stream: &mut (impl std::io::Read + std::io::Write), host: &str) -> Option<String> {
    let request = format!(
        "HEAD / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: sy-doctor\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    stream.flush().ok()?;
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while head.len() < 16 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8(head).ok()
}

/// This machine's clock against the server's `Date` header.
fn clock_check(head: Option<&str>) -> Check {
    let date = head.and_then(|head| {
        head.lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("date")
                    .then(|| value.trim().to_owned())
            })
            .and_then(|value| httpdate::parse_http_date(&value).ok())
    });
    let Some(server) = date else {
        return Check::new(
            "clock",
            Status::Skip,
            "the server sent no Date header to compare with",
        );
    };
    let now = SystemTime::now();
    let (skew, direction) = match now.duration_since(server) {
        Ok(ahead) => (ahead, "ahead of"),
        Err(behind) => (behind.duration(), "behind"),
    };
    // The header has whole seconds.
    let seconds = skew.as_secs();
    let message = format!("{seconds} s {direction} the server's clock");
    if skew > SKEW_FAIL {
        Check::new("clock", Status::Fail, message).fix(
            "set the clock right (enable NTP, such as `timedatectl set-ntp true`): signed tokens \
             are refused when it is off",
        )
    } else if skew > SKEW_WARN {
        Check::new("clock", Status::Warn, message).fix("enable NTP time synchronisation")
    } else {
        Check::new(
            "clock",
            Status::Ok,
            format!("in step with the server ({message})"),
        )
    }
}

/// A signed token, accepted by the server: the folders are listed.
fn token_check(global: &Global, checks: &mut Vec<Check>) {
    let session = match global
        .timeout(DEFAULT_TIMEOUT)
        .and_then(|timeout| Session::open(global, timeout))
    {
        Ok(session) => session,
        Err(failure) => {
            checks.push(Check::new(
                "token",
                Status::Fail,
                failure.into_lines().join("; "),
            ));
            return;
        }
    };
    match session.secrets().folders() {
        Ok(folders) => {
            let plural = if folders.len() == 1 { "" } else { "s" };
            checks.push(Check::new(
                "token",
                Status::Ok,
                format!(
                    "accepted for client {}; {} folder{plural} granted",
                    session.client().client_id(),
                    folders.len()
                ),
            ));
        }
        Err(error) => {
            let auth = error.is_auth();
            let message = Failure::from(error).into_lines().join("; ");
            let check = Check::new("token", Status::Fail, message);
            checks.push(if auth {
                check.fix(
                    "the client may have been removed or its key replaced: ask for a new \
                     one-time token and run `sy init --force`",
                )
            } else {
                check
            });
        }
    }
}

/// The agent's health, when one is configured.
fn agent_check(args: &DoctorArgs) -> Check {
    let Some(path) = args
        .agent
        .clone()
        .or_else(|| env(crate::agent::ENV_SOCKET).map(PathBuf::from))
    else {
        return Check::new(
            "agent",
            Status::Skip,
            "none configured (SY_AGENT_SOCKET, --agent)",
        );
    };
    agent_health(&path)
}

#[cfg(unix)]
fn agent_health(path: &Path) -> Check {
    use std::os::unix::net::UnixStream;
    let fix = "start it with `sy agent`, or unset SY_AGENT_SOCKET";
    let mut stream = match UnixStream::connect(path) {
        Ok(stream) => stream,
        Err(error) => {
            return Check::new(
                "agent",
                Status::Fail,
                format!("nothing answers at {}: {error}", path.display()),
            )
            .fix(fix);
        }
    };
    let _ = stream.set_read_timeout(Some(CONNECT_TIMEOUT));
    let _ = stream.set_write_timeout(Some(CONNECT_TIMEOUT));
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n",
        crate::agent::api::HEALTH
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return Check::new(
            "agent",
            Status::Fail,
            format!("the agent at {} closed the connection", path.display()),
        )
        .fix(fix);
    }
    let mut answer = Vec::new();
    let _ = stream.take(64 * 1024).read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok());
    let body: Option<Value> = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok());
    let member = |path: &[&str]| {
        let mut value = body.as_ref()?;
        for name in path {
            value = value.get(name)?;
        }
        value.as_str().map(output::escape)
    };
    match status {
        Some(200) => {
            let serving = match (member(&["client_id"]), member(&["server"])) {
                (Some(client), Some(server)) => format!(": client {client} of {server}"),
                _ => String::new(),
            };
            Check::new(
                "agent",
                Status::Ok,
                format!("healthy at {}{serving}", path.display()),
            )
        }
        Some(code) => {
            let said = member(&["error", "message"])
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            let check = Check::new(
                "agent",
                Status::Fail,
                format!(
                    "the agent at {} answered HTTP {code} to its health check{said}",
                    path.display()
                ),
            );
            if code == 403 {
                check.fix(
                    "the agent serves its own user and those given with --allow-uid: run as \
                     that user, or restart the agent with --allow-uid for yours",
                )
            } else {
                check.fix("see the agent's log; restart it with `sy agent`")
            }
        }
        None => Check::new(
            "agent",
            Status::Fail,
            format!(
                "what listens at {} did not answer as an agent",
                path.display()
            ),
        )
        .fix(fix),
    }
}

#[cfg(not(unix))]
fn agent_health(path: &Path) -> Check {
    Check::new(
        "agent",
        Status::Skip,
        format!("{}: agents listen on Unix sockets only", path.display()),
    )
}
