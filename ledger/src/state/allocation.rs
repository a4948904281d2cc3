//! Quota allocation (RULEBOOK.md 9, 13.16): the benchmark method with its
//! 70% pre-allocation and final true-up, grandfathering, and the deduction
//! of earlier shortfalls from the next allocations.

use rust_decimal::Decimal;

use super::{AcctIdx, Applied, State};
use crate::code::Code;
use crate::command::{Phase, Role, Unit};
use crate::instrument::allowance_symbol;
use crate::num::{load_factor_correction, Exact};

type Outcome = Result<Applied, Code>;

/// How an entity's allocation for a year was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AllocationMethod {
    Benchmark,
    Grandfather,
}

impl AllocationMethod {
    /// The method as REPLAY.md spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AllocationMethod::Benchmark => "benchmark",
            AllocationMethod::Grandfather => "grandfather",
        }
    }
}

/// One entity's allocation for one year: what each phase computed (before
/// deduction) and what actually moved.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Allocation {
    pub method: AllocationMethod,
    pub pre: Option<i64>,
    pub final_qty: Option<i64>,
    pub issued: i64,
    pub deducted: i64,
    pub clawed_back: i64,
}

/// `A`: the sum over units of `Qe * Be * Ff + Qh * Bh`, exact whatever its
/// length (`Ff` itself is the rounded double of 13.3).
pub fn benchmark_total(units: &[Unit]) -> Exact {
    units
        .iter()
        .map(|u| {
            let ff = load_factor_correction(u.coal, u.load_factor);
            Exact::dec(u.power_mwh) * Exact::dec(u.power_benchmark) * Exact::dec(ff)
                + Exact::dec(u.heat_gj) * Exact::dec(u.heat_benchmark)
        })
        .sum()
}

/// The pre-allocation `round(A * 0.70)`, exact and rounded once; `None` when
/// it does not fit an `i64`.
pub fn pre_allocation(total: &Exact) -> Option<i64> {
    total.round_ratio(70, 100)
}

/// The final allocation `max(round(A), round(0.80 * verified))`, each
/// rounded once; `None` when `round(A)` does not fit an `i64`.
pub fn final_allocation(total: &Exact, verified: i64) -> Option<i64> {
    let floor = Exact::int(verified).round_ratio(80, 100)?;
    Some(total.round()?.max(floor))
}

/// Grandfathering: `round(baseline * (1 - decline))`, exact and rounded once.
pub fn grandfather_quantity(baseline: i64, decline: Decimal) -> Option<i64> {
    (Exact::int(baseline) * (Exact::int(1) - Exact::dec(decline))).round()
}

impl State {
    /// The allocating regulator's checks shared by both methods: the
    /// entity is one of its own, the vintage exists, the year is open.
    fn allocation_target(&self, actor: AcctIdx, entity: &str, year: i64) -> Result<(AcctIdx, String), Code> {
        let reg = self.acct(actor);
        if reg.role != Role::Regulator {
            return Err(Code::NotPermitted);
        }
        let e = self.idx(entity)?;
        let target = self.acct(e);
        if target.role != Role::Entity || !reg.governs(target) {
            return Err(Code::NotPermitted);
        }
        let symbol = allowance_symbol(year);
        self.instrument(&symbol)?;
        if self.closed_years.contains_key(&year) {
            return Err(Code::YearClosed);
        }
        Ok((e, symbol))
    }

    /// Issues an allocation less any outstanding deduction; returns
    /// `(issued, deducted)`.
    fn issue_allocation(&mut self, e: AcctIdx, symbol: &str, qty: i64) -> (i64, i64) {
        let entity = self.acct(e).id.clone();
        let owed = self.deductions.get(&entity).copied().unwrap_or(0);
        let deducted = owed.min(qty);
        if deducted > 0 {
            let left = owed - deducted;
            if left == 0 {
                self.deductions.remove(&entity);
            } else {
                self.deductions.insert(entity, left);
            }
        }
        self.mint(e, symbol, qty - deducted);
        (qty - deducted, deducted)
    }

    pub(super) fn allocate_benchmark(
        &mut self,
        actor: AcctIdx,
        entity: &str,
        year: i64,
        phase: Phase,
        units: &[Unit],
    ) -> Outcome {
        let (e, symbol) = self.allocation_target(actor, entity, year)?;
        let key = (entity.to_string(), year);
        let existing = self.allocations.get(&key);
        let verified = match phase {
            Phase::Pre => None,
            Phase::Final => Some(self.confirmed_figures(entity, year).ok_or(Code::ReportNotConfirmed)?.0),
        };
        let refused = match phase {
            Phase::Pre => existing.is_some(),
            Phase::Final => existing.is_some_and(|a| a.final_qty.is_some()),
        };
        if refused {
            return Err(Code::AllocationExists);
        }
        let total = benchmark_total(units);
        match verified {
            None => {
                let pre = pre_allocation(&total).ok_or(Code::InvalidQuantity)?;
                let (issued, deducted) = self.issue_allocation(e, &symbol, pre);
                self.allocations.insert(
                    key,
                    super::Allocation {
                        method: AllocationMethod::Benchmark,
                        pre: Some(pre),
                        final_qty: None,
                        issued,
                        deducted,
                        clawed_back: 0,
                    },
                );
            }
            Some(verified) => {
                let final_qty = final_allocation(&total, verified).ok_or(Code::InvalidQuantity)?;
                let before = existing.and_then(|a| a.pre).unwrap_or(0);
                let diff = final_qty - before;
                let (mut issued, mut deducted, mut clawed) = (0, 0, 0);
                if diff > 0 {
                    (issued, deducted) = self.issue_allocation(e, &symbol, diff);
                } else if diff < 0 {
                    let want = -diff;
                    let a = self.acct_mut(e);
                    let h = a.holding_mut(&symbol);
                    clawed = want.min(h.available);
                    h.available -= clawed;
                    a.tidy(&symbol);
                    self.instruments.get_mut(&symbol).expect("checked above").clawed_back += clawed;
                    self.add_unclawed(entity, year, want - clawed);
                }
                let rec = self.allocations.entry(key).or_insert(super::Allocation {
                    method: AllocationMethod::Benchmark,
                    pre: None,
                    final_qty: None,
                    issued: 0,
                    deducted: 0,
                    clawed_back: 0,
                });
                rec.final_qty = Some(final_qty);
                rec.issued += issued;
                rec.deducted += deducted;
                rec.clawed_back += clawed;
            }
        }
        Ok(Applied::default())
    }

    pub(super) fn allocate_grandfather(
        &mut self,
        actor: AcctIdx,
        entity: &str,
        year: i64,
        baseline: i64,
        decline: Decimal,
    ) -> Outcome {
        let (e, symbol) = self.allocation_target(actor, entity, year)?;
        let key = (entity.to_string(), year);
        if self.allocations.contains_key(&key) {
            return Err(Code::AllocationExists);
        }
        if baseline > crate::num::MAX_QTY_TONNES {
            return Err(Code::InvalidQuantity);
        }
        let qty = grandfather_quantity(baseline, decline).ok_or(Code::InvalidQuantity)?;
        let (issued, deducted) = self.issue_allocation(e, &symbol, qty);
        self.allocations.insert(
            key,
            Allocation {
                method: AllocationMethod::Grandfather,
                pre: None,
                final_qty: Some(qty),
                issued,
                deducted,
                clawed_back: 0,
            },
        );
        Ok(Applied::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::parse_decimal;

    fn d(s: &str) -> Decimal {
        parse_decimal(s).unwrap()
    }

    #[test]
    fn a_gas_unit_has_no_load_factor_correction() {
        let u = Unit {
            coal: false,
            power_mwh: d("1000"),
            heat_gj: d("500"),
            power_benchmark: d("0.3288"),
            heat_benchmark: d("0.0533"),
            load_factor: d("0.3"),
        };
        // 1000 * 0.3288 + 500 * 0.0533 = 328.8 + 26.65
        assert_eq!(benchmark_total(&[u]), Exact::dec(d("355.45")));
    }

    #[test]
    fn a_coal_unit_below_065_is_corrected() {
        let u = Unit {
            coal: true,
            power_mwh: d("1000"),
            heat_gj: d("0"),
            power_benchmark: d("0.7910"),
            heat_benchmark: d("0.1033"),
            load_factor: d("0.5"),
        };
        // Ff = 1.015^6 -> 1.093443; 1000 * 0.7910 * 1.093443 = 864.913413
        assert_eq!(benchmark_total(&[u]), Exact::dec(d("864.913413")));
    }

    #[test]
    fn no_units_allocate_nothing() {
        assert_eq!(benchmark_total(&[]), Exact::zero());
    }
}
