//! `carbon audit ...`: everything a regulator (or anyone holding a copy of
//! the data folder, or only the operator's verifier key) can check offline.
//!
//! * `verify`: the whole journal (chain, encodings, client signatures in
//!   parallel, every outcome re-derived, the signed checkpoint);
//! * `account`, `supply`: what the replayed state says, with an account's
//!   history from the journal;
//! * `checkpoint`, `proof`, `consistency`: the signed tree head and RFC 6962
//!   proofs against it, as JSON;
//! * `check`: verifies a saved checkpoint, inclusion or consistency proof
//!   with nothing but the operator's verifier key;
//! * `compliance`, `alerts`: the regulators' tables (a closed year's
//!   compliance, the surveillance alerts) from the verified journal.
//!
//! The data folder is a sled database, which one process at a time may
//! open. An audit never writes to what it audits, and works on read-only
//! media: sled cannot open a database without writing to its folder, so the
//! audit opens a private copy of it in the temporary folder
//! ([`Journal::open_copy`]; `TMPDIR` chooses where, and it needs room for
//! the ledger's sled files), removed when the command ends.

mod alerts;
mod compliance;
mod proof;
mod query;

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use carbon_ledger::audit::{rebuild, RebuildError, Rebuilt};
use carbon_ledger::journal::{Journal, StoreError};
use carbon_proto::v1 as pb;
use prost::Message as _;
use serde_json::json;

/// The audit subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify a ledger offline: hash chain, client signatures, every
    /// outcome re-applied, the signed checkpoint. Exits non-zero naming the
    /// first bad journal entry.
    Verify(VerifyArgs),
    /// An account's role, balances and history.
    Account(query::AccountArgs),
    /// Every instrument's supply: issued, surrendered, retired, clawed back, outstanding.
    Supply(query::SupplyArgs),
    /// Print the latest signed checkpoint (C2SP signed note), or the operator's verifier key.
    Checkpoint(proof::CheckpointArgs),
    /// Print (JSON) an entry with its RFC 6962 inclusion proof against the signed checkpoint.
    Proof(proof::ProofArgs),
    /// Print (JSON) the RFC 6962 consistency proof between two tree sizes.
    Consistency(proof::ConsistencyArgs),
    /// Check a saved checkpoint, inclusion proof or consistency proof with only the operator's key.
    Check(proof::CheckArgs),
    /// The compliance table of a closed year (entity, jurisdiction, obligation, shortfall, status, penalty range).
    Compliance(compliance::ComplianceArgs),
    /// Surveillance alerts (RULEBOOK.md 14.4) re-derived from the journal, by date, kind, account.
    Alerts(alerts::AlertsArgs),
}

/// Runs an audit subcommand. Failures print one line on stderr (no
/// backtrace: a failed audit is an answer, not a crash) and exit with 1.
pub fn run(c: Command) -> anyhow::Result<()> {
    let result = match c {
        Command::Verify(a) => verify(a),
        Command::Account(a) => query::account(a),
        Command::Supply(a) => query::supply(a),
        Command::Checkpoint(a) => proof::checkpoint(a),
        Command::Proof(a) => proof::proof(a),
        Command::Consistency(a) => proof::consistency(a),
        Command::Check(a) => proof::check(a),
        Command::Compliance(a) => compliance::compliance(a),
        Command::Alerts(a) => alerts::alerts(a),
    };
    if let Err(e) = result {
        // Everything the subcommand opened is closed by now.
        eprintln!("carbon audit: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}

/// Writes a command's output to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn emit(out: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The data folder option every offline subcommand takes.
#[derive(clap::Args, Clone)]
pub struct DataArg {
    /// The ledger's data folder (a sled database; stop the server first).
    #[arg(long, value_name = "DIR", default_value = "carbon-data")]
    pub data: PathBuf,
}

/// Arguments of `carbon audit verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    data: DataArg,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Trust the stored client signatures (much faster); the chain, every
    /// outcome and the checkpoint are still checked.
    #[arg(long)]
    no_signatures: bool,
}

/// Journals shorter than this verify without a progress bar.
const PROGRESS_MIN_ENTRIES: u64 = 100_000;

/// Opens the journal in `dir` for reading, as a private copy: nothing in
/// `dir` is written (see the module doc). Refuses a folder that holds no
/// ledger.
pub(crate) fn open_journal(dir: &Path) -> anyhow::Result<Journal> {
    if !dir.is_dir() {
        bail!("{} is not a folder holding a ledger", dir.display());
    }
    if !dir.join("db").is_file() || !dir.join("conf").is_file() {
        bail!("{} holds no ledger (no sled database in it)", dir.display());
    }
    Journal::open_copy(dir).map_err(|e| match e {
        StoreError::Locked(_) => anyhow::anyhow!(
            "the ledger in {} is open in another process (a running server?): one process at a time may open it",
            dir.display()
        ),
        e => anyhow::anyhow!("opening the ledger in {}: {e}", dir.display()),
    })
}

/// The genesis (entry 0) of a journal.
pub(crate) fn read_genesis(journal: &Journal) -> anyhow::Result<pb::Genesis> {
    let raw = journal.raw(0)?.context("the journal is empty (no genesis entry)")?;
    let entry = pb::JournalEntry::decode(raw.as_slice())
        .map_err(|e| anyhow::anyhow!("journal entry 0: does not decode: {e}"))?;
    match entry.input {
        Some(pb::journal_entry::Input::Genesis(g)) => Ok(g),
        _ => bail!("journal entry 0: the first entry is not a genesis"),
    }
}

/// Rebuilds state from the journal, with a progress bar on long runs.
pub(crate) fn rebuild_with_progress(journal: &Journal, check_signatures: bool) -> Result<Rebuilt, RebuildError> {
    let total = journal.len().unwrap_or(0);
    let bar = if total >= PROGRESS_MIN_ENTRIES && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} verifying [{bar:40}] {human_pos}/{human_len} entries {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Some(bar)
    } else {
        None
    };
    let result = rebuild(journal, check_signatures, |seq| {
        if let Some(b) = &bar {
            if seq % 4096 == 0 {
                b.set_position(seq);
            }
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}

fn verify(a: VerifyArgs) -> anyhow::Result<()> {
    let journal = open_journal(&a.data.data)?;
    let started = Instant::now();
    let result = rebuild_with_progress(&journal, !a.no_signatures);
    let elapsed = started.elapsed();
    let r = match result {
        Ok(r) => r,
        Err(e) => {
            let seq = match &e {
                RebuildError::Mismatch(m) => Some(m.seq),
                _ => None,
            };
            if a.json {
                let v = json!({"ok": false, "seq": seq, "error": e.to_string()});
                emit(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
            }
            bail!("verification failed: {e}");
        }
    };
    let Some((_, cp)) = &r.checkpoint else {
        if a.json {
            let v = json!({"ok": false, "seq": null, "error": "the ledger holds no signed checkpoint"});
            emit(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        }
        bail!("verification failed: the ledger holds no signed checkpoint");
    };
    let entries = r.tree.len();
    let secs = elapsed.as_secs_f64();
    let per_sec = if secs > 0.0 { entries as f64 / secs } else { 0.0 };
    let unsigned = entries - cp.tree_size;
    let root = hex::encode(cp.root_hash);
    let mut out = String::new();
    if a.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({
                "ok": true,
                "origin": r.genesis.origin,
                "entries": entries,
                "accounts": r.state.accounts.len(),
                "instruments": r.state.instruments.len(),
                "signatures_checked": r.signatures_checked,
                "signatures_skipped": a.no_signatures,
                "state_digests_checked": r.digests_checked,
                "state_digests_of_other_builds": r.digests_of_other_builds,
                "checkpoint": { "size": cp.tree_size, "root_hash": root },
                "entries_past_checkpoint": unsigned,
                "seconds": secs,
                "entries_per_second": per_sec.round(),
            }))?
        )?;
    } else {
        writeln!(out, "ok: the journal of {} verifies", r.genesis.origin)?;
        writeln!(out, "  entries          {entries}")?;
        if a.no_signatures {
            writeln!(out, "  signatures       not checked (--no-signatures)")?;
        } else {
            writeln!(
                out,
                "  signatures       {} client signatures verified",
                r.signatures_checked
            )?;
        }
        writeln!(
            out,
            "  state digests    {} recomputed and equal{}",
            r.digests_checked,
            match r.digests_of_other_builds {
                0 => String::new(),
                n => format!(", {n} recorded by another build (not checkable by this one)"),
            }
        )?;
        writeln!(out, "  accounts         {}", r.state.accounts.len())?;
        writeln!(out, "  instruments      {}", r.state.instruments.len())?;
        writeln!(out, "  last checkpoint  size {}, root {root}", cp.tree_size)?;
        if unsigned > 0 {
            writeln!(
                out,
                "  warning          {unsigned} entries after the last checkpoint (not yet signed by the operator)"
            )?;
        }
        writeln!(out, "  time             {secs:.3} s ({per_sec:.0} entries/s)")?;
    }
    emit(&out)
}
