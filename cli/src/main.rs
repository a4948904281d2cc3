//! `carbon`: the Carbon Ledger command line.

mod replay_cmd;

use clap::{Parser, Subcommand};

/// Carbon Ledger: the Zhejiang provincial carbon market's signed ledger.
#[derive(Parser)]
#[command(name = "carbon", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a market-day file (REPLAY.md) and print its report.
    Replay(replay_cmd::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Replay(a) => replay_cmd::run(a),
    }
}
