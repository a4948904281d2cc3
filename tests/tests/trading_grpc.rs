//! A trading session over real gRPC: two enterprises stream their own
//! executions (signed subscriptions), a third party watches market data, and
//! the book, trades and open orders are queried as a trading screen would.

mod grpc_support;

use std::time::Duration;

use carbon_proto::v1 as pb;
use grpc_support::*;
use prost::Message;
use serde_json::json;
use tonic::Streaming;

/// A Market read of `account`'s data, with `who`'s read credential.
fn market_read<T: Message>(ledger: &[u8; 32], who: &str, method: &str, message: T) -> tonic::Request<T> {
    signed(who, ledger, &format!("/carbon.v1.Market/{method}"), message)
}

fn executions(account: &str) -> pb::ExecutionsRequest {
    pb::ExecutionsRequest {
        account: account.into(),
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

    // Nobody reads another's executions, and nobody reads them anonymously.
    let id = ledger_id(&mut ledger).await;
    let other = market
        .stream_executions(market_read(&id, "NB-POWER", "StreamExecutions", executions("HZ-STEEL")))
        .await;
    assert_eq!(other.unwrap_err().code(), tonic::Code::PermissionDenied);
    let anonymous = market.stream_executions(executions("HZ-STEEL")).await;
    assert_eq!(anonymous.unwrap_err().code(), tonic::Code::Unauthenticated);

    let mut steel = market
        .stream_executions(market_read(&id, "HZ-STEEL", "StreamExecutions", executions("HZ-STEEL")))
        .await
        .unwrap()
        .into_inner();
    let mut power = market
        .stream_executions(market_read(&id, "NB-POWER", "StreamExecutions", executions("NB-POWER")))
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
    // The public feed shows the trade, and not who made it.
    let trade = next(&mut data).await;
    let Some(pb::market_data_update::Kind::Trade(t)) = trade.kind else {
        panic!("a trade: {trade:?}")
    };
    assert_eq!((t.price.as_str(), t.qty), ("58.30", 100));
    assert_eq!(
        (
            t.buyer.as_str(),
            t.seller.as_str(),
            t.buy_id.as_str(),
            t.sell_id.as_str()
        ),
        ("", "", "", "")
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
    assert_eq!(trades.trades[0].buyer, "", "the public list names no one");
    let named = market
        .list_trades(market_read(
            &id,
            "HZ-EEB",
            "ListTrades",
            pb::ListTradesRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (named.trades[0].buyer.as_str(), named.trades[0].seller.as_str()),
        ("NB-POWER", "HZ-STEEL")
    );
    let orders = |account: &str| pb::OpenOrdersRequest {
        account: account.into(),
    };
    let open = market
        .list_open_orders(market_read(&id, "HZ-STEEL", "ListOpenOrders", orders("HZ-STEEL")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(open.orders.len(), 1);
    assert_eq!((open.orders[0].id.as_str(), open.orders[0].remaining), ("s1", 200));
    let wrong = market
        .list_open_orders(market_read(&id, "NB-POWER", "ListOpenOrders", orders("HZ-STEEL")))
        .await;
    assert_eq!(wrong.unwrap_err().code(), tonic::Code::PermissionDenied);
    let regulator = market
        .list_open_orders(market_read(&id, "HZ-EEB", "ListOpenOrders", orders("HZ-STEEL")))
        .await;
    assert_eq!(
        regulator.unwrap().into_inner().orders.len(),
        1,
        "its city regulator reads them"
    );

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

    // A freeze ends the frozen account's execution stream.
    accept(
        &mut ledger,
        s.sign(json!({"as": "HZ-EEB", "cmd": "freeze", "account": "HZ-STEEL"})),
    )
    .await;
    let ended = tokio::time::timeout(Duration::from_secs(10), steel.message())
        .await
        .expect("the stream ends within 10 s");
    assert_eq!(ended.unwrap_err().code(), tonic::Code::PermissionDenied);
}
