//! `GET /api/stream`: the market live, as server-sent events, fed by the
//! sequencer's feed (the one the gRPC market-data streams read).
//!
//! The stream subscribes to the feed first and reads the market second, so
//! nothing falls between: its first event is `snapshot` ([`data::Live`]:
//! every book and latest trades, and the journal length `seq` they were
//! read at); then, for each durable batch at or past `seq`, a `trade`
//! event per trade (`{seq, trade}`, no parties), a `day` event per closed
//! instrument-day ([`data::DaySummary`]) and a `book` event per book the
//! batch may have changed (`{seq, book}`, halted or not). A client that
//! falls more than the feed's capacity behind gets a new `snapshot` and
//! goes on; one that reconnects (an `EventSource` does by itself) starts
//! from a new snapshot too.
//!
//! The stream holds no task of its own: it is the response's body, so when
//! the client goes away hyper drops it, and with it the feed's receiver
//! and its place in the stream limits. Keep-alive comments every
//! [`KEEP_ALIVE`](super::KEEP_ALIVE) find a client that vanished without
//! closing its connection. Every stream ends when the server stops.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use carbon_proto::v1 as pb;
use futures_util::StreamExt as _;
use serde::Serialize;
use tokio::sync::broadcast;

use super::data::{self, Book, DaySummary, Live, Trade};
use super::{App, Refusal, KEEP_ALIVE};
use crate::feed::Feed;
use crate::limits::StreamSlot;

/// How long a client waits before reconnecting (the `retry` field).
const RETRY: Duration = Duration::from_secs(3);

#[derive(Serialize)]
struct TradeEvent<'a> {
    seq: u64,
    trade: &'a Trade,
}

#[derive(Serialize)]
struct BookEvent<'a> {
    seq: u64,
    book: &'a Book,
}

/// One open stream: where it is and what it has yet to send.
struct Open {
    app: App,
    feed: broadcast::Receiver<Arc<Feed>>,
    /// Feed entries below this are in the last snapshot sent.
    from: u64,
    pending: VecDeque<Event>,
    _slot: StreamSlot,
}

fn json_event(kind: &str, seq: u64, data: &impl Serialize) -> Event {
    Event::default()
        .event(kind)
        .id(seq.to_string())
        .json_data(data)
        .unwrap_or_else(|e| Event::default().event("error").data(e.to_string()))
}

impl Open {
    fn snapshot(&mut self, live: &Live) {
        self.from = live.seq;
        self.pending
            .push_back(json_event("snapshot", live.seq, live).retry(RETRY));
    }

    /// The events of one batch, past what the last snapshot holds.
    fn queue(&mut self, f: &Feed) {
        let mut last = None;
        for e in f.entries.iter().filter(|e| e.seq >= self.from) {
            last = Some(e.seq);
            for ev in &e.outcome.events {
                match &ev.kind {
                    Some(pb::event::Kind::Trade(t)) => {
                        let trade = Trade::from_pb(t);
                        self.pending.push_back(json_event(
                            "trade",
                            e.seq,
                            &TradeEvent {
                                seq: e.seq,
                                trade: &trade,
                            },
                        ));
                    }
                    Some(pb::event::Kind::Day(d)) => {
                        self.pending
                            .push_back(json_event("day", e.seq, &DaySummary::from_pb(d)));
                    }
                    _ => {}
                }
            }
        }
        if let Some(seq) = last {
            for b in &f.books {
                let book = Book::from_pb(b, data::BOOK_DEPTH);
                self.pending
                    .push_back(json_event("book", seq, &BookEvent { seq, book: &book }));
            }
        }
    }

    /// The next event, or `None` when the stream is over.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Open)> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some((Ok(e), self));
            }
            match self.feed.recv().await {
                Ok(f) => self.queue(&f),
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let live = self.app.read(data::live).await.ok()?;
                    self.snapshot(&live);
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// `GET /api/stream`.
pub async fn stream(State(app): State<App>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Result<Response, Refusal> {
    let slot = {
        let _busy = app.admit(peer)?;
        app.0
            .streams
            .admit(Some(peer))
            .map_err(|s| Refusal(StatusCode::TOO_MANY_REQUESTS, s.message().to_string()))?
    };
    // Subscribe before reading, so that nothing falls between.
    let feed = app.0.view.subscribe();
    let live = app.read(data::live).await?;
    let mut stopping = app.0.stopping.clone();
    let mut open = Open {
        app,
        feed,
        from: 0,
        pending: VecDeque::new(),
        _slot: slot,
    };
    open.snapshot(&live);
    let events = futures_util::stream::unfold(open, Open::next).take_until(Box::pin(async move {
        let _ = stopping.wait_for(|s| *s).await;
    }));
    Ok((
        [
            (header::CACHE_CONTROL, "no-cache"),
            // Proxies that buffer (nginx) pass events on at once.
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)),
    )
        .into_response())
}
