//! `carbon serve`: the gRPC service. (To be written.)

/// Arguments of `carbon serve`.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("carbon serve is not built yet")
}
