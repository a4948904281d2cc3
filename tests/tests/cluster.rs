//! Replication (docs/CLUSTER.md): three `carbon serve --cluster` members
//! on loopback, each a real process.
//!
//! - The leader is killed (SIGKILL) under concurrent signed load, again and
//!   again (`CARBON_CLUSTER_KILLS`, default 10): a new leader takes over,
//!   and afterwards every acknowledged command is in every member's journal
//!   exactly once, the journals are identical byte for byte, and `carbon
//!   audit verify` passes on each folder. After each kill a probe command
//!   is sent, the same envelope again and again to whichever member takes
//!   it, until acknowledged: the failover time (kill to the first
//!   acknowledgement on the new leader) is printed, p50 and p99.

mod cluster_support;
mod crash_support;
mod grpc_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carbon_proto::v1::GetCheckpointRequest;
use cluster_support::*;
use crash_support::*;
use grpc_support::*;
use serde_json::json;

/// The `q`-quantile of `d` (sorted in place).
fn quantile(d: &mut [Duration], q: f64) -> Duration {
    d.sort();
    d[((d.len() as f64 - 1.0) * q).round() as usize]
}

/// Sends `env` to every running member at once, again and again, until
/// one acknowledges it (accepted, or REPLAYED: an earlier copy was
/// applied); returns when. As a client that knows every member would.
async fn until_acknowledged(c: &Cluster, env: &carbon_proto::v1::SignedCommand, within: Duration) -> Instant {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let mut tasks = Vec::new();
    for id in c.members.keys().copied().filter(|id| c.running(*id)) {
        let (url, env, tx) = (format!("http://{}", c.members[&id].api), env.clone(), tx.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let connected = tonic::transport::Endpoint::from_shared(url.clone())
                    .unwrap()
                    .connect_timeout(Duration::from_millis(200))
                    .connect()
                    .await;
                if let Ok(ch) = connected {
                    let mut client = carbon_proto::v1::ledger_client::LedgerClient::new(ch);
                    let answer = tokio::time::timeout(Duration::from_secs(5), client.submit(env.clone())).await;
                    let acknowledged = match answer {
                        Ok(Ok(_)) => true,
                        Ok(Err(s)) => rejection_code(&s) == "REPLAYED",
                        Err(_) => false,
                    };
                    if acknowledged {
                        let _ = tx.send(Instant::now()).await;
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    let acked = tokio::time::timeout(within, rx.recv()).await;
    for t in tasks {
        t.abort();
    }
    acked
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no member acknowledged the probe within {within:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_under_load_loses_nothing_and_applies_nothing_twice() {
    let kills = env_u64("CARBON_CLUSTER_KILLS", 10);
    let seed = env_u64("CARBON_CLUSTER_SEED", 0x5EED_C1A5_7E12_0001);
    eprintln!("cluster kill test: {kills} kills, seed {seed:#x} (CARBON_CLUSTER_KILLS, CARBON_CLUSTER_SEED)");
    let mut rng = Rng(seed);
    // Compaction every 200 Raft entries: restarted members also catch up
    // from snapshots on the way.
    let mut c = Cluster::start(3, 3, raft_settings(200, 20));
    let first = c.leader().await;
    crash_market(&mut c.client(first).await).await;

    let acks = Arc::new(Mutex::new(Vec::<Ack>::new()));
    let mut clients = Client::all();
    // The probe: deposits by the operator, far above any nonce it used.
    let mut probe = Signer::default();
    probe.nonces.insert(OPERATOR.into(), 1_000_000);
    let mut failovers = Vec::new();
    for round in 0..kills {
        let leader = c.leader().await;
        let mut connections = Vec::new();
        for _ in 0..CLIENTS {
            connections.push(c.client(leader).await);
        }
        let load = Load::start_on(connections, clients, &acks);
        tokio::time::sleep(Duration::from_millis(200 + rng.below(500))).await;
        let killed_at = Instant::now();
        c.kill(leader);
        let acked;
        (clients, acked) = load.stop().await;
        let env = probe.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "CR-B0", "amount": "1.00"}));
        let took = until_acknowledged(&c, &env, Duration::from_secs(30)).await - killed_at;
        eprintln!("round {round}: killed leader {leader} after {acked} acknowledgements; failover {took:?}");
        failovers.push(took);
        c.start_member(leader);
    }
    let acks = acks.lock().unwrap().clone();
    assert!(acks.len() >= kills as usize, "too few acknowledged: {}", acks.len());
    eprintln!(
        "failover over {} kills: p50 {:?}, p99 {:?}, max {:?}",
        failovers.len(),
        quantile(&mut failovers, 0.5),
        quantile(&mut failovers, 0.99),
        quantile(&mut failovers, 1.0)
    );

    // Everyone catches up, stops cleanly, and holds the same journal.
    let ids = [1, 2, 3];
    let len = c.converged(&ids, 1, Duration::from_secs(60)).await;
    c.stop_all();
    let entries = c.identical_and_audited(&ids);
    assert_eq!(entries.len() as u64, len);
    let commands = check_acks(&entries, &acks);
    eprintln!(
        "{} acknowledged commands, {commands} in {len} journal entries on every member",
        acks.len()
    );
}

/// A GetCheckpoint that asks for a linearizable read.
fn linearizable() -> tonic::Request<GetCheckpointRequest> {
    let mut r = tonic::Request::new(GetCheckpointRequest {});
    r.metadata_mut()
        .insert("x-carbon-consistency", "linearizable".parse().unwrap());
    r
}

/// A deposit by the operator, with nonces far above any it used in setup.
fn deposits() -> impl FnMut(&str) -> carbon_proto::v1::SignedCommand {
    let mut s = Signer::default();
    s.nonces.insert(OPERATOR.into(), 1_000_000);
    move |amount| s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "CR-B0", "amount": amount}))
}

/// `n` deposits through the leader, one Raft entry each; an envelope the
/// leader could not answer (leadership moved) goes again, the same, to the
/// next leader.
async fn deposit_many(c: &Cluster, deposit: &mut impl FnMut(&str) -> carbon_proto::v1::SignedCommand, n: usize) {
    for _ in 0..n {
        let env = deposit("1.00");
        for attempt in 0.. {
            let mut client = c.client(c.leader().await).await;
            match client.submit(env.clone()).await {
                Ok(r) => {
                    assert!(r.into_inner().outcome.is_some_and(|o| o.ok));
                    break;
                }
                // Sent again after an answer was lost: applied the first time.
                Err(s) if attempt > 0 && rejection_code(&s) == "REPLAYED" => break,
                Err(s) if s.code() == tonic::Code::Unavailable => continue,
                Err(s) => panic!("rejected: {s:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_leader_acknowledges_nothing_and_its_tail_is_discarded() {
    let mut c = Cluster::start(3, 3, raft_settings(10_000, 1_000));
    let old = c.leader().await;
    crash_market(&mut c.client(old).await).await;
    let mut deposit = deposits();
    let majority: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != old).collect();
    c.cut(old, &majority);
    for id in &majority {
        c.cut(*id, &[old]);
    }
    tokio::time::sleep(FAULT_DELAY).await;

    // The old leader, alone, cannot acknowledge anything.
    let stranded = deposit("7.00");
    let mut to_old = c.client(old).await;
    let answer = tokio::time::timeout(Duration::from_secs(3), to_old.submit(stranded.clone())).await;
    assert!(
        !matches!(answer, Ok(Ok(_))),
        "the isolated leader acknowledged a command: {answer:?}"
    );

    // The majority elects a leader and goes on.
    let new = c.leader_among(&majority, Duration::from_secs(20)).await;
    assert_ne!(new, old);
    let mut to_new = c.client(new).await;
    deposit_many(&c, &mut deposit, 5).await;

    // Reads: the isolated member still answers plain reads (stale), but
    // cannot confirm a linearizable one; the new leader can, and a
    // follower of it names it.
    assert!(to_old.get_checkpoint(GetCheckpointRequest {}).await.is_ok());
    let answer = tokio::time::timeout(Duration::from_secs(3), to_old.get_checkpoint(linearizable())).await;
    assert!(
        !matches!(answer, Ok(Ok(_))),
        "the isolated member served a linearizable read"
    );
    let at_leader = to_new.get_checkpoint(linearizable()).await.unwrap().into_inner();
    let follower = majority.iter().copied().find(|id| *id != new).unwrap();
    let refused = c
        .client(follower)
        .await
        .get_checkpoint(linearizable())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable);
    assert_eq!(
        refused.metadata().get("x-carbon-leader").and_then(|v| v.to_str().ok()),
        Some(c.members[&new].api.to_string().as_str())
    );

    // Healed, the old leader follows, its uncommitted tail discarded.
    c.heal();
    let len = c.converged(&[1, 2, 3], 1, Duration::from_secs(30)).await;
    // The old leader may have stood for election while cut off; whoever
    // leads now, it is not the member whose log lacked the majority's.
    assert_ne!(
        c.leader().await,
        old,
        "the old leader cannot lead again before it caught up"
    );
    assert_eq!(
        at_leader.tree_size, len,
        "the linearizable read saw every acknowledged write"
    );
    c.stop_all();
    let entries = c.identical_and_audited(&[1, 2, 3]);
    assert_eq!(entries.len() as u64, len);
    let stranded_in_journal = entries.iter().any(|e| {
        matches!(&e.input, Some(carbon_proto::v1::journal_entry::Input::Command(env)) if env.payload == stranded.payload)
    });
    assert!(!stranded_in_journal, "the minority's command reached the journal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_down_while_the_log_is_compacted_catches_up_from_a_snapshot() {
    // A snapshot every 20 Raft entries, 5 kept behind it.
    let mut c = Cluster::start(3, 3, raft_settings(20, 5));
    let leader = c.leader().await;
    crash_market(&mut c.client(leader).await).await;
    let down = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    let applied_before = c.status(down).await.unwrap().applied_index;
    c.kill(down);
    let mut deposit = deposits();
    deposit_many(&c, &mut deposit, 120).await;
    let s = c.status(c.leader().await).await.unwrap();
    assert!(
        s.purged_index > applied_before + 1,
        "the leader's log was compacted past what the member holds ({} <= {applied_before})",
        s.purged_index
    );
    c.start_member(down);
    c.converged(&[1, 2, 3], 1, Duration::from_secs(30)).await;
    let s = c.status(down).await.unwrap();
    assert!(
        s.snapshot_index > applied_before,
        "the member caught up without a snapshot (snapshot at {}, it had {applied_before})",
        s.snapshot_index
    );
    // It keeps up afterwards, and the ledger is one.
    deposit_many(&c, &mut deposit, 10).await;
    c.converged(&[1, 2, 3], 1, Duration::from_secs(30)).await;
    c.stop_all();
    c.identical_and_audited(&[1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_folder_was_deleted_rejoins_empty_and_catches_up() {
    let mut c = Cluster::start(3, 3, raft_settings(20, 5));
    let leader = c.leader().await;
    crash_market(&mut c.client(leader).await).await;
    let lost = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    c.kill(lost);
    std::fs::remove_dir_all(&c.members[&lost].data).unwrap();
    let mut deposit = deposits();
    deposit_many(&c, &mut deposit, 60).await;
    c.start_member(lost);
    let len = c.converged(&[1, 2, 3], 1, Duration::from_secs(30)).await;
    assert!(len > 60);
    c.stop_all();
    c.identical_and_audited(&[1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_added_and_removed_at_run_time_and_clients_follow_the_leader() {
    // Four in the file; three form the cluster; the fourth joins later.
    let mut c = Cluster::start(4, 3, raft_settings(20, 5));
    let leader = c.leader().await;
    crash_market(&mut c.client(leader).await).await;
    let mut deposit = deposits();
    deposit_many(&c, &mut deposit, 40).await;

    // `carbon submit` given every member, a follower first, reaches the leader.
    let follower = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    let servers: Vec<String> = std::iter::once(follower)
        .chain([1, 2, 3].into_iter().filter(|id| *id != follower))
        .map(|id| c.members[&id].api.to_string())
        .collect();
    let key = write_test_key_file(c.path(), "HZ-EEB");
    let out = carbon(&[
        "submit",
        "--key",
        key.to_str().unwrap(),
        "--server",
        &servers.join(","),
        r#"{"as":"HZ-EEB","cmd":"issue","instrument":"ZJEA-2025","to":"CR-S1","qty":5}"#,
    ]);
    assert!(out.contains("\"ok\": true"), "{out}");

    // Member 4 joins (a learner caught up from a snapshot, then a voter).
    c.start_member(4);
    let file = c.file.to_str().unwrap().to_string();
    let added = carbon(&["cluster", "add", "--cluster", &file, "--node", "4"]);
    assert!(added.lines().filter(|l| l.contains("voter")).count() == 4, "{added}");
    let len = c.converged(&[1, 2, 3, 4], 1, Duration::from_secs(30)).await;
    eprintln!("converged at {len} with member 4");
    assert!(len > 40);

    // A member that is not the leader leaves; the rest go on without it.
    let leader = c.leader().await;
    let leaving = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    let removed = carbon(&["cluster", "remove", "--cluster", &file, "--node", &leaving.to_string()]);
    assert!(
        !removed
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{leaving} ")) && l.contains("voter")),
        "{removed}"
    );
    c.kill(leaving);
    deposit_many(&c, &mut deposit, 10).await;

    let rest: Vec<u64> = [1, 2, 3, 4].into_iter().filter(|id| *id != leaving).collect();
    c.converged(&rest, len + 10, Duration::from_secs(30)).await;
    let status = carbon(&["cluster", "status", "--cluster", &file, "--json"]);
    assert!(status.contains("\"role\": \"leader\""), "{status}");
    c.stop_all();
    let entries = c.identical_and_audited(&rest);
    // The member that left holds a prefix of the same journal.
    let left = c.journal(leaving);
    assert!(left.len() <= entries.len());
    c.audit(leaving);
}
