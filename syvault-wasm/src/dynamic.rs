//! Dynamic secrets: leases on database targets, and a keeper that renews one on the host's
//! timers.

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use js_sys::{Function, Promise};
use syvault_proto::lease::LeaseInfo;
use syvault_proto::ops::{DEFAULT_EXPIRING_MARGIN, KeepLease, LeaseEnd, Operation};
use syvault_proto::rand_core::CryptoRng;
use syvault_proto::step::{Input, Step};
use syvault_proto::{Client, Error, RecordUid, Timestamp};
use uuid::Uuid;
use wasm_bindgen::prelude::*;

use crate::client::invalid;
use crate::driver::{Alarm, Shared, converted};
use crate::{convert, host};

/// The dynamic-secret operations of a client, from `client.dynamic()`.
#[wasm_bindgen]
pub struct Dynamic {
    shared: Rc<Shared>,
}

/// A lease TTL in whole seconds, from 60 to 86 400 (the core checks the range).
fn ttl(seconds: f64) -> Result<Duration, Error> {
    if seconds.is_finite() && seconds >= 0.0 && seconds.fract() == 0.0 && seconds <= 1e9 {
        // A whole number far below 2^53.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let seconds = seconds as u64;
        syvault_proto::lease::ttl_seconds(Duration::from_secs(seconds))?;
        Ok(Duration::from_secs(seconds))
    } else {
        Err(convert::invalid_input(
            "lease ttl",
            "must be whole seconds from 60 to 86400",
        ))
    }
}

fn lease_id(text: &str) -> Result<Uuid, Error> {
    text.parse()
        .map_err(|_| convert::invalid_input("leaseId", "not a UUID"))
}

#[wasm_bindgen]
impl Dynamic {
    pub(crate) fn new(shared: Rc<Shared>) -> Self {
        Self { shared }
    }

    /// Takes a lease on the dynamic target `uid` for `ttlSeconds` (60 to 86 400): a temporary
    /// database role, `{leaseId, recordUid, username, password, connectionString, createdAt,
    /// expiresAt}` with `Date`s. Retried safely: its `Idempotency-Key` makes a retry return the
    /// same lease.
    pub fn lease(&self, uid: &str, ttl_seconds: f64) -> Promise {
        let started = uid
            .parse::<RecordUid>()
            .and_then(|uid| Ok((uid, ttl(ttl_seconds)?)));
        match started {
            Ok((uid, ttl)) => {
                let op = self.shared.core.borrow().lease(uid, ttl);
                self.shared
                    .run(op, |lease| host::to_js_with_dates(&convert::lease(&lease)))
            }
            Err(error) => Promise::reject(&host::error(&error)),
        }
    }

    /// Renews a lease for `ttlSeconds` from now; the server caps it at 24 h after its
    /// creation. Resolves to `{leaseId, recordUid, username, createdAt, expiresAt}`.
    pub fn renew(&self, lease_id: &str, ttl_seconds: f64) -> Promise {
        match self::lease_id(lease_id).and_then(|id| Ok((id, ttl(ttl_seconds)?))) {
            Ok((id, ttl)) => {
                let op = self.shared.core.borrow().renew_lease(id, ttl);
                self.shared.run(op, |info| {
                    host::to_js_with_dates(&convert::lease_info(&info))
                })
            }
            Err(error) => Promise::reject(&host::error(&error)),
        }
    }

    /// Revokes a lease now: its role's sessions end and the role is dropped.
    pub fn revoke(&self, lease_id: &str) -> Promise {
        match self::lease_id(lease_id) {
            Ok(id) => {
                let op = self.shared.core.borrow().revoke_lease(id);
                self.shared.run(op, |()| JsValue::UNDEFINED)
            }
            Err(error) => Promise::reject(&host::error(&error)),
        }
    }

    /// This client's active leases, without passwords.
    pub fn leases(&self) -> Promise {
        let op = self.shared.core.borrow().leases();
        self.shared.run(op, |leases| {
            let array = js_sys::Array::new();
            for info in &leases {
                array.push(&host::to_js_with_dates(&convert::lease_info(info)));
            }
            array.into()
        })
    }

    /// Keeps `lease` (as `lease()` gave it, taken with `ttlSeconds`) alive on the host's
    /// timers: renewed at about two thirds of the remaining time until the 24 h cap. `options`
    /// may set `onChange(state)`, called whenever `state` changes. A running keeper's timer
    /// keeps a Node process alive: `close()` it when done.
    pub fn keep(
        &self,
        lease: &JsValue,
        ttl_seconds: f64,
        options: &JsValue,
    ) -> Result<LeaseKeeper, JsValue> {
        let info: LeaseInfo =
            convert::lease_from(host::json(lease).as_bytes()).map_err(|e| host::error(&e))?;
        let ttl = ttl(ttl_seconds).map_err(|e| host::error(&e))?;
        let on_change = match host::get(options, "onChange") {
            f if f.is_undefined() || f.is_null() => None,
            f => Some(
                f.dyn_into::<Function>()
                    .map_err(|_| invalid("onChange", "must be a function"))?,
            ),
        };
        let keeper = Rc::new(Keeper {
            op: RefCell::new(KeepLease::with_margin(&info, ttl, DEFAULT_EXPIRING_MARGIN)),
            alarm: Alarm::default(),
            on_change,
        });
        let shared = Rc::clone(&self.shared);
        let running = Rc::clone(&keeper);
        let done = wasm_bindgen_futures::future_to_promise(async move {
            let mut kept = converted(Kept(Rc::clone(&running)), |end| {
                JsValue::from_str(convert::lease_end(end))
            });
            let first = shared.step_js(kept.as_mut(), Input::Start);
            shared
                .drive(kept.as_mut(), first, Some(&running.alarm))
                .await
                .map_err(|error| host::error(&error))
        });
        // A failure is also shown by `state` and `onChange`: an application that never looks
        // at `done` must not get an unhandled rejection (which ends a Node process).
        let ignore: JsValue = Closure::once_into_js(|_: JsValue| {});
        if let Ok(catch) = host::get(&done, "catch").dyn_into::<Function>() {
            let _ = catch.call1(&done, &ignore);
        }
        Ok(LeaseKeeper { keeper, done })
    }
}

/// What a keeper's driver and its JavaScript handle share.
struct Keeper {
    op: RefCell<KeepLease>,
    alarm: Alarm,
    on_change: Option<Function>,
}

/// The keeper as the driver steps it: it reports each change of state to `onChange`.
struct Kept(Rc<Keeper>);

impl Operation for Kept {
    type Output = LeaseEnd;

    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<LeaseEnd> {
        let mut op = self.0.op.borrow_mut();
        let before = op.state();
        let step = op.step(client, input, now, rng);
        let after = op.state();
        if after != before
            && let Some(on_change) = &self.0.on_change
        {
            host::call_soon(
                on_change,
                &host::to_js_with_dates(&convert::keeper_state(&after)),
            );
        }
        step
    }
}

/// A lease kept alive in the background, from `dynamic().keep(lease, ttlSeconds)`.
#[wasm_bindgen]
pub struct LeaseKeeper {
    keeper: Rc<Keeper>,
    done: Promise,
}

#[wasm_bindgen]
impl LeaseKeeper {
    /// The kept lease's id.
    #[wasm_bindgen(getter, js_name = leaseId)]
    pub fn lease_id(&self) -> String {
        self.keeper.op.borrow().lease_id().to_string()
    }

    /// Where the lease stands: `{status, expiresAt, replaceAt, renewals}`, `status` one of
    /// `active`, `expiring` (take a new lease now), `expired`, `revoked`, `failed`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> JsValue {
        host::to_js_with_dates(&convert::keeper_state(&self.keeper.op.borrow().state()))
    }

    /// Settles when the keeper ends: `"expired"` or `"revoked"`, or rejects with the error
    /// that stopped it (state `failed`).
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> Promise {
        self.done.clone()
    }

    /// Revokes the lease now and resolves as `done` does (`"revoked"`). Closing a keeper that
    /// already ended changes nothing.
    pub fn close(&self) -> Promise {
        self.keeper.op.borrow_mut().revoke();
        self.keeper.alarm.ring();
        self.done.clone()
    }
}
