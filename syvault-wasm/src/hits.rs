//! Reads answered in JavaScript. A call into the module and back costs more than a cached read
//! itself, so `hits.js` answers a repeated `get` of a fresh secret on its side of the boundary,
//! from tickets the module hands out: the object the module gave for a UID and the instant
//! until which the core would answer a read of it as a plain hit ([`Client::fresh_hit`]). The
//! module takes the tickets back when the core's cache changes, and before the core does
//! anything else it takes the reads answered in JavaScript and records them as the core's own
//! (hits, and the use order that eviction follows).

use core::cell::{Cell, RefCell};
use std::sync::Arc;

use js_sys::{Array, Function};
use syvault_proto::model::Secret;
use syvault_proto::{Client, RecordUid, Timestamp};
use wasm_bindgen::{JsCast, JsValue};

/// `hits.js`'s functions.
struct Hooks {
    /// `ticket(uid, object, untilMs)`: `object` may be given for `uid` until `untilMs`.
    ticket: Function,
    /// `forget()`: every ticket is void.
    forget: Function,
    /// `take()`: the reads answered since the last take, `[uid, reads, uid, reads, …]` from
    /// the least to the most recently read.
    take: Function,
}

/// One client's side of the arrangement.
#[derive(Default)]
pub(crate) struct Hits {
    hooks: RefCell<Option<Hooks>>,
    /// Whether JavaScript answered reads since the last take (it says so once per take).
    answered: Cell<bool>,
    /// The cache generation the tickets handed out belong to.
    generation: Cell<u64>,
}

impl Hits {
    /// Starts handing out tickets to `hits.js`'s functions.
    pub(crate) fn attach(&self, ticket: Function, forget: Function, take: Function, core: &Client) {
        self.generation.set(core.cache_generation());
        *self.hooks.borrow_mut() = Some(Hooks {
            ticket,
            forget,
            take,
        });
    }

    /// JavaScript answered a read since the last take.
    pub(crate) fn answered(&self) {
        self.answered.set(true);
    }

    /// Records the reads answered in JavaScript, before the core is used.
    pub(crate) fn settle(&self, core: &mut Client) {
        if !self.answered.take() {
            return;
        }
        let Some(Ok(taken)) = self
            .hooks
            .borrow()
            .as_ref()
            .map(|h| h.take.call0(&JsValue::NULL))
        else {
            return;
        };
        let Ok(taken) = taken.dyn_into::<Array>() else {
            return;
        };
        let mut pairs = taken.iter();
        while let (Some(uid), Some(reads)) = (pairs.next(), pairs.next()) {
            let uid = uid
                .as_string()
                .and_then(|uid| uid.parse::<RecordUid>().ok());
            // A whole, positive number of reads, counted by `hits.js`.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let reads = reads.as_f64().filter(|r| *r >= 1.0).map(|r| r as u64);
            if let (Some(uid), Some(reads)) = (uid, reads) {
                core.record_hits(&uid, reads);
            }
        }
    }

    /// Voids the tickets if the cache changed since they were handed out (after the core was
    /// used).
    pub(crate) fn seen(&self, generation: u64) {
        if self.generation.replace(generation) != generation
            && let Some(hooks) = self.hooks.borrow().as_ref()
        {
            let _ = hooks.forget.call0(&JsValue::NULL);
        }
    }

    /// Hands out a ticket for `uid` if the core would answer a read of it at `now` as a plain
    /// hit, with the object `object_of` gives for the cached secret (none if no object was made
    /// for this very secret).
    pub(crate) fn offer(
        &self,
        core: &Client,
        uid: &RecordUid,
        now: Timestamp,
        object_of: impl FnOnce(&Arc<Secret>) -> Option<JsValue>,
    ) {
        let hooks = self.hooks.borrow();
        let Some(hooks) = hooks.as_ref() else {
            return;
        };
        if let Some((secret, until)) = core.fresh_hit(uid, now)
            && let Some(object) = object_of(secret)
        {
            // Milliseconds since the epoch are far below 2^53: exact as a JavaScript number.
            #[allow(clippy::cast_precision_loss)]
            let until = until.as_unix_millis() as f64;
            let _ = hooks.ticket.call3(
                &JsValue::NULL,
                &JsValue::from_str(uid.as_str()),
                &object,
                &JsValue::from_f64(until),
            );
        }
    }
}
