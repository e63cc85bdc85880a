//! A small HTTP `CONNECT` proxy on a free loopback port: it counts the tunnels it opens,
//! records the `Proxy-Authorization` each one came with, and refuses with 407 when it
//! expects credentials and gets others. It tunnels to loopback addresses only.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

/// A running proxy; it stops accepting when dropped.
///
/// ```no_run
/// use syvault_tests::proxy::ConnectProxy;
///
/// let proxy = ConnectProxy::start(Some(("user", "pass")));
/// println!("HTTPS_PROXY={}", proxy.url_with_credentials("user", "pass"));
/// assert_eq!(proxy.tunnels(), 0);
/// ```
#[derive(Debug)]
pub struct ConnectProxy {
    port: u16,
    log: Arc<Mutex<Log>>,
    listener: Option<TcpListener>,
}

#[derive(Debug, Default)]
struct Log {
    tunnels: Vec<String>,
    refused: usize,
    authorizations: Vec<Option<String>>,
}

impl ConnectProxy {
    /// Starts the proxy. With `credentials`, only `CONNECT`s carrying them as basic
    /// `Proxy-Authorization` are tunnelled.
    pub fn start(credentials: Option<(&str, &str)>) -> Self {
        use base64::Engine as _;

        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        let port = listener.local_addr().expect("proxy address").port();
        let expected = credentials.map(|(user, password)| {
            let pair = format!("{user}:{password}");
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let log = Arc::new(Mutex::new(Log::default()));
        let accepting = listener.try_clone().expect("proxy listener");
        let shared = Arc::clone(&log);
        thread::spawn(move || {
            for stream in accepting.incoming() {
                let Ok(stream) = stream else { break };
                let (log, expected) = (Arc::clone(&shared), expected.clone());
                thread::spawn(move || {
                    let _ = serve(stream, &log, expected.as_deref());
                });
            }
        });
        Self {
            port,
            log,
            listener: Some(listener),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://USER:PASSWORD@127.0.0.1:PORT`, user and password percent-encoded.
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        format!(
            "http://{}:{}@127.0.0.1:{}",
            percent_encode(user),
            percent_encode(password),
            self.port
        )
    }

    /// How many tunnels the proxy opened.
    pub fn tunnels(&self) -> usize {
        self.lock().tunnels.len()
    }

    /// The `host:port` of each tunnel, in order.
    pub fn targets(&self) -> Vec<String> {
        self.lock().tunnels.clone()
    }

    /// How many `CONNECT`s were refused for their credentials.
    pub fn refused(&self) -> usize {
        self.lock().refused
    }

    /// The `Proxy-Authorization` of every `CONNECT`, in order.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.lock().authorizations.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        // Wake the accept loop so it ends: one last connection to a closing listener.
        if let Some(listener) = self.listener.take() {
            drop(listener);
            let _ = TcpStream::connect(("127.0.0.1", self.port));
        }
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn serve(mut client: TcpStream, log: &Mutex<Log>, expected: Option<&str>) -> io::Result<()> {
    let head = read_head(&mut client)?;
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default();
    let mut parts = request.split(' ');
    let (method, target) = (parts.next(), parts.next().unwrap_or_default().to_owned());
    let authorization = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    });
    let lock = || log.lock().unwrap_or_else(PoisonError::into_inner);
    lock().authorizations.push(authorization.clone());
    if method != Some("CONNECT") {
        return client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
    }
    if expected.is_some() && authorization.as_deref() != expected {
        lock().refused += 1;
        return client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              proxy-authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\n\r\n",
        );
    }
    let loopback = ["127.0.0.1:", "localhost:", "[::1]:"]
        .iter()
        .any(|prefix| target.starts_with(prefix));
    let Some(Ok(upstream)) = loopback.then(|| TcpStream::connect(&target)) else {
        return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
    };
    lock().tunnels.push(target);
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let (mut client_read, mut upstream_write) = (client.try_clone()?, upstream.try_clone()?);
    let forward = thread::spawn(move || {
        let _ = io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let _ = io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = forward.join();
    Ok(())
}

/// Reads the request head byte by byte, so that nothing of the tunnelled stream is consumed.
fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 || head.len() > 16 * 1024 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}
