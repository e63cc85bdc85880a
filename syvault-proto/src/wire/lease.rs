//! Bodies of the dynamic-secret (lease) endpoints.
//!
//! Unlike every other success answer, the 201 answer of `POST /dynamic/lease` is not wrapped in
//! `data`: its fields sit at the top level. The other lease answers are wrapped as usual.

use core::fmt;

use serde::Serialize;
use uuid::Uuid;

use super::fields;
use crate::object::object_struct;
use crate::secret::SecretString;
use crate::uid::RecordUid;

/// Shortest lease the protocol allows, in seconds.
pub const MIN_LEASE_TTL_SECS: u64 = 60;
/// Longest lease the protocol allows, in seconds (24 h); also the cap on a lease's whole life.
pub const MAX_LEASE_TTL_SECS: u64 = 86_400;

object_struct! {
/// The body of `POST /api/sm/v1/dynamic/lease`, answered 201 with [`LeaseCreated`].
///
/// ```
/// use syvault_proto::wire::{LeaseRequest, to_body};
///
/// let request = LeaseRequest { record_uid: "7Kj9mNpQ2xRs".parse()?, ttl_seconds: 3600 };
/// assert_eq!(to_body(&request), br#"{"record_uid":"7Kj9mNpQ2xRs","ttl_seconds":3600}"#);
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeaseRequest {
    /// The dynamic target record.
    pub record_uid: RecordUid,
    /// How long the lease should last, 60 to 86 400 seconds.
    pub ttl_seconds: u64,
}
}

object_struct! {
/// The body of `POST /api/sm/v1/dynamic/leases/{lease_id}/renew`, answered 200 with
/// `DataEnvelope<LeaseSummary>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RenewLeaseRequest {
    /// The wished remaining life from now, 60 to 86 400 seconds; the server caps it at 24 h
    /// after the lease's creation.
    pub ttl_seconds: u64,
}
}

object_struct! {
/// The 201 answer of `POST /api/sm/v1/dynamic/lease`, **unwrapped** (not in `data`).
///
/// `Debug` never shows the password or the connection string.
///
/// ```
/// use syvault_proto::wire::{LeaseCreated, parse_body};
///
/// let body = br#"{"lease_id":"0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60","username":"vf_tmp_k3x9q2mz",
///   "password":"s3cret","connection_string":"postgresql://vf_tmp_k3x9q2mz:s3cret@db:5432/app",
///   "expires_at":"2026-01-01T01:00:00Z"}"#;
/// let lease: LeaseCreated = parse_body(201, body)?;
/// assert_eq!(lease.username, "vf_tmp_k3x9q2mz");
/// assert!(!format!("{lease:?}").contains("s3cret"));
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LeaseCreated {
    /// The lease's id, to renew or revoke it.
    pub lease_id: Uuid,
    /// The temporary database role, `vf_tmp_` and 8 lowercase alphanumerics.
    pub username: String,
    /// The role's password.
    pub password: SecretString,
    /// A URL to connect with, the password percent-encoded in it.
    pub connection_string: SecretString,
    /// When the lease ends, RFC 3339 UTC.
    #[serde(deserialize_with = "fields::timestamp")]
    pub expires_at: String,
}
}

impl fmt::Debug for LeaseCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseCreated")
            .field("lease_id", &self.lease_id)
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

object_struct! {
/// A lease without its credentials: an element of `GET /api/sm/v1/dynamic/leases` and the
/// answer of a renewal (inside `data`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeaseSummary {
    /// The lease's id.
    pub lease_id: Uuid,
    /// The dynamic target record.
    pub record_uid: RecordUid,
    /// The temporary database role.
    pub username: String,
    /// When the lease was created, RFC 3339 UTC.
    #[serde(deserialize_with = "fields::timestamp")]
    pub created_at: String,
    /// When the lease ends, RFC 3339 UTC.
    #[serde(deserialize_with = "fields::timestamp")]
    pub expires_at: String,
}
}

object_struct! {
/// The answer of `GET /api/sm/v1/dynamic/leases`: this client's active leases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeaseList {
    /// The leases, never with passwords.
    pub data: Vec<LeaseSummary>,
}
}
