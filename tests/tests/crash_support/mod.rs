//! Shared by the crash tests (`crash`: SIGKILL; `power_loss`: power cuts
//! under a FUSE file system): the load they put on `carbon serve` and the
//! acknowledgements they check afterwards.

#![allow(dead_code)] // each test file uses part of this module

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use carbon_ledger::keys::test_key;
use carbon_ledger::replay::sign_command;
use carbon_proto::v1 as pb;
use pb::ledger_client::LedgerClient;
use prost::Message;
use serde_json::json;
use tonic::transport::Channel;

use crate::grpc_support::*;

/// Concurrent clients; client `i` owns accounts `CR-S{i}` and `CR-B{i}`.
pub const CLIENTS: usize = 4;

/// A small deterministic generator (splitmix64): the kill moments.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}"))
        })
        .unwrap_or(default)
}

/// One acknowledged command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ack {
    pub actor: String,
    pub nonce: u64,
    pub seq: u64,
}

/// What one client keeps across server restarts.
pub struct Client {
    pub idx: usize,
    /// The last nonce used per account (acknowledged or not: never reused).
    pub nonces: HashMap<String, u64>,
    /// How many commands were sent (picks the next kind).
    pub sent: u64,
}

impl Client {
    /// The [`CLIENTS`] clients, nothing sent yet.
    pub fn all() -> Vec<Client> {
        (0..CLIENTS)
            .map(|idx| Client {
                idx,
                nonces: HashMap::new(),
                sent: 0,
            })
            .collect()
    }

    fn seller(&self) -> String {
        format!("CR-S{}", self.idx)
    }

    fn buyer(&self) -> String {
        format!("CR-B{}", self.idx)
    }

    /// The next command: a transfer, a sell order or a buy order, signed.
    fn next_envelope(&mut self) -> (String, u64, pb::SignedCommand) {
        let (s, b) = (self.seller(), self.buyer());
        let kind = self.sent % 3;
        self.sent += 1;
        let actor = if kind == 2 { b.clone() } else { s.clone() };
        let nonce = {
            let n = self.nonces.entry(actor.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let line = match kind {
            0 => json!({"as": actor, "cmd": "transfer", "instrument": "ZJEA-2025", "to": b, "qty": 1}),
            1 => json!({"as": actor, "cmd": "order", "id": format!("o{nonce}"), "instrument": "ZJEA-2025",
                        "side": "sell", "type": "limit", "tif": "day", "price": "58.20", "qty": 1}),
            _ => json!({"as": actor, "cmd": "order", "id": format!("o{nonce}"), "instrument": "ZJEA-2025",
                        "side": "buy", "type": "limit", "tif": "day", "price": "58.20", "qty": 1}),
        };
        let mut signer = Signer::default(); // the test genesis's ledger
        let (_, mut command) = signer.command(line);
        command.nonce = Some(nonce);
        let env = sign_command(&test_key(&actor), &signer.ledger_id, &command);
        (actor, nonce, env)
    }

    /// Sends commands until the server goes away; records every
    /// acknowledgement. Even clients use Submit, odd ones SubmitBatch.
    pub async fn drive(&mut self, mut c: LedgerClient<Channel>, acks: Arc<Mutex<Vec<Ack>>>) {
        loop {
            let n = if self.idx.is_multiple_of(2) {
                1
            } else {
                1 + (self.sent % 5) as usize
            };
            let batch: Vec<_> = (0..n).map(|_| self.next_envelope()).collect();
            if self.idx.is_multiple_of(2) {
                let (actor, nonce, env) = batch.into_iter().next().unwrap();
                match c.submit(env).await {
                    Ok(r) => acks.lock().unwrap().push(Ack {
                        actor,
                        nonce,
                        seq: r.into_inner().seq,
                    }),
                    // A rule of the market refused it (journalled, not counted).
                    Err(s) if !rejection_code(&s).is_empty() => {}
                    Err(_) => return, // the server is gone
                }
            } else {
                let envs = batch.iter().map(|(_, _, e)| e.clone()).collect();
                match c.submit_batch(pb::SubmitBatchRequest { commands: envs }).await {
                    Ok(r) => {
                        let results = r.into_inner().results;
                        assert_eq!(results.len(), batch.len());
                        let mut acks = acks.lock().unwrap();
                        for ((actor, nonce, _), r) in batch.into_iter().zip(results) {
                            if r.outcome.as_ref().is_some_and(|o| o.ok) {
                                acks.push(Ack {
                                    actor,
                                    nonce,
                                    seq: r.seq,
                                });
                            }
                        }
                    }
                    Err(_) => return,
                }
            }
        }
    }
}

pub fn rejection_code(s: &tonic::Status) -> String {
    pb::Rejection::decode(s.details()).map(|r| r.code).unwrap_or_default()
}

/// The clients, each on a task of its own, driving the server until it goes.
pub struct Load {
    tasks: Vec<tokio::task::JoinHandle<Client>>,
    acks: Arc<Mutex<Vec<Ack>>>,
    before: usize,
}

impl Load {
    /// Starts every client on its own connection; acknowledgements go to `acks`.
    pub async fn start(server: &Server, clients: Vec<Client>, acks: &Arc<Mutex<Vec<Ack>>>) -> Load {
        let mut connections = Vec::new();
        for _ in &clients {
            connections.push(server.client().await);
        }
        Load::start_on(connections, clients, acks)
    }

    /// [`Load::start`] on connections of the caller's (one per client).
    pub fn start_on(
        connections: Vec<LedgerClient<Channel>>,
        clients: Vec<Client>,
        acks: &Arc<Mutex<Vec<Ack>>>,
    ) -> Load {
        let mut tasks = Vec::new();
        for (mut client, c) in clients.into_iter().zip(connections) {
            let acks = acks.clone();
            tasks.push(tokio::spawn(async move {
                client.drive(c, acks).await;
                client
            }));
        }
        Load {
            tasks,
            acks: acks.clone(),
            before: acks.lock().unwrap().len(),
        }
    }

    /// Once the server is gone: the clients back (in order) and how many
    /// commands were acknowledged since [`Load::start`].
    pub async fn stop(self) -> (Vec<Client>, usize) {
        let mut clients = Vec::new();
        for t in self.tasks {
            clients.push(t.await.expect("a client task panicked"));
        }
        clients.sort_by_key(|c| c.idx);
        let after = self.acks.lock().unwrap().len();
        (clients, after - self.before)
    }
}

/// The market the clients trade in: [`small_market`], then for each client
/// a seller holding units and a buyer holding cash, and an open day.
/// Returns every account that exists then.
pub async fn crash_market(c: &mut LedgerClient<Channel>) -> Vec<String> {
    let mut s = Signer::default();
    small_market(c, &mut s).await;
    let mut setup = Vec::new();
    for i in 0..CLIENTS {
        for (id, jurisdiction) in [(format!("CR-S{i}"), "HZ-EEB"), (format!("CR-B{i}"), "NB-EEB")] {
            setup.push(json!({"as": jurisdiction, "cmd": "create_account", "id": id, "role": "entity"}));
        }
        setup.push(json!({"as": "HZ-EEB", "cmd": "issue", "instrument": "ZJEA-2025",
                          "to": format!("CR-S{i}"), "qty": 1_000_000}));
        setup.push(json!({"as": OPERATOR, "cmd": "deposit", "account": format!("CR-B{i}"),
                          "amount": "10000000.00"}));
    }
    setup.push(json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"}));
    for line in setup {
        accept(c, s.sign(line)).await;
    }
    let mut accounts: Vec<String> = ["HZ-STEEL", "NB-POWER", OPERATOR]
        .into_iter()
        .map(String::from)
        .chain(REGULATORS.iter().map(|(id, _)| id.to_string()))
        .collect();
    for i in 0..CLIENTS {
        accounts.push(format!("CR-S{i}"));
        accounts.push(format!("CR-B{i}"));
    }
    accounts
}

/// Checks a journal against the acknowledgements: sequence numbers are
/// dense from 0, no envelope appears twice, and every acknowledged command
/// is at the sequence number it was acknowledged with. Returns how many
/// commands the journal holds.
pub fn check_acks(entries: &[pb::JournalEntry], acks: &[Ack]) -> usize {
    let mut seen = HashSet::new();
    let mut at: HashMap<u64, (String, u64)> = HashMap::new();
    for (n, entry) in entries.iter().enumerate() {
        assert_eq!(entry.seq, n as u64, "sequence numbers are dense");
        if let Some(pb::journal_entry::Input::Command(env)) = &entry.input {
            let cmd = pb::Command::decode(env.payload.as_slice()).unwrap();
            assert!(seen.insert(env.payload.clone()), "entry {} appears twice", entry.seq);
            at.insert(
                entry.seq,
                (cmd.actor.unwrap_or_default(), cmd.nonce.unwrap_or_default()),
            );
        }
    }
    for a in acks {
        assert_eq!(
            at.get(&a.seq),
            Some(&(a.actor.clone(), a.nonce)),
            "acknowledged {a:?} is not in the journal at its seq (the journal holds {} entries)",
            entries.len()
        );
    }
    assert_eq!(acks.iter().collect::<HashSet<_>>().len(), acks.len(), "an ack twice");
    at.len()
}
