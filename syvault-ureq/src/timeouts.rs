//! Socket timeouts that stay put from one request to the next.
//!
//! ureq gives each read and write of a request the time left before the request's deadline,
//! and sets it as the socket's timeout whenever it differs from the last one: two system calls
//! per request on a pooled connection, since the time left is never quite the same. Rounded up
//! to a whole [`GRAIN`], it is the same for every request whose reads and writes start within
//! the first grain of its time (all of them, on a fast network), and the socket keeps its
//! timeouts. ureq still checks the deadline after every read and write, so a stalled one can
//! outlast the deadline by less than a grain.

use std::time::Duration;

use ureq::unversioned::transport::time::Duration as Left;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// What the time left is rounded up to.
pub(crate) const GRAIN: Duration = Duration::from_millis(100);

/// Wraps each connection of the chain (TLS included) in [`Steady`].
#[derive(Debug)]
pub(crate) struct SteadyTimeouts;

impl Connector<Box<dyn Transport>> for SteadyTimeouts {
    type Out = Steady;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Steady>, ureq::Error> {
        Ok(chained.map(Steady))
    }
}

/// A connection whose reads and writes get their time left rounded up to a [`GRAIN`].
#[derive(Debug)]
pub(crate) struct Steady(Box<dyn Transport>);

impl Transport for Steady {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.0.transmit_output(amount, rounded(timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.0.await_input(rounded(timeout))
    }

    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}

/// `timeout` with the time left rounded up to a whole [`GRAIN`]; none left stays none, so that
/// ureq still reports the timeout.
fn rounded(mut timeout: NextTimeout) -> NextTimeout {
    if let Left::Exact(left) = timeout.after
        && !left.is_zero()
    {
        let grain = GRAIN.as_nanos();
        let up = left.as_nanos().div_ceil(grain).saturating_mul(grain);
        let up = u64::try_from(up).map_or(Duration::MAX, Duration::from_nanos);
        timeout.after = Left::Exact(up);
    }
    timeout
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left(timeout: NextTimeout) -> Left {
        timeout.after
    }

    fn with(after: Left) -> NextTimeout {
        NextTimeout {
            after,
            ..NextTimeout::default()
        }
    }

    #[test]
    fn time_left_is_rounded_up_to_the_grain() {
        let exact = |d: Duration| with(Left::Exact(d));
        // Two requests' reads, started at different moments of their first grain: one timeout.
        let a = rounded(exact(Duration::from_millis(29_999)));
        let b = rounded(exact(Duration::from_nanos(29_900_000_001)));
        assert_eq!(left(a), Left::Exact(Duration::from_secs(30)));
        assert_eq!(left(b), left(a));
        // Never shorter, and longer by less than a grain.
        let c = rounded(exact(Duration::from_millis(29_850)));
        assert_eq!(left(c), Left::Exact(Duration::from_millis(29_900)));
        assert_eq!(
            left(rounded(exact(Duration::from_millis(200)))),
            Left::Exact(Duration::from_millis(200))
        );
        assert_eq!(
            left(rounded(exact(Duration::from_nanos(1)))),
            Left::Exact(GRAIN)
        );
        // Nothing left stays nothing, so that the request times out; no deadline stays none.
        assert_eq!(
            left(rounded(exact(Duration::ZERO))),
            Left::Exact(Duration::ZERO)
        );
        assert_eq!(left(rounded(with(Left::NotHappening))), Left::NotHappening);
        assert_eq!(
            left(rounded(exact(Duration::MAX))),
            Left::Exact(Duration::MAX)
        );
    }
}
