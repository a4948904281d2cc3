//! `carbon audit alerts --data DIR [--from D] [--to D] [--kind K] [--account A]`:
//! the surveillance alerts (RULEBOOK.md 14.4) of a ledger, offline. The
//! journal is rebuilt and checked first, every outcome re-derived, so the
//! alerts printed are the ones the rules raise, not merely the ones stored.
//! Whoever holds the data folder sees every alert.

use carbon_proto::v1 as pb;

use super::{emit, open_journal, rebuild_with_progress, DataArg};
use crate::supervise::{render_alerts, AlertFilter, Format};

/// Arguments of `carbon audit alerts`.
#[derive(clap::Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    data: DataArg,
    #[command(flatten)]
    filter: AlertFilter,
    #[command(flatten)]
    format: Format,
}

pub fn alerts(a: AlertsArgs) -> anyhow::Result<()> {
    let journal = open_journal(&a.data.data)?;
    rebuild_with_progress(&journal, false)?;
    let mut found = Vec::new();
    for r in journal.iter(0) {
        let (_, entry) = r?;
        let Some(outcome) = &entry.outcome else { continue };
        for e in &outcome.events {
            if let Some(pb::event::Kind::Alert(alert)) = &e.kind {
                if a.filter.admits(alert) {
                    found.push(pb::JournalAlert {
                        seq: entry.seq,
                        alert: Some(alert.clone()),
                    });
                }
            }
        }
    }
    emit(&render_alerts(&found, a.format)?)
}
