//! Read-only views a regulator needs (RULEBOOK.md 9-11): the compliance
//! table of a closed year, reports with their history, allocations by year.
//! Shared by `carbon audit` (offline) and the gRPC queries.

use crate::state::{Allocation, ComplianceRow, Report, State};

/// One line of a compliance table, with the entity's jurisdiction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComplianceLine {
    pub jurisdiction: String,
    pub row: ComplianceRow,
}

/// The compliance table of a closed year, as a regulator of `viewer_jurisdiction`
/// sees it: a city regulator its own entities, `ZJ` (or `None`, the offline
/// auditor) all of them. `None` when the year is not closed.
pub fn compliance_table(state: &State, year: i64, viewer_jurisdiction: Option<&str>) -> Option<Vec<ComplianceLine>> {
    let rows = state.closed_years.get(&year)?;
    Some(
        rows.iter()
            .filter_map(|row| {
                let j = state.account(&row.entity)?.jurisdiction.clone().unwrap_or_default();
                let visible = match viewer_jurisdiction {
                    None | Some("ZJ") => true,
                    Some(v) => v == j,
                };
                visible.then(|| ComplianceLine {
                    jurisdiction: j,
                    row: row.clone(),
                })
            })
            .collect(),
    )
}

/// An entity's report for a year, with its history of states.
pub fn report<'a>(state: &'a State, entity: &str, year: i64) -> Option<&'a Report> {
    state.reports.get(&(entity.to_string(), year))
}

/// Every allocation of a year, by entity id.
pub fn allocations_of_year(state: &State, year: i64) -> Vec<(&str, &Allocation)> {
    state
        .allocations
        .iter()
        .filter(|((_, y), _)| *y == year)
        .map(|((e, _), a)| (e.as_str(), a))
        .collect()
}
