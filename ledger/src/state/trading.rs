//! The trading day and listed trading on the continuous order book
//! (RULEBOOK.md 4 and 5): reservation at entry, matching through
//! `carbon-matching`, delivery-versus-payment settlement, the close.

use carbon_matching::{EndState, NewOrder, OrderKind, TimeInForce};

use super::supervision::ClosedDay;
use super::{AcctIdx, Applied, DaySummary, Event, OrderStatus, RestingInfo, State, Trade, TradeMode};
use super::{DayStats, MAX_OPEN_ORDERS_PER_ACCOUNT, PENALTY_CLOSES};
use crate::code::Code;
use crate::command::{OrderType, Role, Side, Tif};
use crate::num::{band_high, band_low, div_round, Amount, Cents, Ticks, Worth};

type Outcome = Result<Applied, Code>;

/// Largest quantity of one listed order; 100,000 t and more go to block
/// trading (RULEBOOK.md 5).
pub const MAX_ORDER_TONNES: i64 = 99_999;

/// The listed band is +-10% of the band reference.
pub const LISTED_BAND_PCT: i64 = 10;

impl State {
    pub(super) fn open_trading_day(&mut self, actor: AcctIdx, date: &str) -> Outcome {
        if actor != self.operator {
            return Err(Code::NotPermitted);
        }
        if self.day.is_some() {
            return Err(Code::MarketOpen);
        }
        if self.last_date.as_deref().is_some_and(|last| date <= last) {
            return Err(Code::InvalidDate);
        }
        self.day = Some(date.to_string());
        self.last_date = Some(date.to_string());
        for i in self.instruments.values_mut() {
            i.band_ref = i.reference;
            i.today = DayStats::default();
        }
        Ok(Applied::default())
    }

    pub(super) fn close_trading_day(&mut self, actor: AcctIdx) -> Outcome {
        if actor != self.operator {
            return Err(Code::NotPermitted);
        }
        let date = self.open_day()?;
        let mut events = Vec::new();
        // 1. Clear every open auction, in the order they were opened.
        for id in std::mem::take(&mut self.open_auctions) {
            self.clear_auction(&id, &date, &mut events);
        }
        // 2. Expire resting orders and block proposals, releasing locks.
        let mut expired = Vec::new();
        for inst in self.instruments.values_mut() {
            inst.book.expire_all(&mut expired);
        }
        for o in expired {
            self.release_resting(o.id, o.remaining_tonnes as i64);
        }
        debug_assert!(self.resting.is_empty());
        self.expire_proposals();
        // 3. Closing prices, 4. T+1 release, 5. the day's summary.
        let mut closed = Vec::with_capacity(self.instruments.len());
        for inst in self.instruments.values_mut() {
            let t = std::mem::take(&mut inst.today);
            let close = if t.volume > 0 {
                div_round(t.turnover, Cents::from(t.volume)) as Ticks
            } else {
                inst.reference
            };
            events.push(Event::Day(DaySummary {
                date: date.clone(),
                instrument: inst.symbol.clone(),
                reference: inst.band_ref,
                open: t.open,
                high: t.high,
                low: t.low,
                close,
                volume: t.volume,
                turnover: t.turnover,
                block_volume: t.block_volume,
                auction_volume: t.auction_volume,
            }));
            closed.push(ClosedDay {
                symbol: inst.symbol.clone(),
                reference: inst.band_ref,
                close,
                stats: t,
            });
            inst.reference = close;
            if inst.closes.len() == PENALTY_CLOSES {
                inst.closes.pop_front();
            }
            inst.closes.push_back(close);
        }
        for a in &mut self.accounts {
            for h in a.holdings.values_mut() {
                h.available += h.pending;
                h.pending = 0;
            }
        }
        // 6. The day's alerts (RULEBOOK.md 14.4).
        events.extend(self.close_of_day_alerts(&date, &closed));
        self.day = None;
        Ok(Applied { order: None, events })
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn place_order(
        &mut self,
        actor: AcctIdx,
        id: &str,
        instrument: &str,
        side: Side,
        order_type: OrderType,
        tif: Tif,
        price: Option<&Amount>,
        qty: i64,
    ) -> Outcome {
        let trader = self.acct(actor);
        if !trader.role.trades() {
            return Err(Code::NotPermitted);
        }
        let inst = self.instrument(instrument)?;
        if trader.frozen {
            return Err(Code::AccountFrozen);
        }
        let date = self.open_day()?;
        self.check_not_halted(instrument)?;
        if !(1..=MAX_ORDER_TONNES).contains(&qty) {
            return Err(Code::InvalidQuantity);
        }
        let limit = match order_type {
            OrderType::Limit => match price.map(Amount::ticks) {
                Some(Ok(t)) => Some(t),
                // A valid price too large to hold is above every band.
                Some(Err(Worth::Huge)) => Some(Ticks::MAX),
                _ => return Err(Code::InvalidPrice),
            },
            OrderType::Market => None,
        };
        if order_type == OrderType::Market && (price.is_some() || tif == Tif::Day) {
            return Err(Code::InvalidOrder);
        }
        let (low, high) = listed_band(inst.band_ref);
        if let Some(p) = limit {
            if p < low || p > high {
                return Err(Code::PriceOutOfBand);
            }
        }
        if trader.order_ids.contains(id) {
            return Err(Code::DuplicateId);
        }
        let lock_price = limit.unwrap_or(high);
        let lock_cash = Cents::from(lock_price) * Cents::from(qty);
        match side {
            Side::Sell if trader.holding(instrument).available < qty => return Err(Code::InsufficientHoldings),
            Side::Buy if trader.cash_available < lock_cash => return Err(Code::InsufficientFunds),
            _ => {}
        }
        if tif == Tif::Day && order_type == OrderType::Limit && trader.open_orders.len() >= MAX_OPEN_ORDERS_PER_ACCOUNT
        {
            // A hostile-input limit, not a market rule: see docs/RULES.md.
            return Err(Code::InvalidOrder);
        }
        if side == Side::Buy {
            self.check_position_limit(actor, instrument, qty)?;
        }

        // All checks passed: reserve, match, settle.
        let book_ref = self.next_order_ref;
        self.next_order_ref += 1;
        self.acct_mut(actor).order_ids.insert(id.to_string());
        self.reserve(actor, instrument, side, lock_price, qty);
        let order = NewOrder {
            id: book_ref,
            owner: u64::from(actor),
            side: match side {
                Side::Buy => carbon_matching::Side::Buy,
                Side::Sell => carbon_matching::Side::Sell,
            },
            kind: match limit {
                Some(p) => OrderKind::Limit { price_ticks: p },
                None => OrderKind::Market,
            },
            tif: match tif {
                Tif::Day => TimeInForce::Day,
                Tif::Ioc => TimeInForce::Ioc,
                Tif::Fok => TimeInForce::Fok,
            },
            qty_tonnes: qty as u64,
        };
        let mut fills = std::mem::take(&mut self.fills);
        fills.clear();
        let inst = self.instruments.get_mut(instrument).expect("checked above");
        let outcome = match inst.book.submit(order, &mut fills) {
            Ok(o) => o,
            Err(e) => {
                // The book refused before changing anything: undo the reservation
                // and the reference, so the refusal changes nothing.
                self.next_order_ref -= 1;
                self.acct_mut(actor).order_ids.remove(id);
                self.release(actor, instrument, side, lock_price, qty);
                self.fills = fills;
                tracing::warn!("order book refused an order: {e}");
                return Err(Code::InvalidOrder);
            }
        };
        self.count_activity(actor, instrument, |a| a.placed += 1);
        let taker = RestingInfo {
            owner: actor,
            client_id: id.to_string(),
            instrument: instrument.to_string(),
            side,
            lock_price,
        };
        let mut events = Vec::with_capacity(fills.len());
        for f in &fills {
            let maker = if f.maker_done {
                self.resting.remove(&f.maker_id).expect("a filled maker was resting")
            } else {
                self.resting[&f.maker_id].clone()
            };
            if f.maker_done {
                self.acct_mut(maker.owner).open_orders.remove(&maker.client_id);
            }
            let qty = f.qty_tonnes as i64;
            let (buy, sell) = match side {
                Side::Buy => (&taker, &maker),
                Side::Sell => {
                    self.commit_buying(maker.owner, instrument, -qty);
                    (&maker, &taker)
                }
            };
            let trade = self.settle_listed(&date, buy, sell, f.price_ticks, qty);
            self.push_trade(&mut events, buy.owner, sell.owner, trade);
        }
        self.fills = fills;
        let (status, remaining) = match outcome.end {
            EndState::Filled => (OrderStatus::Filled, 0),
            EndState::Resting { .. } => {
                self.acct_mut(actor).open_orders.insert(id.to_string(), book_ref);
                if side == Side::Buy {
                    self.commit_buying(actor, instrument, qty - outcome.filled_tonnes as i64);
                }
                self.resting.insert(book_ref, taker);
                (OrderStatus::Resting, 0)
            }
            EndState::Cancelled { remaining_tonnes, .. } => (OrderStatus::Cancelled, remaining_tonnes as i64),
        };
        if remaining > 0 {
            self.release(actor, instrument, side, lock_price, remaining);
        }
        Ok(Applied {
            order: Some((status, outcome.filled_tonnes as i64)),
            events,
        })
    }

    /// Settles one listed trade at once: units from the seller's lock to the
    /// buyer's `pending`, cash from the buyer's lock to the seller, with the
    /// price improvement back to the buyer.
    fn settle_listed(&mut self, date: &str, buy: &RestingInfo, sell: &RestingInfo, price: Ticks, qty: i64) -> Trade {
        let symbol = &buy.instrument;
        let value = Cents::from(price) * Cents::from(qty);
        let locked_for = Cents::from(buy.lock_price) * Cents::from(qty);
        debug_assert!(buy.lock_price >= price, "a buy trades at or below its lock price");
        {
            let s = self.acct_mut(sell.owner);
            s.holding_mut(symbol).locked -= qty;
            s.cash_available += value;
            s.tidy(symbol);
        }
        {
            let b = self.acct_mut(buy.owner);
            b.holding_mut(symbol).pending += qty;
            b.cash_locked -= locked_for;
            b.cash_available += locked_for - value;
        }
        let t = &mut self
            .instruments
            .get_mut(symbol.as_str())
            .expect("trading a known instrument")
            .today;
        t.open.get_or_insert(price);
        t.high = Some(t.high.map_or(price, |h| h.max(price)));
        t.low = Some(t.low.map_or(price, |l| l.min(price)));
        t.volume += qty;
        t.turnover += value;
        t.activity.entry(buy.owner).or_default().bought += qty;
        t.activity.entry(sell.owner).or_default().sold += qty;
        Trade {
            date: date.to_string(),
            mode: TradeMode::Listed,
            instrument: symbol.clone(),
            price,
            qty,
            buyer: self.acct(buy.owner).id.clone(),
            buy_id: buy.client_id.clone(),
            seller: self.acct(sell.owner).id.clone(),
            sell_id: sell.client_id.clone(),
        }
    }

    /// Reserves what an order or proposal of `qty` tonnes needs: a sell
    /// locks the units, a buy `lock_price * qty` of cash. The caller checked
    /// that they are available.
    pub(super) fn reserve(&mut self, owner: AcctIdx, instrument: &str, side: Side, lock_price: Ticks, qty: i64) {
        let a = self.acct_mut(owner);
        match side {
            Side::Sell => {
                let h = a.holding_mut(instrument);
                h.available -= qty;
                h.locked += qty;
            }
            Side::Buy => {
                let cash = Cents::from(lock_price) * Cents::from(qty);
                a.cash_available -= cash;
                a.cash_locked += cash;
            }
        }
        debug_assert!(
            a.cash_available >= 0 && a.holding(instrument).available >= 0,
            "reserved more than available"
        );
    }

    /// Releases the reservation of `qty` tonnes of an order or proposal.
    pub(super) fn release(&mut self, owner: AcctIdx, instrument: &str, side: Side, lock_price: Ticks, qty: i64) {
        let a = self.acct_mut(owner);
        match side {
            Side::Sell => {
                let h = a.holding_mut(instrument);
                h.locked -= qty;
                h.available += qty;
            }
            Side::Buy => {
                let cash = Cents::from(lock_price) * Cents::from(qty);
                a.cash_locked -= cash;
                a.cash_available += cash;
            }
        }
    }

    /// Forgets a resting order that left the book and releases what it still reserved.
    fn release_resting(&mut self, book_ref: u64, remaining: i64) {
        let info = self
            .resting
            .remove(&book_ref)
            .expect("an order leaving the book was resting");
        self.acct_mut(info.owner).open_orders.remove(&info.client_id);
        if info.side == Side::Buy {
            self.commit_buying(info.owner, &info.instrument, -remaining);
        }
        self.release(info.owner, &info.instrument, info.side, info.lock_price, remaining);
    }

    /// Cancels a resting order by its book reference.
    pub(super) fn cancel_resting(&mut self, book_ref: u64) {
        let instrument = self.resting[&book_ref].instrument.clone();
        let o = self
            .instruments
            .get_mut(&instrument)
            .expect("resting on a known instrument")
            .book
            .cancel(book_ref)
            .expect("a resting order is in its book");
        self.release_resting(book_ref, o.remaining_tonnes as i64);
    }

    pub(super) fn cancel_order(&mut self, actor: AcctIdx, id: &str, account: Option<&str>) -> Outcome {
        let role = self.acct(actor).role;
        let owner = match account {
            None if role.trades() => actor,
            Some(acc) if role == Role::Operator => self.idx(acc)?,
            _ => return Err(Code::NotPermitted),
        };
        let book_ref = *self.acct(owner).open_orders.get(id).ok_or(Code::UnknownOrder)?;
        if account.is_none() {
            // The owner's own cancel counts toward its cancel ratio (14.4).
            let instrument = self.resting[&book_ref].instrument.clone();
            self.count_activity(owner, &instrument, |a| a.cancelled += 1);
        }
        self.cancel_resting(book_ref);
        Ok(Applied::default())
    }
}

/// The listed price band of a day around `reference`.
pub fn listed_band(reference: Ticks) -> (Ticks, Ticks) {
    (
        band_low(reference, 100 - LISTED_BAND_PCT),
        band_high(reference, 100 + LISTED_BAND_PCT),
    )
}
