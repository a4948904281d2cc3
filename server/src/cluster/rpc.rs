//! The members' gRPC service (`carbon.cluster.v1.Cluster`), on each
//! member's cluster address: Raft's messages from the other members, and
//! the operator's status and membership calls (`carbon cluster ...`).
//!
//! This listener is for the members and the operator only: it must sit on
//! the operator's private network (docs/CLUSTER.md). Nothing here checks a
//! signature: a peer that can reach it can take part in Raft.

use std::collections::BTreeSet;

use carbon_proto::cluster::cluster_server::{Cluster, ClusterServer};
use carbon_proto::cluster::{
    AddMemberRequest, MemberStatus, MembershipAnswer, Peer as PbPeer, RaftBytes, RemoveMemberRequest, StatusRequest,
};
use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use openraft::ServerState;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use super::network::Faults;
use super::types::{Ledger, MemberId, Peer, Raft};
use crate::view::View;

/// The service; cheap to clone.
#[derive(Clone)]
pub struct ClusterService {
    raft: Raft,
    view: View,
    faults: Faults,
}

/// The tonic server of the service (no size limit: snapshots are large).
pub fn server(raft: Raft, view: View, faults: Faults) -> ClusterServer<ClusterService> {
    ClusterServer::new(ClusterService { raft, view, faults })
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

/// Serves the members' service on `listener` until `stop` resolves. Every
/// connection goes without Nagle's delay: Raft's answers are small, and a
/// commit waits on them (with it, each AppendEntries answer waited for the
/// peer's delayed acknowledgement: a p50 of 95 ms at 1,500 writes a second).
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: ClusterServer<ClusterService>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        if let Ok(stream) = &accepted {
            let _ = stream.set_nodelay(true);
        }
        accepted
    });
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, stop)
        .await
}

fn decode<T: DeserializeOwned>(r: Request<RaftBytes>) -> Result<T, Status> {
    postcard::from_bytes(&r.into_inner().payload).map_err(|e| Status::invalid_argument(e.to_string()))
}

fn encode<T: Serialize>(value: &T) -> Result<Response<RaftBytes>, Status> {
    let payload = postcard::to_allocvec(value).map_err(|e| Status::internal(e.to_string()))?;
    Ok(Response::new(RaftBytes { payload }))
}

impl ClusterService {
    /// Refuses a message from a member the fault hook cuts off.
    fn admit(&self, from: Option<MemberId>) -> Result<(), Status> {
        match from {
            Some(m) if self.faults.blocked(m) => {
                Err(Status::unavailable(format!("member {m} is cut off (fault hook)")))
            }
            _ => Ok(()),
        }
    }

    /// The voters in force, with `id` added or taken out.
    fn voters_changed(&self, id: MemberId, add: bool) -> BTreeSet<MemberId> {
        let metrics = self.raft.metrics().borrow().clone();
        let mut voters: BTreeSet<MemberId> = metrics.membership_config.membership().voter_ids().collect();
        if add {
            voters.insert(id);
        } else {
            voters.remove(&id);
        }
        voters
    }

    /// Makes `voters` the voters (a voter left out is removed, not kept as
    /// a learner) and answers with the membership then.
    async fn make_voters(&self, voters: BTreeSet<MemberId>) -> Result<Response<MembershipAnswer>, Status> {
        self.raft
            .change_membership(voters, false)
            .await
            .map_err(change_refused)?;
        Ok(Response::new(MembershipAnswer {
            members: self.members(),
        }))
    }

    /// The voters and learners in force.
    fn members(&self) -> Vec<PbPeer> {
        let metrics = self.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<MemberId> = membership.voter_ids().collect();
        membership
            .nodes()
            .map(|(id, p)| PbPeer {
                id: *id,
                cluster: p.cluster.clone(),
                api: p.api.clone(),
                voter: voters.contains(id),
            })
            .collect()
    }
}

/// A membership change refused: by a follower (with the leader), or by Raft.
fn change_refused(e: RaftError<MemberId, ClientWriteError<MemberId, Peer>>) -> Status {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => Status::failed_precondition(format!(
            "not the leader: ask member {} (cluster {})",
            f.leader_id.map(|l| l.to_string()).unwrap_or_else(|| "unknown".into()),
            f.leader_node.map(|n| n.cluster).unwrap_or_default()
        )),
        other => Status::failed_precondition(other.to_string()),
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn append_entries(&self, r: Request<RaftBytes>) -> Result<Response<RaftBytes>, Status> {
        let req: AppendEntriesRequest<Ledger> = decode(r)?;
        self.admit(req.vote.leader_id().voted_for())?;
        encode(&self.raft.append_entries(req).await)
    }

    async fn vote(&self, r: Request<RaftBytes>) -> Result<Response<RaftBytes>, Status> {
        let req: VoteRequest<MemberId> = decode(r)?;
        self.admit(req.vote.leader_id().voted_for())?;
        encode(&self.raft.vote(req).await)
    }

    async fn install_snapshot(&self, r: Request<RaftBytes>) -> Result<Response<RaftBytes>, Status> {
        let req: InstallSnapshotRequest<Ledger> = decode(r)?;
        self.admit(req.vote.leader_id().voted_for())?;
        encode(&self.raft.install_snapshot(req).await)
    }

    async fn status(&self, _: Request<StatusRequest>) -> Result<Response<MemberStatus>, Status> {
        let m = self.raft.metrics().borrow().clone();
        let role = match m.state {
            ServerState::Leader => "leader",
            ServerState::Follower => "follower",
            ServerState::Candidate => "candidate",
            ServerState::Learner => "learner",
            ServerState::Shutdown => "shutdown",
        };
        let leader_api = super::proposer::leader_api_in(&m).unwrap_or_default();
        let (journal_len, checkpoint) = self
            .view
            .read(|r| (r.len(), r.checkpoint().to_string()))
            .await
            .map_err(Status::from)?;
        Ok(Response::new(MemberStatus {
            id: m.id,
            role: role.into(),
            leader: m.current_leader,
            leader_api,
            term: m.current_term,
            last_log_index: m.last_log_index.unwrap_or(0),
            applied_index: m.last_applied.map(|l| l.index).unwrap_or(0),
            journal_len,
            checkpoint,
            members: self.members(),
            snapshot_index: m.snapshot.map(|l| l.index).unwrap_or(0),
            purged_index: m.purged.map(|l| l.index).unwrap_or(0),
        }))
    }

    async fn add_member(&self, r: Request<AddMemberRequest>) -> Result<Response<MembershipAnswer>, Status> {
        let r = r.into_inner();
        let peer = Peer {
            cluster: r.cluster,
            api: r.api,
        };
        // A learner first, caught up (blocking), then a voter: a member
        // that votes before it holds the log could stall commits.
        self.raft.add_learner(r.id, peer, true).await.map_err(change_refused)?;
        self.make_voters(self.voters_changed(r.id, true)).await
    }

    async fn remove_member(&self, r: Request<RemoveMemberRequest>) -> Result<Response<MembershipAnswer>, Status> {
        let voters = self.voters_changed(r.into_inner().id, false);
        if voters.is_empty() {
            return Err(Status::failed_precondition("the last voter cannot be removed"));
        }
        self.make_voters(voters).await
    }
}
