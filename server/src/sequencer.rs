//! The sequencer: the one OS thread that owns the [`Node`] (DESIGN.md, the
//! pipeline).
//!
//! gRPC handlers never touch the node. They send a [`Request`] over a
//! bounded channel and wait on a oneshot for the answer. The sequencer
//! blocks until something is queued, drains what else is already queued into
//! one batch of at most [`MAX_BATCH`] envelopes, calls [`Node::submit`] once
//! (one flush for the whole batch: group commit) and only then answers every
//! request of the batch. An answer therefore always means durable.
//!
//! Requests are sequenced in the order they enter the channel. A handler
//! that queues a request with [`Handle::enqueue`] and only then queues the
//! next keeps its envelopes in order while it waits for none of them:
//! SubmitStream pipelines one client's commands this way.
//!
//! # Reads
//!
//! No query runs here. After each durable batch the sequencer publishes its
//! length, a structurally shared copy of its Merkle tree and the signed
//! checkpoint to the [read view](crate::view) (a few dozen pointers, before
//! it answers the batch), and every read runs there, on a replica of the
//! state, on other threads. The sequencer's loop is submit, flush, publish,
//! answer; readers never make it wait.
//!
//! # Bounds
//!
//! The channel holds at most [`QUEUE_REQUESTS`] requests, and all queued
//! Submit requests together at most [`QUEUE_ENVELOPES`] envelopes (a
//! semaphore whose permits travel with the request and are released when it
//! is answered). A full queue makes handlers wait: backpressure, not
//! unbounded memory.
//!
//! # Failure
//!
//! When `Node::submit` fails (storage error: [`NodeError::Failed`]) the node
//! is dead. Every request of that batch and every later Submit is answered
//! [`Unavailable`]; later queries are dropped unanswered (their handlers
//! report UNAVAILABLE too), because the in-memory state may hold effects
//! that never became durable. The `failed` watch tells the server so that
//! the health service can say NOT_SERVING.
//!
//! A panic on the sequencer thread (a bug: in the state machine, the node,
//! or a query closure) is the same failure: the panic is caught, the node is
//! never touched again, the `failed` watch says why, and the thread goes on
//! refusing everything as above until the server stops. The server also
//! takes a `failed` watch whose sender is gone (the thread ended some other
//! way) as a failure: a sequencer that is not running never looks healthy.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use carbon_ledger::command::Role;
use carbon_ledger::node::{Marker, Node, NodeError, Submitted, MAX_BATCH};
use carbon_ledger::replica::Replica;
use carbon_proto::v1 as pb;
use ed25519_dalek::VerifyingKey;
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};

use crate::telemetry::{BatchMetrics, Outcomes};
use crate::view::{self, Durable, Publisher, View, ViewThread};

/// Most requests waiting in the channel.
pub const QUEUE_REQUESTS: usize = 4096;

/// Most envelopes waiting in the channel, over all queued Submit requests.
pub const QUEUE_ENVELOPES: usize = 16 * 1024;

/// Account id -> key, role and jurisdiction of every account the ledger
/// knows, for the handlers' parallel signature checks and read credentials.
/// Written only by the sequencer, after each batch, and only by insertion:
/// accounts are never deleted and these never change, so what is read here
/// is what the node would use. A `std::sync::RwLock` because it is held
/// only for a map lookup or a few inserts, never across an `.await` or I/O.
pub type KeyMap = Arc<RwLock<HashMap<String, Member>>>;

/// What never changes about an account.
#[derive(Clone, Debug)]
pub struct Member {
    pub key: VerifyingKey,
    pub role: Role,
    /// `None` for the operator only.
    pub jurisdiction: Option<String>,
}

/// Why a command or a read cannot be served by this server now.
#[derive(Debug, Clone)]
pub enum Unavailable {
    /// The ledger has failed (storage, a panic) and accepts nothing more.
    Failed(String),
    /// A replicated ledger's member that is not the leader: writes go to
    /// the leader, at this public address when it is known.
    NotLeader(Option<String>),
    /// Proposed to the cluster, then leadership changed before an answer:
    /// the command may or may not be applied. Sending the same envelope
    /// again is safe (it is applied at most once: `REPLAYED`), and
    /// LookupCommand finds it if it was.
    Interrupted(String),
}

/// Metadata key of the leader's public address on a write refused by a
/// follower (docs/CLUSTER.md): the `carbon` clients go there.
pub const LEADER_METADATA: &str = "x-carbon-leader";

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::Failed(why) => write!(f, "the ledger accepts nothing more: {why}"),
            Unavailable::NotLeader(Some(at)) => write!(f, "this member is not the leader; the leader is at {at}"),
            Unavailable::NotLeader(None) => write!(f, "this member is not the leader, and no leader is known yet"),
            Unavailable::Interrupted(why) => write!(
                f,
                "the outcome is unknown ({why}): send the same envelope again, or look it up by actor and nonce"
            ),
        }
    }
}

impl From<Unavailable> for tonic::Status {
    fn from(u: Unavailable) -> tonic::Status {
        let mut status = tonic::Status::unavailable(u.to_string());
        if let Unavailable::NotLeader(Some(at)) = &u {
            if let Ok(v) = at.parse() {
                status.metadata_mut().insert(LEADER_METADATA, v);
            }
        }
        status
    }
}

/// What a handler asks of the sequencer.
pub enum Request {
    /// Envelopes to sequence, each with "signature already verified".
    Submit {
        batch: Vec<(pb::SignedCommand, bool)>,
        reply: Reply,
        /// Released when the request is answered (dropped).
        _permit: OwnedSemaphorePermit,
    },
    /// A periodic snapshot has been encoded (off this thread): record its
    /// digest now rather than with the next command.
    SnapshotEncoded,
    /// A replicated ledger: envelopes of committed Raft entries, to apply
    /// now, with the consensus position they bring the ledger to (stored by
    /// the same flush). Never merged with other requests.
    Apply {
        batch: Vec<(pb::SignedCommand, bool)>,
        marker: Marker,
        reply: Reply,
    },
    /// A replicated ledger: the state's image, its journal length and what
    /// the last [`Request::Apply`] or [`Request::Install`] stored with it,
    /// all of one moment (for a Raft snapshot).
    Image {
        reply: oneshot::Sender<Result<Image, Unavailable>>,
    },
    /// A replicated ledger: install a Raft snapshot (see
    /// [`Node::install`]).
    Install {
        entries: Vec<Vec<u8>>,
        state: Vec<u8>,
        marker: Marker,
        reply: oneshot::Sender<Result<(), Unavailable>>,
    },
}

/// The state of a replicated ledger at one moment ([`Request::Image`]).
pub struct Image {
    pub journal_len: u64,
    pub state: Vec<u8>,
    /// The journal's replication marker as last stored.
    pub marker: Option<Vec<u8>>,
}

impl Request {
    fn envelopes(&self) -> usize {
        match self {
            Request::Submit { batch, .. } => batch.len(),
            _ => 0,
        }
    }
}

/// A Submit request in the sequencer's channel, not yet answered. Exists so
/// that queueing (which fixes the order) and waiting for durability are two
/// steps: a caller may queue several requests in order and wait for them
/// afterwards. Dropping it does not withdraw the request.
pub struct Queued {
    answer: Answer,
    /// Envelopes in the request: the number of answers to expect.
    envelopes: usize,
}

/// Where a queued request's answers come from: this server's sequencer, or
/// (a replicated ledger) the cluster once the entry is committed and
/// applied here.
type Answer = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<Submitted>, Unavailable>> + Send>>;

impl Queued {
    /// A request whose answers `answer` gives.
    pub fn new(answer: Answer, envelopes: usize) -> Queued {
        Queued { answer, envelopes }
    }

    /// One answer per envelope, in order, once the batch is durable.
    pub async fn answers(self) -> Result<Vec<Submitted>, Unavailable> {
        let out = self.answer.await?;
        assert_eq!(out.len(), self.envelopes, "one answer per envelope");
        Ok(out)
    }
}

/// How a replicated ledger's leader proposes a batch to its cluster
/// (`crate::cluster`): returns once the proposal is queued in order.
pub trait Propose: Send + Sync {
    fn propose(
        &self,
        batch: Vec<(pb::SignedCommand, bool)>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Queued, Unavailable>> + Send + '_>>;
}

/// The handlers' side of the sequencer: cheap to clone.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::Sender<Request>,
    permits: Arc<Semaphore>,
    unchecked: Arc<AtomicU64>,
    /// A replicated ledger: commands go through the cluster, and reach this
    /// sequencer as [`Request::Apply`] once committed.
    cluster: Option<Arc<dyn Propose>>,
}

/// The sequencer's channel was closed: the thread is gone.
fn gone() -> Unavailable {
    Unavailable::Failed("the sequencer has stopped".into())
}

impl Handle {
    /// How many envelopes reached the node with an unchecked signature (the
    /// sequencer checked them itself), as of the last batch.
    pub fn unchecked_envelopes(&self) -> u64 {
        self.unchecked.load(Ordering::Relaxed)
    }

    /// Sequences `batch` (at most [`MAX_BATCH`] envelopes) and returns one
    /// answer per envelope, in order, once the batch is durable.
    pub async fn submit(&self, batch: Vec<(pb::SignedCommand, bool)>) -> Result<Vec<Submitted>, Unavailable> {
        self.enqueue(batch).await?.answers().await
    }

    /// Queues `batch` (at most [`MAX_BATCH`] envelopes) and returns as soon
    /// as it is in the sequencer's channel, behind every request queued
    /// before it; [`Queued::answers`] waits for the answers. Waits while the
    /// queue is full.
    pub async fn enqueue(&self, batch: Vec<(pb::SignedCommand, bool)>) -> Result<Queued, Unavailable> {
        assert!(
            !batch.is_empty() && batch.len() <= MAX_BATCH,
            "a request holds 1 to MAX_BATCH envelopes"
        );
        if let Some(cluster) = &self.cluster {
            return cluster.propose(batch).await;
        }
        let envelopes = batch.len();
        let permit = self
            .permits
            .clone()
            .acquire_many_owned(envelopes as u32)
            .await
            .map_err(|_| gone())?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Request::Submit {
                batch,
                reply,
                _permit: permit,
            })
            .await
            .map_err(|_| gone())?;
        let answer = Box::pin(async move { answer.await.map_err(|_| gone())? });
        Ok(Queued::new(answer, envelopes))
    }

    /// This handle, with commands going through a cluster from now on.
    pub fn through(&self, cluster: Arc<dyn Propose>) -> Handle {
        Handle {
            cluster: Some(cluster),
            ..self.clone()
        }
    }

    /// A replicated ledger: applies committed envelopes (see
    /// [`Request::Apply`]).
    pub async fn apply(
        &self,
        batch: Vec<(pb::SignedCommand, bool)>,
        marker: Marker,
    ) -> Result<Vec<Submitted>, Unavailable> {
        self.ask(|reply| Request::Apply { batch, marker, reply }).await
    }

    /// A replicated ledger: the state's image (see [`Request::Image`]).
    pub async fn image(&self) -> Result<Image, Unavailable> {
        self.ask(|reply| Request::Image { reply }).await
    }

    /// A replicated ledger: installs a snapshot (see [`Request::Install`]).
    pub async fn install(&self, entries: Vec<Vec<u8>>, state: Vec<u8>, marker: Marker) -> Result<(), Unavailable> {
        self.ask(|reply| Request::Install {
            entries,
            state,
            marker,
            reply,
        })
        .await
    }

    /// Sends the request `make` builds around a reply channel, and waits
    /// for the answer.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Unavailable>>) -> Request,
    ) -> Result<T, Unavailable> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// The running sequencer thread and the read view it publishes to.
pub struct Sequencer {
    thread: JoinHandle<()>,
    view: ViewThread,
}

/// What [`Sequencer::start`] hands the server.
pub struct Started {
    pub sequencer: Sequencer,
    /// The handlers' way in for commands.
    pub handle: Handle,
    /// Every account's key, role and jurisdiction.
    pub keys: KeyMap,
    /// `Some(reason)` once the node has failed (its sender is dropped when
    /// the thread ends).
    pub failed: watch::Receiver<Option<String>>,
    /// Where every read runs.
    pub view: View,
}

impl Sequencer {
    /// Starts the read view on a replica of `node` (a copy of its state),
    /// then the sequencer thread, which takes ownership of `node`.
    ///
    /// `panic_after`: a test hook (`CARBON_FAULT_PANIC_AFTER`); the thread
    /// panics when it is about to sequence the batch after the first `n`.
    pub fn start(node: Node, panic_after: Option<u64>) -> std::io::Result<Started> {
        Sequencer::start_with(node, panic_after, false)
    }

    /// [`Sequencer::start`] for a replicated ledger's member: it sequences
    /// only what its cluster commits ([`Request::Apply`]) and appends
    /// nothing of its own, not even a snapshot's digest at a clean stop
    /// (every member must write the same journal).
    pub fn start_replicated(node: Node) -> std::io::Result<Started> {
        Sequencer::start_with(node, None, true)
    }

    fn start_with(mut node: Node, panic_after: Option<u64>, replicated: bool) -> std::io::Result<Started> {
        let (tx, rx) = mpsc::channel(QUEUE_REQUESTS);
        // A weak sender: the node must not keep the channel open once every
        // handle is gone. A full queue needs no wake-up (a batch comes).
        let wake = tx.downgrade();
        node.on_snapshot_encoded(Arc::new(move || {
            if let Some(tx) = wake.upgrade() {
                let _ = tx.try_send(Request::SnapshotEncoded);
            }
        }));
        let keys: KeyMap = Arc::default();
        let (failed_tx, failed_rx) = watch::channel(None);
        let (view_thread, publisher, view) =
            view::start(Replica::of(&node), node.journal().reader(), failed_rx.clone())?;
        // One replica for reads and snapshots: a third copy of the state,
        // applying every command once more, costs memory and a core's time.
        if node.takes_periodic_snapshots() {
            node.encode_snapshots_with(Box::new(view.encoder()));
        }
        let unchecked = Arc::new(AtomicU64::new(node.unchecked_envelopes()));
        let permits = Arc::new(Semaphore::new(QUEUE_ENVELOPES));
        let metrics = BatchMetrics::new(Outcomes::register());
        metrics.journal(node.len(), node.appended_bytes());
        let mut worker = Worker {
            metrics,
            permits: permits.clone(),
            publisher,
            unchecked: unchecked.clone(),
            node,
            rx,
            keys: keys.clone(),
            known_accounts: 0,
            failed: None,
            failed_tx,
            batches_before_panic: panic_after,
            replicated,
        };
        worker.publish_keys();
        let thread = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || worker.run_catching_panics())?;
        let handle = Handle {
            tx,
            permits,
            unchecked,
            cluster: None,
        };
        Ok(Started {
            sequencer: Sequencer {
                thread,
                view: view_thread,
            },
            handle,
            keys,
            failed: failed_rx,
            view,
        })
    }

    /// Waits for the thread to end. It ends when every [`Handle`] is dropped
    /// and the queue is drained; it then writes a snapshot, and the node (and
    /// its sled database) is dropped with it. The read view applies what
    /// was published and ends too.
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("the sequencer thread panicked");
        }
        self.view.join();
    }
}

/// The state of the sequencer thread.
struct Worker {
    node: Node,
    rx: mpsc::Receiver<Request>,
    keys: KeyMap,
    /// How many of `node.state().accounts` are in `keys`.
    known_accounts: usize,
    failed: Option<String>,
    failed_tx: watch::Sender<Option<String>>,
    /// Where durable batches are published for the read view.
    publisher: Publisher,
    /// The node's count of envelopes it checked itself, for [`Handle`].
    unchecked: Arc<AtomicU64>,
    /// Test hook: batches left to sequence before the thread panics.
    batches_before_panic: Option<u64>,
    /// What each batch records for the operator (see `telemetry`).
    metrics: BatchMetrics,
    /// The handles' queue bound; what is taken of it is the queue's depth.
    permits: Arc<Semaphore>,
    /// A replicated ledger's member: no snapshot at a clean stop.
    replicated: bool,
}

/// Where a Submit request is answered.
type Reply = oneshot::Sender<Result<Vec<Submitted>, Unavailable>>;

/// The Submit requests of one batch.
struct Pending {
    batch: Vec<(pb::SignedCommand, bool)>,
    /// For each request: how many envelopes, where to answer, its permit.
    replies: Vec<(usize, Reply, OwnedSemaphorePermit)>,
}

impl Worker {
    /// [`Worker::run`]; a panic fails the node (see the module doc) and the
    /// thread goes on refusing everything until every handle is dropped.
    fn run_catching_panics(mut self) {
        loop {
            match catch_unwind(AssertUnwindSafe(|| self.run())) {
                Ok(()) => return,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "(no message)".into());
                    // Requests of the interrupted batch were dropped with it:
                    // their handlers answer UNAVAILABLE.
                    self.fail(format!("the sequencer panicked: {what}"));
                    // Loop: `run` again, now refusing everything. It
                    // touches the node no more (its state may be half
                    // applied); a second panic would only land here again.
                }
            }
        }
    }

    /// The node is dead: refuse everything from now on, and say so.
    fn fail(&mut self, why: String) {
        tracing::error!("the ledger has failed; refusing everything from now on: {why}");
        self.failed = Some(why.clone());
        self.failed_tx.send_replace(Some(why));
    }

    fn run(&mut self) {
        let mut carried: Option<Request> = None;
        let mut pending = Pending {
            batch: Vec::with_capacity(MAX_BATCH),
            replies: Vec::new(),
        };
        loop {
            let first = match carried.take() {
                Some(r) => r,
                None => match self.rx.blocking_recv() {
                    Some(r) => r,
                    None => break, // every handle dropped: shut down
                },
            };
            self.take(first, &mut pending);
            // Drain what is already queued, up to one full batch.
            while pending.batch.len() < MAX_BATCH {
                let Ok(next) = self.rx.try_recv() else { break };
                if pending.batch.len() + next.envelopes() > MAX_BATCH {
                    carried = Some(next);
                    break;
                }
                self.take(next, &mut pending);
            }
            if !pending.batch.is_empty() {
                self.sequence(&mut pending);
            }
            debug_assert!(pending.batch.is_empty() && pending.replies.is_empty());
        }
        // A clean stop leaves a snapshot, so the next start replays nothing.
        // A failed node is not touched (after a panic its state may be
        // half applied).
        match &self.failed {
            None if self.replicated => {
                tracing::info!("sequencer stopped at {} journal entries", self.node.len())
            }
            None => {
                tracing::info!("sequencer stopped at {} journal entries", self.node.len());
                if let Err(e) = self.node.snapshot() {
                    tracing::warn!("no snapshot at shutdown (the journal is unaffected): {e}");
                }
            }
            Some(why) => tracing::info!("sequencer stopped, failed: {why}"),
        }
    }

    /// Adds a Submit request to the batch (or refuses it, once failed), or
    /// records an encoded snapshot's digest.
    fn take(&mut self, r: Request, pending: &mut Pending) {
        match r {
            Request::SnapshotEncoded => {
                if self.failed.is_some() {
                    return;
                }
                let before = self.node.len();
                match self.node.record_encoded_snapshot() {
                    Ok(()) => self.publish(before),
                    Err(e) => self.fail(e.to_string()),
                }
            }
            Request::Apply { batch, marker, reply } => {
                if let Some(why) = &self.failed {
                    let _ = reply.send(Err(Unavailable::Failed(why.clone())));
                    return;
                }
                let (before, started) = (self.node.len(), std::time::Instant::now());
                match self.node.submit_marked(batch, marker) {
                    Ok(answers) => {
                        self.applied(before, &answers, started);
                        let _ = reply.send(Ok(answers));
                    }
                    Err(e) => {
                        let why = self.fail_with(e);
                        let _ = reply.send(Err(Unavailable::Failed(why)));
                    }
                }
            }
            Request::Image { reply } => {
                let image = match &self.failed {
                    Some(why) => Err(Unavailable::Failed(why.clone())),
                    None => {
                        let (journal_len, state) = self.node.image();
                        match self.node.journal().replicated() {
                            Ok(marker) => Ok(Image {
                                journal_len,
                                state,
                                marker,
                            }),
                            Err(e) => Err(Unavailable::Interrupted(e.to_string())),
                        }
                    }
                };
                let _ = reply.send(image);
            }
            Request::Install {
                entries,
                state,
                marker,
                reply,
            } => {
                if let Some(why) = &self.failed {
                    let _ = reply.send(Err(Unavailable::Failed(why.clone())));
                    return;
                }
                let before = self.node.len();
                let installed = match self.node.install(&entries, &state, marker) {
                    Ok(()) => {
                        tracing::info!(
                            "installed a snapshot of {} journal entries (had {before})",
                            self.node.len()
                        );
                        self.publish_keys();
                        self.publish(before);
                        Ok(())
                    }
                    // Refused, and nothing changed: the cluster sends another.
                    Err(NodeError::SnapshotRefused(why)) => Err(Unavailable::Interrupted(why)),
                    Err(e) => Err(Unavailable::Failed(self.fail_with(e))),
                };
                let _ = reply.send(installed);
            }
            Request::Submit { batch, reply, _permit } => {
                if let Some(why) = &self.failed {
                    let _ = reply.send(Err(Unavailable::Failed(why.clone())));
                    return;
                }
                if self.replicated {
                    // A member's handles go through the cluster (`Handle::through`).
                    let why = "a cluster member sequences only what Raft commits";
                    let _ = reply.send(Err(Unavailable::Failed(why.into())));
                    return;
                }
                pending.replies.push((batch.len(), reply, _permit));
                pending.batch.extend(batch);
            }
        }
    }

    /// One `Node::submit` (one flush) for the whole batch, then the answers.
    fn sequence(&mut self, pending: &mut Pending) {
        debug_assert!(pending.batch.len() <= MAX_BATCH);
        if let Some(left) = self.batches_before_panic.as_mut() {
            if *left == 0 {
                self.batches_before_panic = None;
                panic!("test hook CARBON_FAULT_PANIC_AFTER: a panic on the sequencer thread");
            }
            *left -= 1;
        }
        let before = self.node.len();
        let started = std::time::Instant::now();
        let batch = std::mem::replace(&mut pending.batch, Vec::with_capacity(MAX_BATCH));
        let envelopes = batch.len();
        match self.node.submit(batch) {
            Ok(answers) => {
                assert_eq!(answers.len(), envelopes);
                self.applied(before, &answers, started);
                let mut answers = answers.into_iter();
                for (n, reply, _permit) in pending.replies.drain(..) {
                    let mine: Vec<Submitted> = answers.by_ref().take(n).collect();
                    let _ = reply.send(Ok(mine));
                }
                // The batch's permits are released: what is left is queued.
                self.metrics.queued(QUEUE_ENVELOPES - self.permits.available_permits());
            }
            Err(e) => {
                let why = self.fail_with(e);
                for (_, reply, _permit) in pending.replies.drain(..) {
                    let _ = reply.send(Err(Unavailable::Failed(why.clone())));
                }
            }
        }
    }

    /// After a durable batch, before any answer: metrics, then new
    /// accounts' keys (so a client that saw its create_account acknowledged
    /// finds the key published), then the durable length, for reads.
    fn applied(&mut self, before: u64, answers: &[Submitted], started: std::time::Instant) {
        self.metrics.batch(answers, started.elapsed());
        self.publish_keys();
        self.unchecked.store(self.node.unchecked_envelopes(), Ordering::Relaxed);
        self.publish(before);
    }

    /// The node failed: fail the sequencer; returns why.
    fn fail_with(&mut self, e: NodeError) -> String {
        let why = match e {
            NodeError::Failed(why) => why,
            other => other.to_string(),
        };
        self.fail(why.clone());
        why
    }

    /// Tells the read view how far the journal is durable, if it grew since
    /// `before` (with the writer's state digest in debug builds).
    fn publish(&mut self, before: u64) {
        if self.node.len() == before {
            return;
        }
        self.metrics.journal(self.node.len(), self.node.appended_bytes());
        self.publisher.publish(Durable {
            len: self.node.len(),
            tree: self.node.tree().clone(),
            checkpoint: self.node.checkpoint().to_string(),
            digest: cfg!(debug_assertions).then(|| carbon_ledger::snapshot::state_digest(self.node.state())),
        });
    }

    /// Adds the keys of accounts created since the last call to the key map.
    fn publish_keys(&mut self) {
        let accounts = &self.node.state().accounts;
        if accounts.len() == self.known_accounts {
            return;
        }
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        for a in &accounts[self.known_accounts..] {
            keys.insert(
                a.id.clone(),
                Member {
                    key: a.public_key,
                    role: a.role,
                    jurisdiction: a.jurisdiction.clone(),
                },
            );
        }
        self.known_accounts = accounts.len();
    }
}
