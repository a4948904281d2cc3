//! Unit and property tests of market supervision (RULEBOOK.md 14): the
//! position limits of 14.1, halts (14.2), groups (14.3), the alerts of
//! 14.4, and where their codes fall in the order of checks (12). Each test
//! sits at a rule's boundary, one off on each side.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::tests::{benchmark, compliance_market, confirm, status, Market};
use super::*;
use crate::command::Side;
use crate::num::{band_high, band_low};

const CLOSE: &str = r#"{"as":"OP","cmd":"close_day"}"#;
const EA: &str = "ZJEA-2025";
const EU: &str = "ZJEU-2025";
const DAY1: &str = "2026-03-02";
const DEFINE_EU: &str = r#"{"as":"OP","cmd":"define_instrument","symbol":"ZJEU-2025","reference_price":"20.00"}"#;

// ---------------------------------------------------------------- helpers

/// An `order` line on any instrument; `price: None` is a market order.
fn ord(actor: &str, id: &str, sym: &str, side: &str, tif: &str, price: Option<&str>, qty: i64) -> String {
    let (ty, p) = match price {
        Some(p) => ("limit", format!(r#","price":"{p}""#)),
        None => ("market", String::new()),
    };
    format!(
        r#"{{"as":"{actor}","cmd":"order","id":"{id}","instrument":"{sym}","side":"{side}","type":"{ty}","tif":"{tif}"{p},"qty":{qty}}}"#
    )
}

/// A `day` limit buy of ZJEA-2025.
fn buy(actor: &str, id: &str, price: &str, qty: i64) -> String {
    ord(actor, id, EA, "buy", "day", Some(price), qty)
}

/// A `day` limit sell of ZJEA-2025.
fn sell(actor: &str, id: &str, price: &str, qty: i64) -> String {
    ord(actor, id, EA, "sell", "day", Some(price), qty)
}

fn cancel(actor: &str, id: &str) -> String {
    format!(r#"{{"as":"{actor}","cmd":"cancel","id":"{id}"}}"#)
}

fn limits(entity_extra: i64, investor: i64) -> String {
    format!(r#"{{"as":"OP","cmd":"set_position_limits","entity_extra":{entity_extra},"investor":{investor}}}"#)
}

#[allow(clippy::too_many_arguments)]
fn propose(actor: &str, id: &str, sym: &str, side: &str, cp: &str, qty: i64, price: &str) -> String {
    format!(
        r#"{{"as":"{actor}","cmd":"block_propose","id":"{id}","instrument":"{sym}","side":"{side}","counterparty":"{cp}","qty":{qty},"price":"{price}"}}"#
    )
}

fn accept(actor: &str, proposer: &str, id: &str) -> String {
    format!(r#"{{"as":"{actor}","cmd":"block_accept","proposer":"{proposer}","id":"{id}"}}"#)
}

fn group(actor: &str, id: &str, members: &[&str]) -> String {
    let members: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        r#"{{"as":"{actor}","cmd":"declare_group","id":"{id}","members":[{}]}}"#,
        members.join(",")
    )
}

fn transfer(actor: &str, sym: &str, to: &str, qty: i64) -> String {
    format!(r#"{{"as":"{actor}","cmd":"transfer","instrument":"{sym}","to":"{to}","qty":{qty}}}"#)
}

fn grandfather(entity: &str, year: i64, baseline: i64) -> String {
    format!(
        r#"{{"as":"HZ-EEB","cmd":"allocate_grandfather","entity":"{entity}","year":{year},"baseline":{baseline},"decline":"0"}}"#
    )
}

/// An investor of NB with plenty of cash, created after the others (so
/// that its index does not follow the order of its id).
fn add_investor(m: &mut Market, id: &str, cash: &str) {
    m.ok(&format!(
        r#"{{"as":"NB-EEB","cmd":"create_account","id":"{id}","role":"investor"}}"#
    ));
    if cash != "0" {
        m.ok(&format!(
            r#"{{"as":"OP","cmd":"deposit","account":"{id}","amount":"{cash}"}}"#
        ));
    }
}

/// The alerts among an outcome's events, each checked to carry `date`.
fn alerts_on(a: &Applied, date: &str) -> Vec<AlertKind> {
    a.events
        .iter()
        .filter_map(|e| match e {
            Event::Alert(al) => {
                assert_eq!(al.date, date, "{al:?}");
                Some(al.kind.clone())
            }
            _ => None,
        })
        .collect()
}

/// Closes the first day and returns its alerts.
fn close_alerts(m: &mut Market) -> Vec<AlertKind> {
    alerts_on(&m.ok(CLOSE), DAY1)
}

fn price_move(reference: Ticks, close: Ticks) -> AlertKind {
    AlertKind::PriceMove {
        instrument: EA.into(),
        reference,
        close,
    }
}

fn concentration(sym: &str, account: &str, side: Side, qty: i64, volume: i64) -> AlertKind {
    AlertKind::Concentration {
        instrument: sym.into(),
        account: account.into(),
        side,
        qty,
        volume,
    }
}

fn cancel_ratio(sym: &str, account: &str, placed: i64, cancelled: i64) -> AlertKind {
    AlertKind::CancelRatio {
        instrument: sym.into(),
        account: account.into(),
        placed,
        cancelled,
    }
}

fn large_holder(account: &str, position: i64, threshold: i64) -> AlertKind {
    AlertKind::LargeHolder {
        account: account.into(),
        position,
        threshold,
    }
}

#[allow(clippy::too_many_arguments)]
fn trade(mode: TradeMode, price: Ticks, qty: i64, buyer: &str, buy_id: &str, seller: &str, sell_id: &str) -> Event {
    Event::Trade(Trade {
        date: DAY1.into(),
        mode,
        instrument: EA.into(),
        price,
        qty,
        buyer: buyer.into(),
        buy_id: buy_id.into(),
        seller: seller.into(),
        sell_id: sell_id.into(),
    })
}

fn related(group: &str, mode: TradeMode, price: Ticks, qty: i64, buyer: &str, seller: &str) -> Event {
    Event::Alert(Alert {
        date: DAY1.into(),
        kind: AlertKind::RelatedTrade {
            group: group.into(),
            instrument: EA.into(),
            mode,
            price,
            qty,
            buyer: buyer.into(),
            seller: seller.into(),
        },
    })
}

// ---------------------------------------------------------------- 14.4 price_move

/// A day whose listed trades are 100 t at each of `prices` (C sells, I
/// buys); the alerts of its close.
fn close_after_trades_at(prices: &[&str]) -> Vec<AlertKind> {
    let mut m = Market::trading();
    for (n, p) in prices.iter().enumerate() {
        m.ok(&sell("C", &format!("s{n}"), p, 100));
        m.ok(&buy("I", &format!("b{n}"), p, 100));
    }
    close_alerts(&mut m)
}

#[test]
fn price_move_at_exactly_five_percent_up() {
    // |60.90 - 58.00| * 20 = 58.00 >= 58.00.
    assert_eq!(close_after_trades_at(&["60.90"]), vec![price_move(5800, 6090)]);
}

#[test]
fn no_price_move_just_under_five_percent_up() {
    // |60.89 - 58.00| * 20 = 57.80 < 58.00.
    assert_eq!(close_after_trades_at(&["60.89"]), vec![]);
}

#[test]
fn price_move_at_exactly_five_percent_down() {
    assert_eq!(close_after_trades_at(&["55.10"]), vec![price_move(5800, 5510)]);
}

#[test]
fn no_price_move_just_under_five_percent_down() {
    assert_eq!(close_after_trades_at(&["55.11"]), vec![]);
}

#[test]
fn price_move_compares_the_close_as_rounded() {
    // 14.5.7: the VWAP 60.895 is 4.99% away, but the close rounds to 60.90.
    assert_eq!(close_after_trades_at(&["60.89", "60.90"]), vec![price_move(5800, 6090)]);
}

#[test]
fn price_move_is_measured_from_the_days_band_reference() {
    let mut m = Market::trading();
    m.ok(&sell("C", "s1", "60.00", 100));
    m.ok(&buy("I", "b1", "60.00", 100));
    assert_eq!(close_alerts(&mut m), vec![]); // 3.4% from 58.00
    m.ok(r#"{"as":"OP","cmd":"open_day","date":"2026-03-03"}"#);
    // 57.00 is 5% below the new reference 60.00 but under 2% from 58.00.
    m.ok(&sell("C", "s2", "57.00", 100));
    m.ok(&buy("I", "b2", "57.00", 100));
    assert_eq!(alerts_on(&m.ok(CLOSE), "2026-03-03"), vec![price_move(6000, 5700)]);
}

#[test]
fn no_price_move_without_listed_trades() {
    let mut m = Market::trading();
    // A block trade and an auction trade 20% and more above the reference.
    m.ok(&propose("C", "k1", EA, "sell", "I", 100_000, "70.00"));
    m.ok(&accept("I", "C", "k1"));
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":100}"#);
    m.ok(
        r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"ZJEA-2025","qty":100,"reserve_price":"70.00"}"#,
    );
    m.ok(r#"{"as":"I","cmd":"auction_bid","auction":"AU1","id":"x1","price":"75.00","qty":100}"#);
    let close = m.ok(CLOSE);
    assert_eq!(alerts_on(&close, DAY1), vec![]);
    assert_eq!(m.state.instruments[EA].reference, 5800);
}

// ---------------------------------------------------------------- 14.4 concentration

/// C offers `volume` t at 58.00 and each `(buyer, qty)` takes its part.
fn close_after_purchases(volume: i64, purchases: &[(&str, i64)]) -> Vec<AlertKind> {
    let mut m = Market::trading();
    m.ok(&sell("C", "s", "58.00", volume));
    for (n, (who, qty)) in purchases.iter().enumerate() {
        m.ok(&buy(who, &format!("b{n}"), "58.00", *qty));
    }
    close_alerts(&mut m)
}

#[test]
fn no_concentration_for_exactly_half_the_volume() {
    assert_eq!(
        close_after_purchases(1000, &[("A", 500), ("B", 500)]),
        vec![concentration(EA, "C", Side::Sell, 1000, 1000)]
    );
}

#[test]
fn concentration_for_one_tonne_more_than_half_the_volume() {
    assert_eq!(
        close_after_purchases(1000, &[("A", 501), ("B", 499)]),
        vec![
            concentration(EA, "A", Side::Buy, 501, 1000),
            concentration(EA, "C", Side::Sell, 1000, 1000)
        ]
    );
}

#[test]
fn no_concentration_below_1000_tonnes_of_volume() {
    assert_eq!(close_after_purchases(999, &[("A", 999)]), vec![]);
}

#[test]
fn concentration_from_1000_tonnes_of_volume() {
    assert_eq!(
        close_after_purchases(1000, &[("A", 1000)]),
        vec![
            concentration(EA, "A", Side::Buy, 1000, 1000),
            concentration(EA, "C", Side::Sell, 1000, 1000)
        ]
    );
}

#[test]
fn concentration_by_symbol_then_buyers_before_sellers() {
    let mut m = Market::trading();
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"CCER","to":"A","qty":1000}"#);
    // ZJEA-2025 trades first, CCER second; the seller A sorts before the buyer I.
    m.ok(&sell("A", "s1", "58.00", 1000));
    m.ok(&buy("I", "b1", "58.00", 1000));
    m.ok(&ord("A", "s2", "CCER", "sell", "day", Some("40.00"), 1000));
    m.ok(&ord("I", "b2", "CCER", "buy", "day", Some("40.00"), 1000));
    assert_eq!(
        close_alerts(&mut m),
        vec![
            concentration("CCER", "I", Side::Buy, 1000, 1000),
            concentration("CCER", "A", Side::Sell, 1000, 1000),
            concentration(EA, "I", Side::Buy, 1000, 1000),
            concentration(EA, "A", Side::Sell, 1000, 1000),
        ]
    );
}

#[test]
fn concentration_counts_listed_trades_only() {
    let mut m = Market::trading();
    m.ok(&sell("C", "s", "58.00", 1000));
    m.ok(&buy("B", "b1", "58.00", 600));
    m.ok(&buy("I", "b2", "58.00", 400));
    // A block purchase of 100,000 t by I is neither volume nor purchases.
    m.ok(&propose("C", "k1", EA, "sell", "I", 100_000, "58.00"));
    m.ok(&accept("I", "C", "k1"));
    assert_eq!(
        close_alerts(&mut m),
        vec![
            concentration(EA, "B", Side::Buy, 600, 1000),
            concentration(EA, "C", Side::Sell, 1000, 1000)
        ]
    );
}

// ---------------------------------------------------------------- 14.4 cancel_ratio

/// `who` places `placed` resting buys of 1 t at `low` on `sym` (ids
/// `<prefix>0`, ...) and cancels the first `cancelled` of them itself.
fn churn(m: &mut Market, who: &str, sym: &str, low: &str, prefix: &str, placed: usize, cancelled: usize) {
    for n in 0..placed {
        let r = m.ok(&ord(who, &format!("{prefix}{n}"), sym, "buy", "day", Some(low), 1));
        assert_eq!(status(&r), (OrderStatus::Resting, 0));
    }
    for n in 0..cancelled {
        m.ok(&cancel(who, &format!("{prefix}{n}")));
    }
}

#[test]
fn cancel_ratio_at_exactly_80_percent() {
    let mut m = Market::trading();
    churn(&mut m, "A", EA, "52.20", "o", 10, 8);
    assert_eq!(close_alerts(&mut m), vec![cancel_ratio(EA, "A", 10, 8)]);
}

#[test]
fn no_cancel_ratio_just_under_80_percent() {
    let mut m = Market::trading();
    churn(&mut m, "A", EA, "52.20", "o", 10, 7);
    assert_eq!(close_alerts(&mut m), vec![]);
}

#[test]
fn no_cancel_ratio_below_10_orders_placed() {
    let mut m = Market::trading();
    churn(&mut m, "A", EA, "52.20", "o", 9, 9);
    assert_eq!(close_alerts(&mut m), vec![]);
}

#[test]
fn cancel_ratio_ignores_operator_cancels_freezes_and_expiry() {
    let mut m = Market::trading();
    churn(&mut m, "A", EA, "52.20", "o", 10, 7);
    m.ok(r#"{"as":"OP","cmd":"cancel","account":"A","id":"o7"}"#);
    churn(&mut m, "B", EA, "52.20", "o", 10, 7);
    m.ok(r#"{"as":"HZ-EEB","cmd":"freeze","account":"B"}"#); // cancels o7..o9
    churn(&mut m, "I", EA, "52.20", "o", 10, 7); // o7..o9 expire at the close
    assert_eq!(close_alerts(&mut m), vec![]);
}

#[test]
fn cancel_ratio_ignores_self_trade_prevention() {
    let mut m = Market::trading();
    m.ok(&sell("A", "s", "63.80", 1));
    churn(&mut m, "A", EA, "52.20", "o", 7, 7);
    for id in ["x1", "x2"] {
        // Each meets A's own sell first: its remainder is cancelled at once.
        assert_eq!(status(&m.ok(&buy("A", id, "63.80", 1))), (OrderStatus::Cancelled, 0));
    }
    // placed 10 (s, o0..o6, x1, x2), cancelled 7.
    assert_eq!(close_alerts(&mut m), vec![]);
}

#[test]
fn a_refused_cancel_does_not_count_toward_the_cancel_ratio() {
    let mut m = Market::trading();
    m.ok(&buy("B", "theirs", "52.20", 1));
    churn(&mut m, "A", EA, "52.20", "o", 10, 7);
    m.err(&cancel("A", "o0"), Code::UnknownOrder); // already cancelled
    m.err(&cancel("A", "never"), Code::UnknownOrder);
    m.err(&cancel("A", "theirs"), Code::UnknownOrder);
    assert_eq!(close_alerts(&mut m), vec![]);
}

#[test]
fn a_refused_order_is_not_placed() {
    let mut m = Market::trading();
    churn(&mut m, "A", EA, "52.20", "o", 8, 8);
    m.err(&buy("A", "o0", "52.20", 1), Code::DuplicateId);
    m.err(&buy("A", "z", "52.19", 1), Code::PriceOutOfBand);
    assert_eq!(close_alerts(&mut m), vec![]);
}

#[test]
fn placed_counts_filled_and_unfilled_fok_orders() {
    let mut m = Market::trading();
    churn(&mut m, "A", EA, "52.20", "o", 8, 8);
    m.ok(&sell("C", "s", "58.00", 1));
    assert_eq!(
        status(&m.ok(&ord("A", "f", EA, "buy", "ioc", Some("58.00"), 1))),
        (OrderStatus::Filled, 1)
    );
    assert_eq!(
        status(&m.ok(&ord("A", "k", EA, "buy", "fok", Some("52.20"), 5))),
        (OrderStatus::Cancelled, 0)
    );
    assert_eq!(close_alerts(&mut m), vec![cancel_ratio(EA, "A", 10, 8)]);
}

#[test]
fn cancel_ratio_is_per_instrument_and_account_by_symbol_then_account_id() {
    let mut m = Market::trading();
    m.ok(DEFINE_EU);
    add_investor(&mut m, "AAA", "1000000.00");
    churn(&mut m, "I", EU, "18.00", "u", 10, 8);
    churn(&mut m, "AAA", EU, "18.00", "u", 10, 8);
    churn(&mut m, "I", EA, "52.20", "a", 10, 8);
    churn(&mut m, "AAA", EA, "52.20", "a", 10, 9);
    // 5 placed and 4 cancelled on each instrument: 10 and 8 only together.
    churn(&mut m, "A", EA, "52.20", "a", 5, 4);
    churn(&mut m, "A", EU, "18.00", "u", 5, 4);
    assert_eq!(
        close_alerts(&mut m),
        vec![
            cancel_ratio(EA, "AAA", 10, 9),
            cancel_ratio(EA, "I", 10, 8),
            cancel_ratio(EU, "AAA", 10, 8),
            cancel_ratio(EU, "I", 10, 8),
        ]
    );
}

// ---------------------------------------------------------------- 14.4 large_holder

#[test]
fn large_holder_above_the_investor_threshold_only() {
    let mut m = Market::trading();
    add_investor(&mut m, "AAA", "0");
    add_investor(&mut m, "BBB", "0");
    // investor 2001: threshold floor(2001 / 2) = 1000.
    m.ok(&limits(1_000_000, 2001));
    m.ok(&transfer("C", EA, "I", 1001));
    m.ok(&transfer("C", EA, "AAA", 1001));
    m.ok(&transfer("C", EA, "BBB", 1000));
    // Regulators hold allowances but have no threshold.
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":5000}"#);
    // Energy-use rights and offsets are not positions.
    m.ok(DEFINE_EU);
    m.ok(r#"{"as":"NB-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"C","qty":5000}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"CCER","to":"C","qty":5000}"#);
    m.ok(&transfer("C", EU, "BBB", 5000));
    m.ok(&transfer("C", "CCER", "BBB", 5000));
    assert_eq!(
        close_alerts(&mut m),
        vec![large_holder("AAA", 1001, 1000), large_holder("I", 1001, 1000)]
    );
}

#[test]
fn large_holder_entity_threshold_is_quota_plus_half_the_extra() {
    let mut m = Market::trading();
    // entity_extra 2001: threshold quota + 1000.
    m.ok(&limits(2001, 1_000_000_000_000));
    m.ok(&grandfather("A", 2025, 500)); // quota 500, position 1500
    m.ok(&grandfather("B", 2025, 500));
    m.ok(&transfer("C", EA, "B", 1)); // B: 1501
    m.ok(r#"{"as":"NB-EEB","cmd":"freeze","account":"C"}"#); // frozen accounts count too
    assert_eq!(
        close_alerts(&mut m),
        vec![large_holder("B", 1501, 1500), large_holder("C", 299_999, 1000)]
    );
}

#[test]
fn large_holder_quota_is_that_of_the_highest_allocation_year() {
    let mut m = compliance_market();
    // 2026 allocated first, 2025 last: the quota is 2026's.
    m.ok(&grandfather("A", 2026, 100));
    m.ok(&grandfather("A", 2025, 5000));
    assert_eq!(m.state.quota("A"), 100);
    m.ok(&limits(2000, 1_000_000));
    // A holds 1000 + 5000 of ZJEA-2025 and 100 of ZJEA-2026.
    assert_eq!(
        close_alerts(&mut m),
        vec![large_holder("A", 6100, 1100), large_holder("C", 300_000, 1000)]
    );
}

// ---------------------------------------------------------------- 14.4 related_trade

#[test]
fn related_trade_right_after_each_listed_trade_between_members() {
    let mut m = Market::trading();
    m.ok(&group("HZ-EEB", "G1", &["A", "B"]));
    m.ok(&sell("A", "s1", "58.00", 100));
    m.ok(&sell("C", "s2", "58.05", 100));
    m.ok(&sell("A", "s3", "58.10", 100));
    // One order filling against two related orders raises two alerts.
    let r = m.ok(&buy("B", "b1", "58.20", 300));
    assert_eq!(
        r.events,
        vec![
            trade(TradeMode::Listed, 5800, 100, "B", "b1", "A", "s1"),
            related("G1", TradeMode::Listed, 5800, 100, "B", "A"),
            trade(TradeMode::Listed, 5805, 100, "B", "b1", "C", "s2"),
            trade(TradeMode::Listed, 5810, 100, "B", "b1", "A", "s3"),
            related("G1", TradeMode::Listed, 5810, 100, "B", "A"),
        ]
    );
    // A resting buy of a member met by another member's sell.
    m.ok(&buy("B", "b2", "57.00", 50));
    let r = m.ok(&sell("A", "s4", "57.00", 50));
    assert_eq!(
        r.events,
        vec![
            trade(TradeMode::Listed, 5700, 50, "B", "b2", "A", "s4"),
            related("G1", TradeMode::Listed, 5700, 50, "B", "A"),
        ]
    );
}

#[test]
fn related_trade_right_after_each_block_trade_between_members() {
    let mut m = Market::trading();
    m.ok(&group("ZJ-DEE", "G2", &["C", "I"]));
    m.ok(&propose("C", "k1", EA, "sell", "I", 100_000, "60.00"));
    assert_eq!(
        m.ok(&accept("I", "C", "k1")).events,
        vec![
            trade(TradeMode::Block, 6000, 100_000, "I", "k1", "C", "k1"),
            related("G2", TradeMode::Block, 6000, 100_000, "I", "C"),
        ]
    );
    m.ok(&propose("I", "k2", EA, "buy", "C", 100_000, "59.00"));
    assert_eq!(
        m.ok(&accept("C", "I", "k2")).events,
        vec![
            trade(TradeMode::Block, 5900, 100_000, "I", "k2", "C", "k2"),
            related("G2", TradeMode::Block, 5900, 100_000, "I", "C"),
        ]
    );
}

#[test]
fn no_related_trade_across_groups_with_outsiders_or_in_auctions() {
    let mut m = Market::trading();
    add_investor(&mut m, "AAA", "1000000.00");
    m.ok(&group("HZ-EEB", "G1", &["A", "B"]));
    m.ok(&group("ZJ-DEE", "G2", &["C", "I"]));
    m.ok(&sell("A", "s1", "58.00", 10));
    assert_eq!(
        m.ok(&buy("C", "b1", "58.00", 10)).events,
        vec![trade(TradeMode::Listed, 5800, 10, "C", "b1", "A", "s1")]
    );
    m.ok(&sell("B", "s2", "58.00", 10));
    assert_eq!(
        m.ok(&buy("AAA", "b2", "58.00", 10)).events,
        vec![trade(TradeMode::Listed, 5800, 10, "AAA", "b2", "B", "s2")]
    );
    // Auction trades: members of one group both win; no alert.
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":100}"#);
    m.ok(
        r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"ZJEA-2025","qty":100,"reserve_price":"50.00"}"#,
    );
    m.ok(r#"{"as":"A","cmd":"auction_bid","auction":"AU1","id":"x","price":"50.00","qty":50}"#);
    m.ok(r#"{"as":"B","cmd":"auction_bid","auction":"AU1","id":"x","price":"50.00","qty":50}"#);
    let r = m.ok(r#"{"as":"OP","cmd":"auction_close","auction":"AU1"}"#);
    assert_eq!(r.events.len(), 2);
    assert!(r
        .events
        .iter()
        .all(|e| matches!(e, Event::Trade(t) if t.mode == TradeMode::Auction)));
}

// ---------------------------------------------------------------- 14.1 position limits

#[test]
fn buy_order_up_to_the_position_limit_accepted_one_above_refused() {
    let mut m = Market::trading();
    m.ok(&limits(1_000_000, 1000));
    m.ok(&buy("I", "b1", "52.20", 600));
    m.ok(&buy("I", "b2", "52.20", 400)); // 600 + 400 = 1000
    m.err(&buy("I", "b3", "52.20", 1), Code::PositionLimitExceeded);
    assert_eq!(m.state.exposure(m.state.by_id["I"]), 1000);
}

#[test]
fn a_market_order_counts_its_whole_quantity() {
    let mut m = Market::trading();
    m.ok(&limits(1_000_000, 1000));
    m.ok(&sell("C", "s", "58.00", 100));
    // Only 100 can fill, but the whole 1001 counts.
    m.err(
        &ord("I", "m1", EA, "buy", "ioc", None, 1001),
        Code::PositionLimitExceeded,
    );
    assert_eq!(
        status(&m.ok(&ord("I", "m1", EA, "buy", "ioc", None, 1000))),
        (OrderStatus::Cancelled, 100)
    );
    // Position 100 (pending): 100 + 901 > 1000.
    m.err(
        &ord("I", "m2", EA, "buy", "fok", None, 901),
        Code::PositionLimitExceeded,
    );
    m.ok(&ord("I", "m2", EA, "buy", "fok", None, 900));
}

#[test]
fn exposure_counts_resting_buys_own_buy_proposals_and_auction_bids() {
    let mut m = Market::trading();
    m.ok(&limits(1_000_000, 200_000));
    m.ok(&propose("I", "k1", EA, "buy", "C", 100_000, "58.00"));
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":1000}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"ZJEA-2025","qty":1000,"reserve_price":"50.00"}"#);
    m.ok(r#"{"as":"I","cmd":"auction_bid","auction":"AU1","id":"x1","price":"50.00","qty":600}"#);
    m.ok(&buy("I", "b1", "52.20", 99_399)); // 100000 + 600 + 99399 = 199999
    m.err(&buy("I", "b2", "52.20", 2), Code::PositionLimitExceeded);
    m.ok(&buy("I", "b2", "52.20", 1)); // 200000
    m.err(
        r#"{"as":"I","cmd":"auction_bid","auction":"AU1","id":"x2","price":"50.00","qty":1}"#,
        Code::PositionLimitExceeded,
    );
    // A fill moves a resting buy's tonnes into the position: no room appears.
    m.ok(&sell("C", "s1", "52.20", 1));
    m.err(&buy("I", "b3", "52.20", 1), Code::PositionLimitExceeded);
    // Cancelling frees its tonnes.
    m.ok(&cancel("I", "b1"));
    m.ok(&buy("I", "b3", "52.20", 99_398));
    m.err(&buy("I", "b4", "52.20", 1), Code::PositionLimitExceeded);
}

#[test]
fn a_sell_proposal_naming_the_account_is_not_its_exposure_until_accepted() {
    let mut m = Market::trading();
    m.ok(&limits(1_000_000, 100_000));
    m.ok(&propose("C", "k1", EA, "sell", "I", 100_000, "58.00"));
    m.ok(&buy("I", "b1", "52.20", 99_999)); // the proposal is not I's exposure
                                            // Accepting it is I's purchase, checked on I: 99999 + 100000 > 100000.
    m.err(&accept("I", "C", "k1"), Code::PositionLimitExceeded);
    m.ok(&cancel("I", "b1"));
    m.ok(&accept("I", "C", "k1")); // 0 + 100000 = 100000
    assert_eq!(m.holding("I", EA), (0, 0, 100_000));
}

#[test]
fn a_buy_proposal_is_checked_when_made_and_not_on_accept() {
    let mut m = Market::trading();
    m.ok(&limits(1_000_000, 100_000));
    m.err(
        &propose("I", "k1", EA, "buy", "C", 100_001, "58.00"),
        Code::PositionLimitExceeded,
    );
    m.ok(&propose("I", "k1", EA, "buy", "C", 100_000, "58.00"));
    m.ok(&limits(1_000_000, 0));
    // C accepts: I's buy is not checked again, and C's sale is not limited.
    m.ok(&accept("C", "I", "k1"));
    assert_eq!(m.holding("I", EA), (0, 0, 100_000));
    m.err(&buy("I", "b1", "52.20", 1), Code::PositionLimitExceeded);
}

#[test]
fn an_auction_bid_beyond_the_limit_is_refused() {
    let mut m = Market::trading();
    m.ok(&limits(1_000_000, 1000));
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":5000}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"ZJEA-2025","qty":5000,"reserve_price":"50.00"}"#);
    m.err(
        r#"{"as":"I","cmd":"auction_bid","auction":"AU1","id":"x1","price":"50.00","qty":1001}"#,
        Code::PositionLimitExceeded,
    );
    m.ok(r#"{"as":"I","cmd":"auction_bid","auction":"AU1","id":"x1","price":"50.00","qty":1000}"#);
}

#[test]
fn sales_transfers_and_issues_are_never_limited() {
    let mut m = Market::trading();
    m.ok(&limits(0, 1000)); // entities with no quota: limit 0
    m.ok(&sell("A", "s1", "58.00", 100)); // A (1000 > 0) may still sell
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"A","qty":500}"#);
    m.ok(&transfer("A", EA, "I", 600));
    m.ok(&transfer("C", EA, "I", 1000)); // I: 1600 > 1000
                                         // A seller over its limit accepts a buy proposal.
    m.ok(&limits(0, 1_000_000));
    m.ok(&propose("I", "k1", EA, "buy", "C", 100_000, "58.00"));
    m.ok(&limits(0, 1000));
    m.ok(&accept("C", "I", "k1"));
    m.ok(r#"{"as":"OP","cmd":"close_day"}"#);
    m.ok(r#"{"as":"OP","cmd":"open_day","date":"2026-03-03"}"#);
    m.ok(&transfer("I", EA, "C", 100_000)); // I: 1600 again
    m.err(&buy("I", "b1", "52.20", 1), Code::PositionLimitExceeded);
    m.ok(&sell("I", "s2", "63.80", 500)); // locked still counts: 1600
    m.err(&buy("I", "b1", "52.20", 1), Code::PositionLimitExceeded);
    m.ok(&transfer("I", EA, "C", 600)); // 1000: 1000 + 1 > 1000
    m.err(&buy("I", "b1", "52.20", 1), Code::PositionLimitExceeded);
    m.ok(&transfer("I", EA, "C", 1)); // 999
    m.ok(&buy("I", "b1", "52.20", 1));
}

#[test]
fn energy_rights_and_offsets_are_never_limited() {
    let mut m = Market::trading();
    m.ok(DEFINE_EU);
    m.ok(&limits(0, 0));
    m.ok(r#"{"as":"NB-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"C","qty":300000}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"CCER","to":"C","qty":1000}"#);
    m.ok(&ord("C", "s1", EU, "sell", "day", Some("20.00"), 1000));
    m.ok(&ord("C", "s2", "CCER", "sell", "day", Some("40.00"), 1000));
    assert_eq!(
        status(&m.ok(&ord("I", "b1", EU, "buy", "day", Some("20.00"), 1000))),
        (OrderStatus::Filled, 1000)
    );
    assert_eq!(
        status(&m.ok(&ord("I", "b2", "CCER", "buy", "day", Some("40.00"), 1000))),
        (OrderStatus::Filled, 1000)
    );
    m.ok(&ord("I", "b3", EU, "buy", "day", Some("18.00"), 99_999));
    m.ok(&propose("I", "k1", EU, "buy", "C", 100_000, "20.00"));
    m.ok(&propose("C", "k2", EU, "sell", "I", 100_000, "20.00"));
    m.ok(&accept("I", "C", "k2"));
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"CCER","to":"ZJ-DEE","qty":100}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"CCER","qty":100,"reserve_price":"30.00"}"#);
    m.ok(r#"{"as":"I","cmd":"auction_bid","auction":"AU1","id":"x1","price":"30.00","qty":100}"#);
    // None of it is a position: with an investor limit of 1, I buys 1 ZJEA.
    m.err(&buy("I", "e1", "52.20", 1), Code::PositionLimitExceeded);
    m.ok(&limits(0, 1));
    m.ok(&buy("I", "e1", "52.20", 1));
    m.err(&buy("I", "e2", "52.20", 1), Code::PositionLimitExceeded);
}

#[test]
fn a_new_limit_binds_from_the_next_command_and_cancels_nothing() {
    let mut m = Market::trading();
    m.ok(&limits(1_000_000, 1000));
    m.ok(&buy("I", "b1", "52.20", 1000));
    m.ok(&limits(1_000_000, 500));
    // The resting buy stays, with its lock.
    assert!(m.state.account("I").unwrap().open_orders.contains_key("b1"));
    assert_eq!(m.cash("I").1, 1000 * 5220);
    m.err(&buy("I", "b2", "52.20", 1), Code::PositionLimitExceeded);
    // and still fills: I's position passes its limit through it.
    m.ok(&sell("C", "s1", "52.20", 1000));
    assert_eq!(m.holding("I", EA), (0, 0, 1000));
    m.ok(&limits(1_000_000, 1002));
    m.ok(&buy("I", "b2", "52.20", 1)); // 1001
    m.err(&buy("I", "b3", "52.20", 2), Code::PositionLimitExceeded);
    m.ok(&buy("I", "b3", "52.20", 1));
}

#[test]
fn entity_limit_is_quota_plus_extra() {
    let mut m = Market::trading();
    m.ok(&grandfather("A", 2025, 500)); // quota 500, position 1500
    m.ok(&limits(1000, 1_000_000)); // limit 1500
    m.err(&buy("A", "b1", "52.20", 1), Code::PositionLimitExceeded);
    m.ok(&limits(1001, 1_000_000));
    m.ok(&buy("A", "b1", "52.20", 1));
    m.err(&buy("A", "b2", "52.20", 1), Code::PositionLimitExceeded);
}

#[test]
fn entity_quota_is_from_the_highest_allocation_year() {
    let mut m = compliance_market();
    m.ok(&grandfather("A", 2026, 100));
    m.ok(&grandfather("A", 2025, 5000));
    // Position 1000 + 5000 + 100 = 6100; limit 100 + 6001 = 6101.
    m.ok(&limits(6001, 1_000_000));
    m.ok(&buy("A", "b1", "52.20", 1));
    m.err(&buy("A", "b2", "52.20", 1), Code::PositionLimitExceeded);
}

#[test]
fn entity_quota_may_be_negative() {
    let mut m = compliance_market();
    m.ok(r#"{"as":"OP","cmd":"define_instrument","symbol":"ZJEA-2024","reference_price":"50.00"}"#);
    // 2024: A short by 5000, deducted from its next allocations.
    m.ok(r#"{"as":"A","cmd":"submit_report","year":2024,"factor_set":"FS","fuels":[],"electricity_mwh":"0","power_mwh":"0","heat_gj":"0"}"#);
    m.ok(r#"{"as":"V","cmd":"verify_report","entity":"A","year":2024,"verified_emissions":5000}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"confirm_report","entity":"A","year":2024}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2024}"#);
    // 2025: the pre-allocation of 2302 is deducted in full (issued 0); the
    // final of 329 claws back 1000 of the 1973 over-allocated.
    m.ok(&benchmark("A", "pre"));
    confirm(&mut m, "A", 1);
    m.ok(r#"{"as":"HZ-EEB","cmd":"allocate_benchmark","entity":"A","year":2025,"phase":"final","units":[{"fuel":"gas","power_mwh":"1000","heat_gj":"0","power_benchmark":"0.3288","heat_benchmark":"0","load_factor":"1"}]}"#);
    let a = &m.state.allocations[&("A".to_string(), 2025)];
    assert_eq!((a.issued, a.deducted, a.clawed_back), (0, 2302, 1000));
    assert_eq!(m.state.quota("A"), -1000);
    assert_eq!(m.holding("A", EA), (0, 0, 0));
    m.ok(&limits(1300, 1_000_000)); // limit -1000 + 1300 = 300
    m.err(&buy("A", "b1", "58.00", 301), Code::PositionLimitExceeded);
    m.ok(&buy("A", "b1", "58.00", 300));
    m.ok(&sell("C", "s1", "58.00", 300));
    // Threshold -1000 + 650 = -350.
    assert_eq!(
        close_alerts(&mut m),
        vec![
            large_holder("A", 300, -350),
            large_holder("B", 1000, 650),
            large_holder("C", 299_700, 650)
        ]
    );
}

// ---------------------------------------------------------------- 12 and 14.2: order of checks, halts

fn halt(actor: &str, sym: &str) -> String {
    format!(r#"{{"as":"{actor}","cmd":"halt","instrument":"{sym}"}}"#)
}

fn resume(actor: &str, sym: &str) -> String {
    format!(r#"{{"as":"{actor}","cmd":"resume","instrument":"{sym}"}}"#)
}

#[test]
fn market_closed_before_market_halted_and_a_halt_lasts_across_days() {
    let mut m = Market::trading();
    m.ok(&halt("OP", EA));
    m.ok(CLOSE);
    m.err(&buy("A", "b1", "58.00", 1), Code::MarketClosed);
    m.err(
        &propose("C", "k1", EA, "sell", "I", 100_000, "58.00"),
        Code::MarketClosed,
    );
    m.ok(r#"{"as":"OP","cmd":"open_day","date":"2026-03-03"}"#);
    m.err(&buy("A", "b1", "58.00", 1), Code::MarketHalted);
    m.ok(&resume("ZJ-DEE", EA));
    m.ok(&buy("A", "b1", "58.00", 1));
}

#[test]
fn a_halted_instrument_refuses_orders_of_every_kind_and_proposals() {
    let mut m = Market::trading();
    m.ok(&sell("A", "used", "63.80", 1));
    m.ok(&halt("ZJ-DEE", EA));
    for line in [
        buy("A", "b1", "58.00", 1),
        sell("A", "s1", "58.00", 1),
        ord("A", "m1", EA, "buy", "ioc", None, 1),
        ord("A", "m2", EA, "sell", "fok", None, 1),
        propose("C", "k1", EA, "sell", "I", 100_000, "58.00"),
        propose("I", "k2", EA, "buy", "C", 100_000, "58.00"),
        // Right after MARKET_CLOSED: before every field value and uniqueness check.
        buy("A", "b1", "58.00", 0),
        buy("A", "b1", "99.00", 1),
        sell("A", "used", "58.00", 1),
        sell("A", "s1", "58.00", 5000),
        propose("C", "k1", EA, "sell", "I", 1, "58.00"),
    ] {
        m.err(&line, Code::MarketHalted);
    }
    // ...and after the look-ups and the freeze.
    m.err(
        &propose("C", "k1", EA, "sell", "NOBODY", 100_000, "58.00"),
        Code::UnknownAccount,
    );
    m.ok(r#"{"as":"HZ-EEB","cmd":"freeze","account":"B"}"#);
    m.err(&buy("B", "b1", "58.00", 1), Code::AccountFrozen);
    // Other instruments trade on.
    m.ok(DEFINE_EU);
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"A","qty":10}"#);
    m.ok(&ord("A", "e1", EU, "sell", "day", Some("20.00"), 10));
}

#[test]
fn block_accept_is_halted_by_the_proposals_instrument() {
    let mut m = Market::trading();
    m.ok(DEFINE_EU);
    m.ok(r#"{"as":"NB-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"C","qty":100000}"#);
    m.ok(&propose("C", "k1", EA, "sell", "I", 100_000, "58.00"));
    m.ok(&propose("C", "k2", EU, "sell", "I", 100_000, "20.00"));
    m.ok(&halt("OP", EA));
    m.err(&accept("I", "C", "k1"), Code::MarketHalted);
    m.ok(&accept("I", "C", "k2"));
    m.ok(&resume("OP", EA));
    m.ok(&accept("I", "C", "k1"));
}

#[test]
fn auctions_are_not_halted() {
    let mut m = Market::trading();
    m.ok(&halt("OP", EA));
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":100}"#);
    m.ok(
        r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"ZJEA-2025","qty":100,"reserve_price":"50.00"}"#,
    );
    m.ok(r#"{"as":"I","cmd":"auction_bid","auction":"AU1","id":"x1","price":"50.00","qty":100}"#);
    let r = m.ok(r#"{"as":"ZJ-DEE","cmd":"auction_close","auction":"AU1"}"#);
    assert_eq!(r.events.len(), 1);
    assert_eq!(m.holding("I", EA), (0, 0, 100));
}

#[test]
fn a_halted_book_can_be_cancelled_and_expires_at_the_close() {
    let mut m = Market::trading();
    m.ok(&sell("A", "s1", "58.00", 100));
    m.ok(&sell("A", "s2", "58.00", 100));
    m.ok(&propose("I", "k1", EA, "buy", "C", 100_000, "58.00"));
    m.ok(&halt("OP", EA));
    m.ok(&cancel("A", "s1"));
    m.ok(r#"{"as":"OP","cmd":"cancel","account":"A","id":"s2"}"#);
    m.ok(r#"{"as":"I","cmd":"block_cancel","id":"k1"}"#);
    assert_eq!(m.holding("A", EA), (1000, 0, 0));
    assert_eq!(m.cash("I"), (10_000_000_000, 0));
    m.ok(&resume("OP", EA));
    m.ok(&buy("B", "b1", "52.20", 100));
    m.ok(&halt("OP", EA));
    m.ok(CLOSE);
    assert!(m.state.account("B").unwrap().open_orders.is_empty());
    assert_eq!(m.cash("B"), (10_000_000, 0));
    assert!(m.state.supervision.halted.contains(EA));
}

#[test]
fn halt_and_resume_are_idempotent_and_need_no_open_day() {
    let mut m = Market::trading();
    m.ok(CLOSE);
    m.ok(&resume("OP", EA)); // not halted: accepted, changes nothing
    assert!(m.state.supervision.halted.is_empty());
    m.ok(&halt("OP", EA));
    m.ok(&halt("ZJ-DEE", EA)); // halted already
    assert_eq!(m.state.supervision.halted.iter().collect::<Vec<_>>(), vec![EA]);
    m.ok(&resume("ZJ-DEE", EA));
    assert!(m.state.supervision.halted.is_empty());
    m.ok(&resume("OP", EA));
    assert!(m.state.supervision.halted.is_empty());
}

#[test]
fn halt_and_resume_check_the_role_before_the_instrument() {
    let mut m = Market::trading();
    for cmd in [halt as fn(&str, &str) -> String, resume] {
        m.err(&cmd("A", "ZJEA-2099"), Code::NotPermitted);
        m.err(&cmd("HZ-EEB", "nonsense"), Code::NotPermitted);
        m.err(&cmd("OP", "ZJEA-2099"), Code::UnknownInstrument);
        // Not pattern-checked: an unknown name is UNKNOWN_INSTRUMENT.
        m.err(&cmd("ZJ-DEE", "nonsense"), Code::UnknownInstrument);
    }
    m.err(r#"{"as":"OP","cmd":"halt"}"#, Code::Malformed);
}

#[test]
fn insufficient_funds_comes_before_position_limit_exceeded() {
    let mut m = Market::trading();
    add_investor(&mut m, "AAA", "0");
    m.ok(&limits(0, 0));
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":100}"#);
    m.ok(
        r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"ZJEA-2025","qty":100,"reserve_price":"50.00"}"#,
    );
    m.ok(&propose("C", "k1", EA, "sell", "AAA", 100_000, "58.00"));
    let bid = r#"{"as":"AAA","cmd":"auction_bid","auction":"AU1","id":"x1","price":"52.20","qty":1}"#;
    let lines = [
        buy("AAA", "b1", "52.20", 1),
        bid.to_string(),
        propose("AAA", "k2", EA, "buy", "C", 100_000, "58.00"),
        accept("AAA", "C", "k1"),
    ];
    for l in &lines {
        m.err(l, Code::InsufficientFunds);
    }
    m.ok(r#"{"as":"OP","cmd":"deposit","account":"AAA","amount":"52.19"}"#);
    m.err(&lines[0], Code::InsufficientFunds);
    m.err(&lines[1], Code::InsufficientFunds);
    m.ok(r#"{"as":"OP","cmd":"deposit","account":"AAA","amount":"0.01"}"#);
    m.err(&lines[0], Code::PositionLimitExceeded);
    m.err(&lines[1], Code::PositionLimitExceeded);
    m.err(&lines[2], Code::InsufficientFunds);
    m.ok(r#"{"as":"OP","cmd":"deposit","account":"AAA","amount":"5799947.80"}"#); // 5,800,000.00 in all
    m.err(&lines[2], Code::PositionLimitExceeded);
    m.err(&lines[3], Code::PositionLimitExceeded);
}

// ---------------------------------------------------------------- 14.3 groups

#[test]
fn declare_group_checks_each_member_in_full_in_list_order() {
    let mut m = Market::trading();
    // An earlier unknown member before a later foreign one, and vice versa.
    m.err(&group("HZ-EEB", "G", &["NOBODY", "C"]), Code::UnknownAccount);
    m.err(&group("HZ-EEB", "G", &["C", "NOBODY"]), Code::NotPermitted);
    m.err(&group("HZ-EEB", "G", &["A", "NOBODY"]), Code::UnknownAccount);
    // Entities and investors only.
    m.err(&group("HZ-EEB", "G", &["A", "V"]), Code::NotPermitted);
    m.err(&group("ZJ-DEE", "G", &["A", "HZ-EEB"]), Code::NotPermitted);
    m.err(&group("ZJ-DEE", "G", &["OP", "A"]), Code::NotPermitted);
    // The actor is a regulator before any member is looked up.
    m.err(&group("A", "G", &["NOBODY", "B"]), Code::NotPermitted);
    m.err(&group("OP", "G", &["NOBODY", "B"]), Code::NotPermitted);
    assert!(m.state.supervision.groups.is_empty());
}

#[test]
fn declare_group_members_then_duplicate_id_then_group_conflict() {
    let mut m = Market::trading();
    m.ok(r#"{"as":"HZ-EEB","cmd":"freeze","account":"B"}"#); // frozen accounts may be grouped
    m.ok(&group("HZ-EEB", "G1", &["A", "B"]));
    // The members come before the id...
    m.err(&group("HZ-EEB", "G1", &["NOBODY", "A"]), Code::UnknownAccount);
    m.err(&group("HZ-EEB", "G1", &["C", "I"]), Code::NotPermitted);
    // ...the id before the members' groups, and it is unique market-wide.
    m.err(&group("HZ-EEB", "G1", &["A", "B"]), Code::DuplicateId);
    m.err(&group("ZJ-DEE", "G1", &["C", "I"]), Code::DuplicateId);
    m.err(&group("ZJ-DEE", "G2", &["C", "A"]), Code::GroupConflict);
    m.err(&group("ZJ-DEE", "G2", &["B", "C"]), Code::GroupConflict);
    // A group may share an id with an account.
    m.ok(&group("ZJ-DEE", "A", &["I", "C"]));
    let groups = &m.state.supervision.groups;
    assert_eq!(groups.len(), 2);
    assert_eq!(groups["G1"], vec!["A".to_string(), "B".to_string()]);
    assert_eq!(groups["A"], vec!["I".to_string(), "C".to_string()]);
    let group_of = |id: &str| m.state.account(id).unwrap().group.clone();
    assert_eq!(group_of("B").as_deref(), Some("G1"));
    assert_eq!(group_of("C").as_deref(), Some("A"));
    assert_eq!(group_of("V"), None);
}

#[test]
fn declare_group_form_is_checked_before_the_actor() {
    let mut m = Market::trading();
    let ids = |n: usize| -> Vec<String> { (0..n).map(|i| format!("M{i}")).collect() };
    let (m50, m51) = (ids(50), ids(51));
    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    for line in [
        group("HZ-EEB", "G", &["A"]),
        group("HZ-EEB", "G", &["A", "A"]),
        group("HZ-EEB", "G", &refs(&m51)),
        group("HZ-EEB", "G", &["A", "bad id!"]),
        group("HZ-EEB", "bad id!", &["A", "B"]),
        r#"{"as":"HZ-EEB","cmd":"declare_group","id":"G","members":["A",7]}"#.to_string(),
        r#"{"as":"HZ-EEB","cmd":"declare_group","id":"G","members":"A,B"}"#.to_string(),
        r#"{"as":"HZ-EEB","cmd":"declare_group","id":"G"}"#.to_string(),
        group("GHOST", "G", &["A"]),
        group("A", "G", &["A", "A"]),
    ] {
        m.err(&line, Code::Malformed);
    }
    // Fifty is well formed.
    m.err(&group("ZJ-DEE", "G", &refs(&m50)), Code::UnknownAccount);
    for id in &m50 {
        m.ok(&format!(
            r#"{{"as":"ZJ-DEE","cmd":"create_account","id":"{id}","role":"investor","jurisdiction":"NB"}}"#
        ));
    }
    m.ok(&group("ZJ-DEE", "G", &refs(&m50)));
    assert_eq!(m.state.supervision.groups["G"].len(), 50);
}

#[test]
fn a_city_regulator_groups_its_own_accounts_only_and_zj_any() {
    let mut m = Market::trading();
    m.ok(r#"{"as":"HZ-EEB","cmd":"create_account","id":"HI","role":"investor"}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"create_account","id":"NE","role":"entity","jurisdiction":"NB"}"#);
    m.err(&group("HZ-EEB", "G1", &["A", "C"]), Code::NotPermitted);
    m.err(&group("NB-EEB", "G1", &["C", "A"]), Code::NotPermitted);
    m.err(&group("NB-EEB", "G1", &["A", "B"]), Code::NotPermitted);
    m.ok(&group("NB-EEB", "G1", &["C", "I"]));
    m.ok(&group("HZ-EEB", "G2", &["A", "HI"]));
    m.ok(&group("ZJ-DEE", "G3", &["B", "NE"]));
    assert_eq!(m.state.supervision.groups.len(), 3);
}

// ---------------------------------------------------------------- 14.1 set_position_limits

#[test]
fn set_position_limits_checks_the_role_before_the_quantities() {
    let mut m = Market::trading();
    let line = |a: &str, e: &str, i: &str| {
        format!(r#"{{"as":"{a}","cmd":"set_position_limits","entity_extra":{e},"investor":{i}}}"#)
    };
    for actor in ["ZJ-DEE", "HZ-EEB", "A", "I", "V"] {
        m.err(&line(actor, "-1", "0"), Code::NotPermitted);
    }
    for (e, i) in [
        ("-1", "0"),
        ("0", "-1"),
        ("1000000000001", "0"),
        ("0", "1000000000001"),
        ("99999999999999999999", "0"),
    ] {
        m.err(&line("OP", e, i), Code::InvalidQuantity);
    }
    // Both as JSON integers, checked before the actor.
    for (a, e, i) in [
        ("OP", "\"5000\"", "1"),
        ("OP", "5000.5", "1"),
        ("OP", "1e3", "1"),
        ("OP", "5000", "null"),
        ("A", "5000", "1.0"),
        ("GHOST", "\"1\"", "1"),
    ] {
        m.err(&line(a, e, i), Code::Malformed);
    }
    assert_eq!(m.state.supervision.limits, PositionLimits::default());
    m.ok(&limits(0, 1_000_000_000_000));
    assert_eq!(
        m.state.supervision.limits,
        PositionLimits {
            entity_extra: 0,
            investor: 1_000_000_000_000
        }
    );
    m.ok(&limits(1_000_000_000_000, 0));
    assert_eq!(
        m.state.supervision.limits,
        PositionLimits {
            entity_extra: 1_000_000_000_000,
            investor: 0
        }
    );
}

// ---------------------------------------------------------------- permissions

#[test]
fn the_four_supervision_commands_by_every_role() {
    const NP: Option<Code> = Some(Code::NotPermitted);
    // set_position_limits, halt, resume, declare_group: None is accepted.
    let table: [(&str, [Option<Code>; 4]); 6] = [
        ("OP", [None, None, None, NP]),
        ("ZJ-DEE", [NP, None, None, None]),
        ("HZ-EEB", [NP, NP, NP, None]),
        ("A", [NP; 4]),
        ("I", [NP; 4]),
        ("V", [NP; 4]),
    ];
    for (actor, outcomes) in table {
        let lines = [
            format!(r#"{{"as":"{actor}","cmd":"set_position_limits","entity_extra":5,"investor":7}}"#),
            halt(actor, EA),
            resume(actor, EA),
            group(actor, "G", &["A", "B"]),
        ];
        for (n, (line, want)) in lines.iter().zip(outcomes).enumerate() {
            let mut m = Market::trading();
            if n == 2 {
                m.ok(&halt("OP", EA));
            }
            match want {
                Some(code) => m.err(line, code),
                None => {
                    m.ok(line);
                }
            }
            let s = &m.state.supervision;
            let changed = [
                s.limits.entity_extra == 5 && s.limits.investor == 7,
                s.halted.contains(EA),
                !s.halted.contains(EA),
                s.groups.contains_key("G"),
            ][n];
            assert_eq!(changed, want.is_none(), "{line}");
        }
    }
}

// ---------------------------------------------------------------- property: alerts against a recomputation

const WHO: [&str; 5] = ["A", "AAA", "B", "C", "I"];
const SYMS: [&str; 2] = [EA, EU];

#[derive(Clone, Debug)]
enum Act {
    Order {
        who: usize,
        id: u8,
        sym: usize,
        buy: bool,
        tif: usize,
        market: bool,
        at: i64,
        qty: i64,
    },
    Cancel {
        who: usize,
        id: u8,
        by_operator: bool,
    },
    /// Resting 1 t buys at the band's low, the first `cancelled` cancelled.
    Churn {
        who: usize,
        sym: usize,
        placed: usize,
        cancelled: usize,
    },
    Propose {
        who: usize,
        id: u8,
        sym: usize,
        cp: usize,
        buy: bool,
        qty: i64,
        at: i64,
        /// The counterparty accepts at once.
        accepted: bool,
    },
    Accept {
        who: usize,
        proposer: usize,
        id: u8,
    },
    Freeze {
        who: usize,
        on: bool,
    },
    Halt {
        sym: usize,
        on: bool,
    },
    Limits {
        entity_extra: i64,
        investor: i64,
    },
    NextDay,
}

fn arb_act() -> impl Strategy<Value = Act> {
    let who = 0usize..WHO.len();
    let sym = 0usize..SYMS.len();
    // Where in the band, in thousandths: mostly near the middle, so that
    // orders cross; sometimes anywhere, so that closes move.
    let at = prop_oneof![3 => 440i64..=560, 1 => 0i64..=1000];
    let level = prop::sample::select(vec![0i64, 2001, 7001, 200_000, 1_000_000, 1_000_000, 1_000_000_000_000]);
    prop_oneof![
        14 => (who.clone(), 0u8..30, sym.clone(), any::<bool>(), prop::sample::select(vec![0usize, 0, 0, 1, 2]), any::<bool>(), at.clone(), prop_oneof![1i64..300, 1i64..1500])
            .prop_map(|(who, id, sym, buy, tif, market, at, qty)| Act::Order { who, id, sym, buy, tif, market, at, qty }),
        3 => (who.clone(), 0u8..30, prop::bool::weighted(0.2))
            .prop_map(|(who, id, by_operator)| Act::Cancel { who, id, by_operator }),
        2 => (who.clone(), sym.clone(), 6usize..=14, 0usize..=14)
            .prop_map(|(who, sym, placed, c)| Act::Churn { who, sym, placed, cancelled: c.min(placed) }),
        2 => (who.clone(), 0u8..4, sym.clone(), who.clone(), any::<bool>(), 100_000i64..=120_000, at, any::<bool>())
            .prop_map(|(who, id, sym, cp, buy, qty, at, accepted)| Act::Propose { who, id, sym, cp, buy, qty, at, accepted }),
        1 => (who.clone(), who.clone(), 0u8..4).prop_map(|(who, proposer, id)| Act::Accept { who, proposer, id }),
        1 => (who, prop::bool::weighted(0.25)).prop_map(|(who, on)| Act::Freeze { who, on }),
        1 => (sym, prop::bool::weighted(0.25)).prop_map(|(sym, on)| Act::Halt { sym, on }),
        1 => (level.clone(), level).prop_map(|(entity_extra, investor)| Act::Limits { entity_extra, investor }),
        1 => Just(Act::NextDay),
    ]
}

/// What the test records of a line, to recompute the close's alerts.
enum Kind {
    Order { who: String, id: String, sym: String },
    OwnCancel { who: String, id: String },
    Limits(i64, i64),
    Other,
}

/// The day `n` days after 2026-03-02.
fn date_of(n: u32) -> String {
    let mut day = 2 + n;
    for (month, len) in [(3, 31), (4, 30), (5, 31), (6, 30)] {
        if day <= len {
            return format!("2026-{month:02}-{day:02}");
        }
        day -= len;
    }
    panic!("too many days")
}

fn fmt_price(t: Ticks) -> String {
    format!("{}.{:02}", t / 100, t % 100)
}

/// `at` thousandths of the way from `low` to `high`, on a tick.
fn within(low: Ticks, high: Ticks, at: i64) -> Ticks {
    low + (high - low) * at / 1000
}

/// `events` with a `related_trade` alert after each listed or block trade
/// between two members of one group (`groups`: member -> group).
fn with_related(events: &[Event], groups: &BTreeMap<String, String>) -> Vec<Event> {
    let mut out = Vec::new();
    for e in events {
        out.push(e.clone());
        let Event::Trade(t) = e else { continue };
        if t.mode == TradeMode::Auction {
            continue;
        }
        if let (Some(g), Some(h)) = (groups.get(&t.buyer), groups.get(&t.seller)) {
            if g == h {
                out.push(Event::Alert(Alert {
                    date: t.date.clone(),
                    kind: AlertKind::RelatedTrade {
                        group: g.clone(),
                        instrument: t.instrument.clone(),
                        mode: t.mode,
                        price: t.price,
                        qty: t.qty,
                        buyer: t.buyer.clone(),
                        seller: t.seller.clone(),
                    },
                }));
            }
        }
    }
    out
}

type Balances = BTreeMap<String, (Cents, Cents, BTreeMap<String, (i64, i64, i64)>)>;

fn balances(s: &State) -> Balances {
    s.accounts
        .iter()
        .map(|a| {
            let holdings = a
                .holdings
                .iter()
                .filter(|(_, h)| h.available + h.locked + h.pending != 0)
                .map(|(s, h)| (s.clone(), (h.available, h.locked, h.pending)))
                .collect();
            (a.id.clone(), (a.cash_available, a.cash_locked, holdings))
        })
        .collect()
}

/// Two markets fed the same lines, one with groups declared, and what the
/// test itself recorded of the open day.
struct Sim {
    grouped: Market,
    plain: Market,
    groups: BTreeMap<String, String>,
    day: u32,
    reference: BTreeMap<String, Ticks>,
    limits: (i64, i64),
    order_sym: BTreeMap<(String, String), String>,
    /// (symbol, account) -> (placed, cancelled) today.
    activity: BTreeMap<(String, String), (i64, i64)>,
    trades: Vec<Trade>,
    next_churn: u32,
}

impl Sim {
    fn new() -> Sim {
        let setup = [
            r#"{"as":"NB-EEB","cmd":"create_account","id":"AAA","role":"investor"}"#,
            r#"{"as":"OP","cmd":"deposit","account":"AAA","amount":"100000000.00"}"#,
            r#"{"as":"OP","cmd":"deposit","account":"A","amount":"10000000.00"}"#,
            r#"{"as":"OP","cmd":"deposit","account":"B","amount":"10000000.00"}"#,
            r#"{"as":"OP","cmd":"deposit","account":"C","amount":"10000000.00"}"#,
            DEFINE_EU,
            r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"A","qty":5000}"#,
            r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"B","qty":5000}"#,
            r#"{"as":"NB-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"C","qty":300000}"#,
            r#"{"as":"C","cmd":"transfer","instrument":"ZJEA-2025","to":"I","qty":5000}"#,
            r#"{"as":"C","cmd":"transfer","instrument":"ZJEA-2025","to":"AAA","qty":5000}"#,
            r#"{"as":"C","cmd":"transfer","instrument":"ZJEU-2025","to":"I","qty":5000}"#,
            r#"{"as":"C","cmd":"transfer","instrument":"ZJEU-2025","to":"AAA","qty":5000}"#,
        ];
        let (mut grouped, mut plain) = (Market::trading(), Market::trading());
        for l in setup {
            grouped.ok(l);
            plain.ok(l);
        }
        grouped.ok(&group("ZJ-DEE", "G1", &["A", "I"]));
        grouped.ok(&group("ZJ-DEE", "G2", &["B", "C", "AAA"]));
        let groups = [("A", "G1"), ("I", "G1"), ("B", "G2"), ("C", "G2"), ("AAA", "G2")]
            .iter()
            .map(|(a, g)| (a.to_string(), g.to_string()))
            .collect();
        Sim {
            grouped,
            plain,
            groups,
            day: 0,
            reference: [("CCER", 4000), (EA, 5800), (EU, 2000)]
                .iter()
                .map(|(s, t)| (s.to_string(), *t))
                .collect(),
            limits: (1_000_000, 1_000_000),
            order_sym: BTreeMap::new(),
            activity: BTreeMap::new(),
            trades: Vec::new(),
            next_churn: 0,
        }
    }

    /// Runs a line in both markets. The grouped one must give the same
    /// outcome and balances, its events differing only by `related_trade`
    /// alerts right after the trades between members: alerts change no balance.
    fn step(&mut self, line: &str, kind: Kind) -> Result<Applied, Code> {
        let r1 = self.grouped.run(line);
        let r2 = self.plain.run(line);
        match (&r1, &r2) {
            (Ok(a1), Ok(a2)) => {
                assert_eq!(a1.order, a2.order, "{line}");
                assert_eq!(a1.events, with_related(&a2.events, &self.groups), "{line}");
            }
            _ => assert_eq!(r1.as_ref().err(), r2.as_ref().err(), "{line}"),
        }
        assert_eq!(self.grouped.fingerprint(), self.plain.fingerprint(), "{line}");
        self.grouped.state.check_invariants();
        if let Ok(a) = &r1 {
            match kind {
                Kind::Order { who, id, sym } => {
                    self.activity.entry((sym.clone(), who.clone())).or_default().0 += 1;
                    self.order_sym.insert((who, id), sym);
                }
                Kind::OwnCancel { who, id } => {
                    let sym = self.order_sym[&(who.clone(), id)].clone();
                    self.activity.entry((sym, who)).or_default().1 += 1;
                }
                Kind::Limits(e, i) => self.limits = (e, i),
                Kind::Other => {}
            }
            self.trades.extend(a.events.iter().filter_map(|e| match e {
                Event::Trade(t) => Some(t.clone()),
                _ => None,
            }));
        }
        r1
    }

    #[allow(clippy::too_many_arguments)]
    fn order_line(&mut self, who: &str, id: &str, sym: &str, side: &str, tif: &str, price: Option<Ticks>, qty: i64) {
        let p = price.map(fmt_price);
        let line = ord(who, id, sym, side, tif, p.as_deref(), qty);
        let kind = Kind::Order {
            who: who.into(),
            id: id.into(),
            sym: sym.into(),
        };
        let _ = self.step(&line, kind);
    }

    fn act(&mut self, act: &Act) {
        match *act {
            Act::Order {
                who,
                id,
                sym,
                buy,
                tif,
                market,
                at,
                qty,
            } => {
                let (low, high) = super::trading::listed_band(self.reference[SYMS[sym]]);
                let tif = ["day", "ioc", "fok"][tif];
                let price = (!market || tif == "day").then(|| within(low, high, at));
                let side = if buy { "buy" } else { "sell" };
                self.order_line(WHO[who], &format!("o{id}"), SYMS[sym], side, tif, price, qty);
            }
            Act::Cancel { who, id, by_operator } => {
                let who = WHO[who];
                if by_operator {
                    let line = format!(r#"{{"as":"OP","cmd":"cancel","account":"{who}","id":"o{id}"}}"#);
                    let _ = self.step(&line, Kind::Other);
                } else {
                    let kind = Kind::OwnCancel {
                        who: who.into(),
                        id: format!("o{id}"),
                    };
                    let _ = self.step(&cancel(who, &format!("o{id}")), kind);
                }
            }
            Act::Churn {
                who,
                sym,
                placed,
                cancelled,
            } => {
                let (low, _) = super::trading::listed_band(self.reference[SYMS[sym]]);
                let first = self.next_churn;
                self.next_churn += placed as u32;
                for n in 0..placed as u32 {
                    let id = format!("c{}", first + n);
                    self.order_line(WHO[who], &id, SYMS[sym], "buy", "day", Some(low), 1);
                }
                for n in 0..cancelled as u32 {
                    let id = format!("c{}", first + n);
                    let kind = Kind::OwnCancel {
                        who: WHO[who].into(),
                        id: id.clone(),
                    };
                    let _ = self.step(&cancel(WHO[who], &id), kind);
                }
            }
            Act::Propose {
                who,
                id,
                sym,
                cp,
                buy,
                qty,
                at,
                accepted,
            } => {
                let r = self.reference[SYMS[sym]];
                let price = within(band_low(r, 70), band_high(r, 130), at);
                let side = if buy { "buy" } else { "sell" };
                let line = propose(
                    WHO[who],
                    &format!("k{id}"),
                    SYMS[sym],
                    side,
                    WHO[cp],
                    qty,
                    &fmt_price(price),
                );
                let _ = self.step(&line, Kind::Other);
                if accepted {
                    let _ = self.step(&accept(WHO[cp], WHO[who], &format!("k{id}")), Kind::Other);
                }
            }
            Act::Accept { who, proposer, id } => {
                let _ = self.step(&accept(WHO[who], WHO[proposer], &format!("k{id}")), Kind::Other);
            }
            Act::Freeze { who, on } => {
                let cmd = if on { "freeze" } else { "unfreeze" };
                let line = format!(r#"{{"as":"ZJ-DEE","cmd":"{cmd}","account":"{}"}}"#, WHO[who]);
                let _ = self.step(&line, Kind::Other);
            }
            Act::Halt { sym, on } => {
                let line = if on {
                    halt("OP", SYMS[sym])
                } else {
                    resume("OP", SYMS[sym])
                };
                let _ = self.step(&line, Kind::Other);
            }
            Act::Limits { entity_extra, investor } => {
                let _ = self.step(&limits(entity_extra, investor), Kind::Limits(entity_extra, investor));
            }
            Act::NextDay => {
                self.close();
                self.day += 1;
                let line = format!(r#"{{"as":"OP","cmd":"open_day","date":"{}"}}"#, date_of(self.day));
                self.step(&line, Kind::Other).expect("the next day opens");
            }
        }
    }

    /// Closes the day and checks its outcome against what the test
    /// recomputes from the day's accepted orders and cancels and the trades
    /// it collected: balances, day summaries and alerts, in order.
    fn close(&mut self) {
        let date = date_of(self.day);
        let before = balances(&self.grouped.state);
        let out = self.step(CLOSE, Kind::Other).expect("the day closes");
        // (a) The close's balances are what the close alone makes of them:
        // every lock released, every pending unit available.
        let expected: Balances = before
            .into_iter()
            .map(|(id, (cash, locked, holdings))| {
                let h = holdings
                    .into_iter()
                    .map(|(s, (a, l, p))| (s, (a + l + p, 0, 0)))
                    .collect();
                (id, (cash + locked, 0, h))
            })
            .collect();
        assert_eq!(balances(&self.grouped.state), expected);

        let mut events = Vec::new();
        let mut alerts = Vec::new();
        let mut days = Vec::new();
        for (sym, &reference) in &self.reference {
            let listed: Vec<&Trade> = self
                .trades
                .iter()
                .filter(|t| t.instrument == *sym && t.mode == TradeMode::Listed)
                .collect();
            let volume: i64 = listed.iter().map(|t| t.qty).sum();
            let turnover: Cents = listed.iter().map(|t| Cents::from(t.price) * Cents::from(t.qty)).sum();
            let close = if volume > 0 {
                ((2 * turnover + Cents::from(volume)) / (2 * Cents::from(volume))) as Ticks
            } else {
                reference
            };
            events.push(Event::Day(DaySummary {
                date: date.clone(),
                instrument: sym.clone(),
                reference,
                open: listed.first().map(|t| t.price),
                high: listed.iter().map(|t| t.price).max(),
                low: listed.iter().map(|t| t.price).min(),
                close,
                volume,
                turnover,
                block_volume: self
                    .trades
                    .iter()
                    .filter(|t| t.instrument == *sym && t.mode == TradeMode::Block)
                    .map(|t| t.qty)
                    .sum(),
                auction_volume: 0,
            }));
            days.push((sym.clone(), reference, close, listed, volume));
        }
        for (sym, reference, close, _, volume) in &days {
            if *volume > 0 && (close - reference).abs() * 20 >= *reference {
                alerts.push(AlertKind::PriceMove {
                    instrument: sym.clone(),
                    reference: *reference,
                    close: *close,
                });
            }
        }
        for (sym, _, _, listed, volume) in &days {
            if *volume < 1000 {
                continue;
            }
            for side in [Side::Buy, Side::Sell] {
                let mut per: BTreeMap<&str, i64> = BTreeMap::new();
                for t in listed {
                    let who = if side == Side::Buy { &t.buyer } else { &t.seller };
                    *per.entry(who).or_default() += t.qty;
                }
                for (account, qty) in per {
                    if qty * 2 > *volume {
                        alerts.push(concentration(sym, account, side, qty, *volume));
                    }
                }
            }
        }
        for ((sym, account), &(placed, cancelled)) in &self.activity {
            if placed >= 10 && cancelled * 10 >= placed * 8 {
                alerts.push(cancel_ratio(sym, account, placed, cancelled));
            }
        }
        let s = &self.grouped.state;
        for (id, &i) in &s.by_id {
            let threshold = match s.accounts[i as usize].role {
                crate::command::Role::Entity => self.limits.0 / 2,
                crate::command::Role::Investor => self.limits.1 / 2,
                _ => continue,
            };
            let position: i64 = s.accounts[i as usize]
                .holdings
                .iter()
                .filter(|(sym, _)| sym.starts_with("ZJEA-"))
                .map(|(_, h)| h.available + h.locked + h.pending)
                .sum();
            if position > threshold {
                alerts.push(large_holder(id, position, threshold));
            }
        }
        events.extend(alerts.into_iter().map(|kind| {
            Event::Alert(Alert {
                date: date.clone(),
                kind,
            })
        }));
        // (b) every figure, in the rulebook's order.
        assert_eq!(out.events, events);

        for (sym, _, close, _, _) in days {
            self.reference.insert(sym, close);
        }
        self.activity.clear();
        self.trades.clear();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random days of orders, cancels, churn, block trades, freezes, halts
    /// and limit changes among five accounts of two groups: (a) alerts
    /// change no balance (a twin market without groups stays identical but
    /// for its `related_trade` alerts, and each close leaves exactly what
    /// its release of locks and of `pending` makes), and (b) each close's
    /// day summaries and alerts equal a recomputation from the day's
    /// accepted orders and cancels and the trades the test collected.
    #[test]
    fn alerts_change_no_balance_and_match_a_recomputation(acts in prop::collection::vec(arb_act(), 10..80)) {
        let mut sim = Sim::new();
        for a in &acts {
            sim.act(a);
        }
        sim.close();
    }
}
