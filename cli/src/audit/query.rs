//! `carbon audit account` and `carbon audit supply`: the state a journal
//! replays to. Offline from a data folder, the journal is rebuilt first
//! (chain, outcomes and checkpoint checked; client signatures are `verify`'s
//! job), so these never show figures from a journal that does not hold
//! together. With `--server URL` they ask a running server instead (its
//! `GetAccount`, `GetSupply` and `StreamJournal`), trusting its answers; an
//! account is read with a read credential (`--key`, `--actor`: the account
//! itself or a regulator), and its history needs a regulator's, the
//! operator's or an auditor's (docs/ACCESS.md).
//!
//! Both paths produce the wire views (`pb::AccountView`, `pb::SupplyView`),
//! so the output is the same whichever was used.

use std::fmt::Write as _;

use anyhow::Context as _;
use carbon_proto::v1 as pb;
use pb::command::Body;
use prost::Message as _;
use serde_json::{json, Value};

use super::{emit, open_journal, rebuild_with_progress, DataArg};
use crate::client::{channel, Reader, Tls};
use carbon_server::service::{account_pb, supply_pb};

/// Arguments of `carbon audit account`.
#[derive(clap::Args)]
pub struct AccountArgs {
    /// The account id.
    id: String,
    #[command(flatten)]
    data: DataArg,
    /// Ask a running server (`host:port` or a URL) instead of reading a data folder.
    #[arg(long, requires_all = ["key", "actor"])]
    server: Option<String>,
    #[command(flatten)]
    tls: Tls,
    /// With --server: the reader's key file.
    #[arg(long)]
    key: Option<std::path::PathBuf>,
    /// With --server: who reads (the account itself, a regulator, the operator, an auditor).
    #[arg(long)]
    actor: Option<String>,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `carbon audit supply`.
#[derive(clap::Args)]
pub struct SupplyArgs {
    #[command(flatten)]
    data: DataArg,
    /// Ask a running server (`host:port` or a URL) instead of reading a data folder.
    #[arg(long)]
    server: Option<String>,
    #[command(flatten)]
    tls: Tls,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// One journal entry of an account's history.
struct HistoryItem {
    seq: u64,
    kind: &'static str,
    ok: bool,
    code: String,
    /// How the entry concerns the account: "actor", "target", "buyer", ...
    roles: Vec<&'static str>,
}

pub fn account(a: AccountArgs) -> anyhow::Result<()> {
    let (view, history) = match &a.server {
        Some(server) => account_online(server, &a)?,
        None => account_offline(&a)?,
    };
    emit(&render_account(&view, &history, a.json)?)
}

fn account_offline(a: &AccountArgs) -> anyhow::Result<(pb::AccountView, Vec<HistoryItem>)> {
    let journal = open_journal(&a.data.data)?;
    let r = rebuild_with_progress(&journal, false).map_err(|e| anyhow::anyhow!("the journal does not verify: {e}"))?;
    let view = account_pb(&r.state, &a.id).with_context(|| format!("no account {:?} in the ledger", a.id))?;
    let mut history = Vec::new();
    for item in journal.iter(0) {
        let (_, entry) = item.context("reading the journal")?;
        history.extend(history_item(&entry, &a.id));
    }
    Ok((view, history))
}

fn account_online(server: &str, a: &AccountArgs) -> anyhow::Result<(pb::AccountView, Vec<HistoryItem>)> {
    let (Some(key), Some(actor)) = (&a.key, &a.actor) else {
        anyhow::bail!("--server needs --key and --actor: who reads the account");
    };
    let id = a.id.as_str();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let ch = channel(server, &a.tls).await?;
        let reader = Reader::new(ch.clone(), key, actor).await?;
        let mut client = crate::grpc::ledger(ch);
        let view = client
            .get_account(reader.request(
                "/carbon.v1.Ledger/GetAccount",
                pb::GetAccountRequest { id: id.to_string() },
            ))
            .await
            .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
            .into_inner();
        let journal = client
            .stream_journal(reader.request(
                "/carbon.v1.Ledger/StreamJournal",
                pb::StreamJournalRequest { from_seq: 0 },
            ))
            .await;
        let mut stream = match journal {
            Ok(s) => s.into_inner(),
            // An account reads its own view; the whole journal is its regulators'.
            Err(s) if s.code() == tonic::Code::PermissionDenied => {
                eprintln!("(no history: the journal is for regulators, the operator and auditors)");
                return Ok((view, Vec::new()));
            }
            Err(s) => anyhow::bail!("{:?}: {}", s.code(), s.message()),
        };
        let mut history = Vec::new();
        while let Some(entry) = stream
            .message()
            .await
            .map_err(|s| anyhow::anyhow!("the journal stream: {:?}: {}", s.code(), s.message()))?
        {
            history.extend(history_item(&entry, id));
        }
        Ok((view, history))
    })
}

fn role_name(role: i32) -> String {
    pb::Role::try_from(role)
        .map(|r| r.as_str_name().trim_start_matches("ROLE_").to_ascii_lowercase())
        .unwrap_or_else(|_| format!("role {role}"))
}

fn render_account(v: &pb::AccountView, history: &[HistoryItem], as_json: bool) -> anyhow::Result<String> {
    let mut out = String::new();
    let jurisdiction = (!v.jurisdiction.is_empty()).then_some(v.jurisdiction.as_str());
    if as_json {
        let holdings: Vec<Value> = v
            .holdings
            .iter()
            .map(|h| json!({"instrument": h.instrument, "available": h.available, "locked": h.locked, "pending": h.pending}))
            .collect();
        let hist: Vec<Value> = history
            .iter()
            .map(|h| {
                let mut item = json!({"seq": h.seq, "command": h.kind, "ok": h.ok, "as": h.roles});
                if !h.ok {
                    item["code"] = json!(h.code);
                }
                item
            })
            .collect();
        let j = json!({
            "id": v.id,
            "role": role_name(v.role),
            "jurisdiction": jurisdiction,
            "frozen": v.frozen,
            "public_key": hex::encode(&v.public_key),
            "last_nonce": v.last_nonce,
            "cash_available": v.cash_available,
            "cash_locked": v.cash_locked,
            "holdings": holdings,
            "history": hist,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&j)?)?;
        return Ok(out);
    }
    writeln!(out, "account {}", v.id)?;
    writeln!(out, "  role          {}", role_name(v.role))?;
    writeln!(out, "  jurisdiction  {}", jurisdiction.unwrap_or("-"))?;
    writeln!(out, "  frozen        {}", if v.frozen { "yes" } else { "no" })?;
    writeln!(
        out,
        "  cash          {} available, {} locked",
        v.cash_available, v.cash_locked
    )?;
    if v.holdings.is_empty() {
        writeln!(out, "  holdings      none")?;
    } else {
        writeln!(out, "  holdings")?;
        for h in &v.holdings {
            writeln!(
                out,
                "    {:<12} {} available, {} locked, {} pending",
                h.instrument, h.available, h.locked, h.pending
            )?;
        }
    }
    writeln!(out, "  history       {} journal entries", history.len())?;
    for h in history {
        let result = if h.ok {
            "ok".to_string()
        } else {
            format!("rejected {}", h.code)
        };
        writeln!(
            out,
            "    {:>8}  {:<21} {:<28} as {}",
            h.seq,
            h.kind,
            result,
            h.roles.join(", ")
        )?;
    }
    Ok(out)
}

pub fn supply(a: SupplyArgs) -> anyhow::Result<()> {
    let view = match &a.server {
        Some(server) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut client = crate::grpc::ledger(channel(server, &a.tls).await?);
                let view = client
                    .get_supply(pb::GetSupplyRequest {})
                    .await
                    .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?;
                anyhow::Ok(view.into_inner())
            })?
        }
        None => {
            let journal = open_journal(&a.data.data)?;
            let r = rebuild_with_progress(&journal, false)
                .map_err(|e| anyhow::anyhow!("the journal does not verify: {e}"))?;
            supply_pb(&r.state)
        }
    };
    let mut out = String::new();
    if a.json {
        let v: Vec<Value> = view
            .supply
            .iter()
            .map(|i| {
                json!({
                    "instrument": i.instrument,
                    "issued": i.issued,
                    "surrendered": i.surrendered,
                    "retired": i.retired,
                    "clawed_back": i.clawed_back,
                    "outstanding": i.outstanding,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&json!({ "supply": v }))?)?;
        return emit(&out);
    }
    writeln!(
        out,
        "{:<12} {:>14} {:>14} {:>14} {:>14} {:>14}",
        "instrument", "issued", "surrendered", "retired", "clawed_back", "outstanding"
    )?;
    for i in &view.supply {
        writeln!(
            out,
            "{:<12} {:>14} {:>14} {:>14} {:>14} {:>14}",
            i.instrument, i.issued, i.surrendered, i.retired, i.clawed_back, i.outstanding
        )?;
    }
    emit(&out)
}

/// The history line of `entry` for account `id`, if the entry concerns it:
/// issued by it, naming it in the command, or naming it in an event (a
/// trade's buyer or seller, a compliance row).
fn history_item(entry: &pb::JournalEntry, id: &str) -> Option<HistoryItem> {
    let Some(pb::journal_entry::Input::Command(env)) = &entry.input else {
        return None;
    };
    // Offline the rebuild decoded every payload already.
    let cmd = pb::Command::decode(env.payload.as_slice()).ok()?;
    let outcome = entry.outcome.clone().unwrap_or_default();
    let mut roles = Vec::new();
    if cmd.actor.as_deref() == Some(id) {
        roles.push("actor");
    }
    if named_accounts(cmd.body.as_ref()).contains(&id) {
        roles.push("target");
    }
    for ev in &outcome.events {
        match &ev.kind {
            Some(pb::event::Kind::Trade(t)) => {
                if t.buyer == id && !roles.contains(&"buyer") {
                    roles.push("buyer");
                }
                if t.seller == id && !roles.contains(&"seller") {
                    roles.push("seller");
                }
            }
            Some(pb::event::Kind::Compliance(c)) if c.entity == id && !roles.contains(&"compliance") => {
                roles.push("compliance");
            }
            _ => {}
        }
    }
    (!roles.is_empty()).then(|| HistoryItem {
        seq: entry.seq,
        kind: command_kind(cmd.body.as_ref()),
        ok: outcome.ok,
        code: outcome.code,
        roles,
    })
}

/// The accounts a command names besides its actor.
fn named_accounts(body: Option<&Body>) -> Vec<&str> {
    let named: Vec<Option<&String>> = match body {
        Some(Body::CreateAccount(c)) => vec![c.id.as_ref()],
        Some(Body::Deposit(c)) => vec![c.account.as_ref()],
        Some(Body::Withdraw(c)) => vec![c.account.as_ref()],
        Some(Body::Issue(c)) => vec![c.to.as_ref()],
        Some(Body::Transfer(c)) => vec![c.to.as_ref()],
        Some(Body::Freeze(c)) => vec![c.account.as_ref()],
        Some(Body::Unfreeze(c)) => vec![c.account.as_ref()],
        Some(Body::Cancel(c)) => vec![c.account.as_ref()],
        Some(Body::BlockPropose(c)) => vec![c.counterparty.as_ref()],
        Some(Body::BlockAccept(c)) => vec![c.proposer.as_ref()],
        Some(Body::AllocateBenchmark(c)) => vec![c.entity.as_ref()],
        Some(Body::AllocateGrandfather(c)) => vec![c.entity.as_ref()],
        Some(Body::VerifyReport(c)) => vec![c.entity.as_ref()],
        Some(Body::ConfirmReport(c)) => vec![c.entity.as_ref()],
        Some(Body::ReturnReport(c)) => vec![c.entity.as_ref()],
        _ => vec![],
    };
    named.into_iter().flatten().map(String::as_str).collect()
}

/// A command's name as market-day files (REPLAY.md) spell it.
pub(crate) fn command_kind(body: Option<&Body>) -> &'static str {
    body.map_or("none", carbon_ledger::market_day::command_name)
}
