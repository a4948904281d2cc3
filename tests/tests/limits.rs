//! Limits on what clients control (docs/RULES.md, "Limits on hostile
//! input"), each refused with a clear status: streams and submit streams
//! per client address, streams per account, TCP connections per client
//! address and over the server, idle connections, and string fields longer
//! than 256 bytes inside commands. (The message size, batch and payload
//! limits are tested in grpc.rs, the size of answers in outcome_size.rs.)
//!
//! Other client addresses are other loopback addresses (127.0.0.2, ...),
//! which Linux routes to the server on 127.0.0.1.

mod grpc_support;

use std::time::Duration;

use carbon_proto::v1 as pb;
use grpc_support::*;
use pb::market_client::MarketClient;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

/// The per-address stream limit of `carbon serve` (server/src/market.rs).
const MAX_STREAMS_PER_CLIENT: usize = 64;

/// The per-account stream limits of `carbon serve` (server/src/market.rs,
/// server/src/supervision.rs).
const MAX_STREAMS_PER_ACCOUNT: usize = 16;
const MAX_ALERT_STREAMS_PER_ACCOUNT: usize = 8;

/// The per-address SubmitStream limit of `carbon serve` (server/src/service.rs).
const MAX_SUBMIT_STREAMS_PER_CLIENT: usize = 16;

fn market_data() -> pb::MarketDataRequest {
    pb::MarketDataRequest {
        instrument: String::new(),
        depth: 1,
    }
}

/// A channel to `server` from the loopback address `from` (127.0.0.x).
async fn channel_from(server: &Server, from: &str) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(server.url())
        .unwrap()
        .local_address(Some(from.parse().unwrap()))
        .connect()
        .await
}

/// Retries `attempt` until it stops failing with RESOURCE_EXHAUSTED (a
/// closed call frees its slot when the server notices the reset), for 10 s.
async fn until_freed<T, F, Fut>(mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match attempt().await {
            Ok(t) => return t,
            Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                assert!(tokio::time::Instant::now() < deadline, "the slot was never freed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }
}

#[tokio::test]
async fn one_client_address_may_hold_only_so_many_streams() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut one = MarketClient::new(server.channel().await);
    let mut streams = Vec::new();
    for _ in 0..MAX_STREAMS_PER_CLIENT {
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
    assert!(refused.message().contains("this client address"), "{refused:?}");

    // Another connection from the same address is the same client...
    let mut again = MarketClient::new(server.channel().await);
    let refused = again
        .stream_market_data(market_data())
        .await
        .expect_err("the address is full, whatever the connection");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    // ...another address is not.
    let mut other = MarketClient::new(channel_from(&server, "127.0.0.2").await.unwrap());
    let s = other
        .stream_market_data(market_data())
        .await
        .expect("another address streams");
    drop(s);

    // Closing streams frees their slots (the server notices the reset).
    streams.truncate(MAX_STREAMS_PER_CLIENT - 1);
    let s = until_freed(|| {
        let mut one = one.clone();
        async move { one.stream_market_data(market_data()).await }
    })
    .await;
    streams.push(s.into_inner());

    // The server still takes commands with the streams open.
    let mut c = server.client().await;
    let mut signer = Signer::default();
    small_market(&mut c, &mut signer).await;
}

/// Streams opened with a read credential are counted per account too,
/// whatever the addresses they come from; anonymous ones are not.
#[tokio::test]
async fn one_account_may_hold_only_so_many_streams() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut c = server.client().await;
    small_market(&mut c, &mut Signer::default()).await;
    let ledger = ledger_id(&mut c).await;
    let executions = |who: &str| {
        signed(
            who,
            &ledger,
            "/carbon.v1.Market/StreamExecutions",
            pb::ExecutionsRequest {
                account: "HZ-STEEL".into(),
            },
        )
    };

    let mut one = MarketClient::new(server.channel().await);
    let mut streams = Vec::new();
    for _ in 0..MAX_STREAMS_PER_ACCOUNT {
        streams.push(one.stream_executions(executions("HZ-STEEL")).await.expect("a stream"));
    }
    let refused = one
        .stream_executions(executions("HZ-STEEL"))
        .await
        .expect_err("one stream too many for the account");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("by HZ-STEEL"), "{refused:?}");
    // From another address, the account is still full.
    let mut other = MarketClient::new(channel_from(&server, "127.0.0.2").await.unwrap());
    let refused = other
        .stream_executions(executions("HZ-STEEL"))
        .await
        .expect_err("the account is full, whatever the address");
    assert!(refused.message().contains("by HZ-STEEL"), "{refused:?}");
    // The address is not: anonymous market data, and another account (its
    // regulator reading the same executions), still stream from it.
    drop(
        one.stream_market_data(market_data())
            .await
            .expect("anonymous market data"),
    );
    drop(
        one.stream_executions(executions("HZ-EEB"))
            .await
            .expect("another account"),
    );

    // A stream that ends gives the account's slot back.
    streams.pop();
    let s = until_freed(|| {
        let (mut other, request) = (other.clone(), executions("HZ-STEEL"));
        async move { other.stream_executions(request).await }
    })
    .await;
    streams.push(s);

    // Alert streams: per supervisor account.
    let alerts = || {
        signed(
            "ZJ-DEE",
            &ledger,
            "/carbon.v1.Supervision/StreamAlerts",
            pb::AlertStreamRequest::default(),
        )
    };
    let mut sup = pb::supervision_client::SupervisionClient::new(server.channel().await);
    let mut alert_streams = Vec::new();
    for _ in 0..MAX_ALERT_STREAMS_PER_ACCOUNT {
        alert_streams.push(sup.stream_alerts(alerts()).await.expect("an alert stream"));
    }
    let refused = sup
        .stream_alerts(alerts())
        .await
        .expect_err("one alert stream too many");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("alert streams by ZJ-DEE"), "{refused:?}");
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
async fn one_client_address_may_hold_only_so_many_submit_streams() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut one = server.client().await;
    let mut streams = Vec::new();
    for _ in 0..MAX_SUBMIT_STREAMS_PER_CLIENT {
        streams.push(open(&mut one).await.expect("a submit stream"));
    }
    let refused = open(&mut one).await.expect_err("one submit stream too many");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("this client address"), "{refused:?}");

    // Another address is not affected, and the open streams still work.
    let mut other = pb::ledger_client::LedgerClient::new(channel_from(&server, "127.0.0.2").await.unwrap());
    drop(open(&mut other).await.expect("another address streams"));
    let mut s = Signer::default();
    let (tx, answers) = streams.last_mut().unwrap();
    tx.send(s.sign(json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-STEEL", "role": "entity"})))
        .await
        .unwrap();
    let r = answers.message().await.unwrap().expect("an answer");
    assert!(r.outcome.unwrap().ok);

    // A stream closed by its client frees its slot.
    streams.truncate(MAX_SUBMIT_STREAMS_PER_CLIENT - 1);
    let s = until_freed(|| {
        let mut one = one.clone();
        async move { open(&mut one).await }
    })
    .await;
    streams.push(s);
}

/// [`Server::with_test_genesis`] with test hooks in its environment.
fn with_hooks(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let (genesis, op_key) = write_genesis(dir);
    let args = [
        "--genesis",
        genesis.to_str().unwrap(),
        "--operator-key",
        op_key.to_str().unwrap(),
        "--origin",
        ORIGIN,
    ];
    Server::start_with_env(&dir.join("data"), &args, env)
}

/// A raw TCP connection from the loopback address `from`.
async fn tcp_from(server: &Server, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket
        .connect(server.addr)
        .await
        .expect("the kernel accepts the connection")
}

/// How long until the server closes `conn` (EOF or reset), if it does within `within`.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> Option<Duration> {
    let t0 = tokio::time::Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return t0.elapsed(),
                Ok(_) => {} // the server's HTTP/2 settings
            }
        }
    })
    .await
    .ok()
}

/// A connection the server keeps (it is not closed in the next 300 ms).
async fn kept(server: &Server, from: &str) -> TcpStream {
    let mut c = tcp_from(server, from).await;
    assert_eq!(
        closed_within(&mut c, Duration::from_millis(300)).await,
        None,
        "a connection from {from} was closed"
    );
    c
}

/// A connection the server closes at once.
async fn refused(server: &Server, from: &str) {
    let mut c = tcp_from(server, from).await;
    assert!(
        closed_within(&mut c, Duration::from_secs(5)).await.is_some(),
        "a connection from {from} was kept"
    );
}

/// A gRPC call from `from` on a new connection.
async fn checkpoint_from(server: &Server, from: &str) -> Result<(), String> {
    let ch = channel_from(server, from).await.map_err(|e| e.to_string())?;
    pb::ledger_client::LedgerClient::new(ch)
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .map(drop)
        .map_err(|s| format!("{s:?}"))
}

/// Connections are bounded per client address and over the server (with
/// small limits set by the test hooks); one beyond is closed at once, and
/// a closed one frees its place.
#[tokio::test]
async fn connections_are_bounded_per_address_and_over_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = with_hooks(
        dir.path(),
        &[
            ("CARBON_TEST_MAX_CONNECTIONS", "5"),
            ("CARBON_TEST_MAX_CONNECTIONS_PER_ADDRESS", "3"),
        ],
    );
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(kept(&server, "127.0.0.1").await);
    }
    refused(&server, "127.0.0.1").await;
    let e = checkpoint_from(&server, "127.0.0.1")
        .await
        .expect_err("a gRPC client beyond its address's limit fails");
    assert!(!e.is_empty());
    // Other addresses have room, until the server is full.
    checkpoint_from(&server, "127.0.0.2")
        .await
        .expect("another address calls");
    held.push(kept(&server, "127.0.0.2").await);
    held.push(kept(&server, "127.0.0.3").await);
    refused(&server, "127.0.0.4").await;
    refused(&server, "127.0.0.2").await;

    // A connection that goes away gives its place back.
    held.remove(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Err(e) = checkpoint_from(&server, "127.0.0.1").await {
        assert!(tokio::time::Instant::now() < deadline, "the place was never freed: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A connection with no open call is closed after the idle timeout (1 s
/// here, by the test hook), whatever it sends; one with an open call is
/// kept however quiet; a client whose idle connection was closed
/// reconnects on its next call.
#[tokio::test]
async fn idle_connections_are_closed_and_busy_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = with_hooks(dir.path(), &[("CARBON_TEST_IDLE_TIMEOUT_MS", "1000")]);
    let idle = Duration::from_millis(1000);

    // A connection that never sends a request (a slow loris)...
    let mut silent = tcp_from(&server, "127.0.0.1").await;
    // ...and one that sends the HTTP/2 preface and then only pings.
    let mut pinging = tcp_from(&server, "127.0.0.1").await;
    use tokio::io::AsyncWriteExt;
    pinging
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let pings = tokio::spawn(async move {
        let ping = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00pingpong";
        let mut buf = [0u8; 4096];
        let t0 = tokio::time::Instant::now();
        loop {
            if pinging.write_all(ping).await.is_err() {
                return t0.elapsed();
            }
            match tokio::time::timeout(Duration::from_millis(100), pinging.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return t0.elapsed(),
                _ => {}
            }
        }
    });
    let waited = closed_within(&mut silent, idle * 5)
        .await
        .expect("the silent connection is closed");
    assert!(waited >= idle - Duration::from_millis(100), "closed after {waited:?}");
    let waited = pings.await.unwrap();
    assert!(
        waited >= idle - Duration::from_millis(100) && waited < idle * 5,
        "the pinging connection was closed after {waited:?}"
    );

    // A stream open through a quiet time keeps its connection.
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;
    let mut market = MarketClient::new(server.channel().await);
    let mut stream = market.stream_market_data(market_data()).await.unwrap().into_inner();
    tokio::time::sleep(idle * 3).await;
    // A unary client's connection was closed meanwhile; its next call
    // reconnects.
    accept(
        &mut c,
        s.sign(json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"})),
    )
    .await;
    let update = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("an update")
        .expect("the stream is still open")
        .expect("an update");
    assert!(update.seq > 0);
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
