//! Block trading (RULEBOOK.md 6 and 13.13): a proposal of 100,000 t or more
//! to a named counterparty, within +-30% of the band reference, settled at
//! once when the counterparty accepts.

use super::{AcctIdx, Applied, State, Trade, TradeMode};
use crate::code::Code;
use crate::command::Side;
use crate::num::{band_high, band_low, Amount, Cents, Ticks, Worth, MAX_QTY_TONNES};

type Outcome = Result<Applied, Code>;

/// Smallest block trade (national ETS: 100,000 t).
pub const MIN_BLOCK_TONNES: i64 = 100_000;
/// The block band is +-30% of the band reference.
pub const BLOCK_BAND_PCT: i64 = 30;

/// An open block proposal; the proposer's side is locked.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Proposal {
    pub instrument: String,
    pub side: Side,
    pub counterparty: AcctIdx,
    pub qty: i64,
    pub price: Ticks,
}

impl State {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn block_propose(
        &mut self,
        actor: AcctIdx,
        id: &str,
        instrument: &str,
        side: Side,
        counterparty: &str,
        qty: i64,
        price: &Amount,
    ) -> Outcome {
        if !self.acct(actor).role.trades() {
            return Err(Code::NotPermitted);
        }
        let cp = self.idx(counterparty)?;
        let band_ref = self.instrument(instrument)?.band_ref;
        if self.acct(actor).frozen {
            return Err(Code::AccountFrozen);
        }
        self.open_day()?;
        self.check_not_halted(instrument)?;
        if !(MIN_BLOCK_TONNES..=MAX_QTY_TONNES).contains(&qty) {
            return Err(Code::InvalidQuantity);
        }
        let price = match price.ticks() {
            Ok(t) => t,
            // A valid price too large to hold is above every band.
            Err(Worth::Huge) => Ticks::MAX,
            Err(_) => return Err(Code::InvalidPrice),
        };
        if cp == actor || !self.acct(cp).role.trades() {
            return Err(Code::InvalidOrder);
        }
        if price < band_low(band_ref, 100 - BLOCK_BAND_PCT) || price > band_high(band_ref, 100 + BLOCK_BAND_PCT) {
            return Err(Code::PriceOutOfBand);
        }
        if self.acct(actor).block_ids.contains(id) {
            return Err(Code::DuplicateId);
        }
        let value = Cents::from(price) * Cents::from(qty);
        let a = self.acct(actor);
        match side {
            Side::Sell if a.holding(instrument).available < qty => return Err(Code::InsufficientHoldings),
            Side::Buy if a.cash_available < value => return Err(Code::InsufficientFunds),
            _ => {}
        }
        if side == Side::Buy {
            self.check_position_limit(actor, instrument, qty)?;
            self.commit_buying(actor, instrument, qty);
        }
        self.acct_mut(actor).block_ids.insert(id.to_string());
        self.reserve(actor, instrument, side, price, qty);
        self.proposals.insert(
            (actor, id.to_string()),
            Proposal {
                instrument: instrument.to_string(),
                side,
                counterparty: cp,
                qty,
                price,
            },
        );
        Ok(Applied::default())
    }

    pub(super) fn block_accept(&mut self, actor: AcctIdx, proposer: &str, id: &str) -> Outcome {
        if !self.acct(actor).role.trades() {
            return Err(Code::NotPermitted);
        }
        let prop_idx = self.idx(proposer)?;
        let key = (prop_idx, id.to_string());
        let p = self.proposals.get(&key).ok_or(Code::UnknownProposal)?;
        if p.counterparty != actor {
            return Err(Code::NotPermitted);
        }
        if self.acct(actor).frozen {
            return Err(Code::AccountFrozen);
        }
        let date = self.open_day()?;
        self.check_not_halted(&p.instrument)?;
        let value = Cents::from(p.price) * Cents::from(p.qty);
        let acceptor = self.acct(actor);
        match p.side {
            // The proposer buys: the acceptor delivers from `available`.
            Side::Buy if acceptor.holding(&p.instrument).available < p.qty => return Err(Code::InsufficientHoldings),
            // The proposer sells: the acceptor pays from `available` cash.
            Side::Sell if acceptor.cash_available < value => return Err(Code::InsufficientFunds),
            _ => {}
        }
        // A sell proposal's acceptor buys (14.1); a buy proposal was checked when made.
        if p.side == Side::Sell {
            self.check_position_limit(actor, &p.instrument, p.qty)?;
        }
        let p = self.proposals.remove(&key).expect("found above");
        if p.side == Side::Buy {
            self.commit_buying(prop_idx, &p.instrument, -p.qty);
        }
        let symbol = p.instrument.as_str();
        let (buyer, seller) = match p.side {
            Side::Buy => (prop_idx, actor),
            Side::Sell => (actor, prop_idx),
        };
        {
            let s = self.acct_mut(seller);
            let h = s.holding_mut(symbol);
            if p.side == Side::Sell {
                h.locked -= p.qty;
            } else {
                h.available -= p.qty;
            }
            s.cash_available += value;
            s.tidy(symbol);
        }
        {
            let b = self.acct_mut(buyer);
            b.holding_mut(symbol).pending += p.qty;
            if p.side == Side::Buy {
                b.cash_locked -= value;
            } else {
                b.cash_available -= value;
            }
        }
        self.instruments
            .get_mut(symbol)
            .expect("proposed on a known instrument")
            .today
            .block_volume += p.qty;
        let mut events = Vec::with_capacity(2);
        let trade = Trade {
            date,
            mode: TradeMode::Block,
            instrument: p.instrument.clone(),
            price: p.price,
            qty: p.qty,
            buyer: self.acct(buyer).id.clone(),
            buy_id: id.to_string(),
            seller: self.acct(seller).id.clone(),
            sell_id: id.to_string(),
        };
        self.push_trade(&mut events, buyer, seller, trade);
        Ok(Applied { order: None, events })
    }

    pub(super) fn block_cancel(&mut self, actor: AcctIdx, id: &str) -> Outcome {
        if !self.acct(actor).role.trades() {
            return Err(Code::NotPermitted);
        }
        let key = (actor, id.to_string());
        let p = self.proposals.remove(&key).ok_or(Code::UnknownProposal)?;
        self.release_proposal(actor, &p);
        Ok(Applied::default())
    }

    fn release_proposal(&mut self, owner: AcctIdx, p: &Proposal) {
        if p.side == Side::Buy {
            self.commit_buying(owner, &p.instrument, -p.qty);
        }
        self.release(owner, &p.instrument, p.side, p.price, p.qty);
    }

    /// At the close every unaccepted proposal expires.
    pub(super) fn expire_proposals(&mut self) {
        for ((owner, _), p) in std::mem::take(&mut self.proposals) {
            self.release_proposal(owner, &p);
        }
    }

    /// Freezing cancels the account's own proposals (not those naming it).
    pub(super) fn cancel_proposals_of(&mut self, owner: AcctIdx) {
        let keys: Vec<_> = self
            .proposals
            .range((owner, String::new())..)
            .take_while(|((o, _), _)| *o == owner)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            let p = self.proposals.remove(&k).expect("listed above");
            self.release_proposal(owner, &p);
        }
    }
}
