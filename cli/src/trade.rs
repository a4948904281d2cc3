//! Trading from the command line: `carbon order buy|sell|cancel|list` (signed
//! with the trader's key) and `carbon market book|trades|summary|watch`
//! (readable tables, or `--json`).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use carbon_proto::v1 as pb;
use ed25519_dalek::Signer as _;
use prost::Message;
use serde_json::{json, Value};
use tonic::transport::Channel;

use crate::client::{keyfile, Tls};
use crate::regulate::Signer;

/// `carbon order ...`.
#[derive(clap::Subcommand)]
pub enum Order {
    /// Buy: a limit order with --price, a market order without.
    Buy(OrderArgs),
    /// Sell: a limit order with --price, a market order without.
    Sell(OrderArgs),
    /// Cancel a resting order (the operator names the account with --account).
    Cancel {
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        id: String,
        #[arg(long)]
        account: Option<String>,
    },
    /// The account's resting orders (a query signed with its key).
    List {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        actor: String,
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        server: String,
        #[command(flatten)]
        tls: Tls,
        #[arg(long)]
        json: bool,
    },
}

/// A new order.
#[derive(clap::Args)]
pub struct OrderArgs {
    #[command(flatten)]
    signer: Signer,
    /// The order id, unique for the account.
    #[arg(long)]
    id: String,
    #[arg(long, default_value = "ZJEA-2025")]
    instrument: String,
    /// Tonnes (1 to 99999).
    #[arg(long)]
    qty: i64,
    /// The limit price in CNY per tonne; without it, a market order.
    #[arg(long)]
    price: Option<String>,
    /// day, ioc or fok; default day for a limit order, ioc for a market order.
    #[arg(long)]
    tif: Option<String>,
}

/// `carbon market ...`.
#[derive(clap::Subcommand)]
pub enum Market {
    /// An instrument's book: levels per side, the day's band.
    Book {
        #[arg(long, default_value = "ZJEA-2025")]
        instrument: String,
        #[arg(long, default_value_t = 10)]
        depth: u32,
        #[command(flatten)]
        out: Out,
    },
    /// A day's trades (default: the latest day with trades).
    Trades {
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        instrument: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Every instrument: reference, band, best bid and ask, the day's last trade.
    Summary {
        #[command(flatten)]
        out: Out,
    },
    /// Follow trades, book changes and day summaries as they happen.
    Watch {
        #[arg(long, default_value = "")]
        instrument: String,
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        server: String,
        #[command(flatten)]
        tls: Tls,
    },
}

/// Where to ask and how to print.
#[derive(clap::Args)]
pub struct Out {
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    server: String,
    #[command(flatten)]
    tls: Tls,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

async fn channel(server: &str, tls: &Tls) -> anyhow::Result<Channel> {
    crate::client::channel(server, tls).await
}

/// A query signed by `actor` for `purpose` (see carbon.proto `SignedQuery`).
pub fn signed_query(key: &ed25519_dalek::SigningKey, actor: &str, purpose: &str) -> pb::SignedQuery {
    let timestamp_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let payload = pb::AccountQuery {
        account: actor.into(),
        purpose: purpose.into(),
        timestamp_ms,
    }
    .encode_to_vec();
    let mut msg = carbon_proto::QUERY_SIGNING_PREFIX.to_vec();
    msg.extend_from_slice(&payload);
    pb::SignedQuery {
        signature: key.sign(&msg).to_bytes().to_vec(),
        payload,
    }
}

pub fn order(o: Order) -> anyhow::Result<()> {
    let new_order = |a: OrderArgs, side: &str| {
        let tif = a
            .tif
            .unwrap_or_else(|| if a.price.is_some() { "day".into() } else { "ioc".into() });
        let mut cmd = json!({"cmd": "order", "id": a.id, "instrument": a.instrument, "side": side,
                             "type": if a.price.is_some() { "limit" } else { "market" }, "tif": tif, "qty": a.qty});
        if let Some(p) = a.price {
            cmd["price"] = p.into();
        }
        a.signer.send(cmd)
    };
    match o {
        Order::Buy(a) => new_order(a, "buy"),
        Order::Sell(a) => new_order(a, "sell"),
        Order::Cancel { signer, id, account } => {
            let mut cmd = json!({"cmd": "cancel", "id": id});
            if let Some(acc) = account {
                cmd["account"] = acc.into();
            }
            signer.send(cmd)
        }
        Order::List {
            key,
            actor,
            server,
            tls,
            json,
        } => {
            let key = keyfile::read(&key)?;
            let orders = runtime()?.block_on(async {
                let mut c = pb::market_client::MarketClient::new(channel(&server, &tls).await?);
                let r = c.list_open_orders(signed_query(&key, &actor, "open_orders")).await;
                anyhow::Ok(
                    r.map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
                        .into_inner(),
                )
            })?;
            if json {
                let v: Vec<Value> = orders
                    .orders
                    .iter()
                    .map(|o| json!({"id": o.id, "instrument": o.instrument, "side": o.side, "price": o.price, "remaining": o.remaining}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "{:<20} {:<10} {:<5} {:>12} {:>10}",
                    "id", "instrument", "side", "price", "remaining"
                );
                for o in &orders.orders {
                    println!(
                        "{:<20} {:<10} {:<5} {:>12} {:>10}",
                        o.id, o.instrument, o.side, o.price, o.remaining
                    );
                }
            }
            Ok(())
        }
    }
}

fn book_json(b: &pb::BookView) -> Value {
    let levels = |ls: &[pb::Level]| -> Vec<Value> {
        ls.iter()
            .map(|l| json!({"price": l.price, "qty": l.qty, "orders": l.orders}))
            .collect()
    };
    json!({"instrument": b.instrument, "date": b.date, "reference": b.reference, "band_low": b.band_low,
           "band_high": b.band_high, "bids": levels(&b.bids), "asks": levels(&b.asks)})
}

fn book_table(b: &pb::BookView) -> String {
    let mut out = format!(
        "{}  reference {}  band [{}, {}]  {}\n{:>8} {:>10} {:>10} | {:<10} {:<10} {:<8}\n",
        b.instrument,
        b.reference,
        b.band_low,
        b.band_high,
        b.date
            .as_deref()
            .map_or("market closed".to_string(), |d| format!("day {d}")),
        "orders",
        "bid qty",
        "bid",
        "ask",
        "ask qty",
        "orders"
    );
    for i in 0..b.bids.len().max(b.asks.len()) {
        let (bo, bq, bp) = b
            .bids
            .get(i)
            .map_or((String::new(), String::new(), String::new()), |l| {
                (l.orders.to_string(), l.qty.to_string(), l.price.clone())
            });
        let (ap, aq, ao) = b
            .asks
            .get(i)
            .map_or((String::new(), String::new(), String::new()), |l| {
                (l.price.clone(), l.qty.to_string(), l.orders.to_string())
            });
        out += &format!("{bo:>8} {bq:>10} {bp:>10} | {ap:<10} {aq:<10} {ao:<8}\n");
    }
    out
}

fn trade_json(t: &pb::Trade) -> Value {
    json!({"date": t.date, "mode": t.mode, "instrument": t.instrument, "price": t.price, "qty": t.qty,
           "buyer": t.buyer, "buy_id": t.buy_id, "seller": t.seller, "sell_id": t.sell_id})
}

pub fn market(m: Market) -> anyhow::Result<()> {
    let rt = runtime()?;
    match m {
        Market::Book { instrument, depth, out } => {
            let b = rt.block_on(async {
                let mut c = pb::market_client::MarketClient::new(channel(&out.server, &out.tls).await?);
                let r = c.get_book(pb::GetBookRequest { instrument, depth }).await;
                anyhow::Ok(
                    r.map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
                        .into_inner(),
                )
            })?;
            if out.json {
                println!("{}", serde_json::to_string_pretty(&book_json(&b))?);
            } else {
                print!("{}", book_table(&b));
            }
        }
        Market::Trades { date, instrument, out } => {
            let list = rt.block_on(async {
                let mut c = pb::market_client::MarketClient::new(channel(&out.server, &out.tls).await?);
                let r = c
                    .list_trades(pb::ListTradesRequest {
                        date: date.unwrap_or_default(),
                        instrument: instrument.unwrap_or_default(),
                    })
                    .await;
                anyhow::Ok(
                    r.map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
                        .into_inner(),
                )
            })?;
            if out.json {
                let v: Vec<Value> = list.trades.iter().map(trade_json).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"date": list.date, "trades": v}))?
                );
            } else {
                println!("trades of {}", if list.date.is_empty() { "-" } else { &list.date });
                println!(
                    "{:<8} {:<10} {:>10} {:>10}  {:<24} {:<24}",
                    "mode", "instrument", "price", "qty", "buyer (order)", "seller (order)"
                );
                for t in &list.trades {
                    println!(
                        "{:<8} {:<10} {:>10} {:>10}  {:<24} {:<24}",
                        t.mode,
                        t.instrument,
                        t.price,
                        t.qty,
                        format!("{} ({})", t.buyer, t.buy_id),
                        format!("{} ({})", t.seller, t.sell_id)
                    );
                }
            }
        }
        Market::Summary { out } => {
            let rows = rt.block_on(async {
                let ch = channel(&out.server, &out.tls).await?;
                let mut ledger = pb::ledger_client::LedgerClient::new(ch.clone());
                let mut market = pb::market_client::MarketClient::new(ch);
                let instruments = ledger.list_instruments(pb::ListInstrumentsRequest {}).await?.into_inner();
                let trades = market.list_trades(pb::ListTradesRequest::default()).await?.into_inner();
                let mut rows = Vec::new();
                for i in instruments.instruments {
                    let b = market
                        .get_book(pb::GetBookRequest { instrument: i.symbol.clone(), depth: 1 })
                        .await?
                        .into_inner();
                    let mine: Vec<&pb::Trade> =
                        trades.trades.iter().filter(|t| t.instrument == i.symbol && t.mode == "listed").collect();
                    rows.push(json!({
                        "instrument": i.symbol, "reference": b.reference, "band_low": b.band_low, "band_high": b.band_high,
                        "best_bid": b.bids.first().map(|l| l.price.clone()), "best_ask": b.asks.first().map(|l| l.price.clone()),
                        "last": mine.last().map(|t| t.price.clone()), "volume": mine.iter().map(|t| t.qty).sum::<i64>(),
                        "trades_date": trades.date,
                    }));
                }
                anyhow::Ok(rows)
            })?;
            if out.json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:<10} {:>10} {:>21} {:>10} {:>10} {:>10} {:>10}",
                    "instrument", "reference", "band", "bid", "ask", "last", "volume"
                );
                let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
                for r in &rows {
                    println!(
                        "{:<10} {:>10} {:>21} {:>10} {:>10} {:>10} {:>10}",
                        s(&r["instrument"]),
                        s(&r["reference"]),
                        format!("[{}, {}]", s(&r["band_low"]), s(&r["band_high"])),
                        s(&r["best_bid"]),
                        s(&r["best_ask"]),
                        s(&r["last"]),
                        r["volume"]
                    );
                }
            }
        }
        Market::Watch {
            instrument,
            server,
            tls,
        } => {
            rt.block_on(async {
                let mut c = pb::market_client::MarketClient::new(channel(&server, &tls).await?);
                let mut s = c
                    .stream_market_data(pb::MarketDataRequest { instrument, depth: 5 })
                    .await?
                    .into_inner();
                while let Some(u) = s.message().await? {
                    match u.kind {
                        Some(pb::market_data_update::Kind::Trade(t)) => println!("{}", trade_json(&t)),
                        Some(pb::market_data_update::Kind::Book(b)) => print!("{}", book_table(&b)),
                        Some(pb::market_data_update::Kind::Day(d)) => {
                            println!(
                                "{} closed {} at {} (volume {})",
                                d.instrument, d.date, d.close, d.volume
                            )
                        }
                        None => {}
                    }
                }
                anyhow::Ok(())
            })?;
        }
    }
    Ok(())
}
