//! Rotation: `POST /secrets/{uid}/rotate`, `GET /rotations/{id}` and the worker's states.

mod common;

use std::time::{Duration, Instant};

use common::{Fixture, rng};
use syvault_dev::wire::{Access, DataEnvelope, Record, Rotation, RotationStatus, paths};
use syvault_dev::{DevServer, RotationPolicy};
use syvault_proto::RecordUid;
use syvault_proto::error::ErrorDetails;
use uuid::Uuid;

async fn rotate(fx: &Fixture, uid: RecordUid) -> Rotation {
    let answer = fx
        .http
        .post(&paths::rotate(&uid), Some(&fx.client.token()), Vec::new())
        .await
        .expect(202);
    answer.parse::<DataEnvelope<Rotation>>().data
}

/// Each rotation step waits this long: ample for polls every 15 ms to see every state even on
/// a loaded machine.
const STEP: Duration = Duration::from_millis(400);

async fn fixture() -> Fixture {
    let server = DevServer::builder()
        .rotation_delay(STEP)
        .start()
        .await
        .unwrap();
    Fixture::on(server, Access::ReadWrite).await
}

/// Polls until the rotation is terminal, returning every status seen in order, starting with
/// the `pending` of the start answer.
async fn follow(fx: &Fixture, rotation_id: Uuid) -> (Vec<RotationStatus>, Rotation) {
    follow_timed(fx, rotation_id).await.0
}

/// [`follow`], also returning the longest time between two consecutive poll answers.
async fn follow_timed(
    fx: &Fixture,
    rotation_id: Uuid,
) -> ((Vec<RotationStatus>, Rotation), Duration) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = vec![RotationStatus::Pending];
    let (mut last, mut longest_gap) = (Instant::now(), Duration::ZERO);
    loop {
        let answer = fx.get(&paths::rotation(&rotation_id)).await.expect(200);
        longest_gap = longest_gap.max(last.elapsed());
        last = Instant::now();
        let retry_after = answer.header("retry-after").map(str::to_owned);
        let rotation = answer.parse::<DataEnvelope<Rotation>>().data;
        assert_eq!(rotation.rotation_id, rotation_id);
        assert_eq!(retry_after.is_some(), !rotation.status.is_terminal());
        if seen.last() != Some(&rotation.status) {
            seen.push(rotation.status);
        }
        if rotation.status.is_terminal() {
            return ((seen, rotation), longest_gap);
        }
        assert!(
            Instant::now() < deadline,
            "rotation did not finish: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
}

/// The statuses seen only ever move forward, pending → running → `end`: a poll may miss the
/// running phase on a loaded machine, but never sees a status go back or skip to another end.
fn assert_moves_forward(seen: &[RotationStatus], end: RotationStatus) {
    let rank = |status: &RotationStatus| match status {
        RotationStatus::Pending => 0,
        RotationStatus::Running => 1,
        _ => 2,
    };
    assert_eq!(seen.first(), Some(&RotationStatus::Pending), "{seen:?}");
    assert_eq!(seen.last(), Some(&end), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| rank(&w[0]) < rank(&w[1])),
        "{seen:?}"
    );
}

#[tokio::test]
async fn rotation_goes_pending_running_completed() {
    let fx = fixture().await;
    let uid = fx.secret("Database", "old-password");
    fx.admin
        .set_rotation_policy(
            uid,
            RotationPolicy::new("password").length(40).alphabet("xyz"),
        )
        .unwrap();

    let started = rotate(&fx, uid).await;
    assert_eq!(
        (started.uid, started.status, started.revision),
        (uid, RotationStatus::Pending, None)
    );

    // A second start while the first runs names the running one.
    let conflict = fx
        .http
        .post(&paths::rotate(&uid), Some(&fx.client.token()), Vec::new())
        .await
        .expect_error(409, "rotation_in_progress");
    let details = ErrorDetails::new(&conflict.json()["error"]["details"]).unwrap();
    assert_eq!(details.rotation_id(), Some(started.rotation_id));

    let ((seen, done), longest_gap) = follow_timed(&fx, started.rotation_id).await;
    assert_moves_forward(&seen, RotationStatus::Completed);
    if longest_gap < STEP {
        // Polls closer together than the running phase lasts cannot have missed it.
        assert!(seen.contains(&RotationStatus::Running), "{seen:?}");
    }
    assert_eq!((done.revision, done.error), (Some(2), None));

    let record = fx
        .get(&paths::secret(&uid))
        .await
        .expect(200)
        .parse::<DataEnvelope<Record>>()
        .data;
    assert_eq!(record.revision, 2);
    let payload = syvault_proto::record::open(
        &uid,
        &fx.client.folder_keys[&fx.folder],
        record.encrypted_dek.as_slice(),
        record.encrypted_data.as_slice(),
    )
    .unwrap();
    let password = payload.fields.get("password").unwrap().expose();
    assert_eq!(password.len(), 40);
    assert!(password.chars().all(|c| "xyz".contains(c)));
    assert_eq!(payload.fields.get("username").unwrap().expose(), "app");
    assert_eq!(
        payload.fields.names().collect::<Vec<_>>(),
        ["username", "password"]
    );

    // Finished, so a new rotation may start.
    let again = rotate(&fx, uid).await;
    assert_ne!(again.rotation_id, started.rotation_id);
    assert_eq!(follow(&fx, again.rotation_id).await.1.revision, Some(3));
}

#[tokio::test]
async fn a_failed_rotation_leaves_the_record_untouched() {
    let fx = fixture().await;
    let uid = fx.secret("Database", "keep-me");
    fx.admin
        .set_rotation_policy(uid, RotationPolicy::new("password"))
        .unwrap();
    let before = fx.admin.record(uid).unwrap();
    fx.admin.fail_next_rotation();

    let started = rotate(&fx, uid).await;
    let (seen, done) = follow(&fx, started.rotation_id).await;
    assert_moves_forward(&seen, RotationStatus::Failed);
    assert!(done.error.is_some_and(|e| !e.is_empty()));
    assert_eq!(done.revision, None);
    assert_eq!(fx.admin.record(uid).unwrap(), before);
    assert_eq!(
        fx.admin
            .read_secret(uid)
            .unwrap()
            .fields
            .get("password")
            .unwrap()
            .expose(),
        "keep-me"
    );

    // Only the next rotation was made to fail.
    let next = rotate(&fx, uid).await;
    assert_eq!(
        follow(&fx, next.rotation_id).await.1.status,
        RotationStatus::Completed
    );
}

#[tokio::test]
async fn rotation_errors() {
    let fx = Fixture::new(Access::ReadWrite).await;
    let uid = fx.secret("Database", "pw");
    let token = fx.client.token();
    fx.http
        .post(&paths::rotate(&uid), Some(&token), Vec::new())
        .await
        .expect_error(422, "rotation_not_configured");
    fx.admin
        .set_rotation_policy(uid, RotationPolicy::new("password"))
        .unwrap();

    let reader = fx.second_client(Access::Read).await;
    fx.http
        .post(&paths::rotate(&uid), Some(&reader.token()), Vec::new())
        .await
        .expect_error(403, "forbidden");

    let unknown = RecordUid::generate(&mut rng());
    fx.http
        .post(&paths::rotate(&unknown), Some(&token), Vec::new())
        .await
        .expect_error(404, "secret_not_found");

    fx.get(&paths::rotation(&Uuid::from_u128(9)))
        .await
        .expect_error(404, "rotation_not_found");
    fx.get("/api/sm/v1/rotations/not-a-uuid")
        .await
        .expect_error(404, "rotation_not_found");

    // A client without a grant on the record's folder cannot see the rotation.
    let started = rotate(&fx, uid).await;
    let other_folder = fx.admin.create_folder("Other", None).unwrap();
    let outsider = fx.admin.create_client(fx.app, "outsider").unwrap();
    fx.admin
        .grant(outsider.client_id, other_folder, Access::ReadWrite)
        .unwrap();
    let outsider = common::bootstrap(&fx.server, &fx.http, &outsider).await;
    fx.http
        .get(&paths::rotation(&started.rotation_id), &outsider.token())
        .await
        .expect_error(404, "rotation_not_found");
    // The read-only client of the folder can.
    fx.http
        .get(&paths::rotation(&started.rotation_id), &reader.token())
        .await
        .expect(200);
}
