//! Dynamic secrets: leased database credentials and the schedule that keeps a lease alive.
//!
//! A [`Lease`] is what `POST /dynamic/lease` hands out: a temporary database role with its
//! password, valid until [`Lease::expires_at`]. The operations that take, renew, list and revoke
//! leases are in [`crate::ops`]; [`KeepLease`](crate::ops::KeepLease) renews one in the
//! background on the schedule described in its documentation.
//!
//! Leased credentials are not end-to-end encrypted (the server creates them), so they arrive in
//! plaintext over TLS; in memory they are [`SecretString`]s, which `Debug` never shows.

use core::time::Duration;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::time::Timestamp;
use crate::uid::RecordUid;
use crate::wire::{LeaseCreated, LeaseSummary, MAX_LEASE_TTL_SECS, MIN_LEASE_TTL_SECS};

mod rfc3339;

pub use rfc3339::{format_rfc3339, parse_rfc3339};

/// The longest a lease can live, counted from its creation: renewals never extend past it.
pub const LEASE_CAP: Duration = Duration::from_secs(MAX_LEASE_TTL_SECS);

/// How much later than `now + ttl` a new or renewed lease may end: the clock skew the protocol
/// allows between client and server (§5, the same as for a token's `iat`).
pub(crate) const LEASE_SKEW: Duration = Duration::from_secs(60);
/// Why a new or renewed lease's end was refused (one text for both, which keeps the
/// WebAssembly module small).
pub(crate) const LATER_THAN_ASKED: &str =
    "the lease ends later than asked for or past its 24-hour cap";

/// A leased database credential.
///
/// `Debug` shows the id, record, username and times, never the password or the connection
/// string.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease {
    /// The lease's id, to renew or revoke it.
    pub lease_id: Uuid,
    /// The dynamic target record it was taken on.
    pub record_uid: RecordUid,
    /// The temporary database role (`vf_tmp_…`).
    pub username: String,
    /// The role's password.
    pub password: SecretString,
    /// A URL to connect with, the password percent-encoded in it.
    pub connection_string: SecretString,
    /// When the lease was created, by the client's clock when the answer arrived.
    pub created_at: Timestamp,
    /// When the lease ends unless renewed.
    pub expires_at: Timestamp,
}

impl Lease {
    /// Reads the 201 answer of `POST /dynamic/lease` for a lease on `record_uid` that arrived at
    /// `now`.
    pub fn from_wire(created: LeaseCreated, record_uid: RecordUid, now: Timestamp) -> Result<Self> {
        let expires_at = wire_time(&created.expires_at, 201, "expires_at")?;
        if created.username.is_empty() {
            return Err(Error::malformed(201, "empty username"));
        }
        Ok(Self {
            lease_id: created.lease_id,
            record_uid,
            username: created.username,
            password: created.password,
            connection_string: created.connection_string,
            created_at: now,
            expires_at,
        })
    }

    /// The lease without its credentials.
    pub fn info(&self) -> LeaseInfo {
        LeaseInfo {
            lease_id: self.lease_id,
            record_uid: self.record_uid,
            username: self.username.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
        }
    }
}

/// A lease without its credentials, as listed or renewed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseInfo {
    /// The lease's id.
    pub lease_id: Uuid,
    /// The dynamic target record.
    pub record_uid: RecordUid,
    /// The temporary database role.
    pub username: String,
    /// When the server created the lease.
    pub created_at: Timestamp,
    /// When the lease ends unless renewed.
    pub expires_at: Timestamp,
}

impl LeaseInfo {
    /// Reads a lease of a listing or of a renewal answer with HTTP `status`.
    pub fn from_wire(summary: LeaseSummary, status: u16) -> Result<Self> {
        Ok(Self {
            lease_id: summary.lease_id,
            record_uid: summary.record_uid,
            created_at: wire_time(&summary.created_at, status, "created_at")?,
            expires_at: wire_time(&summary.expires_at, status, "expires_at")?,
            username: summary.username,
        })
    }
}

/// Checks a lease TTL against the protocol's range of 60 s to 24 h, in whole seconds.
///
/// ```
/// use core::time::Duration;
/// use syvault_proto::lease::ttl_seconds;
///
/// assert_eq!(ttl_seconds(Duration::from_secs(3600))?, 3600);
/// assert!(ttl_seconds(Duration::from_secs(59)).is_err());
/// assert!(ttl_seconds(Duration::from_secs(86_401)).is_err());
/// # Ok::<(), syvault_proto::Error>(())
/// ```
pub fn ttl_seconds(ttl: Duration) -> Result<u64> {
    let secs = ttl.as_secs();
    if ttl.subsec_nanos() != 0 || !(MIN_LEASE_TTL_SECS..=MAX_LEASE_TTL_SECS).contains(&secs) {
        return Err(Error::invalid_input(
            "lease ttl",
            format!("must be whole seconds from {MIN_LEASE_TTL_SECS} to {MAX_LEASE_TTL_SECS}"),
        ));
    }
    Ok(secs)
}

fn wire_time(text: &str, status: u16, field: &str) -> Result<Timestamp> {
    parse_rfc3339(text)
        .ok_or_else(|| Error::malformed(status, format!("{field} is not an RFC 3339 timestamp")))
}
