//! Replication: a ledger whose members, in Hangzhou and Ningbo, hold the
//! same signed journal through Raft (`openraft`, docs/CLUSTER.md).
//!
//! # Design
//!
//! - **The leader sequences through Raft.** Its handlers check envelopes
//!   as a single node's do; a batch of them becomes one Raft log entry
//!   ([`types::Batch`]). A write sent to a follower is refused with the
//!   leader's public address (`x-carbon-leader`), which the `carbon`
//!   clients follow.
//! - **Every member applies committed entries with the same state
//!   machine**, on its own sequencer thread ([`state_machine`]): the same
//!   envelopes in the same order give the same journal entries, so at equal
//!   lengths every member's journal, Merkle root and checkpoint are the
//!   same, and `carbon audit verify` passes on each folder.
//! - **An answer means committed on a majority and applied here.** A
//!   member makes a Raft entry durable before it counts toward a commit
//!   ([`log_store`]); the leader answers once the entry is applied to its
//!   own journal, durable too. Any one member may then lose its disk.
//! - **Exactly once.** A command is applied once however often it is sent:
//!   its nonce is spent by the first application, every later one is
//!   `REPLAYED`. A client that lost its answer re-sends the same envelope.
//! - **The journal never runs ahead of Raft.** The Raft position is stored
//!   by the flush that makes a batch's entries durable ([`types::Marker`]);
//!   at start-up entries past it are removed (a crash mid-flush) before
//!   the state is rebuilt.
//! - **Catch-up by snapshot.** Raft logs are compacted after a snapshot; a
//!   member too far behind receives the whole journal and the state after
//!   it, appends the entries it lacks and takes the state: nothing is
//!   replayed.
//! - **The checkpoint key.** The members are one operator: each holds the
//!   operator's key and signs its own checkpoints over the same journal
//!   (Ed25519 is deterministic: at equal lengths the notes are identical).
//!
//! # The cluster file
//!
//! One JSON file, shared by every member (paths relative to it):
//!
//! ```json
//! {
//!   "genesis": "genesis.json",
//!   "operator_key": "keys/ZJ-CEEX.key",
//!   "members": [
//!     {"id": 1, "api": "127.0.0.1:7001", "cluster": "127.0.0.1:7101", "data": "member-1"},
//!     {"id": 4, "api": "127.0.0.1:7004", "cluster": "127.0.0.1:7104", "data": "member-4", "initial": false}
//!   ]
//! }
//! ```
//!
//! The `initial` members (all but those marked `false`) form the cluster
//! the first time they start; others join when `carbon cluster add` names
//! them. Optional: `origin`, and `raft` (timings and compaction, see
//! [`RaftSettings`]).

pub mod log_store;
pub mod network;
pub mod proposer;
pub mod read_index;
pub mod rpc;
pub mod state_machine;
pub mod types;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use carbon_ledger::journal::Journal;
use openraft::error::RaftError;
use serde::Deserialize;

pub use proposer::Proposer;
use types::{Marker, MemberId, Peer, Raft};

/// A cluster file, as read (see the module doc).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    pub genesis: PathBuf,
    pub operator_key: PathBuf,
    #[serde(default)]
    pub origin: Option<String>,
    pub members: Vec<MemberEntry>,
    #[serde(default)]
    pub raft: RaftSettings,
}

/// One member in the cluster file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberEntry {
    pub id: MemberId,
    /// Its public gRPC address (host:port).
    pub api: String,
    /// Its cluster address (host:port): Raft, status and membership.
    pub cluster: String,
    /// Its data folder.
    pub data: PathBuf,
    /// Among the members that form the cluster at its first start.
    #[serde(default = "yes")]
    pub initial: bool,
}

fn yes() -> bool {
    true
}

/// Raft's timings and log compaction.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSettings {
    /// How often the leader sends heartbeats.
    pub heartbeat_ms: u64,
    /// A follower that hears no leader for a random time in this range
    /// stands for election.
    pub election_min_ms: u64,
    pub election_max_ms: u64,
    /// Raft log entries between two snapshots (then the log is compacted).
    pub snapshot_logs: u64,
    /// Raft log entries kept behind a snapshot, for members a little behind.
    pub keep_logs: u64,
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            heartbeat_ms: 100,
            election_min_ms: 500,
            election_max_ms: 1000,
            snapshot_logs: 20_000,
            keep_logs: 1_000,
        }
    }
}

impl ClusterFile {
    /// Reads `file`; relative paths in it are taken from its folder.
    pub fn read(file: &Path) -> anyhow::Result<ClusterFile> {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let mut c: ClusterFile =
            serde_json::from_str(&text).with_context(|| format!("{} is not a cluster file", file.display()))?;
        let base = file.parent().unwrap_or(Path::new("."));
        c.genesis = base.join(&c.genesis);
        c.operator_key = base.join(&c.operator_key);
        for m in &mut c.members {
            m.data = base.join(&m.data);
        }
        let mut ids: Vec<MemberId> = c.members.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != c.members.len() {
            bail!("{}: a member id appears twice", file.display());
        }
        if !c.members.iter().any(|m| m.initial) {
            bail!("{}: no initial member", file.display());
        }
        Ok(c)
    }

    /// The member with this id.
    pub fn member(&self, id: MemberId) -> anyhow::Result<&MemberEntry> {
        self.members
            .iter()
            .find(|m| m.id == id)
            .with_context(|| format!("the cluster file names no member {id}"))
    }

    /// The members that form the cluster at its first start.
    pub fn initial(&self) -> BTreeMap<MemberId, Peer> {
        self.members
            .iter()
            .filter(|m| m.initial)
            .map(|m| (m.id, m.peer()))
            .collect()
    }

    /// openraft's configuration from the file's settings.
    pub fn raft_config(&self) -> anyhow::Result<openraft::Config> {
        let r = &self.raft;
        let config = openraft::Config {
            cluster_name: "carbon-ledger".into(),
            heartbeat_interval: r.heartbeat_ms,
            election_timeout_min: r.election_min_ms,
            election_timeout_max: r.election_max_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(r.snapshot_logs),
            max_in_snapshot_log_to_keep: r.keep_logs,
            // Snapshots hold the whole journal: one message each.
            snapshot_max_chunk_size: 64 * 1024 * 1024,
            install_snapshot_timeout: 60_000,
            ..Default::default()
        };
        Ok(config.validate()?)
    }
}

impl MemberEntry {
    pub fn peer(&self) -> Peer {
        Peer {
            cluster: self.cluster.clone(),
            api: self.api.clone(),
        }
    }
}

/// Brings a member's journal back to its Raft marker before the ledger is
/// opened, and returns the marker (the default for a new member).
///
/// Entries past the marker were appended by a batch whose flush did not
/// complete (the marker is stored by that same flush): never acknowledged,
/// they are removed, and Raft applies their entries again. A journal with
/// entries beyond its genesis and no marker is a single-node ledger, which
/// a cluster does not adopt.
pub fn reconcile(data: &Path) -> anyhow::Result<Marker> {
    if !data.join("db").exists() {
        return Ok(Marker::default());
    }
    let journal = Journal::open(data)?;
    let len = journal.len()?;
    let marker = match journal.replicated()? {
        Some(bytes) => Marker::decode(&bytes).map_err(anyhow::Error::msg)?,
        None if len > 1 => bail!(
            "{} holds a single-node ledger ({len} entries): a cluster member starts from the genesis",
            data.display()
        ),
        None => Marker {
            journal_len: len,
            ..Marker::default()
        },
    };
    if len > marker.journal_len {
        let removed = journal.truncate(marker.journal_len)?;
        tracing::warn!(
            "removed {removed} journal entries past the Raft position (a flush a crash interrupted); Raft applies them again"
        );
    }
    Ok(marker)
}

/// Where a member's cluster listener is, parsed.
pub fn cluster_addr(m: &MemberEntry) -> anyhow::Result<std::net::SocketAddr> {
    m.cluster
        .parse()
        .with_context(|| format!("member {}: cluster address {:?}", m.id, m.cluster))
}

/// Starts this member's Raft on its log and the sequencer (its state
/// machine), and forms the cluster if this is an initial member's first
/// start (every initial member proposes the same membership: openraft
/// takes that as one).
pub async fn start(
    c: &ClusterFile,
    m: &MemberEntry,
    log: log_store::LogStore,
    sm: state_machine::StateMachine,
    faults: network::Faults,
) -> anyhow::Result<Raft> {
    let config = Arc::new(c.raft_config()?);
    let network = network::Network { id: m.id, faults };
    let raft = Raft::new(m.id, config, network, log, sm)
        .await
        .context("starting Raft")?;
    if m.initial && !raft.is_initialized().await? {
        match raft.initialize(c.initial()).await {
            Ok(()) => tracing::info!("formed the cluster with members {:?}", c.initial().keys()),
            Err(RaftError::APIError(openraft::error::InitializeError::NotAllowed(_))) => {}
            Err(e) => return Err(e).context("forming the cluster"),
        }
    }
    Ok(raft)
}

#[cfg(test)]
mod tests {
    use super::types::StoredMembership;
    use super::*;

    fn read(text: &str) -> anyhow::Result<ClusterFile> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cluster.json");
        std::fs::write(&file, text).unwrap();
        ClusterFile::read(&file).map(|mut c| {
            // Paths are taken from the file's folder.
            assert!(c.genesis.starts_with(dir.path()));
            c.genesis = PathBuf::from("genesis.json");
            c
        })
    }

    const MEMBERS: &str = r#"[
        {"id": 1, "api": "127.0.0.1:7001", "cluster": "127.0.0.1:7101", "data": "m1"},
        {"id": 2, "api": "127.0.0.1:7002", "cluster": "127.0.0.1:7102", "data": "m2"},
        {"id": 3, "api": "127.0.0.1:7003", "cluster": "127.0.0.1:7103", "data": "m3", "initial": false}
    ]"#;

    #[test]
    fn a_cluster_file_names_its_initial_members_and_defaults_the_timings() {
        let c = read(&format!(
            r#"{{"genesis": "genesis.json", "operator_key": "k.key", "members": {MEMBERS}}}"#
        ))
        .unwrap();
        assert_eq!(c.initial().keys().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(c.member(3).unwrap().api, "127.0.0.1:7003");
        assert!(c.member(4).is_err());
        assert_eq!(c.raft.election_min_ms, RaftSettings::default().election_min_ms);
        let config = c.raft_config().unwrap();
        assert_eq!(config.heartbeat_interval, 100);
    }

    #[test]
    fn a_bad_cluster_file_is_refused_with_a_reason() {
        let cases = [
            (
                r#"{"genesis": "g", "operator_key": "k", "members": [
                {"id": 1, "api": "a", "cluster": "c", "data": "d"},
                {"id": 1, "api": "a", "cluster": "c", "data": "e"}]}"#,
                "appears twice",
            ),
            (
                r#"{"genesis": "g", "operator_key": "k", "members": [
                {"id": 1, "api": "a", "cluster": "c", "data": "d", "initial": false}]}"#,
                "no initial member",
            ),
            (
                r#"{"genesis": "g", "operator_key": "k", "members": [], "replicas": 3}"#,
                "not a cluster file",
            ),
            (
                r#"{"genesis": "g", "operator_key": "k", "members": [],
                "raft": {"election_min_ms": 900, "election_max_ms": 100}}"#,
                "",
            ),
        ];
        for (text, why) in cases {
            let refused = read(text).and_then(|c| c.raft_config().map(|_| c));
            let e = format!("{:#}", refused.expect_err(text));
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn a_marker_encodes_and_decodes_and_garbage_does_not() {
        let m = Marker {
            applied: Some(openraft::LogId::new(openraft::CommittedLeaderId::new(3, 1), 42)),
            membership: StoredMembership::default(),
            journal_len: 77,
        };
        assert_eq!(Marker::decode(&m.encode()).unwrap(), m);
        assert!(Marker::decode(&[0xff; 3]).is_err());
    }

    #[test]
    fn reconcile_removes_entries_past_the_marker_and_refuses_a_single_node_ledger() {
        let dir = tempfile::tempdir().unwrap();
        {
            let j = Journal::open(dir.path()).unwrap();
            for seq in 0..5u64 {
                j.append(seq, &[seq as u8]).unwrap();
            }
            j.flush().unwrap();
        }
        let e = reconcile(dir.path()).unwrap_err().to_string();
        assert!(e.contains("single-node ledger"), "{e}");
        {
            let j = Journal::open(dir.path()).unwrap();
            let marker = Marker {
                journal_len: 3,
                ..Marker::default()
            };
            j.set_replicated(&marker.encode()).unwrap();
            j.flush().unwrap();
        }
        assert_eq!(reconcile(dir.path()).unwrap().journal_len, 3);
        assert_eq!(Journal::open(dir.path()).unwrap().len().unwrap(), 3);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(reconcile(empty.path()).unwrap(), Marker::default());
    }
}
