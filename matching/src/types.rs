//! Public value types of the order book: identifiers, orders, fills,
//! outcomes, errors and limits. Everything here is plain `Copy` data with
//! integer units (ticks of 0.01 CNY, whole tonnes); nothing allocates.

use std::fmt;

/// Identifier of an order, assigned by the caller (the ledger).
///
/// Unique among the orders *resting* in one book: an id may be reused once
/// its order has left the book. Ids are arbitrary `u64`s, not necessarily
/// dense or increasing.
pub type OrderId = u64;

/// Opaque owner of an order (an account, a trader...). The book uses it for
/// one thing only: self-trade prevention.
pub type OwnerId = u64;

/// A price in ticks of 0.01 CNY per tonne. Valid prices are
/// `1..=Limits::max_price_ticks`.
pub type PriceTicks = i64;

/// A quantity in whole tonnes. Orders must have a quantity `> 0`.
pub type QtyTonnes = u64;

/// Which side of the book an order is on: a buy (bid) or a sell (ask).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// A bid: wants to buy, trades with resting sells.
    Buy,
    /// An ask: wants to sell, trades with resting buys.
    Sell,
}

impl Side {
    /// The side an order of this side trades against.
    #[inline]
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// How long an order may live (rulebook section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Good for the trading day: a limit order's unfilled remainder rests
    /// until it is filled, cancelled or expired by [`crate::OrderBook::expire_all`].
    Day,
    /// Immediate or cancel: trade what is possible now, cancel the rest.
    Ioc,
    /// Fill or kill: trade the whole quantity now or nothing at all.
    Fok,
}

/// Whether an order carries a price limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// Trades only at `price_ticks` or better; a `Day` remainder rests at
    /// that price.
    Limit {
        /// The limit price in ticks (`1..=Limits::max_price_ticks`).
        price_ticks: PriceTicks,
    },
    /// Trades at any price; never rests (its remainder is cancelled, even
    /// with [`TimeInForce::Day`]).
    Market,
}

/// An incoming order, as submitted to [`crate::OrderBook::submit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NewOrder {
    /// Caller-assigned id; must not equal the id of an order resting in
    /// the book.
    pub id: OrderId,
    /// Owner, for self-trade prevention.
    pub owner: OwnerId,
    /// Buy or sell.
    pub side: Side,
    /// Limit (with price) or market.
    pub kind: OrderKind,
    /// Day, ioc or fok.
    pub tif: TimeInForce,
    /// Quantity in tonnes, `> 0`.
    pub qty_tonnes: QtyTonnes,
}

/// One trade between the incoming (taker) order and a resting (maker)
/// order. Emitted in execution order; the ledger settles each one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fill {
    /// The resting order that traded.
    pub maker_id: OrderId,
    /// The resting order's owner (saves the ledger a lookup).
    pub maker_owner: OwnerId,
    /// The incoming order that traded.
    pub taker_id: OrderId,
    /// Trade price: always the resting order's price.
    pub price_ticks: PriceTicks,
    /// Traded quantity: the smaller of the two remaining quantities.
    pub qty_tonnes: QtyTonnes,
    /// True when the maker is now fully filled and has left the book.
    pub maker_done: bool,
}

/// Why (the remainder of) an incoming order was cancelled instead of
/// resting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CancelReason {
    /// A limit ioc order's unfilled remainder.
    Ioc,
    /// A market order's unfilled remainder (any tif other than an
    /// unfillable fok): market orders never rest.
    Market,
    /// A fok order that could not be filled completely; it traded nothing
    /// and the book is untouched.
    FokUnfillable,
    /// The next resting order to trade with belonged to the same owner; the
    /// remainder was cancelled (trades made before stand). Takes precedence
    /// over `Ioc` and `Market`.
    SelfTrade,
}

/// Where an incoming order ended up after [`crate::OrderBook::submit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndState {
    /// Fully traded.
    Filled,
    /// A day limit order whose remainder now rests in the book.
    Resting {
        /// Quantity left resting, `> 0`.
        remaining_tonnes: QtyTonnes,
    },
    /// The remainder was cancelled (see [`CancelReason`]).
    Cancelled {
        /// Quantity cancelled, `> 0`.
        remaining_tonnes: QtyTonnes,
        /// Why it was cancelled.
        reason: CancelReason,
    },
}

/// Summary of one successful [`crate::OrderBook::submit`]:
/// `filled_tonnes + remaining (if any) == qty_tonnes` of the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// Total quantity traded by this submit (sum of the fills' quantities).
    pub filled_tonnes: QtyTonnes,
    /// What happened to the rest.
    pub end: EndState,
}

/// A snapshot of an order resting in the book, as returned by queries,
/// [`crate::OrderBook::cancel`] and [`crate::OrderBook::expire_all`] (so the
/// caller can release what it reserved for the order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RestingOrder {
    /// The order's id.
    pub id: OrderId,
    /// The order's owner.
    pub owner: OwnerId,
    /// Buy or sell.
    pub side: Side,
    /// The limit price it rests at.
    pub price_ticks: PriceTicks,
    /// Quantity not yet traded, `> 0`.
    pub remaining_tonnes: QtyTonnes,
}

/// One aggregated price level, as reported by [`crate::OrderBook::depth`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Level {
    /// The level's price.
    pub price_ticks: PriceTicks,
    /// Total remaining quantity of the orders at this price (saturates at
    /// `u64::MAX`, which real books never reach).
    pub qty_tonnes: QtyTonnes,
    /// Number of orders resting at this price.
    pub orders: usize,
}

/// Hard limits of a book, checked on every submit with a clear error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Maximum number of orders resting at once; a day limit order whose
    /// remainder would exceed it is rejected with [`BookError::BookFull`].
    /// Values above `u32::MAX - 1` are treated as `u32::MAX - 1` (the
    /// arena indexes slots with `u32`).
    pub max_resting_orders: usize,
    /// Highest accepted limit price; limit prices must be in
    /// `1..=max_price_ticks` or the order is rejected with
    /// [`BookError::InvalidPrice`].
    pub max_price_ticks: PriceTicks,
}

/// Why [`crate::OrderBook::submit`] rejected an order. On any error the
/// book is unchanged and no fill was appended.
///
/// Checks run in this order: `ZeroQuantity`, `InvalidPrice`, `DuplicateId`,
/// `BookFull`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BookError {
    /// The order's id equals the id of an order resting in the book.
    DuplicateId,
    /// The order's quantity is zero.
    ZeroQuantity,
    /// A limit price outside `1..=Limits::max_price_ticks`.
    InvalidPrice,
    /// A day limit order would rest while `Limits::max_resting_orders`
    /// orders already rest. The check is exact: it is only raised when the
    /// order cannot trade at all (if it trades, at least one maker leaves
    /// the book, making room for its remainder).
    BookFull,
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BookError::DuplicateId => "an order with this id is already resting in the book",
            BookError::ZeroQuantity => "order quantity must be greater than zero",
            BookError::InvalidPrice => "limit price is outside 1..=max_price_ticks",
            BookError::BookFull => "the book holds the maximum number of resting orders",
        })
    }
}

impl std::error::Error for BookError {}
