//! Slab storage for resting orders and their price levels.
//!
//! Orders and levels live in `Vec`s addressed by `u32` slot numbers; freed
//! slot numbers go on a free stack and are reused, so once the book has
//! reached its working size no operation allocates. Orders at one price are
//! linked into a FIFO queue through their `prev`/`next` slot numbers, which
//! makes removing any order (cancel, fill) O(1).

use crate::types::{OrderId, OwnerId, PriceTicks, QtyTonnes, Side};

/// "No slot": end of a list, empty free list, absent link.
pub(crate) const NIL: u32 = u32::MAX;

/// Largest number of slots an arena may hold (slot `NIL` is reserved).
pub(crate) const MAX_SLOTS: usize = (u32::MAX - 1) as usize;

/// One resting order, linked into its price level's FIFO queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderNode {
    pub id: OrderId,
    pub owner: OwnerId,
    pub price_ticks: PriceTicks,
    pub remaining_tonnes: QtyTonnes,
    /// Previous (older) order at the same price, or `NIL`.
    pub prev: u32,
    /// Next (younger) order at the same price, or `NIL`.
    pub next: u32,
    /// Slot of the price level this order rests in.
    pub level: u32,
    pub side: Side,
}

/// One price level: a FIFO queue of orders at the same price on one side,
/// with running totals so best-price and depth queries are O(1) per level.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PriceLevel {
    pub price_ticks: PriceTicks,
    /// Sum of the orders' remaining quantities. `u128` so that no sequence
    /// of valid `u64` quantities can overflow it.
    pub total_tonnes: u128,
    /// Oldest order (first to trade), or `NIL`.
    pub head: u32,
    /// Youngest order, or `NIL`.
    pub tail: u32,
    /// Number of orders in the queue.
    pub count: u32,
}

/// A slab of `T` whose freed slots are kept on a stack for reuse.
#[derive(Clone, Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<T>,
    /// Free slot numbers, most recently freed last (reused first: warm in
    /// cache).
    free: Vec<u32>,
}

impl<T: Copy> Slab<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Slab {
            slots: Vec::with_capacity(capacity),
            free: Vec::with_capacity(capacity),
        }
    }

    /// Stores `value`, returning its slot. Reuses a freed slot if any.
    /// The caller guarantees fewer than `MAX_SLOTS` live slots.
    #[inline]
    pub fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = value;
                slot
            }
            None => {
                debug_assert!(self.slots.len() < MAX_SLOTS);
                self.slots.push(value);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Marks `slot` free. Its contents stay until reused; the caller must
    /// not read it again.
    #[inline]
    pub fn remove(&mut self, slot: u32) {
        debug_assert!((slot as usize) < self.slots.len());
        self.free.push(slot);
    }

    /// Frees every slot, keeping the allocation.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
    }

    #[inline]
    pub fn get(&self, slot: u32) -> &T {
        &self.slots[slot as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, slot: u32) -> &mut T {
        &mut self.slots[slot as usize]
    }
}

/// Appends order `slot` to the tail of `level`'s queue.
#[inline]
pub(crate) fn push_back(orders: &mut Slab<OrderNode>, level: &mut PriceLevel, level_slot: u32, slot: u32) {
    let node = orders.get_mut(slot);
    node.prev = level.tail;
    node.next = NIL;
    node.level = level_slot;
    let qty = node.remaining_tonnes;
    if level.tail == NIL {
        level.head = slot;
    } else {
        orders.get_mut(level.tail).next = slot;
    }
    level.tail = slot;
    level.count += 1;
    level.total_tonnes += u128::from(qty);
}

/// Unlinks order `slot` from `level`'s queue and takes its remaining
/// quantity off the level total. Does not free the slot.
#[inline]
pub(crate) fn unlink(orders: &mut Slab<OrderNode>, level: &mut PriceLevel, slot: u32) {
    let node = *orders.get(slot);
    if node.prev == NIL {
        level.head = node.next;
    } else {
        orders.get_mut(node.prev).next = node.next;
    }
    if node.next == NIL {
        level.tail = node.prev;
    } else {
        orders.get_mut(node.next).prev = node.prev;
    }
    level.count -= 1;
    level.total_tonnes -= u128::from(node.remaining_tonnes);
}
