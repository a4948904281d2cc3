//! `carbon supervise ...`: market supervision for regulators and the
//! operator (RULEBOOK.md 14), against a running server.
//!
//! Reads (`alerts`, `position`, `large-holders`, `limits` without values)
//! are signed with the caller's read credential; the server shows a city
//! regulator what names its own accounts. `halt`, `resume`, `group` and
//! `limits --entity-extra N --investor N` are signed commands, as `carbon
//! submit` sends them. Tables for a person by default; `--json` and `--csv`
//! for machines. `alerts --follow` streams new alerts until interrupted,
//! reconnecting from where it was whenever its credential goes stale.

use std::fmt::Write as _;

use anyhow::bail;
use carbon_proto::v1 as pb;
use serde_json::{json, Value};
use tonic::transport::Channel;

use crate::audit::emit;
use crate::client::{channel, Reader};
use crate::regulate::Signer;

/// `carbon supervise ...`.
#[derive(clap::Subcommand)]
pub enum Supervise {
    /// Surveillance alerts by date, kind and account; --follow streams new ones.
    Alerts {
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        filter: AlertFilter,
        /// Keep streaming alerts as they are raised (until Ctrl-C).
        #[arg(long)]
        follow: bool,
        /// With --follow: start from this journal position (default: now).
        #[arg(long, requires = "follow")]
        from_seq: Option<u64>,
        #[command(flatten)]
        format: Format,
    },
    /// An account's position, exposure, quota, limit and group (14.1).
    Position {
        #[command(flatten)]
        signer: Signer,
        account: String,
        #[command(flatten)]
        format: Format,
    },
    /// Accounts whose position is above their reporting threshold now.
    LargeHolders {
        #[command(flatten)]
        signer: Signer,
        #[command(flatten)]
        format: Format,
    },
    /// Halt trading in an instrument (operator or ZJ).
    Halt {
        #[command(flatten)]
        signer: Signer,
        instrument: String,
    },
    /// Resume trading in a halted instrument (operator or ZJ).
    Resume {
        #[command(flatten)]
        signer: Signer,
        instrument: String,
    },
    /// Declare a group of related accounts (a regulator): 2 to 50 members.
    Group {
        #[command(flatten)]
        signer: Signer,
        id: String,
        #[arg(required = true, num_args = 2..=50)]
        members: Vec<String>,
    },
    /// Show the limits, halts and groups in force; with both values, set the limits (operator).
    Limits {
        #[command(flatten)]
        signer: Signer,
        /// Tonnes an entity may hold beyond its quota.
        #[arg(long, requires = "investor")]
        entity_extra: Option<i64>,
        /// Tonnes an investor may hold.
        #[arg(long, requires = "entity_extra")]
        investor: Option<i64>,
        #[command(flatten)]
        format: Format,
    },
}

/// Which alerts: `--from`, `--to`, `--kind`, `--account`.
#[derive(clap::Args, Clone, Default)]
pub struct AlertFilter {
    /// The first day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// The last day (YYYY-MM-DD), inclusive.
    #[arg(long)]
    pub to: Option<String>,
    /// related_trade, price_move, concentration, cancel_ratio or large_holder.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only alerts naming this account.
    #[arg(long)]
    pub account: Option<String>,
}

impl AlertFilter {
    /// Whether an alert (raised on `date`) passes, for offline filtering.
    pub fn admits(&self, a: &pb::Alert) -> bool {
        use carbon_ledger::state::{alert_accounts, alert_kind_name};
        self.from.as_deref().is_none_or(|f| a.date.as_str() >= f)
            && self.to.as_deref().is_none_or(|t| a.date.as_str() <= t)
            && self.kind.as_deref().is_none_or(|k| alert_kind_name(a) == k)
            && self
                .account
                .as_deref()
                .is_none_or(|acc| alert_accounts(a).contains(&acc))
    }
}

/// `--json` or `--csv`; a table otherwise.
#[derive(clap::Args, Clone, Copy, Default)]
pub struct Format {
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
}

const METHOD: &str = "/carbon.v1.Supervision/";

/// The columns of an alert in CSV: every key any kind has.
const ALERT_COLUMNS: [&str; 19] = [
    "seq",
    "date",
    "kind",
    "instrument",
    "account",
    "side",
    "group",
    "mode",
    "price",
    "qty",
    "buyer",
    "seller",
    "reference",
    "close",
    "volume",
    "placed",
    "cancelled",
    "position",
    "threshold",
];

/// An alert as JSON with its journal position.
fn alert_value(a: &pb::JournalAlert) -> Value {
    let mut v = a
        .alert
        .as_ref()
        .map(carbon_ledger::report::alert_json)
        .unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("seq".into(), json!(a.seq));
    }
    v
}

fn cell(v: &Value, k: &str) -> String {
    match v.get(k) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// One line of the alert table.
fn alert_row(a: &pb::JournalAlert) -> String {
    let v = alert_value(a);
    let c = |k: &str| cell(&v, k);
    let (who, what) = match c("kind").as_str() {
        "related_trade" => (
            format!("{} -> {}", c("seller"), c("buyer")),
            format!(
                "{} {} t at {} ({} trade, group {})",
                c("instrument"),
                c("qty"),
                c("price"),
                c("mode"),
                c("group")
            ),
        ),
        "price_move" => (
            "-".into(),
            format!(
                "{} closed at {} against {}",
                c("instrument"),
                c("close"),
                c("reference")
            ),
        ),
        "concentration" => (
            c("account"),
            format!("{} {} {} t of {} t", c("instrument"), c("side"), c("qty"), c("volume")),
        ),
        "cancel_ratio" => (
            c("account"),
            format!(
                "{} cancelled {} of {} orders",
                c("instrument"),
                c("cancelled"),
                c("placed")
            ),
        ),
        "large_holder" => (
            c("account"),
            format!("position {} t above {} t", c("position"), c("threshold")),
        ),
        _ => (String::new(), String::new()),
    };
    format!("{:>9} {:<10} {:<13} {:<21} {what}", c("seq"), c("date"), c("kind"), who)
}

/// Renders a list of alerts as a table, CSV or JSON.
pub fn render_alerts(alerts: &[pb::JournalAlert], format: Format) -> anyhow::Result<String> {
    let mut out = String::new();
    if format.json {
        let v: Vec<Value> = alerts.iter().map(alert_value).collect();
        out = serde_json::to_string_pretty(&v)? + "\n";
    } else if format.csv {
        out.push_str(&ALERT_COLUMNS.join(","));
        out.push('\n');
        for a in alerts {
            let v = alert_value(a);
            let row: Vec<String> = ALERT_COLUMNS.iter().map(|k| cell(&v, k)).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
    } else {
        writeln!(out, "{:>9} {:<10} {:<13} {:<21} what", "seq", "date", "kind", "who")?;
        for a in alerts {
            out.push_str(&alert_row(a));
            out.push('\n');
        }
        writeln!(out, "{} alerts", alerts.len())?;
    }
    Ok(out)
}

fn position_value(p: &pb::PositionView) -> Value {
    json!({"account": p.account, "jurisdiction": p.jurisdiction,
           "role": carbon_ledger::command::role_from_pb(p.role).map_or("?", |r| r.as_str()),
           "position": p.position, "exposure": p.exposure, "quota": p.quota, "limit": p.limit,
           "threshold": p.threshold, "group": p.group})
}

fn render_positions(views: &[pb::PositionView], format: Format) -> anyhow::Result<String> {
    const COLUMNS: [&str; 9] = [
        "account",
        "jurisdiction",
        "role",
        "position",
        "exposure",
        "quota",
        "limit",
        "threshold",
        "group",
    ];
    let rows: Vec<Value> = views.iter().map(position_value).collect();
    let mut out = String::new();
    if format.json {
        out = serde_json::to_string_pretty(&rows)? + "\n";
    } else if format.csv {
        out.push_str(&COLUMNS.join(","));
        out.push('\n');
        for v in &rows {
            out.push_str(&COLUMNS.iter().map(|k| cell(v, k)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
    } else {
        writeln!(
            out,
            "{:<20} {:<4} {:>12} {:>12} {:>12} {:>12} {:>12} group",
            "account", "jur", "position", "exposure", "quota", "limit", "threshold"
        )?;
        for v in &rows {
            let n = |k: &str| match cell(v, k) {
                s if s.is_empty() => "-".to_string(),
                s => s,
            };
            writeln!(
                out,
                "{:<20} {:<4} {:>12} {:>12} {:>12} {:>12} {:>12} {}",
                n("account"),
                n("jurisdiction"),
                n("position"),
                n("exposure"),
                n("quota"),
                n("limit"),
                n("threshold"),
                n("group")
            )?;
        }
    }
    Ok(out)
}

fn render_supervision(s: &pb::SupervisionView, format: Format) -> anyhow::Result<String> {
    let groups: serde_json::Map<String, Value> = s.groups.iter().map(|g| (g.id.clone(), json!(g.members))).collect();
    let v = json!({"limits": {"entity_extra": s.entity_extra, "investor": s.investor},
                   "halted": s.halted, "groups": groups});
    let mut out = String::new();
    if format.json {
        out = serde_json::to_string_pretty(&v)? + "\n";
    } else if format.csv {
        out.push_str("what,id,value\n");
        writeln!(out, "limit,entity_extra,{}", s.entity_extra)?;
        writeln!(out, "limit,investor,{}", s.investor)?;
        for h in &s.halted {
            writeln!(out, "halted,{h},")?;
        }
        for g in &s.groups {
            writeln!(out, "group,{},{}", g.id, g.members.join(" "))?;
        }
    } else {
        writeln!(
            out,
            "position limits: entity quota + {} t, investor {} t",
            s.entity_extra, s.investor
        )?;
        let halted = if s.halted.is_empty() {
            "none".to_string()
        } else {
            s.halted.join(", ")
        };
        writeln!(out, "halted: {halted}")?;
        writeln!(out, "groups: {}", s.groups.len())?;
        for g in &s.groups {
            writeln!(out, "  {}: {}", g.id, g.members.join(", "))?;
        }
    }
    Ok(out)
}

fn status(e: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("the server answered {:?}: {}", e.code(), e.message())
}

async fn connect(s: &Signer) -> anyhow::Result<(Channel, Reader)> {
    let ch = channel(&s.server, &s.tls).await?;
    let reader = Reader::new(ch.clone(), &s.key, &s.actor).await?;
    Ok((ch, reader))
}

/// Streams alerts from `from_seq` (default: the journal's length now),
/// reconnecting with a fresh credential whenever the server ends the stream.
async fn follow(s: &Signer, filter: &AlertFilter, from_seq: Option<u64>, format: Format) -> anyhow::Result<()> {
    let (ch, reader) = connect(s).await?;
    let mut next = match from_seq {
        Some(n) => n,
        None => {
            let mut ledger = crate::grpc::ledger(ch.clone());
            ledger
                .get_checkpoint(pb::GetCheckpointRequest {})
                .await
                .map_err(status)?
                .into_inner()
                .tree_size
        }
    };
    if !format.json {
        eprintln!("following alerts from journal position {next} (Ctrl-C to stop)");
    }
    let mut client = crate::grpc::supervision(ch);
    loop {
        let req = pb::AlertStreamRequest {
            from_seq: next,
            kind: filter.kind.clone().unwrap_or_default(),
            account: filter.account.clone().unwrap_or_default(),
        };
        let mut stream = client
            .stream_alerts(reader.request(&format!("{METHOD}StreamAlerts"), req))
            .await
            .map_err(status)?
            .into_inner();
        loop {
            match stream.message().await {
                Ok(Some(a)) => {
                    next = a.seq + 1;
                    let line = if format.json {
                        alert_value(&a).to_string()
                    } else {
                        alert_row(&a)
                    };
                    emit(&(line + "\n"))?;
                }
                Ok(None) => bail!("the server ended the stream"),
                // A stale credential or a lag: reconnect from where we were.
                Err(e) if matches!(e.code(), tonic::Code::Unauthenticated | tonic::Code::ResourceExhausted) => {
                    tracing::debug!("reconnecting: {}", e.message());
                    break;
                }
                Err(e) => return Err(status(e)),
            }
        }
    }
}

pub fn supervise(c: Supervise) -> anyhow::Result<()> {
    // Commands are signed and sent as `carbon submit` sends them.
    let c = match c {
        Supervise::Limits {
            signer,
            entity_extra: Some(entity_extra),
            investor,
            ..
        } => {
            return signer
                .send(json!({"cmd": "set_position_limits", "entity_extra": entity_extra, "investor": investor}))
        }
        Supervise::Halt { signer, instrument } => return signer.send(json!({"cmd": "halt", "instrument": instrument})),
        Supervise::Resume { signer, instrument } => {
            return signer.send(json!({"cmd": "resume", "instrument": instrument}))
        }
        Supervise::Group { signer, id, members } => {
            return signer.send(json!({"cmd": "declare_group", "id": id, "members": members}))
        }
        reads => reads,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        match c {
            Supervise::Alerts {
                signer,
                filter,
                follow: true,
                from_seq,
                format,
            } => follow(&signer, &filter, from_seq, format).await,
            Supervise::Alerts {
                signer, filter, format, ..
            } => {
                let (ch, reader) = connect(&signer).await?;
                let req = pb::AlertQuery {
                    from_date: filter.from.clone().unwrap_or_default(),
                    to_date: filter.to.clone().unwrap_or_default(),
                    kind: filter.kind.clone().unwrap_or_default(),
                    account: filter.account.clone().unwrap_or_default(),
                    limit: 0,
                };
                let list = crate::grpc::supervision(ch)
                    .list_alerts(reader.request(&format!("{METHOD}ListAlerts"), req))
                    .await
                    .map_err(status)?
                    .into_inner();
                emit(&render_alerts(&list.alerts, format)?)?;
                if list.truncated {
                    eprintln!("(more alerts: narrow the dates)");
                }
                Ok(())
            }
            Supervise::Position {
                signer,
                account,
                format,
            } => {
                let (ch, reader) = connect(&signer).await?;
                let view = crate::grpc::supervision(ch)
                    .get_position(reader.request(&format!("{METHOD}GetPosition"), pb::PositionRequest { account }))
                    .await
                    .map_err(status)?
                    .into_inner();
                emit(&render_positions(&[view], format)?)
            }
            Supervise::LargeHolders { signer, format } => {
                let (ch, reader) = connect(&signer).await?;
                let list = crate::grpc::supervision(ch)
                    .list_large_holders(
                        reader.request(&format!("{METHOD}ListLargeHolders"), pb::LargeHoldersRequest {}),
                    )
                    .await
                    .map_err(status)?
                    .into_inner();
                emit(&render_positions(&list.holders, format)?)
            }
            Supervise::Limits { signer, format, .. } => {
                let (ch, reader) = connect(&signer).await?;
                let view = crate::grpc::supervision(ch)
                    .get_supervision(reader.request(&format!("{METHOD}GetSupervision"), pb::GetSupervisionRequest {}))
                    .await
                    .map_err(status)?
                    .into_inner();
                emit(&render_supervision(&view, format)?)
            }
            Supervise::Halt { .. } | Supervise::Resume { .. } | Supervise::Group { .. } => {
                unreachable!("commands are sent above")
            }
        }
    })
}
