//! Unit tests of energy-use rights (RULEBOOK.md 15): the instruments (15.1),
//! energy use in reports and its verification (15.2), surrender against the
//! energy obligation (15.3) and the energy columns of the year close (15.4),
//! each at its boundary.

use super::tests::{compliance_market, Market};
use super::*;
use crate::command::Side;

const DEFINE_EU: &str = r#"{"as":"OP","cmd":"define_instrument","symbol":"ZJEU-2025","reference_price":"20.00"}"#;
const CLOSE: &str = r#"{"as":"OP","cmd":"close_day"}"#;

/// A 2025 report of `actor` with no fuels (direct emissions 0) and `energy`
/// appended verbatim (`,"energy":[...]`, or nothing).
fn report(actor: &str, energy: &str) -> String {
    format!(
        r#"{{"as":"{actor}","cmd":"submit_report","year":2025,"factor_set":"FS","fuels":[],"electricity_mwh":"0","power_mwh":"0","heat_gj":"0"{energy}}}"#
    )
}

/// `,"energy":[...]` of the given `(carrier, qty)` lines.
fn lines(lines: &[(&str, &str)]) -> String {
    let l: Vec<String> = lines
        .iter()
        .map(|(c, q)| format!(r#"{{"carrier":"{c}","qty":"{q}"}}"#))
        .collect();
    format!(r#","energy":[{}]"#, l.join(","))
}

fn the_report<'a>(m: &'a Market, entity: &str) -> &'a Report {
    &m.state.reports[&(entity.to_string(), 2025)]
}

/// U of A's latest submission.
fn energy_of(m: &Market) -> i64 {
    the_report(m, "A").energy_tce
}

fn regulator_of(entity: &str) -> &'static str {
    if entity == "C" {
        "NB-EEB"
    } else {
        "HZ-EEB"
    }
}

/// Reports, verifies (with the given figures) and confirms `entity`'s 2025
/// report: its carbon and energy obligations are then those figures.
fn confirm_both(m: &mut Market, entity: &str, emissions: i64, energy: i64) {
    m.ok(&report(entity, ""));
    m.ok(&format!(
        r#"{{"as":"V","cmd":"verify_report","entity":"{entity}","year":2025,"verified_emissions":{emissions},"verified_energy":{energy}}}"#
    ));
    m.ok(&format!(
        r#"{{"as":"{}","cmd":"confirm_report","entity":"{entity}","year":2025}}"#,
        regulator_of(entity)
    ));
    assert_eq!(m.state.obligations(entity, 2025), Some((emissions, energy)));
}

fn surrender(entity: &str, sym: &str, qty: i64) -> String {
    format!(r#"{{"as":"{entity}","cmd":"surrender","year":2025,"instrument":"{sym}","qty":{qty}}}"#)
}

fn verify(extra: &str) -> String {
    format!(r#"{{"as":"V","cmd":"verify_report","entity":"A","year":2025{extra}}}"#)
}

const RETURN_A: &str = r#"{"as":"HZ-EEB","cmd":"return_report","entity":"A","year":2025}"#;
const CONFIRM_A: &str = r#"{"as":"HZ-EEB","cmd":"confirm_report","entity":"A","year":2025}"#;

// ---------------------------------------------------------------- 15.1 instruments

#[test]
fn energy_rights_are_defined_issued_by_cities_and_never_allocated() {
    let mut m = compliance_market();
    m.ok(r#"{"as":"OP","cmd":"define_instrument","symbol":"ZJEU-2030","reference_price":"20.00"}"#);
    for bad in ["ZJEU-30", "ZJEU_2030", "ZJEU-20300", "zjeu-2030"] {
        m.err(
            &format!(r#"{{"as":"OP","cmd":"define_instrument","symbol":"{bad}","reference_price":"20.00"}}"#),
            Code::Malformed,
        );
    }
    // Unlike CCER, a city grants energy-use rights to its own entities.
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEU-2030","to":"A","qty":100}"#);
    m.err(
        r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEU-2030","to":"C","qty":100}"#,
        Code::NotPermitted,
    );
    assert_eq!(m.holding("A", "ZJEU-2030"), (100, 0, 0));
    // Allocation concerns allowances: 2030 needs ZJEA-2030.
    m.err(
        r#"{"as":"HZ-EEB","cmd":"allocate_grandfather","entity":"A","year":2030,"baseline":100,"decline":"0"}"#,
        Code::UnknownInstrument,
    );
}

#[test]
fn supervision_rules_apply_to_energy_rights_and_positions_ignore_them() {
    let mut m = Market::trading();
    m.ok(DEFINE_EU);
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"A","qty":2000}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"declare_group","id":"G1","members":["A","B"]}"#);
    m.ok(r#"{"as":"OP","cmd":"set_position_limits","entity_extra":0,"investor":0}"#);
    let sell = r#"{"as":"A","cmd":"order","id":"s1","instrument":"ZJEU-2025","side":"sell","type":"limit","tif":"day","price":"21.00","qty":1000}"#;
    m.ok(sell);
    let r = m.ok(r#"{"as":"B","cmd":"order","id":"b1","instrument":"ZJEU-2025","side":"buy","type":"limit","tif":"day","price":"21.00","qty":1000}"#);
    assert!(matches!(
        &r.events[..],
        [Event::Trade(t), Event::Alert(Alert { kind: AlertKind::RelatedTrade { instrument, qty: 1000, .. }, .. })]
            if t.instrument == "ZJEU-2025" && instrument == "ZJEU-2025"
    ));
    m.ok(r#"{"as":"OP","cmd":"halt","instrument":"ZJEU-2025"}"#);
    m.err(&sell.replace("s1", "s2"), Code::MarketHalted);
    let kinds: Vec<AlertKind> = m
        .ok(CLOSE)
        .events
        .into_iter()
        .filter_map(|e| match e {
            Event::Alert(a) => Some(a.kind),
            _ => None,
        })
        .collect();
    let conc = |account: &str, side, qty| AlertKind::Concentration {
        instrument: "ZJEU-2025".into(),
        account: account.into(),
        side,
        qty,
        volume: 1000,
    };
    let holder = |account: &str, position| AlertKind::LargeHolder {
        account: account.into(),
        position,
        threshold: 0,
    };
    // 21.00 is 5% above 20.00; B's 1000 ZJEU do not add to its 1000 ZJEA.
    assert_eq!(
        kinds,
        vec![
            AlertKind::PriceMove {
                instrument: "ZJEU-2025".into(),
                reference: 2000,
                close: 2100
            },
            conc("B", Side::Buy, 1000),
            conc("A", Side::Sell, 1000),
            holder("A", 1000),
            holder("B", 1000),
            holder("C", 300_000),
        ]
    );
}

// ---------------------------------------------------------------- 15.2 energy use in reports

#[test]
fn energy_use_rounds_half_away_from_zero_at_exactly_point_five() {
    let mut m = compliance_market();
    // 12500 GJ * 0.03412 = 426.5 exactly.
    m.ok(&report("A", &lines(&[("heat", "12500")])));
    assert_eq!(energy_of(&m), 427);
    // 12499.99 GJ = 426.4996588.
    m.ok(&report("A", &lines(&[("heat", "12499.99")])));
    assert_eq!(energy_of(&m), 426);
    // Rounded once: 0.44356 + 0.1229 = 0.56646 -> 1 (not 0 + 0).
    m.ok(&report("A", &lines(&[("heat", "13"), ("electricity", "1")])));
    assert_eq!(energy_of(&m), 1);
    m.ok(&report("A", &lines(&[("heat", "13")])));
    assert_eq!(energy_of(&m), 0);
}

#[test]
fn every_carrier_once_with_its_coefficient() {
    let mut m = compliance_market();
    let table = [
        ("coal", "10000", 7143),
        ("coke", "10000", 9714),
        ("crude_oil", "10000", 14286),
        ("fuel_oil", "10000", 14286),
        ("gasoline", "10000", 14714),
        ("diesel", "10000", 14571),
        ("lpg", "10000", 17143),
        ("natural_gas", "10000", 121_430),
        ("electricity", "10000", 1229),
        ("heat", "100000", 3412),
    ];
    // Each resubmission replaces the last: the figure is the latest one's.
    for (carrier, qty, tce) in table {
        m.ok(&report("A", &lines(&[(carrier, qty)])));
        assert_eq!(energy_of(&m), tce, "{carrier}");
    }
    let all: Vec<(&str, &str)> = table.iter().map(|(c, q, _)| (*c, *q)).collect();
    m.ok(&report("A", &lines(&all)));
    assert_eq!(energy_of(&m), table.iter().map(|t| t.2).sum::<i64>());
    assert_eq!(energy_of(&m), 217_928);
    // Absent, null or empty: 0.
    for energy in ["", r#","energy":null"#, r#","energy":[]"#] {
        m.ok(&report("A", energy));
        assert_eq!(energy_of(&m), 0, "{energy}");
    }
}

#[test]
fn unknown_and_repeated_carriers_and_number_quantities_are_malformed() {
    let mut m = compliance_market();
    m.ok(&report("A", &lines(&[("coal", "1")])));
    for energy in [
        lines(&[("hydrogen", "1")]),
        lines(&[("Coal", "1")]),
        lines(&[("coal", "1"), ("heat", "1"), ("coal", "2")]),
        lines(&[("coal", "-1")]),
        lines(&[("coal", "1e3")]),
        lines(&[("coal", ".5")]),
        r#","energy":[{"carrier":"coal","qty":1000}]"#.to_string(),
        r#","energy":[{"carrier":"coal"}]"#.to_string(),
        r#","energy":[{"qty":"1"}]"#.to_string(),
        r#","energy":{"coal":"1"}"#.to_string(),
        r#","energy":["coal"]"#.to_string(),
    ] {
        m.err(&report("A", &energy), Code::Malformed);
        // The form comes before the actor and its role.
        m.err(&report("GHOST", &energy), Code::Malformed);
        m.err(&report("V", &energy), Code::Malformed);
    }
    m.err(&report("V", &lines(&[("coal", "1")])), Code::NotPermitted);
    m.ok(&report("A", &lines(&[("coal", "0"), ("heat", "0.0")])));
    assert_eq!(energy_of(&m), 0);
}

#[test]
fn verified_energy_is_the_given_figure_or_u() {
    let mut m = compliance_market();
    m.ok(&report("A", &lines(&[("heat", "12500")])));
    let r = the_report(&m, "A");
    assert_eq!(
        (r.energy_tce, r.verified_tonnes, r.verified_energy_tce),
        (427, None, None)
    );
    m.ok(&verify(""));
    assert_eq!(the_report(&m, "A").verified_energy_tce, Some(427));
    m.ok(RETURN_A);
    m.ok(&report("A", &lines(&[("heat", "12500")])));
    m.ok(&verify(r#","verified_energy":5000"#));
    assert_eq!(the_report(&m, "A").verified_energy_tce, Some(5000));
    m.ok(CONFIRM_A);
    // The energy obligation is the verified energy use.
    assert_eq!(m.state.obligations("A", 2025), Some((0, 5000)));
    assert_eq!(the_report(&m, "A").verified_energy_tce, Some(5000));
}

#[test]
fn verified_energy_from_zero_to_10e12_checked_after_the_report_state() {
    let mut m = compliance_market();
    // Before the report exists: REPORT_NOT_FOUND.
    m.err(&verify(r#","verified_energy":-1"#), Code::ReportNotFound);
    m.ok(&report("A", &lines(&[("heat", "12500")])));
    m.err(&verify(r#","verified_energy":-1"#), Code::InvalidQuantity);
    m.err(&verify(r#","verified_energy":1000000000001"#), Code::InvalidQuantity);
    m.err(&verify(r#","verified_energy":"5000""#), Code::Malformed);
    m.err(&verify(r#","verified_energy":5000.5"#), Code::Malformed);
    m.ok(&verify(r#","verified_energy":1000000000000"#));
    assert_eq!(the_report(&m, "A").verified_energy_tce, Some(1_000_000_000_000));
    // Verified already: the state is checked before the figure.
    m.err(&verify(r#","verified_energy":-1"#), Code::ReportState);
    m.ok(RETURN_A);
    m.err(&verify(r#","verified_energy":1000000000001"#), Code::ReportState);
    m.ok(&report("A", &lines(&[("heat", "12500")])));
    m.ok(&verify(r#","verified_energy":0"#));
    assert_eq!(the_report(&m, "A").verified_energy_tce, Some(0));
    m.ok(CONFIRM_A);
    assert_eq!(m.state.obligations("A", 2025), Some((0, 0)));
}

#[test]
fn a_returned_report_loses_its_verified_energy() {
    let mut m = compliance_market();
    m.ok(&report("A", &lines(&[("coal", "1000")])));
    m.ok(&verify(r#","verified_emissions":10,"verified_energy":800"#));
    assert_eq!(
        (
            the_report(&m, "A").verified_tonnes,
            the_report(&m, "A").verified_energy_tce
        ),
        (Some(10), Some(800))
    );
    m.ok(RETURN_A);
    let r = the_report(&m, "A");
    assert_eq!(
        (r.status, r.verified_tonnes, r.verified_energy_tce),
        (ReportStatus::Returned, None, None)
    );
    // Confirmation needs a new verification: the lost figure is not reused.
    m.err(CONFIRM_A, Code::ReportState);
    m.ok(&report("A", &lines(&[("coal", "1000")])));
    m.ok(&verify(""));
    m.ok(CONFIRM_A);
    assert_eq!(m.state.obligations("A", 2025), Some((0, 714)));
}

// ---------------------------------------------------------------- 15.3 surrender

/// compliance_market with ZJEU-2024/2025/2026, A holding 100, 5000 and 100
/// of them, 1000 CCER and 2000 ZJEA-2025.
fn energy_market() -> Market {
    let mut m = compliance_market();
    for (year, price) in [(2024, "19.00"), (2025, "20.00"), (2026, "21.00")] {
        m.ok(&format!(
            r#"{{"as":"OP","cmd":"define_instrument","symbol":"ZJEU-{year}","reference_price":"{price}"}}"#
        ));
    }
    for (sym, qty) in [("ZJEU-2024", 100), ("ZJEU-2025", 5000), ("ZJEU-2026", 100)] {
        m.ok(&format!(
            r#"{{"as":"HZ-EEB","cmd":"issue","instrument":"{sym}","to":"A","qty":{qty}}}"#
        ));
    }
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"CCER","to":"A","qty":1000}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"A","qty":1000}"#);
    m
}

#[test]
fn energy_rights_of_a_later_vintage_are_not_eligible() {
    let mut m = energy_market();
    confirm_both(&mut m, "A", 1000, 500);
    m.err(&surrender("A", "ZJEU-2026", 1), Code::VintageNotEligible);
    m.ok(&surrender("A", "ZJEU-2024", 100)); // banked
    m.ok(&surrender("A", "ZJEU-2025", 1));
    assert_eq!(m.state.energy_surrendered("A", 2025), 101);
}

#[test]
fn energy_surrender_up_to_exactly_the_remaining_energy_obligation() {
    let mut m = energy_market();
    confirm_both(&mut m, "A", 1000, 500);
    m.err(&surrender("A", "ZJEU-2025", 501), Code::ExceedsObligation);
    m.ok(&surrender("A", "ZJEU-2025", 400));
    m.err(&surrender("A", "ZJEU-2025", 101), Code::ExceedsObligation);
    m.ok(&surrender("A", "ZJEU-2025", 100)); // exactly to it
    m.err(&surrender("A", "ZJEU-2025", 1), Code::ExceedsObligation);
    m.err(&surrender("A", "ZJEU-2024", 1), Code::ExceedsObligation);
    assert_eq!(m.state.energy_surrendered("A", 2025), 500);
    assert_eq!(m.holding("A", "ZJEU-2025"), (4500, 0, 0));
    assert_eq!(m.state.instruments["ZJEU-2025"].surrendered, 500);
}

#[test]
fn a_zero_energy_obligation_refuses_every_energy_surrender_after_the_holdings_check() {
    let mut m = energy_market();
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"B","qty":10}"#);
    confirm_both(&mut m, "A", 1000, 0); // given as 0
    confirm_both(&mut m, "B", 1000, 0); // no energy lines: U = 0
    for e in ["A", "B"] {
        m.err(&surrender(e, "ZJEU-2025", 1), Code::ExceedsObligation);
        m.err(&surrender(e, "ZJEU-2025", 5001), Code::InsufficientHoldings);
        m.err(&surrender(e, "ZJEU-2025", 0), Code::InvalidQuantity);
        m.err(&surrender(e, "ZJEU-2026", 1), Code::VintageNotEligible);
        m.ok(&surrender(e, "ZJEA-2025", 1));
    }
}

#[test]
fn energy_rights_never_meet_the_carbon_obligation_nor_allowances_the_energy_one() {
    let mut m = energy_market();
    confirm_both(&mut m, "A", 1000, 2000);
    m.ok(&surrender("A", "ZJEU-2025", 1500)); // more than the carbon obligation
    assert_eq!(
        (m.state.surrendered("A", 2025), m.state.energy_surrendered("A", 2025)),
        (0, 1500)
    );
    m.ok(&surrender("A", "ZJEA-2025", 1000)); // the whole carbon obligation is left
    assert_eq!(
        (m.state.surrendered("A", 2025), m.state.energy_surrendered("A", 2025)),
        (1000, 1500)
    );
    m.err(&surrender("A", "ZJEU-2025", 501), Code::ExceedsObligation);
    m.err(&surrender("A", "ZJEA-2025", 1), Code::ExceedsObligation);
    m.ok(&surrender("A", "ZJEU-2025", 500));
    assert_eq!(
        (m.state.surrendered("A", 2025), m.state.energy_surrendered("A", 2025)),
        (1000, 2000)
    );
}

#[test]
fn the_offset_limit_is_five_percent_of_the_carbon_obligation_alone() {
    let mut m = energy_market();
    confirm_both(&mut m, "A", 1000, 100_000);
    // floor(0.05 * 1000) = 50, whatever the energy obligation.
    m.err(&surrender("A", "CCER", 51), Code::OffsetLimitExceeded);
    m.ok(&surrender("A", "ZJEU-2025", 100));
    m.err(&surrender("A", "CCER", 51), Code::OffsetLimitExceeded);
    m.ok(&surrender("A", "CCER", 50));
    m.err(&surrender("A", "CCER", 1), Code::OffsetLimitExceeded);
    assert_eq!(
        (m.state.surrendered("A", 2025), m.state.energy_surrendered("A", 2025)),
        (50, 100)
    );
}

// ---------------------------------------------------------------- 15.4 year close

type Row = (String, char, [i64; 3], [Cents; 2], [i64; 3], [Cents; 2]);

fn rows(a: &Applied) -> Vec<Row> {
    a.events
        .iter()
        .filter_map(|e| match e {
            Event::Compliance(c) => Some((
                c.entity.clone(),
                c.status,
                [c.obligation, c.surrendered, c.shortfall],
                [c.penalty_min, c.penalty_max],
                [c.energy_obligation, c.energy_surrendered, c.energy_shortfall],
                [c.energy_penalty_min, c.energy_penalty_max],
            )),
            _ => None,
        })
        .collect()
}

fn row(entity: &str, status: char, carbon: [i64; 3], cp: [Cents; 2], energy: [i64; 3], ep: [Cents; 2]) -> Row {
    (entity.to_string(), status, carbon, cp, energy, ep)
}

#[test]
fn close_year_rows_a_energy_short_b_carbon_short_b_and_c() {
    let mut m = compliance_market();
    m.ok(DEFINE_EU);
    m.ok(r#"{"as":"HZ-EEB","cmd":"create_account","id":"D","role":"entity"}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"A","qty":500}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"B","qty":400}"#);
    m.ok(r#"{"as":"NB-EEB","cmd":"issue","instrument":"ZJEU-2025","to":"C","qty":1000}"#);
    // ZJEU-2025 closes at 21.00 and 21.01: the average 21.005 rounds to 21.01.
    for (day, price) in [("2026-03-02", "21.00"), ("2026-03-03", "21.01")] {
        if day != "2026-03-02" {
            m.ok(&format!(r#"{{"as":"OP","cmd":"open_day","date":"{day}"}}"#));
        }
        m.ok(&format!(
            r#"{{"as":"C","cmd":"order","id":"s{day}","instrument":"ZJEU-2025","side":"sell","type":"limit","tif":"day","price":"{price}","qty":10}}"#
        ));
        m.ok(&format!(
            r#"{{"as":"I","cmd":"order","id":"b{day}","instrument":"ZJEU-2025","side":"buy","type":"limit","tif":"day","price":"{price}","qty":10}}"#
        ));
        m.ok(CLOSE);
    }
    assert_eq!(
        m.state.penalty_price(crate::instrument::ObligationKind::Energy, 2025),
        Some(2101)
    );
    confirm_both(&mut m, "A", 1000, 500);
    confirm_both(&mut m, "B", 1000, 500);
    confirm_both(&mut m, "C", 300_100, 500);
    for (e, ea, eu) in [("A", 1000, 500), ("B", 1000, 400), ("C", 300_000, 500)] {
        m.ok(&surrender(e, "ZJEA-2025", ea));
        m.ok(&surrender(e, "ZJEU-2025", eu));
    }
    let close = m.ok(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2025}"#);
    assert_eq!(
        rows(&close),
        vec![
            row("A", 'A', [1000, 1000, 0], [0, 0], [500, 500, 0], [0, 0]),
            // Short of energy alone: 100 tce * 21.01 * 5 and * 10; carbon "0.00".
            row(
                "B",
                'B',
                [1000, 1000, 0],
                [0, 0],
                [500, 400, 100],
                [1_050_500, 2_101_000]
            ),
            // Short of carbon alone: 100 t * 58.00 * 5 and * 10; energy "0.00".
            row(
                "C",
                'B',
                [300_100, 300_000, 100],
                [2_900_000, 5_800_000],
                [500, 500, 0],
                [0, 0]
            ),
            row("D", 'C', [0, 0, 0], [0, 0], [0, 0, 0], [0, 0]),
        ]
    );
    // Only a carbon shortfall is deducted from later allocations.
    assert_eq!(m.state.deductions, [("C".to_string(), 100)].into_iter().collect());
}

#[test]
fn energy_penalties_are_zero_when_the_energy_vintage_is_undefined() {
    let mut m = compliance_market();
    confirm_both(&mut m, "B", 1000, 500);
    m.ok(&surrender("B", "ZJEA-2025", 1000));
    let close = m.ok(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2025}"#);
    assert_eq!(
        rows(&close),
        vec![
            row("A", 'C', [0, 0, 0], [0, 0], [0, 0, 0], [0, 0]),
            row("B", 'B', [1000, 1000, 0], [0, 0], [500, 0, 500], [0, 0]),
            row("C", 'C', [0, 0, 0], [0, 0], [0, 0, 0], [0, 0]),
        ]
    );
}

#[test]
fn a_confirmed_report_with_both_obligations_zero_is_status_a() {
    let mut m = compliance_market();
    m.ok(&report("A", ""));
    m.ok(&verify(""));
    assert_eq!(
        (
            the_report(&m, "A").verified_tonnes,
            the_report(&m, "A").verified_energy_tce
        ),
        (Some(0), Some(0))
    );
    m.ok(CONFIRM_A);
    let close = m.ok(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2025}"#);
    assert_eq!(rows(&close)[0], row("A", 'A', [0, 0, 0], [0, 0], [0, 0, 0], [0, 0]));
}
