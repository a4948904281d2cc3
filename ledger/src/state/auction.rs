//! One-way uniform-price auctions (RULEBOOK.md 7 and 13.14): a regulator
//! sells its own holdings; bids are filled highest price first, earliest
//! first within a price, and every winner pays the lowest filled price.
//! An auction takes at most [`MAX_BIDS_PER_AUCTION`] bids (a limit on
//! hostile input, docs/RULES.md): the next is `INVALID_ORDER`.

use super::registry::check_qty;
use super::{AcctIdx, Applied, Event, State, Trade, TradeMode, MAX_BIDS_PER_AUCTION};
use crate::code::Code;
use crate::command::Role;
use crate::num::{Amount, Cents, Ticks, Worth};

type Outcome = Result<Applied, Code>;

/// One bid; its cash (`price * qty`) is locked while the auction is open.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Bid {
    pub bidder: AcctIdx,
    pub id: String,
    pub price: Ticks,
    pub qty: i64,
}

/// An auction; `qty` of the regulator's holdings is locked while it is open.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Auction {
    pub regulator: AcctIdx,
    pub instrument: String,
    pub qty: i64,
    pub reserve: Ticks,
    pub open: bool,
    /// In arrival order, so a stable sort keeps time priority.
    pub bids: Vec<Bid>,
}

impl State {
    pub(super) fn auction_open(
        &mut self,
        actor: AcctIdx,
        id: &str,
        instrument: &str,
        qty: i64,
        reserve: &Amount,
    ) -> Outcome {
        if self.acct(actor).role != Role::Regulator {
            return Err(Code::NotPermitted);
        }
        self.instrument(instrument)?;
        self.open_day()?;
        check_qty(qty)?;
        // A reserve beyond MAX_PRICE_TICKS is refused too (docs/RULES.md).
        let reserve = reserve.ticks().map_err(|_| Code::InvalidPrice)?;
        if self.auctions.contains_key(id) {
            return Err(Code::DuplicateId);
        }
        if self.acct(actor).holding(instrument).available < qty {
            return Err(Code::InsufficientHoldings);
        }
        let h = self.acct_mut(actor).holding_mut(instrument);
        h.available -= qty;
        h.locked += qty;
        self.auctions.insert(
            id.to_string(),
            Auction {
                regulator: actor,
                instrument: instrument.to_string(),
                qty,
                reserve,
                open: true,
                bids: Vec::new(),
            },
        );
        self.open_auctions.push(id.to_string());
        Ok(Applied::default())
    }

    pub(super) fn auction_bid(&mut self, actor: AcctIdx, auction: &str, id: &str, price: &Amount, qty: i64) -> Outcome {
        if !self.acct(actor).role.trades() {
            return Err(Code::NotPermitted);
        }
        let au = self.auctions.get(auction).ok_or(Code::UnknownAuction)?;
        if self.acct(actor).frozen {
            return Err(Code::AccountFrozen);
        }
        self.open_day()?;
        if !au.open {
            return Err(Code::AuctionClosed);
        }
        if !(1..=au.qty).contains(&qty) {
            return Err(Code::InvalidQuantity);
        }
        let price = match price.ticks() {
            Ok(t) => t,
            Err(Worth::Huge) => Ticks::MAX,
            Err(_) => return Err(Code::InvalidPrice),
        };
        if price < au.reserve {
            return Err(Code::PriceBelowReserve);
        }
        if self.acct(actor).bid_ids.contains(id) {
            return Err(Code::DuplicateId);
        }
        let value = Cents::from(price) * Cents::from(qty);
        // A price too large to hold reserves more cash than any account has.
        if price == Ticks::MAX || self.acct(actor).cash_available < value {
            return Err(Code::InsufficientFunds);
        }
        if au.bids.len() >= MAX_BIDS_PER_AUCTION {
            // A hostile-input limit, not a market rule: see docs/RULES.md.
            return Err(Code::InvalidOrder);
        }
        let instrument = au.instrument.clone();
        self.check_position_limit(actor, &instrument, qty)?;
        self.commit_buying(actor, &instrument, qty);
        let a = self.acct_mut(actor);
        a.bid_ids.insert(id.to_string());
        a.cash_available -= value;
        a.cash_locked += value;
        self.auctions.get_mut(auction).expect("found above").bids.push(Bid {
            bidder: actor,
            id: id.to_string(),
            price,
            qty,
        });
        Ok(Applied::default())
    }

    pub(super) fn auction_close(&mut self, actor: AcctIdx, auction: &str) -> Outcome {
        let role = self.acct(actor).role;
        if role != Role::Regulator && actor != self.operator {
            return Err(Code::NotPermitted);
        }
        let au = self.auctions.get(auction).ok_or(Code::UnknownAuction)?;
        if role == Role::Regulator && au.regulator != actor {
            return Err(Code::NotPermitted);
        }
        let date = self.open_day()?;
        if !au.open {
            return Err(Code::AuctionClosed);
        }
        self.open_auctions.retain(|a| a != auction);
        let mut events = Vec::new();
        self.clear_auction(auction, &date, &mut events);
        Ok(Applied { order: None, events })
    }

    /// Clears an open auction: fills, uniform price, refunds, unsold units back.
    pub(super) fn clear_auction(&mut self, id: &str, date: &str, events: &mut Vec<Event>) {
        let au = self.auctions.get_mut(id).expect("clearing a known auction");
        debug_assert!(au.open);
        au.open = false;
        let mut bids = std::mem::take(&mut au.bids);
        let (regulator, symbol, total) = (au.regulator, au.instrument.clone(), au.qty);
        bids.sort_by_key(|b| std::cmp::Reverse(b.price)); // stable: earliest first within a price
        let mut left = total;
        let mut fills: Vec<(usize, i64)> = Vec::new();
        for (i, b) in bids.iter().enumerate() {
            if left == 0 {
                break;
            }
            let q = b.qty.min(left);
            fills.push((i, q));
            left -= q;
        }
        let clearing = fills.last().map(|&(i, _)| bids[i].price);
        let mut filled_of = vec![0i64; bids.len()];
        for &(i, q) in &fills {
            filled_of[i] = q;
        }
        // Every bid's lock is released; winners pay the clearing price.
        for (b, &q) in bids.iter().zip(&filled_of) {
            self.commit_buying(b.bidder, &symbol, -b.qty);
            let locked = Cents::from(b.price) * Cents::from(b.qty);
            let pay = clearing.map_or(0, |c| Cents::from(c) * Cents::from(q));
            let a = self.acct_mut(b.bidder);
            a.cash_locked -= locked;
            a.cash_available += locked - pay;
            if q > 0 {
                a.holding_mut(&symbol).pending += q;
            }
        }
        let sold = total - left;
        let proceeds = clearing.map_or(0, |c| Cents::from(c) * Cents::from(sold));
        {
            let r = self.acct_mut(regulator);
            let h = r.holding_mut(&symbol);
            h.locked -= total;
            h.available += left;
            r.cash_available += proceeds;
            r.tidy(&symbol);
        }
        self.instruments
            .get_mut(&symbol)
            .expect("auctioning a known instrument")
            .today
            .auction_volume += sold;
        let seller = self.acct(regulator).id.clone();
        for &(i, q) in &fills {
            let b = &bids[i];
            events.push(Event::Trade(Trade {
                date: date.to_string(),
                mode: TradeMode::Auction,
                instrument: symbol.clone(),
                price: clearing.expect("a fill sets the clearing price"),
                qty: q,
                buyer: self.acct(b.bidder).id.clone(),
                buy_id: b.id.clone(),
                seller: seller.clone(),
                sell_id: id.to_string(),
            }));
        }
        self.auctions.get_mut(id).expect("clearing a known auction").bids = bids;
    }

    /// Freezing cancels the account's bids in open auctions.
    pub(super) fn cancel_bids_of(&mut self, bidder: AcctIdx) {
        let mut released: Cents = 0;
        let mut uncommitted = Vec::new();
        for id in &self.open_auctions {
            let au = self.auctions.get_mut(id).expect("open auctions exist");
            au.bids.retain(|b| {
                if b.bidder == bidder {
                    released += Cents::from(b.price) * Cents::from(b.qty);
                    uncommitted.push((au.instrument.clone(), b.qty));
                    false
                } else {
                    true
                }
            });
        }
        for (instrument, qty) in uncommitted {
            self.commit_buying(bidder, &instrument, -qty);
        }
        let a = self.acct_mut(bidder);
        a.cash_locked -= released;
        a.cash_available += released;
    }
}
