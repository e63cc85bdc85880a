//! The agent's endpoints. Each request is routed and checked (method, path, media type, size,
//! shape of the body) before the client is touched.

use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, TRANSFER_ENCODING};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use syvault_hyper::{AsyncSyVaultClient, Fields, SecretString};

use super::api::{
    self, Code, ErrorBody, MAX_BODY, MAX_REFERENCES, Outcome, ReadRequest, ResolveRequest,
    Resolved, Value,
};
use super::explain::Explainer;
use super::metrics::{Metrics, Scrape};

/// How long a request body may take to arrive once its headers have.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The body of every answer.
pub(crate) type Body = Full<Bytes>;

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct State {
    /// The client; replaced when SIGHUP brings other credentials.
    client: RwLock<AsyncSyVaultClient>,
    pub(crate) metrics: Metrics,
    started: Instant,
}

impl State {
    pub(crate) fn new(client: AsyncSyVaultClient) -> Self {
        Self {
            client: RwLock::new(client),
            metrics: Metrics::default(),
            started: Instant::now(),
        }
    }

    /// The current client (a handle on it: cloning is cheap).
    pub(crate) fn client(&self) -> AsyncSyVaultClient {
        self.client
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the client; requests in flight finish with the one they started with.
    pub(crate) fn replace_client(&self, client: AsyncSyVaultClient) -> AsyncSyVaultClient {
        let mut current = self
            .client
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut current, client)
    }

    fn scrape(&self) -> Scrape {
        let client = self.client();
        Scrape {
            client: client.stats(),
            cached_secrets: client.cached_secrets(),
            uptime: self.started.elapsed(),
            last_sync: client.last_answer(),
            snapshot_age: client
                .snapshot_taken_at()
                .and_then(|at| SystemTime::now().duration_since(at).ok()),
        }
    }
}

/// The endpoints, as routed from a method and a path.
#[derive(Debug, PartialEq, Eq)]
enum Endpoint {
    Health,
    Read,
    Resolve,
    List,
    Secret(String),
    Metrics,
}

impl Endpoint {
    /// The endpoint of a request, or the error it gets with the methods the path allows.
    fn route(method: &Method, path: &str) -> Result<Self, (Code, Option<&'static str>)> {
        let (endpoint, allowed) = match path {
            api::HEALTH => (Self::Health, Method::GET),
            api::READ => (Self::Read, Method::POST),
            api::RESOLVE => (Self::Resolve, Method::POST),
            api::SECRETS => (Self::List, Method::GET),
            api::METRICS => (Self::Metrics, Method::GET),
            _ => match path
                .strip_prefix(api::SECRETS)
                .and_then(|rest| rest.strip_prefix('/'))
            {
                Some(uid) if !uid.is_empty() && !uid.contains('/') => {
                    (Self::Secret(uid.to_owned()), Method::GET)
                }
                _ => return Err((Code::NoSuchEndpoint, None)),
            },
        };
        if *method == allowed {
            Ok(endpoint)
        } else {
            let allow = if allowed == Method::GET {
                "GET"
            } else {
                "POST"
            };
            Err((Code::MethodNotAllowed, Some(allow)))
        }
    }

    /// The endpoint's label in metrics and logs.
    fn name(&self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Read => "read",
            Self::Resolve => "resolve",
            Self::List => "list",
            Self::Secret(_) => "secret",
            Self::Metrics => "metrics",
        }
    }
}

/// Answers one request from an allowed peer.
pub(crate) async fn serve(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (name, response) = match Endpoint::route(&method, &path) {
        Ok(endpoint) => (endpoint.name(), answer(&state, endpoint, request).await),
        Err((code, allow)) => {
            state.metrics.failed(code.as_str());
            let mut response = error(code, describe_route(code, allow));
            if let Some(allow) = allow {
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allow));
            }
            ("other", response)
        }
    };
    let status = response.status().as_u16();
    state.metrics.answered(name, status);
    // Method, path and status only: a body holds references and values.
    tracing::debug!(
        %method,
        path = %logged_path(&path),
        status,
        elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "answered"
    );
    Ok(response)
}

/// A path as logged: a secret's UID is not secret, but anything else unexpected is cut.
fn logged_path(path: &str) -> &str {
    if path.len() <= 64 {
        path
    } else {
        "(long path)"
    }
}

fn describe_route(code: Code, allow: Option<&str>) -> String {
    match (code, allow) {
        (Code::MethodNotAllowed, Some(allow)) => format!("this endpoint takes {allow}"),
        _ => "no endpoint has this path; see docs/agent.md".to_owned(),
    }
}

async fn answer(state: &State, endpoint: Endpoint, request: Request<Incoming>) -> Response<Body> {
    let result = match endpoint {
        Endpoint::Health => no_body(&request).map(|()| health(state)),
        Endpoint::Metrics => no_body(&request).map(|()| metrics(state)),
        Endpoint::List => match no_body(&request) {
            Ok(()) => list(state).await,
            Err(e) => Err(e),
        },
        Endpoint::Secret(uid) => match no_body(&request) {
            Ok(()) => secret(state, &uid).await,
            Err(e) => Err(e),
        },
        Endpoint::Read => match json_body::<ReadRequest>(request).await {
            Ok(body) => read(state, &body.reference).await,
            Err(e) => Err(e),
        },
        Endpoint::Resolve => match json_body::<ResolveRequest>(request).await {
            Ok(body) => resolve(state, &body.references).await,
            Err(e) => Err(e),
        },
    };
    result.unwrap_or_else(|body| {
        state.metrics.failed(body.error.code.as_str());
        error_response(&body)
    })
}

/// A GET carries no body.
fn no_body(request: &Request<Incoming>) -> Result<(), ErrorBody> {
    let headers = request.headers();
    let empty = headers.get(TRANSFER_ENCODING).is_none()
        && headers
            .get(CONTENT_LENGTH)
            .is_none_or(|length| length.as_bytes() == b"0");
    if empty {
        Ok(())
    } else {
        Err(ErrorBody::new(Code::BadRequest, "a GET takes no body"))
    }
}

/// Reads and parses a JSON body, refusing it unannounced, too large, too slow or malformed.
async fn json_body<T: DeserializeOwned>(request: Request<Incoming>) -> Result<T, ErrorBody> {
    let json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ErrorBody::new(
            Code::UnsupportedMediaType,
            "the body must be application/json",
        ));
    }
    let too_large = || {
        ErrorBody::new(
            Code::PayloadTooLarge,
            format!("the body is larger than {MAX_BODY} bytes"),
        )
    };
    let announced = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(too_large());
    }
    let collected = tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(request.into_body(), MAX_BODY).collect(),
    )
    .await;
    let bytes = match collected {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(too_large());
        }
        Ok(Err(_)) => {
            return Err(ErrorBody::new(
                Code::BadRequest,
                "the body could not be read",
            ));
        }
        Err(_) => {
            return Err(ErrorBody::new(
                Code::BadRequest,
                "the body did not arrive in time",
            ));
        }
    };
    // serde's message may quote the body; the shape is said instead.
    serde_json::from_slice(&bytes).map_err(|_| {
        ErrorBody::new(
            Code::BadRequest,
            "the body is not the JSON this endpoint takes; see docs/agent.md",
        )
    })
}

fn health(state: &State) -> Response<Body> {
    #[derive(Serialize)]
    struct Health {
        status: &'static str,
        version: &'static str,
        server: String,
        client_id: String,
        uptime_seconds: u64,
        cached_secrets: usize,
        last_sync_age_seconds: Option<u64>,
        snapshot_age_seconds: Option<u64>,
    }
    let client = state.client();
    let last_sync_age_seconds = client
        .last_answer()
        .and_then(|at| SystemTime::now().duration_since(at).ok())
        .map(|age| age.as_secs());
    let snapshot_age_seconds = client
        .snapshot_taken_at()
        .and_then(|at| SystemTime::now().duration_since(at).ok())
        .map(|age| age.as_secs());
    json(
        StatusCode::OK,
        &Health {
            status: "ok",
            version: env!("CARGO_PKG_VERSION"),
            server: client.server(),
            client_id: client.client_id().to_string(),
            uptime_seconds: state.started.elapsed().as_secs(),
            cached_secrets: client.cached_secrets(),
            last_sync_age_seconds,
            snapshot_age_seconds,
        },
    )
}

fn metrics(state: &State) -> Response<Body> {
    let text = state.metrics.render(&state.scrape());
    let mut response = Response::new(Full::new(Bytes::from(text)));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

async fn read(state: &State, reference: &str) -> Result<Response<Body>, ErrorBody> {
    let client = state.client();
    match client.secrets().notation(reference).await {
        Ok(selected) => Ok(json(StatusCode::OK, &Value::from(selected))),
        Err(error) => Err(Explainer::new(&client).body(error).await),
    }
}

async fn resolve(state: &State, references: &[String]) -> Result<Response<Body>, ErrorBody> {
    if references.len() > MAX_REFERENCES {
        return Err(ErrorBody::new(
            Code::PayloadTooLarge,
            format!("a resolve takes at most {MAX_REFERENCES} references"),
        ));
    }
    let client = state.client();
    let results = client
        .secrets()
        .resolve_all(references)
        .await
        .map_err(|error| ErrorBody::from_error(&error, &client.server()))?;
    let mut explainer = Explainer::new(&client);
    let mut outcomes = Vec::with_capacity(results.len());
    for result in results {
        outcomes.push(match result {
            Ok(selected) => Outcome::Value(Value::from(selected)),
            Err(error) => {
                let body = explainer.body(error).await;
                state.metrics.failed(body.error.code.as_str());
                Outcome::Error(body)
            }
        });
    }
    Ok(json(StatusCode::OK, &Resolved { results: outcomes }))
}

async fn list(state: &State) -> Result<Response<Body>, ErrorBody> {
    #[derive(Serialize)]
    struct Summary {
        uid: String,
        folder_id: String,
        folder: String,
        title: String,
        #[serde(rename = "type")]
        record_type: String,
        revision: u64,
    }
    #[derive(Serialize)]
    struct Listing {
        data: Vec<Summary>,
    }
    let client = state.client();
    let summaries = client
        .secrets()
        .list()
        .await
        .map_err(|error| ErrorBody::from_error(&error, &client.server()))?;
    let data = summaries
        .into_iter()
        .map(|s| Summary {
            uid: s.uid.to_string(),
            folder_id: s.folder_id.to_string(),
            folder: s.folder_path.join("/"),
            title: s.title,
            record_type: s.record_type,
            revision: s.revision,
        })
        .collect();
    Ok(json(StatusCode::OK, &Listing { data }))
}

async fn secret(state: &State, uid: &str) -> Result<Response<Body>, ErrorBody> {
    #[derive(Serialize)]
    struct Shown<'a> {
        uid: &'a str,
        folder_id: String,
        title: &'a str,
        #[serde(rename = "type")]
        record_type: &'a str,
        revision: u64,
        fields: &'a Fields,
        notes: &'a SecretString,
    }
    #[derive(Serialize)]
    struct Data<'a> {
        data: Shown<'a>,
    }
    let client = state.client();
    let secret = client
        .secrets()
        .get(uid)
        .await
        .map_err(|error| ErrorBody::from_error(&error, &client.server()))?;
    Ok(json(
        StatusCode::OK,
        &Data {
            data: Shown {
                uid: secret.uid.as_str(),
                folder_id: secret.folder_id.to_string(),
                title: &secret.title,
                record_type: &secret.record_type,
                revision: secret.revision,
                fields: &secret.fields,
                notes: &secret.notes,
            },
        },
    ))
}

/// The answer of a refused peer: nothing of the request is looked at but its framing.
pub(crate) fn refused(uid: u32) -> Response<Body> {
    error_response(&ErrorBody::new(
        Code::Forbidden,
        format!("this agent does not serve user {uid}"),
    ))
}

/// The answer to every request once the agent is stopping.
pub(crate) fn error(code: Code, message: impl Into<String>) -> Response<Body> {
    error_response(&ErrorBody::new(code, message))
}

fn error_response(body: &ErrorBody) -> Response<Body> {
    let status =
        StatusCode::from_u16(body.error.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(status, body)
}

/// A JSON answer. It may hold secrets, so it is written into a buffer of its final size that
/// is zeroized when the last handle on the sent bytes is dropped.
fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let Ok(buffer) = crate::output::json_zeroizing(value, false) else {
        return Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Full::new(Bytes::from_static(
                br#"{"error":{"code":"internal","message":"the answer could not be written"}}"#,
            )))
            .unwrap_or_default();
    };
    let mut response = Response::new(Full::new(Bytes::from_owner(buffer)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_check_the_method_and_the_path() {
        assert_eq!(
            Endpoint::route(&Method::GET, "/v1/health"),
            Ok(Endpoint::Health)
        );
        assert_eq!(
            Endpoint::route(&Method::POST, "/v1/read"),
            Ok(Endpoint::Read)
        );
        assert_eq!(
            Endpoint::route(&Method::GET, "/v1/secrets/7Kj9mNpQ2xRs"),
            Ok(Endpoint::Secret("7Kj9mNpQ2xRs".into()))
        );
        assert_eq!(
            Endpoint::route(&Method::GET, "/v1/read"),
            Err((Code::MethodNotAllowed, Some("POST")))
        );
        assert_eq!(
            Endpoint::route(&Method::DELETE, "/v1/secrets/7Kj9mNpQ2xRs"),
            Err((Code::MethodNotAllowed, Some("GET")))
        );
        for path in [
            "/",
            "/v1",
            "/v1/secrets/",
            "/v1/secrets/a/b",
            "/v1/health/",
            "/V1/read",
        ] {
            assert_eq!(
                Endpoint::route(&Method::GET, path),
                Err((Code::NoSuchEndpoint, None)),
                "{path}"
            );
        }
    }
}
