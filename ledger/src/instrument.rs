//! Instrument families: the one place that knows what a symbol is.
//!
//! The market lists three kinds of unit on one ledger: emission allowances
//! `ZJEA-<year>` (RULEBOOK.md 1), energy-use rights `ZJEU-<year>` (15.1) and
//! offsets `CCER`. They share the registry, the order books, halts and
//! settlement unchanged: one engine, not one per market. What differs is
//! asked here and nowhere else, so that a rule reads "if the family counts
//! toward positions", never "if the symbol starts with ZJEA":
//!
//! - which obligation a surrender counts against (11, 15.3);
//! - whether holdings count toward positions, limits and large holders (14.1);
//! - whether a year is allocated (9 concerns allowances only);
//! - the vintage a symbol carries, and the symbol of a family's year.

/// A kind of unit the ledger holds and trades.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Family {
    /// `ZJEA-<year>`: emission allowances, tCO2.
    Allowance,
    /// `ZJEU-<year>`: energy-use rights (用能权), tce.
    EnergyRight,
    /// `CCER`: certified emission reductions, tCO2, without vintage.
    Offset,
}

const ALLOWANCE_PREFIX: &str = "ZJEA-";
const ENERGY_PREFIX: &str = "ZJEU-";
const OFFSET_SYMBOL: &str = "CCER";

impl Family {
    /// The family of a well-formed symbol (RULEBOOK.md 13.9, 15.1): `CCER`,
    /// or `ZJEA-`/`ZJEU-` and four digits. `None` for anything else.
    pub fn of(symbol: &str) -> Option<Family> {
        if symbol == OFFSET_SYMBOL {
            return Some(Family::Offset);
        }
        let year_digits = |rest: &str| rest.len() == 4 && rest.bytes().all(|b| b.is_ascii_digit());
        if symbol.strip_prefix(ALLOWANCE_PREFIX).is_some_and(year_digits) {
            Some(Family::Allowance)
        } else if symbol.strip_prefix(ENERGY_PREFIX).is_some_and(year_digits) {
            Some(Family::EnergyRight)
        } else {
            None
        }
    }

    /// Holdings count toward positions, position limits and large holders
    /// (RULEBOOK.md 14.1, 15.1): allowances only.
    pub fn counts_toward_position(self) -> bool {
        self == Family::Allowance
    }

    /// The obligation a surrender of this family meets (RULEBOOK.md 11, 15.3).
    pub fn obligation(self) -> ObligationKind {
        match self {
            Family::Allowance | Family::Offset => ObligationKind::Carbon,
            Family::EnergyRight => ObligationKind::Energy,
        }
    }
}

/// The two obligations of a compliance year: tonnes of CO2 (RULEBOOK.md 11)
/// and tonnes of standard coal equivalent (15.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObligationKind {
    Carbon,
    Energy,
}

impl ObligationKind {
    /// The symbol of the year whose closing prices set this obligation's
    /// penalty (RULEBOOK.md 11, 15.4).
    pub fn penalty_symbol(self, year: i64) -> String {
        match self {
            ObligationKind::Carbon => allowance_symbol(year),
            ObligationKind::Energy => energy_symbol(year),
        }
    }
}

/// True for a symbol `define_instrument` accepts (RULEBOOK.md 13.9, 15.1).
pub fn is_symbol_form(symbol: &str) -> bool {
    Family::of(symbol).is_some()
}

/// The vintage year of a `ZJEA-`/`ZJEU-` symbol; `None` for `CCER` and
/// anything that is not a symbol.
pub fn vintage(symbol: &str) -> Option<i64> {
    match Family::of(symbol)? {
        Family::Allowance | Family::EnergyRight => symbol[ALLOWANCE_PREFIX.len()..].parse().ok(),
        Family::Offset => None,
    }
}

/// The allowance symbol of a year, `ZJEA-<year>`.
pub fn allowance_symbol(year: i64) -> String {
    format!("{ALLOWANCE_PREFIX}{year}")
}

/// The energy-use right symbol of a year, `ZJEU-<year>`.
pub fn energy_symbol(year: i64) -> String {
    format!("{ENERGY_PREFIX}{year}")
}

/// True when `symbol`'s holdings count toward positions (RULEBOOK.md 14.1).
pub fn counts_toward_position(symbol: &str) -> bool {
    Family::of(symbol).is_some_and(Family::counts_toward_position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_ccer_or_a_vintage_of_allowances_or_energy_rights() {
        assert_eq!(Family::of("CCER"), Some(Family::Offset));
        assert_eq!(Family::of("ZJEA-2025"), Some(Family::Allowance));
        assert_eq!(Family::of("ZJEU-2025"), Some(Family::EnergyRight));
        for bad in ["ZJEA-25", "ZJEU-20250", "ZJEU_2025", "EUA", "ZJEU-２０２5", "ccer", ""] {
            assert_eq!(Family::of(bad), None, "{bad}");
        }
        assert_eq!(vintage("ZJEA-2025"), Some(2025));
        assert_eq!(vintage("ZJEU-2024"), Some(2024));
        assert_eq!(vintage("CCER"), None);
        assert_eq!(vintage("ZJEX-2024"), None);
    }

    #[test]
    fn only_allowances_count_toward_positions() {
        assert!(counts_toward_position("ZJEA-2025"));
        assert!(!counts_toward_position("ZJEU-2025"));
        assert!(!counts_toward_position("CCER"));
        assert!(!counts_toward_position("ZJEA-X"));
    }

    #[test]
    fn energy_rights_meet_the_energy_obligation_and_the_rest_the_carbon_one() {
        assert_eq!(Family::EnergyRight.obligation(), ObligationKind::Energy);
        assert_eq!(Family::Allowance.obligation(), ObligationKind::Carbon);
        assert_eq!(Family::Offset.obligation(), ObligationKind::Carbon);
        assert_eq!(ObligationKind::Energy.penalty_symbol(2026), "ZJEU-2026");
        assert_eq!(ObligationKind::Carbon.penalty_symbol(2026), "ZJEA-2026");
    }
}
