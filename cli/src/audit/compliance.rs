//! `carbon audit compliance --year Y [--jurisdiction HZ] [--short WHAT] [--csv|--json]`:
//! the compliance table of a closed year (RULEBOOK.md 11, 15.4) as a
//! regulator reads it: entity, jurisdiction, status, and for both
//! obligations (carbon, tCO2; energy-use rights, tce) what was owed,
//! surrendered and is short, with the penalty range. `--short` lists only
//! the entities short of allowances, of energy-use rights, of both, or of
//! either. Offline from a data folder (the journal is
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
    /// Only the entities short of `carbon` (allowances), `energy`
    /// (energy-use rights), `both`, or `any` of the two.
    #[arg(long, value_name = "WHAT", value_parser = ["carbon", "energy", "both", "any"])]
    short: Option<String>,
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
        let mut client = crate::grpc::regulator(channel(server, &a.tls).await?);
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

/// Whether a row is short of what `--short` asks for.
fn is_short(what: Option<&str>, r: &pb::ComplianceRow) -> bool {
    let (carbon, energy) = (r.shortfall > 0, r.energy_shortfall > 0);
    match what {
        None => true,
        Some("carbon") => carbon,
        Some("energy") => energy,
        Some("both") => carbon && energy,
        _ => carbon || energy,
    }
}

/// A penalty range, or "-" when nothing is owed.
fn penalty(shortfall: i64, min: &str, max: &str) -> String {
    if shortfall == 0 {
        "-".to_string()
    } else {
        format!("{min} to {max}")
    }
}

/// Renders the table as text, CSV or JSON.
fn render(a: &ComplianceArgs, lines: &[pb::ComplianceLine]) -> anyhow::Result<String> {
    let rows: Vec<(&str, &pb::ComplianceRow)> = lines
        .iter()
        .filter_map(|l| l.row.as_ref().map(|r| (l.jurisdiction.as_str(), r)))
        .filter(|(_, r)| is_short(a.short.as_deref(), r))
        .collect();
    let mut out = String::new();
    if a.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(j, r)| {
                json!({"year": r.year, "entity": r.entity, "jurisdiction": j, "status": r.status,
                       "obligation": r.obligation, "surrendered": r.surrendered, "shortfall": r.shortfall,
                       "penalty_min": r.penalty_min, "penalty_max": r.penalty_max,
                       "energy_obligation": r.energy_obligation, "energy_surrendered": r.energy_surrendered,
                       "energy_shortfall": r.energy_shortfall, "energy_penalty_min": r.energy_penalty_min,
                       "energy_penalty_max": r.energy_penalty_max})
            })
            .collect();
        out = serde_json::to_string_pretty(&v)? + "\n";
    } else if a.csv {
        out.push_str(
            "entity,jurisdiction,status,obligation,surrendered,shortfall,penalty_min,penalty_max,\
             energy_obligation,energy_surrendered,energy_shortfall,energy_penalty_min,energy_penalty_max\n",
        );
        for (j, r) in &rows {
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                r.entity,
                j,
                r.status,
                r.obligation,
                r.surrendered,
                r.shortfall,
                r.penalty_min,
                r.penalty_max,
                r.energy_obligation,
                r.energy_surrendered,
                r.energy_shortfall,
                r.energy_penalty_min,
                r.energy_penalty_max
            )?;
        }
    } else {
        writeln!(
            out,
            "compliance year {} (carbon in tCO2, energy-use rights in tce)",
            a.year
        )?;
        writeln!(
            out,
            "{:<20} {:<4} {:<6} {:>11} {:>11} {:>11} {:>30} {:>9} {:>9} {:>9} {:>28}",
            "entity",
            "jur",
            "status",
            "obligation",
            "surrendered",
            "shortfall",
            "penalty (CNY)",
            "energy",
            "surr.",
            "short",
            "energy penalty (CNY)"
        )?;
        for (j, r) in &rows {
            writeln!(
                out,
                "{:<20} {:<4} {:<6} {:>11} {:>11} {:>11} {:>30} {:>9} {:>9} {:>9} {:>28}",
                r.entity,
                j,
                r.status,
                r.obligation,
                r.surrendered,
                r.shortfall,
                penalty(r.shortfall, &r.penalty_min, &r.penalty_max),
                r.energy_obligation,
                r.energy_surrendered,
                r.energy_shortfall,
                penalty(r.energy_shortfall, &r.energy_penalty_min, &r.energy_penalty_max)
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
