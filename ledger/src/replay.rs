//! `carbon replay`: a market-day file (REPLAY.md) run through the same path
//! as the service: each command signed with its actor's test key, then
//! authenticated, applied and journalled by a [`Node`], batch by batch.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc;

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

/// Caches test keys: deriving one costs a SHA-256 and a key expansion.
#[derive(Default)]
struct Keys(HashMap<String, SigningKey>);

impl Keys {
    fn get(&mut self, id: &str) -> &SigningKey {
        self.0.entry(id.to_string()).or_insert_with(|| test_key(id))
    }
}

/// Signs a command with `key` for the ledger `ledger_id` (docs/SIGNING.md).
pub fn sign_command(key: &SigningKey, ledger_id: &[u8; 32], command: &pb::Command) -> pb::SignedCommand {
    let payload = command.encode_to_vec();
    let signature = key.sign(&signing_message(ledger_id, &payload)).to_bytes().to_vec();
    pb::SignedCommand { payload, signature }
}

/// Replays `text` into a new ledger in `dir`.
pub fn replay(text: &str, dir: &Path) -> Result<Replay, ReplayError> {
    let mut keys = Keys::default();
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (gline, gtext) = lines.next().ok_or(ReplayError::Empty)?;
    let g = parse_genesis(gtext).map_err(|why| ReplayError::Genesis { line: gline, why })?;
    let genesis = pb::Genesis {
        operator: g.operator.clone(),
        operator_public_key: pub_key(&mut keys, &g.operator, g.operator_public_key, gline)?,
        regulators: g
            .regulators
            .iter()
            .map(|(id, j, k)| {
                Ok(pb::GenesisRegulator {
                    id: id.clone(),
                    jurisdiction: j.clone(),
                    public_key: pub_key(&mut keys, id, *k, gline)?,
                })
            })
            .collect::<Result<_, ReplayError>>()?,
        origin: REPLAY_ORIGIN.into(),
    };
    let mut node = Node::create(dir, genesis, keys.get(&g.operator).clone()).map_err(|e| match e {
        NodeError::Genesis(why) => ReplayError::Genesis { line: gline, why },
        other => other.into(),
    })?;
    // One batch job: no periodic snapshots (`carbon replay --data` takes one at the end).
    node.set_snapshot_every(None);

    let mut results = vec![LineResult {
        line: gline,
        result: Ok(Applied::default()),
    }];
    let mut batch: Vec<(pb::SignedCommand, bool)> = Vec::with_capacity(MAX_BATCH);
    let mut batch_lines: Vec<usize> = Vec::with_capacity(MAX_BATCH);
    let flush = |node: &mut Node,
                 batch: &mut Vec<(pb::SignedCommand, bool)>,
                 batch_lines: &mut Vec<usize>,
                 results: &mut Vec<LineResult>|
     -> Result<(), ReplayError> {
        if batch.is_empty() {
            return Ok(());
        }
        let answers = node.submit(batch)?;
        for (line, a) in batch_lines.drain(..).zip(answers) {
            results.push(LineResult { line, result: a.result });
        }
        batch.clear();
        Ok(())
    };
    // Lines are parsed and signed a window at a time on other threads
    // (signing is what costs), ahead of the node, which applies them in order.
    std::thread::scope(|scope| -> Result<(), ReplayError> {
        let (tx, rx) = mpsc::sync_channel::<Result<Vec<Item>, ReplayError>>(WINDOWS_AHEAD);
        let ledger_id = node.ledger_id();
        scope.spawn(move || sign_windows(lines, keys, ledger_id, tx));
        for window in rx {
            for item in window? {
                match item {
                    Item::Rejected(line, code) => {
                        flush(&mut node, &mut batch, &mut batch_lines, &mut results)?;
                        results.push(LineResult {
                            line,
                            result: Err(code),
                        });
                    }
                    Item::Signed(line, env) => {
                        // Signed just now with the actor's test key, which
                        // is the key its account holds (`pub_key` refuses
                        // any other), so the signature verifies: the node
                        // need not check it again. An unknown actor is still
                        // refused, before the signature would be checked.
                        batch.push((env, true));
                        batch_lines.push(line);
                        if batch.len() == MAX_BATCH {
                            flush(&mut node, &mut batch, &mut batch_lines, &mut results)?;
                        }
                    }
                }
            }
        }
        Ok(())
    })?;
    flush(&mut node, &mut batch, &mut batch_lines, &mut results)?;
    Ok(Replay { node, results })
}

/// Lines parsed and signed per window.
const WINDOW: usize = 16 * 1024;

/// Windows signed ahead of the node (bounds memory).
const WINDOWS_AHEAD: usize = 2;

/// A line ready for the node.
enum Item {
    Rejected(usize, Code),
    Signed(usize, pb::SignedCommand),
}

/// A parsed line: (line, actor, command), or (line, the code it is rejected with).
type Parsed = Result<(usize, String, pb::Command), (usize, Code)>;

/// A command to sign: its line, its actor's key and the command.
type Unsigned<'k> = (usize, &'k SigningKey, pb::Command);

/// Parses the lines a window at a time, in order (nonces and the keys of
/// created accounts are decided here), signs each window's commands on
/// every core and sends the window on. Stops at the first error.
fn sign_windows<'a>(
    mut lines: impl Iterator<Item = (usize, &'a str)>,
    mut keys: Keys,
    ledger_id: [u8; 32],
    tx: mpsc::SyncSender<Result<Vec<Item>, ReplayError>>,
) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut nonces: HashMap<String, u64> = HashMap::new();
    loop {
        // First pass: parse, fix nonces and keys (needs `keys` mutably).
        let mut parsed: Vec<Parsed> = Vec::with_capacity(WINDOW);
        for (line, text) in lines.by_ref().take(WINDOW) {
            match parse_line(text) {
                Line::Rejected(code) => parsed.push(Err((line, code))),
                Line::Command {
                    actor,
                    mut body,
                    public_key,
                } => {
                    if let pb::command::Body::CreateAccount(c) = &mut body {
                        if let Some(id) = c.id.clone() {
                            match pub_key(&mut keys, &id, public_key, line) {
                                Ok(k) => c.public_key = Some(k),
                                Err(e) => {
                                    let _ = tx.send(Err(e));
                                    return;
                                }
                            }
                        }
                    }
                    keys.get(&actor);
                    let nonce = match nonces.get_mut(actor.as_str()) {
                        Some(n) => n,
                        None => nonces.entry(actor.clone()).or_insert(0),
                    };
                    *nonce += 1;
                    let command = pb::Command {
                        actor: Some(actor.clone()),
                        nonce: Some(*nonce),
                        body: Some(body),
                    };
                    parsed.push(Ok((line, actor, command)));
                }
            }
        }
        if parsed.is_empty() {
            return;
        }
        // Second pass: sign on every core (keys only read).
        let mut items: Vec<Option<Item>> = Vec::with_capacity(parsed.len());
        let mut todo: Vec<(usize, Unsigned)> = Vec::with_capacity(parsed.len());
        for (i, p) in parsed.into_iter().enumerate() {
            match p {
                Err((line, code)) => items.push(Some(Item::Rejected(line, code))),
                Ok((line, actor, command)) => {
                    items.push(None);
                    todo.push((i, (line, &keys.0[&actor], command)));
                }
            }
        }
        let per = todo.len().div_ceil(cores).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = todo
                .chunks(per)
                .map(|chunk| {
                    s.spawn(move || {
                        chunk
                            .iter()
                            .map(|(i, (line, key, command))| {
                                (*i, Item::Signed(*line, sign_command(key, &ledger_id, command)))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                for (i, item) in h.join().expect("a signing thread panicked") {
                    items[i] = Some(item);
                }
            }
        });
        let window: Vec<Item> = items.into_iter().map(|i| i.expect("every line handled")).collect();
        if tx.send(Ok(window)).is_err() {
            return; // the node stopped
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
