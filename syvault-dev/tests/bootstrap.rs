//! `POST /bootstrap` and `PUT /folder-keys`, and `GET /folders` around them.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Fixture, Http, bootstrap, bootstrap_body, rng};
use syvault_dev::wire::{
    Access, Base64Bytes, BootstrapResponse, FolderKeysUpload, FolderList, paths, to_body,
};
use syvault_proto::bootstrap::OneTimeToken;
use syvault_proto::folder_key;
use syvault_proto::jwt::canonical_audience;
use syvault_proto::keys::ClientKey;

#[tokio::test]
async fn bootstrap_then_upload_makes_folders_visible() {
    let server = common::start().await;
    let http = Http::for_server(&server);
    let admin = server.admin();
    let app = admin.create_application("App");
    let granted = admin.create_folder("Production", None).unwrap();
    let child = admin.create_folder("Payments", Some(granted)).unwrap();
    let _other = admin.create_folder("Staging", None).unwrap();
    let new = admin.create_client(app, "svc").unwrap();
    admin
        .grant(new.client_id, granted, Access::ReadWrite)
        .unwrap();
    admin.grant(new.client_id, child, Access::Read).unwrap();

    let key = ClientKey::generate(&mut rng());
    let answer = http
        .post(paths::bootstrap(), None, bootstrap_body(&new.token, &key))
        .await
        .expect(200);
    let answer: BootstrapResponse = answer.parse();
    assert_eq!(answer.client_id, new.client_id);
    assert_eq!(answer.application_id, app);
    let ids: Vec<_> = answer.encrypted_folder_keys.keys().copied().collect();
    let mut expected = vec![granted, child];
    expected.sort();
    assert_eq!(ids, expected);

    // Granted but not uploaded yet: not listed.
    let client = common::TestClient {
        client_id: new.client_id,
        key: key.clone(),
        audience: canonical_audience(&server.url()).unwrap(),
        folder_keys: BTreeMap::new(),
    };
    let listed: FolderList = http
        .get(paths::folders(), &client.token())
        .await
        .expect(200)
        .parse();
    assert!(listed.data.is_empty());

    let proof = OneTimeToken::parse(new.token.expose()).unwrap().derive();
    let keys = answer
        .encrypted_folder_keys
        .iter()
        .map(|(id, sealed)| {
            let folder_key = proof.open_folder_key(id, sealed.as_slice()).unwrap();
            let wrapped = folder_key::wrap(
                &folder_key,
                id,
                &new.client_id,
                &key.public_key(),
                &mut rng(),
            );
            (*id, Base64Bytes::from(wrapped))
        })
        .collect();
    http.put(
        paths::folder_keys(),
        &client.token(),
        to_body(&FolderKeysUpload { keys }),
    )
    .await
    .expect(204);

    let listed: FolderList = http
        .get(paths::folders(), &client.token())
        .await
        .expect(200)
        .parse();
    assert_eq!(listed.data.len(), 2);
    for folder in &listed.data {
        let folder_key = folder_key::unwrap(
            &key,
            &folder.folder_id,
            &new.client_id,
            folder.encrypted_key.as_slice(),
        )
        .unwrap();
        let name = folder_key::open_name(&folder_key, folder.encrypted_name.as_slice()).unwrap();
        if folder.folder_id == granted {
            assert_eq!(
                (name.as_str(), folder.access, folder.parent_id),
                ("Production", Access::ReadWrite, None)
            );
        } else {
            assert_eq!(
                (name.as_str(), folder.access, folder.parent_id),
                ("Payments", Access::Read, Some(granted))
            );
        }
    }
}

#[tokio::test]
async fn a_token_is_single_use_but_a_lost_answer_replays() {
    let server = common::start().await;
    let http = Http::for_server(&server);
    let admin = server.admin();
    let app = admin.create_application("App");
    let folder = admin.create_folder("F", None).unwrap();
    let new = admin.create_client(app, "svc").unwrap();
    admin.grant(new.client_id, folder, Access::Read).unwrap();

    let key = ClientKey::generate(&mut rng());
    let first = http
        .post(paths::bootstrap(), None, bootstrap_body(&new.token, &key))
        .await
        .expect(200);
    let replay = http
        .post(paths::bootstrap(), None, bootstrap_body(&new.token, &key))
        .await
        .expect(200);
    assert_eq!(
        first.body, replay.body,
        "a replay gets the very same answer"
    );

    let other_key = ClientKey::generate(&mut rng());
    http.post(
        paths::bootstrap(),
        None,
        bootstrap_body(&new.token, &other_key),
    )
    .await
    .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn bad_bootstrap_requests_are_refused() {
    let server = common::start().await;
    let http = Http::for_server(&server);
    let admin = server.admin();
    let app = admin.create_application("App");
    let key = ClientKey::generate(&mut rng());

    let expired = admin
        .create_client_with_token_lifetime(app, "late", Duration::ZERO)
        .unwrap();
    http.post(
        paths::bootstrap(),
        None,
        bootstrap_body(&expired.token, &key),
    )
    .await
    .expect_error(401, "unauthorized");

    let unknown = OneTimeToken::generate(&mut rng()).to_text();
    http.post(paths::bootstrap(), None, bootstrap_body(&unknown, &key))
        .await
        .expect_error(401, "unauthorized");

    // The shown token itself is not the proof the server expects.
    let valid = admin.create_client(app, "svc").unwrap();
    let shown = format!(
        r#"{{"token":"{}","public_key":"{}"}}"#,
        valid.token.expose(),
        key.public_key().to_base64()
    );
    http.post(paths::bootstrap(), None, shown.into_bytes())
        .await
        .expect_error(401, "unauthorized");

    let malformed = format!(
        r#"{{"token":"vft_abc","public_key":"{}"}}"#,
        key.public_key().to_base64()
    );
    http.post(paths::bootstrap(), None, malformed.into_bytes())
        .await
        .expect_error(401, "unauthorized");

    let short_key = String::from_utf8(bootstrap_body(&valid.token, &key))
        .unwrap()
        .replace(
            &key.public_key().to_base64(),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
        );
    http.post(paths::bootstrap(), None, short_key.into_bytes())
        .await
        .expect_error(400, "invalid_request");
    for body in ["{", "{}", r#"{"token":"vft_x"}"#, "[]"] {
        http.post(paths::bootstrap(), None, body.as_bytes().to_vec())
            .await
            .expect_error(400, "invalid_request");
    }

    // None of the refusals used the valid token up.
    let ok = bootstrap(&server, &http, &valid).await;
    assert_eq!(ok.client_id, valid.client_id);
}

#[tokio::test]
async fn grants_after_bootstrap_are_wrapped_to_the_client() {
    let fx = Fixture::new(Access::Read).await;
    let later = fx.admin.create_folder("Later", None).unwrap();
    fx.admin
        .grant(fx.client.client_id, later, Access::ReadWrite)
        .unwrap();
    let listed: FolderList = fx.get(paths::folders()).await.expect(200).parse();
    let folder = listed
        .data
        .iter()
        .find(|f| f.folder_id == later)
        .expect("listed");
    let key = folder_key::unwrap(
        &fx.client.key,
        &later,
        &fx.client.client_id,
        folder.encrypted_key.as_slice(),
    )
    .unwrap();
    assert_eq!(
        folder_key::open_name(&key, folder.encrypted_name.as_slice()).unwrap(),
        "Later"
    );

    fx.admin.revoke(fx.client.client_id, later).unwrap();
    let listed: FolderList = fx.get(paths::folders()).await.expect(200).parse();
    assert_eq!(listed.data.len(), 1);
}

#[tokio::test]
async fn folder_key_uploads_are_checked_and_all_or_nothing() {
    let server = common::start().await;
    let http = Http::for_server(&server);
    let admin = server.admin();
    let app = admin.create_application("App");
    let granted = admin.create_folder("Granted", None).unwrap();
    let ungranted = admin.create_folder("Other", None).unwrap();
    let new = admin.create_client(app, "svc").unwrap();
    admin.grant(new.client_id, granted, Access::Read).unwrap();
    let key = ClientKey::generate(&mut rng());
    http.post(paths::bootstrap(), None, bootstrap_body(&new.token, &key))
        .await
        .expect(200);
    let client = common::TestClient {
        client_id: new.client_id,
        key: key.clone(),
        audience: canonical_audience(&server.url()).unwrap(),
        folder_keys: BTreeMap::new(),
    };
    let blob = |folder| {
        let k = syvault_proto::secret::SymmetricKey::generate(&mut rng());
        Base64Bytes::from(folder_key::wrap(
            &k,
            &folder,
            &new.client_id,
            &key.public_key(),
            &mut rng(),
        ))
    };
    let upload = |keys| to_body(&FolderKeysUpload { keys });

    let both = [(granted, blob(granted)), (ungranted, blob(ungranted))]
        .into_iter()
        .collect();
    http.put(paths::folder_keys(), &client.token(), upload(both))
        .await
        .expect_error(404, "folder_not_found");
    let listed: FolderList = http
        .get(paths::folders(), &client.token())
        .await
        .expect(200)
        .parse();
    assert!(
        listed.data.is_empty(),
        "nothing stored after a refused upload"
    );

    let short = [(granted, Base64Bytes::from(vec![4u8; 124]))]
        .into_iter()
        .collect();
    http.put(paths::folder_keys(), &client.token(), upload(short))
        .await
        .expect_error(400, "invalid_request");
    http.put(
        paths::folder_keys(),
        &client.token(),
        b"{\"keys\":3}".to_vec(),
    )
    .await
    .expect_error(400, "invalid_request");
    http.put(
        paths::folder_keys(),
        &client.token(),
        upload(BTreeMap::new()),
    )
    .await
    .expect(204);
}
