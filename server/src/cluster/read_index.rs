//! Linearizable reads on request: a call carrying
//! `x-carbon-consistency: linearizable` runs only after the leader has
//! confirmed with a majority that it still leads and its state machine has
//! applied everything committed when the call arrived (Raft's read index:
//! openraft's `ensure_linearizable`). The read then runs on the read view,
//! which waits for the length the sequencer published once it had applied
//! that far, so the answer reflects every write acknowledged by any member
//! before the call. A follower, or a leader cut off from the majority,
//! answers UNAVAILABLE (with the leader's address when known). Without the
//! header a read is served at the member's own applied position.
//!
//! On a single node the header changes nothing: every read there already
//! waits for the durable length published before any answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use openraft::error::{CheckIsLeaderError, RaftError};
use tonic::codegen::http;

use super::types::{MemberId, Peer, Raft};
use crate::sequencer::Unavailable;

/// The metadata key, and the value that asks for a linearizable read.
pub const CONSISTENCY_METADATA: &str = "x-carbon-consistency";
pub const LINEARIZABLE: &str = "linearizable";

/// The layer, around every public service; `None` on a single node.
#[derive(Clone)]
pub struct ReadIndexLayer(pub Option<Raft>);

impl<S> tower_layer::Layer<S> for ReadIndexLayer {
    type Service = ReadIndex<S>;

    fn layer(&self, inner: S) -> ReadIndex<S> {
        ReadIndex {
            inner,
            raft: self.0.clone(),
        }
    }
}

/// The service [`ReadIndexLayer`] makes.
#[derive(Clone)]
pub struct ReadIndex<S> {
    inner: S,
    raft: Option<Raft>,
}

/// Why a linearizable read cannot be served here.
fn refused(e: RaftError<MemberId, CheckIsLeaderError<MemberId, Peer>>) -> tonic::Status {
    let u = match e {
        RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)) => {
            Unavailable::NotLeader(f.leader_node.map(|n| n.api))
        }
        other => Unavailable::Interrupted(format!("leadership could not be confirmed: {other}")),
    };
    u.into()
}

impl<S, B> tonic::codegen::Service<http::Request<B>> for ReadIndex<S>
where
    S: tonic::codegen::Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let wanted = req
            .headers()
            .get(CONSISTENCY_METADATA)
            .is_some_and(|v| v.as_bytes() == LINEARIZABLE.as_bytes());
        let raft = self.raft.clone().filter(|_| wanted);
        // The one made ready is the one called (tower's clone-and-swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if let Some(raft) = raft {
                if let Err(e) = raft.ensure_linearizable().await {
                    return Ok(refused(e).into_http());
                }
            }
            inner.call(req).await
        })
    }
}
