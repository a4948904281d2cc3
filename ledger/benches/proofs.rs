//! Proofs from the structurally shared Merkle tree at a million entries
//! (issue 15: p99 under 1 ms each, off the sequencer).
//!
//! Run: `cargo bench -p carbon-ledger --bench proofs`
//! (`PROOF_LEAVES=100000` for a smaller tree).
//!
//! Measures, on a tree of `PROOF_LEAVES` leaves (default 1,048,576 + 1000,
//! so the last subtree is not full), what a proof RPC does after its
//! checks: an inclusion proof of a random entry at the tree's size, a
//! consistency proof from a random older size, and the copy of the tree the
//! sequencer publishes to the read view after every batch. Before
//! Criterion's means it prints the percentiles of 100,000 proofs of each
//! kind, timed one by one. The server's figure adds gRPC and the read
//! credential's check (BENCHMARKS.md).

use std::hint::black_box;

use carbon_ledger::merkle::{leaf_hash, MerkleTree};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn leaves() -> u64 {
    std::env::var("PROOF_LEAVES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or((1 << 20) + 1000)
}

/// A small deterministic generator (no dependency for one number).
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn proofs(c: &mut Criterion) {
    let n = leaves();
    let mut tree = MerkleTree::new();
    for i in 0..n {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    percentiles("inclusion proof", || {
        let i = next(&mut seed) % n;
        black_box(tree.inclusion_proof(i, n));
    });
    percentiles("consistency proof", || {
        let old = 1 + next(&mut seed) % (n - 1);
        black_box(tree.consistency_proof(old, n));
    });
    let mut group = c.benchmark_group(format!("merkle at {n} leaves"));
    group.bench_function("inclusion proof", |b| {
        b.iter_batched(
            || next(&mut seed) % n,
            |i| black_box(tree.inclusion_proof(i, n)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("consistency proof", |b| {
        b.iter_batched(
            || 1 + next(&mut seed) % (n - 1),
            |old| black_box(tree.consistency_proof(old, n)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("copy published per batch", |b| b.iter(|| black_box(tree.clone())));
    group.finish();
}

/// Times 100,000 calls of `f` one by one and prints their percentiles.
fn percentiles(what: &str, mut f: impl FnMut()) {
    let mut h = hdrhistogram::Histogram::<u64>::new(3).expect("3 significant figures is valid");
    for _ in 0..100_000 {
        let started = std::time::Instant::now();
        f();
        h.record(started.elapsed().as_nanos() as u64)
            .expect("the histogram grows");
    }
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{what}: p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
        us(0.5),
        us(0.99),
        us(0.999),
        h.max() as f64 / 1000.0
    );
}

criterion_group!(benches, proofs);
criterion_main!(benches);
