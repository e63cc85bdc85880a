//! Fault injection and request counting, switched at run time.

mod common;

use std::time::{Duration, Instant};

use common::Fixture;
use http::Method;
use syvault_dev::wire::{Access, DataEnvelope, Record, SecretList, paths};
use syvault_dev::{Fault, FaultStatus};
use syvault_proto::record;

#[tokio::test]
async fn status_faults_answer_the_next_matching_requests() {
    let fx = Fixture::new(Access::Read).await;
    let uid = fx.secret("Database", "pw");
    let faults = fx.server.faults();
    faults.inject(
        Fault::status(FaultStatus::ServiceUnavailable)
            .times(2)
            .on_path(paths::secrets()),
    );
    fx.get(paths::folders()).await.expect(200);
    for _ in 0..2 {
        let answer = fx
            .get(&paths::secret(&uid))
            .await
            .expect_error(503, "unavailable");
        assert_eq!(answer.header("retry-after"), Some("1"));
    }
    fx.get(&paths::secret(&uid)).await.expect(200);
    assert_eq!(faults.pending(), 0);

    faults.inject(Fault::status(FaultStatus::TooManyRequests).retry_after(Some(7)));
    let answer = fx
        .get(paths::folders())
        .await
        .expect_error(429, "rate_limited");
    assert_eq!(answer.header("retry-after"), Some("7"));
    faults.inject(Fault::status(FaultStatus::InternalServerError).retry_after(None));
    let answer = fx.get(paths::folders()).await.expect_error(500, "internal");
    assert_eq!(answer.header("retry-after"), None);
}

#[tokio::test]
async fn dropped_connections_and_truncated_bodies_are_transport_failures() {
    let fx = Fixture::new(Access::Read).await;
    let uid = fx.secret("Database", "pw");
    let auth = format!("Bearer {}", fx.client.token());
    let headers = [("authorization", auth.as_str())];
    let path = paths::secret(&uid);

    fx.server.faults().inject(Fault::drop_connection());
    let err = fx
        .http
        .try_send(Method::GET, &path, &headers, Vec::new())
        .await
        .unwrap_err();
    assert!(err.starts_with("request"), "{err}");

    fx.server.faults().inject(Fault::truncate_body());
    let err = fx
        .http
        .try_send(Method::GET, &path, &headers, Vec::new())
        .await
        .unwrap_err();
    assert!(err.starts_with("body"), "{err}");

    fx.http
        .try_send(Method::GET, &path, &headers, Vec::new())
        .await
        .unwrap()
        .expect(200);
}

#[tokio::test]
async fn corrupted_and_swapped_ciphertext_fail_to_decrypt() {
    let fx = Fixture::new(Access::Read).await;
    let a = fx.secret("A", "pw-a");
    let b = fx.secret("B", "pw-b");
    let key = &fx.client.folder_keys[&fx.folder];
    let open = |rec: &Record| {
        record::open(
            &rec.uid,
            key,
            rec.encrypted_dek.as_slice(),
            rec.encrypted_data.as_slice(),
        )
    };
    let fx = &fx;
    let get = |uid| async move {
        fx.get(&paths::secret(&uid))
            .await
            .expect(200)
            .parse::<DataEnvelope<Record>>()
            .data
    };

    // Corruption is taken only by answers that carry records.
    fx.server.faults().inject(Fault::corrupt_ciphertext());
    fx.get(paths::folders()).await.expect(200);
    assert!(open(&get(a).await).is_err());
    assert!(open(&get(a).await).is_ok());

    fx.server.faults().inject(Fault::corrupt_ciphertext());
    let list: SecretList = fx.get(paths::secrets()).await.expect(200).parse();
    assert!(list.data.iter().all(|rec| open(rec).is_err()));

    fx.server.faults().swap_records(a, b);
    let served = get(a).await;
    assert_eq!(served.uid, a);
    assert_eq!(
        served.encrypted_data,
        fx.admin.record(b).unwrap().encrypted_data
    );
    assert!(
        open(&served).is_err(),
        "the UID in the AAD catches the swap"
    );
    fx.server.faults().clear();
    assert_eq!(
        open(&get(a).await)
            .unwrap()
            .fields
            .get("password")
            .unwrap()
            .expose(),
        "pw-a"
    );
}

#[tokio::test]
async fn latency_and_request_counts() {
    let fx = Fixture::new(Access::Read).await;
    let uid = fx.secret("Database", "pw");
    let stats = fx.server.stats();
    stats.reset();
    let path = paths::secret(&uid);
    fx.get(&path).await.expect(200);
    fx.get(&path).await.expect(200);
    fx.server
        .faults()
        .inject(Fault::status(FaultStatus::ServiceUnavailable));
    fx.get(paths::folders()).await.expect(503);
    assert_eq!(stats.count("GET", &path), 2);
    assert_eq!(stats.count("GET", paths::folders()), 1);
    assert_eq!(stats.count("POST", &path), 0);
    assert_eq!(stats.total(), 3);

    fx.server.faults().set_latency(Duration::from_millis(150));
    let started = Instant::now();
    fx.get(&path).await.expect(200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    fx.server.faults().set_latency(Duration::ZERO);
}

#[tokio::test]
async fn chaos_serves_some_records_with_another_records_ciphertext() {
    let fx = Fixture::new(Access::Read).await;
    let a = fx.secret("A", "pw-a");
    let b = fx.secret("B", "pw-b");
    let own = fx.admin.record(a).unwrap().encrypted_data;
    let other = fx.admin.record(b).unwrap().encrypted_data;
    fx.server.faults().set_chaos(Some(
        syvault_dev::Chaos::new(7)
            .percent(40)
            .max_latency(Duration::ZERO),
    ));
    let auth = format!("Bearer {}", fx.client.token());
    let (mut swapped, mut served) = (0, 0);
    for _ in 0..200 {
        let Ok(answer) = fx
            .http
            .try_send(
                Method::GET,
                &paths::secret(&a),
                &[("authorization", auth.as_str())],
                Vec::new(),
            )
            .await
        else {
            continue;
        };
        if answer.status != 200 {
            continue;
        }
        let data = answer.parse::<DataEnvelope<Record>>().data.encrypted_data;
        served += 1;
        // Corruption flips the last byte: compare the rest.
        let body = |d: &[u8]| d[..d.len() - 1].to_vec();
        if body(data.as_slice()) == body(other.as_slice()) {
            swapped += 1;
        } else {
            assert_eq!(body(data.as_slice()), body(own.as_slice()));
        }
    }
    // A tenth of the answers, drawn from a fixed seed: some, and far from all.
    assert!(swapped > 0 && swapped < served / 2, "{swapped} of {served}");
}
