//! Registry operations (RULEBOOK.md 8): accounts, instruments, cash, issuance,
//! transfers, retirement, freezing.

use std::collections::VecDeque;

use carbon_matching::OrderBook;
use ed25519_dalek::VerifyingKey;

use super::{book_limits, Account, AcctIdx, Applied, DayStats, Instrument, State};
use crate::code::Code;
use crate::command::Role;
use crate::instrument::Family;
use crate::num::{Amount, Cents, Worth};

type Outcome = Result<Applied, Code>;

pub(super) fn check_qty(qty: i64) -> Result<(), Code> {
    if (1..=crate::num::MAX_QTY_TONNES).contains(&qty) {
        Ok(())
    } else {
        Err(Code::InvalidQuantity)
    }
}

impl State {
    pub(super) fn create_account(
        &mut self,
        actor: AcctIdx,
        id: &str,
        role: Role,
        jurisdiction: Option<&str>,
        public_key: &[u8; 32],
    ) -> Outcome {
        let reg = self.acct(actor);
        // 13.5: ZJ must name a jurisdiction. A form error, so it comes before
        // every permission check, though only the actor tells it apart.
        if reg.is_zj_regulator() && jurisdiction.is_none() {
            return Err(Code::Malformed);
        }
        // Auditors are the provincial regulator's to create (docs/RULES.md).
        let creatable = match role {
            Role::Entity | Role::Investor | Role::Verifier => true,
            Role::Auditor => reg.is_zj_regulator(),
            Role::Operator | Role::Regulator => false,
        };
        if reg.role != Role::Regulator || !creatable {
            return Err(Code::NotPermitted);
        }
        let jurisdiction = if reg.is_zj_regulator() {
            jurisdiction.expect("checked above").to_string()
        } else {
            let own = reg.jurisdiction.clone().expect("regulators have a jurisdiction");
            match jurisdiction {
                Some(j) if j != own => return Err(Code::NotPermitted),
                _ => own,
            }
        };
        if self.by_id.contains_key(id) {
            return Err(Code::AccountExists);
        }
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| Code::Malformed)?;
        let idx = self.accounts.len() as AcctIdx;
        self.accounts
            .push(Account::new(id.to_string(), role, Some(jurisdiction), key));
        self.by_id.insert(id.to_string(), idx);
        Ok(Applied::default())
    }

    pub(super) fn define_instrument(&mut self, actor: AcctIdx, symbol: &str, reference_price: &Amount) -> Outcome {
        if actor != self.operator {
            return Err(Code::NotPermitted);
        }
        // A reference price beyond MAX_PRICE_TICKS is refused too (docs/RULES.md).
        let reference = reference_price.ticks().map_err(|_| Code::InvalidPrice)?;
        if self.instruments.contains_key(symbol) {
            return Err(Code::InstrumentExists);
        }
        self.instruments.insert(
            symbol.to_string(),
            Instrument {
                symbol: symbol.to_string(),
                reference,
                band_ref: reference,
                issued: 0,
                surrendered: 0,
                retired: 0,
                clawed_back: 0,
                closes: VecDeque::new(),
                today: DayStats::default(),
                book: OrderBook::new(book_limits()),
            },
        );
        Ok(Applied::default())
    }

    /// The account that cash moves to or from: it must exist and hold cash.
    fn cash_account(&self, actor: AcctIdx, account: &str) -> Result<AcctIdx, Code> {
        if actor != self.operator {
            return Err(Code::NotPermitted);
        }
        let idx = self.idx(account)?;
        if !matches!(self.acct(idx).role, Role::Entity | Role::Investor | Role::Regulator) {
            return Err(Code::NotPermitted);
        }
        Ok(idx)
    }

    pub(super) fn deposit(&mut self, actor: AcctIdx, account: &str, amount: &Amount) -> Outcome {
        let idx = self.cash_account(actor, account)?;
        let Worth::Cents(cents) = amount.worth() else {
            return Err(Code::InvalidAmount);
        };
        // Only sums beyond i128 (10^36 CNY) are refused (docs/RULES.md).
        let (Some(total), Some(_)) = (
            self.total_deposits.checked_add(cents),
            self.acct(idx).cash_available.checked_add(cents),
        ) else {
            return Err(Code::InvalidAmount);
        };
        self.acct_mut(idx).cash_available += cents;
        self.total_deposits = total;
        Ok(Applied::default())
    }

    pub(super) fn withdraw(&mut self, actor: AcctIdx, account: &str, amount: &Amount) -> Outcome {
        let idx = self.cash_account(actor, account)?;
        if self.acct(idx).frozen {
            return Err(Code::AccountFrozen);
        }
        let cents = match amount.worth() {
            Worth::Cents(c) => c,
            Worth::Huge => Cents::MAX,
            Worth::Invalid => return Err(Code::InvalidAmount),
        };
        if self.acct(idx).cash_available < cents {
            return Err(Code::InsufficientFunds);
        }
        self.acct_mut(idx).cash_available -= cents;
        self.total_withdrawals += cents;
        Ok(Applied::default())
    }

    /// Credits new units to an account's available holdings.
    pub(super) fn mint(&mut self, to: AcctIdx, symbol: &str, qty: i64) {
        debug_assert!(qty >= 0);
        if qty == 0 {
            return;
        }
        self.instruments
            .get_mut(symbol)
            .expect("minting a known instrument")
            .issued += qty;
        self.acct_mut(to).holding_mut(symbol).available += qty;
    }

    pub(super) fn issue(&mut self, actor: AcctIdx, instrument: &str, to: &str, qty: i64) -> Outcome {
        let reg = self.acct(actor);
        let offsets = Family::of(instrument) == Some(Family::Offset);
        if reg.role != Role::Regulator || (offsets && !reg.is_zj_regulator()) {
            return Err(Code::NotPermitted);
        }
        let to_idx = self.idx(to)?;
        let target = self.acct(to_idx);
        let own_entity = target.role == Role::Entity && reg.governs(target);
        if !(own_entity || to_idx == actor) {
            return Err(Code::NotPermitted);
        }
        self.instrument(instrument)?;
        check_qty(qty)?;
        self.mint(to_idx, instrument, qty);
        Ok(Applied::default())
    }

    pub(super) fn transfer(&mut self, actor: AcctIdx, instrument: &str, to: &str, qty: i64) -> Outcome {
        if !matches!(self.acct(actor).role, Role::Entity | Role::Investor | Role::Regulator) {
            return Err(Code::NotPermitted);
        }
        let to_idx = self.idx(to)?;
        if !matches!(self.acct(to_idx).role, Role::Entity | Role::Investor | Role::Regulator) {
            return Err(Code::NotPermitted);
        }
        self.instrument(instrument)?;
        if self.acct(actor).frozen {
            return Err(Code::AccountFrozen);
        }
        check_qty(qty)?;
        if self.acct(actor).holding(instrument).available < qty {
            return Err(Code::InsufficientHoldings);
        }
        if to_idx != actor {
            self.acct_mut(actor).holding_mut(instrument).available -= qty;
            self.acct_mut(actor).tidy(instrument);
            self.acct_mut(to_idx).holding_mut(instrument).available += qty;
        }
        Ok(Applied::default())
    }

    pub(super) fn retire(&mut self, actor: AcctIdx, instrument: &str, qty: i64) -> Outcome {
        if !self.acct(actor).role.trades() {
            return Err(Code::NotPermitted);
        }
        self.instrument(instrument)?;
        if self.acct(actor).frozen {
            return Err(Code::AccountFrozen);
        }
        check_qty(qty)?;
        if self.acct(actor).holding(instrument).available < qty {
            return Err(Code::InsufficientHoldings);
        }
        self.acct_mut(actor).holding_mut(instrument).available -= qty;
        self.acct_mut(actor).tidy(instrument);
        self.instruments.get_mut(instrument).expect("checked above").retired += qty;
        Ok(Applied::default())
    }

    pub(super) fn set_frozen(&mut self, actor: AcctIdx, account: &str, frozen: bool) -> Outcome {
        if self.acct(actor).role != Role::Regulator {
            return Err(Code::NotPermitted);
        }
        let idx = self.idx(account)?;
        let target = self.acct(idx);
        if !matches!(target.role, Role::Entity | Role::Investor | Role::Verifier) || !self.acct(actor).governs(target) {
            return Err(Code::NotPermitted);
        }
        if frozen {
            self.cancel_all_of(idx);
        }
        self.acct_mut(idx).frozen = frozen;
        Ok(Applied::default())
    }

    /// Freezing cancels the account's resting orders, its own block
    /// proposals and its auction bids, releasing their locks.
    fn cancel_all_of(&mut self, idx: AcctIdx) {
        let orders: Vec<u64> = self.acct(idx).open_orders.values().copied().collect();
        for r in orders {
            self.cancel_resting(r);
        }
        self.cancel_proposals_of(idx);
        self.cancel_bids_of(idx);
    }
}
