//! How the leader's handlers propose their batches to Raft: group commit,
//! one level up.
//!
//! Every Raft entry costs a flush of the Raft log on each member, a round
//! trip to the followers and a flush of the journal on each member when it
//! is applied. One entry per request made a unary Submit cost all of that
//! alone: at 1,500 unary writes a second the queue grew to a p50 of 95 ms
//! (BENCHMARKS.md, Replication). So requests go through a queue, and a task
//! turns what has gathered in it into one entry, at most
//! [`MAX_BATCH`] envelopes, while at most [`IN_FLIGHT`] entries it proposed
//! are not yet answered: when Raft is busy, requests gather, as they do in
//! front of a single node's sequencer while it flushes.
//!
//! Requests keep their order: the queue is one channel, entries are
//! proposed in the order they are made, and a request is never split.
//!
//! The leader's handlers have checked the signatures of what it proposes;
//! [`Verified`] remembers those envelopes so that its own state machine
//! does not check them a second time (every other member does).

use std::sync::Arc;

use carbon_ledger::node::{Submitted, MAX_BATCH};
use carbon_proto::v1 as pb;
use openraft::error::ClientWriteError;
use prost::Message;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::types::{Batch, MemberId, Peer, Raft};
use crate::sequencer::{Propose, Queued, Unavailable, QUEUE_REQUESTS};

/// Entries proposed and not yet answered, at most.
pub const IN_FLIGHT: usize = 2;

/// Most envelopes [`Verified`] remembers (beyond, they are checked again).
const VERIFIED_MAX: usize = 64 * 1024;

/// The envelopes this member's handlers verified and proposed, by the
/// SHA-256 of their payload and signature (the whole envelope: one with the
/// same signature and another payload is another envelope), until its state
/// machine applies them. Bounded: what does not fit is checked again.
#[derive(Clone, Default)]
pub struct Verified(Arc<std::sync::Mutex<std::collections::HashSet<[u8; 32]>>>);

impl Verified {
    fn key(env: &pb::SignedCommand) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update((env.payload.len() as u64).to_be_bytes());
        h.update(&env.payload);
        h.update(&env.signature);
        h.finalize().into()
    }

    fn remember(&self, envs: &[(pb::SignedCommand, bool)]) {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (env, checked) in envs {
            if *checked && set.len() < VERIFIED_MAX {
                set.insert(Verified::key(env));
            }
        }
    }

    /// Whether `env` was verified by this member's handlers (forgotten now).
    pub fn take(&self, env: &pb::SignedCommand) -> bool {
        let key = Verified::key(env);
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&key)
    }
}

/// One request waiting to go into an entry.
struct Proposal {
    batch: Vec<pb::SignedCommand>,
    reply: oneshot::Sender<Result<Vec<Submitted>, Unavailable>>,
}

/// [`Propose`] for the sequencer's handle on a cluster member.
pub struct Proposer {
    raft: Raft,
    id: MemberId,
    queue: mpsc::Sender<Proposal>,
    verified: Verified,
}

impl Proposer {
    /// Starts the task that makes entries (on the current runtime);
    /// `verified` is shared with this member's state machine.
    pub fn start(raft: Raft, id: MemberId, verified: Verified) -> Proposer {
        let (queue, rx) = mpsc::channel(QUEUE_REQUESTS);
        tokio::spawn(make_entries(raft.clone(), rx));
        Proposer {
            raft,
            id,
            queue,
            verified,
        }
    }
}

/// The leader's public address, if this member knows a leader.
fn leader_api(raft: &Raft) -> Option<String> {
    leader_api_in(&raft.metrics().borrow())
}

/// The leader's public address in these metrics, if they name a leader.
pub(super) fn leader_api_in(m: &openraft::RaftMetrics<MemberId, Peer>) -> Option<String> {
    m.current_leader
        .and_then(|l| m.membership_config.membership().get_node(&l).map(|p| p.api.clone()))
}

impl Propose for Proposer {
    fn propose(
        &self,
        batch: Vec<(pb::SignedCommand, bool)>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Queued, Unavailable>> + Send + '_>> {
        Box::pin(async move {
            if self.raft.metrics().borrow().current_leader != Some(self.id) {
                return Err(Unavailable::NotLeader(leader_api(&self.raft)));
            }
            let envelopes = batch.len();
            self.verified.remember(&batch);
            let (reply, answer) = oneshot::channel();
            let proposal = Proposal {
                batch: batch.into_iter().map(|(e, _)| e).collect(),
                reply,
            };
            self.queue
                .send(proposal)
                .await
                .map_err(|_| Unavailable::Failed("the proposer has stopped".into()))?;
            let answer = Box::pin(async move {
                answer
                    .await
                    .map_err(|_| Unavailable::Interrupted("this member stopped leading".into()))?
            });
            Ok(Queued::new(answer, envelopes))
        })
    }
}

/// Turns what has gathered in the queue into entries, in order.
async fn make_entries(raft: Raft, mut rx: mpsc::Receiver<Proposal>) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut carried: Option<Proposal> = None;
    loop {
        // Wait for room first: meanwhile requests gather in the queue.
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let first = match carried.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut envelopes = first.batch.len();
        let mut proposals = vec![first];
        while let Ok(next) = rx.try_recv() {
            if envelopes + next.batch.len() > MAX_BATCH {
                carried = Some(next);
                break;
            }
            envelopes += next.batch.len();
            proposals.push(next);
        }
        let data = Batch {
            envelopes: proposals
                .iter()
                .flat_map(|p| p.batch.iter().map(|e| e.encode_to_vec()))
                .collect(),
        };
        let written = raft.client_write_ff(data).await;
        let leader = leader_api(&raft);
        tokio::spawn(async move {
            let answers = match written {
                Err(e) => Err(Unavailable::Failed(format!("Raft has stopped: {e}"))),
                Ok(rx) => match rx.await {
                    Ok(Ok(w)) => Ok(w.data.answers),
                    Ok(Err(ClientWriteError::ForwardToLeader(_))) => Err(Unavailable::NotLeader(leader)),
                    Ok(Err(e)) => Err(Unavailable::Interrupted(e.to_string())),
                    Err(_) => Err(Unavailable::Interrupted("this member stopped leading".into())),
                },
            };
            drop(permit);
            match answers {
                Ok(answers) => {
                    assert_eq!(answers.len(), envelopes, "one answer per envelope");
                    let mut answers = answers.into_iter();
                    for p in proposals {
                        let mine = answers.by_ref().take(p.batch.len()).collect();
                        let _ = p.reply.send(Ok(mine));
                    }
                }
                Err(e) => {
                    for p in proposals {
                        let _ = p.reply.send(Err(e.clone()));
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(payload: &[u8], signature: &[u8]) -> pb::SignedCommand {
        pb::SignedCommand {
            payload: payload.to_vec(),
            signature: signature.to_vec(),
        }
    }

    #[test]
    fn only_the_very_envelope_a_handler_verified_is_taken_as_verified() {
        let v = Verified::default();
        v.remember(&[(env(b"p", b"s"), true), (env(b"q", b"s"), false)]);
        assert!(!v.take(&env(b"q", b"s")), "not verified by the handler");
        assert!(!v.take(&env(b"p2", b"s")), "the same signature on another payload");
        assert!(!v.take(&env(b"p", b"s2")), "another signature on the same payload");
        assert!(v.take(&env(b"p", b"s")));
        assert!(!v.take(&env(b"p", b"s")), "taken once");
    }
}
