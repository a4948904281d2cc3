//! Snapshots: the state after the first `n` journal entries, kept beside
//! the journal so that a restart replays only the entries after it.
//!
//! A snapshot is a cache, never a source of truth. The journal is the
//! ledger; `carbon audit verify` ignores snapshots and replays from the
//! genesis. A snapshot is used only when everything about it checks out,
//! otherwise the node warns and replays the whole journal:
//!
//! - its bytes carry a SHA-256 trailer and a version (against accidents
//!   only: anyone who edits the file can recompute them);
//! - the last leaf hash it names is the hash of journal entry `n - 1`, which
//!   by the hash chain commits to every entry before it;
//! - **its state hashes to the digest the journal records for it.**
//!   Entry `n - 1` is a `StateDigest`, appended by the node when it took the
//!   snapshot, or a `SnapshotMark` whose digest a later `StateDigest` entry
//!   (named in the file's header) records: the SHA-256 of exactly the state
//!   bytes the snapshot holds ([`state_digest`]). The entry is a leaf of the Merkle tree, and the
//!   node resumes only if the stored checkpoint, checked against the
//!   operator's key and the tree, covers it (the node signs the batch that
//!   records a digest before writing the snapshot); `carbon audit verify`
//!   recomputes the digest from the state its replay reaches there. So an
//!   edited state cannot load, whatever checksum it carries, and a replica
//!   handed a snapshot can check it against the signed journal the same way;
//! - the Merkle root recomputed from the stored leaf hashes is the root it
//!   names;
//! - the entries after it replay with exactly their stored outcomes (the
//!   usual checks of [`crate::audit`]);
//! - it was written by the same state-machine code (the code id): postcard
//!   carries no field names, so a snapshot of another layout could decode
//!   into nonsense. A build that changes the state machine replays the
//!   whole journal once, then writes its own snapshots.
//!
//! The entries before the snapshot are not replayed again at start-up: the
//! node trusts its own journal (checking every entry is `carbon audit
//! verify`'s job, and it ignores snapshot files), but not the file beside
//! it: the state it loads is the one the journal's digest names.
//!
//! A `StateDigest` entry is a journal entry like any other (a sequence
//! number, a leaf of the tree), signed by no client, changing nothing, its
//! outcome `ok`. It records the [code id](code_id) of the build that
//! encoded the state: a replay by another build whose encoding differs
//! cannot recompute it, and says so rather than call it wrong
//! ([`crate::audit`]).
//!
//! # Files (in the ledger's folder, beside sled's)
//!
//! - `state.snapshot`: `MAGIC`, the [code id](code_id), the body's length
//!   (u64 LE), the body (postcard: tree size, root, last leaf hash, then
//!   the state, see [`crate::state::image`], whose bytes alone are what
//!   the journal's digest covers) and the SHA-256 of everything before it.
//!   Written to a temporary file, synced, then renamed over the old one, so a
//!   crash leaves either the old snapshot or the new one.
//! - `leaves.snapshot`: every leaf hash of the Merkle tree, 32 bytes each,
//!   appended at each snapshot; only the first `n` belong to the snapshot
//!   (a crash between the two writes leaves extra ones, which are ignored
//!   and overwritten).
//!
//! # When
//!
//! A periodic snapshot falls due at the commit that passes every
//! [`DEFAULT_EVERY_ENTRIES`] entries (`serve --snapshot-every`). The
//! sequencer does not encode it: it appends a `SnapshotMark` entry to the
//! batch, and once the batch is durable hands the position to an encoder
//! ([`EncodeAt`]), a [replica](crate::replica) of the state that follows
//! the journal as it becomes durable, so that at the mark it has little
//! left to apply. A node alone has its own (a thread seeded at open, told
//! each durable length by one channel send per commit, reading the entries
//! back); the server gives it its read view's replica instead
//! ([`Snapshots::encode_with`]), which saves a copy of the state and an
//! application of every command. The encoder encodes the state at the mark
//! and wakes the sequencer, whose next commit
//! appends a `StateDigest` entry recording the digest for the mark's
//! position (`tree_size` = the mark's sequence number + 1); the snapshot is
//! written, on a thread of its own, once that entry is durable. The file's
//! header names the digest's entry. One at a time: a snapshot falls due
//! only when the previous one is written.
//!
//! A snapshot asked for ([`crate::node::Node::snapshot`]: at a clean
//! shutdown and at the end of `carbon replay --data`) is encoded on the
//! caller's thread, its digest entry (`tree_size` = its own sequence
//! number) appended and committed, and written before the call returns; a
//! clean stop thus adds one entry to the journal, unless the last snapshot
//! is already at its end.
//!
//! # Cost
//!
//! The digest is the SHA-256 of bytes the snapshot encodes anyway: at a
//! million entries (4–7 MB of state) 3–5 ms beside an encoding of
//! 45–160 ms (measured on a busy 2-core machine, SHA-NI), and one journal
//! entry of about 120 bytes. Nothing is computed per batch. Loading a
//! snapshot hashes its state bytes once more (the same 3–5 ms). A replay
//! (start-up without a snapshot, or the audit) recomputes the digest at
//! each `StateDigest` entry it meets, encoding the state straight into the
//! hash: 50–200 ms at a million entries, once per snapshot interval, a few
//! per cent of a replay. Off the sequencer, a replica of the encoder's own
//! costs a copy of the state in memory and each command applied once more,
//! on its thread, as batches become durable; the server's read view, which
//! it has anyway, costs neither. (Applying a whole interval at the mark
//! instead took a core for half a second at 50,000 entries, which on two
//! cores showed at p99: BENCHMARKS.md.)

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use carbon_proto::v1 as pb;
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::Resume;
use crate::journal::{Journal, JournalReader};
use crate::merkle::{leaf_hash, Hash, MerkleTree};
use crate::replica::Replica;
use crate::state::State;

/// Entries between two periodic snapshots. A restart replays at most this
/// many (about 1–2 s of replay on a small machine).
pub const DEFAULT_EVERY_ENTRIES: u64 = 200_000;

/// First bytes of a snapshot file; the version changes with the format.
/// (v2: the snapshot ends at a `StateDigest` entry of the journal; v3: or
/// at a `SnapshotMark`, and the header names the digest's entry.)
const MAGIC: &[u8] = b"carbon-ledger snapshot v3\n";

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
/// [`STATE_SOURCES`] (computed once).
pub fn code_id() -> Hash {
    static ID: OnceLock<Hash> = OnceLock::new();
    *ID.get_or_init(|| {
        let mut h = Sha256::new();
        for src in STATE_SOURCES {
            h.update((src.len() as u64).to_le_bytes());
            h.update(src);
        }
        h.finalize().into()
    })
}

/// The digest a `StateDigest` journal entry records for `state`: the
/// SHA-256 of its snapshot encoding, the bytes a snapshot file holds after
/// its header. Encoded straight into the hash (a replay computes it
/// without holding a copy of the state's bytes); the node hashes the
/// snapshot's own buffer instead, which gives the same digest.
pub fn state_digest(state: &State) -> Hash {
    postcard::serialize_with_flavor(state, HashFlavor::default())
        .expect("the state serializes: every type in it is plain data")
}

/// A postcard output that hashes what it is given, through a small buffer
/// (postcard writes varints a byte at a time).
struct HashFlavor {
    hasher: Sha256,
    buf: Vec<u8>,
}

impl HashFlavor {
    const BUF_BYTES: usize = 64 * 1024;
}

impl Default for HashFlavor {
    fn default() -> HashFlavor {
        HashFlavor {
            hasher: Sha256::new(),
            buf: Vec::with_capacity(Self::BUF_BYTES),
        }
    }
}

impl postcard::ser_flavors::Flavor for HashFlavor {
    type Output = Hash;

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        if self.buf.len() == Self::BUF_BYTES {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        self.buf.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if self.buf.len() + data.len() > Self::BUF_BYTES {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        if data.len() >= Self::BUF_BYTES {
            self.hasher.update(data);
        } else {
            self.buf.extend_from_slice(data);
        }
        Ok(())
    }

    fn finalize(mut self) -> postcard::Result<Hash> {
        self.hasher.update(&self.buf);
        Ok(self.hasher.finalize().into())
    }
}

/// The journal entry, appended at `seq` after `prev_hash`, that records
/// `digest` as the state after the first `tree_size` entries: `seq` itself
/// when the state was encoded in the batch that writes it, or the size
/// after an earlier [`mark_entry`].
pub fn digest_entry(seq: u64, prev_hash: Hash, tree_size: u64, digest: Hash) -> pb::JournalEntry {
    debug_assert!(tree_size <= seq);
    pb::JournalEntry {
        seq,
        prev_hash: prev_hash.to_vec(),
        input: Some(pb::journal_entry::Input::StateDigest(pb::StateDigest {
            tree_size,
            sha256: digest.to_vec(),
            code_id: code_id().to_vec(),
        })),
        outcome: Some(pb::Outcome {
            ok: true,
            ..Default::default()
        }),
    }
}

/// The journal entry, appended at `seq` after `prev_hash`, that marks where
/// a snapshot is taken while the market goes on: the state after it is
/// encoded on another thread, and its digest recorded later.
pub fn mark_entry(seq: u64, prev_hash: Hash) -> pb::JournalEntry {
    pb::JournalEntry {
        seq,
        prev_hash: prev_hash.to_vec(),
        input: Some(pb::journal_entry::Input::SnapshotMark(pb::SnapshotMark {})),
        outcome: Some(pb::Outcome {
            ok: true,
            ..Default::default()
        }),
    }
}

/// A state encoded for a snapshot, with its digest. The digest goes into
/// the journal (a `StateDigest` entry) before the snapshot is written.
pub struct EncodedState {
    bytes: Vec<u8>,
    digest: Hash,
}

impl EncodedState {
    /// [`state_digest`] of the encoded state.
    pub fn digest(&self) -> Hash {
        self.digest
    }
}

const STATE_FILE: &str = "state.snapshot";
const STATE_TMP: &str = "state.snapshot.tmp";
const LEAVES_FILE: &str = "leaves.snapshot";

/// What a snapshot body holds before the state (postcard writes a struct
/// as its fields one after the other, so the body is this header's bytes
/// followed by the state's, and the state's bytes can be hashed alone).
#[derive(Serialize, Deserialize)]
struct Header {
    tree_size: u64,
    root: Hash,
    last_hash: Hash,
    /// The journal entry that records the state's digest: `tree_size - 1`
    /// (the snapshot ends at its digest), or a later one (it ends at a mark).
    digest_seq: u64,
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
    /// Bytes of the last state encoded: the next one is about as large, so
    /// its buffer is allocated once instead of grown by copying.
    last_state_bytes: usize,
    /// What encodes periodic snapshots off the sequencer, and the
    /// encoding in flight.
    encoder: Option<Encoder>,
    /// Called from the encoding thread once its state is encoded, so that
    /// an idle sequencer records the digest without waiting for a command.
    on_encoded: Arc<Mutex<Option<OnEncoded>>>,
}

/// What the encoder thread calls once an encoding is ready.
type OnEncoded = Arc<dyn Fn() + Send + Sync>;

/// A replica that follows the durable journal and encodes its state at a
/// mark, off the writer's thread: the node's own ([`Snapshots::seed`]: a
/// thread and a copy of the state), or one it shares with readers (the
/// server's read view, so that a server holds two copies of the state and
/// applies each command twice, not three times).
pub trait EncodeAt: Send {
    /// The journal is durable up to `len` (called after every commit: it
    /// must be cheap and never block).
    fn follow(&mut self, len: u64);
    /// Asks for the state after the first `len` entries (the last one a
    /// durable `SnapshotMark`), encoded with [`encode`] into a buffer of
    /// about `capacity` bytes, given to `done` from another thread once the
    /// replica reaches `len`. Called on the writer's thread right after the
    /// mark's flush and before the writer says it is durable to anyone
    /// else, so the replica cannot have gone past it. Returns `done` when
    /// the request cannot be taken (the replica is gone or behind by too
    /// much); dropping `done` unanswered reports a failure.
    fn encode_at(&mut self, len: u64, capacity: usize, done: EncodeDone) -> Result<(), EncodeDone>;
}

/// Where an [`EncodeAt`] hands its encoding: answered exactly once (or, if
/// dropped unanswered, with an error), so that a writer waiting for it is
/// never left waiting.
pub struct EncodeDone {
    result: Arc<Mutex<Option<Result<EncodedState, String>>>>,
    on_encoded: Arc<Mutex<Option<OnEncoded>>>,
    answered: bool,
}

impl EncodeDone {
    /// Hands the encoding (or why there is none) to the writer.
    pub fn send(mut self, encoded: Result<EncodedState, String>) {
        self.answer(encoded);
    }

    fn answer(&mut self, encoded: Result<EncodedState, String>) {
        self.answered = true;
        *self.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(encoded);
        if let Some(f) = self.on_encoded.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            f();
        }
    }
}

impl Drop for EncodeDone {
    fn drop(&mut self) {
        if !self.answered {
            self.answer(Err("the snapshot encoder stopped before encoding".into()));
        }
    }
}

/// The encoder of periodic snapshots and its encoding in flight.
struct Encoder {
    source: Box<dyn EncodeAt>,
    /// The result of the encoding asked for, once done.
    done: Arc<Mutex<Option<Result<EncodedState, String>>>>,
    /// The writer's tree at the mark of the encoding in flight.
    in_flight: Option<MerkleTree>,
}

/// Jobs for [`ReplicaEncoder`]'s thread.
enum EncoderJob {
    /// The journal is durable up to here: apply the entries up to it.
    Follow(u64),
    /// Apply up to here (a durable mark) and encode.
    Encode(u64, usize, EncodeDone),
}

/// Most jobs queued for the encoder thread (a `Follow` that finds the
/// queue full is dropped: the next one goes further).
const ENCODER_JOBS: usize = 1024;

/// The node's own encoder: a thread with a replica that applies each
/// durable batch as it comes (so that a snapshot costs one encoding, not
/// the application of a whole interval's entries at once), and encodes
/// when a mark asks.
struct ReplicaEncoder {
    jobs: Option<mpsc::SyncSender<EncoderJob>>,
    thread: Option<JoinHandle<()>>,
}

impl ReplicaEncoder {
    fn start(mut replica: Replica, journal: JournalReader) -> io::Result<ReplicaEncoder> {
        let (jobs, rx) = mpsc::sync_channel(ENCODER_JOBS);
        let thread = std::thread::Builder::new()
            .name("snapshot-encode".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let (until, encode_into) = match job {
                        EncoderJob::Follow(until) => (until, None),
                        EncoderJob::Encode(until, capacity, done) => (until, Some((capacity, done))),
                    };
                    let caught_up = catch_up(&mut replica, &journal, until);
                    let failed = caught_up.is_err();
                    match (caught_up, encode_into) {
                        (Ok(()), Some((capacity, done))) => done.send(Ok(encode(replica.state(), capacity))),
                        (Err(why), Some((_, done))) => done.send(Err(why)),
                        (Err(why), None) => tracing::error!("the snapshot encoder stopped: {why}"),
                        (Ok(()), None) => {}
                    }
                    if failed {
                        return; // the replica is unusable: no more periodic snapshots
                    }
                }
            })?;
        Ok(ReplicaEncoder {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }
}

impl EncodeAt for ReplicaEncoder {
    fn follow(&mut self, len: u64) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.try_send(EncoderJob::Follow(len));
        }
    }

    fn encode_at(&mut self, len: u64, capacity: usize, done: EncodeDone) -> Result<(), EncodeDone> {
        let Some(jobs) = &self.jobs else { return Err(done) };
        jobs.try_send(EncoderJob::Encode(len, capacity, done))
            .map_err(|e| match e {
                mpsc::TrySendError::Full(EncoderJob::Encode(.., done))
                | mpsc::TrySendError::Disconnected(EncoderJob::Encode(.., done)) => done,
                _ => unreachable!("an Encode job was sent"),
            })
    }
}

impl Drop for ReplicaEncoder {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
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
            last_state_bytes: 0,
            encoder: None,
            on_encoded: Arc::default(),
        }
    }

    /// Starts the node's own encoder thread on `replica` (a copy of the
    /// node's state), which reads the entries it lacks from `journal`.
    /// Without an encoder, periodic snapshots are not taken.
    pub fn seed(&mut self, replica: Replica, journal: JournalReader) {
        match ReplicaEncoder::start(replica, journal) {
            Ok(encoder) => self.encode_with(Box::new(encoder)),
            Err(e) => tracing::warn!("could not start the snapshot encoder (no periodic snapshots): {e}"),
        }
    }

    /// Periodic snapshots are encoded by `source` from now on (any encoder
    /// before it, and its replica, are dropped).
    pub fn encode_with(&mut self, source: Box<dyn EncodeAt>) {
        self.encoder = Some(Encoder {
            source,
            done: Arc::default(),
            in_flight: None,
        });
    }

    /// Sets what to call when an encoding is ready.
    pub fn on_encoded(&mut self, f: Arc<dyn Fn() + Send + Sync>) {
        *self.on_encoded.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
    }

    /// The journal is durable up to `len`: the encoder follows (one
    /// channel send; dropped when its queue is full).
    pub fn follow(&mut self, len: u64) {
        if let Some(e) = &mut self.encoder {
            e.source.follow(len);
        }
    }

    /// Ends the encoder thread (no periodic snapshot is taken after).
    pub fn stop_encoder(&mut self) {
        self.encoder = None;
    }

    /// Whether the encoder thread runs (seeded, and not stopped).
    pub fn has_encoder(&self) -> bool {
        self.encoder.is_some()
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

    /// Called at each commit, before the flush: whether a periodic snapshot
    /// falls due (and none is being written). If so, the caller records the
    /// state ([`Snapshots::encode`], then a `StateDigest` entry) in the
    /// batch and, once it is durable, hands it to [`Snapshots::start`]. The
    /// next one is due an interval after this one, even if this one fails
    /// (a failing disk must not cost an encoding at every commit).
    pub fn due(&mut self, tree_len: u64) -> bool {
        let Some(every) = self.every_entries else { return false };
        // Reap a finished write first: one at a time, and one encoding.
        if !self.collect(false)
            || self.encoder.as_ref().is_none_or(|e| e.in_flight.is_some())
            || tree_len < self.last_started.saturating_add(every)
        {
            return false;
        }
        self.last_started = tree_len;
        true
    }

    /// Waits for the write in flight, if any.
    pub fn wait(&mut self) {
        self.collect(true);
    }

    /// Encodes the state and digests the bytes on the caller's thread (a
    /// snapshot asked for: at a clean stop, at the end of a replay).
    pub fn encode(&mut self, state: &State) -> EncodedState {
        let encoded = encode(state, self.last_state_bytes);
        self.last_state_bytes = encoded.bytes.len();
        encoded
    }

    /// Asks the encoder for the state at the end of `tree` (whose last
    /// entry is a durable mark): it applies the entries it lacks and
    /// encodes, on its own thread. Called right after [`Snapshots::due`]
    /// said yes and the mark became durable.
    pub fn start_encoding(&mut self, tree: MerkleTree) {
        let capacity = self.last_state_bytes;
        let Some(e) = self.encoder.as_mut() else { return };
        *e.done.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let done = EncodeDone {
            result: e.done.clone(),
            on_encoded: self.on_encoded.clone(),
            answered: false,
        };
        match e.source.encode_at(tree.len(), capacity, done) {
            Ok(()) => e.in_flight = Some(tree),
            Err(mut done) => {
                done.answered = true; // nothing is in flight: no answer to give
                tracing::warn!("the snapshot encoder is behind or gone: no snapshot at {}", tree.len())
            }
        }
    }

    /// Whether an encoding is in flight or waits for its digest entry.
    pub fn encoding(&self) -> bool {
        self.encoder.as_ref().is_some_and(|e| e.in_flight.is_some())
    }

    /// Whether an encoding has finished and waits for its digest entry.
    pub fn encoded_ready(&self) -> bool {
        self.encoder
            .as_ref()
            .is_some_and(|e| e.in_flight.is_some() && e.done.lock().unwrap_or_else(|p| p.into_inner()).is_some())
    }

    /// The finished encoding, if any (waiting for it when `wait`): the tree
    /// at its mark and the encoded state.
    pub fn take_encoded(&mut self, wait: bool) -> Option<(MerkleTree, EncodedState)> {
        if !self.encoding() {
            return None;
        }
        if wait {
            // Every encoding asked for is answered (`EncodeDone`).
            while !self.encoded_ready() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        if !self.encoded_ready() {
            return None;
        }
        let e = self.encoder.as_mut()?;
        let tree = e.in_flight.take()?;
        let result = e.done.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        match result {
            Ok(encoded) => {
                self.last_state_bytes = encoded.bytes.len();
                Some((tree, encoded))
            }
            Err(why) => {
                tracing::error!("the snapshot encoder stopped (no more periodic snapshots): {why}");
                self.encoder = None;
                None
            }
        }
    }

    /// Writes a snapshot of `state` at the end of `tree` on a thread of its
    /// own, once the entry recording its digest (`digest_seq`: the tree's
    /// last entry, or a later one after a mark) is durable.
    pub fn start(&mut self, state: EncodedState, tree: &MerkleTree, digest_seq: u64) {
        self.collect(true);
        let job = self.job(state, tree, digest_seq);
        let spawned = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || job.write());
        match spawned {
            Ok(handle) => self.in_flight = Some(handle),
            Err(e) => tracing::warn!("could not start a snapshot: {e}"),
        }
    }

    /// Writes a snapshot of `state` now and waits for it (after any in
    /// flight); the tree's last leaf is its durable `StateDigest` entry.
    pub fn write_now(&mut self, state: EncodedState, tree: &MerkleTree) -> io::Result<()> {
        self.collect(true);
        let size = self.job(state, tree, tree.len() - 1).write()?;
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

    /// What the writer needs: the header, the state's bytes, the new leaves.
    fn job(&mut self, state: EncodedState, tree: &MerkleTree, digest_seq: u64) -> Job {
        let tree_size = tree.len();
        let header = postcard::to_allocvec(&Header {
            tree_size,
            root: tree.root(),
            last_hash: tree_size.checked_sub(1).and_then(|i| tree.leaf(i)).unwrap_or([0; 32]),
            digest_seq,
        })
        .expect("the header serializes");
        let from = self.leaves_on_disk.min(tree_size);
        Job {
            dir: self.dir.clone(),
            tree_size,
            leaves_from: from,
            new_leaves: tree.leaves_from(from),
            header,
            state: state.bytes,
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

/// Metric (histogram): seconds to encode and digest a snapshot's state,
/// wherever that runs (the encoding thread, or the caller at a clean stop).
pub const ENCODE_SECONDS: &str = "carbon_snapshot_encode_seconds";

/// Metric (histogram): seconds to write and sync a snapshot's files.
pub const WRITE_SECONDS: &str = "carbon_snapshot_write_seconds";

/// Describes the snapshot metrics to the recorder installed (the server's
/// exporter); without one they are recorded into nothing. A few per
/// snapshot, never per command.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        ENCODE_SECONDS,
        metrics::Unit::Seconds,
        "Time to encode a snapshot of the state and digest its bytes (SHA-256)."
    );
    metrics::describe_histogram!(
        WRITE_SECONDS,
        metrics::Unit::Seconds,
        "Time to write a snapshot's leaf hashes and state to disk and sync them."
    );
}

/// Encodes `state` for a snapshot into a buffer of about `capacity` bytes
/// (the last encoding's size: allocated once rather than grown by copying)
/// and digests the bytes ([`state_digest`]).
pub fn encode(state: &State, capacity: usize) -> EncodedState {
    let started = std::time::Instant::now();
    let buffer = Vec::with_capacity(capacity + capacity / 4);
    let bytes = postcard::to_extend(state, buffer).expect("the state serializes: every type in it is plain data");
    let encoded = started.elapsed();
    let digest: Hash = Sha256::digest(&bytes).into();
    metrics::histogram!(ENCODE_SECONDS).record(started.elapsed());
    tracing::info!(
        "state encoded in {} ms ({} KiB), digested in {} ms",
        encoded.as_millis(),
        bytes.len() / 1024,
        (started.elapsed() - encoded).as_millis()
    );
    EncodedState { bytes, digest }
}

/// Applies the durable entries the encoder replica lacks, up to `until`.
fn catch_up(replica: &mut Replica, journal: &JournalReader, until: u64) -> Result<(), String> {
    for item in journal.range_raw(replica.len(), until) {
        let (seq, raw) = item.map_err(|e| e.to_string())?;
        replica.apply(seq, &raw).map_err(|e| e.to_string())?;
    }
    if replica.len() != until {
        return Err(format!("the journal ends at {} entries, not {until}", replica.len()));
    }
    Ok(())
}

/// One snapshot to write.
struct Job {
    dir: PathBuf,
    tree_size: u64,
    /// Where `new_leaves` go in the leaves file (leaf index).
    leaves_from: u64,
    new_leaves: Vec<Hash>,
    /// The body: the header's bytes, then the state's.
    header: Vec<u8>,
    state: Vec<u8>,
}

impl Job {
    /// [`Job::write_files`], timed ([`WRITE_SECONDS`]) when it succeeds.
    fn write(self) -> io::Result<u64> {
        let started = std::time::Instant::now();
        let size = self.write_files()?;
        metrics::histogram!(WRITE_SECONDS).record(started.elapsed());
        Ok(size)
    }

    /// Appends the leaves, then replaces the state file; both synced.
    fn write_files(self) -> io::Result<u64> {
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
        let len = ((self.header.len() + self.state.len()) as u64).to_le_bytes();
        for part in [MAGIC, &code_id(), &len, &self.header, &self.state] {
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
    let (
        Header {
            tree_size,
            root,
            last_hash,
            digest_seq,
        },
        state_bytes,
    ) = postcard::take_from_bytes::<Header>(body).map_err(|e| format!("the snapshot does not decode: {e}"))?;
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
    // Its state is the one the journal vouches for at that position: the
    // checksum above only catches accidents.
    let recorded = recorded_digest(journal, &last, tree_size, digest_seq)?;
    if <Hash>::from(Sha256::digest(state_bytes)) != recorded {
        return Err(format!(
            "its state does not hash to the digest journal entry {digest_seq} records (the state was altered)"
        ));
    }
    let state: State =
        postcard::from_bytes(state_bytes).map_err(|e| format!("the snapshot's state does not decode: {e}"))?;
    let tree = read_leaves(&dir.join(LEAVES_FILE), tree_size)?;
    if tree.root() != root || tree.len().checked_sub(1).and_then(|i| tree.leaf(i)) != Some(last_hash) {
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
        digest_seq,
        digest: recorded,
    }))
}

/// The state digest the journal records for a snapshot of `tree_size`
/// entries whose last entry is `last` (raw bytes): that entry itself is
/// the digest (`digest_seq = tree_size - 1`), or it is a mark and entry
/// `digest_seq` after it records the digest of the state at `tree_size`.
fn recorded_digest(journal: &Journal, last: &[u8], tree_size: u64, digest_seq: u64) -> Result<Hash, String> {
    let decode = |raw: &[u8], seq: u64| {
        pb::JournalEntry::decode(raw).map_err(|e| format!("journal entry {seq} does not decode: {e}"))
    };
    let end = tree_size - 1;
    let (digest, expected_size) = if digest_seq == end {
        (decode(last, end)?, end)
    } else {
        if digest_seq < end
            || !matches!(
                decode(last, end)?.input,
                Some(pb::journal_entry::Input::SnapshotMark(_))
            )
        {
            return Err(format!(
                "journal entry {end}, where the snapshot ends, is neither its digest nor a snapshot mark"
            ));
        }
        let raw = journal
            .raw(digest_seq)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the journal ends before entry {digest_seq}, the snapshot's digest"))?;
        (decode(&raw, digest_seq)?, tree_size)
    };
    match digest.input {
        Some(pb::journal_entry::Input::StateDigest(d)) if d.tree_size == expected_size => d
            .sha256
            .as_slice()
            .try_into()
            .map_err(|_| format!("journal entry {digest_seq} holds a digest of {} bytes", d.sha256.len())),
        _ => Err(format!(
            "journal entry {digest_seq} does not record the digest of the snapshot's state"
        )),
    }
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

/// What someone with write access to the ledger's folder can make of a
/// snapshot file: any header and state, with a valid magic, code id,
/// length and checksum (for tests of what must still refuse it).
#[cfg(test)]
pub(crate) mod forge {
    use super::*;

    pub(crate) struct Parts {
        pub tree_size: u64,
        pub root: Hash,
        pub last_hash: Hash,
        pub digest_seq: u64,
        pub state: State,
    }

    pub(crate) fn read(dir: &Path) -> Parts {
        let bytes = fs::read(dir.join(STATE_FILE)).unwrap();
        let (h, state) = postcard::take_from_bytes::<Header>(checked_body(&bytes).unwrap()).unwrap();
        Parts {
            tree_size: h.tree_size,
            root: h.root,
            last_hash: h.last_hash,
            digest_seq: h.digest_seq,
            state: postcard::from_bytes(state).unwrap(),
        }
    }

    pub(crate) fn write(dir: &Path, p: &Parts) {
        let header = Header {
            tree_size: p.tree_size,
            root: p.root,
            last_hash: p.last_hash,
            digest_seq: p.digest_seq,
        };
        let mut body = postcard::to_allocvec(&header).unwrap();
        body.extend(postcard::to_allocvec(&p.state).unwrap());
        let mut out = [MAGIC, &code_id(), &(body.len() as u64).to_le_bytes(), &body].concat();
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        fs::write(dir.join(STATE_FILE), out).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest a replay computes through [`HashFlavor`] is the SHA-256 of
    /// the bytes the snapshot holds, across the flavor's buffer boundary
    /// (large and small writes both).
    #[test]
    fn the_streamed_digest_is_the_digest_of_the_encoding() {
        let big: (Vec<String>, Vec<u8>, Vec<u64>) = (
            (0..20_000).map(|i| format!("account-{i}")).collect(),
            vec![7; 3 * HashFlavor::BUF_BYTES + 5],
            (0..50_000).map(|i| i * 1_000_003).collect(),
        );
        let streamed = postcard::serialize_with_flavor(&big, HashFlavor::default()).unwrap();
        let bytes = postcard::to_allocvec(&big).unwrap();
        assert!(bytes.len() > 4 * HashFlavor::BUF_BYTES);
        assert_eq!(streamed, <Hash>::from(Sha256::digest(&bytes)));
    }
}
