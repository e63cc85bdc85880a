//! `GET /secrets`, `GET /secrets/{uid}`, `POST /secrets` and the generic error answers.

mod common;

use common::{Fixture, rng};
use http::Method;
use syvault_dev::wire::{
    Access, CreateSecretRequest, DataEnvelope, ListQuery, Record, SecretList, paths, to_body,
};
use syvault_proto::record::{self, RecordPayload};
use syvault_proto::{RecordUid, blob};

fn list_path(folder: Option<uuid::Uuid>, cursor: Option<String>, limit: Option<u32>) -> String {
    paths::secrets_query(&ListQuery {
        folder_id: folder,
        since: None,
        cursor,
        limit,
    })
}

#[tokio::test]
async fn paging_walks_every_record_in_uid_order() {
    let fx = Fixture::new(Access::Read).await;
    let mut uids: Vec<RecordUid> = (0..7).map(|i| fx.secret(&format!("S{i}"), "pw")).collect();
    uids.sort();
    let folder_key = &fx.client.folder_keys[&fx.folder];

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page: SecretList = fx
            .get(&list_path(None, cursor, Some(3)))
            .await
            .expect(200)
            .parse();
        pages += 1;
        assert!(page.data.len() <= 3);
        for rec in &page.data {
            let payload = record::open(
                &rec.uid,
                folder_key,
                rec.encrypted_dek.as_slice(),
                rec.encrypted_data.as_slice(),
            )
            .unwrap();
            assert!(payload.title.starts_with('S'));
            seen.push(rec.uid);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, uids);

    // Only the named folder, and only granted folders.
    let other = fx.admin.create_folder("Other", None).unwrap();
    fx.get(&list_path(Some(other), None, None))
        .await
        .expect_error(404, "folder_not_found");
    fx.admin
        .grant(fx.client.client_id, other, Access::Read)
        .unwrap();
    let mut payload = RecordPayload::new("Elsewhere");
    payload.fields.set("k", "v");
    let elsewhere = fx.admin.create_secret(other, &payload).unwrap();
    let page: SecretList = fx
        .get(&list_path(Some(other), None, None))
        .await
        .expect(200)
        .parse();
    assert_eq!(
        page.data.iter().map(|r| r.uid).collect::<Vec<_>>(),
        [elsewhere]
    );
    let all: SecretList = fx.get(paths::secrets()).await.expect(200).parse();
    assert_eq!(all.data.len(), 8);
    assert!(all.next_cursor.is_none());
}

#[tokio::test]
async fn limits_default_clamp_and_reject() {
    let fx = Fixture::new(Access::Read).await;
    for i in 0..501 {
        fx.secret(&format!("S{i}"), "pw");
    }
    let page: SecretList = fx.get(paths::secrets()).await.expect(200).parse();
    assert_eq!(page.data.len(), 100);
    assert!(page.next_cursor.is_some());
    let page: SecretList = fx
        .get(&list_path(None, None, Some(100_000)))
        .await
        .expect(200)
        .parse();
    assert_eq!(page.data.len(), 500);
    let last: SecretList = fx
        .get(&list_path(None, page.next_cursor, Some(500)))
        .await
        .expect(200)
        .parse();
    assert_eq!(last.data.len(), 1);
    assert!(last.next_cursor.is_none());

    let base = paths::secrets();
    for query in [
        "limit=0",
        "limit=abc",
        "limit=-1",
        "limit=1.5",
        "folder_id=nope",
        "cursor=not-a-cursor",
        "limit=1&limit=2",
    ] {
        fx.get(&format!("{base}?{query}"))
            .await
            .expect_error(400, "invalid_request");
    }
}

#[tokio::test]
async fn get_serves_etags_and_304() {
    let fx = Fixture::new(Access::Read).await;
    let uid = fx.secret("Database", "hunter2");
    let path = paths::secret(&uid);
    let answer = fx.get(&path).await.expect(200);
    assert_eq!(answer.header("etag"), Some("\"r1\""));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let rec = answer.parse::<DataEnvelope<Record>>().data;
    assert_eq!((rec.uid, rec.revision, rec.folder_id), (uid, 1, fx.folder));
    let payload = record::open(
        &uid,
        &fx.client.folder_keys[&fx.folder],
        rec.encrypted_dek.as_slice(),
        rec.encrypted_data.as_slice(),
    )
    .unwrap();
    assert_eq!(payload.fields.get("password").unwrap().expose(), "hunter2");

    let token = format!("Bearer {}", fx.client.token());
    let conditional = |etag: &'static str| {
        let (http, path, token) = (fx.http.clone(), path.clone(), token.clone());
        async move {
            http.send(
                Method::GET,
                &path,
                &[("authorization", &token), ("if-none-match", etag)],
                Vec::new(),
            )
            .await
        }
    };
    for etag in ["\"r1\"", "W/\"r1\"", "\"r0\", \"r1\"", "*"] {
        let answer = conditional(etag).await.expect(304);
        assert!(answer.body.is_empty());
        assert_eq!(answer.header("etag"), Some("\"r1\""));
    }
    conditional("\"r2\"").await.expect(200);

    let mut changed = RecordPayload::new("Database");
    changed.fields.set("password", "new");
    assert_eq!(fx.admin.update_secret(uid, &changed).unwrap(), 2);
    let answer = conditional("\"r1\"").await.expect(200);
    assert_eq!(answer.header("etag"), Some("\"r2\""));
}

#[tokio::test]
async fn unknown_and_ungranted_records_are_not_found() {
    let fx = Fixture::new(Access::Read).await;
    let hidden_folder = fx.admin.create_folder("Hidden", None).unwrap();
    let hidden = fx
        .admin
        .create_secret(hidden_folder, &RecordPayload::new("Hidden"))
        .unwrap();
    let unknown = RecordUid::generate(&mut rng());
    for path in [
        paths::secret(&hidden),
        paths::secret(&unknown),
        format!("{}/short", paths::secrets()),
    ] {
        fx.get(&path).await.expect_error(404, "secret_not_found");
    }
    let all: SecretList = fx.get(paths::secrets()).await.expect(200).parse();
    assert!(all.data.is_empty());
}

fn create_body(fx: &Fixture, uid: RecordUid, folder: uuid::Uuid) -> (CreateSecretRequest, Vec<u8>) {
    let mut payload = RecordPayload::new("Created");
    payload.fields.set("token", "abc");
    let key = fx
        .client
        .folder_keys
        .get(&folder)
        .unwrap_or(&fx.client.folder_keys[&fx.folder]);
    let sealed = record::seal(&uid, key, &payload, &mut rng());
    let request = CreateSecretRequest {
        uid,
        folder_id: folder,
        encrypted_dek: sealed.encrypted_dek.into(),
        encrypted_data: sealed.encrypted_data.into(),
    };
    let body = to_body(&request);
    (request, body)
}

#[tokio::test]
async fn create_answers_every_case() {
    let fx = Fixture::new(Access::ReadWrite).await;
    let uid = RecordUid::generate(&mut rng());
    let (request, body) = create_body(&fx, uid, fx.folder);
    let token = fx.client.token();
    let answer = fx
        .http
        .post(paths::secrets(), Some(&token), body.clone())
        .await
        .expect(201);
    assert_eq!(answer.header("etag"), Some("\"r1\""));
    let rec = answer.parse::<DataEnvelope<Record>>().data;
    assert_eq!((rec.uid, rec.folder_id, rec.revision), (uid, fx.folder, 1));
    assert_eq!(
        (&rec.encrypted_dek, &rec.encrypted_data),
        (&request.encrypted_dek, &request.encrypted_data)
    );
    assert_eq!(rec.created_at, rec.updated_at);
    assert!(rec.created_at.ends_with('Z'));
    assert_eq!(
        fx.admin
            .read_secret(uid)
            .unwrap()
            .fields
            .get("token")
            .unwrap()
            .expose(),
        "abc"
    );

    fx.http
        .post(paths::secrets(), Some(&token), body)
        .await
        .expect_error(409, "uid_conflict");

    let reader = fx.second_client(Access::Read).await;
    let (_, body) = create_body(&fx, RecordUid::generate(&mut rng()), fx.folder);
    fx.http
        .post(paths::secrets(), Some(&reader.token()), body)
        .await
        .expect_error(403, "forbidden");

    let ungranted = fx.admin.create_folder("Nope", None).unwrap();
    let (_, body) = create_body(&fx, RecordUid::generate(&mut rng()), ungranted);
    fx.http
        .post(paths::secrets(), Some(&token), body)
        .await
        .expect_error(404, "folder_not_found");

    let (mut short, _) = create_body(&fx, RecordUid::generate(&mut rng()), fx.folder);
    short.encrypted_dek.0.pop();
    fx.http
        .post(paths::secrets(), Some(&token), to_body(&short))
        .await
        .expect_error(400, "invalid_request");
    // The shortest `encrypted_data` is a blob of an empty plaintext: nonce and tag.
    let (mut data_short, _) = create_body(&fx, RecordUid::generate(&mut rng()), fx.folder);
    data_short.encrypted_data.0.truncate(blob::OVERHEAD - 1);
    fx.http
        .post(paths::secrets(), Some(&token), to_body(&data_short))
        .await
        .expect_error(400, "invalid_request");
    let (mut shortest, _) = create_body(&fx, RecordUid::generate(&mut rng()), fx.folder);
    shortest.encrypted_data.0.truncate(blob::OVERHEAD);
    fx.http
        .post(paths::secrets(), Some(&token), to_body(&shortest))
        .await
        .expect(201);
    for bad in [
        &b"{"[..],
        b"{}",
        br#"{"uid":"short","folder_id":"x"}"#,
        b"null",
    ] {
        fx.http
            .post(paths::secrets(), Some(&token), bad.to_vec())
            .await
            .expect_error(400, "invalid_request");
    }
    let huge = vec![b' '; 1024 * 1024 + 1];
    fx.http
        .post(paths::secrets(), Some(&token), huge)
        .await
        .expect_error(413, "payload_too_large");
    // Exactly 1 MiB is read, and then refused as a body, not for its size.
    let largest = vec![b' '; 1024 * 1024];
    fx.http
        .post(paths::secrets(), Some(&token), largest)
        .await
        .expect_error(400, "invalid_request");
}

#[tokio::test]
async fn unknown_routes_and_methods_get_envelopes() {
    let fx = Fixture::new(Access::Read).await;
    for path in [
        "/",
        "/api/sm/v1/nope",
        "/api/sm/v1/secrets/",
        "/api/sm/v2/folders",
    ] {
        fx.get(path).await.expect_error(404, "not_found");
    }
    let answer = fx
        .http
        .send(Method::DELETE, paths::secrets(), &[], Vec::new())
        .await
        .expect_error(405, "method_not_allowed");
    assert_eq!(answer.header("allow"), Some("GET, POST"));
    fx.http
        .send(Method::GET, paths::bootstrap(), &[], Vec::new())
        .await
        .expect_error(405, "method_not_allowed");
    assert_eq!(
        fx.http
            .send(Method::GET, paths::folders(), &[], Vec::new())
            .await
            .header("cache-control"),
        Some("no-store")
    );
}

#[tokio::test]
async fn garbage_never_breaks_the_server() {
    use syvault_proto::rand_core::Rng as _;

    let fx = Fixture::new(Access::ReadWrite).await;
    let uid = fx.secret("Database", "pw");
    let token = format!("Bearer {}", fx.client.token());
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let mut bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\xff\xfe\x00".to_vec(),
        nested.into_bytes(),
        br#"{"uid":"7Kj9mNpQ2xRs","folder_id":"00000000-0000-0000-0000-000000000000","encrypted_dek":"","encrypted_data":""}"#.to_vec(),
        br#"{"token":"vft_","public_key":"","keys":{"x":"y"}}"#.to_vec(),
        br#"{"keys":{"00000000-0000-0000-0000-000000000000":"AAE=","00000000-0000-0000-0000-000000000000":"AAE="}}"#.to_vec(),
    ];
    let mut rng = rng();
    for len in [1, 7, 64, 999] {
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        bodies.push(bytes);
    }
    let targets = [
        (Method::POST, paths::bootstrap().to_owned()),
        (Method::PUT, paths::folder_keys().to_owned()),
        (Method::POST, paths::secrets().to_owned()),
        (Method::POST, paths::rotate(&uid)),
        (
            Method::GET,
            format!("{}?limit=%ff&cursor=%&folder_id=%00", paths::secrets()),
        ),
        (
            Method::GET,
            "/api/sm/v1/secrets/%00%00%00%00%00%00%00%00%00%00%00%00".to_owned(),
        ),
        (Method::GET, "/api/sm/v1/rotations/%F0%9F%98%80".to_owned()),
    ];
    for (method, path) in &targets {
        for body in &bodies {
            let answer = fx
                .http
                .send(
                    method.clone(),
                    path,
                    &[("authorization", &token)],
                    body.clone(),
                )
                .await;
            assert!(
                (400..500).contains(&answer.status),
                "{method} {path}: {}",
                answer.status
            );
            answer.error_code();
        }
    }
    fx.get(&paths::secret(&uid)).await.expect(200);
}

#[tokio::test]
async fn an_idempotency_key_must_be_1_to_200_characters() {
    let fx = Fixture::new(Access::Read).await;
    let auth = format!("Bearer {}", fx.client.token());
    // No PostgreSQL is needed: the key is checked before the record is looked up, and the
    // record does not exist, so an accepted key ends in 404.
    let body = br#"{"record_uid":"AAAAAAAAAAAA","ttl_seconds":600}"#.to_vec();
    let longest = "k".repeat(200);
    let too_long = "k".repeat(201);
    for (key, status, code) in [
        ("", 400, "invalid_request"),
        (too_long.as_str(), 400, "invalid_request"),
        (longest.as_str(), 404, "secret_not_found"),
        ("k", 404, "secret_not_found"),
    ] {
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ];
        fx.http
            .send(Method::POST, paths::dynamic_lease(), &headers, body.clone())
            .await
            .expect_error(status, code);
    }
}
