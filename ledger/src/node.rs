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

use crate::audit::{operator_key, rebuild, RebuildError};
use crate::checkpoint::Checkpoint;
use crate::code::Code;
use crate::journal::{Journal, StoreError};
use crate::merkle::{leaf_hash, Hash, MerkleTree};
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

    /// Opens an existing ledger, rebuilding its state from the journal.
    pub fn open(dir: &Path, operator: SigningKey) -> Result<Node, NodeError> {
        let journal = Journal::open(dir)?;
        let r = rebuild(&journal, false, |_| {})?;
        if operator_key(&r.genesis) != Some(operator.verifying_key()) {
            return Err(NodeError::WrongOperatorKey);
        }
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
        };
        // Entries past the stored checkpoint (none after a clean stop) get one now.
        if node.current_checkpoint_size() != Some(node.tree.len()) {
            node.commit()?;
        }
        Ok(node)
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
        self.journal.flush()
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
