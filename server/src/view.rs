//! The read view: every query, market-data feed and proof runs here, on a
//! replica of the state, never on the sequencer's thread.
//!
//! # Why a replica
//!
//! The sequencer must never wait for a reader. Three designs were weighed:
//!
//! - **queries on the sequencer between batches** (what this replaced):
//!   linearizable and lock-free, but readers and writers take turns, so a
//!   market with many readers slows its writers;
//! - **a structurally shared state** (`imbl` maps, a persistent order
//!   book) published after every batch: cheap to publish, but every
//!   mutation of the state machine pays path copying, and the matching
//!   engine's arena would have to become a persistent structure;
//! - **a replica that follows the journal** (chosen): the writer only says,
//!   after each flush, how far the journal is durable (a length, a shared
//!   copy of the Merkle tree and the checkpoint: O(log n) pointers, nothing
//!   that grows with the state). A thread of its own reads those entries
//!   back and applies them to a second copy of the state with the same
//!   deterministic state machine ([`carbon_ledger::replica`]). The writer's
//!   code is unchanged, the replica checks every stored outcome as it goes,
//!   and a follower in another city will do exactly the same.
//!
//! The replica costs a second state in memory and one more application of
//! each command on another core (a few microseconds, beside tens for the
//! signature check).
//!
//! # Snapshots
//!
//! The replica also encodes the node's periodic snapshots ([`ViewEncoder`]),
//! so that the server keeps two copies of the state, not three. The
//! sequencer asks for the state at a `SnapshotMark` before it publishes the
//! mark's batch; the view ends a chunk exactly there and encodes under its
//! read lock. Readers go on meanwhile; applying waits, so a read that must
//! see a batch durable after the mark waits for the encoding, and so does
//! the market-data feed: once per snapshot interval, for as long as the
//! encoding takes (0.45–1.2 s at 1.1M entries of the bench's workload, a
//! 47 MB state: BENCHMARKS.md). Writers never wait for it. A separate
//! encoder with a replica of its own has no such pause but costs a third
//! copy of the state and a third application of every command.
//!
//! # What a read sees
//!
//! Only durable entries: the replica is fed entries below the length the
//! sequencer published after its flush, never the batch being written.
//!
//! A read issued after an acknowledgement sees it: the sequencer publishes
//! the durable length *before* it answers a batch, and [`View::read`]
//! first waits until the replica has applied at least the length published
//! when the read began. Reads are therefore never older than any answer
//! their caller has seen; they wait for the replica (microseconds to a
//! millisecond behind), never for a flush.
//!
//! The replica applies a batch in chunks of at most [`APPLY_CHUNK`]
//! entries, each under the write side of a lock that readers take for the
//! length of one closure: a reader waits at most one chunk's application,
//! and may see a state between two chunks of a batch, which is the state
//! after a durable prefix of the journal like any other.
//!
//! # Debug builds
//!
//! The sequencer sends the digest of its state with each batch and the
//! replica asserts, after reaching that length, that its own state encodes
//! to the same bytes: the view equals the writer's state after every batch.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;

use carbon_ledger::journal::JournalReader;
use carbon_ledger::merkle::MerkleTree;
use carbon_ledger::replica::{AppliedEntry, Replica};
use carbon_ledger::snapshot::{EncodeAt, EncodeDone};
use tokio::sync::{broadcast, watch};

use crate::feed::{self, Feed, FEED_CAPACITY};
use crate::sequencer::Unavailable;

/// Most entries applied under one hold of the write lock.
pub const APPLY_CHUNK: usize = 256;

/// Most durable batches published and not yet taken by the view thread.
/// Each is a few dozen pointers; when the view falls this far behind, the
/// oldest are merged into the next (their entries are applied all the
/// same; only the debug check of their digests is skipped).
pub const PUBLISHED_BATCHES: usize = 1024;

/// What the sequencer publishes after each durable batch.
pub struct Durable {
    /// Journal entries durable.
    pub len: u64,
    /// The Merkle tree over them (a structurally shared copy).
    pub tree: MerkleTree,
    /// The signed checkpoint over them.
    pub checkpoint: String,
    /// In debug builds, the digest of the writer's state at `len`.
    pub digest: Option<[u8; 32]>,
}

/// The sequencer's side: publishes durable batches to the view thread.
/// One only: dropping it tells the view thread to finish.
pub struct Publisher {
    shared: Arc<Shared>,
}

impl Publisher {
    /// Called by the sequencer after a batch is durable and before it is
    /// answered.
    pub fn publish(&self, d: Durable) {
        self.shared.durable_len.store(d.len, Ordering::Release);
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.batches.len() >= PUBLISHED_BATCHES {
            q.batches.pop_front();
        }
        q.batches.push_back(d);
        drop(q);
        self.shared.wake.notify_one();
    }
}

impl Drop for Publisher {
    /// The sequencer is gone: the view thread applies what was published
    /// and stops.
    fn drop(&mut self) {
        self.shared.queue.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        self.shared.wake.notify_one();
    }
}

struct Queue {
    batches: VecDeque<Durable>,
    closed: bool,
    /// A periodic snapshot's encoding asked for ([`ViewEncoder`]).
    encode: Option<EncodeRequest>,
}

/// The state at `len` entries, to be encoded when the replica gets there.
struct EncodeRequest {
    len: u64,
    capacity: usize,
    done: EncodeDone,
}

/// The read view's replica as the encoder of periodic snapshots: the node
/// asks it for the state at a mark instead of keeping a third copy of the
/// state that applies every command once more (see the module doc).
pub struct ViewEncoder {
    shared: Arc<Shared>,
}

impl EncodeAt for ViewEncoder {
    /// Nothing to do: the view follows what the sequencer publishes.
    fn follow(&mut self, _len: u64) {}

    fn encode_at(&mut self, len: u64, capacity: usize, done: EncodeDone) -> Result<(), EncodeDone> {
        let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.closed || q.encode.is_some() {
            return Err(done);
        }
        q.encode = Some(EncodeRequest { len, capacity, done });
        Ok(())
    }
}

/// How far the view is, or why it stopped.
#[derive(Clone, Debug)]
struct Progress {
    applied: u64,
    stopped: Option<String>,
}

struct Shared {
    replica: RwLock<Replica>,
    /// The durable length last published by the sequencer.
    durable_len: AtomicU64,
    queue: Mutex<Queue>,
    wake: Condvar,
    progress: watch::Sender<Progress>,
    feed: broadcast::Sender<Arc<Feed>>,
    /// How long reads take, for the operator's metrics.
    read_seconds: metrics::Histogram,
}

/// The readers' side: cheap to clone.
#[derive(Clone)]
pub struct View {
    shared: Arc<Shared>,
    /// The sequencer's failure watch: once the ledger has failed, reads are
    /// refused like everything else (health says NOT_SERVING).
    ledger_failed: watch::Receiver<Option<String>>,
}

/// The view thread.
pub struct ViewThread {
    thread: JoinHandle<()>,
}

impl ViewThread {
    /// Waits for the view thread (it ends once the publisher is dropped and
    /// everything published is applied).
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("the read view thread panicked");
        }
    }
}

/// Starts the view from `replica` (a copy of the node's state, taken before
/// the node went to the sequencer), reading entries from `journal`.
pub fn start(
    replica: Replica,
    journal: JournalReader,
    ledger_failed: watch::Receiver<Option<String>>,
) -> std::io::Result<(ViewThread, Publisher, View)> {
    let applied = replica.len();
    let (feed, _) = broadcast::channel(FEED_CAPACITY);
    let shared = Arc::new(Shared {
        replica: RwLock::new(replica),
        durable_len: AtomicU64::new(applied),
        queue: Mutex::new(Queue {
            batches: VecDeque::new(),
            closed: false,
            encode: None,
        }),
        wake: Condvar::new(),
        progress: watch::Sender::new(Progress { applied, stopped: None }),
        feed,
        read_seconds: crate::telemetry::read_seconds(),
    });
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("read-view".into())
        .spawn(move || run(&worker, &journal))?;
    Ok((
        ViewThread { thread },
        Publisher { shared: shared.clone() },
        View { shared, ledger_failed },
    ))
}

impl View {
    /// Runs `f` on the replica once it has applied everything durable when
    /// the call began (so it sees every acknowledged command), on the
    /// caller's thread, under the read lock: `f` must be cheap and bounded
    /// (one account, one book, one page).
    pub async fn read<T>(&self, f: impl FnOnce(&Replica) -> T) -> Result<T, Unavailable> {
        let started = std::time::Instant::now();
        self.caught_up().await?;
        let replica = self.shared.replica.read().unwrap_or_else(|p| p.into_inner());
        let out = f(&replica);
        drop(replica);
        self.shared.read_seconds.record(started.elapsed());
        Ok(out)
    }

    /// Durable journal entries the replica has not applied yet.
    pub fn lag(&self) -> u64 {
        let applied = self.shared.progress.borrow().applied;
        self.durable_len().saturating_sub(applied)
    }

    /// Waits until the replica has applied the durable length published
    /// when the call began.
    async fn caught_up(&self) -> Result<(), Unavailable> {
        if let Some(why) = self.ledger_failed.borrow().clone() {
            return Err(Unavailable::Failed(why));
        }
        let target = self.durable_len();
        let mut progress = self.shared.progress.subscribe();
        let p = progress
            .wait_for(|p| p.applied >= target || p.stopped.is_some())
            .await
            .map_err(|_| Unavailable::Failed("the read view has stopped".into()))?;
        match &p.stopped {
            Some(why) if p.applied < target => Err(Unavailable::Failed(why.clone())),
            _ => Ok(()),
        }
    }

    /// The journal length durable now, for reads of the journal itself
    /// (its entries and indexes below it); refused, like every read, once
    /// the ledger has failed.
    pub fn durable(&self) -> Result<u64, Unavailable> {
        match self.ledger_failed.borrow().clone() {
            Some(why) => Err(Unavailable::Failed(why)),
            None => Ok(self.durable_len()),
        }
    }

    /// The journal length durable now (what the sequencer last published).
    pub fn durable_len(&self) -> u64 {
        self.shared.durable_len.load(Ordering::Acquire)
    }

    /// Subscribes to what every later durable batch does.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Feed>> {
        self.shared.feed.subscribe()
    }

    /// This view's replica as the node's snapshot encoder.
    pub fn encoder(&self) -> ViewEncoder {
        ViewEncoder {
            shared: self.shared.clone(),
        }
    }
}

/// The view thread: takes published batches, applies their entries, adopts
/// their trees, feeds subscribers.
fn run(shared: &Shared, journal: &JournalReader) {
    loop {
        let batches: Vec<Durable> = {
            let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            while q.batches.is_empty() && !q.closed {
                q = shared.wake.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            if q.batches.is_empty() {
                q.encode = None; // closed and drained: an encoding asked for is refused
                return;
            }
            q.batches.drain(..).collect()
        };
        for d in batches {
            if let Err(why) = catch_up(shared, journal, d) {
                tracing::error!("{why}; reads are refused from now on");
                shared.queue.lock().unwrap_or_else(|p| p.into_inner()).encode = None;
                shared.progress.send_modify(|p| p.stopped = Some(why));
                return;
            }
        }
    }
}

/// The length at which a snapshot's encoding is asked for, if any.
fn encode_len(shared: &Shared) -> Option<u64> {
    shared
        .queue
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .encode
        .as_ref()
        .map(|r| r.len)
}

/// Encodes the state for the snapshot asked for, if the replica is at its
/// length, under the read lock: readers go on meanwhile; only applying
/// waits (reads of entries durable after the mark wait with it).
fn encode_if_due(shared: &Shared, replica_len: u64) {
    let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
    let Some(request) = q.encode.take_if(|r| r.len <= replica_len) else {
        return;
    };
    drop(q);
    if request.len < replica_len {
        // Cannot happen: the mark is asked for before it is published.
        let why = format!(
            "the read view is at {replica_len} entries, past the mark at {}",
            request.len
        );
        request.done.send(Err(why));
        return;
    }
    let replica = shared.replica.read().unwrap_or_else(|p| p.into_inner());
    let encoded = carbon_ledger::snapshot::encode(replica.state(), request.capacity);
    drop(replica);
    request.done.send(Ok(encoded));
}

/// Applies the entries up to `d.len`, adopts its tree and checkpoint,
/// checks its digest (debug builds), publishes progress and the feed.
fn catch_up(shared: &Shared, journal: &JournalReader, d: Durable) -> Result<(), String> {
    let listening = shared.feed.receiver_count() > 0;
    let mut applied: Vec<AppliedEntry> = Vec::new();
    let mut from = shared.replica.read().unwrap_or_else(|p| p.into_inner()).len();
    while from < d.len {
        let mut until = d.len.min(from + APPLY_CHUNK as u64);
        // A chunk ends at a mark whose state is to be encoded.
        if let Some(mark) = encode_len(shared).filter(|&m| m > from) {
            until = until.min(mark);
        }
        // Read outside the lock, apply inside it.
        let chunk: Vec<(u64, Vec<u8>)> = journal
            .range_raw(from, until)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the read view could not read the journal: {e}"))?;
        let mut replica = shared.replica.write().unwrap_or_else(|p| p.into_inner());
        for (seq, raw) in &chunk {
            let entry = replica.apply(*seq, raw).map_err(|e| e.to_string())?;
            if let (true, Some(e)) = (listening, entry) {
                applied.push(e);
            }
        }
        if replica.len() != until {
            return Err(format!("the read view found no journal entry {}", replica.len()));
        }
        drop(replica);
        encode_if_due(shared, until);
        from = until;
    }
    let mut replica = shared.replica.write().unwrap_or_else(|p| p.into_inner());
    replica.adopt(d.tree, d.checkpoint).map_err(|e| e.to_string())?;
    if let Some(digest) = d.digest {
        assert_eq!(
            carbon_ledger::snapshot::state_digest(replica.state()),
            digest,
            "the read view differs from the writer's state at {} entries",
            d.len
        );
    }
    drop(replica);
    let replica = shared.replica.read().unwrap_or_else(|p| p.into_inner());
    let published = listening.then(|| feed::build(&replica, &applied));
    drop(replica);
    shared.progress.send_modify(|p| p.applied = d.len);
    if let Some(f) = published {
        let _ = shared.feed.send(f); // no receiver left is not an error
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use carbon_ledger::keys::test_key;
    use carbon_ledger::node::Node;
    use carbon_ledger::replay::sign_command;
    use carbon_proto::v1 as pb;

    use crate::sequencer::Sequencer;

    fn define(symbol: &str, nonce: u64, ledger_id: &[u8; 32]) -> pb::SignedCommand {
        let cmd = pb::Command {
            actor: Some("OP".into()),
            nonce: Some(nonce),
            body: Some(pb::command::Body::DefineInstrument(pb::DefineInstrument {
                symbol: Some(symbol.into()),
                reference_price: Some("10.00".into()),
            })),
        };
        sign_command(&test_key("OP"), ledger_id, &cmd)
    }

    /// Periodic snapshots are encoded by the read view's replica (the
    /// node keeps no encoder of its own), at their marks, and a restart
    /// resumes from the last one: its state hashes to the digest the
    /// journal records, so it is the writer's state at the mark.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_read_view_encodes_periodic_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let mut node = Node::create(dir.path(), genesis(), test_key("OP")).unwrap();
        node.set_snapshot_every(Some(6));
        let ledger_id = node.ledger_id();
        let started = Sequencer::start(node, None).unwrap();
        for nonce in 1..=40 {
            let symbol = format!("ZJEA-{}", 2000 + nonce);
            let answer = started
                .handle
                .submit(vec![(define(&symbol, nonce, &ledger_id), false)])
                .await
                .unwrap();
            assert!(answer[0].result.is_ok());
        }
        drop((started.handle, started.view));
        started.sequencer.join();
        // Digests recorded for marks (off the sequencer), each checked by
        // the audit's replay against the state it reaches at the mark.
        let journal = carbon_ledger::journal::Journal::open(dir.path()).unwrap();
        let deferred = journal
            .iter(0)
            .filter(|r| match &r.as_ref().unwrap().1 {
                pb::JournalEntry {
                    seq,
                    input: Some(pb::journal_entry::Input::StateDigest(d)),
                    ..
                } => d.tree_size < *seq,
                _ => false,
            })
            .count();
        assert!(deferred >= 4, "{deferred} digests of marks");
        carbon_ledger::audit::rebuild(&journal, false, |_| {}).unwrap();
        drop(journal);
        let node = Node::open(dir.path(), test_key("OP")).unwrap();
        assert_eq!(node.snapshot_refused(), None);
    }

    fn genesis() -> pb::Genesis {
        pb::Genesis {
            operator: "OP".into(),
            operator_public_key: test_key("OP").verifying_key().to_bytes().to_vec(),
            regulators: vec![],
            origin: "test".into(),
        }
    }

    /// A batch whose flush fails is in sled's memory (a reader of the
    /// store would find it) but never durable: the view never applies it,
    /// and what it shows is the state of the last durable batch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_never_sees_a_batch_that_did_not_become_durable() {
        let dir = tempfile::tempdir().unwrap();
        let node = Node::create(dir.path(), genesis(), test_key("OP")).unwrap();
        let ledger_id = node.ledger_id();
        let journal = node.journal().reader();
        // The next flush succeeds, the one after fails.
        node.journal().fail_flushes_after(1);
        let started = Sequencer::start(node, None).unwrap();
        let (handle, view) = (started.handle.clone(), started.view.clone());

        let ok = handle
            .submit(vec![(define("ZJEA-2025", 1, &ledger_id), false)])
            .await
            .unwrap();
        assert!(ok[0].result.is_ok());
        let durable = view.durable_len();
        let seen = view.read(|r| (r.len(), r.state().instruments.len())).await.unwrap();
        assert_eq!(seen, (durable, 1), "the acknowledged batch is visible at once");

        assert!(handle
            .submit(vec![(define("CCER", 2, &ledger_id), false)])
            .await
            .is_err());
        assert!(
            journal.raw(durable).unwrap().is_some(),
            "the failed batch is in the store"
        );
        assert_eq!(view.durable_len(), durable, "but not announced as durable");
        // Reads are refused once the ledger has failed; the replica behind
        // them never applied the failed batch.
        assert!(view.read(|r| r.len()).await.is_err());
        let replica = view.shared.replica.read().unwrap();
        assert_eq!(replica.len(), durable);
        assert!(!replica.state().instruments.contains_key("CCER"));
        drop(replica);
        drop((handle, view, started.handle, started.view));
        started.sequencer.join();
    }
}
