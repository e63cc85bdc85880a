//! What the JavaScript host supplies: `fetch`, the clock, timers and error objects.

use core::cell::RefCell;
use core::time::Duration;

use http::header::{ETAG, RETRY_AFTER};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use syvault_proto::error::TransportErrorKind;
use syvault_proto::step::{Input, Request, Response};
use syvault_proto::{Error, Timestamp};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::driver::Alarm;

/// The longest delay `setTimeout` honours (a signed 32-bit count of milliseconds).
const MAX_TIMER_MS: f64 = 2_147_483_647.0;

/// The host's wall clock.
pub(crate) fn now() -> Timestamp {
    // `Date.now()` is a whole, non-negative number of milliseconds far below 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Timestamp::from_unix_millis(js_sys::Date::now().max(0.0) as u64)
}

/// `object[key]`, or `undefined`.
pub(crate) fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a property of a plain object we created cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

fn global_function(name: &str) -> Option<Function> {
    get(&js_sys::global(), name).dyn_into().ok()
}

/// The host's global `fetch`, if it has one.
pub(crate) fn global_fetch() -> Option<Function> {
    global_function("fetch")
}

/// Starts a host timer that calls `callback` after `delay`; returns its id for [`clear_timer`].
fn start_timer(callback: &Function, delay: Duration) -> JsValue {
    let ms = (delay.as_secs_f64() * 1000.0).min(MAX_TIMER_MS);
    global_function("setTimeout")
        .and_then(|set_timeout| {
            set_timeout
                .call2(&JsValue::UNDEFINED, callback, &JsValue::from_f64(ms))
                .ok()
        })
        .unwrap_or(JsValue::UNDEFINED)
}

fn clear_timer(id: &JsValue) {
    if let Some(clear) = global_function("clearTimeout") {
        let _ = clear.call1(&JsValue::UNDEFINED, id);
    }
}

/// Waits until `until`, or until one of `wakers` is called (operations that finish call them)
/// or `alarm` rings, whichever is first. The timer is cleared either way, so no idle timer
/// keeps the host alive.
pub(crate) async fn wait_until(
    until: Timestamp,
    wakers: Option<&RefCell<Vec<Function>>>,
    alarm: Option<&Alarm>,
) {
    if alarm.is_some_and(Alarm::take_ring) {
        return;
    }
    let delay = until.saturating_duration_since(now());
    let mut timer = JsValue::UNDEFINED;
    let promise = Promise::new(&mut |resolve, _reject| {
        timer = start_timer(&resolve, delay);
        if let Some(wakers) = wakers {
            wakers.borrow_mut().push(resolve.clone());
        }
        if let Some(alarm) = alarm {
            alarm.arm(resolve);
        }
    });
    let _ = JsFuture::from(promise).await;
    clear_timer(&timer);
    if let Some(alarm) = alarm {
        alarm.disarm();
        alarm.take_ring();
    }
}

/// Calls `callback(argument)` from the microtask queue, once the current step has returned and
/// the core is no longer borrowed, so that the callback may use the client.
pub(crate) fn call_soon(callback: &Function, argument: &JsValue) {
    let bound = callback.bind1(&JsValue::NULL, argument);
    if let Some(queue) = global_function("queueMicrotask") {
        let _ = queue.call1(&JsValue::UNDEFINED, &bound);
    }
}

/// Sends one request with `fetch` and reads the answer, bounded by `timeout` as a whole and by
/// `limit` bytes of body (one more is read, so the core can refuse the body as too large).
pub(crate) async fn send(
    fetch: &Function,
    request: Request,
    timeout: Duration,
    limit: usize,
) -> Input {
    let controller = get(&js_sys::global(), "AbortController")
        .dyn_into::<Function>()
        .ok()
        .and_then(|constructor| Reflect::construct(&constructor, &Array::new()).ok());
    let timer = controller.as_ref().map(|controller| {
        let abort = get(controller, "abort")
            .dyn_into::<Function>()
            .map(|abort| abort.bind0(controller));
        abort.map_or(JsValue::UNDEFINED, |abort| start_timer(&abort, timeout))
    });
    let result = exchange(fetch, &request, controller.as_ref(), limit).await;
    if let Some(timer) = timer {
        clear_timer(&timer);
    }
    match result {
        Ok(response) => Input::Response(response),
        Err(error) => Input::Failed(error),
    }
}

async fn exchange(
    fetch: &Function,
    request: &Request,
    controller: Option<&JsValue>,
    limit: usize,
) -> Result<Response, Error> {
    let init = Object::new();
    set(
        &init,
        "method",
        &JsValue::from_str(request.method().as_str()),
    );
    let headers = Object::new();
    for (name, value) in request.headers() {
        // Browsers drop the headers they forbid scripts to set (such as `User-Agent`); the
        // protocol does not depend on any of them. `to_str` borrows the core's bytes (wiped
        // when the request is dropped); the JavaScript string made from them cannot be wiped.
        if let Ok(value) = value.to_str() {
            set(&headers, name.as_str(), &JsValue::from_str(value));
        }
    }
    set(&init, "headers", &headers);
    if !request.body().is_empty() {
        set(&init, "body", &Uint8Array::from(request.body().as_slice()));
    }
    // A redirect would carry the bearer token elsewhere: it is handed to the core, or refused.
    set(&init, "redirect", &JsValue::from_str("manual"));
    // Answers come from the server, never from an HTTP cache: the core keeps its own.
    set(&init, "cache", &JsValue::from_str("no-store"));
    // The bearer token authenticates; cookies never do (protocol §3.1).
    set(&init, "credentials", &JsValue::from_str("omit"));
    if let Some(controller) = controller {
        set(&init, "signal", &get(controller, "signal"));
    }
    let url = JsValue::from_str(&request.uri().to_string());
    let promise = fetch
        .call2(&js_sys::global(), &url, &init)
        .map_err(|e| failure(&e))?;
    let response = JsFuture::from(Promise::resolve(&promise))
        .await
        .map_err(|e| failure(&e))?;

    let status = get(&response, "status").as_f64().unwrap_or(0.0);
    if get(&response, "type").as_string().as_deref() == Some("opaqueredirect") || status < 100.0 {
        return Err(transport(
            TransportErrorKind::Other,
            "the server redirected; redirects are not followed".to_owned(),
        ));
    }
    // A whole number between 100 and 999, as fetch guarantees.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let mut builder = http::Response::builder().status(status as u16);
    // Only the headers the core reads (protocol §9.7, §10.3), which are also all that a browser
    // shows a page of another origin (the server exposes these two); looking up known names
    // spares the module the parser of every header name.
    // A caller's fetch may give a plain object of lower-case names instead of `Headers`.
    let headers = get(&response, "headers");
    let lookup = get(&headers, "get").dyn_into::<Function>().ok();
    for name in [ETAG, RETRY_AFTER] {
        let key = JsValue::from_str(name.as_str());
        let value = match &lookup {
            Some(lookup) => lookup.call1(&headers, &key).ok(),
            None => Reflect::get(&headers, &key).ok(),
        };
        if let Some(value) = value.and_then(|value| value.as_string()) {
            builder = builder.header(name, value);
        }
    }
    let body = read_body(&response, limit).await?;
    builder
        .body(body)
        .map_err(|e| transport(TransportErrorKind::Other, e.to_string()))
}

/// Reads the body stream chunk by chunk, stopping one byte past `limit`. An answer without a
/// stream (from a `fetch` of the caller's that returns a plain object) is read with
/// `arrayBuffer()` if it has one, and is empty otherwise.
async fn read_body(response: &JsValue, limit: usize) -> Result<Vec<u8>, Error> {
    let stream = get(response, "body");
    if stream.is_null() || stream.is_undefined() {
        if !get(response, "arrayBuffer").is_function() {
            return Ok(Vec::new());
        }
        let buffer = JsFuture::from(Promise::resolve(&call(response, "arrayBuffer")?))
            .await
            .map_err(|e| failure(&e))?;
        let mut body = Uint8Array::new(&buffer).to_vec();
        body.truncate(limit.saturating_add(1));
        return Ok(body);
    }
    let reader = call(&stream, "getReader")?;
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(Promise::resolve(&call(&reader, "read")?))
            .await
            .map_err(|e| failure(&e))?;
        if get(&chunk, "done").as_bool() == Some(true) {
            return Ok(body);
        }
        let bytes = Uint8Array::new(&get(&chunk, "value"));
        let room = limit.saturating_add(1) - body.len();
        let take = room.min(bytes.length() as usize);
        let start = body.len();
        body.resize(start + take, 0);
        #[allow(clippy::cast_possible_truncation)]
        bytes.subarray(0, take as u32).copy_to(&mut body[start..]);
        if body.len() > limit {
            // Enough to tell the core it is too large; the rest is not downloaded.
            let _ = call(&reader, "cancel");
            return Ok(body);
        }
    }
}

fn call(object: &JsValue, method: &str) -> Result<JsValue, Error> {
    get(object, method)
        .dyn_into::<Function>()
        .map_err(|_| {
            transport(
                TransportErrorKind::Other,
                format!("the host has no {method}"),
            )
        })?
        .call0(object)
        .map_err(|e| failure(&e))
}

fn transport(kind: TransportErrorKind, message: String) -> Error {
    Error::transport(kind, message)
}

/// Classifies what `fetch` threw: aborts are timeouts; Node reports the socket error's code in
/// `cause`; a bare `TypeError` (all a browser says about a network failure) counts as a failed
/// connection, which is retried. Messages never contain headers, so no token leaks.
fn failure(error: &JsValue) -> Error {
    let name = get(error, "name").as_string().unwrap_or_default();
    let message = get(error, "message")
        .as_string()
        .unwrap_or_else(|| "fetch failed".to_owned());
    let cause = get(error, "cause");
    let code = get(&cause, "code")
        .as_string()
        .or_else(|| get(error, "code").as_string())
        .unwrap_or_default();
    let kind = match (name.as_str(), code.as_str()) {
        ("AbortError" | "TimeoutError", _) => TransportErrorKind::Timeout,
        (_, "ECONNREFUSED" | "ENOTFOUND" | "EHOSTUNREACH" | "ENETUNREACH" | "EAI_AGAIN") => {
            TransportErrorKind::Connect
        }
        (_, "ECONNRESET" | "EPIPE" | "UND_ERR_SOCKET" | "UND_ERR_CLOSED") => {
            TransportErrorKind::ConnectionClosed
        }
        (_, code) if code.contains("CERT") || code.starts_with("ERR_TLS") => {
            TransportErrorKind::Tls
        }
        ("TypeError", "") => TransportErrorKind::Connect,
        _ => TransportErrorKind::Other,
    };
    let detail = if code.is_empty() {
        message
    } else {
        format!("{message} ({code})")
    };
    transport(kind, detail)
}

/// A value as JavaScript sees it: written as JSON and parsed by the host.
pub(crate) fn to_js(value: &impl serde::Serialize) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or(JsValue::NULL)
}

/// [`to_js`], with the lease times in it (milliseconds since the epoch) as `Date`s.
pub(crate) fn to_js_with_dates(value: &impl serde::Serialize) -> JsValue {
    let object = to_js(value);
    for key in crate::convert::TIME_KEYS {
        let ms = get(&object, key);
        if ms.as_f64().is_some() {
            let _ = Reflect::set(&object, &JsValue::from_str(key), &js_sys::Date::new(&ms));
        }
    }
    object
}

/// Freezes an object and the objects it holds, one level down (a secret and its `fields`).
pub(crate) fn freeze(value: &JsValue) -> JsValue {
    if let Some(object) = value.dyn_ref::<Object>() {
        for (_, inner) in Object::entries(object)
            .iter()
            .map(|entry| Array::from(&entry))
            .map(|entry| (entry.get(0), entry.get(1)))
        {
            if let Some(inner) = inner.dyn_ref::<Object>() {
                Object::freeze(inner);
            }
        }
        Object::freeze(object);
    }
    value.clone()
}

/// A JavaScript value as JSON text (`undefined` and functions become `null`).
pub(crate) fn json(value: &JsValue) -> String {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_else(|| "null".to_owned())
}

/// The core's error as a JavaScript `Error` named `SyVaultError`, with `code`, `retryable`,
/// and `status`, `uid`, `rotationId` where they apply.
pub(crate) fn error(error: &Error) -> JsValue {
    let object = js_sys::Error::new(&error.to_string());
    object.set_name("SyVaultError");
    if let Some(fields) = to_js(&crate::convert::error(error)).dyn_ref::<Object>() {
        Object::assign(&object, fields);
    }
    object.into()
}
