//! What applying a command yields: the order's end state and the events
//! (trades, day summaries, compliance rows, alerts) the journal records
//! with it.

use carbon_proto::v1 as pb;

use crate::command::Side;

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
    /// The energy columns of RULEBOOK.md 15.4, in tce.
    pub energy_obligation: i64,
    pub energy_surrendered: i64,
    pub energy_shortfall: i64,
    pub energy_penalty_min: Cents,
    pub energy_penalty_max: Cents,
}

/// An alert of abnormal trading (RULEBOOK.md 14.4): part of the outcome of
/// the command that raised it, like a trade, and changing no balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The open day; for `close_day`, the day being closed.
    pub date: String,
    pub kind: AlertKind,
}

/// The five kinds of alert and their figures (RULEBOOK.md 14.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertKind {
    /// A listed or block trade between two members of one group.
    RelatedTrade {
        group: String,
        instrument: String,
        mode: TradeMode,
        price: Ticks,
        qty: i64,
        buyer: String,
        seller: String,
    },
    /// A close 5% or more away from the day's band reference.
    PriceMove {
        instrument: String,
        reference: Ticks,
        close: Ticks,
    },
    /// One account's listed purchases (or sales) were more than half the day's volume.
    Concentration {
        instrument: String,
        account: String,
        side: Side,
        qty: i64,
        volume: i64,
    },
    /// An account cancelled at least 80% of the 10 or more orders it placed.
    CancelRatio {
        instrument: String,
        account: String,
        placed: i64,
        cancelled: i64,
    },
    /// A position above its reporting threshold at the close.
    LargeHolder {
        account: String,
        position: i64,
        threshold: i64,
    },
}

/// The rulebook's name of a journalled alert's kind ("" for none).
pub fn alert_kind_name(a: &pb::Alert) -> &'static str {
    use pb::alert::Kind;
    match &a.kind {
        Some(Kind::RelatedTrade(_)) => "related_trade",
        Some(Kind::PriceMove(_)) => "price_move",
        Some(Kind::Concentration(_)) => "concentration",
        Some(Kind::CancelRatio(_)) => "cancel_ratio",
        Some(Kind::LargeHolder(_)) => "large_holder",
        None => "",
    }
}

/// The accounts a journalled alert names (none for a price move): who may
/// see it depends on their jurisdictions.
pub fn alert_accounts(a: &pb::Alert) -> Vec<&str> {
    use pb::alert::Kind;
    match &a.kind {
        Some(Kind::RelatedTrade(t)) => vec![&t.buyer, &t.seller],
        Some(Kind::Concentration(c)) => vec![&c.account],
        Some(Kind::CancelRatio(c)) => vec![&c.account],
        Some(Kind::LargeHolder(l)) => vec![&l.account],
        Some(Kind::PriceMove(_)) | None => vec![],
    }
}

/// Something an accepted command caused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Trade(Trade),
    Day(DaySummary),
    Compliance(ComplianceRow),
    Alert(Alert),
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
            energy_obligation: self.energy_obligation,
            energy_surrendered: self.energy_surrendered,
            energy_shortfall: self.energy_shortfall,
            energy_penalty_min: fmt_cents(self.energy_penalty_min),
            energy_penalty_max: fmt_cents(self.energy_penalty_max),
        }
    }
}

fn side_str(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

impl Alert {
    /// The journal's form.
    pub fn to_pb(&self) -> pb::Alert {
        use pb::alert::Kind;
        let kind = match &self.kind {
            AlertKind::RelatedTrade {
                group,
                instrument,
                mode,
                price,
                qty,
                buyer,
                seller,
            } => Kind::RelatedTrade(pb::RelatedTradeAlert {
                group: group.clone(),
                instrument: instrument.clone(),
                mode: mode.as_str().into(),
                price: fmt_ticks(*price),
                qty: *qty,
                buyer: buyer.clone(),
                seller: seller.clone(),
            }),
            AlertKind::PriceMove {
                instrument,
                reference,
                close,
            } => Kind::PriceMove(pb::PriceMoveAlert {
                instrument: instrument.clone(),
                reference: fmt_ticks(*reference),
                close: fmt_ticks(*close),
            }),
            AlertKind::Concentration {
                instrument,
                account,
                side,
                qty,
                volume,
            } => Kind::Concentration(pb::ConcentrationAlert {
                instrument: instrument.clone(),
                account: account.clone(),
                side: side_str(*side).into(),
                qty: *qty,
                volume: *volume,
            }),
            AlertKind::CancelRatio {
                instrument,
                account,
                placed,
                cancelled,
            } => Kind::CancelRatio(pb::CancelRatioAlert {
                instrument: instrument.clone(),
                account: account.clone(),
                placed: *placed,
                cancelled: *cancelled,
            }),
            AlertKind::LargeHolder {
                account,
                position,
                threshold,
            } => Kind::LargeHolder(pb::LargeHolderAlert {
                account: account.clone(),
                position: *position,
                threshold: *threshold,
            }),
        };
        pb::Alert {
            date: self.date.clone(),
            kind: Some(kind),
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
                Event::Alert(a) => Kind::Alert(a.to_pb()),
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
