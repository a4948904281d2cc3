//! The Raft state machine: the ledger's own, on the sequencer thread.
//!
//! Committed entries are handed to the [sequencer](crate::sequencer) as
//! [`Request::Apply`](crate::sequencer::Request): it authenticates and applies
//! every envelope with the same deterministic state machine as a
//! single-node ledger, appends the journal entries, signs a checkpoint and
//! flushes once, with the [`Marker`] (the Raft position reached) stored by
//! the same flush. Every member does exactly this with exactly these
//! entries, so every member writes the same journal.
//!
//! Entries are applied whole: as many consecutive ones as fit in
//! [`MAX_BATCH`] envelopes go in one flush, and a flush never holds part of
//! an entry. So the marker on disk always names exactly the entries whose
//! effects the journal holds: a command refused before sequencing leaves
//! no trace but its place in the Raft log, and applying an entry twice
//! could turn such a refusal into an acceptance. (At start-up, journal
//! entries a crash left past the marker are removed: `mod.rs`.)
//!
//! Signatures are checked before the sequencer sees the envelopes, on the
//! blocking pool spread over the cores, against the directory of accounts
//! the sequencer publishes (what a single node's handlers do): an envelope
//! whose actor is known and whose signature is its own reaches the node as
//! verified; any other (its actor created in the same batch, a bad
//! signature) the node checks and decides itself, the same on every member.
//! On the leader, envelopes its own handlers verified are not checked
//! again ([`Verified`]).
//!
//! A Raft snapshot is the whole journal and the state after it
//! ([`LedgerSnapshot`]), built when asked (openraft asks after every
//! `snapshot_logs` entries, and when a member needs one): the state's
//! image and its marker come from the sequencer at one moment, the
//! entries from the journal, off the sequencer.

use std::io::Cursor;

use carbon_ledger::journal::JournalReader;
use carbon_ledger::node::{Marker as NodeMarker, MAX_BATCH};
use carbon_proto::v1 as pb;
use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use prost::Message;

use super::proposer::Verified;
use super::types::{
    sm_error, Answers, Entry, Ledger, LedgerSnapshot, LogId, Marker, Snapshot, SnapshotMeta, StorageError,
    StoredMembership,
};
use crate::sequencer::{Handle, KeyMap};
use crate::service::{signed_by_known_actor, MIN_VERIFY_CHUNK};

/// The state machine openraft drives; a clone builds snapshots.
#[derive(Clone)]
pub struct StateMachine {
    sequencer: Handle,
    journal: JournalReader,
    /// The accounts' keys, for the signature checks off the sequencer.
    keys: KeyMap,
    ledger_id: [u8; 32],
    /// What this member's handlers verified before proposing it.
    verified: Verified,
    /// What the journal's last flush stored (or is about to).
    marker: Marker,
}

impl StateMachine {
    /// `marker`: the one stored in the journal at start-up.
    pub fn new(
        sequencer: Handle,
        journal: JournalReader,
        keys: KeyMap,
        ledger_id: [u8; 32],
        verified: Verified,
        marker: Marker,
    ) -> StateMachine {
        StateMachine {
            sequencer,
            journal,
            keys,
            ledger_id,
            verified,
            marker,
        }
    }

    /// Each envelope with whether its signature is checked already (see
    /// the module doc), in order.
    async fn verified(&self, envs: Vec<pb::SignedCommand>) -> Result<Vec<(pb::SignedCommand, bool)>, StorageError> {
        let envs: Vec<(pb::SignedCommand, bool)> = envs
            .into_iter()
            .map(|e| {
                let known = self.verified.take(&e);
                (e, known)
            })
            .collect();
        if envs.iter().all(|(_, known)| *known) {
            return Ok(envs);
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per_task = envs.len().div_ceil(cores).max(MIN_VERIFY_CHUNK);
        let mut rest = envs;
        let mut tasks = Vec::new();
        while !rest.is_empty() {
            let tail = rest.split_off(per_task.min(rest.len()));
            let chunk = std::mem::replace(&mut rest, tail);
            let (keys, ledger_id) = (self.keys.clone(), self.ledger_id);
            tasks.push(tokio::task::spawn_blocking(move || {
                chunk
                    .into_iter()
                    .map(|(e, known)| {
                        let ok = known || signed_by_known_actor(&keys, &ledger_id, &e);
                        (e, ok)
                    })
                    .collect::<Vec<_>>()
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.extend(t.await.map_err(sm_error)?);
        }
        Ok(out)
    }

    /// The marker to store with a flush, given the journal length then.
    fn node_marker(&self) -> NodeMarker {
        let marker = self.marker.clone();
        Box::new(move |journal_len| Marker { journal_len, ..marker }.encode())
    }

    /// Applies the envelopes gathered so far, with the marker as it stands.
    async fn flush(
        &mut self,
        batch: &mut Vec<pb::SignedCommand>,
        slots: &mut Vec<(usize, usize)>,
        out: &mut [Answers],
    ) -> Result<(), StorageError> {
        let checked = self.verified(std::mem::take(batch)).await?;
        let answers = self
            .sequencer
            .apply(checked, self.node_marker())
            .await
            .map_err(sm_error)?;
        let mut answers = answers.into_iter();
        for (slot, n) in slots.drain(..) {
            out[slot].answers.extend(answers.by_ref().take(n));
        }
        assert!(answers.next().is_none(), "one answer per envelope");
        Ok(())
    }
}

/// The envelopes of a batch. Bytes that do not decode (never, from a
/// leader of this build) become an empty envelope, which every member
/// refuses alike: MALFORMED.
fn envelopes(payload: &EntryPayload<Ledger>) -> Vec<pb::SignedCommand> {
    match payload {
        EntryPayload::Normal(batch) => batch
            .envelopes
            .iter()
            .map(|b| pb::SignedCommand::decode(b.as_slice()).unwrap_or_default())
            .collect(),
        _ => Vec::new(),
    }
}

impl RaftStateMachine<Ledger> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.marker.applied, self.marker.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Answers>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out: Vec<Answers> = Vec::new();
        let mut batch: Vec<pb::SignedCommand> = Vec::new();
        // Where in `out` the envelopes of `batch` answer, and how many each.
        let mut slots = Vec::new();
        for entry in entries {
            let envs = envelopes(&entry.payload);
            if !batch.is_empty() && batch.len() + envs.len() > MAX_BATCH {
                self.flush(&mut batch, &mut slots, &mut out).await?;
            }
            self.marker.applied = Some(entry.log_id);
            if let EntryPayload::Membership(m) = entry.payload {
                self.marker.membership = StoredMembership::new(Some(entry.log_id), m);
            }
            out.push(Answers {
                answers: Vec::with_capacity(envs.len()),
            });
            slots.push((out.len() - 1, envs.len()));
            batch.extend(envs);
        }
        // Even with no envelope (a leader's blank entry, a membership): the
        // marker moves, durably.
        self.flush(&mut batch, &mut slots, &mut out).await?;
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> StateMachine {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let snap: LedgerSnapshot = postcard::from_bytes(snapshot.get_ref()).map_err(sm_error)?;
        let before = self.marker.clone();
        self.marker.applied = meta.last_log_id;
        self.marker.membership = meta.last_membership.clone();
        let installed = self
            .sequencer
            .install(snap.entries, snap.state, self.node_marker())
            .await;
        if let Err(e) = installed {
            self.marker = before;
            return Err(sm_error(e));
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        if self.marker.applied.is_none() {
            return Ok(None);
        }
        self.build_snapshot().await.map(Some)
    }
}

impl RaftSnapshotBuilder<Ledger> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        // The image and the marker of one moment: the sequencer answers
        // between two applies, and this clone's marker may be older.
        let image = self.sequencer.image().await.map_err(sm_error)?;
        let marker = match &image.marker {
            Some(bytes) => Marker::decode(bytes).map_err(sm_error)?,
            None => return Err(sm_error("no replication marker in the journal")),
        };
        if marker.journal_len != image.journal_len {
            return Err(sm_error(format!(
                "the journal's marker ({} entries) is not at the state's length ({})",
                marker.journal_len, image.journal_len
            )));
        }
        let journal = self.journal.clone();
        let len = image.journal_len;
        let entries = tokio::task::spawn_blocking(move || {
            journal
                .range_raw(0, len)
                .map(|r| r.map(|(_, raw)| raw))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(sm_error)?
        .map_err(sm_error)?;
        let bytes = postcard::to_allocvec(&LedgerSnapshot {
            entries,
            state: image.state,
        })
        .map_err(sm_error)?;
        let Some(applied) = marker.applied else {
            return Err(sm_error("nothing applied yet: no snapshot"));
        };
        let meta = SnapshotMeta {
            last_log_id: Some(applied),
            last_membership: marker.membership,
            snapshot_id: format!("{}-{}-{len}", applied.leader_id, applied.index),
        };
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}
