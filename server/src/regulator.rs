//! `carbon.v1.Regulator`: what a regulator reads (RULEBOOK.md 9-11): an
//! entity's report with its history, the allocations of a year, and the
//! compliance table of a closed year. Reads run on the read view ([`View::read`]), off the sequencer, and copy out only
//! what they return.
//!
//! Who reads what (docs/ACCESS.md): a report is its entity's, its
//! regulators' and the verifiers' (any verifier may verify any report);
//! allocations are shown to each caller as far as it governs them (an
//! entity sees its own); a closed year's compliance table is published.
//! The jurisdiction a caller sees comes from its credential, never from
//! the request.

use std::sync::Arc;

use carbon_ledger::command::Role;
use carbon_ledger::views;
use carbon_proto::v1 as pb;
use tonic::{Request, Response, Status};

use crate::auth::Authenticator;
use crate::sequencer::KeyMap;
use crate::view::View;

const SERVICE: &str = "/carbon.v1.Regulator/";

/// The regulator query service.
pub struct RegulatorService {
    view: View,
    auth: Arc<Authenticator>,
    keys: KeyMap,
}

impl RegulatorService {
    pub fn new(view: View, auth: Arc<Authenticator>, keys: KeyMap) -> Self {
        RegulatorService { view, auth, keys }
    }
}

#[tonic::async_trait]
impl pb::regulator_server::Regulator for RegulatorService {
    async fn get_report(&self, req: Request<pb::GetReportRequest>) -> Result<Response<pb::ReportView>, Status> {
        let caller = self.auth.caller(&req, &format!("{SERVICE}GetReport"))?;
        let entity = &req.get_ref().entity;
        // Any verifier may verify any report (RULEBOOK.md 13.5), so reads it.
        if caller.role != Role::Verifier {
            self.auth.require_reader(&caller, entity, "the report")?;
        }
        let r = req.into_inner();
        let view = self
            .view
            .read(move |node| {
                views::report(node.state(), &r.entity, r.year).map(|rep| pb::ReportView {
                    entity: r.entity.clone(),
                    year: r.year,
                    status: rep.status.as_str().into(),
                    direct: rep.direct_tonnes,
                    indirect: rep.indirect_tonnes,
                    verified: rep.verified_tonnes,
                    energy: rep.energy_tce,
                    verified_energy: rep.verified_energy_tce,
                    history: rep.history.iter().map(|s| s.as_str().to_string()).collect(),
                })
            })
            .await
            .map_err(Status::from)?;
        view.map(Response::new)
            .ok_or_else(|| Status::not_found("REPORT_NOT_FOUND: no report for that entity and year"))
    }

    async fn list_allocations(
        &self,
        req: Request<pb::ListAllocationsRequest>,
    ) -> Result<Response<pb::AllocationList>, Status> {
        let caller = self.auth.caller(&req, &format!("{SERVICE}ListAllocations"))?;
        if !matches!(caller.role, Role::Entity) && !caller.is_supervisor() {
            return Err(Status::permission_denied(format!(
                "allocations are for the entities they are made to and their regulators; {} is {}",
                caller.account,
                caller.role.as_str()
            )));
        }
        let year = req.into_inner().year;
        let keys = self.keys.clone();
        let allocations = self
            .view
            .read(move |node| {
                let keys = keys.read().unwrap_or_else(|p| p.into_inner());
                views::allocations_of_year(node.state(), year)
                    .into_iter()
                    .filter(|(entity, _)| {
                        caller.may_read(entity, keys.get(*entity).and_then(|m| m.jurisdiction.as_deref()))
                    })
                    .map(|(entity, a)| pb::AllocationView {
                        entity: entity.to_string(),
                        year,
                        method: a.method.as_str().into(),
                        pre: a.pre,
                        r#final: a.final_qty,
                        issued: a.issued,
                        deducted: a.deducted,
                        clawed_back: a.clawed_back,
                    })
                    .collect()
            })
            .await
            .map_err(Status::from)?;
        Ok(Response::new(pb::AllocationList { allocations }))
    }

    async fn get_compliance_table(
        &self,
        req: Request<pb::ComplianceTableRequest>,
    ) -> Result<Response<pb::ComplianceTable>, Status> {
        // Published once the year is closed (as the EU's transaction log
        // publishes compliance status): anyone may read it.
        self.auth.public(&req, &format!("{SERVICE}GetComplianceTable"))?;
        let r = req.into_inner();
        let year = r.year;
        let lines = self
            .view
            .read(move |node| {
                let viewer = (!r.jurisdiction.is_empty()).then_some(r.jurisdiction.as_str());
                views::compliance_table(node.state(), year, viewer).map(|lines| {
                    lines
                        .iter()
                        .map(|l| pb::ComplianceLine {
                            jurisdiction: l.jurisdiction.clone(),
                            row: Some(l.row.to_pb()),
                        })
                        .collect::<Vec<_>>()
                })
            })
            .await
            .map_err(Status::from)?;
        let lines = lines.ok_or_else(|| Status::failed_precondition(format!("the year {year} is not closed")))?;
        Ok(Response::new(pb::ComplianceTable { year, lines }))
    }
}

/// The service, ready to add to a server.
pub fn server(svc: RegulatorService) -> pb::regulator_server::RegulatorServer<RegulatorService> {
    pb::regulator_server::RegulatorServer::new(svc)
}
