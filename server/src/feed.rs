//! What the read view tells subscribers after each durable batch: every
//! journalled command's actor, kind and outcome, and the books it may have
//! changed. Built only when someone listens; carried to the market-data and
//! execution streams over a bounded broadcast channel, so a slow subscriber
//! falls behind and is dropped instead of holding the view (or the
//! sequencer) back.

use std::sync::Arc;

use carbon_ledger::num::fmt_ticks;
use carbon_ledger::replica::{AppliedEntry, Replica};
use carbon_ledger::views;
use carbon_proto::v1 as pb;

/// Batches a subscriber may fall behind before it is dropped.
pub const FEED_CAPACITY: usize = 1024;

/// Book levels per side carried in each feed; streams send at most this many.
pub const FEED_DEPTH: usize = 20;

/// One journalled command as subscribers see it.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub seq: u64,
    pub actor: String,
    /// The command's name in the rulebook (`order`, `cancel`, ...).
    pub command: &'static str,
    /// The order, proposal, bid or auction id it names, if any.
    pub id: String,
    /// The other account it acts on (an operator's cancel, a freeze), if any.
    pub subject: Option<String>,
    pub outcome: pb::Outcome,
}

/// Everything one batch did, for subscribers.
#[derive(Debug, Default)]
pub struct Feed {
    pub entries: Vec<FeedEntry>,
    /// Books after the batch, when it held trading commands.
    pub books: Vec<pb::BookView>,
}

/// The wire form of a book view.
pub fn book_pb(node: &Replica, instrument: &str, depth: usize) -> Option<pb::BookView> {
    let state = node.state();
    let v = views::book(state, instrument, depth)?;
    let level = |l: &views::Level| pb::Level {
        price: fmt_ticks(l.price_ticks),
        qty: l.qty_tonnes as i64,
        orders: l.orders as u32,
    };
    Some(pb::BookView {
        instrument: instrument.to_string(),
        bids: v.bids.iter().map(level).collect(),
        asks: v.asks.iter().map(level).collect(),
        reference: fmt_ticks(v.band_ref),
        band_low: fmt_ticks(v.band.0),
        band_high: fmt_ticks(v.band.1),
        day_open: state.day.is_some(),
        halted: state.supervision.halted.contains(instrument),
        date: state.day.clone(),
    })
}

/// The name, id and subject of a command body.
fn describe(body: &pb::command::Body) -> (&'static str, String, Option<String>) {
    use pb::command::Body as B;
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    match body {
        B::Order(c) => ("order", s(&c.id), None),
        B::Cancel(c) => ("cancel", s(&c.id), c.account.clone()),
        B::BlockPropose(c) => ("block_propose", s(&c.id), c.counterparty.clone()),
        B::BlockAccept(c) => ("block_accept", s(&c.id), c.proposer.clone()),
        B::BlockCancel(c) => ("block_cancel", s(&c.id), None),
        B::AuctionOpen(c) => ("auction_open", s(&c.id), None),
        B::AuctionBid(c) => ("auction_bid", s(&c.id), None),
        B::AuctionClose(c) => ("auction_close", s(&c.auction), None),
        B::Freeze(c) => ("freeze", String::new(), c.account.clone()),
        B::Unfreeze(c) => ("unfreeze", String::new(), c.account.clone()),
        B::CreateAccount(c) => ("create_account", s(&c.id), None),
        B::DefineInstrument(c) => ("define_instrument", s(&c.symbol), None),
        B::DefineFactorSet(c) => ("define_factor_set", s(&c.id), None),
        B::DeclareGroup(c) => ("declare_group", s(&c.id), None),
        B::Halt(c) => ("halt", String::new(), c.instrument.clone()),
        B::Resume(c) => ("resume", String::new(), c.instrument.clone()),
        B::Deposit(c) => ("deposit", String::new(), c.account.clone()),
        B::Withdraw(c) => ("withdraw", String::new(), c.account.clone()),
        B::Issue(c) => ("issue", String::new(), c.to.clone()),
        B::Transfer(c) => ("transfer", String::new(), c.to.clone()),
        B::AllocateBenchmark(c) => ("allocate_benchmark", String::new(), c.entity.clone()),
        B::AllocateGrandfather(c) => ("allocate_grandfather", String::new(), c.entity.clone()),
        B::VerifyReport(c) => ("verify_report", String::new(), c.entity.clone()),
        B::ConfirmReport(c) => ("confirm_report", String::new(), c.entity.clone()),
        B::ReturnReport(c) => ("return_report", String::new(), c.entity.clone()),
        _ => (carbon_ledger::market_day::command_name(body), String::new(), None),
    }
}

/// Builds the feed of the commands a durable batch journalled, from the
/// read view's replica once it has applied them.
pub fn build(node: &Replica, applied: &[AppliedEntry]) -> Arc<Feed> {
    let mut feed = Feed::default();
    let mut trading = false;
    for a in applied {
        let Some(body) = &a.command.body else { continue };
        let (command, id, subject) = describe(body);
        trading |= matches!(
            command,
            "order" | "cancel" | "freeze" | "open_day" | "close_day" | "define_instrument" | "halt" | "resume"
        );
        feed.entries.push(FeedEntry {
            seq: a.seq,
            actor: a.command.actor.clone().unwrap_or_default(),
            command,
            id,
            subject,
            outcome: a.outcome.clone(),
        });
    }
    if trading {
        feed.books = node
            .state()
            .instruments
            .keys()
            .filter_map(|symbol| book_pb(node, symbol, FEED_DEPTH))
            .collect();
    }
    Arc::new(feed)
}
