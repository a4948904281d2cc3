//! `carbon replay FILE [--data DIR] [--json]`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use carbon_ledger::num::fmt_ticks;
use carbon_ledger::replay::{replay_with, Replay, ReplayOptions};
use carbon_ledger::state::Event;

/// Arguments of `carbon replay`.
#[derive(clap::Args)]
pub struct Args {
    /// The market-day file (JSON Lines).
    file: PathBuf,
    /// Keep the journal in this folder (for `carbon audit`); default: a temporary folder.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print the JSON report of REPLAY.md instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let (dir, _tmp) = data_dir(a.data.as_deref())?;
    let bar = crate::progress::bar(line_count(&text), "replaying", "lines");
    let mut progress = |line: usize| bar.set_position(line as u64);
    let options = ReplayOptions {
        progress: Some(&mut progress),
        ..ReplayOptions::default()
    };
    let replayed = replay_with(&text, &dir, options);
    bar.finish_and_clear();
    let mut r = replayed?;
    if a.data.is_some() {
        // So that `carbon serve --data` starts without replaying the day
        // nor indexing it.
        r.node.index_deferred().context("indexing the ledger")?;
        r.node.snapshot().context("writing the snapshot")?;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.json {
        let report = r.report();
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        // The process ends here: the report's values are left to the
        // operating system rather than freed one by one.
        std::mem::forget(report);
    } else {
        write!(out, "{}", summary(&r))?;
    }
    out.flush()?;
    // Likewise every line's result (about half a second for a million
    // lines); the node is closed properly.
    let Replay { node, results, .. } = r;
    drop(node);
    std::mem::forget(results);
    Ok(())
}

/// Lines in a file as REPLAY.md numbers them (the last one may lack its
/// newline).
pub fn line_count(text: &str) -> u64 {
    let newlines = text.bytes().filter(|&b| b == b'\n').count() as u64;
    newlines + u64::from(!text.is_empty() && !text.ends_with('\n'))
}

/// A readable summary of a replayed day for a person.
fn summary(r: &Replay) -> String {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    let mut out = String::new();
    let rejected: Vec<_> = r.results.iter().filter_map(|x| x.result.as_ref().err()).collect();
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &rejected {
        *by_code.entry(c.as_str()).or_default() += 1;
    }
    let _ = writeln!(
        out,
        "{} command lines: {} accepted, {} rejected",
        r.results.len(),
        r.results.len() - rejected.len(),
        rejected.len()
    );
    for (code, n) in by_code {
        let _ = writeln!(out, "  {n:>6} {code}");
    }
    let mut trades: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
    let mut last_close: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    let mut years = Vec::new();
    let mut alerts = 0usize;
    for e in r.events() {
        match e {
            Event::Trade(t) => {
                let x = trades.entry(t.mode.as_str()).or_default();
                x.0 += 1;
                x.1 += t.qty;
            }
            Event::Day(d) => {
                last_close.insert(&d.instrument, (&d.date, fmt_ticks(d.close)));
            }
            Event::Compliance(c) => {
                if !years.contains(&c.year) {
                    years.push(c.year);
                }
            }
            Event::Alert(_) => alerts += 1,
        }
    }
    for (mode, (n, qty)) in &trades {
        let _ = writeln!(out, "{n} {mode} trades, {qty} t");
    }
    for (inst, (date, close)) in &last_close {
        let _ = writeln!(out, "{inst}: last close {close} on {date}");
    }
    for y in years {
        let _ = writeln!(out, "compliance year {y} closed");
    }
    if alerts > 0 {
        let _ = writeln!(out, "{alerts} surveillance alerts");
    }
    let node = &r.node;
    let _ = writeln!(
        out,
        "journal: {} entries, checkpoint root {}",
        node.len(),
        hex::encode(node.tree().root())
    );
    out
}

/// The folder a replay writes its ledger to: `data` if given, else a
/// temporary one, removed when the returned guard is dropped.
pub fn data_dir(data: Option<&std::path::Path>) -> anyhow::Result<(std::path::PathBuf, Option<tempfile::TempDir>)> {
    Ok(match data {
        Some(d) => (d.to_path_buf(), None),
        None => {
            let tmp = tempfile::tempdir()?;
            (tmp.path().to_path_buf(), Some(tmp))
        }
    })
}
