//! What applying a command yields: the order's end state and the events
//! (trades, day summaries, compliance rows) the journal records with it.

use carbon_proto::v1 as pb;

use crate::num::{fmt_cents, fmt_ticks, Cents, Ticks};

/// How an accepted order ended on entry (REPLAY.md `results[].order`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    Filled,
    Resting,
    Cancelled,
}

impl OrderStatus {
    /// The status as REPLAY.md spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Filled => "filled",
            OrderStatus::Resting => "resting",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

/// How a trade came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TradeMode {
    Listed,
    Block,
    Auction,
}

impl TradeMode {
    /// The mode as REPLAY.md spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TradeMode::Listed => "listed",
            TradeMode::Block => "block",
            TradeMode::Auction => "auction",
        }
    }
}

/// A settled trade (delivery versus payment).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Trade {
    pub date: String,
    pub mode: TradeMode,
    pub instrument: String,
    pub price: Ticks,
    pub qty: i64,
    pub buyer: String,
    pub buy_id: String,
    pub seller: String,
    pub sell_id: String,
}

/// One instrument's closed trading day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaySummary {
    pub date: String,
    pub instrument: String,
    pub reference: Ticks,
    pub open: Option<Ticks>,
    pub high: Option<Ticks>,
    pub low: Option<Ticks>,
    pub close: Ticks,
    pub volume: i64,
    pub turnover: Cents,
    pub block_volume: i64,
    pub auction_volume: i64,
}

/// One entity's result of a closed compliance year.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ComplianceRow {
    pub year: i64,
    pub entity: String,
    pub status: char,
    pub obligation: i64,
    pub surrendered: i64,
    pub shortfall: i64,
    pub penalty_min: Cents,
    pub penalty_max: Cents,
}

/// Something an accepted command caused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Trade(Trade),
    Day(DaySummary),
    Compliance(ComplianceRow),
}

/// An accepted command's result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// For `order`: its end state on entry and the tonnes it traded.
    pub order: Option<(OrderStatus, i64)>,
    pub events: Vec<Event>,
}

impl Trade {
    /// The journal's form.
    pub fn to_pb(&self) -> pb::Trade {
        pb::Trade {
            date: self.date.clone(),
            mode: self.mode.as_str().into(),
            instrument: self.instrument.clone(),
            price: fmt_ticks(self.price),
            qty: self.qty,
            buyer: self.buyer.clone(),
            buy_id: self.buy_id.clone(),
            seller: self.seller.clone(),
            sell_id: self.sell_id.clone(),
        }
    }
}

impl DaySummary {
    /// The journal's form.
    pub fn to_pb(&self) -> pb::DaySummary {
        pb::DaySummary {
            date: self.date.clone(),
            instrument: self.instrument.clone(),
            reference: fmt_ticks(self.reference),
            open: self.open.map(fmt_ticks),
            high: self.high.map(fmt_ticks),
            low: self.low.map(fmt_ticks),
            close: fmt_ticks(self.close),
            volume: self.volume,
            turnover: fmt_cents(self.turnover),
            block_volume: self.block_volume,
            auction_volume: self.auction_volume,
        }
    }
}

impl ComplianceRow {
    /// The journal's form.
    pub fn to_pb(&self) -> pb::ComplianceRow {
        pb::ComplianceRow {
            year: self.year,
            entity: self.entity.clone(),
            status: self.status.to_string(),
            obligation: self.obligation,
            surrendered: self.surrendered,
            shortfall: self.shortfall,
            penalty_min: fmt_cents(self.penalty_min),
            penalty_max: fmt_cents(self.penalty_max),
        }
    }
}

impl Event {
    /// The journal's form.
    pub fn to_pb(&self) -> pb::Event {
        use pb::event::Kind;
        pb::Event {
            kind: Some(match self {
                Event::Trade(t) => Kind::Trade(t.to_pb()),
                Event::Day(d) => Kind::Day(d.to_pb()),
                Event::Compliance(c) => Kind::Compliance(c.to_pb()),
            }),
        }
    }
}

/// The journal's form of a command's outcome.
pub fn outcome_to_pb(result: &Result<Applied, crate::code::Code>) -> pb::Outcome {
    match result {
        Ok(a) => pb::Outcome {
            ok: true,
            code: String::new(),
            order: a.order.map(|(s, filled)| pb::OrderResult {
                status: s.as_str().into(),
                filled,
            }),
            events: a.events.iter().map(Event::to_pb).collect(),
        },
        Err(c) => pb::Outcome {
            ok: false,
            code: c.as_str().into(),
            order: None,
            events: Vec::new(),
        },
    }
}
