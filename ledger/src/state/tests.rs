//! Unit tests of the state machine, rule by rule, with worked numbers.
//! Commands are written as market-day lines (REPLAY.md) and go through the
//! same decoding, signing and authentication as everywhere else.

use std::collections::HashMap;

use carbon_proto::v1 as pb;
use proptest::prelude::*;

use super::*;
use crate::keys::test_key;
use crate::market_day::{parse_line, Line};
use crate::replay::sign_command;

/// A market under test: a state plus each actor's next nonce.
pub(crate) struct Market {
    pub state: State,
    nonces: HashMap<String, u64>,
}

const GENESIS: &[(&str, &str)] = &[("ZJ-DEE", "ZJ"), ("HZ-EEB", "HZ"), ("NB-EEB", "NB")];

impl Market {
    pub fn new() -> Market {
        let key = |id: &str| test_key(id).verifying_key().to_bytes().to_vec();
        let g = pb::Genesis {
            operator: "OP".into(),
            operator_public_key: key("OP"),
            regulators: GENESIS
                .iter()
                .map(|(id, j)| pb::GenesisRegulator {
                    id: id.to_string(),
                    jurisdiction: j.to_string(),
                    public_key: key(id),
                })
                .collect(),
            origin: "test".into(),
        };
        Market {
            state: State::from_genesis(&g).unwrap(),
            nonces: HashMap::new(),
        }
    }

    /// Applies one market-day line as the replay would.
    pub fn run(&mut self, line: &str) -> Result<Applied, Code> {
        let (actor, mut body) = match parse_line(line) {
            Line::Rejected(c) => return Err(c),
            Line::Command { actor, body, .. } => (actor, body),
        };
        if let pb::command::Body::CreateAccount(c) = &mut body {
            if let Some(id) = &c.id {
                c.public_key = Some(test_key(id).verifying_key().to_bytes().to_vec());
            }
        }
        self.submit(&actor, body)
    }

    /// Signs `body` as `actor` with its test key and next nonce, and applies it.
    pub fn submit(&mut self, actor: &str, body: pb::command::Body) -> Result<Applied, Code> {
        let n = self.nonces.entry(actor.to_string()).or_insert(0);
        *n += 1;
        let cmd = pb::Command {
            actor: Some(actor.to_string()),
            nonce: Some(*n),
            body: Some(body),
        };
        let env = sign_command(&test_key(actor), &self.state.ledger_id, &cmd);
        let auth = self.state.authenticate(&env, false)?;
        self.state.apply(&auth)
    }

    /// Runs a line that must be accepted.
    pub fn ok(&mut self, line: &str) -> Applied {
        self.run(line)
            .unwrap_or_else(|c| panic!("{line} was rejected with {c}"))
    }

    /// Runs a line that must be rejected with `code`, and checks that
    /// nothing but the actor's nonce changed ([`Market::run_checked`]).
    pub fn err(&mut self, line: &str, code: Code) {
        assert_eq!(self.run_checked(line).err(), Some(code), "{line}");
    }

    /// Runs a line; if it is rejected, checks that nothing but the actor's
    /// nonce changed ([`Market::checked`]).
    pub fn run_checked(&mut self, line: &str) -> Result<Applied, Code> {
        let actor = match parse_line(line) {
            Line::Command { actor, .. } => Some(actor),
            Line::Rejected(_) => None,
        };
        self.checked(actor.as_deref(), line, |m| m.run(line))
    }

    /// Runs `f`, a command of `actor` (`what` names it in a failure); if it
    /// is rejected, checks that nothing but the actor's nonce changed
    /// (RULEBOOK.md 12): the whole state, as its snapshot image, is the same
    /// before and after once that nonce is set back.
    pub(crate) fn checked(
        &mut self,
        actor: Option<&str>,
        what: &str,
        f: impl FnOnce(&mut Market) -> Result<Applied, Code>,
    ) -> Result<Applied, Code> {
        let before = self.image();
        let nonces: Vec<u64> = self.state.accounts.iter().map(|a| a.last_nonce).collect();
        let out = f(self);
        if out.is_ok() {
            return out;
        }
        // Set the actor's nonce back, encode, and put it forward again.
        let mut moved = Vec::new();
        for (i, (a, &n)) in self.state.accounts.iter_mut().zip(&nonces).enumerate() {
            if a.last_nonce != n {
                assert_eq!(Some(a.id.as_str()), actor, "a rejection moved another's nonce: {what}");
                moved.push((i, std::mem::replace(&mut a.last_nonce, n)));
            }
        }
        let after = self.image();
        for (i, n) in moved {
            self.state.accounts[i].last_nonce = n;
        }
        if before != after {
            let at = before.iter().zip(&after).take_while(|(x, y)| x == y).count();
            panic!(
                "a rejected command changed the state (its image differs from byte {at} of {} / {}): {what}",
                before.len(),
                after.len()
            );
        }
        out
    }

    /// The state's snapshot image: postcard, deterministic (`state::image`).
    pub(crate) fn image(&self) -> Vec<u8> {
        postcard::to_allocvec(&self.state).expect("the state encodes")
    }

    /// An independent copy, through the snapshot image.
    pub(crate) fn copy(&self) -> Market {
        Market {
            state: postcard::from_bytes(&self.image()).expect("the image decodes"),
            nonces: self.nonces.clone(),
        }
    }

    /// A summary of balances, orders and records, leaving out the id sets
    /// and supervision: to compare markets that differ only there (a grouped
    /// and a plain one, `tests_supervision`). [`Market::image`] is the whole state.
    pub(crate) fn fingerprint(&self) -> String {
        let s = &self.state;
        let mut out = String::new();
        for a in &s.accounts {
            out += &format!(
                "{} {} {} {} {:?} {:?}\n",
                a.id, a.frozen, a.cash_available, a.cash_locked, a.holdings, a.open_orders
            );
        }
        for i in s.instruments.values() {
            out += &format!(
                "{} {} {} {} {} {} {}\n",
                i.symbol,
                i.reference,
                i.issued,
                i.surrendered,
                i.retired,
                i.clawed_back,
                i.book.len()
            );
        }
        out += &format!("{:?} {:?} {:?} {:?}\n", s.day, s.reports, s.allocations, s.closed_years);
        out += &format!("{} {} {}\n", s.proposals.len(), s.auctions.len(), s.resting.len());
        out
    }

    pub fn cash(&self, id: &str) -> (Cents, Cents) {
        let a = self.state.account(id).unwrap();
        (a.cash_available, a.cash_locked)
    }

    pub fn holding(&self, id: &str, sym: &str) -> (i64, i64, i64) {
        let h = self.state.account(id).unwrap().holding(sym);
        (h.available, h.locked, h.pending)
    }

    /// A market with two HZ entities, an NB entity, an investor, a verifier,
    /// ZJEA-2025 at 58.00, cash and allowances, and an open day.
    pub fn trading() -> Market {
        let mut m = Market::new();
        for l in [
            r#"{"as":"HZ-EEB","cmd":"create_account","id":"A","role":"entity"}"#,
            r#"{"as":"HZ-EEB","cmd":"create_account","id":"B","role":"entity"}"#,
            r#"{"as":"NB-EEB","cmd":"create_account","id":"C","role":"entity"}"#,
            r#"{"as":"ZJ-DEE","cmd":"create_account","id":"I","role":"investor","jurisdiction":"NB"}"#,
            r#"{"as":"HZ-EEB","cmd":"create_account","id":"V","role":"verifier"}"#,
            r#"{"as":"OP","cmd":"define_instrument","symbol":"ZJEA-2025","reference_price":"58.00"}"#,
            r#"{"as":"OP","cmd":"define_instrument","symbol":"CCER","reference_price":"40.00"}"#,
            r#"{"as":"OP","cmd":"deposit","account":"A","amount":"100000.00"}"#,
            r#"{"as":"OP","cmd":"deposit","account":"B","amount":"100000.00"}"#,
            r#"{"as":"OP","cmd":"deposit","account":"C","amount":"100000.00"}"#,
            r#"{"as":"OP","cmd":"deposit","account":"I","amount":"100000000.00"}"#,
            r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"A","qty":1000}"#,
            r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"B","qty":1000}"#,
            r#"{"as":"NB-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"C","qty":300000}"#,
            r#"{"as":"OP","cmd":"open_day","date":"2026-03-02"}"#,
        ] {
            m.ok(l);
        }
        m
    }
}

pub(crate) fn order(actor: &str, id: &str, side: &str, tif: &str, price: Option<&str>, qty: i64) -> String {
    let (ty, p) = match price {
        Some(p) => ("limit", format!(r#","price":"{p}""#)),
        None => ("market", String::new()),
    };
    format!(
        r#"{{"as":"{actor}","cmd":"order","id":"{id}","instrument":"ZJEA-2025","side":"{side}","type":"{ty}","tif":"{tif}"{p},"qty":{qty}}}"#
    )
}

pub(crate) fn status(a: &Applied) -> (OrderStatus, i64) {
    a.order.expect("an order result")
}

pub(crate) fn trades(a: &Applied) -> Vec<(Ticks, i64, String, String)> {
    a.events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(t) => Some((t.price, t.qty, t.buy_id.clone(), t.sell_id.clone())),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- registry

#[test]
fn create_account_checks_role_jurisdiction_and_uniqueness() {
    let mut m = Market::new();
    m.ok(r#"{"as":"HZ-EEB","cmd":"create_account","id":"E1","role":"entity"}"#);
    assert_eq!(m.state.account("E1").unwrap().jurisdiction.as_deref(), Some("HZ"));
    m.err(
        r#"{"as":"NB-EEB","cmd":"create_account","id":"E1","role":"entity"}"#,
        Code::AccountExists,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"create_account","id":"E2","role":"entity","jurisdiction":"NB"}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"create_account","id":"R2","role":"regulator"}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"OP","cmd":"create_account","id":"E3","role":"investor"}"#,
        Code::NotPermitted,
    );
    // 13.5: ZJ must name a jurisdiction of the genesis set.
    m.err(
        r#"{"as":"ZJ-DEE","cmd":"create_account","id":"E4","role":"investor"}"#,
        Code::Malformed,
    );
    m.err(
        r#"{"as":"ZJ-DEE","cmd":"create_account","id":"R4","role":"regulator"}"#,
        Code::Malformed,
    );
    m.err(
        r#"{"as":"ZJ-DEE","cmd":"create_account","id":"E4","role":"investor","jurisdiction":"SX"}"#,
        Code::Malformed,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"create_account","id":"bad id!","role":"entity"}"#,
        Code::Malformed,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"create_account","id":"E5","role":"king"}"#,
        Code::Malformed,
    );
    m.ok(r#"{"as":"ZJ-DEE","cmd":"create_account","id":"E4","role":"investor","jurisdiction":"NB"}"#);
}

#[test]
fn deposits_and_withdrawals_move_available_cash() {
    let mut m = Market::trading();
    m.ok(r#"{"as":"OP","cmd":"withdraw","account":"A","amount":"0.01"}"#);
    assert_eq!(m.cash("A"), (9_999_999, 0));
    m.err(
        r#"{"as":"OP","cmd":"deposit","account":"A","amount":"12.345"}"#,
        Code::InvalidAmount,
    );
    m.err(
        r#"{"as":"OP","cmd":"deposit","account":"A","amount":"0"}"#,
        Code::InvalidAmount,
    );
    m.err(
        r#"{"as":"OP","cmd":"deposit","account":"A","amount":"1e3"}"#,
        Code::Malformed,
    );
    m.err(
        r#"{"as":"OP","cmd":"deposit","account":"NOBODY","amount":"1.00"}"#,
        Code::UnknownAccount,
    );
    m.err(
        r#"{"as":"OP","cmd":"deposit","account":"V","amount":"1.00"}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"deposit","account":"A","amount":"1.00"}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"OP","cmd":"withdraw","account":"A","amount":"100000.00"}"#,
        Code::InsufficientFunds,
    );
    m.ok(r#"{"as":"HZ-EEB","cmd":"freeze","account":"A"}"#);
    m.err(
        r#"{"as":"OP","cmd":"withdraw","account":"A","amount":"1.00"}"#,
        Code::AccountFrozen,
    );
    m.ok(r#"{"as":"OP","cmd":"deposit","account":"A","amount":"1.00"}"#);
}

#[test]
fn issue_is_limited_to_own_entities_and_ccer_to_zj() {
    let mut m = Market::trading();
    m.err(
        r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"C","qty":1}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"issue","instrument":"CCER","to":"A","qty":1}"#,
        Code::NotPermitted,
    );
    // CCER by a city is refused before the look-up of the recipient (13.8).
    m.err(
        r#"{"as":"HZ-EEB","cmd":"issue","instrument":"CCER","to":"NOBODY","qty":1}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"I","qty":1}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2099","to":"C","qty":1}"#,
        Code::UnknownInstrument,
    );
    m.err(
        r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"C","qty":0}"#,
        Code::InvalidQuantity,
    );
    m.err(
        r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"C","qty":1000000000001}"#,
        Code::InvalidQuantity,
    );
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"CCER","to":"ZJ-DEE","qty":50}"#);
    assert_eq!(m.holding("ZJ-DEE", "CCER"), (50, 0, 0));
    assert_eq!(m.state.instruments["CCER"].issued, 50);
}

#[test]
fn transfers_and_retirements() {
    let mut m = Market::trading();
    m.ok(r#"{"as":"A","cmd":"transfer","instrument":"ZJEA-2025","to":"C","qty":400}"#);
    assert_eq!(m.holding("A", "ZJEA-2025"), (600, 0, 0));
    // To oneself: the usual checks, then nothing changes.
    m.ok(r#"{"as":"A","cmd":"transfer","instrument":"ZJEA-2025","to":"A","qty":600}"#);
    m.err(
        r#"{"as":"A","cmd":"transfer","instrument":"ZJEA-2025","to":"A","qty":601}"#,
        Code::InsufficientHoldings,
    );
    m.err(
        r#"{"as":"A","cmd":"transfer","instrument":"ZJEA-2025","to":"V","qty":1}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"A","cmd":"transfer","instrument":"ZJEA-2025","to":"C","qty":-5}"#,
        Code::InvalidQuantity,
    );
    m.err(
        r#"{"as":"V","cmd":"transfer","instrument":"ZJEA-2025","to":"C","qty":1}"#,
        Code::NotPermitted,
    );
    m.ok(r#"{"as":"A","cmd":"retire","instrument":"ZJEA-2025","qty":100,"beneficiary":"Asian Games"}"#);
    m.err(
        r#"{"as":"A","cmd":"retire","instrument":"ZJEA-2025","qty":100}"#,
        Code::Malformed,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"retire","instrument":"ZJEA-2025","qty":1,"beneficiary":"x"}"#,
        Code::NotPermitted,
    );
    let i = &m.state.instruments["ZJEA-2025"];
    assert_eq!((i.issued, i.retired, i.outstanding()), (302_000, 100, 301_900));
}

#[test]
fn freezing_is_by_the_accounts_regulator_and_blocks_trading() {
    let mut m = Market::trading();
    m.err(r#"{"as":"NB-EEB","cmd":"freeze","account":"A"}"#, Code::NotPermitted);
    m.err(
        r#"{"as":"ZJ-DEE","cmd":"freeze","account":"HZ-EEB"}"#,
        Code::NotPermitted,
    );
    m.ok(&order("A", "s1", "sell", "day", Some("58.00"), 100));
    m.ok(&order("A", "b1", "buy", "day", Some("57.00"), 100));
    m.ok(r#"{"as":"HZ-EEB","cmd":"freeze","account":"A"}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"freeze","account":"A"}"#); // twice: accepted, no change
    assert_eq!(m.holding("A", "ZJEA-2025"), (1000, 0, 0));
    assert_eq!(m.cash("A"), (10_000_000, 0));
    assert!(m.state.account("A").unwrap().open_orders.is_empty());
    m.err(
        &order("A", "s2", "sell", "day", Some("58.00"), 100),
        Code::AccountFrozen,
    );
    m.err(
        r#"{"as":"A","cmd":"transfer","instrument":"ZJEA-2025","to":"C","qty":1}"#,
        Code::AccountFrozen,
    );
    // The order of checks: a missing instrument before the freeze.
    m.err(
        r#"{"as":"A","cmd":"transfer","instrument":"ZJEA-2030","to":"C","qty":1}"#,
        Code::UnknownInstrument,
    );
    m.ok(r#"{"as":"ZJ-DEE","cmd":"unfreeze","account":"A"}"#);
    m.ok(&order("A", "s2", "sell", "day", Some("58.00"), 100));
}

#[test]
fn form_is_checked_before_the_actor_and_the_actor_before_permission() {
    let mut m = Market::trading();
    m.err(
        r#"{"as":"GHOST","cmd":"transfer","instrument":"ZJEA-2025","to":"A","qty":1}"#,
        Code::UnknownAccount,
    );
    m.err(
        r#"{"as":"GHOST","cmd":"transfer","instrument":"ZJEA-2025","to":"A"}"#,
        Code::Malformed,
    );
    m.err(r#"{"as":"GHOST","cmd":"teleport"}"#, Code::UnknownCommand);
    m.err(r#"{"as":"OP","cmd":"open_day","date":"2026-3-5"}"#, Code::Malformed);
    m.err(r#"{"as":"OP","cmd":"open_day","date":"2026-02-30"}"#, Code::Malformed);
}

#[test]
fn a_bad_signature_and_a_replayed_nonce_are_refused() {
    let mut m = Market::trading();
    let cmd = pb::Command {
        actor: Some("A".into()),
        nonce: Some(100),
        body: Some(pb::command::Body::Freeze(pb::Freeze {
            account: Some("B".into()),
        })),
    };
    let forged = sign_command(&test_key("B"), &m.state.ledger_id, &cmd);
    assert_eq!(m.state.authenticate(&forged, false).err(), Some(Code::BadSignature));
    let good = sign_command(&test_key("A"), &m.state.ledger_id, &cmd);
    let auth = m.state.authenticate(&good, false).unwrap();
    assert_eq!(m.state.apply(&auth).err(), Some(Code::NotPermitted));
    // Its nonce is used up: the same envelope again is a replay.
    assert_eq!(m.state.authenticate(&good, false).err(), Some(Code::Replayed));
    let garbage = pb::SignedCommand {
        payload: vec![0xff, 0xff],
        signature: vec![0; 64],
    };
    assert_eq!(m.state.authenticate(&garbage, false).err(), Some(Code::Malformed));
}

// ---------------------------------------------------------------- trading days

#[test]
fn days_open_in_order_and_close_once() {
    let mut m = Market::trading();
    m.err(r#"{"as":"OP","cmd":"open_day","date":"2026-03-03"}"#, Code::MarketOpen);
    m.err(r#"{"as":"A","cmd":"close_day"}"#, Code::NotPermitted);
    m.ok(r#"{"as":"OP","cmd":"close_day"}"#);
    m.err(r#"{"as":"OP","cmd":"close_day"}"#, Code::MarketClosed);
    m.err(r#"{"as":"OP","cmd":"open_day","date":"2026-03-02"}"#, Code::InvalidDate);
    m.err(r#"{"as":"OP","cmd":"open_day","date":"2026-03-01"}"#, Code::InvalidDate);
    m.err(&order("A", "x", "sell", "day", Some("58.00"), 1), Code::MarketClosed);
    m.ok(r#"{"as":"OP","cmd":"open_day","date":"2026-03-03"}"#);
}

// ---------------------------------------------------------------- listed trading

#[test]
fn a_partial_fill_rests_and_the_buyer_gets_price_improvement_back() {
    let mut m = Market::trading();
    assert_eq!(
        status(&m.ok(&order("A", "s1", "sell", "day", Some("58.10"), 300))),
        (OrderStatus::Resting, 0)
    );
    assert_eq!(m.holding("A", "ZJEA-2025"), (700, 300, 0));
    let r = m.ok(&order("B", "b1", "buy", "day", Some("58.50"), 500));
    assert_eq!(status(&r), (OrderStatus::Resting, 300));
    assert_eq!(trades(&r), vec![(5810, 300, "b1".into(), "s1".into())]);
    // B locked 58.50 * 500 = 29250.00; paid 58.10 * 300 = 17430.00; 200 still locked at 58.50.
    assert_eq!(m.cash("B"), (10_000_000 - 1_743_000 - 1_170_000, 1_170_000));
    assert_eq!(m.holding("B", "ZJEA-2025"), (1000, 0, 300));
    assert_eq!(m.cash("A"), (10_000_000 + 1_743_000, 0));
    assert_eq!(m.holding("A", "ZJEA-2025"), (700, 0, 0));
    // T+1: bought units cannot be sold today...
    m.err(
        &order("B", "s9", "sell", "day", Some("58.00"), 1001),
        Code::InsufficientHoldings,
    );
    // ...and become available at the close, which also expires b1.
    let close = m.ok(r#"{"as":"OP","cmd":"close_day"}"#);
    assert_eq!(m.holding("B", "ZJEA-2025"), (1300, 0, 0));
    assert_eq!(m.cash("B"), (10_000_000 - 1_743_000, 0));
    let day = close.events.iter().find_map(|e| match e {
        Event::Day(d) if d.instrument == "ZJEA-2025" => Some(d.clone()),
        _ => None,
    });
    let day = day.unwrap();
    assert_eq!(
        (day.open, day.high, day.low, day.close, day.volume, day.turnover),
        (Some(5810), Some(5810), Some(5810), 5810, 300, 1_743_000)
    );
    assert_eq!(m.state.instruments["ZJEA-2025"].reference, 5810);
}

#[test]
fn price_time_priority_and_trades_at_the_resting_price() {
    let mut m = Market::trading();
    m.ok(&order("A", "s1", "sell", "day", Some("58.20"), 100));
    m.ok(&order("C", "s2", "sell", "day", Some("58.10"), 100));
    m.ok(&order("A", "s3", "sell", "day", Some("58.10"), 100));
    let r = m.ok(&order("B", "b1", "buy", "ioc", Some("58.20"), 250));
    assert_eq!(
        trades(&r),
        vec![
            (5810, 100, "b1".into(), "s2".into()),
            (5810, 100, "b1".into(), "s3".into()),
            (5820, 50, "b1".into(), "s1".into())
        ]
    );
    assert_eq!(status(&r), (OrderStatus::Filled, 250));
}

#[test]
fn self_trade_prevention_cancels_the_incoming_remainder() {
    let mut m = Market::trading();
    m.ok(&order("C", "s1", "sell", "day", Some("58.00"), 100));
    m.ok(&order("A", "s2", "sell", "day", Some("58.10"), 100));
    m.ok(&order("C", "s3", "sell", "day", Some("58.20"), 100));
    // A buys: trades with C's s1, then meets its own s2: remainder cancelled.
    let r = m.ok(&order("A", "b1", "buy", "day", Some("58.20"), 300));
    assert_eq!(status(&r), (OrderStatus::Cancelled, 100));
    assert_eq!(trades(&r), vec![(5800, 100, "b1".into(), "s1".into())]);
    assert_eq!(m.cash("A").1, 0, "nothing stays locked for the cancelled remainder");
    assert!(m.state.account("A").unwrap().open_orders.contains_key("s2"));
}

#[test]
fn fok_fills_completely_or_not_at_all_and_uses_up_its_id() {
    let mut m = Market::trading();
    m.ok(&order("C", "s1", "sell", "day", Some("58.00"), 100));
    m.ok(&order("A", "s2", "sell", "day", Some("58.00"), 100));
    m.ok(&order("C", "s3", "sell", "day", Some("58.00"), 100));
    // A's fok for 150 would meet its own s2 after 100: it cannot fill.
    let r = m.ok(&order("A", "f1", "buy", "fok", Some("58.00"), 150));
    assert_eq!(status(&r), (OrderStatus::Cancelled, 0));
    assert!(trades(&r).is_empty());
    m.err(&order("A", "f1", "buy", "fok", Some("58.00"), 100), Code::DuplicateId);
    let r = m.ok(&order("B", "f2", "buy", "fok", None, 300));
    assert_eq!(status(&r), (OrderStatus::Filled, 300));
    // A market buy locks at the upper band (63.80) and is refunded to 58.00.
    assert_eq!(m.cash("B"), (10_000_000 - 300 * 5800, 0));
}

#[test]
fn order_checks_come_in_the_rulebook_order() {
    let mut m = Market::trading();
    m.err(
        &order("A", "x", "sell", "day", Some("58.00"), 100_000),
        Code::InvalidQuantity,
    );
    m.err(&order("A", "x", "sell", "day", Some("58.001"), 100), Code::InvalidPrice);
    m.err(r#"{"as":"A","cmd":"order","id":"x","instrument":"ZJEA-2025","side":"sell","type":"limit","tif":"day","qty":1}"#, Code::InvalidPrice);
    m.err(&order("A", "x", "sell", "day", None, 100), Code::InvalidOrder);
    m.err(r#"{"as":"A","cmd":"order","id":"x","instrument":"ZJEA-2025","side":"sell","type":"market","tif":"ioc","price":"58.00","qty":1}"#, Code::InvalidOrder);
    // Band: [52.20, 63.80].
    m.err(
        &order("A", "x", "sell", "day", Some("52.19"), 100),
        Code::PriceOutOfBand,
    );
    m.err(&order("A", "x", "buy", "day", Some("63.81"), 100), Code::PriceOutOfBand);
    m.ok(&order("A", "x", "sell", "day", Some("63.80"), 100));
    m.err(&order("A", "x", "sell", "day", Some("63.80"), 100), Code::DuplicateId);
    m.err(
        &order("A", "y", "sell", "day", Some("63.80"), 901),
        Code::InsufficientHoldings,
    );
    m.err(
        &order("A", "y", "buy", "day", Some("52.20"), 1916),
        Code::InsufficientFunds,
    );
    m.err(&order("V", "y", "buy", "day", Some("58.00"), 1), Code::NotPermitted);
    m.err(r#"{"as":"A","cmd":"order","id":"y","instrument":"ZJEA-2025","side":"hold","type":"limit","tif":"day","price":"58.00","qty":1}"#, Code::Malformed);
}

#[test]
fn cancels_by_owner_and_operator() {
    let mut m = Market::trading();
    m.ok(&order("A", "s1", "sell", "day", Some("58.00"), 100));
    m.err(r#"{"as":"OP","cmd":"cancel","id":"s1"}"#, Code::NotPermitted);
    m.err(
        r#"{"as":"A","cmd":"cancel","id":"s1","account":"A"}"#,
        Code::NotPermitted,
    );
    m.err(r#"{"as":"B","cmd":"cancel","id":"s1"}"#, Code::UnknownOrder);
    m.ok(r#"{"as":"OP","cmd":"cancel","account":"A","id":"s1"}"#);
    m.err(r#"{"as":"A","cmd":"cancel","id":"s1"}"#, Code::UnknownOrder);
    assert_eq!(m.holding("A", "ZJEA-2025"), (1000, 0, 0));
}

// ---------------------------------------------------------------- block trades

#[test]
fn block_trades_settle_at_once_inside_thirty_percent() {
    let mut m = Market::trading();
    let propose = |price: &str, qty: i64, cp: &str| {
        format!(
            r#"{{"as":"C","cmd":"block_propose","id":"k1","instrument":"ZJEA-2025","side":"sell","counterparty":"{cp}","qty":{qty},"price":"{price}"}}"#
        )
    };
    m.err(&propose("58.00", 99_999, "I"), Code::InvalidQuantity);
    m.err(&propose("75.41", 100_000, "I"), Code::PriceOutOfBand); // 58 * 1.3 = 75.40
    m.err(&propose("58.00", 100_000, "C"), Code::InvalidOrder);
    m.err(&propose("58.00", 100_000, "V"), Code::InvalidOrder);
    m.err(&propose("58.00", 100_000, "NOBODY"), Code::UnknownAccount);
    m.ok(&propose("40.60", 100_000, "I")); // 58 * 0.7 = 40.60
    assert_eq!(m.holding("C", "ZJEA-2025"), (200_000, 100_000, 0));
    m.err(
        r#"{"as":"A","cmd":"block_accept","proposer":"C","id":"k1"}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"I","cmd":"block_accept","proposer":"C","id":"k2"}"#,
        Code::UnknownProposal,
    );
    let r = m.ok(r#"{"as":"I","cmd":"block_accept","proposer":"C","id":"k1"}"#);
    assert_eq!(trades(&r), vec![(4060, 100_000, "k1".into(), "k1".into())]);
    assert_eq!(m.holding("I", "ZJEA-2025"), (0, 0, 100_000));
    assert_eq!(m.cash("C"), (10_000_000 + 406_000_000, 0));
    m.err(
        r#"{"as":"I","cmd":"block_accept","proposer":"C","id":"k1"}"#,
        Code::UnknownProposal,
    );
    let close = m.ok(r#"{"as":"OP","cmd":"close_day"}"#);
    let day = close.events.iter().find_map(|e| match e {
        Event::Day(d) if d.instrument == "ZJEA-2025" => Some(d.clone()),
        _ => None,
    });
    let day = day.unwrap();
    assert_eq!(
        (day.block_volume, day.volume, day.close),
        (100_000, 0, 5800),
        "block trades do not set prices"
    );
}

#[test]
fn unaccepted_proposals_expire_at_the_close() {
    let mut m = Market::trading();
    m.ok(r#"{"as":"I","cmd":"block_propose","id":"k1","instrument":"ZJEA-2025","side":"buy","counterparty":"C","qty":100000,"price":"58.00"}"#);
    assert_eq!(m.cash("I").1, 580_000_000);
    m.ok(r#"{"as":"OP","cmd":"close_day"}"#);
    assert_eq!(m.cash("I"), (10_000_000_000, 0));
    m.ok(r#"{"as":"OP","cmd":"open_day","date":"2026-03-03"}"#);
    m.err(
        r#"{"as":"C","cmd":"block_accept","proposer":"I","id":"k1"}"#,
        Code::UnknownProposal,
    );
    m.err(r#"{"as":"I","cmd":"block_propose","id":"k1","instrument":"ZJEA-2025","side":"buy","counterparty":"C","qty":100000,"price":"58.00"}"#, Code::DuplicateId);
}

// ---------------------------------------------------------------- auctions

#[test]
fn an_auction_clears_at_a_uniform_price_with_a_partly_filled_marginal_bid() {
    let mut m = Market::trading();
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":1000}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"ZJEA-2025","qty":1000,"reserve_price":"50.00"}"#);
    m.err(
        r#"{"as":"A","cmd":"auction_bid","auction":"AU1","id":"x","price":"49.99","qty":10}"#,
        Code::PriceBelowReserve,
    );
    m.err(
        r#"{"as":"A","cmd":"auction_bid","auction":"AU1","id":"x","price":"50.00","qty":1001}"#,
        Code::InvalidQuantity,
    );
    m.err(
        r#"{"as":"A","cmd":"auction_bid","auction":"AU9","id":"x","price":"50.00","qty":1}"#,
        Code::UnknownAuction,
    );
    m.ok(r#"{"as":"A","cmd":"auction_bid","auction":"AU1","id":"a1","price":"55.00","qty":600}"#);
    m.ok(r#"{"as":"B","cmd":"auction_bid","auction":"AU1","id":"b1","price":"52.00","qty":500}"#);
    m.ok(r#"{"as":"C","cmd":"auction_bid","auction":"AU1","id":"c1","price":"51.00","qty":100}"#);
    m.err(
        r#"{"as":"HZ-EEB","cmd":"auction_close","auction":"AU1"}"#,
        Code::NotPermitted,
    );
    let r = m.ok(r#"{"as":"OP","cmd":"auction_close","auction":"AU1"}"#);
    // 600 to a1, 400 of 500 to b1; clearing price 52.00.
    assert_eq!(
        trades(&r),
        vec![
            (5200, 600, "a1".into(), "AU1".into()),
            (5200, 400, "b1".into(), "AU1".into())
        ]
    );
    assert_eq!(m.cash("A"), (10_000_000 - 600 * 5200, 0));
    assert_eq!(m.cash("B"), (10_000_000 - 400 * 5200, 0));
    assert_eq!(m.cash("C"), (10_000_000, 0));
    assert_eq!(m.cash("ZJ-DEE"), (1000 * 5200, 0));
    assert_eq!(m.holding("B", "ZJEA-2025"), (1000, 0, 400));
    m.err(
        r#"{"as":"A","cmd":"auction_bid","auction":"AU1","id":"a2","price":"55.00","qty":1}"#,
        Code::AuctionClosed,
    );
}

#[test]
fn unsold_auction_units_return_and_close_day_clears_open_auctions() {
    let mut m = Market::trading();
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":1000}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"ZJEA-2025","qty":1000,"reserve_price":"50.00"}"#);
    m.ok(r#"{"as":"A","cmd":"auction_bid","auction":"AU1","id":"a1","price":"50.00","qty":300}"#);
    m.ok(r#"{"as":"B","cmd":"auction_bid","auction":"AU1","id":"b1","price":"50.00","qty":300}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"freeze","account":"B"}"#);
    assert_eq!(m.cash("B"), (10_000_000, 0), "freezing cancels bids");
    let close = m.ok(r#"{"as":"OP","cmd":"close_day"}"#);
    assert!(matches!(&close.events[0], Event::Trade(t) if t.mode == TradeMode::Auction && t.qty == 300));
    assert_eq!(m.holding("ZJ-DEE", "ZJEA-2025"), (700, 0, 0));
    assert_eq!(m.holding("A", "ZJEA-2025"), (1300, 0, 0));
}

// ---------------------------------------------------------------- allocation, MRV, compliance

pub(crate) fn compliance_market() -> Market {
    let mut m = Market::trading();
    for l in [
        r#"{"as":"OP","cmd":"define_instrument","symbol":"ZJEA-2026","reference_price":"60.00"}"#,
        r#"{"as":"ZJ-DEE","cmd":"define_factor_set","id":"FS","grid_tco2_per_mwh":"0.5","fuels":{"coal":{"ncv_gj_per_unit":"20","carbon_tc_per_gj":"0.03","oxidation":"0.99"}}}"#,
    ] {
        m.ok(l);
    }
    m
}

pub(crate) fn report_line(actor: &str, consumption: &str, extra: &str) -> String {
    format!(
        r#"{{"as":"{actor}","cmd":"submit_report","year":2025,"factor_set":"FS","fuels":[{{"fuel":"coal","consumption":"{consumption}"{extra}}}],"electricity_mwh":"101","power_mwh":"0","heat_gj":"0"}}"#
    )
}

#[test]
fn reports_compute_direct_emissions_exactly() {
    let mut m = compliance_market();
    // 1000 * 20 * 0.03 * 0.99 = 594 tC; * 44/12 = 2178 t. Indirect 101 * 0.5 = 50.5 -> 51.
    m.ok(&report_line("A", "1000", ""));
    let r = &m.state.reports[&("A".to_string(), 2025)];
    assert_eq!(
        (r.direct_tonnes, r.indirect_tonnes, r.status),
        (2178, 51, ReportStatus::Submitted)
    );
    // Measured values replace defaults: ncv 21 -> 623.7 * 44/12 = 2286.9 -> 2287.
    m.ok(&report_line("A", "1000", r#","ncv":"21""#));
    assert_eq!(m.state.reports[&("A".to_string(), 2025)].direct_tonnes, 2287);
    m.err(r#"{"as":"A","cmd":"submit_report","year":2025,"factor_set":"FS","fuels":[{"fuel":"oil","consumption":"1"}],"electricity_mwh":"0","power_mwh":"0","heat_gj":"0"}"#, Code::UnknownFactorSet);
    m.err(&report_line("I", "1", ""), Code::NotPermitted);
    m.err(&report_line("A", "-1", ""), Code::Malformed);
}

#[test]
fn the_report_workflow_follows_its_states() {
    let mut m = compliance_market();
    m.err(
        r#"{"as":"V","cmd":"verify_report","entity":"A","year":2025}"#,
        Code::ReportNotFound,
    );
    m.ok(&report_line("A", "1000", ""));
    m.err(
        r#"{"as":"HZ-EEB","cmd":"confirm_report","entity":"A","year":2025}"#,
        Code::ReportState,
    );
    m.err(
        r#"{"as":"A","cmd":"verify_report","entity":"A","year":2025}"#,
        Code::NotPermitted,
    );
    m.ok(r#"{"as":"V","cmd":"verify_report","entity":"A","year":2025,"verified_emissions":2000}"#);
    m.err(&report_line("A", "1000", ""), Code::ReportState);
    m.err(
        r#"{"as":"NB-EEB","cmd":"confirm_report","entity":"A","year":2025}"#,
        Code::NotPermitted,
    );
    m.ok(r#"{"as":"HZ-EEB","cmd":"return_report","entity":"A","year":2025}"#);
    assert_eq!(m.state.reports[&("A".to_string(), 2025)].verified_tonnes, None);
    m.ok(&report_line("A", "1000", ""));
    m.ok(r#"{"as":"V","cmd":"verify_report","entity":"A","year":2025}"#);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"confirm_report","entity":"A","year":2025}"#);
    let r = &m.state.reports[&("A".to_string(), 2025)];
    assert_eq!((r.status, r.verified_tonnes), (ReportStatus::Confirmed, Some(2178)));
    assert_eq!(
        r.history,
        vec![
            ReportStatus::Submitted,
            ReportStatus::Verified,
            ReportStatus::Returned,
            ReportStatus::Submitted,
            ReportStatus::Verified,
            ReportStatus::Confirmed
        ]
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"return_report","entity":"A","year":2025}"#,
        Code::ReportState,
    );
}

pub(crate) fn confirm(m: &mut Market, entity: &str, verified: i64) {
    let reg = if entity == "C" { "NB-EEB" } else { "HZ-EEB" };
    m.ok(&report_line(entity, "1", ""));
    m.ok(&format!(
        r#"{{"as":"V","cmd":"verify_report","entity":"{entity}","year":2025,"verified_emissions":{verified}}}"#
    ));
    m.ok(&format!(
        r#"{{"as":"{reg}","cmd":"confirm_report","entity":"{entity}","year":2025}}"#
    ));
}

pub(crate) const GAS_UNIT: &str = r#"{"fuel":"gas","power_mwh":"10000","heat_gj":"0","power_benchmark":"0.3288","heat_benchmark":"0.0533","load_factor":"0.5"}"#;

pub(crate) fn benchmark(entity: &str, phase: &str) -> String {
    format!(
        r#"{{"as":"HZ-EEB","cmd":"allocate_benchmark","entity":"{entity}","year":2025,"phase":"{phase}","units":[{GAS_UNIT}]}}"#
    )
}

#[test]
fn pre_allocation_then_final_with_claw_back_and_the_80_percent_floor() {
    let mut m = compliance_market();
    // A = 10000 * 0.3288 = 3288; pre = round(3288 * 0.7) = round(2301.6) = 2302.
    m.ok(&benchmark("A", "pre"));
    assert_eq!(m.holding("A", "ZJEA-2025"), (1000 + 2302, 0, 0));
    m.err(&benchmark("A", "pre"), Code::AllocationExists);
    m.err(&benchmark("A", "final"), Code::ReportNotConfirmed);
    m.err(&benchmark("C", "pre"), Code::NotPermitted);
    // Verified 5000: final = max(3288, round(0.8 * 5000) = 4000) = 4000; 4000 - 2302 = 1698 more.
    confirm(&mut m, "A", 5000);
    m.ok(&benchmark("A", "final"));
    assert_eq!(m.holding("A", "ZJEA-2025"), (1000 + 4000, 0, 0));
    let a = &m.state.allocations[&("A".to_string(), 2025)];
    assert_eq!(
        (a.pre, a.final_qty, a.issued, a.deducted, a.clawed_back),
        (Some(2302), Some(4000), 4000, 0, 0)
    );
    m.err(&benchmark("A", "final"), Code::AllocationExists);

    // B: pre 2302, then verified 1000: final = max(3288, 800) = 3288 -> +986.
    // With a smaller unit the final is below the pre: claw-back.
    m.ok(&benchmark("B", "pre"));
    m.ok(r#"{"as":"B","cmd":"transfer","instrument":"ZJEA-2025","to":"C","qty":3000}"#); // keeps 302
    confirm(&mut m, "B", 1000);
    let small = r#"{"as":"HZ-EEB","cmd":"allocate_benchmark","entity":"B","year":2025,"phase":"final","units":[{"fuel":"gas","power_mwh":"1000","heat_gj":"0","power_benchmark":"0.3288","heat_benchmark":"0","load_factor":"1"}]}"#;
    // final = max(329, 800) = 800; 800 - 2302 = -1502: 302 clawed back, 1200 added to the obligation.
    m.ok(small);
    let b = &m.state.allocations[&("B".to_string(), 2025)];
    assert_eq!((b.final_qty, b.issued, b.clawed_back), (Some(800), 2302, 302));
    assert_eq!(m.holding("B", "ZJEA-2025"), (0, 0, 0));
    assert_eq!(m.state.obligation("B", 2025), Some(1000 + 1200));
    assert_eq!(m.state.instruments["ZJEA-2025"].clawed_back, 302);
}

#[test]
fn grandfathering_and_deduction_carried_over_two_years() {
    let mut m = compliance_market();
    m.ok(r#"{"as":"OP","cmd":"define_instrument","symbol":"ZJEA-2027","reference_price":"60.00"}"#);
    // round(453123 * (1 - 0.0373)) = round(436221.3... ) = 436222.
    m.ok(
        r#"{"as":"HZ-EEB","cmd":"allocate_grandfather","entity":"A","year":2025,"baseline":453123,"decline":"0.0373"}"#,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"allocate_grandfather","entity":"A","year":2025,"baseline":1,"decline":"0"}"#,
        Code::AllocationExists,
    );
    m.err(
        r#"{"as":"HZ-EEB","cmd":"allocate_grandfather","entity":"A","year":2026,"baseline":1,"decline":"1.5"}"#,
        Code::Malformed,
    );
    confirm(&mut m, "A", 500_000);
    m.ok(r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"ZJEA-2025","qty":437222}"#);
    let rows = m.ok(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2025}"#);
    let a_row = rows.events.iter().find_map(|e| match e {
        Event::Compliance(c) if c.entity == "A" => Some(c.clone()),
        _ => None,
    });
    let a_row = a_row.unwrap();
    assert_eq!((a_row.status, a_row.shortfall), ('B', 62_778));
    // Next allocations are reduced: 2026 by 50000 (all of it), 2027 by the rest.
    m.ok(r#"{"as":"HZ-EEB","cmd":"allocate_grandfather","entity":"A","year":2026,"baseline":50000,"decline":"0"}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"allocate_grandfather","entity":"A","year":2027,"baseline":50000,"decline":"0"}"#);
    let y26 = &m.state.allocations[&("A".to_string(), 2026)];
    let y27 = &m.state.allocations[&("A".to_string(), 2027)];
    assert_eq!((y26.issued, y26.deducted), (0, 50_000));
    assert_eq!((y27.issued, y27.deducted), (50_000 - 12_778, 12_778));
}

#[test]
fn surrender_rules_vintage_offsets_and_obligation() {
    let mut m = compliance_market();
    m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"CCER","to":"A","qty":1000}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2026","to":"A","qty":1000}"#);
    m.err(
        r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"ZJEA-2025","qty":1}"#,
        Code::ReportNotConfirmed,
    );
    confirm(&mut m, "A", 1000);
    m.err(
        r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"ZJEA-2026","qty":1}"#,
        Code::VintageNotEligible,
    );
    // 5% of 1000 = 50 CCER at most.
    m.ok(r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"CCER","qty":50}"#);
    m.err(
        r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"CCER","qty":1}"#,
        Code::OffsetLimitExceeded,
    );
    m.err(
        r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"ZJEA-2025","qty":951}"#,
        Code::ExceedsObligation,
    );
    m.err(
        r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"CCER","qty":5000}"#,
        Code::InsufficientHoldings,
    );
    m.ok(r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"ZJEA-2025","qty":950}"#);
    m.err(
        r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"ZJEA-2025","qty":1}"#,
        Code::ExceedsObligation,
    );
    let rows = m.ok(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2025}"#);
    let statuses: Vec<(String, char)> = rows
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Compliance(c) => Some((c.entity.clone(), c.status)),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![("A".into(), 'A'), ("B".into(), 'C'), ("C".into(), 'C')]);
    m.err(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2025}"#, Code::YearClosed);
    m.err(
        r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"ZJEA-2025","qty":1}"#,
        Code::YearClosed,
    );
    m.err(&report_line("A", "1", ""), Code::YearClosed);
    m.err(r#"{"as":"HZ-EEB","cmd":"close_year","year":2026}"#, Code::NotPermitted);
}

#[test]
fn penalties_use_the_average_of_the_last_22_closes() {
    let mut m = compliance_market();
    confirm(&mut m, "A", 1000);
    // Day 1 closes at 60.00 (one trade), then 22 days without trades at 60.00,
    // so the last 22 closes are all 60.00 and the average is 60.00.
    m.ok(&order("B", "s", "sell", "day", Some("60.00"), 10));
    m.ok(&order("C", "b", "buy", "day", Some("60.00"), 10));
    m.ok(r#"{"as":"OP","cmd":"close_day"}"#);
    assert_eq!(
        m.state.penalty_price(crate::instrument::ObligationKind::Carbon, 2025),
        Some(6000)
    );
    for d in 3..=5 {
        m.ok(&format!(r#"{{"as":"OP","cmd":"open_day","date":"2026-04-0{d}"}}"#));
        m.ok(r#"{"as":"OP","cmd":"close_day"}"#);
    }
    assert_eq!(
        m.state.penalty_price(crate::instrument::ObligationKind::Carbon, 2025),
        Some(6000)
    );
    // Shortfall 1000 at 60.00: 5x = 300000.00, 10x = 600000.00.
    let rows = m.ok(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2025}"#);
    let Event::Compliance(a) = &rows.events[0] else {
        panic!("a compliance row")
    };
    assert_eq!(
        (a.shortfall, a.penalty_min, a.penalty_max),
        (1000, 30_000_000, 60_000_000)
    );
}

// ---------------------------------------------------------------- invariants (property tests)

/// Random commands from a small vocabulary, so that many of them interact.
fn arb_line() -> impl Strategy<Value = String> {
    let who = prop::sample::select(vec!["A", "B", "C", "I"]);
    // Half the prices from a few ticks, so that orders queue at one price.
    let price = prop_oneof![5220i64..=6380, 5798i64..=5802].prop_map(|t| format!("{}.{:02}", t / 100, t % 100));
    let qty = prop_oneof![1i64..200, 1i64..2000];
    prop_oneof![
        6 => (who.clone(), 0u32..40, prop::bool::ANY, prop::sample::select(vec!["day", "ioc", "fok"]), price.clone(), qty.clone(), prop::bool::ANY)
            .prop_map(|(w, id, buy, tif, p, q, market)| {
                let side = if buy { "buy" } else { "sell" };
                if market && tif != "day" {
                    order(w, &format!("o{id}"), side, tif, None, q)
                } else {
                    order(w, &format!("o{id}"), side, tif, Some(&p), q)
                }
            }),
        2 => (who.clone(), 0u32..40).prop_map(|(w, id)| format!(r#"{{"as":"{w}","cmd":"cancel","id":"o{id}"}}"#)),
        1 => (who.clone(), who.clone(), 0u32..5, prop::bool::ANY, 100_000i64..130_000, price.clone())
            .prop_map(|(w, cp, id, buy, q, p)| format!(r#"{{"as":"{w}","cmd":"block_propose","id":"k{id}","instrument":"ZJEA-2025","side":"{}","counterparty":"{cp}","qty":{q},"price":"{p}"}}"#, if buy { "buy" } else { "sell" })),
        1 => (who.clone(), who.clone(), 0u32..5).prop_map(|(w, p, id)| format!(r#"{{"as":"{w}","cmd":"block_accept","proposer":"{p}","id":"k{id}"}}"#)),
        1 => (0u32..3, 1i64..500, price.clone()).prop_map(|(id, q, p)| format!(r#"{{"as":"ZJ-DEE","cmd":"auction_open","id":"AU{id}","instrument":"ZJEA-2025","qty":{q},"reserve_price":"{p}"}}"#)),
        2 => (who.clone(), 0u32..3, 0u32..20, price.clone(), 1i64..300).prop_map(|(w, a, id, p, q)| format!(r#"{{"as":"{w}","cmd":"auction_bid","auction":"AU{a}","id":"x{id}","price":"{p}","qty":{q}}}"#)),
        1 => (0u32..3).prop_map(|a| format!(r#"{{"as":"OP","cmd":"auction_close","auction":"AU{a}"}}"#)),
        1 => (who.clone(), prop::bool::ANY).prop_map(|(w, f)| format!(r#"{{"as":"ZJ-DEE","cmd":"{}","account":"{w}"}}"#, if f { "freeze" } else { "unfreeze" })),
        1 => (who.clone(), who, 1i64..500).prop_map(|(w, to, q)| format!(r#"{{"as":"{w}","cmd":"transfer","instrument":"ZJEA-2025","to":"{to}","qty":{q}}}"#)),
        1 => Just(r#"{"as":"OP","cmd":"close_day"}"#.to_string()),
        1 => (1u32..28).prop_map(|d| format!(r#"{{"as":"OP","cmd":"open_day","date":"2026-05-{d:02}"}}"#)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Conservation of allowances and cash, no negative balance, locks equal
    /// to what orders, proposals and bids reserve, and a book that is never
    /// crossed, after every command of a random session.
    #[test]
    fn invariants_hold_after_every_command(lines in prop::collection::vec(arb_line(), 1..120)) {
        let mut m = Market::trading();
        m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":5000}"#);
        for l in &lines {
            let _ = m.run(l);
            m.state.check_invariants();
            let book = &m.state.instruments["ZJEA-2025"].book;
            if let (Some((bid, _)), Some((ask, _))) = (book.best_bid(), book.best_ask()) {
                prop_assert!(bid < ask, "crossed book after {}", l);
            }
        }
    }

    /// The same commands give the same state: replay determinism.
    #[test]
    fn the_same_commands_give_the_same_state(lines in prop::collection::vec(arb_line(), 1..80)) {
        let run = || {
            let mut m = Market::trading();
            let outcomes: Vec<_> = lines.iter().map(|l| m.run(l)).collect();
            (outcomes, m.fingerprint())
        };
        prop_assert_eq!(run(), run());
    }

    /// A snapshot image is the whole state: a state restored from it
    /// encodes to the same bytes, keeps the invariants, and answers every
    /// later command exactly as the original does.
    #[test]
    fn a_state_restored_from_its_image_is_the_same_state(
        before in prop::collection::vec(arb_line(), 1..100),
        after in prop::collection::vec(arb_line(), 1..60),
    ) {
        let image = |s: &State| postcard::to_allocvec(s).unwrap();
        let mut m = Market::trading();
        m.ok(r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":5000}"#);
        for l in &before {
            let _ = m.run(l);
        }
        let bytes = image(&m.state);
        let restored: State = postcard::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&image(&restored), &bytes);
        restored.check_invariants();
        let mut r = Market { state: restored, nonces: m.nonces.clone() };
        for l in &after {
            prop_assert_eq!(m.run(l), r.run(l), "{}", l);
        }
        prop_assert_eq!(image(&m.state), image(&r.state));
    }
}

#[test]
fn a_city_regulator_sees_its_own_entities_in_the_compliance_table() {
    let mut m = compliance_market();
    confirm(&mut m, "A", 10);
    confirm(&mut m, "C", 10);
    m.ok(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2025}"#);
    let ids = |j: Option<&str>| -> Vec<String> {
        crate::views::compliance_table(&m.state, 2025, j)
            .unwrap()
            .into_iter()
            .map(|l| format!("{}:{}:{}", l.row.entity, l.jurisdiction, l.row.status))
            .collect()
    };
    assert_eq!(ids(Some("ZJ")), vec!["A:HZ:B", "B:HZ:C", "C:NB:B"]);
    assert_eq!(ids(Some("HZ")), vec!["A:HZ:B", "B:HZ:C"]);
    assert_eq!(ids(Some("NB")), vec!["C:NB:B"]);
    assert!(crate::views::compliance_table(&m.state, 2026, None).is_none());
}

// ---------------------------------------------------------------- hostile input

/// One actor per role of the role table (RULEBOOK.md 2, docs/RULES.md): the
/// operator, the `ZJ` regulator, a city regulator (HZ), an entity and an
/// investor, a verifier, and an auditor.
const ROLE_ACTORS: [&str; 7] = ["OP", "ZJ-DEE", "HZ-EEB", "A", "I", "V", "AU"];

/// The market of the role table: [`compliance_market`] with an auditor `AU`
/// (HZ, created by `ZJ`) and what lets each command's rightful issuer carry
/// it out: 20,000,000.00 more cash for A, 100 units for each regulator and
/// 1000 for I, a resting sell `q` of A and of I, block proposals `k1` (C
/// sells to I; A and I buy from C), ZJ's auction `AU1`, A's reports for 2025
/// (confirmed, 100 t) and 2026 (submitted), B's for 2025 (verified), and
/// `CCER` halted.
fn role_market() -> Market {
    let mut m = compliance_market();
    let propose = |who: &str, side: &str, cp: &str| {
        format!(
            r#"{{"as":"{who}","cmd":"block_propose","id":"k1","instrument":"ZJEA-2025","side":"{side}","counterparty":"{cp}","qty":100000,"price":"58.00"}}"#
        )
    };
    confirm(&mut m, "A", 100);
    for l in [
        r#"{"as":"ZJ-DEE","cmd":"create_account","id":"AU","role":"auditor","jurisdiction":"HZ"}"#.to_string(),
        r#"{"as":"OP","cmd":"deposit","account":"A","amount":"20000000.00"}"#.into(),
        r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"HZ-EEB","qty":100}"#.into(),
        r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":100}"#.into(),
        r#"{"as":"C","cmd":"transfer","instrument":"ZJEA-2025","to":"I","qty":1000}"#.into(),
        order("A", "q", "sell", "day", Some("60.00"), 1),
        order("I", "q", "sell", "day", Some("60.00"), 1),
        propose("C", "sell", "I"),
        propose("A", "buy", "C"),
        propose("I", "buy", "C"),
        r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU1","instrument":"ZJEA-2025","qty":10,"reserve_price":"50.00"}"#
            .into(),
        report_line("B", "1", ""),
        r#"{"as":"V","cmd":"verify_report","entity":"B","year":2025}"#.into(),
        role_line("submit_report", "A"),
        r#"{"as":"OP","cmd":"halt","instrument":"CCER"}"#.into(),
    ] {
        m.ok(&l);
    }
    m
}

/// A line of the role table: `cmd` (a command name, or a name and a variant)
/// with a body its rightful issuer can carry out in [`role_market`].
fn role_line(cmd: &str, actor: &str) -> String {
    let body = match cmd {
        "create_account" => r#""cmd":"create_account","id":"NEW","role":"entity","jurisdiction":"HZ""#,
        "create_account auditor" => r#""cmd":"create_account","id":"NEW","role":"auditor","jurisdiction":"HZ""#,
        "define_instrument" => r#""cmd":"define_instrument","symbol":"ZJEA-2030","reference_price":"50.00""#,
        "deposit" => r#""cmd":"deposit","account":"A","amount":"1.00""#,
        "withdraw" => r#""cmd":"withdraw","account":"A","amount":"1.00""#,
        "issue" => r#""cmd":"issue","instrument":"ZJEA-2025","to":"A","qty":1"#,
        "issue CCER" => r#""cmd":"issue","instrument":"CCER","to":"A","qty":1"#,
        "transfer" => r#""cmd":"transfer","instrument":"ZJEA-2025","to":"B","qty":1"#,
        "retire" => r#""cmd":"retire","instrument":"ZJEA-2025","qty":1,"beneficiary":"x""#,
        "freeze" => r#""cmd":"freeze","account":"A""#,
        "unfreeze" => r#""cmd":"unfreeze","account":"A""#,
        "open_day" => r#""cmd":"open_day","date":"2026-03-03""#,
        "close_day" => r#""cmd":"close_day""#,
        "order" => {
            r#""cmd":"order","id":"n","instrument":"ZJEA-2025","side":"buy","type":"limit","tif":"day","price":"58.00","qty":1"#
        }
        "cancel" => r#""cmd":"cancel","id":"q""#,
        "cancel for A" => r#""cmd":"cancel","id":"q","account":"A""#,
        "block_propose" => {
            r#""cmd":"block_propose","id":"k2","instrument":"ZJEA-2025","side":"buy","counterparty":"C","qty":100000,"price":"58.00""#
        }
        "block_accept" => r#""cmd":"block_accept","proposer":"C","id":"k1""#,
        "block_cancel" => r#""cmd":"block_cancel","id":"k1""#,
        "auction_open" => r#""cmd":"auction_open","id":"AUX","instrument":"ZJEA-2025","qty":1,"reserve_price":"1.00""#,
        "auction_bid" => r#""cmd":"auction_bid","auction":"AU1","id":"x","price":"50.00","qty":1"#,
        "auction_close" => r#""cmd":"auction_close","auction":"AU1""#,
        "allocate_grandfather" => r#""cmd":"allocate_grandfather","entity":"A","year":2025,"baseline":1,"decline":"0""#,
        "allocate_benchmark" => {
            return benchmark("A", "pre").replace(r#""as":"HZ-EEB""#, &format!(r#""as":"{actor}""#))
        }
        "define_factor_set" => r#""cmd":"define_factor_set","id":"FSX","grid_tco2_per_mwh":"0.5","fuels":{}"#,
        "submit_report" => {
            r#""cmd":"submit_report","year":2026,"factor_set":"FS","fuels":[],"electricity_mwh":"0","power_mwh":"0","heat_gj":"0""#
        }
        "verify_report" => r#""cmd":"verify_report","entity":"A","year":2026"#,
        "confirm_report" => r#""cmd":"confirm_report","entity":"B","year":2025"#,
        "return_report" => r#""cmd":"return_report","entity":"B","year":2025"#,
        "surrender" => r#""cmd":"surrender","year":2025,"instrument":"ZJEA-2025","qty":1"#,
        "close_year" => r#""cmd":"close_year","year":2025"#,
        "set_position_limits" => r#""cmd":"set_position_limits","entity_extra":5,"investor":7"#,
        "halt" => r#""cmd":"halt","instrument":"ZJEA-2025""#,
        "resume" => r#""cmd":"resume","instrument":"CCER""#,
        "declare_group" => r#""cmd":"declare_group","id":"G","members":["A","B"]"#,
        _ => unreachable!("{cmd}"),
    };
    format!(r#"{{"as":"{actor}",{body}}}"#)
}

type Outcome = Result<(), Code>;
const OK: Outcome = Ok(());
const NP: Outcome = Err(Code::NotPermitted);
const MC: Outcome = Err(Code::MarketClosed);
const UO: Outcome = Err(Code::UnknownOrder);
const UP: Outcome = Err(Code::UnknownProposal);

/// A command of the role table, its outcomes by each of [`ROLE_ACTORS`] on
/// an open day, and on a closed day where they differ.
type RoleRow = (&'static str, [Outcome; 7], Option<[Outcome; 7]>);

/// Every command by every role of [`ROLE_ACTORS`], in [`role_market`] (its
/// day open) and after its close: the outcome the rulebook gives (2, 8-11,
/// 13.6, 14; docs/RULES.md for the auditor, who may sign nothing). The
/// closed-day row is given where it differs: there the permission check must
/// come before the state's (`MARKET_CLOSED`) and the look-ups' (expired
/// orders and proposals).
#[rustfmt::skip]
const ROLE_TABLE: &[RoleRow] = &[
    //                          OP  ZJ  HZ  A   I   V   AU
    ("create_account",         [NP, OK, OK, NP, NP, NP, NP], None),
    ("create_account auditor", [NP, OK, NP, NP, NP, NP, NP], None),
    ("define_instrument",      [OK, NP, NP, NP, NP, NP, NP], None),
    ("deposit",                [OK, NP, NP, NP, NP, NP, NP], None),
    ("withdraw",               [OK, NP, NP, NP, NP, NP, NP], None),
    ("issue",                  [NP, OK, OK, NP, NP, NP, NP], None),
    ("issue CCER",             [NP, OK, NP, NP, NP, NP, NP], None),
    ("transfer",               [NP, OK, OK, OK, OK, NP, NP], None),
    ("retire",                 [NP, NP, NP, OK, OK, NP, NP], None),
    ("freeze",                 [NP, OK, OK, NP, NP, NP, NP], None),
    ("unfreeze",               [NP, OK, OK, NP, NP, NP, NP], None),
    ("open_day",               [Err(Code::MarketOpen), NP, NP, NP, NP, NP, NP],
                          Some([OK, NP, NP, NP, NP, NP, NP])),
    ("close_day",              [OK, NP, NP, NP, NP, NP, NP],
                          Some([MC, NP, NP, NP, NP, NP, NP])),
    ("order",                  [NP, NP, NP, OK, OK, NP, NP],
                          Some([NP, NP, NP, MC, MC, NP, NP])),
    ("cancel",                 [NP, NP, NP, OK, OK, NP, NP],
                          Some([NP, NP, NP, UO, UO, NP, NP])),
    ("cancel for A",           [OK, NP, NP, NP, NP, NP, NP],
                          Some([UO, NP, NP, NP, NP, NP, NP])),
    ("block_propose",          [NP, NP, NP, OK, OK, NP, NP],
                          Some([NP, NP, NP, MC, MC, NP, NP])),
    // Only the named counterparty (I) accepts; the look-up comes first.
    ("block_accept",           [NP, NP, NP, NP, OK, NP, NP],
                          Some([NP, NP, NP, UP, UP, NP, NP])),
    ("block_cancel",           [NP, NP, NP, OK, OK, NP, NP],
                          Some([NP, NP, NP, UP, UP, NP, NP])),
    ("auction_open",           [NP, OK, OK, NP, NP, NP, NP],
                          Some([NP, MC, MC, NP, NP, NP, NP])),
    ("auction_bid",            [NP, NP, NP, OK, OK, NP, NP],
                          Some([NP, NP, NP, MC, MC, NP, NP])),
    // AU1 is ZJ's: closed by ZJ or the operator, not by HZ (13.14).
    ("auction_close",          [OK, OK, NP, NP, NP, NP, NP],
                          Some([MC, MC, NP, NP, NP, NP, NP])),
    ("allocate_grandfather",   [NP, OK, OK, NP, NP, NP, NP], None),
    ("allocate_benchmark",     [NP, OK, OK, NP, NP, NP, NP], None),
    ("define_factor_set",      [NP, OK, NP, NP, NP, NP, NP], None),
    ("submit_report",          [NP, NP, NP, OK, NP, NP, NP], None),
    ("verify_report",          [NP, NP, NP, NP, NP, OK, NP], None),
    ("confirm_report",         [NP, OK, OK, NP, NP, NP, NP], None),
    ("return_report",          [NP, OK, OK, NP, NP, NP, NP], None),
    ("surrender",              [NP, NP, NP, OK, NP, NP, NP], None),
    ("close_year",             [NP, OK, NP, NP, NP, NP, NP], None),
    ("set_position_limits",    [OK, NP, NP, NP, NP, NP, NP], None),
    ("halt",                   [OK, OK, NP, NP, NP, NP, NP], None),
    ("resume",                 [OK, OK, NP, NP, NP, NP, NP], None),
    ("declare_group",          [NP, OK, OK, NP, NP, NP, NP], None),
];

#[test]
fn every_role_gets_the_rulebooks_outcome_for_every_command() {
    let open = role_market();
    let mut closed = open.copy();
    closed.ok(r#"{"as":"OP","cmd":"close_day"}"#);
    let mut wrong = Vec::new();
    for &(cmd, on_open, on_closed) in ROLE_TABLE {
        for (day, market, want) in [
            ("open", &open, on_open),
            ("closed", &closed, on_closed.unwrap_or(on_open)),
        ] {
            for (actor, want) in ROLE_ACTORS.iter().zip(want) {
                let line = role_line(cmd, actor);
                let got = market.copy().run_checked(&line).map(|_| ());
                if got != want {
                    wrong.push(format!("{day} day: {line}: {got:?}, not {want:?}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "outcomes off the role table:\n{}", wrong.join("\n"));
    // Every command is in the table: the 32 of `Cmd`, supervision's included.
    let named: std::collections::BTreeSet<&str> =
        ROLE_TABLE.iter().map(|(c, ..)| c.split(' ').next().unwrap()).collect();
    assert_eq!(named.len(), 32);
}

#[test]
fn an_auditor_is_made_by_zj_alone_and_cannot_be_frozen_funded_or_given_units() {
    let mut m = Market::trading();
    m.err(
        r#"{"as":"HZ-EEB","cmd":"create_account","id":"AU","role":"auditor"}"#,
        Code::NotPermitted,
    );
    m.err(
        r#"{"as":"ZJ-DEE","cmd":"create_account","id":"AU","role":"auditor"}"#,
        Code::Malformed,
    );
    m.ok(r#"{"as":"ZJ-DEE","cmd":"create_account","id":"AU","role":"auditor","jurisdiction":"HZ"}"#);
    assert_eq!(m.state.account("AU").unwrap().role, crate::command::Role::Auditor);
    for line in [
        r#"{"as":"ZJ-DEE","cmd":"freeze","account":"AU"}"#,
        r#"{"as":"HZ-EEB","cmd":"freeze","account":"AU"}"#,
        r#"{"as":"OP","cmd":"deposit","account":"AU","amount":"1.00"}"#,
        r#"{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"AU","qty":1}"#,
        r#"{"as":"A","cmd":"transfer","instrument":"ZJEA-2025","to":"AU","qty":1}"#,
    ] {
        m.err(line, Code::NotPermitted);
    }
}

#[test]
fn a_city_regulator_cannot_touch_another_citys_accounts() {
    let mut m = Market::trading();
    // Something a refused freeze must not cancel.
    m.ok(&order("A", "s1", "sell", "day", Some("58.00"), 100));
    for line in [
        r#"{"as":"NB-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"A","qty":1}"#,
        r#"{"as":"NB-EEB","cmd":"freeze","account":"A"}"#,
        r#"{"as":"NB-EEB","cmd":"unfreeze","account":"A"}"#,
        r#"{"as":"NB-EEB","cmd":"create_account","id":"X","role":"entity","jurisdiction":"HZ"}"#,
        r#"{"as":"NB-EEB","cmd":"allocate_grandfather","entity":"A","year":2025,"baseline":1,"decline":"0"}"#,
        r#"{"as":"NB-EEB","cmd":"confirm_report","entity":"A","year":2025}"#,
        r#"{"as":"NB-EEB","cmd":"return_report","entity":"A","year":2025}"#,
    ] {
        m.err(line, Code::NotPermitted);
    }
    // ZJ acts on all.
    m.ok(r#"{"as":"ZJ-DEE","cmd":"freeze","account":"A"}"#);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random bytes as a payload, with any signature: refused cleanly, never a panic.
    #[test]
    fn random_payloads_are_refused_without_panic(payload in prop::collection::vec(any::<u8>(), 0..512), sig in prop::collection::vec(any::<u8>(), 0..80)) {
        let m = Market::trading();
        let env = pb::SignedCommand { payload, signature: sig };
        prop_assert!(m.state.authenticate(&env, false).is_err());
    }
}

// ---------------------------------------------------------------- arbitrary signed commands

/// The kinds of command [`arbitrary_signed_commands_keep_the_invariants`] sends.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Order,
    Cancel,
    Transfer,
    Deposit,
    Withdraw,
    BlockPropose,
    BlockAccept,
    BlockCancel,
    AuctionOpen,
    AuctionBid,
    AuctionClose,
    Retire,
    Issue,
    Freeze,
    /// Closes the day and opens the next (now and then stays closed).
    Day,
    Surrender,
}

/// One generated command: its kind and raw material. Most values lie where
/// the rules accept them (orders of 1 to 99,999 t, blocks from 100,000 t,
/// small issues, transfers and surrenders, prices in or near the band);
/// one quantity in ten, and each other field one time in 25, is wild
/// instead (any integer, a random decimal or id, any enum values, anyone
/// as the actor, an unknown account included). What random values would
/// almost never hit (a resting order, an open proposal or auction, the
/// next date) is picked from the state when the command is built
/// ([`arb_command`]).
#[derive(Clone, Debug)]
struct Plan {
    kind: Kind,
    /// Picks the actor among those the command is for.
    who: u8,
    /// Picks the other party, the order, the proposal or the auction.
    pick: u8,
    /// Side, order type, time in force and other choices.
    bits: u8,
    qty: i64,
    /// The price, per mille off its reference: the band reference, or for a
    /// bid the auction's reserve.
    permille: i64,
    stranger: Option<u8>,
    wild_price: Option<String>,
    wild_id: Option<String>,
    wild_enums: Option<(i32, i32, i32)>,
}

/// Quantities at and beyond the limits of the rules, and any integer.
fn wild_qty() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        prop::sample::select(vec![
            i64::MIN,
            -1,
            0,
            99_999,
            100_000,
            1_000_000_000_000,
            1_000_000_000_001,
            i64::MAX
        ]),
    ]
}

/// `None` 24 times in 25, else a value of `s`.
fn sometimes<T: Clone + std::fmt::Debug + 'static>(s: impl Strategy<Value = T> + 'static) -> BoxedStrategy<Option<T>> {
    prop_oneof![24 => Just(None), 1 => s.prop_map(Some)].boxed()
}

fn arb_plan() -> impl Strategy<Value = Plan> {
    use Kind::*;
    let kind = prop_oneof![
        16 => Just(Order),
        3 => Just(Cancel),
        3 => Just(Transfer),
        1 => Just(Deposit),
        1 => Just(Withdraw),
        6 => Just(BlockPropose),
        2 => Just(BlockAccept),
        1 => Just(BlockCancel),
        4 => Just(AuctionOpen),
        4 => Just(AuctionBid),
        1 => Just(AuctionClose),
        1 => Just(Retire),
        2 => Just(Issue),
        1 => Just(Freeze),
        1 => Just(Day),
        2 => Just(Surrender),
    ];
    kind.prop_flat_map(|kind| {
        let (qty, permille) = match kind {
            Order => (
                prop_oneof![7 => 1i64..=1000, 2 => 1i64..=99_999, 1 => wild_qty()].boxed(),
                -110i64..=110,
            ),
            BlockPropose => (
                prop_oneof![9 => 100_000i64..=200_000, 1 => wild_qty()].boxed(),
                -330..=330,
            ),
            AuctionOpen => (prop_oneof![9 => 1i64..=5000, 1 => wild_qty()].boxed(), -300..=100),
            AuctionBid => (prop_oneof![9 => 1i64..=500, 1 => wild_qty()].boxed(), -20..=200),
            // Cents.
            Deposit | Withdraw => (prop_oneof![9 => 1i64..=10_000_000, 1 => wild_qty()].boxed(), 0..=0),
            _ => (prop_oneof![9 => 1i64..=1000, 1 => wild_qty()].boxed(), 0..=0),
        };
        (
            Just(kind),
            (any::<u8>(), any::<u8>(), any::<u8>(), qty, permille),
            (
                sometimes(any::<u8>()),
                sometimes("[-0-9.]{0,8}"),
                sometimes("[A-Za-z0-9._ -]{0,12}"),
                sometimes(any::<(i32, i32, i32)>()),
            ),
        )
    })
    .prop_map(
        |(kind, (who, pick, bits, qty, permille), (stranger, wild_price, wild_id, wild_enums))| Plan {
            kind,
            who,
            pick,
            bits,
            qty,
            permille,
            stranger,
            wild_price,
            wild_id,
            wild_enums,
        },
    )
}

const TRADERS: [&str; 4] = ["A", "B", "C", "I"];
const REGULATORS: [&str; 3] = ["ZJ-DEE", "HZ-EEB", "NB-EEB"];
const HOLDERS: [&str; 7] = ["A", "B", "C", "I", "ZJ-DEE", "HZ-EEB", "NB-EEB"];
const ANYONE: [&str; 10] = ["OP", "ZJ-DEE", "HZ-EEB", "NB-EEB", "A", "B", "C", "I", "V", "GHOST"];

/// The market the arbitrary commands run in: [`compliance_market`] with
/// cash, units and a confirmed report (1,000,000 t) for every entity,
/// units for every regulator and I, position limits out of the way, and
/// something to cancel, accept and bid on from the start: a resting buy and
/// sell of each trader, two block proposals and an auction.
fn arb_market() -> Market {
    let mut m = compliance_market();
    m.ok(r#"{"as":"OP","cmd":"set_position_limits","entity_extra":1000000000,"investor":1000000000}"#);
    for (reg, to) in [
        ("HZ-EEB", "A"),
        ("HZ-EEB", "B"),
        ("NB-EEB", "C"),
        ("ZJ-DEE", "ZJ-DEE"),
        ("HZ-EEB", "HZ-EEB"),
        ("NB-EEB", "NB-EEB"),
    ] {
        m.ok(&format!(
            r#"{{"as":"{reg}","cmd":"issue","instrument":"ZJEA-2025","to":"{to}","qty":1000000}}"#
        ));
    }
    m.ok(r#"{"as":"C","cmd":"transfer","instrument":"ZJEA-2025","to":"I","qty":500000}"#);
    for e in ["A", "B", "C"] {
        m.ok(&format!(
            r#"{{"as":"OP","cmd":"deposit","account":"{e}","amount":"100000000.00"}}"#
        ));
        confirm(&mut m, e, 1_000_000);
    }
    for t in TRADERS {
        m.ok(&order(t, &format!("r{t}b"), "buy", "day", Some("55.00"), 100));
        m.ok(&order(t, &format!("r{t}s"), "sell", "day", Some("61.00"), 100));
    }
    for l in [
        r#"{"as":"C","cmd":"block_propose","id":"kC","instrument":"ZJEA-2025","side":"sell","counterparty":"I","qty":100000,"price":"58.00"}"#,
        r#"{"as":"I","cmd":"block_propose","id":"kI","instrument":"ZJEA-2025","side":"buy","counterparty":"A","qty":100000,"price":"58.00"}"#,
        r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU-0","instrument":"ZJEA-2025","qty":5000,"reserve_price":"50.00"}"#,
    ] {
        m.ok(l);
    }
    m
}

/// The command(s) of `p` in the market `m` (two for a day's close and the
/// next open): actor and body. `n` numbers the plan, for fresh ids; `days`
/// counts the days opened, for fresh dates.
fn arb_command(m: &Market, p: &Plan, n: usize, days: &mut u32) -> Vec<(&'static str, pb::command::Body)> {
    use pb::command::Body as B;
    let s = &m.state;
    let ea = "ZJEA-2025";
    let of = |list: &[&'static str], i: u8| list[usize::from(i) % list.len()];
    let price = |reference: Ticks| {
        p.wild_price.clone().unwrap_or_else(|| {
            let t = reference + reference * p.permille / 1000;
            format!("{}.{:02}", t / 100, t % 100)
        })
    };
    let band_ref = s.instruments[ea].band_ref;
    let id = |prefix: &str| p.wild_id.clone().unwrap_or_else(|| format!("{prefix}{n}"));
    let symbol = || p.wild_id.clone().unwrap_or_else(|| ea.to_string());
    let cents = || {
        p.wild_price
            .clone()
            .unwrap_or_else(|| format!("{}.{:02}", p.qty / 100, (p.qty % 100).abs()))
    };
    let side = if p.bits & 1 == 0 { pb::Side::Buy } else { pb::Side::Sell } as i32;
    let trader = of(&TRADERS, p.who);
    let open_auction = (!s.open_auctions.is_empty() && p.wild_id.is_none())
        .then(|| &s.open_auctions[usize::from(p.pick) % s.open_auctions.len()]);
    let mut out: Vec<(&'static str, B)> = match p.kind {
        Kind::Order => {
            let market = p.bits.is_multiple_of(4);
            let mut tif = match (p.bits >> 2) % 4 {
                0 | 1 => pb::TimeInForce::Day,
                2 => pb::TimeInForce::Ioc,
                _ => pb::TimeInForce::Fok,
            };
            // A market day order (INVALID_ORDER) one time in eight.
            if market && tif == pb::TimeInForce::Day && p.bits & 0xe0 != 0xe0 {
                tif = pb::TimeInForce::Ioc;
            }
            let ty = if market {
                pb::OrderType::Market
            } else {
                pb::OrderType::Limit
            } as i32;
            let (side, ty, tif) = p.wild_enums.unwrap_or((side, ty, tif as i32));
            vec![(
                trader,
                B::Order(pb::PlaceOrder {
                    id: Some(id("o")),
                    instrument: Some(ea.into()),
                    side,
                    r#type: ty,
                    tif,
                    price: (!market).then(|| price(band_ref)),
                    qty: Some(p.qty),
                }),
            )]
        }
        Kind::Cancel => {
            // A resting order, by its owner or (one time in four) the operator.
            let resting = s.resting.values().nth(usize::from(p.pick) % s.resting.len().max(1));
            let (owner, id) = match resting {
                Some(r) if p.wild_id.is_none() => (s.accounts[r.owner as usize].id.as_str(), r.client_id.clone()),
                _ => (trader, id("o")),
            };
            let owner = TRADERS
                .iter()
                .find(|t| **t == owner)
                .copied()
                .expect("traders own the orders");
            let by_operator = p.bits.is_multiple_of(4);
            let actor = if by_operator { "OP" } else { owner };
            let account = by_operator.then(|| owner.to_string());
            vec![(actor, B::Cancel(pb::CancelOrder { id: Some(id), account }))]
        }
        Kind::Transfer => vec![(
            of(&HOLDERS, p.who),
            B::Transfer(pb::Transfer {
                instrument: Some(symbol()),
                to: Some(of(&HOLDERS, p.pick).into()),
                qty: Some(p.qty),
            }),
        )],
        Kind::Deposit => vec![(
            "OP",
            B::Deposit(pb::Deposit {
                account: Some(of(&HOLDERS, p.who).into()),
                amount: Some(cents()),
            }),
        )],
        Kind::Withdraw => vec![(
            "OP",
            B::Withdraw(pb::Withdraw {
                account: Some(trader.into()),
                amount: Some(cents()),
            }),
        )],
        Kind::BlockPropose => {
            // Never the proposer itself (INVALID_ORDER) unless wild.
            let cp = TRADERS[(usize::from(p.who) % 4 + 1 + usize::from(p.pick) % 3) % 4];
            let side = p.wild_enums.map_or(side, |e| e.0);
            vec![(
                trader,
                B::BlockPropose(pb::BlockPropose {
                    id: Some(id("k")),
                    instrument: Some(ea.into()),
                    side,
                    counterparty: Some(cp.into()),
                    qty: Some(p.qty),
                    price: Some(price(band_ref)),
                }),
            )]
        }
        Kind::BlockAccept => {
            let open = s.proposals.iter().nth(usize::from(p.pick) % s.proposals.len().max(1));
            let (actor, proposer, id) = match open {
                Some(((owner, id), prop)) if p.wild_id.is_none() => {
                    let cp = s.accounts[prop.counterparty as usize].id.as_str();
                    let actor = TRADERS.iter().find(|t| **t == cp).copied().unwrap_or(trader);
                    (actor, s.accounts[*owner as usize].id.clone(), id.clone())
                }
                _ => (trader, of(&TRADERS, p.pick).to_string(), id("k")),
            };
            vec![(
                actor,
                B::BlockAccept(pb::BlockAccept {
                    proposer: Some(proposer),
                    id: Some(id),
                }),
            )]
        }
        Kind::BlockCancel => {
            let open = s.proposals.keys().nth(usize::from(p.pick) % s.proposals.len().max(1));
            let (actor, id) = match open {
                Some((owner, id)) if p.wild_id.is_none() => (s.accounts[*owner as usize].id.as_str(), id.clone()),
                _ => (trader, id("k")),
            };
            let actor = TRADERS.iter().find(|t| **t == actor).copied().expect("traders propose");
            vec![(actor, B::BlockCancel(pb::BlockCancel { id: Some(id) }))]
        }
        Kind::AuctionOpen => vec![(
            of(&REGULATORS, p.who),
            B::AuctionOpen(pb::AuctionOpen {
                id: Some(id("AU")),
                instrument: Some(ea.into()),
                qty: Some(p.qty),
                reserve_price: Some(price(band_ref)),
            }),
        )],
        Kind::AuctionBid => {
            let (auction, reserve) = match open_auction {
                Some(a) => (a.clone(), s.auctions[a].reserve),
                None => (id("AU"), band_ref),
            };
            vec![(
                trader,
                B::AuctionBid(pb::AuctionBid {
                    auction: Some(auction),
                    id: Some(format!("x{n}")),
                    price: Some(price(reserve)),
                    qty: Some(p.qty),
                }),
            )]
        }
        Kind::AuctionClose => {
            let (auction, actor) = match open_auction {
                Some(a) if p.bits & 1 == 0 => (a.clone(), s.accounts[s.auctions[a].regulator as usize].id.clone()),
                Some(a) => (a.clone(), "OP".to_string()),
                None => (id("AU"), "OP".to_string()),
            };
            let actor = ANYONE.iter().find(|x| **x == actor).copied().expect("a known actor");
            vec![(actor, B::AuctionClose(pb::AuctionClose { auction: Some(auction) }))]
        }
        Kind::Retire => vec![(
            trader,
            B::Retire(pb::Retire {
                instrument: Some(symbol()),
                qty: Some(p.qty),
                beneficiary: (!p.bits.is_multiple_of(8)).then(|| "Asian Games".into()),
            }),
        )],
        Kind::Issue => {
            let reg = of(&REGULATORS, p.who);
            let to = if p.bits & 1 == 0 {
                reg
            } else {
                of(&["A", "B", "C"], p.pick)
            };
            vec![(
                reg,
                B::Issue(pb::Issue {
                    instrument: Some(symbol()),
                    to: Some(to.into()),
                    qty: Some(p.qty),
                }),
            )]
        }
        Kind::Freeze => {
            let account = Some(of(&TRADERS, p.pick).to_string());
            let body = if p.bits.is_multiple_of(3) {
                B::Freeze(pb::Freeze { account })
            } else {
                B::Unfreeze(pb::Unfreeze { account })
            };
            vec![(of(&REGULATORS, p.who), body)]
        }
        Kind::Day => {
            let mut out = Vec::new();
            if s.day.is_some() {
                out.push(("OP", B::CloseDay(pb::CloseDay {})));
            }
            // Now and then the market stays closed, or a date is stale.
            if s.day.is_none() || !p.bits.is_multiple_of(16) {
                if p.bits % 16 != 1 {
                    *days += 1;
                }
                let date = format!("2026-{:02}-{:02}", 4 + *days / 28, 1 + *days % 28);
                out.push(("OP", B::OpenDay(pb::OpenDay { date: Some(date) })));
            }
            out
        }
        Kind::Surrender => vec![(
            of(&["A", "B", "C"], p.who),
            B::Surrender(pb::Surrender {
                year: Some(if p.bits.is_multiple_of(16) { 2026 } else { 2025 }),
                instrument: Some(symbol()),
                qty: Some(p.qty),
            }),
        )],
    };
    if let Some(i) = p.stranger {
        out[0].0 = of(&ANYONE, i);
    }
    out
}

/// Commands of every kind, well formed but with field values from anywhere
/// (mostly where the rules accept them, [`Plan`]), correctly signed and
/// applied to a live market: no panic, the invariants hold after each, a
/// rejection changes nothing but the nonce, and over the run each kind is
/// accepted often enough for its success paths to be exercised.
#[test]
fn arbitrary_signed_commands_keep_the_invariants() {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use proptest::test_runner::TestRunner;

    // The least share of each command accepted over the run, in percent:
    // about six standard deviations below the mean of 30 runs. Where it is
    // low, the command needs something that may be missing: a resting order,
    // an open proposal or auction, an open day, an unfrozen account.
    const MIN_ACCEPTED_PCT: [(&str, u32); 18] = [
        ("order", 50),
        ("cancel", 45),
        ("transfer", 65),
        ("deposit", 75),
        ("withdraw", 55),
        ("block_propose", 45),
        ("block_accept", 40),
        ("block_cancel", 25),
        ("auction_open", 60),
        ("auction_bid", 25),
        ("auction_close", 35),
        ("retire", 45),
        ("issue", 50),
        ("freeze", 30),
        ("unfreeze", 30),
        ("close_day", 85),
        ("open_day", 75),
        ("surrender", 65),
    ];
    let base = arb_market();
    let tally: RefCell<BTreeMap<&'static str, (u32, u32)>> = RefCell::default();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&prop::collection::vec(arb_plan(), 1..200), |plans| {
            let mut m = base.copy();
            let mut days = 0;
            for (n, p) in plans.iter().enumerate() {
                for (actor, body) in arb_command(&m, p, n, &mut days) {
                    let name = crate::market_day::command_name(&body);
                    let what = format!("{actor}: {body:?}");
                    let out = m.checked(Some(actor), &what, |m| m.submit(actor, body));
                    m.state.check_invariants();
                    let mut t = tally.borrow_mut();
                    let (sent, accepted) = t.entry(name).or_default();
                    *sent += 1;
                    *accepted += u32::from(out.is_ok());
                }
            }
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    let low: Vec<String> = MIN_ACCEPTED_PCT
        .iter()
        .filter_map(|&(name, pct)| {
            let (sent, accepted) = tally.get(name).copied().unwrap_or_default();
            (accepted * 100 < pct * sent.max(1)).then(|| format!("{name}: {accepted} of {sent} accepted, want {pct}%"))
        })
        .collect();
    assert!(
        low.is_empty(),
        "too few accepted over the run:\n{}\n{tally:?}",
        low.join("\n")
    );
}

#[test]
fn an_older_vintage_is_surrendered_and_close_year_gives_a_b_and_c() {
    let mut m = compliance_market();
    m.ok(r#"{"as":"OP","cmd":"define_instrument","symbol":"ZJEA-2024","reference_price":"50.00"}"#);
    m.ok(r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2024","to":"A","qty":500}"#);
    confirm(&mut m, "A", 1500); // A: 500 of 2024 (banked) + 1000 of 2025 = 1500: status A
    confirm(&mut m, "C", 400_000); // C: 300000 held, short 100000: status B
    m.ok(r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"ZJEA-2024","qty":500}"#);
    m.ok(r#"{"as":"A","cmd":"surrender","year":2025,"instrument":"ZJEA-2025","qty":1000}"#);
    m.ok(r#"{"as":"C","cmd":"surrender","year":2025,"instrument":"ZJEA-2025","qty":300000}"#);
    assert_eq!(m.state.instruments["ZJEA-2024"].surrendered, 500);
    let close = m.ok(r#"{"as":"ZJ-DEE","cmd":"close_year","year":2025}"#);
    let rows: Vec<(String, char, i64, i64, i64, Cents, Cents)> = close
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Compliance(c) => Some((
                c.entity.clone(),
                c.status,
                c.obligation,
                c.surrendered,
                c.shortfall,
                c.penalty_min,
                c.penalty_max,
            )),
            _ => None,
        })
        .collect();
    // No close yet: the penalty price is the reference 58.00; 100000 * 58.00 * 5 = 29,000,000.00.
    assert_eq!(
        rows,
        vec![
            ("A".into(), 'A', 1500, 1500, 0, 0, 0),
            ("B".into(), 'C', 0, 0, 0, 0, 0),
            ("C".into(), 'B', 400_000, 300_000, 100_000, 2_900_000_000, 5_800_000_000),
        ]
    );
}

#[test]
fn energy_use_is_exact_when_the_sum_has_more_than_28_digits() {
    // RULEBOOK.md 15.2: U = round(sum(qty * coefficient)), exact and rounded
    // once. 12499.99999999999999999999999 GJ of heat (28 significant digits,
    // a valid measure) is 426.5 - 3.412e-25 tce; beside 7,143,000 tce of
    // coal the exact sum, 7143426.4999999999999999999999996588, rounds to
    // 7143426. A 28-digit decimal sum rounds it onto the half first (7143427).
    let mut m = compliance_market();
    let energy = |lines: &str| {
        format!(
            r#"{{"as":"A","cmd":"submit_report","year":2025,"factor_set":"FS","fuels":[],"electricity_mwh":"0","power_mwh":"0","heat_gj":"0","energy":[{lines}]}}"#
        )
    };
    m.ok(&energy(
        r#"{"carrier":"heat","qty":"12499.99999999999999999999999"},{"carrier":"coal","qty":"10000000"}"#,
    ));
    assert_eq!(m.state.reports[&("A".to_string(), 2025)].energy_tce, 7_143_426);
    m.ok(&energy(
        r#"{"carrier":"coal","qty":"10000000"},{"carrier":"heat","qty":"12500.00000000000000000000001"}"#,
    ));
    assert_eq!(m.state.reports[&("A".to_string(), 2025)].energy_tce, 7_143_427);
}
