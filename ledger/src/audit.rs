//! Rebuilding state from the journal, checking everything on the way:
//! sequence numbers, the hash chain, the canonical encoding of every entry,
//! client signatures, that re-applying each command gives exactly the
//! outcome stored with it, that every recorded state digest is the digest
//! of the state the replay reaches there, and the signed checkpoint over
//! the Merkle root. Used at start-up (without the costly signature checks)
//! and by `carbon audit verify` (with them).
//!
//! # State digests
//!
//! A `StateDigest` entry (appended by the node where it takes a
//! [snapshot](crate::snapshot)) records the SHA-256 of the state's snapshot
//! encoding after the entries before it. The replay encodes its own state
//! there ([`crate::snapshot::state_digest`], 50–200 ms at a million
//! entries, once per snapshot interval: a few per cent of a replay) and
//! compares. The encoding
//! belongs to a build of the state machine, so a digest recorded by
//! another build (another code id) that this build does not reproduce is
//! counted as not checkable rather than refused; one recorded by this build
//! must match.
//!
//! # How signatures are checked
//!
//! Replaying is sequential (the state machine has one writer) but cheap;
//! verifying ed25519 signatures is what costs. So the replay runs on the
//! calling thread and hands every command's (sequence number, actor key,
//! payload, signature) to a pool of workers, one per core, in chunks of
//! [`SIGNATURE_CHUNK`] over a bounded queue. The actor's key is the one its
//! account has when the entry is replayed: accounts are created by earlier
//! entries and keys never change, so the key a worker checks against is the
//! key the ledger checked against. Workers verify a chunk with one
//! `ed25519_dalek::verify_batch` and, only when that fails, entry by entry
//! with `verify_strict` (what the service uses) to find the first bad one.
//!
//! Batch verification accepts a few signatures that `verify_strict` refuses:
//! those with a small-order key, a small-order `R` or a non-canonical `R`
//! (all checked here explicitly, on bytes, so refused too) and, with
//! negligible probability, ones whose equation only holds up to a small
//! torsion point. The latter can only be made by the holder of the actor's
//! secret key, so it never lets a forged command through.
//!
//! # The first bad entry
//!
//! A [`Mismatch`] names the first sequence number at which the journal is
//! wrong. The replay stops at its first mismatch; a signature failure found
//! by a worker wins if it is at an earlier (or the same) sequence number.
//! The replay also stops early once a worker reports a failure before the
//! entry it is at, since nothing later can be the first.
//!
//! Nothing read from the journal can make this module panic: every decoding
//! error, impossible value or failed check is a [`Mismatch`] (a panic inside
//! the state machine, which would be a bug there, is caught and reported as
//! one too).
//!
//! # Reading only
//!
//! A rebuild only reads the journal it is given; it writes nothing, there
//! or anywhere else (snapshots are the node's business, not the audit's).
//! Opening a sled database does write to its folder, so `carbon audit`
//! gives it a journal opened with [`Journal::open_copy`]: a private copy,
//! which leaves the audited folder byte for byte as it was and works on
//! read-only media.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Mutex};

use carbon_proto::v1 as pb;
use ed25519_dalek::{Signature, VerifyingKey};
use prost::Message;

use crate::checkpoint::{self, Checkpoint};
use crate::journal::{Journal, StoreError};
use crate::merkle::{leaf_hash, Hash, MerkleTree};
use crate::signature::{has_small_order_y, is_canonical_y, verify_strict};
use crate::snapshot::{code_id, state_digest};
use crate::state::{outcome_to_pb, signing_message, State};

/// Signatures per `verify_batch` call: large enough to amortise the
/// multiscalar multiplication, small enough that a failing chunk (checked
/// again one by one) costs little and the queue stays short.
pub const SIGNATURE_CHUNK: usize = 256;

/// Chunks queued per worker: bounds memory and keeps the replay (and so the
/// progress it reports) at most a few chunks ahead of verification.
const QUEUED_CHUNKS_PER_WORKER: usize = 4;

/// Most signature workers, whatever the machine reports.
const MAX_WORKERS: usize = 64;

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
    /// The stored checkpoint is wrong in a way no single entry explains:
    /// not signed by the operator, or over another root.
    #[error("the signed checkpoint: {0}")]
    Checkpoint(String),
}

/// A journal replayed into state, with the Merkle tree and chain head.
pub struct Rebuilt {
    pub state: State,
    pub genesis: pb::Genesis,
    pub tree: MerkleTree,
    pub last_hash: Hash,
    /// The stored checkpoint, verified against the operator key and the tree.
    pub checkpoint: Option<(String, Checkpoint)>,
    /// How many client signatures were verified (0 without the check).
    pub signatures_checked: u64,
    /// The state digests recomputed and found equal (see the module docs).
    pub digests_checked: u64,
    /// The state digests recorded by another build of the state machine
    /// whose encoding this build does not reproduce (not checkable here).
    pub digests_of_other_builds: u64,
}

/// The operator's public key from a genesis.
pub fn operator_key(g: &pb::Genesis) -> Option<VerifyingKey> {
    let arr: [u8; 32] = g.operator_public_key.as_slice().try_into().ok()?;
    VerifyingKey::from_bytes(&arr).ok()
}

fn bad(seq: u64, what: impl Into<String>) -> Mismatch {
    Mismatch { seq, what: what.into() }
}

/// Replays the whole journal. `check_signatures` verifies every client
/// signature, in parallel (the audit); without it the stored envelopes are
/// trusted (the server verified them before journalling). `progress` is
/// called with each sequence number once its entry is replayed.
pub fn rebuild(
    journal: &Journal,
    check_signatures: bool,
    mut progress: impl FnMut(u64),
) -> Result<Rebuilt, RebuildError> {
    if !check_signatures {
        return replay_unsigned(journal, None, progress);
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS);
    // The lowest sequence number a worker found a bad signature at.
    let first_bad_sig = AtomicU64::new(u64::MAX);
    let sig_failure: Mutex<Option<Mismatch>> = Mutex::new(None);
    let (tx, rx) = mpsc::sync_channel::<Vec<SigJob>>(workers * QUEUED_CHUNKS_PER_WORKER);
    let rx = Mutex::new(rx);
    let (replayed, checked) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| signature_worker(&rx, &first_bad_sig, &sig_failure)))
            .collect();
        let mut chunk: Vec<SigJob> = Vec::with_capacity(SIGNATURE_CHUNK);
        let mut checked = 0u64;
        let mut sink = |job: SigJob| {
            checked += 1;
            chunk.push(job);
            if chunk.len() == SIGNATURE_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(SIGNATURE_CHUNK));
                // Fails only if every worker is gone, which only a panic
                // inside ed25519 could cause; the join below reports it.
                let _ = tx.send(full);
            }
        };
        let replayed = replay_journal(journal, None, &mut sink, &first_bad_sig, &mut progress);
        if !chunk.is_empty() {
            let _ = tx.send(chunk);
        }
        drop(tx);
        let mut worker_died = false;
        for h in handles {
            worker_died |= h.join().is_err();
        }
        if worker_died {
            // Not reachable from journal contents (verification does not
            // panic on any input), but never report success without every
            // signature checked.
            let mut failure = sig_failure.lock().unwrap_or_else(|p| p.into_inner());
            if failure.is_none() {
                *failure = Some(bad(0, "a signature worker failed; signatures unchecked"));
            }
        }
        (replayed, checked)
    });
    let sig_failure = sig_failure.into_inner().unwrap_or_else(|p| p.into_inner());
    match (replayed, sig_failure) {
        (Ok(Some(mut r)), None) => {
            r.signatures_checked = checked;
            Ok(r)
        }
        (Ok(None), None) => unreachable_stop(),
        (Ok(_), Some(sig)) => Err(sig.into()),
        (Err(RebuildError::Mismatch(m)), Some(sig)) if sig.seq <= m.seq => Err(sig.into()),
        (Err(RebuildError::Checkpoint(_)), Some(sig)) => Err(sig.into()),
        (Err(e), _) => Err(e),
    }
}

/// Where a replay may start instead of the genesis: the state after the
/// first `tree.len()` entries (a [snapshot](crate::snapshot)'s).
pub struct Resume {
    pub state: State,
    pub genesis: pb::Genesis,
    pub tree: MerkleTree,
    /// The hash of entry `tree.len() - 1`.
    pub last_hash: Hash,
    /// The journal entry that records the state's digest (at or after
    /// `tree.len() - 1`): a node resumes only under a signed checkpoint
    /// that covers it.
    pub digest_seq: u64,
    /// The state's digest as that entry records it.
    pub digest: Hash,
}

/// Replays the journal's entries after `from`, checked as [`rebuild`] checks
/// them but without client signatures (start-up from a snapshot).
pub fn rebuild_from(journal: &Journal, from: Resume, progress: impl FnMut(u64)) -> Result<Rebuilt, RebuildError> {
    replay_unsigned(journal, Some(from), progress)
}

/// The replay without client signatures, which never stops early.
fn replay_unsigned(
    journal: &Journal,
    start: Option<Resume>,
    mut progress: impl FnMut(u64),
) -> Result<Rebuilt, RebuildError> {
    let never = AtomicU64::new(u64::MAX);
    match replay_journal(journal, start, &mut |_| {}, &never, &mut progress) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => unreachable_stop(),
        Err(e) => Err(e),
    }
}

/// The replay only stops early when a signature worker found a failure, so
/// a stop without one cannot happen; answer with an error rather than panic.
fn unreachable_stop() -> Result<Rebuilt, RebuildError> {
    Err(bad(0, "the replay stopped without a reason").into())
}

/// One client signature to check.
struct SigJob {
    seq: u64,
    /// The ledger the signature must be bound to.
    ledger_id: [u8; 32],
    key: VerifyingKey,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// Takes chunks until the queue closes; records the lowest bad sequence
/// number it sees in `first_bad` and `failure`.
fn signature_worker(rx: &Mutex<mpsc::Receiver<Vec<SigJob>>>, first_bad: &AtomicU64, failure: &Mutex<Option<Mismatch>>) {
    loop {
        let chunk = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(c) => c,
                Err(_) => return,
            }
        };
        // A chunk entirely after a known failure cannot hold the first one.
        if chunk.first().is_none_or(|j| j.seq > first_bad.load(Ordering::Relaxed)) {
            continue;
        }
        if let Some(m) = first_bad_signature(&chunk) {
            first_bad.fetch_min(m.seq, Ordering::Relaxed);
            let mut f = failure.lock().unwrap_or_else(|p| p.into_inner());
            if f.as_ref().is_none_or(|old| m.seq < old.seq) {
                *f = Some(m);
            }
        }
    }
}

/// The first entry of a chunk (ordered by sequence number) whose signature
/// does not verify as `verify_strict` would, if any.
fn first_bad_signature(chunk: &[SigJob]) -> Option<Mismatch> {
    let mut messages = Vec::with_capacity(chunk.len());
    let mut signatures = Vec::with_capacity(chunk.len());
    let mut keys = Vec::with_capacity(chunk.len());
    // The cheap checks first; the batch then covers the entries before the
    // first that fails them.
    let mut early: Option<Mismatch> = None;
    for job in chunk {
        match precheck(job) {
            Ok(sig) => {
                messages.push(signing_message(&job.ledger_id, &job.payload));
                signatures.push(sig);
                keys.push(job.key);
            }
            Err(what) => {
                early = Some(bad(job.seq, what));
                break;
            }
        }
    }
    if messages.is_empty() {
        return early;
    }
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    if ed25519_dalek::verify_batch(&refs, &signatures, &keys).is_ok() {
        return early;
    }
    for (i, job) in chunk.iter().enumerate().take(messages.len()) {
        if !verify_strict(&keys[i], &messages[i], &signatures[i]) {
            return Some(bad(job.seq, signature_failure(job)));
        }
    }
    // The batch failed but every signature verifies alone: not possible for
    // valid signatures, but say so rather than let it pass.
    Some(bad(
        chunk.first().map_or(0, |j| j.seq),
        "a batch of client signatures from here on does not verify",
    ))
}

/// The checks `verify_strict` makes that `verify_batch` does not: a
/// 64-byte signature, a key not of small order, and an `R` in canonical
/// encoding and not of small order. On bytes alone, so `R` is decompressed
/// once (by the batch), not twice.
fn precheck(job: &SigJob) -> Result<Signature, String> {
    let sig = Signature::from_slice(&job.signature)
        .map_err(|_| format!("the client signature is {} bytes, not 64", job.signature.len()))?;
    if job.key.is_weak() {
        return Err(format!(
            "{} has a weak (small-order) public key: no signature of it verifies",
            actor_of(job)
        ));
    }
    let r = sig.r_bytes();
    if !is_canonical_y(r) || has_small_order_y(r) {
        return Err(signature_failure(job));
    }
    Ok(sig)
}

fn signature_failure(job: &SigJob) -> String {
    format!("the client signature does not verify with the key of {}", actor_of(job))
}

/// The actor a payload names, for messages (it decoded during the replay).
fn actor_of(job: &SigJob) -> String {
    pb::Command::decode(job.payload.as_slice())
        .ok()
        .and_then(|c| c.actor)
        .unwrap_or_else(|| "the actor".into())
}

/// The sequential replay, from the genesis or from `start`. Every
/// command's signature goes to `sink`; the replay stops (returning
/// `Ok(None)`) once `stop_after` holds a sequence number lower than the
/// entry it is at.
fn replay_journal(
    journal: &Journal,
    start: Option<Resume>,
    sink: &mut dyn FnMut(SigJob),
    stop_after: &AtomicU64,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<Rebuilt>, RebuildError> {
    // Digests computed at snapshot marks, by the size they are for, until
    // the entry recording the digest comes (a snapshot resumed from was
    // checked against its digest already).
    let mut marks: BTreeMap<u64, Hash> = BTreeMap::new();
    let (mut tree, mut last_hash, mut state) = match start {
        Some(r) => {
            marks.insert(r.tree.len(), r.digest);
            (r.tree, r.last_hash, Some((r.state, r.genesis)))
        }
        None => {
            let capacity = journal
                .len()
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0)
                .min(1 << 28);
            (MerkleTree::with_capacity(capacity), [0; 32], None)
        }
    };
    let first = tree.len();
    let mut reencoded: Vec<u8> = Vec::new();
    let (mut digests_checked, mut digests_of_other_builds) = (0, 0);
    for (expected, item) in (first..).zip(journal.iter_raw(first)) {
        if stop_after.load(Ordering::Relaxed) < expected {
            return Ok(None);
        }
        let (key_seq, raw) = match item {
            Ok(x) => x,
            Err(StoreError::Corrupt(why)) => return Err(bad(expected, why).into()),
            Err(e) => return Err(e.into()),
        };
        if key_seq != expected {
            return Err(bad(expected, format!("missing (the next stored entry is {key_seq})")).into());
        }
        let entry =
            pb::JournalEntry::decode(raw.as_slice()).map_err(|e| bad(expected, format!("does not decode: {e}")))?;
        // Bytes that decode but are not what the ledger wrote (unknown
        // fields, duplicated or reordered fields) are caught here, at this
        // entry, rather than by the chain at the next one.
        reencoded.clear();
        if entry.encode(&mut reencoded).is_err() || reencoded != raw {
            return Err(bad(
                expected,
                "is not in the ledger's encoding (bytes were added or altered)",
            )
            .into());
        }
        if entry.seq != expected {
            return Err(bad(expected, format!("holds sequence number {}", entry.seq)).into());
        }
        if entry.prev_hash != last_hash {
            return Err(chain_break(journal, expected, &raw).into());
        }
        let stored = entry.outcome.unwrap_or_default();
        match (&mut state, entry.input) {
            (None, Some(pb::journal_entry::Input::Genesis(g))) => {
                let s = State::from_genesis(&g).map_err(|e| bad(expected, format!("bad genesis: {e}")))?;
                // Signatures are bound to the leaf hash of the canonical
                // genesis entry: the stored one must be that one.
                if leaf_hash(&raw) != s.ledger_id {
                    return Err(bad(expected, "the genesis entry is not in its canonical encoding").into());
                }
                if operator_key(&g).is_none() {
                    return Err(bad(expected, "genesis has no valid operator key").into());
                }
                if let Err(e) = checkpoint::validate_key_name(&g.origin) {
                    return Err(bad(expected, format!("genesis origin: {e}")).into());
                }
                let genesis_outcome = pb::Outcome {
                    ok: true,
                    ..Default::default()
                };
                if stored != genesis_outcome {
                    return Err(bad(expected, "the genesis carries an outcome").into());
                }
                state = Some((s, g));
            }
            (None, _) => return Err(bad(expected, "the first entry is not a genesis").into()),
            (Some(_), Some(pb::journal_entry::Input::Genesis(_))) => {
                return Err(bad(expected, "a second genesis").into())
            }
            (Some(_), None) => return Err(bad(expected, "holds no command").into()),
            (Some((s, _)), Some(pb::journal_entry::Input::SnapshotMark(_))) => {
                check_plain_ok(&stored, expected, "a snapshot mark")?;
                let digest = catch_unwind(AssertUnwindSafe(|| state_digest(s)))
                    .map_err(|_| bad(expected, "encoding the state panicked"))?;
                marks.insert(expected + 1, digest);
            }
            (Some((s, _)), Some(pb::journal_entry::Input::StateDigest(d))) => {
                if check_state_digest(s, &d, &stored, expected, &mut marks)? {
                    digests_checked += 1;
                } else {
                    digests_of_other_builds += 1;
                }
            }
            (Some((s, _)), Some(pb::journal_entry::Input::Command(env))) => {
                // The signature is checked apart (see the module docs).
                let auth = s
                    .authenticate(&env, true)
                    .map_err(|code| bad(expected, format!("command does not authenticate: {code}")))?;
                let key = s.accounts[auth.actor as usize].public_key;
                let applied = catch_unwind(AssertUnwindSafe(|| s.apply(&auth)))
                    .map_err(|_| bad(expected, "re-applying the command panicked the state machine"))?;
                if outcome_to_pb(&applied) != stored {
                    return Err(bad(
                        expected,
                        "re-applying the command gives another outcome than the stored one",
                    )
                    .into());
                }
                sink(SigJob {
                    seq: expected,
                    ledger_id: s.ledger_id,
                    key,
                    payload: env.payload,
                    signature: env.signature,
                });
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
        Some(note) => Some(check_checkpoint(note, &genesis, &tree)?),
    };
    Ok(Some(Rebuilt {
        state,
        genesis,
        tree,
        last_hash,
        checkpoint,
        signatures_checked: 0,
        digests_checked,
        digests_of_other_builds,
    }))
}

/// An entry the node writes (a digest, a mark) carries a plain `ok`.
fn check_plain_ok(stored: &pb::Outcome, seq: u64, what: &str) -> Result<(), Mismatch> {
    let ok = pb::Outcome {
        ok: true,
        ..Default::default()
    };
    if *stored != ok {
        return Err(bad(seq, format!("{what} with an outcome other than a plain ok")));
    }
    Ok(())
}

/// Checks the `StateDigest` entry at `seq` against the state after the
/// entries before it, or, for a digest of a snapshot encoded off the
/// sequencer, against the digest computed at its mark: true when
/// recomputed and equal, false when recorded by another build whose
/// encoding differs (see the module docs).
fn check_state_digest(
    state: &State,
    d: &pb::StateDigest,
    stored: &pb::Outcome,
    seq: u64,
    marks: &mut BTreeMap<u64, Hash>,
) -> Result<bool, Mismatch> {
    check_plain_ok(stored, seq, "a state digest")?;
    if d.tree_size > seq {
        return Err(bad(
            seq,
            format!("a state digest for {} entries stands at position {seq}", d.tree_size),
        ));
    }
    if d.sha256.len() != 32 || d.code_id.len() != 32 {
        return Err(bad(seq, "a state digest whose hash or code id is not 32 bytes"));
    }
    let ours = if d.tree_size == seq {
        catch_unwind(AssertUnwindSafe(|| state_digest(state))).map_err(|_| bad(seq, "encoding the state panicked"))?
    } else {
        marks.remove(&d.tree_size).ok_or_else(|| {
            bad(
                seq,
                format!(
                    "a state digest for {} entries, where no snapshot mark stands (or one already digested)",
                    d.tree_size
                ),
            )
        })?
    };
    if d.sha256 == ours {
        Ok(true)
    } else if d.code_id == code_id() {
        Err(bad(
            seq,
            "the recorded state digest is not the digest of the state the journal gives here",
        ))
    } else {
        Ok(false)
    }
}

/// Entry `seq` does not chain to the entry before it. With one alteration,
/// either the entry before was changed (then entry `seq + 1` still chains to
/// this one) or this entry was (then it does not): look one entry ahead to
/// name the right one.
fn chain_break(journal: &Journal, seq: u64, raw: &[u8]) -> Mismatch {
    let this = bad(seq, "previous-entry hash does not match the chain");
    if seq == 0 {
        return this;
    }
    let Some(next_seq) = seq.checked_add(1) else {
        return this;
    };
    let next_chains_here = journal
        .raw(next_seq)
        .ok()
        .flatten()
        .and_then(|b| pb::JournalEntry::decode(b.as_slice()).ok())
        .is_some_and(|e| e.prev_hash == leaf_hash(raw));
    if next_chains_here {
        bad(
            seq - 1,
            format!(
                "altered: entry {seq} was chained to other bytes (its previous-entry hash \
                 does not match, while entry {next_seq} still chains to entry {seq})"
            ),
        )
    } else {
        this
    }
}

/// Verifies the stored checkpoint note against the operator key and the tree.
fn check_checkpoint(
    note: String,
    genesis: &pb::Genesis,
    tree: &MerkleTree,
) -> Result<(String, Checkpoint), RebuildError> {
    let Some(key) = operator_key(genesis) else {
        return Err(bad(0, "genesis has no valid operator key").into());
    };
    let cp = checkpoint::open(&note, &genesis.origin, &key)
        .map_err(|e| RebuildError::Checkpoint(format!("{e} (operator key of the genesis)")))?;
    if cp.origin != genesis.origin {
        return Err(RebuildError::Checkpoint(format!(
            "names the origin {:?}, the genesis {:?}",
            cp.origin, genesis.origin
        )));
    }
    match tree.root_at(cp.tree_size) {
        Some(root) if root == cp.root_hash => Ok((note, cp)),
        Some(_) => Err(RebuildError::Checkpoint(format!(
            "its root hash over {} entries is not the root of the journal's first {} entries \
             (some entry before it was rewritten)",
            cp.tree_size, cp.tree_size
        ))),
        // Entries it signed are gone from the end: the first missing one is bad.
        None => Err(bad(
            tree.len(),
            format!(
                "missing: the signed checkpoint covers {} entries, the journal holds {}",
                cp.tree_size,
                tree.len()
            ),
        )
        .into()),
    }
}
