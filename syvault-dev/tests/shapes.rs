//! Request bodies must be JSON objects, and list cursors must be ones the server issued.

mod common;

use common::{Fixture, bootstrap_body, rng};
use syvault_dev::wire::{Access, ListQuery, SecretList, paths};
use syvault_proto::RecordUid;
use syvault_proto::record::{self, RecordPayload};

/// The values of a JSON object's members, in order, as an array.
fn as_array(body: &[u8]) -> Vec<u8> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    let values: Vec<serde_json::Value> = value.as_object().unwrap().values().cloned().collect();
    serde_json::to_vec(&values).unwrap()
}

#[tokio::test]
async fn a_create_body_as_an_array_is_refused() {
    let fx = Fixture::new(Access::ReadWrite).await;
    let uid = RecordUid::generate(&mut rng());
    let payload = RecordPayload::new("Created");
    let sealed = record::seal(
        &uid,
        &fx.client.folder_keys[&fx.folder],
        &payload,
        &mut rng(),
    );
    let body = serde_json::to_vec(&serde_json::json!([
        uid.as_str(),
        fx.folder,
        syvault_dev::wire::Base64Bytes::from(sealed.encrypted_dek),
        syvault_dev::wire::Base64Bytes::from(sealed.encrypted_data),
    ]))
    .unwrap();
    let answer = fx
        .http
        .post(paths::secrets(), Some(&fx.client.token()), body)
        .await
        .expect_error(400, "invalid_request");
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid type")
    );
    assert!(fx.admin.read_secret(uid).is_err(), "nothing was created");
}

#[tokio::test]
async fn bootstrap_and_folder_key_bodies_as_arrays_are_refused() {
    let fx = Fixture::new(Access::Read).await;
    let new = fx.admin.create_client(fx.app, "array client").unwrap();
    let key = syvault_proto::keys::ClientKey::generate(&mut rng());
    let body = as_array(&bootstrap_body(&new.token, &key));
    fx.http
        .post(paths::bootstrap(), None, body)
        .await
        .expect_error(400, "invalid_request");
    // The token was not spent on the refused request.
    fx.http
        .post(paths::bootstrap(), None, bootstrap_body(&new.token, &key))
        .await
        .expect(200);

    let upload = serde_json::to_vec(&serde_json::json!([{}])).unwrap();
    fx.http
        .put(paths::folder_keys(), &fx.client.token(), upload)
        .await
        .expect_error(400, "invalid_request");
}

/// Asserts a 400 `invalid_request` whose message names the wrong type.
fn refused_for_its_shape(answer: common::Answer) {
    let answer = answer.expect_error(400, "invalid_request");
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("invalid type"), "{message}");
}

#[tokio::test]
async fn a_lease_request_as_an_array_is_refused() {
    let fx = Fixture::new(Access::Read).await;
    let uid = RecordUid::generate(&mut rng());
    let body = serde_json::to_vec(&serde_json::json!([uid.as_str(), 120])).unwrap();
    refused_for_its_shape(
        fx.http
            .post(paths::dynamic_lease(), Some(&fx.client.token()), body)
            .await,
    );
    // The same request as an object gets past the shape check to the record lookup.
    let object =
        serde_json::to_vec(&serde_json::json!({"record_uid": uid.as_str(), "ttl_seconds": 120}))
            .unwrap();
    let answer = fx
        .http
        .post(paths::dynamic_lease(), Some(&fx.client.token()), object)
        .await;
    assert_ne!(
        answer.status,
        400,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
}

#[tokio::test]
async fn a_lease_renewal_as_an_array_is_refused() {
    let fx = Fixture::new(Access::Read).await;
    let lease_id = uuid::Uuid::from_u128(0x1ea5e);
    let path = paths::lease_renew(&lease_id);
    refused_for_its_shape(
        fx.http
            .post(&path, Some(&fx.client.token()), b"[300]".to_vec())
            .await,
    );
    // As an object, the renewal reaches the lease lookup: there is no such lease.
    fx.http
        .post(
            &path,
            Some(&fx.client.token()),
            br#"{"ttl_seconds":300}"#.to_vec(),
        )
        .await
        .expect_error(404, "lease_not_found");
}

fn list_path(folder: Option<uuid::Uuid>, cursor: Option<String>) -> String {
    paths::secrets_query(&ListQuery {
        folder_id: folder,
        since: None,
        cursor,
        limit: Some(1),
    })
}

#[tokio::test]
async fn only_cursors_the_server_issued_to_this_client_and_filter_are_accepted() {
    let fx = Fixture::new(Access::Read).await;
    let mut uids: Vec<RecordUid> = (0..3).map(|i| fx.secret(&format!("S{i}"), "pw")).collect();
    uids.sort();
    let first: SecretList = fx.get(&list_path(None, None)).await.expect(200).parse();
    let cursor = first.next_cursor.expect("a second page");
    let second: SecretList = fx
        .get(&list_path(None, Some(cursor.clone())))
        .await
        .expect(200)
        .parse();
    assert_eq!(second.data[0].uid, uids[1]);

    // A well-formed UID, as a client could forge it.
    fx.get(&list_path(None, Some(uids[0].to_string())))
        .await
        .expect_error(400, "invalid_request");
    // The issued cursor with another folder filter.
    fx.get(&list_path(Some(fx.folder), Some(cursor.clone())))
        .await
        .expect_error(400, "invalid_request");
    // The issued cursor presented by another client with the same grants.
    let other = fx.second_client(Access::Read).await;
    fx.http
        .get(&list_path(None, Some(cursor.clone())), &other.token())
        .await
        .expect_error(400, "invalid_request");
    // A cursor with a changed position.
    let moved = cursor.replacen(uids[0].as_str(), uids[2].as_str(), 1);
    fx.get(&list_path(None, Some(moved)))
        .await
        .expect_error(400, "invalid_request");
}
