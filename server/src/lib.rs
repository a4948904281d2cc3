//! The gRPC service of Carbon Ledger (`carbon serve`): a library, so that
//! the `carbon` binary keeps only what a person types.
//!
//! Start-up opens the ledger in `--data` (or creates it: from `--genesis`,
//! or a development genesis with fresh keys written to `DIR/keys/`), hands
//! the node to the [sequencer] thread, and serves `carbon.v1.Ledger`
//! ([service]), `grpc.health.v1.Health` and server reflection (v1) until
//! SIGTERM or Ctrl-C. Then the server stops taking calls, finishes those in
//! flight, the sequencer drains its queue and the node is closed.
//!
//! Once listening it prints `listening on <addr>` on stdout, with the real
//! port when `--listen` asks for port 0.
//!
//! With `--http ADDR` it also serves the public market page ([`http`]) on
//! its own listener, started before the gRPC one (it prints `market page on
//! http://<addr>/` first) and stopped with it.

mod auth;
pub mod cluster;
mod connections;
mod feed;
mod genesis;
pub mod http;
pub mod keyfile;
pub mod limits;
mod market;
mod regulator;
mod sequencer;
pub mod service;
mod submit_stream;
mod supervision;
pub mod telemetry;
mod view;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use carbon_ledger::checkpoint::verifier_key_string;
use carbon_proto::v1 as pb;
use tokio::sync::watch;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic_health::ServingStatus;

use genesis::Origin;
pub use genesis::{DEV_OPERATOR, DEV_REGULATORS};
use sequencer::Sequencer;
pub use sequencer::LEADER_METADATA;
use service::LedgerService;

/// The checkpoint origin (and operator key name) of a new ledger.
pub const DEFAULT_ORIGIN: &str = "carbon-ledger.zj";

/// How long a shutdown waits for open calls before cutting them off.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Most concurrent calls on one HTTP/2 connection.
const MAX_HTTP2_STREAMS_PER_CONNECTION: u32 = 1024;

/// HTTP/2 keep-alive: the server pings a connection that has been quiet
/// this long, and closes it when the answer takes longer than the timeout,
/// so that a call held open by a peer that is gone (a stream on a dead
/// network) frees its place within 80 s. An idle connection is closed
/// anyway (`connections::IDLE_TIMEOUT`); pings do not keep it open.
const HTTP2_KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
const HTTP2_KEEPALIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Test hook (fault injection): `CARBON_FAULT_FAIL_FLUSH_AFTER=N` makes every
/// journal flush after the first N of this process fail, as a broken disk
/// would; the server then refuses everything (UNAVAILABLE, health
/// NOT_SERVING). Read once at start-up; for tests only.
const FAULT_FAIL_FLUSH_AFTER: &str = "CARBON_FAULT_FAIL_FLUSH_AFTER";

/// Test hook (fault injection): `CARBON_FAULT_PANIC_AFTER=N` makes the
/// sequencer thread panic when it is about to sequence its batch after the
/// first N, as a bug would; the server then refuses everything
/// (UNAVAILABLE, health NOT_SERVING). Read once at start-up; for tests only.
const FAULT_PANIC_AFTER: &str = "CARBON_FAULT_PANIC_AFTER";

/// A fault hook's number, if its variable is set.
fn fault_hook(name: &str) -> anyhow::Result<Option<u64>> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(
            v.trim()
                .parse()
                .with_context(|| format!("{name}={v:?} is not a number"))?,
        )),
        Err(_) => Ok(None),
    }
}

/// How to run a server: what `carbon serve` is given.
pub struct Config {
    /// The data folder: the ledger (sled) and, for a development genesis, keys/.
    pub data: PathBuf,
    /// The address to listen on; port 0 picks a free port (printed once listening).
    pub listen: SocketAddr,
    /// A genesis in the replay format (JSON, every public key given) for a
    /// new ledger; without it a new ledger gets a development genesis.
    pub genesis: Option<PathBuf>,
    /// The operator's key file (it signs every checkpoint); default
    /// DIR/keys/<operator>.key.
    pub operator_key: Option<PathBuf>,
    /// The checkpoint origin of a new ledger.
    pub origin: String,
    /// TLS certificate chain and private key (PEM files), both or neither.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Journal entries between two snapshots; `None`: only at a clean stop.
    pub snapshot_every: Option<u64>,
    /// Start even when the operator's key file may be read by others than
    /// its owner (with a warning); otherwise such a file stops the server.
    /// For development only.
    pub allow_exposed_key: bool,
    /// Where to serve the public market page (plain HTTP), if anywhere;
    /// port 0 picks a free port (printed once listening).
    pub http: Option<SocketAddr>,
    /// Where to serve the operator's metrics (Prometheus text format, see
    /// [`telemetry`]); `None`: nowhere, and nothing is recorded.
    pub metrics: Option<SocketAddr>,
    /// Run as a member of a replicated ledger: the cluster file and this
    /// member's id. The file then decides the data folder, the listen
    /// address, the genesis, the operator's key and the origin
    /// (docs/CLUSTER.md).
    pub cluster: Option<(PathBuf, cluster::types::MemberId)>,
    /// Told how far the start-up replay of the journal is, as
    /// `(entries done, entries in the journal)`, once per entry replayed
    /// (never when the ledger is new or its snapshot leaves nothing to
    /// replay).
    pub progress: Option<Progress>,
}

/// A start-up progress callback: `(entries done, entries in the journal)`.
pub type Progress = Box<dyn FnMut(u64, u64)>;

/// The server's TLS identity from `--tls-cert` and `--tls-key`, read before
/// anything else starts so that a bad file stops the server at once.
fn tls_config(a: &Config) -> anyhow::Result<Option<ServerTlsConfig>> {
    let Some((cert, key)) = &a.tls else {
        return Ok(None);
    };
    let read =
        |p: &PathBuf, what: &str| std::fs::read(p).with_context(|| format!("reading the TLS {what} {}", p.display()));
    let identity = Identity::from_pem(read(cert, "certificate")?, read(key, "key")?);
    Ok(Some(ServerTlsConfig::new().identity(identity)))
}

/// Runs the server until SIGTERM or Ctrl-C; see the module doc.
pub fn run(mut a: Config) -> anyhow::Result<()> {
    let tls = tls_config(&a)?;
    let member = match &a.cluster {
        Some((file, id)) => {
            let c = cluster::ClusterFile::read(file)?;
            let m = c.member(*id)?.clone();
            a.data = m.data.clone();
            a.listen = m
                .api
                .parse()
                .with_context(|| format!("member {id}: api address {:?}", m.api))?;
            a.genesis = Some(c.genesis.clone());
            a.operator_key = Some(c.operator_key.clone());
            if let Some(origin) = &c.origin {
                a.origin = origin.clone();
            }
            a.snapshot_every = None;
            let marker = cluster::reconcile(&a.data)?;
            Some((c, m, marker))
        }
        None => None,
    };
    // Before anything takes a metric's handle (and so that the start-up
    // replay's snapshot timings are recorded).
    if let Some(addr) = a.metrics {
        telemetry::install(addr)?;
        println!("serving metrics on http://{addr}/metrics");
    }
    let mut progress = a.progress.take();
    let (mut node, origin) = genesis::start(
        &genesis::Config {
            data: &a.data,
            genesis: a.genesis.as_deref(),
            operator_key: a.operator_key.as_deref(),
            origin: &a.origin,
            allow_exposed_key: a.allow_exposed_key,
        },
        &mut |done, total| {
            if let Some(p) = progress.as_mut() {
                p(done, total)
            }
        },
    )?;
    drop(progress);
    // A replicated ledger appends no entry of its own (its members must
    // write identical journals), so it takes no journal snapshot; its
    // consensus layer snapshots instead.
    node.set_snapshot_every(if member.is_some() { None } else { a.snapshot_every });
    if let Some(n) = fault_hook(FAULT_FAIL_FLUSH_AFTER)? {
        tracing::warn!("test hook {FAULT_FAIL_FLUSH_AFTER}={n}: every flush after the next {n} fails");
        node.journal().fail_flushes_after(n);
    }
    let panic_after = fault_hook(FAULT_PANIC_AFTER)?;
    if let Some(n) = panic_after {
        tracing::warn!("test hook {FAULT_PANIC_AFTER}={n}: the sequencer panics after {n} batches");
    }
    let state = node.state();
    let operator = &state.accounts[state.operator as usize];
    let mut out = std::io::stdout().lock();
    match &origin {
        Origin::Opened => match node.last_snapshot_size() {
            0 => writeln!(out, "opened the ledger in {}", a.data.display())?,
            n => writeln!(
                out,
                "opened the ledger in {} (from its snapshot at {n} entries)",
                a.data.display()
            )?,
        },
        Origin::Created => writeln!(out, "created a ledger in {}", a.data.display())?,
        Origin::Development(keys) => {
            writeln!(
                out,
                "created a development ledger in {} with fresh keys (keep them secret):",
                a.data.display()
            )?;
            for (id, path) in keys {
                writeln!(out, "  {id}: {}", path.display())?;
            }
        }
    }
    writeln!(
        out,
        "{} journal entries; operator {}; checkpoint key {}",
        node.len(),
        operator.id,
        verifier_key_string(node.origin(), &operator.public_key)
    )?;
    drop(out);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("carbon-serve")
        .build()?;
    let ledger_id = node.ledger_id();
    let journal = node.journal().reader();
    let raft_log = match member {
        Some(_) => Some(cluster::log_store::LogStore::new(
            node.journal().sidecar("raft_log")?,
            node.journal().sidecar("raft_meta")?,
        )),
        None => None,
    };
    let started = match member {
        Some(_) => Sequencer::start_replicated(node)?,
        None => Sequencer::start(node, panic_after)?,
    };
    let (sequencer, mut handle, keys, view) = (started.sequencer, started.handle, started.keys, started.view);
    let (stop_cluster, cluster_stopping) = watch::channel(false);
    let mut raft = None;
    let mut cluster_server = None;
    if let (Some((c, m, marker)), Some(log)) = (member, raft_log) {
        let faults = cluster::network::Faults::from_env();
        let verified = cluster::proposer::Verified::default();
        let sm = cluster::state_machine::StateMachine::new(
            handle.clone(),
            journal.clone(),
            keys.clone(),
            ledger_id,
            verified.clone(),
            marker,
        );
        let r = runtime.block_on(cluster::start(&c, &m, log, sm, faults.clone()))?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(cluster::cluster_addr(&m)?))?;
        println!("cluster member {} on {}", m.id, listener.local_addr()?);
        let service = cluster::rpc::server(r.clone(), view.clone(), faults);
        let mut stopping = cluster_stopping.clone();
        cluster_server = Some(runtime.spawn(cluster::rpc::serve(listener, service, async move {
            let _ = stopping.wait_for(|s| *s).await;
        })));
        let proposer = runtime.block_on(async { cluster::Proposer::start(r.clone(), m.id, verified) });
        handle = handle.through(std::sync::Arc::new(proposer));
        raft = Some(r);
    }
    let auth = std::sync::Arc::new(auth::Authenticator::new(keys.clone(), ledger_id));
    let connections = connections::Limits::from_env()?;
    let (stop_page, page_stopping) = watch::channel(false);
    let page = a
        .http
        .map(|addr| (addr, http::App::new(view.clone(), journal.clone(), page_stopping)));
    if a.metrics.is_some() {
        runtime.spawn(telemetry::sample(view.clone(), journal.clone()));
    }
    let served = runtime.block_on(serve(
        a.listen,
        tls,
        connections,
        Page { page, stop: stop_page },
        Services {
            raft: raft.clone(),
            market: market::MarketService::new(view.clone(), auth.clone()),
            regulator: regulator::RegulatorService::new(view.clone(), auth.clone(), keys.clone()),
            supervision: supervision::SupervisionService::new(
                view.clone(),
                auth.clone(),
                keys.clone(),
                journal.clone(),
            ),
            ledger: LedgerService::new(handle, view, keys, auth, journal),
        },
        started.failed,
    ));
    // A member stops Raft (its state machine holds a sequencer handle)
    // and its cluster listener first.
    stop_cluster.send_replace(true);
    if let Some(raft) = raft {
        if let Err(e) = runtime.block_on(raft.shutdown()) {
            tracing::warn!("stopping Raft: {e}");
        }
    }
    if let Some(s) = cluster_server {
        let _ = runtime.block_on(s);
    }
    // The service (and with it every sequencer handle) is gone: the
    // sequencer drains its queue and closes the node.
    drop(runtime);
    sequencer.join();
    served
}

/// The market page, when asked for: where, what it serves, and what stops it.
struct Page {
    page: Option<(SocketAddr, http::App)>,
    stop: watch::Sender<bool>,
}

/// Every gRPC service of the server.
struct Services {
    /// A cluster member's Raft, for linearizable reads (`None`: one node).
    raft: Option<cluster::types::Raft>,
    ledger: LedgerService,
    regulator: regulator::RegulatorService,
    market: market::MarketService,
    supervision: supervision::SupervisionService,
}

async fn serve(
    listen: SocketAddr,
    tls: Option<ServerTlsConfig>,
    mut held: connections::Limits,
    page: Page,
    services: Services,
    mut failed: watch::Receiver<Option<String>>,
) -> anyhow::Result<()> {
    let (health, health_svc) = tonic_health::server::health_reporter();
    health
        .set_serving::<pb::ledger_server::LedgerServer<LedgerService>>()
        .await;
    health
        .set_serving::<pb::regulator_server::RegulatorServer<regulator::RegulatorService>>()
        .await;
    health
        .set_serving::<pb::market_server::MarketServer<market::MarketService>>()
        .await;
    health
        .set_serving::<pb::supervision_server::SupervisionServer<supervision::SupervisionService>>()
        .await;
    // Reflection v1, and v1alpha for the clients that speak only that
    // (older grpcurl, grpcui, Postman, grpcio-reflection).
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(carbon_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1().context("building the reflection service")?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .context("building the reflection service (v1alpha)")?;

    // A failed node, or a sequencer thread that is gone (the watch's sender
    // went with it): tell health checkers, for the server and every
    // service (all of them stand on the sequencer); calls are answered
    // UNAVAILABLE.
    let health_watch = {
        let health = health.clone();
        tokio::spawn(async move {
            let why = match failed.wait_for(Option::is_some).await {
                Ok(why) => why.clone().unwrap_or_default(),
                Err(_) => "the sequencer thread has stopped".to_string(),
            };
            tracing::error!("health: NOT_SERVING ({why})");
            for name in [
                "",
                pb::ledger_server::SERVICE_NAME,
                pb::regulator_server::SERVICE_NAME,
                pb::market_server::SERVICE_NAME,
                pb::supervision_server::SERVICE_NAME,
            ] {
                health.set_service_status(name, ServingStatus::NotServing).await;
            }
        })
    };

    // The page first, so that its address is printed before `listening on`.
    let stop_page = page.stop;
    let page_server = match page.page {
        Some((addr, app)) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("serving the market page on {addr}"))?;
            let local = listener.local_addr()?;
            println!("market page on http://{local}/");
            let mut stopping = stop_page.subscribe();
            Some(tokio::spawn(http::serve(listener, app, async move {
                let _ = stopping.wait_for(|s| *s).await;
            })))
        }
        None => None,
    };

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {local}");
    std::io::stdout().flush()?;
    tracing::info!("serving carbon.v1.Ledger on {scheme}://{local}");

    let (stopping_tx, stopping) = tokio::sync::oneshot::channel::<()>();
    let fit = connections::fit_open_files(held.max_open);
    if fit < held.max_open {
        tracing::warn!(
            "the limit on open files leaves room for {fit} connections, not {}: serving at most {fit}",
            held.max_open
        );
        held.max_open = fit;
    }
    let connections = connections::Connections::new(held);
    let incoming = connections::Incoming::new(listener, connections.clone());
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls).context("the TLS certificate and key")?;
    }
    let server = builder
        .max_concurrent_streams(MAX_HTTP2_STREAMS_PER_CONNECTION)
        .http2_keepalive_interval(Some(HTTP2_KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(HTTP2_KEEPALIVE_TIMEOUT))
        .layer(connections::CallLayer(connections))
        .layer(cluster::read_index::ReadIndexLayer(services.raft))
        .add_service(health_svc)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        // Answers up to MAX_ANSWER_BYTES: the largest outcome the rules
        // allow fits (limits.rs); the clients accept as much.
        .add_service(service::server(services.ledger).max_encoding_message_size(limits::MAX_ANSWER_BYTES))
        .add_service(regulator::server(services.regulator).max_encoding_message_size(limits::MAX_ANSWER_BYTES))
        .add_service(market::server(services.market).max_encoding_message_size(limits::MAX_ANSWER_BYTES))
        .add_service(supervision::server(services.supervision).max_encoding_message_size(limits::MAX_ANSWER_BYTES))
        .serve_with_incoming_shutdown(incoming, async move {
            shutdown_signal().await;
            let _ = stopping_tx.send(());
            stop_page.send_replace(true);
        });
    // Graceful shutdown waits for open calls and connections; a client that
    // never lets go must not keep the server up for ever. Cutting calls off
    // then is safe: whatever was acknowledged is durable.
    let grace = async {
        match stopping.await {
            Ok(()) => tokio::time::sleep(SHUTDOWN_GRACE).await,
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        served = server => served.context("serving")?,
        _ = grace => tracing::warn!(
            "calls still open {} s after the signal; stopping anyway",
            SHUTDOWN_GRACE.as_secs()
        ),
    }
    tracing::info!("stopped taking calls");
    // Serving is over: the sequencer stopping from now on is the shutdown,
    // not a failure.
    health_watch.abort();
    if let Some(page) = page_server {
        match tokio::time::timeout(SHUTDOWN_GRACE, page).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::error!("the market page: {e}"),
            Ok(Err(e)) => tracing::error!("the market page's task: {e}"),
            Err(_) => tracing::warn!("the market page still had requests open; stopping anyway"),
        }
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
}
