//! `carbon serve [--data DIR] [--listen ADDR] [--genesis FILE --operator-key FILE] [--http ADDR] [--metrics ADDR] [--cluster FILE --node ID]`:
//! the flags of the gRPC service (and the market page and metrics), which
//! live in `carbon-server`, and how the start-up replay of a long journal
//! shows its progress: a bar on a terminal, else a log line every [`LOG_EVERY`].

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use carbon_server::{Config, DEFAULT_ORIGIN};

/// Entries left to replay for which a progress bar is worth drawing.
const BAR_MIN_ENTRIES: u64 = 100_000;

/// Least time between two progress lines in the log (no terminal).
const LOG_EVERY: Duration = Duration::from_secs(5);

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
    /// Serve the operator's metrics in the Prometheus text format on
    /// http://ADDR/metrics (e.g. 127.0.0.1:9100; a port must be given).
    /// Off unless given.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Run as a member of a replicated ledger described by this cluster
    /// file (docs/CLUSTER.md; `carbon cluster init` writes one). The file
    /// then decides --data, --listen, --genesis, --operator-key and
    /// --origin. Needs --node.
    #[arg(long, value_name = "FILE", requires = "node")]
    cluster: Option<PathBuf>,
    /// This member's id in the cluster file.
    #[arg(long, value_name = "ID", requires = "cluster")]
    node: Option<u64>,
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
        metrics: a.metrics,
        cluster: a.cluster.zip(a.node),
        progress: Some(Box::new({
            let mut shown = StartupProgress::new();
            move |done, total| shown.update(done, total)
        })),
    })
}

/// Shows how far the start-up replay is: [`StartupProgress::update`].
struct StartupProgress {
    /// On a terminal: the bar, once a replay long enough has begun.
    bar: Option<indicatif::ProgressBar>,
    terminal: bool,
    started: Instant,
    /// When progress was last logged (no terminal).
    logged: Instant,
    /// Entries done at the last call; whether a line was logged.
    done: u64,
    said: bool,
}

impl StartupProgress {
    fn new() -> StartupProgress {
        let now = Instant::now();
        StartupProgress {
            bar: None,
            terminal: std::io::stderr().is_terminal(),
            started: now,
            logged: now,
            done: 0,
            said: false,
        }
    }

    /// `done` entries of the journal's `total` are replayed. Called once
    /// per entry: draws a bar on a terminal (when at least
    /// [`BAR_MIN_ENTRIES`] are left at the first call), else logs at most
    /// every [`LOG_EVERY`], so a short replay shows nothing.
    fn update(&mut self, done: u64, total: u64) {
        self.done = done;
        if self.terminal {
            match &self.bar {
                Some(bar) if done.is_multiple_of(1024) || done == total => bar.set_position(done),
                Some(_) => {}
                None if total.saturating_sub(done) >= BAR_MIN_ENTRIES => self.bar = Some(Self::bar(done, total)),
                None => {}
            }
        } else if self.logged.elapsed() >= LOG_EVERY {
            self.logged = Instant::now();
            self.said = true;
            tracing::info!(
                "replaying the journal: {done} of {total} entries ({}%) after {} s",
                done * 100 / total.max(1),
                self.started.elapsed().as_secs()
            );
        }
    }

    fn bar(done: u64, total: u64) -> indicatif::ProgressBar {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} replaying the journal [{bar:40}] {human_pos}/{human_len} entries {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        // From a snapshot the replay starts far along: the rate and ETA
        // count from here.
        bar.set_position(done);
        bar.reset_eta();
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}

impl Drop for StartupProgress {
    /// The replay is over (or failed): the bar goes; a log that told of
    /// its progress tells where it ended.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.said {
            tracing::info!(
                "replayed the journal to {} entries in {} s",
                self.done,
                self.started.elapsed().as_secs()
            );
        }
    }
}
