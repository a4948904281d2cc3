//! Session-replay benchmark for `carbon-matching`, with `orderbook-rs` 0.15
//! as the comparison.
//!
//! Run: `cargo bench -p carbon-matching --bench book`
//! (`BENCH_OPS=100000` for a short run while developing;
//! `BENCH_SKIP_CRITERION=1` to print the report only, `BENCH_ONLY_OURS=1`
//! to skip orderbook-rs and Criterion, e.g. under a profiler).
//!
//! A seeded stream of operations that looks like a trading session is
//! generated before anything is timed (default 1,000,000 operations):
//!
//! * 55 % day limit orders near a drifting mid price (a few percent of them
//!   marketable by a tick or two),
//! * 25 % cancels of orders resting at that point of the stream,
//! * 10 % ioc orders (half market, half marketable limit),
//! * 5 % fok orders (half market, half limit),
//! * 5 % aggressive day limit orders priced 5..15 ticks through the mid,
//!   sized to take everything up to their price plus a few tonnes: they
//!   sweep several levels and their small remainder rests.
//!
//! Aggressive sizes follow the visible depth (as a trader's would), and
//! passive orders are placed deep (10..70 ticks from the mid) more often
//! while the book holds fewer than `TARGET_RESTING` orders, so the book
//! stays near a few thousand resting orders over ~70-150 levels per side
//! instead of draining or growing without bound. The generator prints the
//! resulting book size, levels swept and kill/self-trade counts.
//!
//! It then prints, for each engine: throughput over the whole stream
//! (median of three passes, each on a fresh book) and per-operation latency
//! percentiles from a separate pass that wraps each operation in
//! `Instant::now()` (so the latencies include the clock reads; the report
//! prints what an empty timed operation measures),
//! and the throughput ratio ours / theirs. Finally Criterion measures the
//! replay of the first 100,000 operations for both engines.
//!
//! Mapping onto `orderbook-rs` (`OrderBook<()>`, `STPMode::CancelTaker`,
//! owner ids as non-zero `Hash32`s, no tick/lot size, no listeners):
//! * day limit  -> `add_limit_order_with_user(.., TimeInForce::Gtc, ..)`
//!   (equivalent within one session; its `Day` needs a market-close clock),
//! * ioc limit  -> `add_limit_order_with_user(.., TimeInForce::Ioc, ..)`,
//! * fok limit  -> `add_limit_order_with_user(.., TimeInForce::Fok, ..)`,
//! * ioc market -> `submit_market_order_with_user`,
//! * fok market -> NOT directly available: mapped to a fok limit order at
//!   the most aggressive price we accept (`MAX_PRICE_TICKS` to buy, 1 to
//!   sell), which fills exactly as a market fok would on this stream,
//! * cancel     -> `cancel_order`.
//!
//! Differences that cannot be mapped exactly: orderbook-rs timestamps every
//! order from its clock and keeps trade ids, order-state and per-user
//! bookkeeping we do not have (that is part of what it costs); it reports
//! some outcomes as errors (an ioc/market remainder, a self-trade stop) where
//! we return an `Outcome`; its day orders are mapped to `Gtc`; its market
//! fok does not exist (see above); its self-trade rule (`CancelTaker`,
//! gated on the taker actually reaching its own order) is ours in effect,
//! but its fok pre-check is not documented to stop at the owner's first
//! order. Outcomes are not compared order by order; as a cross-check the
//! report prints each engine's resting-order count after the stream (equal
//! on the default stream). Both engines see exactly the same operations.

use std::hint::black_box;
use std::time::{Duration, Instant};

use carbon_matching::{
    CancelReason, EndState, Fill, Level, Limits, NewOrder, OrderBook, OrderId, OrderKind, PriceTicks, QtyTonnes, Side,
    TimeInForce,
};
use criterion::{BatchSize, Criterion};
use hdrhistogram::Histogram;
use orderbook_rs::{OrderBook as TheirBook, STPMode};
use pricelevel::Hash32;

const SEED: u64 = 0x00C0_2B0A_7D5E_ED01;
const DEFAULT_OPS: usize = 1_000_000;
const CRITERION_OPS: usize = 100_000;
const MAX_PRICE_TICKS: PriceTicks = 1_000_000;
const START_MID_TICKS: PriceTicks = 8_000; // 80.00 CNY / tonne
const OWNERS: u64 = 64;
const PASSIVE_MARKETABLE_PCT: u64 = 6;
const TARGET_RESTING: usize = 4_000;

const LIMITS: Limits = Limits {
    max_resting_orders: 1 << 22,
    max_price_ticks: MAX_PRICE_TICKS,
};

// ---------------------------------------------------------------------------
// Deterministic PRNG (splitmix64).

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

// ---------------------------------------------------------------------------
// The operation stream.

#[derive(Clone, Copy, Debug)]
enum Op {
    Submit(NewOrder),
    Cancel(OrderId),
}

/// What kind of operation the generator chose (for the stream summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Passive,
    Cancel,
    IocOrMarket,
    Fok,
    Sweep,
}

struct Stream {
    ops: Vec<Op>,
    counts: [usize; 5],
    fills: usize,
    resting_at_end: usize,
    max_resting: usize,
    mean_resting: f64,
    sweep_fills: usize,
    sweep_levels: usize,
    fok_killed: usize,
    self_trades: usize,
    levels_at_end: (usize, usize),
}

/// Generates `n` operations. A copy of our book is run alongside so that
/// cancels target orders that really rest at that point of the stream;
/// the book is deterministic, so a replay sees the same state.
fn generate(n: usize, seed: u64) -> Stream {
    let mut rng = SplitMix64(seed);
    let mut book = OrderBook::new(LIMITS);
    let mut fills: Vec<Fill> = Vec::new();
    let mut ops = Vec::with_capacity(n);
    let mut counts = [0usize; 5];
    let mut fill_count = 0;
    let mut max_resting = 0;
    // Ids of orders that rested at some point (some since filled): cancel
    // candidates, drawn uniformly, stale ones dropped when drawn.
    let mut live: Vec<OrderId> = Vec::new();
    let mut next_id: OrderId = 1;
    let mut mid = START_MID_TICKS;
    let mut depth: Vec<Level> = Vec::with_capacity(16);
    let mut resting_sum = 0u64;
    let (mut sweep_fills, mut sweep_levels, mut fok_killed, mut self_trades) = (0, 0, 0, 0);

    while ops.len() < n {
        // The mid drifts by a tick now and then.
        if rng.percent(3) {
            mid += if rng.next() & 1 == 0 { 1 } else { -1 };
            mid = mid.clamp(1_000, 50_000);
        }
        let roll = rng.below(100);
        let side = if rng.next() & 1 == 0 { Side::Buy } else { Side::Sell };
        let sign: PriceTicks = if side == Side::Buy { 1 } else { -1 };
        let owner = 1 + rng.below(OWNERS);
        // Visible liquidity on the side this order would take from.
        depth.clear();
        book.depth(side.opposite(), 16, &mut depth);
        let (class, op) = if roll < 55 {
            // Passive day limit. Near the touch (1..~8 ticks away, skewed
            // towards it, a few marketable by a tick or two) feeds the
            // aggressive flow; deep (10..70 ticks) builds the book's depth.
            // Going deep more often while the book is below its target size
            // keeps the session's book near `TARGET_RESTING` orders.
            let deep_pct = if book.len() < TARGET_RESTING { 70 } else { 30 };
            let away = if rng.percent(deep_pct) {
                rng.range(10, 70) as PriceTicks
            } else if rng.percent(PASSIVE_MARKETABLE_PCT) {
                -(rng.range(0, 2) as PriceTicks)
            } else {
                1 + (rng.below(6) * rng.below(6) / 3) as PriceTicks
            };
            let price = mid - sign * away;
            let qty = rng.range(1, 10) * rng.range(1, 10);
            (
                Class::Passive,
                submit(next_id, owner, side, limit(price), TimeInForce::Day, qty),
            )
        } else if roll < 80 {
            let mut target = None;
            while !live.is_empty() {
                let i = rng.below(live.len() as u64) as usize;
                let id = live.swap_remove(i);
                if book.get(id).is_some() {
                    target = Some(id);
                    break;
                }
            }
            match target {
                Some(id) => (Class::Cancel, Op::Cancel(id)),
                None => continue,
            }
        } else if roll < 90 {
            // Sized on the best level: 10..100 % of it.
            let top = depth.first().map_or(20, |l| l.qty_tonnes);
            let qty = (top * rng.range(1, 10) / 10).max(1);
            let kind = if rng.next() & 1 == 0 {
                OrderKind::Market
            } else {
                limit(mid + sign * rng.range(0, 3) as PriceTicks)
            };
            (
                Class::IocOrMarket,
                submit(next_id, owner, side, kind, TimeInForce::Ioc, qty),
            )
        } else if roll < 95 {
            // Sized on the two best levels: 20..140 % of them (the larger
            // ones are killed).
            let top2: u64 = depth.iter().take(2).map(|l| l.qty_tonnes).sum::<u64>().max(20);
            let qty = (top2 * rng.range(2, 14) / 10).max(1);
            let kind = if rng.next() & 1 == 0 {
                OrderKind::Market
            } else {
                limit(mid + sign * rng.range(0, 4) as PriceTicks)
            };
            (Class::Fok, submit(next_id, owner, side, kind, TimeInForce::Fok, qty))
        } else {
            // Sweep: a limit 5..15 ticks through the mid, sized to take
            // everything up to that price plus a little (which rests).
            let price = mid + sign * rng.range(5, 15) as PriceTicks;
            let reachable: u64 = depth
                .iter()
                .take_while(|l| (l.price_ticks - price) * sign <= 0)
                .map(|l| l.qty_tonnes)
                .sum();
            let qty = reachable + rng.range(1, 20);
            (
                Class::Sweep,
                submit(next_id, owner, side, limit(price), TimeInForce::Day, qty),
            )
        };

        match op {
            Op::Submit(order) => {
                next_id += 1;
                fills.clear();
                let outcome = book.submit(order, &mut fills).expect("generated order is valid");
                fill_count += fills.len();
                if class == Class::Sweep {
                    sweep_fills += fills.len();
                    sweep_levels += 1 + fills
                        .windows(2)
                        .filter(|w| w[0].price_ticks != w[1].price_ticks)
                        .count()
                        - usize::from(fills.is_empty());
                }
                match outcome.end {
                    EndState::Cancelled {
                        reason: CancelReason::FokUnfillable,
                        ..
                    } => fok_killed += 1,
                    EndState::Cancelled {
                        reason: CancelReason::SelfTrade,
                        ..
                    } => self_trades += 1,
                    _ => {}
                }
                if matches!(outcome.end, EndState::Resting { .. }) {
                    live.push(order.id);
                }
            }
            Op::Cancel(id) => {
                book.cancel(id).expect("target rests");
            }
        }
        max_resting = max_resting.max(book.len());
        resting_sum += book.len() as u64;
        counts[class as usize] += 1;
        ops.push(op);
    }
    Stream {
        ops,
        counts,
        fills: fill_count,
        resting_at_end: book.len(),
        max_resting,
        mean_resting: resting_sum as f64 / n as f64,
        sweep_fills,
        sweep_levels,
        fok_killed,
        self_trades,
        levels_at_end: (book.level_count(Side::Buy), book.level_count(Side::Sell)),
    }
}

fn limit(price_ticks: PriceTicks) -> OrderKind {
    OrderKind::Limit { price_ticks }
}

fn submit(id: OrderId, owner: u64, side: Side, kind: OrderKind, tif: TimeInForce, qty_tonnes: QtyTonnes) -> Op {
    Op::Submit(NewOrder {
        id,
        owner,
        side,
        kind,
        tif,
        qty_tonnes,
    })
}

// ---------------------------------------------------------------------------
// Our engine.

#[inline(always)]
fn apply_ours(book: &mut OrderBook, fills: &mut Vec<Fill>, op: &Op) {
    match *op {
        Op::Submit(order) => {
            fills.clear();
            let _ = black_box(book.submit(order, fills));
        }
        Op::Cancel(id) => {
            let _ = black_box(book.cancel(id));
        }
    }
}

fn replay_ours(ops: &[Op]) -> OrderBook {
    let mut book = OrderBook::new(LIMITS);
    let mut fills = Vec::with_capacity(64);
    for op in ops {
        apply_ours(&mut book, &mut fills, op);
    }
    book
}

// ---------------------------------------------------------------------------
// orderbook-rs.

/// Pre-mapped orderbook-rs operation (built before timing).
#[derive(Clone, Copy)]
enum TheirOp {
    Limit {
        id: pricelevel::Id,
        price: u128,
        qty: u64,
        side: pricelevel::Side,
        tif: pricelevel::TimeInForce,
        user: Hash32,
    },
    Market {
        id: pricelevel::Id,
        qty: u64,
        side: pricelevel::Side,
        user: Hash32,
    },
    Cancel(pricelevel::Id),
}

fn map_theirs(ops: &[Op]) -> Vec<TheirOp> {
    ops.iter()
        .map(|op| match *op {
            Op::Cancel(id) => TheirOp::Cancel(pricelevel::Id::from_u64(id)),
            Op::Submit(o) => {
                let id = pricelevel::Id::from_u64(o.id);
                let side = match o.side {
                    Side::Buy => pricelevel::Side::Buy,
                    Side::Sell => pricelevel::Side::Sell,
                };
                let mut user = [0u8; 32];
                user[..8].copy_from_slice(&o.owner.to_le_bytes());
                user[31] = 1; // never the "no user" zero hash
                let user = Hash32(user);
                let tif = match o.tif {
                    TimeInForce::Day => pricelevel::TimeInForce::Gtc,
                    TimeInForce::Ioc => pricelevel::TimeInForce::Ioc,
                    TimeInForce::Fok => pricelevel::TimeInForce::Fok,
                };
                match (o.kind, o.tif) {
                    (OrderKind::Limit { price_ticks }, _) => TheirOp::Limit {
                        id,
                        price: price_ticks as u128,
                        qty: o.qty_tonnes,
                        side,
                        tif,
                        user,
                    },
                    (OrderKind::Market, TimeInForce::Fok) => TheirOp::Limit {
                        id,
                        price: if o.side == Side::Buy {
                            MAX_PRICE_TICKS as u128
                        } else {
                            1
                        },
                        qty: o.qty_tonnes,
                        side,
                        tif,
                        user,
                    },
                    (OrderKind::Market, _) => TheirOp::Market {
                        id,
                        qty: o.qty_tonnes,
                        side,
                        user,
                    },
                }
            }
        })
        .collect()
}

fn their_book() -> TheirBook<()> {
    let mut book = TheirBook::<()>::new("CEA");
    book.set_stp_mode(STPMode::CancelTaker);
    book
}

#[inline(always)]
fn apply_theirs(book: &TheirBook<()>, op: &TheirOp) {
    match *op {
        TheirOp::Limit {
            id,
            price,
            qty,
            side,
            tif,
            user,
        } => {
            let _ = black_box(book.add_limit_order_with_user(id, price, qty, side, tif, user, None));
        }
        TheirOp::Market { id, qty, side, user } => {
            let _ = black_box(book.submit_market_order_with_user(id, qty, side, user));
        }
        TheirOp::Cancel(id) => {
            let _ = black_box(book.cancel_order(id));
        }
    }
}

fn replay_theirs(ops: &[TheirOp]) -> TheirBook<()> {
    let book = their_book();
    for op in ops {
        apply_theirs(&book, op);
    }
    book
}

// ---------------------------------------------------------------------------
// Measurement.

struct Report {
    ops_per_sec: f64,
    hist: Histogram<u64>,
    /// Orders resting after the stream (a cross-check that both engines
    /// did the same work).
    resting_at_end: usize,
}

/// Median of three timed passes, each on a fresh book (drop not timed).
fn throughput<B>(n: usize, mut pass: impl FnMut() -> B) -> f64 {
    let mut secs: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            let book = pass();
            let elapsed = start.elapsed();
            drop(black_box(book));
            elapsed.as_secs_f64()
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    n as f64 / secs[1]
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 1_000_000_000, 3).expect("histogram bounds")
}

#[inline(always)]
fn timed(hist: &mut Histogram<u64>, f: impl FnOnce()) {
    let start = Instant::now();
    f();
    let ns = start.elapsed().as_nanos() as u64;
    hist.record(ns.max(1)).expect("in range");
}

fn measure_ours(ops: &[Op]) -> Report {
    let ops_per_sec = throughput(ops.len(), || replay_ours(ops));
    let mut hist = new_hist();
    let mut book = OrderBook::new(LIMITS);
    let mut fills = Vec::with_capacity(64);
    for op in ops {
        timed(&mut hist, || apply_ours(&mut book, &mut fills, op));
    }
    Report {
        ops_per_sec,
        hist,
        resting_at_end: book.len(),
    }
}

fn measure_theirs(ops: &[TheirOp]) -> Report {
    let ops_per_sec = throughput(ops.len(), || replay_theirs(ops));
    let mut hist = new_hist();
    let book = their_book();
    for op in ops {
        timed(&mut hist, || apply_theirs(&book, op));
    }
    Report {
        ops_per_sec,
        hist,
        resting_at_end: book.get_all_orders().len(),
    }
}

fn print_report(name: &str, r: &Report) {
    let h = &r.hist;
    println!(
        "{name:<17} {:>10.0} ops/s  p50 {:>5} ns  p99 {:>6} ns  p99.9 {:>6} ns  max {:>8} ns  ({} resting at end)",
        r.ops_per_sec,
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
        r.resting_at_end,
    );
}

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

fn main() {
    let n: usize = std::env::var("BENCH_OPS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(DEFAULT_OPS);

    let t = Instant::now();
    let stream = generate(n, SEED);
    let theirs_ops = map_theirs(&stream.ops);
    let c = stream.counts;
    println!("carbon-matching session replay: {n} operations, seed {SEED:#x}");
    println!(
        "  mix: {} passive day limits, {} cancels, {} ioc/market, {} fok, {} sweeps",
        c[Class::Passive as usize],
        c[Class::Cancel as usize],
        c[Class::IocOrMarket as usize],
        c[Class::Fok as usize],
        c[Class::Sweep as usize],
    );
    println!(
        "  {} fills; resting orders: mean {:.0}, max {}, {} at end; levels at end {} bid / {} ask; generated in {:.2?}",
        stream.fills,
        stream.mean_resting,
        stream.max_resting,
        stream.resting_at_end,
        stream.levels_at_end.0,
        stream.levels_at_end.1,
        t.elapsed()
    );
    let sweeps = c[Class::Sweep as usize].max(1) as f64;
    println!(
        "  sweeps trade on {:.1} price levels ({:.1} fills) on average; {} fok killed; {} self-trade cancels",
        stream.sweep_levels as f64 / sweeps,
        stream.sweep_fills as f64 / sweeps,
        stream.fok_killed,
        stream.self_trades,
    );

    // What wrapping an operation in `Instant::now()` costs on its own.
    let mut timer = new_hist();
    for _ in 0..100_000 {
        timed(&mut timer, || {
            black_box(());
        });
    }
    println!(
        "  latency includes the timer: an empty timed op measures p50 {} ns, p99 {} ns",
        timer.value_at_quantile(0.5),
        timer.value_at_quantile(0.99)
    );

    let ours = measure_ours(&stream.ops);
    print_report("carbon-matching", &ours);
    if env_flag("BENCH_ONLY_OURS") {
        return;
    }
    let theirs = measure_theirs(&theirs_ops);
    print_report("orderbook-rs 0.15", &theirs);
    println!(
        "throughput ratio carbon-matching / orderbook-rs: {:.1}x",
        ours.ops_per_sec / theirs.ops_per_sec
    );

    if env_flag("BENCH_SKIP_CRITERION") {
        return;
    }
    let prefix = CRITERION_OPS.min(n);
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    let mut group = criterion.benchmark_group(format!("session_replay_{prefix}_ops"));
    group.throughput(criterion::Throughput::Elements(prefix as u64));
    group.bench_function("carbon-matching", |b| {
        b.iter_batched(|| (), |()| replay_ours(&stream.ops[..prefix]), BatchSize::PerIteration)
    });
    group.bench_function("orderbook-rs", |b| {
        b.iter_batched(
            || (),
            |()| replay_theirs(&theirs_ops[..prefix]),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    criterion.final_summary();
}
