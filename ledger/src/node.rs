//! A ledger node: the state machine, its journal and its Merkle tree,
//! driven one batch at a time by the single sequencer.
//!
//! `submit` authenticates and applies each envelope in order, appends an
//! entry for every command that passed authentication (accepted, or
//! rejected with a code: its nonce is used up either way), signs a new
//! checkpoint and makes the whole batch durable with one flush. Only then
//! does it return, so an answer always means durable. A storage error is
//! fatal: the node refuses everything afterwards.

use std::path::Path;

use carbon_proto::v1 as pb;
use ed25519_dalek::SigningKey;
use prost::Message;

use crate::audit::{operator_key, rebuild, rebuild_from, RebuildError, Rebuilt};
use crate::checkpoint::Checkpoint;
use crate::code::Code;
use crate::journal::{Journal, StoreError};
use crate::merkle::{leaf_hash, Hash, MerkleTree};
use crate::snapshot::{self, Snapshots, DEFAULT_EVERY_ENTRIES};
use crate::state::{outcome_to_pb, Applied, State};

/// Most envelopes in one batch: bounds the sequencer's work per flush.
pub const MAX_BATCH: usize = 4096;

/// The answer to one envelope of a batch.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// Where the command sits in the journal; `None` when it was refused
    /// before sequencing (malformed, unknown actor, bad signature, replayed).
    pub seq: Option<u64>,
    pub result: Result<Applied, Code>,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
    #[error("{0}")]
    Genesis(String),
    #[error("the operator key does not match the genesis")]
    WrongOperatorKey,
    #[error("the ledger has failed and accepts nothing more: {0}")]
    Failed(String),
}

/// One ledger: state, journal, Merkle tree, checkpoint.
pub struct Node {
    state: State,
    journal: Journal,
    tree: MerkleTree,
    last_hash: Hash,
    origin: String,
    operator_key: SigningKey,
    checkpoint: String,
    failed: Option<String>,
    snapshots: Snapshots,
}

impl Node {
    /// Creates a new ledger in `dir` (which must hold no journal) from a genesis.
    pub fn create(dir: &Path, genesis: pb::Genesis, operator: SigningKey) -> Result<Node, NodeError> {
        let journal = Journal::open(dir)?;
        if !journal.is_empty()? {
            return Err(NodeError::Genesis(format!("{} already holds a ledger", dir.display())));
        }
        let state = State::from_genesis(&genesis).map_err(NodeError::Genesis)?;
        if operator_key(&genesis) != Some(operator.verifying_key()) {
            return Err(NodeError::WrongOperatorKey);
        }
        Checkpoint {
            origin: genesis.origin.clone(),
            tree_size: 0,
            root_hash: [0; 32],
        }
        .validate()
        .map_err(|e| NodeError::Genesis(format!("origin: {e}")))?;
        crate::checkpoint::validate_key_name(&genesis.origin)
            .map_err(|e| NodeError::Genesis(format!("origin: {e}")))?;
        let mut node = Node {
            state,
            journal,
            tree: MerkleTree::new(),
            last_hash: [0; 32],
            origin: genesis.origin.clone(),
            operator_key: operator,
            checkpoint: String::new(),
            failed: None,
            snapshots: Snapshots::new(dir, Some(DEFAULT_EVERY_ENTRIES), 0),
        };
        let entry = pb::JournalEntry {
            seq: 0,
            prev_hash: vec![0; 32],
            input: Some(pb::journal_entry::Input::Genesis(genesis)),
            outcome: Some(pb::Outcome {
                ok: true,
                ..Default::default()
            }),
        };
        node.append(entry)?;
        node.commit()?;
        Ok(node)
    }

    /// Opens an existing ledger: its state from the latest snapshot and
    /// the journal entries after it, or from the whole journal when there
    /// is no usable snapshot.
    pub fn open(dir: &Path, operator: SigningKey) -> Result<Node, NodeError> {
        let journal = Journal::open(dir)?;
        let (r, snapshot_size) = Self::rebuild(dir, &journal)?;
        if operator_key(&r.genesis) != Some(operator.verifying_key()) {
            return Err(NodeError::WrongOperatorKey);
        }
        journal.catch_up_alert_index()?;
        let checkpoint = r.checkpoint.map(|(note, _)| note).unwrap_or_default();
        let mut node = Node {
            state: r.state,
            journal,
            tree: r.tree,
            last_hash: r.last_hash,
            origin: r.genesis.origin,
            operator_key: operator,
            checkpoint,
            failed: None,
            snapshots: Snapshots::new(dir, Some(DEFAULT_EVERY_ENTRIES), snapshot_size),
        };
        // Entries past the stored checkpoint (none after a clean stop) get one now.
        if node.current_checkpoint_size() != Some(node.tree.len()) {
            node.commit()?;
        }
        Ok(node)
    }

    /// The state rebuilt, and the tree size of the snapshot it started from (0: none).
    fn rebuild(dir: &Path, journal: &Journal) -> Result<(Rebuilt, u64), NodeError> {
        let resume = match snapshot::load(dir, journal) {
            Ok(r) => r,
            Err(why) => {
                tracing::warn!("not using the snapshot ({why}): replaying the whole journal");
                None
            }
        };
        if let Some(resume) = resume {
            let size = resume.tree.len();
            match rebuild_from(journal, resume, |_| {}) {
                Ok(r) => {
                    tracing::info!(
                        "resumed from the snapshot at {size} entries; replayed {}",
                        r.tree.len() - size
                    );
                    return Ok((r, size));
                }
                Err(e) => tracing::warn!("the journal after the snapshot does not replay ({e}): replaying it whole"),
            }
        }
        Ok((rebuild(journal, false, |_| {})?, 0))
    }

    /// The tree size of the latest snapshot written or loaded (0: none);
    /// right after [`Node::open`], the one it started from.
    pub fn last_snapshot_size(&self) -> u64 {
        self.snapshots.last_size()
    }

    /// Sets how many entries pass between periodic snapshots (`None`: only
    /// [`Node::snapshot`]).
    pub fn set_snapshot_every(&mut self, entries: Option<u64>) {
        self.snapshots.set_every_entries(entries);
    }

    /// Writes a snapshot of the state now (at a clean stop), so that the
    /// next start replays nothing. A failure is reported but harms nothing:
    /// the journal is the ledger.
    pub fn snapshot(&mut self) -> std::io::Result<()> {
        if self.failed.is_some() {
            return Ok(()); // the state may hold effects that never became durable
        }
        self.snapshots.take_now(&self.state, &self.tree)
    }

    fn current_checkpoint_size(&self) -> Option<u64> {
        self.checkpoint.lines().nth(1).and_then(|l| l.parse().ok())
    }

    /// The state, read-only.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The journal, read-only.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The Merkle tree over all entries.
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// The latest signed checkpoint (C2SP signed note).
    pub fn checkpoint(&self) -> &str {
        &self.checkpoint
    }

    /// The checkpoint origin (also the operator's key name).
    /// The ledger's identity: the leaf hash of its genesis entry, to which
    /// read credentials are bound (`credential`).
    pub fn ledger_id(&self) -> [u8; 32] {
        self.tree.leaf(0).expect("a ledger has its genesis entry")
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of journal entries.
    pub fn len(&self) -> u64 {
        self.tree.len()
    }

    /// Never true: a node always holds its genesis.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    fn append(&mut self, entry: pb::JournalEntry) -> Result<u64, StoreError> {
        let seq = self.tree.len();
        debug_assert_eq!(entry.seq, seq);
        let bytes = entry.encode_to_vec();
        self.journal.append(seq, &bytes)?;
        self.last_hash = leaf_hash(&bytes);
        self.tree.push(self.last_hash);
        Ok(seq)
    }

    /// Signs a checkpoint over everything appended and flushes once.
    fn commit(&mut self) -> Result<(), StoreError> {
        let cp = Checkpoint {
            origin: self.origin.clone(),
            tree_size: self.tree.len(),
            root_hash: self.tree.root(),
        };
        self.checkpoint = cp.sign(&self.origin, &self.operator_key);
        self.journal.set_checkpoint(&self.checkpoint)?;
        self.journal.set_alerts_indexed(self.tree.len())?;
        self.journal.flush()?;
        // Only what is durable goes into a snapshot.
        self.snapshots.after_commit(&self.state, &self.tree);
        Ok(())
    }

    /// Sequences a batch: each envelope is authenticated (`signature_checked`
    /// says the caller already verified its signature against the actor's
    /// key) and applied in order; one flush makes the batch durable.
    pub fn submit(&mut self, batch: &[(pb::SignedCommand, bool)]) -> Result<Vec<Submitted>, NodeError> {
        if let Some(why) = &self.failed {
            return Err(NodeError::Failed(why.clone()));
        }
        assert!(batch.len() <= MAX_BATCH, "batches are bounded by the sequencer");
        let mut out = Vec::with_capacity(batch.len());
        let mut journalled = false;
        for (env, checked) in batch {
            let auth = match self.state.authenticate(env, *checked) {
                Ok(a) => a,
                Err(code) => {
                    out.push(Submitted {
                        seq: None,
                        result: Err(code),
                    });
                    continue;
                }
            };
            let result = self.state.apply(&auth);
            let entry = pb::JournalEntry {
                seq: self.tree.len(),
                prev_hash: self.last_hash.to_vec(),
                input: Some(pb::journal_entry::Input::Command(env.clone())),
                outcome: Some(outcome_to_pb(&result)),
            };
            if let Some(o) = &entry.outcome {
                self.journal.index_alerts(entry.seq, o).map_err(|e| self.fail(e))?;
            }
            let seq = self.append(entry).map_err(|e| self.fail(e))?;
            journalled = true;
            out.push(Submitted { seq: Some(seq), result });
        }
        if journalled {
            self.commit().map_err(|e| self.fail(e))?;
        }
        Ok(out)
    }

    fn fail(&mut self, e: StoreError) -> NodeError {
        let why = e.to_string();
        tracing::error!("storage failed, the ledger stops accepting commands: {why}");
        self.failed = Some(why.clone());
        NodeError::Failed(why)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::keys::test_key;
    use crate::market_day::{parse_line, Line};
    use crate::replay::{replay, sign_command};

    /// A generated day with every kind of command (from the conformance set).
    const DAY: &str = include_str!("../../tests/market-days/random-16-mixed.jsonl");

    /// The day's first `n` lines (the genesis among them).
    fn head(n: usize) -> String {
        DAY.lines().take(n).map(|l| format!("{l}\n")).collect()
    }

    /// Submits the day's lines after the first `n`, one batch each, signed
    /// with test keys and the next nonce of each actor; `after_each` sees
    /// the node after every batch.
    fn submit_rest(node: &mut Node, n: usize, mut after_each: impl FnMut(&Node)) {
        for line in DAY.lines().skip(n) {
            let Line::Command { actor, mut body, .. } = parse_line(line) else {
                continue;
            };
            if let pb::command::Body::CreateAccount(c) = &mut body {
                if let Some(id) = &c.id {
                    c.public_key = Some(test_key(id).verifying_key().to_bytes().to_vec());
                }
            }
            let Some(nonce) = node.state().account(&actor).map(|a| a.last_nonce + 1) else {
                continue;
            };
            let cmd = pb::Command {
                actor: Some(actor.clone()),
                nonce: Some(nonce),
                body: Some(body),
            };
            node.submit(&[(sign_command(&test_key(&actor), &cmd), false)]).unwrap();
            after_each(node);
        }
    }

    fn image(s: &State) -> Vec<u8> {
        postcard::to_allocvec(s).unwrap()
    }

    fn operator() -> SigningKey {
        test_key("ZJ-CEEX")
    }

    /// Opens `dir` and checks it against a replay of the whole journal;
    /// returns the snapshot size it started from.
    fn open_and_compare(dir: &Path) -> u64 {
        let full = {
            let journal = Journal::open(dir).unwrap();
            rebuild(&journal, false, |_| {}).unwrap()
        };
        let node = Node::open(dir, operator()).unwrap();
        assert_eq!(image(node.state()), image(&full.state), "the resumed state differs");
        assert_eq!(node.tree(), &full.tree);
        assert_eq!(node.last_hash, full.last_hash);
        node.last_snapshot_size()
    }

    fn ledger_with_snapshot(dir: &Path, lines: usize) -> u64 {
        let mut r = replay(&head(lines), dir).unwrap();
        r.node.snapshot().unwrap();
        r.node.len()
    }

    #[test]
    fn a_restart_resumes_from_the_snapshot_and_replays_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let at = ledger_with_snapshot(dir.path(), 250);
        assert_eq!(open_and_compare(dir.path()), at);
        {
            let mut node = Node::open(dir.path(), operator()).unwrap();
            submit_rest(&mut node, 250, |_| {});
            assert!(node.len() > at + 100);
        }
        assert_eq!(
            open_and_compare(dir.path()),
            at,
            "resumed at the old snapshot, then the tail"
        );
    }

    #[test]
    fn periodic_snapshots_follow_commits() {
        let dir = tempfile::tempdir().unwrap();
        replay(&head(50), dir.path()).unwrap();
        let first;
        {
            let mut node = Node::open(dir.path(), operator()).unwrap();
            assert_eq!(node.last_snapshot_size(), 0, "replay() takes no snapshot by itself");
            first = node.len();
            node.set_snapshot_every(Some(40));
            let mut sizes = vec![0];
            submit_rest(&mut node, 50, |node| {
                if node.last_snapshot_size() != *sizes.last().unwrap() {
                    sizes.push(node.last_snapshot_size());
                }
            });
            // Each one at least 40 entries after the one before.
            assert!(sizes.len() > 2, "{sizes:?}");
            assert!(sizes.windows(2).all(|w| w[1] >= w[0] + 40), "{sizes:?}");
        }
        let at = open_and_compare(dir.path());
        assert!(at >= first + 40, "a periodic snapshot was written ({at})");
    }

    /// A disk that refuses snapshots costs one attempt per interval, not
    /// one encoding per commit, and the ledger goes on.
    #[test]
    fn a_failing_snapshot_is_retried_only_after_the_interval() {
        let dir = tempfile::tempdir().unwrap();
        replay(&head(50), dir.path()).unwrap();
        // A folder where the leaves file should be: every write fails.
        std::fs::create_dir(dir.path().join("leaves.snapshot")).unwrap();
        let mut node = Node::open(dir.path(), operator()).unwrap();
        node.set_snapshot_every(Some(40));
        let mut starts = vec![0];
        submit_rest(&mut node, 50, |node| {
            let started = node.snapshots.last_started();
            if started != *starts.last().unwrap() {
                starts.push(started);
            }
        });
        assert_eq!(node.last_snapshot_size(), 0, "no snapshot could be written");
        assert!(starts.len() > 2, "{starts:?}");
        assert!(starts.windows(2).all(|w| w[1] >= w[0] + 40), "{starts:?}");
    }

    #[test]
    fn an_unusable_snapshot_is_ignored() {
        type Spoil = fn(&Path);
        let spoilers: [(&str, &str, Spoil); 5] = [
            ("a flipped byte", "checksum", |d| {
                let p = d.join("state.snapshot");
                let mut b = std::fs::read(&p).unwrap();
                let mid = b.len() / 2;
                b[mid] ^= 1;
                std::fs::write(p, b).unwrap();
            }),
            ("another build's snapshot (a valid checksum)", "another build", |d| {
                use sha2::{Digest, Sha256};
                let p = d.join("state.snapshot");
                let mut b = std::fs::read(&p).unwrap();
                let code_id_at = b"carbon-ledger snapshot v1\n".len();
                assert_eq!(b[code_id_at..code_id_at + 32], crate::snapshot::code_id());
                b[code_id_at] ^= 1;
                let body_end = b.len() - 32;
                let sum = Sha256::digest(&b[..body_end]);
                b[body_end..].copy_from_slice(&sum);
                std::fs::write(p, b).unwrap();
            }),
            ("truncated leaves", "fewer than", |d| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("leaves.snapshot"))
                    .unwrap();
                f.set_len(64).unwrap();
            }),
            ("a changed leaf", "Merkle root", |d| {
                let p = d.join("leaves.snapshot");
                let mut b = std::fs::read(&p).unwrap();
                b[40] ^= 1;
                std::fs::write(p, b).unwrap();
            }),
            (
                "another ledger's snapshot",
                "not the one the snapshot was taken after",
                |d| {
                    let other = tempfile::tempdir().unwrap();
                    let day: String = include_str!("../../tests/market-days/random-17-mixed.jsonl")
                        .lines()
                        .take(60)
                        .map(|l| format!("{l}\n"))
                        .collect();
                    replay(&day, other.path()).unwrap().node.snapshot().unwrap();
                    for f in ["state.snapshot", "leaves.snapshot"] {
                        std::fs::copy(other.path().join(f), d.join(f)).unwrap();
                    }
                },
            ),
        ];
        for (what, why, spoil) in spoilers {
            let dir = tempfile::tempdir().unwrap();
            ledger_with_snapshot(dir.path(), 100);
            spoil(dir.path());
            {
                let journal = Journal::open(dir.path()).unwrap();
                let refused = snapshot::load(dir.path(), &journal).err().unwrap_or_default();
                assert!(refused.contains(why), "{what}: refused with {refused:?}");
            }
            assert_eq!(open_and_compare(dir.path()), 0, "{what}: replayed from the genesis");
        }
    }

    #[test]
    fn a_snapshot_ahead_of_the_journal_is_ignored() {
        // A snapshot of a longer ledger, copied beside a shorter copy of it.
        let long = tempfile::tempdir().unwrap();
        ledger_with_snapshot(long.path(), 200);
        let short = tempfile::tempdir().unwrap();
        ledger_with_snapshot(short.path(), 100);
        for f in ["state.snapshot", "leaves.snapshot"] {
            std::fs::copy(long.path().join(f), short.path().join(f)).unwrap();
        }
        assert_eq!(open_and_compare(short.path()), 0);
    }
}
