//! `carbon`: the Carbon Ledger command line.

mod audit;
mod bench;
mod bench_reads;
mod bench_replay;
mod client;
mod cluster;
mod gen_day;
mod grpc;
mod progress;
mod regulate;
mod replay_cmd;
mod serve;
mod splitmix;
mod supervise;
mod trade;

use std::io::IsTerminal as _;

use clap::{Parser, Subcommand};

/// Carbon Ledger: the Zhejiang provincial carbon market's signed ledger.
#[derive(Parser)]
#[command(name = "carbon", version, about)]
struct Cli {
    /// How log lines are written on stderr: `text` for a person, `json` for
    /// log shippers (one JSON object a line: timestamp, level, message,
    /// target and the event's other fields). The level is RUST_LOG's
    /// (default info).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs go to stderr (stdout is for answers: reports, JSON, the server's
/// banner), filtered by RUST_LOG; in colour only when stderr is a terminal.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        // Flattened: `message` and the event's fields at the top level, where
        // log shippers look for them.
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC service (defaults: ./carbon-data, 127.0.0.1:50051, a development genesis).
    Serve(serve::Args),
    /// Replay a market-day file (REPLAY.md) and print its report.
    Replay(replay_cmd::Args),
    /// Audit a ledger: verify it offline, show accounts, supply, proofs.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Generate an ed25519 key pair for an account.
    Keygen(client::KeygenArgs),
    /// Sign a command given as JSON and submit it to a server.
    Submit(client::SubmitArgs),
    /// Allocate allowances to an entity (a regulator).
    #[command(subcommand)]
    Allocate(regulate::Allocate),
    /// Emission reports: submit (entity), verify (verifier), confirm or return (regulator).
    #[command(subcommand)]
    Report(regulate::Report),
    /// Surrender allowances or offsets against a year's obligation (an entity).
    Surrender(regulate::Surrender),
    /// Place, cancel and list orders (an entity or investor).
    #[command(subcommand)]
    Order(trade::Order),
    /// Market data: the book, trades, a summary, live updates.
    #[command(subcommand)]
    Market(trade::Market),
    /// Market supervision (regulators, the operator): alerts, positions, halts, groups, limits.
    #[command(subcommand)]
    Supervise(supervise::Supervise),
    /// Load-test a server: throughput, latency percentiles, the signature ceiling
    /// (`carbon bench replay FILE`: the replay against the signing ceiling).
    #[command(args_conflicts_with_subcommands = true)]
    Bench(bench::Args),
    /// Generate a large market-day file (REPLAY.md) for benchmarks.
    GenDay(gen_day::Args),
    /// A replicated ledger (docs/CLUSTER.md): init a development cluster,
    /// each member's status, add and remove members.
    #[command(subcommand)]
    Cluster(cluster::Command),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Replay(a) => replay_cmd::run(a),
        Command::Audit(c) => audit::run(c),
        Command::Keygen(a) => client::keygen(a),
        Command::Submit(a) => client::submit(a),
        Command::Allocate(a) => regulate::allocate(a),
        Command::Report(r) => regulate::report(r),
        Command::Surrender(s) => regulate::surrender(s),
        Command::Order(o) => trade::order(o),
        Command::Market(m) => trade::market(m),
        Command::Supervise(c) => supervise::supervise(c),
        Command::Bench(a) => bench::run(a),
        Command::GenDay(a) => gen_day::run(a),
        Command::Cluster(c) => cluster::run(c),
    }
}
