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

mod crash_support;
mod grpc_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use carbon_ledger::audit::rebuild;
use carbon_ledger::journal::Journal;
use carbon_ledger::num::fmt_cents;
use carbon_proto::v1 as pb;
use crash_support::*;
use grpc_support::*;

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

    let accounts = crash_market(&mut server.client().await).await;

    let acks = Arc::new(Mutex::new(Vec::<Ack>::new()));
    let mut clients = Client::all();
    for round in 0..kills {
        let load = Load::start(&server, clients, &acks).await;
        tokio::time::sleep(Duration::from_millis(50 + rng.below(450))).await;
        server.kill(); // SIGKILL, wherever the batch is
        let acked;
        (clients, acked) = load.stop().await;
        eprintln!("round {round}: {acked} acknowledged before the kill");
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
        let entries: Vec<pb::JournalEntry> = journal.iter(0).map(|r| r.unwrap().1).collect();
        check_acks(&entries, &acks);
        assert_eq!(
            entries.len(),
            streamed.len(),
            "the offline journal is what the server streamed"
        );

        // A fresh replay builds what the server answered.
        let rebuilt = rebuild(&journal, false, |_| {}).unwrap();
        for id in &accounts {
            let a = rebuilt.state.account(id).unwrap_or_else(|| panic!("{id} after replay"));
            assert_eq!(from_state(a), views[id], "account {id}: replay vs. the server");
        }
        eprintln!(
            "{} acknowledged commands in {} journal entries",
            acks.len(),
            entries.len()
        );
    } // the journal is closed: the audit may open the folder

    carbon(&["audit", "verify", "--data", data.to_str().unwrap()]);
}
