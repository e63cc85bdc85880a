//! One logical HTTP exchange: building the request, authenticating it, and retrying it.

use core::fmt;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, IF_NONE_MATCH, RETRY_AFTER, USER_AGENT};
use http::{HeaderValue, Method, StatusCode};
use uuid::Uuid;

use crate::config::ServerUrl;
use crate::error::{Error, ErrorCode, Result};
use crate::jwt::{TokenHolder, TokenMode};
use crate::keys::ClientKey;
use crate::retry::{BudgetTracker, RetryPolicy};
use crate::stats::ClientStats;
use crate::step::{Input, Request, Response, Step};
use crate::time::Timestamp;
use crate::trace::event;
use crate::wire;

const USER_AGENT_VALUE: &str = concat!("syvault-rust/", env!("CARGO_PKG_VERSION"));
const JSON: &str = "application/json";

/// Who the client is, once it has been bootstrapped.
pub(crate) struct Identity {
    pub(crate) client_id: Uuid,
    pub(crate) key: ClientKey,
    pub(crate) tokens: TokenHolder,
    /// The `Authorization` value of the token being reused, made once per token rather than
    /// once per request; its bytes are zeroized when the last request holding it is dropped.
    bearer: Option<HeaderValue>,
}

impl Identity {
    /// The `Authorization` value to send at `now`, and whether its token was sent before.
    fn authorization(&mut self, now: Timestamp) -> Result<(HeaderValue, bool)> {
        if let Some(bearer) = &self.bearer
            && self.tokens.reusable(now)
        {
            return Ok((bearer.clone(), true));
        }
        let issued = self.tokens.token(&self.key, now);
        let value = bearer_value(issued.token.expose())?;
        // Kept only while the holder reuses the token (a per-request token is never sent twice).
        self.bearer = self.tokens.reusable(now).then(|| value.clone());
        Ok((value, issued.reused))
    }
}

/// The bytes behind an `Authorization` value: the header shares them (no copy) and they are
/// wiped when the last request holding them is dropped.
///
/// What an HTTP client does with the value once it is sent is outside the SDK: ureq and hyper
/// serialize it into their connection's write buffer, which is not zeroized (the value is
/// marked sensitive, so neither ever logs it).
type BearerBytes = zeroize::Zeroizing<Vec<u8>>;

/// `Bearer <token>` as a sensitive header value, whose bytes are zeroized once dropped.
fn bearer_value(token: &str) -> Result<HeaderValue> {
    let mut bytes = BearerBytes::new(Vec::with_capacity(BEARER.len() + token.len()));
    bytes.extend_from_slice(BEARER.as_bytes());
    bytes.extend_from_slice(token.as_bytes());
    let mut value = HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(bytes))
        .map_err(|_| Error::invalid_input("token", "not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

const BEARER: &str = "Bearer ";

/// What every exchange needs: where to send, how to sign, how to retry.
pub(crate) struct Session {
    pub(crate) server: ServerUrl,
    pub(crate) identity: Option<Identity>,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_response_body: usize,
    /// The client's counters; requests, retries and tokens are counted here.
    pub(crate) stats: ClientStats,
    /// When the server last answered a request with a success status (2xx or 304).
    pub(crate) last_answer: Option<Timestamp>,
    /// Requests and retries within the retry budget's window.
    pub(crate) budget: BudgetTracker,
}

impl Session {
    pub(crate) fn identify(
        &mut self,
        client_id: Uuid,
        key: ClientKey,
        mode: TokenMode,
    ) -> Result<()> {
        let tokens = TokenHolder::new(mode, client_id, self.server.audience.clone())?;
        self.identity = Some(Identity {
            client_id,
            key,
            tokens,
            bearer: None,
        });
        Ok(())
    }

    /// Adds what this session counted (requests, retries, tokens, the last answer) to
    /// `total`'s and zeroes it: for a session of its own (bootstrap's) whose work belongs to
    /// the client's.
    pub(crate) fn move_counts_into(&mut self, total: &mut Session) {
        self.stats.move_into(&mut total.stats);
        if let Some(at) = self.last_answer.take() {
            total.last_answer = Some(at);
        }
    }

    /// Whether the client's retry budget allows a retry at `now` (which is then counted); a
    /// refusal is counted in the statistics.
    pub(crate) fn try_retry(&mut self, now: Timestamp) -> bool {
        if self.budget.try_retry(self.retry.budget.as_ref(), now) {
            return true;
        }
        self.stats.retries_refused += 1;
        event!(debug, "retry budget spent: not retrying");
        false
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server.base)
            .field("client_id", &self.identity.as_ref().map(|i| i.client_id))
            .finish_non_exhaustive()
    }
}

/// One request, re-sent as the retry and authentication rules allow.
pub(crate) struct Call {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    authenticated: bool,
    if_none_match: Option<String>,
    attempts: u32,
    reauthenticated: bool,
    token_reused: bool,
    /// Attempts allowed when fewer than the policy's (background work sends each request
    /// once).
    max_attempts: Option<u32>,
    /// Extra headers sent with every attempt, such as an `Idempotency-Key`.
    headers: Vec<(http::HeaderName, HeaderValue)>,
}

impl fmt::Debug for Call {
    /// Method, path and attempts only: a body may be secret (bootstrap's token proof).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl Call {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            body: None,
            authenticated: true,
            if_none_match: None,
            attempts: 0,
            reauthenticated: false,
            token_reused: false,
            max_attempts: None,
            headers: Vec::new(),
        }
    }

    /// Sends the request once: a failure is reported, not retried.
    pub(crate) fn once(mut self) -> Self {
        self.max_attempts = Some(1);
        self
    }

    pub(crate) fn get(path: String) -> Self {
        Self::new(Method::GET, path)
    }

    pub(crate) fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    pub(crate) fn unauthenticated(mut self) -> Self {
        self.authenticated = false;
        self
    }

    pub(crate) fn if_none_match(mut self, etag: Option<String>) -> Self {
        self.if_none_match = etag;
        self
    }

    /// Adds a header to every attempt, so that a retry repeats it unchanged.
    pub(crate) fn with_header(mut self, name: http::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// How many times the request has been sent.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Sends the request (again).
    pub(crate) fn send(&mut self, session: &mut Session, now: Timestamp) -> Step<Response> {
        match self.build(session, now) {
            Ok(request) => {
                self.attempts += 1;
                session.stats.requests += 1;
                if self.attempts == 1 {
                    session.budget.sent(session.retry.budget.as_ref(), now);
                }
                // The driver's own event follows with the status and the time taken. Only the
                // path: a query may carry a listing cursor.
                event!(
                    debug,
                    method = %self.method,
                    path = self.path.split('?').next().unwrap_or_default(),
                    attempt = self.attempts,
                    "sending request"
                );
                Step::Send(request)
            }
            Err(e) => Step::Done(Err(e)),
        }
    }

    fn build(&mut self, session: &mut Session, now: Timestamp) -> Result<Request> {
        // Built in place rather than through `http::request::Builder`, which moves the whole
        // request on every header: this runs once per request, and a request is a few hundred
        // bytes.
        let mut request = Request::new(self.body.clone().unwrap_or_default());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = session.server.uri(&self.path)?;
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static(JSON));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if self.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        }
        if let Some(etag) = &self.if_none_match {
            let etag = HeaderValue::from_str(etag)
                .map_err(|_| Error::invalid_input("ETag", "not a valid header value"))?;
            headers.insert(IF_NONE_MATCH, etag);
        }
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        if self.authenticated {
            let identity = session.identity.as_mut().ok_or_else(|| {
                Error::invalid_input("client", "no identity: bootstrap has not completed")
            })?;
            let (authorization, reused) = identity.authorization(now)?;
            self.token_reused = reused;
            if !reused {
                session.stats.tokens_signed += 1;
                event!(debug, "signed a new bearer token");
            }
            headers.insert(AUTHORIZATION, authorization);
        }
        Ok(request)
    }

    /// Feeds the driver's input. `Wake` after a `Sleep` re-sends.
    pub(crate) fn on_input<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        session: &mut Session,
        input: Input,
        now: Timestamp,
        rng: &mut R,
    ) -> Step<Response> {
        let error = match input {
            Input::Start | Input::Wake => return self.send(session, now),
            Input::Failed(error) => error,
            Input::Response(response) => match Self::classify(session, response) {
                Ok(response) => {
                    session.last_answer = Some(now);
                    return Step::Done(Ok(response));
                }
                Err(error) => error,
            },
        };
        if matches!(error, Error::AuthenticationFailed { .. }) {
            if let Some(identity) = session.identity.as_mut() {
                identity.tokens.invalidate();
            }
            // A reused token may have been forgotten by the server: one fresh signature.
            if self.token_reused && !self.reauthenticated {
                self.reauthenticated = true;
                session.stats.reauthentications += 1;
                event!(debug, path = %self.path, "401 to a reused token: re-signing once");
                return self.send(session, now);
            }
        }
        if self.max_attempts.is_none_or(|max| self.attempts < max)
            && session.retry.should_retry(self.attempts, &error)
            && session.try_retry(now)
        {
            let wait = session
                .retry
                .backoff(self.attempts, error.retry_after(), rng);
            session.stats.retries += 1;
            event!(
                debug,
                path = %self.path,
                attempt = self.attempts,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                reason = %error,
                "retrying"
            );
            return Step::Sleep(now + wait);
        }
        Step::Done(Err(error))
    }

    fn classify(session: &Session, response: Response) -> Result<Response> {
        if response.body().len() > session.max_response_body {
            return Err(Error::BodyTooLarge {
                limit: session.max_response_body,
            });
        }
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok());
        let api = wire::api_error(status.as_u16(), retry_after, response.body());
        if status == StatusCode::UNAUTHORIZED {
            let code = if api.code == ErrorCode::TokenExpired {
                ErrorCode::TokenExpired
            } else {
                ErrorCode::Unauthorized
            };
            return Err(Error::AuthenticationFailed {
                status: status.as_u16(),
                code,
            });
        }
        Err(api.into())
    }
}

/// Reads a JSON body of a successful response.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T> {
    wire::parse_body(response.status().as_u16(), response.body())
}

/// Checks that a successful response has the status the protocol gives it.
pub(crate) fn expect_status(response: &Response, expected: StatusCode) -> Result<()> {
    if response.status() == expected {
        Ok(())
    } else {
        Err(Error::malformed(
            response.status().as_u16(),
            format!("expected HTTP {}", expected.as_u16()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}

    #[test]
    fn the_bearer_header_is_sensitive_redacted_and_wiped_on_drop() {
        let value = bearer_value("eyJ.header.signature").unwrap();
        assert!(value.is_sensitive());
        assert_eq!(format!("{value:?}"), "Sensitive");
        assert_eq!(value.as_bytes(), b"Bearer eyJ.header.signature");
        // What the header shares: held in a type that wipes itself; a plain `Vec` or `String`
        // here does not build.
        zeroized_on_drop(&BearerBytes::default());
        assert!(bearer_value("bad\ntoken").is_err());
    }
}
