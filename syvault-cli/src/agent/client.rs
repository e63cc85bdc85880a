//! Asking the agent: one HTTP/1.1 request per connection over the standard library's Unix
//! socket. Nothing here builds a client, reads credentials or a trust store, or loads a key.

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use syvault_ureq::Selected;
use zeroize::Zeroizing;

use super::api::{self, ErrorBody, Outcome, ReadRequest, ResolveRequest, Resolved, Value};
use crate::failure::Failure;

/// How long an answer may take. The agent's own requests to the vault are bounded by its
/// client's timeouts and retries; this only keeps a wedged agent from hanging the command.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);
/// The largest answer read: a resolve of the most references with long values.
const MAX_ANSWER: u64 = 64 * 1024 * 1024;
/// The most response headers read.
const MAX_HEADERS: usize = 32;

/// The agent listening on a socket.
#[derive(Debug)]
pub(crate) struct Agent {
    socket: PathBuf,
}

impl Agent {
    pub(crate) fn new(socket: &Path) -> Self {
        Self {
            socket: socket.to_owned(),
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
        })?;
        let io = |error: std::io::Error| {
            Failure::operation(format!(
                "the agent at {} did not answer: {error}",
                self.socket.display()
            ))
        };
        stream
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(ANSWER_TIMEOUT)))
            .map_err(io)?;
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        stream.write_all(&request).map_err(io)?;
        let mut answer = Zeroizing::new(Vec::with_capacity(8 * 1024));
        (&mut stream)
            .take(MAX_ANSWER + 1)
            .read_to_end(&mut answer)
            .map_err(io)?;
        if answer.len() as u64 > MAX_ANSWER {
            return Err(self.malformed("the answer is too large"));
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

    fn malformed(&self, what: &str) -> Failure {
        Failure::operation(format!(
            "the agent at {} answered wrongly: {what}",
            self.socket.display()
        ))
    }
}
