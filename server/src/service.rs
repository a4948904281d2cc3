//! `carbon.v1.Ledger` over gRPC: checks the limits, verifies signatures in
//! parallel, hands envelopes to the [sequencer](crate::sequencer) and turns
//! its answers into protobuf results or statuses (RULEBOOK.md 12). Submit,
//! SubmitBatch and SubmitStream (its pipeline is in
//! [submit_stream](crate::submit_stream)) share one way in, [`Submitter`].
//!
//! # Signature pre-verification
//!
//! A handler decodes the payload only to read `actor`, looks the actor's key
//! up in the [`KeyMap`] and checks the signature (below) on tokio's blocking pool,
//! so that the single sequencer thread does none of that work. What reaches
//! the node is `(envelope, true)` when the signature verified, and
//! `(envelope, false)` otherwise: the actor was unknown at that time (it may
//! be created by an earlier command of the same batch), the payload did not
//! decode, or the signature failed. In the last case the node re-checks in
//! the rulebook's order, so that `MALFORMED` or `UNKNOWN_COMMAND` win over
//! `BAD_SIGNATURE` (RULEBOOK.md 12); that costs one more verification, and
//! only for bad envelopes.
//!
//! The envelopes of a request are split over the cores and each signature
//! is checked with [`carbon_ledger::signature::verify_strict`]: exactly
//! `verify_strict`'s rule, the check every later audit makes, without its
//! second decompression of `R`.
//!
//! Not batch verification, deliberately. `ed25519_dalek::verify_batch` is
//! about 2 times cheaper per signature here, but it accepts, with a
//! probability of about 1/8 decided by weights derived from the batch's
//! contents, a signature whose `R` carries a small torsion component, which
//! `verify_strict` refuses. The holder of a key can make such signatures at
//! will, and grind them until a grouping accepts one. Accepting one would
//! journal a command that later audits may or may not report as badly
//! signed: any participant could make the ledger's own audit fail at random.
//! An acknowledged command must verify for everyone, forever, so the service
//! pays the strict price (BENCHMARKS.md has both figures). The offline audit
//! may use batches: every signature the service accepted passes them.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;

use carbon_ledger::code::{Code, StatusClass};
use carbon_ledger::command::Role;
use carbon_ledger::journal::JournalReader;
use carbon_ledger::node::{Submitted, MAX_BATCH};
use carbon_ledger::num::{fmt_cents, fmt_ticks};
use carbon_ledger::replica::Replica;
use carbon_ledger::state::{decode_command, outcome_to_pb, verify_signature};
use carbon_proto::v1 as pb;
use pb::ledger_server::Ledger;
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::Authenticator;
use crate::limits::StreamLimits;
use crate::sequencer::{Handle, KeyMap, Queued};
use crate::submit_stream;
use crate::telemetry::Outcomes;
use crate::view::View;

/// Most envelopes in one SubmitBatch (the node's batch bound).
pub const MAX_BATCH_ENVELOPES: usize = MAX_BATCH;

/// Most bytes of one command payload. Larger envelopes are `MALFORMED`
/// without being sequenced (no command of the rulebook needs more).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Most bytes of one decoded gRPC message: room for a full batch of
/// ordinary commands (a few hundred bytes each).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Most bytes of an account id in a query (ids are short; bounds the work).
const MAX_ID_BYTES: usize = 256;

/// Fewest envelopes worth a blocking task of their own.
pub(crate) const MIN_VERIFY_CHUNK: usize = 32;

/// Journal entries buffered per StreamJournal call ahead of the client.
const STREAM_BUFFER: usize = 256;

/// Most SubmitStream calls open at once over the whole server.
pub const MAX_SUBMIT_STREAMS: usize = 256;

/// Most SubmitStream calls open at once from one client address, so that one
/// client cannot take all of [`MAX_SUBMIT_STREAMS`].
pub const MAX_SUBMIT_STREAMS_PER_CLIENT: usize = 16;

/// Most proofs computed at once (on the blocking pool).
const MAX_PROOFS_AT_ONCE: usize = 8;

/// The service: shared by every connection (tonic wraps it in an `Arc`).
pub struct LedgerService {
    /// Where reads run.
    view: View,
    auth: Arc<Authenticator>,
    /// Entries and the command index, read off the sequencer.
    journal: JournalReader,
    submitter: Submitter,
    /// Proofs computed at once, at most (each a few dozen microseconds).
    proofs: Arc<tokio::sync::Semaphore>,
    /// Open SubmitStream calls, over the server and per client address.
    submit_streams: StreamLimits,
}

impl LedgerService {
    pub fn new(seq: Handle, view: View, keys: KeyMap, auth: Arc<Authenticator>, journal: JournalReader) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Regulators exist from genesis on, and only they: their
        // jurisdictions are the market's.
        let jurisdictions = keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|m| m.role == Role::Regulator)
            .filter_map(|m| m.jurisdiction.clone())
            .collect();
        let ledger_id = auth.ledger_id();
        LedgerService {
            auth,
            journal,
            submitter: Submitter {
                seq: seq.clone(),
                jurisdictions: Arc::new(jurisdictions),
                ledger_id,
                keys,
                verify_tasks: cores,
                outcomes: Outcomes::register(),
            },
            view,
            proofs: Arc::new(tokio::sync::Semaphore::new(MAX_PROOFS_AT_ONCE)),
            submit_streams: StreamLimits::new("submit streams", MAX_SUBMIT_STREAMS, MAX_SUBMIT_STREAMS_PER_CLIENT)
                .metered("submit"),
        }
    }

    async fn read<T>(&self, f: impl FnOnce(&Replica) -> T) -> Result<T, Status> {
        self.view.read(f).await.map_err(Status::from)
    }

    /// A proof: the read view hands out a copy of its tree (a few dozen
    /// pointers: it is structurally shared) and `prove`, O(log² n), runs
    /// on the blocking pool, a few at a time.
    async fn prove<R, T>(
        &self,
        read: impl FnOnce(&Replica) -> R,
        prove: impl FnOnce(R) -> Result<T, Status> + Send + 'static,
    ) -> Result<Response<T>, Status>
    where
        R: Send + 'static,
        T: Send + 'static,
    {
        let _bounded = self
            .proofs
            .acquire()
            .await
            .map_err(|_| Status::unavailable("shutting down"))?;
        let taken = self.read(read).await?;
        let proof = tokio::task::spawn_blocking(move || prove(taken))
            .await
            .map_err(|e| Status::internal(e.to_string()))??;
        Ok(Response::new(proof))
    }
}

/// The way in shared by Submit, SubmitBatch and SubmitStream: the payload
/// limit, strict signature checks spread over the cores, and the hand-off
/// to the sequencer. Its own type, cheap to clone, so that a SubmitStream's
/// task can own one and every path checks envelopes the same way.
#[derive(Clone)]
pub(super) struct Submitter {
    seq: Handle,
    keys: KeyMap,
    /// The market's jurisdictions (fixed at genesis), for the form checks
    /// that come before `BAD_SIGNATURE`.
    jurisdictions: Arc<BTreeSet<String>>,
    /// The ledger every signature must be bound to.
    ledger_id: [u8; 32],
    /// Blocking tasks one request spreads its verification over.
    verify_tasks: usize,
    /// Counts the envelopes refused here, before sequencing.
    outcomes: Outcomes,
}

/// Envelopes handed to the sequencer and not yet answered (from
/// [`Submitter::enqueue`]): the answers of oversized envelopes, given at
/// once, and the queued request of the rest.
pub(super) struct PendingResults {
    /// One per envelope, in order: `Some` when already answered.
    results: Vec<Option<pb::CommandResult>>,
    /// The rest, queued at the sequencer; `None` when nothing was queued.
    queued: Option<Queued>,
}

impl PendingResults {
    /// One result per envelope, in order, once every queued one is durable.
    pub(super) async fn results(self) -> Result<Vec<pb::CommandResult>, Status> {
        let mut results = self.results;
        if let Some(queued) = self.queued {
            let mut answers = queued.answers().await.map_err(Status::from)?.into_iter();
            for slot in results.iter_mut().filter(|r| r.is_none()) {
                *slot = Some(command_result(answers.next().expect("one answer per envelope")));
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every command answered"))
            .collect())
    }
}

impl Submitter {
    /// Answers oversized envelopes `MALFORMED` (unsequenced), verifies the
    /// rest and queues them at the sequencer as one request. Returns once
    /// they are queued, so that requests queued one after another are
    /// sequenced in that order; [`PendingResults::results`] waits for the
    /// answers. At most [`MAX_BATCH_ENVELOPES`] envelopes.
    pub(super) async fn enqueue(&self, envs: Vec<pb::SignedCommand>) -> Result<PendingResults, Status> {
        let mut results: Vec<Option<pb::CommandResult>> = Vec::with_capacity(envs.len());
        let mut to_sequence = Vec::with_capacity(envs.len());
        for env in envs {
            if oversized(&env) {
                self.outcomes.add(Some(Code::Malformed), 1);
                results.push(Some(command_result(Submitted {
                    seq: None,
                    result: Err(Code::Malformed),
                })));
            } else {
                results.push(None);
                to_sequence.push(env);
            }
        }
        let mut checked = Vec::with_capacity(to_sequence.len());
        if !to_sequence.is_empty() {
            // Refused on the handler: answered now, in place, never sequenced.
            let mut slots = results.iter_mut().filter(|r| r.is_none());
            for (env, check) in self.preverify(to_sequence).await? {
                let slot = slots.next().expect("one slot per envelope to sequence");
                match check {
                    Precheck::Refused(code) => {
                        self.outcomes.add(Some(code), 1);
                        *slot = Some(command_result(Submitted {
                            seq: None,
                            result: Err(code),
                        }))
                    }
                    check => checked.push((env, check == Precheck::Verified)),
                }
            }
        }
        let queued = if checked.is_empty() {
            None
        } else {
            Some(self.seq.enqueue(checked).await.map_err(Status::from)?)
        };
        Ok(PendingResults { results, queued })
    }

    /// Checks the envelopes' signatures; returns each with its [`Precheck`].
    /// Several are spread over the cores on the blocking pool, with the
    /// decoding and key lookups, off the async workers. One alone (a unary
    /// Submit) is checked right here: about 50 µs, within tokio's budget
    /// between two awaits, and cheaper than the hop to a blocking thread,
    /// which gave the unary path its latency tail (p99.9 12-51 ms there,
    /// 10-13 ms here, in alternating runs at 5,000/s).
    async fn preverify(&self, envs: Vec<pb::SignedCommand>) -> Result<Vec<(pb::SignedCommand, Precheck)>, Status> {
        if envs.len() == 1 {
            return Ok(envs
                .into_iter()
                .map(|e| {
                    let check = precheck(&self.keys, &self.jurisdictions, &self.ledger_id, &e);
                    (e, check)
                })
                .collect());
        }
        let per_task = envs.len().div_ceil(self.verify_tasks).max(MIN_VERIFY_CHUNK);
        let mut rest = envs;
        let mut tasks = Vec::with_capacity(self.verify_tasks);
        while !rest.is_empty() {
            let tail = rest.split_off(per_task.min(rest.len()));
            let chunk = std::mem::replace(&mut rest, tail);
            let keys = self.keys.clone();
            let jurisdictions = self.jurisdictions.clone();
            let ledger_id = self.ledger_id;
            tasks.push(tokio::task::spawn_blocking(move || {
                chunk
                    .into_iter()
                    .map(|e| {
                        let check = precheck(&keys, &jurisdictions, &ledger_id, &e);
                        (e, check)
                    })
                    .collect::<Vec<_>>()
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.extend(t.await.map_err(|e| Status::internal(format!("signature check: {e}")))?);
        }
        Ok(out)
    }
}

/// What the handler found of an envelope before the sequencer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Precheck {
    /// The signature is the actor's: the sequencer does not check it again.
    Verified,
    /// The payload does not decode or its actor is not known yet (it may be
    /// created by a command queued ahead): the sequencer decides, and it
    /// refuses such a command before any signature check unless the account
    /// has appeared meanwhile.
    Unchecked,
    /// Refused here and never sequenced: the actor is known and the
    /// signature is not its, so the first failing check of RULEBOOK.md 12
    /// (a form error, else `BAD_SIGNATURE`). A flood of forged envelopes
    /// costs the handlers' cores, never the sequencer's time.
    Refused(Code),
}

/// The [`Precheck`] of one envelope.
fn precheck(
    keys: &KeyMap,
    jurisdictions: &BTreeSet<String>,
    ledger_id: &[u8; 32],
    env: &pb::SignedCommand,
) -> Precheck {
    match key_for(keys, env) {
        None => Precheck::Unchecked,
        Some(key) if verify_signature(&key, ledger_id, env).is_ok() => Precheck::Verified,
        Some(_) => Precheck::Refused(
            decode_command(&env.payload, jurisdictions)
                .err()
                .unwrap_or(Code::BadSignature),
        ),
    }
}

/// True when `env` is signed by its actor's key as the directory knows it
/// (a replicated ledger's members check committed envelopes this way off
/// the sequencer; false means only that the sequencer must decide).
pub(crate) fn signed_by_known_actor(keys: &KeyMap, ledger_id: &[u8; 32], env: &pb::SignedCommand) -> bool {
    key_for(keys, env).is_some_and(|key| verify_signature(&key, ledger_id, env).is_ok())
}

/// The actor's key, if the payload decodes and the actor is known.
fn key_for(keys: &KeyMap, env: &pb::SignedCommand) -> Option<ed25519_dalek::VerifyingKey> {
    let cmd = pb::Command::decode(env.payload.as_slice()).ok()?;
    let keys = keys.read().unwrap_or_else(|p| p.into_inner());
    keys.get(cmd.actor.as_deref()?).map(|m| m.key)
}

/// The gRPC code of a rulebook code (RULEBOOK.md 12).
pub fn grpc_code(code: Code) -> tonic::Code {
    match code.status_class() {
        StatusClass::InvalidArgument => tonic::Code::InvalidArgument,
        StatusClass::Unauthenticated => tonic::Code::Unauthenticated,
        StatusClass::PermissionDenied => tonic::Code::PermissionDenied,
        StatusClass::NotFound => tonic::Code::NotFound,
        StatusClass::AlreadyExists => tonic::Code::AlreadyExists,
        StatusClass::FailedPrecondition => tonic::Code::FailedPrecondition,
    }
}

/// A rejected command as a status: the class of RULEBOOK.md 12, the code in
/// the message and, protobuf-encoded as a `Rejection`, in the details.
pub fn rejection(code: Code, why: String) -> Status {
    let details = pb::Rejection {
        code: code.as_str().into(),
        message: why.clone(),
    }
    .encode_to_vec();
    Status::with_details(grpc_code(code), format!("{code}: {why}"), details.into())
}

/// Why a command was rejected, for the message of a status.
fn rejected_why(seq: Option<u64>) -> String {
    match seq {
        Some(s) => format!("rejected; journalled at seq {s} (its nonce is used up)"),
        None => "rejected before sequencing".into(),
    }
}

/// A Submit answer as a protobuf result (for SubmitBatch and SubmitStream).
fn command_result(s: Submitted) -> pb::CommandResult {
    pb::CommandResult {
        seq: s.seq.unwrap_or(0),
        outcome: Some(outcome_to_pb(&s.result)),
    }
}

fn oversized(env: &pb::SignedCommand) -> bool {
    env.payload.len() > MAX_PAYLOAD_BYTES
}

fn oversized_why(env: &pb::SignedCommand) -> String {
    format!(
        "a payload of {} bytes exceeds the limit of {MAX_PAYLOAD_BYTES}",
        env.payload.len()
    )
}

/// The wire form of a role.
pub fn role_to_pb(r: Role) -> pb::Role {
    match r {
        Role::Operator => pb::Role::Operator,
        Role::Regulator => pb::Role::Regulator,
        Role::Entity => pb::Role::Entity,
        Role::Investor => pb::Role::Investor,
        Role::Verifier => pb::Role::Verifier,
        Role::Auditor => pb::Role::Auditor,
    }
}

/// The wire view of an account of `state`; `carbon audit account` prints the same offline.
pub fn account_pb(state: &carbon_ledger::state::State, id: &str) -> Option<pb::AccountView> {
    let a = state.account(id)?;
    Some(pb::AccountView {
        id: a.id.clone(),
        role: role_to_pb(a.role) as i32,
        jurisdiction: a.jurisdiction.clone().unwrap_or_default(),
        frozen: a.frozen,
        cash_available: fmt_cents(a.cash_available),
        cash_locked: fmt_cents(a.cash_locked),
        holdings: a
            .holdings
            .iter()
            .map(|(s, h)| pb::Balance {
                instrument: s.clone(),
                available: h.available,
                locked: h.locked,
                pending: h.pending,
            })
            .collect(),
        public_key: a.public_key.to_bytes().to_vec(),
        last_nonce: a.last_nonce,
    })
}

/// Every instrument's supply counters; `carbon audit supply` prints the same offline.
pub fn supply_pb(state: &carbon_ledger::state::State) -> pb::SupplyView {
    pb::SupplyView {
        supply: state
            .instruments
            .values()
            .map(|i| pb::Supply {
                instrument: i.symbol.clone(),
                issued: i.issued,
                surrendered: i.surrendered,
                retired: i.retired,
                clawed_back: i.clawed_back,
                outstanding: i.outstanding(),
            })
            .collect(),
    }
}

fn instrument_list(node: &Replica) -> pb::InstrumentList {
    pb::InstrumentList {
        instruments: node
            .state()
            .instruments
            .values()
            .map(|i| pb::InstrumentView {
                symbol: i.symbol.clone(),
                reference_price: fmt_ticks(i.reference),
            })
            .collect(),
    }
}

pub(crate) fn checkpoint_view(node: &Replica) -> pb::Checkpoint {
    pb::Checkpoint {
        text: node.checkpoint().to_string(),
        tree_size: node.tree().len(),
        root_hash: node.tree().root().to_vec(),
        ledger_id: node.ledger_id().to_vec(),
    }
}

/// Most journal entries read from the store at a time for one stream.
const JOURNAL_CHUNK: u64 = 512;

/// The raw entries `from..until` (at most [`JOURNAL_CHUNK`]), read from the
/// store on a blocking thread.
async fn journal_chunk(journal: &JournalReader, from: u64, until: u64) -> Result<Vec<(u64, Vec<u8>)>, String> {
    let journal = journal.clone();
    let until = until.min(from + JOURNAL_CHUNK);
    tokio::task::spawn_blocking(move || {
        journal
            .range_raw(from, until)
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

type JournalStream = Pin<Box<dyn Stream<Item = Result<pb::JournalEntry, Status>> + Send>>;

#[tonic::async_trait]
impl Ledger for LedgerService {
    async fn submit(&self, request: Request<pb::SignedCommand>) -> Result<Response<pb::CommandResult>, Status> {
        let env = request.into_inner();
        if oversized(&env) {
            self.submitter.outcomes.add(Some(Code::Malformed), 1);
            return Err(rejection(Code::Malformed, oversized_why(&env)));
        }
        let (env, check) = self
            .submitter
            .preverify(vec![env])
            .await?
            .pop()
            .expect("one check for one envelope");
        let answer = match check {
            Precheck::Refused(code) => {
                self.submitter.outcomes.add(Some(code), 1);
                Submitted {
                    seq: None,
                    result: Err(code),
                }
            }
            check => self
                .submitter
                .seq
                .submit(vec![(env, check == Precheck::Verified)])
                .await
                .map_err(Status::from)?
                .pop()
                .expect("one answer for one envelope"),
        };
        match answer.result {
            Ok(_) => Ok(Response::new(command_result(answer))),
            Err(code) => Err(rejection(code, rejected_why(answer.seq))),
        }
    }

    async fn submit_batch(
        &self,
        request: Request<pb::SubmitBatchRequest>,
    ) -> Result<Response<pb::SubmitBatchResponse>, Status> {
        let envs = request.into_inner().commands;
        if envs.len() > MAX_BATCH_ENVELOPES {
            return Err(Status::invalid_argument(format!(
                "a batch of {} commands exceeds the limit of {MAX_BATCH_ENVELOPES}",
                envs.len()
            )));
        }
        let results = self.submitter.enqueue(envs).await?.results().await?;
        Ok(Response::new(pb::SubmitBatchResponse { results }))
    }

    type SubmitStreamStream = ReceiverStream<Result<pb::CommandResult, Status>>;

    /// Pipelined submission: see [`submit_stream`] for how the envelopes
    /// are gathered, bounded and answered.
    async fn submit_stream(
        &self,
        request: Request<Streaming<pb::SignedCommand>>,
    ) -> Result<Response<Self::SubmitStreamStream>, Status> {
        let slot = self.submit_streams.admit(request.remote_addr())?;
        let results = submit_stream::start(self.submitter.clone(), request.into_inner(), slot);
        Ok(Response::new(results))
    }

    async fn get_account(&self, request: Request<pb::GetAccountRequest>) -> Result<Response<pb::AccountView>, Status> {
        let caller = self.auth.caller(&request, "/carbon.v1.Ledger/GetAccount")?;
        let id = request.into_inner().id;
        if id.len() > MAX_ID_BYTES {
            return Err(rejection(Code::Malformed, "the account id is too long".into()));
        }
        self.auth.require_reader(&caller, &id, "the account view")?;
        let view = {
            let id = id.clone();
            self.read(move |node| account_pb(node.state(), &id)).await?
        };
        view.map(Response::new)
            .ok_or_else(|| rejection(Code::UnknownAccount, format!("no account {id:?}")))
    }

    async fn get_supply(&self, request: Request<pb::GetSupplyRequest>) -> Result<Response<pb::SupplyView>, Status> {
        self.auth.public(&request, "/carbon.v1.Ledger/GetSupply")?;
        Ok(Response::new(self.read(|node| supply_pb(node.state())).await?))
    }

    async fn list_instruments(
        &self,
        request: Request<pb::ListInstrumentsRequest>,
    ) -> Result<Response<pb::InstrumentList>, Status> {
        self.auth.public(&request, "/carbon.v1.Ledger/ListInstruments")?;
        Ok(Response::new(self.read(instrument_list).await?))
    }

    type StreamJournalStream = JournalStream;

    /// Every entry from `from_seq` up to the journal's length when the call
    /// began, then the stream ends. Entries are read from the store a
    /// chunk at a time, off the sequencer, and sent as stored.
    async fn stream_journal(
        &self,
        request: Request<pb::StreamJournalRequest>,
    ) -> Result<Response<Self::StreamJournalStream>, Status> {
        const METHOD: &str = "/carbon.v1.Ledger/StreamJournal";
        self.auth.caller(&request, METHOD)?.require_supervisor(METHOD)?;
        let from = request.into_inner().from_seq;
        let until = self.view.durable().map_err(Status::from)?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let journal = self.journal.clone();
        tokio::spawn(async move {
            let mut next = from;
            while next < until {
                let chunk = match journal_chunk(&journal, next, until).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send(Err(Status::internal(e))).await;
                        return;
                    }
                };
                if chunk.is_empty() {
                    let _ = tx
                        .send(Err(Status::internal(format!("journal entry {next} is missing"))))
                        .await;
                    return;
                }
                for (s, raw) in chunk {
                    let item = pb::JournalEntry::decode(raw.as_slice())
                        .map_err(|e| Status::internal(format!("journal entry {s}: {e}")));
                    let bad = item.is_err();
                    if tx.send(item).await.is_err() || bad {
                        return; // the client went away, or the journal is damaged
                    }
                    next = s + 1;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_checkpoint(
        &self,
        request: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::Checkpoint>, Status> {
        self.auth.public(&request, "/carbon.v1.Ledger/GetCheckpoint")?;
        Ok(Response::new(self.read(checkpoint_view).await?))
    }

    async fn get_inclusion_proof(
        &self,
        request: Request<pb::InclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProof>, Status> {
        let caller = self.auth.caller(&request, "/carbon.v1.Ledger/GetInclusionProof")?;
        let r = request.into_inner();
        let journal = self.journal.clone();
        self.prove(
            |node| node.tree().clone(),
            move |tree| {
                let entry = if r.seq < tree.len() {
                    journal.raw(r.seq).map_err(|e| Status::internal(e.to_string()))?
                } else {
                    None
                };
                // An account proves its own commands; the genesis is everyone's.
                let own = |raw: &[u8]| {
                    r.seq == 0
                        || pb::JournalEntry::decode(raw).ok().and_then(|e| match e.input {
                            Some(pb::journal_entry::Input::Command(env)) => {
                                pb::Command::decode(env.payload.as_slice()).ok().and_then(|c| c.actor)
                            }
                            _ => None,
                        }) == Some(caller.account.clone())
                };
                if !caller.is_supervisor() && !entry.as_deref().is_some_and(own) {
                    return Err(Status::permission_denied(format!(
                        "{} may prove its own journal entries only; entry {} is not one",
                        caller.account, r.seq
                    )));
                }
                let size = if r.tree_size == 0 { tree.len() } else { r.tree_size };
                if r.seq >= size || size > tree.len() {
                    return Err(Status::out_of_range(format!(
                        "entry {} is not in a tree of {size} entries (the journal holds {})",
                        r.seq,
                        tree.len()
                    )));
                }
                let entry = entry.ok_or_else(|| Status::not_found(format!("entry {}", r.seq)))?;
                let path = tree
                    .inclusion_proof(r.seq, size)
                    .ok_or_else(|| Status::internal("no proof"))?;
                Ok(pb::InclusionProof {
                    seq: r.seq,
                    tree_size: size,
                    leaf_hash: tree.leaf(r.seq).map(|h| h.to_vec()).unwrap_or_default(),
                    entry,
                    path: path.iter().map(|h| h.to_vec()).collect(),
                    root_hash: tree.root_at(size).map(|h| h.to_vec()).unwrap_or_default(),
                })
            },
        )
        .await
    }

    async fn lookup_command(
        &self,
        request: Request<pb::LookupCommandRequest>,
    ) -> Result<Response<pb::LookupCommandResponse>, Status> {
        let caller = self.auth.caller(&request, "/carbon.v1.Ledger/LookupCommand")?;
        let r = request.into_inner();
        self.auth.require_reader(&caller, &r.actor, "the commands")?;
        // Only what is durable: below the length the sequencer reports.
        let durable = self.view.durable().map_err(Status::from)?;
        let internal = |e: carbon_ledger::journal::StoreError| Status::internal(e.to_string());
        let seq = self.journal.command(&r.actor, r.nonce).map_err(internal)?;
        let Some(seq) = seq.filter(|&s| s < durable) else {
            return Err(Status::not_found(format!(
                "no command of {} with nonce {} is in the journal: it was not sequenced (resend it)",
                r.actor, r.nonce
            )));
        };
        let raw = self.journal.raw(seq).map_err(internal)?;
        let entry = raw
            .and_then(|raw| pb::JournalEntry::decode(raw.as_slice()).ok())
            .ok_or_else(|| Status::internal(format!("journal entry {seq} is missing or damaged")))?;
        let Some(pb::journal_entry::Input::Command(command)) = entry.input else {
            return Err(Status::internal(format!("journal entry {seq} holds no command")));
        };
        Ok(Response::new(pb::LookupCommandResponse {
            seq,
            command: Some(command),
            outcome: entry.outcome,
        }))
    }

    async fn get_consistency_proof(
        &self,
        request: Request<pb::ConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProof>, Status> {
        self.auth.public(&request, "/carbon.v1.Ledger/GetConsistencyProof")?;
        let r = request.into_inner();
        self.prove(
            |node| node.tree().clone(),
            move |tree| {
                let to = if r.to_size == 0 { tree.len() } else { r.to_size };
                if r.from_size > to || to > tree.len() {
                    return Err(Status::out_of_range(format!(
                        "no consistency proof from {} to {to} (the journal holds {})",
                        r.from_size,
                        tree.len()
                    )));
                }
                let proof = tree
                    .consistency_proof(r.from_size, to)
                    .ok_or_else(|| Status::internal("no proof"))?;
                Ok(pb::ConsistencyProof {
                    from_size: r.from_size,
                    to_size: to,
                    from_root: tree.root_at(r.from_size).map(|h| h.to_vec()).unwrap_or_default(),
                    to_root: tree.root_at(to).map(|h| h.to_vec()).unwrap_or_default(),
                    proof: proof.iter().map(|h| h.to_vec()).collect(),
                })
            },
        )
        .await
    }
}

/// The service wrapped for tonic, with the incoming message size limit
/// (answers get theirs, `limits::MAX_ANSWER_BYTES`, where the server is built).
pub fn server(svc: LedgerService) -> pb::ledger_server::LedgerServer<LedgerService> {
    pb::ledger_server::LedgerServer::from_arc(Arc::new(svc)).max_decoding_message_size(MAX_MESSAGE_BYTES)
}

#[cfg(test)]
mod tests {
    use carbon_ledger::keys::test_key;
    use carbon_ledger::node::Node;
    use carbon_ledger::replay::sign_command;

    use super::*;
    use crate::sequencer::Sequencer;

    fn command(actor: &str, nonce: u64, body: pb::command::Body) -> pb::Command {
        pb::Command {
            actor: Some(actor.into()),
            nonce: Some(nonce),
            body: Some(body),
        }
    }

    /// Forged envelopes of a known actor are refused on the handler and
    /// never cost the sequencer a signature check (review point 1).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_signatures_are_refused_before_the_sequencer() {
        let dir = tempfile::tempdir().unwrap();
        let key = |id: &str| test_key(id).verifying_key().to_bytes().to_vec();
        let genesis = pb::Genesis {
            operator: "OP".into(),
            operator_public_key: key("OP"),
            regulators: vec![pb::GenesisRegulator {
                id: "ZJ-DEE".into(),
                jurisdiction: "ZJ".into(),
                public_key: key("ZJ-DEE"),
            }],
            origin: "test".into(),
        };
        let node = Node::create(dir.path(), genesis, test_key("OP")).unwrap();
        let ledger_id = node.ledger_id();
        let journal = node.journal().reader();
        let started = Sequencer::start(node, None).unwrap();
        let (sequencer, handle, keys) = (started.sequencer, started.handle, started.keys);
        let auth = Arc::new(Authenticator::new(keys.clone(), ledger_id));
        let svc = LedgerService::new(handle.clone(), started.view, keys, auth, journal);

        let instrument = |symbol: &str| {
            pb::command::Body::DefineInstrument(pb::DefineInstrument {
                symbol: Some(symbol.into()),
                reference_price: Some("10.00".into()),
            })
        };
        let forged = |nonce: u64, body: pb::command::Body| {
            let mut env = sign_command(&test_key("OP"), &ledger_id, &command("OP", nonce, body));
            env.signature = sign_command(
                &test_key("NOT-OP"),
                &ledger_id,
                &command("OP", nonce, instrument("CCER")),
            )
            .signature;
            env
        };
        let mut batch: Vec<_> = (1..=100).map(|n| forged(n, instrument("CCER"))).collect();
        // A form error comes before BAD_SIGNATURE.
        batch.push(forged(101, instrument("EUA")));
        // An unknown actor is the sequencer's to decide (UNKNOWN_ACCOUNT).
        batch.push(sign_command(
            &test_key("NOBODY"),
            &ledger_id,
            &command("NOBODY", 1, instrument("CCER")),
        ));
        // An honest command goes through.
        batch.push(sign_command(
            &test_key("OP"),
            &ledger_id,
            &command("OP", 1, instrument("CCER")),
        ));
        let results = svc.submitter.enqueue(batch).await.unwrap().results().await.unwrap();
        let codes: Vec<_> = results
            .iter()
            .map(|r| r.outcome.as_ref().map_or("", |o| o.code.as_str()))
            .collect();
        assert!(codes[..100].iter().all(|c| *c == "BAD_SIGNATURE"), "{codes:?}");
        assert_eq!(&codes[100..], ["MALFORMED", "UNKNOWN_ACCOUNT", ""]);
        assert!(
            results[..102].iter().all(|r| r.seq == 0),
            "nothing refused is journalled"
        );
        assert!(results[102].seq > 0);
        // The sequencer checked one signature: the unknown actor's envelope.
        let unchecked = handle.unchecked_envelopes();
        assert_eq!(unchecked, 1);
        drop((svc, handle));
        sequencer.join();
    }
}
