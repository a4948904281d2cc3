//! Commands as the state machine sees them: decoded from the signed
//! protobuf bytes and checked for form (RULEBOOK.md 12, first groups, and
//! 13.1), so that `apply` works only on well-formed values.

use std::collections::{BTreeMap, BTreeSet};

use carbon_proto::v1 as pb;
use rust_decimal::Decimal;

use crate::code::Code;
use crate::energy::Carrier;
use crate::instrument::is_symbol_form;
use crate::num::{parse_decimal, Amount};

/// A role of RULEBOOK.md 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Role {
    Operator,
    Regulator,
    Entity,
    Investor,
    Verifier,
    /// Read-only: created by `ZJ`, reads what docs/ACCESS.md gives it,
    /// may sign no command (a reading beyond the rulebook, docs/RULES.md).
    Auditor,
}

impl Role {
    /// The role as the rulebook spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Regulator => "regulator",
            Role::Entity => "entity",
            Role::Investor => "investor",
            Role::Verifier => "verifier",
            Role::Auditor => "auditor",
        }
    }

    /// Entities and investors are the market's traders (RULEBOOK.md 13.6).
    pub fn trades(self) -> bool {
        matches!(self, Role::Entity | Role::Investor)
    }
}

/// An order side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Side {
    Buy,
    Sell,
}

/// An order's type; a limit order's price is checked for value later, in
/// the rulebook's order of checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderType {
    Limit,
    Market,
}

/// Time in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tif {
    Day,
    Ioc,
    Fok,
}

/// Benchmark allocation phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pre,
    Final,
}

/// One generating unit of a benchmark allocation (RULEBOOK.md 9.1).
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub coal: bool,
    pub power_mwh: Decimal,
    pub heat_gj: Decimal,
    pub power_benchmark: Decimal,
    pub heat_benchmark: Decimal,
    pub load_factor: Decimal,
}

/// Default factors of one fuel (RULEBOOK.md 10).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FuelFactors {
    #[serde(with = "crate::state::image::decimal")]
    pub ncv_gj_per_unit: Decimal,
    #[serde(with = "crate::state::image::decimal")]
    pub carbon_tc_per_gj: Decimal,
    #[serde(with = "crate::state::image::decimal")]
    pub oxidation: Decimal,
}

/// One fuel line of an emission report; `None` takes the factor set's default.
#[derive(Clone, Debug, PartialEq)]
pub struct FuelUse {
    pub fuel: String,
    pub consumption: Decimal,
    pub ncv: Option<Decimal>,
    pub carbon: Option<Decimal>,
    pub oxidation: Option<Decimal>,
}

/// A well-formed command of RULEBOOK.md. Decimals that are checked for
/// *value* (prices, amounts) stay `Decimal` here: their value checks come
/// later in the order of RULEBOOK.md 12.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    CreateAccount {
        id: String,
        role: Role,
        jurisdiction: Option<String>,
        public_key: [u8; 32],
    },
    DefineInstrument {
        symbol: String,
        reference_price: Amount,
    },
    Deposit {
        account: String,
        amount: Amount,
    },
    Withdraw {
        account: String,
        amount: Amount,
    },
    Issue {
        instrument: String,
        to: String,
        qty: i64,
    },
    Transfer {
        instrument: String,
        to: String,
        qty: i64,
    },
    Retire {
        instrument: String,
        qty: i64,
        beneficiary: String,
    },
    Freeze {
        account: String,
    },
    Unfreeze {
        account: String,
    },
    OpenDay {
        date: String,
    },
    CloseDay,
    Order {
        id: String,
        instrument: String,
        side: Side,
        order_type: OrderType,
        tif: Tif,
        price: Option<Amount>,
        qty: i64,
    },
    Cancel {
        id: String,
        account: Option<String>,
    },
    BlockPropose {
        id: String,
        instrument: String,
        side: Side,
        counterparty: String,
        qty: i64,
        price: Amount,
    },
    BlockAccept {
        proposer: String,
        id: String,
    },
    BlockCancel {
        id: String,
    },
    AuctionOpen {
        id: String,
        instrument: String,
        qty: i64,
        reserve_price: Amount,
    },
    AuctionBid {
        auction: String,
        id: String,
        price: Amount,
        qty: i64,
    },
    AuctionClose {
        auction: String,
    },
    AllocateBenchmark {
        entity: String,
        year: i64,
        phase: Phase,
        units: Vec<Unit>,
    },
    AllocateGrandfather {
        entity: String,
        year: i64,
        baseline: i64,
        decline: Decimal,
    },
    DefineFactorSet {
        id: String,
        grid_tco2_per_mwh: Decimal,
        fuels: BTreeMap<String, FuelFactors>,
    },
    SubmitReport {
        year: i64,
        factor_set: String,
        fuels: Vec<FuelUse>,
        electricity_mwh: Decimal,
        power_mwh: Decimal,
        heat_gj: Decimal,
        /// Energy use by carrier (RULEBOOK.md 15.2), each carrier at most once.
        energy: Vec<(Carrier, Decimal)>,
    },
    VerifyReport {
        entity: String,
        year: i64,
        verified_emissions: Option<i64>,
        verified_energy: Option<i64>,
    },
    ConfirmReport {
        entity: String,
        year: i64,
    },
    ReturnReport {
        entity: String,
        year: i64,
    },
    Surrender {
        year: i64,
        instrument: String,
        qty: i64,
    },
    CloseYear {
        year: i64,
    },
    SetPositionLimits {
        entity_extra: i64,
        investor: i64,
    },
    Halt {
        instrument: String,
    },
    Resume {
        instrument: String,
    },
    DeclareGroup {
        id: String,
        /// 2 to [`MAX_GROUP_MEMBERS`] distinct ids, in declared order.
        members: Vec<String>,
    },
}

/// Most members of a group of related accounts (RULEBOOK.md 14.3).
pub const MAX_GROUP_MEMBERS: usize = 50;

/// The id pattern of RULEBOOK.md 1: `^[A-Za-z0-9][A-Za-z0-9._-]{0,35}$`.
pub fn is_valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 36
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A jurisdiction code: 2 to 4 capital letters.
pub fn is_jurisdiction_form(s: &str) -> bool {
    (2..=4).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_uppercase())
}

/// A calendar date `YYYY-MM-DD` that exists.
pub fn is_valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r.clone()]
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| s[r].parse().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

type Form<T> = Result<T, Code>;

/// Most bytes of any string field of a command (names, symbols, decimals,
/// beneficiaries, fuel names); longer is `MALFORMED`. A limit on hostile
/// input (docs/RULES.md), not a market rule: ids are shorter still (36).
pub const MAX_TEXT_BYTES: usize = 256;

fn bounded(v: &Option<String>) -> Form<&str> {
    match v {
        Some(s) if s.len() <= MAX_TEXT_BYTES => Ok(s),
        _ => Err(Code::Malformed),
    }
}

fn id(v: &Option<String>) -> Form<String> {
    match v {
        Some(s) if is_valid_id(s) => Ok(s.clone()),
        _ => Err(Code::Malformed),
    }
}

fn text(v: &Option<String>) -> Form<String> {
    bounded(v).map(str::to_string)
}

fn int(v: Option<i64>) -> Form<i64> {
    v.ok_or(Code::Malformed)
}

fn amount(v: &Option<String>) -> Form<Amount> {
    Amount::parse(bounded(v)?).ok_or(Code::Malformed)
}

fn dec(v: &Option<String>) -> Form<Decimal> {
    parse_decimal(bounded(v)?).ok_or(Code::Malformed)
}

/// A decimal that must not be negative (benchmarks, factors, measures).
fn measure(v: &Option<String>) -> Form<Decimal> {
    let d = dec(v)?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err(Code::Malformed);
    }
    Ok(d)
}

fn opt_measure(v: &Option<String>) -> Form<Option<Decimal>> {
    match v {
        None => Ok(None),
        Some(_) => measure(v).map(Some),
    }
}

/// A decimal in `[0, 1]` (load factors, decline).
fn fraction(v: &Option<String>) -> Form<Decimal> {
    let d = measure(v)?;
    if d > Decimal::ONE {
        return Err(Code::Malformed);
    }
    Ok(d)
}

fn side(v: i32) -> Form<Side> {
    match pb::Side::try_from(v) {
        Ok(pb::Side::Buy) => Ok(Side::Buy),
        Ok(pb::Side::Sell) => Ok(Side::Sell),
        _ => Err(Code::Malformed),
    }
}

/// Decodes `role` of a `CreateAccount`.
pub fn role_from_pb(v: i32) -> Form<Role> {
    match pb::Role::try_from(v) {
        Ok(pb::Role::Operator) => Ok(Role::Operator),
        Ok(pb::Role::Regulator) => Ok(Role::Regulator),
        Ok(pb::Role::Entity) => Ok(Role::Entity),
        Ok(pb::Role::Investor) => Ok(Role::Investor),
        Ok(pb::Role::Verifier) => Ok(Role::Verifier),
        Ok(pb::Role::Auditor) => Ok(Role::Auditor),
        _ => Err(Code::Malformed),
    }
}

/// Checks the form of a command body: `UNKNOWN_COMMAND` for an empty body,
/// `MALFORMED` for a missing field, a bad id, date or decimal, an unknown
/// enum value, a negative measure or a jurisdiction outside `jurisdictions`.
pub fn validate(body: Option<&pb::command::Body>, jurisdictions: &BTreeSet<String>) -> Form<Cmd> {
    use pb::command::Body as B;
    let body = body.ok_or(Code::UnknownCommand)?;
    Ok(match body {
        B::CreateAccount(c) => {
            let jurisdiction = match &c.jurisdiction {
                None => None,
                Some(j) if jurisdictions.contains(j) => Some(j.clone()),
                Some(_) => return Err(Code::Malformed),
            };
            let public_key: [u8; 32] = c
                .public_key
                .as_deref()
                .and_then(|k| k.try_into().ok())
                .ok_or(Code::Malformed)?;
            ed25519_dalek::VerifyingKey::from_bytes(&public_key).map_err(|_| Code::Malformed)?;
            Cmd::CreateAccount {
                id: id(&c.id)?,
                role: role_from_pb(c.role)?,
                jurisdiction,
                public_key,
            }
        }
        B::DefineInstrument(c) => {
            let symbol = text(&c.symbol)?;
            if !is_symbol_form(&symbol) {
                return Err(Code::Malformed);
            }
            Cmd::DefineInstrument {
                symbol,
                reference_price: amount(&c.reference_price)?,
            }
        }
        B::Deposit(c) => Cmd::Deposit {
            account: id(&c.account)?,
            amount: amount(&c.amount)?,
        },
        B::Withdraw(c) => Cmd::Withdraw {
            account: id(&c.account)?,
            amount: amount(&c.amount)?,
        },
        B::Issue(c) => Cmd::Issue {
            instrument: text(&c.instrument)?,
            to: id(&c.to)?,
            qty: int(c.qty)?,
        },
        B::Transfer(c) => Cmd::Transfer {
            instrument: text(&c.instrument)?,
            to: id(&c.to)?,
            qty: int(c.qty)?,
        },
        B::Retire(c) => Cmd::Retire {
            instrument: text(&c.instrument)?,
            qty: int(c.qty)?,
            beneficiary: text(&c.beneficiary)?,
        },
        B::Freeze(c) => Cmd::Freeze {
            account: id(&c.account)?,
        },
        B::Unfreeze(c) => Cmd::Unfreeze {
            account: id(&c.account)?,
        },
        B::OpenDay(c) => {
            let date = text(&c.date)?;
            if !is_valid_date(&date) {
                return Err(Code::Malformed);
            }
            Cmd::OpenDay { date }
        }
        B::CloseDay(_) => Cmd::CloseDay,
        B::Order(c) => Cmd::Order {
            id: id(&c.id)?,
            instrument: text(&c.instrument)?,
            side: side(c.side)?,
            order_type: match pb::OrderType::try_from(c.r#type) {
                Ok(pb::OrderType::Limit) => OrderType::Limit,
                Ok(pb::OrderType::Market) => OrderType::Market,
                _ => return Err(Code::Malformed),
            },
            tif: match pb::TimeInForce::try_from(c.tif) {
                Ok(pb::TimeInForce::Day) => Tif::Day,
                Ok(pb::TimeInForce::Ioc) => Tif::Ioc,
                Ok(pb::TimeInForce::Fok) => Tif::Fok,
                _ => return Err(Code::Malformed),
            },
            price: match &c.price {
                None => None,
                Some(_) => Some(amount(&c.price)?),
            },
            qty: int(c.qty)?,
        },
        B::Cancel(c) => Cmd::Cancel {
            id: id(&c.id)?,
            account: match &c.account {
                None => None,
                Some(_) => Some(id(&c.account)?),
            },
        },
        B::BlockPropose(c) => Cmd::BlockPropose {
            id: id(&c.id)?,
            instrument: text(&c.instrument)?,
            side: side(c.side)?,
            counterparty: id(&c.counterparty)?,
            qty: int(c.qty)?,
            price: amount(&c.price)?,
        },
        B::BlockAccept(c) => Cmd::BlockAccept {
            proposer: id(&c.proposer)?,
            id: id(&c.id)?,
        },
        B::BlockCancel(c) => Cmd::BlockCancel { id: id(&c.id)? },
        B::AuctionOpen(c) => Cmd::AuctionOpen {
            id: id(&c.id)?,
            instrument: text(&c.instrument)?,
            qty: int(c.qty)?,
            reserve_price: amount(&c.reserve_price)?,
        },
        B::AuctionBid(c) => Cmd::AuctionBid {
            auction: id(&c.auction)?,
            id: id(&c.id)?,
            price: amount(&c.price)?,
            qty: int(c.qty)?,
        },
        B::AuctionClose(c) => Cmd::AuctionClose {
            auction: id(&c.auction)?,
        },
        B::AllocateBenchmark(c) => Cmd::AllocateBenchmark {
            entity: id(&c.entity)?,
            year: int(c.year)?,
            phase: match pb::Phase::try_from(c.phase) {
                Ok(pb::Phase::Pre) => Phase::Pre,
                Ok(pb::Phase::Final) => Phase::Final,
                _ => return Err(Code::Malformed),
            },
            units: c
                .units
                .iter()
                .map(|u| {
                    Ok(Unit {
                        coal: match pb::UnitFuel::try_from(u.fuel) {
                            Ok(pb::UnitFuel::Coal) => true,
                            Ok(pb::UnitFuel::Gas) => false,
                            _ => return Err(Code::Malformed),
                        },
                        power_mwh: measure(&u.power_mwh)?,
                        heat_gj: measure(&u.heat_gj)?,
                        power_benchmark: measure(&u.power_benchmark)?,
                        heat_benchmark: measure(&u.heat_benchmark)?,
                        load_factor: fraction(&u.load_factor)?,
                    })
                })
                .collect::<Form<Vec<_>>>()?,
        },
        B::AllocateGrandfather(c) => {
            let baseline = int(c.baseline)?;
            if baseline < 0 {
                return Err(Code::Malformed);
            }
            Cmd::AllocateGrandfather {
                entity: id(&c.entity)?,
                year: int(c.year)?,
                baseline,
                decline: fraction(&c.decline)?,
            }
        }
        B::DefineFactorSet(c) => Cmd::DefineFactorSet {
            id: id(&c.id)?,
            grid_tco2_per_mwh: measure(&c.grid_tco2_per_mwh)?,
            fuels: c
                .fuels
                .iter()
                .map(|(name, f)| {
                    if name.len() > MAX_TEXT_BYTES {
                        return Err(Code::Malformed);
                    }
                    Ok((
                        name.clone(),
                        FuelFactors {
                            ncv_gj_per_unit: measure(&f.ncv_gj_per_unit)?,
                            carbon_tc_per_gj: measure(&f.carbon_tc_per_gj)?,
                            oxidation: measure(&f.oxidation)?,
                        },
                    ))
                })
                .collect::<Form<BTreeMap<_, _>>>()?,
        },
        B::SubmitReport(c) => Cmd::SubmitReport {
            year: int(c.year)?,
            factor_set: id(&c.factor_set)?,
            fuels: c
                .fuels
                .iter()
                .map(|f| {
                    Ok(FuelUse {
                        fuel: text(&f.fuel)?,
                        consumption: measure(&f.consumption)?,
                        ncv: opt_measure(&f.ncv)?,
                        carbon: opt_measure(&f.carbon)?,
                        oxidation: opt_measure(&f.oxidation)?,
                    })
                })
                .collect::<Form<Vec<_>>>()?,
            electricity_mwh: measure(&c.electricity_mwh)?,
            power_mwh: measure(&c.power_mwh)?,
            heat_gj: measure(&c.heat_gj)?,
            energy: energy_lines(&c.energy)?,
        },
        B::VerifyReport(c) => Cmd::VerifyReport {
            entity: id(&c.entity)?,
            year: int(c.year)?,
            verified_emissions: c.verified_emissions,
            verified_energy: c.verified_energy,
        },
        B::ConfirmReport(c) => Cmd::ConfirmReport {
            entity: id(&c.entity)?,
            year: int(c.year)?,
        },
        B::ReturnReport(c) => Cmd::ReturnReport {
            entity: id(&c.entity)?,
            year: int(c.year)?,
        },
        B::Surrender(c) => Cmd::Surrender {
            year: int(c.year)?,
            instrument: text(&c.instrument)?,
            qty: int(c.qty)?,
        },
        B::CloseYear(c) => Cmd::CloseYear { year: int(c.year)? },
        B::SetPositionLimits(c) => Cmd::SetPositionLimits {
            entity_extra: int(c.entity_extra)?,
            investor: int(c.investor)?,
        },
        B::Halt(c) => Cmd::Halt {
            instrument: text(&c.instrument)?,
        },
        B::Resume(c) => Cmd::Resume {
            instrument: text(&c.instrument)?,
        },
        B::DeclareGroup(c) => Cmd::DeclareGroup {
            id: id(&c.id)?,
            members: group_members(&c.members)?,
        },
    })
}

/// The energy lines of a report (RULEBOOK.md 15.2, 15.5.4): known carriers,
/// each at most once, quantities non-negative decimals.
fn energy_lines(lines: &[pb::EnergyUse]) -> Form<Vec<(Carrier, Decimal)>> {
    let mut seen = BTreeSet::new();
    lines
        .iter()
        .map(|l| {
            let carrier = Carrier::from_name(bounded(&l.carrier)?).ok_or(Code::Malformed)?;
            if !seen.insert(carrier) {
                return Err(Code::Malformed);
            }
            Ok((carrier, measure(&l.qty)?))
        })
        .collect()
}

/// The members of a group (RULEBOOK.md 14.3, 14.5.5): 2 to 50 distinct ids.
fn group_members(members: &[String]) -> Form<Vec<String>> {
    let distinct: BTreeSet<&String> = members.iter().collect();
    if !(2..=MAX_GROUP_MEMBERS).contains(&members.len())
        || distinct.len() != members.len()
        || !members.iter().all(|m| is_valid_id(m))
    {
        return Err(Code::Malformed);
    }
    Ok(members.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_pattern() {
        assert!(is_valid_id("HZ-STEEL"));
        assert!(is_valid_id("a"));
        assert!(is_valid_id(&"a".repeat(36)));
        assert!(!is_valid_id(&"a".repeat(37)));
        assert!(!is_valid_id("bad id!"));
        assert!(!is_valid_id("-x"));
        assert!(!is_valid_id(""));
    }

    #[test]
    fn dates_must_exist() {
        assert!(is_valid_date("2026-03-02"));
        assert!(is_valid_date("2024-02-29"));
        assert!(!is_valid_date("2026-02-29"));
        assert!(!is_valid_date("2026-3-5"));
        assert!(!is_valid_date("2026-13-01"));
        assert!(!is_valid_date("2026-04-31"));
        assert!(!is_valid_date("２026-04-01"));
    }

    #[test]
    fn an_empty_body_is_an_unknown_command() {
        assert_eq!(validate(None, &BTreeSet::new()), Err(Code::UnknownCommand));
    }

    #[test]
    fn a_missing_field_is_malformed() {
        let body = pb::command::Body::Transfer(pb::Transfer {
            instrument: Some("ZJEA-2025".into()),
            to: Some("X".into()),
            qty: None,
        });
        assert_eq!(validate(Some(&body), &BTreeSet::new()), Err(Code::Malformed));
    }

    #[test]
    fn negative_measures_and_fractions_above_one_are_malformed() {
        let unit = |lf: &str| pb::GeneratingUnit {
            fuel: pb::UnitFuel::Coal as i32,
            power_mwh: Some("1".into()),
            heat_gj: Some("0".into()),
            power_benchmark: Some("0.7910".into()),
            heat_benchmark: Some("0.1033".into()),
            load_factor: Some(lf.into()),
        };
        let alloc = |lf: &str| {
            pb::command::Body::AllocateBenchmark(pb::AllocateBenchmark {
                entity: Some("E".into()),
                year: Some(2025),
                phase: pb::Phase::Pre as i32,
                units: vec![unit(lf)],
            })
        };
        let j = BTreeSet::new();
        assert!(validate(Some(&alloc("0.5")), &j).is_ok());
        assert_eq!(validate(Some(&alloc("1.01")), &j), Err(Code::Malformed));
        assert_eq!(validate(Some(&alloc("-0.1")), &j), Err(Code::Malformed));
        assert!(validate(Some(&alloc("-0")), &j).is_ok());
    }

    #[test]
    fn strings_longer_than_256_bytes_are_malformed() {
        let j = BTreeSet::new();
        let long = |n: usize| "x".repeat(n);
        let retire = |b: String| {
            pb::command::Body::Retire(pb::Retire {
                instrument: Some("ZJEA-2025".into()),
                qty: Some(1),
                beneficiary: Some(b),
            })
        };
        assert!(validate(Some(&retire(long(MAX_TEXT_BYTES))), &j).is_ok());
        assert_eq!(
            validate(Some(&retire(long(MAX_TEXT_BYTES + 1))), &j),
            Err(Code::Malformed)
        );
        // Multi-byte characters count in bytes.
        assert_eq!(validate(Some(&retire("碳".repeat(86))), &j), Err(Code::Malformed));

        let transfer = |i: String| {
            pb::command::Body::Transfer(pb::Transfer {
                instrument: Some(i),
                to: Some("X".into()),
                qty: Some(1),
            })
        };
        assert!(validate(Some(&transfer(long(MAX_TEXT_BYTES))), &j).is_ok());
        assert_eq!(
            validate(Some(&transfer(long(MAX_TEXT_BYTES + 1))), &j),
            Err(Code::Malformed)
        );

        // Decimals: a value with many leading zeros is fine up to the limit.
        let deposit = |a: String| {
            pb::command::Body::Deposit(pb::Deposit {
                account: Some("X".into()),
                amount: Some(a),
            })
        };
        let zeros = |n: usize| format!("{}1.00", "0".repeat(n - 4));
        assert!(validate(Some(&deposit(zeros(MAX_TEXT_BYTES))), &j).is_ok());
        assert_eq!(
            validate(Some(&deposit(zeros(MAX_TEXT_BYTES + 1))), &j),
            Err(Code::Malformed)
        );

        // Fuel names: map keys of a factor set, and names in a report.
        let factors = |name: String| {
            pb::command::Body::DefineFactorSet(pb::DefineFactorSet {
                id: Some("F".into()),
                grid_tco2_per_mwh: Some("0.5810".into()),
                fuels: [(
                    name,
                    pb::FuelFactors {
                        ncv_gj_per_unit: Some("20.908".into()),
                        carbon_tc_per_gj: Some("0.02618".into()),
                        oxidation: Some("0.93".into()),
                    },
                )]
                .into_iter()
                .collect(),
            })
        };
        assert!(validate(Some(&factors(long(MAX_TEXT_BYTES))), &j).is_ok());
        assert_eq!(
            validate(Some(&factors(long(MAX_TEXT_BYTES + 1))), &j),
            Err(Code::Malformed)
        );
        let report = |fuel: String| {
            pb::command::Body::SubmitReport(pb::SubmitReport {
                year: Some(2025),
                factor_set: Some("F".into()),
                fuels: vec![pb::FuelUse {
                    fuel: Some(fuel),
                    consumption: Some("1".into()),
                    ..Default::default()
                }],
                electricity_mwh: Some("0".into()),
                power_mwh: Some("0".into()),
                heat_gj: Some("0".into()),
                energy: Vec::new(),
            })
        };
        assert!(validate(Some(&report(long(MAX_TEXT_BYTES))), &j).is_ok());
        assert_eq!(
            validate(Some(&report(long(MAX_TEXT_BYTES + 1))), &j),
            Err(Code::Malformed)
        );
    }
}
