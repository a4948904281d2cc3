//! Unit tests: one or more per rule of rulebook section 5.

use crate::*;

const LIMITS: Limits = Limits {
    max_resting_orders: 100,
    max_price_ticks: 1_000_000,
};

fn book() -> OrderBook {
    OrderBook::new(LIMITS)
}

fn limit(id: OrderId, owner: OwnerId, side: Side, price: PriceTicks, qty: QtyTonnes) -> NewOrder {
    NewOrder {
        id,
        owner,
        side,
        kind: OrderKind::Limit { price_ticks: price },
        tif: TimeInForce::Day,
        qty_tonnes: qty,
    }
}

fn with_tif(order: NewOrder, tif: TimeInForce) -> NewOrder {
    NewOrder { tif, ..order }
}

fn market(id: OrderId, owner: OwnerId, side: Side, tif: TimeInForce, qty: QtyTonnes) -> NewOrder {
    NewOrder {
        id,
        owner,
        side,
        kind: OrderKind::Market,
        tif,
        qty_tonnes: qty,
    }
}

/// Submits and returns the outcome and the fills of this submit only.
fn submit(book: &mut OrderBook, order: NewOrder) -> (Outcome, Vec<Fill>) {
    let mut fills = Vec::new();
    let outcome = book.submit(order, &mut fills).expect("accepted");
    book.check_invariants().expect("invariants");
    (outcome, fills)
}

fn rest(book: &mut OrderBook, order: NewOrder) {
    let (outcome, fills) = submit(book, order);
    assert!(fills.is_empty());
    assert_eq!(
        outcome.end,
        EndState::Resting {
            remaining_tonnes: order.qty_tonnes
        }
    );
}

fn fill(maker: OrderId, owner: OwnerId, taker: OrderId, price: PriceTicks, qty: u64, done: bool) -> Fill {
    Fill {
        maker_id: maker,
        maker_owner: owner,
        taker_id: taker,
        price_ticks: price,
        qty_tonnes: qty,
        maker_done: done,
    }
}

fn cancelled(remaining: QtyTonnes, reason: CancelReason) -> EndState {
    EndState::Cancelled {
        remaining_tonnes: remaining,
        reason,
    }
}

fn ids(book: &OrderBook) -> Vec<OrderId> {
    book.resting().map(|o| o.id).collect()
}

#[test]
fn resting_orders_and_best_prices() {
    let mut b = book();
    assert!(b.is_empty());
    assert_eq!(b.best_bid(), None);
    assert_eq!(b.best_ask(), None);
    rest(&mut b, limit(1, 1, Side::Buy, 100, 5));
    rest(&mut b, limit(2, 1, Side::Buy, 101, 7));
    rest(&mut b, limit(3, 1, Side::Buy, 101, 3));
    rest(&mut b, limit(4, 2, Side::Sell, 105, 4));
    rest(&mut b, limit(5, 2, Side::Sell, 103, 6));
    assert_eq!(b.len(), 5);
    assert_eq!(b.best_bid(), Some((101, 10)));
    assert_eq!(b.best_ask(), Some((103, 6)));
    assert_eq!(
        b.get(3),
        Some(RestingOrder {
            id: 3,
            owner: 1,
            side: Side::Buy,
            price_ticks: 101,
            remaining_tonnes: 3
        })
    );
    assert_eq!(b.get(99), None);
    // Priority order: bids best first (FIFO in a level), then asks best first.
    assert_eq!(ids(&b), vec![2, 3, 1, 5, 4]);
}

#[test]
fn price_priority_best_price_trades_first() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 102, 5));
    rest(&mut b, limit(2, 1, Side::Sell, 100, 5));
    rest(&mut b, limit(3, 1, Side::Sell, 101, 5));
    let (outcome, fills) = submit(&mut b, limit(10, 2, Side::Buy, 102, 12));
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 12,
            end: EndState::Filled
        }
    );
    assert_eq!(
        fills,
        vec![
            fill(2, 1, 10, 100, 5, true),
            fill(3, 1, 10, 101, 5, true),
            fill(1, 1, 10, 102, 2, false),
        ]
    );
    assert_eq!(b.best_ask(), Some((102, 3)));

    // And the other way round for an incoming sell: highest bid first.
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Buy, 98, 5));
    rest(&mut b, limit(2, 1, Side::Buy, 100, 5));
    rest(&mut b, limit(3, 1, Side::Buy, 99, 5));
    let (_, fills) = submit(&mut b, limit(10, 2, Side::Sell, 99, 20));
    assert_eq!(fills, vec![fill(2, 1, 10, 100, 5, true), fill(3, 1, 10, 99, 5, true)]);
    assert_eq!(b.best_bid(), Some((98, 5)));
    assert_eq!(b.best_ask(), Some((99, 10)));
}

#[test]
fn time_priority_within_a_price() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Buy, 100, 5));
    rest(&mut b, limit(2, 2, Side::Buy, 100, 5));
    rest(&mut b, limit(3, 3, Side::Buy, 100, 5));
    let (_, fills) = submit(&mut b, limit(10, 9, Side::Sell, 100, 7));
    assert_eq!(fills, vec![fill(1, 1, 10, 100, 5, true), fill(2, 2, 10, 100, 2, false)]);
    // Order 2 keeps its place at the head despite the partial fill.
    assert_eq!(ids(&b), vec![2, 3]);
    let (_, fills) = submit(&mut b, limit(11, 9, Side::Sell, 100, 4));
    assert_eq!(fills, vec![fill(2, 2, 11, 100, 3, true), fill(3, 3, 11, 100, 1, false)]);
}

#[test]
fn trades_at_the_resting_orders_price() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 5));
    let (_, fills) = submit(&mut b, limit(2, 2, Side::Buy, 150, 5));
    assert_eq!(fills, vec![fill(1, 1, 2, 100, 5, true)]);
    rest(&mut b, limit(3, 1, Side::Buy, 90, 5));
    let (_, fills) = submit(&mut b, limit(4, 2, Side::Sell, 10, 5));
    assert_eq!(fills, vec![fill(3, 1, 4, 90, 5, true)]);
    assert!(b.is_empty());
}

#[test]
fn limit_price_is_respected() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 101, 5));
    // A buy below the ask does not trade and rests.
    rest(&mut b, limit(2, 2, Side::Buy, 100, 5));
    assert_eq!(b.best_bid(), Some((100, 5)));
    assert_eq!(b.best_ask(), Some((101, 5)));
}

#[test]
fn partial_fill_of_incoming_day_limit_rests_remainder() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 4));
    rest(&mut b, limit(2, 1, Side::Sell, 102, 4));
    let (outcome, fills) = submit(&mut b, limit(3, 2, Side::Buy, 101, 10));
    assert_eq!(fills, vec![fill(1, 1, 3, 100, 4, true)]);
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 4,
            end: EndState::Resting { remaining_tonnes: 6 }
        }
    );
    assert_eq!(b.best_bid(), Some((101, 6)));
    assert_eq!(b.best_ask(), Some((102, 4)));
}

#[test]
fn partial_fill_of_maker_leaves_it_resting() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 10));
    let (outcome, fills) = submit(&mut b, limit(2, 2, Side::Buy, 100, 3));
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 3,
            end: EndState::Filled
        }
    );
    assert_eq!(fills, vec![fill(1, 1, 2, 100, 3, false)]);
    assert_eq!(b.get(1).map(|o| o.remaining_tonnes), Some(7));
    assert_eq!(b.best_ask(), Some((100, 7)));
}

#[test]
fn ioc_remainder_is_cancelled() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 4));
    rest(&mut b, limit(2, 1, Side::Sell, 105, 4));
    let (outcome, fills) = submit(&mut b, with_tif(limit(3, 2, Side::Buy, 101, 10), TimeInForce::Ioc));
    assert_eq!(fills, vec![fill(1, 1, 3, 100, 4, true)]);
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 4,
            end: cancelled(6, CancelReason::Ioc)
        }
    );
    assert_eq!(b.best_bid(), None);
    assert_eq!(ids(&b), vec![2]);
    // Nothing to trade with at all: cancelled whole.
    let (outcome, fills) = submit(&mut b, with_tif(limit(4, 2, Side::Buy, 101, 10), TimeInForce::Ioc));
    assert!(fills.is_empty());
    assert_eq!(outcome.end, cancelled(10, CancelReason::Ioc));
}

#[test]
fn market_order_sweeps_any_price_and_never_rests() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 2));
    rest(&mut b, limit(2, 1, Side::Sell, 500, 2));
    rest(&mut b, limit(3, 1, Side::Sell, 900_000, 2));
    let (outcome, fills) = submit(&mut b, market(4, 2, Side::Buy, TimeInForce::Ioc, 10));
    assert_eq!(
        fills,
        vec![
            fill(1, 1, 4, 100, 2, true),
            fill(2, 1, 4, 500, 2, true),
            fill(3, 1, 4, 900_000, 2, true),
        ]
    );
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 6,
            end: cancelled(4, CancelReason::Market)
        }
    );
    assert!(b.is_empty());
}

#[test]
fn market_day_order_remainder_is_cancelled() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Buy, 100, 2));
    let (outcome, fills) = submit(&mut b, market(2, 2, Side::Sell, TimeInForce::Day, 5));
    assert_eq!(fills, vec![fill(1, 1, 2, 100, 2, true)]);
    assert_eq!(outcome.end, cancelled(3, CancelReason::Market));
    assert!(b.is_empty());
    // On an empty book.
    let (outcome, _) = submit(&mut b, market(3, 2, Side::Sell, TimeInForce::Day, 5));
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 0,
            end: cancelled(5, CancelReason::Market)
        }
    );
    assert!(b.is_empty());
}

#[test]
fn fok_kill_leaves_book_untouched() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 4));
    rest(&mut b, limit(2, 2, Side::Sell, 101, 4));
    rest(&mut b, limit(3, 3, Side::Sell, 103, 100));
    let before: Vec<_> = b.resting().collect();
    // 9 > 8 available at or below 102.
    let (outcome, fills) = submit(&mut b, with_tif(limit(4, 9, Side::Buy, 102, 9), TimeInForce::Fok));
    assert!(fills.is_empty());
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 0,
            end: cancelled(9, CancelReason::FokUnfillable)
        }
    );
    assert_eq!(b.resting().collect::<Vec<_>>(), before);
    // A market fok larger than the whole side.
    let (outcome, fills) = submit(&mut b, market(5, 9, Side::Buy, TimeInForce::Fok, 109));
    assert!(fills.is_empty());
    assert_eq!(outcome.end, cancelled(109, CancelReason::FokUnfillable));
    assert_eq!(b.resting().collect::<Vec<_>>(), before);
}

#[test]
fn fok_fills_completely_when_possible() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 4));
    rest(&mut b, limit(2, 2, Side::Sell, 101, 4));
    let (outcome, fills) = submit(&mut b, with_tif(limit(3, 9, Side::Buy, 101, 8), TimeInForce::Fok));
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 8,
            end: EndState::Filled
        }
    );
    assert_eq!(fills, vec![fill(1, 1, 3, 100, 4, true), fill(2, 2, 3, 101, 4, true)]);
    assert!(b.is_empty());
    // Market fok, partially consuming the last maker.
    rest(&mut b, limit(4, 1, Side::Buy, 100, 4));
    rest(&mut b, limit(5, 2, Side::Buy, 90, 4));
    let (outcome, fills) = submit(&mut b, market(6, 9, Side::Sell, TimeInForce::Fok, 5));
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 5,
            end: EndState::Filled
        }
    );
    assert_eq!(fills, vec![fill(4, 1, 6, 100, 4, true), fill(5, 2, 6, 90, 1, false)]);
    assert_eq!(b.best_bid(), Some((90, 3)));
}

#[test]
fn fok_stops_at_its_owners_first_order() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 4));
    rest(&mut b, limit(2, 9, Side::Sell, 100, 4)); // the fok's own owner
    rest(&mut b, limit(3, 2, Side::Sell, 101, 100));
    let before: Vec<_> = b.resting().collect();
    // Enough quantity exists in total, but only 4 before its own order.
    let (outcome, fills) = submit(&mut b, with_tif(limit(4, 9, Side::Buy, 101, 5), TimeInForce::Fok));
    assert!(fills.is_empty());
    assert_eq!(outcome.end, cancelled(5, CancelReason::FokUnfillable));
    assert_eq!(b.resting().collect::<Vec<_>>(), before);
    // Fillable before reaching its own order: fills normally.
    let (outcome, fills) = submit(&mut b, with_tif(limit(5, 9, Side::Buy, 101, 4), TimeInForce::Fok));
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 4,
            end: EndState::Filled
        }
    );
    assert_eq!(fills, vec![fill(1, 1, 5, 100, 4, true)]);
    assert_eq!(ids(&b), vec![2, 3]);
}

#[test]
fn self_trade_prevention_day_limit_does_not_rest() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 3));
    rest(&mut b, limit(2, 7, Side::Sell, 100, 3)); // same owner as the taker
    rest(&mut b, limit(3, 1, Side::Sell, 100, 3));
    let (outcome, fills) = submit(&mut b, limit(4, 7, Side::Buy, 100, 10));
    assert_eq!(fills, vec![fill(1, 1, 4, 100, 3, true)]);
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 3,
            end: cancelled(7, CancelReason::SelfTrade)
        }
    );
    // The own order and the one behind it are untouched; the taker did not rest.
    assert_eq!(ids(&b), vec![2, 3]);
    assert_eq!(b.best_bid(), None);
}

#[test]
fn self_trade_prevention_with_no_trade_at_all() {
    let mut b = book();
    rest(&mut b, limit(1, 7, Side::Buy, 100, 3));
    let (outcome, fills) = submit(&mut b, limit(2, 7, Side::Sell, 90, 10));
    assert!(fills.is_empty());
    assert_eq!(outcome.end, cancelled(10, CancelReason::SelfTrade));
    assert_eq!(ids(&b), vec![1]);
    // A non-crossing order of the same owner rests normally.
    rest(&mut b, limit(3, 7, Side::Sell, 101, 1));
}

#[test]
fn self_trade_prevention_ioc() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 3));
    rest(&mut b, limit(2, 7, Side::Sell, 101, 3));
    rest(&mut b, limit(3, 1, Side::Sell, 102, 3));
    let (outcome, fills) = submit(&mut b, with_tif(limit(4, 7, Side::Buy, 102, 9), TimeInForce::Ioc));
    assert_eq!(fills, vec![fill(1, 1, 4, 100, 3, true)]);
    assert_eq!(outcome.end, cancelled(6, CancelReason::SelfTrade));
    assert_eq!(ids(&b), vec![2, 3]);
}

#[test]
fn self_trade_prevention_market() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Buy, 100, 3));
    rest(&mut b, limit(2, 1, Side::Buy, 99, 3));
    rest(&mut b, limit(3, 7, Side::Buy, 99, 3));
    for tif in [TimeInForce::Ioc, TimeInForce::Day] {
        let mut b2 = OrderBook::new(LIMITS);
        for o in b.resting() {
            rest(&mut b2, limit(o.id, o.owner, o.side, o.price_ticks, o.remaining_tonnes));
        }
        let (outcome, fills) = submit(&mut b2, market(4, 7, Side::Sell, tif, 100));
        assert_eq!(fills, vec![fill(1, 1, 4, 100, 3, true), fill(2, 1, 4, 99, 3, true)]);
        assert_eq!(
            outcome,
            Outcome {
                filled_tonnes: 6,
                end: cancelled(94, CancelReason::SelfTrade)
            }
        );
        assert_eq!(ids(&b2), vec![3]);
    }
}

#[test]
fn self_trade_only_when_own_order_is_next() {
    // The taker is filled before reaching its own order: no cancellation.
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 5));
    rest(&mut b, limit(2, 7, Side::Sell, 100, 5));
    let (outcome, fills) = submit(&mut b, limit(3, 7, Side::Buy, 100, 5));
    assert_eq!(
        outcome,
        Outcome {
            filled_tonnes: 5,
            end: EndState::Filled
        }
    );
    assert_eq!(fills, vec![fill(1, 1, 3, 100, 5, true)]);
    assert_eq!(ids(&b), vec![2]);
}

#[test]
fn cancel_removes_resting_order() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Buy, 100, 5));
    rest(&mut b, limit(2, 2, Side::Buy, 100, 6));
    rest(&mut b, limit(3, 3, Side::Buy, 100, 7));
    rest(&mut b, limit(4, 3, Side::Sell, 110, 7));
    assert_eq!(
        b.cancel(2),
        Some(RestingOrder {
            id: 2,
            owner: 2,
            side: Side::Buy,
            price_ticks: 100,
            remaining_tonnes: 6
        })
    );
    b.check_invariants().unwrap();
    assert_eq!(b.cancel(2), None);
    assert_eq!(b.cancel(42), None);
    assert_eq!(b.best_bid(), Some((100, 12)));
    assert_eq!(ids(&b), vec![1, 3, 4]);
    // Head and tail of a level, then the last order of a level.
    assert_eq!(b.cancel(1).map(|o| o.id), Some(1));
    assert_eq!(b.cancel(3).map(|o| o.id), Some(3));
    assert_eq!(b.best_bid(), None);
    assert_eq!(b.cancel(4).map(|o| o.remaining_tonnes), Some(7));
    assert!(b.is_empty());
    b.check_invariants().unwrap();
    // The id may be reused once the order has left the book.
    rest(&mut b, limit(2, 5, Side::Sell, 120, 1));
    assert_eq!(b.get(2).map(|o| o.owner), Some(5));
}

#[test]
fn cancel_reports_partially_filled_remaining() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 10));
    submit(&mut b, limit(2, 2, Side::Buy, 100, 4));
    assert_eq!(b.cancel(1).map(|o| o.remaining_tonnes), Some(6));
}

#[test]
fn cancelled_order_never_trades() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 10));
    rest(&mut b, limit(2, 1, Side::Sell, 101, 10));
    b.cancel(1);
    let (_, fills) = submit(&mut b, limit(3, 2, Side::Buy, 101, 5));
    assert_eq!(fills, vec![fill(2, 1, 3, 101, 5, false)]);
}

#[test]
fn expire_all_reports_every_order_in_priority_order() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 105, 1));
    rest(&mut b, limit(2, 1, Side::Buy, 99, 2));
    rest(&mut b, limit(3, 1, Side::Buy, 100, 3));
    rest(&mut b, limit(4, 1, Side::Sell, 104, 4));
    rest(&mut b, limit(5, 1, Side::Buy, 99, 5));
    let mut out = vec![];
    b.expire_all(&mut out);
    let got: Vec<_> = out.iter().map(|o| (o.id, o.remaining_tonnes)).collect();
    assert_eq!(got, vec![(3, 3), (2, 2), (5, 5), (4, 4), (1, 1)]);
    assert!(b.is_empty());
    assert_eq!(b.best_bid(), None);
    assert_eq!(b.best_ask(), None);
    assert_eq!(b.get(1), None);
    b.check_invariants().unwrap();
    // The book works normally afterwards and ids can be reused.
    rest(&mut b, limit(1, 1, Side::Buy, 100, 1));
    let (_, fills) = submit(&mut b, limit(2, 2, Side::Sell, 100, 1));
    assert_eq!(fills.len(), 1);
    // `out` is appended to, not cleared.
    rest(&mut b, limit(3, 1, Side::Buy, 100, 1));
    b.expire_all(&mut out);
    assert_eq!(out.len(), 6);
}

#[test]
fn duplicate_id_is_rejected_without_change() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, 5));
    let mut fills = vec![];
    for order in [
        limit(1, 2, Side::Buy, 100, 5),
        market(1, 2, Side::Buy, TimeInForce::Ioc, 5),
        with_tif(limit(1, 2, Side::Buy, 100, 5), TimeInForce::Fok),
    ] {
        assert_eq!(b.submit(order, &mut fills), Err(BookError::DuplicateId));
    }
    assert!(fills.is_empty());
    assert_eq!(b.best_ask(), Some((100, 5)));
}

#[test]
fn invalid_quantity_and_price_are_rejected() {
    let mut b = book();
    let mut fills = vec![];
    assert_eq!(
        b.submit(limit(1, 1, Side::Buy, 100, 0), &mut fills),
        Err(BookError::ZeroQuantity)
    );
    assert_eq!(
        b.submit(market(1, 1, Side::Buy, TimeInForce::Ioc, 0), &mut fills),
        Err(BookError::ZeroQuantity)
    );
    for price in [0, -1, PriceTicks::MIN, LIMITS.max_price_ticks + 1] {
        assert_eq!(
            b.submit(limit(1, 1, Side::Buy, price, 1), &mut fills),
            Err(BookError::InvalidPrice)
        );
    }
    rest(&mut b, limit(1, 1, Side::Buy, LIMITS.max_price_ticks, 1));
    rest(&mut b, limit(2, 1, Side::Buy, 1, 1));
    assert!(fills.is_empty());
    assert_eq!(
        BookError::InvalidPrice.to_string(),
        "limit price is outside 1..=max_price_ticks"
    );
}

#[test]
fn book_full_is_exact() {
    let mut b = OrderBook::new(Limits {
        max_resting_orders: 2,
        max_price_ticks: 1000,
    });
    rest(&mut b, limit(1, 1, Side::Sell, 100, 5));
    rest(&mut b, limit(2, 2, Side::Buy, 90, 5));
    let mut fills = vec![];
    // Would rest without trading: rejected, nothing changed.
    assert_eq!(
        b.submit(limit(3, 3, Side::Buy, 95, 5), &mut fills),
        Err(BookError::BookFull)
    );
    assert_eq!(
        b.submit(limit(3, 3, Side::Sell, 101, 5), &mut fills),
        Err(BookError::BookFull)
    );
    assert!(fills.is_empty());
    assert_eq!(b.len(), 2);
    // Orders that cannot rest are accepted on a full book.
    let (o, _) = submit(&mut b, with_tif(limit(3, 3, Side::Buy, 95, 5), TimeInForce::Ioc));
    assert_eq!(o.end, cancelled(5, CancelReason::Ioc));
    // Filled completely: accepted.
    let (o, _) = submit(&mut b, limit(4, 3, Side::Buy, 100, 2));
    assert_eq!(o.end, EndState::Filled);
    // Trades the maker away and rests the remainder: accepted.
    let (o, _) = submit(&mut b, limit(5, 3, Side::Buy, 100, 10));
    assert_eq!(o.end, EndState::Resting { remaining_tonnes: 7 });
    assert_eq!(b.len(), 2);
    // Stopped by self-trade prevention: accepted, does not rest.
    let (o, _) = submit(&mut b, limit(6, 3, Side::Sell, 100, 1));
    assert_eq!(o.end, cancelled(1, CancelReason::SelfTrade));
    // After a cancel there is room again.
    b.cancel(2);
    rest(&mut b, limit(7, 3, Side::Buy, 10, 1));
}

#[test]
fn depth_aggregates_levels_best_first() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Buy, 100, 1));
    rest(&mut b, limit(2, 2, Side::Buy, 100, 2));
    rest(&mut b, limit(3, 3, Side::Buy, 98, 3));
    rest(&mut b, limit(4, 4, Side::Buy, 99, 4));
    rest(&mut b, limit(5, 5, Side::Sell, 103, 5));
    rest(&mut b, limit(6, 6, Side::Sell, 102, 6));
    let lvl = |price_ticks, qty_tonnes, orders| Level {
        price_ticks,
        qty_tonnes,
        orders,
    };
    let mut out = vec![];
    b.depth(Side::Buy, 2, &mut out);
    assert_eq!(out, vec![lvl(100, 3, 2), lvl(99, 4, 1)]);
    out.clear();
    b.depth(Side::Buy, 10, &mut out);
    assert_eq!(out, vec![lvl(100, 3, 2), lvl(99, 4, 1), lvl(98, 3, 1)]);
    out.clear();
    b.depth(Side::Sell, 10, &mut out);
    assert_eq!(out, vec![lvl(102, 6, 1), lvl(103, 5, 1)]);
    out.clear();
    b.depth(Side::Sell, 0, &mut out);
    assert!(out.is_empty());
    assert_eq!(b.level_count(Side::Buy), 3);
    assert_eq!(b.level_count(Side::Sell), 2);
}

#[test]
fn ids_are_arbitrary_u64() {
    let mut b = book();
    let big = [u64::MAX, 0, 1 << 63, (1 << 40) + 7];
    for (i, &id) in big.iter().enumerate() {
        rest(&mut b, limit(id, 1, Side::Buy, 100 + i as PriceTicks, 1));
    }
    for &id in &big {
        assert_eq!(b.get(id).map(|o| o.id), Some(id));
    }
    assert_eq!(b.cancel(u64::MAX).map(|o| o.price_ticks), Some(100));
}

#[test]
fn huge_quantities_do_not_overflow() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Sell, 100, u64::MAX));
    rest(&mut b, limit(2, 2, Side::Sell, 100, u64::MAX));
    assert_eq!(b.best_ask(), Some((100, u64::MAX)));
    let (o, _) = submit(
        &mut b,
        with_tif(limit(3, 3, Side::Buy, 100, u64::MAX), TimeInForce::Fok),
    );
    assert_eq!(o.end, EndState::Filled);
    assert_eq!(b.best_ask(), Some((100, u64::MAX)));
}

#[test]
fn debug_is_a_summary_and_clone_is_independent() {
    let mut b = book();
    rest(&mut b, limit(1, 1, Side::Buy, 100, 5));
    let copy = b.clone();
    b.cancel(1);
    assert_eq!(copy.get(1).map(|o| o.remaining_tonnes), Some(5));
    assert!(b.get(1).is_none());
    let text = format!("{copy:?}");
    assert!(
        text.contains("resting_orders: 1") && text.contains("best_bid: Some((100, 5))"),
        "{text}"
    );
    assert_eq!(copy.limits(), LIMITS);
}

#[test]
fn errors_display_and_are_std_errors() {
    for e in [
        BookError::DuplicateId,
        BookError::ZeroQuantity,
        BookError::InvalidPrice,
        BookError::BookFull,
    ] {
        let as_error: &dyn std::error::Error = &e;
        assert!(!as_error.to_string().is_empty());
    }
}
