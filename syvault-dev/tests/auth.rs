//! JWT verification as specified: every rejection, and the loopback audience aliases.

mod common;

use common::{Fixture, now_secs, rng};
use syvault_dev::wire::{Access, paths};
use syvault_proto::jwt::{self, Claims};
use syvault_proto::keys::ClientKey;

#[tokio::test]
async fn tokens_are_verified_exactly() {
    let fx = Fixture::new(Access::Read).await;
    let aud = fx.client.audience.clone();
    let now = now_secs();
    let folders = paths::folders();

    // A valid token, reused, keeps working.
    let token = fx.client.token();
    for _ in 0..3 {
        fx.http.get(folders, &token).await.expect(200);
    }

    let expired = fx.client.token_with(now - 700, now - 100, &aud);
    fx.http
        .get(folders, &expired)
        .await
        .expect_error(401, "token_expired");

    let rejected = [
        fx.client
            .token_with(now, now + 600, "https://other.example.com"),
        fx.client.token_with(now, now + 3601, &aud),
        fx.client.token_with(now, now, &aud),
        fx.client.token_with(now + 120, now + 600, &aud),
        jwt::sign(
            &ClientKey::generate(&mut rng()),
            &Claims::new(fx.client.client_id, aud.clone(), now, now + 600),
        )
        .expose()
        .to_owned(),
        jwt::sign(
            &fx.client.key,
            &Claims::new(uuid::Uuid::from_u128(42), aud.clone(), now, now + 600),
        )
        .expose()
        .to_owned(),
        "not.a.token".to_owned(),
        format!("{token}x"),
    ];
    for bad in &rejected {
        fx.http
            .get(folders, bad)
            .await
            .expect_error(401, "unauthorized");
    }

    // Missing or non-Bearer authorization.
    fx.http
        .send(http::Method::GET, folders, &[], Vec::new())
        .await
        .expect_error(401, "unauthorized");
    let basic = format!("Basic {token}");
    fx.http
        .send(
            http::Method::GET,
            folders,
            &[("authorization", &basic)],
            Vec::new(),
        )
        .await
        .expect_error(401, "unauthorized");
    // 60 s of skew on `iat` is tolerated.
    let skewed = fx.client.token_with(now + 50, now + 600, &aud);
    fx.http.get(folders, &skewed).await.expect(200);
}

#[tokio::test]
async fn loopback_names_are_equivalent_audiences() {
    let fx = Fixture::new(Access::Read).await;
    let port = fx.server.addr().port();
    let now = now_secs();
    for aud in [
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ] {
        let token = fx.client.token_with(now, now + 600, &aud);
        fx.http.get(paths::folders(), &token).await.expect(200);
    }
    let other_port =
        fx.client
            .token_with(now, now + 600, &format!("http://localhost:{}", port + 1));
    fx.http
        .get(paths::folders(), &other_port)
        .await
        .expect_error(401, "unauthorized");
}
