//! The `SyVaultClient` class: construction from credentials, bootstrap, and the secret
//! operations.

use core::cell::{Cell, RefCell};
use core::time::Duration;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use js_sys::{Function, Promise};
use syvault_proto::builder::ClientBuilder;
use syvault_proto::model::{Credentials, Secret};
use syvault_proto::ops::{
    Bootstrap, CreateSecret, GetSecret, ListFolders, ListSecrets, ResolveReference, RotateSecret,
};
use syvault_proto::{Client, Error, RecordUid};
use uuid::Uuid;
use wasm_bindgen::prelude::*;

use crate::driver::Shared;
use crate::dynamic::Dynamic;
use crate::{convert, host, server};

/// A SyVault client for JavaScript. Each method returns a Promise; operations may run
/// concurrently and share the token, folder keys and cache of decrypted secrets.
#[wasm_bindgen]
pub struct SyVaultClient {
    shared: Rc<Shared>,
    client_id: Uuid,
    objects: Rc<Objects>,
}

/// The object `get` last gave for each secret, given again while the core's cache holds the
/// same secret: a cached read converts nothing.
struct Objects {
    map: RefCell<HashMap<RecordUid, (Arc<Secret>, JsValue)>>,
    /// Entries past which those the core no longer caches are dropped.
    prune_at: Cell<usize>,
}

/// Entries of the object cache kept before the first pruning.
const OBJECTS_BEFORE_PRUNING: usize = 64;

impl Objects {
    fn new() -> Rc<Self> {
        Rc::new(Self {
            map: RefCell::default(),
            prune_at: Cell::new(OBJECTS_BEFORE_PRUNING),
        })
    }

    /// The frozen object of `secret`: the one given before if the core still holds this very
    /// secret (same `Arc`), otherwise a new one.
    fn object(&self, secret: Arc<Secret>) -> JsValue {
        if let Some(object) = self.known(&secret) {
            return object;
        }
        let object = host::freeze(&host::to_js(&convert::secret(&secret)));
        let mut map = self.map.borrow_mut();
        if map.len() >= self.prune_at.get() {
            // Only this map holds the secrets the core has dropped from its cache.
            map.retain(|_, (held, _)| Arc::strong_count(held) > 1);
            self.prune_at
                .set((map.len() * 2).max(OBJECTS_BEFORE_PRUNING));
        }
        map.insert(secret.uid, (secret, object.clone()));
        object
    }

    /// The object given for `secret` if the core still holds this very secret.
    fn known(&self, secret: &Arc<Secret>) -> Option<JsValue> {
        match self.map.borrow().get(&secret.uid) {
            Some((known, object)) if Arc::ptr_eq(known, secret) => Some(object.clone()),
            _ => None,
        }
    }

    fn clear(&self) {
        self.map.borrow_mut().clear();
    }
}

pub(crate) fn invalid(what: &'static str, reason: &str) -> JsValue {
    host::error(&crate::convert::invalid_input(what, reason.to_owned()))
}

fn rejected(error: &Error) -> Promise {
    Promise::reject(&host::error(error))
}

/// The credentials argument: the credentials file's object or its JSON text.
fn credentials(value: &JsValue) -> Result<Credentials, JsValue> {
    let text = if let Some(text) = value.as_string() {
        text
    } else if value.is_object() {
        host::json(value)
    } else {
        return Err(invalid(
            "credentials",
            "must be the credentials file's object {server, client_id, client_secret} or its JSON text",
        ));
    };
    Credentials::from_json(&text).map_err(|e| host::error(&e))
}

/// A number option, if set (`undefined` and `null` are unset): `accept` turns it into the
/// option's value, or refuses it, and then the error says `reason`.
fn number<T>(
    options: &JsValue,
    key: &'static str,
    reason: &str,
    accept: impl FnOnce(f64) -> Option<T>,
) -> Result<Option<T>, JsValue> {
    let value = host::get(options, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_f64()
        .and_then(accept)
        .map(Some)
        .ok_or_else(|| invalid(key, reason))
}

/// A duration option in milliseconds: a finite, non-negative number.
fn millis(options: &JsValue, key: &'static str) -> Result<Option<Duration>, JsValue> {
    number(
        options,
        key,
        "must be a non-negative number of milliseconds",
        |ms| {
            // Whole milliseconds, rounded up so that a positive option stays positive; `as`
            // saturates past u64 (half a billion years).
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            (ms.is_finite() && ms >= 0.0).then(|| Duration::from_millis(ms.ceil() as u64))
        },
    )
}

/// A whole-number option of at least `min` (at most what memory's address space counts).
fn count(
    options: &JsValue,
    key: &'static str,
    min: f64,
    reason: &str,
) -> Result<Option<usize>, JsValue> {
    number(options, key, reason, |n| {
        // Whole and within u32, so the conversion is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        (n.fract() == 0.0 && n >= min && n <= f64::from(u32::MAX)).then_some(n as usize)
    })
}

/// Applies the options every client and bootstrap takes, checks the plain-http rule for
/// `server`, and picks the `fetch` to use.
pub(crate) fn configure(
    mut builder: ClientBuilder,
    server: &str,
    options: &JsValue,
) -> Result<(ClientBuilder, Function), JsValue> {
    if !(options.is_undefined() || options.is_null() || options.is_object()) {
        return Err(invalid("options", "must be an object"));
    }
    let allow = match host::get(options, "allowPlainHttp") {
        v if v.is_undefined() || v.is_null() => false,
        v => v
            .as_bool()
            .ok_or_else(|| invalid("allowPlainHttp", "must be a boolean"))?,
    };
    server::check_plain_http(server, allow).map_err(|e| host::error(&e))?;
    builder = builder.allow_plain_http(allow);
    if let Some(ttl) = millis(options, "cacheTtlMs")? {
        builder = builder.cache_ttl(ttl);
    }
    if let Some(stale) = millis(options, "maxStaleMs")? {
        builder = builder.max_stale(stale);
    }
    if let Some(timeout) = millis(options, "requestTimeoutMs")? {
        builder = builder.request_timeout(timeout);
    }
    if let Some(entries) = count(
        options,
        "cacheMaxEntries",
        0.0,
        "must be a whole number of secrets",
    )? {
        builder = builder.cache_max_entries(entries);
    }
    if let Some(bytes) = count(
        options,
        "maxResponseBody",
        1.0,
        "must be a whole number of bytes",
    )? {
        builder = builder.max_response_body(bytes);
    }
    let fetch = match host::get(options, "fetch") {
        f if f.is_undefined() || f.is_null() => host::global_fetch()
            .ok_or_else(|| invalid("fetch", "the host has no global fetch; pass one"))?,
        f => f
            .dyn_into()
            .map_err(|_| invalid("fetch", "must be a function"))?,
    };
    Ok((builder, fetch))
}

#[wasm_bindgen]
impl SyVaultClient {
    /// `new SyVaultClient(credentials, options?)`: `credentials` is the credentials file's
    /// object `{server, client_id, client_secret}` or its JSON text; `options` may set
    /// `fetch`, `allowPlainHttp`, `cacheTtlMs`, `cacheMaxEntries`, `maxStaleMs`,
    /// `requestTimeoutMs` and `maxResponseBody`. Nothing is sent yet.
    #[wasm_bindgen(constructor)]
    pub fn new(credentials: &JsValue, options: &JsValue) -> Result<SyVaultClient, JsValue> {
        let credentials = self::credentials(credentials)?;
        let client_id = credentials.client_id;
        let (builder, fetch) = configure(
            Client::builder().credentials(credentials.clone()),
            &credentials.server,
            options,
        )?;
        let timeout = builder.transport_settings().request_timeout;
        let core = builder.build().map_err(|e| host::error(&e))?;
        Ok(Self {
            shared: Shared::new(core, fetch, timeout),
            client_id,
            objects: Objects::new(),
        })
    }

    /// Turns a one-time token into a new client's credentials, in the shape of the
    /// credentials file: store them (they hold the client's private key) and pass them to
    /// `new SyVaultClient`. `options` as for the constructor (`fetch`, `allowPlainHttp`,
    /// `requestTimeoutMs`, …).
    pub fn bootstrap(server: &str, one_time_token: &str, options: &JsValue) -> Promise {
        let start = || -> Result<Rc<Shared>, JsValue> {
            let (builder, fetch) = configure(Client::builder().server(server), server, options)?;
            let timeout = builder.transport_settings().request_timeout;
            let core = builder.bootstrap_client().map_err(|e| host::error(&e))?;
            Ok(Shared::new(core, fetch, timeout))
        };
        match start() {
            Ok(shared) => shared.run(Bootstrap::new(one_time_token), |credentials| {
                host::to_js(&credentials)
            }),
            Err(error) => Promise::reject(&error),
        }
    }

    /// The server URL requests go to.
    #[wasm_bindgen(getter)]
    pub fn server(&self) -> String {
        self.shared.core.borrow().server().to_owned()
    }

    /// The client id.
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.client_id.to_string()
    }

    /// Every secret visible to the client: `[{uid, title, recordType, folderId, folderPath,
    /// revision}]`.
    pub fn list(&self) -> Promise {
        self.shared.run(ListSecrets::new(), |list| {
            host::to_js(&list.iter().map(convert::summary).collect::<Vec<_>>())
        })
    }

    /// One secret by UID, from the cache while it is fresh: `{uid, title, recordType,
    /// folderId, revision, fields: {name: value}, notes}`, frozen. While the cache holds the
    /// same secret, every `get` gives the same object.
    pub fn get(&self, uid: &str) -> Promise {
        let uid = match uid.parse::<RecordUid>() {
            Ok(uid) => uid,
            Err(error) => return rejected(&error),
        };
        let now = host::now();
        let objects = Rc::clone(&self.objects);
        let read = self.shared.run_at(
            GetSecret::new(uid),
            move |secret| objects.object(secret),
            now,
        );
        self.shared
            .hits
            .offer(&self.shared.core.borrow(), &uid, now, |secret| {
                self.objects.known(secret)
            });
        read
    }

    /// Hands reads of fresh secrets to `hits.js` (the package's entry points install it),
    /// through its functions `ticket(uid, object, untilMs)`, `forget()` and `take()`.
    #[wasm_bindgen(js_name = __answerHits, skip_typescript)]
    pub fn answer_hits(&self, ticket: Function, forget: Function, take: Function) {
        self.shared
            .hits
            .attach(ticket, forget, take, &self.shared.core.borrow());
    }

    /// `hits.js` answered a read since the module last took them.
    #[wasm_bindgen(js_name = __hitsAnswered, skip_typescript)]
    pub fn hits_answered(&self) {
        self.shared.hits.answered();
    }

    /// The value a `sy://` reference selects, as a string.
    pub fn notation(&self, reference: &str) -> Promise {
        self.shared
            .run(ResolveReference::new(reference), |selected| {
                JsValue::from_str(selected.expose())
            })
    }

    /// The folders granted to the client: `[{folderId, parentId, name, access}]`.
    pub fn folders(&self) -> Promise {
        self.shared.run(ListFolders::new(), |folders| {
            host::to_js(&folders.iter().map(convert::folder).collect::<Vec<_>>())
        })
    }

    /// Creates a secret: `create({folderId, title, fields: {name: value}, notes, recordType})`
    /// resolves to the new secret, as `get` shows it.
    pub fn create(&self, input: &JsValue) -> Promise {
        match convert::new_secret(host::json(input).as_bytes()) {
            Ok((folder_id, payload)) => self
                .shared
                .run(CreateSecret::new(folder_id, payload), |secret| {
                    host::to_js(&convert::secret(&secret))
                }),
            Err(error) => rejected(&error),
        }
    }

    /// Rotates a secret and waits for the outcome: `{rotationId, revision, secret}`. A wait
    /// that times out rejects with code `rotation_timeout` and the `rotationId` to resume.
    pub fn rotate(&self, uid: &str) -> Promise {
        match uid.parse::<RecordUid>() {
            Ok(uid) => self.shared.run(RotateSecret::new(uid, None), |outcome| {
                host::to_js(&convert::rotation(&outcome))
            }),
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
            Ok(uid) => self
                .shared
                .run(RotateSecret::new(uid, Some(rotation_id)), |outcome| {
                    host::to_js(&convert::rotation(&outcome))
                }),
            Err(error) => rejected(&error),
        }
    }

    /// The dynamic-secret operations: leases on database targets.
    pub fn dynamic(&self) -> Dynamic {
        Dynamic::new(Rc::clone(&self.shared))
    }

    /// Drops every cached secret and the notation index.
    #[wasm_bindgen(js_name = clearCache)]
    pub fn clear_cache(&self) {
        self.shared.with_core(Client::clear_cache);
        self.objects.clear();
    }
}
