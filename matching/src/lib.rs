//! `carbon-matching`: the pure price-time order book of Carbon Ledger.
//!
//! The book implements the matching rules of the market rulebook
//! (section 5) and nothing else: no I/O, no clock, no randomness, no money
//! or accounts, no decimals. Prices are integer ticks of 0.01 CNY per tonne
//! ([`PriceTicks`]), quantities are whole tonnes ([`QtyTonnes`]). Given the
//! same sequence of calls, it always produces the same fills and outcomes.
//!
//! ```
//! use carbon_matching::*;
//!
//! let mut book = OrderBook::new(Limits { max_resting_orders: 1000, max_price_ticks: 1_000_000 });
//! let mut fills = Vec::new();
//! let sell = NewOrder { id: 1, owner: 10, side: Side::Sell, kind: OrderKind::Limit { price_ticks: 8_000 },
//!                       tif: TimeInForce::Day, qty_tonnes: 100 };
//! assert_eq!(book.submit(sell, &mut fills).unwrap().end, EndState::Resting { remaining_tonnes: 100 });
//! let buy = NewOrder { id: 2, owner: 20, side: Side::Buy, kind: OrderKind::Market,
//!                      tif: TimeInForce::Ioc, qty_tonnes: 30 };
//! let outcome = book.submit(buy, &mut fills).unwrap();
//! assert_eq!(outcome, Outcome { filled_tonnes: 30, end: EndState::Filled });
//! assert_eq!(fills[0].price_ticks, 8_000); // the resting order's price
//! assert_eq!(book.best_ask(), Some((8_000, 70)));
//! ```

#![warn(missing_docs)]

mod arena;
mod book;
mod id_index;
mod ladder;
mod types;

pub use book::OrderBook;
pub use types::{
    BookError, CancelReason, EndState, Fill, Level, Limits, NewOrder, OrderId, OrderKind, Outcome, OwnerId, PriceTicks,
    QtyTonnes, RestingOrder, Side, TimeInForce,
};

#[cfg(test)]
mod tests;
