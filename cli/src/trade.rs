//! Trading from the command line: `carbon order buy|sell|cancel|list` (signed
//! with the trader's key) and `carbon market book|trades|summary|watch`
//! (readable tables, or `--json`).

use std::path::PathBuf;

use carbon_proto::v1 as pb;
use serde_json::{json, Value};
use tonic::transport::Channel;

use crate::client::{Reader, Tls};
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
    /// The account's resting orders (read with its key, or a regulator's).
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
    /// A day's trades (default: the latest day with trades). Public trades
    /// name no party; a regulator, the operator or an auditor sees them
    /// with `--key` and `--actor`.
    Trades {
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        instrument: Option<String>,
        /// The reader's key file, to see the parties (supervisors only).
        #[arg(long, requires = "actor")]
        key: Option<PathBuf>,
        /// Who reads.
        #[arg(long, requires = "key")]
        actor: Option<String>,
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
            let orders = runtime()?.block_on(async {
                let ch = channel(&server, &tls).await?;
                let reader = Reader::new(ch.clone(), &key, &actor).await?;
                let request = pb::OpenOrdersRequest { account: actor.clone() };
                let r = crate::grpc::market(ch)
                    .list_open_orders(reader.request("/carbon.v1.Market/ListOpenOrders", request))
                    .await;
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

/// Trades a ListTrades page asks for: the server's most (its `MAX_TRADES_PAGE`).
const TRADES_PAGE: u32 = 10_000;

/// Every trade of the day `request` names, page after page (the server
/// sends a day's trades a page at a time); with `reader`, each page is a
/// signed read.
async fn all_trades(
    ch: Channel,
    request: pb::ListTradesRequest,
    reader: Option<&Reader>,
) -> Result<pb::TradeList, tonic::Status> {
    let mut market = crate::grpc::market(ch);
    let mut request = pb::ListTradesRequest {
        limit: TRADES_PAGE,
        ..request
    };
    let mut list = pb::TradeList::default();
    loop {
        let r = match reader {
            Some(reader) => reader.request("/carbon.v1.Market/ListTrades", request.clone()),
            None => tonic::Request::new(request.clone()),
        };
        let page = market.list_trades(r).await?.into_inner();
        list.date = page.date;
        list.trades.extend(page.trades);
        if page.next_page_token.is_empty() {
            return Ok(list);
        }
        request.page_token = page.next_page_token;
    }
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
                let mut c = crate::grpc::market(channel(&out.server, &out.tls).await?);
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
        Market::Trades {
            date,
            instrument,
            key,
            actor,
            out,
        } => {
            let list = rt.block_on(async {
                let ch = channel(&out.server, &out.tls).await?;
                let request = pb::ListTradesRequest {
                    date: date.unwrap_or_default(),
                    instrument: instrument.unwrap_or_default(),
                    ..Default::default()
                };
                let reader = match (&key, &actor) {
                    (Some(key), Some(actor)) => Some(Reader::new(ch.clone(), key, actor).await?),
                    _ => None,
                };
                let r = all_trades(ch, request, reader.as_ref()).await;
                anyhow::Ok(r.map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?)
            })?;
            if out.json {
                let v: Vec<Value> = list.trades.iter().map(trade_json).collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"date": list.date, "trades": v}))?
                );
            } else {
                println!("trades of {}", if list.date.is_empty() { "-" } else { &list.date });
                // Public trades carry no parties: show their columns only when named.
                let named = list.trades.iter().any(|t| !t.buyer.is_empty());
                let parties = |b: &str, s: &str| {
                    if named {
                        format!("  {b:<24} {s:<24}")
                    } else {
                        String::new()
                    }
                };
                println!(
                    "{:<8} {:<10} {:>10} {:>10}{}",
                    "mode",
                    "instrument",
                    "price",
                    "qty",
                    parties("buyer (order)", "seller (order)")
                );
                for t in &list.trades {
                    println!(
                        "{:<8} {:<10} {:>10} {:>10}{}",
                        t.mode,
                        t.instrument,
                        t.price,
                        t.qty,
                        parties(
                            &format!("{} ({})", t.buyer, t.buy_id),
                            &format!("{} ({})", t.seller, t.sell_id)
                        )
                    );
                }
            }
        }
        Market::Summary { out } => {
            let rows = rt.block_on(async {
                let ch = channel(&out.server, &out.tls).await?;
                let mut ledger = crate::grpc::ledger(ch.clone());
                let mut market = crate::grpc::market(ch.clone());
                let instruments = ledger.list_instruments(pb::ListInstrumentsRequest {}).await?.into_inner();
                let trades = all_trades(ch, pb::ListTradesRequest::default(), None).await?;
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
                let mut c = crate::grpc::market(channel(&server, &tls).await?);
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
