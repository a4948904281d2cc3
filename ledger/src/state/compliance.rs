//! Compliance (RULEBOOK.md 11, 13.17, 13.20): surrender against a year's
//! obligation, the 5% offset limit, and the year's close with statuses,
//! shortfalls and penalty ranges.

use super::{AcctIdx, Applied, ComplianceRow, Event, State};
use crate::code::Code;
use crate::command::{allowance_symbol, vintage, Role};
use crate::num::{div_floor, div_round, Cents};

use super::registry::check_qty;

type Outcome = Result<Applied, Code>;

/// At most this share (in percent) of an obligation may be met with CCER.
pub const OFFSET_LIMIT_PCT: i64 = 5;
/// The penalty range: this many times the shortfall's value, low and high.
pub const PENALTY_MULTIPLES: (i64, i64) = (5, 10);

/// What an entity owes and has surrendered for one year.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Obligation {
    /// Allocation that a final true-up could not claw back (RULEBOOK.md 13.18).
    pub unclawed: i64,
    pub surrendered: i64,
    pub surrendered_offsets: i64,
}

impl State {
    pub(super) fn add_unclawed(&mut self, entity: &str, year: i64, qty: i64) {
        if qty > 0 {
            self.obligations.entry((entity.to_string(), year)).or_default().unclawed += qty;
        }
    }

    /// The obligation of a confirmed report: verified emissions plus what
    /// could not be clawed back. `None` without a confirmed report.
    pub fn obligation(&self, entity: &str, year: i64) -> Option<i64> {
        let verified = self.confirmed_emissions(entity, year)?;
        let unclawed = self
            .obligations
            .get(&(entity.to_string(), year))
            .map_or(0, |o| o.unclawed);
        Some(verified + unclawed)
    }

    /// Tonnes surrendered by an entity for a year.
    pub fn surrendered(&self, entity: &str, year: i64) -> i64 {
        self.obligations
            .get(&(entity.to_string(), year))
            .map_or(0, |o| o.surrendered)
    }

    pub(super) fn surrender(&mut self, actor: AcctIdx, year: i64, instrument: &str, qty: i64) -> Outcome {
        let entity = self.acct(actor);
        if entity.role != Role::Entity {
            return Err(Code::NotPermitted);
        }
        self.instrument(instrument)?;
        if self.closed_years.contains_key(&year) {
            return Err(Code::YearClosed);
        }
        let id = entity.id.clone();
        let obligation = self.obligation(&id, year).ok_or(Code::ReportNotConfirmed)?;
        check_qty(qty)?;
        let offset = instrument == "CCER";
        if vintage(instrument).is_some_and(|v| v > year) {
            return Err(Code::VintageNotEligible);
        }
        if self.acct(actor).holding(instrument).available < qty {
            return Err(Code::InsufficientHoldings);
        }
        let done = self.obligations.get(&(id.clone(), year)).cloned().unwrap_or_default();
        let offset_limit = div_floor(i128::from(obligation) * i128::from(OFFSET_LIMIT_PCT), 100) as i64;
        if offset && done.surrendered_offsets + qty > offset_limit {
            return Err(Code::OffsetLimitExceeded);
        }
        if done.surrendered + qty > obligation {
            return Err(Code::ExceedsObligation);
        }
        let a = self.acct_mut(actor);
        a.holding_mut(instrument).available -= qty;
        a.tidy(instrument);
        self.instruments.get_mut(instrument).expect("checked above").surrendered += qty;
        let o = self.obligations.entry((id, year)).or_default();
        o.surrendered += qty;
        if offset {
            o.surrendered_offsets += qty;
        }
        Ok(Applied::default())
    }

    /// The penalty reference price of a vintage: the average of its last 22
    /// closes rounded to a tick, or its reference price if it has none.
    pub fn penalty_price(&self, year: i64) -> Option<i64> {
        let inst = self.instruments.get(&allowance_symbol(year))?;
        if inst.closes.is_empty() {
            return Some(inst.reference);
        }
        let sum: i128 = inst.closes.iter().map(|&c| i128::from(c)).sum();
        Some(div_round(sum, inst.closes.len() as i128) as i64)
    }

    pub(super) fn close_year(&mut self, actor: AcctIdx, year: i64) -> Outcome {
        if !self.acct(actor).is_zj_regulator() {
            return Err(Code::NotPermitted);
        }
        self.instrument(&allowance_symbol(year))?;
        if self.closed_years.contains_key(&year) {
            return Err(Code::YearClosed);
        }
        let price = self.penalty_price(year).expect("the vintage exists");
        let mut rows = Vec::new();
        for (id, &idx) in &self.by_id {
            if self.acct(idx).role != Role::Entity {
                continue;
            }
            let row = match self.obligation(id, year) {
                None => ComplianceRow {
                    year,
                    entity: id.clone(),
                    status: 'C',
                    obligation: 0,
                    surrendered: 0,
                    shortfall: 0,
                    penalty_min: 0,
                    penalty_max: 0,
                },
                Some(obligation) => {
                    let surrendered = self.surrendered(id, year);
                    let shortfall = (obligation - surrendered).max(0);
                    let value = Cents::from(shortfall) * Cents::from(price);
                    ComplianceRow {
                        year,
                        entity: id.clone(),
                        status: if shortfall == 0 { 'A' } else { 'B' },
                        obligation,
                        surrendered,
                        shortfall,
                        penalty_min: value * Cents::from(PENALTY_MULTIPLES.0),
                        penalty_max: value * Cents::from(PENALTY_MULTIPLES.1),
                    }
                }
            };
            rows.push(row);
        }
        for r in &rows {
            if r.shortfall > 0 {
                *self.deductions.entry(r.entity.clone()).or_default() += r.shortfall;
            }
        }
        self.closed_years.insert(year, rows.clone());
        Ok(Applied {
            order: None,
            events: rows.into_iter().map(Event::Compliance).collect(),
        })
    }
}
