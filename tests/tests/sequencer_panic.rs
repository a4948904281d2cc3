//! A panic on the sequencer thread (a bug) stops the ledger as a failed
//! flush does (issue 14, point 10): the server stays up, health says
//! NOT_SERVING for the server and for every service, every Submit and every
//! read is UNAVAILABLE, and after a restart everything acknowledged is
//! there.
//!
//! The panic is injected with the test hook `CARBON_FAULT_PANIC_AFTER=N` of
//! `carbon serve`: the sequencer panics when about to sequence its batch
//! after the first N.

mod grpc_support;

use std::time::Duration;

use carbon_proto::v1 as pb;
use grpc_support::*;
use pb::market_client::MarketClient;
use pb::regulator_client::RegulatorClient;
use pb::supervision_client::SupervisionClient;
use serde_json::json;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// The health check's name for the server ("") and for each service.
const SERVICES: [&str; 5] = [
    "",
    pb::ledger_server::SERVICE_NAME,
    pb::regulator_server::SERVICE_NAME,
    pb::market_server::SERVICE_NAME,
    pb::supervision_server::SERVICE_NAME,
];

async fn health_of(health: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
    health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

fn unavailable<T: std::fmt::Debug>(what: &str, r: Result<T, tonic::Status>) -> tonic::Status {
    let st = r.expect_err(what);
    assert_eq!(st.code(), tonic::Code::Unavailable, "{what}: {st:?}");
    st
}

#[tokio::test]
async fn a_sequencer_panic_stops_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, op_key) = write_genesis(dir.path());
    let data = dir.path().join("data");
    let server = Server::start_with_env(
        &data,
        &[
            "--genesis",
            genesis.to_str().unwrap(),
            "--operator-key",
            op_key.to_str().unwrap(),
            "--origin",
            ORIGIN,
        ],
        &[("CARBON_FAULT_PANIC_AFTER", "5")],
    );
    let channel = server.channel().await;
    let mut c = server.client().await;
    let mut health = HealthClient::new(channel.clone());
    for service in SERVICES {
        assert_eq!(
            health_of(&mut health, service).await,
            ServingStatus::Serving as i32,
            "{service:?}"
        );
    }
    let ledger = ledger_id(&mut c).await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await; // five batches, acknowledged
    let acknowledged = journal(&mut c, 0).await;
    assert_eq!(acknowledged.len(), 6);

    // The sixth batch panics the sequencer: never acknowledged.
    let lost =
        s.sign(json!({"as": "HZ-STEEL", "cmd": "transfer", "instrument": "ZJEA-2025", "to": "NB-POWER", "qty": 1}));
    unavailable("the batch that panicked", c.submit(lost.clone()).await);

    // From now on every call is UNAVAILABLE, saying why.
    for _ in 0..3 {
        let next = s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "1.00"}));
        let st = unavailable("a later Submit", c.submit(next).await);
        assert!(st.message().contains("panicked"), "{st:?}");
    }
    let batch = vec![s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "1.00"}))];
    unavailable(
        "SubmitBatch",
        c.submit_batch(pb::SubmitBatchRequest { commands: batch }).await,
    );
    let streamed = vec![s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "1.00"}))];
    let mut answers = c
        .submit_stream(tokio_stream::iter(streamed))
        .await
        .expect("the stream opens")
        .into_inner();
    unavailable("SubmitStream", answers.message().await);

    // Reads, on every service.
    unavailable("GetSupply", c.get_supply(pb::GetSupplyRequest {}).await);
    unavailable(
        "ListInstruments",
        c.list_instruments(pb::ListInstrumentsRequest {}).await,
    );
    unavailable("GetCheckpoint", c.get_checkpoint(pb::GetCheckpointRequest {}).await);
    unavailable(
        "GetAccount",
        c.get_account(signed(
            OPERATOR,
            &ledger,
            "/carbon.v1.Ledger/GetAccount",
            pb::GetAccountRequest { id: "HZ-STEEL".into() },
        ))
        .await,
    );
    let mut market = MarketClient::new(channel.clone());
    unavailable(
        "GetBook",
        market
            .get_book(pb::GetBookRequest {
                instrument: "ZJEA-2025".into(),
                depth: 5,
            })
            .await,
    );
    unavailable("ListTrades", market.list_trades(pb::ListTradesRequest::default()).await);
    let mut regulator = RegulatorClient::new(channel.clone());
    unavailable(
        "GetComplianceTable",
        regulator
            .get_compliance_table(pb::ComplianceTableRequest {
                year: 2025,
                jurisdiction: String::new(),
            })
            .await,
    );
    let mut supervision = SupervisionClient::new(channel.clone());
    unavailable(
        "ListAlerts",
        supervision
            .list_alerts(signed(
                "HZ-EEB",
                &ledger,
                "/carbon.v1.Supervision/ListAlerts",
                pb::AlertQuery::default(),
            ))
            .await,
    );
    unavailable(
        "GetSupervision",
        supervision
            .get_supervision(signed(
                OPERATOR,
                &ledger,
                "/carbon.v1.Supervision/GetSupervision",
                pb::GetSupervisionRequest {},
            ))
            .await,
    );

    // Health: NOT_SERVING for the server and every service.
    for service in SERVICES {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let status = health_of(&mut health, service).await;
            if status == ServingStatus::NotServing as i32 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{service:?} still {status} after the sequencer panicked"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // The server itself is still up, refusing.
    let mut server = server;
    assert!(server.child.try_wait().unwrap().is_none(), "carbon serve exited");
    drop((c, market, regulator, supervision, health, channel));
    server.kill();

    // Restarted without the hook: everything acknowledged is there, the
    // batch that panicked is not (it panicked before being applied), and
    // the ledger works again.
    let server = Server::start(&data, &["--operator-key", op_key.to_str().unwrap()]);
    let mut c = server.client().await;
    let after = journal(&mut c, 0).await;
    assert_eq!(after, acknowledged);
    accept(&mut c, lost).await;
}
