//! Compliance (RULEBOOK.md 11, 13.17, 13.20, 15.3, 15.4): surrender against
//! a year's carbon or energy obligation, the 5% offset limit, and the year's
//! close with statuses, shortfalls and penalty ranges for both.

use super::{AcctIdx, Applied, ComplianceRow, Event, State};
use crate::code::Code;
use crate::command::Role;
use crate::instrument::{allowance_symbol, vintage, Family, ObligationKind};
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
    /// Tonnes of allowances and offsets surrendered (tCO2).
    pub surrendered: i64,
    pub surrendered_offsets: i64,
    /// Energy-use rights surrendered (tce, RULEBOOK.md 15.3).
    pub energy_surrendered: i64,
}

/// One obligation's figures at the close: owed, surrendered, short, and
/// the penalty range.
struct Settled {
    obligation: i64,
    surrendered: i64,
    shortfall: i64,
    penalty: (Cents, Cents),
}

impl Settled {
    fn new(obligation: i64, surrendered: i64, price: Option<i64>) -> Settled {
        let shortfall = (obligation - surrendered).max(0);
        let value = Cents::from(shortfall) * Cents::from(price.unwrap_or(0));
        Settled {
            obligation,
            surrendered,
            shortfall,
            penalty: (
                value * Cents::from(PENALTY_MULTIPLES.0),
                value * Cents::from(PENALTY_MULTIPLES.1),
            ),
        }
    }
}

impl State {
    pub(super) fn add_unclawed(&mut self, entity: &str, year: i64, qty: i64) {
        if qty > 0 {
            self.obligations.entry((entity.to_string(), year)).or_default().unclawed += qty;
        }
    }

    /// The obligations of a confirmed report: carbon (verified emissions plus
    /// what could not be clawed back) and energy (verified energy use).
    /// `None` without a confirmed report.
    pub fn obligations(&self, entity: &str, year: i64) -> Option<(i64, i64)> {
        let (emissions, energy) = self.confirmed_figures(entity, year)?;
        let unclawed = self
            .obligations
            .get(&(entity.to_string(), year))
            .map_or(0, |o| o.unclawed);
        Some((emissions + unclawed, energy))
    }

    /// The carbon obligation of a confirmed report (tCO2).
    pub fn obligation(&self, entity: &str, year: i64) -> Option<i64> {
        self.obligations(entity, year).map(|o| o.0)
    }

    /// Tonnes of allowances and offsets surrendered by an entity for a year.
    pub fn surrendered(&self, entity: &str, year: i64) -> i64 {
        self.obligations
            .get(&(entity.to_string(), year))
            .map_or(0, |o| o.surrendered)
    }

    /// Energy-use rights surrendered by an entity for a year (tce).
    pub fn energy_surrendered(&self, entity: &str, year: i64) -> i64 {
        self.obligations
            .get(&(entity.to_string(), year))
            .map_or(0, |o| o.energy_surrendered)
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
        let (carbon, energy) = self.obligations(&id, year).ok_or(Code::ReportNotConfirmed)?;
        check_qty(qty)?;
        let family = Family::of(instrument).expect("a defined instrument has a family");
        if vintage(instrument).is_some_and(|v| v > year) {
            return Err(Code::VintageNotEligible);
        }
        if self.acct(actor).holding(instrument).available < qty {
            return Err(Code::InsufficientHoldings);
        }
        let done = self.obligations.get(&(id.clone(), year)).cloned().unwrap_or_default();
        let offset = family == Family::Offset;
        let offset_limit = div_floor(i128::from(carbon) * i128::from(OFFSET_LIMIT_PCT), 100) as i64;
        if offset && done.surrendered_offsets + qty > offset_limit {
            return Err(Code::OffsetLimitExceeded);
        }
        let (owed, already) = match family.obligation() {
            ObligationKind::Carbon => (carbon, done.surrendered),
            ObligationKind::Energy => (energy, done.energy_surrendered),
        };
        if already + qty > owed {
            return Err(Code::ExceedsObligation);
        }
        let a = self.acct_mut(actor);
        a.holding_mut(instrument).available -= qty;
        a.tidy(instrument);
        self.instruments.get_mut(instrument).expect("checked above").surrendered += qty;
        let o = self.obligations.entry((id, year)).or_default();
        match family.obligation() {
            ObligationKind::Carbon => o.surrendered += qty,
            ObligationKind::Energy => o.energy_surrendered += qty,
        }
        if offset {
            o.surrendered_offsets += qty;
        }
        Ok(Applied::default())
    }

    /// The penalty reference price of an obligation of `year`: the average
    /// of the last 22 closes of `ZJEA-<year>` (or `ZJEU-<year>`) rounded to
    /// a tick, or its reference price if it has none; `None` when the
    /// instrument is not defined.
    pub fn penalty_price(&self, kind: ObligationKind, year: i64) -> Option<i64> {
        let inst = self.instruments.get(&kind.penalty_symbol(year))?;
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
        let carbon_price = self.penalty_price(ObligationKind::Carbon, year);
        debug_assert!(carbon_price.is_some(), "the vintage exists");
        let energy_price = self.penalty_price(ObligationKind::Energy, year);
        let mut rows = Vec::new();
        for (id, &idx) in &self.by_id {
            if self.acct(idx).role != Role::Entity {
                continue;
            }
            // Status C (no confirmed report) shows every figure 0 (13.20, 15.4).
            let obligations = self.obligations(id, year);
            let (carbon, energy) = obligations.unwrap_or((0, 0));
            let carbon = Settled::new(carbon, self.surrendered(id, year), carbon_price);
            let energy = Settled::new(energy, self.energy_surrendered(id, year), energy_price);
            let status = match obligations {
                None => 'C',
                Some(_) if carbon.shortfall == 0 && energy.shortfall == 0 => 'A',
                Some(_) => 'B',
            };
            debug_assert!(status != 'C' || carbon.surrendered == 0 && energy.surrendered == 0);
            rows.push(ComplianceRow {
                year,
                entity: id.clone(),
                status,
                obligation: carbon.obligation,
                surrendered: carbon.surrendered,
                shortfall: carbon.shortfall,
                penalty_min: carbon.penalty.0,
                penalty_max: carbon.penalty.1,
                energy_obligation: energy.obligation,
                energy_surrendered: energy.surrendered,
                energy_shortfall: energy.shortfall,
                energy_penalty_min: energy.penalty.0,
                energy_penalty_max: energy.penalty.1,
            });
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
