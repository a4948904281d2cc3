//! Rebuilding state from the journal, checking everything on the way:
//! sequence numbers, the hash chain, client signatures, that re-applying
//! each command gives exactly the outcome stored with it, and the signed
//! checkpoint over the Merkle root. Used at start-up (without the costly
//! signature checks) and by `carbon audit verify` (with them).

use carbon_proto::v1 as pb;
use ed25519_dalek::VerifyingKey;
use prost::Message;

use crate::checkpoint::{self, Checkpoint};
use crate::journal::{Journal, StoreError};
use crate::merkle::{leaf_hash, Hash, MerkleTree};
use crate::state::{outcome_to_pb, State};

/// The first thing found wrong in a journal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("journal entry {seq}: {what}")]
pub struct Mismatch {
    /// The first bad sequence number.
    pub seq: u64,
    pub what: String,
}

/// Why a rebuild failed.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mismatch(#[from] Mismatch),
}

/// A journal replayed into state, with the Merkle tree and chain head.
pub struct Rebuilt {
    pub state: State,
    pub genesis: pb::Genesis,
    pub tree: MerkleTree,
    pub last_hash: Hash,
    /// The stored checkpoint, verified against the operator key and the tree.
    pub checkpoint: Option<(String, Checkpoint)>,
}

/// The operator's public key from a genesis.
pub fn operator_key(g: &pb::Genesis) -> Option<VerifyingKey> {
    let arr: [u8; 32] = g.operator_public_key.as_slice().try_into().ok()?;
    VerifyingKey::from_bytes(&arr).ok()
}

fn bad(seq: u64, what: impl Into<String>) -> Mismatch {
    Mismatch {
        seq,
        what: what.into(),
    }
}

/// Replays the whole journal. `check_signatures` verifies every client
/// signature (the audit); without it the stored envelopes are trusted (the
/// server verified them before journalling). `progress` is called with
/// each sequence number.
pub fn rebuild(
    journal: &Journal,
    check_signatures: bool,
    mut progress: impl FnMut(u64),
) -> Result<Rebuilt, RebuildError> {
    let mut tree = MerkleTree::new();
    let mut last_hash: Hash = [0; 32];
    let mut state: Option<(State, pb::Genesis)> = None;
    for (expected, item) in (0u64..).zip(journal.iter_raw(0)) {
        let (key_seq, raw) = item?;
        if key_seq != expected {
            return Err(bad(
                expected,
                format!("missing (the next stored entry is {key_seq})"),
            )
            .into());
        }
        let entry = pb::JournalEntry::decode(raw.as_slice())
            .map_err(|e| bad(expected, format!("does not decode: {e}")))?;
        if entry.seq != expected {
            return Err(bad(expected, format!("holds sequence number {}", entry.seq)).into());
        }
        if entry.prev_hash != last_hash {
            return Err(bad(expected, "previous-entry hash does not match the chain").into());
        }
        let stored = entry.outcome.clone().unwrap_or_default();
        match (&mut state, entry.input) {
            (None, Some(pb::journal_entry::Input::Genesis(g))) => {
                let s = State::from_genesis(&g)
                    .map_err(|e| bad(expected, format!("bad genesis: {e}")))?;
                if operator_key(&g).is_none() {
                    return Err(bad(expected, "genesis has no valid operator key").into());
                }
                state = Some((s, g));
            }
            (None, _) => return Err(bad(expected, "the first entry is not a genesis").into()),
            (Some(_), Some(pb::journal_entry::Input::Genesis(_))) => {
                return Err(bad(expected, "a second genesis").into())
            }
            (Some(_), None) => return Err(bad(expected, "holds no command").into()),
            (Some((s, _)), Some(pb::journal_entry::Input::Command(env))) => {
                let auth = s.authenticate(&env, !check_signatures).map_err(|code| {
                    bad(expected, format!("command does not authenticate: {code}"))
                })?;
                let outcome = outcome_to_pb(&s.apply(&auth));
                if outcome != stored {
                    return Err(bad(
                        expected,
                        "re-applying the command gives another outcome than the stored one",
                    )
                    .into());
                }
            }
        }
        last_hash = leaf_hash(&raw);
        tree.push(last_hash);
        progress(expected);
    }
    let Some((state, genesis)) = state else {
        return Err(bad(0, "the journal is empty").into());
    };
    let checkpoint = match journal.checkpoint()? {
        None => None,
        Some(note) => {
            let key = operator_key(&genesis).expect("checked at genesis");
            let cp = checkpoint::open(&note, &genesis.origin, &key)
                .map_err(|e| bad(tree.len(), format!("stored checkpoint: {e}")))?;
            if cp.origin != genesis.origin {
                return Err(bad(tree.len(), "stored checkpoint names another origin").into());
            }
            match tree.root_at(cp.tree_size) {
                Some(root) if root == cp.root_hash => {}
                Some(_) => {
                    let first = first_divergence(&tree, &cp);
                    return Err(bad(
                        first,
                        format!(
                            "the signed checkpoint of size {} has another root hash",
                            cp.tree_size
                        ),
                    )
                    .into());
                }
                None => {
                    return Err(bad(
                        tree.len(),
                        format!(
                            "the signed checkpoint covers {} entries, the journal holds {}",
                            cp.tree_size,
                            tree.len()
                        ),
                    )
                    .into())
                }
            }
            Some((note, cp))
        }
    };
    Ok(Rebuilt {
        state,
        genesis,
        tree,
        last_hash,
        checkpoint,
    })
}

/// Where a checkpoint and the journal part ways is not knowable from a root
/// alone; the best honest answer is the last entry it covers.
fn first_divergence(_tree: &MerkleTree, cp: &Checkpoint) -> u64 {
    cp.tree_size.saturating_sub(1)
}
