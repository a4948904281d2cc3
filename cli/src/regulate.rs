//! Typed client commands for allocation, MRV and compliance (RULEBOOK.md
//! 9-11): `carbon allocate`, `carbon report`, `carbon surrender`. Each builds
//! the market-day JSON of its command and sends it as `carbon submit` does.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::{json, Value};

use crate::client::{submit, SubmitArgs, Tls};

/// Who signs and where to send: shared by every typed command.
#[derive(clap::Args, Clone)]
pub struct Signer {
    /// The actor's key file (from `carbon keygen`).
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The server's URL.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub(crate) server: String,
    #[command(flatten)]
    pub(crate) tls: Tls,
    /// The account that issues the command.
    #[arg(long)]
    pub(crate) actor: String,
    /// The nonce; default: the current Unix time in microseconds.
    #[arg(long)]
    nonce: Option<u64>,
}

impl Signer {
    pub(crate) fn send(self, command: Value) -> anyhow::Result<()> {
        submit(SubmitArgs {
            key: self.key,
            server: self.server,
            tls: self.tls,
            actor: Some(self.actor),
            nonce: self.nonce,
            command: command.to_string(),
        })
    }
}

/// `carbon allocate ...` (a regulator).
#[derive(clap::Subcommand)]
pub enum Allocate {
    /// Benchmark allocation (9.1): `pre` issues 70%, `final` trues up.
    Benchmark {
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        entity: String,
        #[arg(long)]
        year: i64,
        /// `pre` or `final`.
        #[arg(long)]
        phase: String,
        /// A JSON file with the list of units: [{"fuel":"coal","power_mwh":"...","heat_gj":"...",
        /// "power_benchmark":"0.7910","heat_benchmark":"0.1033","load_factor":"0.72"}, ...].
        #[arg(long)]
        units: PathBuf,
    },
    /// Grandfathering (9.2): `round(baseline * (1 - decline))`.
    Grandfather {
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        entity: String,
        #[arg(long)]
        year: i64,
        /// Whole tonnes.
        #[arg(long)]
        baseline: i64,
        /// A decimal in [0, 1], e.g. "0.0373".
        #[arg(long)]
        decline: String,
    },
}

/// `carbon report ...`: the MRV workflow (section 10).
#[derive(clap::Subcommand)]
pub enum Report {
    /// An entity submits (or resubmits) its emission report.
    Submit {
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        year: i64,
        #[arg(long)]
        factor_set: String,
        /// A JSON file with the fuel lines: [{"fuel":"coal","consumption":"533741.378","ncv":"20.9"}, ...];
        /// none when omitted.
        #[arg(long)]
        fuels: Option<PathBuf>,
        #[arg(long)]
        electricity_mwh: String,
        #[arg(long)]
        power_mwh: String,
        #[arg(long)]
        heat_gj: String,
        /// Energy use (RULEBOOK.md 15.2): `carrier=qty` (e.g. coal=1200.5), repeated, or a JSON
        /// file of [{"carrier":"coal","qty":"1200.5"}, ...]. Carriers: coal, coke, crude_oil,
        /// fuel_oil, gasoline, diesel, lpg, natural_gas, electricity, heat.
        #[arg(long, value_name = "CARRIER=QTY|FILE")]
        energy: Vec<String>,
    },
    /// A verifier verifies a submitted report, optionally with its own figure (t).
    Verify {
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        entity: String,
        #[arg(long)]
        year: i64,
        #[arg(long)]
        verified_emissions: Option<i64>,
        /// The verifier's own energy figure, whole tce (default: the report's).
        #[arg(long)]
        verified_energy: Option<i64>,
    },
    /// The entity's regulator confirms a verified report (final).
    Confirm {
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        entity: String,
        #[arg(long)]
        year: i64,
    },
    /// The entity's regulator returns a report for resubmission.
    Return {
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        entity: String,
        #[arg(long)]
        year: i64,
    },
}

/// Arguments of `carbon surrender` (an entity, section 11).
#[derive(clap::Args)]
pub struct Surrender {
    #[command(flatten)]
    signer: Signer,
    #[arg(long)]
    year: i64,
    /// `ZJEA-<vintage>` or `CCER` (the carbon obligation), `ZJEU-<vintage>`
    /// (the energy obligation); vintage <= year.
    #[arg(long)]
    instrument: String,
    #[arg(long)]
    qty: i64,
}

fn json_file(path: &PathBuf) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The `--energy` values as the report's energy list: `carrier=qty` pairs,
/// or one JSON file holding the list.
fn energy_lines(values: &[String]) -> anyhow::Result<Value> {
    match values {
        [one] if !one.contains('=') => json_file(&PathBuf::from(one)),
        _ => values
            .iter()
            .map(|v| match v.split_once('=') {
                Some((carrier, qty)) => Ok(json!({"carrier": carrier, "qty": qty})),
                None => anyhow::bail!("--energy {v:?}: give carrier=qty, or one JSON file"),
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(Value::from),
    }
}

pub fn allocate(a: Allocate) -> anyhow::Result<()> {
    match a {
        Allocate::Benchmark {
            signer,
            entity,
            year,
            phase,
            units,
        } => signer.send(json!({
            "cmd": "allocate_benchmark", "entity": entity, "year": year, "phase": phase, "units": json_file(&units)?,
        })),
        Allocate::Grandfather {
            signer,
            entity,
            year,
            baseline,
            decline,
        } => signer.send(json!({
            "cmd": "allocate_grandfather", "entity": entity, "year": year, "baseline": baseline, "decline": decline,
        })),
    }
}

pub fn report(r: Report) -> anyhow::Result<()> {
    match r {
        Report::Submit {
            signer,
            year,
            factor_set,
            fuels,
            electricity_mwh,
            power_mwh,
            heat_gj,
            energy,
        } => signer.send(json!({
            "cmd": "submit_report", "year": year, "factor_set": factor_set,
            "fuels": fuels.map(|f| json_file(&f)).transpose()?.unwrap_or(json!([])),
            "electricity_mwh": electricity_mwh, "power_mwh": power_mwh, "heat_gj": heat_gj,
            "energy": energy_lines(&energy)?,
        })),
        Report::Verify {
            signer,
            entity,
            year,
            verified_emissions,
            verified_energy,
        } => signer.send(json!({
            "cmd": "verify_report", "entity": entity, "year": year, "verified_emissions": verified_emissions,
            "verified_energy": verified_energy,
        })),
        Report::Confirm { signer, entity, year } => {
            signer.send(json!({"cmd": "confirm_report", "entity": entity, "year": year}))
        }
        Report::Return { signer, entity, year } => {
            signer.send(json!({"cmd": "return_report", "entity": entity, "year": year}))
        }
    }
}

pub fn surrender(s: Surrender) -> anyhow::Result<()> {
    s.signer
        .send(json!({"cmd": "surrender", "year": s.year, "instrument": s.instrument, "qty": s.qty}))
}
