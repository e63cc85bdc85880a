//! A limit on a whole operation: every attempt, retry wait and poll included.

use core::time::Duration;

use rand_core::CryptoRng;

use super::{Operation, after_finish};
use crate::client::Client;
use crate::error::Error;
use crate::step::{Input, Step, TimeLeft};
use crate::time::Timestamp;

/// Runs an operation within a time limit: the client's
/// ([`crate::builder::ClientBuilder::operation_timeout`]) or one of its own
/// ([`Deadline::with_timeout`]). Without a limit it only passes steps through.
///
/// The limit starts at the first step. Each request carries the time left as a [`TimeLeft`]
/// extension, which drivers honour; a wait that would end past the limit is not waited for; a
/// join on another operation's fetch is cut short at the limit. Past it the operation is
/// abandoned (so that operations waiting on its fetch take over) and ends with
/// [`Error::OperationTimeout`], naming the server and the last failure seen.
///
/// Drivers wrap every operation they run in one, so that the client's setting applies
/// everywhere:
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::ops::{Deadline, ListSecrets, Operation};
/// use syvault_proto::step::{Input, Step, TimeLeft};
/// use syvault_proto::{Client, Timestamp};
///
/// let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
/// let secret = syvault_proto::keys::ClientKey::generate(&mut rng).to_client_secret();
/// let mut client = Client::builder()
///     .server("https://vault.example.com")
///     .client_id(uuid::Uuid::nil())
///     .client_secret(secret)
///     .operation_timeout(Duration::from_secs(5))
///     .build()?;
/// let now = Timestamp::from_unix_secs(1_700_000_000);
/// let mut op = Deadline::new(ListSecrets::new());
/// let Step::Send(request) = op.step(&mut client, Input::Start, now, &mut rng) else { panic!() };
/// assert_eq!(request.extensions().get::<TimeLeft>(), Some(&TimeLeft(Duration::from_secs(5))));
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct Deadline<O> {
    op: O,
    /// A limit of the operation's own, over the client's.
    timeout: Option<Duration>,
    /// When the limit passes, from the first step; `None` without a limit.
    ends_at: Option<Timestamp>,
    /// The last failure seen: a transport error or the server's error answer.
    last: Option<Error>,
    started: bool,
    finished: bool,
}

impl<O: Operation> Deadline<O> {
    /// `op` within the client's operation timeout, if it has one.
    pub fn new(op: O) -> Self {
        Self {
            op,
            timeout: None,
            ends_at: None,
            last: None,
            started: false,
            finished: false,
        }
    }

    /// `op` within `timeout`, whatever the client's setting.
    pub fn with_timeout(op: O, timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..Self::new(op)
        }
    }

    /// Gives up: the inner operation is abandoned and the error names the server.
    fn expire(&mut self, client: &mut Client, last: Option<Error>) -> Step<O::Output> {
        self.op.abandon(client);
        self.finished = true;
        let last = last.or_else(|| self.last.take());
        crate::trace::event!(debug, server = client.server(), "operation timed out");
        Step::Done(Err(Error::OperationTimeout {
            server: client.server().to_owned(),
            timeout: self.timeout.unwrap_or_default(),
            last: last.map(Box::new),
        }))
    }
}

impl<O: Operation> Operation for Deadline<O> {
    type Output = O::Output;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<O::Output> {
        if self.finished {
            return Step::Done(Err(after_finish()));
        }
        if !self.started {
            self.started = true;
            self.timeout = self.timeout.or(client.operation_timeout());
            self.ends_at = self.timeout.map(|timeout| now + timeout);
        }
        let Some(deadline) = self.ends_at else {
            return self.op.step(client, input, now, rng);
        };
        match &input {
            // A failure at the limit is the limit's doing (the request was given the time
            // left): nothing more can be tried.
            Input::Failed(error) if now >= deadline => {
                return self.expire(client, Some(error.clone()));
            }
            Input::Failed(error) => self.last = Some(error.clone()),
            Input::Wake if now >= deadline => return self.expire(client, None),
            Input::Response(response) if response.status().as_u16() >= 400 => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok());
                self.last =
                    Some(crate::wire::api_error(status, retry_after, response.body()).into());
            }
            // An answer that came in time is used, even if the limit has passed since.
            Input::Start | Input::Wake | Input::Response(_) => {}
        }
        match self.op.step(client, input, now, rng) {
            Step::Send(_) | Step::Join(_) if now >= deadline => self.expire(client, None),
            Step::Send(mut request) => {
                let left = deadline.saturating_duration_since(now);
                request.extensions_mut().insert(TimeLeft(left));
                Step::Send(request)
            }
            // Waking after the limit would only be to give up.
            Step::Sleep(until) if until > deadline => self.expire(client, None),
            Step::Join(until) => Step::Join(until.min(deadline)),
            Step::Done(result) => {
                self.finished = true;
                Step::Done(result)
            }
            sleep @ Step::Sleep(_) => sleep,
        }
    }

    fn abandon(&mut self, client: &mut Client) {
        if !self.finished {
            self.finished = true;
            self.op.abandon(client);
        }
    }

    fn subject(&self) -> Option<String> {
        self.op.subject()
    }

    fn name(&self) -> &'static str {
        self.op.name()
    }
}
