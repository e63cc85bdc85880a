//! Asking the agent: one HTTP/1.1 request per connection over the standard library's Unix
//! socket. Nothing here builds a client, reads credentials or a trust store, or loads a key.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use syvault_ureq::Selected;
use zeroize::Zeroizing;

use super::api::{self, ErrorBody, Outcome, ReadRequest, ResolveRequest, Resolved, Value};
use crate::failure::Failure;

/// The largest answer read: a resolve of the most references with long values.
const MAX_ANSWER: usize = 64 * 1024 * 1024;
/// The room of the first read: an answer to one read fits. Each further read gets twice the
/// room, so that zeroing the room costs about what the answer does (a fixed 8 KiB per read
/// was most of the fast path's own work, and four fresh heap pages).
const FIRST_READ: usize = 1024;
/// The most response headers read.
const MAX_HEADERS: usize = 32;

/// The agent listening on a socket, asked within the command's time limit.
#[derive(Debug)]
pub(crate) struct Agent {
    socket: PathBuf,
    /// The command's time limit (`--timeout`), for messages.
    timeout: Duration,
    /// When the answer must have come: the agent's own work against the vault is bounded by
    /// its own limit, this keeps a slow or wedged agent from holding the command longer.
    deadline: Instant,
}

impl Agent {
    pub(crate) fn new(socket: &Path, timeout: Duration) -> Self {
        Self {
            socket: socket.to_owned(),
            timeout,
            deadline: Instant::now() + timeout,
        }
    }

    /// The value `reference` selects, or the failure `sy` reports without an agent.
    pub(crate) fn read(&self, reference: &str) -> Result<Selected, Failure> {
        let request = ReadRequest {
            reference: reference.to_owned(),
        };
        let value: Value = self.post(api::READ, &request)?;
        Ok(value.into())
    }

    /// One outcome per reference, in order. A failure of the whole batch (the vault cannot be
    /// reached for the listing) is the outer error, as without an agent.
    pub(crate) fn resolve_all(
        &self,
        references: &[&str],
    ) -> Result<Vec<Result<Selected, Failure>>, Failure> {
        let request = ResolveRequest {
            references: references.iter().map(|&r| r.to_owned()).collect(),
        };
        let resolved: Resolved = self.post(api::RESOLVE, &request)?;
        if resolved.results.len() != references.len() {
            return Err(self.malformed("a resolve answered with another number of results"));
        }
        Ok(resolved
            .results
            .into_iter()
            .map(|outcome| match outcome {
                Outcome::Value(value) => Ok(value.into()),
                Outcome::Error(error) => Err(error.into_failure()),
            })
            .collect())
    }

    fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, Failure> {
        // Serializing plain strings into a vector cannot fail.
        let body = serde_json::to_vec(body).unwrap_or_default();
        let (status, answer) = self.exchange(path, &body)?;
        let json = &answer[..];
        if status == 200 {
            return serde_json::from_slice(json)
                .map_err(|_| self.malformed("a 200 answer is not the JSON its endpoint gives"));
        }
        match serde_json::from_slice::<ErrorBody>(json) {
            Ok(error) => Err(error.into_failure()),
            Err(_) => Err(self.malformed(&format!("HTTP {status} without an error object"))),
        }
    }

    /// Sends one request and returns the status and body of the answer. The body may hold
    /// secrets: it is zeroized when dropped.
    fn exchange(&self, path: &str, body: &[u8]) -> Result<(u16, Zeroizing<Vec<u8>>), Failure> {
        let mut stream = UnixStream::connect(&self.socket).map_err(|error| {
            Failure::operation(format!(
                "cannot reach the agent at {}: {error}; is `sy agent` running there?",
                self.socket.display()
            ))
            .category("agent")
        })?;
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.limit(&stream, UnixStream::set_write_timeout)?;
        stream
            .write_all(&request)
            .map_err(|error| self.io(&error))?;
        // Read in place, each read bounded by what is left of the time; no part of the answer
        // is left elsewhere in memory.
        let mut answer = Zeroizing::new(Vec::with_capacity(FIRST_READ));
        loop {
            self.limit(&stream, UnixStream::set_read_timeout)?;
            if answer.len() == answer.capacity() {
                // Grown by hand: the smaller buffer, which holds the answer's start, is
                // zeroized when dropped instead of being freed as it is by a reallocation.
                let room = (answer.capacity() * 2).min(MAX_ANSWER + 1);
                let mut larger = Zeroizing::new(Vec::with_capacity(room));
                larger.extend_from_slice(&answer);
                answer = larger;
            }
            let (filled, room) = (answer.len(), answer.capacity());
            answer.resize(room, 0);
            let read = stream.read(&mut answer[filled..]);
            answer.truncate(filled + *read.as_ref().unwrap_or(&0));
            match read {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(self.io(&error)),
            }
            if answer.len() > MAX_ANSWER {
                return Err(self.malformed("the answer is too large"));
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head = match response.parse(&answer) {
            Ok(httparse::Status::Complete(head)) => head,
            Ok(httparse::Status::Partial) if answer.is_empty() => {
                return Err(self.malformed("the connection closed without an answer"));
            }
            _ => return Err(self.malformed("the answer is not HTTP/1.1")),
        };
        let status = response.code.unwrap_or_default();
        let length = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        let rest = answer.len() - head;
        if length.is_some_and(|length| length != rest) {
            return Err(self.malformed("the answer's body is cut short"));
        }
        answer.drain(..head);
        Ok((status, answer))
    }

    /// Bounds the next read or write by what is left of the command's time.
    fn limit(
        &self,
        stream: &UnixStream,
        set: fn(&UnixStream, Option<Duration>) -> std::io::Result<()>,
    ) -> Result<(), Failure> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.late());
        }
        set(stream, Some(left)).map_err(|error| self.io(&error))
    }

    fn io(&self, error: &std::io::Error) -> Failure {
        if matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            return self.late();
        }
        Failure::operation(format!(
            "the agent at {} did not answer: {error}",
            self.socket.display()
        ))
        .category("agent")
    }

    fn late(&self) -> Failure {
        Failure::operation(format!(
            "the agent at {} did not answer within {}: the command's time limit ran out; allow \
             more with --timeout or SY_TIMEOUT",
            self.socket.display(),
            humantime::format_duration(self.timeout)
        ))
        .category("timeout")
    }

    fn malformed(&self, what: &str) -> Failure {
        Failure::operation(format!(
            "the agent at {} answered wrongly: {what}",
            self.socket.display()
        ))
        .category("agent")
    }
}
