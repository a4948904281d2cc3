//! Market-day lines (REPLAY.md): one JSON object per command, turned into
//! the protobuf `Command` the service would receive. Only JSON-level form is
//! checked here (13.1: not an object, no `cmd`, no valid `as`, an unknown
//! `cmd`, a value of the wrong JSON type); everything else is left to the
//! ledger's own validation so that replays and the service agree.

use std::collections::BTreeMap;

use carbon_proto::v1 as pb;
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

/// The fields of one JSON object, with `null` treated as absent.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    fn get(&self, k: &str) -> Option<&'a Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }

    fn string(&self, k: &str) -> Form<Option<String>> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Code::Malformed),
        }
    }

    fn int(&self, k: &str) -> Form<Option<i64>> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    return Ok(Some(i));
                }
                // A JSON integer beyond 64 bits is still an integer: out of
                // every range, so the range checks report it (13.2). A
                // fraction or exponent is another JSON type (13.1).
                let text = n.to_string();
                let digits = text.strip_prefix('-').unwrap_or(&text);
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(Some(if text.starts_with('-') { i64::MIN } else { i64::MAX }))
                } else {
                    Err(Code::Malformed)
                }
            }
            Some(_) => Err(Code::Malformed),
        }
    }

    fn array(&self, k: &str) -> Form<&'a [Value]> {
        match self.get(k) {
            None => Err(Code::Malformed),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(Code::Malformed),
        }
    }

    fn enumeration(&self, k: &str, values: &[(&str, i32)]) -> Form<i32> {
        let s = self.string(k)?.ok_or(Code::Malformed)?;
        values
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| *v)
            .ok_or(Code::Malformed)
    }
}

fn object(v: &Value) -> Form<Fields<'_>> {
    match v {
        Value::Object(m) => Ok(Fields(m)),
        _ => Err(Code::Malformed),
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
    let v: Value = serde_json::from_str(text).map_err(|_| Code::Malformed)?;
    let f = object(&v)?;
    let Some(Value::String(cmd)) = f.get("cmd") else {
        return Err(Code::Malformed);
    };
    let actor = match f.get("as") {
        Some(Value::String(a)) if is_valid_id(a) => a.clone(),
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
            let fuels = match f.get("fuels") {
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
            energy: match f.get("energy") {
                None => Vec::new(),
                Some(_) => f
                    .array("energy")?
                    .iter()
                    .map(|l| {
                        let l = object(l)?;
                        Ok(pb::EnergyUse {
                            carrier: l.string("carrier")?,
                            qty: l.string("qty")?,
                        })
                    })
                    .collect::<Form<_>>()?,
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
    let key = |f: &Fields, k: &str| -> Result<Option<[u8; 32]>, String> {
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

    #[test]
    fn genesis_needs_the_genesis_command() {
        assert!(parse_genesis(
            r#"{"cmd": "genesis", "operator": "OP", "regulators": [{"id": "ZJ-DEE", "jurisdiction": "ZJ"}]}"#
        )
        .is_ok());
        assert!(parse_genesis(r#"{"as": "OP", "cmd": "open_day", "date": "2026-01-01"}"#).is_err());
    }
}
