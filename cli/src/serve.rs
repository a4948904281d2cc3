//! `carbon serve [--data DIR] [--listen ADDR] [--genesis FILE --operator-key FILE] [--http ADDR]`:
//! the flags of the gRPC service (and the market page), which live in `carbon-server`.

use std::net::SocketAddr;
use std::path::PathBuf;

use carbon_server::{Config, DEFAULT_ORIGIN};

/// Arguments of `carbon serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The data folder: the ledger (sled) and, for a development genesis, keys/.
    #[arg(long, default_value = "./carbon-data")]
    data: PathBuf,
    /// The address to listen on; port 0 picks a free port (printed once listening).
    #[arg(long, default_value = "127.0.0.1:50051")]
    listen: SocketAddr,
    /// A genesis in the replay format (JSON, every public key given) for a new
    /// ledger. Without it a new ledger gets a development genesis with fresh keys.
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// The operator's key file (it signs every checkpoint); default
    /// DIR/keys/<operator>.key.
    #[arg(long)]
    operator_key: Option<PathBuf>,
    /// The checkpoint origin of a new ledger (also the operator's key name in
    /// signed notes).
    #[arg(long, default_value = DEFAULT_ORIGIN)]
    origin: String,
    /// Serve over TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Journal entries between two snapshots of the state (a restart replays
    /// only the entries after the latest); 0: only at a clean stop.
    #[arg(long, value_name = "ENTRIES", default_value_t = carbon_ledger::snapshot::DEFAULT_EVERY_ENTRIES)]
    snapshot_every: u64,
    /// Start even when the operator's key file may be read by others than
    /// its owner (mode not 0600): for development only. Without it such a
    /// key file stops the server.
    #[arg(long)]
    allow_exposed_key: bool,
    /// Also serve the public market page (plain HTTP) on this address, e.g.
    /// 127.0.0.1:8080; port 0 picks a free port. Off unless given.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    carbon_server::run(Config {
        data: a.data,
        listen: a.listen,
        genesis: a.genesis,
        operator_key: a.operator_key,
        origin: a.origin,
        tls: a.tls_cert.zip(a.tls_key),
        snapshot_every: (a.snapshot_every > 0).then_some(a.snapshot_every),
        allow_exposed_key: a.allow_exposed_key,
        http: a.http,
    })
}
