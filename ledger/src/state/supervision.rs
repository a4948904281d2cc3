//! Market supervision (RULEBOOK.md 14): positions and limits (14.1), halts
//! (14.2), related accounts (14.3) and alerts (14.4).
//!
//! Exposure is checked on every buy, so it must cost the same whatever the
//! size of the books: each account carries `open_buy_tonnes`, a running
//! figure of what its resting buy orders, buy proposals and auction bids on
//! position-counted instruments still commit it to, moved at the few places
//! those change (entry, fill, cancel, expiry, freeze, acceptance, clearing)
//! and re-derived from the books in `check_invariants`. Position is a sum
//! over the account's own holdings (a handful of symbols).
//!
//! The close-of-day alerts read per-day counters kept in each instrument's
//! `DayStats` (one entry per account active on that instrument that day,
//! cleared at every open), never the journal: a close costs what the day
//! did, not what the market has ever done.

use std::collections::{BTreeMap, BTreeSet};

use super::{AcctIdx, Applied, DayStats, Event, State, Trade};
use crate::code::Code;
use crate::command::{Role, Side};
use crate::instrument::counts_toward_position;
use crate::num::{Ticks, MAX_QTY_TONNES};
use crate::state::events::{Alert, AlertKind};

type Outcome = Result<Applied, Code>;

/// The starting value of both position-limit parameters (Beijing's exchange:
/// 1,000,000 t).
pub const DEFAULT_POSITION_LIMIT_TONNES: i64 = 1_000_000;

/// A close this many percent or more from the band reference is a price move.
pub const PRICE_MOVE_PCT: i64 = 5;
/// Concentration is looked at from this listed volume on (tonnes).
pub const CONCENTRATION_MIN_VOLUME_TONNES: i64 = 1_000;
/// Cancel ratio is looked at from this many orders placed on a day.
pub const CANCEL_RATIO_MIN_PLACED: i64 = 10;
/// ... and raised when at least this share (in tenths) was cancelled.
pub const CANCEL_RATIO_TENTHS: i64 = 8;

/// The two parameters of the position limits (RULEBOOK.md 14.1), in tonnes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PositionLimits {
    /// An entity's limit is its quota plus this.
    pub entity_extra: i64,
    /// An investor's limit.
    pub investor: i64,
}

impl Default for PositionLimits {
    fn default() -> Self {
        PositionLimits {
            entity_extra: DEFAULT_POSITION_LIMIT_TONNES,
            investor: DEFAULT_POSITION_LIMIT_TONNES,
        }
    }
}

/// What the supervisors have set: limits, halts and groups.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Supervision {
    pub limits: PositionLimits,
    /// Halted instruments, by symbol; a halt lasts until `resume`.
    pub halted: BTreeSet<String>,
    /// Every group with its members in declared order. Groups are
    /// permanent; each member also carries its group (`Account::group`).
    pub groups: BTreeMap<String, Vec<String>>,
}

/// One account's activity on one instrument during the open day: what the
/// close-of-day alerts of RULEBOOK.md 14.4 count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayActivity {
    /// Listed purchases, tonnes.
    pub bought: i64,
    /// Listed sales, tonnes.
    pub sold: i64,
    /// Accepted `order` commands, whatever their fate.
    pub placed: i64,
    /// Accepted `cancel {id}` commands of its own orders.
    pub cancelled: i64,
}

/// A closed day of one instrument, as the close-of-day alerts need it.
pub(super) struct ClosedDay {
    pub symbol: String,
    pub reference: Ticks,
    pub close: Ticks,
    pub stats: DayStats,
}

impl State {
    pub(super) fn set_position_limits(&mut self, actor: AcctIdx, entity_extra: i64, investor: i64) -> Outcome {
        if actor != self.operator {
            return Err(Code::NotPermitted);
        }
        if ![entity_extra, investor]
            .iter()
            .all(|v| (0..=MAX_QTY_TONNES).contains(v))
        {
            return Err(Code::InvalidQuantity);
        }
        self.supervision.limits = PositionLimits { entity_extra, investor };
        Ok(Applied::default())
    }

    /// `halt` and `resume` (14.2): the operator or `ZJ`; idempotent.
    pub(super) fn set_halted(&mut self, actor: AcctIdx, instrument: &str, halted: bool) -> Outcome {
        if actor != self.operator && !self.acct(actor).is_zj_regulator() {
            return Err(Code::NotPermitted);
        }
        self.instrument(instrument)?;
        if halted {
            self.supervision.halted.insert(instrument.to_string());
        } else {
            self.supervision.halted.remove(instrument);
        }
        Ok(Applied::default())
    }

    /// `MARKET_HALTED` for `order`, `block_propose` and `block_accept` (14.2).
    pub(super) fn check_not_halted(&self, instrument: &str) -> Result<(), Code> {
        if self.supervision.halted.contains(instrument) {
            Err(Code::MarketHalted)
        } else {
            Ok(())
        }
    }

    /// `declare_group` (14.3, 14.5.5): members checked in list order, each
    /// in full; then the id, then the members' existing groups.
    pub(super) fn declare_group(&mut self, actor: AcctIdx, id: &str, members: &[String]) -> Outcome {
        let reg = self.acct(actor);
        if reg.role != Role::Regulator {
            return Err(Code::NotPermitted);
        }
        let mut idxs = Vec::with_capacity(members.len());
        for m in members {
            let i = self.idx(m)?;
            let member = self.acct(i);
            if !member.role.trades() || !reg.governs(member) {
                return Err(Code::NotPermitted);
            }
            idxs.push(i);
        }
        if self.supervision.groups.contains_key(id) {
            return Err(Code::DuplicateId);
        }
        if idxs.iter().any(|&i| self.acct(i).group.is_some()) {
            return Err(Code::GroupConflict);
        }
        for &i in &idxs {
            self.acct_mut(i).group = Some(id.to_string());
        }
        self.supervision.groups.insert(id.to_string(), members.to_vec());
        Ok(Applied::default())
    }

    /// An account's position (14.1): its allowances, available, locked and pending.
    pub fn position(&self, account: AcctIdx) -> i64 {
        self.acct(account)
            .holdings
            .iter()
            .filter(|(symbol, _)| counts_toward_position(symbol))
            .map(|(_, h)| h.available + h.locked + h.pending)
            .sum()
    }

    /// An account's buying exposure (14.1): its position plus what its open
    /// buy orders, buy proposals and auction bids on allowances commit it to.
    pub fn exposure(&self, account: AcctIdx) -> i64 {
        self.position(account) + self.acct(account).open_buy_tonnes
    }

    /// An entity's quota (14.1, 14.5.1): issued less clawed back of its
    /// allocation of the highest year; 0 without one. May be negative.
    pub fn quota(&self, entity: &str) -> i64 {
        self.allocations
            .range((entity.to_string(), i64::MIN)..=(entity.to_string(), i64::MAX))
            .next_back()
            .map_or(0, |(_, a)| a.issued - a.clawed_back)
    }

    /// The position limit of an entity or investor (14.1); `None` for
    /// accounts that cannot buy.
    pub fn position_limit(&self, account: AcctIdx) -> Option<i64> {
        let a = self.acct(account);
        match a.role {
            Role::Entity => Some(self.quota(&a.id) + self.supervision.limits.entity_extra),
            Role::Investor => Some(self.supervision.limits.investor),
            _ => None,
        }
    }

    /// The large-holder reporting threshold (14.4.2.4): half the extra.
    pub fn large_holder_threshold(&self, account: AcctIdx) -> Option<i64> {
        let a = self.acct(account);
        let limits = self.supervision.limits;
        match a.role {
            Role::Entity => Some(self.quota(&a.id) + limits.entity_extra / 2),
            Role::Investor => Some(limits.investor / 2),
            _ => None,
        }
    }

    /// `POSITION_LIMIT_EXCEEDED` (14.1): buying `qty` more of `instrument`
    /// would take the buyer's exposure past its limit. Only allowances count.
    pub(super) fn check_position_limit(&self, buyer: AcctIdx, instrument: &str, qty: i64) -> Result<(), Code> {
        if !counts_toward_position(instrument) {
            return Ok(());
        }
        let limit = self.position_limit(buyer).expect("only entities and investors buy");
        if self.exposure(buyer) + qty > limit {
            return Err(Code::PositionLimitExceeded);
        }
        Ok(())
    }

    /// Moves an account's open buying commitment on `instrument` by
    /// `delta_tonnes` (positive when an order rests, a proposal is made or a
    /// bid placed; negative when they fill, end or clear).
    pub(super) fn commit_buying(&mut self, owner: AcctIdx, instrument: &str, delta_tonnes: i64) {
        if counts_toward_position(instrument) {
            let a = self.acct_mut(owner);
            a.open_buy_tonnes += delta_tonnes;
            debug_assert!(a.open_buy_tonnes >= 0, "negative open buying of {}", a.id);
        }
    }

    /// Counts one of the day's accepted orders (or cancels) toward the
    /// cancel-ratio alert.
    pub(super) fn count_activity(&mut self, owner: AcctIdx, instrument: &str, f: impl FnOnce(&mut DayActivity)) {
        let stats = &mut self
            .instruments
            .get_mut(instrument)
            .expect("activity on a known instrument")
            .today;
        f(stats.activity.entry(owner).or_default());
    }

    /// Records a listed or block trade and, right after it, its
    /// `related_trade` alert when buyer and seller are of one group.
    pub(super) fn push_trade(&self, events: &mut Vec<Event>, buyer: AcctIdx, seller: AcctIdx, trade: Trade) {
        let group = match (&self.acct(buyer).group, &self.acct(seller).group) {
            (Some(b), Some(s)) if b == s => Some(b.clone()),
            _ => None,
        };
        let alert = group.map(|group| {
            Event::Alert(Alert {
                date: trade.date.clone(),
                kind: AlertKind::RelatedTrade {
                    group,
                    instrument: trade.instrument.clone(),
                    mode: trade.mode,
                    price: trade.price,
                    qty: trade.qty,
                    buyer: trade.buyer.clone(),
                    seller: trade.seller.clone(),
                },
            })
        });
        events.push(Event::Trade(trade));
        events.extend(alert);
    }

    /// The close-of-day alerts (14.4.2), in the rulebook's order: price
    /// moves, concentration, cancel ratios (each by symbol), large holders
    /// (by account id). `days` are the closed days in symbol order; called
    /// after `pending` became `available`.
    pub(super) fn close_of_day_alerts(&self, date: &str, days: &[ClosedDay]) -> Vec<Event> {
        let mut alerts = Vec::new();
        let id = |i: &AcctIdx| self.acct(*i).id.clone();
        for d in days.iter().filter(|d| d.stats.volume > 0) {
            if (d.close - d.reference).abs() * (100 / PRICE_MOVE_PCT) >= d.reference {
                alerts.push(AlertKind::PriceMove {
                    instrument: d.symbol.clone(),
                    reference: d.reference,
                    close: d.close,
                });
            }
        }
        for d in days
            .iter()
            .filter(|d| d.stats.volume >= CONCENTRATION_MIN_VOLUME_TONNES)
        {
            let volume = d.stats.volume;
            for side in [Side::Buy, Side::Sell] {
                let mut heavy: Vec<(String, i64)> = d
                    .stats
                    .activity
                    .iter()
                    .map(|(i, a)| (i, if side == Side::Buy { a.bought } else { a.sold }))
                    .filter(|&(_, qty)| qty * 2 > volume)
                    .map(|(i, qty)| (id(i), qty))
                    .collect();
                heavy.sort();
                alerts.extend(heavy.into_iter().map(|(account, qty)| AlertKind::Concentration {
                    instrument: d.symbol.clone(),
                    account,
                    side,
                    qty,
                    volume,
                }));
            }
        }
        for d in days {
            let mut cancellers: Vec<(String, &DayActivity)> = d
                .stats
                .activity
                .iter()
                .filter(|(_, a)| {
                    a.placed >= CANCEL_RATIO_MIN_PLACED && a.cancelled * 10 >= a.placed * CANCEL_RATIO_TENTHS
                })
                .map(|(i, a)| (id(i), a))
                .collect();
            cancellers.sort_by(|a, b| a.0.cmp(&b.0));
            alerts.extend(cancellers.into_iter().map(|(account, a)| AlertKind::CancelRatio {
                instrument: d.symbol.clone(),
                account,
                placed: a.placed,
                cancelled: a.cancelled,
            }));
        }
        for (account, &i) in &self.by_id {
            let Some(threshold) = self.large_holder_threshold(i) else {
                continue;
            };
            let position = self.position(i);
            if position > threshold {
                alerts.push(AlertKind::LargeHolder {
                    account: account.clone(),
                    position,
                    threshold,
                });
            }
        }
        alerts
            .into_iter()
            .map(|kind| {
                Event::Alert(Alert {
                    date: date.to_string(),
                    kind,
                })
            })
            .collect()
    }
}
