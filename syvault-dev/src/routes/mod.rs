//! The endpoints under `/api/sm/v1`, their dispatch and the error envelope.
//!
//! Every failure is answered with `{"error":{"code","message","details"?}}` and the status of
//! its code. Codes outside the protocol's list are used only for requests no endpoint can take:
//! `not_found` (404, unknown path), `method_not_allowed` (405, with `Allow`) and
//! `payload_too_large` (413, body over 1 MiB) and `request_timeout` (408, body not received
//! within the body timeout; the connection is then closed).

mod bootstrap;
mod folders;
mod leases;
mod rotations;
mod secrets;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use syvault_proto::error::{ErrorCode, ErrorDetails};
use syvault_proto::wire::{self, WireBody};

use crate::body::ResponseBody;
use crate::clock;
use crate::service::App;

/// The largest request body accepted.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The prefix of every endpoint.
const BASE: &str = "/api/sm/v1";

/// An answer.
pub(crate) type Answer = Response<ResponseBody>;

/// An error answer about to be sent.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    details: Option<ErrorDetails>,
    allow: Option<&'static str>,
}

impl Failure {
    /// A failure with `code`, sent with the status the protocol gives that code.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let status = code
            .status()
            .and_then(|status| StatusCode::from_u16(status).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::with_status(status, code, message)
    }

    fn with_status(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            allow: None,
        }
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub(crate) fn unauthorized(message: &str) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub(crate) fn token_expired() -> Self {
        Self::new(ErrorCode::TokenExpired, "token expired")
    }

    pub(crate) fn forbidden(message: &str) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub(crate) fn secret_not_found() -> Self {
        Self::new(ErrorCode::SecretNotFound, "no such secret")
    }

    pub(crate) fn folder_not_found() -> Self {
        Self::new(ErrorCode::FolderNotFound, "no such folder")
    }

    pub(crate) fn sync_token_expired() -> Self {
        Self::new(
            ErrorCode::SyncTokenExpired,
            "the sync token is older than the changes this server keeps; list in full",
        )
    }

    pub(crate) fn rotation_not_found() -> Self {
        Self::new(ErrorCode::RotationNotFound, "no such rotation")
    }

    /// Attaches a `details` object (a value that does not serialize attaches none).
    pub(crate) fn details(mut self, details: &serde_json::Value) -> Self {
        self.details = ErrorDetails::new(details).ok();
        self
    }

    /// The answer carrying this failure.
    pub(crate) fn into_answer(self) -> Answer {
        let body = wire::error_body(self.code, &self.message, self.details);
        let mut answer = json_bytes(self.status, body);
        if let Some(allow) = self.allow {
            answer
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static(allow));
        }
        answer
    }
}

/// A JSON answer with `status`.
pub(crate) fn json<T: WireBody>(status: StatusCode, body: &T) -> Answer {
    json_bytes(status, wire::to_body(body))
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Answer {
    let mut answer = Response::new(ResponseBody::full(body));
    *answer.status_mut() = status;
    let headers = answer.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    answer
}

/// An answer without a body.
pub(crate) fn empty(status: StatusCode) -> Answer {
    let mut answer = Response::new(ResponseBody::empty());
    *answer.status_mut() = status;
    answer
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    answer
}

/// Reads a request body of JSON type `T`; any parse failure is a 400 whose message describes
/// the problem without quoting the body.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    wire::parse_request(body).map_err(|err| match err {
        syvault_proto::Error::InvalidInput { reason, .. } => {
            Failure::invalid_request(format!("invalid request body: {reason}"))
        }
        _ => Failure::invalid_request("invalid request body"),
    })
}

/// Where a request goes: bootstrap, or an endpoint that needs a client's token.
enum Endpoint<'a> {
    Bootstrap,
    Client(ClientEndpoint<'a>),
}

enum ClientEndpoint<'a> {
    FolderKeys,
    Folders,
    Secrets,
    Secret(&'a str),
    Rotate(&'a str),
    Rotation(&'a str),
    Lease,
    Leases,
    LeaseItem(&'a str),
    LeaseRenew(&'a str),
}

impl<'a> Endpoint<'a> {
    fn resolve(path: &'a str) -> Option<Self> {
        use ClientEndpoint as C;
        let rest = path.strip_prefix(BASE)?.strip_prefix('/')?;
        if let Some(dynamic) = rest.strip_prefix("dynamic/") {
            return Self::resolve_dynamic(dynamic);
        }
        let mut segments = rest.split('/');
        let endpoint = match (segments.next()?, segments.next(), segments.next()) {
            ("bootstrap", None, _) => Self::Bootstrap,
            ("folder-keys", None, _) => Self::Client(C::FolderKeys),
            ("folders", None, _) => Self::Client(C::Folders),
            ("secrets", None, _) => Self::Client(C::Secrets),
            ("secrets", Some(uid), None) if !uid.is_empty() => Self::Client(C::Secret(uid)),
            ("secrets", Some(uid), Some("rotate")) if !uid.is_empty() => {
                Self::Client(C::Rotate(uid))
            }
            ("rotations", Some(id), None) if !id.is_empty() => Self::Client(C::Rotation(id)),
            _ => return None,
        };
        segments.next().is_none().then_some(endpoint)
    }

    /// The lease endpoints, below `/dynamic/`.
    fn resolve_dynamic(rest: &'a str) -> Option<Self> {
        use ClientEndpoint as C;
        let endpoint = match rest.split('/').collect::<Vec<_>>().as_slice() {
            ["lease"] => C::Lease,
            ["leases"] => C::Leases,
            ["leases", id] if !id.is_empty() => C::LeaseItem(id),
            ["leases", id, "renew"] if !id.is_empty() => C::LeaseRenew(id),
            _ => return None,
        };
        Some(Self::Client(endpoint))
    }

    /// The methods the endpoint takes, as listed in `Allow`.
    fn allow(&self) -> &'static str {
        use ClientEndpoint as C;
        match self {
            Self::Bootstrap | Self::Client(C::Rotate(_) | C::Lease | C::LeaseRenew(_)) => "POST",
            Self::Client(C::LeaseItem(_)) => "DELETE",
            Self::Client(C::FolderKeys) => "PUT",
            Self::Client(C::Folders | C::Secret(_) | C::Rotation(_) | C::Leases) => "GET",
            Self::Client(C::Secrets) => "GET, POST",
        }
    }
}

/// Answers one request.
pub(crate) async fn handle(app: &App, request: Request<Incoming>) -> Answer {
    match dispatch(app, request).await {
        Ok(answer) => answer,
        Err(failure) => failure.into_answer(),
    }
}

async fn dispatch(app: &App, request: Request<Incoming>) -> Result<Answer, Failure> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let endpoint = Endpoint::resolve(path).ok_or_else(|| {
        Failure::with_status(
            StatusCode::NOT_FOUND,
            ErrorCode::Other("not_found".into()),
            "no such endpoint",
        )
    })?;
    let allow = endpoint.allow();
    if !allow
        .split(", ")
        .any(|method| method == parts.method.as_str())
    {
        let mut failure = Failure::with_status(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Other("method_not_allowed".into()),
            format!("this endpoint takes {allow}"),
        );
        failure.allow = Some(allow);
        return Err(failure);
    }
    let now = clock::now();
    let endpoint = match endpoint {
        Endpoint::Bootstrap => {
            let body = read_body(app, &parts.headers, body).await?;
            return bootstrap::bootstrap(app, &body, now);
        }
        Endpoint::Client(endpoint) => endpoint,
    };
    let client_id = app.auth.authenticate(&parts.headers, &app.store, now)?;
    match endpoint {
        ClientEndpoint::FolderKeys => {
            let body = read_body(app, &parts.headers, body).await?;
            folders::upload(app, client_id, &body)
        }
        ClientEndpoint::Folders => Ok(folders::list(app, client_id)),
        ClientEndpoint::Secrets if parts.method == Method::GET => {
            secrets::list(app, client_id, parts.uri.query(), path, now)
        }
        ClientEndpoint::Secrets => {
            let body = read_body(app, &parts.headers, body).await?;
            secrets::create(app, client_id, &body, path, now)
        }
        ClientEndpoint::Secret(uid) => secrets::get(app, client_id, uid, &parts.headers, path),
        ClientEndpoint::Rotate(uid) => rotations::start(app, client_id, uid),
        ClientEndpoint::Rotation(id) => rotations::get(app, client_id, id),
        ClientEndpoint::Lease => {
            let body = read_body(app, &parts.headers, body).await?;
            leases::create(app, client_id, &parts.headers, &body, now).await
        }
        ClientEndpoint::Leases => Ok(leases::list(app, client_id, now)),
        ClientEndpoint::LeaseItem(id) => leases::revoke(app, client_id, id).await,
        ClientEndpoint::LeaseRenew(id) => {
            let body = read_body(app, &parts.headers, body).await?;
            leases::renew(app, client_id, id, &body, now).await
        }
    }
}

/// Reads a request body of at most [`MAX_BODY`] bytes within the body timeout.
async fn read_body(app: &App, headers: &http::HeaderMap, body: Incoming) -> Result<Bytes, Failure> {
    let too_large = || {
        Failure::with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Other("payload_too_large".into()),
            "request body exceeds 1 MiB",
        )
    };
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY as u64) {
        return Err(too_large());
    }
    let collect = Limited::new(body, MAX_BODY).collect();
    // The body is read before authentication, so without a deadline anyone could hold a
    // connection open by announcing a body and sending it a byte at a time.
    let Ok(collected) = tokio::time::timeout(app.body_timeout, collect).await else {
        return Err(Failure::with_status(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::Other("request_timeout".into()),
            "the request body did not arrive in time",
        ));
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(Failure::invalid_request(
            "the request body could not be read",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_exactly() {
        let ok = [
            "/api/sm/v1/bootstrap",
            "/api/sm/v1/folder-keys",
            "/api/sm/v1/folders",
            "/api/sm/v1/secrets",
            "/api/sm/v1/secrets/7Kj9mNpQ2xRs",
            "/api/sm/v1/secrets/7Kj9mNpQ2xRs/rotate",
            "/api/sm/v1/rotations/0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60",
            "/api/sm/v1/dynamic/lease",
            "/api/sm/v1/dynamic/leases",
            "/api/sm/v1/dynamic/leases/0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60",
            "/api/sm/v1/dynamic/leases/0b6f5f4e-8a53-4a8e-9a4c-2f7d1c3e5b60/renew",
        ];
        for path in ok {
            assert!(Endpoint::resolve(path).is_some(), "{path}");
        }
        let bad = [
            "/",
            "/api/sm/v1",
            "/api/sm/v1/",
            "/api/sm/v1/secrets/",
            "/api/sm/v1/secrets//rotate",
            "/api/sm/v1/secrets/x/rotate/more",
            "/api/sm/v1/secrets/x/other",
            "/api/sm/v1/rotations",
            "/api/sm/v1/rotations/",
            "/api/sm/v1/dynamic/leases/",
            "/api/sm/v1/dynamic/leases//renew",
            "/api/sm/v1/folders/x",
            "/api/sm/v2/folders",
            "/api/sm/v1folders",
        ];
        for path in bad {
            assert!(Endpoint::resolve(path).is_none(), "{path}");
        }
    }
}
