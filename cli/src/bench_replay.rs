//! `carbon bench replay FILE`: how close `carbon replay` comes to the
//! machine's signing ceiling, in one command.
//!
//! REPLAY.md has every command of a day signed before it is applied, so a
//! replay can go no faster than the machine signs. The ceiling is measured
//! in the same run: one thread signs a sample of the file's own commands
//! (encoded with their nonces, signed the way the replay signs them) for a
//! while, before and again after the replay, and
//!
//! ```text
//! ceiling = cores x single-core signing rate (the mean of the two measurements)
//! ratio   = command lines replayed per second / ceiling
//! ```
//!
//! The replay is `carbon replay`'s own (`replay_with`), timed from the
//! genesis to the last batch made durable; the report is not built. The
//! apply stage's split (in `Node::submit`, or waiting for signatures) says
//! which side bounds the run.
//!
//! On a shared machine the wall-clock rates move with other load. Two
//! figures that do not are printed too (Linux): how long the measuring
//! thread waited for a core while runnable, and the share of the replay's
//! CPU time that its signatures account for (at the single-core rate per
//! CPU-second), which is the best ratio the replay's work allows: every
//! stage in parallel and nothing else running.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use carbon_ledger::keys::test_key;
use carbon_ledger::market_day::{parse_line, Line};
use carbon_ledger::replay::{replay_with, ReplayOptions};
use carbon_ledger::state::signing_message;
use carbon_proto::v1 as pb;
use ed25519_dalek::{Signer, SigningKey};
use prost::Message;
use serde_json::json;

/// Commands of the file the signing rate is measured on.
const SAMPLE_COMMANDS: usize = 4096;

/// Arguments of `carbon bench replay`.
#[derive(clap::Args)]
pub struct Args {
    /// The market-day file (JSON Lines); `carbon gen-day` makes large ones.
    file: PathBuf,
    /// Seconds each single-core signing measurement runs (one before the
    /// replay, one after).
    #[arg(long, default_value_t = 3.0)]
    signing_secs: f64,
    /// Signing threads of the replay; default: `carbon replay`'s (a thread per core).
    #[arg(long)]
    signers: Option<usize>,
    /// Keep the replayed ledger here instead of in a temporary folder.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if !(a.signing_secs > 0.0 && a.signing_secs.is_finite()) {
        bail!("--signing-secs must be a positive number");
    }
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let sample = Sample::of(&text);
    if sample.commands.is_empty() {
        bail!("{} holds no command to sign", a.file.display());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let each = Duration::from_secs_f64(a.signing_secs);

    eprintln!("signing on one core for {:.1} s...", a.signing_secs);
    let before = sample.signing_rate(each);
    let (dir, _tmp) = crate::replay_cmd::data_dir(a.data.as_deref())?;
    let bar = crate::progress::bar(crate::replay_cmd::line_count(&text), "replaying", "lines");
    let mut progress = |line: usize| bar.set_position(line as u64);
    let mut options = ReplayOptions {
        progress: Some(&mut progress),
        ..ReplayOptions::default()
    };
    if let Some(n) = a.signers {
        options.signers = n;
    }
    let signers = options.signers;
    let cpu_before = cpu_secs();
    let started = Instant::now();
    let replayed = replay_with(&text, &dir, options);
    let elapsed = started.elapsed();
    let cpu = cpu_secs().zip(cpu_before).map(|(b, a)| b - a);
    bar.finish_and_clear();
    let r = replayed?;
    eprintln!("signing on one core for {:.1} s again...", a.signing_secs);
    let after = sample.signing_rate(each);

    let lines = r.results.len();
    let per_sec = lines as f64 / elapsed.as_secs_f64();
    let single_core = (before.per_sec + after.per_sec) / 2.0;
    let ceiling = cores as f64 * single_core;
    let ratio = per_sec / ceiling;
    // What signing alone would have cost of the CPU the replay used.
    let per_cpu_sec = match (before.per_cpu_sec, after.per_cpu_sec) {
        (Some(b), Some(a)) => Some((b + a) / 2.0),
        _ => None,
    };
    let signing_share = per_cpu_sec.zip(cpu).map(|(rate, cpu)| lines as f64 / rate / cpu);
    let t = r.timing;
    if a.json {
        let out = json!({
            "file": a.file.display().to_string(),
            "command_lines": lines,
            "journal_entries": r.node.len(),
            "cores": cores,
            "signers": signers,
            "elapsed_secs": elapsed.as_secs_f64(),
            "commands_per_sec": per_sec,
            "cpu_secs": cpu,
            "single_core_signatures_per_sec": {"before": before.per_sec, "after": after.per_sec, "mean": single_core},
            "single_core_signatures_per_cpu_sec": per_cpu_sec,
            "signing_thread_runnable_but_waiting": {"before": before.waiting_share, "after": after.waiting_share},
            "ceiling_per_sec": ceiling,
            "ratio": ratio,
            "signing_share_of_cpu": signing_share,
            "node_submitting_secs": t.submitting.as_secs_f64(),
            "node_waiting_for_signatures_secs": t.waiting_for_signatures.as_secs_f64(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("carbon bench replay: {}", a.file.display());
    println!(
        "  replayed:    {lines} command lines ({} journal entries) in {:.2} s, {signers} signing threads",
        r.node.len(),
        elapsed.as_secs_f64()
    );
    println!("  throughput:  {per_sec:.0} commands/s");
    if let Some(cpu) = cpu {
        println!(
            "  cpu:         {cpu:.2} s ({:.1} µs a command, {:.0}% of {cores} cores)",
            1e6 * cpu / lines as f64,
            100.0 * cpu / elapsed.as_secs_f64() / cores as f64
        );
    }
    println!(
        "  signing:     {:.0}/s before, {:.0}/s after, on one core{}",
        before.per_sec,
        after.per_sec,
        match (before.waiting_share, after.waiting_share) {
            (Some(b), Some(a)) => format!(
                " (its thread waited for a core {:.0}% and {:.0}% of the time: other load)",
                100.0 * b,
                100.0 * a
            ),
            _ => String::new(),
        }
    );
    println!("  ceiling:     {ceiling:.0} signatures/s ({cores} cores x {single_core:.0}/s)");
    println!("  ratio:       {:.1}% of the ceiling", 100.0 * ratio);
    if let (Some(rate), Some(share)) = (per_cpu_sec, signing_share) {
        println!(
            "  cpu split:   signing is {:.0}% of the replay's CPU ({rate:.0} signatures per CPU-second), \
             the best ratio this work allows (every stage in parallel, nothing else running)",
            100.0 * share
        );
    }
    println!(
        "  node:        {:.2} s in Node::submit, {:.2} s waiting for signatures",
        t.submitting.as_secs_f64(),
        t.waiting_for_signatures.as_secs_f64()
    );
    Ok(())
}

/// Commands of the file, encoded with their nonces as the replay encodes
/// them, and their actors' keys.
struct Sample {
    commands: Vec<(SigningKey, Vec<u8>)>,
}

impl Sample {
    fn of(text: &str) -> Sample {
        let mut nonces: HashMap<String, u64> = HashMap::new();
        let mut keys: HashMap<String, SigningKey> = HashMap::new();
        let commands = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .skip(1) // the genesis
            .filter_map(|l| match parse_line(l) {
                Line::Command { actor, body, .. } => Some((actor, body)),
                Line::Rejected(_) => None,
            })
            .take(SAMPLE_COMMANDS)
            .map(|(actor, body)| {
                let nonce = nonces.entry(actor.clone()).or_default();
                *nonce += 1;
                let key = keys.entry(actor.clone()).or_insert_with(|| test_key(&actor)).clone();
                let command = pb::Command {
                    actor: Some(actor),
                    nonce: Some(*nonce),
                    body: Some(body),
                };
                (key, command.encode_to_vec())
            })
            .collect();
        Sample { commands }
    }

    /// Signatures a second on this thread, over the sample again and again
    /// for `each`: the message built and signed as `replay::sign_payload` does.
    fn signing_rate(&self, each: Duration) -> SigningRate {
        let ledger_id = [0x5a; 32];
        let sched = thread_schedstat();
        let started = Instant::now();
        let mut signed = 0u64;
        for chunk in self.commands.chunks(256).cycle() {
            if started.elapsed() >= each {
                break;
            }
            for (key, payload) in chunk {
                std::hint::black_box(key.sign(&signing_message(&ledger_id, payload)));
            }
            signed += chunk.len() as u64;
        }
        let wall = started.elapsed().as_secs_f64();
        let sched = sched.zip(thread_schedstat()).map(|((run0, wait0), (run1, wait1))| {
            let (run, wait) = ((run1 - run0) as f64 / 1e9, (wait1 - wait0) as f64 / 1e9);
            (run, wait)
        });
        SigningRate {
            per_sec: signed as f64 / wall,
            per_cpu_sec: sched.map(|(run, _)| signed as f64 / run),
            waiting_share: sched.map(|(_, wait)| wait / wall),
        }
    }
}

/// One measurement of the single-core signing rate.
#[derive(Clone, Copy)]
struct SigningRate {
    /// Signatures per second of wall-clock time: the ceiling's unit.
    per_sec: f64,
    /// Signatures per second the thread spent on a core (Linux only).
    per_cpu_sec: Option<f64>,
    /// The share of the time the thread was ready but another thread had
    /// its core: how loaded the machine was (Linux only).
    waiting_share: Option<f64>,
}

/// Nanoseconds this thread has spent on a core, and waiting for one
/// while runnable (/proc/thread-self/schedstat; Linux only).
fn thread_schedstat() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut f = s.split_whitespace().map(|x| x.parse::<u64>().ok());
    Some((f.next()??, f.next()??))
}

/// CPU time of this process so far (user and system, every thread), from
/// /proc (Linux only; ticks of 10 ms).
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which ends at the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // utime and stime: fields 14 and 15 of the line, 11 and 12 here.
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}
