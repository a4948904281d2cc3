//! Operator metrics: `carbon serve --metrics ADDR` serves the Prometheus
//! text format on `http://ADDR/metrics` (any path answers), through the
//! `metrics` facade and `metrics-exporter-prometheus`'s own HTTP listener,
//! on a thread and runtime of its own. Without the flag no recorder is
//! installed and every handle below is a no-op.
//!
//! # Cost
//!
//! Handles are registered once ([`install`] must run before anything takes
//! one: a handle taken before is a no-op for good) and kept by whoever
//! records, so a record is an atomic operation, never a registry lookup.
//! Per batch the sequencer adds one increment per distinct outcome code of
//! the batch (tallied locally first), two histogram samples and three
//! stores ([`BatchMetrics`]); a handler refusing an envelope before
//! sequencing adds one increment; a read, one histogram sample. What costs
//! a system call (sled's size on disk) is sampled every
//! [`DISK_SAMPLE_EVERY`] by [`sample`], never per batch.
//!
//! # The metrics
//!
//! The names are the constants below (and the ledger's
//! [`carbon_ledger::snapshot::ENCODE_SECONDS`] and
//! [`carbon_ledger::snapshot::WRITE_SECONDS`]); README.md lists them.
//! There is no replication yet, so no replication lag.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use carbon_ledger::code::Code;
use carbon_ledger::journal::JournalReader;
use carbon_ledger::node::Submitted;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::view::View;

/// Counter, label `code`: commands answered, by outcome: `ok` for accepted,
/// else the rulebook's code, whether the command was journalled (rejected
/// by the rules) or refused before sequencing (malformed, bad signature,
/// replayed, unknown account...).
pub const COMMANDS: &str = "carbon_commands_total";
/// Histogram: envelopes in each batch the sequencer hands to the node.
pub const BATCH_ENVELOPES: &str = "carbon_batch_envelopes";
/// Histogram: seconds of `Node::submit` per batch (apply, sign, one flush).
pub const COMMIT_SECONDS: &str = "carbon_batch_commit_seconds";
/// Gauge: envelopes queued for the sequencer and not yet answered, after
/// each batch.
pub const QUEUED_ENVELOPES: &str = "carbon_sequencer_queued_envelopes";
/// Gauge: journal entries (durable), after each batch.
pub const JOURNAL_ENTRIES: &str = "carbon_journal_entries";
/// Counter: bytes of the journal entries appended since the server started.
pub const JOURNAL_APPENDED_BYTES: &str = "carbon_journal_appended_bytes_total";
/// Gauge: bytes of sled's files (journal, indexes), sampled.
pub const JOURNAL_DISK_BYTES: &str = "carbon_journal_disk_bytes";
/// Gauge, label `kind` (`market`, `alert`, `submit`): long-lived calls open.
pub const OPEN_STREAMS: &str = "carbon_open_streams";
/// Gauge: TCP connections open.
pub const OPEN_CONNECTIONS: &str = "carbon_open_connections";
/// Gauge: durable journal entries the read view has not applied yet, sampled.
pub const VIEW_LAG_ENTRIES: &str = "carbon_read_view_lag_entries";
/// Histogram: seconds of a read on the view, its wait for the replica to
/// catch up included.
pub const READ_SECONDS: &str = "carbon_read_seconds";

/// How often [`sample`] sets the sampled gauges other than the disk size.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How often [`sample`] asks sled for its size on disk.
pub const DISK_SAMPLE_EVERY: Duration = Duration::from_secs(15);

/// Bucket bounds: powers of two up to the node's batch bound (4,096).
const BATCH_BUCKETS: [f64; 13] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];
/// Bucket bounds of a flush (a `fdatasync`: tenths of a millisecond on
/// NVMe, tens on a spinning disk).
const COMMIT_BUCKETS: [f64; 14] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Bucket bounds of a read (microseconds on the replica, more when it waits).
const READ_BUCKETS: [f64; 12] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.1, 1.0,
];
/// Bucket bounds of a snapshot's encoding or write (milliseconds to a
/// minute: the state of a million entries encodes in tens of milliseconds).
const SNAPSHOT_BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Starts the exporter's HTTP listener on `addr` and installs its recorder
/// globally, then describes every metric. Call once, before the sequencer
/// and the services are made (they take their handles then).
pub fn install(addr: SocketAddr) -> anyhow::Result<()> {
    anyhow::ensure!(
        addr.port() != 0,
        "--metrics {addr}: give a port (the exporter cannot say which port 0 would pick)"
    );
    // Buckets make each a Prometheus histogram (the exporter's default is
    // a summary, whose quantiles cannot be aggregated across servers).
    let histograms: &[(&str, &[f64])] = &[
        (BATCH_ENVELOPES, &BATCH_BUCKETS),
        (COMMIT_SECONDS, &COMMIT_BUCKETS),
        (READ_SECONDS, &READ_BUCKETS),
        (carbon_ledger::snapshot::ENCODE_SECONDS, &SNAPSHOT_BUCKETS),
        (carbon_ledger::snapshot::WRITE_SECONDS, &SNAPSHOT_BUCKETS),
    ];
    let mut builder = PrometheusBuilder::new().with_http_listener(addr);
    for (name, buckets) in histograms {
        builder = builder.set_buckets_for_metric(Matcher::Full(name.to_string()), buckets)?;
    }
    builder
        .install()
        .with_context(|| format!("serving metrics on {addr}"))?;
    describe();
    carbon_ledger::snapshot::describe_metrics();
    Ok(())
}

/// The HELP text and unit of every metric of the server.
fn describe() {
    describe_counter!(
        COMMANDS,
        "Commands answered, by outcome code: ok for accepted, else the rulebook's code \
         (rejected and journalled, or refused before sequencing)."
    );
    describe_histogram!(
        BATCH_ENVELOPES,
        Unit::Count,
        "Envelopes per batch handed to the node (one flush each: group commit)."
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Time of Node::submit per batch: authenticate, apply, append, sign the checkpoint, flush."
    );
    describe_gauge!(
        QUEUED_ENVELOPES,
        Unit::Count,
        "Envelopes queued for the sequencer and not yet answered, after each batch."
    );
    describe_gauge!(
        JOURNAL_ENTRIES,
        Unit::Count,
        "Durable journal entries (the tree size), after each batch."
    );
    describe_counter!(
        JOURNAL_APPENDED_BYTES,
        Unit::Bytes,
        "Bytes of journal entries appended since the server started (encoded size)."
    );
    describe_gauge!(
        JOURNAL_DISK_BYTES,
        Unit::Bytes,
        "Bytes of the ledger's sled files (journal and indexes), sampled every 15 s."
    );
    describe_gauge!(
        OPEN_STREAMS,
        Unit::Count,
        "Long-lived calls open, by kind: market (order book and execution streams), alert, submit."
    );
    describe_gauge!(OPEN_CONNECTIONS, Unit::Count, "TCP connections open.");
    describe_gauge!(
        VIEW_LAG_ENTRIES,
        Unit::Count,
        "Durable journal entries the read view has not applied yet, sampled every second."
    );
    describe_histogram!(
        READ_SECONDS,
        Unit::Seconds,
        "Time of a read on the read view, its wait for the replica to catch up included."
    );
}

/// The [`COMMANDS`] counters: one handle per outcome, registered once.
/// Cheap to clone.
#[derive(Clone)]
pub struct Outcomes(Arc<OutcomeCounters>);

struct OutcomeCounters {
    ok: Counter,
    /// By `code as usize`, which is the code's place in `Code::ALL`.
    codes: [Counter; Code::ALL.len()],
}

impl Outcomes {
    /// Registers the counters (no-ops when no recorder is installed).
    pub fn register() -> Outcomes {
        debug_assert!(Code::ALL.iter().enumerate().all(|(i, c)| *c as usize == i));
        Outcomes(Arc::new(OutcomeCounters {
            ok: counter!(COMMANDS, "code" => "ok"),
            codes: Code::ALL.map(|c| counter!(COMMANDS, "code" => c.as_str())),
        }))
    }

    /// One command refused with `code` (or `None`: accepted).
    pub fn add(&self, code: Option<Code>, n: u64) {
        match code {
            None => self.0.ok.increment(n),
            Some(c) => self.0.codes[c as usize].increment(n),
        }
    }
}

/// What the sequencer records after each batch.
pub struct BatchMetrics {
    outcomes: Outcomes,
    envelopes: Histogram,
    commit: Histogram,
    queued: Gauge,
    entries: Gauge,
    appended: Counter,
}

impl BatchMetrics {
    /// Registers the handles (no-ops when no recorder is installed).
    pub fn new(outcomes: Outcomes) -> BatchMetrics {
        BatchMetrics {
            outcomes,
            envelopes: histogram!(BATCH_ENVELOPES),
            commit: histogram!(COMMIT_SECONDS),
            queued: gauge!(QUEUED_ENVELOPES),
            entries: gauge!(JOURNAL_ENTRIES),
            appended: counter!(JOURNAL_APPENDED_BYTES),
        }
    }

    /// A batch submitted in `took`, and its answers.
    pub fn batch(&self, answers: &[Submitted], took: Duration) {
        self.envelopes.record(answers.len() as f64);
        self.commit.record(took);
        // One increment per outcome present, not one per envelope.
        let mut ok = 0u64;
        let mut tally = [0u32; Code::ALL.len()];
        for a in answers {
            match &a.result {
                Ok(_) => ok += 1,
                Err(c) => tally[*c as usize] += 1,
            }
        }
        if ok > 0 {
            self.outcomes.add(None, ok);
        }
        for (code, n) in Code::ALL.iter().zip(tally) {
            if n > 0 {
                self.outcomes.add(Some(*code), n.into());
            }
        }
    }

    /// The journal's length, and the bytes appended since the start.
    pub fn journal(&self, entries: u64, appended_bytes: u64) {
        self.entries.set(entries as f64);
        self.appended.absolute(appended_bytes);
    }

    /// Envelopes still queued once a batch is answered.
    pub fn queued(&self, envelopes: usize) {
        self.queued.set(envelopes as f64);
    }
}

/// The [`OPEN_STREAMS`] gauge of one kind of long-lived call.
pub fn open_streams(kind: &'static str) -> Gauge {
    gauge!(OPEN_STREAMS, "kind" => kind)
}

/// The [`OPEN_CONNECTIONS`] gauge.
pub fn open_connections() -> Gauge {
    gauge!(OPEN_CONNECTIONS)
}

/// The [`READ_SECONDS`] histogram.
pub fn read_seconds() -> Histogram {
    histogram!(READ_SECONDS)
}

/// Sets the sampled gauges for as long as the server runs: the read view's
/// lag every [`SAMPLE_EVERY`], sled's size on disk every
/// [`DISK_SAMPLE_EVERY`] (on the blocking pool: it `stat`s files).
pub async fn sample(view: View, journal: JournalReader) {
    let lag = gauge!(VIEW_LAG_ENTRIES);
    let disk = gauge!(JOURNAL_DISK_BYTES);
    let per_disk_sample = (DISK_SAMPLE_EVERY.as_millis() / SAMPLE_EVERY.as_millis()).max(1) as u64;
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0u64.. {
        tick.tick().await;
        lag.set(view.lag() as f64);
        if n % per_disk_sample == 0 {
            let journal = journal.clone();
            match tokio::task::spawn_blocking(move || journal.size_on_disk()).await {
                Ok(Ok(bytes)) => disk.set(bytes as f64),
                Ok(Err(e)) => tracing::debug!("sled's size on disk: {e}"),
                Err(e) => tracing::debug!("sled's size on disk: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_indexes_its_counter() {
        for (i, c) in Code::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{c:?}");
        }
    }
}
