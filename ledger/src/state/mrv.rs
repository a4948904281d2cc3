//! Monitoring, reporting and verification (RULEBOOK.md 10): immutable
//! factor sets, emission reports with the 44/12 calculation, verification
//! and the regulator's confirmation or return.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{AcctIdx, Applied, State};
use crate::code::Code;
use crate::command::{FuelFactors, FuelUse, Role};
use crate::energy::{energy_use_tce, Carrier};
use crate::num::{Exact, MAX_QTY_TONNES};

type Outcome = Result<Applied, Code>;

/// An immutable set of emission factors: a changed factor never rewrites a
/// past report.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct FactorSet {
    #[serde(with = "super::image::decimal")]
    pub grid_tco2_per_mwh: Decimal,
    pub fuels: BTreeMap<String, FuelFactors>,
}

/// Where a report stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReportStatus {
    Submitted,
    Verified,
    Confirmed,
    Returned,
}

impl ReportStatus {
    /// The status as REPLAY.md spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Submitted => "submitted",
            ReportStatus::Verified => "verified",
            ReportStatus::Confirmed => "confirmed",
            ReportStatus::Returned => "returned",
        }
    }
}

/// An entity's emission report for one year, with its history of states.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    pub status: ReportStatus,
    /// Direct emissions of the latest submission, tCO2.
    pub direct_tonnes: i64,
    /// Indirect (electricity) emissions of the latest submission, tCO2.
    pub indirect_tonnes: i64,
    pub verified_tonnes: Option<i64>,
    /// Energy use `U` of the latest submission, tce (RULEBOOK.md 15.2).
    pub energy_tce: i64,
    /// Verified energy use, tce: set with `verified_tonnes`, lost with it.
    pub verified_energy_tce: Option<i64>,
    pub history: Vec<ReportStatus>,
}

/// Direct emissions: `round(sum(consumption * ncv * carbon * oxidation) * 44 / 12)`,
/// the products and the sum exact whatever their length, the division done
/// as a fraction and the whole rounded once (RULEBOOK.md 13.3). `Err(fuel)`
/// names a fuel missing from the set; `Ok(None)` means that `E` does not fit
/// an `i64`.
pub fn direct_emissions(set: &BTreeMap<String, FuelFactors>, fuels: &[FuelUse]) -> Result<Option<i64>, String> {
    let mut sum = Exact::zero();
    for f in fuels {
        let dflt = set.get(&f.fuel).ok_or_else(|| f.fuel.clone())?;
        sum = sum
            + Exact::dec(f.consumption)
                * Exact::dec(f.ncv.unwrap_or(dflt.ncv_gj_per_unit))
                * Exact::dec(f.carbon.unwrap_or(dflt.carbon_tc_per_gj))
                * Exact::dec(f.oxidation.unwrap_or(dflt.oxidation));
    }
    Ok(sum.round_ratio(44, 12))
}

/// Indirect emissions: `round(electricity_mwh * grid)`, the product exact and
/// rounded once. `None` when the figure does not fit an `i64`.
pub fn indirect_emissions(electricity_mwh: Decimal, grid: Decimal) -> Option<i64> {
    (Exact::dec(electricity_mwh) * Exact::dec(grid)).round()
}

impl State {
    pub(super) fn define_factor_set(
        &mut self,
        actor: AcctIdx,
        id: &str,
        grid: Decimal,
        fuels: &BTreeMap<String, FuelFactors>,
    ) -> Outcome {
        if !self.acct(actor).is_zj_regulator() {
            return Err(Code::NotPermitted);
        }
        if self.factor_sets.contains_key(id) {
            return Err(Code::FactorSetExists);
        }
        self.factor_sets.insert(
            id.to_string(),
            FactorSet {
                grid_tco2_per_mwh: grid,
                fuels: fuels.clone(),
            },
        );
        Ok(Applied::default())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn submit_report(
        &mut self,
        actor: AcctIdx,
        year: i64,
        factor_set: &str,
        fuels: &[FuelUse],
        electricity_mwh: Decimal,
        energy: &[(Carrier, Decimal)],
    ) -> Outcome {
        let entity = self.acct(actor);
        if entity.role != Role::Entity {
            return Err(Code::NotPermitted);
        }
        let set = self.factor_sets.get(factor_set).ok_or(Code::UnknownFactorSet)?;
        if fuels.iter().any(|f| !set.fuels.contains_key(&f.fuel)) {
            return Err(Code::UnknownFactorSet);
        }
        if self.closed_years.contains_key(&year) {
            return Err(Code::YearClosed);
        }
        let key = (entity.id.clone(), year);
        let mut history = match self.reports.get(&key) {
            Some(r) if matches!(r.status, ReportStatus::Submitted | ReportStatus::Returned) => r.history.clone(),
            Some(_) => return Err(Code::ReportState),
            None => Vec::new(),
        };
        let direct = direct_emissions(&set.fuels, fuels)
            .map_err(|_| Code::UnknownFactorSet)?
            .ok_or(Code::InvalidQuantity)?;
        let indirect = indirect_emissions(electricity_mwh, set.grid_tco2_per_mwh).ok_or(Code::InvalidQuantity)?;
        let energy_tce = energy_use_tce(energy).ok_or(Code::InvalidQuantity)?;
        history.push(ReportStatus::Submitted);
        self.reports.insert(
            key,
            Report {
                status: ReportStatus::Submitted,
                direct_tonnes: direct,
                indirect_tonnes: indirect,
                verified_tonnes: None,
                energy_tce,
                verified_energy_tce: None,
                history,
            },
        );
        Ok(Applied::default())
    }

    /// The report of `entity` for `year`, after the checks every report
    /// transition shares (the entity exists, the report exists, the year is open).
    fn report_for_transition(&self, entity: &str, year: i64) -> Result<(String, i64), Code> {
        self.idx(entity)?;
        let key = (entity.to_string(), year);
        if !self.reports.contains_key(&key) {
            return Err(Code::ReportNotFound);
        }
        if self.closed_years.contains_key(&year) {
            return Err(Code::YearClosed);
        }
        Ok(key)
    }

    /// Moves a report to `to` with its verified figures (emissions, energy),
    /// or none.
    fn move_report(&mut self, key: &(String, i64), to: ReportStatus, verified: Option<(i64, i64)>) {
        let r = self.reports.get_mut(key).expect("checked by report_for_transition");
        r.status = to;
        r.verified_tonnes = verified.map(|v| v.0);
        r.verified_energy_tce = verified.map(|v| v.1);
        r.history.push(to);
    }

    pub(super) fn verify_report(
        &mut self,
        actor: AcctIdx,
        entity: &str,
        year: i64,
        verified: Option<i64>,
        verified_energy: Option<i64>,
    ) -> Outcome {
        if self.acct(actor).role != Role::Verifier {
            return Err(Code::NotPermitted);
        }
        let key = self.report_for_transition(entity, year)?;
        let r = &self.reports[&key];
        if r.status != ReportStatus::Submitted {
            return Err(Code::ReportState);
        }
        if let Some(v) = verified {
            if !(1..=MAX_QTY_TONNES).contains(&v) {
                return Err(Code::InvalidQuantity);
            }
        }
        if let Some(v) = verified_energy {
            if !(0..=MAX_QTY_TONNES).contains(&v) {
                return Err(Code::InvalidQuantity);
            }
        }
        let figures = (
            verified.unwrap_or(r.direct_tonnes),
            verified_energy.unwrap_or(r.energy_tce),
        );
        self.move_report(&key, ReportStatus::Verified, Some(figures));
        Ok(Applied::default())
    }

    /// The regulator's checks for confirm and return: its own entity (or ZJ).
    fn regulator_of(&self, actor: AcctIdx, entity: &str) -> Result<(), Code> {
        let reg = self.acct(actor);
        if reg.role != Role::Regulator {
            return Err(Code::NotPermitted);
        }
        let e = self.idx(entity)?;
        if !reg.governs(self.acct(e)) {
            return Err(Code::NotPermitted);
        }
        Ok(())
    }

    pub(super) fn confirm_report(&mut self, actor: AcctIdx, entity: &str, year: i64) -> Outcome {
        self.regulator_of(actor, entity)?;
        let key = self.report_for_transition(entity, year)?;
        let r = &self.reports[&key];
        if r.status != ReportStatus::Verified {
            return Err(Code::ReportState);
        }
        let verified = r.verified_tonnes.zip(r.verified_energy_tce);
        self.move_report(&key, ReportStatus::Confirmed, verified);
        Ok(Applied::default())
    }

    pub(super) fn return_report(&mut self, actor: AcctIdx, entity: &str, year: i64) -> Outcome {
        self.regulator_of(actor, entity)?;
        let key = self.report_for_transition(entity, year)?;
        if !matches!(
            self.reports[&key].status,
            ReportStatus::Submitted | ReportStatus::Verified
        ) {
            return Err(Code::ReportState);
        }
        self.move_report(&key, ReportStatus::Returned, None);
        Ok(Applied::default())
    }

    /// The verified figures of a confirmed report: emissions (tCO2) and
    /// energy use (tce).
    pub(super) fn confirmed_figures(&self, entity: &str, year: i64) -> Option<(i64, i64)> {
        self.reports
            .get(&(entity.to_string(), year))
            .filter(|r| r.status == ReportStatus::Confirmed)
            .and_then(|r| r.verified_tonnes.zip(r.verified_energy_tce))
    }
}
