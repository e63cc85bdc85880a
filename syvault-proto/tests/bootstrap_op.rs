//! Bootstrap driven against a scripted server that plays the admin and the vault.

use std::cell::RefCell;

use chacha20::ChaCha20Rng;
use http::{Method, StatusCode};
use rand_core::SeedableRng;
use syvault_proto::bootstrap::{OneTimeToken, RequestToken};
use syvault_proto::keys::{ClientKey, ClientPublicKey};
use syvault_proto::ops::{Bootstrap, Operation};
use syvault_proto::secret::SymmetricKey;
use syvault_proto::step::{Input, Response, Step};
use syvault_proto::wire::{
    self, Base64Bytes, BootstrapRequest, BootstrapResponse, FolderKeysUpload,
};
use syvault_proto::{Client, Error, Timestamp, folder_key, jwt};
use uuid::Uuid;

const T0: Timestamp = Timestamp::from_unix_secs(1_767_225_600);

/// A client with a server and no identity, as bootstrap runs on.
fn client(server: &str) -> Client {
    Client::builder().server(server).bootstrap_client().unwrap()
}

fn respond(status: StatusCode, body: Vec<u8>) -> Response {
    http::Response::builder().status(status).body(body).unwrap()
}

#[test]
fn bootstrap_yields_credentials_and_uploads_folder_keys_wrapped_to_the_client() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let token = OneTimeToken::generate(&mut rng);
    let admin_keys = token.derive();
    let verifier = admin_keys.verifier();
    let folders: Vec<(Uuid, SymmetricKey)> = (1..=2)
        .map(|i| (Uuid::from_u128(i), SymmetricKey::generate(&mut rng)))
        .collect();
    let client_id = Uuid::from_u128(0xc1);
    let public_key = RefCell::new(None::<ClientPublicKey>);
    let uploaded = RefCell::new(None::<FolderKeysUpload>);

    let mut client = client("https://Vault.Example.com/");
    let mut op = Bootstrap::new(token.to_text().expose());
    let mut input = Input::Start;
    let credentials = loop {
        match op.step(&mut client, input, T0, &mut rng) {
            Step::Send(request) => {
                let path = request.uri().path().to_owned();
                // The operation's Debug names the request in flight and the client's server,
                // never the one-time token or a request body.
                let debug = format!("{op:?}");
                assert!(debug.contains(request.method().as_str()), "{debug}");
                assert!(debug.contains("https://Vault.Example.com"), "{debug}");
                assert!(!debug.contains(token.to_text().expose()), "{debug}");
                assert!(
                    !debug.contains(&String::from_utf8_lossy(request.body()).into_owned()),
                    "{debug}"
                );
                input = Input::Response(
                    if request.method() == Method::POST && path == "/api/sm/v1/bootstrap" {
                        assert!(request.headers().get("authorization").is_none());
                        let body: BootstrapRequest = wire::parse_body(200, request.body()).unwrap();
                        // The token secret itself never travels.
                        assert_ne!(body.token.expose(), token.to_text().expose());
                        assert!(
                            verifier.verify(&RequestToken::parse(body.token.expose()).unwrap())
                        );
                        *public_key.borrow_mut() =
                            Some(ClientPublicKey::from_sec1(body.public_key.as_slice()).unwrap());
                        let mut seal_rng = ChaCha20Rng::seed_from_u64(12);
                        let encrypted_folder_keys = folders
                            .iter()
                            .map(|(id, key)| {
                                (
                                    *id,
                                    Base64Bytes(admin_keys.seal_folder_key(id, key, &mut seal_rng)),
                                )
                            })
                            .collect();
                        let answer = BootstrapResponse {
                            client_id,
                            application_id: Uuid::from_u128(0xa1),
                            encrypted_folder_keys,
                        };
                        respond(StatusCode::OK, wire::to_body(&answer))
                    } else if request.method() == Method::PUT && path == "/api/sm/v1/folder-keys" {
                        let token = request.headers()["authorization"]
                            .to_str()
                            .unwrap()
                            .trim_start_matches("Bearer ")
                            .to_owned();
                        let public = public_key.borrow().unwrap();
                        let claims = jwt::verify(&token, "https://vault.example.com", T0, |sub| {
                            (*sub == client_id).then_some(public)
                        })
                        .unwrap();
                        assert_eq!(claims.sub, client_id);
                        *uploaded.borrow_mut() =
                            Some(wire::parse_body(200, request.body()).unwrap());
                        respond(StatusCode::NO_CONTENT, Vec::new())
                    } else {
                        panic!("unexpected {} {path}", request.method());
                    },
                );
            }
            Step::Done(result) => break result.unwrap(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(credentials.client_id, client_id);
    assert_eq!(credentials.server, "https://Vault.Example.com");
    let key = ClientKey::from_client_secret(credentials.client_secret.expose()).unwrap();
    assert_eq!(Some(key.public_key()), *public_key.borrow());
    let uploaded = uploaded.borrow_mut().take().unwrap();
    assert_eq!(uploaded.keys.len(), 2);
    for (id, expected) in &folders {
        let unwrapped =
            folder_key::unwrap(&key, id, &client_id, uploaded.keys[id].as_slice()).unwrap();
        assert_eq!(&unwrapped, expected);
    }
    assert!(!format!("{credentials:?}").contains(credentials.client_secret.expose()));
    // The client that ran the bootstrap now has the identity, and will not take another one.
    assert_eq!(client.client_id(), Some(client_id));
    let mut again = Bootstrap::new(token.to_text().expose());
    assert!(matches!(
        again.step(&mut client, Input::Start, T0, &mut rng),
        Step::Done(Err(Error::InvalidInput { what: "client", .. }))
    ));
}

#[test]
fn a_used_token_is_an_authentication_error() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let mut client = client("https://vault.example.com");
    let token = OneTimeToken::generate(&mut rng);
    let mut op = Bootstrap::new(token.to_text().expose());
    let Step::Send(_) = op.step(&mut client, Input::Start, T0, &mut rng) else {
        panic!()
    };
    let body = br#"{"error":{"code":"unauthorized","message":"token used"}}"#.to_vec();
    let step = op.step(
        &mut client,
        Input::Response(respond(StatusCode::UNAUTHORIZED, body)),
        T0,
        &mut rng,
    );
    assert!(
        matches!(
            step,
            Step::Done(Err(Error::AuthenticationFailed { status: 401, .. }))
        ),
        "{step:?}"
    );
    assert_eq!(
        client.client_id(),
        None,
        "a failed bootstrap leaves no identity"
    );
}

#[test]
fn folder_keys_sealed_for_another_token_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let mut client = client("https://vault.example.com");
    let token = OneTimeToken::generate(&mut rng);
    let other = OneTimeToken::generate(&mut rng).derive();
    let mut op = Bootstrap::new(token.to_text().expose());
    let Step::Send(_) = op.step(&mut client, Input::Start, T0, &mut rng) else {
        panic!()
    };
    let folder = Uuid::from_u128(5);
    let sealed = other.seal_folder_key(&folder, &SymmetricKey::generate(&mut rng), &mut rng);
    let answer = BootstrapResponse {
        client_id: Uuid::from_u128(1),
        application_id: Uuid::from_u128(2),
        encrypted_folder_keys: [(folder, Base64Bytes(sealed))].into_iter().collect(),
    };
    let step = op.step(
        &mut client,
        Input::Response(respond(StatusCode::OK, wire::to_body(&answer))),
        T0,
        &mut rng,
    );
    assert!(
        matches!(step, Step::Done(Err(Error::Decryption { .. }))),
        "{step:?}"
    );
}

#[test]
fn plain_http_to_a_remote_host_needs_an_explicit_opt_in() {
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let token = OneTimeToken::generate(&mut rng).to_text();
    let builder = Client::builder().server("http://vault.example.com");
    assert!(matches!(
        builder.bootstrap_client(),
        Err(Error::InvalidInput { .. })
    ));
    let mut client = builder.allow_plain_http(true).bootstrap_client().unwrap();
    let mut op = Bootstrap::new(token.expose());
    assert!(matches!(
        op.step(&mut client, Input::Start, T0, &mut rng),
        Step::Send(_)
    ));
}

#[test]
fn debug_of_a_running_bootstrap_shows_no_secret() {
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let mut client = client("https://vault.example.com");
    let token = OneTimeToken::generate(&mut rng);
    let request_token = token.derive().request_token();
    let mut op = Bootstrap::new(token.to_text().expose());
    let step = op.step(&mut client, Input::Start, T0, &mut rng);
    let Step::Send(request) = &step else {
        panic!("{step:?}")
    };
    let body = String::from_utf8(request.body().clone()).unwrap();
    assert!(
        body.contains(request_token.expose()),
        "the proof travels in the body"
    );
    for debug in [format!("{op:?}"), format!("{step:?}")] {
        assert!(
            !debug.contains(request_token.expose()) && !debug.contains(token.to_text().expose())
        );
        let body_bytes = format!("{:?}", request.body());
        assert!(!debug.contains(&body_bytes[..40]), "{debug}");
    }
}

#[test]
fn bootstrap_requests_count_in_the_client_statistics() {
    let mut rng = ChaCha20Rng::seed_from_u64(17);
    let token = OneTimeToken::generate(&mut rng);
    let admin_keys = token.derive();
    let folder = Uuid::from_u128(7);
    let folder_key = SymmetricKey::generate(&mut rng);
    let mut client = client("https://vault.example.com");
    let mut op = Bootstrap::new(token.to_text().expose());

    let Step::Send(_) = op.step(&mut client, Input::Start, T0, &mut rng) else {
        panic!("the bootstrap request")
    };
    assert_eq!(
        client.stats().requests,
        1,
        "counted when handed to the driver"
    );
    let busy = br#"{"error":{"code":"unavailable","message":"busy"}}"#.to_vec();
    let wake_at = match op.step(
        &mut client,
        Input::Response(respond(StatusCode::SERVICE_UNAVAILABLE, busy)),
        T0,
        &mut rng,
    ) {
        Step::Sleep(until) => until,
        other => panic!("a retry wait, not {other:?}"),
    };
    assert_eq!(client.stats().retries, 1);
    assert_eq!(client.last_answer(), None, "a 503 is no answer");
    let Step::Send(request) = op.step(&mut client, Input::Wake, wake_at, &mut rng) else {
        panic!("the retried bootstrap request")
    };
    assert_eq!(request.method(), Method::POST);
    let answer = BootstrapResponse {
        client_id: Uuid::from_u128(0xc2),
        application_id: Uuid::from_u128(0xa2),
        encrypted_folder_keys: [(
            folder,
            Base64Bytes(admin_keys.seal_folder_key(&folder, &folder_key, &mut rng)),
        )]
        .into_iter()
        .collect(),
    };
    let Step::Send(upload) = op.step(
        &mut client,
        Input::Response(respond(StatusCode::OK, wire::to_body(&answer))),
        wake_at,
        &mut rng,
    ) else {
        panic!("the folder-key upload")
    };
    assert_eq!(upload.method(), Method::PUT);
    let step = op.step(
        &mut client,
        Input::Response(respond(StatusCode::NO_CONTENT, Vec::new())),
        wake_at,
        &mut rng,
    );
    assert!(matches!(step, Step::Done(Ok(_))), "{step:?}");
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.tokens_signed),
        (3, 1, 1),
        "two bootstrap posts and the signed upload: {stats:?}"
    );
    assert_eq!(stats.reauthentications, 0);
    assert_eq!(stats.cache_hits + stats.cache_misses, 0);
    assert_eq!(
        client.last_answer(),
        Some(wake_at),
        "the bootstrap's answers count"
    );
}
