//! `--data`: state, admin keys and token verifiers survive a restart.

mod common;

use std::time::Duration;

use common::{Fixture, Http, bootstrap, bootstrap_body, rng};
use syvault_dev::DevServer;
use syvault_dev::wire::{Access, DataEnvelope, FolderList, Record, paths};
use syvault_proto::keys::ClientKey;

fn builder(data: &std::path::Path) -> syvault_dev::DevServerBuilder {
    DevServer::builder()
        .data_file(Some(data.to_owned()))
        .rotation_delay(Duration::from_millis(50))
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state.json");
    let server = builder(&data).start().await.unwrap();
    let fx = Fixture::on(server, Access::ReadWrite).await;
    let uid = fx.secret("Database", "persisted");
    let used = fx.admin.create_client(fx.app, "used").unwrap();
    fx.admin
        .grant(used.client_id, fx.folder, Access::Read)
        .unwrap();
    let used_client = bootstrap(&fx.server, &fx.http, &used).await;
    let pending = fx.admin.create_client(fx.app, "pending").unwrap();
    fx.admin
        .grant(pending.client_id, fx.folder, Access::Read)
        .unwrap();
    let port = fx.server.addr().port();
    let Fixture {
        server,
        client,
        folder,
        ..
    } = fx;
    server.shutdown().await;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Same port, so the tokens' audience still matches.
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = builder(&data).addr(addr).start().await.unwrap();
    let http = Http::for_server(&server);
    let answer = http
        .get(&paths::secret(&uid), &client.token())
        .await
        .expect(200);
    let record = answer.parse::<DataEnvelope<Record>>().data;
    let payload = syvault_proto::record::open(
        &uid,
        &client.folder_keys[&folder],
        record.encrypted_dek.as_slice(),
        record.encrypted_data.as_slice(),
    )
    .unwrap();
    assert_eq!(
        payload.fields.get("password").unwrap().expose(),
        "persisted"
    );
    let admin = server.admin();
    assert_eq!(admin.read_secret(uid).unwrap().title, "Database");
    let folders: FolderList = http
        .get(paths::folders(), &used_client.token())
        .await
        .expect(200)
        .parse();
    assert_eq!(folders.data.len(), 1);

    // A used token stays used; a pending one still bootstraps, with its sealed folder key.
    http.post(
        paths::bootstrap(),
        None,
        bootstrap_body(&used.token, &ClientKey::generate(&mut rng())),
    )
    .await
    .expect_error(401, "unauthorized");
    let late = bootstrap(&server, &http, &pending).await;
    assert!(late.folder_keys.contains_key(&folder));
    server.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_state_file_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state.json");
    std::fs::write(&data, b"{\"format\":1").unwrap();
    let err = builder(&data).start().await.unwrap_err();
    assert!(matches!(err, syvault_dev::Error::StateFile { .. }), "{err}");
    assert_eq!(std::fs::read(&data).unwrap(), b"{\"format\":1");
}
