//! The state as bytes, for [snapshots](crate::snapshot).
//!
//! `State` and everything in it derive serde (the snapshot writes it with
//! postcard); this module holds the field adapters that need more than a
//! derive. Two rules shape them:
//!
//! - **Deterministic bytes.** The state holds no hash map or set: every
//!   collection iterates in key order, so the same state always gives the
//!   same image (DESIGN.md: no hash-map order reaches an output), with no
//!   sorting at snapshot time, which runs on the sequencer thread.
//! - **Rebuilt, not dumped.** An order book is written as its resting orders
//!   in priority order and rebuilt by resting them again one by one: the
//!   book's arena layout is an implementation detail, its orders and their
//!   priority are the state.

use carbon_matching::{NewOrder, OrderBook, OrderKind, Side, TimeInForce};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::book_limits;

/// An ed25519 public key as its 32 bytes.
pub mod key {
    use super::*;
    use ed25519_dalek::VerifyingKey;

    pub fn serialize<S: Serializer>(k: &VerifyingKey, s: S) -> Result<S::Ok, S::Error> {
        k.to_bytes().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<VerifyingKey, D::Error> {
        let bytes = <[u8; 32]>::deserialize(d)?;
        VerifyingKey::from_bytes(&bytes).map_err(D::Error::custom)
    }
}

/// A decimal as its exact 16-byte form (postcard cannot carry rust_decimal's
/// self-describing default).
pub mod decimal {
    use super::*;
    use rust_decimal::Decimal;

    pub fn serialize<S: Serializer>(x: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        x.serialize().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        Ok(Decimal::deserialize(<[u8; 16]>::deserialize(d)?))
    }
}

/// An order book as its resting orders in priority order:
/// (id, owner, buy?, price in ticks, remaining tonnes).
pub mod book {
    use super::*;

    type Row = (u64, u64, bool, i64, u64);

    pub fn serialize<S: Serializer>(b: &OrderBook, s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<Row> = b
            .resting()
            .map(|o| (o.id, o.owner, o.side == Side::Buy, o.price_ticks, o.remaining_tonnes))
            .collect();
        rows.serialize(s)
    }

    /// Rests every order again, oldest first within each price, so time
    /// priority is what it was. An order that would trade means the image
    /// held a crossed book: refused.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OrderBook, D::Error> {
        let rows = Vec::<Row>::deserialize(d)?;
        let mut book = OrderBook::new(book_limits());
        let mut fills = Vec::new();
        for (id, owner, buy, price_ticks, qty_tonnes) in rows {
            let order = NewOrder {
                id,
                owner,
                side: if buy { Side::Buy } else { Side::Sell },
                kind: OrderKind::Limit { price_ticks },
                tif: TimeInForce::Day,
                qty_tonnes,
            };
            let outcome = book
                .submit(order, &mut fills)
                .map_err(|e| D::Error::custom(format!("resting order {id}: {e}")))?;
            if outcome.filled_tonnes != 0 || !fills.is_empty() {
                return Err(D::Error::custom(format!("resting order {id} crosses the book")));
            }
        }
        Ok(book)
    }
}
