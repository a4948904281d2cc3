//! The JSON report of a replay (REPLAY.md "The report").

use serde_json::{json, Map, Value};

use crate::num::{fmt_cents, fmt_ticks};
use crate::replay::{result_json, LineResult};
use crate::state::{Event, State};

fn price(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(fmt_ticks(t)))
}

/// Builds the report from the final state and every line's result.
pub fn build(state: &State, results: &[LineResult]) -> Value {
    let mut trades = Vec::new();
    let mut days = Vec::new();
    let mut compliance = Vec::new();
    for e in results
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .flat_map(|a| &a.events)
    {
        match e {
            Event::Trade(t) => trades.push(json!({
                "date": t.date, "mode": t.mode.as_str(), "instrument": t.instrument,
                "price": fmt_ticks(t.price), "qty": t.qty,
                "buyer": t.buyer, "buy_id": t.buy_id, "seller": t.seller, "sell_id": t.sell_id,
            })),
            Event::Day(d) => days.push(json!({
                "date": d.date, "instrument": d.instrument, "reference": fmt_ticks(d.reference),
                "open": price(d.open), "high": price(d.high), "low": price(d.low),
                "close": fmt_ticks(d.close), "volume": d.volume, "turnover": fmt_cents(d.turnover),
                "block_volume": d.block_volume, "auction_volume": d.auction_volume,
            })),
            Event::Compliance(c) => compliance.push(json!({
                "year": c.year, "entity": c.entity, "status": c.status.to_string(),
                "obligation": c.obligation, "surrendered": c.surrendered, "shortfall": c.shortfall,
                "penalty_min": fmt_cents(c.penalty_min), "penalty_max": fmt_cents(c.penalty_max),
            })),
        }
    }
    let mut accounts = Map::new();
    for a in &state.accounts {
        let holdings: Map<String, Value> = a
            .holdings
            .iter()
            .filter(|(_, h)| h.available != 0 || h.locked != 0 || h.pending != 0)
            .map(|(s, h)| {
                (
                    s.clone(),
                    json!({"available": h.available, "locked": h.locked, "pending": h.pending}),
                )
            })
            .collect();
        accounts.insert(
            a.id.clone(),
            json!({
                "frozen": a.frozen,
                "cash": {"available": fmt_cents(a.cash_available), "locked": fmt_cents(a.cash_locked)},
                "holdings": holdings,
            }),
        );
    }
    let supply: Map<String, Value> = state
        .instruments
        .values()
        .map(|i| {
            (
                i.symbol.clone(),
                json!({"issued": i.issued, "surrendered": i.surrendered, "retired": i.retired,
                       "clawed_back": i.clawed_back, "outstanding": i.outstanding()}),
            )
        })
        .collect();
    let reports: Vec<Value> = state
        .reports
        .iter()
        .map(|((entity, year), r)| {
            json!({"entity": entity, "year": year, "status": r.status.as_str(),
                   "direct": r.direct_tonnes, "indirect": r.indirect_tonnes, "verified": r.verified_tonnes})
        })
        .collect();
    let allocations: Vec<Value> = state
        .allocations
        .iter()
        .map(|((entity, year), a)| {
            json!({"entity": entity, "year": year, "method": a.method.as_str(), "pre": a.pre,
                   "final": a.final_qty, "issued": a.issued, "deducted": a.deducted, "clawed_back": a.clawed_back})
        })
        .collect();
    json!({
        "results": results.iter().map(result_json).collect::<Vec<_>>(),
        "trades": trades,
        "days": days,
        "accounts": accounts,
        "supply": supply,
        "compliance": compliance,
        "reports": reports,
        "allocations": allocations,
    })
}
