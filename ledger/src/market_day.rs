//! Market-day lines (REPLAY.md): one JSON object per command, turned into
//! the protobuf `Command` the service would receive. Only JSON-level form is
//! checked here (13.1: not an object, no `cmd`, no valid `as`, an unknown
//! `cmd`, a value of the wrong JSON type); everything else is left to the
//! ledger's own validation so that replays and the service agree.
//!
//! A line is read into a [`RawLine`] (serde, borrowing from the line): the
//! JSON text of each field some command takes, parsed only when the line's
//! command reads it. No map and no key strings are built, and fields the
//! command does not use cost a scan and nothing more: this is on the
//! replay's hot path, once per line. The checks are those a
//! `serde_json::Value` of the line would give (tested against it):
//! `null` is absent, a key given twice keeps its last value, an integer
//! beyond 64 bits is an integer.

use std::collections::BTreeMap;
use std::fmt;

use carbon_proto::v1 as pb;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::code::Code;
use crate::command::is_valid_id;
use crate::keys::parse_key_hex;

/// A parsed market-day line.
// Most lines are commands, used at once and never stored: boxing the body
// would cost an allocation per line on the replay's hot path to save stack
// space for the rare rejected one.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A command to sign as `actor`; `public_key` is the key named on a
    /// `create_account` line, if any (REPLAY.md: it must be the test key).
    Command {
        actor: String,
        body: pb::command::Body,
        public_key: Option<[u8; 32]>,
    },
    /// Rejected before it could become a command.
    Rejected(Code),
}

type Form<T> = Result<T, Code>;

/// A JSON value as the form checks see it; absent and `null` are `None`
/// before one is made.
enum Scalar {
    Str(String),
    /// A JSON integer; one beyond 64 bits is still an integer, out of
    /// every range, so the range checks report it (13.2).
    Int(i64),
    /// A number with a fraction or an exponent, `true`, `false`, an array
    /// or an object.
    Other,
}

impl Scalar {
    /// A JSON number, from its text as written.
    fn number(text: &str) -> Scalar {
        if let Ok(i) = text.parse::<i64>() {
            return Scalar::Int(i);
        }
        let digits = text.strip_prefix('-').unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            Scalar::Int(if text.starts_with('-') { i64::MIN } else { i64::MAX })
        } else {
            Scalar::Other
        }
    }

    /// A field's JSON text, as captured by [`RawLine`].
    fn of_raw(raw: &RawValue) -> Option<Scalar> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'n') => None,
            Some(b'"') if !text.contains('\\') => Some(Scalar::Str(text[1..text.len() - 1].to_string())),
            Some(b'"') => Some(Scalar::Str(
                serde_json::from_str(text).expect("serde_json captured a valid string"),
            )),
            Some(b'-' | b'0'..=b'9') => Some(Scalar::number(text)),
            _ => Some(Scalar::Other),
        }
    }

    fn of_value(v: &Value) -> Option<Scalar> {
        match v {
            Value::Null => None,
            Value::String(s) => Some(Scalar::Str(s.clone())),
            // With `arbitrary_precision`, the number's text as written.
            Value::Number(n) => Some(Scalar::number(&n.to_string())),
            _ => Some(Scalar::Other),
        }
    }
}

/// The form checks on the fields of one JSON object (the line, or an
/// object nested in it), by key.
trait Fields {
    /// The value of `key`; `None` when it is absent or `null`.
    fn scalar(&self, key: &str) -> Option<Scalar>;

    fn string(&self, key: &str) -> Form<Option<String>> {
        match self.scalar(key) {
            None => Ok(None),
            Some(Scalar::Str(s)) => Ok(Some(s)),
            Some(_) => Err(Code::Malformed),
        }
    }

    fn int(&self, key: &str) -> Form<Option<i64>> {
        match self.scalar(key) {
            None => Ok(None),
            Some(Scalar::Int(i)) => Ok(Some(i)),
            Some(_) => Err(Code::Malformed),
        }
    }

    fn enumeration(&self, key: &str, values: &[(&str, i32)]) -> Form<i32> {
        let s = self.string(key)?.ok_or(Code::Malformed)?;
        values
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| *v)
            .ok_or(Code::Malformed)
    }
}

/// An object nested in a line (a generating unit, a fuel, an energy line),
/// parsed whole: these come on a few rare commands.
struct Nested<'a>(&'a Map<String, Value>);

impl Fields for Nested<'_> {
    fn scalar(&self, key: &str) -> Option<Scalar> {
        self.0.get(key).and_then(Scalar::of_value)
    }
}

impl<'a> Nested<'a> {
    fn get(&self, k: &str) -> Option<&'a Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }

    fn array(&self, k: &str) -> Form<&'a [Value]> {
        match self.get(k) {
            Some(Value::Array(a)) => Ok(a),
            _ => Err(Code::Malformed),
        }
    }
}

fn object(v: &Value) -> Form<Nested<'_>> {
    match v {
        Value::Object(m) => Ok(Nested(m)),
        _ => Err(Code::Malformed),
    }
}

/// Declares [`RawLine`] with one field per key, and how serde fills it.
macro_rules! raw_line {
    ($($field:ident: $key:literal),* $(,)?) => {
        /// A market-day line as written: the JSON text of each key any
        /// command takes, borrowed from the line. A key given twice keeps
        /// its last value, as in a JSON object; other keys are skipped.
        #[derive(Default)]
        struct RawLine<'a> {
            $($field: Option<&'a RawValue>,)*
        }

        /// A key of a line: one of [`RawLine`]'s, or another.
        #[allow(non_camel_case_types)]
        enum Key {
            $($field,)*
            Other,
        }

        impl<'de> Deserialize<'de> for Key {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
                struct KeyVisitor;
                impl Visitor<'_> for KeyVisitor {
                    type Value = Key;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                        Ok(match key {
                            $($key => Key::$field,)*
                            _ => Key::Other,
                        })
                    }
                }
                d.deserialize_str(KeyVisitor)
            }
        }

        impl<'de> Deserialize<'de> for RawLine<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawLine<'de>, D::Error> {
                struct LineVisitor;
                impl<'de> Visitor<'de> for LineVisitor {
                    type Value = RawLine<'de>;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a JSON object")
                    }
                    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<RawLine<'de>, M::Error> {
                        let mut line = RawLine::default();
                        while let Some(key) = map.next_key::<Key>()? {
                            match key {
                                $(Key::$field => line.$field = Some(map.next_value()?),)*
                                Key::Other => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(line)
                    }
                }
                d.deserialize_map(LineVisitor)
            }
        }

        impl<'a> RawLine<'a> {
            fn raw(&self, key: &str) -> Option<&'a RawValue> {
                match key {
                    $($key => self.$field,)*
                    _ => None,
                }
            }
        }
    };
}

raw_line! {
    cmd: "cmd", actor: "as", public_key: "public_key", id: "id", role: "role",
    jurisdiction: "jurisdiction", symbol: "symbol", reference_price: "reference_price",
    account: "account", amount: "amount", instrument: "instrument", to: "to", qty: "qty",
    beneficiary: "beneficiary", date: "date", side: "side", order_type: "type", tif: "tif",
    price: "price", counterparty: "counterparty", proposer: "proposer",
    reserve_price: "reserve_price", auction: "auction", entity: "entity", year: "year",
    phase: "phase", units: "units", baseline: "baseline", decline: "decline", fuels: "fuels",
    grid_tco2_per_mwh: "grid_tco2_per_mwh", factor_set: "factor_set",
    electricity_mwh: "electricity_mwh", power_mwh: "power_mwh", heat_gj: "heat_gj",
    energy: "energy", verified_emissions: "verified_emissions",
    verified_energy: "verified_energy", entity_extra: "entity_extra", investor: "investor",
    members: "members",
}

impl Fields for RawLine<'_> {
    fn scalar(&self, key: &str) -> Option<Scalar> {
        self.raw(key).and_then(Scalar::of_raw)
    }
}

impl RawLine<'_> {
    /// A nested field parsed whole; `None` when absent or `null`.
    fn value(&self, key: &str) -> Option<Value> {
        let v: Value = serde_json::from_str(self.raw(key)?.get()).expect("serde_json captured valid JSON");
        (!v.is_null()).then_some(v)
    }

    fn array(&self, key: &str) -> Form<Vec<Value>> {
        match self.value(key) {
            Some(Value::Array(a)) => Ok(a),
            _ => Err(Code::Malformed),
        }
    }
}

const SIDES: &[(&str, i32)] = &[("buy", pb::Side::Buy as i32), ("sell", pb::Side::Sell as i32)];

/// Parses one non-blank, non-comment line (not the genesis).
pub fn parse_line(text: &str) -> Line {
    match parse(text) {
        Ok(l) => l,
        Err(code) => Line::Rejected(code),
    }
}

fn parse(text: &str) -> Form<Line> {
    let f: RawLine = serde_json::from_str(text).map_err(|_| Code::Malformed)?;
    // Skipping a value checks its form but not that each `\u` escape is a
    // whole character, as parsing it does: such lines (rare) are parsed
    // whole once, so that a lone surrogate anywhere is MALFORMED.
    if text.contains("\\u") && serde_json::from_str::<Value>(text).is_err() {
        return Err(Code::Malformed);
    }
    let Some(Scalar::Str(cmd)) = f.scalar("cmd") else {
        return Err(Code::Malformed);
    };
    let actor = match f.scalar("as") {
        Some(Scalar::Str(a)) if is_valid_id(&a) => a,
        _ => return Err(Code::Malformed),
    };
    let mut public_key = None;
    use pb::command::Body as B;
    let body = match cmd.as_str() {
        "create_account" => {
            let key = match f.string("public_key")? {
                None => None,
                Some(h) => Some(parse_key_hex(&h).ok_or(Code::Malformed)?),
            };
            public_key = key;
            B::CreateAccount(pb::CreateAccount {
                id: f.string("id")?,
                role: f.enumeration(
                    "role",
                    &[
                        ("operator", pb::Role::Operator as i32),
                        ("regulator", pb::Role::Regulator as i32),
                        ("entity", pb::Role::Entity as i32),
                        ("investor", pb::Role::Investor as i32),
                        ("verifier", pb::Role::Verifier as i32),
                        ("auditor", pb::Role::Auditor as i32),
                    ],
                )?,
                jurisdiction: f.string("jurisdiction")?,
                // Filled in by the replay: the given key or the test key.
                public_key: key.map(|k| k.to_vec()),
            })
        }
        "define_instrument" => B::DefineInstrument(pb::DefineInstrument {
            symbol: f.string("symbol")?,
            reference_price: f.string("reference_price")?,
        }),
        "deposit" => B::Deposit(pb::Deposit {
            account: f.string("account")?,
            amount: f.string("amount")?,
        }),
        "withdraw" => B::Withdraw(pb::Withdraw {
            account: f.string("account")?,
            amount: f.string("amount")?,
        }),
        "issue" => B::Issue(pb::Issue {
            instrument: f.string("instrument")?,
            to: f.string("to")?,
            qty: f.int("qty")?,
        }),
        "transfer" => B::Transfer(pb::Transfer {
            instrument: f.string("instrument")?,
            to: f.string("to")?,
            qty: f.int("qty")?,
        }),
        "retire" => B::Retire(pb::Retire {
            instrument: f.string("instrument")?,
            qty: f.int("qty")?,
            beneficiary: f.string("beneficiary")?,
        }),
        "freeze" => B::Freeze(pb::Freeze {
            account: f.string("account")?,
        }),
        "unfreeze" => B::Unfreeze(pb::Unfreeze {
            account: f.string("account")?,
        }),
        "open_day" => B::OpenDay(pb::OpenDay {
            date: f.string("date")?,
        }),
        "close_day" => B::CloseDay(pb::CloseDay {}),
        "order" => B::Order(pb::PlaceOrder {
            id: f.string("id")?,
            instrument: f.string("instrument")?,
            side: f.enumeration("side", SIDES)?,
            r#type: f.enumeration(
                "type",
                &[
                    ("limit", pb::OrderType::Limit as i32),
                    ("market", pb::OrderType::Market as i32),
                ],
            )?,
            tif: f.enumeration(
                "tif",
                &[
                    ("day", pb::TimeInForce::Day as i32),
                    ("ioc", pb::TimeInForce::Ioc as i32),
                    ("fok", pb::TimeInForce::Fok as i32),
                ],
            )?,
            price: f.string("price")?,
            qty: f.int("qty")?,
        }),
        "cancel" => B::Cancel(pb::CancelOrder {
            id: f.string("id")?,
            account: f.string("account")?,
        }),
        "block_propose" => B::BlockPropose(pb::BlockPropose {
            id: f.string("id")?,
            instrument: f.string("instrument")?,
            side: f.enumeration("side", SIDES)?,
            counterparty: f.string("counterparty")?,
            qty: f.int("qty")?,
            price: f.string("price")?,
        }),
        "block_accept" => B::BlockAccept(pb::BlockAccept {
            proposer: f.string("proposer")?,
            id: f.string("id")?,
        }),
        "block_cancel" => B::BlockCancel(pb::BlockCancel { id: f.string("id")? }),
        "auction_open" => B::AuctionOpen(pb::AuctionOpen {
            id: f.string("id")?,
            instrument: f.string("instrument")?,
            qty: f.int("qty")?,
            reserve_price: f.string("reserve_price")?,
        }),
        "auction_bid" => B::AuctionBid(pb::AuctionBid {
            auction: f.string("auction")?,
            id: f.string("id")?,
            price: f.string("price")?,
            qty: f.int("qty")?,
        }),
        "auction_close" => B::AuctionClose(pb::AuctionClose {
            auction: f.string("auction")?,
        }),
        "allocate_benchmark" => B::AllocateBenchmark(pb::AllocateBenchmark {
            entity: f.string("entity")?,
            year: f.int("year")?,
            phase: f.enumeration(
                "phase",
                &[("pre", pb::Phase::Pre as i32), ("final", pb::Phase::Final as i32)],
            )?,
            units: f
                .array("units")?
                .iter()
                .map(|u| {
                    let u = object(u)?;
                    Ok(pb::GeneratingUnit {
                        fuel: u.enumeration(
                            "fuel",
                            &[("coal", pb::UnitFuel::Coal as i32), ("gas", pb::UnitFuel::Gas as i32)],
                        )?,
                        power_mwh: u.string("power_mwh")?,
                        heat_gj: u.string("heat_gj")?,
                        power_benchmark: u.string("power_benchmark")?,
                        heat_benchmark: u.string("heat_benchmark")?,
                        load_factor: u.string("load_factor")?,
                    })
                })
                .collect::<Form<_>>()?,
        }),
        "allocate_grandfather" => B::AllocateGrandfather(pb::AllocateGrandfather {
            entity: f.string("entity")?,
            year: f.int("year")?,
            baseline: f.int("baseline")?,
            decline: f.string("decline")?,
        }),
        "define_factor_set" => {
            let fuels = match f.value("fuels") {
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(name, v)| {
                        let ff = object(v)?;
                        Ok((
                            name.clone(),
                            pb::FuelFactors {
                                ncv_gj_per_unit: ff.string("ncv_gj_per_unit")?,
                                carbon_tc_per_gj: ff.string("carbon_tc_per_gj")?,
                                oxidation: ff.string("oxidation")?,
                            },
                        ))
                    })
                    .collect::<Form<BTreeMap<_, _>>>()?,
                _ => return Err(Code::Malformed),
            };
            B::DefineFactorSet(pb::DefineFactorSet {
                id: f.string("id")?,
                grid_tco2_per_mwh: f.string("grid_tco2_per_mwh")?,
                fuels: fuels.into_iter().collect(),
            })
        }
        "submit_report" => B::SubmitReport(pb::SubmitReport {
            year: f.int("year")?,
            factor_set: f.string("factor_set")?,
            fuels: f
                .array("fuels")?
                .iter()
                .map(|u| {
                    let u = object(u)?;
                    Ok(pb::FuelUse {
                        fuel: u.string("fuel")?,
                        consumption: u.string("consumption")?,
                        ncv: u.string("ncv")?,
                        carbon: u.string("carbon")?,
                        oxidation: u.string("oxidation")?,
                    })
                })
                .collect::<Form<_>>()?,
            electricity_mwh: f.string("electricity_mwh")?,
            power_mwh: f.string("power_mwh")?,
            heat_gj: f.string("heat_gj")?,
            energy: match f.value("energy") {
                None => Vec::new(),
                Some(Value::Array(lines)) => lines
                    .iter()
                    .map(|l| {
                        let l = object(l)?;
                        Ok(pb::EnergyUse {
                            carrier: l.string("carrier")?,
                            qty: l.string("qty")?,
                        })
                    })
                    .collect::<Form<_>>()?,
                Some(_) => return Err(Code::Malformed),
            },
        }),
        "verify_report" => B::VerifyReport(pb::VerifyReport {
            entity: f.string("entity")?,
            year: f.int("year")?,
            verified_emissions: f.int("verified_emissions")?,
            verified_energy: f.int("verified_energy")?,
        }),
        "confirm_report" => B::ConfirmReport(pb::ConfirmReport {
            entity: f.string("entity")?,
            year: f.int("year")?,
        }),
        "return_report" => B::ReturnReport(pb::ReturnReport {
            entity: f.string("entity")?,
            year: f.int("year")?,
        }),
        "surrender" => B::Surrender(pb::Surrender {
            year: f.int("year")?,
            instrument: f.string("instrument")?,
            qty: f.int("qty")?,
        }),
        "close_year" => B::CloseYear(pb::CloseYear { year: f.int("year")? }),
        "set_position_limits" => B::SetPositionLimits(pb::SetPositionLimits {
            entity_extra: f.int("entity_extra")?,
            investor: f.int("investor")?,
        }),
        "halt" => B::Halt(pb::Halt {
            instrument: f.string("instrument")?,
        }),
        "resume" => B::Resume(pb::Resume {
            instrument: f.string("instrument")?,
        }),
        "declare_group" => B::DeclareGroup(pb::DeclareGroup {
            id: f.string("id")?,
            members: f
                .array("members")?
                .iter()
                .map(|m| match m {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(Code::Malformed),
                })
                .collect::<Form<_>>()?,
        }),
        _ => return Err(Code::UnknownCommand),
    };
    Ok(Line::Command {
        actor,
        body,
        public_key,
    })
}

/// A command's name as market-day files spell it (REPLAY.md).
pub fn command_name(body: &pb::command::Body) -> &'static str {
    use pb::command::Body as B;
    match body {
        B::CreateAccount(_) => "create_account",
        B::DefineInstrument(_) => "define_instrument",
        B::Deposit(_) => "deposit",
        B::Withdraw(_) => "withdraw",
        B::Issue(_) => "issue",
        B::Transfer(_) => "transfer",
        B::Retire(_) => "retire",
        B::Freeze(_) => "freeze",
        B::Unfreeze(_) => "unfreeze",
        B::OpenDay(_) => "open_day",
        B::CloseDay(_) => "close_day",
        B::Order(_) => "order",
        B::Cancel(_) => "cancel",
        B::BlockPropose(_) => "block_propose",
        B::BlockAccept(_) => "block_accept",
        B::BlockCancel(_) => "block_cancel",
        B::AuctionOpen(_) => "auction_open",
        B::AuctionBid(_) => "auction_bid",
        B::AuctionClose(_) => "auction_close",
        B::AllocateBenchmark(_) => "allocate_benchmark",
        B::AllocateGrandfather(_) => "allocate_grandfather",
        B::DefineFactorSet(_) => "define_factor_set",
        B::SubmitReport(_) => "submit_report",
        B::VerifyReport(_) => "verify_report",
        B::ConfirmReport(_) => "confirm_report",
        B::ReturnReport(_) => "return_report",
        B::Surrender(_) => "surrender",
        B::CloseYear(_) => "close_year",
        B::SetPositionLimits(_) => "set_position_limits",
        B::Halt(_) => "halt",
        B::Resume(_) => "resume",
        B::DeclareGroup(_) => "declare_group",
    }
}

/// A genesis line (REPLAY.md): the operator, the regulators, optional keys.
#[derive(Debug, Clone, PartialEq)]
pub struct GenesisLine {
    pub operator: String,
    pub operator_public_key: Option<[u8; 32]>,
    pub regulators: Vec<(String, String, Option<[u8; 32]>)>,
}

/// Parses the first command line as a genesis; `Err` says why it is not one.
pub fn parse_genesis(text: &str) -> Result<GenesisLine, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let f = object(&v).map_err(|_| "not a JSON object".to_string())?;
    if f.get("cmd") != Some(&Value::String("genesis".into())) {
        return Err("the first command is not a genesis".into());
    }
    let key = |f: &Nested, k: &str| -> Result<Option<[u8; 32]>, String> {
        match f.string(k).map_err(|_| format!("{k} is not a string"))? {
            None => Ok(None),
            Some(h) => parse_key_hex(&h)
                .map(Some)
                .ok_or_else(|| format!("{k} is not 64 hex digits")),
        }
    };
    let operator = match f.get("operator") {
        Some(Value::String(s)) if is_valid_id(s) => s.clone(),
        _ => return Err("operator must be a valid id".into()),
    };
    let mut regulators = Vec::new();
    for r in f
        .array("regulators")
        .map_err(|_| "regulators must be a list".to_string())?
    {
        let r = object(r).map_err(|_| "a regulator must be an object".to_string())?;
        let id = r.string("id").ok().flatten().ok_or("a regulator needs an id")?;
        let j = r
            .string("jurisdiction")
            .ok()
            .flatten()
            .ok_or("a regulator needs a jurisdiction")?;
        regulators.push((id, j, key(&r, "public_key")?));
    }
    Ok(GenesisLine {
        operator,
        operator_public_key: key(&f, "operator_public_key")?,
        regulators,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_errors_come_in_the_fine_print_order() {
        assert_eq!(parse_line("[1]"), Line::Rejected(Code::Malformed));
        assert_eq!(parse_line(r#"{"as": "A"}"#), Line::Rejected(Code::Malformed));
        assert_eq!(parse_line(r#"{"cmd": "teleport"}"#), Line::Rejected(Code::Malformed));
        assert_eq!(
            parse_line(r#"{"as": "bad id!", "cmd": "teleport"}"#),
            Line::Rejected(Code::Malformed)
        );
        assert_eq!(
            parse_line(r#"{"as": "A", "cmd": "teleport"}"#),
            Line::Rejected(Code::UnknownCommand)
        );
        assert_eq!(
            parse_line(r#"{"as": "A", "cmd": "genesis"}"#),
            Line::Rejected(Code::UnknownCommand)
        );
        assert_eq!(
            parse_line(r#"{"as": "A", "cmd": "deposit", "account": "B", "amount": 100.5}"#),
            Line::Rejected(Code::Malformed)
        );
        assert_eq!(
            parse_line(r#"{"as": "A", "cmd": "issue", "instrument": "CCER", "to": "B", "qty": 1.0}"#),
            Line::Rejected(Code::Malformed)
        );
        for (qty, want) in [
            ("100000000000000000000", i64::MAX),
            ("-100000000000000000000", i64::MIN),
        ] {
            let line = format!(r#"{{"as": "A", "cmd": "issue", "instrument": "CCER", "to": "B", "qty": {qty}}}"#);
            let Line::Command {
                body: pb::command::Body::Issue(i),
                ..
            } = parse_line(&line)
            else {
                panic!("a JSON integer beyond 64 bits is an integer")
            };
            assert_eq!(i.qty, Some(want));
        }
        assert_eq!(
            parse_line(r#"{"as": "A", "cmd": "issue", "instrument": "CCER", "to": "B", "qty": 1e20}"#),
            Line::Rejected(Code::Malformed)
        );
    }

    #[test]
    fn null_counts_as_absent() {
        let Line::Command { body, .. } = parse_line(r#"{"as": "A", "cmd": "cancel", "id": "o1", "account": null}"#)
        else {
            panic!("a cancel parses");
        };
        assert_eq!(
            body,
            pb::command::Body::Cancel(pb::CancelOrder {
                id: Some("o1".into()),
                account: None
            })
        );
    }

    /// What a `serde_json::Value` of the line would give, which the raw
    /// parse must keep: last key wins, escaped keys are keys, a lone
    /// surrogate anywhere spoils the line, a nested value of the wrong
    /// type is MALFORMED.
    #[test]
    fn the_raw_parse_reads_a_line_as_a_json_object_would() {
        let Line::Command { actor, body, .. } =
            parse_line(r#"{"as": "X", "as": "A", "c\u006dd": "freeze", "account": "B", "account": "C"}"#)
        else {
            panic!("a freeze parses");
        };
        assert_eq!(actor, "A");
        assert_eq!(
            body,
            pb::command::Body::Freeze(pb::Freeze {
                account: Some("C".into())
            })
        );
        assert_eq!(
            parse_line(r#"{"as": "A", "cmd": "close_day", "note": "\ud800"}"#),
            Line::Rejected(Code::Malformed)
        );
        assert!(matches!(
            parse_line(r#"{"as": "A", "cmd": "close_day", "note": "\ud83d\ude00", "more": [1, {"x": null}]}"#),
            Line::Command { .. }
        ));
        assert_eq!(
            parse_line(r#"{"as": "A", "cmd": "deposit", "account": "B", "amount": "1", "amount": 1}"#),
            Line::Rejected(Code::Malformed)
        );
        assert_eq!(
            parse_line(r#"{"as": "A", "cmd": "deposit", "account": "B\n", "amount": "1"}"#),
            parse_line(r#"{"as": "A", "cmd": "deposit", "account": "B\u000a", "amount": "1"}"#)
        );
        let report = |energy: &str| {
            parse_line(&format!(
                r#"{{"as": "E", "cmd": "submit_report", "year": 2025, "factor_set": "F", "fuels": [], "energy": {energy}}}"#
            ))
        };
        assert!(matches!(report("null"), Line::Command { .. }));
        assert!(matches!(
            report(r#"[{"carrier": "coal", "qty": "1"}]"#),
            Line::Command { .. }
        ));
        assert_eq!(report("{}"), Line::Rejected(Code::Malformed));
        assert_eq!(
            report(r#"[{"carrier": "coal", "qty": 1}]"#),
            Line::Rejected(Code::Malformed)
        );
        assert_eq!(
            parse_line(r#"{"as": "A", "cmd": "close_day"} x"#),
            Line::Rejected(Code::Malformed)
        );
    }

    #[test]
    fn genesis_needs_the_genesis_command() {
        assert!(parse_genesis(
            r#"{"cmd": "genesis", "operator": "OP", "regulators": [{"id": "ZJ-DEE", "jurisdiction": "ZJ"}]}"#
        )
        .is_ok());
        assert!(parse_genesis(r#"{"as": "OP", "cmd": "open_day", "date": "2026-01-01"}"#).is_err());
    }
}
