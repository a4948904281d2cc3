//! A journal flush that fails stops the sequencer for good: the command
//! whose flush failed is never acknowledged, every later Submit (and
//! SubmitBatch, SubmitStream) is UNAVAILABLE, health says NOT_SERVING, and after a restart everything
//! acknowledged is there (the failed command may or may not be).
//!
//! The failure is injected with the test hook
//! `CARBON_FAULT_FAIL_FLUSH_AFTER=N` of `carbon serve`.

mod grpc_support;

use std::time::Duration;

use carbon_proto::v1 as pb;
use grpc_support::*;
use serde_json::json;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[tokio::test]
async fn a_failed_flush_stops_the_sequencer() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, op_key) = write_genesis(dir.path());
    let op_key = op_key.to_str().unwrap();
    let data = dir.path().join("data");
    // The ledger is created first (its genesis flush is not counted): then
    // the five commands of the small market flush, and the sixth fails.
    drop(Server::start(
        &data,
        &[
            "--genesis",
            genesis.to_str().unwrap(),
            "--operator-key",
            op_key,
            "--origin",
            ORIGIN,
        ],
    ));
    let server = Server::start_with_env(
        &data,
        &["--operator-key", op_key],
        &[("CARBON_FAULT_FAIL_FLUSH_AFTER", "5")],
    );
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await; // five acknowledged commands
    let acknowledged = journal(&mut c, 0).await;
    assert_eq!(acknowledged.len(), 6);
    let ledger = ledger_id(&mut c).await;

    let failed =
        s.sign(json!({"as": "HZ-STEEL", "cmd": "transfer", "instrument": "ZJEA-2025", "to": "NB-POWER", "qty": 1}));
    let status = c.submit(failed.clone()).await.expect_err("the flush fails");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    // From now on: UNAVAILABLE for commands (even a valid one) and reads.
    for _ in 0..3 {
        let next = s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "1.00"}));
        let st = c.submit(next).await.expect_err("refused");
        assert_eq!(st.code(), tonic::Code::Unavailable, "{st:?}");
    }
    let batch = vec![s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "1.00"}))];
    let st = c
        .submit_batch(pb::SubmitBatchRequest { commands: batch })
        .await
        .expect_err("refused");
    assert_eq!(st.code(), tonic::Code::Unavailable, "{st:?}");
    // A SubmitStream opens, but its envelope gets no result: the stream ends UNAVAILABLE.
    let streamed = vec![s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "1.00"}))];
    let mut answers = c
        .submit_stream(tokio_stream::iter(streamed))
        .await
        .expect("the stream opens")
        .into_inner();
    let st = answers.message().await.expect_err("refused");
    assert_eq!(st.code(), tonic::Code::Unavailable, "{st:?}");
    let request = pb::GetAccountRequest { id: "HZ-STEEL".into() };
    let st = c
        .get_account(signed(OPERATOR, &ledger, "/carbon.v1.Ledger/GetAccount", request))
        .await
        .expect_err("reads are refused too");
    assert_eq!(st.code(), tonic::Code::Unavailable, "{st:?}");

    // Health: NOT_SERVING, for the server and for carbon.v1.Ledger.
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "carbon.v1.Ledger"] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let r = health
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .unwrap()
                .into_inner();
            if r.status == ServingStatus::NotServing as i32 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{service:?} still {r:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(c);
    server.kill();

    // Restarted without the hook: everything acknowledged is there; the
    // failed command may be (sled may have written it in the background)
    // but was never acknowledged; nothing sent after it is.
    let server = Server::start(&data, &["--operator-key", op_key]);
    let mut c = server.client().await;
    let after = journal(&mut c, 0).await;
    assert_eq!(after[..6], acknowledged[..], "the acknowledged entries");
    match after.get(6) {
        None => {}
        Some(e) => {
            assert_eq!(
                e.input,
                Some(pb::journal_entry::Input::Command(failed)),
                "only the failed command may follow"
            );
        }
    }
    assert!(after.len() <= 7, "{} entries", after.len());
    // The ledger works again.
    accept(
        &mut c,
        s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "2.00"})),
    )
    .await;
}
