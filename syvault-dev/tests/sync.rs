//! Incremental listings (`docs/protocol.md` §9.6): sync tokens, deltas, their errors, their
//! retention and persistence, and the switch that makes the server ignore `since`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Answer, Fixture, Http, TestClient};
use serde_json::Value;
use syvault_dev::DevServer;
use syvault_dev::wire::{self, Access, FolderList, ListQuery, Record, SecretList, paths};
use syvault_proto::record::RecordPayload;
use syvault_proto::secret::SymmetricKey;
use syvault_proto::{RecordUid, folder_key};
use uuid::Uuid;

fn list_path(
    folder: Option<Uuid>,
    since: Option<&str>,
    cursor: Option<&str>,
    limit: Option<u32>,
) -> String {
    paths::secrets_query(&ListQuery {
        folder_id: folder,
        since: since.map(str::to_owned),
        cursor: cursor.map(str::to_owned),
        limit,
    })
}

/// What a whole walk gave, page by page checked against the protocol's rules.
#[derive(Debug)]
struct Walk {
    data: Vec<Record>,
    deleted: Vec<RecordUid>,
    token: Option<String>,
    pages: usize,
}

impl Walk {
    fn uids(&self) -> BTreeSet<RecordUid> {
        self.data.iter().map(|record| record.uid).collect()
    }

    fn deleted(&self) -> BTreeSet<RecordUid> {
        self.deleted.iter().copied().collect()
    }

    fn revision(&self, uid: RecordUid) -> Option<u64> {
        self.data
            .iter()
            .find(|record| record.uid == uid)
            .map(|record| record.revision)
    }
}

/// Walks a listing (a delta when `since` is given) to its end as `client`.
async fn walk(
    http: &Http,
    client: &TestClient,
    folder: Option<Uuid>,
    since: Option<&str>,
    limit: Option<u32>,
) -> Walk {
    let mut walk = Walk {
        data: Vec::new(),
        deleted: Vec::new(),
        token: None,
        pages: 0,
    };
    let mut cursor: Option<String> = None;
    let mut last_uid: Option<RecordUid> = None;
    loop {
        let path = list_path(folder, since, cursor.as_deref(), limit);
        let answer = http.get(&path, &client.token()).await.expect(200);
        let json = answer.json();
        let page: SecretList = answer.parse();
        walk.pages += 1;
        // A delta page has every member and `delta: true`; a full page has neither `delta`
        // nor `deleted`.
        if since.is_some() {
            assert_eq!(json["delta"], Value::Bool(true), "{json}");
            assert!(json["deleted"].is_array(), "{json}");
            assert!(json.get("sync_token").is_some(), "{json}");
        } else {
            assert!(json.get("delta").is_none() && json.get("deleted").is_none());
        }
        let mut items: Vec<RecordUid> = page.data.iter().map(|record| record.uid).collect();
        items.extend(&page.deleted);
        items.sort();
        if let Some(limit) = limit {
            assert!(items.len() <= usize::try_from(limit).unwrap(), "{json}");
        }
        // One UID-ordered sequence over the whole walk, each UID once.
        for uid in &items {
            assert!(last_uid.is_none_or(|last| last < *uid), "{json}");
            last_uid = Some(*uid);
        }
        walk.data.extend(page.data);
        walk.deleted.extend(page.deleted);
        let Some(next) = page.next_cursor else {
            walk.token = page.sync_token;
            return walk;
        };
        assert_eq!(page.sync_token, None, "only the last page has a token");
        assert_ne!(cursor.as_deref(), Some(next.as_str()));
        cursor = Some(next);
    }
}

impl Fixture {
    fn payload(title: &str, password: &str) -> RecordPayload {
        let mut payload = RecordPayload::new(title);
        payload.fields.set("password", password);
        payload
    }

    fn secret_in(&self, folder: Uuid, title: &str) -> RecordUid {
        self.admin
            .create_secret(folder, &Self::payload(title, "pw"))
            .unwrap()
    }

    fn update(&self, uid: RecordUid, password: &str) -> u64 {
        self.admin
            .update_secret(uid, &Self::payload("Updated", password))
            .unwrap()
    }

    async fn full(&self) -> Walk {
        walk(&self.http, &self.client, None, None, None).await
    }

    async fn delta(&self, token: &str) -> Walk {
        walk(&self.http, &self.client, None, Some(token), None).await
    }

    /// Creates a secret in the fixture's folder through the API, as the client.
    async fn post_secret(&self) -> RecordUid {
        let uid = RecordUid::generate(&mut common::rng());
        let key = &self.client.folder_keys[&self.folder];
        let payload = Self::payload("Posted", "p");
        let sealed = syvault_proto::record::seal(&uid, key, &payload, &mut common::rng());
        let body = wire::to_body(&wire::CreateSecretRequest {
            uid,
            folder_id: self.folder,
            encrypted_dek: sealed.encrypted_dek.into(),
            encrypted_data: sealed.encrypted_data.into(),
        });
        self.http
            .post(paths::secrets(), Some(&self.client.token()), body)
            .await
            .expect(201);
        uid
    }

    /// The keys of every folder the client can open now, from `GET /folders`.
    async fn folder_keys(&self) -> BTreeMap<Uuid, SymmetricKey> {
        let folders: FolderList = self.get(paths::folders()).await.expect(200).parse();
        folders
            .data
            .iter()
            .map(|folder| {
                let key = folder_key::unwrap(
                    &self.client.key,
                    &folder.folder_id,
                    &self.client.client_id,
                    folder.encrypted_key.as_slice(),
                )
                .unwrap();
                (folder.folder_id, key)
            })
            .collect()
    }

    /// One page of the unfiltered listing.
    async fn page(
        &self,
        since: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> SecretList {
        self.get(&list_path(None, since, cursor, limit))
            .await
            .expect(200)
            .parse()
    }

    async fn list(&self, folder: Option<Uuid>, since: Option<&str>) -> Answer {
        self.get(&list_path(folder, since, None, None)).await
    }
}

fn set(uids: &[RecordUid]) -> BTreeSet<RecordUid> {
    uids.iter().copied().collect()
}

#[tokio::test]
async fn an_unchanged_vault_answers_an_empty_delta_with_the_same_token() {
    let fx = Fixture::new(Access::Read).await;
    let uids: Vec<_> = (0..3).map(|i| fx.secret(&format!("S{i}"), "pw")).collect();
    let full = fx.full().await;
    assert_eq!(full.uids(), set(&uids));
    let token = full
        .token
        .expect("a full listing's last page carries a token");

    let answer = fx.list(None, Some(&token)).await.expect(200);
    let body = String::from_utf8(answer.body.to_vec()).unwrap();
    assert_eq!(
        body,
        format!(
            r#"{{"delta":true,"data":[],"deleted":[],"next_cursor":null,"sync_token":"{token}"}}"#
        )
    );
    // Listing in full again hands out the same token: the position did not move.
    assert_eq!(fx.full().await.token.as_deref(), Some(token.as_str()));
}

#[tokio::test]
async fn deltas_show_creates_updates_deletes_and_moves() {
    let fx = Fixture::new(Access::ReadWrite).await;
    let admin = &fx.admin;
    let hidden = admin.create_folder("Hidden", None).unwrap();
    let other = admin.create_folder("Other", None).unwrap();
    admin
        .grant(fx.client.client_id, other, Access::Read)
        .unwrap();
    let updated = fx.secret("Updated", "old");
    let deleted = fx.secret("Deleted", "pw");
    let moved_out = fx.secret("Moved out", "pw");
    let moved_across = fx.secret("Moved across", "pw");
    let untouched = fx.secret("Untouched", "pw");
    let moved_in = fx.secret_in(hidden, "Moved in");
    let hidden_changed = fx.secret_in(hidden, "Hidden changed");
    let hidden_deleted = fx.secret_in(hidden, "Hidden deleted");
    let full = fx.full().await;
    assert_eq!(
        full.uids(),
        set(&[updated, deleted, moved_out, moved_across, untouched])
    );
    let token = full.token.unwrap();
    let filtered = walk(&fx.http, &fx.client, Some(fx.folder), None, None).await;
    let folder_token = filtered.token.unwrap();
    let other_token = walk(&fx.http, &fx.client, Some(other), None, None)
        .await
        .token
        .unwrap();

    let created = fx.secret("Created", "pw");
    assert_eq!(fx.update(updated, "new"), 2);
    admin.delete_secret(deleted).unwrap();
    assert_eq!(admin.move_secret(moved_out, hidden).unwrap(), 2);
    admin.move_secret(moved_across, other).unwrap();
    admin.move_secret(moved_in, fx.folder).unwrap();
    fx.update(hidden_changed, "x");
    admin.delete_secret(hidden_deleted).unwrap();
    // A record the client creates itself is a change like any other.
    let posted = fx.post_secret().await;

    let delta = fx.delta(&token).await;
    assert_eq!(
        delta.uids(),
        set(&[created, updated, moved_across, moved_in, posted])
    );
    assert_eq!(delta.deleted(), set(&[deleted, moved_out]));
    assert_eq!(delta.revision(updated), Some(2));
    // Records come at their current version, in their current folder, and open.
    let keys = fx.folder_keys().await;
    for record in &delta.data {
        let current = admin.record(record.uid).unwrap();
        assert_eq!(record, &current);
        let key = &keys[&record.folder_id];
        syvault_proto::record::open(
            &record.uid,
            key,
            record.encrypted_dek.as_slice(),
            record.encrypted_data.as_slice(),
        )
        .unwrap();
    }
    // Under a folder filter, leaving the folder is leaving the view.
    let delta = walk(
        &fx.http,
        &fx.client,
        Some(fx.folder),
        Some(&folder_token),
        None,
    )
    .await;
    assert_eq!(delta.uids(), set(&[created, updated, moved_in, posted]));
    assert_eq!(delta.deleted(), set(&[deleted, moved_out, moved_across]));
    let delta = walk(&fx.http, &fx.client, Some(other), Some(&other_token), None).await;
    assert_eq!(delta.uids(), set(&[moved_across]));
    assert!(delta.deleted.is_empty());

    // Applied to the first listing, the delta gives what a full listing gives now.
    let delta = fx.delta(&token).await;
    let mut held = full.data;
    held.retain(|record| {
        !delta.deleted().contains(&record.uid) && !delta.uids().contains(&record.uid)
    });
    held.extend(delta.data);
    held.sort_by_key(|record| record.uid);
    assert_eq!(held, fx.full().await.data);
    // And the next delta from the new token is empty.
    let next = fx.delta(&delta.token.unwrap()).await;
    assert!(next.data.is_empty() && next.deleted.is_empty());
}

#[tokio::test]
async fn a_grant_added_shows_its_records_and_a_revoked_one_removes_them() {
    let fx = Fixture::new(Access::Read).await;
    let own = fx.secret("Own", "pw");
    let extra = fx.admin.create_folder("Extra", None).unwrap();
    let extra_uids: Vec<_> = (0..4)
        .map(|i| fx.secret_in(extra, &format!("E{i}")))
        .collect();
    let token = fx.full().await.token.unwrap();

    // Grants of another client change nothing for this one.
    let stranger = fx.admin.create_client(fx.app, "stranger").unwrap();
    fx.admin
        .grant(stranger.client_id, extra, Access::Read)
        .unwrap();
    let delta = fx.delta(&token).await;
    assert!(
        delta.data.is_empty() && delta.deleted.is_empty(),
        "{delta:?}"
    );

    fx.admin
        .grant(fx.client.client_id, extra, Access::Read)
        .unwrap();
    let delta = fx.delta(&token).await;
    assert_eq!(delta.uids(), set(&extra_uids));
    assert!(delta.deleted.is_empty());
    let granted = delta.token.unwrap();
    let extra_only = walk(&fx.http, &fx.client, Some(extra), None, None).await;
    assert_eq!(extra_only.uids(), set(&extra_uids));
    let extra_token = extra_only.token.unwrap();
    // Changing the access of a grant is no change of what is visible.
    fx.admin
        .grant(fx.client.client_id, extra, Access::ReadWrite)
        .unwrap();
    let delta = fx.delta(&granted).await;
    assert!(
        delta.data.is_empty() && delta.deleted.is_empty(),
        "{delta:?}"
    );

    fx.admin.revoke(fx.client.client_id, extra).unwrap();
    let delta = fx.delta(&granted).await;
    assert!(delta.data.is_empty());
    assert_eq!(delta.deleted(), set(&extra_uids));
    // From the first token: granted and revoked since, so possibly seen; named as deleted.
    let delta = fx.delta(&token).await;
    assert!(delta.data.is_empty());
    assert_eq!(delta.deleted(), set(&extra_uids));
    // A filtered listing of a folder no longer granted is 404, delta or not.
    fx.list(Some(extra), Some(&extra_token))
        .await
        .expect_error(404, "folder_not_found");
    assert!(!fx.delta(&granted).await.uids().contains(&own));
}

#[tokio::test]
async fn a_delta_never_names_records_of_folders_never_granted() {
    let fx = Fixture::new(Access::Read).await;
    let hidden = fx.admin.create_folder("Hidden", None).unwrap();
    let secret = fx.secret_in(hidden, "Hidden");
    let token = fx.full().await.token.unwrap();
    fx.update(secret, "new");
    let elsewhere = fx.admin.create_folder("Elsewhere", None).unwrap();
    fx.admin.move_secret(secret, elsewhere).unwrap();
    let transient = fx.secret_in(hidden, "Transient");
    fx.admin.delete_secret(transient).unwrap();
    fx.admin.delete_secret(secret).unwrap();
    let delta = fx.delta(&token).await;
    assert!(
        delta.data.is_empty() && delta.deleted.is_empty(),
        "{delta:?}"
    );
}

#[tokio::test]
async fn rotation_is_a_change() {
    let fx = Fixture::new(Access::ReadWrite).await;
    let uid = fx.secret("Database", "old");
    fx.admin
        .set_rotation_policy(uid, syvault_dev::RotationPolicy::new("password"))
        .unwrap();
    let token = fx.full().await.token.unwrap();
    let started = fx
        .http
        .post(&paths::rotate(&uid), Some(&fx.client.token()), Vec::new())
        .await
        .expect(202);
    let id: Uuid = started.json()["data"]["rotation_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    while !fx.admin.rotation(id).unwrap().status.is_terminal() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delta = fx.delta(&token).await;
    assert_eq!(delta.revision(uid), Some(2));
}

#[tokio::test]
async fn tokens_and_cursors_are_bound_to_client_filter_and_since() {
    let fx = Fixture::new(Access::Read).await;
    for i in 0..5 {
        fx.secret(&format!("S{i}"), "pw");
    }
    let token = fx.full().await.token.unwrap();
    let folder_token = walk(&fx.http, &fx.client, Some(fx.folder), None, None)
        .await
        .token
        .unwrap();
    assert_ne!(token, folder_token);
    let second = fx.second_client(Access::Read).await;

    // Another client's token, another filter's, and forged or malformed ones: 400.
    fx.http
        .get(&list_path(None, Some(&token), None, None), &second.token())
        .await
        .expect_error(400, "invalid_request");
    fx.list(Some(fx.folder), Some(&token))
        .await
        .expect_error(400, "invalid_request");
    fx.list(None, Some(&folder_token))
        .await
        .expect_error(400, "invalid_request");
    let flip = |text: &str, at: usize| {
        let mut bytes = text.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        String::from_utf8(bytes).unwrap()
    };
    // The sequence number's last digit and the tag's last digit.
    let (position, _) = token.split_once('.').unwrap();
    for forged in [
        flip(&token, position.len() - 1),
        flip(&token, token.len() - 1),
    ] {
        fx.list(None, Some(&forged))
            .await
            .expect_error(400, "invalid_request");
    }
    for malformed in [
        "x",
        "not a token",
        &token[..token.len() - 1],
        &format!("{token}0"),
        &token.to_ascii_uppercase(),
        &format!("{token}.{token}"),
    ] {
        fx.list(None, Some(malformed))
            .await
            .expect_error(400, "invalid_request");
    }
    let base = paths::secrets();
    for query in [
        "since=",
        "since",
        "since=%zz",
        &format!("since={token}&since={token}"),
    ] {
        fx.get(&format!("{base}?{query}"))
            .await
            .expect_error(400, "invalid_request");
    }

    // Cursors are bound to the since they were issued with, or to its absence.
    fx.update(fx.full().await.data[0].uid, "changed");
    for i in 0..4 {
        fx.secret(&format!("New{i}"), "pw");
    }
    let first = fx.page(None, None, Some(2)).await;
    let full_cursor = first.next_cursor.unwrap();
    fx.list_with(None, Some(&token), Some(&full_cursor))
        .await
        .expect_error(400, "invalid_request");
    let first = fx.page(Some(&token), None, Some(2)).await;
    let delta_cursor = first.next_cursor.unwrap();
    fx.list_with(None, None, Some(&delta_cursor))
        .await
        .expect_error(400, "invalid_request");
    let later = fx.full().await.token.unwrap();
    fx.list_with(None, Some(&later), Some(&delta_cursor))
        .await
        .expect_error(400, "invalid_request");
    fx.list_with(None, Some(&token), Some(&delta_cursor))
        .await
        .expect(200);
}

impl Fixture {
    async fn list_with(
        &self,
        folder: Option<Uuid>,
        since: Option<&str>,
        cursor: Option<&str>,
    ) -> Answer {
        self.get(&list_path(folder, since, cursor, Some(2))).await
    }
}

/// A server built with `builder` holding one secret, listed once: the fixture, the secret and
/// the listing's token.
async fn listed_once(builder: syvault_dev::DevServerBuilder) -> (Fixture, RecordUid, String) {
    let fx = Fixture::on(builder.start().await.unwrap(), Access::Read).await;
    let uid = fx.secret("S", "pw");
    let token = fx.full().await.token.unwrap();
    (fx, uid, token)
}

#[tokio::test]
async fn tokens_older_than_the_log_or_of_an_unknown_epoch_are_expired() {
    // At most three changes kept.
    let (fx, uid, token) = listed_once(DevServer::builder().sync_log_capacity(3)).await;
    for i in 0..3 {
        fx.update(uid, &format!("v{i}"));
    }
    assert_eq!(fx.delta(&token).await.revision(uid), Some(4));
    fx.update(uid, "v3");
    let answer = fx
        .list(None, Some(&token))
        .await
        .expect_error(410, "sync_token_expired");
    assert!(answer.json()["error"]["message"].is_string());
    // A token from a listing after the oldest change kept still works.
    let fresh = fx.full().await.token.unwrap();
    fx.update(uid, "v4");
    assert_eq!(fx.delta(&fresh).await.revision(uid), Some(6));

    // A position of an epoch the server does not know: expired, not forged.
    let (position, tag) = fresh.split_once('.').unwrap();
    let epoch = u64::from_str_radix(&position[..16], 16).unwrap();
    let unknown = format!("{:016x}{}.{tag}", epoch ^ 1, &position[16..]);
    fx.list(None, Some(&unknown))
        .await
        .expect_error(410, "sync_token_expired");

    // A token of another server (or of this one before a restart without --data) names a
    // history this server does not have.
    let other = Fixture::new(Access::Read).await;
    let foreign = other.full().await.token.unwrap();
    fx.list(None, Some(&foreign))
        .await
        .expect_error(410, "sync_token_expired");
}

#[tokio::test]
async fn changes_older_than_the_retention_expire_their_tokens() {
    let builder = DevServer::builder().sync_retention(Duration::from_millis(300));
    let (fx, uid, token) = listed_once(builder).await;
    fx.update(uid, "new");
    let kept = fx.delta(&token).await;
    assert_eq!(kept.revision(uid), Some(2));
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The change has outlived the retention: the token before it is expired even though no
    // change was made since, while the token after it is still good.
    fx.list(None, Some(&token))
        .await
        .expect_error(410, "sync_token_expired");
    let after = fx.delta(&kept.token.unwrap()).await;
    assert!(after.data.is_empty() && after.deleted.is_empty());
}

#[tokio::test]
async fn a_large_delta_pages_every_change_once() {
    let fx = Fixture::new(Access::ReadWrite).await;
    let uids: Vec<_> = (0..40).map(|i| fx.secret(&format!("S{i}"), "pw")).collect();
    let token = fx.full().await.token.unwrap();
    let mut changed = BTreeSet::new();
    let mut gone = BTreeSet::new();
    let hidden = fx.admin.create_folder("Hidden", None).unwrap();
    for (i, uid) in uids.iter().enumerate() {
        match i % 4 {
            0 => {
                fx.update(*uid, "new");
                fx.update(*uid, "newer");
                changed.insert(*uid);
            }
            1 => {
                fx.admin.delete_secret(*uid).unwrap();
                gone.insert(*uid);
            }
            2 => {
                fx.admin.move_secret(*uid, hidden).unwrap();
                gone.insert(*uid);
            }
            _ => {}
        }
    }
    for i in 0..7 {
        changed.insert(fx.secret(&format!("New{i}"), "pw"));
    }
    for limit in [1, 3, 7] {
        let delta = walk(&fx.http, &fx.client, None, Some(&token), Some(limit)).await;
        assert_eq!(delta.uids(), changed, "limit {limit}");
        assert_eq!(delta.deleted(), gone, "limit {limit}");
        let items = changed.len() + gone.len();
        assert_eq!(delta.pages, items.div_ceil(usize::try_from(limit).unwrap()));
        assert!(delta.token.is_some());
        assert!(
            delta
                .data
                .iter()
                .all(|record| record.revision == 3 || record.revision == 1)
        );
    }
}

#[tokio::test]
async fn a_change_during_a_full_walk_comes_in_the_next_delta() {
    let fx = Fixture::new(Access::Read).await;
    let mut uids: Vec<_> = (0..9).map(|i| fx.secret(&format!("S{i}"), "pw")).collect();
    uids.sort();
    let first = fx.page(None, None, Some(3)).await;
    assert_eq!(first.sync_token, None);
    // Between pages: a record already listed changes, one not yet listed is deleted, and one
    // is created before the cursor, where the walk will not see it.
    let listed = first.data[0].uid;
    fx.update(listed, "changed");
    fx.admin.delete_secret(uids[8]).unwrap();
    let early: RecordUid = "000000000000".parse().unwrap();
    fx.admin
        .create_secret_with_uid(fx.folder, early, &Fixture::payload("Early", "pw"))
        .unwrap();
    let mut cursor = first.next_cursor;
    let mut token = None;
    let mut seen: Vec<_> = first.data.iter().map(|record| record.uid).collect();
    while let Some(next) = cursor {
        let page = fx.page(None, Some(&next), Some(3)).await;
        seen.extend(page.data.iter().map(|record| record.uid));
        cursor = page.next_cursor;
        token = page.sync_token;
    }
    assert!(!seen.contains(&early) && !seen.contains(&uids[8]));
    let delta = fx.delta(&token.unwrap()).await;
    assert_eq!(delta.uids(), set(&[listed, early]));
    assert_eq!(delta.revision(listed), Some(2));
    assert_eq!(delta.deleted(), set(&[uids[8]]));

    // The same holds for a delta walk: a change after its first page comes again.
    let base = fx.full().await.token.unwrap();
    fx.update(uids[0], "a");
    fx.update(uids[5], "b");
    let first = fx.page(Some(&base), None, Some(1)).await;
    fx.update(uids[0], "c");
    let rest = fx
        .get(&list_path(
            None,
            Some(&base),
            first.next_cursor.as_deref(),
            Some(1),
        ))
        .await
        .expect(200)
        .parse::<SecretList>();
    assert!(rest.next_cursor.is_none());
    let next = fx.delta(&rest.sync_token.unwrap()).await;
    assert_eq!(next.uids(), set(&[uids[0]]));
    assert_eq!(next.revision(uids[0]), Some(4));
}

#[tokio::test]
async fn tokens_and_cursors_survive_a_restart_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state.json");
    let server = DevServer::builder()
        .data_file(Some(data.clone()))
        .start()
        .await
        .unwrap();
    let fx = Fixture::on(server, Access::Read).await;
    let uids: Vec<_> = (0..4).map(|i| fx.secret(&format!("S{i}"), "pw")).collect();
    let token = fx.full().await.token.unwrap();
    let first = fx.page(None, None, Some(2)).await;
    let cursor = first.next_cursor.unwrap();
    fx.update(uids[1], "before the restart");
    let port = fx.server.addr().port();
    let Fixture { server, client, .. } = fx;
    server.shutdown().await;
    let saved = std::fs::read(&data).unwrap();

    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let restart = |addr| {
        DevServer::builder()
            .data_file(Some(data.clone()))
            .addr(addr)
            .start()
    };
    let server = restart(addr).await.unwrap();
    let http = Http::for_server(&server);
    let delta = walk(&http, &client, None, Some(&token), None).await;
    assert_eq!(delta.uids(), set(&[uids[1]]));
    // A walk begun before the restart goes on, and ends with the token of where it began.
    let rest: SecretList = http
        .get(
            &list_path(None, None, Some(&cursor), Some(2)),
            &client.token(),
        )
        .await
        .expect(200)
        .parse();
    assert_eq!(rest.sync_token.as_deref(), Some(token.as_str()));
    // Changes after the restart come in deltas from tokens before it.
    let admin = server.admin();
    admin.delete_secret(uids[2]).unwrap();
    let delta = walk(&http, &client, None, Some(&token), None).await;
    assert_eq!(delta.uids(), set(&[uids[1]]));
    assert_eq!(delta.deleted(), set(&[uids[2]]));
    let latest = delta.token.unwrap();
    server.shutdown().await;

    // A crash that lost the last changes: the state file is the one saved before them. The
    // token of a position it does not hold is expired, not answered with a wrong delta.
    std::fs::write(&data, &saved).unwrap();
    let server = restart(addr).await.unwrap();
    let http = Http::for_server(&server);
    let answer = http
        .get(&list_path(None, Some(&latest), None, None), &client.token())
        .await;
    answer.expect_error(410, "sync_token_expired");
    let delta = walk(&http, &client, None, Some(&token), None).await;
    assert_eq!(delta.uids(), set(&[uids[1]]));
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_that_ignores_since_answers_in_full_without_tokens() {
    let server = DevServer::builder()
        .incremental_listings(false)
        .start()
        .await
        .unwrap();
    let fx = Fixture::on(server, Access::Read).await;
    let uids: Vec<_> = (0..3).map(|i| fx.secret(&format!("S{i}"), "pw")).collect();
    let full = fx.full().await;
    assert_eq!(full.uids(), set(&uids));
    assert_eq!(full.token, None);
    let answer = fx.list(None, None).await.expect(200);
    assert!(
        answer.json().get("sync_token").is_none(),
        "{}",
        answer.json()
    );
    // `since` is an unknown parameter to it, even when empty or repeated.
    let base = paths::secrets();
    for query in [
        "since=whatever",
        "since=",
        "since=a&since=b",
        "since=%zz&limit=2",
    ] {
        let answer = fx.get(&format!("{base}?{query}")).await.expect(200);
        let json = answer.json();
        assert!(
            json.get("delta").is_none() && json.get("sync_token").is_none(),
            "{json}"
        );
        assert!(!json["data"].as_array().unwrap().is_empty());
    }
}

#[tokio::test]
async fn ignoring_since_can_be_switched_while_the_server_runs() {
    let fx = Fixture::new(Access::Read).await;
    let uids: Vec<_> = (0..3).map(|i| fx.secret(&format!("S{i}"), "pw")).collect();
    let token = fx.full().await.token.unwrap();
    fx.update(uids[0], "new");
    fx.server.faults().ignore_since(true);
    let answer = fx.list(None, Some(&token)).await.expect(200);
    let json = answer.json();
    assert!(
        json.get("delta").is_none() && json.get("sync_token").is_none(),
        "{json}"
    );
    let page: SecretList = answer.parse();
    assert_eq!(page.data.len(), 3);
    // Back on, the tokens handed out before still work.
    fx.server.faults().ignore_since(false);
    assert_eq!(fx.delta(&token).await.uids(), set(&[uids[0]]));
    fx.server.faults().ignore_since(true);
    fx.server.faults().clear();
    assert!(fx.list(None, Some(&token)).await.expect(200).json()["delta"] == Value::Bool(true));
}

#[tokio::test]
async fn admin_moves_and_deletes_check_their_arguments() {
    let fx = Fixture::new(Access::Read).await;
    let uid = fx.secret("Database", "hunter2");
    let unknown: RecordUid = "000000000000".parse().unwrap();
    assert!(matches!(
        fx.admin.delete_secret(unknown),
        Err(syvault_dev::Error::UnknownSecret(_))
    ));
    assert!(matches!(
        fx.admin.move_secret(unknown, fx.folder),
        Err(syvault_dev::Error::UnknownSecret(_))
    ));
    assert!(matches!(
        fx.admin.move_secret(uid, Uuid::from_u128(9)),
        Err(syvault_dev::Error::UnknownFolder(_))
    ));
    let other = fx.admin.create_folder("Other", None).unwrap();
    assert_eq!(fx.admin.move_secret(uid, other).unwrap(), 2);
    let record = fx.admin.record(uid).unwrap();
    assert_eq!((record.folder_id, record.revision), (other, 2));
    let payload = fx.admin.read_secret(uid).unwrap();
    assert_eq!(payload.fields.get("password").unwrap().expose(), "hunter2");
    fx.get(&paths::secret(&uid))
        .await
        .expect_error(404, "secret_not_found");
    fx.admin.delete_secret(uid).unwrap();
    assert!(fx.admin.record(uid).is_none());
    assert!(matches!(
        fx.admin.delete_secret(uid),
        Err(syvault_dev::Error::UnknownSecret(_))
    ));
}
