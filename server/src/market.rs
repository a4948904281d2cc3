//! `carbon.v1.Market`: what a trading screen needs (RULEBOOK.md 4-7): the
//! book's depth, a day's trades, an account's open orders, and two server
//! streams fed by the sequencer after each durable batch: market data for
//! everyone, and an account's own order and execution updates.
//!
//! Who sees what is docs/ACCESS.md. Market data is public and names no
//! one: an exchange publishes prices, quantities and times, and the parties
//! see their own fills on their execution streams; regulators, the operator
//! and auditors (with a read credential) see the parties too. Open orders
//! and executions are the account's and its regulators'; an execution
//! stream ends when its credential goes stale or the account is frozen.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use carbon_ledger::num::fmt_ticks;
use carbon_ledger::views;
use carbon_proto::v1 as pb;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::auth::{now_ms, Authenticator, Caller};
use crate::feed::{Feed, FEED_DEPTH};
use crate::limits::StreamLimits;
use crate::view::View;

/// Most book levels a query returns per side.
pub const MAX_DEPTH: usize = 100;
/// Most streams open at once over the whole server.
pub const MAX_STREAMS: usize = 1024;
/// Most streams open at once from one client address (whatever its
/// port), so that one client cannot take all of [`MAX_STREAMS`].
pub const MAX_STREAMS_PER_CLIENT: usize = 64;
/// Most streams open at once with one account's read credential (whatever
/// its addresses): its execution stream, and market data for each of the
/// instruments it trades, with room to spare. It takes 64 accounts, each
/// known to its regulator, to fill [`MAX_STREAMS`].
pub const MAX_STREAMS_PER_ACCOUNT: usize = 16;
/// Updates buffered per stream before the forwarding task waits.
const STREAM_BUFFER: usize = 256;
/// Trades in a ListTrades page that names no limit.
pub const DEFAULT_TRADES_PAGE: usize = 1_000;
/// Most trades in one ListTrades page: 10,000 trades naming the parties
/// with the longest ids are ~2.1 MB, under even the 4 MiB a gRPC client
/// accepts by default, and a page takes the sequencer a few milliseconds.
pub const MAX_TRADES_PAGE: usize = 10_000;
/// Most trades one ListTrades page looks at (on the sequencer thread) when
/// an instrument filter skips most of a day: the page may then hold fewer
/// than its limit, or none, with a token to go on from.
const MAX_TRADES_SCANNED: usize = 200_000;

const SERVICE: &str = "/carbon.v1.Market/";

/// The market-data service.
pub struct MarketService {
    view: View,
    auth: Arc<Authenticator>,
    /// Open streams, over the server and per client address.
    streams: StreamLimits,
}

/// A trade as the public sees it: price, quantity, time, no parties.
fn anonymous(mut t: pb::Trade) -> pb::Trade {
    t.buyer.clear();
    t.buy_id.clear();
    t.seller.clear();
    t.sell_id.clear();
    t
}

impl MarketService {
    pub fn new(view: View, auth: Arc<Authenticator>) -> Self {
        MarketService {
            view,
            auth,
            streams: StreamLimits::new("streams", MAX_STREAMS, MAX_STREAMS_PER_CLIENT)
                .metered("market")
                .per_account(MAX_STREAMS_PER_ACCOUNT),
        }
    }

    /// The caller of `method`, who must be allowed to read `account`'s own
    /// data (the account itself or one of its regulators).
    fn reader_of<T: prost::Message>(&self, req: &Request<T>, method: &str, account: &str) -> Result<Caller, Status> {
        let caller = self.auth.caller(req, &format!("{SERVICE}{method}"))?;
        self.auth
            .require_reader(&caller, account, "the orders and executions")?;
        Ok(caller)
    }

    /// Starts a stream for `peer` (and `account`, when it has a read
    /// credential): a task turns feeds into updates until the client goes
    /// away, falls too far behind, its credential goes stale
    /// (`expires_ms`), or `pick` ends it with a status.
    fn stream<T, F>(
        &self,
        peer: Option<SocketAddr>,
        account: Option<&str>,
        mut feed: broadcast::Receiver<Arc<Feed>>,
        expires_ms: Option<u64>,
        mut pick: F,
    ) -> Result<ReceiverStream<Result<T, Status>>, Status>
    where
        T: Send + 'static,
        F: FnMut(&Feed) -> Result<Vec<T>, Status> + Send + 'static,
    {
        let slot = self.streams.admit_as(peer, account)?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let stale = async move {
            match expires_ms {
                Some(at) => tokio::time::sleep(Duration::from_millis(at.saturating_sub(now_ms()))).await,
                None => std::future::pending().await,
            }
        };
        tokio::spawn(async move {
            let _slot = slot;
            tokio::pin!(stale);
            loop {
                let next = tokio::select! {
                    next = feed.recv() => next,
                    // The client went away: free the stream's slots now, not
                    // at the next feed.
                    _ = tx.closed() => return,
                    _ = &mut stale => {
                        let _ = tx
                            .send(Err(Status::unauthenticated(
                                "the stream's read credential went stale; subscribe again with a fresh one",
                            )))
                            .await;
                        return;
                    }
                };
                match next {
                    Ok(f) => {
                        let updates = match pick(&f) {
                            Ok(u) => u,
                            Err(end) => {
                                let _ = tx.send(Err(end)).await;
                                return;
                            }
                        };
                        for update in updates {
                            if tx.send(Ok(update)).await.is_err() {
                                return; // the client went away
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let _ = tx
                            .send(Err(Status::resource_exhausted(format!(
                                "the subscriber fell {n} batches behind; subscribe again"
                            ))))
                            .await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(ReceiverStream::new(rx))
    }
}

/// The day and position a page token names (`<date>/<index>`, made by
/// `list_trades`; opaque to clients).
fn parse_page_token(token: &str) -> Result<(String, usize), Status> {
    token
        .split_once('/')
        .and_then(|(date, i)| Some((date.to_string(), i.parse().ok()?)))
        .filter(|(date, _)| date.len() == 10)
        .ok_or_else(|| Status::invalid_argument("MALFORMED: not a page token of ListTrades"))
}

/// A page of `trades` from position `start`: up to `limit` of the `wanted`
/// ones, looking at no more than [`MAX_TRADES_SCANNED`], and where the next
/// page starts (`None` when nothing is left to look at).
fn page_of<T>(trades: &[T], start: usize, limit: usize, wanted: impl Fn(&T) -> bool) -> (Vec<&T>, Option<usize>) {
    let mut page = Vec::new();
    let mut i = start.min(trades.len());
    let end = trades.len().min(i.saturating_add(MAX_TRADES_SCANNED));
    while i < end && page.len() < limit {
        if wanted(&trades[i]) {
            page.push(&trades[i]);
        }
        i += 1;
    }
    // Skip what the next page would not hold, so that a last page says so.
    while i < end && !wanted(&trades[i]) {
        i += 1;
    }
    (page, (i < trades.len()).then_some(i))
}

fn trades_in(outcome: &pb::Outcome) -> impl Iterator<Item = &pb::Trade> {
    outcome.events.iter().filter_map(|e| match &e.kind {
        Some(pb::event::Kind::Trade(t)) => Some(t),
        _ => None,
    })
}

fn days_in(outcome: &pb::Outcome) -> impl Iterator<Item = &pb::DaySummary> {
    outcome.events.iter().filter_map(|e| match &e.kind {
        Some(pb::event::Kind::Day(d)) => Some(d),
        _ => None,
    })
}

fn truncate(mut b: pb::BookView, depth: usize) -> pb::BookView {
    b.bids.truncate(depth);
    b.asks.truncate(depth);
    b
}

#[tonic::async_trait]
impl pb::market_server::Market for MarketService {
    async fn get_book(&self, req: Request<pb::GetBookRequest>) -> Result<Response<pb::BookView>, Status> {
        self.auth.public(&req, &format!("{SERVICE}GetBook"))?;
        let r = req.into_inner();
        let depth = match r.depth as usize {
            0 => 10,
            d => d.min(MAX_DEPTH),
        };
        let instrument = r.instrument.clone();
        let view = self
            .view
            .read(move |node| crate::feed::book_pb(node, &instrument, depth))
            .await
            .map_err(Status::from)?;
        view.map(Response::new)
            .ok_or_else(|| Status::not_found(format!("UNKNOWN_INSTRUMENT: {}", r.instrument)))
    }

    async fn list_trades(&self, req: Request<pb::ListTradesRequest>) -> Result<Response<pb::TradeList>, Status> {
        let caller = self.auth.public(&req, &format!("{SERVICE}ListTrades"))?;
        let named = caller.is_some_and(|c| c.is_supervisor());
        let r = req.into_inner();
        let limit = match r.limit as usize {
            0 => DEFAULT_TRADES_PAGE,
            n => n.min(MAX_TRADES_PAGE),
        };
        let (date, start) = match r.page_token.as_str() {
            "" => ((!r.date.is_empty()).then(|| r.date.clone()), 0),
            token => {
                let (date, start) = parse_page_token(token)?;
                if !r.date.is_empty() && r.date != date {
                    return Err(Status::invalid_argument(format!(
                        "MALFORMED: the page token is of {date}, not of {}",
                        r.date
                    )));
                }
                (Some(date), start)
            }
        };
        let instrument = r.instrument;
        let list = self
            .view
            .read(move |node| {
                let tape = &node.state().trade_tape;
                let day = match &date {
                    Some(d) => tape.iter().find(|(x, _)| x == d),
                    None => tape.back(),
                };
                let Some((day, trades)) = day else {
                    return pb::TradeList {
                        date: date.unwrap_or_default(),
                        ..Default::default()
                    };
                };
                let wanted = |t: &carbon_ledger::state::Trade| instrument.is_empty() || t.instrument == instrument;
                let (page, next) = page_of(trades, start, limit, wanted);
                pb::TradeList {
                    date: day.clone(),
                    trades: page
                        .into_iter()
                        .map(|t| if named { t.to_pb() } else { anonymous(t.to_pb()) })
                        .collect(),
                    next_page_token: next.map(|n| format!("{day}/{n}")).unwrap_or_default(),
                }
            })
            .await
            .map_err(Status::from)?;
        Ok(Response::new(list))
    }

    async fn list_open_orders(&self, req: Request<pb::OpenOrdersRequest>) -> Result<Response<pb::OpenOrders>, Status> {
        self.reader_of(&req, "ListOpenOrders", &req.get_ref().account)?;
        let account = req.into_inner().account;
        let orders = self
            .view
            .read(move |node| {
                let orders = views::open_orders(node.state(), &account).unwrap_or_default();
                pb::OpenOrders {
                    account,
                    orders: orders
                        .into_iter()
                        .map(|o| pb::OpenOrder {
                            id: o.id,
                            instrument: o.instrument,
                            side: match o.side {
                                carbon_ledger::command::Side::Buy => "buy".into(),
                                carbon_ledger::command::Side::Sell => "sell".into(),
                            },
                            price: fmt_ticks(o.price),
                            remaining: o.remaining_tonnes,
                        })
                        .collect(),
                }
            })
            .await
            .map_err(Status::from)?;
        Ok(Response::new(orders))
    }

    type StreamMarketDataStream = ReceiverStream<Result<pb::MarketDataUpdate, Status>>;

    async fn stream_market_data(
        &self,
        req: Request<pb::MarketDataRequest>,
    ) -> Result<Response<Self::StreamMarketDataStream>, Status> {
        let caller = self.auth.public(&req, &format!("{SERVICE}StreamMarketData"))?;
        let named = caller.as_ref().is_some_and(Caller::is_supervisor);
        let expires_ms = caller.as_ref().map(|c| c.expires_ms);
        let reader = caller.map(|c| c.account);
        let peer = req.remote_addr();
        let r = req.into_inner();
        let depth = match r.depth as usize {
            0 => 5,
            d => d.min(FEED_DEPTH),
        };
        let wanted = move |symbol: &str| r.instrument.is_empty() || r.instrument == symbol;
        let feed = self.view.subscribe();
        let stream = self.stream(peer, reader.as_deref(), feed, expires_ms, move |f: &Feed| {
            let mut out = Vec::new();
            let mut last_seq = 0;
            for e in &f.entries {
                last_seq = e.seq;
                for t in trades_in(&e.outcome).filter(|t| wanted(&t.instrument)) {
                    let t = if named { t.clone() } else { anonymous(t.clone()) };
                    out.push(pb::MarketDataUpdate {
                        seq: e.seq,
                        kind: Some(pb::market_data_update::Kind::Trade(t)),
                    });
                }
                for d in days_in(&e.outcome).filter(|d| wanted(&d.instrument)) {
                    out.push(pb::MarketDataUpdate {
                        seq: e.seq,
                        kind: Some(pb::market_data_update::Kind::Day(d.clone())),
                    });
                }
            }
            for b in f.books.iter().filter(|b| wanted(&b.instrument)) {
                out.push(pb::MarketDataUpdate {
                    seq: last_seq,
                    kind: Some(pb::market_data_update::Kind::Book(truncate(b.clone(), depth))),
                });
            }
            Ok(out)
        })?;
        Ok(Response::new(stream))
    }

    type StreamExecutionsStream = ReceiverStream<Result<pb::ExecutionUpdate, Status>>;

    async fn stream_executions(
        &self,
        req: Request<pb::ExecutionsRequest>,
    ) -> Result<Response<Self::StreamExecutionsStream>, Status> {
        // Subscribe before answering, so nothing after the answer is missed.
        let feed = self.view.subscribe();
        let caller = self.reader_of(&req, "StreamExecutions", &req.get_ref().account)?;
        let account = req.get_ref().account.clone();
        let (peer, expires_ms) = (req.remote_addr(), Some(caller.expires_ms));
        let stream = self.stream(peer, Some(&caller.account), feed, expires_ms, move |f: &Feed| {
            let mut out = Vec::new();
            for e in &f.entries {
                if e.command == "freeze" && e.outcome.ok && e.subject.as_deref() == Some(account.as_str()) {
                    return Err(Status::permission_denied(format!(
                        "{account} was frozen (journal entry {}); its execution stream ends",
                        e.seq
                    )));
                }
                // Its own commands, and others' accepted ones that act on it
                // (an operator's cancel, a freeze, a deposit, a proposal to it).
                let mine = e.actor == account || (e.outcome.ok && e.subject.as_deref() == Some(account.as_str()));
                if mine {
                    out.push(pb::ExecutionUpdate {
                        seq: e.seq,
                        kind: Some(pb::execution_update::Kind::Ack(pb::CommandAck {
                            command: e.command.to_string(),
                            id: e.id.clone(),
                            outcome: Some(e.outcome.clone()),
                        })),
                    });
                }
                for t in trades_in(&e.outcome).filter(|t| t.buyer == account || t.seller == account) {
                    out.push(pb::ExecutionUpdate {
                        seq: e.seq,
                        kind: Some(pb::execution_update::Kind::Trade(t.clone())),
                    });
                }
                for d in days_in(&e.outcome) {
                    out.push(pb::ExecutionUpdate {
                        seq: e.seq,
                        kind: Some(pb::execution_update::Kind::DayClosed(d.clone())),
                    });
                }
            }
            Ok(out)
        })?;
        Ok(Response::new(stream))
    }
}

/// The service, ready to add to a server.
pub fn server(svc: MarketService) -> pb::market_server::MarketServer<MarketService> {
    pb::market_server::MarketServer::new(svc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_wanted_trade_once_and_say_when_they_end() {
        let trades: Vec<u32> = (0..25).collect();
        let even = |t: &u32| t.is_multiple_of(2);
        let mut seen = Vec::new();
        let mut next = Some(0);
        let mut pages = 0;
        while let Some(start) = next {
            let (page, n) = page_of(&trades, start, 4, even);
            seen.extend(page.into_iter().copied());
            next = n;
            pages += 1;
        }
        assert_eq!(seen, (0..25).filter(|t: &u32| t.is_multiple_of(2)).collect::<Vec<_>>());
        assert_eq!(pages, 4, "13 trades, 4 a page, and no empty last page");
        // Everything, in one page: no token.
        assert_eq!(page_of(&trades, 0, 100, |_| true).1, None);
        // A start past the end is an empty last page.
        assert_eq!(page_of(&trades, 99, 4, |_| true), (vec![], None));
    }

    #[test]
    fn a_page_token_names_a_day_and_a_position() {
        assert_eq!(parse_page_token("2026-03-02/17").unwrap(), ("2026-03-02".into(), 17));
        for bad in ["", "2026-03-02", "2026-03-02/x", "2026-03-02/-1", "x/1"] {
            assert_eq!(
                parse_page_token(bad).unwrap_err().code(),
                tonic::Code::InvalidArgument,
                "{bad}"
            );
        }
    }
}
