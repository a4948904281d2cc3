//! `carbon audit account` and `carbon audit supply`: the state a journal
//! replays to, read offline. The journal is rebuilt first (chain, outcomes
//! and checkpoint checked; client signatures are `verify`'s job), so these
//! never show figures from a journal that does not hold together.

use anyhow::{bail, Context as _};
use carbon_ledger::num::fmt_cents;
use carbon_proto::v1 as pb;
use pb::command::Body;
use prost::Message as _;
use serde_json::{json, Value};

use std::fmt::Write as _;

use super::{emit, open_journal, rebuild_with_progress, DataArg};

/// Arguments of `carbon audit account`.
#[derive(clap::Args)]
pub struct AccountArgs {
    /// The account id.
    id: String,
    #[command(flatten)]
    data: DataArg,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `carbon audit supply`.
#[derive(clap::Args)]
pub struct SupplyArgs {
    #[command(flatten)]
    data: DataArg,
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
    let mut out = String::new();
    let journal = open_journal(&a.data.data)?;
    let r = rebuild_with_progress(&journal, false).map_err(|e| anyhow::anyhow!("the journal does not verify: {e}"))?;
    let Some(acct) = r.state.account(&a.id) else {
        bail!("no account {:?} in the ledger", a.id);
    };
    let history = history(&journal, &a.id)?;
    let holdings: Vec<Value> = acct
        .holdings
        .iter()
        .map(|(s, h)| json!({"instrument": s, "available": h.available, "locked": h.locked, "pending": h.pending}))
        .collect();
    if a.json {
        let hist: Vec<Value> = history
            .iter()
            .map(|h| {
                let mut v = json!({"seq": h.seq, "command": h.kind, "ok": h.ok, "as": h.roles});
                if !h.ok {
                    v["code"] = json!(h.code);
                }
                v
            })
            .collect();
        let v = json!({
            "id": acct.id,
            "role": acct.role.as_str(),
            "jurisdiction": acct.jurisdiction,
            "frozen": acct.frozen,
            "public_key": hex::encode(acct.public_key.as_bytes()),
            "last_nonce": acct.last_nonce,
            "cash_available": fmt_cents(acct.cash_available),
            "cash_locked": fmt_cents(acct.cash_locked),
            "holdings": holdings,
            "history": hist,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return emit(&out);
    }
    writeln!(out, "account {}", acct.id)?;
    writeln!(out, "  role          {}", acct.role.as_str())?;
    writeln!(out, "  jurisdiction  {}", acct.jurisdiction.as_deref().unwrap_or("-"))?;
    writeln!(out, "  frozen        {}", if acct.frozen { "yes" } else { "no" })?;
    writeln!(
        out,
        "  cash          {} available, {} locked",
        fmt_cents(acct.cash_available),
        fmt_cents(acct.cash_locked)
    )?;
    if acct.holdings.is_empty() {
        writeln!(out, "  holdings      none")?;
    } else {
        writeln!(out, "  holdings")?;
        for (s, h) in &acct.holdings {
            writeln!(
                out,
                "    {s:<12} {} available, {} locked, {} pending",
                h.available, h.locked, h.pending
            )?;
        }
    }
    writeln!(out, "  history       {} journal entries", history.len())?;
    for h in &history {
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
    emit(&out)
}

pub fn supply(a: SupplyArgs) -> anyhow::Result<()> {
    let mut out = String::new();
    let journal = open_journal(&a.data.data)?;
    let r = rebuild_with_progress(&journal, false).map_err(|e| anyhow::anyhow!("the journal does not verify: {e}"))?;
    if a.json {
        let v: Vec<Value> = r
            .state
            .instruments
            .values()
            .map(|i| {
                json!({
                    "instrument": i.symbol,
                    "issued": i.issued,
                    "surrendered": i.surrendered,
                    "retired": i.retired,
                    "clawed_back": i.clawed_back,
                    "outstanding": i.outstanding(),
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
    for i in r.state.instruments.values() {
        writeln!(
            out,
            "{:<12} {:>14} {:>14} {:>14} {:>14} {:>14}",
            i.symbol,
            i.issued,
            i.surrendered,
            i.retired,
            i.clawed_back,
            i.outstanding()
        )?;
    }
    emit(&out)
}

/// Every journal entry that concerns `id`: issued by it, naming it in the
/// command, or naming it in an event (a trade's buyer or seller, a
/// compliance row).
fn history(journal: &carbon_ledger::journal::Journal, id: &str) -> anyhow::Result<Vec<HistoryItem>> {
    let mut out = Vec::new();
    for item in journal.iter(0) {
        let (_, entry) = item.context("reading the journal")?;
        let Some(pb::journal_entry::Input::Command(env)) = &entry.input else {
            continue;
        };
        // The rebuild decoded every payload already; a failure here is impossible.
        let Ok(cmd) = pb::Command::decode(env.payload.as_slice()) else {
            continue;
        };
        let outcome = entry.outcome.unwrap_or_default();
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
        if !roles.is_empty() {
            out.push(HistoryItem {
                seq: entry.seq,
                kind: command_kind(cmd.body.as_ref()),
                ok: outcome.ok,
                code: outcome.code,
                roles,
            });
        }
    }
    Ok(out)
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
    match body {
        None => "none",
        Some(b) => match b {
            Body::CreateAccount(_) => "create_account",
            Body::DefineInstrument(_) => "define_instrument",
            Body::Deposit(_) => "deposit",
            Body::Withdraw(_) => "withdraw",
            Body::Issue(_) => "issue",
            Body::Transfer(_) => "transfer",
            Body::Retire(_) => "retire",
            Body::Freeze(_) => "freeze",
            Body::Unfreeze(_) => "unfreeze",
            Body::OpenDay(_) => "open_day",
            Body::CloseDay(_) => "close_day",
            Body::Order(_) => "order",
            Body::Cancel(_) => "cancel",
            Body::BlockPropose(_) => "block_propose",
            Body::BlockAccept(_) => "block_accept",
            Body::BlockCancel(_) => "block_cancel",
            Body::AuctionOpen(_) => "auction_open",
            Body::AuctionBid(_) => "auction_bid",
            Body::AuctionClose(_) => "auction_close",
            Body::AllocateBenchmark(_) => "allocate_benchmark",
            Body::AllocateGrandfather(_) => "allocate_grandfather",
            Body::DefineFactorSet(_) => "define_factor_set",
            Body::SubmitReport(_) => "submit_report",
            Body::VerifyReport(_) => "verify_report",
            Body::ConfirmReport(_) => "confirm_report",
            Body::ReturnReport(_) => "return_report",
            Body::Surrender(_) => "surrender",
            Body::CloseYear(_) => "close_year",
        },
    }
}
