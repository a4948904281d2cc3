//! Unit tests of the exact arithmetic of allocations and reports (RULEBOOK.md
//! 9.1, 9.2, 10 and 13.3): inputs of 28 significant digits whose products
//! and sums need more, which a `Decimal` would round on the way. The worked
//! figures are the reference model's (tools/reference/carbon_ref.py, exact
//! fractions).

use super::tests::{compliance_market, confirm, report_line, Market};
use super::*;

/// An allocation of `entity` for 2025 with one unit of the given fields.
fn benchmark_unit(entity: &str, phase: &str, fuel: &str, power_mwh: &str, power_benchmark: &str) -> String {
    format!(
        r#"{{"as":"HZ-EEB","cmd":"allocate_benchmark","entity":"{entity}","year":2025,"phase":"{phase}","units":[{{"fuel":"{fuel}","power_mwh":"{power_mwh}","heat_gj":"0","power_benchmark":"{power_benchmark}","heat_benchmark":"0","load_factor":"1"}}]}}"#
    )
}

fn alloc_of<'a>(m: &'a Market, entity: &str) -> &'a Allocation {
    &m.state.allocations[&(entity.to_string(), 2025)]
}

fn direct(m: &Market, entity: &str) -> i64 {
    m.state.reports[&(entity.to_string(), 2025)].direct_tonnes
}

fn indirect(m: &Market, entity: &str) -> i64 {
    m.state.reports[&(entity.to_string(), 2025)].indirect_tonnes
}

#[test]
fn a_pre_allocation_is_rounded_once_from_the_exact_product() {
    let mut m = compliance_market();
    // A = 1.948051948051948051948051948 * 1.1 = 2.1428571428571428571428571428
    // (29 significant digits); A * 0.70 = 1.49999999999999999999999999996 -> 1.
    // Rounding A to 28 digits first (...143) would give 1.5000...0001 -> 2.
    m.ok(&benchmark_unit(
        "A",
        "pre",
        "gas",
        "1.948051948051948051948051948",
        "1.1",
    ));
    assert_eq!(alloc_of(&m, "A").pre, Some(1));
    assert_eq!(m.holding("A", "ZJEA-2025"), (1000 + 1, 0, 0));
}

#[test]
fn a_final_allocation_is_rounded_once_from_the_exact_product() {
    let mut m = compliance_market();
    // A = 7.727272727272727272727272727 * 1.1 = 8.4999999999999999999999999997 -> 8;
    // to 28 digits it would be 8.5 -> 9. The floor round(0.80 * 1) = 1 is below it.
    confirm(&mut m, "A", 1);
    m.ok(&benchmark_unit(
        "A",
        "final",
        "gas",
        "7.727272727272727272727272727",
        "1.1",
    ));
    assert_eq!(alloc_of(&m, "A").final_qty, Some(8));
    assert_eq!(m.holding("A", "ZJEA-2025"), (1000 + 8, 0, 0));
}

#[test]
fn a_grandfathered_quantity_is_rounded_once_from_the_exact_product() {
    let mut m = compliance_market();
    // 868613621293 * (1 - 0.796371166916300576978315576)
    // = 176874778104.4999999999999999999978... -> 176874778104, not ...105.
    m.ok(r#"{"as":"HZ-EEB","cmd":"allocate_grandfather","entity":"A","year":2025,"baseline":868613621293,"decline":"0.796371166916300576978315576"}"#);
    let a = alloc_of(&m, "A");
    assert_eq!((a.final_qty, a.issued), (Some(176_874_778_104), 176_874_778_104));
}

#[test]
fn direct_emissions_are_rounded_once_from_the_exact_sum() {
    let mut m = compliance_market();
    // 675341.9011294546073506390361 * 19.123456789 * 1.3 * 0.98 * 44 / 12
    // = 60329670.5000000000000000000000... (over a half): 60329671.
    m.ok(&report_line(
        "A",
        "675341.9011294546073506390361",
        r#","ncv":"19.123456789","carbon":"1.3","oxidation":"0.98""#,
    ));
    assert_eq!(direct(&m, "A"), 60_329_671);
}

#[test]
fn a_product_too_large_for_a_decimal_on_the_way_is_not_refused() {
    let mut m = compliance_market();
    // 7.9e28 * 10 does not fit a Decimal, but the total is small:
    // 79.228... tC * 44 / 12 = 290.50... -> 291, not INVALID_QUANTITY.
    m.ok(&report_line(
        "A",
        "79228162514264337593543950335",
        r#","ncv":"10","carbon":"0.0000000000000000000000000001","oxidation":"1""#,
    ));
    assert_eq!(direct(&m, "A"), 291);
}

#[test]
fn indirect_emissions_are_rounded_once_from_the_exact_product() {
    let mut m = compliance_market();
    m.ok(r#"{"as":"ZJ-DEE","cmd":"define_factor_set","id":"FX","grid_tco2_per_mwh":"1.1","fuels":{"coal":{"ncv_gj_per_unit":"1","carbon_tc_per_gj":"1","oxidation":"1"}}}"#);
    // 7.727272727272727272727272727 * 1.1 = 8.4999999999999999999999999997 -> 8, not 9.
    m.ok(r#"{"as":"A","cmd":"submit_report","year":2025,"factor_set":"FX","fuels":[],"electricity_mwh":"7.727272727272727272727272727","power_mwh":"0","heat_gj":"0"}"#);
    assert_eq!((direct(&m, "A"), indirect(&m, "A")), (0, 8));
}

#[test]
fn only_a_figure_beyond_i64_is_invalid_quantity() {
    let mut m = compliance_market();
    m.ok(r#"{"as":"ZJ-DEE","cmd":"define_factor_set","id":"FX","grid_tco2_per_mwh":"1","fuels":{"coal":{"ncv_gj_per_unit":"1","carbon_tc_per_gj":"1","oxidation":"1"}}}"#);
    let report = |consumption: &str, electricity: &str| {
        format!(
            r#"{{"as":"A","cmd":"submit_report","year":2025,"factor_set":"FX","fuels":[{{"fuel":"coal","consumption":"{consumption}"}}],"electricity_mwh":"{electricity}","power_mwh":"0","heat_gj":"0"}}"#
        )
    };
    // round(c * 44 / 12) is i64::MAX just below (2^63 - 0.5) * 3 / 11, and beyond it above.
    m.ok(&report("2515465100960393402.045454545", "0"));
    assert_eq!(direct(&m, "A"), i64::MAX);
    m.err(&report("2515465100960393402.045454546", "0"), Code::InvalidQuantity);
    m.ok(&report("0", "9223372036854775807.499999999"));
    assert_eq!(indirect(&m, "A"), i64::MAX);
    m.err(&report("0", "9223372036854775807.5"), Code::InvalidQuantity);
    // Allocations: round(A * 0.70) and round(A) beyond i64.
    let huge = "79228162514264337593543950335";
    m.err(&benchmark_unit("B", "pre", "coal", huge, huge), Code::InvalidQuantity);
    confirm(&mut m, "C", 1);
    let nb = benchmark_unit("C", "final", "gas", huge, "1").replace("HZ-EEB", "NB-EEB");
    m.err(&nb, Code::InvalidQuantity);
}

#[test]
fn the_exact_helpers_agree_with_the_worked_figures() {
    use crate::num::parse_decimal;
    let d = |s: &str| parse_decimal(s).unwrap();
    let unit = |power_mwh: &str, power_benchmark: &str| crate::command::Unit {
        coal: false,
        power_mwh: d(power_mwh),
        heat_gj: d("0"),
        power_benchmark: d(power_benchmark),
        heat_benchmark: d("0"),
        load_factor: d("1"),
    };
    let total = allocation::benchmark_total(&[unit("1.948051948051948051948051948", "1.1")]);
    assert_eq!(total.to_string(), "2.1428571428571428571428571428");
    assert_eq!(allocation::pre_allocation(&total), Some(1));
    assert_eq!(allocation::final_allocation(&total, 1), Some(2));
    assert_eq!(allocation::final_allocation(&total, 5), Some(4));
    assert_eq!(
        allocation::grandfather_quantity(868_613_621_293, d("0.796371166916300576978315576")),
        Some(176_874_778_104)
    );
    assert_eq!(allocation::grandfather_quantity(1_000_000_000_000, d("1")), Some(0));
    assert_eq!(
        allocation::grandfather_quantity(1_000_000_000_000, d("0")),
        Some(1_000_000_000_000)
    );
    assert_eq!(mrv::indirect_emissions(d("101"), d("0.5")), Some(51));
    assert_eq!(
        mrv::indirect_emissions(d("7.727272727272727272727272727"), d("1.1")),
        Some(8)
    );
    let total = allocation::benchmark_total(&[unit("7.727272727272727272727272727", "1.1")]);
    assert_eq!(total.to_string(), "8.4999999999999999999999999997");
    assert_eq!(allocation::final_allocation(&total, 1), Some(8));
}
