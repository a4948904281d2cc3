//! `carbon audit compliance --year Y [--jurisdiction HZ] [--csv|--json]`:
//! the compliance table of a closed year (RULEBOOK.md 11) as a regulator
//! reads it: entity, jurisdiction, obligation, surrendered, shortfall,
//! status and penalty range. Offline from a data folder (the journal is
//! rebuilt and checked first) or from a running server (`--server`). A city
//! regulator's view (`--jurisdiction HZ`) shows its own entities; `ZJ` or no
//! jurisdiction shows all.

use std::fmt::Write as _;

use anyhow::bail;
use carbon_ledger::views::compliance_table;
use carbon_proto::v1 as pb;
use serde_json::json;

use super::{emit, open_journal, rebuild_with_progress, DataArg};
use crate::client::{channel, Tls};

/// Arguments of `carbon audit compliance`.
#[derive(clap::Args)]
pub struct ComplianceArgs {
    /// The compliance year (it must be closed).
    #[arg(long)]
    year: i64,
    /// Show only this city's entities (ZJ: all).
    #[arg(long)]
    jurisdiction: Option<String>,
    #[command(flatten)]
    data: DataArg,
    /// Ask a running server instead of reading a data folder.
    #[arg(long)]
    server: Option<String>,
    #[command(flatten)]
    tls: Tls,
    /// Print CSV.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn offline(a: &ComplianceArgs) -> anyhow::Result<Vec<pb::ComplianceLine>> {
    let journal = open_journal(&a.data.data)?;
    let rebuilt = rebuild_with_progress(&journal, false)?;
    let Some(lines) = compliance_table(&rebuilt.state, a.year, a.jurisdiction.as_deref()) else {
        bail!("the year {} is not closed", a.year);
    };
    Ok(lines
        .into_iter()
        .map(|l| pb::ComplianceLine {
            jurisdiction: l.jurisdiction,
            row: Some(l.row.to_pb()),
        })
        .collect())
}

fn online(a: &ComplianceArgs, server: &str) -> anyhow::Result<Vec<pb::ComplianceLine>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut client = pb::regulator_client::RegulatorClient::new(channel(server, &a.tls).await?);
        let table = client
            .get_compliance_table(pb::ComplianceTableRequest {
                year: a.year,
                jurisdiction: a.jurisdiction.clone().unwrap_or_default(),
            })
            .await
            .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?;
        Ok(table.into_inner().lines)
    })
}

/// Renders the table as text, CSV or JSON.
fn render(a: &ComplianceArgs, lines: &[pb::ComplianceLine]) -> anyhow::Result<String> {
    let rows: Vec<(&str, &pb::ComplianceRow)> = lines
        .iter()
        .filter_map(|l| l.row.as_ref().map(|r| (l.jurisdiction.as_str(), r)))
        .collect();
    let mut out = String::new();
    if a.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(j, r)| {
                json!({"year": r.year, "entity": r.entity, "jurisdiction": j, "obligation": r.obligation,
                       "surrendered": r.surrendered, "shortfall": r.shortfall, "status": r.status,
                       "penalty_min": r.penalty_min, "penalty_max": r.penalty_max})
            })
            .collect();
        out = serde_json::to_string_pretty(&v)? + "\n";
    } else if a.csv {
        out.push_str("entity,jurisdiction,obligation,surrendered,shortfall,status,penalty_min,penalty_max\n");
        for (j, r) in &rows {
            writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                r.entity, j, r.obligation, r.surrendered, r.shortfall, r.status, r.penalty_min, r.penalty_max
            )?;
        }
    } else {
        writeln!(out, "compliance year {}", a.year)?;
        writeln!(
            out,
            "{:<20} {:<4} {:>12} {:>12} {:>12} {:<6} {:>32}",
            "entity", "jur", "obligation", "surrendered", "shortfall", "status", "penalty (CNY)"
        )?;
        for (j, r) in &rows {
            let penalty = if r.shortfall == 0 {
                "-".to_string()
            } else {
                format!("{} to {}", r.penalty_min, r.penalty_max)
            };
            writeln!(
                out,
                "{:<20} {:<4} {:>12} {:>12} {:>12} {:<6} {:>32}",
                r.entity, j, r.obligation, r.surrendered, r.shortfall, r.status, penalty
            )?;
        }
    }
    Ok(out)
}

pub fn compliance(a: ComplianceArgs) -> anyhow::Result<()> {
    let lines = match &a.server {
        Some(s) => online(&a, s)?,
        None => offline(&a)?,
    };
    emit(&render(&a, &lines)?)
}
