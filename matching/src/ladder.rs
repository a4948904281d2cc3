//! One side's price ladder: which price levels exist, in price order, with
//! the best one cached so that "best bid/ask" and the first step of every
//! match are O(1).
//!
//! Levels are kept in a `BTreeMap<PriceTicks, level slot>`: O(log L)
//! insert/remove/lookup (L = number of distinct prices on the side),
//! ordered iteration for depth and fok checks, and no pathological case
//! when the book is deep or sparse (a sorted `Vec` would memmove on every
//! new or emptied level far from the top). The map is touched only when a
//! level is created or emptied, or when an order rests at a price other
//! than the best; everything else goes through the cached best slot.

use std::collections::btree_map;
use std::collections::BTreeMap;
use std::iter::Rev;

use crate::arena::NIL;
use crate::types::{PriceTicks, Side};

/// The price levels of one side of the book.
#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    side: Side,
    levels: BTreeMap<PriceTicks, u32>,
    /// Best price (highest bid / lowest ask); meaningless when empty.
    best_price: PriceTicks,
    /// Slot of the best level, or `NIL` when the side is empty.
    best_slot: u32,
}

impl Ladder {
    pub fn new(side: Side) -> Self {
        Ladder {
            side,
            levels: BTreeMap::new(),
            best_price: 0,
            best_slot: NIL,
        }
    }

    /// True when `a` is a better price than `b` on this side.
    #[inline]
    fn better(&self, a: PriceTicks, b: PriceTicks) -> bool {
        match self.side {
            Side::Buy => a > b,
            Side::Sell => a < b,
        }
    }

    /// Slot of the best level, or `NIL`.
    #[inline]
    pub fn best_slot(&self) -> u32 {
        self.best_slot
    }

    /// Slot of the level at `price`, if there is one.
    #[inline]
    pub fn find(&self, price: PriceTicks) -> Option<u32> {
        if self.best_slot != NIL && self.best_price == price {
            return Some(self.best_slot);
        }
        self.levels.get(&price).copied()
    }

    /// Registers a new level. `price` must not be present.
    #[inline]
    pub fn insert(&mut self, price: PriceTicks, slot: u32) {
        let previous = self.levels.insert(price, slot);
        debug_assert!(previous.is_none());
        if self.best_slot == NIL || self.better(price, self.best_price) {
            self.best_price = price;
            self.best_slot = slot;
        }
    }

    /// Forgets the level at `price` (which must be present).
    #[inline]
    pub fn remove(&mut self, price: PriceTicks) {
        let removed = self.levels.remove(&price);
        debug_assert!(removed.is_some());
        if self.best_price == price {
            let next = match self.side {
                Side::Buy => self.levels.last_key_value(),
                Side::Sell => self.levels.first_key_value(),
            };
            match next {
                Some((&p, &s)) => {
                    self.best_price = p;
                    self.best_slot = s;
                }
                None => {
                    self.best_price = 0;
                    self.best_slot = NIL;
                }
            }
        }
    }

    /// Level slots from the best price outwards.
    #[inline]
    pub fn iter_best_first(&self) -> LadderIter<'_> {
        match self.side {
            Side::Buy => LadderIter::Descending(self.levels.values().rev()),
            Side::Sell => LadderIter::Ascending(self.levels.values()),
        }
    }

    /// `(price, slot)` pairs from the best price outwards (for checks).
    pub fn entries_best_first(&self) -> Vec<(PriceTicks, u32)> {
        let mut v: Vec<_> = self.levels.iter().map(|(&p, &s)| (p, s)).collect();
        if self.side == Side::Buy {
            v.reverse();
        }
        v
    }

    /// Number of distinct prices.
    #[inline]
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn clear(&mut self) {
        self.levels.clear();
        self.best_price = 0;
        self.best_slot = NIL;
    }
}

/// Iterator over level slots, best first.
pub(crate) enum LadderIter<'a> {
    Ascending(btree_map::Values<'a, PriceTicks, u32>),
    Descending(Rev<btree_map::Values<'a, PriceTicks, u32>>),
}

impl Iterator for LadderIter<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        match self {
            LadderIter::Ascending(it) => it.next().copied(),
            LadderIter::Descending(it) => it.next().copied(),
        }
    }
}
