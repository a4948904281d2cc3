//! What Raft carries for this ledger: openraft's type configuration.

use std::fmt;
use std::io::Cursor;

use carbon_ledger::node::Submitted;
use serde::{Deserialize, Serialize};

/// A member's id, as the cluster file names it.
pub type MemberId = u64;

/// Where a member is reached: its cluster address (Raft and membership,
/// between members only) and its public gRPC address (what clients are
/// told when they write to a follower).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// host:port of the member's cluster listener.
    pub cluster: String,
    /// host:port of the member's public gRPC listener.
    pub api: String,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cluster {} api {}", self.cluster, self.api)
    }
}

/// One Raft log entry's data: a batch of signed envelopes, each the exact
/// protobuf bytes a client signed, already verified by the leader's
/// handlers. Every member authenticates and applies them again with the
/// same state machine (a follower trusts no one's signature check but its
/// own).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Batch {
    pub envelopes: Vec<Vec<u8>>,
}

/// What applying a [`Batch`] gave, one answer per envelope: returned to
/// the leader's handler that proposed it. Answers never leave the member
/// that applied them, so they are not serialized (a deserialized one is
/// empty); openraft only asks that the type could be.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Answers {
    #[serde(skip)]
    pub answers: Vec<Submitted>,
}

openraft::declare_raft_types!(
    /// The ledger's Raft: batches of envelopes in, answers out.
    pub Ledger:
        D = Batch,
        R = Answers,
        NodeId = MemberId,
        Node = Peer,
        Entry = openraft::Entry<Ledger>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<Ledger>;
pub type Entry = openraft::Entry<Ledger>;
pub type LogId = openraft::LogId<MemberId>;
pub type Vote = openraft::Vote<MemberId>;
pub type StoredMembership = openraft::StoredMembership<MemberId, Peer>;
pub type SnapshotMeta = openraft::SnapshotMeta<MemberId, Peer>;
pub type Snapshot = openraft::storage::Snapshot<Ledger>;
pub type StorageError = openraft::StorageError<MemberId>;

/// A replicated ledger's position, stored in its journal's meta with every
/// flush ([`carbon_ledger::node::Node::submit_marked`]): the last Raft log
/// entry applied, the membership in force, and the journal length they
/// brought the ledger to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub applied: Option<LogId>,
    pub membership: StoredMembership,
    pub journal_len: u64,
}

impl Marker {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a marker always encodes")
    }

    pub fn decode(bytes: &[u8]) -> Result<Marker, String> {
        postcard::from_bytes(bytes).map_err(|e| format!("the replication marker does not decode: {e}"))
    }
}

/// A Raft snapshot of the ledger: the whole journal (so that every
/// member's folder passes `carbon audit verify` on its own) and the state
/// after it (so that the member installing it replays nothing).
#[derive(Debug, Serialize, Deserialize)]
pub struct LedgerSnapshot {
    /// Every journal entry, raw, from the genesis on.
    pub entries: Vec<Vec<u8>>,
    /// The state after them ([`carbon_ledger::node::Node::image`]).
    pub state: Vec<u8>,
}

/// A storage error of the state machine, in openraft's terms.
pub fn sm_error(e: impl fmt::Display) -> StorageError {
    openraft::StorageIOError::write_state_machine(openraft::AnyError::error(e.to_string())).into()
}

/// A storage error of the log, in openraft's terms.
pub fn log_error(e: impl fmt::Display) -> StorageError {
    openraft::StorageIOError::write_logs(openraft::AnyError::error(e.to_string())).into()
}
