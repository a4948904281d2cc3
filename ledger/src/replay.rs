//! `carbon replay`: a market-day file (REPLAY.md) run through the same path
//! as the service: each command signed with its actor's test key, then
//! authenticated, applied and journalled by a [`Node`], batch by batch.
//!
//! # The pipeline
//!
//! An Ed25519 signature costs about as much as everything the node does
//! with a command, and REPLAY.md fixes every nonce from the file alone (each
//! actor's commands are numbered 1, 2, 3, ... in file order), so signing
//! runs ahead of the node on the other cores, in three stages:
//!
//! 1. **parse** (one thread): lines into commands, each with its nonce and
//!    its actor's key, encoded once into the payload that is signed and
//!    journalled, a chunk of [`CHUNK_LINES`] lines at a time;
//! 2. **sign** (a thread per core): whole chunks, in any order;
//! 3. **apply** (the caller's thread): chunks in file order, into
//!    [`Node::submit`] batches of up to [`MAX_BATCH`].
//!
//! The apply stage holds a ticket per chunk in file order (the receiving
//! end of that chunk's own channel), so chunks signed out of order are
//! applied in order. Memory is bounded: at most [`CHUNKS_AHEAD`] chunks
//! wait in each channel, so the parse stage is never more than about
//! `2 * CHUNKS_AHEAD` chunks ahead of the node. An envelope is moved from
//! stage to stage, never copied; the node decodes its payload once.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carbon_proto::v1 as pb;
use ed25519_dalek::{Signer, SigningKey};
use prost::Message;
use serde_json::{json, Value};

use crate::code::Code;
use crate::keys::test_key;
use crate::market_day::{parse_genesis, parse_line, Line};
use crate::node::{Node, NodeError, MAX_BATCH};
use crate::report;
use crate::state::{signing_message, Applied, Event};

/// The checkpoint origin of replayed ledgers.
pub const REPLAY_ORIGIN: &str = "carbon-ledger.replay";

/// Lines the parse stage hands on at a time: a signing thread's unit of
/// work (an eighth of a node batch; a few µs of channel traffic per chunk).
pub const CHUNK_LINES: usize = 512;

/// Chunks each of the pipeline's two channels holds: the bound on how far
/// signing runs ahead of the node (both full, with [`CHUNK_LINES`]: about
/// 64k lines, 10 MB).
pub const CHUNKS_AHEAD: usize = 64;

/// Why a file cannot be replayed (REPLAY.md: exit non-zero, no report).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("line {line}: not a valid genesis: {why}")]
    Genesis { line: usize, why: String },
    #[error("the file holds no command line")]
    Empty,
    #[error("line {line}: the key given for {id} is not its test key, so the replay cannot sign for it")]
    ForeignKey { line: usize, id: String },
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// One line's result (REPLAY.md `results`).
#[derive(Debug, Clone)]
pub struct LineResult {
    pub line: usize,
    pub result: Result<Applied, Code>,
}

/// A finished replay: the node (its state and journal) and every line's result.
pub struct Replay {
    pub node: Node,
    pub results: Vec<LineResult>,
    /// Where the apply stage's time went.
    pub timing: ApplyTiming,
}

/// The apply stage's time, split: a replay whose node waited long for
/// signatures is bound by signing, one whose node was busy throughout by
/// the node (`carbon bench replay` prints both).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyTiming {
    /// In [`Node::submit`]: authenticating, applying, journalling, flushing.
    pub submitting: Duration,
    /// Waiting for the next signed chunk.
    pub waiting_for_signatures: Duration,
}

impl Replay {
    /// The JSON report of REPLAY.md.
    pub fn report(&self) -> Value {
        report::build(self.node.state(), &self.results)
    }

    /// Every event of the day in order.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.results
            .iter()
            .filter_map(|r| r.result.as_ref().ok())
            .flat_map(|a| a.events.iter())
    }
}

/// How to run a replay; [`Default`] is what `carbon replay` does.
pub struct ReplayOptions<'p> {
    /// Signing threads (at least one); default: one per core. Signing is
    /// most of a replay's work (the node's thread, which applies in order,
    /// needs under half a core beside it: BENCHMARKS.md), so every core
    /// signs and the node's thread takes its share of them.
    pub signers: usize,
    /// Called on the caller's thread after each batch with the file line
    /// number of the last line done (for a progress bar).
    pub progress: Option<&'p mut dyn FnMut(usize)>,
}

impl Default for ReplayOptions<'_> {
    fn default() -> Self {
        ReplayOptions {
            signers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            progress: None,
        }
    }
}

/// Caches test keys: deriving one costs a SHA-256 and a key expansion.
#[derive(Default)]
struct Keys(HashMap<String, Arc<SigningKey>>);

impl Keys {
    fn get(&mut self, id: &str) -> &Arc<SigningKey> {
        if !self.0.contains_key(id) {
            self.0.insert(id.to_string(), Arc::new(test_key(id)));
        }
        &self.0[id]
    }
}

/// Signs a command with `key` for the ledger `ledger_id` (docs/SIGNING.md).
pub fn sign_command(key: &SigningKey, ledger_id: &[u8; 32], command: &pb::Command) -> pb::SignedCommand {
    sign_payload(key, ledger_id, command.encode_to_vec())
}

/// Signs an encoded command (docs/SIGNING.md), taking the payload as is.
pub fn sign_payload(key: &SigningKey, ledger_id: &[u8; 32], payload: Vec<u8>) -> pb::SignedCommand {
    let signature = key.sign(&signing_message(ledger_id, &payload)).to_bytes().to_vec();
    pb::SignedCommand { payload, signature }
}

/// Replays `text` into a new ledger in `dir`.
pub fn replay(text: &str, dir: &Path) -> Result<Replay, ReplayError> {
    replay_with(text, dir, ReplayOptions::default())
}

/// Replays `text` into a new ledger in `dir`, as `options` say.
pub fn replay_with(text: &str, dir: &Path, mut options: ReplayOptions) -> Result<Replay, ReplayError> {
    let mut keys = Keys::default();
    let mut lines = command_lines(text);
    let (gline, gtext) = lines.next().ok_or(ReplayError::Empty)?;
    let mut node = create_node(&mut keys, gline, gtext, dir)?;
    // One batch job: no periodic snapshots (`carbon replay --data` takes
    // one at the end), and no index read until it is over.
    node.set_snapshot_every(None);
    node.defer_indexes();
    let mut apply = Apply {
        node: &mut node,
        batch: Vec::with_capacity(MAX_BATCH),
        slots: Vec::with_capacity(MAX_BATCH),
        results: vec![LineResult {
            line: gline,
            result: Ok(Applied::default()),
        }],
        timing: ApplyTiming::default(),
        progress: options.progress.take(),
        reported: 0,
    };
    let ledger_id = apply.node.ledger_id();
    let waited = sign_ahead(lines, keys, &ledger_id, options.signers, CHUNK_LINES, |chunk| {
        apply.chunk(chunk)
    })?;
    apply.submit()?;
    apply.report_progress();
    apply.timing.waiting_for_signatures = waited;
    let (results, timing) = (apply.results, apply.timing);
    Ok(Replay { node, results, timing })
}

/// The command lines of a file: (1-based line number, text), without blank
/// lines and `#` comments (REPLAY.md).
fn command_lines(text: &str) -> impl Iterator<Item = (usize, &str)> + Send {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

/// The node of a new ledger founded by the genesis line.
fn create_node(keys: &mut Keys, gline: usize, gtext: &str, dir: &Path) -> Result<Node, ReplayError> {
    let g = parse_genesis(gtext).map_err(|why| ReplayError::Genesis { line: gline, why })?;
    let genesis = pb::Genesis {
        operator: g.operator.clone(),
        operator_public_key: pub_key(keys, &g.operator, g.operator_public_key, gline)?,
        regulators: g
            .regulators
            .iter()
            .map(|(id, j, k)| {
                Ok(pb::GenesisRegulator {
                    id: id.clone(),
                    jurisdiction: j.clone(),
                    public_key: pub_key(keys, id, *k, gline)?,
                })
            })
            .collect::<Result<_, ReplayError>>()?,
        origin: REPLAY_ORIGIN.into(),
    };
    let operator = SigningKey::clone(keys.get(&g.operator));
    Node::create(dir, genesis, operator).map_err(|e| match e {
        NodeError::Genesis(why) => ReplayError::Genesis { line: gline, why },
        other => other.into(),
    })
}

/// A line as the pipeline carries it.
#[derive(Debug, PartialEq)]
enum Item {
    /// Rejected before it became a command (not sent to the node).
    Rejected(usize, Code),
    /// An encoded command and the key to sign it with.
    Unsigned(usize, Arc<SigningKey>, Vec<u8>),
    /// Ready for the node.
    Signed(usize, pb::SignedCommand),
}

/// A chunk's place in file order: the channel its signed lines come on, or
/// why the replay stops there.
type Ticket = Result<Receiver<Vec<Item>>, ReplayError>;

/// A chunk to sign, and where its signed lines go.
type Work = (Vec<Item>, SyncSender<Vec<Item>>);

/// The parse and sign stages: hands every command line to `apply`, signed,
/// a chunk at a time and in file order, on the caller's thread; stops at
/// the first error (the parse stage's or `apply`'s). Returns how long the
/// caller's thread waited for signed chunks.
fn sign_ahead<'a>(
    lines: impl Iterator<Item = (usize, &'a str)> + Send,
    keys: Keys,
    ledger_id: &[u8; 32],
    signers: usize,
    chunk_lines: usize,
    mut apply: impl FnMut(Vec<Item>) -> Result<(), ReplayError>,
) -> Result<Duration, ReplayError> {
    let (work_tx, work_rx) = mpsc::sync_channel(CHUNKS_AHEAD);
    let work_rx = Mutex::new(work_rx);
    std::thread::scope(|s| {
        let (ticket_tx, ticket_rx) = mpsc::sync_channel(CHUNKS_AHEAD);
        let thread = |name: &str| std::thread::Builder::new().name(name.into());
        for _ in 0..signers.max(1) {
            thread("replay-sign")
                .spawn_scoped(s, || sign_chunks(&work_rx, ledger_id))
                .expect("a signing thread starts");
        }
        thread("replay-parse")
            .spawn_scoped(s, move || parse_chunks(lines, keys, chunk_lines, work_tx, ticket_tx))
            .expect("the parse thread starts");
        // Returning drops `ticket_rx`: the parse stage stops at its next
        // chunk, and the signing threads once the work queue is drained.
        let mut waited = Duration::ZERO;
        loop {
            let waiting = Instant::now();
            let Ok(ticket) = ticket_rx.recv() else { break };
            let chunk = ticket?.recv().expect("a signing thread panicked");
            waited += waiting.elapsed();
            apply(chunk)?;
        }
        Ok(waited)
    })
}

/// The parse stage: numbers each actor's commands, settles the keys of
/// created accounts, encodes, and sends each chunk to be signed and its
/// ticket to the apply stage.
fn parse_chunks<'a>(
    mut lines: impl Iterator<Item = (usize, &'a str)>,
    mut keys: Keys,
    chunk_lines: usize,
    work: SyncSender<Work>,
    tickets: SyncSender<Ticket>,
) {
    let mut nonces: HashMap<String, u64> = HashMap::new();
    loop {
        let mut chunk = Vec::with_capacity(chunk_lines);
        let mut stop = None;
        for (line, text) in lines.by_ref() {
            match parse_item(line, text, &mut keys, &mut nonces) {
                Ok(item) => chunk.push(item),
                Err(e) => {
                    stop = Some(e);
                    break;
                }
            }
            if chunk.len() == chunk_lines {
                break;
            }
        }
        let last = stop.is_some() || chunk.len() < chunk_lines;
        if !chunk.is_empty() {
            let (signed_tx, signed_rx) = mpsc::sync_channel(1);
            if work.send((chunk, signed_tx)).is_err() || tickets.send(Ok(signed_rx)).is_err() {
                return; // the apply stage stopped
            }
        }
        if let Some(e) = stop {
            let _ = tickets.send(Err(e));
        }
        if last {
            return;
        }
    }
}

/// One command line, parsed and encoded with its nonce, or rejected; an
/// error stops the replay (a key the replay cannot sign with).
fn parse_item(
    line: usize,
    text: &str,
    keys: &mut Keys,
    nonces: &mut HashMap<String, u64>,
) -> Result<Item, ReplayError> {
    let (actor, mut body, public_key) = match parse_line(text) {
        Line::Rejected(code) => return Ok(Item::Rejected(line, code)),
        Line::Command {
            actor,
            body,
            public_key,
        } => (actor, body, public_key),
    };
    if let pb::command::Body::CreateAccount(c) = &mut body {
        if let Some(id) = &c.id {
            c.public_key = Some(pub_key(keys, id, public_key, line)?);
        }
    }
    let key = keys.get(&actor).clone();
    let nonce = match nonces.get_mut(actor.as_str()) {
        Some(n) => n,
        None => nonces.entry(actor.clone()).or_insert(0),
    };
    *nonce += 1;
    let command = pb::Command {
        actor: Some(actor),
        nonce: Some(*nonce),
        body: Some(body),
    };
    Ok(Item::Unsigned(line, key, command.encode_to_vec()))
}

/// A signing thread: signs whole chunks from the work queue until it is
/// closed and empty.
fn sign_chunks(work: &Mutex<Receiver<Work>>, ledger_id: &[u8; 32]) {
    loop {
        let next = work.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok((chunk, signed)) = next else { return };
        let chunk = chunk
            .into_iter()
            .map(|item| match item {
                Item::Unsigned(line, key, payload) => Item::Signed(line, sign_payload(&key, ledger_id, payload)),
                other => other,
            })
            .collect();
        // The apply stage may have stopped; the chunk is then dropped.
        let _ = signed.send(chunk);
    }
}

/// The apply stage: signed lines into node batches, results in file order.
struct Apply<'n, 'p> {
    node: &'n mut Node,
    batch: Vec<(pb::SignedCommand, bool)>,
    /// Where each envelope of `batch` goes in `results`.
    slots: Vec<usize>,
    results: Vec<LineResult>,
    timing: ApplyTiming,
    progress: Option<&'p mut dyn FnMut(usize)>,
    /// The last line number given to `progress`.
    reported: usize,
}

impl Apply<'_, '_> {
    fn chunk(&mut self, chunk: Vec<Item>) -> Result<(), ReplayError> {
        for item in chunk {
            match item {
                // Not a command: nothing for the node. Batches run across
                // such lines; each line's result keeps its place.
                Item::Rejected(line, code) => self.results.push(LineResult {
                    line,
                    result: Err(code),
                }),
                Item::Signed(line, env) => {
                    // Signed just now with the actor's test key, which is
                    // the key its account holds (`pub_key` refuses any
                    // other), so the signature verifies: the node need not
                    // check it again. An unknown actor is still refused,
                    // before the signature would be checked.
                    self.slots.push(self.results.len());
                    self.results.push(LineResult {
                        line,
                        result: Ok(Applied::default()),
                    });
                    self.batch.push((env, true));
                    if self.batch.len() == MAX_BATCH {
                        self.submit()?;
                    }
                }
                Item::Unsigned(..) => unreachable!("the signing stage signs every command"),
            }
        }
        Ok(())
    }

    /// Sends the batch to the node and records each answer in its line's place.
    fn submit(&mut self) -> Result<(), ReplayError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(MAX_BATCH));
        let answers = self.node.submit(batch)?;
        self.timing.submitting += started.elapsed();
        for (slot, answer) in self.slots.drain(..).zip(answers) {
            self.results[slot].result = answer.result;
        }
        self.report_progress();
        Ok(())
    }

    fn report_progress(&mut self) {
        if let (Some(progress), Some(last)) = (self.progress.as_mut(), self.results.last()) {
            if last.line > self.reported {
                self.reported = last.line;
                progress(last.line);
            }
        }
    }
}

fn pub_key(keys: &mut Keys, id: &str, given: Option<[u8; 32]>, line: usize) -> Result<Vec<u8>, ReplayError> {
    let test = keys.get(id).verifying_key().to_bytes();
    match given {
        Some(k) if k != test => Err(ReplayError::ForeignKey {
            line,
            id: id.to_string(),
        }),
        _ => Ok(test.to_vec()),
    }
}

/// A result as REPLAY.md writes it.
pub fn result_json(r: &LineResult) -> Value {
    match &r.result {
        Ok(a) => match a.order {
            Some((status, filled)) => {
                json!({"line": r.line, "ok": true, "order": {"status": status.as_str(), "filled": filled}})
            }
            None => json!({"line": r.line, "ok": true}),
        },
        Err(code) => json!({"line": r.line, "ok": false, "code": code.as_str()}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAYS: [&str; 4] = [
        include_str!("../../tests/market-days/random-17-mixed.jsonl"),
        include_str!("../../tests/market-days/energy-example.jsonl"),
        include_str!("../../tests/market-days/random-72-supervision.jsonl"),
        include_str!("../../tests/market-days/exchange-stp-fok.jsonl"),
    ];

    /// The lines of `text` after its genesis, signed one after another
    /// the plain way: what the pipeline must give.
    fn signed_in_sequence(text: &str, ledger_id: &[u8; 32]) -> Vec<Item> {
        let mut nonces: HashMap<String, u64> = HashMap::new();
        command_lines(text)
            .skip(1)
            .map(|(line, text)| match parse_line(text) {
                Line::Rejected(code) => Item::Rejected(line, code),
                Line::Command { actor, mut body, .. } => {
                    if let pb::command::Body::CreateAccount(c) = &mut body {
                        c.public_key = Some(test_key(c.id.as_deref().unwrap()).verifying_key().to_bytes().to_vec());
                    }
                    let nonce = nonces.entry(actor.clone()).or_default();
                    *nonce += 1;
                    let command = pb::Command {
                        actor: Some(actor.clone()),
                        nonce: Some(*nonce),
                        body: Some(body),
                    };
                    Item::Signed(line, sign_command(&test_key(&actor), ledger_id, &command))
                }
            })
            .collect()
    }

    fn signed_ahead(text: &str, ledger_id: &[u8; 32], signers: usize, chunk_lines: usize) -> Vec<Item> {
        let mut out = Vec::new();
        sign_ahead(
            command_lines(text).skip(1),
            Keys::default(),
            ledger_id,
            signers,
            chunk_lines,
            |chunk| {
                out.extend(chunk);
                Ok(())
            },
        )
        .unwrap();
        out
    }

    /// Envelopes equal byte for byte, except where protobuf writes a map
    /// (a factor set's fuels) in another order: then the same command,
    /// signed by the same rule.
    fn assert_same_envelope(got: &pb::SignedCommand, want: &pb::SignedCommand, ledger_id: &[u8; 32], line: usize) {
        if got.payload == want.payload {
            assert_eq!(got.signature, want.signature, "line {line}");
            return;
        }
        let (g, w) = (
            pb::Command::decode(got.payload.as_slice()).unwrap(),
            pb::Command::decode(want.payload.as_slice()).unwrap(),
        );
        assert_eq!(g, w, "line {line}");
        assert!(
            matches!(&g.body, Some(pb::command::Body::DefineFactorSet(f)) if f.fuels.len() > 1),
            "line {line}: only a map may be encoded in another order"
        );
        let again = sign_payload(&test_key(g.actor.as_deref().unwrap()), ledger_id, got.payload.clone());
        assert_eq!(got.signature, again.signature, "line {line}");
    }

    #[test]
    fn signing_ahead_gives_the_envelopes_of_sequential_signing() {
        let ledger_id = [7; 32];
        for day in DAYS {
            let want = signed_in_sequence(day, &ledger_id);
            // Small chunks over more threads than cores: chunks are signed
            // out of order and must still come out in file order.
            for (signers, chunk_lines) in [(1, CHUNK_LINES), (3, 1), (4, 7), (2, 64)] {
                let got = signed_ahead(day, &ledger_id, signers, chunk_lines);
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(&want) {
                    match (g, w) {
                        (Item::Signed(gl, ge), Item::Signed(wl, we)) => {
                            assert_eq!(gl, wl);
                            assert_same_envelope(ge, we, &ledger_id, *gl);
                        }
                        (g, w) => assert_eq!(g, w),
                    }
                }
            }
        }
    }

    #[test]
    fn the_report_does_not_depend_on_the_number_of_signers() {
        for day in DAYS {
            let report = |signers: usize| {
                let dir = tempfile::tempdir().unwrap();
                let options = ReplayOptions {
                    signers,
                    progress: None,
                };
                let r = replay_with(day, dir.path(), options).unwrap();
                serde_json::to_string_pretty(&r.report()).unwrap()
            };
            assert_eq!(report(1), report(4));
        }
    }

    #[test]
    fn progress_is_reported_up_to_the_last_line() {
        // Ends with lines the node never sees.
        let day = &format!("{}\n{{\"as\": 1}}\n# done\n[]\n", DAYS[0]);
        let mut seen = Vec::new();
        let mut progress = |line: usize| seen.push(line);
        let dir = tempfile::tempdir().unwrap();
        let options = ReplayOptions {
            signers: 2,
            progress: Some(&mut progress),
        };
        let r = replay_with(day, dir.path(), options).unwrap();
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert_eq!(seen.last(), r.results.last().map(|x| x.line).as_ref());
        assert_eq!(r.results.last().unwrap().result.as_ref().err(), Some(&Code::Malformed));
    }

    /// A key the replay cannot sign with stops it there, after the lines
    /// before it were applied.
    #[test]
    fn a_foreign_key_stops_the_pipeline_at_its_line() {
        let ledger_id = [7; 32];
        let mut text = String::from(DAYS[0].lines().next().unwrap());
        text.push('\n');
        for i in 0..40 {
            text.push_str(&format!(
                "{{\"as\": \"ZJ-CEEX\", \"cmd\": \"create_account\", \"id\": \"E{i}\", \"role\": \"entity\", \"jurisdiction\": \"ZJ\"}}\n"
            ));
        }
        text.push_str(&format!(
            "{{\"as\": \"ZJ-CEEX\", \"cmd\": \"create_account\", \"id\": \"X\", \"role\": \"entity\", \"public_key\": \"{}\"}}\n",
            "01".repeat(32)
        ));
        text.push_str("{\"as\": \"ZJ-CEEX\", \"cmd\": \"close_day\"}\n");
        let mut applied = 0;
        let err = sign_ahead(
            command_lines(&text).skip(1),
            Keys::default(),
            &ledger_id,
            2,
            16,
            |chunk| {
                applied += chunk.len();
                Ok(())
            },
        )
        .unwrap_err();
        assert!(matches!(err, ReplayError::ForeignKey { line: 42, .. }), "{err}");
        assert_eq!(applied, 40);
    }
}
