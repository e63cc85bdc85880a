//! Taking, renewing, listing and revoking leases on dynamic targets.

use core::time::Duration;

use http::header::HeaderName;
use http::{HeaderValue, Method, StatusCode};
use rand_core::CryptoRng;
use uuid::Uuid;

use super::{Operation, after_finish, out_of_order, pending};
use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};
use crate::exchange::{self, Call};
use crate::lease::{LATER_THAN_ASKED, LEASE_SKEW, Lease, LeaseInfo, ttl_seconds};
use crate::step::{Input, Response, Step};
use crate::time::Timestamp;
use crate::uid::RecordUid;
use crate::wire::{self, DataEnvelope, LeaseCreated, LeaseList, LeaseRequest, LeaseSummary};

/// The header that makes a retried lease request safe: the server answers a repeat of a key
/// with the original answer and creates nothing.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// [`IDEMPOTENCY_KEY`] as a header name, checked at compile time: built at run time,
/// `HeaderName::from_static` brings in `http`'s parser of every standard header name, 12 KB of
/// the WebAssembly module.
const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static(IDEMPOTENCY_KEY);

/// One request driven to its answer: the shape shared by the lease operations.
#[derive(Debug)]
enum Exchange {
    Ready,
    Sending(Call),
    Finished,
}

impl Exchange {
    /// Starts the call `build` makes on `Start`, feeds later input to it.
    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
        build: impl FnOnce(&mut dyn CryptoRng) -> Result<Call>,
    ) -> Step<Response> {
        let step = match (std::mem::replace(self, Self::Finished), input) {
            (Self::Ready, Input::Start) => match build(rng) {
                Ok(mut call) => {
                    let step = call.send(&mut client.session, now);
                    *self = Self::Sending(call);
                    step
                }
                Err(error) => Step::Done(Err(error)),
            },
            (Self::Ready, _) => Step::Done(Err(out_of_order())),
            (Self::Sending(mut call), input) => {
                let step = call.on_input(&mut client.session, input, now, rng);
                *self = Self::Sending(call);
                step
            }
            (Self::Finished, _) => Step::Done(Err(after_finish())),
        };
        if matches!(step, Step::Done(_)) {
            *self = Self::Finished;
        }
        step
    }
}

/// Takes a lease on a dynamic target (`POST /dynamic/lease`): a temporary database role with a
/// random password, valid for `ttl`.
///
/// The request carries an `Idempotency-Key`, a random UUID drawn once per operation and sent
/// unchanged with every retry, so that a retry after a lost answer returns the same lease
/// instead of creating a second role. A TTL outside 60 s to 24 h is refused before sending.
/// Errors: [`Error::SecretNotFound`], [`Error::NotDynamicTarget`], and a retryable
/// [`Error::Api`] with [`ErrorCode::TargetUnavailable`] (HTTP 502) when the database cannot be
/// reached.
#[derive(Debug)]
pub struct CreateLease {
    uid: RecordUid,
    ttl: Duration,
    idempotency_key: Option<Uuid>,
    exchange: Exchange,
}

impl CreateLease {
    pub(crate) fn new(uid: RecordUid, ttl: Duration) -> Self {
        Self {
            uid,
            ttl,
            idempotency_key: None,
            exchange: Exchange::Ready,
        }
    }

    /// The `Idempotency-Key` this operation sends, once it has started.
    pub fn idempotency_key(&self) -> Option<Uuid> {
        self.idempotency_key
    }

    fn call(&mut self, rng: &mut dyn CryptoRng) -> Result<Call> {
        let ttl_seconds = ttl_seconds(self.ttl)?;
        let mut bytes = [0; 16];
        rng.fill_bytes(&mut bytes);
        let key = uuid::Builder::from_random_bytes(bytes).into_uuid();
        self.idempotency_key = Some(key);
        let body = wire::to_body(&LeaseRequest {
            record_uid: self.uid,
            ttl_seconds,
        });
        let value = HeaderValue::try_from(key.to_string())
            .map_err(|_| Error::invalid_input("idempotency key", "not a header value"))?;
        Ok(
            Call::new(Method::POST, wire::paths::dynamic_lease().to_owned())
                .with_body(body)
                .with_header(IDEMPOTENCY_KEY_HEADER, value),
        )
    }
}

impl Operation for CreateLease {
    type Output = Lease;

    fn subject(&self) -> Option<String> {
        Some(self.uid.to_string())
    }

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Lease> {
        let mut exchange = std::mem::replace(&mut self.exchange, Exchange::Finished);
        let step = exchange.step(client, input, now, rng, |rng| self.call(rng));
        self.exchange = exchange;
        let (uid, ttl) = (self.uid, self.ttl);
        match pending(step) {
            Ok(step) => step,
            Err(Ok(response)) => Step::Done(
                exchange::expect_status(&response, StatusCode::CREATED)
                    .and_then(|()| exchange::parse::<LeaseCreated>(&response))
                    .and_then(|created| Lease::from_wire(created, uid, now))
                    .and_then(|lease| within_asked(lease, now, ttl)),
            ),
            Err(Err(error)) => Step::Done(Err(target_error(error, &uid))),
        }
    }
}

/// Refuses a new lease that ends later than asked for (beyond the allowed clock skew): taking
/// it would have callers and keepers use credentials past their real end.
fn within_asked(lease: Lease, now: Timestamp, ttl: Duration) -> Result<Lease> {
    if lease.expires_at > now + ttl + LEASE_SKEW {
        return Err(Error::malformed(201, LATER_THAN_ASKED));
    }
    Ok(lease)
}

/// Renews a lease (`POST /dynamic/leases/{id}/renew`) for `ttl` from now. The server never
/// extends a lease past 24 h after its creation; the answer's `expires_at` says the real end.
/// An unknown, expired, revoked or foreign lease is [`Error::LeaseNotFound`].
#[derive(Debug)]
pub struct RenewLease {
    lease_id: Uuid,
    ttl: Duration,
    exchange: Exchange,
}

impl RenewLease {
    pub(crate) fn new(lease_id: Uuid, ttl: Duration) -> Self {
        Self {
            lease_id,
            ttl,
            exchange: Exchange::Ready,
        }
    }
}

impl Operation for RenewLease {
    type Output = LeaseInfo;

    fn subject(&self) -> Option<String> {
        Some(self.lease_id.to_string())
    }

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<LeaseInfo> {
        let (lease_id, ttl) = (self.lease_id, self.ttl);
        let step = self.exchange.step(client, input, now, rng, |_| {
            let body = wire::to_body(&wire::RenewLeaseRequest {
                ttl_seconds: ttl_seconds(ttl)?,
            });
            Ok(Call::new(Method::POST, wire::paths::lease_renew(&lease_id)).with_body(body))
        });
        match pending(step) {
            Ok(step) => step,
            Err(Ok(response)) => Step::Done(
                exchange::expect_status(&response, StatusCode::OK)
                    .and_then(|()| exchange::parse::<DataEnvelope<LeaseSummary>>(&response))
                    .and_then(|envelope| LeaseInfo::from_wire(envelope.data, 200))
                    .and_then(|info| {
                        if info.lease_id == lease_id {
                            Ok(info)
                        } else {
                            Err(Error::malformed(200, "the server renewed another lease"))
                        }
                    }),
            ),
            Err(Err(error)) => Step::Done(Err(lease_error(error, lease_id))),
        }
    }
}

/// Revokes a lease now (`DELETE /dynamic/leases/{id}`): the server terminates the role's
/// sessions and drops it. Revoking a lease of this client that already ended succeeds; an
/// unknown or foreign lease is [`Error::LeaseNotFound`].
#[derive(Debug)]
pub struct RevokeLease {
    lease_id: Uuid,
    exchange: Exchange,
}

impl RevokeLease {
    pub(crate) fn new(lease_id: Uuid) -> Self {
        Self {
            lease_id,
            exchange: Exchange::Ready,
        }
    }
}

impl Operation for RevokeLease {
    type Output = ();

    fn subject(&self) -> Option<String> {
        Some(self.lease_id.to_string())
    }

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<()> {
        let lease_id = self.lease_id;
        let step = self.exchange.step(client, input, now, rng, |_| {
            Ok(Call::new(Method::DELETE, wire::paths::lease(&lease_id)))
        });
        match pending(step) {
            Ok(step) => step,
            Err(Ok(response)) => {
                Step::Done(exchange::expect_status(&response, StatusCode::NO_CONTENT))
            }
            Err(Err(error)) => Step::Done(Err(lease_error(error, lease_id))),
        }
    }
}

/// Lists this client's active leases (`GET /dynamic/leases`), without passwords.
#[derive(Debug)]
pub struct ListLeases {
    exchange: Exchange,
}

impl ListLeases {
    pub(crate) fn new() -> Self {
        Self {
            exchange: Exchange::Ready,
        }
    }
}

impl Operation for ListLeases {
    type Output = Vec<LeaseInfo>;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<Vec<LeaseInfo>> {
        let step = self.exchange.step(client, input, now, rng, |_| {
            Ok(Call::get(wire::paths::dynamic_leases().to_owned()))
        });
        match pending(step) {
            Ok(step) => step,
            Err(Ok(response)) => Step::Done(
                exchange::expect_status(&response, StatusCode::OK)
                    .and_then(|()| exchange::parse::<LeaseList>(&response))
                    .and_then(|list| {
                        list.data
                            .into_iter()
                            .map(|summary| LeaseInfo::from_wire(summary, 200))
                            .collect()
                    }),
            ),
            Err(Err(error)) => Step::Done(Err(error)),
        }
    }
}

/// Names the record in the errors of a lease request.
fn target_error(error: Error, uid: &RecordUid) -> Error {
    match &error {
        Error::Api(api) if api.code == ErrorCode::SecretNotFound => Error::SecretNotFound {
            uid: uid.to_string(),
        },
        Error::Api(api) if api.code == ErrorCode::NotDynamicTarget => Error::NotDynamicTarget {
            uid: uid.to_string(),
        },
        _ => error,
    }
}

/// Names the lease in a `lease_not_found` error.
fn lease_error(error: Error, lease_id: Uuid) -> Error {
    match &error {
        Error::Api(api) if api.code == ErrorCode::LeaseNotFound => {
            Error::LeaseNotFound { lease_id }
        }
        _ => error,
    }
}
