//! The per-request pipeline around the endpoints: counting, faults, latency and logging.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{HeaderValue, RETRY_AFTER};
use http::{Request, StatusCode};
use hyper::body::Incoming;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::auth::Authenticator;
use crate::cors::Cors;
use crate::cursor::CursorKey;
use crate::faults::{FaultKind, Faults};
use crate::routes::{self, Answer, Failure};
use crate::state::Store;
use crate::stats::Stats;

/// What request handlers can reach: ciphertext state, token checks, the fault switches and
/// the rotation queue. No admin key material.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) store: Arc<Store>,
    pub(crate) auth: Authenticator,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) rotations: mpsc::UnboundedSender<Uuid>,
    /// Authenticates list cursors and sync tokens.
    pub(crate) cursors: CursorKey,
    /// Whether listings are incremental (see `DevServerBuilder::incremental_listings`).
    pub(crate) incremental: bool,
    /// How long a request body may take to arrive.
    pub(crate) body_timeout: Duration,
    pub(crate) dynamic: Arc<crate::dynamic::Dynamic>,
    /// The browser origins allowed to call the API.
    pub(crate) cors: Cors,
}

/// The error that makes hyper close a connection without answering (an injected fault).
#[derive(Debug)]
pub(crate) struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Answers one request, applying any fault that is due.
pub(crate) async fn serve(
    app: Arc<App>,
    request: Request<Incoming>,
) -> Result<Answer, DropConnection> {
    let started = Instant::now();
    let method = request.method().clone();
    // Only the path is logged: the query may carry a cursor, and headers carry the token.
    let path = request.uri().path().to_owned();
    app.stats.record(method.as_str(), &path);
    let origin = app.cors.allowed(request.headers());
    if let Some(answer) = app.cors.preflight(&method, request.headers()) {
        log(&method, &path, answer.status(), started);
        return Ok(answer);
    }
    let fault = app.faults.take(&path);
    let latency = app.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut answer = match fault {
        Some(FaultKind::DropConnection) => {
            tracing::info!(%method, %path, "dropping the connection (injected fault)");
            return Err(DropConnection);
        }
        Some(FaultKind::Status {
            status,
            retry_after,
        }) => {
            let mut answer = Failure::new(status.code(), "injected fault").into_answer();
            if let Some(secs) = retry_after {
                answer
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            answer
        }
        Some(FaultKind::TruncateBody) => {
            let (parts, body) = routes::handle(&app, request).await.into_parts();
            Answer::from_parts(parts, body.truncate())
        }
        Some(FaultKind::CorruptCiphertext) | None => routes::handle(&app, request).await,
    };
    app.cors.expose(origin, &mut answer);
    log(&method, &path, answer.status(), started);
    Ok(answer)
}

fn log(method: &http::Method, path: &str, status: StatusCode, started: Instant) {
    let elapsed_ms = started.elapsed().as_millis();
    if status.is_server_error() {
        tracing::warn!(%method, path, status = status.as_u16(), elapsed_ms, "request");
    } else {
        tracing::info!(%method, path, status = status.as_u16(), elapsed_ms, "request");
    }
}
