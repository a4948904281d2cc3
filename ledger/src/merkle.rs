//! RFC 6962 (Certificate Transparency) Merkle tree over journal entries.
//!
//! The journal is an append-only log; committing to it with a Merkle tree lets
//! the operator publish one small signed tree head (see `crate::checkpoint`)
//! per batch, and lets anyone holding a tree head check that
//!
//! * a given entry is in the log (inclusion proof, RFC 6962 §2.1.1), and
//! * a later tree head extends an earlier one without rewriting history
//!   (consistency proof, RFC 6962 §2.1.2).
//!
//! Hashing follows RFC 6962 exactly (SHA-256, `0x00` leaf prefix, `0x01`
//! node prefix), so standard transparency-log tooling can check our proofs.
//! Verification follows the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! Every size and index in this module counts leaves (journal entries), not
//! bytes.

use std::sync::Arc;

use sha2::{Digest, Sha256};

/// A SHA-256 hash: the type of leaf hashes, interior node hashes and roots.
pub type Hash = [u8; 32];

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// Hashes one journal entry into a leaf: `SHA-256(0x00 || entry)`.
///
/// The `0x00` prefix keeps a leaf from ever being mistaken for an interior
/// node (second-preimage resistance), so this is the only way an entry's bytes
/// should enter the tree.
#[must_use]
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// Hashes two child nodes into their parent: `SHA-256(0x01 || left || right)`.
///
/// Exposed so that callers and tests can recompute subtree hashes with the
/// same domain separation the tree uses.
#[must_use]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The root of the empty tree: `SHA-256("")` (RFC 6962 §2.1).
///
/// A log with no entries still needs a well-defined root to sign and to serve
/// as the starting point of consistency proofs.
#[must_use]
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Leaves at the bottom of a [`MerkleTree`] kept flat in one chunk: a
/// perfect subtree of 16 leaves (512 bytes) whose inner hashes are
/// recomputed when a proof needs them (15 hashes at most), instead of 15
/// stored nodes. Sixteen keeps the nodes above at 1/8 of a node per leaf.
const CHUNK_LEAVES: usize = 16;

/// A perfect subtree of at least [`CHUNK_LEAVES`] leaves, shared between
/// every copy of the tree that contains it.
#[derive(Debug)]
struct Perfect {
    /// Its Merkle tree hash.
    hash: Hash,
    /// Leaves under it: a power of two, at least [`CHUNK_LEAVES`].
    leaves: u64,
    kids: Kids,
}

#[derive(Debug)]
enum Kids {
    /// A chunk: the leaf hashes themselves.
    Leaves(Box<[Hash; CHUNK_LEAVES]>),
    /// Two perfect subtrees of half the size.
    Pair(Arc<Perfect>, Arc<Perfect>),
}

impl Perfect {
    /// The perfect subtree of `leaves` leaves that starts at `offset` leaves
    /// into this one (both aligned): a walk down, O(log n).
    fn find(self: &Arc<Perfect>, mut offset: u64, leaves: u64) -> &Arc<Perfect> {
        let mut node = self;
        while node.leaves > leaves {
            let Kids::Pair(left, right) = &node.kids else {
                unreachable!("chunks are the smallest subtrees looked up")
            };
            let half = node.leaves / 2;
            node = if offset < half {
                left
            } else {
                offset -= half;
                right
            };
        }
        node
    }

    /// The chunk holding leaf `offset` of this subtree, and its index there.
    fn chunk(self: &Arc<Perfect>, offset: u64) -> (&[Hash; CHUNK_LEAVES], usize) {
        let chunk = CHUNK_LEAVES as u64;
        let node = self.find(offset / chunk * chunk, chunk);
        let Kids::Leaves(leaves) = &node.kids else {
            unreachable!("a subtree of one chunk's size is a chunk")
        };
        (leaves, (offset % chunk) as usize)
    }
}

/// Append-only Merkle tree of leaf hashes, **structurally shared**: a copy
/// costs a few dozen pointers, so the sequencer can hand the tree of every
/// durable batch to the threads that answer proofs and write snapshots
/// without copying 32 bytes an entry.
///
/// It exists so the ledger can sign a new root after every batch (cheaply) and
/// answer inclusion and consistency proofs for any tree size it has ever had.
///
/// Storage: the maximal perfect subtrees that make up the tree, largest
/// (leftmost) first, each a persistent binary tree of `Arc`ed nodes whose
/// bottom level is chunks of [`CHUNK_LEAVES`] leaf hashes; then the last
/// leaves, fewer than a chunk. Full subtrees never change again, so copies
/// share them. A million leaves take 32 MB of leaf hashes and about 9 MB of
/// nodes (one node for every 8 leaves), once however many copies there are.
///
/// [`MerkleTree::push`] is amortised O(1) (one chunk and its carries every
/// 16 leaves) and [`MerkleTree::root`] O(log n). Proofs for any size are
/// O(log² n): every subtree hash they need is a stored node, found by a walk
/// down, or the hash of part of one chunk or of the last leaves.
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    /// Perfect subtrees of at least a chunk, sizes strictly decreasing:
    /// one per set bit (from bit 4 up) of the leaf count.
    full: Vec<Arc<Perfect>>,
    /// The leaves after them, fewer than [`CHUNK_LEAVES`].
    tail: Vec<Hash>,
    /// Leaves under `full`.
    full_leaves: u64,
}

impl PartialEq for MerkleTree {
    /// Equal sizes and roots: equal leaves, unless SHA-256 collides.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.root() == other.root()
    }
}

impl Eq for MerkleTree {}

impl MerkleTree {
    /// Creates an empty tree, the state of a brand new journal.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates an empty tree. (The capacity is a hint older callers pass;
    /// a shared tree allocates a chunk at a time.)
    #[must_use]
    pub fn with_capacity(_leaf_capacity: usize) -> Self {
        Self::default()
    }

    /// Appends a leaf hash (normally [`leaf_hash`] of a journal entry).
    ///
    /// This is the only mutation: the tree is append-only, like the journal.
    pub fn push(&mut self, leaf: Hash) {
        self.tail.push(leaf);
        if self.tail.len() < CHUNK_LEAVES {
            return;
        }
        let leaves: Box<[Hash; CHUNK_LEAVES]> = std::mem::take(&mut self.tail)
            .into_boxed_slice()
            .try_into()
            .expect("a full tail is one chunk");
        let mut node = Arc::new(Perfect {
            hash: subtree_hash(&leaves[..]),
            leaves: CHUNK_LEAVES as u64,
            kids: Kids::Leaves(leaves),
        });
        self.full_leaves += CHUNK_LEAVES as u64;
        // Merge equal subtrees, as a binary increment carries.
        while self.full.last().is_some_and(|left| left.leaves == node.leaves) {
            let left = self.full.pop().expect("checked");
            node = Arc::new(Perfect {
                hash: node_hash(&left.hash, &node.hash),
                leaves: left.leaves * 2,
                kids: Kids::Pair(left, node),
            });
        }
        self.full.push(node);
        self.tail.reserve_exact(CHUNK_LEAVES);
        debug_assert_eq!(
            self.full.iter().map(|p| p.leaves).sum::<u64>(),
            self.full_leaves,
            "the full subtrees partition the chunked leaves"
        );
    }

    /// The leaf hashes from `from` on, in append order (what a snapshot
    /// writes of the leaves it has not written yet).
    #[must_use]
    pub fn leaves_from(&self, from: u64) -> Vec<Hash> {
        (from..self.len()).filter_map(|i| self.leaf(i)).collect()
    }

    /// Number of leaves, i.e. the tree size that a checkpoint would sign.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.full_leaves + to_u64(self.tail.len())
    }

    /// Whether the tree has no leaves (its root is [`empty_root`]).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hash at `index` (0-based), if the tree has that many leaves.
    ///
    /// Used to serve the hash that an inclusion proof starts from.
    #[must_use]
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        if index >= self.full_leaves {
            return self.tail.get(usize::try_from(index - self.full_leaves).ok()?).copied();
        }
        let (subtree, offset) = self.subtree_of(index);
        let (chunk, at) = subtree.chunk(offset);
        Some(chunk[at])
    }

    /// The full subtree holding leaf `index` (below `full_leaves`), and the
    /// index's offset in it.
    fn subtree_of(&self, index: u64) -> (&Arc<Perfect>, u64) {
        let mut start = 0;
        for p in &self.full {
            if index < start + p.leaves {
                return (p, index - start);
            }
            start += p.leaves;
        }
        unreachable!("index {index} is below the full subtrees' {start} leaves")
    }

    /// The Merkle tree hash (MTH) of all leaves, in O(log n).
    ///
    /// This is what gets signed after every batch, so it must stay cheap.
    #[must_use]
    pub fn root(&self) -> Hash {
        self.range_hash(0, self.len())
    }

    /// The Merkle tree hash of the first `size` leaves, or `None` if the tree
    /// has fewer than `size` leaves. O(log² n).
    #[must_use]
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        let size = self.checked_size(size)?;
        Some(self.range_hash(0, size))
    }

    /// The inclusion proof (audit path) of leaf `index` in the tree of the
    /// first `size` leaves: RFC 6962 §2.1.1 `PATH(index, D[size])`, ordered
    /// from the leaf's sibling upwards.
    ///
    /// Returns `None` unless `index < size <= self.len()`. Check the result
    /// with [`verify_inclusion`].
    #[must_use]
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        let size = self.checked_size(size)?;
        if index >= size {
            return None;
        }
        // Walk from the root down to the leaf, collecting the sibling of each
        // subtree we descend into; the proof lists them bottom-up.
        let mut proof = Vec::new();
        let (mut lo, mut hi) = (0, size);
        while hi - lo > 1 {
            let mid = lo + split_point(hi - lo);
            if index < mid {
                proof.push(self.range_hash(mid, hi));
                hi = mid;
            } else {
                proof.push(self.range_hash(lo, mid));
                lo = mid;
            }
        }
        proof.reverse();
        Some(proof)
    }

    /// The consistency proof between the tree of the first `old_size` leaves
    /// and the tree of the first `new_size` leaves: RFC 6962 §2.1.2
    /// `PROOF(old_size, D[new_size])`.
    ///
    /// It lets a holder of the old tree head check that the new one only
    /// appended entries. Returns `None` unless
    /// `old_size <= new_size <= self.len()`; the proof is empty when
    /// `old_size` is 0 or equal to `new_size`. Check the result with
    /// [`verify_consistency`].
    #[must_use]
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Option<Vec<Hash>> {
        let new_size = self.checked_size(new_size)?;
        if old_size > new_size {
            return None;
        }
        let mut proof = Vec::new();
        if old_size == 0 || old_size == new_size {
            return Some(proof);
        }
        // SUBPROOF(m, D[lo..hi], complete), unrolled from the root down.
        // `old_size` stays an absolute leaf count: the old tree is always the
        // prefix D[0..old_size], so its edge lies inside [lo, hi].
        let (mut lo, mut hi) = (0, new_size);
        let mut old_is_whole_subtree = true;
        loop {
            if old_size == hi {
                // D[lo..hi] is a subtree of the old tree. If it is the old
                // tree itself the verifier already has its hash.
                if !old_is_whole_subtree {
                    proof.push(self.range_hash(lo, hi));
                }
                break;
            }
            let mid = lo + split_point(hi - lo);
            if old_size <= mid {
                proof.push(self.range_hash(mid, hi));
                hi = mid;
            } else {
                proof.push(self.range_hash(lo, mid));
                lo = mid;
                old_is_whole_subtree = false;
            }
        }
        proof.reverse();
        Some(proof)
    }

    /// Rejects sizes larger than the tree.
    fn checked_size(&self, size: u64) -> Option<u64> {
        (size <= self.len()).then_some(size)
    }

    /// MTH of leaves `lo..hi` (RFC 6962's recursion), where the range is a
    /// node of some tree prefix: a stored node when the range is an aligned
    /// power of two of at least a chunk, the hash of a slice when it lies in
    /// one chunk or in the tail, otherwise split at RFC 6962's point.
    fn range_hash(&self, lo: u64, hi: u64) -> Hash {
        let n = hi - lo;
        if n == 0 {
            return empty_root();
        }
        let chunk = CHUNK_LEAVES as u64;
        if lo >= self.full_leaves {
            let from = (lo - self.full_leaves) as usize;
            return subtree_hash(&self.tail[from..from + n as usize]);
        }
        if hi <= self.full_leaves {
            if n >= chunk && n.is_power_of_two() && lo.is_multiple_of(n) {
                let (subtree, offset) = self.subtree_of(lo);
                return subtree.find(offset, n).hash;
            }
            if lo / chunk == (hi - 1) / chunk {
                let (subtree, offset) = self.subtree_of(lo);
                let (leaves, at) = subtree.chunk(offset);
                return subtree_hash(&leaves[at..at + n as usize]);
            }
        }
        let k = split_point(n);
        node_hash(&self.range_hash(lo, lo + k), &self.range_hash(lo + k, hi))
    }
}

/// RFC 6962's split point `k` for a list of `n >= 2` leaves: the largest
/// power of two strictly smaller than `n`.
fn split_point<N: SplitPoint>(n: N) -> N {
    n.split_point()
}

/// [`split_point`] for leaf counts (`u64`) and slice lengths (`usize`).
trait SplitPoint: Copy {
    fn split_point(self) -> Self;
}

impl SplitPoint for u64 {
    fn split_point(self) -> u64 {
        debug_assert!(self >= 2);
        1u64 << (u64::BITS - 1 - (self - 1).leading_zeros())
    }
}

impl SplitPoint for usize {
    fn split_point(self) -> usize {
        debug_assert!(self >= 2);
        1usize << (usize::BITS - 1 - (self - 1).leading_zeros())
    }
}

/// RFC 6962 §2.1 `MTH(D[n])` over leaf hashes, by direct recursion
/// (depth at most log2 n).
fn subtree_hash(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [only] => *only,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&subtree_hash(left), &subtree_hash(right))
        }
    }
}

/// Lossless on every platform Rust supports (`usize` is at most 64 bits).
fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2): that `leaf` is the leaf
/// hash at `index` in the tree of `size` leaves whose root is `root`.
///
/// This is what a client runs on a proof from [`MerkleTree::inclusion_proof`]
/// to convince itself an entry is in a signed tree head. Returns `false` for
/// any malformed input (index out of range, wrong proof length) instead of
/// failing loudly: callers only need yes or no.
#[must_use]
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let mut node_index = index;
    let mut last_index = size - 1;
    let mut hash = *leaf;
    for sibling in proof {
        if last_index == 0 {
            return false;
        }
        if node_index & 1 == 1 || node_index == last_index {
            hash = node_hash(sibling, &hash);
            // A right-edge node without a right sibling is promoted; skip the
            // levels where it has no sibling.
            while node_index & 1 == 0 && node_index != 0 {
                node_index >>= 1;
                last_index >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        node_index >>= 1;
        last_index >>= 1;
    }
    last_index == 0 && hash == *root
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of
/// `new_size` leaves with root `new_root` is an append-only extension of the
/// tree of `old_size` leaves with root `old_root`.
///
/// This is what a client runs on a proof from
/// [`MerkleTree::consistency_proof`] before trusting a newer checkpoint over
/// the one it already holds. Trivial cases are checked strictly: equal sizes
/// need equal roots and an empty proof; `old_size == 0` needs
/// `old_root == empty_root()` and an empty proof. Returns `false` for any
/// malformed input.
#[must_use]
pub fn verify_consistency(old_size: u64, new_size: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> bool {
    if old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if old_size == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    // 0 < old_size < new_size from here on.
    let mut rest = proof.iter();
    // When the old tree is a perfect subtree its root is the first node of
    // the path and the proof omits it.
    let first = if old_size.is_power_of_two() {
        *old_root
    } else {
        match rest.next() {
            Some(hash) => *hash,
            None => return false,
        }
    };
    let mut node_index = old_size - 1;
    let mut last_index = new_size - 1;
    while node_index & 1 == 1 {
        node_index >>= 1;
        last_index >>= 1;
    }
    let mut old_hash = first;
    let mut new_hash = first;
    for sibling in rest {
        if last_index == 0 {
            return false;
        }
        if node_index & 1 == 1 || node_index == last_index {
            old_hash = node_hash(sibling, &old_hash);
            new_hash = node_hash(sibling, &new_hash);
            while node_index & 1 == 0 && node_index != 0 {
                node_index >>= 1;
                last_index >>= 1;
            }
        } else {
            new_hash = node_hash(&new_hash, sibling);
        }
        node_index >>= 1;
        last_index >>= 1;
    }
    last_index == 0 && old_hash == *old_root && new_hash == *new_root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes a 32-byte hex test vector.
    fn h(hex_str: &str) -> Hash {
        let bytes = hex::decode(hex_str).expect("test vector is hex");
        bytes.try_into().expect("test vector is 32 bytes")
    }

    /// The eight leaf inputs of the RFC 6962 / certificate-transparency test
    /// vectors.
    const CT_LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];

    /// Published roots of the trees of the first 1..=8 `CT_LEAVES`.
    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// Published inclusion proofs: (0-based leaf index, tree size, path).
    fn ct_inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (0, 1, vec![]),
            (
                0,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                5,
                8,
                vec![
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                3,
                vec![h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")],
            ),
            (
                1,
                5,
                vec![
                    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
        ]
    }

    /// Published consistency proofs: (old size, new size, proof).
    fn ct_consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
        vec![
            (1, 1, vec![]),
            (
                1,
                8,
                vec![
                    h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                2,
                5,
                vec![
                    h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
            (
                6,
                7,
                vec![
                    h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                    h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
        ]
    }

    fn ct_tree() -> MerkleTree {
        let mut tree = MerkleTree::new();
        for entry in CT_LEAVES {
            tree.push(leaf_hash(entry));
        }
        tree
    }

    fn ct_root(size: u64) -> Hash {
        h(CT_ROOTS[usize::try_from(size - 1).expect("small")])
    }

    /// A tree whose leaves are the hashes of their indices.
    fn counting_tree(size: usize) -> MerkleTree {
        let mut tree = MerkleTree::with_capacity(size);
        for i in 0..size {
            tree.push(leaf_hash(&to_u64(i).to_be_bytes()));
        }
        tree
    }

    fn flip(proof: &[Hash], element: usize, byte: usize, mask: u8) -> Vec<Hash> {
        let mut bad = proof.to_vec();
        bad[element][byte] ^= mask;
        bad
    }

    /// RFC 6962 §2.1.1 PATH, transcribed literally (reference for tests).
    fn reference_path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return vec![];
        }
        let k = split_point(d.len());
        if m < k {
            let mut p = reference_path(m, &d[..k]);
            p.push(subtree_hash(&d[k..]));
            p
        } else {
            let mut p = reference_path(m - k, &d[k..]);
            p.push(subtree_hash(&d[..k]));
            p
        }
    }

    /// RFC 6962 §2.1.2 SUBPROOF, transcribed literally (reference for tests).
    fn reference_subproof(m: usize, d: &[Hash], complete: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if complete { vec![] } else { vec![subtree_hash(d)] };
        }
        let k = split_point(n);
        if m <= k {
            let mut p = reference_subproof(m, &d[..k], complete);
            p.push(subtree_hash(&d[k..]));
            p
        } else {
            let mut p = reference_subproof(m - k, &d[k..], false);
            p.push(subtree_hash(&d[..k]));
            p
        }
    }

    #[test]
    fn hash_functions_match_rfc6962_vectors() {
        assert_eq!(
            empty_root(),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            leaf_hash(b""),
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
        assert_eq!(
            leaf_hash(b"L123456"),
            h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
        );
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
        let mut concatenated = a.to_vec();
        concatenated.extend_from_slice(&b);
        assert_ne!(node_hash(&a, &b), leaf_hash(&concatenated));
    }

    #[test]
    fn empty_tree() {
        let tree = MerkleTree::new();
        assert!(tree.is_empty());
        assert_eq!(tree.len(), 0);
        assert_eq!(tree.root(), empty_root());
        assert_eq!(tree.root_at(0), Some(empty_root()));
        assert_eq!(tree.root_at(1), None);
        assert_eq!(tree.leaf(0), None);
        assert_eq!(tree.inclusion_proof(0, 0), None);
        assert_eq!(tree.consistency_proof(0, 0), Some(vec![]));
        assert_eq!(tree.consistency_proof(0, 1), None);
    }

    #[test]
    fn roots_match_ct_vectors() {
        let mut tree = MerkleTree::new();
        for (i, entry) in CT_LEAVES.iter().enumerate() {
            tree.push(leaf_hash(entry));
            assert_eq!(tree.len(), to_u64(i + 1));
            assert_eq!(tree.root(), h(CT_ROOTS[i]), "root of size {}", i + 1);
            assert_eq!(tree.leaf(to_u64(i)), Some(leaf_hash(entry)));
        }
        assert!(!tree.is_empty());
        for size in 1..=8 {
            assert_eq!(tree.root_at(size), Some(ct_root(size)), "size {size}");
        }
        assert_eq!(tree.root_at(0), Some(empty_root()));
        assert_eq!(tree.root_at(9), None);
        assert_eq!(tree.leaf(8), None);
        assert_eq!(tree.leaf(u64::MAX), None);
    }

    #[test]
    fn inclusion_proofs_match_ct_vectors() {
        let tree = ct_tree();
        for (index, size, expected) in ct_inclusion_vectors() {
            let proof = tree.inclusion_proof(index, size).expect("in range");
            assert_eq!(proof, expected, "PATH({index}, D[{size}])");
            let leaf = leaf_hash(CT_LEAVES[usize::try_from(index).expect("small")]);
            let root = ct_root(size);
            assert!(verify_inclusion(&leaf, index, size, &proof, &root));

            // Corruptions in the style of the transparency-dev test suite.
            let some_hash = h("abacaba000000000000000000000000000000000000000000060061e00123456");
            assert!(!verify_inclusion(&leaf, index.wrapping_sub(1), size, &proof, &root));
            assert!(!verify_inclusion(&leaf, index + 1, size, &proof, &root));
            assert!(!verify_inclusion(&leaf, index ^ 2, size, &proof, &root));
            assert!(!verify_inclusion(&leaf, index, size * 2, &proof, &root));
            assert!(!verify_inclusion(&leaf, index, size / 2, &proof, &root));
            assert!(!verify_inclusion(&leaf_hash(b"WrongLeaf"), index, size, &proof, &root));
            assert!(!verify_inclusion(&leaf, index, size, &proof, &empty_root()));
            assert!(!verify_inclusion(&leaf, index, size, &proof, &some_hash));
            let mut longer = proof.clone();
            longer.push(root);
            assert!(!verify_inclusion(&leaf, index, size, &longer, &root));
            let mut prefixed = vec![root];
            prefixed.extend_from_slice(&proof);
            assert!(!verify_inclusion(&leaf, index, size, &prefixed, &root));
            for element in 0..proof.len() {
                let bad = flip(&proof, element, 0, 8);
                assert!(!verify_inclusion(&leaf, index, size, &bad, &root));
            }
            if !proof.is_empty() {
                let short = &proof[..proof.len() - 1];
                assert!(!verify_inclusion(&leaf, index, size, short, &root));
            }
        }
        assert_eq!(tree.inclusion_proof(0, 0), None);
        assert_eq!(tree.inclusion_proof(8, 8), None);
        assert_eq!(tree.inclusion_proof(0, 9), None);
        assert_eq!(tree.inclusion_proof(u64::MAX, u64::MAX), None);
    }

    #[test]
    fn consistency_proofs_match_ct_vectors() {
        let tree = ct_tree();
        for (old_size, new_size, expected) in ct_consistency_vectors() {
            let proof = tree.consistency_proof(old_size, new_size).expect("in range");
            assert_eq!(proof, expected, "PROOF({old_size}, D[{new_size}])");
            let (old_root, new_root) = (ct_root(old_size), ct_root(new_size));
            assert!(verify_consistency(old_size, new_size, &old_root, &new_root, &proof));
            if proof.is_empty() {
                continue;
            }
            // Corruptions in the style of the transparency-dev test suite.
            let wrong = leaf_hash(b"WrongRoot");
            let bad_inputs: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                (old_size - 1, new_size, old_root, new_root, proof.clone()),
                (old_size + 1, new_size, old_root, new_root, proof.clone()),
                (old_size ^ 2, new_size, old_root, new_root, proof.clone()),
                (old_size, new_size * 2, old_root, new_root, proof.clone()),
                (old_size, new_size / 2, old_root, new_root, proof.clone()),
                (old_size, new_size, wrong, new_root, proof.clone()),
                (old_size, new_size, old_root, wrong, proof.clone()),
                (old_size, new_size, new_root, old_root, proof.clone()),
                (old_size, new_size, old_root, new_root, vec![]),
                (old_size, new_size, old_root, new_root, {
                    let mut p = proof.clone();
                    p.push(old_root);
                    p
                }),
                (old_size, new_size, old_root, new_root, {
                    let mut p = vec![proof[0]];
                    p.extend_from_slice(&proof);
                    p
                }),
                (
                    old_size,
                    new_size,
                    old_root,
                    new_root,
                    proof[..proof.len() - 1].to_vec(),
                ),
            ];
            for (o, n, or, nr, p) in bad_inputs {
                assert!(
                    !verify_consistency(o, n, &or, &nr, &p),
                    "accepted corrupted proof for ({o}, {n})"
                );
            }
            for element in 0..proof.len() {
                let bad = flip(&proof, element, 0, 16);
                assert!(!verify_consistency(old_size, new_size, &old_root, &new_root, &bad));
            }
        }
        assert_eq!(tree.consistency_proof(9, 8), None);
        assert_eq!(tree.consistency_proof(5, 4), None);
        assert_eq!(tree.consistency_proof(1, 9), None);
        assert_eq!(tree.consistency_proof(0, 8), Some(vec![]));
        assert_eq!(tree.consistency_proof(8, 8), Some(vec![]));
    }

    #[test]
    fn verify_consistency_trivial_cases_are_strict() {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let empty = empty_root();
        assert!(verify_consistency(0, 0, &empty, &empty, &[]));
        assert!(verify_consistency(0, 5, &empty, &a, &[]));
        assert!(!verify_consistency(0, 5, &a, &b, &[]));
        assert!(!verify_consistency(0, 5, &empty, &a, &[empty]));
        assert!(verify_consistency(3, 3, &a, &a, &[]));
        assert!(!verify_consistency(3, 3, &a, &b, &[]));
        assert!(!verify_consistency(3, 3, &a, &a, &[a]));
        assert!(!verify_consistency(2, 1, &a, &b, &[]));
        assert!(!verify_consistency(1, 2, &a, &b, &[]));
        assert!(!verify_consistency(3, u64::MAX, &a, &b, &[a; 70]));
    }

    #[test]
    fn verify_inclusion_rejects_out_of_range() {
        let leaf = leaf_hash(b"data");
        assert!(verify_inclusion(&leaf, 0, 1, &[], &leaf));
        assert!(!verify_inclusion(&leaf, 0, 0, &[], &leaf));
        assert!(!verify_inclusion(&leaf, 1, 1, &[], &leaf));
        assert!(!verify_inclusion(&leaf, 2, 1, &[], &leaf));
        assert!(!verify_inclusion(&leaf, 0, 1, &[], &empty_root()));
        assert!(!verify_inclusion(&leaf, 0, 1, &[leaf], &leaf));
        assert!(!verify_inclusion(&leaf, 0, u64::MAX, &[leaf; 70], &leaf));
    }

    /// Grows a tree leaf by leaf and, at every length, checks every root,
    /// inclusion proof and consistency proof against the literal RFC 6962
    /// recursion. Covers both the frontier fast path (size == len) and the
    /// rehashing path (size < len).
    #[test]
    fn proofs_match_rfc6962_reference_for_all_small_trees() {
        let mut tree = MerkleTree::new();
        let mut leaves = Vec::new();
        for len in 1..=70usize {
            let leaf = leaf_hash(&to_u64(len).to_le_bytes());
            tree.push(leaf);
            leaves.push(leaf);
            assert_eq!(tree.root(), subtree_hash(&leaves));
            for size in 0..=len {
                let d = &leaves[..size];
                let size_u64 = to_u64(size);
                assert_eq!(tree.root_at(size_u64), Some(subtree_hash(d)));
                for index in 0..size {
                    assert_eq!(
                        tree.inclusion_proof(to_u64(index), size_u64),
                        Some(reference_path(index, d)),
                        "PATH({index}, D[{size}]) in tree of {len}"
                    );
                }
                for old in 1..size {
                    assert_eq!(
                        tree.consistency_proof(to_u64(old), size_u64),
                        Some(reference_subproof(old, d, true)),
                        "PROOF({old}, D[{size}]) in tree of {len}"
                    );
                }
            }
        }
    }

    /// A tree of a few thousand leaves against the flat RFC 6962
    /// recursion, at sizes around chunk and subtree boundaries; and a copy
    /// shares everything but the tail.
    #[test]
    fn large_trees_match_the_reference_and_copies_share() {
        let tree = counting_tree(4_100);
        let leaves: Vec<Hash> = (0..4_100u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        assert_eq!(tree.leaves_from(4_090), leaves[4_090..].to_vec());
        for size in [16usize, 17, 31, 32, 33, 1_023, 1_024, 1_025, 4_095, 4_096, 4_100] {
            let d = &leaves[..size];
            assert_eq!(tree.root_at(to_u64(size)), Some(subtree_hash(d)), "root at {size}");
            for index in [0, 1, 15, 16, size / 2, size - 1].into_iter().filter(|&i| i < size) {
                assert_eq!(
                    tree.inclusion_proof(to_u64(index), to_u64(size)),
                    Some(reference_path(index, d)),
                    "PATH({index}, D[{size}])"
                );
            }
            for old in [1, 15, 16, 17, size / 3, size - 1].into_iter().filter(|&o| o < size) {
                assert_eq!(
                    tree.consistency_proof(to_u64(old), to_u64(size)),
                    Some(reference_subproof(old, d, true)),
                    "PROOF({old}, D[{size}])"
                );
            }
        }
        let mut copy = tree.clone();
        assert!(copy.full.iter().zip(&tree.full).all(|(a, b)| Arc::ptr_eq(a, b)));
        copy.push(leaf_hash(b"more"));
        assert_eq!(tree.len(), 4_100);
        assert_eq!(copy.len(), 4_101);
        assert_eq!(copy.root_at(4_100), Some(tree.root()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// For random tree lengths and random earlier sizes, every inclusion
        /// and consistency proof verifies, and flipping any one bit of a
        /// non-empty proof makes it fail.
        #[test]
        fn all_proofs_verify_and_tampering_fails(
            len in 1usize..=80,
            size_pick in any::<prop::sample::Index>(),
            tamper_pick in any::<prop::sample::Index>(),
            tamper_byte in 0usize..32,
            tamper_bit in 0u8..8,
        ) {
            let tree = counting_tree(len);
            let len_u64 = to_u64(len);
            let earlier = size_pick.index(len) + 1;
            for size in [len, earlier] {
                let size_u64 = to_u64(size);
                let root = tree.root_at(size_u64).expect("size <= len");
                let mut inclusion = Vec::new();
                for index in 0..size_u64 {
                    let leaf = tree.leaf(index).expect("index < len");
                    let proof = tree.inclusion_proof(index, size_u64).expect("index < size");
                    prop_assert!(verify_inclusion(&leaf, index, size_u64, &proof, &root));
                    inclusion.push((index, proof));
                }
                let mut consistency = Vec::new();
                for old in 0..=size_u64 {
                    let old_root = tree.root_at(old).expect("old <= size");
                    let proof = tree.consistency_proof(old, size_u64).expect("old <= size");
                    prop_assert!(verify_consistency(old, size_u64, &old_root, &root, &proof));
                    consistency.push((old, old_root, proof));
                }

                let mask = 1u8 << tamper_bit;
                let (index, proof) = &inclusion[tamper_pick.index(inclusion.len())];
                if !proof.is_empty() {
                    let leaf = tree.leaf(*index).expect("index < len");
                    let bad = flip(proof, tamper_pick.index(proof.len()), tamper_byte, mask);
                    prop_assert!(!verify_inclusion(&leaf, *index, size_u64, &bad, &root));
                }
                let (old, old_root, proof) = &consistency[tamper_pick.index(consistency.len())];
                if !proof.is_empty() {
                    let bad = flip(proof, tamper_pick.index(proof.len()), tamper_byte, mask);
                    prop_assert!(!verify_consistency(*old, size_u64, old_root, &root, &bad));
                }
            }
            prop_assert_eq!(tree.root(), tree.root_at(len_u64).expect("len"));
        }
    }
}
