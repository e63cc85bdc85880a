//! The scenario suite. Each function runs one scenario against the client `S` and panics on
//! failure; [`crate::scenario_tests!`] makes them `#[test]`s.

use std::thread::sleep;
use std::time::Duration;

use syvault_dev::{Fault, FaultStatus};
use syvault_proto::error::{ErrorCode, TransportErrorKind};
use syvault_proto::model::Selected;
use syvault_proto::notation::NotationError;
use syvault_proto::record::RecordPayload;
use syvault_proto::wire::{Access, RotationStatus};
use syvault_proto::{Error, SecretString};

use crate::fake::FakeServer;
use crate::proxy::ConnectProxy;
use crate::sdk::{Sdk, SdkClient, Settings};
use crate::vault::{API_KEY, DB_PASSWORD, DB_USER, Vault};

const PASSWORD_REF: &str = "sy://Production/Database/field/password";

/// Bootstrap turns the one-time token into working credentials, exactly once.
pub fn bootstrap_from_one_time_token<S: Sdk>() {
    let vault = Vault::start();
    let settings = vault.settings();
    let token = vault.client.token.expose();
    let credentials = S::bootstrap(&vault.url(), token, &settings).expect("bootstrap");
    assert_eq!(credentials.client_id, vault.client.client_id);
    assert_eq!(credentials.server, vault.url());
    assert!(!format!("{credentials:?}").contains(credentials.client_secret.expose()));

    let reused =
        S::bootstrap(&vault.url(), token, &settings).expect_err("a one-time token works once");
    assert!(
        matches!(reused, Error::AuthenticationFailed { status: 401, .. }),
        "{reused:?}"
    );
    assert!(!format!("{reused} {reused:?}").contains(token));

    let client = S::connect(&vault.save(&credentials), &settings).expect("connect");
    let folders: Vec<_> = client
        .folders()
        .expect("folders")
        .into_iter()
        .map(|f| (f.name, f.access))
        .collect();
    assert_eq!(folders.len(), 2);
    assert!(
        folders.contains(&("Production".to_owned(), Access::ReadWrite)),
        "{folders:?}"
    );
    assert!(
        folders.contains(&("Archive".to_owned(), Access::Read)),
        "{folders:?}"
    );
}

/// Listing, reading by UID and resolving notation return the seeded values; `Debug` hides them.
pub fn list_get_and_notation<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());

    let list = client.list().expect("list");
    let entries: Vec<_> = list
        .iter()
        .map(|s| (s.folder_path.join("/"), s.title.as_str()))
        .collect();
    assert_eq!(
        entries,
        [
            ("Archive".to_owned(), "Old Key"),
            ("Production".to_owned(), "Database"),
            ("Production".to_owned(), "Stripe API Key"),
        ]
    );
    assert_eq!(list[1].uid, vault.database);

    let secret = client.get(vault.database.as_str()).expect("get");
    assert_eq!(secret.title, "Database");
    assert_eq!(
        secret.field("password").expect("password").expose(),
        DB_PASSWORD
    );
    assert_eq!(
        secret.field("username").expect("username").expose(),
        DB_USER
    );
    assert!(!format!("{secret:?}").contains(DB_PASSWORD));

    let password = client.notation(PASSWORD_REF).expect("notation");
    assert!(matches!(password, Selected::Secret(_)), "{password:?}");
    assert_eq!(password.expose(), DB_PASSWORD);
    let title = client
        .notation(&format!("sy://{}/title", vault.stripe))
        .expect("by UID");
    assert_eq!(title, Selected::Plain("Stripe API Key".to_owned()));
}

/// A batch resolves with one listing, one result per reference, errors per reference.
pub fn batch_resolve_uses_one_listing<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());
    let stats = vault.stats();
    stats.reset();

    let results = client
        .resolve_all(&[
            PASSWORD_REF,
            "sy://Production/Database/field/username",
            "sy://Production/Stripe API Key/field/api_key",
            "sy://Production/Missing/field/password",
            "sy://Production/Database/field/pin",
        ])
        .expect("resolve_all");
    let values: Vec<_> = results[..3]
        .iter()
        .map(|r| r.as_ref().expect("resolved").expose())
        .collect();
    assert_eq!(values, [DB_PASSWORD, DB_USER, API_KEY]);
    assert!(
        matches!(
            &results[3],
            Err(Error::Notation(NotationError::RecordNotFound { .. }))
        ),
        "{:?}",
        results[3]
    );
    assert!(
        matches!(&results[4], Err(Error::Notation(NotationError::FieldNotFound { field, .. })) if field == "pin"),
        "{:?}",
        results[4]
    );
    assert_eq!(
        stats.count("GET", "/api/sm/v1/secrets"),
        1,
        "one listing for the batch"
    );
    assert_eq!(stats.count("GET", &Vault::secret_path(&vault.database)), 0);

    // Within the TTL, the index and the cache answer without the server.
    let again = client.resolve_all(&[PASSWORD_REF]).expect("resolve_all");
    assert_eq!(again[0].as_ref().expect("resolved").expose(), DB_PASSWORD);
    assert_eq!(stats.count("GET", "/api/sm/v1/secrets"), 1);
    assert_eq!(stats.count("GET", &Vault::secret_path(&vault.database)), 0);
}

/// A created secret is stored encrypted for its folder and reads back the same.
pub fn create_then_get<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());

    let mut payload = RecordPayload::new("Cache");
    payload.fields.set("host", "cache.internal");
    payload.fields.set("password", "fresh-cache-password");
    payload.notes = SecretString::from("created by the end-to-end suite");
    let created = client.create(vault.production, payload).expect("create");
    assert_eq!(created.folder_id, vault.production);
    assert_eq!(created.title, "Cache");
    assert_eq!(vault.field(created.uid, "password"), "fresh-cache-password");

    // From the server, not from the cache that the create filled.
    client.clear_cache();
    let read = client.get(created.uid.as_str()).expect("get");
    assert_eq!(*read, created);
    assert_eq!(read.notes.expose(), "created by the end-to-end suite");
    let listed = client.list().expect("list");
    assert!(
        listed
            .iter()
            .any(|s| s.uid == created.uid && s.folder_path == ["Production"])
    );
    let resolved = client
        .notation("sy://Production/Cache/field/host")
        .expect("notation");
    assert_eq!(resolved.expose(), "cache.internal");
}

/// Rotation completes with a new password that the cache then serves instead of the old one.
pub fn rotate_completes_and_replaces_the_cached_password<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());
    let uid = vault.database.as_str();
    let before = client.get(uid).expect("get");

    let outcome = client.rotate(uid).expect("rotate");
    assert_eq!(outcome.status, RotationStatus::Completed);
    assert!(outcome.revision > before.revision);
    let rotated = outcome
        .fields()
        .get("password")
        .expect("password")
        .expose()
        .to_owned();
    assert_ne!(rotated, DB_PASSWORD);
    assert_eq!(rotated.len(), 24);
    assert_eq!(rotated, vault.field(vault.database, "password"));
    assert_eq!(
        outcome.fields().get("username").expect("username").expose(),
        DB_USER
    );

    let after = client.get(uid).expect("get after rotation");
    assert_eq!(after.field("password").expect("password").expose(), rotated);
    assert_eq!(
        client.notation(PASSWORD_REF).expect("notation").expose(),
        rotated
    );
}

/// Reads served from the cache never reach the server.
pub fn cache_hit_does_not_reach_the_server<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());
    let first = client.get(vault.database.as_str()).expect("get");
    client.list().expect("list");
    let stats = vault.stats();
    stats.reset();

    for _ in 0..5 {
        assert_eq!(
            client.get(vault.database.as_str()).expect("cached get"),
            first
        );
    }
    assert_eq!(
        client.notation(PASSWORD_REF).expect("notation").expose(),
        DB_PASSWORD
    );
    assert_eq!(
        client
            .get(vault.stripe.as_str())
            .expect("listed, so cached")
            .title,
        "Stripe API Key"
    );
    assert_eq!(stats.total(), 0, "{:?}", stats.snapshot());
    assert_eq!(client.cached_secrets(), 3);
    let debug = format!("{client:?}");
    assert!(
        !debug.contains(DB_PASSWORD) && !debug.contains(API_KEY),
        "{debug}"
    );
}

/// An expired entry is revalidated with `If-None-Match`: unchanged, the server answers 304 and
/// sends no record; changed, the new revision is fetched.
pub fn ttl_expiry_revalidates_with_304<S: Sdk>() {
    let ttl = Duration::from_secs(1);
    let vault = Vault::start();
    let client = vault.client::<S>(&Settings {
        cache_ttl: ttl,
        ..vault.settings()
    });
    let uid = vault.database.as_str();
    let path = Vault::secret_path(&vault.database);
    let first = client.get(uid).expect("get");
    let (stats, faults) = (vault.stats(), vault.faults());
    stats.reset();

    sleep(ttl + Duration::from_millis(100));
    // A corruption fault is only consumed by an answer that carries a record.
    faults.inject(Fault::corrupt_ciphertext().on_path(path.clone()));
    let revalidated_after = std::time::Instant::now();
    let second = client.get(uid).expect("revalidated");
    assert_eq!(second, first);
    assert_eq!(
        stats.count("GET", &path),
        1,
        "the expired entry went to the server"
    );
    assert_eq!(
        faults.pending(),
        1,
        "the server answered 304 without a record"
    );
    faults.clear();

    let mut changed = vault
        .admin
        .read_secret(vault.database)
        .expect("admin reads");
    changed.fields.set("password", "changed-by-the-admin");
    vault
        .admin
        .update_secret(vault.database, &changed)
        .expect("admin updates");
    let renewed = client.get(uid).expect("renewed entry");
    // The 304 renewed the entry no earlier than `revalidated_after`. A machine so loaded that
    // the admin update took longer than the TTL leaves nothing to check here; the core's
    // virtual-clock tests pin the rule itself.
    if revalidated_after.elapsed() < ttl {
        assert_eq!(renewed.field("password"), first.field("password"));
        assert_eq!(stats.count("GET", &path), 1, "the 304 renewed the TTL");
    }

    sleep(ttl + Duration::from_millis(100));
    let third = client.get(uid).expect("refetched");
    assert_eq!(
        third.field("password").expect("password").expose(),
        "changed-by-the-admin"
    );
    assert_eq!(stats.count("GET", &path), 2);
}

/// With `max_stale`, an expired secret is served while the server answers 503; a secret that
/// was never cached still fails with the server's status.
pub fn stale_if_error_while_the_server_answers_503<S: Sdk>() {
    let ttl = Duration::from_millis(300);
    let vault = Vault::start();
    let mut settings = Settings {
        cache_ttl: ttl,
        max_stale: Some(Duration::from_secs(60)),
        ..vault.settings()
    };
    settings.retry.max_attempts = 2;
    let client = vault.client::<S>(&settings);
    let fresh = client.get(vault.database.as_str()).expect("get");
    sleep(ttl + Duration::from_millis(100));

    let (stats, faults) = (vault.stats(), vault.faults());
    stats.reset();
    faults.inject(
        Fault::status(FaultStatus::ServiceUnavailable)
            .times(100)
            .retry_after(None)
            .on_path("/api/sm/v1/secrets"),
    );
    let stale = client.get(vault.database.as_str()).expect("served stale");
    assert_eq!(stale, fresh);
    assert_eq!(
        stats.count("GET", &Vault::secret_path(&vault.database)),
        2,
        "asked the server, with one retry, before serving stale"
    );

    let error = client
        .get(vault.stripe.as_str())
        .expect_err("nothing cached to fall back on");
    assert!(
        matches!(&error, Error::Api(api) if api.status == 503 && api.code == ErrorCode::Unavailable),
        "{error:?}"
    );
    faults.clear();
    assert_eq!(
        client
            .get(vault.stripe.as_str())
            .expect("server is back")
            .title,
        "Stripe API Key"
    );
}

/// A client whose key is not the bootstrapped one gets an authentication error.
pub fn wrong_key_fails_authentication<S: Sdk>() {
    let vault = Vault::start();
    let settings = vault.settings();
    let credentials =
        S::bootstrap(&vault.url(), vault.client.token.expose(), &settings).expect("bootstrap");
    let mut wrong = credentials;
    wrong.client_secret =
        syvault_proto::keys::ClientKey::generate(&mut crate::fake::rng()).to_client_secret();
    let client = S::connect(&vault.save(&wrong), &settings).expect("connect");
    for error in [
        client.list().expect_err("list with a wrong key"),
        client
            .get(vault.database.as_str())
            .expect_err("get with a wrong key"),
    ] {
        assert!(
            matches!(error, Error::AuthenticationFailed { status: 401, .. }),
            "{error:?}"
        );
        assert!(!error.is_retryable());
    }
}

/// An unknown UID is `SecretNotFound` naming it; a malformed one never reaches the server.
pub fn unknown_uid_is_secret_not_found<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());
    for error in [
        client.get("AAAAAAAAAAAA").expect_err("unknown UID"),
        client.rotate("AAAAAAAAAAAA").expect_err("unknown UID"),
    ] {
        match &error {
            Error::SecretNotFound { uid } => assert_eq!(uid, "AAAAAAAAAAAA"),
            other => panic!("expected SecretNotFound, got {other:?}"),
        }
        assert_eq!(error.status(), Some(404));
    }
    let stats = vault.stats();
    stats.reset();
    let error = client.get("not/a/uid").expect_err("malformed UID");
    assert!(matches!(error, Error::InvalidInput { .. }), "{error:?}");
    assert_eq!(stats.total(), 0);
}

/// Creating in a folder granted read-only is refused by the server with 403.
pub fn read_only_folder_refuses_create<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());
    let mut payload = RecordPayload::new("Sneaky");
    payload.fields.set("password", "should-not-be-stored");
    let error = client
        .create(vault.archive, payload)
        .expect_err("read-only grant");
    assert_eq!(error.status(), Some(403), "{error:?}");
    assert_eq!(error.code(), Some(&ErrorCode::Forbidden));
    let archived: Vec<_> = client
        .list()
        .expect("list")
        .into_iter()
        .filter(|s| s.folder_id == vault.archive)
        .map(|s| s.title)
        .collect();
    assert_eq!(archived, ["Old Key"]);
}

/// Simultaneous reads of one uncached secret share one request.
pub fn concurrent_gets_share_one_request<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());
    client.folders().expect("folders");
    client.clear_cache();
    let (stats, faults) = (vault.stats(), vault.faults());
    stats.reset();
    // Slow answers, so that every reader arrives while the first fetch is out.
    faults.set_latency(Duration::from_millis(300));

    let results = client.get_concurrently(vault.database.as_str(), 8);
    faults.clear();
    for result in &results {
        let secret = result.as_ref().expect("get");
        assert_eq!(
            secret.field("password").expect("password").expose(),
            DB_PASSWORD
        );
    }
    assert_eq!(
        stats.count("GET", &Vault::secret_path(&vault.database)),
        1,
        "{:?}",
        stats.snapshot()
    );
}

/// Over HTTPS with syvault-dev's generated CA: refused without the CA, everything works with it.
pub fn tls_with_the_generated_ca<S: Sdk>() {
    let vault = Vault::start_tls();
    assert!(
        vault.url().starts_with("https://localhost:"),
        "{}",
        vault.url()
    );
    let settings = vault.settings();
    assert!(settings.ca_pem.is_some());

    let untrusted = Settings {
        ca_pem: None,
        ..settings.clone()
    };
    let error = S::bootstrap(&vault.url(), vault.client.token.expose(), &untrusted)
        .expect_err("unknown CA");
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportErrorKind::Tls,
                ..
            }
        ),
        "{error:?}"
    );

    let client = vault.client::<S>(&settings);
    assert_eq!(client.list().expect("list").len(), 3);
    assert_eq!(
        client.notation(PASSWORD_REF).expect("notation").expose(),
        DB_PASSWORD
    );
    let outcome = client.rotate(vault.database.as_str()).expect("rotate");
    assert_ne!(
        outcome.fields().get("password").expect("password").expose(),
        DB_PASSWORD
    );
}

/// Requests reuse one pooled connection; `close()` closes it and refuses further requests.
pub fn close_releases_pooled_connections<S: Sdk>() {
    let server = FakeServer::start();
    let settings = Settings::default();
    let dir = tempfile::tempdir().expect("temporary directory");
    let client = S::connect(&server.credentials_file(dir.path()), &settings).expect("connect");

    for _ in 0..3 {
        let error = client
            .list()
            .expect_err("the fake server forbids everything");
        assert_eq!(error.status(), Some(403), "{error:?}");
    }
    // A pool may open a second connection when a request starts before the previous one's
    // connection is back in the pool (the async pool returns it from a task), so reuse is
    // asserted as "fewer connections than requests", not as exactly one. Such a connect, once
    // started, finishes in the background even when the idle connection came back first: the
    // count is read once it has settled, so that only connections made after close() count
    // against it below.
    let mut opened = server.connections();
    for _ in 0..10 {
        sleep(Duration::from_millis(200));
        let settled = server.connections();
        if settled == opened {
            break;
        }
        opened = settled;
    }
    assert!(
        (1..3).contains(&opened),
        "pooled connections served the requests: {opened} opened for 3 requests"
    );
    assert!(
        !server.closed_within(Duration::from_millis(100)),
        "kept open while pooled"
    );

    client.close();
    for _ in 0..opened {
        assert!(
            server.closed_within(Duration::from_secs(5)),
            "close() closed every pooled connection"
        );
    }
    let error = client.list().expect_err("closed");
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportErrorKind::Other,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        server.connections(),
        opened,
        "nothing connects after close()"
    );
}

/// Runs one read of the database secret while `fault` hits it once, and checks that the retry
/// got the real value with exactly one more request.
fn one_fault_then_success<S: Sdk>(fault: Fault) {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());
    client.folders().expect("folders");
    let (stats, path) = (vault.stats(), Vault::secret_path(&vault.database));
    stats.reset();
    vault.faults().inject(fault.times(1).on_path(path.clone()));
    let secret = client
        .get(vault.database.as_str())
        .expect("retried to success");
    assert_eq!(
        secret.field("password").expect("password").expose(),
        DB_PASSWORD
    );
    assert_eq!(
        stats.count("GET", &path),
        2,
        "one failed attempt, one retry"
    );
    assert_eq!(vault.faults().pending(), 0);
}

/// A connection closed before any answer is retried, and the retry succeeds.
pub fn dropped_connection_then_success<S: Sdk>() {
    one_fault_then_success::<S>(Fault::drop_connection());
}

/// A body cut short of its `Content-Length` is retried, and the retry succeeds.
pub fn truncated_body_then_success<S: Sdk>() {
    one_fault_then_success::<S>(Fault::truncate_body());
}

/// A server slower than `request_timeout` times out on every attempt; each attempt is a real
/// request, and once the server is fast again the same client reads normally.
pub fn request_timeout_is_retried_then_reported<S: Sdk>() {
    let vault = Vault::start();
    let settings = Settings {
        request_timeout: Duration::from_millis(300),
        ..vault.settings()
    };
    let client = vault.client::<S>(&settings);
    client.folders().expect("folders");
    let (stats, path) = (vault.stats(), Vault::secret_path(&vault.database));
    stats.reset();
    vault.faults().set_latency(Duration::from_millis(1500));
    let error = client
        .get(vault.database.as_str())
        .expect_err("every attempt times out");
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportErrorKind::Timeout,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
    // The server counts a request when it starts on it, so a slow one is counted too.
    assert_eq!(
        stats.count("GET", &path),
        u64::from(settings.retry.max_attempts),
        "every attempt was sent"
    );
    vault.faults().set_latency(Duration::ZERO);
    let secret = client.get(vault.database.as_str()).expect("fast again");
    assert_eq!(
        secret.field("password").expect("password").expose(),
        DB_PASSWORD
    );
}

/// A record whose ciphertext was tampered with in transit is a decryption error, never a value,
/// and nothing of it is cached.
pub fn corrupted_ciphertext_is_a_decryption_error<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());
    client.folders().expect("folders");
    vault.faults().inject(
        Fault::corrupt_ciphertext()
            .times(1)
            .on_path(Vault::secret_path(&vault.database)),
    );
    let error = client
        .get(vault.database.as_str())
        .expect_err("tampered ciphertext");
    assert!(matches!(error, Error::Decryption { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains(DB_PASSWORD));
    assert!(!error.is_retryable());
    assert_eq!(client.cached_secrets(), 0);
    let secret = client.get(vault.database.as_str()).expect("intact again");
    assert_eq!(
        secret.field("password").expect("password").expose(),
        DB_PASSWORD
    );
}

/// A redirect is an answer, not an instruction: the client reports the 302 and never sends its
/// bearer token to the redirect target.
pub fn redirects_are_not_followed<S: Sdk>() {
    let target = FakeServer::start();
    let redirect = FakeServer::answering(format!(
        "HTTP/1.1 302 Found\r\nlocation: {}/api/sm/v1/secrets\r\ncontent-length: 0\r\n\r\n",
        target.url()
    ));
    let dir = tempfile::tempdir().expect("temporary directory");
    let client =
        S::connect(&redirect.credentials_file(dir.path()), &Settings::default()).expect("connect");
    let error = client.list().expect_err("a redirect is not followed");
    assert_eq!(error.status(), Some(302), "{error:?}");
    assert_eq!(redirect.connections(), 1);
    assert_eq!(
        target.connections(),
        0,
        "the token never reached the target"
    );
}

/// A server that requires client certificates refuses a client without one, or with one of
/// another CA, with a TLS error; a key that does not match the certificate is refused when the
/// client is built; a client presenting the certificate its client CA signed is served.
pub fn mtls_required_presented_and_missing<S: Sdk>() {
    let vault = Vault::start_mtls();
    let settings = vault.settings();
    let error = S::bootstrap(&vault.url(), vault.client.token.expose(), &settings)
        .expect_err("no client certificate");
    assert_refused_by_tls(&error);
    if matches!(
        error,
        Error::Transport {
            kind: TransportErrorKind::Tls,
            ..
        }
    ) {
        assert!(!error.is_retryable());
        assert!(
            error.to_string().contains("CertificateRequired"),
            "the error says what is missing: {error}"
        );
    }

    // A certificate from another client CA is refused by the server.
    let other = Vault::start_mtls();
    let (other_chain, other_key) = other.client_identity().expect("another certificate");
    let stranger = Settings {
        client_identity: Some((other_chain, other_key.clone())),
        ..settings.clone()
    };
    let error = S::bootstrap(&vault.url(), vault.client.token.expose(), &stranger)
        .expect_err("a certificate of another CA");
    assert_refused_by_tls(&error);
    assert_eq!(
        vault.stats().total(),
        0,
        "no request got past the handshake"
    );

    let identity = vault
        .client_identity()
        .expect("the server made a client certificate");
    // A key that is not the certificate's is refused when the client is built.
    let mismatched = Settings {
        client_identity: Some((identity.0.clone(), other_key.clone())),
        ..settings.clone()
    };
    let error = S::bootstrap(&vault.url(), vault.client.token.expose(), &mismatched)
        .expect_err("the key does not match");
    assert!(
        matches!(
            error,
            Error::InvalidInput {
                what: "client certificate",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains(other_key.trim()));

    let with_certificate = Settings {
        client_identity: Some(identity.clone()),
        ..settings
    };
    let client = vault.client::<S>(&with_certificate);
    assert_eq!(client.list().expect("list").len(), 3);
    assert!(!format!("{client:?}").contains(&identity.1));
}

/// A server that refuses the client's certificate. In TLS 1.3 the server judges it after the
/// client's side of the handshake is done, so the client reads either the server's alert (a TLS
/// error) or, when its request was already on the way, a connection the server closed.
fn assert_refused_by_tls(error: &Error) {
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportErrorKind::Tls | TransportErrorKind::ConnectionClosed,
                ..
            }
        ),
        "{error:?}"
    );
}

/// Through an explicit proxy with credentials: every connection is a `CONNECT` tunnel that
/// carries them; wrong credentials are refused once, without retries or a leaked password.
pub fn proxy_tunnels_with_credentials<S: Sdk>() {
    const USER: &str = "build@corp";
    const PASSWORD: &str = "pa:ss word%";
    let vault = Vault::start_tls();
    let proxy = ConnectProxy::start(Some((USER, PASSWORD)));
    let settings = Settings {
        proxy: Some(proxy.url_with_credentials(USER, PASSWORD)),
        ..vault.settings()
    };
    let credentials = S::bootstrap(&vault.url(), vault.client.token.expose(), &settings)
        .expect("bootstrap through the proxy");
    let file = vault.save(&credentials);
    let client = S::connect(&file, &settings).expect("connect");
    assert_eq!(client.list().expect("list").len(), 3);
    let port = vault.url().rsplit(':').next().expect("a port").to_owned();
    let targets = proxy.targets();
    assert!(
        targets.len() >= 2,
        "bootstrap and client each tunnelled: {targets:?}"
    );
    assert!(
        targets.iter().all(|t| *t == format!("localhost:{port}")),
        "{targets:?}"
    );
    assert_eq!(proxy.refused(), 0);
    assert!(!format!("{client:?}").contains(PASSWORD));

    let wrong = Settings {
        proxy: Some(proxy.url_with_credentials(USER, "wrong-password")),
        ..settings
    };
    let error = S::connect(&file, &wrong)
        .expect("connect")
        .list()
        .expect_err("wrong proxy credentials");
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(!error.is_retryable(), "{error:?}");
    assert_eq!(proxy.refused(), 1, "refused once, not retried");
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains("wrong-password") && !text.contains(PASSWORD),
        "{text}"
    );
}

/// A proxy that cannot be reached is a connect error, which is retried.
pub fn unreachable_proxy_is_a_retryable_connect_error<S: Sdk>() {
    let vault = Vault::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let settings = Settings {
        proxy: Some(format!("http://user:hunter2@127.0.0.1:{port}")),
        ..vault.settings()
    };
    let error = S::bootstrap(&vault.url(), vault.client.token.expose(), &settings)
        .expect_err("nothing listens at the proxy");
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportErrorKind::Connect,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(!format!("{error} {error:?}").contains("hunter2"));
    assert_eq!(vault.stats().total(), 0);
}

/// Plain `http://` to a loopback server goes through the proxy's `CONNECT` tunnel too.
pub fn plain_http_through_a_proxy_tunnel<S: Sdk>() {
    let vault = Vault::start();
    let proxy = ConnectProxy::start(None);
    let settings = Settings {
        proxy: Some(proxy.url()),
        ..vault.settings()
    };
    let client = vault.client::<S>(&settings);
    assert_eq!(client.list().expect("list").len(), 3);
    let address = vault.url().trim_start_matches("http://").to_owned();
    let targets = proxy.targets();
    assert!(!targets.is_empty());
    assert!(targets.iter().all(|t| *t == address), "{targets:?}");
    assert!(proxy.authorizations().iter().all(Option::is_none));
}

/// A refused connection chains to the operating system's error, and a missing credentials
/// file is a file error that names the path and chains to its `io::Error`.
pub fn errors_chain_to_their_causes<S: Sdk>() {
    use std::error::Error as _;
    let vault = Vault::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let settings = Settings {
        retry: syvault_proto::retry::RetryPolicy::NONE,
        ..vault.settings()
    };
    let server = format!("http://127.0.0.1:{port}");
    let error =
        S::bootstrap(&server, vault.client.token.expose(), &settings).expect_err("nothing listens");
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportErrorKind::Connect,
                ..
            }
        ),
        "{error:?}"
    );
    let mut cause = error.source();
    let mut refused = false;
    while let Some(current) = cause {
        refused |= current
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        cause = current.source();
    }
    assert!(
        refused,
        "the chain reaches the refused connection: {error:?}"
    );

    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("missing.json");
    let error = S::connect(&path, &vault.settings()).expect_err("no such file");
    assert!(
        matches!(&error, Error::File { path: p, .. } if *p == path),
        "{error:?}"
    );
    assert!(error.to_string().contains("missing.json"), "{error}");
    let io = error
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .expect("the io::Error is the source");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
}

/// A client's `Debug` names its server, client id and cache size, and nothing it has cached.
pub fn debug_output_is_concise_and_reveals_no_secret<S: Sdk>() {
    let vault = Vault::start();
    let client = vault.client::<S>(&vault.settings());
    let secret = client.get(vault.database.as_str()).expect("get");
    let text = format!("{client:?}");
    assert!(text.contains(&vault.url()), "{text}");
    assert!(text.contains(&vault.client.client_id.to_string()), "{text}");
    assert!(text.contains("cached_secrets: 1"), "{text}");
    assert!(
        !text.contains(DB_PASSWORD) && !text.contains(DB_USER),
        "{text}"
    );
    assert!(!text.contains(&secret.title), "{text}");
    assert!(text.len() < 400, "concise: {} bytes: {text}", text.len());
}

/// A read in the last part of an entry's TTL is served from the cache and refreshes it in the
/// background: steady reads keep the entry fresh with one conditional request per cycle, sent
/// by the client's background work and never twice.
pub fn refresh_ahead_revalidates_in_the_background<S: Sdk>() {
    let ttl = Duration::from_secs(2);
    let vault = Vault::start();
    let client = vault.client::<S>(&Settings {
        cache_ttl: ttl,
        cache_jitter_percent: 0,
        ..vault.settings()
    });
    let uid = vault.database.as_str();
    let path = Vault::secret_path(&vault.database);
    client.get(uid).expect("get");
    let stats = vault.stats();
    stats.reset();
    let before = client.stats();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let secret = client.get(uid).expect("get");
        assert_eq!(
            secret.field("password").expect("password").expose(),
            DB_PASSWORD
        );
        sleep(Duration::from_millis(20));
    }
    let after = client.stats();
    let refreshes = after.background_refreshes - before.background_refreshes;
    // A cycle is 80 % of the TTL (the first one ends anywhere in it): two to four in 5 s.
    assert!((2..=4).contains(&refreshes), "{after:?}");
    assert_eq!(
        stats.count("GET", &path),
        refreshes,
        "every request was a refresh, none sent twice, none by a read"
    );
    assert_eq!(
        after.revalidations - before.revalidations,
        refreshes,
        "each one a 304"
    );
    assert_eq!(after.cache_misses, before.cache_misses);
}

/// After the first listing, listings ask only for what changed since, and what changed
/// arrives: a created record, a deleted one, and the records of a folder whose grant was
/// revoked. A vault of two pages shows it: a delta of a few changes is one request. A server
/// that ignores `since` is answered in full, and taken as such.
pub fn incremental_listing_follows_changes<S: Sdk>() {
    const LISTING: &str = "/api/sm/v1/secrets";
    let vault = Vault::start();
    // Enough secrets for a full listing of two pages (the SDK asks for 500 a page).
    for i in 0..500 {
        vault
            .admin
            .create_secret(vault.production, &RecordPayload::new(format!("Filler {i}")))
            .expect("secret");
    }
    let client = vault.client::<S>(&vault.settings());
    let stats = vault.stats();
    stats.reset();
    assert_eq!(client.list().expect("list").len(), 503);
    assert_eq!(stats.count("GET", LISTING), 2, "a full listing");
    let stripe = "sy://Production/Stripe API Key/field/api_key";
    assert_eq!(client.notation(stripe).expect("notation").expose(), API_KEY);

    let mut payload = RecordPayload::new("Queue");
    payload.fields.set("password", "q");
    let queue = vault
        .admin
        .create_secret(vault.production, &payload)
        .expect("secret");
    vault.admin.delete_secret(vault.stripe).expect("delete");
    vault
        .admin
        .revoke(vault.client.client_id, vault.archive)
        .expect("revoke");
    stats.reset();
    let listed = client.list().expect("list");
    assert_eq!(stats.count("GET", LISTING), 1, "one page of changes");
    let titles: Vec<&str> = listed.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(listed.len(), 502);
    assert!(titles.contains(&"Queue"));
    assert!(!titles.contains(&"Stripe API Key") && !titles.contains(&"Old Key"));
    assert!(
        matches!(
            client.notation(stripe),
            Err(Error::Notation(NotationError::RecordNotFound { .. }))
        ),
        "the deleted record left the index"
    );
    assert_eq!(
        client
            .notation("sy://Production/Queue/field/password")
            .expect("the created one joined it")
            .expose(),
        "q"
    );

    // The server stops knowing `since`: its full answers are taken as such.
    vault.faults().ignore_since(true);
    vault.admin.delete_secret(queue).expect("delete");
    stats.reset();
    assert_eq!(client.list().expect("list").len(), 501);
    assert_eq!(stats.count("GET", LISTING), 2, "a full listing");
    // It knows `since` again: the client, holding no token, lists in full once more, then
    // asks for changes.
    vault.faults().ignore_since(false);
    stats.reset();
    assert_eq!(client.list().expect("list").len(), 501);
    assert_eq!(client.list().expect("list").len(), 501);
    assert_eq!(stats.count("GET", LISTING), 3);
}
