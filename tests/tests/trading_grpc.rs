//! A trading session over real gRPC: two enterprises stream their own
//! executions (signed subscriptions), a third party watches market data, and
//! the book, trades and open orders are queried as a trading screen would.

mod grpc_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use carbon_ledger::keys::test_key;
use carbon_proto::v1 as pb;
use ed25519_dalek::Signer as _;
use grpc_support::*;
use prost::Message;
use serde_json::json;
use tonic::Streaming;

fn query(actor: &str, purpose: &str, signer: &str) -> pb::SignedQuery {
    let timestamp_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let payload = pb::AccountQuery {
        account: actor.into(),
        purpose: purpose.into(),
        timestamp_ms,
    }
    .encode_to_vec();
    let mut msg = carbon_proto::QUERY_SIGNING_PREFIX.to_vec();
    msg.extend_from_slice(&payload);
    pb::SignedQuery {
        signature: test_key(signer).sign(&msg).to_bytes().to_vec(),
        payload,
    }
}

fn order(actor: &str, id: &str, side: &str, price: &str, qty: i64) -> serde_json::Value {
    json!({"as": actor, "cmd": "order", "id": id, "instrument": "ZJEA-2025", "side": side,
           "type": "limit", "tif": "day", "price": price, "qty": qty})
}

async fn next<T>(s: &mut Streaming<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), s.message())
        .await
        .expect("an update within 10 s")
        .expect("a healthy stream")
        .expect("the stream is open")
}

#[tokio::test]
async fn two_enterprises_trade_and_stream_their_executions() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut ledger = server.client().await;
    let mut market = pb::market_client::MarketClient::new(server.channel().await);
    let mut s = Signer::default();
    small_market(&mut ledger, &mut s).await;
    accept(
        &mut ledger,
        s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "20000.00"})),
    )
    .await;
    accept(
        &mut ledger,
        s.sign(json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"})),
    )
    .await;

    // Nobody reads another's executions: a subscription signed by the wrong key fails.
    let forged = market
        .stream_executions(query("HZ-STEEL", "executions", "NB-POWER"))
        .await;
    assert_eq!(forged.unwrap_err().code(), tonic::Code::Unauthenticated);

    let mut steel = market
        .stream_executions(query("HZ-STEEL", "executions", "HZ-STEEL"))
        .await
        .unwrap()
        .into_inner();
    let mut power = market
        .stream_executions(query("NB-POWER", "executions", "NB-POWER"))
        .await
        .unwrap()
        .into_inner();
    let mut data = market
        .stream_market_data(pb::MarketDataRequest {
            instrument: "ZJEA-2025".into(),
            depth: 5,
        })
        .await
        .unwrap()
        .into_inner();

    // HZ-STEEL offers 300 at 58.30; NB-POWER buys 100 at 58.40 (trades at 58.30).
    accept(&mut ledger, s.sign(order("HZ-STEEL", "s1", "sell", "58.30", 300))).await;
    let ack = next(&mut steel).await;
    let Some(pb::execution_update::Kind::Ack(a)) = ack.kind else {
        panic!("an ack first: {ack:?}")
    };
    assert_eq!((a.command.as_str(), a.id.as_str()), ("order", "s1"));
    assert_eq!(a.outcome.unwrap().order.unwrap().status, "resting");
    let book = next(&mut data).await;
    let Some(pb::market_data_update::Kind::Book(b)) = book.kind else {
        panic!("a book update: {book:?}")
    };
    assert_eq!((b.asks[0].price.as_str(), b.asks[0].qty), ("58.30", 300));

    accept(&mut ledger, s.sign(order("NB-POWER", "b1", "buy", "58.40", 100))).await;
    let ack = next(&mut power).await;
    let Some(pb::execution_update::Kind::Ack(a)) = ack.kind else {
        panic!("an ack: {ack:?}")
    };
    assert_eq!(
        a.outcome.unwrap().order.unwrap(),
        pb::OrderResult {
            status: "filled".into(),
            filled: 100
        }
    );
    for stream in [&mut power, &mut steel] {
        let fill = next(stream).await;
        let Some(pb::execution_update::Kind::Trade(t)) = fill.kind else {
            panic!("a fill: {fill:?}")
        };
        assert_eq!(
            (t.price.as_str(), t.qty, t.buy_id.as_str(), t.sell_id.as_str()),
            ("58.30", 100, "b1", "s1")
        );
    }
    let trade = next(&mut data).await;
    assert!(
        matches!(trade.kind, Some(pb::market_data_update::Kind::Trade(_))),
        "{trade:?}"
    );

    // What a screen queries: the book, the day's trades, the seller's open orders.
    let b = market
        .get_book(pb::GetBookRequest {
            instrument: "ZJEA-2025".into(),
            depth: 5,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (b.asks[0].qty, b.band_low.as_str(), b.band_high.as_str()),
        (200, "52.38", "64.02")
    );
    let trades = market
        .list_trades(pb::ListTradesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((trades.date.as_str(), trades.trades.len()), ("2026-03-02", 1));
    let open = market
        .list_open_orders(query("HZ-STEEL", "open_orders", "HZ-STEEL"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(open.orders.len(), 1);
    assert_eq!((open.orders[0].id.as_str(), open.orders[0].remaining), ("s1", 200));
    let wrong = market
        .list_open_orders(query("HZ-STEEL", "open_orders", "NB-POWER"))
        .await;
    assert_eq!(wrong.unwrap_err().code(), tonic::Code::Unauthenticated);

    // The operator cancels the rest; the owner hears of it. Then the close.
    accept(
        &mut ledger,
        s.sign(json!({"as": OPERATOR, "cmd": "cancel", "account": "HZ-STEEL", "id": "s1"})),
    )
    .await;
    let ack = next(&mut steel).await;
    let Some(pb::execution_update::Kind::Ack(a)) = ack.kind else {
        panic!("the cancel: {ack:?}")
    };
    assert_eq!((a.command.as_str(), a.id.as_str()), ("cancel", "s1"));
    accept(&mut ledger, s.sign(json!({"as": OPERATOR, "cmd": "close_day"}))).await;
    let closed = next(&mut steel).await;
    let Some(pb::execution_update::Kind::DayClosed(d)) = closed.kind else {
        panic!("the close: {closed:?}")
    };
    assert_eq!((d.close.as_str(), d.volume), ("58.30", 100));
}
