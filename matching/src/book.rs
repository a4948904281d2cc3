//! The order book: price-time matching (rulebook section 5), cancels,
//! end-of-day expiry and queries.

use std::fmt;

use crate::arena::{self, OrderNode, PriceLevel, Slab, MAX_SLOTS, NIL};
use crate::id_index::{self, IdIndex};
use crate::ladder::{Ladder, LadderIter};
use crate::types::{
    BookError, CancelReason, EndState, Fill, Level, Limits, NewOrder, OrderId, OrderKind, Outcome, PriceTicks,
    QtyTonnes, RestingOrder, Side, TimeInForce,
};

/// Slots reserved up front (capped by `Limits::max_resting_orders`); the
/// arenas grow past this on demand and then stay at their high-water mark.
const INITIAL_CAPACITY: usize = 1024;

/// A single instrument's central limit order book with price-time priority.
///
/// It exists so the ledger can match orders without owning any matching
/// logic: the book knows only ids, owners, sides, prices in ticks and
/// quantities in tonnes. It does no I/O, reads no clock, uses no randomness
/// and never lets hash-map order reach its output, so the same sequence of
/// calls always produces the same fills, outcomes and reports.
///
/// Complexity (n resting orders, L price levels on a side, k fills):
/// submit O(k + log L) (O(1) for the best-price step), cancel O(1) plus
/// O(log L) when it empties a level, best bid/ask O(1), get O(1).
/// In steady state no operation allocates (slots are reused; `fills`
/// and the other output vectors are supplied by the caller), except the
/// occasional B-tree node when a new price level appears.
#[derive(Clone)]
pub struct OrderBook {
    limits: Limits,
    /// `limits.max_resting_orders` clamped to what the arena can address.
    max_resting: usize,
    orders: Slab<OrderNode>,
    levels: Slab<PriceLevel>,
    bids: Ladder,
    asks: Ladder,
    index: IdIndex,
}

/// True when an incoming order on `side` with limit `limit` accepts a
/// resting price `resting`.
#[inline]
fn acceptable(side: Side, limit: PriceTicks, resting: PriceTicks) -> bool {
    match side {
        Side::Buy => resting <= limit,
        Side::Sell => resting >= limit,
    }
}

#[inline]
fn saturate(total: u128) -> QtyTonnes {
    QtyTonnes::try_from(total).unwrap_or(QtyTonnes::MAX)
}

#[inline]
fn resting_of(node: &OrderNode) -> RestingOrder {
    RestingOrder {
        id: node.id,
        owner: node.owner,
        side: node.side,
        price_ticks: node.price_ticks,
        remaining_tonnes: node.remaining_tonnes,
    }
}

impl OrderBook {
    /// An empty book enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        let max_resting = limits.max_resting_orders.min(MAX_SLOTS);
        let capacity = max_resting.min(INITIAL_CAPACITY);
        OrderBook {
            limits,
            max_resting,
            orders: Slab::with_capacity(capacity),
            levels: Slab::with_capacity(capacity),
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
            index: id_index::with_capacity(capacity),
        }
    }

    /// The limits this book was created with.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Matches `order` against the book and, for a day limit order, rests
    /// its remainder.
    ///
    /// Fills are appended to `fills` in execution order (the caller reuses
    /// the `Vec`, so a warm call does not allocate). On `Err` nothing
    /// changed and nothing was appended. Errors are checked in the order
    /// `ZeroQuantity`, `InvalidPrice`, `DuplicateId`, `BookFull`; `BookFull`
    /// is exact (see [`BookError::BookFull`]).
    ///
    /// Cancel reasons, by precedence: `FokUnfillable` (no trade at all),
    /// `SelfTrade`, `Market` (any market order's remainder), `Ioc`.
    pub fn submit(&mut self, order: NewOrder, fills: &mut Vec<Fill>) -> Result<Outcome, BookError> {
        if order.qty_tonnes == 0 {
            return Err(BookError::ZeroQuantity);
        }
        let limit = match order.kind {
            OrderKind::Limit { price_ticks } => {
                if price_ticks <= 0 || price_ticks > self.limits.max_price_ticks {
                    return Err(BookError::InvalidPrice);
                }
                Some(price_ticks)
            }
            OrderKind::Market => None,
        };
        if self.index.contains_key(&order.id) {
            return Err(BookError::DuplicateId);
        }
        // Exact: if the order crosses the opposite best it either trades
        // (a maker it fully fills leaves the book, or the order itself is
        // filled) or is stopped by self-trade prevention; either way it
        // does not add a resting order.
        if let Some(price) = limit {
            if order.tif == TimeInForce::Day && self.index.len() >= self.max_resting && !self.crosses(order.side, price)
            {
                return Err(BookError::BookFull);
            }
        }

        if order.tif == TimeInForce::Fok && !self.fok_fillable(&order, limit) {
            return Ok(Outcome {
                filled_tonnes: 0,
                end: EndState::Cancelled {
                    remaining_tonnes: order.qty_tonnes,
                    reason: CancelReason::FokUnfillable,
                },
            });
        }

        let (remaining, self_trade) = self.match_incoming(&order, limit, fills);
        let filled_tonnes = order.qty_tonnes - remaining;
        let cancelled = |reason| EndState::Cancelled {
            remaining_tonnes: remaining,
            reason,
        };
        let end = if remaining == 0 {
            EndState::Filled
        } else if self_trade {
            cancelled(CancelReason::SelfTrade)
        } else {
            match (limit, order.tif) {
                (None, _) => cancelled(CancelReason::Market),
                (Some(price), TimeInForce::Day) => {
                    self.rest(&order, price, remaining);
                    EndState::Resting {
                        remaining_tonnes: remaining,
                    }
                }
                (Some(_), TimeInForce::Ioc) => cancelled(CancelReason::Ioc),
                (Some(_), TimeInForce::Fok) => {
                    // Unreachable: the pre-check walks exactly as matching does.
                    debug_assert!(false, "fok passed its pre-check but did not fill");
                    cancelled(CancelReason::FokUnfillable)
                }
            }
        };
        self.debug_check_after_op();
        Ok(Outcome { filled_tonnes, end })
    }

    /// True when a limit order on `side` at `price` would meet at least one
    /// resting order.
    #[inline]
    fn crosses(&self, side: Side, price: PriceTicks) -> bool {
        let opposite = match side {
            Side::Buy => &self.asks,
            Side::Sell => &self.bids,
        };
        let best = opposite.best_slot();
        best != NIL && acceptable(side, price, self.levels.get(best).price_ticks)
    }

    /// Walks the book exactly as matching would and says whether `order`
    /// would fill completely before the price limit, the end of the book
    /// or its owner's first resting order.
    fn fok_fillable(&self, order: &NewOrder, limit: Option<PriceTicks>) -> bool {
        let opposite = match order.side {
            Side::Buy => &self.asks,
            Side::Sell => &self.bids,
        };
        let mut needed = order.qty_tonnes;
        for level_slot in opposite.iter_best_first() {
            let level = self.levels.get(level_slot);
            if let Some(price) = limit {
                if !acceptable(order.side, price, level.price_ticks) {
                    return false;
                }
            }
            let mut slot = level.head;
            while slot != NIL {
                let node = self.orders.get(slot);
                if node.owner == order.owner {
                    return false;
                }
                if node.remaining_tonnes >= needed {
                    return true;
                }
                needed -= node.remaining_tonnes;
                slot = node.next;
            }
        }
        false
    }

    /// Trades `order` against the opposite side in price-time order.
    /// Returns the unfilled quantity and whether matching stopped on the
    /// owner's own resting order.
    fn match_incoming(
        &mut self,
        order: &NewOrder,
        limit: Option<PriceTicks>,
        fills: &mut Vec<Fill>,
    ) -> (QtyTonnes, bool) {
        let opposite = match order.side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        };
        let mut remaining = order.qty_tonnes;
        loop {
            let level_slot = opposite.best_slot();
            if level_slot == NIL {
                return (remaining, false);
            }
            let level = self.levels.get_mut(level_slot);
            let price = level.price_ticks;
            if let Some(limit) = limit {
                if !acceptable(order.side, limit, price) {
                    return (remaining, false);
                }
            }
            // Consume the level's queue from its head.
            let mut self_trade = false;
            let mut slot = level.head;
            while slot != NIL {
                let node = self.orders.get_mut(slot);
                if node.owner == order.owner {
                    self_trade = true;
                    break;
                }
                let qty = remaining.min(node.remaining_tonnes);
                node.remaining_tonnes -= qty;
                remaining -= qty;
                level.total_tonnes -= u128::from(qty);
                let maker_done = node.remaining_tonnes == 0;
                fills.push(Fill {
                    maker_id: node.id,
                    maker_owner: node.owner,
                    taker_id: order.id,
                    price_ticks: price,
                    qty_tonnes: qty,
                    maker_done,
                });
                if !maker_done {
                    // The taker is exhausted; the maker keeps its place.
                    debug_assert_eq!(remaining, 0);
                    break;
                }
                let next = node.next;
                let id = node.id;
                self.index.remove(&id);
                self.orders.remove(slot);
                level.head = next;
                level.count -= 1;
                if next == NIL {
                    level.tail = NIL;
                } else {
                    self.orders.get_mut(next).prev = NIL;
                }
                slot = next;
                if remaining == 0 {
                    break;
                }
            }
            if level.count == 0 {
                opposite.remove(price);
                self.levels.remove(level_slot);
            }
            if self_trade {
                return (remaining, true);
            }
            if remaining == 0 {
                return (0, false);
            }
        }
    }

    /// Rests `remaining` tonnes of `order` at `price`, behind the orders
    /// already there.
    fn rest(&mut self, order: &NewOrder, price: PriceTicks, remaining: QtyTonnes) {
        let ladder = match order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level_slot = match ladder.find(price) {
            Some(slot) => slot,
            None => {
                let slot = self.levels.insert(PriceLevel {
                    price_ticks: price,
                    total_tonnes: 0,
                    head: NIL,
                    tail: NIL,
                    count: 0,
                });
                ladder.insert(price, slot);
                slot
            }
        };
        let slot = self.orders.insert(OrderNode {
            id: order.id,
            owner: order.owner,
            price_ticks: price,
            remaining_tonnes: remaining,
            prev: NIL,
            next: NIL,
            level: level_slot,
            side: order.side,
        });
        arena::push_back(&mut self.orders, self.levels.get_mut(level_slot), level_slot, slot);
        self.index.insert(order.id, slot);
        self.debug_check_level(level_slot);
    }

    /// Removes the resting order `id` in O(1) (plus O(log L) if it was the
    /// last order at its price) and returns it, or `None` if no order with
    /// that id rests in the book.
    pub fn cancel(&mut self, id: OrderId) -> Option<RestingOrder> {
        let slot = self.index.remove(&id)?;
        let node = *self.orders.get(slot);
        let level = self.levels.get_mut(node.level);
        arena::unlink(&mut self.orders, level, slot);
        if level.count == 0 {
            match node.side {
                Side::Buy => self.bids.remove(node.price_ticks),
                Side::Sell => self.asks.remove(node.price_ticks),
            }
            self.levels.remove(node.level);
        } else {
            self.debug_check_level(node.level);
        }
        self.orders.remove(slot);
        self.debug_check_after_op();
        Some(resting_of(&node))
    }

    /// End of the trading day: removes every resting order and appends
    /// each one to `out` (so the caller can release its reservations), in
    /// the same order as [`OrderBook::resting`]: bids from the best
    /// (highest) price down, then asks from the best (lowest) price up,
    /// oldest first within a price. `out` is not cleared. Keeps the
    /// book's allocations for the next day.
    pub fn expire_all(&mut self, out: &mut Vec<RestingOrder>) {
        out.reserve(self.len());
        out.extend(self.resting());
        self.orders.clear();
        self.levels.clear();
        self.bids.clear();
        self.asks.clear();
        self.index.clear();
    }

    /// The resting order `id`, if it rests in the book. O(1).
    pub fn get(&self, id: OrderId) -> Option<RestingOrder> {
        let slot = *self.index.get(&id)?;
        Some(resting_of(self.orders.get(slot)))
    }

    /// Highest bid: (price, total quantity resting at that price). O(1).
    pub fn best_bid(&self) -> Option<(PriceTicks, QtyTonnes)> {
        self.best(&self.bids)
    }

    /// Lowest ask: (price, total quantity resting at that price). O(1).
    pub fn best_ask(&self) -> Option<(PriceTicks, QtyTonnes)> {
        self.best(&self.asks)
    }

    #[inline]
    fn best(&self, ladder: &Ladder) -> Option<(PriceTicks, QtyTonnes)> {
        let slot = ladder.best_slot();
        if slot == NIL {
            return None;
        }
        let level = self.levels.get(slot);
        Some((level.price_ticks, saturate(level.total_tonnes)))
    }

    /// Appends up to `levels` price levels of `side` to `out`, best first
    /// (bids from the highest price down, asks from the lowest up). `out`
    /// is not cleared.
    pub fn depth(&self, side: Side, levels: usize, out: &mut Vec<Level>) {
        let ladder = self.ladder(side);
        out.extend(ladder.iter_best_first().take(levels).map(|slot| {
            let level = self.levels.get(slot);
            Level {
                price_ticks: level.price_ticks,
                qty_tonnes: saturate(level.total_tonnes),
                orders: level.count as usize,
            }
        }));
    }

    /// Number of distinct prices resting on `side`.
    pub fn level_count(&self, side: Side) -> usize {
        self.ladder(side).len()
    }

    #[inline]
    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Every resting order in priority order: bids best-first, then asks
    /// best-first, oldest first within a price.
    pub fn resting(&self) -> impl Iterator<Item = RestingOrder> + '_ {
        Resting {
            book: self,
            bids: self.bids.iter_best_first(),
            asks: self.asks.iter_best_first(),
            slot: NIL,
        }
    }

    /// Number of resting orders.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no order rests in the book.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Checks every structural invariant in O(n): each level's totals,
    /// counts and links match its orders, levels are non-empty and at the
    /// right price and side, the id index covers exactly the resting
    /// orders, the cached best prices are right, and the book is not
    /// crossed. Meant for tests; returns a description of the first
    /// violation found.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut seen = 0usize;
        for (side, ladder) in [(Side::Buy, &self.bids), (Side::Sell, &self.asks)] {
            let entries = ladder.entries_best_first();
            match entries.first() {
                None if ladder.best_slot() != NIL => {
                    return Err(format!("{side:?}: empty side with a cached best level"));
                }
                Some(&(_, slot)) if slot != ladder.best_slot() => {
                    return Err(format!("{side:?}: cached best level is not the best"));
                }
                _ => {}
            }
            for (price, level_slot) in entries {
                let level = self.levels.get(level_slot);
                if level.price_ticks != price {
                    return Err(format!("{side:?} level {price}: stored price differs"));
                }
                self.check_level(level_slot)?;
                let mut slot = level.head;
                while slot != NIL {
                    let node = self.orders.get(slot);
                    if node.side != side {
                        return Err(format!("order {} on the wrong side", node.id));
                    }
                    if self.index.get(&node.id) != Some(&slot) {
                        return Err(format!("order {} missing from the id index", node.id));
                    }
                    seen += 1;
                    slot = node.next;
                }
            }
        }
        if seen != self.index.len() {
            return Err(format!(
                "id index holds {} ids but {} orders rest",
                self.index.len(),
                seen
            ));
        }
        if self.is_crossed() {
            return Err(format!("book crossed: {self:?}"));
        }
        Ok(())
    }

    /// Checks one level: non-empty, links consistent, count and total
    /// equal to its orders'.
    fn check_level(&self, level_slot: u32) -> Result<(), String> {
        let level = self.levels.get(level_slot);
        let price = level.price_ticks;
        if level.count == 0 || level.head == NIL {
            return Err(format!("level {price} is empty but still listed"));
        }
        let (mut count, mut total, mut prev) = (0u32, 0u128, NIL);
        let mut slot = level.head;
        while slot != NIL {
            let node = self.orders.get(slot);
            if node.prev != prev || node.level != level_slot || node.price_ticks != price {
                return Err(format!("order {} badly linked at level {price}", node.id));
            }
            if node.remaining_tonnes == 0 {
                return Err(format!("order {} rests with zero quantity", node.id));
            }
            count += 1;
            total += u128::from(node.remaining_tonnes);
            prev = slot;
            slot = node.next;
        }
        if prev != level.tail || count != level.count || total != level.total_tonnes {
            return Err(format!(
                "level {price}: count/total/tail ({}, {}) do not match its orders ({count}, {total})",
                level.count, level.total_tonnes
            ));
        }
        Ok(())
    }

    /// Debug builds: the level just modified is consistent.
    #[inline]
    fn debug_check_level(&self, level_slot: u32) {
        debug_assert_eq!(self.check_level(level_slot), Ok(()));
    }

    /// True when the best bid is at or above the best ask.
    fn is_crossed(&self) -> bool {
        matches!(
            (self.best_bid(), self.best_ask()),
            (Some((bid, _)), Some((ask, _))) if bid >= ask
        )
    }

    /// Debug builds, end of every submit and cancel: the book is not
    /// crossed and the best level of each side (the ones matching touches)
    /// has totals and counts equal to its orders'. O(size of those
    /// levels); `check_invariants` does the full O(n) walk.
    #[inline]
    fn debug_check_after_op(&self) {
        debug_assert!(!self.is_crossed(), "book crossed: {self:?}");
        for ladder in [&self.bids, &self.asks] {
            if ladder.best_slot() != NIL {
                self.debug_check_level(ladder.best_slot());
            }
        }
    }
}

/// Summary only: the book can hold millions of orders.
impl fmt::Debug for OrderBook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderBook")
            .field("limits", &self.limits)
            .field("resting_orders", &self.len())
            .field("bid_levels", &self.bids.len())
            .field("ask_levels", &self.asks.len())
            .field("best_bid", &self.best_bid())
            .field("best_ask", &self.best_ask())
            .finish()
    }
}

/// Iterator behind [`OrderBook::resting`].
struct Resting<'a> {
    book: &'a OrderBook,
    bids: LadderIter<'a>,
    asks: LadderIter<'a>,
    /// Next order to yield in the current level, or `NIL`.
    slot: u32,
}

impl Iterator for Resting<'_> {
    type Item = RestingOrder;

    fn next(&mut self) -> Option<RestingOrder> {
        while self.slot == NIL {
            let level_slot = self.bids.next().or_else(|| self.asks.next())?;
            self.slot = self.book.levels.get(level_slot).head;
        }
        let node = self.book.orders.get(self.slot);
        self.slot = node.next;
        Some(resting_of(node))
    }
}
