//! Snapshots: the state after the first `n` journal entries, kept beside
//! the journal so that a restart replays only the entries after it.
//!
//! A snapshot is a cache, never a source of truth. The journal is the
//! ledger; `carbon audit verify` ignores snapshots and replays from the
//! genesis. A snapshot is used only when everything about it checks out,
//! otherwise the node warns and replays the whole journal:
//!
//! - its bytes carry a SHA-256 trailer and a version;
//! - the last leaf hash it names is the hash of journal entry `n - 1`, which
//!   by the hash chain commits to every entry before it;
//! - the Merkle root recomputed from the stored leaf hashes is the root it
//!   names;
//! - the entries after it replay with exactly their stored outcomes (the
//!   usual checks of [`crate::audit`]);
//! - it was written by the same state-machine code (the code id): postcard
//!   carries no field names, so a snapshot of another layout could decode
//!   into nonsense. A build that changes the state machine replays the
//!   whole journal once, then writes its own snapshots.
//!
//! The entries before the snapshot are not checked again at start-up: the
//! node trusts its own snapshot as it trusts its own journal. Checking
//! every entry is `carbon audit verify`'s job, and it ignores snapshots.
//!
//! # Files (in the ledger's folder, beside sled's)
//!
//! - `state.snapshot`: `MAGIC`, the [code id](code_id), the body's length
//!   (u64 LE), the body (postcard: tree size, root, last leaf hash, the
//!   state; see [`crate::state::image`]) and the SHA-256 of everything
//!   before it.
//!   Written to a temporary file, synced, then renamed over the old one, so a
//!   crash leaves either the old snapshot or the new one.
//! - `leaves.snapshot`: every leaf hash of the Merkle tree, 32 bytes each,
//!   appended at each snapshot; only the first `n` belong to the snapshot
//!   (a crash between the two writes leaves extra ones, which are ignored
//!   and overwritten).
//!
//! # When
//!
//! The node takes one after the commit that passes every
//! [`DEFAULT_EVERY_ENTRIES`] entries, and when asked ([`crate::node::Node::snapshot`]:
//! at a clean shutdown and at the end of `carbon replay --data`). The state
//! is encoded on the caller's thread (the sequencer's: the state has one
//! owner) and written to disk on a thread of its own, so the sequencer does
//! no snapshot I/O. One write at a time: a snapshot that falls due while
//! the previous one is still being written waits for the next commit.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use carbon_proto::v1 as pb;
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::Resume;
use crate::journal::Journal;
use crate::merkle::{leaf_hash, Hash, MerkleTree};
use crate::state::State;

/// Entries between two periodic snapshots. A restart replays at most this
/// many (about 1–2 s of replay on a small machine).
pub const DEFAULT_EVERY_ENTRIES: u64 = 200_000;

/// First bytes of a snapshot file; the version changes with the format.
const MAGIC: &[u8] = b"carbon-ledger snapshot v1\n";

/// The sources of every type in the image and of the code that computes
/// it; a snapshot is used only by a build with the same sources.
const STATE_SOURCES: &[&str] = &[
    include_str!("state/mod.rs"),
    include_str!("state/allocation.rs"),
    include_str!("state/auction.rs"),
    include_str!("state/block.rs"),
    include_str!("state/compliance.rs"),
    include_str!("state/events.rs"),
    include_str!("state/image.rs"),
    include_str!("state/mrv.rs"),
    include_str!("state/registry.rs"),
    include_str!("state/trading.rs"),
    include_str!("command.rs"),
    include_str!("num.rs"),
    include_str!("snapshot.rs"),
];

/// What identifies the code that writes and reads snapshots: the SHA-256 of
/// [`STATE_SOURCES`].
pub fn code_id() -> Hash {
    let mut h = Sha256::new();
    for src in STATE_SOURCES {
        h.update((src.len() as u64).to_le_bytes());
        h.update(src);
    }
    h.finalize().into()
}

const STATE_FILE: &str = "state.snapshot";
const STATE_TMP: &str = "state.snapshot.tmp";
const LEAVES_FILE: &str = "leaves.snapshot";

/// What a snapshot body holds, borrowed for writing.
#[derive(Serialize)]
struct BodyRef<'a> {
    tree_size: u64,
    root: Hash,
    last_hash: Hash,
    state: &'a State,
}

/// What a snapshot body holds, owned for reading (same fields, same order).
#[derive(Deserialize)]
struct Body {
    tree_size: u64,
    root: Hash,
    last_hash: Hash,
    state: State,
}

/// The snapshots of one ledger folder: when the next one is due, and the
/// write in flight.
pub struct Snapshots {
    dir: PathBuf,
    /// Entries between periodic snapshots; `None`: only when asked.
    every_entries: Option<u64>,
    /// Tree size of the last snapshot written (or loaded).
    last_size: u64,
    /// Tree size at which the last snapshot was started: the next is due
    /// `every_entries` after it, even if that one failed (a failing disk
    /// must not cost an encoding at every commit).
    last_started: u64,
    /// Leaf hashes known to be in the leaves file (those of the last
    /// snapshot written or loaded).
    leaves_on_disk: u64,
    /// The write in progress; it returns the new snapshot's tree size.
    in_flight: Option<JoinHandle<io::Result<u64>>>,
    /// Bytes of the last body encoded: the next one is about as large, so
    /// its buffer is allocated once instead of grown by copying.
    last_body_bytes: usize,
}

impl Snapshots {
    /// Snapshots of the ledger in `dir`; `last_size` is the tree size of the
    /// snapshot loaded at start (0 if none).
    pub fn new(dir: &Path, every_entries: Option<u64>, last_size: u64) -> Snapshots {
        Snapshots {
            dir: dir.to_path_buf(),
            every_entries,
            last_size,
            last_started: last_size,
            leaves_on_disk: last_size,
            in_flight: None,
            last_body_bytes: 0,
        }
    }

    /// Tree size of the last snapshot written or loaded (0: none).
    pub fn last_size(&self) -> u64 {
        self.last_size
    }

    /// Tree size at which the last snapshot was started (for tests).
    #[cfg(test)]
    pub(crate) fn last_started(&self) -> u64 {
        self.last_started
    }

    /// Changes how often periodic snapshots are taken (`None`: never).
    pub fn set_every_entries(&mut self, every: Option<u64>) {
        self.every_entries = every;
    }

    /// Called after each commit: starts a snapshot in the background if
    /// one is due and none is being written.
    pub fn after_commit(&mut self, state: &State, tree: &MerkleTree) {
        let Some(every) = self.every_entries else { return };
        // Reap a finished write first: one at a time.
        if !self.collect(false) || tree.len() < self.last_started.saturating_add(every) {
            return;
        }
        self.last_started = tree.len();
        let job = self.job(state, tree);
        let spawned = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || job.write());
        match spawned {
            Ok(handle) => self.in_flight = Some(handle),
            Err(e) => tracing::warn!("could not start a snapshot: {e}"),
        }
    }

    /// Writes a snapshot now and waits for it (after any in flight).
    pub fn take_now(&mut self, state: &State, tree: &MerkleTree) -> io::Result<()> {
        self.collect(true);
        if tree.len() == self.last_size {
            return Ok(());
        }
        let size = self.job(state, tree).write()?;
        self.written(size);
        Ok(())
    }

    /// Reaps a finished write (waiting for it if `wait`); false while one is
    /// still running.
    fn collect(&mut self, wait: bool) -> bool {
        let Some(handle) = self.in_flight.take() else {
            return true;
        };
        if !wait && !handle.is_finished() {
            self.in_flight = Some(handle);
            return false;
        }
        match handle.join() {
            Ok(Ok(size)) => self.written(size),
            Ok(Err(e)) => tracing::warn!("a snapshot could not be written (the journal is unaffected): {e}"),
            Err(_) => tracing::warn!("the snapshot thread panicked (the journal is unaffected)"),
        }
        true
    }

    fn written(&mut self, size: u64) {
        tracing::info!("snapshot written at {size} journal entries");
        self.last_size = size;
        self.leaves_on_disk = size;
    }

    /// Encodes the state here; the job does the I/O.
    fn job(&mut self, state: &State, tree: &MerkleTree) -> Job {
        let started = std::time::Instant::now();
        let leaves = tree.leaves();
        let tree_size = tree.len();
        let buffer = Vec::with_capacity(self.last_body_bytes + self.last_body_bytes / 4);
        let body = postcard::to_extend(
            &BodyRef {
                tree_size,
                root: tree.root(),
                last_hash: leaves.last().copied().unwrap_or([0; 32]),
                state,
            },
            buffer,
        )
        .expect("the state serializes: every type in it is plain data");
        self.last_body_bytes = body.len();
        tracing::info!(
            "snapshot at {tree_size} entries: state encoded in {} ms ({} KiB)",
            started.elapsed().as_millis(),
            body.len() / 1024
        );
        let from = usize::try_from(self.leaves_on_disk)
            .unwrap_or(usize::MAX)
            .min(leaves.len());
        Job {
            dir: self.dir.clone(),
            tree_size,
            leaves_from: from as u64,
            new_leaves: leaves[from..].to_vec(),
            body,
        }
    }
}

impl Drop for Snapshots {
    /// No snapshot write outlives its node (a reopened ledger must not see
    /// a rename land under it).
    fn drop(&mut self) {
        self.collect(true);
    }
}

/// One snapshot to write.
struct Job {
    dir: PathBuf,
    tree_size: u64,
    /// Where `new_leaves` go in the leaves file (leaf index).
    leaves_from: u64,
    new_leaves: Vec<Hash>,
    body: Vec<u8>,
}

impl Job {
    /// Appends the leaves, then replaces the state file; both synced.
    fn write(self) -> io::Result<u64> {
        let mut leaves = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(self.dir.join(LEAVES_FILE))?;
        leaves.set_len(self.leaves_from * 32)?;
        leaves.seek(SeekFrom::End(0))?;
        let mut buf = io::BufWriter::with_capacity(1 << 20, &mut leaves);
        for leaf in &self.new_leaves {
            buf.write_all(leaf)?;
        }
        buf.flush()?;
        drop(buf);
        leaves.sync_data()?;

        let tmp = self.dir.join(STATE_TMP);
        let mut f = File::create(&tmp)?;
        let mut hasher = Sha256::new();
        let len = (self.body.len() as u64).to_le_bytes();
        for part in [MAGIC, &code_id(), &len, &self.body] {
            hasher.update(part);
            f.write_all(part)?;
        }
        f.write_all(&hasher.finalize())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, self.dir.join(STATE_FILE))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(self.tree_size)
    }
}

/// Loads the snapshot of the ledger in `dir` and checks it against its
/// journal. `Ok(None)`: there is none. `Err`: there is one but it cannot be
/// used (the caller replays from the genesis).
pub fn load(dir: &Path, journal: &Journal) -> Result<Option<Resume>, String> {
    let bytes = match fs::read(dir.join(STATE_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {STATE_FILE}: {e}")),
    };
    let body = checked_body(&bytes)?;
    let Body {
        tree_size,
        root,
        last_hash,
        state,
    } = postcard::from_bytes(body).map_err(|e| format!("the snapshot does not decode: {e}"))?;
    if tree_size == 0 {
        return Err("the snapshot holds no entry".into());
    }

    // It is a snapshot of this journal: its last leaf is entry n - 1's hash.
    let last = journal
        .raw(tree_size - 1)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the snapshot is at {tree_size} entries but the journal is shorter"))?;
    if leaf_hash(&last) != last_hash {
        return Err(format!(
            "journal entry {} is not the one the snapshot was taken after",
            tree_size - 1
        ));
    }
    let tree = read_leaves(&dir.join(LEAVES_FILE), tree_size)?;
    if tree.root() != root || tree.leaves().last() != Some(&last_hash) {
        return Err("the stored leaf hashes do not give the snapshot's Merkle root".into());
    }
    let genesis = journal
        .raw(0)
        .map_err(|e| e.to_string())?
        .and_then(|raw| pb::JournalEntry::decode(raw.as_slice()).ok())
        .and_then(|e| match e.input {
            Some(pb::journal_entry::Input::Genesis(g)) => Some(g),
            _ => None,
        })
        .ok_or("journal entry 0 is not a genesis")?;
    Ok(Some(Resume {
        state,
        genesis,
        tree,
        last_hash,
    }))
}

/// The body of a snapshot file, once its magic, length and checksum hold.
fn checked_body(bytes: &[u8]) -> Result<&[u8], String> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a snapshot of this version (magic)")?;
    let rest = rest
        .strip_prefix(code_id().as_slice())
        .ok_or("written by another build of the state machine")?;
    if rest.len() < 8 + 32 {
        return Err("the snapshot is truncated".into());
    }
    let (len, rest) = rest.split_at(8);
    let len = u64::from_le_bytes(len.try_into().expect("8 bytes"));
    if rest.len() as u64 != len.saturating_add(32) {
        return Err("the snapshot is truncated or has trailing bytes".into());
    }
    let (body, sum) = rest.split_at(rest.len() - 32);
    let expected = Sha256::digest(&bytes[..bytes.len() - 32]);
    if expected.as_slice() != sum {
        return Err("the snapshot's checksum does not match".into());
    }
    Ok(body)
}

/// The Merkle tree of the first `n` stored leaves, recomputed.
fn read_leaves(path: &Path, n: u64) -> Result<MerkleTree, String> {
    let mut f = File::open(path).map_err(|e| format!("opening {LEAVES_FILE}: {e}"))?;
    let bytes = usize::try_from(n.saturating_mul(32)).map_err(|_| "too many leaves".to_string())?;
    let mut buf = vec![0u8; bytes];
    f.read_exact(&mut buf)
        .map_err(|e| format!("{LEAVES_FILE} holds fewer than {n} leaf hashes: {e}"))?;
    let mut tree = MerkleTree::with_capacity(n as usize);
    for leaf in buf.chunks_exact(32) {
        tree.push(leaf.try_into().expect("32 bytes"));
    }
    Ok(tree)
}
