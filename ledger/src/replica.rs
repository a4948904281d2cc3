//! A replica: a second copy of the state, kept by applying the journal's
//! durable entries with the same deterministic state machine.
//!
//! The sequencer's node owns the state it writes; nothing else may touch it
//! while it runs. Readers (queries, market data, snapshots) get their own
//! copy instead: a replica that follows the journal. This is state-machine
//! replication on one machine (DESIGN.md: the state is a function of the
//! journal), the same mechanism a follower of another city uses:
//!
//! - it costs the writer nothing that grows with the state: the writer only
//!   says how far the journal is durable; the replica reads the entries
//!   back and applies them on its own thread;
//! - it sees only what is durable, by construction: it is fed entries below
//!   the durable length, never the batch being written;
//! - it checks itself as it goes: every re-applied command must give
//!   exactly its stored outcome and every entry must chain to the one
//!   before, or the replica stops (a determinism bug must not serve reads);
//! - the Merkle tree is not recomputed: at each durable batch the replica
//!   adopts the writer's tree (a structurally shared copy, a few dozen
//!   pointers) after checking that its last leaf is the entry it applied.
//!
//! Its memory is a second state (the tree is shared). Signatures are not
//! checked again: the entries are the writer's own, checked before they
//! were sequenced; `carbon audit verify` is what checks a journal from
//! outside.

use carbon_proto::v1 as pb;
use prost::Message;

use crate::merkle::{leaf_hash, Hash, MerkleTree};
use crate::node::Node;
use crate::state::{outcome_to_pb, State};

/// What one applied command was, for the market-data feed.
#[derive(Debug, Clone)]
pub struct AppliedEntry {
    pub seq: u64,
    pub command: pb::Command,
    pub outcome: pb::Outcome,
}

/// The replica has diverged from the journal, or could not read it. It
/// stops; what it held before stays as it was.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the read replica stopped at journal entry {seq}: {why}")]
pub struct Diverged {
    pub seq: u64,
    pub why: String,
}

/// A copy of the ledger's state at some durable journal length, with the
/// Merkle tree and the signed checkpoint of that length.
#[derive(Clone)]
pub struct Replica {
    state: State,
    /// Entries applied.
    len: u64,
    last_hash: Hash,
    /// The writer's tree at the last adopted batch end (`tree.len() <= len`).
    tree: MerkleTree,
    /// The signed checkpoint over `tree`.
    checkpoint: String,
    origin: String,
}

impl Replica {
    /// A replica of `node` as it is now (between batches: all durable).
    /// Copies the state once (tens of milliseconds at a million entries).
    pub fn of(node: &Node) -> Replica {
        let tree = node.tree().clone();
        Replica {
            state: node.state().clone(),
            len: tree.len(),
            last_hash: tree.len().checked_sub(1).and_then(|i| tree.leaf(i)).unwrap_or([0; 32]),
            tree,
            checkpoint: node.checkpoint().to_string(),
            origin: node.origin().to_string(),
        }
    }

    /// Applies journal entry `seq` (its raw bytes as stored), which must be
    /// the next one. Returns the command it held, if any, with its outcome.
    pub fn apply(&mut self, seq: u64, raw: &[u8]) -> Result<Option<AppliedEntry>, Diverged> {
        let bad = |why: String| Diverged { seq, why };
        if seq != self.len {
            return Err(bad(format!("expected entry {} next", self.len)));
        }
        let entry = pb::JournalEntry::decode(raw).map_err(|e| bad(format!("does not decode: {e}")))?;
        if entry.seq != seq || entry.prev_hash != self.last_hash {
            return Err(bad("does not chain to the entry before it".into()));
        }
        let stored = entry.outcome.unwrap_or_default();
        let applied = match entry.input {
            // Snapshot digests and marks change nothing.
            Some(pb::journal_entry::Input::StateDigest(_) | pb::journal_entry::Input::SnapshotMark(_)) => None,
            Some(pb::journal_entry::Input::Command(env)) => {
                let auth = self
                    .state
                    .authenticate(&env, true)
                    .map_err(|code| bad(format!("its command does not authenticate: {code}")))?;
                let outcome = outcome_to_pb(&self.state.apply(&auth));
                if outcome != stored {
                    return Err(bad(
                        "re-applying its command gives another outcome than the stored one".into()
                    ));
                }
                let command = pb::Command::decode(env.payload.as_slice()).map_err(|e| bad(e.to_string()))?;
                Some(AppliedEntry { seq, command, outcome })
            }
            _ => return Err(bad("a genesis or an empty entry after the first".into())),
        };
        self.last_hash = leaf_hash(raw);
        self.len += 1;
        Ok(applied)
    }

    /// Takes the writer's tree and checkpoint of a durable batch end that
    /// the replica has reached: the tree's last leaf must be the entry it
    /// applied last.
    pub fn adopt(&mut self, tree: MerkleTree, checkpoint: String) -> Result<(), Diverged> {
        let last = tree.len().checked_sub(1).and_then(|i| tree.leaf(i));
        if tree.len() != self.len || last != Some(self.last_hash) {
            return Err(Diverged {
                seq: self.len,
                why: format!(
                    "the writer's tree of {} entries does not end where the replica is",
                    tree.len()
                ),
            });
        }
        self.tree = tree;
        self.checkpoint = checkpoint;
        Ok(())
    }

    /// The state after the entries applied.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Entries applied: the journal length this replica's state is at.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Never true: a replica always holds the genesis.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The Merkle tree at the last batch end adopted (equal to `len` once
    /// the replica has caught up with a batch).
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// The signed checkpoint over [`Replica::tree`].
    pub fn checkpoint(&self) -> &str {
        &self.checkpoint
    }

    /// The ledger's identity.
    pub fn ledger_id(&self) -> [u8; 32] {
        self.state.ledger_id
    }

    /// The checkpoint origin (also the operator's key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::test_key;
    use crate::market_day::{parse_line, Line};
    use crate::replay::sign_command;
    use crate::snapshot::state_digest;
    use proptest::prelude::*;

    const DAY: &str = include_str!("../../tests/market-days/random-16-mixed.jsonl");

    /// A node holding the day's genesis, and the signed envelopes of the
    /// rest of the day in order (nonces as the file gives them).
    fn day() -> (tempfile::TempDir, Node, Vec<pb::SignedCommand>) {
        let dir = tempfile::tempdir().unwrap();
        let genesis = DAY.lines().next().unwrap();
        let node = crate::replay::replay(&format!("{genesis}\n"), dir.path()).unwrap().node;
        let lines = DAY.lines().skip(1);
        let id = node.ledger_id();
        let mut nonces = std::collections::BTreeMap::new();
        let envelopes = lines
            .filter_map(|line| match parse_line(line) {
                Line::Command { actor, mut body, .. } => {
                    if let pb::command::Body::CreateAccount(c) = &mut body {
                        if let Some(id) = &c.id {
                            c.public_key = Some(test_key(id).verifying_key().to_bytes().to_vec());
                        }
                    }
                    let nonce = nonces.entry(actor.clone()).or_insert(0u64);
                    *nonce += 1;
                    let cmd = pb::Command {
                        actor: Some(actor.clone()),
                        nonce: Some(*nonce),
                        body: Some(body),
                    };
                    Some(sign_command(&test_key(&actor), &id, &cmd))
                }
                _ => None,
            })
            .collect();
        (dir, node, envelopes)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// However the day is cut into batches, a replica fed each durable
        /// batch from the journal equals the writer's state after it, and
        /// adopts its tree.
        #[test]
        fn a_replica_equals_the_writer_after_every_batch(cuts in prop::collection::vec(1usize..40, 1..64)) {
            let (_dir, mut node, envelopes) = day();
            let mut replica = Replica::of(&node);
            let reader = node.journal().reader();
            let mut rest = envelopes.as_slice();
            let mut cut = cuts.iter().cycle();
            while !rest.is_empty() {
                let n = (*cut.next().unwrap()).min(rest.len());
                let batch: Vec<_> = rest[..n].iter().map(|e| (e.clone(), false)).collect();
                rest = &rest[n..];
                node.submit(batch).unwrap();
                for item in reader.range_raw(replica.len(), node.len()) {
                    let (seq, raw) = item.unwrap();
                    replica.apply(seq, &raw).unwrap();
                }
                replica.adopt(node.tree().clone(), node.checkpoint().to_string()).unwrap();
                prop_assert_eq!(replica.len(), node.len());
                prop_assert_eq!(state_digest(replica.state()), state_digest(node.state()));
                prop_assert_eq!(replica.tree().root(), node.tree().root());
            }
        }
    }

    #[test]
    fn a_replica_refuses_an_entry_out_of_order_or_altered() {
        let (_dir, mut node, envelopes) = day();
        let mut replica = Replica::of(&node);
        let batch: Vec<_> = envelopes[..3].iter().map(|e| (e.clone(), false)).collect();
        node.submit(batch).unwrap();
        let reader = node.journal().reader();
        let second = reader.raw(2).unwrap().unwrap();
        assert!(replica.apply(2, &second).is_err(), "entry 1 comes first");
        let mut first = reader.raw(1).unwrap().unwrap();
        *first.last_mut().unwrap() ^= 1;
        assert!(replica.apply(1, &first).is_err(), "altered bytes");
        // A stale tree is refused too.
        assert!(replica.adopt(node.tree().clone(), String::new()).is_err());
    }
}
