//! The client of one command, and its time budget.
//!
//! Every command that talks to the server goes through a [`Session`]: it resolves the
//! credentials and TLS settings, builds the client with a 5 s connect timeout, names the server
//! for error messages, and gives each operation what is left of the command's `--timeout`, so
//! that the command as a whole ends within it.

use std::time::{Duration, Instant};

use syvault_ureq::{Dynamic, Secrets, SyVaultClient, SyVaultClientBuilder};

use crate::cli::Global;
use crate::credentials::{self, Source};
use crate::failure::{self, Failure};

/// A command's client and budget.
pub(crate) struct Session {
    client: SyVaultClient,
    /// When the command's network work must be done.
    deadline: Instant,
    /// Where the credentials came from.
    pub(crate) source: Source,
}

impl Session {
    /// The session of the command line's credentials, with `timeout` for all its work.
    pub(crate) fn open(global: &Global, timeout: Duration) -> Result<Self, Failure> {
        Self::open_with(global, timeout, |builder| builder)
    }

    /// Like [`Session::open`], with more settings on the builder (such as a rotation policy).
    pub(crate) fn open_with(
        global: &Global,
        timeout: Duration,
        configure: impl FnOnce(SyVaultClientBuilder) -> SyVaultClientBuilder,
    ) -> Result<Self, Failure> {
        let (builder, source) = credentials::configured(global)?;
        let client = configure(builder.operation_timeout(timeout)).build()?;
        failure::set_server(&client.server());
        failure::set_limit(timeout);
        Ok(Self {
            client,
            deadline: Instant::now() + timeout,
            source,
        })
    }

    /// What is left of the command's time.
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The client, its next operation limited to what is left of the command's time.
    pub(crate) fn client(&self) -> &SyVaultClient {
        self.client.set_operation_timeout(Some(self.remaining()));
        &self.client
    }

    /// The secrets handle, its next operation limited to what is left of the command's time.
    pub(crate) fn secrets(&self) -> Secrets<'_> {
        self.client().secrets()
    }

    /// The dynamic-secrets handle, its next operation limited likewise.
    pub(crate) fn dynamic(&self) -> Dynamic<'_> {
        self.client().dynamic()
    }
}
