//! The `SyVaultClient` class and its driver loop.

use core::cell::RefCell;
use core::time::Duration;
use std::rc::{Rc, Weak};

use js_sys::{Function, Promise};
use serde_json::Value;
use syvault_proto::ops::{
    Background, CreateSecret, GetSecret, ListFolders, ListSecrets, Operation, ResolveReference,
    RotateSecret,
};
use syvault_proto::rand_core::UnwrapErr;
use syvault_proto::step::{Input, Step};
use syvault_proto::{Client, Error, RecordUid, Result};
use uuid::Uuid;
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::host;

/// A SyVault client for JavaScript. Each method returns a Promise; operations may run
/// concurrently and share the token, folder keys and cache of decrypted secrets.
#[wasm_bindgen]
pub struct SyVaultClient {
    shared: Rc<Shared>,
}

struct Shared {
    core: RefCell<Client>,
    fetch: Function,
    timeout: Duration,
    /// Called when an operation ends, so that operations waiting on its fetch look again.
    finished: RefCell<Vec<Function>>,
}

fn invalid(what: &'static str, reason: &str) -> JsValue {
    host::error(&Error::InvalidInput {
        what,
        reason: reason.to_owned(),
    })
}

fn rejected(error: &Error) -> Promise {
    Promise::reject(&host::error(error))
}

#[wasm_bindgen]
impl SyVaultClient {
    /// `new SyVaultClient({server, clientId, clientSecret})`, with optional `fetch` (a
    /// function used instead of the global `fetch`), `allowPlainHttp` (for a non-loopback
    /// `http://` server), `cacheTtlMs` and `requestTimeoutMs`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &JsValue) -> core::result::Result<SyVaultClient, JsValue> {
        let text = |key: &'static str| {
            host::get(options, key)
                .as_string()
                .ok_or_else(|| invalid(key, "must be a string"))
        };
        let millis = |key: &str| {
            host::get(options, key)
                .as_f64()
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        };
        let client_id: Uuid = text("clientId")?
            .trim()
            .parse()
            .map_err(|_| invalid("clientId", "not a UUID"))?;
        let mut builder = Client::builder()
            .server(text("server")?)
            .client_id(client_id)
            .client_secret(text("clientSecret")?);
        if let Some(allow) = host::get(options, "allowPlainHttp").as_bool() {
            builder = builder.allow_plain_http(allow);
        }
        if let Some(ttl) = millis("cacheTtlMs") {
            builder = builder.cache_ttl(ttl);
        }
        if let Some(timeout) = millis("requestTimeoutMs") {
            builder = builder.request_timeout(timeout);
        }
        if let Some(bytes) = host::get(options, "maxResponseBody").as_f64() {
            // Saturating float-to-int conversion: a negative or absurd limit becomes 0 or the
            // largest one, and 0 is refused by the builder.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let bytes = bytes as usize;
            builder = builder.max_response_body(bytes);
        }
        let fetch = match host::get(options, "fetch") {
            f if f.is_undefined() || f.is_null() => host::global_fetch()
                .ok_or_else(|| invalid("fetch", "the host has no global fetch; pass one"))?,
            f => f
                .dyn_into()
                .map_err(|_| invalid("fetch", "must be a function"))?,
        };
        let timeout = builder.transport_settings().request_timeout;
        let core = builder.build().map_err(|e| host::error(&e))?;
        Ok(Self {
            shared: Rc::new(Shared {
                core: RefCell::new(core),
                fetch,
                timeout,
                finished: RefCell::new(Vec::new()),
            }),
        })
    }

    /// The server URL requests go to.
    #[wasm_bindgen(getter)]
    pub fn server(&self) -> String {
        self.shared.core.borrow().server().to_owned()
    }

    /// Every secret visible to the client: `[{uid, title, recordType, folderId, folderPath,
    /// revision}]`.
    pub fn list(&self) -> Promise {
        self.run(ListSecrets::new(), |list| {
            Value::Array(list.iter().map(convert::summary).collect())
        })
    }

    /// One secret by UID, from the cache while it is fresh: `{uid, title, recordType,
    /// folderId, revision, fields: {name: value}, notes}`.
    pub fn get(&self, uid: &str) -> Promise {
        match uid.parse::<RecordUid>() {
            Ok(uid) => self.run(GetSecret::new(uid), |secret| convert::secret(&secret)),
            Err(error) => rejected(&error),
        }
    }

    /// The value a `sy://` reference selects, as a string.
    pub fn notation(&self, reference: &str) -> Promise {
        self.run(ResolveReference::new(reference), |selected| {
            convert::selected(&selected)
        })
    }

    /// The folders granted to the client: `[{folderId, parentId, name, access}]`.
    pub fn folders(&self) -> Promise {
        self.run(ListFolders::new(), |folders| {
            Value::Array(folders.iter().map(convert::folder).collect())
        })
    }

    /// Creates a secret: `create({folderId, title, fields: {name: value}, notes, recordType})`
    /// resolves to the new secret, as `get` shows it.
    pub fn create(&self, input: &JsValue) -> Promise {
        let input = host::from_js(input);
        let folder_id = input
            .get("folderId")
            .and_then(Value::as_str)
            .and_then(|id| id.parse::<Uuid>().ok());
        let Some(folder_id) = folder_id else {
            return Promise::reject(&invalid("folderId", "must be a folder UUID"));
        };
        match convert::payload(&input) {
            Ok(payload) => self.run(CreateSecret::new(folder_id, payload), |secret| {
                convert::secret(&secret)
            }),
            Err(error) => rejected(&error),
        }
    }

    /// Rotates a secret and waits for the outcome: `{rotationId, revision, secret}`. A wait
    /// that times out rejects with code `rotation_timeout` and the `rotationId` to resume.
    pub fn rotate(&self, uid: &str) -> Promise {
        match uid.parse::<RecordUid>() {
            Ok(uid) => self.run(RotateSecret::new(uid, None), |o| convert::rotation(&o)),
            Err(error) => rejected(&error),
        }
    }

    /// Waits again for a rotation whose wait timed out.
    #[wasm_bindgen(js_name = resumeRotation)]
    pub fn resume_rotation(&self, uid: &str, rotation_id: &str) -> Promise {
        let Ok(rotation_id) = rotation_id.parse::<Uuid>() else {
            return Promise::reject(&invalid("rotationId", "not a UUID"));
        };
        match uid.parse::<RecordUid>() {
            Ok(uid) => self.run(RotateSecret::new(uid, Some(rotation_id)), |o| {
                convert::rotation(&o)
            }),
            Err(error) => rejected(&error),
        }
    }

    /// Drops every cached secret and the notation index.
    #[wasm_bindgen(js_name = clearCache)]
    pub fn clear_cache(&self) {
        self.shared.core.borrow_mut().clear_cache();
    }

    fn run<O>(&self, op: O, output: impl FnOnce(O::Output) -> Value + 'static) -> Promise
    where
        O: Operation + 'static,
    {
        let shared = Rc::clone(&self.shared);
        wasm_bindgen_futures::future_to_promise(async move {
            match shared.run(op).await {
                Ok(value) => Ok(host::to_js(&output(value))),
                Err(error) => Err(host::error(&error)),
            }
        })
    }
}

impl Shared {
    /// The driver loop: step with the core borrowed (never across an await), then fetch,
    /// sleep or wait as the step says; at the end, start the background work the core wants
    /// done, if any. A JavaScript promise cannot be cancelled, so every operation runs to its
    /// end and none needs abandoning.
    async fn run<O: Operation>(self: &Rc<Self>, mut op: O) -> Result<O::Output> {
        let mut input = Input::Start;
        loop {
            let now = host::now();
            let step = op.step(
                &mut self.core.borrow_mut(),
                input,
                now,
                &mut UnwrapErr(getrandom::SysRng),
            );
            input = match step {
                Step::Send(request) => self.send(request).await,
                Step::Sleep(until) => {
                    host::wait_until(until, None).await;
                    Input::Wake
                }
                Step::Join(until) => {
                    host::wait_until(until, Some(&self.finished)).await;
                    Input::Wake
                }
                Step::Done(result) => {
                    self.wake_waiters();
                    let background = self.core.borrow_mut().take_background(now);
                    if let Some(job) = background {
                        let weak = Rc::downgrade(self);
                        wasm_bindgen_futures::spawn_local(run_background(weak, job));
                    }
                    return result;
                }
            };
        }
    }

    async fn send(&self, request: syvault_proto::step::Request) -> Input {
        let limit = self.core.borrow().max_response_body();
        host::send(&self.fetch, request, self.timeout, limit).await
    }

    /// Wakes the operations waiting for another one to finish.
    fn wake_waiters(&self) {
        for wake in self.finished.take() {
            let _ = wake.call0(&JsValue::UNDEFINED);
        }
    }
}

/// Background work, on the host's event loop: like [`Shared::run`], but holding the client only
/// for each step and each request, so that once JavaScript frees the client (`free()`, or the
/// garbage collector) the work stops at its next step. It takes the next job when one ends.
async fn run_background(weak: Weak<Shared>, mut job: Background) {
    let mut input = Input::Start;
    loop {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        let now = host::now();
        let step = job.step(
            &mut shared.core.borrow_mut(),
            input,
            now,
            &mut UnwrapErr(getrandom::SysRng),
        );
        input = match step {
            Step::Send(request) => shared.send(request).await,
            Step::Sleep(until) | Step::Join(until) => {
                drop(shared);
                host::wait_until(until, None).await;
                Input::Wake
            }
            Step::Done(_) => {
                shared.wake_waiters();
                let next = shared.core.borrow_mut().take_background(now);
                let Some(next) = next else {
                    return;
                };
                job = next;
                Input::Start
            }
        };
    }
}
