//! SubmitStream: one client's commands over one bidirectional stream,
//! pipelined, each answered once durable, in the order sent.
//!
//! Two tasks per call, joined by a bounded queue of [`Step`]s:
//!
//! - the **reader** waits for an envelope, then takes whatever else has
//!   already arrived (at most [`MAX_GATHER_ENVELOPES`], never waiting for
//!   more), and hands the lot to [`Submitter::enqueue`], the way SubmitBatch
//!   does: the same payload limit, the same strict parallel signature
//!   checks, one sequencer request. It goes on reading as soon as that
//!   request is queued, not answered, so the next envelopes are verified
//!   while the sequencer flushes. It queues one request at a time, and the
//!   sequencer takes requests in order, so commands are sequenced in the
//!   order sent: one account's increasing nonces may be in flight together.
//! - the **answerer** waits for each request's answers in turn and sends
//!   them, one result per envelope, on the response stream.
//!
//! # Bounds
//!
//! - An envelope is read only with one of the call's
//!   [`MAX_IN_FLIGHT_ENVELOPES`] permits, given back once its result is in
//!   the response buffer; the buffer holds [`RESULTS_BUFFER`] results. A
//!   client that stops reading its results therefore stops being read, and
//!   HTTP/2 flow control holds its sends: backpressure, not memory.
//! - The queue between the tasks holds at most one step per permit (every
//!   step but a final failure holds at least one).
//! - The calls themselves are counted by the service's
//!   [`StreamLimits`](crate::limits::StreamLimits): the [`StreamSlot`] is
//!   held until both tasks end.
//!
//! # Ends
//!
//! The client closing its side ends the reader; the answerer ends the
//! response stream (OK) once every queued request is answered. A failed
//! ledger ends the stream with UNAVAILABLE after the results already
//! known; a broken request stream (an oversized message, a reset) ends it
//! with that status after the answers of what was read before. If the
//! client goes away, the requests already queued are still sequenced (they
//! may be durable, as a cancelled Submit may be) and the tasks stop.

use std::sync::Arc;
use std::task::Poll;

use carbon_proto::v1 as pb;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Status, Streaming};

use crate::limits::StreamSlot;
use crate::service::{PendingResults, Submitter};

/// Most envelopes one call gathers into one sequencer request.
pub const MAX_GATHER_ENVELOPES: usize = 256;

/// Most envelopes one call has read and not yet answered (verifying, queued
/// at the sequencer or waiting for durability).
pub const MAX_IN_FLIGHT_ENVELOPES: usize = 1024;

/// Results buffered per call ahead of the client.
const RESULTS_BUFFER: usize = 256;

/// What the reader hands the answerer, in the order of the envelopes.
enum Step {
    /// Envelopes queued at the sequencer, with their in-flight permits
    /// (given back once their results are buffered).
    Queued {
        pending: PendingResults,
        permits: OwnedSemaphorePermit,
    },
    /// The call ends with this status after the steps before it.
    Fail(Status),
}

/// Starts the call's two tasks; returns the response stream.
pub(super) fn start(
    submitter: Submitter,
    incoming: Streaming<pb::SignedCommand>,
    slot: StreamSlot,
) -> ReceiverStream<Result<pb::CommandResult, Status>> {
    let slot = Arc::new(slot);
    let (results_tx, results_rx) = mpsc::channel(RESULTS_BUFFER);
    // Every step but a final Fail holds a permit: the permits bound it.
    let (steps_tx, steps_rx) = mpsc::channel(MAX_IN_FLIGHT_ENVELOPES);
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT_ENVELOPES));
    tokio::spawn(read(submitter, incoming, permits, steps_tx, slot.clone()));
    tokio::spawn(answer(steps_rx, results_tx, slot));
    ReceiverStream::new(results_rx)
}

/// The message if one has already arrived: `None` when the stream would
/// have to wait, `Some(None)` when it has ended.
async fn arrived<S: Stream + Unpin>(s: &mut S) -> Option<Option<S::Item>> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match std::pin::Pin::new(&mut *s).poll_next(cx) {
            Poll::Ready(item) => Some(item),
            Poll::Pending => None,
        })
    })
    .await
}

/// The reader: gathers envelopes and queues them at the sequencer, in order.
async fn read(
    submitter: Submitter,
    mut incoming: Streaming<pb::SignedCommand>,
    permits: Arc<Semaphore>,
    steps: mpsc::Sender<Step>,
    _slot: Arc<StreamSlot>,
) {
    loop {
        // Room for one more envelope, then the envelope; stop waiting as
        // soon as the answerer is gone.
        let mut held = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = steps.closed() => return,
        };
        let first = tokio::select! {
            m = incoming.message() => m,
            _ = steps.closed() => return,
        };
        let mut batch = match first {
            Ok(Some(env)) => vec![env],
            Ok(None) => return, // the client has sent everything
            Err(status) => {
                let _ = steps.send(Step::Fail(status)).await;
                return;
            }
        };
        // Whatever else has already arrived, while there is room. The
        // request stream may end (or break) meanwhile: what was read before
        // is still queued and answered.
        let mut ended = false;
        let mut broken: Option<Status> = None;
        while batch.len() < MAX_GATHER_ENVELOPES {
            let Ok(more) = permits.clone().try_acquire_owned() else {
                break;
            };
            match arrived(&mut incoming).await {
                None => break,
                Some(Some(Ok(env))) => {
                    batch.push(env);
                    held.merge(more);
                }
                Some(None) => {
                    ended = true;
                    break;
                }
                Some(Some(Err(status))) => {
                    broken = Some(status);
                    break;
                }
            }
        }
        let step = match submitter.enqueue(batch).await {
            Ok(pending) => Step::Queued { pending, permits: held },
            Err(status) => Step::Fail(status),
        };
        let failed = matches!(step, Step::Fail(_));
        if steps.send(step).await.is_err() || failed || ended {
            return;
        }
        if let Some(status) = broken {
            let _ = steps.send(Step::Fail(status)).await;
            return;
        }
    }
}

/// The answerer: sends each step's results, in order, once durable.
async fn answer(
    mut steps: mpsc::Receiver<Step>,
    results: mpsc::Sender<Result<pb::CommandResult, Status>>,
    _slot: Arc<StreamSlot>,
) {
    while let Some(step) = steps.recv().await {
        let (pending, permits) = match step {
            Step::Queued { pending, permits } => (pending, permits),
            Step::Fail(status) => {
                let _ = results.send(Err(status)).await;
                return;
            }
        };
        let answered = tokio::select! {
            r = pending.results() => r,
            // The client went away: stop now (what is queued is still sequenced).
            _ = results.closed() => return,
        };
        match answered {
            Ok(rs) => {
                for r in rs {
                    if results.send(Ok(r)).await.is_err() {
                        return;
                    }
                }
            }
            Err(status) => {
                let _ = results.send(Err(status)).await;
                return;
            }
        }
        // Answered: room for as many new envelopes.
        drop(permits);
    }
}
