//! `carbon.v1.Market`: what a trading screen needs (RULEBOOK.md 4-7): the
//! book's depth, a day's trades, an account's open orders, and two server
//! streams fed by the sequencer after each durable batch: market data for
//! everyone, and an account's own order and execution updates for that
//! account alone (the subscription is signed by its key).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use carbon_ledger::num::fmt_ticks;
use carbon_ledger::state::Trade;
use carbon_ledger::views;
use carbon_proto::v1 as pb;
use ed25519_dalek::{Signature, VerifyingKey};
use prost::Message;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::feed::{Feed, FEED_DEPTH};
use crate::limits::StreamLimits;
use crate::sequencer::{Handle, Unavailable};

/// Most book levels a query returns per side.
pub const MAX_DEPTH: usize = 100;
/// Most streams open at once over the whole server.
pub const MAX_STREAMS: usize = 1024;
/// Most streams open at once on one connection (one client address and
/// port), so that one client cannot take all of [`MAX_STREAMS`].
pub const MAX_STREAMS_PER_CONNECTION: usize = 64;
/// Updates buffered per stream before the forwarding task waits.
const STREAM_BUFFER: usize = 256;
/// How far a signed query's clock may be from the server's.
const QUERY_FRESHNESS_MS: u64 = 5 * 60 * 1000;

/// The market-data service.
pub struct MarketService {
    seq: Handle,
    /// Open streams, over the server and per connection.
    streams: StreamLimits,
}

impl MarketService {
    pub fn new(seq: Handle) -> Self {
        MarketService {
            seq,
            streams: StreamLimits::new("streams", MAX_STREAMS, MAX_STREAMS_PER_CONNECTION),
        }
    }

    /// Checks a signed query: its purpose, its freshness and the account's signature.
    async fn authorize(&self, q: &pb::SignedQuery, purpose: &str) -> Result<String, Status> {
        let query = pb::AccountQuery::decode(q.payload.as_slice())
            .map_err(|_| Status::invalid_argument("MALFORMED: the query payload is not an AccountQuery"))?;
        if query.purpose != purpose {
            return Err(Status::invalid_argument(format!(
                "MALFORMED: this call needs purpose {purpose:?}"
            )));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        if now.abs_diff(query.timestamp_ms) > QUERY_FRESHNESS_MS {
            return Err(Status::unauthenticated("BAD_SIGNATURE: the query's timestamp is stale"));
        }
        let account = query.account.clone();
        let key: Option<VerifyingKey> = self
            .seq
            .read(move |node| node.state().public_key(&account))
            .await
            .map_err(unavailable)?;
        let key = key.ok_or_else(|| Status::not_found("UNKNOWN_ACCOUNT"))?;
        let sig = Signature::from_slice(&q.signature)
            .map_err(|_| Status::unauthenticated("BAD_SIGNATURE: not a signature"))?;
        let mut msg = carbon_proto::QUERY_SIGNING_PREFIX.to_vec();
        msg.extend_from_slice(&q.payload);
        if !carbon_ledger::signature::verify_strict(&key, &msg, &sig) {
            return Err(Status::unauthenticated(
                "BAD_SIGNATURE: the query is not signed by the account",
            ));
        }
        Ok(query.account)
    }

    /// Starts a stream: a task turns feeds into updates until the client
    /// goes away or falls too far behind.
    fn stream<T, F>(
        &self,
        peer: Option<SocketAddr>,
        mut feed: broadcast::Receiver<Arc<Feed>>,
        mut pick: F,
    ) -> Result<ReceiverStream<Result<T, Status>>, Status>
    where
        T: Send + 'static,
        F: FnMut(&Feed) -> Vec<T> + Send + 'static,
    {
        let slot = self.streams.admit(peer)?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            let _slot = slot;
            loop {
                let next = tokio::select! {
                    next = feed.recv() => next,
                    // The client went away: free the stream's slots now, not
                    // at the next feed.
                    _ = tx.closed() => return,
                };
                match next {
                    Ok(f) => {
                        for update in pick(&f) {
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

fn unavailable(u: Unavailable) -> Status {
    Status::unavailable(u.0)
}

fn trade_pb(t: &Trade) -> pb::Trade {
    t.to_pb()
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
        let r = req.into_inner();
        let depth = match r.depth as usize {
            0 => 10,
            d => d.min(MAX_DEPTH),
        };
        let instrument = r.instrument.clone();
        let view = self
            .seq
            .read(move |node| crate::feed::book_pb(node, &instrument, depth))
            .await
            .map_err(unavailable)?;
        view.map(Response::new)
            .ok_or_else(|| Status::not_found(format!("UNKNOWN_INSTRUMENT: {}", r.instrument)))
    }

    async fn list_trades(&self, req: Request<pb::ListTradesRequest>) -> Result<Response<pb::TradeList>, Status> {
        let r = req.into_inner();
        let list = self
            .seq
            .read(move |node| {
                let date = (!r.date.is_empty()).then_some(r.date.as_str());
                let instrument = (!r.instrument.is_empty()).then_some(r.instrument.as_str());
                let (date, trades) = views::trades_of_day(node.state(), date, instrument);
                pb::TradeList {
                    date,
                    trades: trades.into_iter().map(trade_pb).collect(),
                }
            })
            .await
            .map_err(unavailable)?;
        Ok(Response::new(list))
    }

    async fn list_open_orders(&self, req: Request<pb::SignedQuery>) -> Result<Response<pb::OpenOrders>, Status> {
        let account = self.authorize(req.get_ref(), "open_orders").await?;
        let orders = self
            .seq
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
            .map_err(unavailable)?;
        Ok(Response::new(orders))
    }

    type StreamMarketDataStream = ReceiverStream<Result<pb::MarketDataUpdate, Status>>;

    async fn stream_market_data(
        &self,
        req: Request<pb::MarketDataRequest>,
    ) -> Result<Response<Self::StreamMarketDataStream>, Status> {
        let peer = req.remote_addr();
        let r = req.into_inner();
        let depth = match r.depth as usize {
            0 => 5,
            d => d.min(FEED_DEPTH),
        };
        let wanted = move |symbol: &str| r.instrument.is_empty() || r.instrument == symbol;
        let stream = self.stream(peer, self.seq.subscribe(), move |f: &Feed| {
            let mut out = Vec::new();
            let mut last_seq = 0;
            for e in &f.entries {
                last_seq = e.seq;
                for t in trades_in(&e.outcome).filter(|t| wanted(&t.instrument)) {
                    out.push(pb::MarketDataUpdate {
                        seq: e.seq,
                        kind: Some(pb::market_data_update::Kind::Trade(t.clone())),
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
            out
        })?;
        Ok(Response::new(stream))
    }

    type StreamExecutionsStream = ReceiverStream<Result<pb::ExecutionUpdate, Status>>;

    async fn stream_executions(
        &self,
        req: Request<pb::SignedQuery>,
    ) -> Result<Response<Self::StreamExecutionsStream>, Status> {
        // Subscribe before answering, so nothing after the answer is missed.
        let feed = self.seq.subscribe();
        let account = self.authorize(req.get_ref(), "executions").await?;
        let stream = self.stream(req.remote_addr(), feed, move |f: &Feed| {
            let mut out = Vec::new();
            for e in &f.entries {
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
            out
        })?;
        Ok(Response::new(stream))
    }
}

/// The service, ready to add to a server.
pub fn server(svc: MarketService) -> pb::market_server::MarketServer<MarketService> {
    pb::market_server::MarketServer::new(svc)
}
