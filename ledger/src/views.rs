//! Read-only views a regulator needs (RULEBOOK.md 9-11): the compliance
//! table of a closed year, reports with their history, allocations by year.
//! Shared by `carbon audit` (offline) and the gRPC queries.

pub use carbon_matching::Level;
use carbon_matching::Side as BookSide;

use crate::command::Side;
use crate::num::Ticks;
use crate::state::trading::listed_band;
use crate::state::{Allocation, ComplianceRow, Report, State, Trade};

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

/// An instrument's book, top `depth` levels per side, best first, and its band.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookView {
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
    pub band_ref: Ticks,
    pub band: (Ticks, Ticks),
}

/// The book of `instrument`, `None` if it is not listed.
pub fn book(state: &State, instrument: &str, depth: usize) -> Option<BookView> {
    let i = state.instruments.get(instrument)?;
    let mut bids = Vec::with_capacity(depth);
    let mut asks = Vec::with_capacity(depth);
    i.book.depth(BookSide::Buy, depth, &mut bids);
    i.book.depth(BookSide::Sell, depth, &mut asks);
    Some(BookView {
        bids,
        asks,
        band_ref: i.band_ref,
        band: listed_band(i.band_ref),
    })
}

/// A resting order of an account, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOrder {
    pub id: String,
    pub instrument: String,
    pub side: Side,
    pub price: Ticks,
    pub remaining_tonnes: i64,
}

/// An account's resting orders, by order id; `None` for an unknown account.
pub fn open_orders(state: &State, account: &str) -> Option<Vec<OpenOrder>> {
    let a = state.account(account)?;
    Some(
        a.open_orders
            .iter()
            .filter_map(|(id, &r)| {
                let (instrument, side) = state.resting_order(r)?;
                let o = state.instruments.get(instrument)?.book.get(r)?;
                Some(OpenOrder {
                    id: id.clone(),
                    instrument: instrument.to_string(),
                    side,
                    price: o.price_ticks,
                    remaining_tonnes: o.remaining_tonnes as i64,
                })
            })
            .collect(),
    )
}

/// The trades of a day (the latest day with trades when `date` is `None`),
/// optionally of one instrument. Only the last few days are kept in memory
/// (`TRADE_TAPE_DAYS`); older ones are in the journal.
pub fn trades_of_day<'a>(state: &'a State, date: Option<&str>, instrument: Option<&str>) -> (String, Vec<&'a Trade>) {
    let day = match date {
        Some(d) => state.trade_tape.iter().find(|(x, _)| x == d),
        None => state.trade_tape.back(),
    };
    let Some((d, trades)) = day else {
        return (date.unwrap_or_default().to_string(), Vec::new());
    };
    (
        d.clone(),
        trades
            .iter()
            .filter(|t| instrument.is_none_or(|i| t.instrument == i))
            .collect(),
    )
}
