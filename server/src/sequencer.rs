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
//! Queries go through the same channel as closures run against `&Node`
//! between two batches. We chose this over a published read snapshot
//! because:
//!
//! - `State` is large and not `Clone` (order books, indexes); a snapshot
//!   per batch would cost more than the batch itself, and a snapshot of the
//!   views (accounts, supply) would have to be rebuilt for every account;
//! - answering on the sequencer thread is linearizable with the
//!   acknowledgements: a query sent after a Submit was answered sees it, and
//!   no query ever sees an applied-but-not-yet-durable command (the node
//!   applies and flushes inside one `submit` call, and queries run between
//!   calls);
//! - there is no lock on the state at all, so none can be held across I/O.
//!
//! The price is that a query waits behind at most one batch (one flush).
//! Every query closure must be cheap and bounded: one account, the
//! instrument list, or one chunk of at most [`JOURNAL_CHUNK`] journal entries.
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
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use carbon_ledger::command::Role;
use carbon_ledger::node::{Node, NodeError, Submitted, MAX_BATCH};
use carbon_proto::v1 as pb;
use ed25519_dalek::VerifyingKey;
use tokio::sync::{broadcast, mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};

use crate::feed::{self, Feed, FEED_CAPACITY};

/// Most requests waiting in the channel.
pub const QUEUE_REQUESTS: usize = 4096;

/// Most envelopes waiting in the channel, over all queued Submit requests.
pub const QUEUE_ENVELOPES: usize = 16 * 1024;

/// Most journal entries one query may read (bounds the sequencer's pause).
pub const JOURNAL_CHUNK: usize = 512;

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

/// The ledger has failed and accepts nothing more.
#[derive(Debug, Clone)]
pub struct Unavailable(pub String);

/// A read run on the sequencer thread against the node.
pub type Query = Box<dyn FnOnce(&Node) + Send>;

/// What a handler asks of the sequencer.
pub enum Request {
    /// Envelopes to sequence, each with "signature already verified".
    Submit {
        batch: Vec<(pb::SignedCommand, bool)>,
        reply: Reply,
        /// Released when the request is answered (dropped).
        _permit: OwnedSemaphorePermit,
    },
    /// A read; it answers through its own oneshot.
    Query(Query),
}

impl Request {
    fn envelopes(&self) -> usize {
        match self {
            Request::Submit { batch, .. } => batch.len(),
            Request::Query(_) => 0,
        }
    }
}

/// A Submit request in the sequencer's channel, not yet answered. Exists so
/// that queueing (which fixes the order) and waiting for durability are two
/// steps: a caller may queue several requests in order and wait for them
/// afterwards. Dropping it does not withdraw the request.
pub struct Queued {
    answer: oneshot::Receiver<Result<Vec<Submitted>, Unavailable>>,
    /// Envelopes in the request: the number of answers to expect.
    envelopes: usize,
}

impl Queued {
    /// One answer per envelope, in order, once the batch is durable.
    pub async fn answers(self) -> Result<Vec<Submitted>, Unavailable> {
        let out = self.answer.await.map_err(|_| gone())??;
        assert_eq!(out.len(), self.envelopes, "one answer per envelope");
        Ok(out)
    }
}

/// The handlers' side of the sequencer: cheap to clone.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::Sender<Request>,
    permits: Arc<Semaphore>,
    feed: broadcast::Sender<Arc<Feed>>,
}

/// The sequencer's channel was closed: the thread is gone.
fn gone() -> Unavailable {
    Unavailable("the sequencer has stopped".into())
}

impl Handle {
    /// Subscribes to what every later durable batch does.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Feed>> {
        self.feed.subscribe()
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
        Ok(Queued { answer, envelopes })
    }

    /// Runs `f` on the sequencer thread, between batches, and returns its
    /// result. `f` must be cheap and bounded.
    pub async fn read<T, F>(&self, f: F) -> Result<T, Unavailable>
    where
        T: Send + 'static,
        F: FnOnce(&Node) -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let query: Query = Box::new(move |node| {
            // The handler may have gone away (client cancelled): ignore.
            let _ = reply.send(f(node));
        });
        self.tx.send(Request::Query(query)).await.map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| Unavailable("the ledger has failed; reads are refused".into()))
    }
}

/// The running sequencer thread.
pub struct Sequencer {
    thread: JoinHandle<()>,
}

impl Sequencer {
    /// Starts the sequencer thread, taking ownership of `node`. Returns the
    /// thread, the handlers' handle, the key map it keeps up to date and a
    /// watch that turns `Some(reason)` if the node fails (and whose sender
    /// is dropped when the thread ends).
    ///
    /// `panic_after`: a test hook (`CARBON_FAULT_PANIC_AFTER`); the thread
    /// panics when it is about to sequence the batch after the first `n`.
    pub fn start(
        node: Node,
        panic_after: Option<u64>,
    ) -> std::io::Result<(Sequencer, Handle, KeyMap, watch::Receiver<Option<String>>)> {
        let (tx, rx) = mpsc::channel(QUEUE_REQUESTS);
        let keys: KeyMap = Arc::default();
        let (failed_tx, failed_rx) = watch::channel(None);
        let (feed, _) = broadcast::channel(FEED_CAPACITY);
        let mut worker = Worker {
            feed: feed.clone(),
            node,
            rx,
            keys: keys.clone(),
            known_accounts: 0,
            failed: None,
            failed_tx,
            batches_before_panic: panic_after,
        };
        worker.publish_keys();
        let thread = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || worker.run_catching_panics())?;
        let handle = Handle {
            tx,
            permits: Arc::new(Semaphore::new(QUEUE_ENVELOPES)),
            feed,
        };
        Ok((Sequencer { thread }, handle, keys, failed_rx))
    }

    /// Waits for the thread to end. It ends when every [`Handle`] is dropped
    /// and the queue is drained; it then writes a snapshot, and the node (and
    /// its sled database) is dropped with it.
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("the sequencer thread panicked");
        }
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
    /// Subscribers' feed (market data, executions); fed only when someone listens.
    feed: broadcast::Sender<Arc<Feed>>,
    /// Test hook: batches left to sequence before the thread panics.
    batches_before_panic: Option<u64>,
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
            None => {
                tracing::info!("sequencer stopped at {} journal entries", self.node.len());
                if let Err(e) = self.node.snapshot() {
                    tracing::warn!("no snapshot at shutdown (the journal is unaffected): {e}");
                }
            }
            Some(why) => tracing::info!("sequencer stopped, failed: {why}"),
        }
    }

    /// Answers a query at once (it sees every batch answered so far) or
    /// adds a Submit request to the batch.
    fn take(&mut self, r: Request, pending: &mut Pending) {
        match r {
            Request::Query(q) => {
                if self.failed.is_none() {
                    q(&self.node);
                }
                // After a failure the query is dropped: its handler answers UNAVAILABLE.
            }
            Request::Submit { batch, reply, _permit } => {
                if let Some(why) = &self.failed {
                    let _ = reply.send(Err(Unavailable(why.clone())));
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
        match self.node.submit(&pending.batch) {
            Ok(answers) => {
                assert_eq!(answers.len(), pending.batch.len());
                // New accounts' keys first, so a client that saw its
                // create_account acknowledged finds the key published.
                self.publish_keys();
                // Built before answering (answers move out), sent after.
                let published =
                    (self.feed.receiver_count() > 0).then(|| feed::build(&self.node, &pending.batch, &answers));
                let mut answers = answers.into_iter();
                for (n, reply, _permit) in pending.replies.drain(..) {
                    let mine: Vec<Submitted> = answers.by_ref().take(n).collect();
                    let _ = reply.send(Ok(mine));
                }
                if let Some(f) = published {
                    // No receiver left is not an error.
                    let _ = self.feed.send(f);
                }
            }
            Err(e) => {
                let why = match e {
                    NodeError::Failed(why) => why,
                    other => other.to_string(),
                };
                self.fail(why.clone());
                for (_, reply, _permit) in pending.replies.drain(..) {
                    let _ = reply.send(Err(Unavailable(why.clone())));
                }
            }
        }
        pending.batch.clear();
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
