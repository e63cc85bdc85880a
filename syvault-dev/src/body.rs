//! The body type of every answer: whole, or cut short on purpose by a fault.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// An answer body held in memory.
#[derive(Debug)]
pub(crate) enum ResponseBody {
    /// The whole body; `None` once sent.
    Full(Option<Bytes>),
    /// Part of a body whose full length is announced in `Content-Length`. After the part, the
    /// body pauses once so hyper flushes what it has, then ends; hyper notices the shortfall
    /// and closes the connection, as a server that died mid-answer would.
    Truncated {
        part: Option<Bytes>,
        announced: u64,
        paused: bool,
    },
}

impl ResponseBody {
    /// A complete body.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        Self::Full(Some(bytes.into()))
    }

    /// No body.
    pub(crate) fn empty() -> Self {
        Self::Full(None)
    }

    /// This body cut to its first half, still announcing the whole length. Empty bodies stay
    /// empty: there is nothing to cut.
    pub(crate) fn truncate(self) -> Self {
        match self {
            Self::Full(Some(bytes)) if !bytes.is_empty() => {
                let announced = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                Self::Truncated {
                    part: Some(bytes.slice(..bytes.len() / 2)),
                    announced,
                    paused: false,
                }
            }
            other => other,
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Full(slot) => Poll::Ready(slot.take().map(|bytes| Ok(Frame::data(bytes)))),
            Self::Truncated { part, paused, .. } => {
                if let Some(bytes) = part.take() {
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                if *paused {
                    return Poll::Ready(None);
                }
                // Hyper flushes buffered output while the body is pending.
                *paused = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(slot) => slot.is_none(),
            Self::Truncated { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(Some(bytes)) => {
                SizeHint::with_exact(u64::try_from(bytes.len()).unwrap_or(u64::MAX))
            }
            Self::Full(None) => SizeHint::with_exact(0),
            Self::Truncated { announced, .. } => SizeHint::with_exact(*announced),
        }
    }
}
