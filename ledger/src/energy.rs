//! Energy use in emission reports (RULEBOOK.md 15.2): the carriers, their
//! GB/T 2589-2020 coefficients, and `U = round(sum(qty * coefficient))` tce.
//!
//! The coefficients are a fixed table of the rulebook, not a factor set:
//! they never change, so they are constants here rather than state.

use rust_decimal::Decimal;

/// An energy carrier of RULEBOOK.md 15.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Carrier {
    Coal,
    Coke,
    CrudeOil,
    FuelOil,
    Gasoline,
    Diesel,
    Lpg,
    NaturalGas,
    Electricity,
    Heat,
}

/// Name, carrier, and tce per unit (as the rulebook writes it: a decimal
/// string, so that no coefficient passes through floating point).
const TABLE: [(&str, Carrier, &str); 10] = [
    ("coal", Carrier::Coal, "0.7143"),
    ("coke", Carrier::Coke, "0.9714"),
    ("crude_oil", Carrier::CrudeOil, "1.4286"),
    ("fuel_oil", Carrier::FuelOil, "1.4286"),
    ("gasoline", Carrier::Gasoline, "1.4714"),
    ("diesel", Carrier::Diesel, "1.4571"),
    ("lpg", Carrier::Lpg, "1.7143"),
    ("natural_gas", Carrier::NaturalGas, "12.1430"),
    ("electricity", Carrier::Electricity, "0.1229"),
    ("heat", Carrier::Heat, "0.03412"),
];

impl Carrier {
    /// The carrier named `name` in the table; `None` for an unknown one
    /// (`MALFORMED`).
    pub fn from_name(name: &str) -> Option<Carrier> {
        TABLE.iter().find(|(n, _, _)| *n == name).map(|&(_, c, _)| c)
    }

    /// The name as the rulebook spells it.
    pub fn as_str(self) -> &'static str {
        TABLE[self as usize].0
    }

    /// Tonnes of standard coal equivalent per unit of the carrier.
    pub fn tce_per_unit(self) -> Decimal {
        TABLE[self as usize]
            .2
            .parse()
            .expect("the table's coefficients are decimals")
    }
}

/// The scale at which the fractional parts of the lines are added: a
/// quantity has at most 28 decimals (`num::parse_decimal`), a coefficient 5.
const FRACTION_SCALE: u32 = 33;

/// `U` of a report's energy lines, exact and rounded once, half away from
/// zero (quantities are never negative). `None` when the result does not fit
/// an `i64` (beyond 9 * 10^18 tce: see docs/RULES.md).
///
/// A `Decimal` sum would not be exact: a product or a sum of more than 28
/// significant digits is silently rounded, which can carry a total just
/// under `n + 0.5` onto it. So each product `qty * coefficient` is split
/// into its whole part and its fraction, the fractions are added at a
/// common scale of 10^33 (each below 10^33, ten of them below 10^34), and
/// the total is rounded once from those.
pub fn energy_use_tce(lines: &[(Carrier, Decimal)]) -> Option<i64> {
    let one = 10i128.pow(FRACTION_SCALE);
    let (mut whole, mut fraction) = (0i128, 0i128);
    for &(carrier, qty) in lines {
        let coefficient = carrier.tce_per_unit();
        let scale = qty.scale() + coefficient.scale();
        let product = qty.mantissa().checked_mul(coefficient.mantissa())?;
        let unit = 10i128.checked_pow(scale)?;
        whole = whole.checked_add(product.div_euclid(unit))?;
        let rest = product.rem_euclid(unit);
        fraction = fraction.checked_add(rest.checked_mul(10i128.checked_pow(FRACTION_SCALE.checked_sub(scale)?)?)?)?;
    }
    whole = whole.checked_add(fraction / one)?;
    if (fraction % one) * 2 >= one {
        whole = whole.checked_add(1)?;
    }
    i64::try_from(whole).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_table_is_in_declaration_order() {
        for (i, (name, c, _)) in TABLE.iter().enumerate() {
            assert_eq!(*c as usize, i, "{name}");
            assert_eq!(Carrier::from_name(name), Some(*c));
            assert_eq!(c.as_str(), *name);
        }
        assert_eq!(Carrier::from_name("Coal"), None);
        assert_eq!(Carrier::from_name("hydrogen"), None);
    }

    #[test]
    fn every_carrier_once() {
        let one = |c: &str, qty: &str| energy_use_tce(&[(Carrier::from_name(c).unwrap(), d(qty))]).unwrap();
        assert_eq!(one("coal", "1000"), 714);
        assert_eq!(one("coke", "1000"), 971);
        assert_eq!(one("crude_oil", "1000"), 1429);
        assert_eq!(one("fuel_oil", "1000"), 1429);
        assert_eq!(one("gasoline", "1000"), 1471);
        assert_eq!(one("diesel", "1000"), 1457);
        assert_eq!(one("lpg", "1000"), 1714);
        assert_eq!(one("natural_gas", "100"), 1214);
        assert_eq!(one("electricity", "10000"), 1229);
        assert_eq!(one("heat", "100000"), 3412);
    }

    #[test]
    fn u_is_rounded_once_half_away_from_zero() {
        // 12,500 GJ of heat is exactly 426.5 tce.
        assert_eq!(energy_use_tce(&[(Carrier::Heat, d("12500"))]), Some(427));
        assert_eq!(energy_use_tce(&[(Carrier::Heat, d("12499.99"))]), Some(426));
        // Rounded once: two lines of 0.44356 tce give 1, not 0 + 0.
        let heat_13 = (Carrier::Heat, d("13"));
        assert_eq!(energy_use_tce(&[heat_13]), Some(0));
        assert_eq!(energy_use_tce(&[heat_13, heat_13]), Some(1));
        assert_eq!(energy_use_tce(&[]), Some(0));
    }

    #[test]
    fn u_is_exact_beyond_28_significant_digits() {
        // 12499.99999999999999999999999 GJ of heat is 426.5 - 3.412e-25 tce:
        // with 7,143,000 tce of coal the exact sum has 32 significant
        // digits and is just under a half, so U rounds down.
        let heat = (Carrier::Heat, d("12499.99999999999999999999999"));
        let coal = (Carrier::Coal, d("10000000"));
        assert_eq!(energy_use_tce(&[heat, coal]), Some(7_143_426));
        assert_eq!(energy_use_tce(&[coal, heat]), Some(7_143_426));
        let just_over = (Carrier::Heat, d("12500.00000000000000000000001"));
        assert_eq!(energy_use_tce(&[just_over, coal]), Some(7_143_427));
        // A whole product and a fraction of 28 decimals times 5.
        let tiny = (Carrier::Heat, d("0.0000000000000000000000000001"));
        assert_eq!(energy_use_tce(&[tiny]), Some(0));
        let huge = (Carrier::NaturalGas, d("79228162514264337593543950335"));
        assert_eq!(energy_use_tce(&[huge]), None);
    }
}
