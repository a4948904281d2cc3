//! `carbon bench`: an open-loop load generator for `carbon.v1.Ledger`.
//!
//! It drives a running server (`--server URL --keys DIR`) or starts one
//! itself (`carbon serve` as a child process on loopback, in a temporary data
//! folder, with a genesis whose operator and regulator hold the REPLAY.md test
//! keys). Then:
//!
//! 1. **Ceiling.** Every core verifies pre-made ed25519 signatures for a
//!    while, once with `verify_batch` and once with the service's strict
//!    check (`carbon_ledger::signature::verify_strict`): the physical limit
//!    of a service that must verify every order. Measured
//!    before the load, in the same run, so the two share the machine's state.
//! 2. **Setup** (untimed). `--enterprises` accounts are created, funded with
//!    cash and allowances, an instrument defined and a trading day opened.
//! 3. **Signing** (untimed). Every order of the run is built and signed
//!    before the clock starts, on all cores.
//! 4. **Warm-up** (untimed). `--warmup-orders` (a tenth of `--orders` by
//!    default) go first, the same way and at the same rate: a fresh
//!    server's first seconds, while its threads and allocator arenas are
//!    set up, are not its steady state (they gave a unary p99 of 24-41 ms
//!    where the steady state gives 4-6 ms).
//! 5. **Load.** `--mode unary` sends one `Submit` per order; `--mode batch`
//!    sends `SubmitBatch` requests of `--batch` orders; `--mode stream` sends
//!    every order on `SubmitStream` calls, one per sender, with up to
//!    [`STREAM_WINDOW_COMMANDS`] unanswered on each. With `--rate R` the
//!    load is open loop: command `i` is *due* at `start + i / R`, and its
//!    latency runs from when it was due, not from when it was sent, so a
//!    stalled server is charged for every command it delayed (coordinated
//!    omission corrected, as in wrk2). Without `--rate` the senders go as
//!    fast as the server answers (closed loop; latency from the send).
//! 6. **Reads** (`--read-rate N`, optional). Beside the timed writes, N
//!    reads a second, open loop, on connections of their own, with their
//!    own latency percentiles ([`crate::bench_reads`]). `--compare` runs
//!    2-5 twice, each on a fresh server, the writes alone and then beside
//!    the reads, and prints how much the reads moved the writes' p99.
//!
//! # Nonce order
//!
//! Nonces are strictly increasing per account: two commands of one
//! enterprise in flight at once could reach the sequencer out of order and
//! the later one be refused `REPLAYED`. So every enterprise belongs to one
//! sender, and a sender has one request in flight at a time. In unary mode
//! there is a sender per enterprise; in batch mode `--senders` senders own
//! the enterprises round-robin. Stream mode deals the enterprises the same
//! way, but a sender has many commands in flight on its one stream: the
//! server sequences a stream's commands in the order sent.
//!
//! # What is counted
//!
//! *Durable* commands are those the server answered with a sequence number:
//! accepted, or rejected by the rulebook after sequencing (both are in the
//! journal, flushed, before the answer). Throughput is durable commands over
//! the wall-clock time from the first send to the last answer.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use carbon_ledger::keys::test_key;
use carbon_ledger::market_day::{parse_line, Line};
use carbon_ledger::replay::sign_command;
use carbon_ledger::state::signing_message;
use carbon_proto::v1 as pb;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hdrhistogram::Histogram;
use prost::Message;
use serde_json::{json, Value};
use tonic::transport::{Channel, Endpoint};

use crate::bench_reads::{ReadLoad, ReadOutcome};
use crate::client::{keyfile, Reader};
use crate::splitmix::SplitMix64;

/// The operator and the regulator of a self-started server (test keys).
const OPERATOR: &str = "ZJ-CEEX";
const REGULATOR: &str = "ZJ-DEE";
const SYMBOL: &str = "ZJEA-2025";

/// Allowances issued to each enterprise at setup.
const ISSUED_TONNES: i64 = 100_000;

/// Signatures per `verify_batch` call when measuring the ceiling.
const CEILING_BATCH: usize = 64;

/// Highest latency the histograms hold (longer ones are clamped).
const MAX_LATENCY_US: u64 = 120_000_000;

/// Stream mode: most commands a sender has sent and not seen answered (the
/// server reads no further ahead than 1024 per stream either).
const STREAM_WINDOW_COMMANDS: usize = 1024;

/// Stream mode: commands queued for a stream's request body ahead of tonic.
const STREAM_SEND_BUFFER: usize = 64;

/// Arguments of `carbon bench`.
#[derive(clap::Args)]
pub struct Args {
    /// Another bench instead of the service's load.
    #[command(subcommand)]
    other: Option<Other>,
    /// A running server; without it the bench starts `carbon serve` on loopback.
    #[arg(long)]
    server: Option<String>,
    /// With --server: the folder holding ZJ-CEEX.key and ZJ-DEE.key (a
    /// development genesis writes them to DATA/keys).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// unary (Submit), batch (SubmitBatch) or stream (SubmitStream).
    #[arg(long, default_value = "batch")]
    mode: Mode,
    /// Simulated enterprises (accounts), each with its own key.
    #[arg(long, default_value_t = 1000)]
    enterprises: usize,
    /// Orders in the timed run (about 10% of them cancels).
    #[arg(long, default_value_t = 100_000)]
    orders: usize,
    /// Orders sent before the timed run, the same way and at the same rate,
    /// and not measured: a fresh server's first seconds (threads and memory
    /// being set up) are not its steady state. Default: a tenth of --orders.
    #[arg(long)]
    warmup_orders: Option<usize>,
    /// Target commands per second (open loop); default: as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
    /// Orders per SubmitBatch request.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Batch and stream modes: concurrent senders (batch: each one request
    /// in flight; stream: each one SubmitStream call), over the connections.
    #[arg(long, default_value_t = 8)]
    senders: usize,
    /// HTTP/2 connections to the server.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Seconds each ceiling measurement runs (0 skips it).
    #[arg(long, default_value_t = 2.0)]
    ceiling_secs: f64,
    /// During the timed run, also send this many forged envelopes a second
    /// (known accounts, signatures by another key) in SubmitBatch requests
    /// of 256 on a connection of their own: the honest load's latency with
    /// and without them shows what a flood of forgeries costs the market.
    #[arg(long, default_value_t = 0.0)]
    forged_per_s: f64,
    /// During the timed run, also read this many times a second, open loop
    /// (GetAccount with read credentials and GetBook, see
    /// --read-account-share), over connections of their own; the reads'
    /// latencies are reported apart from the writes'.
    #[arg(long)]
    read_rate: Option<f64>,
    /// The share of GetAccount among the reads (each signed by the
    /// enterprise whose account it reads); the rest are GetBook. The
    /// server takes at most 200,000 read credentials in two minutes: 0.2
    /// of 50,000 reads/s over a 10 s run is 100,000.
    #[arg(long, default_value_t = 0.2)]
    read_account_share: f64,
    /// The share of GetInclusionProof among the reads (the genesis in the
    /// latest tree, signed by an enterprise: the longest walk).
    #[arg(long, default_value_t = 0.0)]
    read_proof_share: f64,
    /// A self-started server snapshots every this many journal entries
    /// (`serve --snapshot-every`; default: the server's).
    #[arg(long)]
    snapshot_every: Option<u64>,
    /// Connections for the reads; default: one per 1,600 reads a second
    /// (each from its own loopback address, so that no client address
    /// passes the server's read budget of 2,000 a second).
    #[arg(long)]
    read_connections: Option<usize>,
    /// Start a replicated ledger of this many members (`carbon serve
    /// --cluster`, on loopback) instead of one server, and load its
    /// leader. With --compare: first one server, then the cluster, in the
    /// same run, and the ratio of the two.
    #[arg(long, default_value_t = 0)]
    cluster: u64,
    /// Run twice, each time on a fresh server (or the same --server): the
    /// writes alone, then the same writes beside --read-rate reads; print
    /// both and the change in write p99.
    #[arg(long)]
    compare: bool,
    /// Keep the self-started server's data folder here instead of a temporary one.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

/// The benches that are not the service under load.
#[derive(clap::Subcommand)]
enum Other {
    /// Time `carbon replay` of a file against the machine's signing
    /// ceiling (cores x single-core signing rate, measured in the same run).
    Replay(crate::bench_replay::Args),
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Unary,
    Batch,
    Stream,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Unary => "unary",
            Mode::Batch => "batch",
            Mode::Stream => "stream",
        }
    }
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if let Some(Other::Replay(r)) = a.other {
        return crate::bench_replay::run(r);
    }
    if a.enterprises == 0 || a.orders == 0 || a.batch == 0 || a.senders == 0 || a.connections == 0 {
        bail!("--enterprises, --orders, --batch, --senders and --connections must be positive");
    }
    if a.batch > carbon_ledger::node::MAX_BATCH {
        bail!("--batch is at most {}", carbon_ledger::node::MAX_BATCH);
    }
    if a.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number");
    }
    if a.read_rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--read-rate must be a positive number");
    }
    if !(0.0..=1.0).contains(&a.read_account_share) {
        bail!("--read-account-share is a fraction, from 0 to 1");
    }
    if a.compare && a.read_rate.is_none() == (a.cluster == 0) {
        bail!(
            "--compare runs the writes alone then beside --read-rate reads, or one server then --cluster N: \
             give one of them"
        );
    }
    if a.cluster > 0 && (a.server.is_some() || a.data.is_some() || a.snapshot_every.is_some()) {
        bail!("--cluster starts its own members: no --server, --data or --snapshot-every");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let ceiling = if a.ceiling_secs > 0.0 {
        eprintln!("measuring the signature ceiling on {cores} cores...");
        Some(Ceiling::measure(cores, Duration::from_secs_f64(a.ceiling_secs)))
    } else {
        None
    };

    if a.compare && a.cluster > 0 {
        return compare_cluster(&a, cores, ceiling);
    }
    if a.compare {
        eprintln!("phase 1 of 2: the writes alone");
        let mut alone = phase(&a, None, cores)?;
        eprintln!(
            "phase 2 of 2: the writes beside {} reads a second",
            a.read_rate.unwrap_or_default()
        );
        let mut beside = phase(&a, a.read_rate, cores)?;
        alone.ceiling = ceiling;
        beside.ceiling = ceiling;
        let change = beside.write_p99_ms() / alone.write_p99_ms() - 1.0;
        if a.json {
            let out = json!({
                "writes_alone": alone.json(),
                "writes_beside_reads": beside.json(),
                "write_p99_change": change,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            println!("# the writes alone");
            alone.print();
            println!("# the writes beside the reads");
            beside.print();
            println!(
                "write p99: {:.2} ms alone, {:.2} ms beside the reads: {:+.1}%",
                alone.write_p99_ms(),
                beside.write_p99_ms(),
                100.0 * change
            );
        }
        return Ok(());
    }
    let mut report = phase(&a, a.read_rate, cores)?;
    report.ceiling = ceiling;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        report.print();
    }
    Ok(())
}

/// `--cluster N --compare`: the same load on one server, then on the
/// leader of N members, and how the cluster compares.
fn compare_cluster(a: &Args, cores: usize, ceiling: Option<Ceiling>) -> anyhow::Result<()> {
    eprintln!("phase 1 of 2: one server");
    let mut single = phase_on(a, None, cores, 0)?;
    eprintln!("phase 2 of 2: a cluster of {} members", a.cluster);
    let mut cluster = phase_on(a, None, cores, a.cluster)?;
    single.ceiling = ceiling;
    cluster.ceiling = ceiling;
    let throughput = cluster.throughput() / single.throughput();
    let p99 = cluster.write_p99_ms() / single.write_p99_ms();
    if a.json {
        let out = json!({
            "single": single.json(),
            "cluster": cluster.json(),
            "members": a.cluster,
            "throughput_ratio": throughput,
            "p99_ratio": p99,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("# one server");
        single.print();
        println!("# a cluster of {} members (the leader under load)", a.cluster);
        cluster.print();
        println!(
            "cluster / one server: throughput x{throughput:.2} ({:.0} vs {:.0} commands/s), p99 x{p99:.2} ({:.2} vs {:.2} ms)",
            cluster.throughput(),
            single.throughput(),
            cluster.write_p99_ms(),
            single.write_p99_ms()
        );
    }
    Ok(())
}

/// One run of the load on a server of its own (or the given one): setup,
/// signing, warm-up, then the timed writes, beside `reads` reads a second
/// when given.
fn phase(a: &Args, reads: Option<f64>, cores: usize) -> anyhow::Result<Report> {
    phase_on(a, reads, cores, a.cluster)
}

/// [`phase`] on one server (`members` 0) or the leader of a cluster.
fn phase_on(a: &Args, reads: Option<f64>, cores: usize, members: u64) -> anyhow::Result<Report> {
    let mut server = match &a.server {
        Some(url) => Server::External(normalise(url)),
        None if members > 0 => Server::start_cluster(members)?,
        None => Server::start(a.data.as_deref(), a.snapshot_every)?,
    };
    let (operator, regulator) = match (&server, &a.keys) {
        (Server::External(_), Some(dir)) => (
            keyfile::read(&dir.join(format!("{OPERATOR}.key")))?,
            keyfile::read(&dir.join(format!("{REGULATOR}.key")))?,
        ),
        (Server::External(_), None) => bail!("--server needs --keys DIR (with {OPERATOR}.key and {REGULATOR}.key)"),
        // A self-started cluster uses the test keys too.
        _ => (test_key(OPERATOR), test_key(REGULATOR)),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        let url = server.url().to_string();
        let mut channels = Vec::with_capacity(a.connections);
        for _ in 0..a.connections {
            channels.push(connect(&url).await?);
        }
        let tag = run_tag();
        let firms: Vec<String> = (0..a.enterprises).map(|i| format!("B{tag}-E{i:05}")).collect();
        eprintln!("setting up {} enterprises...", firms.len());
        let ledger_id = crate::client::ledger_id(&mut crate::grpc::ledger(channels[0].clone())).await?;
        setup(&channels[0], &ledger_id, &operator, &regulator, &firms).await?;
        let warmup = a.warmup_orders.unwrap_or(a.orders / 10);
        eprintln!("signing {} orders on {cores} cores...", warmup + a.orders);
        let t = Instant::now();
        let (warmup_plan, plan) = Plan::build(&ledger_id, &firms, warmup + a.orders, cores).split(warmup);
        let signing_secs = t.elapsed().as_secs_f64();
        let load = a.rate.map_or("full speed".to_string(), |r| format!("{r} commands/s"));
        let run = |plan| async {
            match a.mode {
                Mode::Unary => run_unary(&channels, plan, a.rate).await,
                Mode::Batch => run_batch(&channels, plan, a.rate, a.batch, a.senders).await,
                Mode::Stream => run_stream(&channels, plan, a.rate, a.senders).await,
            }
        };
        if warmup > 0 {
            eprintln!("signed in {signing_secs:.2} s; warming up: {warmup} orders at {load}, not measured...");
            run(warmup_plan).await;
        }
        let read_load = match reads {
            Some(rate) => {
                let readers = firms
                    .iter()
                    .map(|f| Arc::new(Reader::for_ledger(test_key(f), f, ledger_id)))
                    .collect();
                let load = ReadLoad::connect(
                    &url,
                    rate,
                    (a.read_account_share, a.read_proof_share),
                    a.read_connections,
                    readers,
                    SYMBOL,
                    a.rate.map(|r| a.orders as f64 / r),
                )
                .await?;
                Some(load)
            }
            None => None,
        };
        eprintln!("running {} at {load}...", a.mode.name());
        let flood = (a.forged_per_s > 0.0).then(|| {
            eprintln!("  beside {} forged envelopes a second", a.forged_per_s);
            tokio::spawn(forge(url.clone(), ledger_id, firms.clone(), a.forged_per_s))
        });
        let stop_reads = Arc::new(AtomicBool::new(false));
        let reading = read_load.map(|load| {
            eprintln!("  beside {} reads a second", reads.unwrap_or_default());
            // The writes start 50 ms from now too (`run_senders`).
            let start = Instant::now() + Duration::from_millis(50);
            tokio::spawn(load.run(start, stop_reads.clone()))
        });
        let outcome = run(plan).await;
        stop_reads.store(true, std::sync::atomic::Ordering::Relaxed);
        let reads = match reading {
            Some(task) => Some(task.await.context("the read load failed")?),
            None => None,
        };
        let forged = match flood {
            Some(task) => {
                task.abort();
                FORGED_SENT.load(std::sync::atomic::Ordering::Relaxed)
            }
            None => 0,
        };
        let journal = crate::grpc::ledger(channels[0].clone())
            .get_checkpoint(pb::GetCheckpointRequest::default())
            .await
            .map(|c| c.into_inner().tree_size)
            .ok();
        anyhow::Ok((outcome, reads, journal, signing_secs, warmup, forged))
    });
    drop(runtime);
    let memory = server.memory();
    server.stop();
    let (outcome, reads, journal_entries, signing_secs, warmup_orders, forged_sent) = result?;
    Ok(Report {
        mode: a.mode,
        rate: a.rate,
        enterprises: a.enterprises,
        batch: a.batch,
        senders: if a.mode == Mode::Unary {
            a.enterprises
        } else {
            a.senders.min(a.enterprises)
        },
        connections: a.connections,
        cores,
        signing_secs,
        warmup_orders,
        forged_per_s: a.forged_per_s,
        forged_sent,
        outcome,
        reads,
        ceiling: None,
        journal_entries,
        memory,
    })
}

fn normalise(url: &str) -> String {
    if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    }
}

/// A short tag that keeps one run's account ids apart from earlier runs'.
fn run_tag() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{:x}", micros % 0xff_ffff)
}

async fn connect(url: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(url.to_string())?
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connecting to {url}"))
}

// ---------------------------------------------------------------- server

/// The server under load.
enum Server {
    External(String),
    Child {
        child: Child,
        url: String,
        _tmp: Option<tempfile::TempDir>,
    },
    /// The members of a self-started cluster; `url` is the leader's.
    Cluster {
        members: Vec<Child>,
        url: String,
        _tmp: tempfile::TempDir,
    },
}

/// Resident memory of the server process, from /proc (Linux only).
#[derive(Clone, Copy)]
struct Memory {
    rss_kib: u64,
    peak_kib: u64,
}

impl Server {
    /// Starts `carbon serve` with a test-key genesis and waits until it listens.
    fn start(data: Option<&Path>, snapshot_every: Option<u64>) -> anyhow::Result<Server> {
        let tmp = match data {
            Some(_) => None,
            None => Some(tempfile::tempdir()?),
        };
        let root = data
            .map(Path::to_path_buf)
            .unwrap_or_else(|| tmp.as_ref().unwrap().path().to_path_buf());
        std::fs::create_dir_all(&root)?;
        let (genesis, key) = write_genesis(&root)?;
        let log = std::fs::File::create(root.join("serve.log"))?;
        let mut child = Process::new(std::env::current_exe()?)
            .arg("serve")
            .arg("--data")
            .arg(root.join("ledger"))
            .args(["--listen", "127.0.0.1:0", "--genesis"])
            .arg(&genesis)
            .arg("--operator-key")
            .arg(&key)
            .args(snapshot_every.map(|n| format!("--snapshot-every={n}")))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting carbon serve")?;
        let addr = listening(&mut child, &root.join("serve.log"))?;
        Ok(Server::Child {
            child,
            url: format!("http://{addr}"),
            _tmp: tmp,
        })
    }

    /// Starts `members` members of a cluster on loopback (test-key genesis,
    /// the default Raft timings) and waits until one leads.
    fn start_cluster(members: u64) -> anyhow::Result<Server> {
        let tmp = tempfile::tempdir()?;
        let root = tmp.path();
        let (genesis, key) = write_genesis(root)?;
        let free =
            || -> anyhow::Result<String> { Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string()) };
        let mut listed = Vec::new();
        for id in 1..=members {
            listed.push(json!({"id": id, "api": free()?, "cluster": free()?, "data": format!("member-{id}")}));
        }
        let file = root.join("cluster.json");
        std::fs::write(
            &file,
            json!({"genesis": genesis, "operator_key": key, "members": listed}).to_string(),
        )?;
        let mut children = Vec::new();
        for id in 1..=members {
            let log_path = root.join(format!("serve-{id}.log"));
            let mut child = Process::new(std::env::current_exe()?)
                .args(["serve", "--cluster"])
                .arg(&file)
                .args(["--node", &id.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::from(std::fs::File::create(&log_path)?))
                .spawn()
                .context("starting carbon serve --cluster")?;
            listening(&mut child, &log_path)?;
            children.push(child);
        }
        let c = carbon_server::cluster::ClusterFile::read(&file)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        // The leader a majority names, the same twice a second apart: right
        // after a start a second election can follow the first.
        let deadline = Instant::now() + Duration::from_secs(30);
        let named = || -> Option<u64> {
            let said = runtime.block_on(crate::cluster::statuses(&c));
            let leaders: Vec<u64> = said.into_iter().filter_map(|(_, s)| s.ok()?.leader).collect();
            let first = *leaders.first()?;
            (leaders.iter().filter(|l| **l == first).count() as u64 > members / 2).then_some(first)
        };
        let leader = loop {
            if let Some(l) = named() {
                std::thread::sleep(Duration::from_secs(1));
                if named() == Some(l) {
                    break l;
                }
            }
            if Instant::now() > deadline {
                bail!("no member of the cluster leads; see {}", root.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Ok(Server::Cluster {
            members: children,
            url: format!("http://{}", c.member(leader)?.api),
            _tmp: tmp,
        })
    }

    fn url(&self) -> &str {
        match self {
            Server::External(u) => u,
            Server::Child { url, .. } | Server::Cluster { url, .. } => url,
        }
    }

    fn memory(&self) -> Option<Memory> {
        let Server::Child { child, .. } = self else { return None };
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            line.split_whitespace().nth(1)?.parse().ok()
        };
        Some(Memory {
            rss_kib: field("VmRSS:")?,
            peak_kib: field("VmHWM:")?,
        })
    }

    /// Stops a self-started server (or every member) with SIGTERM (a
    /// clean shutdown) and waits.
    fn stop(&mut self) {
        let children = match self {
            Server::External(_) => return,
            Server::Child { child, .. } => std::slice::from_mut(child),
            Server::Cluster { members, .. } => members.as_mut_slice(),
        };
        for child in children.iter() {
            let _ = Process::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        }
        for child in children {
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Writes the bench's genesis (test keys) and the operator's key file in
/// `root`; returns their paths.
fn write_genesis(root: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let genesis = root.join("bench-genesis.json");
    let key = root.join(format!("{OPERATOR}.key"));
    let hexkey = |id: &str| hex::encode(test_key(id).verifying_key().to_bytes());
    std::fs::write(
        &genesis,
        json!({
            "cmd": "genesis",
            "operator": OPERATOR,
            "operator_public_key": hexkey(OPERATOR),
            "regulators": [{"id": REGULATOR, "jurisdiction": "ZJ", "public_key": hexkey(REGULATOR)}],
        })
        .to_string(),
    )?;
    if !key.exists() {
        keyfile::write(&key, &test_key(OPERATOR))?;
    }
    Ok((genesis, key))
}

/// Waits until a started `carbon serve` prints where it listens; then keeps
/// draining its stdout so that it never blocks on a full pipe.
fn listening(child: &mut Child, log: &Path) -> anyhow::Result<String> {
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(addr) = l.strip_prefix("listening on ") {
                    break addr.trim().to_string();
                }
            }
            _ => {
                let _ = child.kill();
                bail!("carbon serve did not start; see {}", log.display());
            }
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(addr)
}

// ---------------------------------------------------------------- ceiling

/// Signature verifications per second on all cores.
#[derive(Clone, Copy)]
struct Ceiling {
    batch_per_sec: f64,
    strict_per_sec: f64,
}

impl Ceiling {
    fn measure(cores: usize, each: Duration) -> Ceiling {
        // Distinct keys and messages, like a real batch of orders.
        let items: Vec<(Vec<u8>, Signature, VerifyingKey)> = (0..CEILING_BATCH * 4)
            .map(|i| {
                let key = test_key(&format!("CEIL-{i}"));
                let msg = signing_message(
                    &[0; 32],
                    format!("order {i} of a ceiling run, about as long as one").as_bytes(),
                );
                (msg.clone(), key.sign(&msg), key.verifying_key())
            })
            .collect();
        let items = Arc::new(items);
        let run = |batch: bool| -> f64 {
            let start = Instant::now();
            let done: u64 = std::thread::scope(|s| {
                let handles: Vec<_> = (0..cores)
                    .map(|_| {
                        let items = items.clone();
                        s.spawn(move || {
                            let mut n = 0u64;
                            let mut k = 0usize;
                            while start.elapsed() < each {
                                let chunk = &items[k..k + CEILING_BATCH];
                                k = (k + CEILING_BATCH) % items.len();
                                if batch {
                                    let msgs: Vec<&[u8]> = chunk.iter().map(|(m, _, _)| m.as_slice()).collect();
                                    let sigs: Vec<Signature> = chunk.iter().map(|(_, s, _)| *s).collect();
                                    let keys: Vec<VerifyingKey> = chunk.iter().map(|(_, _, k)| *k).collect();
                                    assert!(ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok());
                                } else {
                                    for (m, s, k) in chunk {
                                        assert!(carbon_ledger::signature::verify_strict(k, m, s));
                                    }
                                }
                                n += CEILING_BATCH as u64;
                            }
                            n
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("ceiling thread")).sum()
            });
            done as f64 / start.elapsed().as_secs_f64()
        };
        let batch_per_sec = run(true);
        let strict_per_sec = run(false);
        Ceiling {
            batch_per_sec,
            strict_per_sec,
        }
    }

    /// The limit: the faster of the two ways to verify.
    fn best(&self) -> f64 {
        self.batch_per_sec.max(self.strict_per_sec)
    }
}

// ---------------------------------------------------------------- setup

/// Builds and signs a market-day line as `actor` with `nonce`.
fn signed(
    key: &SigningKey,
    ledger_id: &[u8; 32],
    actor: &str,
    nonce: u64,
    line: Value,
) -> anyhow::Result<pb::SignedCommand> {
    let mut line = line;
    line["as"] = Value::String(actor.into());
    match parse_line(&line.to_string()) {
        Line::Command { actor, mut body, .. } => {
            if let pb::command::Body::CreateAccount(c) = &mut body {
                if let Some(id) = c.id.clone() {
                    c.public_key = Some(test_key(&id).verifying_key().to_bytes().to_vec());
                }
            }
            Ok(sign_command(
                key,
                ledger_id,
                &pb::Command {
                    actor: Some(actor),
                    nonce: Some(nonce),
                    body: Some(body),
                },
            ))
        }
        Line::Rejected(code) => Err(anyhow!("bench command {line} is not well formed: {code}")),
    }
}

/// The last nonce of `id`, read with the operator's credential.
async fn last_nonce(
    client: &mut pb::ledger_client::LedgerClient<Channel>,
    operator: &Reader,
    id: &str,
) -> anyhow::Result<u64> {
    let request = pb::GetAccountRequest { id: id.into() };
    let view = client
        .get_account(operator.request("/carbon.v1.Ledger/GetAccount", request))
        .await
        .with_context(|| format!("reading account {id}"))?;
    Ok(view.into_inner().last_nonce)
}

/// Creates and funds the enterprises, defines the instrument, opens a day.
/// Rejections of the instrument and the day (already there) are fine.
async fn setup(
    channel: &Channel,
    ledger_id: &[u8; 32],
    operator: &SigningKey,
    regulator: &SigningKey,
    firms: &[String],
) -> anyhow::Result<()> {
    let mut client = crate::grpc::ledger(channel.clone()).max_encoding_message_size(64 << 20);
    let reader = Reader::with_key(channel.clone(), operator.clone(), OPERATOR).await?;
    let mut op_nonce = last_nonce(&mut client, &reader, OPERATOR).await?;
    let mut reg_nonce = last_nonce(&mut client, &reader, REGULATOR).await?;
    let mut op = |line: Value| {
        op_nonce += 1;
        signed(operator, ledger_id, OPERATOR, op_nonce, line)
    };
    let mut reg = |line: Value| {
        reg_nonce += 1;
        signed(regulator, ledger_id, REGULATOR, reg_nonce, line)
    };
    // A self-started ledger has no day yet; on a running server a day may
    // already be open (then this is rejected and that day is used).
    let today = "2026-03-02";
    let mut cmds = vec![
        op(json!({"cmd": "define_instrument", "symbol": SYMBOL, "reference_price": "58.00"}))?,
        op(json!({"cmd": "open_day", "date": today}))?,
    ];
    for f in firms {
        cmds.push(reg(
            json!({"cmd": "create_account", "id": f, "role": "entity", "jurisdiction": "ZJ"}),
        )?);
    }
    for f in firms {
        cmds.push(op(json!({"cmd": "deposit", "account": f, "amount": "100000000.00"}))?);
        // Enough to sell every order of a long run, and far below the
        // position limit (RULEBOOK.md 14.1: 1,000,000 t for an entity
        // without an allocation), which would refuse every buy.
        cmds.push(reg(
            json!({"cmd": "issue", "instrument": SYMBOL, "to": f, "qty": ISSUED_TONNES}),
        )?);
    }
    let mut created = 0usize;
    // One request at a time, in order: the nonces of the operator and the
    // regulator must arrive increasing.
    for chunk in cmds.chunks(1024) {
        let r = client
            .submit_batch(pb::SubmitBatchRequest {
                commands: chunk.to_vec(),
            })
            .await
            .context("setting up the enterprises")?
            .into_inner();
        created += r
            .results
            .iter()
            .filter(|x| x.outcome.as_ref().is_some_and(|o| o.ok))
            .count();
    }
    if created < firms.len() * 3 {
        bail!(
            "setup: only {created} of {} account, cash and issuance commands were accepted",
            firms.len() * 3
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- the orders

/// Every order of the run, signed, per enterprise in nonce order.
struct Plan {
    /// `per_firm[e]` holds enterprise `e`'s commands in nonce order.
    per_firm: Vec<Vec<pb::SignedCommand>>,
}

impl Plan {
    /// Orders are dealt round-robin: global command `i` belongs to
    /// enterprise `i % N`. Buys at 57.00-58.20 and sells at 57.80-59.00, so
    /// a share of them trade; one in ten is a cancel of the enterprise's
    /// order of two steps before (rejected if that one has filled).
    fn build(ledger_id: &[u8; 32], firms: &[String], total: usize, cores: usize) -> Plan {
        let n = firms.len();
        let per: Vec<usize> = (0..n).map(|e| total / n + usize::from(e < total % n)).collect();
        let jobs: Vec<(usize, &String, usize)> = firms.iter().enumerate().map(|(e, f)| (e, f, per[e])).collect();
        let mut per_firm: Vec<Vec<pb::SignedCommand>> = vec![Vec::new(); n];
        let bar = crate::progress::bar(total as u64, "signing", "orders");
        std::thread::scope(|s| {
            let chunks: Vec<_> = jobs
                .chunks(n.div_ceil(cores).max(1))
                .map(|chunk| {
                    let bar = &bar;
                    s.spawn(move || {
                        chunk
                            .iter()
                            .map(|&(e, firm, count)| (e, firm_orders(ledger_id, e, firm, count, bar)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in chunks {
                for (e, cmds) in h.join().expect("signing thread") {
                    per_firm[e] = cmds;
                }
            }
        });
        bar.finish_and_clear();
        Plan { per_firm }
    }

    /// The first `first` commands (in the round-robin order `build` deals
    /// them) and the rest: each enterprise's earlier nonces go first.
    fn split(self, first: usize) -> (Plan, Plan) {
        let n = self.per_firm.len();
        let mut head = Vec::with_capacity(n);
        let mut tail = Vec::with_capacity(n);
        for (e, mut cmds) in self.per_firm.into_iter().enumerate() {
            let k = (first / n + usize::from(e < first % n)).min(cmds.len());
            let rest = cmds.split_off(k);
            head.push(cmds);
            tail.push(rest);
        }
        (Plan { per_firm: head }, Plan { per_firm: tail })
    }
}

fn firm_orders(
    ledger_id: &[u8; 32],
    e: usize,
    firm: &str,
    count: usize,
    bar: &indicatif::ProgressBar,
) -> Vec<pb::SignedCommand> {
    let key = test_key(firm);
    let mut rng = SplitMix64(0xbe4c_0000 ^ e as u64);
    (0..count)
        .map(|j| {
            let nonce = j as u64 + 1;
            let body = if j >= 2 && rng.below(10) == 0 {
                pb::command::Body::Cancel(pb::CancelOrder {
                    id: Some(format!("o{}", j - 2)),
                    ..Default::default()
                })
            } else {
                let buy = rng.below(2) == 0;
                let cents = if buy {
                    5700 + rng.below(121)
                } else {
                    5780 + rng.below(121)
                };
                let line = json!({
                    "as": firm, "cmd": "order", "id": format!("o{j}"), "instrument": SYMBOL,
                    "side": if buy { "buy" } else { "sell" }, "type": "limit", "tif": "day",
                    "price": format!("{}.{:02}", cents / 100, cents % 100), "qty": 1 + rng.below(50),
                });
                match parse_line(&line.to_string()) {
                    Line::Command { body, .. } => body,
                    Line::Rejected(code) => panic!("a bench order does not parse: {code}"),
                }
            };
            let signed = sign_command(
                &key,
                ledger_id,
                &pb::Command {
                    actor: Some(firm.to_string()),
                    nonce: Some(nonce),
                    body: Some(body),
                },
            );
            bar.inc(1);
            signed
        })
        .collect()
}

// ---------------------------------------------------------------- the load

/// Forged envelopes sent by [`forge`] so far.
static FORGED_SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Sends forged envelopes (the enterprises' orders signed by another key)
/// at `per_s` in SubmitBatch requests of 256, on a connection of its own,
/// until aborted; checks that each is refused with BAD_SIGNATURE.
async fn forge(url: String, ledger_id: [u8; 32], firms: Vec<String>, per_s: f64) -> anyhow::Result<()> {
    const FORGED_BATCH: usize = 256;
    let forger = test_key("FORGER");
    let pool: Vec<pb::SignedCommand> = (0..4 * FORGED_BATCH)
        .map(|i| {
            let firm = &firms[i % firms.len()];
            let line = json!({"as": firm, "cmd": "order", "id": format!("forged{i}"), "instrument": SYMBOL,
                              "side": "buy", "type": "limit", "tif": "day", "price": "58.00", "qty": 1});
            let Line::Command { actor, body, .. } = parse_line(&line.to_string()) else {
                unreachable!("a well-formed order")
            };
            let command = pb::Command {
                actor: Some(actor),
                nonce: Some(u64::MAX - i as u64),
                body: Some(body),
            };
            sign_command(&forger, &ledger_id, &command)
        })
        .collect();
    let mut client = pb::ledger_client::LedgerClient::new(connect(&url).await?)
        .max_encoding_message_size(64 << 20)
        .max_decoding_message_size(64 << 20);
    let every = Duration::from_secs_f64(FORGED_BATCH as f64 / per_s);
    let mut tick = tokio::time::interval(every);
    for chunk in pool.chunks(FORGED_BATCH).cycle() {
        tick.tick().await;
        let answer = client
            .submit_batch(pb::SubmitBatchRequest {
                commands: chunk.to_vec(),
            })
            .await?
            .into_inner();
        let refused = answer
            .results
            .iter()
            .all(|r| r.outcome.as_ref().is_some_and(|o| o.code == "BAD_SIGNATURE"));
        anyhow::ensure!(refused, "a forged envelope was not refused BAD_SIGNATURE");
        FORGED_SENT.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(())
}

/// What one sender saw.
struct Tally {
    latency: Histogram<u64>,
    accepted: u64,
    /// Rejected by the rulebook after sequencing (journalled, durable).
    rejected: BTreeMap<String, u64>,
    /// Refused before sequencing, or failed in transport.
    refused: BTreeMap<String, u64>,
    first_send: Option<Instant>,
    last_answer: Option<Instant>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latency: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("histogram bounds"),
            accepted: 0,
            rejected: BTreeMap::new(),
            refused: BTreeMap::new(),
            first_send: None,
            last_answer: None,
        }
    }

    fn record(&mut self, due: Instant, n: u64) {
        let us = (due.elapsed().as_micros() as u64).clamp(1, MAX_LATENCY_US);
        self.latency.record_n(us, n).expect("clamped to the bounds");
        self.last_answer = Some(Instant::now());
    }

    fn result(&mut self, r: &pb::CommandResult) {
        let o = r.outcome.as_ref();
        match o {
            Some(o) if o.ok => self.accepted += 1,
            Some(o) if r.seq != 0 => *self.rejected.entry(o.code.clone()).or_default() += 1,
            Some(o) => *self.refused.entry(o.code.clone()).or_default() += 1,
            None => *self.refused.entry("NO_OUTCOME".into()).or_default() += 1,
        }
    }

    /// A unary Submit's error: a rejection (journalled or not) or a failure.
    fn rejection(&mut self, status: &tonic::Status) {
        let rej = pb::Rejection::decode(status.details())
            .ok()
            .filter(|r| !r.code.is_empty());
        match rej {
            Some(r) if status.message().contains("journalled") => *self.rejected.entry(r.code).or_default() += 1,
            Some(r) => *self.refused.entry(r.code).or_default() += 1,
            None => self.failed(status, 1),
        }
    }

    /// `n` commands lost to a failed call.
    fn failed(&mut self, status: &tonic::Status, n: u64) {
        *self.refused.entry(format!("{:?}", status.code())).or_default() += n;
    }

    fn merge(&mut self, other: Tally) {
        self.latency.add(&other.latency).expect("same bounds");
        self.accepted += other.accepted;
        for (k, v) in other.rejected {
            *self.rejected.entry(k).or_default() += v;
        }
        for (k, v) in other.refused {
            *self.refused.entry(k).or_default() += v;
        }
        self.first_send = match (self.first_send, other.first_send) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_answer = self.last_answer.max(other.last_answer);
    }

    fn durable(&self) -> u64 {
        self.accepted + self.rejected.values().sum::<u64>()
    }
}

/// The run's results.
struct Outcome {
    tally: Tally,
    sent: usize,
    elapsed: Duration,
}

/// When command `i` of the run is due, at `rate` per second.
fn due(start: Instant, rate: Option<f64>, i: usize) -> Option<Instant> {
    rate.map(|r| start + Duration::from_secs_f64(i as f64 / r))
}

/// One sender's share of the run, handed to its task by [`run_senders`].
struct Sender {
    /// Its index among the senders (its place in the due-time order).
    index: usize,
    /// Its commands, each enterprise's in nonce order.
    commands: Vec<pb::SignedCommand>,
    client: pb::ledger_client::LedgerClient<Channel>,
}

/// Runs one task per queue of commands, sender `w` on connection
/// `w % connections`, all starting together; `body` is what a sender does.
async fn run_senders<F, Fut>(channels: &[Channel], queues: Vec<Vec<pb::SignedCommand>>, body: F) -> Outcome
where
    F: Fn(Sender, Instant) -> Fut,
    Fut: std::future::Future<Output = Tally> + Send + 'static,
{
    let total = queues.iter().map(Vec::len).sum();
    // Start a little in the future so every sender is waiting when it begins.
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(queues.len());
    for (index, commands) in queues.into_iter().enumerate() {
        let client = crate::grpc::ledger(channels[index % channels.len()].clone()).max_encoding_message_size(64 << 20);
        let work = body(
            Sender {
                index,
                commands,
                client,
            },
            start,
        );
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            work.await
        }));
    }
    finish(tasks, total).await
}

/// Deals the enterprises' commands to `senders` senders: sender `w` owns
/// enterprises `w, w + senders, ...` and gets their commands in rounds (one
/// from each of its enterprises), so an enterprise's commands stay in nonce
/// order within one sender.
fn deal(plan: Plan, senders: usize) -> Vec<Vec<pb::SignedCommand>> {
    let mut queues: Vec<Vec<pb::SignedCommand>> = vec![Vec::new(); senders];
    let mut per_firm: Vec<std::vec::IntoIter<pb::SignedCommand>> =
        plan.per_firm.into_iter().map(Vec::into_iter).collect();
    loop {
        let mut any = false;
        for (e, it) in per_firm.iter_mut().enumerate() {
            if let Some(c) = it.next() {
                queues[e % senders].push(c);
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    queues
}

async fn run_unary(channels: &[Channel], plan: Plan, rate: Option<f64>) -> Outcome {
    // A sender per enterprise: global command j * n + e is its j-th.
    let n = plan.per_firm.len();
    run_senders(channels, plan.per_firm, |s, start| async move {
        let Sender {
            index: e,
            commands,
            mut client,
        } = s;
        let mut t = Tally::new();
        for (j, env) in commands.into_iter().enumerate() {
            let due_at = due(start, rate, j * n + e);
            if let Some(d) = due_at {
                tokio::time::sleep_until(d.into()).await;
            }
            let sent = Instant::now();
            t.first_send.get_or_insert(sent);
            let answer = client.submit(env).await;
            t.record(due_at.unwrap_or(sent), 1);
            match answer {
                Ok(r) => t.result(&r.into_inner()),
                Err(status) => t.rejection(&status),
            }
        }
        t
    })
    .await
}

async fn run_batch(channels: &[Channel], plan: Plan, rate: Option<f64>, batch: usize, senders: usize) -> Outcome {
    let senders = senders.min(plan.per_firm.len());
    run_senders(channels, deal(plan, senders), |s, start| async move {
        let Sender {
            index: w,
            commands,
            mut client,
        } = s;
        let mut t = Tally::new();
        let mut q = commands.into_iter().peekable();
        let mut b = 0usize;
        while q.peek().is_some() {
            let commands: Vec<pb::SignedCommand> = q.by_ref().take(batch).collect();
            let len = commands.len() as u64;
            // Batches are due in turn across the senders.
            let due_at = due(start, rate, (b * senders + w) * batch);
            b += 1;
            if let Some(d) = due_at {
                tokio::time::sleep_until(d.into()).await;
            }
            let sent = Instant::now();
            t.first_send.get_or_insert(sent);
            let answer = client.submit_batch(pb::SubmitBatchRequest { commands }).await;
            t.record(due_at.unwrap_or(sent), len);
            match answer {
                Ok(r) => {
                    for x in &r.into_inner().results {
                        t.result(x);
                    }
                }
                Err(status) => t.failed(&status, len),
            }
        }
        t
    })
    .await
}

/// Each sender opens one SubmitStream. A feeder task sends its commands as
/// they fall due (or at once, closed loop), while the sender reads the
/// answers; they come back in the order sent, so the k-th answer is the
/// k-th command's and its latency runs from that command's due (or send)
/// time, kept in a queue that is also the window.
async fn run_stream(channels: &[Channel], plan: Plan, rate: Option<f64>, senders: usize) -> Outcome {
    let senders = senders.min(plan.per_firm.len());
    run_senders(channels, deal(plan, senders), |s, start| async move {
        let Sender {
            index: w,
            commands,
            mut client,
        } = s;
        let mut t = Tally::new();
        let total = commands.len();
        let (dues_tx, mut dues_rx) = tokio::sync::mpsc::channel::<Instant>(STREAM_WINDOW_COMMANDS);
        let (envs_tx, envs_rx) = tokio::sync::mpsc::channel::<pb::SignedCommand>(STREAM_SEND_BUFFER);
        let first_send = Arc::new(std::sync::OnceLock::<Instant>::new());
        let feeder = {
            let first_send = first_send.clone();
            tokio::spawn(async move {
                for (j, env) in commands.into_iter().enumerate() {
                    // Commands are due in turn across the senders, as dealt.
                    let due_at = due(start, rate, j * senders + w);
                    if let Some(d) = due_at {
                        tokio::time::sleep_until(d.into()).await;
                    }
                    // Room in the window first; a closed loop's latency runs from then.
                    let Ok(slot) = dues_tx.reserve().await else { return };
                    let sent = Instant::now();
                    first_send.get_or_init(|| sent);
                    slot.send(due_at.unwrap_or(sent));
                    if envs_tx.send(env).await.is_err() {
                        return;
                    }
                }
            })
        };
        let mut answered = 0usize;
        match client
            .submit_stream(tokio_stream::wrappers::ReceiverStream::new(envs_rx))
            .await
        {
            Ok(answers) => {
                let mut answers = answers.into_inner();
                loop {
                    match answers.message().await {
                        Ok(Some(r)) => {
                            let Some(due_at) = dues_rx.recv().await else {
                                *t.refused.entry("ANSWER_WITHOUT_COMMAND".into()).or_default() += 1;
                                break;
                            };
                            t.record(due_at, 1);
                            t.result(&r);
                            answered += 1;
                        }
                        Ok(None) => break,
                        Err(status) => {
                            t.failed(&status, (total - answered) as u64);
                            answered = total;
                            break;
                        }
                    }
                }
            }
            Err(status) => {
                t.failed(&status, total as u64);
                answered = total;
            }
        }
        if answered < total {
            *t.refused.entry("UNANSWERED".into()).or_default() += (total - answered) as u64;
        }
        feeder.abort();
        t.first_send = first_send.get().copied();
        t
    })
    .await
}

async fn finish(tasks: Vec<tokio::task::JoinHandle<Tally>>, sent: usize) -> Outcome {
    let mut tally = Tally::new();
    for t in tasks {
        match t.await {
            Ok(x) => tally.merge(x),
            Err(e) => *tally.refused.entry(format!("sender failed: {e}")).or_default() += 1,
        }
    }
    let elapsed = match (tally.first_send, tally.last_answer) {
        (Some(a), Some(b)) => b.saturating_duration_since(a),
        _ => Duration::ZERO,
    };
    Outcome { tally, sent, elapsed }
}

// ---------------------------------------------------------------- the report

struct Report {
    mode: Mode,
    rate: Option<f64>,
    enterprises: usize,
    batch: usize,
    senders: usize,
    connections: usize,
    cores: usize,
    signing_secs: f64,
    /// Orders sent before the timed run and not measured.
    warmup_orders: usize,
    /// The forged flood beside the run: its rate, and envelopes sent.
    forged_per_s: f64,
    forged_sent: u64,
    outcome: Outcome,
    /// The read load beside the writes, if any.
    reads: Option<ReadOutcome>,
    ceiling: Option<Ceiling>,
    journal_entries: Option<u64>,
    memory: Option<Memory>,
}

impl Report {
    fn throughput(&self) -> f64 {
        let secs = self.outcome.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.outcome.tally.durable() as f64 / secs
        } else {
            0.0
        }
    }

    /// The writes' p99 latency, ms.
    fn write_p99_ms(&self) -> f64 {
        self.outcome.tally.latency.value_at_quantile(0.99) as f64 / 1000.0
    }

    fn percentiles(&self) -> Vec<(&'static str, f64)> {
        crate::bench_reads::percentiles(&self.outcome.tally.latency)
    }

    fn json(&self) -> Value {
        let t = &self.outcome.tally;
        let lat: serde_json::Map<String, Value> = self
            .percentiles()
            .into_iter()
            .map(|(k, v)| (format!("{k}_ms"), json!(v)))
            .collect();
        json!({
            "mode": self.mode.name(),
            "target_rate": self.rate,
            "enterprises": self.enterprises,
            "batch": if self.mode == Mode::Batch { Some(self.batch) } else { None },
            "stream_window": if self.mode == Mode::Stream { Some(STREAM_WINDOW_COMMANDS) } else { None },
            "senders": self.senders,
            "connections": self.connections,
            "cores": self.cores,
            "signing_secs": self.signing_secs,
            "warmup_orders": self.warmup_orders,
            "forged_per_sec": self.forged_per_s,
            "forged_sent": self.forged_sent,
            "sent": self.outcome.sent,
            "durable": t.durable(),
            "accepted": t.accepted,
            "rejected": t.rejected,
            "refused": t.refused,
            "elapsed_secs": self.outcome.elapsed.as_secs_f64(),
            "throughput_per_sec": self.throughput(),
            "latency": lat,
            "latency_corrected_for_coordinated_omission": self.rate.is_some(),
            "ceiling": self.ceiling.as_ref().map(|c| json!({
                "batch_verify_per_sec": c.batch_per_sec,
                "strict_verify_per_sec": c.strict_per_sec,
                "ratio": self.throughput() / c.best(),
            })),
            "reads": self.reads.as_ref().map(ReadOutcome::json),
            "journal_entries": self.journal_entries,
            "server_memory": self.memory.map(|m| json!({"rss_mib": m.rss_kib as f64 / 1024.0, "peak_mib": m.peak_kib as f64 / 1024.0})),
        })
    }

    fn print(&self) {
        let t = &self.outcome.tally;
        println!(
            "carbon bench: {} ({}), {} enterprises, {} senders over {} connections, {} cores",
            self.mode.name(),
            match self.mode {
                Mode::Unary => "one order per Submit".to_string(),
                Mode::Batch => format!("{} orders per SubmitBatch", self.batch),
                Mode::Stream =>
                    format!("one SubmitStream per sender, up to {STREAM_WINDOW_COMMANDS} orders in flight on each"),
            },
            self.enterprises,
            self.senders,
            self.connections,
            self.cores
        );
        println!(
            "  load:        {}",
            self.rate.map_or(
                "as fast as possible (closed loop; latency from the send)".into(),
                |r| format!("{r} commands/s open loop (latency from when each was due)")
            )
        );
        println!(
            "  signed:      {} orders, and {} to warm up (sent first, not measured), in {:.2} s before the run",
            self.outcome.sent, self.warmup_orders, self.signing_secs
        );
        if self.forged_sent > 0 {
            println!(
                "  forged:      {} envelopes beside the run (target {}/s), every one BAD_SIGNATURE",
                self.forged_sent, self.forged_per_s
            );
        }
        println!(
            "  durable:     {} of {} ({} accepted, {} rejected by the rulebook{})",
            t.durable(),
            self.outcome.sent,
            t.accepted,
            t.rejected.values().sum::<u64>(),
            if t.refused.is_empty() {
                String::new()
            } else {
                format!("; refused or failed: {:?}", t.refused)
            }
        );
        println!(
            "  throughput:  {:.0} durable commands/s over {:.2} s",
            self.throughput(),
            self.outcome.elapsed.as_secs_f64()
        );
        let lat: Vec<String> = self.percentiles().iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
        println!("  latency ms:  {}", lat.join("  "));
        if let Some(c) = &self.ceiling {
            println!(
                "  ceiling:     {:.0} signatures/s (verify_batch, {} cores); {:.0}/s strict (the service's check)",
                c.batch_per_sec, self.cores, c.strict_per_sec
            );
            println!(
                "  ratio:       {:.1}% of the ceiling",
                100.0 * self.throughput() / c.best()
            );
        }
        if let Some(r) = &self.reads {
            r.print();
        }
        if let Some(j) = self.journal_entries {
            println!("  journal:     {j} entries");
        }
        if let Some(m) = self.memory {
            println!(
                "  server RSS:  {:.0} MiB (peak {:.0} MiB)",
                m.rss_kib as f64 / 1024.0,
                m.peak_kib as f64 / 1024.0
            );
        }
    }
}
