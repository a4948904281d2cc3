//! Shared by the replication tests: a cluster of `carbon serve --cluster`
//! members on loopback, each a real process, with the test genesis (test
//! keys) so that `Signer` and `crash_support`'s clients work unchanged.
//!
//! Every member runs with the partition fault hook
//! (`CARBON_FAULT_PARTITION`) on a file of its own, so a test cuts members
//! off from each other and heals them by rewriting those files.

#![allow(dead_code)] // each test file uses part of this module

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use carbon_proto::cluster::cluster_client::ClusterClient;
use carbon_proto::cluster::{MemberStatus, StatusRequest};
use carbon_proto::v1 as pb;
use pb::ledger_client::LedgerClient;
use serde_json::json;
use tonic::transport::Channel;

use crate::grpc_support::*;

/// How long after [`Cluster::cut`] every member has read its fault file.
pub const FAULT_DELAY: Duration = Duration::from_millis(200);

/// One member: its addresses, folder and process (when running).
pub struct Member {
    pub id: u64,
    pub api: SocketAddr,
    pub cluster: SocketAddr,
    pub data: PathBuf,
    pub initial: bool,
    child: Option<Child>,
}

/// A cluster on loopback; every member is killed when it is dropped.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub file: PathBuf,
    pub members: BTreeMap<u64, Member>,
    /// One cluster at a time in a test process: three or four members per
    /// test, five tests at once, would be sixteen servers on two cores, and
    /// elections that time out for want of CPU say nothing of Raft.
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Free loopback ports, each taken by the OS and held in `held` until the
/// caller releases them all for the members: no two of one cluster alike.
fn free_addr(held: &mut Vec<TcpListener>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    held.push(l);
    addr
}

/// Fast Raft timings for tests, and compaction after `snapshot_logs`.
pub fn raft_settings(snapshot_logs: u64, keep_logs: u64) -> serde_json::Value {
    json!({
        "heartbeat_ms": 50, "election_min_ms": 300, "election_max_ms": 600,
        "snapshot_logs": snapshot_logs, "keep_logs": keep_logs,
    })
}

impl Cluster {
    /// Writes a cluster of `n` members (the first `initial` form it; the
    /// rest join when added) and starts the initial ones.
    pub fn start(n: u64, initial: u64, raft: serde_json::Value) -> Cluster {
        // A test that failed while holding it poisoned it; the next goes on.
        let one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let (genesis, op_key) = write_genesis(dir.path());
        let mut members = BTreeMap::new();
        let mut listed = Vec::new();
        let mut held = Vec::new();
        for id in 1..=n {
            let m = Member {
                id,
                api: free_addr(&mut held),
                cluster: free_addr(&mut held),
                data: dir.path().join(format!("member-{id}")),
                initial: id <= initial,
                child: None,
            };
            listed.push(json!({
                "id": id, "api": m.api.to_string(), "cluster": m.cluster.to_string(),
                "data": m.data, "initial": m.initial,
            }));
            members.insert(id, m);
        }
        drop(held);
        let file = dir.path().join("cluster.json");
        let text = json!({
            "genesis": genesis, "operator_key": op_key, "origin": ORIGIN,
            "members": listed, "raft": raft,
        });
        std::fs::write(&file, serde_json::to_string_pretty(&text).unwrap()).unwrap();
        let mut c = Cluster {
            dir,
            file,
            members,
            _one_at_a_time: one_at_a_time,
        };
        for id in 1..=initial {
            c.start_member(id);
        }
        c
    }

    /// The partition fault file of member `id`.
    fn fault_file(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("partition-{id}"))
    }

    /// Starts member `id` and waits until it listens.
    pub fn start_member(&mut self, id: u64) {
        let fault = self.fault_file(id);
        if !fault.exists() {
            std::fs::write(&fault, "").unwrap();
        }
        let mut child = Command::new(carbon_bin())
            .args(["serve", "--cluster"])
            .arg(&self.file)
            .args(["--node", &id.to_string()])
            .env("RUST_LOG", "warn,openraft=off")
            .env("RUST_BACKTRACE", "0")
            .env("CARBON_FAULT_PARTITION", &fault)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting carbon serve --cluster");
        if listening(&mut child, Duration::from_secs(60)).is_none() {
            let _ = child.kill();
            panic!("member {id} did not start listening: {:?}", child.wait());
        }
        self.members.get_mut(&id).unwrap().child = Some(child);
    }

    /// SIGKILL member `id`.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.members.get_mut(&id).unwrap().child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM member `id` and wait for it to stop (a clean stop).
    pub fn stop(&mut self, id: u64) {
        if let Some(mut child) = self.members.get_mut(&id).unwrap().child.take() {
            // SAFETY: a plain kill(2) of our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "member {id} did not stop on SIGTERM");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Stops every running member cleanly.
    pub fn stop_all(&mut self) {
        let ids: Vec<u64> = self.members.keys().copied().collect();
        for id in ids {
            self.stop(id);
        }
    }

    pub fn running(&self, id: u64) -> bool {
        self.members[&id].child.is_some()
    }

    /// Cuts member `id` off from `others` (both ways), or heals it (empty).
    /// Members read their fault file at most every 50 ms: in force
    /// [`FAULT_DELAY`] later.
    pub fn cut(&self, id: u64, others: &[u64]) {
        let text: String = others.iter().map(|o| format!("{o}\n")).collect();
        std::fs::write(self.fault_file(id), text).unwrap();
    }

    /// Heals every partition.
    pub fn heal(&self) {
        for id in self.members.keys() {
            self.cut(*id, &[]);
        }
    }

    /// Member `id`'s status, if it answers.
    pub async fn status(&self, id: u64) -> Option<MemberStatus> {
        let addr = format!("http://{}", self.members[&id].cluster);
        let ch = tonic::transport::Endpoint::from_shared(addr)
            .unwrap()
            .connect_timeout(Duration::from_millis(300))
            .timeout(Duration::from_secs(2))
            .connect()
            .await
            .ok()?;
        ClusterClient::new(ch)
            .status(StatusRequest {})
            .await
            .ok()
            .map(|r| r.into_inner())
    }

    /// The member that leads among `among`, once a majority of them says
    /// so (a member that restarts may believe for a moment that it still
    /// leads an old term); waits up to `within`.
    pub async fn leader_among(&self, among: &[u64], within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let mut said: BTreeMap<u64, usize> = BTreeMap::new();
            let mut leading = Vec::new();
            for id in among.iter().copied().filter(|id| self.running(*id)) {
                if let Some(s) = self.status(id).await {
                    if let Some(l) = s.leader {
                        *said.entry(l).or_default() += 1;
                    }
                    if s.role == "leader" {
                        leading.push(id);
                    }
                }
            }
            let majority = among.len() / 2 + 1;
            if let Some(l) = leading
                .into_iter()
                .find(|l| said.get(l).is_some_and(|n| *n >= majority))
            {
                return l;
            }
            assert!(Instant::now() < deadline, "no leader among {among:?} within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The leader among the running members.
    pub async fn leader(&self) -> u64 {
        let running: Vec<u64> = self.members.keys().copied().filter(|id| self.running(*id)).collect();
        self.leader_among(&running, Duration::from_secs(20)).await
    }

    pub async fn client(&self, id: u64) -> LedgerClient<Channel> {
        let ch = Channel::from_shared(format!("http://{}", self.members[&id].api))
            .unwrap()
            .connect()
            .await
            .expect("connecting to a member");
        LedgerClient::new(ch)
    }

    /// Waits until every member of `ids` has applied the same journal
    /// length, at least `at_least`; returns it.
    pub async fn converged(&self, ids: &[u64], at_least: u64, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let mut lens = Vec::new();
            for id in ids {
                lens.push(self.status(*id).await.map(|s| s.journal_len));
            }
            if let Some(Some(first)) = lens.first() {
                if *first >= at_least && lens.iter().all(|l| *l == Some(*first)) {
                    return *first;
                }
            }
            assert!(Instant::now() < deadline, "members {ids:?} did not converge: {lens:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Member `id`'s journal, raw and decoded (the member must be stopped).
    pub fn journal(&self, id: u64) -> Vec<(Vec<u8>, pb::JournalEntry)> {
        let j = carbon_ledger::journal::Journal::open(&self.members[&id].data).unwrap();
        j.iter(0).map(|r| r.unwrap()).collect()
    }

    /// `carbon audit verify` on member `id`'s folder (stopped); panics if it fails.
    pub fn audit(&self, id: u64) {
        let data = self.members[&id].data.to_str().unwrap().to_string();
        carbon(&["audit", "verify", "--data", &data]);
    }

    /// Every member's journal is the same as member `first`'s (all stopped),
    /// and each passes the audit; returns the common journal.
    pub fn identical_and_audited(&self, ids: &[u64]) -> Vec<pb::JournalEntry> {
        let reference = self.journal(ids[0]);
        for id in &ids[1..] {
            let other = self.journal(*id);
            assert_eq!(other.len(), reference.len(), "member {id}'s journal length");
            for (a, b) in reference.iter().zip(&other) {
                assert!(a.0 == b.0, "member {id}'s entry {} differs", a.1.seq);
            }
        }
        for id in ids {
            self.audit(*id);
        }
        reference.into_iter().map(|(_, e)| e).collect()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in self.members.values_mut() {
            if let Some(mut c) = m.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
