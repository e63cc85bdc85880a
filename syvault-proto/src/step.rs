//! How a caller drives an operation: inputs in, steps out.

use core::fmt;

use crate::error::Result;
use crate::time::Timestamp;

/// An HTTP request the core asks the driver to send. The URI is absolute.
pub type Request = http::Request<Vec<u8>>;
/// An HTTP response as the driver received it, with the whole body (at most
/// one byte more than the configured limit: the core refuses larger bodies).
pub type Response = http::Response<Vec<u8>>;

/// How long the operation that sent a request has left, in the request's extensions when it
/// has a limit ([`crate::builder::ClientBuilder::operation_timeout`]). A driver gives up on the
/// request after this or its own request timeout, whichever comes first, and reports a
/// [`crate::error::TransportErrorKind::Timeout`] failure; the operation then ends with
/// [`crate::Error::OperationTimeout`].
///
/// ```
/// use std::time::Duration;
/// use syvault_proto::step::TimeLeft;
///
/// # let request = http::Request::get("https://vault.example.com/").body(Vec::<u8>::new()).unwrap();
/// let request_timeout = Duration::from_secs(30);
/// let limit = request
///     .extensions()
///     .get::<TimeLeft>()
///     .map_or(request_timeout, |left| left.0.min(request_timeout));
/// assert_eq!(limit, request_timeout);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeLeft(pub core::time::Duration);

/// What the driver feeds an operation.
///
/// Deliberately exhaustive, like [`Step`]: the two enums are the driver protocol, which
/// drivers both build and match, so a new variant is a change every driver must make (a
/// major release), not something a wildcard arm could absorb.
#[derive(Debug)]
pub enum Input {
    /// The first step.
    Start,
    /// The time asked for by [`Step::Sleep`] or [`Step::Join`] has come, or (for `Join`) the
    /// driver was told that another operation finished.
    Wake,
    /// The response to the last [`Step::Send`].
    Response(Response),
    /// The last [`Step::Send`] failed in transport; see [`crate::Error::Transport`].
    Failed(crate::Error),
}

/// What an operation asks of its driver next.
///
/// `Debug` shows a request's method and URI only: a body (such as bootstrap's proof of the
/// one-time token) may be secret.
#[must_use]
pub enum Step<T> {
    /// Send this request, then feed [`Input::Response`] or [`Input::Failed`].
    Send(Request),
    /// Wait until this time, then feed [`Input::Wake`].
    Sleep(Timestamp),
    /// Another operation is fetching the same thing: wait until it finishes (drivers that can
    /// tell) or until this time, whichever is first, then feed [`Input::Wake`].
    Join(Timestamp),
    /// The operation is over.
    Done(Result<T>),
}

impl<T: fmt::Debug> fmt::Debug for Step<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send(request) => write!(f, "Send({} {})", request.method(), request.uri()),
            Self::Sleep(until) => f.debug_tuple("Sleep").field(until).finish(),
            Self::Join(until) => f.debug_tuple("Join").field(until).finish(),
            Self::Done(result) => f.debug_tuple("Done").field(result).finish(),
        }
    }
}

impl<T> Step<T> {
    /// Maps the result of a finished step.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Step<U> {
        match self {
            Self::Send(r) => Step::Send(r),
            Self::Sleep(t) => Step::Sleep(t),
            Self::Join(t) => Step::Join(t),
            Self::Done(result) => Step::Done(result.map(f)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_request_body() {
        let request = http::Request::post("https://vault.example.com/api/sm/v1/bootstrap")
            .body(br#"{"token":"vft_secret"}"#.to_vec())
            .unwrap();
        let step: Step<()> = Step::Send(request);
        let debug = format!("{step:?}");
        assert_eq!(
            debug,
            "Send(POST https://vault.example.com/api/sm/v1/bootstrap)"
        );
    }
}
