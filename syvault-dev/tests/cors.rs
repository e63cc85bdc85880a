//! Cross-origin access for browsers (protocol §3.1): off by default; with an allowed origin,
//! preflights are answered and answers are exposed to that origin only, never with credentials.

mod common;

use std::time::Duration;

use common::{Fixture, Http};
use http::Method;
use syvault_dev::wire::{Access, paths};
use syvault_dev::{DevServer, Error};

const PAGE: &str = "http://127.0.0.1:5173";

async fn fixture_with_cors() -> Fixture {
    let server = DevServer::builder()
        .rotation_delay(Duration::from_millis(100))
        .cors_origin(PAGE)
        .start()
        .await
        .unwrap();
    Fixture::on(server, Access::ReadWrite).await
}

async fn preflight(http: &Http, path: &str, origin: &str, method: &str) -> common::Answer {
    http.send(
        Method::OPTIONS,
        path,
        &[
            ("origin", origin),
            ("access-control-request-method", method),
            (
                "access-control-request-headers",
                "authorization,content-type,if-none-match",
            ),
        ],
        Vec::new(),
    )
    .await
}

#[tokio::test]
async fn without_an_allowed_origin_there_is_no_cors() {
    let fx = Fixture::new(Access::Read).await;
    let answer = preflight(&fx.http, paths::secrets(), PAGE, "GET").await;
    answer.expect_error(405, "method_not_allowed");
    let auth = format!("Bearer {}", fx.client.token());
    let answer = fx
        .http
        .send(
            Method::GET,
            paths::folders(),
            &[("authorization", &auth), ("origin", PAGE)],
            Vec::new(),
        )
        .await
        .expect(200);
    assert_eq!(answer.header("access-control-allow-origin"), None);
    assert_eq!(answer.header("vary"), None);
}

#[tokio::test]
async fn a_preflight_from_the_allowed_origin_is_answered_for_every_method_and_header() {
    // Browsers send preflights without credentials: no token is needed.
    let fx = fixture_with_cors().await;
    for (path, method) in [
        (paths::secrets(), "GET"),
        (paths::secrets(), "POST"),
        (paths::folder_keys(), "PUT"),
        (
            "/api/sm/v1/dynamic/leases/00000000-0000-0000-0000-000000000000",
            "DELETE",
        ),
    ] {
        let answer = preflight(&fx.http, path, PAGE, method).await.expect(204);
        assert_eq!(answer.header("access-control-allow-origin"), Some(PAGE));
        let methods = answer.header("access-control-allow-methods").unwrap();
        assert!(methods.split(", ").any(|m| m == method), "{methods}");
        let headers = answer.header("access-control-allow-headers").unwrap();
        for needed in [
            "authorization",
            "content-type",
            "if-none-match",
            "idempotency-key",
        ] {
            assert!(
                headers.split(", ").any(|h| h == needed),
                "{needed}: {headers}"
            );
        }
        assert!(answer.header("access-control-max-age").is_some());
        assert_eq!(answer.header("access-control-allow-credentials"), None);
        assert!(answer.body.is_empty());
    }
}

#[tokio::test]
async fn another_origin_gets_no_leave() {
    let fx = fixture_with_cors().await;
    let answer = preflight(&fx.http, paths::secrets(), "http://127.0.0.1:5174", "GET").await;
    answer.expect_error(405, "method_not_allowed");
    let auth = format!("Bearer {}", fx.client.token());
    let answer = fx
        .http
        .send(
            Method::GET,
            paths::folders(),
            &[
                ("authorization", &auth),
                ("origin", "http://127.0.0.1:5174"),
            ],
            Vec::new(),
        )
        .await
        .expect(200);
    assert_eq!(answer.header("access-control-allow-origin"), None);
    // Still marked as varying by origin, so that no cache serves it to the allowed page.
    assert_eq!(answer.header("vary"), Some("origin"));
}

#[tokio::test]
async fn answers_to_the_allowed_origin_are_exposed_errors_included() {
    let fx = fixture_with_cors().await;
    let uid = fx.secret("Database", "hunter2");
    let auth = format!("Bearer {}", fx.client.token());
    let headers = [("authorization", auth.as_str()), ("origin", PAGE)];
    let answer = fx
        .http
        .send(Method::GET, &paths::secret(&uid), &headers, Vec::new())
        .await
        .expect(200);
    assert_eq!(answer.header("access-control-allow-origin"), Some(PAGE));
    let exposed = answer.header("access-control-expose-headers").unwrap();
    for needed in ["etag", "retry-after"] {
        assert!(
            exposed.split(", ").any(|h| h == needed),
            "{needed}: {exposed}"
        );
    }
    assert!(answer.header("etag").is_some());
    assert_eq!(answer.header("vary"), Some("origin"));
    assert_eq!(answer.header("access-control-allow-credentials"), None);

    // A failure reaches the page with its status and code, not as a network error.
    let missing = fx
        .http
        .send(
            Method::GET,
            &paths::secret(&"AAAAAAAAAAAA".parse().unwrap()),
            &headers,
            Vec::new(),
        )
        .await
        .expect_error(404, "secret_not_found");
    assert_eq!(missing.header("access-control-allow-origin"), Some(PAGE));
    let unauthenticated = fx
        .http
        .send(
            Method::GET,
            paths::folders(),
            &[("origin", PAGE)],
            Vec::new(),
        )
        .await
        .expect_error(401, "unauthorized");
    assert_eq!(
        unauthenticated.header("access-control-allow-origin"),
        Some(PAGE)
    );
}

#[tokio::test]
async fn an_origin_that_is_not_one_stops_the_start() {
    for bad in ["*", "http://127.0.0.1:5173/", "127.0.0.1:5173"] {
        let error = DevServer::builder()
            .cors_origin(bad)
            .start()
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidOrigin(_)), "{bad}: {error}");
    }
}
