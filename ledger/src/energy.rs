//! Energy use in emission reports (RULEBOOK.md 15.2): the carriers, their
//! GB/T 2589-2020 coefficients, and `U = round(sum(qty * coefficient))` tce.
//!
//! The coefficients are a fixed table of the rulebook, not a factor set:
//! they never change, so they are constants here rather than state.

use rust_decimal::Decimal;

use crate::num::round_whole;

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

/// `U` of a report's energy lines, exact and rounded once, half away from
/// zero. `None` when the sum does not fit a decimal or the result an `i64`
/// (quantities beyond 10^15 tce or so: see docs/RULES.md).
pub fn energy_use_tce(lines: &[(Carrier, Decimal)]) -> Option<i64> {
    let mut sum = Decimal::ZERO;
    for &(carrier, qty) in lines {
        sum = sum.checked_add(qty.checked_mul(carrier.tce_per_unit())?)?;
    }
    round_whole(sum)
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
}
