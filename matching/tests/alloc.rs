//! Steady state allocates nothing: once the book has reached its working
//! size, a long mixed stream of submits (every kind and tif), cancels and
//! queries performs zero heap allocations, checked with a counting global
//! allocator. (Prices stay within a few levels so the price ladders'
//! B-trees keep their nodes; a brand-new price level may allocate one.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use carbon_matching::*;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// xorshift64*: deterministic, allocation-free.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// One random operation; ids cycle through a window so cancels often hit.
fn step(book: &mut OrderBook, rng: &mut Rng, next_id: &mut u64, fills: &mut Vec<Fill>, depth: &mut Vec<Level>) {
    if rng.below(4) == 0 {
        let id = next_id.saturating_sub(1 + rng.below(200));
        book.cancel(id);
        return;
    }
    let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
    let kind = if rng.below(8) == 0 {
        OrderKind::Market
    } else {
        OrderKind::Limit {
            price_ticks: 96 + rng.below(9) as PriceTicks,
        }
    };
    let tif = match rng.below(10) {
        0..=6 => TimeInForce::Day,
        7 | 8 => TimeInForce::Ioc,
        _ => TimeInForce::Fok,
    };
    let order = NewOrder {
        id: *next_id,
        owner: rng.below(5),
        side,
        kind,
        tif,
        qty_tonnes: 1 + rng.below(20),
    };
    *next_id += 1;
    fills.clear();
    book.submit(order, fills).expect("valid order");
    depth.clear();
    book.depth(side, 5, depth);
    let _ = (book.best_bid(), book.best_ask(), book.get(next_id.saturating_sub(50)));
}

#[test]
fn steady_state_does_not_allocate() {
    let mut book = OrderBook::new(Limits {
        max_resting_orders: 100_000,
        max_price_ticks: 1_000,
    });
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut next_id = 1;
    let mut fills = Vec::with_capacity(1024);
    let mut depth = Vec::with_capacity(16);
    // Warm up: let the arenas, index and free lists reach their high-water
    // mark.
    for _ in 0..200_000 {
        step(&mut book, &mut rng, &mut next_id, &mut fills, &mut depth);
    }
    let resting = book.len();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..100_000 {
        step(&mut book, &mut rng, &mut next_id, &mut fills, &mut depth);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(before > 0, "the counting allocator sees allocations");
    assert!(resting > 0 && !book.is_empty());
    assert_eq!(allocations, 0, "allocations in steady state");
}
