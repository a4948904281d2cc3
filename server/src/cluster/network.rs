//! Raft between members: openraft's messages over the members' own gRPC
//! service (`carbon.cluster.v1.Cluster`, on each member's cluster
//! address), encoded with postcard. Connections are made lazily and kept.
//!
//! # Faults (tests only)
//!
//! `CARBON_FAULT_PARTITION=FILE` names a file listing member ids, one per
//! line, that this member cannot reach: every message to them fails as an
//! unreachable peer would, in both directions (what arrives from them is
//! refused too). The file is read again at most every 50 ms, so a test
//! partitions and heals a running cluster by rewriting it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carbon_proto::cluster::cluster_client::ClusterClient;
use carbon_proto::cluster::RaftBytes;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable};
use openraft::network::{RPCOption, RPCTypes, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::transport::{Channel, Endpoint};

use super::types::{Ledger, MemberId, Peer};

/// The fault hook's variable (see the module doc).
pub const FAULT_PARTITION: &str = "CARBON_FAULT_PARTITION";

/// How long a connection attempt to a member may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The members this one cannot reach, from the fault file (tests only).
#[derive(Clone, Default)]
pub struct Faults {
    file: Option<PathBuf>,
    cache: Arc<Mutex<(Option<Instant>, BTreeSet<MemberId>)>>,
}

impl Faults {
    /// From `CARBON_FAULT_PARTITION`, if set.
    pub fn from_env() -> Faults {
        let file = std::env::var_os(FAULT_PARTITION).map(PathBuf::from);
        if let Some(f) = &file {
            tracing::warn!(
                "test hook {FAULT_PARTITION}={}: members it lists are unreachable",
                f.display()
            );
        }
        Faults {
            file,
            cache: Arc::default(),
        }
    }

    /// True when `member` is cut off from this one.
    pub fn blocked(&self, member: MemberId) -> bool {
        let Some(file) = &self.file else { return false };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.0.is_none_or(|at| at.elapsed() > Duration::from_millis(50)) {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            cache.1 = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            cache.0 = Some(Instant::now());
        }
        cache.1.contains(&member)
    }
}

/// Makes a [`Client`] per member (openraft asks for one per target).
pub struct Network {
    pub id: MemberId,
    pub faults: Faults,
}

impl RaftNetworkFactory<Ledger> for Network {
    type Network = Client;

    async fn new_client(&mut self, target: MemberId, node: &Peer) -> Client {
        let channel = Endpoint::from_shared(format!("http://{}", node.cluster))
            .map(|e| e.connect_timeout(CONNECT_TIMEOUT).tcp_nodelay(true).connect_lazy());
        Client {
            id: self.id,
            target,
            client: channel.map(ClusterClient::new).map_err(|e| e.to_string()),
            faults: self.faults.clone(),
        }
    }
}

/// One member's connection to another.
pub struct Client {
    id: MemberId,
    target: MemberId,
    /// Err: the member's address does not parse.
    client: Result<ClusterClient<Channel>, String>,
    faults: Faults,
}

/// Which RPC of the members' service.
#[derive(Clone, Copy)]
enum Rpc {
    Append,
    Vote,
    Snapshot,
}

impl Client {
    /// Sends `req` and decodes the answer: openraft's `Result` as the
    /// remote member gave it.
    async fn call<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<MemberId, Peer, RaftError<MemberId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let unreachable = |why: String| RPCError::Unreachable(Unreachable::new(&std::io::Error::other(why)));
        if self.faults.blocked(self.target) {
            return Err(unreachable(format!("member {} is cut off (fault hook)", self.target)));
        }
        let client = match &self.client {
            Ok(c) => c.clone(),
            Err(e) => return Err(unreachable(e.clone())),
        };
        let payload = postcard::to_allocvec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let request = tonic::Request::new(RaftBytes { payload });
        let ttl = option.hard_ttl();
        let mut client = client
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX);
        let sent = async {
            match rpc {
                Rpc::Append => client.append_entries(request).await,
                Rpc::Vote => client.vote(request).await,
                Rpc::Snapshot => client.install_snapshot(request).await,
            }
        };
        let answer = match tokio::time::timeout(ttl, sent).await {
            Err(_) => {
                return Err(RPCError::Timeout(Timeout {
                    action: match rpc {
                        Rpc::Append => RPCTypes::AppendEntries,
                        Rpc::Vote => RPCTypes::Vote,
                        Rpc::Snapshot => RPCTypes::InstallSnapshot,
                    },
                    id: self.id,
                    target: self.target,
                    timeout: ttl,
                }))
            }
            Ok(Err(status)) => return Err(unreachable(status.to_string())),
            Ok(Ok(answer)) => answer.into_inner(),
        };
        let result: Result<Resp, RaftError<MemberId, E>> =
            postcard::from_bytes(&answer.payload).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<Ledger> for Client {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<Ledger>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<MemberId>, RPCError<MemberId, Peer, RaftError<MemberId>>> {
        self.call(Rpc::Append, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<Ledger>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<MemberId>, RPCError<MemberId, Peer, RaftError<MemberId, InstallSnapshotError>>>
    {
        self.call(Rpc::Snapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<MemberId>,
        option: RPCOption,
    ) -> Result<VoteResponse<MemberId>, RPCError<MemberId, Peer, RaftError<MemberId>>> {
        self.call(Rpc::Vote, &rpc, &option).await
    }
}
