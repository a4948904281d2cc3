//! `carbon audit ...`. (To be written.)

/// The audit subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify a ledger offline.
    Verify,
}

pub fn run(_c: Command) -> anyhow::Result<()> {
    anyhow::bail!("carbon audit is not built yet")
}
