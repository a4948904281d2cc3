//! Property tests: random streams of submits (every kind and tif), cancels
//! and end-of-day expiries run against `OrderBook` and against a
//! deliberately naive reference book written here from the rulebook
//! (one unsorted `Vec`, linear scans, a sort per match). After every
//! operation both must agree on the result, the fills, the resting orders
//! and every query; the book must be consistent and never crossed; and
//! each order's quantity must be conserved:
//! placed = filled + cancelled + still resting.

use std::collections::HashMap;

use carbon_matching::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// The reference book.

#[derive(Clone, Copy, Debug)]
struct RefOrder {
    id: OrderId,
    owner: OwnerId,
    side: Side,
    price: PriceTicks,
    remaining: QtyTonnes,
    /// Arrival sequence: time priority.
    seq: u64,
}

#[derive(Clone, Debug)]
struct RefBook {
    limits: Limits,
    orders: Vec<RefOrder>,
    next_seq: u64,
}

impl RefBook {
    fn new(limits: Limits) -> Self {
        RefBook {
            limits,
            orders: Vec::new(),
            next_seq: 0,
        }
    }

    /// Resting orders of `side` in priority order.
    fn side_sorted(&self, side: Side) -> Vec<RefOrder> {
        let mut v: Vec<RefOrder> = self.orders.iter().copied().filter(|o| o.side == side).collect();
        v.sort_by(|a, b| match side {
            Side::Buy => b.price.cmp(&a.price).then(a.seq.cmp(&b.seq)),
            Side::Sell => a.price.cmp(&b.price).then(a.seq.cmp(&b.seq)),
        });
        v
    }

    fn resting(&self) -> Vec<RestingOrder> {
        let mut all = self.side_sorted(Side::Buy);
        all.extend(self.side_sorted(Side::Sell));
        all.iter()
            .map(|o| RestingOrder {
                id: o.id,
                owner: o.owner,
                side: o.side,
                price_ticks: o.price,
                remaining_tonnes: o.remaining,
            })
            .collect()
    }

    fn submit(&mut self, order: NewOrder) -> Result<(Outcome, Vec<Fill>), BookError> {
        if order.qty_tonnes == 0 {
            return Err(BookError::ZeroQuantity);
        }
        let limit = match order.kind {
            OrderKind::Limit { price_ticks } => {
                if price_ticks < 1 || price_ticks > self.limits.max_price_ticks {
                    return Err(BookError::InvalidPrice);
                }
                Some(price_ticks)
            }
            OrderKind::Market => None,
        };
        if self.orders.iter().any(|o| o.id == order.id) {
            return Err(BookError::DuplicateId);
        }
        // Work on a copy: a book-full rejection must leave no trace.
        let mut next = self.clone();
        let result = next.execute(order, limit);
        if next.orders.len() > self.limits.max_resting_orders {
            return Err(BookError::BookFull);
        }
        *self = next;
        Ok(result)
    }

    fn execute(&mut self, order: NewOrder, limit: Option<PriceTicks>) -> (Outcome, Vec<Fill>) {
        let eligible = |price: PriceTicks| match (limit, order.side) {
            (None, _) => true,
            (Some(l), Side::Buy) => price <= l,
            (Some(l), Side::Sell) => price >= l,
        };
        let queue = self.side_sorted(match order.side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        });
        if order.tif == TimeInForce::Fok {
            let mut available = 0u128;
            for o in &queue {
                if !eligible(o.price) || o.owner == order.owner {
                    break;
                }
                available += u128::from(o.remaining);
            }
            if available < u128::from(order.qty_tonnes) {
                let end = EndState::Cancelled {
                    remaining_tonnes: order.qty_tonnes,
                    reason: CancelReason::FokUnfillable,
                };
                return (Outcome { filled_tonnes: 0, end }, vec![]);
            }
        }
        let mut fills = vec![];
        let mut remaining = order.qty_tonnes;
        let mut self_trade = false;
        for maker in &queue {
            if remaining == 0 || !eligible(maker.price) {
                break;
            }
            if maker.owner == order.owner {
                self_trade = true;
                break;
            }
            let qty = remaining.min(maker.remaining);
            remaining -= qty;
            let pos = self.orders.iter().position(|o| o.id == maker.id).unwrap();
            self.orders[pos].remaining -= qty;
            let done = self.orders[pos].remaining == 0;
            if done {
                self.orders.remove(pos);
            }
            fills.push(Fill {
                maker_id: maker.id,
                maker_owner: maker.owner,
                taker_id: order.id,
                price_ticks: maker.price,
                qty_tonnes: qty,
                maker_done: done,
            });
        }
        let filled_tonnes = order.qty_tonnes - remaining;
        let end = if remaining == 0 {
            EndState::Filled
        } else if self_trade {
            EndState::Cancelled {
                remaining_tonnes: remaining,
                reason: CancelReason::SelfTrade,
            }
        } else {
            match (order.kind, order.tif) {
                (OrderKind::Market, _) => EndState::Cancelled {
                    remaining_tonnes: remaining,
                    reason: CancelReason::Market,
                },
                (OrderKind::Limit { price_ticks }, TimeInForce::Day) => {
                    self.orders.push(RefOrder {
                        id: order.id,
                        owner: order.owner,
                        side: order.side,
                        price: price_ticks,
                        remaining,
                        seq: self.next_seq,
                    });
                    self.next_seq += 1;
                    EndState::Resting {
                        remaining_tonnes: remaining,
                    }
                }
                (OrderKind::Limit { .. }, TimeInForce::Ioc) => EndState::Cancelled {
                    remaining_tonnes: remaining,
                    reason: CancelReason::Ioc,
                },
                (OrderKind::Limit { .. }, TimeInForce::Fok) => {
                    unreachable!("fok passed its check but did not fill")
                }
            }
        };
        (Outcome { filled_tonnes, end }, fills)
    }

    fn cancel(&mut self, id: OrderId) -> Option<RestingOrder> {
        let pos = self.orders.iter().position(|o| o.id == id)?;
        let o = self.orders.remove(pos);
        Some(RestingOrder {
            id: o.id,
            owner: o.owner,
            side: o.side,
            price_ticks: o.price,
            remaining_tonnes: o.remaining,
        })
    }

    fn expire_all(&mut self) -> Vec<RestingOrder> {
        let all = self.resting();
        self.orders.clear();
        all
    }

    fn depth(&self, side: Side, levels: usize) -> Vec<Level> {
        let mut out: Vec<Level> = vec![];
        for o in self.side_sorted(side) {
            match out.last_mut() {
                Some(l) if l.price_ticks == o.price => {
                    l.qty_tonnes += o.remaining;
                    l.orders += 1;
                }
                _ => out.push(Level {
                    price_ticks: o.price,
                    qty_tonnes: o.remaining,
                    orders: 1,
                }),
            }
        }
        out.truncate(levels);
        out
    }
}

// ---------------------------------------------------------------------------
// Operations.

#[derive(Clone, Debug)]
enum Op {
    Submit(NewOrder),
    Cancel(OrderId),
    Expire,
}

const MAX_PRICE: PriceTicks = 110;

fn new_order() -> impl Strategy<Value = NewOrder> {
    let kind = prop_oneof![
        8 => (95..=105i64).prop_map(|p| OrderKind::Limit { price_ticks: p }),
        // Out-of-range prices, to exercise `InvalidPrice`.
        1 => prop_oneof![Just(0i64), Just(-3), Just(MAX_PRICE), Just(MAX_PRICE + 1)]
            .prop_map(|p| OrderKind::Limit { price_ticks: p }),
        2 => Just(OrderKind::Market),
    ];
    let tif = prop_oneof![
        5 => Just(TimeInForce::Day),
        2 => Just(TimeInForce::Ioc),
        2 => Just(TimeInForce::Fok),
    ];
    let qty = prop_oneof![20 => 1..=12u64, 1 => Just(0u64), 1 => 30..=60u64];
    (0..40u64, 0..4u64, any::<bool>(), kind, tif, qty).prop_map(|(id, owner, buy, kind, tif, qty)| NewOrder {
        id,
        owner,
        side: if buy { Side::Buy } else { Side::Sell },
        kind,
        tif,
        qty_tonnes: qty,
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        70 => new_order().prop_map(Op::Submit),
        25 => (0..40u64).prop_map(Op::Cancel),
        1 => Just(Op::Expire),
    ]
}

// ---------------------------------------------------------------------------
// Quantity conservation bookkeeping, per accepted order.

#[derive(Default, Debug)]
struct Ledger {
    /// (placed, filled, cancelled) for every accepted order.
    orders: Vec<(u64, u64, u64)>,
    /// Resting id -> index in `orders`.
    live: HashMap<OrderId, usize>,
}

impl Ledger {
    fn submitted(&mut self, order: &NewOrder, outcome: &Outcome, fills: &[Fill]) {
        let idx = self.orders.len();
        let mut entry = (order.qty_tonnes, outcome.filled_tonnes, 0);
        for f in fills {
            let maker = self.live[&f.maker_id];
            self.orders[maker].1 += f.qty_tonnes;
            if f.maker_done {
                self.live.remove(&f.maker_id);
            }
        }
        match outcome.end {
            EndState::Filled => {}
            EndState::Resting { .. } => {
                self.live.insert(order.id, idx);
            }
            EndState::Cancelled { remaining_tonnes, .. } => entry.2 += remaining_tonnes,
        }
        self.orders.push(entry);
    }

    fn removed(&mut self, o: &RestingOrder) {
        let idx = self.live.remove(&o.id).expect("removed order was live");
        self.orders[idx].2 += o.remaining_tonnes;
    }

    fn check(&self, book: &OrderBook) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.live.len(), book.len());
        let resting: HashMap<usize, u64> = self
            .live
            .iter()
            .map(|(id, &idx)| (idx, book.get(*id).map_or(0, |o| o.remaining_tonnes)))
            .collect();
        for (idx, &(placed, filled, cancelled)) in self.orders.iter().enumerate() {
            let rest = resting.get(&idx).copied().unwrap_or(0);
            prop_assert_eq!(placed, filled + cancelled + rest, "order #{} not conserved", idx);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------

fn check_same(book: &OrderBook, reference: &RefBook) -> Result<(), TestCaseError> {
    if let Err(e) = book.check_invariants() {
        return Err(TestCaseError::fail(e));
    }
    let resting: Vec<_> = book.resting().collect();
    prop_assert_eq!(&resting, &reference.resting());
    prop_assert_eq!(book.len(), resting.len());
    prop_assert_eq!(book.is_empty(), resting.is_empty());
    for side in [Side::Buy, Side::Sell] {
        let mut depth = vec![];
        book.depth(side, 3, &mut depth);
        prop_assert_eq!(&depth, &reference.depth(side, 3));
        let best = reference.depth(side, 1).first().map(|l| (l.price_ticks, l.qty_tonnes));
        match side {
            Side::Buy => prop_assert_eq!(book.best_bid(), best),
            Side::Sell => prop_assert_eq!(book.best_ask(), best),
        }
    }
    if let (Some((bid, _)), Some((ask, _))) = (book.best_bid(), book.best_ask()) {
        prop_assert!(bid < ask, "crossed book: {} >= {}", bid, ask);
    }
    for o in &resting {
        prop_assert_eq!(book.get(o.id), Some(*o));
    }
    Ok(())
}

fn run(ops: Vec<Op>, max_resting_orders: usize) -> Result<(), TestCaseError> {
    let limits = Limits {
        max_resting_orders,
        max_price_ticks: MAX_PRICE,
    };
    let mut book = OrderBook::new(limits);
    let mut reference = RefBook::new(limits);
    let mut ledger = Ledger::default();
    let mut fills = vec![];
    let mut expired = vec![];
    for op in ops {
        match op {
            Op::Submit(order) => {
                fills.clear();
                let got = book.submit(order, &mut fills);
                let want = reference.submit(order);
                match (got, want) {
                    (Ok(outcome), Ok((want_outcome, want_fills))) => {
                        prop_assert_eq!(outcome, want_outcome, "{:?}", order);
                        prop_assert_eq!(&fills, &want_fills, "{:?}", order);
                        let traded: u64 = fills.iter().map(|f| f.qty_tonnes).sum();
                        prop_assert_eq!(traded, outcome.filled_tonnes);
                        for f in &fills {
                            prop_assert_eq!(f.taker_id, order.id);
                            prop_assert!(f.qty_tonnes > 0);
                        }
                        ledger.submitted(&order, &outcome, &fills);
                    }
                    (Err(e), Err(want_e)) => {
                        prop_assert_eq!(e, want_e, "{:?}", order);
                        prop_assert!(fills.is_empty(), "fills appended on error");
                    }
                    (got, want) => {
                        prop_assert!(false, "{:?}: book {:?}, reference {:?}", order, got, want);
                    }
                }
            }
            Op::Cancel(id) => {
                let got = book.cancel(id);
                prop_assert_eq!(got, reference.cancel(id));
                if let Some(o) = got {
                    ledger.removed(&o);
                }
            }
            Op::Expire => {
                expired.clear();
                book.expire_all(&mut expired);
                prop_assert_eq!(&expired, &reference.expire_all());
                for o in &expired {
                    ledger.removed(o);
                }
            }
        }
        check_same(&book, &reference)?;
        ledger.check(&book)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Roomy book: mostly matching behaviour.
    #[test]
    fn matches_reference_book(ops in prop::collection::vec(op(), 1..300)) {
        run(ops, 1000)?;
    }

    /// Tiny capacity: `BookFull` is hit often and must be exact.
    #[test]
    fn matches_reference_book_when_full(
        ops in prop::collection::vec(op(), 1..200),
        max in 0usize..6,
    ) {
        run(ops, max)?;
    }
}
