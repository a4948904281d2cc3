//! The signed checkpoint and RFC 6962 proofs: printed from a data folder
//! (`checkpoint`, `proof`, `consistency`) and checked with nothing but the
//! operator's verifier key (`check`).
//!
//! Proof files are JSON, hashes in lowercase hex:
//!
//! * inclusion (`proof`): `seq`, `tree_size`, `entry` (the raw entry),
//!   `leaf_hash`, `inclusion_proof`, `root_hash` (of `tree_size` entries),
//!   `checkpoint` (the latest signed note), `checkpoint_size` and
//!   `consistency_proof` from `tree_size` to `checkpoint_size` (empty when
//!   they are equal), so a proof against an older size still leads to the
//!   signed checkpoint;
//! * consistency (`consistency`): `from`, `to`, `old_root`, `new_root`,
//!   `proof`, and `checkpoint` when `to` is the signed size.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use carbon_ledger::audit::operator_key;
use carbon_ledger::checkpoint::{self, Checkpoint};
use carbon_ledger::journal::Journal;
use carbon_ledger::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash, MerkleTree};
use serde_json::{json, Value};

use super::{emit, open_journal, read_genesis, DataArg};

/// Arguments of `carbon audit checkpoint`.
#[derive(clap::Args)]
pub struct CheckpointArgs {
    #[command(flatten)]
    data: DataArg,
    /// Print the operator's verifier key (`name+id+key`, for `audit check --key`) instead.
    #[arg(long)]
    verifier_key: bool,
}

/// Arguments of `carbon audit proof`.
#[derive(clap::Args)]
pub struct ProofArgs {
    /// The entry's sequence number.
    #[arg(long)]
    seq: u64,
    #[command(flatten)]
    data: DataArg,
    /// The tree size to prove against (default: the latest signed checkpoint's).
    #[arg(long)]
    size: Option<u64>,
}

/// Arguments of `carbon audit consistency`.
#[derive(clap::Args)]
pub struct ConsistencyArgs {
    /// The older tree size.
    #[arg(long)]
    from: u64,
    /// The newer tree size (default: the latest signed checkpoint's).
    #[arg(long)]
    to: Option<u64>,
    #[command(flatten)]
    data: DataArg,
}

/// Arguments of `carbon audit check`.
#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("what").args(["proof", "consistency"]))]
pub struct CheckArgs {
    /// The operator's verifier key, as printed by `carbon audit checkpoint --verifier-key`.
    #[arg(long)]
    key: String,
    /// A signed checkpoint note (for a consistency proof: the newer one).
    #[arg(long, value_name = "FILE")]
    checkpoint: PathBuf,
    /// An inclusion proof (JSON from `carbon audit proof`) to check against the checkpoint.
    #[arg(long, value_name = "FILE")]
    proof: Option<PathBuf>,
    /// A consistency proof (JSON from `carbon audit consistency`) from the old checkpoint to this one.
    #[arg(long, value_name = "FILE", requires = "old_checkpoint")]
    consistency: Option<PathBuf>,
    /// The older signed checkpoint note, for `--consistency`.
    #[arg(long, value_name = "FILE", requires = "consistency")]
    old_checkpoint: Option<PathBuf>,
}

/// A data folder's journal with its Merkle tree and verified checkpoint.
struct Opened {
    journal: Journal,
    origin: String,
    tree: MerkleTree,
    note: String,
    cp: Checkpoint,
}

/// Opens the journal, hashes every entry into the tree and checks the
/// latest checkpoint: signed by the genesis operator key, over this tree.
fn open_with_tree(dir: &Path) -> anyhow::Result<Opened> {
    let journal = open_journal(dir)?;
    let genesis = read_genesis(&journal)?;
    let key = operator_key(&genesis).context("journal entry 0: no valid operator key")?;
    let note = journal.checkpoint()?.context("the ledger holds no signed checkpoint")?;
    let cp =
        checkpoint::open(&note, &genesis.origin, &key).map_err(|e| anyhow::anyhow!("the stored checkpoint: {e}"))?;
    let mut tree = MerkleTree::with_capacity(usize::try_from(cp.tree_size).unwrap_or(0));
    for (expected, item) in (0u64..).zip(journal.iter_raw(0)) {
        let (seq, raw) = item.context("reading the journal")?;
        if seq != expected {
            bail!("journal entry {expected}: missing (the next stored entry is {seq})");
        }
        tree.push(leaf_hash(&raw));
    }
    match tree.root_at(cp.tree_size) {
        Some(root) if root == cp.root_hash => {}
        Some(_) => bail!(
            "the journal's first {} entries do not have the signed root: run `carbon audit verify`",
            cp.tree_size
        ),
        None => bail!(
            "the signed checkpoint covers {} entries, the journal holds {}: run `carbon audit verify`",
            cp.tree_size,
            tree.len()
        ),
    }
    Ok(Opened {
        journal,
        origin: genesis.origin,
        tree,
        note,
        cp,
    })
}

pub fn checkpoint(a: CheckpointArgs) -> anyhow::Result<()> {
    let mut out = String::new();
    let journal = open_journal(&a.data.data)?;
    let genesis = read_genesis(&journal)?;
    let key = operator_key(&genesis).context("journal entry 0: no valid operator key")?;
    if a.verifier_key {
        checkpoint::validate_key_name(&genesis.origin)
            .map_err(|e| anyhow::anyhow!("the genesis origin is no key name: {e}"))?;
        writeln!(out, "{}", checkpoint::verifier_key_string(&genesis.origin, &key))?;
        return emit(&out);
    }
    let note = journal.checkpoint()?.context("the ledger holds no signed checkpoint")?;
    checkpoint::open(&note, &genesis.origin, &key)
        .map_err(|e| anyhow::anyhow!("the stored checkpoint does not verify: {e}"))?;
    write!(out, "{note}")?;
    emit(&out)
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

pub fn proof(a: ProofArgs) -> anyhow::Result<()> {
    let mut out = String::new();
    let o = open_with_tree(&a.data.data)?;
    let size = a.size.unwrap_or(o.cp.tree_size);
    if size > o.cp.tree_size {
        bail!(
            "tree size {size} is past the latest signed checkpoint ({})",
            o.cp.tree_size
        );
    }
    if a.seq >= size {
        bail!("entry {} is not in a tree of {size} entries", a.seq);
    }
    let entry = o
        .journal
        .raw(a.seq)?
        .with_context(|| format!("journal entry {}: missing", a.seq))?;
    let leaf = leaf_hash(&entry);
    let inclusion = o
        .tree
        .inclusion_proof(a.seq, size)
        .context("no inclusion proof for these sizes")?;
    let root = o.tree.root_at(size).context("no root at this size")?;
    let consistency = o
        .tree
        .consistency_proof(size, o.cp.tree_size)
        .context("no consistency proof for these sizes")?;
    let v = json!({
        "origin": o.origin,
        "seq": a.seq,
        "tree_size": size,
        "entry": hex::encode(&entry),
        "leaf_hash": hex::encode(leaf),
        "inclusion_proof": hexes(&inclusion),
        "root_hash": hex::encode(root),
        "checkpoint": o.note,
        "checkpoint_size": o.cp.tree_size,
        "consistency_proof": hexes(&consistency),
    });
    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    emit(&out)
}

pub fn consistency(a: ConsistencyArgs) -> anyhow::Result<()> {
    let mut out = String::new();
    let o = open_with_tree(&a.data.data)?;
    let to = a.to.unwrap_or(o.cp.tree_size);
    if to > o.cp.tree_size {
        bail!(
            "tree size {to} is past the latest signed checkpoint ({})",
            o.cp.tree_size
        );
    }
    if a.from > to {
        bail!("--from {} is larger than --to {to}", a.from);
    }
    let proof = o
        .tree
        .consistency_proof(a.from, to)
        .context("no consistency proof for these sizes")?;
    let old_root = o.tree.root_at(a.from).context("no root at --from")?;
    let new_root = o.tree.root_at(to).context("no root at --to")?;
    let v = json!({
        "origin": o.origin,
        "from": a.from,
        "to": to,
        "old_root": hex::encode(old_root),
        "new_root": hex::encode(new_root),
        "proof": hexes(&proof),
        "checkpoint": if to == o.cp.tree_size { Value::from(o.note) } else { Value::Null },
    });
    writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    emit(&out)
}

/// Reads a signed note from a file and opens it with the key. Extra blank
/// lines at the end (as editors and shells add) are tolerated.
fn read_checkpoint(path: &Path, name: &str, key: &ed25519_dalek::VerifyingKey) -> anyhow::Result<Checkpoint> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the checkpoint {}", path.display()))?;
    let trimmed = text.trim_end_matches(['\n', '\r']);
    let note = format!("{trimmed}\n");
    let cp =
        checkpoint::open(&note, name, key).map_err(|e| anyhow::anyhow!("the checkpoint {}: {e}", path.display()))?;
    if cp.origin != name {
        bail!(
            "the checkpoint {} is for the log {:?}, the key for {name:?}",
            path.display(),
            cp.origin
        );
    }
    Ok(cp)
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn field_u64(v: &Value, name: &str) -> anyhow::Result<u64> {
    v.get(name)
        .and_then(Value::as_u64)
        .with_context(|| format!("the proof has no number {name:?}"))
}

fn field_hash(v: &Value, name: &str) -> anyhow::Result<Hash> {
    let s = v
        .get(name)
        .and_then(Value::as_str)
        .with_context(|| format!("the proof has no hash {name:?}"))?;
    parse_hash(s).with_context(|| format!("the proof's {name:?} is not 32 bytes of hex"))
}

fn field_hashes(v: &Value, name: &str) -> anyhow::Result<Vec<Hash>> {
    let list = v
        .get(name)
        .and_then(Value::as_array)
        .with_context(|| format!("the proof has no list {name:?}"))?;
    if list.len() > 128 {
        bail!(
            "the proof's {name:?} has {} hashes, more than any tree needs",
            list.len()
        );
    }
    list.iter()
        .map(|h| {
            h.as_str()
                .and_then(parse_hash)
                .with_context(|| format!("the proof's {name:?} holds something not 32 bytes of hex"))
        })
        .collect()
}

fn parse_hash(s: &str) -> Option<Hash> {
    hex::decode(s).ok()?.try_into().ok()
}

pub fn check(a: CheckArgs) -> anyhow::Result<()> {
    let mut out = String::new();
    let (name, key) =
        checkpoint::parse_verifier_key(a.key.trim()).map_err(|e| anyhow::anyhow!("the verifier key: {e}"))?;
    let cp = read_checkpoint(&a.checkpoint, &name, &key)?;
    if let Some(path) = &a.proof {
        let seq = check_inclusion(&read_json(path)?, &cp)?;
        writeln!(
            out,
            "ok: entry {seq} is included in the signed checkpoint of {} (size {})",
            cp.origin, cp.tree_size
        )?;
    } else if let (Some(path), Some(old_path)) = (&a.consistency, &a.old_checkpoint) {
        let old = read_checkpoint(old_path, &name, &key)?;
        check_consistency(&read_json(path)?, &old, &cp)?;
        writeln!(
            out,
            "ok: the checkpoint of size {} extends the one of size {}",
            cp.tree_size, old.tree_size
        )?;
    } else {
        writeln!(
            out,
            "ok: checkpoint of {} signed by the operator: size {}, root {}",
            cp.origin,
            cp.tree_size,
            hex::encode(cp.root_hash)
        )?;
    }
    emit(&out)
}

/// Checks an inclusion proof against a checkpoint; returns the entry's sequence number.
fn check_inclusion(p: &Value, cp: &Checkpoint) -> anyhow::Result<u64> {
    let seq = field_u64(p, "seq")?;
    let size = field_u64(p, "tree_size")?;
    let leaf = field_hash(p, "leaf_hash")?;
    if let Some(entry) = p.get("entry") {
        let bytes = entry
            .as_str()
            .and_then(|s| hex::decode(s).ok())
            .context("the proof's \"entry\" is not hex")?;
        if leaf_hash(&bytes) != leaf {
            bail!("the entry does not hash to the proof's leaf hash");
        }
    }
    let path = field_hashes(p, "inclusion_proof")?;
    if size == cp.tree_size {
        if !verify_inclusion(&leaf, seq, size, &path, &cp.root_hash) {
            bail!("the inclusion proof of entry {seq} does not lead to the checkpoint's root");
        }
        return Ok(seq);
    }
    if size > cp.tree_size {
        bail!(
            "the proof is for a tree of {size} entries, the checkpoint covers only {}",
            cp.tree_size
        );
    }
    // A proof against an older size: the inclusion leads to that size's
    // root, and the consistency proof from there to the signed checkpoint.
    let to = field_u64(p, "checkpoint_size")?;
    if to != cp.tree_size {
        bail!(
            "the proof leads to a checkpoint of size {to}, this checkpoint has size {}",
            cp.tree_size
        );
    }
    let root = field_hash(p, "root_hash")?;
    let consistency = field_hashes(p, "consistency_proof")?;
    if !verify_inclusion(&leaf, seq, size, &path, &root) {
        bail!("the inclusion proof of entry {seq} does not lead to the root of size {size}");
    }
    if !verify_consistency(size, cp.tree_size, &root, &cp.root_hash, &consistency) {
        bail!(
            "the consistency proof from size {size} to the checkpoint's size {} does not verify",
            cp.tree_size
        );
    }
    Ok(seq)
}

fn check_consistency(p: &Value, old: &Checkpoint, new: &Checkpoint) -> anyhow::Result<()> {
    let from = field_u64(p, "from")?;
    let to = field_u64(p, "to")?;
    if from != old.tree_size || to != new.tree_size {
        bail!(
            "the proof is from size {from} to {to}, the checkpoints have sizes {} and {}",
            old.tree_size,
            new.tree_size
        );
    }
    for (name, want) in [("old_root", &old.root_hash), ("new_root", &new.root_hash)] {
        if p.get(name).is_some() && field_hash(p, name)? != *want {
            bail!("the proof's {name} is not the root of its checkpoint");
        }
    }
    let proof = field_hashes(p, "proof")?;
    if !verify_consistency(old.tree_size, new.tree_size, &old.root_hash, &new.root_hash, &proof) {
        bail!(
            "the consistency proof from size {} to {} does not verify",
            old.tree_size,
            new.tree_size
        );
    }
    Ok(())
}
