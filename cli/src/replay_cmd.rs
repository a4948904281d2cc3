//! `carbon replay FILE [--data DIR] [--json]`.

use std::path::PathBuf;

use anyhow::Context;
use carbon_ledger::replay::replay;

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
    let tmp;
    let dir = match &a.data {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let r = replay(&text, &dir)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r.report())?);
    } else {
        let rejected = r.results.iter().filter(|x| x.result.is_err()).count();
        println!(
            "{} command lines, {} accepted, {} rejected",
            r.results.len(),
            r.results.len() - rejected,
            rejected
        );
    }
    Ok(())
}
