//! The market's deterministic state machine (DESIGN.md, "The core").
//!
//! One writer applies commands in sequence order. `apply` either rejects a
//! command with the rulebook's code and changes nothing, or applies it in
//! full and returns what happened. No clock, no randomness, no hash-map
//! iteration order reaches the outcome: the same commands in the same order
//! give the same state and the same events everywhere.
//!
//! Every handler first runs all of its checks, in the order of RULEBOOK.md
//! 12, and only then mutates. The submodules hold one concept each.

mod allocation;
mod auction;
mod block;
mod compliance;
mod events;
pub(crate) mod image;
mod mrv;
mod registry;
mod supervision;
pub(crate) mod trading;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use carbon_matching::OrderBook;
use carbon_proto::v1 as pb;
use ed25519_dalek::{Signature, VerifyingKey};
use prost::Message;

use crate::code::Code;
use crate::command::{is_jurisdiction_form, is_valid_id, validate, Cmd, Role};
use crate::num::{Cents, Ticks};

pub use allocation::{Allocation, AllocationMethod};
pub use events::{
    alert_accounts, alert_kind_name, outcome_to_pb, Alert, AlertKind, Applied, ComplianceRow, DaySummary, Event,
    OrderStatus, Trade, TradeMode,
};
pub use mrv::{Report, ReportStatus};
pub use supervision::{DayActivity, PositionLimits, Supervision, DEFAULT_POSITION_LIMIT_TONNES};

/// Index of an account in [`State::accounts`]; stable for the ledger's life.
pub type AcctIdx = u32;

/// How many closing prices the penalty average looks back (RULEBOOK.md 11).
pub const PENALTY_CLOSES: usize = 22;

/// Most resting orders one instrument's book holds; a hostile client cannot
/// grow memory without bound.
pub const MAX_RESTING_ORDERS_PER_BOOK: usize = 1 << 22;

/// The limits of every instrument's book. Prices are checked against the
/// band before they reach the book, so its own price limit only guards
/// arithmetic.
pub(crate) fn book_limits() -> carbon_matching::Limits {
    carbon_matching::Limits {
        max_resting_orders: MAX_RESTING_ORDERS_PER_BOOK,
        max_price_ticks: i64::MAX / 4,
    }
}

/// How many trading days of trades the state keeps for queries (older ones
/// are in the journal).
pub const TRADE_TAPE_DAYS: usize = 5;

/// Most resting orders one account may have at once (hostile-input limit).
pub const MAX_OPEN_ORDERS_PER_ACCOUNT: usize = 10_000;

/// Most bids one auction holds (hostile-input limit, docs/RULES.md). A bid
/// costs about 200 bytes of state (the bid, its id, the bidder's set of
/// bid ids) and, at the close, one trade in the close's outcome (about 170
/// bytes with 36-character ids): a full auction holds ~2 MB, clears in one
/// command in milliseconds, and its close's answer and journal entry
/// (1.7 MB, `tests_auction`) stay well under the 4 MiB of a gRPC message.
pub const MAX_BIDS_PER_AUCTION: usize = 10_000;

/// Holdings of one instrument in one account (RULEBOOK.md 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holding {
    pub available: i64,
    pub locked: i64,
    pub pending: i64,
}

impl Holding {
    fn is_zero(&self) -> bool {
        self.available == 0 && self.locked == 0 && self.pending == 0
    }
}

/// An account: a party of RULEBOOK.md 2 with its balances and the ids it has
/// used (ids are unique per account per kind, forever).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub id: String,
    pub role: Role,
    pub jurisdiction: Option<String>,
    #[serde(with = "image::key")]
    pub public_key: VerifyingKey,
    pub frozen: bool,
    pub last_nonce: u64,
    pub cash_available: Cents,
    pub cash_locked: Cents,
    pub holdings: BTreeMap<String, Holding>,
    /// Client order id -> book reference of the account's resting orders.
    pub open_orders: BTreeMap<String, u64>,
    /// Tonnes of allowances its resting buy orders, open buy proposals and
    /// auction bids still commit it to: exposure less position (RULEBOOK.md 14.1).
    pub open_buy_tonnes: i64,
    /// The group of related accounts it belongs to (RULEBOOK.md 14.3).
    pub group: Option<String>,
    order_ids: BTreeSet<String>,
    block_ids: BTreeSet<String>,
    bid_ids: BTreeSet<String>,
}

impl Account {
    fn new(id: String, role: Role, jurisdiction: Option<String>, public_key: VerifyingKey) -> Self {
        Account {
            id,
            role,
            jurisdiction,
            public_key,
            frozen: false,
            last_nonce: 0,
            cash_available: 0,
            cash_locked: 0,
            holdings: BTreeMap::new(),
            open_orders: BTreeMap::new(),
            open_buy_tonnes: 0,
            group: None,
            order_ids: BTreeSet::new(),
            block_ids: BTreeSet::new(),
            bid_ids: BTreeSet::new(),
        }
    }

    /// The holding of `symbol`, zero if none.
    pub fn holding(&self, symbol: &str) -> Holding {
        self.holdings.get(symbol).copied().unwrap_or_default()
    }

    fn holding_mut(&mut self, symbol: &str) -> &mut Holding {
        self.holdings.entry(symbol.to_string()).or_default()
    }

    /// Drops all-zero holdings so that state compares equal however it was reached.
    fn tidy(&mut self, symbol: &str) {
        if self.holdings.get(symbol).is_some_and(Holding::is_zero) {
            self.holdings.remove(symbol);
        }
    }

    fn is_zj_regulator(&self) -> bool {
        self.role == Role::Regulator && self.jurisdiction.as_deref() == Some("ZJ")
    }

    /// A regulator acts on accounts of its own jurisdiction; `ZJ` on all.
    fn governs(&self, other: &Account) -> bool {
        self.role == Role::Regulator
            && (self.is_zj_regulator() || (other.jurisdiction.is_some() && other.jurisdiction == self.jurisdiction))
    }
}

/// One trading day's listed-trade statistics of an instrument.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct DayStats {
    pub open: Option<Ticks>,
    pub high: Option<Ticks>,
    pub low: Option<Ticks>,
    pub volume: i64,
    pub turnover: Cents,
    pub block_volume: i64,
    pub auction_volume: i64,
    /// Who bought, sold, placed and cancelled what (RULEBOOK.md 14.4).
    pub activity: BTreeMap<AcctIdx, DayActivity>,
}

/// A listed instrument with its supply counters, prices and order book.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Instrument {
    pub symbol: String,
    /// The reference price: set at definition, replaced by each close.
    pub reference: Ticks,
    /// The band reference of the open day (RULEBOOK.md 4 and 13.9).
    pub band_ref: Ticks,
    pub issued: i64,
    pub surrendered: i64,
    pub retired: i64,
    pub clawed_back: i64,
    /// The last closing prices, newest last, at most [`PENALTY_CLOSES`].
    pub closes: VecDeque<Ticks>,
    pub today: DayStats,
    #[serde(with = "image::book")]
    pub book: OrderBook,
}

impl Instrument {
    /// Units in circulation: issued less what left it.
    pub fn outstanding(&self) -> i64 {
        self.issued - self.surrendered - self.retired - self.clawed_back
    }
}

/// What the ledger knows of a resting order beyond the book.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct RestingInfo {
    owner: AcctIdx,
    client_id: String,
    instrument: String,
    side: crate::command::Side,
    /// The price cash was locked at per tonne (the limit, or the upper band
    /// for a market buy); unused for sells.
    lock_price: Ticks,
}

/// The market: every account, instrument, order, proposal, auction, report,
/// allocation and compliance result.
///
/// `Clone` is a deep copy (tens of milliseconds at a million entries): made
/// once at start-up, to seed the read view's replica, never per batch.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct State {
    /// The ledger's identity ([`ledger_id_of`] its genesis): what every
    /// command signature covers.
    pub ledger_id: [u8; 32],
    pub operator: AcctIdx,
    pub jurisdictions: BTreeSet<String>,
    pub accounts: Vec<Account>,
    pub by_id: BTreeMap<String, AcctIdx>,
    pub instruments: BTreeMap<String, Instrument>,
    /// The open trading day, if any.
    pub day: Option<String>,
    /// The latest day ever opened.
    pub last_date: Option<String>,
    next_order_ref: u64,
    /// Book reference -> the order's ledger side. A B-tree: references only
    /// grow, so inserts land at the end, and a snapshot writes it in order
    /// without sorting.
    resting: BTreeMap<u64, RestingInfo>,
    proposals: BTreeMap<(AcctIdx, String), block::Proposal>,
    auctions: BTreeMap<String, auction::Auction>,
    /// Open auctions in the order they were opened.
    open_auctions: Vec<String>,
    factor_sets: BTreeMap<String, mrv::FactorSet>,
    pub reports: BTreeMap<(String, i64), Report>,
    pub allocations: BTreeMap<(String, i64), Allocation>,
    obligations: BTreeMap<(String, i64), compliance::Obligation>,
    pub closed_years: BTreeMap<i64, Vec<ComplianceRow>>,
    /// Shortfalls still to deduct from the next allocations (RULEBOOK.md 9.3).
    deductions: BTreeMap<String, i64>,
    total_deposits: Cents,
    total_withdrawals: Cents,
    /// Limits, halts and groups (RULEBOOK.md 14).
    pub supervision: Supervision,
    /// Scratch space for the book's fills (empty between commands).
    #[serde(skip)]
    fills: Vec<carbon_matching::Fill>,
    /// The trades of the last [`TRADE_TAPE_DAYS`] trading days, oldest first.
    pub trade_tape: VecDeque<(String, Vec<Trade>)>,
}

/// A command that passed the checks that come before sequencing: well
/// formed, from a known actor, correctly signed, with a fresh nonce.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub actor: AcctIdx,
    pub nonce: u64,
    pub cmd: Cmd,
}

/// The message an account signs for `payload` on the ledger `ledger_id`:
/// the domain prefix, the ledger's id, the payload (docs/SIGNING.md). The
/// ledger id binds a signature to one ledger: a command signed for a
/// staging ledger is worthless on production, even where the same account
/// holds the same key on both.
pub fn signing_message(ledger_id: &[u8; 32], payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(carbon_proto::COMMAND_SIGNING_PREFIX.len() + 32 + payload.len());
    m.extend_from_slice(carbon_proto::COMMAND_SIGNING_PREFIX);
    m.extend_from_slice(ledger_id);
    m.extend_from_slice(payload);
    m
}

/// The first journal entry of the ledger founded by `g`. Its bytes are
/// determined by the genesis, so the ledger's id can be computed from the
/// genesis alone.
pub fn genesis_entry(g: &pb::Genesis) -> pb::JournalEntry {
    pb::JournalEntry {
        seq: 0,
        prev_hash: vec![0; 32],
        input: Some(pb::journal_entry::Input::Genesis(g.clone())),
        outcome: Some(pb::Outcome {
            ok: true,
            ..Default::default()
        }),
    }
}

/// The ledger's identity: the RFC 6962 leaf hash of its genesis entry, the
/// first leaf of its Merkle tree (so a checkpoint's inclusion proof of entry
/// 0 proves it). Commands and read credentials are signed over it.
pub fn ledger_id_of(g: &pb::Genesis) -> [u8; 32] {
    crate::merkle::leaf_hash(&genesis_entry(g).encode_to_vec())
}

impl State {
    /// The state right after genesis: the operator and the regulators.
    pub fn from_genesis(g: &pb::Genesis) -> Result<State, String> {
        let key = |bytes: &[u8], who: &str| -> Result<VerifyingKey, String> {
            let arr: [u8; 32] = bytes
                .try_into()
                .map_err(|_| format!("{who}: public key must be 32 bytes"))?;
            VerifyingKey::from_bytes(&arr).map_err(|e| format!("{who}: bad public key: {e}"))
        };
        if !is_valid_id(&g.operator) {
            return Err(format!("operator id {:?} breaks the id pattern", g.operator));
        }
        let mut accounts = vec![Account::new(
            g.operator.clone(),
            Role::Operator,
            None,
            key(&g.operator_public_key, &g.operator)?,
        )];
        let mut jurisdictions = BTreeSet::new();
        for r in &g.regulators {
            if !is_valid_id(&r.id) {
                return Err(format!("regulator id {:?} breaks the id pattern", r.id));
            }
            if !is_jurisdiction_form(&r.jurisdiction) {
                return Err(format!(
                    "regulator {}: jurisdiction {:?} is not 2 to 4 capital letters",
                    r.id, r.jurisdiction
                ));
            }
            jurisdictions.insert(r.jurisdiction.clone());
            accounts.push(Account::new(
                r.id.clone(),
                Role::Regulator,
                Some(r.jurisdiction.clone()),
                key(&r.public_key, &r.id)?,
            ));
        }
        let mut by_id = BTreeMap::new();
        for (i, a) in accounts.iter().enumerate() {
            if by_id.insert(a.id.clone(), i as AcctIdx).is_some() {
                return Err(format!("account {} appears twice in the genesis", a.id));
            }
        }
        Ok(State {
            ledger_id: ledger_id_of(g),
            operator: 0,
            jurisdictions,
            accounts,
            by_id,
            instruments: BTreeMap::new(),
            day: None,
            last_date: None,
            next_order_ref: 1,
            resting: BTreeMap::new(),
            proposals: BTreeMap::new(),
            auctions: BTreeMap::new(),
            open_auctions: Vec::new(),
            factor_sets: BTreeMap::new(),
            reports: BTreeMap::new(),
            allocations: BTreeMap::new(),
            obligations: BTreeMap::new(),
            closed_years: BTreeMap::new(),
            deductions: BTreeMap::new(),
            total_deposits: 0,
            total_withdrawals: 0,
            supervision: Supervision::default(),
            fills: Vec::with_capacity(64),
            trade_tape: VecDeque::new(),
        })
    }

    /// Looks an account up by id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.by_id.get(id).map(|&i| &self.accounts[i as usize])
    }

    fn idx(&self, id: &str) -> Result<AcctIdx, Code> {
        self.by_id.get(id).copied().ok_or(Code::UnknownAccount)
    }

    fn acct(&self, i: AcctIdx) -> &Account {
        &self.accounts[i as usize]
    }

    fn acct_mut(&mut self, i: AcctIdx) -> &mut Account {
        &mut self.accounts[i as usize]
    }

    fn instrument(&self, symbol: &str) -> Result<&Instrument, Code> {
        self.instruments.get(symbol).ok_or(Code::UnknownInstrument)
    }

    fn open_day(&self) -> Result<String, Code> {
        self.day.clone().ok_or(Code::MarketClosed)
    }

    /// The checks before sequencing, in the rulebook's order: decoding and
    /// form (`MALFORMED`, `UNKNOWN_COMMAND`), the actor (`UNKNOWN_ACCOUNT`),
    /// the signature (`BAD_SIGNATURE`, skipped when `signature_checked`: the
    /// service verifies in parallel before the sequencer) and the nonce
    /// (`REPLAYED`). Read-only.
    pub fn authenticate(&self, envelope: &pb::SignedCommand, signature_checked: bool) -> Result<Authenticated, Code> {
        let (actor, nonce, cmd) = decode_command(&envelope.payload, &self.jurisdictions)?;
        let idx = self.idx(&actor)?;
        let account = self.acct(idx);
        if !signature_checked {
            verify_signature(&account.public_key, &self.ledger_id, envelope)?;
        }
        if nonce <= account.last_nonce {
            return Err(Code::Replayed);
        }
        Ok(Authenticated { actor: idx, nonce, cmd })
    }

    /// The instrument and side of a resting order, by its book reference.
    pub fn resting_order(&self, book_ref: u64) -> Option<(&str, crate::command::Side)> {
        self.resting.get(&book_ref).map(|r| (r.instrument.as_str(), r.side))
    }

    /// The public key of an account, for verifying signatures outside the
    /// sequencer.
    pub fn public_key(&self, id: &str) -> Option<VerifyingKey> {
        self.account(id).map(|a| a.public_key)
    }

    /// Applies an authenticated command: uses up its nonce, then either
    /// applies it in full or rejects it with a code and changes nothing else.
    pub fn apply(&mut self, a: &Authenticated) -> Result<Applied, Code> {
        debug_assert!(a.nonce > self.acct(a.actor).last_nonce);
        self.acct_mut(a.actor).last_nonce = a.nonce;
        let out = self.execute(a.actor, &a.cmd);
        if let Ok(applied) = &out {
            self.record_trades(applied);
        }
        #[cfg(debug_assertions)]
        self.check_invariants();
        out
    }

    fn execute(&mut self, actor: AcctIdx, cmd: &Cmd) -> Result<Applied, Code> {
        match cmd {
            Cmd::CreateAccount {
                id,
                role,
                jurisdiction,
                public_key,
            } => self.create_account(actor, id, *role, jurisdiction.as_deref(), public_key),
            Cmd::DefineInstrument {
                symbol,
                reference_price,
            } => self.define_instrument(actor, symbol, reference_price),
            Cmd::Deposit { account, amount } => self.deposit(actor, account, amount),
            Cmd::Withdraw { account, amount } => self.withdraw(actor, account, amount),
            Cmd::Issue { instrument, to, qty } => self.issue(actor, instrument, to, *qty),
            Cmd::Transfer { instrument, to, qty } => self.transfer(actor, instrument, to, *qty),
            Cmd::Retire { instrument, qty, .. } => self.retire(actor, instrument, *qty),
            Cmd::Freeze { account } => self.set_frozen(actor, account, true),
            Cmd::Unfreeze { account } => self.set_frozen(actor, account, false),
            Cmd::OpenDay { date } => self.open_trading_day(actor, date),
            Cmd::CloseDay => self.close_trading_day(actor),
            Cmd::Order {
                id,
                instrument,
                side,
                order_type,
                tif,
                price,
                qty,
            } => self.place_order(actor, id, instrument, *side, *order_type, *tif, price.as_ref(), *qty),
            Cmd::Cancel { id, account } => self.cancel_order(actor, id, account.as_deref()),
            Cmd::BlockPropose {
                id,
                instrument,
                side,
                counterparty,
                qty,
                price,
            } => self.block_propose(actor, id, instrument, *side, counterparty, *qty, price),
            Cmd::BlockAccept { proposer, id } => self.block_accept(actor, proposer, id),
            Cmd::BlockCancel { id } => self.block_cancel(actor, id),
            Cmd::AuctionOpen {
                id,
                instrument,
                qty,
                reserve_price,
            } => self.auction_open(actor, id, instrument, *qty, reserve_price),
            Cmd::AuctionBid {
                auction,
                id,
                price,
                qty,
            } => self.auction_bid(actor, auction, id, price, *qty),
            Cmd::AuctionClose { auction } => self.auction_close(actor, auction),
            Cmd::AllocateBenchmark {
                entity,
                year,
                phase,
                units,
            } => self.allocate_benchmark(actor, entity, *year, *phase, units),
            Cmd::AllocateGrandfather {
                entity,
                year,
                baseline,
                decline,
            } => self.allocate_grandfather(actor, entity, *year, *baseline, *decline),
            Cmd::DefineFactorSet {
                id,
                grid_tco2_per_mwh,
                fuels,
            } => self.define_factor_set(actor, id, *grid_tco2_per_mwh, fuels),
            Cmd::SubmitReport {
                year,
                factor_set,
                fuels,
                electricity_mwh,
                power_mwh: _,
                heat_gj: _,
                energy,
            } => self.submit_report(actor, *year, factor_set, fuels, *electricity_mwh, energy),
            Cmd::VerifyReport {
                entity,
                year,
                verified_emissions,
                verified_energy,
            } => self.verify_report(actor, entity, *year, *verified_emissions, *verified_energy),
            Cmd::ConfirmReport { entity, year } => self.confirm_report(actor, entity, *year),
            Cmd::ReturnReport { entity, year } => self.return_report(actor, entity, *year),
            Cmd::Surrender { year, instrument, qty } => self.surrender(actor, *year, instrument, *qty),
            Cmd::CloseYear { year } => self.close_year(actor, *year),
            Cmd::SetPositionLimits { entity_extra, investor } => {
                self.set_position_limits(actor, *entity_extra, *investor)
            }
            Cmd::Halt { instrument } => self.set_halted(actor, instrument, true),
            Cmd::Resume { instrument } => self.set_halted(actor, instrument, false),
            Cmd::DeclareGroup { id, members } => self.declare_group(actor, id, members),
        }
    }

    /// Keeps the trades of the last few days for queries.
    fn record_trades(&mut self, applied: &Applied) {
        for e in &applied.events {
            let Event::Trade(t) = e else { continue };
            if self.trade_tape.back().is_none_or(|(d, _)| *d != t.date) {
                if self.trade_tape.len() == TRADE_TAPE_DAYS {
                    self.trade_tape.pop_front();
                }
                self.trade_tape.push_back((t.date.clone(), Vec::new()));
            }
            self.trade_tape.back_mut().expect("pushed above").1.push(t.clone());
        }
    }

    /// The invariants of RULEBOOK.md 3: for each instrument the accounts'
    /// balances add up to what is outstanding; all cash adds up to deposits
    /// less withdrawals; no balance is negative; locks equal what open
    /// orders, proposals and auctions reserve. Panics naming the broken one.
    pub fn check_invariants(&self) {
        let mut held: BTreeMap<&str, i64> = BTreeMap::new();
        let mut locked_units: BTreeMap<(AcctIdx, &str), i64> = BTreeMap::new();
        let mut locked_cash: BTreeMap<AcctIdx, Cents> = BTreeMap::new();
        let mut open_buying: BTreeMap<AcctIdx, i64> = BTreeMap::new();
        let mut buy = |owner: AcctIdx, instrument: &str, tonnes: i64| {
            if crate::instrument::counts_toward_position(instrument) {
                *open_buying.entry(owner).or_default() += tonnes;
            }
        };
        let mut cash: Cents = 0;
        for a in &self.accounts {
            assert!(a.cash_available >= 0 && a.cash_locked >= 0, "negative cash in {}", a.id);
            cash += a.cash_available + a.cash_locked;
            for (s, h) in &a.holdings {
                assert!(
                    h.available >= 0 && h.locked >= 0 && h.pending >= 0,
                    "negative holding {s} in {}",
                    a.id
                );
                *held.entry(s.as_str()).or_default() += h.available + h.locked + h.pending;
            }
        }
        assert_eq!(
            cash,
            self.total_deposits - self.total_withdrawals,
            "cash is not conserved"
        );
        for (s, i) in &self.instruments {
            assert_eq!(
                held.get(s.as_str()).copied().unwrap_or(0),
                i.outstanding(),
                "{s} is not conserved"
            );
        }
        for (r, info) in &self.resting {
            let book = &self.instruments[&info.instrument].book;
            let o = book.get(*r).expect("every resting order is in its book");
            match info.side {
                crate::command::Side::Sell => {
                    *locked_units.entry((info.owner, info.instrument.as_str())).or_default() +=
                        o.remaining_tonnes as i64
                }
                crate::command::Side::Buy => {
                    *locked_cash.entry(info.owner).or_default() +=
                        Cents::from(info.lock_price) * o.remaining_tonnes as Cents;
                    buy(info.owner, &info.instrument, o.remaining_tonnes as i64);
                }
            }
        }
        for ((owner, _), p) in &self.proposals {
            match p.side {
                crate::command::Side::Sell => {
                    *locked_units.entry((*owner, p.instrument.as_str())).or_default() += p.qty
                }
                crate::command::Side::Buy => {
                    *locked_cash.entry(*owner).or_default() += Cents::from(p.price) * Cents::from(p.qty);
                    buy(*owner, &p.instrument, p.qty);
                }
            }
        }
        for id in &self.open_auctions {
            let au = &self.auctions[id];
            *locked_units.entry((au.regulator, au.instrument.as_str())).or_default() += au.qty;
            for b in &au.bids {
                *locked_cash.entry(b.bidder).or_default() += Cents::from(b.price) * Cents::from(b.qty);
                buy(b.bidder, &au.instrument, b.qty);
            }
        }
        for (i, a) in self.accounts.iter().enumerate() {
            let i = i as AcctIdx;
            assert_eq!(
                a.cash_locked,
                locked_cash.get(&i).copied().unwrap_or(0),
                "cash locks of {} do not match",
                a.id
            );
            assert_eq!(
                a.open_buy_tonnes,
                open_buying.get(&i).copied().unwrap_or(0),
                "open buying of {} does not match its orders, proposals and bids",
                a.id
            );
            if let Some(g) = &a.group {
                assert!(self.supervision.groups[g].contains(&a.id), "{} is in {g}", a.id);
            }
            for (s, h) in &a.holdings {
                assert_eq!(
                    h.locked,
                    locked_units.get(&(i, s.as_str())).copied().unwrap_or(0),
                    "{s} locks of {} do not match",
                    a.id
                );
            }
        }
    }
}

/// The first checks of RULEBOOK.md 12, on a command's bytes alone: it
/// decodes (`MALFORMED`), names an actor and a nonce (`MALFORMED`), and its
/// body has the right form (`UNKNOWN_COMMAND`, `MALFORMED`). The service
/// runs them too, on the handler, before it answers `BAD_SIGNATURE`: a
/// command that fails them is refused for that first.
pub fn decode_command(payload: &[u8], jurisdictions: &BTreeSet<String>) -> Result<(String, u64, Cmd), Code> {
    let command = pb::Command::decode(payload).map_err(|_| Code::Malformed)?;
    let (Some(actor), Some(nonce)) = (command.actor, command.nonce) else {
        return Err(Code::Malformed);
    };
    if !is_valid_id(&actor) {
        return Err(Code::Malformed);
    }
    let cmd = validate(command.body.as_ref(), jurisdictions)?;
    Ok((actor, nonce, cmd))
}

/// Checks an envelope's signature against an account key, on the ledger
/// `ledger_id`.
pub fn verify_signature(key: &VerifyingKey, ledger_id: &[u8; 32], envelope: &pb::SignedCommand) -> Result<(), Code> {
    let sig = Signature::from_slice(&envelope.signature).map_err(|_| Code::BadSignature)?;
    if crate::signature::verify_strict(key, &signing_message(ledger_id, &envelope.payload), &sig) {
        Ok(())
    } else {
        Err(Code::BadSignature)
    }
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_auction;
#[cfg(test)]
mod tests_energy;
#[cfg(test)]
mod tests_exact;
#[cfg(test)]
mod tests_supervision;
