//! The order id → arena slot index.
//!
//! A `HashMap` with a small, fast, *deterministic* hasher (no random seed):
//! the map is only ever used for point lookups, never iterated to produce
//! output, so its order cannot leak into results; determinism of the hash
//! just keeps runs reproducible (same memory layout, same timings).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::types::OrderId;

/// Maps the id of every resting order to its slot in the order arena.
pub(crate) type IdIndex = HashMap<OrderId, u32, BuildHasherDefault<IdHasher>>;

/// Folded 64×64→128-bit multiply hash: one multiplication, mixes every
/// input bit into both the low bits (bucket choice) and the high bits
/// (hashbrown's control tag), so dense, sparse or high-bit-only ids all
/// spread well.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IdHasher {
    #[inline]
    fn write_u64(&mut self, x: u64) {
        let m = u128::from(x ^ self.0) * u128::from(K);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Not used for `u64` keys; kept correct for completeness.
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// An empty index with room for `capacity` ids.
pub(crate) fn with_capacity(capacity: usize) -> IdIndex {
    HashMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default())
}
