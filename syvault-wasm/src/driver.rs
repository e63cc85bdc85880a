//! The driver loop: every operation of every class runs through [`Shared::run`] (or, for a
//! lease keeper, [`Shared::drive`]), stepping the core with the host's clock and randomness and
//! doing what each step asks with the host's `fetch` and timers.

use core::cell::{Cell, RefCell, RefMut};
use core::time::Duration;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use syvault_proto::ops::{Background, Operation};
use syvault_proto::rand_core::{CryptoRng, UnwrapErr};
use syvault_proto::step::{Input, Step};
use syvault_proto::{Client, Result, Timestamp};
use wasm_bindgen::JsValue;

use crate::hits::Hits;
use crate::host;

/// What the operations of one client share: the core client (token, folder keys, cache,
/// notation index), the host's `fetch`, and the operations waiting for another to finish.
pub(crate) struct Shared {
    pub(crate) core: RefCell<Client>,
    fetch: Function,
    timeout: Duration,
    /// Called when an operation ends, so that operations waiting on its fetch look again.
    finished: RefCell<Vec<Function>>,
    /// Reads answered in JavaScript (`hits.js`).
    pub(crate) hits: Hits,
}

/// Cuts a driver's current wait short, from outside the loop (a lease keeper being closed).
/// A ring while no wait is pending cuts the next one short.
#[derive(Default)]
pub(crate) struct Alarm {
    resolve: RefCell<Option<Function>>,
    rung: Cell<bool>,
}

impl Alarm {
    pub(crate) fn ring(&self) {
        self.rung.set(true);
        if let Some(resolve) = self.resolve.take() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }

    /// Whether it rang since the last wait; clears the ring.
    pub(crate) fn take_ring(&self) -> bool {
        self.rung.replace(false)
    }

    /// Arms the alarm with the resolve function of the wait that starts.
    pub(crate) fn arm(&self, resolve: Function) {
        *self.resolve.borrow_mut() = Some(resolve);
    }

    pub(crate) fn disarm(&self) {
        self.resolve.take();
    }
}

/// An operation as the driver steps it, its output already the JavaScript value to resolve
/// with: every operation is driven as one of these, so that the loop is compiled once, not
/// once per operation. Only `step` is asked of it (an [`Operation`]'s other methods serve
/// drivers' logs), so that nothing else of each operation is kept in the module.
pub(crate) trait JsOperation {
    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<JsValue>;
}

/// An operation with the conversion of its output.
struct Converted<O, F> {
    op: O,
    output: Option<F>,
}

impl<O, F> JsOperation for Converted<O, F>
where
    O: Operation,
    F: FnOnce(O::Output) -> JsValue,
{
    fn step(
        &mut self,
        client: &mut Client,
        input: Input,
        now: Timestamp,
        rng: &mut dyn CryptoRng,
    ) -> Step<JsValue> {
        match self.op.step(client, input, now, rng) {
            Step::Done(Ok(value)) => match self.output.take() {
                Some(output) => Step::Done(Ok(output(value))),
                None => Step::Done(Ok(JsValue::UNDEFINED)),
            },
            step => step.map(|_| JsValue::UNDEFINED),
        }
    }
}

/// `op` with `output` applied to its result.
pub(crate) fn converted<O, F>(op: O, output: F) -> Box<dyn JsOperation>
where
    O: Operation + 'static,
    F: FnOnce(O::Output) -> JsValue + 'static,
{
    Box::new(Converted {
        op,
        output: Some(output),
    })
}

impl Shared {
    pub(crate) fn new(core: Client, fetch: Function, timeout: Duration) -> Rc<Self> {
        Rc::new(Self {
            core: RefCell::new(core),
            fetch,
            timeout,
            finished: RefCell::new(Vec::new()),
            hits: Hits::default(),
        })
    }

    /// Runs `op` to its end and hands its output to JavaScript as `output` shows it.
    ///
    /// The first step runs at once: an operation that needs no request (a cached `get`)
    /// settles its Promise without a future or a trip through the task queue. Any other goes
    /// on in [`Shared::drive`]. A JavaScript Promise cannot be cancelled, so every operation
    /// runs to its end and none is ever abandoned.
    pub(crate) fn run<O, F>(self: &Rc<Self>, op: O, output: F) -> Promise
    where
        O: Operation + 'static,
        F: FnOnce(O::Output) -> JsValue + 'static,
    {
        self.run_at(op, output, host::now())
    }

    /// [`Shared::run`] with its first step at `now`: the host's clock is read once for a
    /// cache hit (each read is a call out of the module).
    pub(crate) fn run_at<O, F>(self: &Rc<Self>, mut op: O, output: F, now: Timestamp) -> Promise
    where
        O: Operation + 'static,
        F: FnOnce(O::Output) -> JsValue + 'static,
    {
        // The first step on the stack: a cache hit allocates nothing here.
        let step = match self.step_at(&mut op, Input::Start, now) {
            Step::Done(result) => {
                self.finished(now);
                return match result {
                    Ok(value) => Promise::resolve(&output(value)),
                    Err(error) => Promise::reject(&host::error(&error)),
                };
            }
            Step::Send(request) => Step::Send(request),
            Step::Sleep(until) => Step::Sleep(until),
            Step::Join(until) => Step::Join(until),
        };
        self.go_on(converted(op, output), step)
    }

    /// The rest of [`Shared::run`], out of the generic function so that the future and its
    /// task are compiled once rather than once per operation.
    fn go_on(self: &Rc<Self>, mut op: Box<dyn JsOperation>, step: Step<JsValue>) -> Promise {
        let shared = Rc::clone(self);
        wasm_bindgen_futures::future_to_promise(async move {
            shared
                .drive(op.as_mut(), step, None)
                .await
                .map_err(|error| host::error(&error))
        })
    }

    /// One step, with the core borrowed for the step only (never across an await).
    fn step<O: Operation>(&self, op: &mut O, input: Input) -> Step<O::Output> {
        self.step_at(op, input, host::now())
    }

    /// [`Shared::step`] at `now`.
    fn step_at<O: Operation>(&self, op: &mut O, input: Input, now: Timestamp) -> Step<O::Output> {
        let mut core = self.lend_core();
        let step = op.step(&mut core, input, now, &mut UnwrapErr(getrandom::SysRng));
        self.take_back_core(core);
        step
    }

    /// Runs `f` on the core, borrowed for `f` only, with the reads JavaScript answered
    /// recorded first and its tickets voided after if the cache changed.
    pub(crate) fn with_core<R>(&self, f: impl FnOnce(&mut Client) -> R) -> R {
        let mut core = self.lend_core();
        let result = f(&mut core);
        self.take_back_core(core);
        result
    }

    // The two halves of `with_core`, out of line: every operation's step is wrapped in them,
    // and they would be copied into each.
    #[inline(never)]
    fn lend_core(&self) -> RefMut<'_, Client> {
        let mut core = self.core.borrow_mut();
        self.hits.settle(&mut core);
        core
    }

    #[inline(never)]
    fn take_back_core(&self, core: RefMut<'_, Client>) {
        let generation = core.cache_generation();
        drop(core);
        self.hits.seen(generation);
    }

    /// [`Shared::step`] of an operation the driver holds.
    pub(crate) fn step_js(&self, op: &mut dyn JsOperation, input: Input) -> Step<JsValue> {
        let now = host::now();
        let mut core = self.lend_core();
        let step = op.step(&mut core, input, now, &mut UnwrapErr(getrandom::SysRng));
        self.take_back_core(core);
        step
    }

    /// Does what `step` asks, steps again with the outcome, and so on until the operation is
    /// done. An `alarm` cuts waits short (the operation is then stepped with `Wake` early).
    pub(crate) async fn drive(
        self: &Rc<Self>,
        op: &mut dyn JsOperation,
        mut step: Step<JsValue>,
        alarm: Option<&Alarm>,
    ) -> Result<JsValue> {
        loop {
            let input = match step {
                Step::Send(request) => self.send(request).await,
                Step::Sleep(until) => {
                    host::wait_until(until, None, alarm).await;
                    Input::Wake
                }
                Step::Join(until) => {
                    host::wait_until(until, Some(&self.finished), alarm).await;
                    Input::Wake
                }
                Step::Done(result) => {
                    self.finished(host::now());
                    return result;
                }
            };
            step = self.step_js(op, input);
        }
    }

    async fn send(&self, request: syvault_proto::step::Request) -> Input {
        let limit = self.core.borrow().max_response_body();
        host::send(&self.fetch, request, self.timeout, limit).await
    }

    /// An operation ended: operations joined to it look again, and the background work the
    /// core asked for (a refresh ahead of expiry) starts on the host's event loop.
    fn finished(self: &Rc<Self>, now: Timestamp) {
        self.wake_waiters();
        let job = self.with_core(|core| core.take_background(now));
        if let Some(job) = job {
            wasm_bindgen_futures::spawn_local(run_background(Rc::downgrade(self), job));
        }
    }

    fn wake_waiters(&self) {
        for wake in self.finished.take() {
            let _ = wake.call0(&JsValue::UNDEFINED);
        }
    }
}

/// Background work, holding the client only for each step and each request, so that once
/// JavaScript frees the client (`free()`, or the garbage collector) the work stops at its next
/// step. When a job ends, it takes the next one, if the core has one.
async fn run_background(weak: Weak<Shared>, mut job: Background) {
    let mut input = Input::Start;
    loop {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        input = match shared.step(&mut job, input) {
            Step::Send(request) => shared.send(request).await,
            Step::Sleep(until) | Step::Join(until) => {
                drop(shared);
                host::wait_until(until, None, None).await;
                Input::Wake
            }
            Step::Done(_) => {
                shared.wake_waiters();
                let next = shared.with_core(|core| core.take_background(host::now()));
                let Some(next) = next else {
                    return;
                };
                job = next;
                Input::Start
            }
        };
    }
}
