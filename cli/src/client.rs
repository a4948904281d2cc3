//! Client commands: `carbon keygen`, `carbon submit`. (To be written.)

/// Arguments of `carbon keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {}

/// Arguments of `carbon submit`.
#[derive(clap::Args)]
pub struct SubmitArgs {}

pub fn keygen(_a: KeygenArgs) -> anyhow::Result<()> {
    anyhow::bail!("carbon keygen is not built yet")
}

pub fn submit(_a: SubmitArgs) -> anyhow::Result<()> {
    anyhow::bail!("carbon submit is not built yet")
}
