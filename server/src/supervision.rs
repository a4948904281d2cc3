//! `carbon.v1.Supervision`: market supervision for regulators and the
//! operator (RULEBOOK.md 14): alerts by date and as a live stream,
//! positions, large holders, groups, halts and limits.
//!
//! Every call needs a read credential ([`crate::auth`]) of a regulator or
//! the operator. A city regulator sees the alerts that name an account of
//! its city (a `price_move` names none and is everyone's), the positions
//! of its city's accounts and the groups with a member there; `ZJ` and the
//! operator see everything.
//!
//! Alerts are read from the journal's date index, off the sequencer, and
//! only below the journal length the sequencer last reported, so a query
//! never shows an alert whose batch is not yet durable. The stream starts
//! from a journal position: it subscribes to the feed first, sends the
//! indexed alerts from that position up to where the feed takes over, then
//! follows the feed; a client that reconnects with its last `seq` plus one
//! misses nothing. A stream ends when its credential goes stale (60 s):
//! the client reconnects with a fresh one from where it was.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use carbon_ledger::journal::JournalReader;
use carbon_ledger::state::{alert_accounts, alert_kind_name, State};
use carbon_proto::v1 as pb;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::auth::{now_ms, Authenticator, Caller};
use crate::feed::Feed;
use crate::limits::StreamLimits;
use crate::sequencer::KeyMap;
use crate::view::View;

/// Alerts a query returns when it names no limit.
pub const DEFAULT_ALERTS: usize = 1_000;
/// Most alerts one query returns.
pub const MAX_ALERTS: usize = 10_000;
/// Most alert streams open at once over the server, per client address,
/// and per supervisor account (whatever its addresses): a supervisor
/// follows all its alerts on one stream, or one per kind (five), with
/// room for reconnections; the ~15 supervisors of the market (the cities'
/// and `ZJ`'s regulators, the operator, auditors) at 8 each stay under 256.
pub const MAX_STREAMS: usize = 256;
pub const MAX_STREAMS_PER_CLIENT: usize = 16;
pub const MAX_STREAMS_PER_ACCOUNT: usize = 8;
/// Alerts buffered per stream before its task waits for the client.
const STREAM_BUFFER: usize = 256;

const SERVICE: &str = "/carbon.v1.Supervision/";

/// The supervision service.
pub struct SupervisionService {
    view: View,
    auth: Arc<Authenticator>,
    keys: KeyMap,
    journal: JournalReader,
    streams: StreamLimits,
}

/// What a caller may see of an alert: the kind and account filters it
/// asked for, within what its jurisdiction allows.
#[derive(Clone)]
struct AlertFilter {
    caller: Caller,
    kind: String,
    account: String,
    keys: KeyMap,
}

impl AlertFilter {
    fn admits(&self, a: &pb::Alert) -> bool {
        let named = alert_accounts(a);
        if !self.kind.is_empty() && alert_kind_name(a) != self.kind {
            return false;
        }
        if !self.account.is_empty() && !named.contains(&self.account.as_str()) {
            return false;
        }
        if self.caller.sees_everything() || named.is_empty() {
            return true;
        }
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        named.iter().any(|n| {
            self.caller
                .governs(keys.get(*n).and_then(|m| m.jurisdiction.as_deref()))
        })
    }
}

/// The alerts among an outcome's events.
fn outcome_alerts(o: &pb::Outcome) -> impl Iterator<Item = &pb::Alert> {
    o.events.iter().filter_map(|e| match &e.kind {
        Some(pb::event::Kind::Alert(a)) => Some(a),
        _ => None,
    })
}

fn position_view(state: &State, account: &str) -> Option<pb::PositionView> {
    let idx = *state.by_id.get(account)?;
    let a = state.account(account)?;
    Some(pb::PositionView {
        account: a.id.clone(),
        jurisdiction: a.jurisdiction.clone().unwrap_or_default(),
        role: crate::service::role_to_pb(a.role) as i32,
        position: state.position(idx),
        exposure: state.exposure(idx),
        quota: (a.role == carbon_ledger::command::Role::Entity).then(|| state.quota(&a.id)),
        limit: state.position_limit(idx),
        threshold: state.large_holder_threshold(idx),
        group: a.group.clone().unwrap_or_default(),
    })
}

impl SupervisionService {
    pub fn new(view: View, auth: Arc<Authenticator>, keys: KeyMap, journal: JournalReader) -> Self {
        SupervisionService {
            view,
            auth,
            keys,
            journal,
            streams: StreamLimits::new("alert streams", MAX_STREAMS, MAX_STREAMS_PER_CLIENT)
                .metered("alert")
                .per_account(MAX_STREAMS_PER_ACCOUNT),
        }
    }

    /// The caller of `method`, who must be a supervisor.
    fn supervisor<T: prost::Message>(&self, request: &Request<T>, method: &str) -> Result<Caller, Status> {
        let full = format!("{SERVICE}{method}");
        let caller = self.auth.caller(request, &full)?;
        caller.require_supervisor(&full)?;
        Ok(caller)
    }

    fn filter(&self, caller: Caller, kind: String, account: String) -> Result<AlertFilter, Status> {
        const KINDS: [&str; 5] = [
            "related_trade",
            "price_move",
            "concentration",
            "cancel_ratio",
            "large_holder",
        ];
        if !kind.is_empty() && !KINDS.contains(&kind.as_str()) {
            return Err(Status::invalid_argument(format!(
                "MALFORMED: kind {kind:?} is not one of {KINDS:?}"
            )));
        }
        Ok(AlertFilter {
            caller,
            kind,
            account,
            keys: self.keys.clone(),
        })
    }

    /// Indexed alerts with `seq` in `from..until`, admitted by `filter`.
    fn indexed(
        &self,
        from_date: &str,
        to_date: &str,
        from: u64,
        until: u64,
        filter: &AlertFilter,
        limit: usize,
    ) -> Result<(Vec<pb::JournalAlert>, bool), Status> {
        let mut out = Vec::new();
        for r in self.journal.alerts(from_date, to_date) {
            let (seq, alert) = r.map_err(|e| Status::internal(e.to_string()))?;
            if seq < from || seq >= until || !filter.admits(&alert) {
                continue;
            }
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push(pb::JournalAlert {
                seq,
                alert: Some(alert),
            });
        }
        Ok((out, false))
    }
}

#[tonic::async_trait]
impl pb::supervision_server::Supervision for SupervisionService {
    async fn list_alerts(&self, request: Request<pb::AlertQuery>) -> Result<Response<pb::AlertList>, Status> {
        let caller = self.supervisor(&request, "ListAlerts")?;
        let q = request.into_inner();
        let limit = match q.limit as usize {
            0 => DEFAULT_ALERTS,
            n => n.min(MAX_ALERTS),
        };
        let filter = self.filter(caller, q.kind, q.account)?;
        let durable = self.view.durable().map_err(Status::from)?;
        let (alerts, truncated) = self.indexed(&q.from_date, &q.to_date, 0, durable, &filter, limit)?;
        Ok(Response::new(pb::AlertList { alerts, truncated }))
    }

    type StreamAlertsStream = ReceiverStream<Result<pb::JournalAlert, Status>>;

    async fn stream_alerts(
        &self,
        request: Request<pb::AlertStreamRequest>,
    ) -> Result<Response<Self::StreamAlertsStream>, Status> {
        let caller = self.supervisor(&request, "StreamAlerts")?;
        let peer: Option<SocketAddr> = request.remote_addr();
        let q = request.into_inner();
        let filter = self.filter(caller, q.kind, q.account)?;
        let slot = self.streams.admit_as(peer, Some(&filter.caller.account))?;
        // Subscribe before reading the length: nothing falls between the two.
        let mut feed: broadcast::Receiver<Arc<Feed>> = self.view.subscribe();
        let durable = self.view.durable().map_err(Status::from)?;
        let (history, _) = self.indexed("", "", q.from_seq, durable, &filter, usize::MAX)?;
        let expires_in = Duration::from_millis(filter.caller.expires_ms.saturating_sub(now_ms()));
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(async move {
            let _slot = slot;
            let expiry = tokio::time::sleep(expires_in);
            tokio::pin!(expiry);
            for a in history {
                if tx.send(Ok(a)).await.is_err() {
                    return;
                }
            }
            let mut next = durable.max(q.from_seq);
            loop {
                let batch = tokio::select! {
                    b = feed.recv() => b,
                    _ = tx.closed() => return,
                    _ = &mut expiry => {
                        let _ = tx
                            .send(Err(Status::unauthenticated(format!(
                                "the stream's credential went stale; reconnect with from_seq {next}"
                            ))))
                            .await;
                        return;
                    }
                };
                match batch {
                    Ok(f) => {
                        let from = next;
                        for e in f.entries.iter().filter(|e| e.seq >= from) {
                            for a in outcome_alerts(&e.outcome).filter(|a| filter.admits(a)) {
                                let item = pb::JournalAlert {
                                    seq: e.seq,
                                    alert: Some(a.clone()),
                                };
                                if tx.send(Ok(item)).await.is_err() {
                                    return;
                                }
                            }
                            next = e.seq + 1;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let _ = tx
                            .send(Err(Status::resource_exhausted(format!(
                                "the stream fell {n} batches behind; reconnect with from_seq {next}"
                            ))))
                            .await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_position(&self, request: Request<pb::PositionRequest>) -> Result<Response<pb::PositionView>, Status> {
        let caller = self.supervisor(&request, "GetPosition")?;
        let account = request.into_inner().account;
        let view = {
            let account = account.clone();
            self.view
                .read(move |node| position_view(node.state(), &account))
                .await
                .map_err(Status::from)?
        };
        let view = view.ok_or_else(|| Status::not_found(format!("UNKNOWN_ACCOUNT: {account}")))?;
        let jurisdiction = (!view.jurisdiction.is_empty()).then_some(view.jurisdiction.as_str());
        if !caller.governs(jurisdiction) {
            return Err(Status::permission_denied(format!(
                "{} sees positions of its own jurisdiction only; {account} is not one",
                caller.account
            )));
        }
        Ok(Response::new(view))
    }

    async fn list_large_holders(
        &self,
        request: Request<pb::LargeHoldersRequest>,
    ) -> Result<Response<pb::LargeHolderList>, Status> {
        let caller = self.supervisor(&request, "ListLargeHolders")?;
        let holders = self
            .view
            .read(move |node| {
                let state = node.state();
                state
                    .by_id
                    .iter()
                    .filter(|(_, &i)| state.large_holder_threshold(i).is_some_and(|t| state.position(i) > t))
                    .filter_map(|(id, _)| position_view(state, id))
                    .filter(|v| caller.governs(Some(v.jurisdiction.as_str())))
                    .collect()
            })
            .await
            .map_err(Status::from)?;
        Ok(Response::new(pb::LargeHolderList { holders }))
    }

    async fn get_supervision(
        &self,
        request: Request<pb::GetSupervisionRequest>,
    ) -> Result<Response<pb::SupervisionView>, Status> {
        let caller = self.supervisor(&request, "GetSupervision")?;
        let view = self
            .view
            .read(move |node| {
                let state = node.state();
                let s = &state.supervision;
                let visible = |members: &[String]| {
                    members
                        .iter()
                        .any(|m| caller.governs(state.account(m).and_then(|a| a.jurisdiction.as_deref())))
                };
                pb::SupervisionView {
                    entity_extra: s.limits.entity_extra,
                    investor: s.limits.investor,
                    halted: s.halted.iter().cloned().collect(),
                    groups: s
                        .groups
                        .iter()
                        .filter(|(_, m)| visible(m))
                        .map(|(id, members)| pb::Group {
                            id: id.clone(),
                            members: members.clone(),
                        })
                        .collect(),
                }
            })
            .await
            .map_err(Status::from)?;
        Ok(Response::new(view))
    }
}

/// The tonic server of the service.
pub fn server(svc: SupervisionService) -> pb::supervision_server::SupervisionServer<SupervisionService> {
    pb::supervision_server::SupervisionServer::new(svc)
}
