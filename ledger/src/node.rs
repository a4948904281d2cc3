//! A ledger node: the state machine, its journal and its Merkle tree,
//! driven one batch at a time by the single sequencer.
//!
//! `submit` authenticates and applies each envelope in order, appends an
//! entry for every command that passed authentication (accepted, or
//! rejected with a code: its nonce is used up either way), signs a new
//! checkpoint and makes the whole batch durable with one flush. Only then
//! does it return, so an answer always means durable. A storage error is
//! fatal: the node refuses everything afterwards.
//!
//! When a periodic [snapshot](crate::snapshot) falls due, the node appends
//! a `SnapshotMark` entry and, once it is durable, hands the position to
//! an encoder, a replica of the state that follows the journal (a thread of
//! the node's own, or the server's read view): the sequencer never encodes. When
//! the encoding is done the node appends a `StateDigest` entry recording
//! its SHA-256 for the mark's position, signs and flushes as usual, and
//! only then writes the snapshot. A snapshot asked for (at a clean stop)
//! is encoded on the caller's thread and ends at its own digest entry.
//! Either way a snapshot is loaded only under a durable, signed digest,
//! which is what lets [`Node::open`] refuse an altered one.

use std::path::Path;

use carbon_proto::v1 as pb;
use ed25519_dalek::SigningKey;
use prost::Message;

use crate::audit::{operator_key, rebuild, rebuild_from, RebuildError, Rebuilt};
use crate::checkpoint::Checkpoint;
use crate::code::Code;
use crate::journal::{Journal, StoreError};
use crate::merkle::{leaf_hash, Hash, MerkleTree};
use crate::replica::Replica;
use crate::snapshot::{self, digest_entry, mark_entry, EncodedState, Snapshots, DEFAULT_EVERY_ENTRIES};
use crate::state::{outcome_to_pb, Applied, State};

/// Most envelopes in one batch: bounds the sequencer's work per flush.
pub const MAX_BATCH: usize = 4096;

/// A replicated ledger's consensus position for the journal length it is
/// given: the bytes [`Node::submit_marked`] stores with a batch.
pub type Marker = Box<dyn FnOnce(u64) -> Vec<u8> + Send>;

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
    #[error("a replicated snapshot was refused: {0}")]
    SnapshotRefused(String),
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
    /// Envelopes handed to `submit` without a verified signature, whose
    /// signature the sequencer had to check (a gauge of sequencer time spent
    /// on signatures; the service verifies on its handlers).
    unchecked_envelopes: u64,
    /// Bytes of the journal entries this node appended (since it was
    /// created or opened), for the operator's metrics.
    appended_bytes: u64,
    snapshots: Snapshots,
    /// Why [`Node::open`] did not resume from the snapshot beside the
    /// journal, when there was one.
    snapshot_refused: Option<String>,
    /// A replicated ledger's consensus position, made durable with the
    /// next flush ([`Node::submit_marked`]): given the journal length, it
    /// gives the bytes to store.
    marker: Option<Marker>,
    /// [`Node::defer_indexes`]: batches are journalled without their index
    /// entries and the indexes' watermark is left behind.
    indexes_deferred: bool,
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
            unchecked_envelopes: 0,
            appended_bytes: 0,
            snapshots: Snapshots::new(dir, Some(DEFAULT_EVERY_ENTRIES), 0),
            snapshot_refused: None,
            marker: None,
            indexes_deferred: false,
        };
        node.append(crate::state::genesis_entry(&genesis))?;
        node.commit()?;
        debug_assert_eq!(node.tree.leaf(0), Some(node.state.ledger_id));
        node.snapshots.seed(Replica::of(&node), node.journal.reader());
        Ok(node)
    }

    /// Opens an existing ledger: its state from the latest snapshot and
    /// the journal entries after it, or from the whole journal when there
    /// is no usable snapshot.
    pub fn open(dir: &Path, operator: SigningKey) -> Result<Node, NodeError> {
        Node::open_with_progress(dir, operator, |_, _| {})
    }

    /// [`Node::open`], calling `progress(done, total)` after each journal
    /// entry replayed: `done` entries of the journal's `total` are in the
    /// state (those of a snapshot count as done from the first call). Called
    /// once per entry, on this thread: a caller that draws or logs keeps
    /// its own pace.
    pub fn open_with_progress(
        dir: &Path,
        operator: SigningKey,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Node, NodeError> {
        let journal = Journal::open(dir)?;
        let total = journal.len()?;
        let (r, snapshot_size, snapshot_refused) = Self::rebuild(dir, &journal, &mut |seq| progress(seq + 1, total))?;
        if operator_key(&r.genesis) != Some(operator.verifying_key()) {
            return Err(NodeError::WrongOperatorKey);
        }
        journal.catch_up_indexes()?;
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
            unchecked_envelopes: 0,
            appended_bytes: 0,
            snapshots: Snapshots::new(dir, Some(DEFAULT_EVERY_ENTRIES), snapshot_size),
            snapshot_refused,
            marker: None,
            indexes_deferred: false,
        };
        // Entries past the stored checkpoint (none after a clean stop) get one now.
        if node.current_checkpoint_size() != Some(node.tree.len()) {
            node.commit()?;
        }
        node.snapshots.seed(Replica::of(&node), node.journal.reader());
        Ok(node)
    }

    /// The state rebuilt, the tree size of the snapshot it started from (0:
    /// none), and why a snapshot that was there was not used.
    /// `progress` gets the sequence number of each entry replayed.
    fn rebuild(
        dir: &Path,
        journal: &Journal,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(Rebuilt, u64, Option<String>), NodeError> {
        let refused = match snapshot::load(dir, journal) {
            Ok(None) => None,
            Ok(Some(resume)) => {
                let (size, digest_seq) = (resume.tree.len(), resume.digest_seq);
                match rebuild_from(journal, resume, &mut *progress) {
                    // Its digest entry (entry `size - 1`) must be under the
                    // operator's signature: the node signs the batch that
                    // records a digest before it writes the snapshot, so an
                    // older checkpoint put back is all that could fail this.
                    Ok(r) => match r.checkpoint.as_ref().map(|(_, cp)| cp.tree_size) {
                        Some(signed) if signed > digest_seq => {
                            tracing::info!(
                                "resumed from the snapshot at {size} entries; replayed {}",
                                r.tree.len() - size
                            );
                            return Ok((r, size, None));
                        }
                        signed => Some(format!(
                            "no signed checkpoint covers its digest entry {digest_seq} (the stored one covers \
                             {} entries, the snapshot {size})",
                            signed.unwrap_or(0)
                        )),
                    },
                    Err(e) => Some(format!("the journal after it does not replay: {e}")),
                }
            }
            Err(why) => Some(why),
        };
        if let Some(why) = &refused {
            tracing::warn!("not using the snapshot ({why}): replaying the whole journal");
        }
        Ok((rebuild(journal, false, progress)?, 0, refused))
    }

    /// Why [`Node::open`] replayed the whole journal instead of resuming
    /// from the snapshot beside it (`None`: it resumed, or there was none).
    /// Also logged as a warning.
    pub fn snapshot_refused(&self) -> Option<&str> {
        self.snapshot_refused.as_deref()
    }

    /// The tree size of the latest snapshot written or loaded (0: none);
    /// right after [`Node::open`], the one it started from.
    pub fn last_snapshot_size(&self) -> u64 {
        self.snapshots.last_size()
    }

    /// Sets how many entries pass between periodic snapshots (`None`: only
    /// [`Node::snapshot`]). Without periodic snapshots the encoder thread
    /// and its replica (a copy of the state, and an application of every
    /// command) are not needed: they stop, and start again from this
    /// node's state if periodic snapshots are turned back on.
    pub fn set_snapshot_every(&mut self, entries: Option<u64>) {
        self.snapshots.set_every_entries(entries);
        match entries {
            None => self.snapshots.stop_encoder(),
            Some(_) if !self.snapshots.has_encoder() => self.snapshots.seed(Replica::of(self), self.journal.reader()),
            Some(_) => {}
        }
    }

    /// Whether periodic snapshots are taken (and so encoded off this
    /// thread by an encoder).
    pub fn takes_periodic_snapshots(&self) -> bool {
        self.snapshots.has_encoder()
    }

    /// Periodic snapshots are encoded by `source` from now on, a replica
    /// the caller already keeps (the server's read view), instead of the
    /// node's own encoder thread and its copy of the state, which are
    /// dropped.
    pub fn encode_snapshots_with(&mut self, source: Box<dyn crate::snapshot::EncodeAt>) {
        self.snapshots.encode_with(source);
    }

    /// Stops indexing commands and alerts as they are journalled, for a
    /// job that writes a whole ledger at once and reads no index
    /// (`carbon replay`): the command index is a B-tree insert a command,
    /// as costly as the entry's own. The indexes' watermark stays where it
    /// was, so they are rebuilt from the journal by
    /// [`Node::index_deferred`] or at the next [`Node::open`], the way a
    /// ledger whose indexes fell behind is; nothing that reads them can
    /// see a partial index as complete.
    pub fn defer_indexes(&mut self) {
        self.indexes_deferred = true;
    }

    /// Indexes what [`Node::defer_indexes`] left out, flushes, and indexes
    /// each batch again from then on.
    pub fn index_deferred(&mut self) -> Result<(), NodeError> {
        self.indexes_deferred = false;
        self.journal.catch_up_indexes().map_err(|e| self.fail(e))
    }

    /// Writes a snapshot of the state now (at a clean stop), so that the
    /// next start replays nothing: its digest entry is appended and
    /// committed first (one more journal entry, unless the last snapshot is
    /// already at the journal's end). A failure to write the snapshot is
    /// reported but harms nothing: the journal is the ledger. A failure to
    /// commit the digest is a storage failure like any other: the node stops.
    pub fn snapshot(&mut self) -> std::io::Result<()> {
        if self.failed.is_some() {
            return Ok(()); // the state may hold effects that never became durable
        }
        // A periodic one being encoded: record its digest (so that its mark
        // is checked by audits) but write only this one.
        if let Some((tree, encoded)) = self.snapshots.take_encoded(true) {
            let (seq, prev) = (self.tree.len(), self.last_hash);
            self.append(digest_entry(seq, prev, tree.len(), encoded.digest()))
                .map_err(|e| std::io::Error::other(self.fail(e)))?;
        }
        self.snapshots.wait();
        if self.tree.len() == self.snapshots.last_size() {
            return Ok(());
        }
        let recorded = self.record_state().and_then(|encoded| {
            self.seal()?;
            Ok(encoded)
        });
        let encoded = recorded.map_err(|e| std::io::Error::other(self.fail(e)))?;
        self.snapshots.write_now(encoded, &self.tree)
    }

    /// Encodes the state for a snapshot and appends the entry that records
    /// its digest (durable with the next flush).
    fn record_state(&mut self) -> Result<EncodedState, StoreError> {
        let encoded = self.snapshots.encode(&self.state);
        let seq = self.tree.len();
        self.append(digest_entry(seq, self.last_hash, seq, encoded.digest()))?;
        Ok(encoded)
    }

    /// Sets what the encoding thread calls once a periodic snapshot is
    /// encoded (from that thread): the sequencer uses it to wake up and
    /// call [`Node::record_encoded_snapshot`] even when no command comes.
    pub fn on_snapshot_encoded(&mut self, f: std::sync::Arc<dyn Fn() + Send + Sync>) {
        self.snapshots.on_encoded(f);
    }

    /// Records the digest of a periodic snapshot whose encoding is done
    /// (one entry, signed and flushed) and starts writing it; does nothing
    /// if none is ready.
    pub fn record_encoded_snapshot(&mut self) -> Result<(), NodeError> {
        if let Some(why) = &self.failed {
            return Err(NodeError::Failed(why.clone()));
        }
        if self.snapshots.encoded_ready() {
            self.commit().map_err(|e| self.fail(e))?;
        }
        Ok(())
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

    /// The ledger's identity: the leaf hash of its genesis entry, to which
    /// read credentials are bound (`credential`).
    pub fn ledger_id(&self) -> [u8; 32] {
        self.state.ledger_id
    }

    /// The checkpoint origin (also the operator's key name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of journal entries.
    pub fn len(&self) -> u64 {
        self.tree.len()
    }

    /// How many envelopes reached `submit` with an unchecked signature.
    pub fn unchecked_envelopes(&self) -> u64 {
        self.unchecked_envelopes
    }

    /// Bytes of the journal entries appended since the node was created or
    /// opened (their encoded size, not sled's space on disk).
    pub fn appended_bytes(&self) -> u64 {
        self.appended_bytes
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
        self.appended_bytes += bytes.len() as u64;
        self.last_hash = leaf_hash(&bytes);
        self.tree.push(self.last_hash);
        Ok(seq)
    }

    /// Ends a batch: records the digest of a snapshot encoded since the
    /// last one, marks the position of a snapshot now due, signs a
    /// checkpoint over everything appended and flushes once; then writes
    /// the encoded snapshot and starts encoding the marked one, both now
    /// durable.
    fn commit(&mut self) -> Result<(), StoreError> {
        let encoded = match self.snapshots.take_encoded(false) {
            Some((tree, encoded)) => {
                let (seq, prev) = (self.tree.len(), self.last_hash);
                self.append(digest_entry(seq, prev, tree.len(), encoded.digest()))?;
                Some((tree, encoded, seq))
            }
            None => None,
        };
        let marked = self.snapshots.due(self.tree.len());
        if marked {
            self.append(mark_entry(self.tree.len(), self.last_hash))?;
        }
        self.seal()?;
        // Only what is durable goes into a snapshot.
        if let Some((tree, encoded, digest_seq)) = encoded {
            self.snapshots.start(encoded, &tree, digest_seq);
        }
        if marked {
            self.snapshots.start_encoding(self.tree.clone());
        } else {
            self.snapshots.follow(self.tree.len());
        }
        Ok(())
    }

    /// Signs a checkpoint over everything appended and flushes once.
    fn seal(&mut self) -> Result<(), StoreError> {
        let cp = Checkpoint {
            origin: self.origin.clone(),
            tree_size: self.tree.len(),
            root_hash: self.tree.root(),
        };
        self.checkpoint = cp.sign(&self.origin, &self.operator_key);
        self.journal.set_checkpoint(&self.checkpoint)?;
        if !self.indexes_deferred {
            self.journal.set_indexed(self.tree.len())?;
        }
        if let Some(marker) = self.marker.take() {
            self.journal.set_replicated(&marker(self.tree.len()))?;
        }
        self.journal.flush()
    }

    /// Sequences a batch: each envelope is authenticated (`signature_checked`
    /// says the caller already verified its signature against the actor's
    /// key) and applied in order; one flush makes the batch durable. The
    /// envelopes move into their journal entries (taken by value: a copy
    /// each would be a tenth of a replay's node thread).
    pub fn submit(&mut self, batch: Vec<(pb::SignedCommand, bool)>) -> Result<Vec<Submitted>, NodeError> {
        if let Some(why) = &self.failed {
            return Err(NodeError::Failed(why.clone()));
        }
        assert!(batch.len() <= MAX_BATCH, "batches are bounded by the sequencer");
        let mut out = Vec::with_capacity(batch.len());
        let mut journalled = false;
        for (env, checked) in batch {
            self.unchecked_envelopes += u64::from(!checked);
            let auth = match self.state.authenticate(&env, checked) {
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
                input: Some(pb::journal_entry::Input::Command(env)),
                outcome: Some(outcome_to_pb(&result)),
            };
            if !self.indexes_deferred {
                let actor = &self.state.accounts[auth.actor as usize].id;
                let indexed =
                    self.journal
                        .index_command(actor, auth.nonce, entry.seq)
                        .and_then(|()| match &entry.outcome {
                            Some(o) => self.journal.index_alerts(entry.seq, o),
                            None => Ok(()),
                        });
                indexed.map_err(|e| self.fail(e))?;
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

    /// A replicated ledger's [`Node::submit`]: the same sequencing, and
    /// `marker` (the consensus position this batch brings the ledger to) is
    /// made durable by the same flush, written after the entries, so that
    /// a marker on disk never names entries that are not (a batch whose
    /// envelopes are all refused before sequencing still flushes it).
    pub fn submit_marked(
        &mut self,
        batch: Vec<(pb::SignedCommand, bool)>,
        marker: Marker,
    ) -> Result<Vec<Submitted>, NodeError> {
        self.marker = Some(marker);
        let out = self.submit(batch);
        if let Some(marker) = self.marker.take() {
            // Nothing was journalled: no commit carried the marker.
            let bytes = marker(self.tree.len());
            let stored = self.journal.set_replicated(&bytes).and_then(|()| self.journal.flush());
            stored.map_err(|e| self.fail(e))?;
        }
        out
    }

    /// The state's image (the snapshot encoding, postcard) and the journal
    /// length it is the state after: what a replicated ledger sends a
    /// member that is too far behind for its consensus log.
    pub fn image(&self) -> (u64, Vec<u8>) {
        let bytes = postcard::to_allocvec(&self.state).expect("the state always encodes");
        (self.len(), bytes)
    }

    /// Installs a replicated snapshot: the whole journal up to some length
    /// (`entries[i]` is entry `i`, raw) and the state after it, encoded by
    /// [`Node::image`] on another member. Entries this node lacks are
    /// appended after checking that they extend its own journal (the one
    /// before them is the same, and each chains to the one before); the
    /// state replaces this node's. A snapshot no longer than this journal
    /// changes nothing but the marker (its entries are a prefix of this
    /// journal's: checked), since this node's state is already beyond it.
    /// One flush, with `marker`.
    pub fn install(&mut self, entries: &[Vec<u8>], state: &[u8], marker: Marker) -> Result<(), NodeError> {
        if let Some(why) = &self.failed {
            return Err(NodeError::Failed(why.clone()));
        }
        let refuse = |why: String| Err(NodeError::SnapshotRefused(why));
        let (n, local) = (entries.len() as u64, self.len());
        let Some(last) = n.checked_sub(1) else {
            return refuse("it holds no entry".into());
        };
        let common = n.min(local) - 1;
        if Some(leaf_hash(&entries[common as usize])) != self.tree.leaf(common) {
            return refuse(format!("its entry {common} is not this journal's"));
        }
        if n <= local {
            self.marker = Some(marker);
            return self.seal().map_err(|e| self.fail(e));
        }
        let state: State =
            postcard::from_bytes(state).map_err(|e| NodeError::SnapshotRefused(format!("its state: {e}")))?;
        if state.ledger_id != self.state.ledger_id {
            return refuse("its state is another ledger's".into());
        }
        // Every new entry checked before any is written: a refusal changes nothing.
        let mut prev = self.last_hash;
        let mut leaves = Vec::with_capacity((n - local) as usize);
        for seq in local..n {
            let raw = &entries[seq as usize];
            let entry =
                pb::JournalEntry::decode(raw.as_slice()).map_err(|e| NodeError::SnapshotRefused(e.to_string()))?;
            if entry.seq != seq || entry.prev_hash != prev {
                return refuse(format!("its entry {seq} does not chain to the one before"));
            }
            prev = leaf_hash(raw);
            leaves.push(prev);
        }
        for (seq, leaf) in (local..n).zip(leaves) {
            let raw = &entries[seq as usize];
            self.journal.append(seq, raw).map_err(|e| self.fail(e))?;
            self.appended_bytes += raw.len() as u64;
            self.last_hash = leaf;
            self.tree.push(leaf);
        }
        debug_assert_eq!(self.tree.len(), last + 1);
        self.state = state;
        self.journal.catch_up_indexes().map_err(|e| self.fail(e))?;
        self.marker = Some(marker);
        self.seal().map_err(|e| self.fail(e))
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
            let id = node.ledger_id();
            node.submit(vec![(sign_command(&test_key(&actor), &id, &cmd), false)])
                .unwrap();
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

    /// Opens `dir` with progress; returns every `(done, total)` reported.
    fn progress_of_open(dir: &Path) -> (Node, Vec<(u64, u64)>) {
        let mut calls = Vec::new();
        let node = Node::open_with_progress(dir, operator(), |done, total| calls.push((done, total))).unwrap();
        (node, calls)
    }

    #[test]
    fn open_reports_each_entry_replayed_up_to_the_journal_length() {
        let dir = tempfile::tempdir().unwrap();
        let len = replay(&head(120), dir.path()).unwrap().node.len();
        let (node, calls) = progress_of_open(dir.path());
        assert_eq!(node.len(), len);
        let expected: Vec<(u64, u64)> = (1..=len).map(|done| (done, len)).collect();
        assert_eq!(calls, expected, "every entry, from the genesis on");

        // From a snapshot, only the tail is replayed, counted from it.
        drop(node);
        let dir = tempfile::tempdir().unwrap();
        let at = ledger_with_snapshot(dir.path(), 100);
        {
            let mut node = Node::open(dir.path(), operator()).unwrap();
            submit_rest(&mut node, 100, |_| {});
        }
        let (node, calls) = progress_of_open(dir.path());
        let len = node.len();
        assert!(len > at + 50);
        let expected: Vec<(u64, u64)> = (at + 1..=len).map(|done| (done, len)).collect();
        assert_eq!(calls, expected, "the tail after the snapshot at {at}");
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

    /// Turned off, periodic snapshots stop their encoder (a replay's node
    /// has none); turned on again, a new one starts from the node's state.
    #[test]
    fn periodic_snapshots_turned_on_again_start_a_new_encoder() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = replay(&head(50), dir.path()).unwrap();
        assert!(!r.node.snapshots.has_encoder(), "a replay takes no periodic snapshot");
        r.node.set_snapshot_every(Some(40));
        assert!(r.node.snapshots.has_encoder());
        let start = r.node.len();
        submit_rest(&mut r.node, 50, |_| {});
        assert!(
            r.node.last_snapshot_size() >= start + 40,
            "{}",
            r.node.last_snapshot_size()
        );
        drop(r);
        open_and_compare(dir.path());
    }

    /// Every journalled command's (actor, nonce) and sequence number.
    fn journalled_commands(node: &Node) -> Vec<(String, u64, u64)> {
        node.journal()
            .iter(0)
            .filter_map(|r| {
                let (_, e) = r.unwrap();
                let seq = e.seq;
                let Some(pb::journal_entry::Input::Command(env)) = e.input else {
                    return None;
                };
                let c = pb::Command::decode(env.payload.as_slice()).unwrap();
                Some((c.actor?, c.nonce?, seq))
            })
            .collect()
    }

    /// A replay defers its indexes; nothing can read them as complete
    /// before they are built, by `index_deferred` or at the next open.
    #[test]
    fn deferred_indexes_are_built_before_they_are_read() {
        for build_at_open in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let mut r = replay(&head(250), dir.path()).unwrap();
            let commands = journalled_commands(&r.node);
            assert!(commands.len() > 100);
            assert_eq!(r.node.journal().indexed().unwrap(), 1, "only the genesis is indexed");
            assert!(commands
                .iter()
                .all(|(a, n, _)| r.node.journal().reader().command(a, *n).unwrap().is_none()));
            let node = if build_at_open {
                drop(r);
                Node::open(dir.path(), operator()).unwrap()
            } else {
                r.node.index_deferred().unwrap();
                r.node
            };
            assert_eq!(node.journal().indexed().unwrap(), node.len());
            for (actor, nonce, seq) in &commands {
                assert_eq!(node.journal().reader().command(actor, *nonce).unwrap(), Some(*seq));
            }
        }
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
        let spoilers: [(&str, &str, Spoil); 6] = [
            (
                "an edited state (a valid checksum)",
                "does not hash to the digest",
                |d| {
                    let mut p = crate::snapshot::forge::read(d);
                    move_cash(&mut p.state);
                    crate::snapshot::forge::write(d, &p);
                },
            ),
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
                let code_id_at = b"carbon-ledger snapshot v2\n".len();
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

    /// Moves half the cash of the richest account to another: an edit that
    /// keeps every invariant (nothing but the digest can tell).
    fn move_cash(state: &mut State) {
        let rich = (0..state.accounts.len())
            .max_by_key(|&i| state.accounts[i].cash_available)
            .unwrap();
        let other = (rich + 1) % state.accounts.len();
        let half = state.accounts[rich].cash_available / 2;
        assert!(half > 0);
        state.accounts[rich].cash_available -= half;
        state.accounts[other].cash_available += half;
    }

    /// A snapshot ends at its own `StateDigest` entry, and the digest is
    /// that of the state the snapshot holds (and of the state the journal
    /// gives there).
    #[test]
    fn a_snapshot_ends_at_the_digest_of_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let n = ledger_with_snapshot(dir.path(), 100);
        let journal = Journal::open(dir.path()).unwrap();
        let last = pb::JournalEntry::decode(journal.raw(n - 1).unwrap().unwrap().as_slice()).unwrap();
        let Some(pb::journal_entry::Input::StateDigest(d)) = last.input else {
            panic!("entry {} is not a state digest: {last:?}", n - 1)
        };
        assert_eq!(d.tree_size, n - 1);
        assert_eq!(d.code_id, crate::snapshot::code_id().to_vec());
        let snap = crate::snapshot::forge::read(dir.path());
        assert_eq!(snap.tree_size, n);
        use sha2::{Digest, Sha256};
        assert_eq!(d.sha256, Sha256::digest(image(&snap.state)).to_vec());
        let full = rebuild(&journal, true, |_| {}).unwrap();
        assert_eq!(d.sha256, crate::snapshot::state_digest(&full.state).to_vec());
        assert_eq!((full.digests_checked, full.digests_of_other_builds), (1, 0));
        drop(journal);
        // A second stop at the same place adds nothing.
        let mut node = Node::open(dir.path(), operator()).unwrap();
        assert_eq!(node.last_snapshot_size(), n);
        node.snapshot().unwrap();
        assert_eq!(node.len(), n, "no second digest entry");
    }

    /// A periodic snapshot is marked, encoded on another thread from the
    /// encoder's replica, its digest recorded by a later commit and only
    /// then written; a restart resumes from it, and the audit checks the
    /// digest recorded after the mark against the state at the mark.
    #[test]
    fn a_periodic_snapshot_is_encoded_off_the_writer_and_resumed_from() {
        let dir = tempfile::tempdir().unwrap();
        let (size, digest_seq) = {
            let mut node = replay(&head(1), dir.path()).unwrap().node;
            node.set_snapshot_every(Some(120));
            submit_rest(&mut node, 1, |_| {});
            while node.snapshots.encoding() && !node.snapshots.encoded_ready() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            node.record_encoded_snapshot().unwrap();
            node.snapshots.wait();
            let p = crate::snapshot::forge::read(dir.path());
            (p.tree_size, p.digest_seq)
        };
        assert!(size >= 120, "a periodic snapshot was written (at {size})");
        assert!(digest_seq >= size, "its digest comes after its mark");
        let journal = Journal::open(dir.path()).unwrap();
        let entry = |seq: u64| pb::JournalEntry::decode(journal.raw(seq).unwrap().unwrap().as_slice()).unwrap();
        assert!(matches!(
            entry(size - 1).input,
            Some(pb::journal_entry::Input::SnapshotMark(_))
        ));
        let Some(pb::journal_entry::Input::StateDigest(d)) = entry(digest_seq).input else {
            panic!("entry {digest_seq} is not the digest")
        };
        assert_eq!(d.tree_size, size);
        let full = rebuild(&journal, true, |_| {}).unwrap();
        assert!(full.digests_checked >= 1, "the deferred digests are checked");
        drop(journal);
        assert_eq!(open_and_compare(dir.path()), size, "resumed from the periodic snapshot");
    }

    /// A digest recorded after a mark that does not match the state at the
    /// mark is named by the audit, as is one for a position with no mark.
    #[test]
    fn the_audit_checks_a_deferred_digest_against_its_mark() {
        for (what, edit, why) in [
            (
                "a wrong digest",
                (|d: &mut pb::StateDigest| d.sha256[0] ^= 1) as fn(&mut pb::StateDigest),
                "not the digest",
            ),
            (
                "no mark there",
                |d: &mut pb::StateDigest| d.tree_size -= 1,
                "no snapshot mark stands",
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let digest_seq = {
                let mut node = replay(&head(1), dir.path()).unwrap().node;
                node.set_snapshot_every(Some(120));
                // Each batch waits for the encoding in flight, so that every
                // mark gets its digest at the next commit.
                submit_rest(&mut node, 1, |n| {
                    while n.snapshots.encoding() && !n.snapshots.encoded_ready() {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                });
                // The last digest entry recorded after a mark.
                let journal = node.journal();
                (1..node.len())
                    .rev()
                    .find(|&seq| {
                        let e = pb::JournalEntry::decode(journal.raw(seq).unwrap().unwrap().as_slice()).unwrap();
                        matches!(e.input, Some(pb::journal_entry::Input::StateDigest(d)) if d.tree_size < seq)
                    })
                    .expect("a deferred digest")
            };
            let journal = Journal::open(dir.path()).unwrap();
            let mut e = pb::JournalEntry::decode(journal.raw(digest_seq).unwrap().unwrap().as_slice()).unwrap();
            let Some(pb::journal_entry::Input::StateDigest(d)) = &mut e.input else {
                panic!("no digest at the end")
            };
            edit(d);
            journal.tamper_raw(digest_seq, Some(&e.encode_to_vec())).unwrap();
            match rebuild(&journal, false, |_| {}) {
                Err(RebuildError::Mismatch(m)) => {
                    assert_eq!(m.seq, digest_seq, "{what}");
                    assert!(m.what.contains(why), "{what}: {m}");
                }
                Err(e) => panic!("{what}: {e}"),
                Ok(_) => panic!("{what}: the audit passed"),
            }
        }
    }

    /// Issue 14, point 9: a snapshot whose state was edited and whose
    /// checksum was recomputed does not load; the node says why and
    /// replays the whole journal.
    #[test]
    fn an_edited_snapshot_state_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let n = ledger_with_snapshot(dir.path(), 150);
        let mut p = crate::snapshot::forge::read(dir.path());
        let honest = image(&p.state);
        move_cash(&mut p.state);
        crate::snapshot::forge::write(dir.path(), &p);
        let node = Node::open(dir.path(), operator()).unwrap();
        assert_eq!(node.last_snapshot_size(), 0, "replayed from the genesis");
        let why = node.snapshot_refused().expect("the node says why");
        assert!(
            why.contains(&format!("does not hash to the digest journal entry {} records", n - 1)),
            "{why}"
        );
        assert_eq!(image(node.state()), honest, "the journal's state, not the edited one");
    }

    /// Rewrites a ledger with a snapshot at `n` entries as someone with
    /// write access to its folder could: the snapshot's state edited, the
    /// journal's digest entry rewritten to match, and the leaf hashes and
    /// the snapshot's header made to agree (checksum recomputed).
    fn forge_state_and_digest(dir: &Path, n: u64) {
        let mut p = crate::snapshot::forge::read(dir);
        move_cash(&mut p.state);
        let bytes = {
            let journal = Journal::open(dir).unwrap();
            let honest = pb::JournalEntry::decode(journal.raw(n - 1).unwrap().unwrap().as_slice()).unwrap();
            let prev: Hash = honest.prev_hash.as_slice().try_into().unwrap();
            let bytes = digest_entry(n - 1, prev, n - 1, crate::snapshot::state_digest(&p.state)).encode_to_vec();
            journal.tamper_raw(n - 1, Some(&bytes)).unwrap();
            bytes
        };
        let mut leaves = std::fs::read(dir.join("leaves.snapshot")).unwrap();
        let at = ((n - 1) * 32) as usize;
        leaves[at..at + 32].copy_from_slice(&leaf_hash(&bytes));
        std::fs::write(dir.join("leaves.snapshot"), &leaves).unwrap();
        let mut tree = MerkleTree::new();
        for leaf in leaves[..(n * 32) as usize].chunks_exact(32) {
            tree.push(leaf.try_into().unwrap());
        }
        p.last_hash = leaf_hash(&bytes);
        p.root = tree.root();
        crate::snapshot::forge::write(dir, &p);
        // The file and its journal entry agree now.
        let journal = Journal::open(dir).unwrap();
        assert!(snapshot::load(dir, &journal).is_ok());
    }

    /// The forged digest is named by the replay the node falls back to.
    fn assert_refused_at_the_digest(dir: &Path, n: u64) {
        match Node::open(dir, operator()) {
            Err(NodeError::Rebuild(RebuildError::Mismatch(m))) => {
                assert_eq!(m.seq, n - 1);
                assert!(m.what.contains("recorded state digest"), "{m}");
            }
            Err(e) => panic!("refused for another reason: {e}"),
            Ok(_) => panic!("a forged journal opened"),
        }
    }

    /// Rewriting the journal's digest entry too does not get an edited
    /// state in: the entry is a leaf under the operator's signed
    /// checkpoint, and a replay recomputes the digest, so the node refuses
    /// to open at all.
    #[test]
    fn rewriting_the_recorded_digest_too_is_caught_by_the_signature() {
        let dir = tempfile::tempdir().unwrap();
        let n = ledger_with_snapshot(dir.path(), 150);
        forge_state_and_digest(dir.path(), n);
        assert_refused_at_the_digest(dir.path(), n);
    }

    /// Nor does putting back an older signed checkpoint, one that does not
    /// cover the digest entry: a snapshot is used only under a signed
    /// checkpoint that covers its digest.
    #[test]
    fn a_snapshot_whose_digest_no_signed_checkpoint_covers_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (n, older) = {
            let mut r = replay(&head(150), dir.path()).unwrap();
            let older = r.node.checkpoint().to_string();
            r.node.snapshot().unwrap();
            (r.node.len(), older)
        };
        forge_state_and_digest(dir.path(), n);
        {
            let journal = Journal::open(dir.path()).unwrap();
            journal.set_checkpoint(&older).unwrap();
            journal.flush().unwrap();
        }
        assert_refused_at_the_digest(dir.path(), n);
    }

    /// `carbon audit verify` recomputes every recorded digest: one the
    /// operator recorded wrong (chained and signed like any entry) is
    /// named; one recorded by another build whose encoding differs is
    /// counted as not checkable.
    #[test]
    fn the_audit_checks_every_recorded_digest() {
        type Edit = fn(&mut pb::StateDigest);
        let cases: [(&str, Edit, Option<&str>); 4] = [
            (
                "a wrong digest",
                |d| d.sha256[0] ^= 1,
                Some("not the digest of the state"),
            ),
            ("a wrong position", |d| d.tree_size += 1, Some("stands at position")),
            ("a short digest", |d| d.sha256.truncate(31), Some("not 32 bytes")),
            (
                "another build's digest",
                |d| {
                    d.sha256[0] ^= 1;
                    d.code_id[0] ^= 1;
                },
                None,
            ),
        ];
        for (what, edit, refused) in cases {
            let dir = tempfile::tempdir().unwrap();
            let n = ledger_with_snapshot(dir.path(), 100);
            let journal = Journal::open(dir.path()).unwrap();
            let mut e = pb::JournalEntry::decode(journal.raw(n - 1).unwrap().unwrap().as_slice()).unwrap();
            let Some(pb::journal_entry::Input::StateDigest(d)) = &mut e.input else {
                panic!("no digest at the end")
            };
            edit(d);
            journal.tamper_raw(n - 1, Some(&e.encode_to_vec())).unwrap();
            // The operator signs the journal as it now is.
            let mut tree = MerkleTree::new();
            for r in journal.iter_raw(0) {
                tree.push(leaf_hash(&r.unwrap().1));
            }
            let origin = crate::replay::REPLAY_ORIGIN;
            let cp = Checkpoint {
                origin: origin.into(),
                tree_size: tree.len(),
                root_hash: tree.root(),
            };
            journal.set_checkpoint(&cp.sign(origin, &operator())).unwrap();
            journal.flush().unwrap();
            match (rebuild(&journal, true, |_| {}), refused) {
                (Err(RebuildError::Mismatch(m)), Some(why)) => {
                    assert_eq!(m.seq, n - 1, "{what}");
                    assert!(m.what.contains(why), "{what}: {m}");
                }
                (Ok(r), None) => {
                    assert_eq!((r.digests_checked, r.digests_of_other_builds), (0, 1), "{what}")
                }
                (Err(e), _) => panic!("{what}: {e}"),
                (Ok(_), Some(_)) => panic!("{what}: the audit passed"),
            }
        }
    }

    /// Every raw entry of `node`'s journal, in order.
    fn raw_entries(node: &Node) -> Vec<Vec<u8>> {
        node.journal().iter_raw(0).map(|r| r.unwrap().1).collect()
    }

    fn marker(tag: u8) -> Marker {
        Box::new(move |len| vec![tag, len as u8])
    }

    #[test]
    fn install_appends_the_missing_entries_and_takes_the_state() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let source = replay(&head(300), a.path()).unwrap().node;
        let mut behind = replay(&head(1), b.path()).unwrap().node;
        let (len, state) = source.image();
        behind.install(&raw_entries(&source), &state, marker(7)).unwrap();
        assert_eq!(behind.len(), len);
        assert_eq!(image(behind.state()), image(source.state()));
        assert_eq!(behind.tree().root(), source.tree().root());
        assert_eq!(behind.journal().replicated().unwrap(), Some(vec![7, len as u8]));
        assert_eq!(raw_entries(&behind), raw_entries(&source));
        // Indexed as if applied here: a command is found by actor and nonce.
        assert!(behind.journal().reader().command("NB-EEB", 1).unwrap().is_some());
        drop(behind);
        assert_eq!(open_and_compare(b.path()), 0, "it reopens from its journal");
    }

    #[test]
    fn install_refuses_what_does_not_extend_the_journal_and_changes_nothing() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let source = replay(&head(120), a.path()).unwrap().node;
        let other_day: String = include_str!("../../tests/market-days/random-17-mixed.jsonl")
            .lines()
            .take(60)
            .map(|l| format!("{l}\n"))
            .collect();
        let mut other = replay(&other_day, b.path()).unwrap().node;
        let (_, state) = source.image();
        let before = (other.len(), image(other.state()));
        let refused = other.install(&raw_entries(&source), &state, marker(1)).unwrap_err();
        assert!(refused.to_string().contains("is not this journal's"), "{refused}");

        let mut behind = replay(&head(1), c.path()).unwrap().node;
        let mut broken = raw_entries(&source);
        broken[40] = broken[41].clone(); // the chain breaks there
        let refused = behind.install(&broken, &state, marker(1)).unwrap_err();
        assert!(refused.to_string().contains("does not chain"), "{refused}");
        assert_eq!((other.len(), image(other.state())), before);
        assert_eq!(
            (behind.len(), behind.journal().len().unwrap()),
            (1, 1),
            "nothing written"
        );
    }

    #[test]
    fn a_snapshot_no_longer_than_the_journal_only_moves_the_marker() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let source = replay(&head(200), a.path()).unwrap().node;
        let mut ahead = replay(&head(1), b.path()).unwrap().node;
        let (_, state) = source.image();
        ahead.install(&raw_entries(&source), &state, marker(1)).unwrap();
        let prefix: Vec<Vec<u8>> = raw_entries(&source).into_iter().take(50).collect();
        ahead.install(&prefix, b"not even a state", marker(2)).unwrap();
        assert_eq!(ahead.len(), source.len());
        assert_eq!(image(ahead.state()), image(source.state()));
        assert_eq!(ahead.journal().replicated().unwrap(), Some(vec![2, source.len() as u8]));
    }

    #[test]
    fn submit_marked_stores_the_marker_even_when_nothing_is_journalled() {
        let dir = tempfile::tempdir().unwrap();
        let mut node = replay(&head(30), dir.path()).unwrap().node;
        let len = node.len();
        // An envelope no one signed: refused before sequencing.
        let refused = node
            .submit_marked(vec![(pb::SignedCommand::default(), false)], marker(9))
            .unwrap();
        assert_eq!(refused[0].seq, None);
        assert_eq!(node.len(), len);
        assert_eq!(node.journal().replicated().unwrap(), Some(vec![9, len as u8]));
    }
}
