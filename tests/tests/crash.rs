//! Crash safety: `carbon serve` is killed with SIGKILL at random moments
//! while several clients drive signed commands at it, and restarted on the
//! same data folder each time. Then:
//!
//! - every acknowledged command (actor, nonce, seq) is in the journal, at the
//!   sequence number it was acknowledged with;
//! - no envelope appears twice;
//! - `carbon audit verify --data DIR` passes;
//! - the state a fresh replay of the journal builds equals what the server
//!   answered (GetAccount) for every account before its last shutdown (the
//!   server snapshots every 50 entries, so it had resumed from a snapshot).
//!
//! `CARBON_CRASH_KILLS` sets the number of kills (default 6; a full local
//! run uses 20: `CARBON_CRASH_KILLS=20 cargo test -p carbon-tests --test
//! crash`), `CARBON_CRASH_SEED` the seed of the kill moments.

mod grpc_support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use carbon_ledger::audit::rebuild;
use carbon_ledger::journal::Journal;
use carbon_ledger::keys::test_key;
use carbon_ledger::num::fmt_cents;
use carbon_ledger::replay::sign_command;
use carbon_proto::v1 as pb;
use grpc_support::*;
use pb::ledger_client::LedgerClient;
use prost::Message;
use serde_json::json;
use tonic::transport::Channel;

/// Concurrent clients; client `i` owns accounts `CR-S{i}` and `CR-B{i}`.
const CLIENTS: usize = 4;

/// A small deterministic generator (splitmix64): the kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
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
struct Ack {
    actor: String,
    nonce: u64,
    seq: u64,
}

/// What one client keeps across server restarts.
struct Client {
    idx: usize,
    /// The last nonce used per account (acknowledged or not: never reused).
    nonces: HashMap<String, u64>,
    /// How many commands were sent (picks the next kind).
    sent: u64,
}

impl Client {
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
        let (_, mut command) = Signer::default().command(line);
        command.nonce = Some(nonce);
        let env = sign_command(&test_key(&actor), &command);
        (actor, nonce, env)
    }

    /// Sends commands until the server goes away; records every
    /// acknowledgement. Even clients use Submit, odd ones SubmitBatch.
    async fn drive(&mut self, mut c: LedgerClient<Channel>, acks: Arc<Mutex<Vec<Ack>>>) {
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

fn rejection_code(s: &tonic::Status) -> String {
    pb::Rejection::decode(s.details()).map(|r| r.code).unwrap_or_default()
}

/// Cash available and locked, non-zero holdings (instrument, available,
/// locked, pending), last nonce, frozen.
type Balances = (String, String, Vec<(String, i64, i64, i64)>, u64, bool);

/// What GetAccount says, reduced to what a replay must reproduce.
fn from_view(v: &pb::AccountView) -> Balances {
    let mut holdings: Vec<_> = v
        .holdings
        .iter()
        .filter(|b| (b.available, b.locked, b.pending) != (0, 0, 0))
        .map(|b| (b.instrument.clone(), b.available, b.locked, b.pending))
        .collect();
    holdings.sort();
    (
        v.cash_available.clone(),
        v.cash_locked.clone(),
        holdings,
        v.last_nonce,
        v.frozen,
    )
}

fn from_state(a: &carbon_ledger::state::Account) -> Balances {
    let mut holdings: Vec<_> = a
        .holdings
        .iter()
        .filter(|(_, h)| (h.available, h.locked, h.pending) != (0, 0, 0))
        .map(|(s, h)| (s.clone(), h.available, h.locked, h.pending))
        .collect();
    holdings.sort();
    (
        fmt_cents(a.cash_available),
        fmt_cents(a.cash_locked),
        holdings,
        a.last_nonce,
        a.frozen,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_commands_survive_random_sigkills() {
    let kills = env_u64("CARBON_CRASH_KILLS", 6);
    let seed = env_u64("CARBON_CRASH_SEED", 0xC4A5_4ED6_E500_0001);
    eprintln!("crash test: {kills} kills, seed {seed:#x} (CARBON_CRASH_KILLS, CARBON_CRASH_SEED)");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().unwrap();
    let (_, op_key) = write_genesis(dir.path());
    // Frequent snapshots, so kills also land while one is being written and
    // restarts resume from one and the journal after it.
    const SNAPSHOTS: [&str; 2] = ["--snapshot-every", "50"];
    let mut server = Server::with_test_genesis_and(dir.path(), &SNAPSHOTS);
    let data = server.data.clone();

    // The market: each client's seller holds units, its buyer cash; a day is open.
    {
        let mut c = server.client().await;
        let mut s = Signer::default();
        small_market(&mut c, &mut s).await;
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
            accept(&mut c, s.sign(line)).await;
        }
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

    let acks = Arc::new(Mutex::new(Vec::<Ack>::new()));
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|idx| Client {
            idx,
            nonces: HashMap::new(),
            sent: 0,
        })
        .collect();
    for round in 0..kills {
        let mut tasks = Vec::new();
        for mut client in clients.drain(..) {
            let c = server.client().await;
            let acks = acks.clone();
            tasks.push(tokio::spawn(async move {
                client.drive(c, acks).await;
                client
            }));
        }
        let before = acks.lock().unwrap().len();
        tokio::time::sleep(Duration::from_millis(50 + rng.below(450))).await;
        server.kill(); // SIGKILL, wherever the batch is
        for t in tasks {
            clients.push(t.await.expect("a client task panicked"));
        }
        clients.sort_by_key(|c| c.idx);
        let after = acks.lock().unwrap().len();
        eprintln!("round {round}: {} acknowledged before the kill", after - before);
        server = Server::start(
            &data,
            &["--operator-key", op_key.to_str().unwrap(), SNAPSHOTS[0], SNAPSHOTS[1]],
        );
        assert!(
            server.banner.iter().any(|l| l.contains("opened the ledger")),
            "{:?}",
            server.banner
        );
    }
    let acks = acks.lock().unwrap().clone();
    assert!(
        acks.len() >= kills as usize,
        "too few commands were acknowledged: {}",
        acks.len()
    );

    // What the server says of every account, then its last (hard) stop.
    let mut c = server.client().await;
    let mut views = HashMap::new();
    for id in &accounts {
        views.insert(id.clone(), from_view(&account(&mut c, id).await));
    }
    let streamed = journal(&mut c, 0).await;
    drop(c);
    server.kill();

    // Every acknowledged command is in the journal where it was
    // acknowledged, and no envelope is there twice.
    {
        let journal = Journal::open(&data).unwrap();
        let mut seen = HashSet::new();
        let mut at: HashMap<u64, (String, u64)> = HashMap::new();
        let mut n = 0u64;
        for r in journal.iter(0) {
            let (_, entry) = r.unwrap();
            assert_eq!(entry.seq, n, "sequence numbers are dense");
            n += 1;
            if let Some(pb::journal_entry::Input::Command(env)) = entry.input {
                let cmd = pb::Command::decode(env.payload.as_slice()).unwrap();
                assert!(seen.insert(env.payload.clone()), "entry {} appears twice", entry.seq);
                at.insert(
                    entry.seq,
                    (cmd.actor.unwrap_or_default(), cmd.nonce.unwrap_or_default()),
                );
            }
        }
        assert_eq!(
            n as usize,
            streamed.len(),
            "the offline journal is what the server streamed"
        );
        for a in &acks {
            assert_eq!(
                at.get(&a.seq),
                Some(&(a.actor.clone(), a.nonce)),
                "acknowledged {a:?} is not in the journal at its seq"
            );
        }
        assert_eq!(acks.iter().collect::<HashSet<_>>().len(), acks.len(), "an ack twice");

        // A fresh replay builds what the server answered.
        let rebuilt = rebuild(&journal, false, |_| {}).unwrap();
        for id in &accounts {
            let a = rebuilt.state.account(id).unwrap_or_else(|| panic!("{id} after replay"));
            assert_eq!(from_state(a), views[id], "account {id}: replay vs. the server");
        }
        eprintln!("{} acknowledged commands in {n} journal entries", acks.len());
    } // the journal is closed: the audit may open the folder

    let out = std::process::Command::new(carbon_bin())
        .args(["audit", "verify", "--data"])
        .arg(&data)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "carbon audit verify failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
