//! Limits on what clients control (docs/RULES.md, "Limits on hostile
//! input"), each refused with a clear status: streams and submit streams per connection, and
//! string fields longer than 256 bytes inside commands. (The message size,
//! batch and payload limits are tested in grpc.rs.)

mod grpc_support;

use std::time::Duration;

use carbon_proto::v1 as pb;
use grpc_support::*;
use pb::market_client::MarketClient;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// The per-connection stream limit of `carbon serve` (serve/market.rs).
const MAX_STREAMS_PER_CONNECTION: usize = 64;

/// The per-connection SubmitStream limit of `carbon serve` (serve/service.rs).
const MAX_SUBMIT_STREAMS_PER_CONNECTION: usize = 16;

fn market_data() -> pb::MarketDataRequest {
    pb::MarketDataRequest {
        instrument: String::new(),
        depth: 1,
    }
}

#[tokio::test]
async fn one_connection_may_hold_only_so_many_streams() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut one = MarketClient::new(server.channel().await);
    let mut streams = Vec::new();
    for _ in 0..MAX_STREAMS_PER_CONNECTION {
        streams.push(
            one.stream_market_data(market_data())
                .await
                .expect("a stream")
                .into_inner(),
        );
    }
    let refused = one
        .stream_market_data(market_data())
        .await
        .expect_err("one stream too many");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("this connection"), "{refused:?}");

    // Another connection is not affected.
    let mut other = MarketClient::new(server.channel().await);
    let s = other
        .stream_market_data(market_data())
        .await
        .expect("another connection streams");
    drop(s);

    // Closing streams frees their slots (the server notices the reset).
    streams.truncate(MAX_STREAMS_PER_CONNECTION - 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match one.stream_market_data(market_data()).await {
            Ok(s) => {
                streams.push(s.into_inner());
                break;
            }
            Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                assert!(tokio::time::Instant::now() < deadline, "the slot was never freed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }

    // The server still takes commands with the streams open.
    let mut c = server.client().await;
    let mut signer = Signer::default();
    small_market(&mut c, &mut signer).await;
}

/// Opens a SubmitStream; returns its request side and its answers.
async fn open(
    client: &mut pb::ledger_client::LedgerClient<tonic::transport::Channel>,
) -> Result<(mpsc::Sender<pb::SignedCommand>, tonic::Streaming<pb::CommandResult>), tonic::Status> {
    let (tx, rx) = mpsc::channel(1);
    let answers = client.submit_stream(ReceiverStream::new(rx)).await?;
    Ok((tx, answers.into_inner()))
}

#[tokio::test]
async fn one_connection_may_hold_only_so_many_submit_streams() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut one = server.client().await;
    let mut streams = Vec::new();
    for _ in 0..MAX_SUBMIT_STREAMS_PER_CONNECTION {
        streams.push(open(&mut one).await.expect("a submit stream"));
    }
    let refused = open(&mut one).await.expect_err("one submit stream too many");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("this connection"), "{refused:?}");

    // Another connection is not affected, and the open streams still work.
    let mut other = server.client().await;
    drop(open(&mut other).await.expect("another connection streams"));
    let mut s = Signer::default();
    let (tx, answers) = streams.last_mut().unwrap();
    tx.send(s.sign(json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-STEEL", "role": "entity"})))
        .await
        .unwrap();
    let r = answers.message().await.unwrap().expect("an answer");
    assert!(r.outcome.unwrap().ok);

    // A stream closed by its client frees its slot.
    streams.truncate(MAX_SUBMIT_STREAMS_PER_CONNECTION - 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match open(&mut one).await {
            Ok(s) => {
                streams.push(s);
                break;
            }
            Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                assert!(tokio::time::Instant::now() < deadline, "the slot was never freed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }
}

#[tokio::test]
async fn long_strings_in_commands_are_malformed_and_use_no_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;

    let retire = |beneficiary: String| {
        json!({"as": "HZ-STEEL", "cmd": "retire", "instrument": "ZJEA-2025", "qty": 1,
               "beneficiary": beneficiary})
    };
    let long = s.sign(retire("b".repeat(257)));
    reject(&mut c, long, tonic::Code::InvalidArgument, "MALFORMED").await;
    // The nonce was not used: the same nonce again, with 256 bytes, is accepted.
    *s.nonces.get_mut("HZ-STEEL").unwrap() -= 1;
    accept(&mut c, s.sign(retire("b".repeat(256)))).await;

    // An instrument name too long, in a transfer and in an order.
    let transfer = s.sign(
        json!({"as": "HZ-STEEL", "cmd": "transfer", "instrument": "Z".repeat(300),
                                 "to": "NB-POWER", "qty": 1}),
    );
    reject(&mut c, transfer, tonic::Code::InvalidArgument, "MALFORMED").await;
}
