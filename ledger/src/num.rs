//! Exact numbers: decimal strings in, integer ticks and cents inside.
//!
//! Prices are integer ticks of 0.01 CNY (`i64`), money is integer cents
//! (`i128`, so that no sum of `price * qty` can overflow), quantities are
//! whole tonnes (`i64`). Factors and measures that need more decimals
//! (benchmarks, load factors, emission factors) stay `rust_decimal::Decimal`;
//! the products and sums the rulebook makes of them (allocations, emission
//! reports) are taken in [`Exact`], never rounded on the way, and rounded
//! once, at the end. No floating point touches money; the one float in the
//! rulebook is the load-factor power of 9.1.

use std::fmt;
use std::ops::{Add, Mul, Sub};

use num_bigint::{BigInt, Sign};
use rust_decimal::prelude::*;

/// Largest quantity of tonnes any command may name (RULEBOOK.md 1).
pub const MAX_QTY_TONNES: i64 = 1_000_000_000_000;

/// Money in cents (0.01 CNY).
pub type Cents = i128;
/// A price in ticks (0.01 CNY per tonne).
pub type Ticks = i64;

/// True when `s` is a decimal of the rulebook's form `-?[0-9]+(\.[0-9]+)?`
/// (no exponent, no `+`, no bare `.5`).
pub fn is_decimal_form(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

/// Parses a decimal of the rulebook's form exactly. Trailing zeros after the
/// point are dropped first, so `"58.200000"` is 58.2. `None` when the form
/// is wrong or the number has more digits than can be held exactly (28
/// significant digits), which the ledger reports as `MALFORMED`.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    if !is_decimal_form(s) {
        return None;
    }
    let trimmed = match s.split_once('.') {
        Some((int, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                int.to_string()
            } else {
                format!("{int}.{frac}")
            }
        }
        None => s.to_string(),
    };
    // Strip leading zeros of the integer part so long zero runs still fit.
    let (neg, body) = match trimmed.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, trimmed.as_str()),
    };
    let body = body.trim_start_matches('0');
    let body = if body.is_empty() || body.starts_with('.') {
        format!("0{body}")
    } else {
        body.to_string()
    };
    let d = Decimal::from_str_exact(&body).ok()?;
    Some(if neg { -d } else { d })
}

/// Largest price the ledger holds, in ticks (10^13 CNY per tonne). A valid
/// price above it can only be outside every band; see docs/RULES.md.
pub const MAX_PRICE_TICKS: Ticks = 1_000_000_000_000_000;

/// A price or money amount as written: a decimal of the rulebook's form, of
/// any length. Its value is checked later, in the order of RULEBOOK.md 12,
/// exactly, without going through a fixed-precision decimal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount(String);

/// What a price or amount is worth, once checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Worth {
    /// A positive multiple of 0.01, in cents, at most `i128::MAX / 2`.
    Cents(Cents),
    /// Zero, negative or finer than 0.01.
    Invalid,
    /// A positive multiple of 0.01 too large to hold.
    Huge,
}

impl Amount {
    /// Checks the form; `None` is `MALFORMED`.
    pub fn parse(s: &str) -> Option<Amount> {
        is_decimal_form(s).then(|| Amount(s.to_string()))
    }

    /// The value (RULEBOOK.md 13.2: valid when numerically a positive multiple of 0.01).
    pub fn worth(&self) -> Worth {
        let s = self.0.as_str();
        if s.starts_with('-') {
            // "-0.00" is zero and "-1" negative: invalid either way.
            return Worth::Invalid;
        }
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 {
            return Worth::Invalid;
        }
        let int = int.trim_start_matches('0');
        let digits = format!("{int}{frac:0<2}");
        let digits = digits.trim_start_matches('0');
        if digits.is_empty() {
            return Worth::Invalid;
        }
        match digits.parse::<Cents>() {
            Ok(c) if c <= Cents::MAX / 2 => Worth::Cents(c),
            _ => Worth::Huge,
        }
    }

    /// As a price in ticks: `Err(Worth::Invalid)` or `Err(Worth::Huge)` above [`MAX_PRICE_TICKS`].
    pub fn ticks(&self) -> Result<Ticks, Worth> {
        match self.worth() {
            Worth::Cents(c) if c <= Cents::from(MAX_PRICE_TICKS) => Ok(c as Ticks),
            Worth::Cents(_) | Worth::Huge => Err(Worth::Huge),
            Worth::Invalid => Err(Worth::Invalid),
        }
    }
}

/// `n / d` rounded half away from zero (`d > 0`).
pub fn div_round(n: i128, d: i128) -> i128 {
    assert!(d > 0, "division by a non-positive number");
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

/// `ceil(n / d)` for `d > 0`.
pub fn div_ceil(n: i128, d: i128) -> i128 {
    assert!(d > 0);
    let q = n.div_euclid(d);
    if n.rem_euclid(d) == 0 {
        q
    } else {
        q + 1
    }
}

/// `floor(n / d)` for `d > 0`.
pub fn div_floor(n: i128, d: i128) -> i128 {
    assert!(d > 0);
    n.div_euclid(d)
}

/// An exact decimal of any length: `units / 10^scale`.
///
/// The arithmetic of RULEBOOK.md 9.1, 9.2 and 10 (13.3: exact, rounded once
/// at the end). A `Decimal` cannot do it: it holds 28 significant digits and
/// silently rounds a product or a sum that needs more, so a total just under
/// `n + 0.5` can be carried onto it. Products of up to four 28-digit factors
/// need some 380 bits, beyond `i128`, hence a big integer. Sums, differences
/// and products are exact and never overflow; only [`Exact::round_ratio`]
/// rounds, once, and fails when the whole number does not fit an `i64`.
#[derive(Clone, Debug)]
pub struct Exact {
    units: BigInt,
    scale: u32,
}

impl Exact {
    /// Zero.
    pub fn zero() -> Exact {
        Exact::int(0)
    }

    /// A whole number.
    pub fn int(n: i64) -> Exact {
        Exact {
            units: BigInt::from(n),
            scale: 0,
        }
    }

    /// A decimal, as it is (mantissa and scale).
    pub fn dec(d: Decimal) -> Exact {
        Exact {
            units: BigInt::from(d.mantissa()),
            scale: d.scale(),
        }
    }

    /// The units of `self` at the finer scale `scale` (`>= self.scale`).
    fn units_at(&self, scale: u32) -> BigInt {
        &self.units * BigInt::from(10u32).pow(scale - self.scale)
    }

    /// `self * num / den` rounded half away from zero to a whole number,
    /// exactly (the division as a fraction, RULEBOOK.md 13.3). `None` when
    /// the whole number does not fit an `i64`.
    pub fn round_ratio(&self, num: u32, den: u32) -> Option<i64> {
        assert!(den > 0, "division by zero");
        let n = &self.units * num;
        let d = BigInt::from(10u32).pow(self.scale) * den;
        let mut q = &n / &d; // truncated towards zero, as is the remainder
        let r = &n % &d;
        if r.magnitude() * 2u32 >= *d.magnitude() {
            q += if n.sign() == Sign::Minus { -1 } else { 1 };
        }
        i64::try_from(&q).ok()
    }

    /// `self` rounded half away from zero to a whole number, exactly;
    /// `None` when it does not fit an `i64`.
    pub fn round(&self) -> Option<i64> {
        self.round_ratio(1, 1)
    }
}

impl From<Decimal> for Exact {
    fn from(d: Decimal) -> Exact {
        Exact::dec(d)
    }
}

impl Add for Exact {
    type Output = Exact;
    fn add(self, rhs: Exact) -> Exact {
        let scale = self.scale.max(rhs.scale);
        Exact {
            units: self.units_at(scale) + rhs.units_at(scale),
            scale,
        }
    }
}

impl Sub for Exact {
    type Output = Exact;
    fn sub(self, rhs: Exact) -> Exact {
        let scale = self.scale.max(rhs.scale);
        Exact {
            units: self.units_at(scale) - rhs.units_at(scale),
            scale,
        }
    }
}

impl Mul for Exact {
    type Output = Exact;
    fn mul(self, rhs: Exact) -> Exact {
        Exact {
            units: self.units * rhs.units,
            scale: self.scale + rhs.scale,
        }
    }
}

impl std::iter::Sum for Exact {
    fn sum<I: Iterator<Item = Exact>>(iter: I) -> Exact {
        iter.fold(Exact::zero(), |a, b| a + b)
    }
}

/// Equal in value, whatever the scales (`1.50 == 1.5`).
impl PartialEq for Exact {
    fn eq(&self, other: &Exact) -> bool {
        let scale = self.scale.max(other.scale);
        self.units_at(scale) == other.units_at(scale)
    }
}

impl Eq for Exact {}

/// The exact decimal form, without trailing zeros after the point (`"-12.05"`).
impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units.sign() == Sign::Minus { "-" } else { "" };
        let digits = self.units.magnitude().to_string();
        let scale = self.scale as usize;
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = digits.split_at(digits.len() - scale);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            write!(f, "{sign}{int}")
        } else {
            write!(f, "{sign}{int}.{frac}")
        }
    }
}

/// Formats cents as CNY with exactly two decimals (`"-12.05"`).
pub fn fmt_cents(c: Cents) -> String {
    let sign = if c < 0 { "-" } else { "" };
    let a = c.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Formats ticks as a price with exactly two decimals.
pub fn fmt_ticks(t: Ticks) -> String {
    fmt_cents(Cents::from(t))
}

/// The lower edge of a price band: `ceil_tick(reference * pct / 100)`.
pub fn band_low(reference: Ticks, pct: i64) -> Ticks {
    div_ceil(i128::from(reference) * i128::from(pct), 100) as Ticks
}

/// The upper edge of a price band: `floor_tick(reference * pct / 100)`.
pub fn band_high(reference: Ticks, pct: i64) -> Ticks {
    div_floor(i128::from(reference) * i128::from(pct), 100) as Ticks
}

/// The load-factor correction of RULEBOOK.md 9.1 and 13.3: for a coal unit
/// with `F < 0.65`, `1.015^(16 - 20F)` with the exponent exact, the power in
/// double precision, and the double's shortest decimal form rounded half
/// away from zero to 6 places; otherwise 1.
pub fn load_factor_correction(coal: bool, load_factor: Decimal) -> Decimal {
    if !coal || load_factor >= Decimal::new(65, 2) {
        return Decimal::ONE;
    }
    let exponent = Decimal::from(16) - Decimal::from(20) * load_factor;
    let exponent: f64 = exponent
        .to_string()
        .parse()
        .expect("a decimal's string is a valid float");
    let power = 1.015f64.powf(exponent);
    // Rust's `Display` for f64 is the shortest string that round-trips.
    let shortest = format!("{power}");
    let d = Decimal::from_str(&shortest).expect("a finite power prints as a decimal");
    d.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        parse_decimal(s).unwrap()
    }

    #[test]
    fn decimal_form_follows_the_fine_print() {
        for ok in ["0", "58.20", "-1.00", "58.200", "007", "0.0001"] {
            assert!(is_decimal_form(ok), "{ok}");
        }
        for bad in ["", ".5", "5.", "+1", "1e3", "1.2.3", "-", "1,0", " 1", "NaN"] {
            assert!(!is_decimal_form(bad), "{bad}");
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(7, 3), 2);
        assert_eq!(Exact::dec(dec("1.5")).round_ratio(1, 1), Some(2));
        assert_eq!(Exact::dec(dec("3")).round_ratio(44, 12), Some(11));
        assert_eq!(Exact::dec(dec("2.5")).round(), Some(3));
    }

    #[test]
    fn exact_decimals_never_round_on_the_way() {
        let x = |s: &str| Exact::dec(dec(s));
        // 1.948051948051948051948051948 * 1.1 has 29 significant digits; a
        // Decimal rounds it up to ...143, and 70% of that to just over 1.5.
        let p = x("1.948051948051948051948051948") * x("1.1");
        assert_eq!(p.to_string(), "2.1428571428571428571428571428");
        assert_eq!((p.clone() * x("0.70")).to_string(), "1.49999999999999999999999999996");
        assert_eq!((p.clone() * x("0.70")).round(), Some(1));
        assert_eq!(p.round_ratio(7, 10), Some(1));
        assert_eq!(x("1.50") + x("0.5"), Exact::int(2));
        assert_eq!(
            x("1") - x("0.0000000000000000000000000001"),
            x("0.9999999999999999999999999999")
        );
        assert_eq!(Exact::zero().to_string(), "0");
        assert_eq!(x("0.05").to_string(), "0.05");
        assert_eq!((Exact::zero() - x("12.05")).to_string(), "-12.05");
        assert_eq!(vec![x("0.25"), x("0.25")].into_iter().sum::<Exact>(), x("0.5"));
    }

    #[test]
    fn exact_rounding_is_half_away_from_zero_and_fits_an_i64() {
        let x = |s: &str| Exact::dec(dec(s));
        assert_eq!(x("2.5").round(), Some(3));
        assert_eq!(x("-2.5").round(), Some(-3));
        assert_eq!(x("2.4999999999999999999999999999").round(), Some(2));
        assert_eq!(x("-2.4999999999999999999999999999").round(), Some(-2));
        assert_eq!(x("3").round_ratio(44, 12), Some(11));
        assert_eq!(x("1").round_ratio(44, 12), Some(4)); // 3.67
        assert_eq!(x("0.1875").round_ratio(44, 12), Some(1)); // 0.6875
                                                              // 0.49999...99976 and 0.5000...00013
        assert_eq!(x("0.1363636363636363636363636363").round_ratio(44, 12), Some(0));
        assert_eq!(x("0.1363636363636363636363636364").round_ratio(44, 12), Some(1));
        assert_eq!(Exact::zero().round(), Some(0));
        // i64::MAX is the limit of the rounded figure, not of the way there.
        let max = Exact::int(i64::MAX);
        assert_eq!(max.round(), Some(i64::MAX));
        assert_eq!((max.clone() + x("0.4999")).round(), Some(i64::MAX));
        assert_eq!((max.clone() + x("0.5")).round(), None);
        let huge = x("79228162514264337593543950335");
        let tiny = x("0.0000000000000000000000000001");
        assert_eq!((huge.clone() * huge.clone()).round(), None);
        // (7.9e28)^2 * (1e-28)^2 = 62.77...
        assert_eq!((huge.clone() * huge * tiny.clone() * tiny).round(), Some(63));
    }

    #[test]
    fn bands_round_inwards_to_ticks() {
        // 58.00 +-10%: [52.20, 63.80]
        assert_eq!(band_low(5800, 90), 5220);
        assert_eq!(band_high(5800, 110), 6380);
        // 58.01: 52.209 -> 52.21, 63.811 -> 63.81
        assert_eq!(band_low(5801, 90), 5221);
        assert_eq!(band_high(5801, 110), 6381);
    }

    #[test]
    fn amounts_are_exact_at_any_length() {
        let w = |s: &str| Amount::parse(s).unwrap().worth();
        assert_eq!(w("58.20"), Worth::Cents(5820));
        assert_eq!(w("58.200000000000000000000000000000000000"), Worth::Cents(5820));
        assert_eq!(w("0058.2"), Worth::Cents(5820));
        assert_eq!(w("100000000000000000000000000000000"), Worth::Cents(10i128.pow(34)));
        assert_eq!(w("12.345"), Worth::Invalid);
        assert_eq!(w("0.00"), Worth::Invalid);
        assert_eq!(w("-0"), Worth::Invalid);
        assert_eq!(w("-1.00"), Worth::Invalid);
        assert_eq!(w(&"9".repeat(60)), Worth::Huge);
        assert_eq!(Amount::parse("58.20").unwrap().ticks(), Ok(5820));
        assert_eq!(Amount::parse("10000000000000.01").unwrap().ticks(), Err(Worth::Huge));
        assert!(Amount::parse("1e3").is_none());
    }

    #[test]
    fn money_prints_with_two_decimals() {
        assert_eq!(fmt_cents(0), "0.00");
        assert_eq!(fmt_cents(5), "0.05");
        assert_eq!(fmt_cents(-1205), "-12.05");
        assert_eq!(fmt_ticks(5820), "58.20");
    }

    #[test]
    fn load_factor_correction_matches_the_formula() {
        assert_eq!(load_factor_correction(false, dec("0.3")), Decimal::ONE);
        assert_eq!(load_factor_correction(true, dec("0.65")), Decimal::ONE);
        // F = 0.5: 1.015^6 = 1.0934432...
        assert_eq!(load_factor_correction(true, dec("0.5")), dec("1.093443"));
        // F = 0: 1.015^16
        assert_eq!(load_factor_correction(true, dec("0")), dec("1.268986"));
    }
}
