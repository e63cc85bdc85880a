//! A raw TCP stand-in for a server, to watch connections themselves: how many the client
//! opens, and when it closes them.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::Duration;

use syvault_proto::keys::ClientKey;
use syvault_proto::model::Credentials;
use syvault_proto::rand_core::UnwrapErr;
use uuid::Uuid;

/// How long the stand-in waits for anything before giving up on a connection.
const IDLE_LIMIT: Duration = Duration::from_secs(10);

/// The operating system's random number generator, as the core wants it.
///
/// ```
/// let key = syvault_proto::keys::ClientKey::generate(&mut syvault_tests::fake::rng());
/// # let _ = key;
/// ```
pub fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

/// A keep-alive HTTP/1.1 listener on a free loopback port that answers every request with one
/// canned answer (`403 forbidden` unless [`FakeServer::answering`] says otherwise) and reports
/// each connection the client closes.
///
/// ```no_run
/// let server = syvault_tests::fake::FakeServer::start();
/// assert_eq!(server.connections(), 0);
/// ```
#[derive(Debug)]
pub struct FakeServer {
    url: String,
    accepted: Arc<AtomicUsize>,
    closed: Receiver<()>,
    stop: Arc<AtomicBool>,
}

impl FakeServer {
    /// Starts listening, forbidding everything.
    pub fn start() -> Self {
        let body = r#"{"error":{"code":"forbidden","message":"the stand-in forbids everything"}}"#;
        Self::answering(format!(
            "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ))
    }

    /// Starts listening, answering every request with `answer`, a whole HTTP/1.1 response.
    ///
    /// ```no_run
    /// let redirect = syvault_tests::fake::FakeServer::answering(
    ///     "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/\r\ncontent-length: 0\r\n\r\n".into(),
    /// );
    /// # let _ = redirect;
    /// ```
    pub fn answering(answer: String) -> Self {
        let answer: Arc<str> = answer.into();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (closed_tx, closed) = channel();
        let (count, halt) = (Arc::clone(&accepted), Arc::clone(&stop));
        thread::spawn(move || accept_loop(&listener, &answer, &count, &halt, &closed_tx));
        Self {
            url,
            accepted,
            closed,
            stop,
        }
    }

    /// Credentials for this server (a fresh key; the server never checks it), written as JSON
    /// into `dir`.
    pub fn credentials_file(&self, dir: &Path) -> PathBuf {
        let credentials = Credentials::new(
            self.url.clone(),
            Uuid::from_u128(0x5b1e_3a0c_7d4f_4c2a_9e61_2f8b_9d0c_4e17),
            ClientKey::generate(&mut rng()).to_client_secret(),
        );
        let path = dir.join("fake-credentials.json");
        credentials.write_to(&path).expect("write");
        path
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Whether the client closed a connection within `wait`.
    pub fn closed_within(&self, wait: Duration) -> bool {
        self.closed.recv_timeout(wait).is_ok()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn accept_loop(
    listener: &TcpListener,
    answer: &Arc<str>,
    accepted: &AtomicUsize,
    stop: &AtomicBool,
    closed: &Sender<()>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (closed, answer) = (closed.clone(), Arc::clone(answer));
                thread::spawn(move || {
                    if serve(stream, &answer) {
                        let _ = closed.send(());
                    }
                });
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(10)),
            Err(_) => return,
        }
    }
}

/// Answers requests on one connection until the client closes it (true) or goes quiet for
/// [`IDLE_LIMIT`] (false).
fn serve(stream: TcpStream, answer: &str) -> bool {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(IDLE_LIMIT)).is_err()
    {
        return false;
    }
    let Ok(mut writer) = stream.try_clone() else {
        return false;
    };
    let mut reader = BufReader::new(stream);
    loop {
        match read_request(&mut reader) {
            Ok(true) => {
                if writer.write_all(answer.as_bytes()).is_err() {
                    return false;
                }
            }
            Ok(false) => return true,
            Err(_) => return false,
        }
    }
}

/// Reads one request; `Ok(false)` at a clean end of the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<bool> {
    let mut content_length = 0;
    let mut first = true;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return if first {
                Ok(false)
            } else {
                Err(ErrorKind::UnexpectedEof.into())
            };
        }
        first = false;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().map_err(|_| ErrorKind::InvalidData)?;
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    Ok(true)
}
