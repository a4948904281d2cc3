//! The JSON report of a replay (REPLAY.md "The report").

use serde_json::{json, Map, Value};

use crate::num::{fmt_cents, fmt_ticks};
use crate::replay::{result_json, LineResult};
use carbon_proto::v1 as pb;

use crate::state::{Event, State};

fn price(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(fmt_ticks(t)))
}

/// Builds the report from the final state and every line's result.
pub fn build(state: &State, results: &[LineResult]) -> Value {
    let mut trades = Vec::new();
    let mut days = Vec::new();
    let mut compliance = Vec::new();
    let mut alerts = Vec::new();
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
                "energy_obligation": c.energy_obligation, "energy_surrendered": c.energy_surrendered,
                "energy_shortfall": c.energy_shortfall,
                "energy_penalty_min": fmt_cents(c.energy_penalty_min),
                "energy_penalty_max": fmt_cents(c.energy_penalty_max),
            })),
            Event::Alert(a) => alerts.push(alert_json(&a.to_pb())),
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
                   "direct": r.direct_tonnes, "indirect": r.indirect_tonnes, "verified": r.verified_tonnes,
                   "energy": r.energy_tce, "verified_energy": r.verified_energy_tce})
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
        "alerts": alerts,
        "supervision": supervision_json(state),
    })
}

/// An alert with exactly the keys RULEBOOK.md 14.4 lists for its kind
/// (the replay report's form, also what `carbon supervise alerts --json` prints).
pub fn alert_json(a: &pb::Alert) -> Value {
    use pb::alert::Kind;
    let mut v = match &a.kind {
        Some(Kind::RelatedTrade(t)) => {
            json!({"group": t.group, "instrument": t.instrument, "mode": t.mode, "price": t.price,
                   "qty": t.qty, "buyer": t.buyer, "seller": t.seller})
        }
        Some(Kind::PriceMove(p)) => {
            json!({"instrument": p.instrument, "reference": p.reference, "close": p.close})
        }
        Some(Kind::Concentration(c)) => {
            json!({"instrument": c.instrument, "account": c.account, "side": c.side, "qty": c.qty,
                   "volume": c.volume})
        }
        Some(Kind::CancelRatio(c)) => {
            json!({"instrument": c.instrument, "account": c.account, "placed": c.placed,
                   "cancelled": c.cancelled})
        }
        Some(Kind::LargeHolder(l)) => {
            json!({"account": l.account, "position": l.position, "threshold": l.threshold})
        }
        None => json!({}),
    };
    let m = v.as_object_mut().expect("built as an object");
    m.insert("date".into(), json!(a.date));
    m.insert("kind".into(), json!(crate::state::alert_kind_name(a)));
    v
}

/// REPLAY.md `supervision`: the limits in force, the halted instruments by
/// symbol, every group with its members in declared order.
fn supervision_json(state: &State) -> Value {
    let s = &state.supervision;
    json!({
        "limits": {"entity_extra": s.limits.entity_extra, "investor": s.limits.investor},
        "halted": s.halted.iter().collect::<Vec<_>>(),
        "groups": s.groups,
    })
}
