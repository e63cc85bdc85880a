//! The SDK's operations as Sans-IO state machines.
//!
//! Each operation is a value driven by [`Operation::step`]: the driver passes what happened
//! ([`Input`]) with the current time and a random number generator, and gets back what to do
//! next ([`Step`]). Every operation, [`Bootstrap`] included, is driven by the same loop, and
//! each is built on its own ([`ListSecrets::new`], [`GetSecret::new`], …) without borrowing the
//! client. A complete blocking driver (the [guide to writing a driver] says what each part must do):
//!
//! ```no_run
//! use syvault_proto::ops::{Bootstrap, ListSecrets, Operation};
//! use syvault_proto::step::{Input, Step};
//! use syvault_proto::{Client, Timestamp};
//! # fn send(_: syvault_proto::step::Request) -> Result<syvault_proto::step::Response, syvault_proto::Error> { todo!() }
//! # fn sleep_until(_: Timestamp) {}
//! # fn now() -> Timestamp { todo!() }
//! # let mut rng = <chacha20::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
//!
//! fn run<O: Operation>(client: &mut Client, mut op: O, rng: &mut dyn rand_core::CryptoRng) -> syvault_proto::Result<O::Output> {
//!     let mut input = Input::Start;
//!     loop {
//!         input = match op.step(client, input, now(), rng) {
//!             Step::Send(request) => match send(request) {
//!                 Ok(response) => Input::Response(response),
//!                 Err(error) => Input::Failed(error),
//!             },
//!             Step::Sleep(until) | Step::Join(until) => {
//!                 sleep_until(until);
//!                 Input::Wake
//!             }
//!             Step::Done(result) => return result,
//!         };
//!     }
//! }
//!
//! let mut client = Client::builder().server("https://vault.example.com").bootstrap_client()?;
//! let credentials = run(&mut client, Bootstrap::new("vft_…"), &mut rng)?;
//! let secrets = run(&mut client, ListSecrets::new(), &mut rng)?;
//! # Ok::<(), syvault_proto::Error>(())
//! ```
//!
//! [guide to writing a driver]: https://github.com/syvault/syvault-rust/blob/main/docs/drivers.md

use rand_core::CryptoRng;

use crate::client::Client;
use crate::error::Result;
use crate::exchange::{self, Call};
use crate::step::{Input, Step};
use crate::time::Timestamp;
use crate::wire::{self, FolderList};

mod background;
mod bootstrap;
mod create;
mod deadline;
mod get;
mod keeper;
mod lease;
mod list;
mod resolve;
mod rotate;

pub use background::Background;
pub(crate) use background::{Queue, Wish};
pub use bootstrap::Bootstrap;
pub use create::CreateSecret;
pub use deadline::Deadline;
pub use get::GetSecret;
pub use keeper::{DEFAULT_EXPIRING_MARGIN, KeepLease, KeeperState, LeaseEnd, LeaseStatus};
pub use lease::{CreateLease, IDEMPOTENCY_KEY, ListLeases, RenewLease, RevokeLease};
pub use list::ListSecrets;
pub use resolve::{ResolveNotation, ResolveReference};
pub use rotate::{RotateSecret, StartRotation};

/// An operation on a [`Client`], driven one step at a time.
pub trait Operation {
    /// What the operation produces.
    type Output;

    /// Advances the operation with what happened since the last step.
    ///
    /// The client is borrowed for this step only: a driver may share it between many
    /// operations (behind a mutex) and must not hold it while it sends or sleeps.
    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Self::Output>;

    /// Tells the client that this operation will not be stepped again (its future was dropped),
    /// so that operations waiting on it do not wait in vain.
    fn abandon(&mut self, client: &mut Client) {
        let _ = client;
    }

    /// What the operation is about, for a driver's log span: a record's UID, a `sy://`
    /// reference or a lease id, where there is one. Never a secret. Asked before the first
    /// step.
    ///
    /// ```
    /// use syvault_proto::ops::{Operation, ResolveReference};
    ///
    /// let op = ResolveReference::new("sy://Production/Database/field/password");
    /// assert_eq!(op.subject().as_deref(), Some("sy://Production/Database/field/password"));
    /// ```
    fn subject(&self) -> Option<String> {
        None
    }

    /// The operation's name for a driver's log span: its type name without the path, such as
    /// `GetSecret`. A wrapper (such as [`Deadline`]) gives its inner operation's.
    ///
    /// ```
    /// use syvault_proto::ops::{Deadline, ListSecrets, Operation};
    ///
    /// assert_eq!(ListSecrets::new().name(), "ListSecrets");
    /// assert_eq!(Deadline::new(ListSecrets::new()).name(), "ListSecrets");
    /// ```
    fn name(&self) -> &'static str {
        let name = core::any::type_name::<Self>();
        name.rsplit("::").next().unwrap_or(name)
    }
}

/// The span a driver runs an operation in, so that every driver names operations alike: its
/// type name without the path (such as `GetSecret`) and, where it has one, its
/// [`Operation::subject`] (a UID, a reference, a lease id).
#[cfg(feature = "tracing")]
pub fn span<O: Operation>(op: &O) -> tracing::Span {
    let span = tracing::debug_span!("syvault", op = op.name(), subject = tracing::field::Empty);
    // Only a span someone listens to pays for its subject: a cache hit allocates nothing.
    if !span.is_disabled()
        && let Some(subject) = op.subject()
    {
        span.record("subject", subject.as_str());
    }
    span
}

/// A step the operation's state does not allow: a driver bug, reported rather than panicking.
pub(crate) fn out_of_order() -> crate::Error {
    crate::Error::invalid_input("operation", "stepped out of order")
}

/// A step after the operation returned [`Step::Done`]: a driver bug.
pub(crate) fn after_finish() -> crate::Error {
    crate::Error::invalid_input("operation", "stepped after it finished")
}

/// Failures after which a stale value (an entry, the notation index) may be served: the server
/// is unreachable, slow, overloaded or failing, but has not said the secret is gone or forbidden.
pub(crate) fn serves_stale(error: &crate::Error) -> bool {
    match error {
        crate::Error::Transport { .. } => true,
        crate::Error::Api(api) => api.status == 429 || api.status >= 500,
        _ => false,
    }
}

/// Splits a sub-machine's step into one to pass on (`Ok`) and a finished result (`Err`).
pub(crate) fn pending<T, U>(step: Step<T>) -> Result<Step<U>, Result<T>> {
    match step {
        Step::Send(r) => Ok(Step::Send(r)),
        Step::Sleep(t) => Ok(Step::Sleep(t)),
        Step::Join(t) => Ok(Step::Join(t)),
        Step::Done(result) => Err(result),
    }
}

/// Lists the folders granted to the client (`GET /folders`), unwrapping their keys and names
/// into the client.
#[derive(Debug)]
pub struct ListFolders(LoadFolders);

impl Default for ListFolders {
    fn default() -> Self {
        Self::new()
    }
}

impl ListFolders {
    /// Lists the folders granted to the client.
    pub fn new() -> Self {
        Self(LoadFolders::new())
    }
}

impl Operation for ListFolders {
    type Output = Vec<crate::folders::FolderInfo>;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Self::Output> {
        let step = match input {
            Input::Start => self.0.start(client, now),
            input => self.0.step(client, input, now, rng),
        };
        step.map(|()| client.folders())
    }
}

/// Loads the folder keys and names (`GET /folders`) into the client.
#[derive(Debug)]
pub(crate) struct LoadFolders {
    call: Call,
}

impl LoadFolders {
    pub(crate) fn new() -> Self {
        Self {
            call: Call::get(wire::paths::folders().to_owned()),
        }
    }

    /// Sends the request once, for background work.
    pub(crate) fn once(self) -> Self {
        Self {
            call: self.call.once(),
        }
    }

    pub(crate) fn start(&mut self, client: &mut Client, now: Timestamp) -> Step<()> {
        crate::trace::event!(debug, "loading folders");
        self.call.send(&mut client.session, now).map(|_| ())
    }

    pub(crate) fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<()> {
        match self.call.on_input(&mut client.session, input, now, rng) {
            Step::Done(Ok(response)) => Step::Done(
                exchange::parse::<FolderList>(&response)
                    .and_then(|list| install_folders(client, list)),
            ),
            other => other.map(|_| ()),
        }
    }
}

fn install_folders(client: &mut Client, list: FolderList) -> Result<()> {
    let identity = client
        .session
        .identity
        .as_ref()
        .ok_or_else(|| crate::Error::invalid_input("client", "no identity"))?;
    client
        .folders
        .load(list, &identity.key, &identity.client_id)?;
    client.index.folders_loaded(&client.folders);
    Ok(())
}
