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
    key: PathBuf,
    /// The server's URL.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    server: String,
    #[command(flatten)]
    tls: Tls,
    /// The account that issues the command.
    #[arg(long)]
    actor: String,
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
        /// A JSON file with the fuel lines: [{"fuel":"coal","consumption":"533741.378","ncv":"20.9"}, ...].
        #[arg(long)]
        fuels: PathBuf,
        #[arg(long)]
        electricity_mwh: String,
        #[arg(long)]
        power_mwh: String,
        #[arg(long)]
        heat_gj: String,
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
    /// `ZJEA-<vintage>` (vintage <= year) or `CCER`.
    #[arg(long)]
    instrument: String,
    #[arg(long)]
    qty: i64,
}

fn json_file(path: &PathBuf) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
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
        } => signer.send(json!({
            "cmd": "submit_report", "year": year, "factor_set": factor_set, "fuels": json_file(&fuels)?,
            "electricity_mwh": electricity_mwh, "power_mwh": power_mwh, "heat_gj": heat_gj,
        })),
        Report::Verify {
            signer,
            entity,
            year,
            verified_emissions,
        } => signer.send(json!({
            "cmd": "verify_report", "entity": entity, "year": year, "verified_emissions": verified_emissions,
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
