//! The read load of `carbon bench --read-rate N`: reads beside the timed
//! write run, to show what they cost the writes.
//!
//! **Open loop.** Read `i` is due at `start + i / N` whatever happened to
//! the reads before it: a dispatcher starts each one at its due time on its
//! own task (at most [`MAX_READS_IN_FLIGHT`] at once), and its latency runs
//! from when it was due (coordinated omission corrected). It runs from the
//! write run's start until the writes are done.
//!
//! **The mix.** A share of the reads (`--read-account-share`) are
//! `Ledger/GetAccount` of an enterprise's own account, each with a fresh
//! read credential signed by the enterprise (docs/SIGNING.md: the server
//! takes each credential once, so every read is signed anew, on the
//! client, when it is sent); the rest are `Market/GetBook` of the bench's
//! instrument, public market data sent without a credential.
//!
//! **Read budgets.** The server spends a token of the client address's
//! bucket for every read, and of the account's for an authenticated one
//! (`carbon_server::auth`: 2,000 a second per address, 500 per account).
//! The reads therefore go over one connection per
//! [`READS_PER_ADDRESS`] a second, and, when the server is on loopback,
//! each connection from its own address (127.0.0.2, 127.0.0.3, ...: all of
//! 127.0.0.0/8 is this machine), as that many clients would; a GetAccount
//! is spread over the enterprises (one reader each). Against a server on
//! another host every connection comes from one address, whose budget then
//! caps the reads (the bench warns). The server also remembers every
//! credential it took for two minutes, at most 200,000 of them, and
//! refuses new ones past that: signed reads are capped at 200,000 in any
//! two minutes over the whole server (the bench warns when a run would
//! pass it; the default share of GetAccount, 0.2, keeps 50,000 reads/s for
//! 10 s under it).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use carbon_proto::v1 as pb;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tonic::transport::{Channel, Endpoint};

use crate::client::Reader;
use crate::splitmix::SplitMix64;

/// The server's read budgets, sustained reads a second per client address
/// and per account: `READS_PER_ADDRESS_PER_S` and `READS_PER_ACCOUNT_PER_S`
/// of `server/src/auth.rs`, which the server crate does not export. Should
/// they change there, the bench sees RESOURCE_EXHAUSTED among its reads.
const READS_PER_ADDRESS_PER_S: u32 = 2_000;
const READS_PER_ACCOUNT_PER_S: u32 = 500;

/// Read credentials the server remembers against replay, each for twice
/// the freshness window (two minutes): `MAX_REMEMBERED` of
/// `server/src/auth.rs`. Past it, new credentials are refused
/// RESOURCE_EXHAUSTED, so authenticated reads over the server are capped
/// at 200,000 in any two minutes (1,667 a second sustained).
const SERVER_REMEMBERED_CREDENTIALS: f64 = 200_000.0;

/// Reads a second the bench sends from one client address: four fifths of
/// the server's budget per address, so that its token bucket never runs dry.
pub const READS_PER_ADDRESS: f64 = READS_PER_ADDRESS_PER_S as f64 * 0.8;

/// Reads a second one account may be asked for, likewise.
const READS_PER_ACCOUNT: f64 = READS_PER_ACCOUNT_PER_S as f64 * 0.8;

/// Reads started and not yet answered, at most (bounds the client's memory
/// when the server stalls; the dispatcher then waits, and the waiting is
/// charged to the reads' latency).
pub const MAX_READS_IN_FLIGHT: usize = 10_000;

/// Highest latency the histograms hold, µs (longer ones are clamped).
const MAX_LATENCY_US: u64 = 120_000_000;

/// The read load, ready to run: its connections and the enterprises' readers.
pub struct ReadLoad {
    /// Reads a second.
    rate: f64,
    /// The share of GetAccount among the reads, 0 to 1.
    account_share: f64,
    /// The share of GetInclusionProof among the reads, 0 to 1.
    proof_share: f64,
    channels: Vec<Channel>,
    /// The source address of each connection, when chosen by the bench.
    addresses: Vec<Option<IpAddr>>,
    readers: Vec<Arc<Reader>>,
    instrument: String,
}

/// What to read: an enterprise's account (its index), the book, or an
/// inclusion proof of the genesis (the oldest entry: the longest walk)
/// in the latest tree, asked by an enterprise.
#[derive(Clone, Copy)]
enum Read {
    Account(usize),
    Book,
    Proof(usize),
}

impl ReadLoad {
    /// Opens the connections for `rate` reads a second to `url` (at least
    /// `connections`), each from its own loopback address when the server
    /// is on loopback; `firms` are the enterprises that read their
    /// accounts, with their keys.
    /// `expected_secs` is how long the run should last, when known (an
    /// open-loop write run): checked against the server's memory of
    /// credentials. The shares are those of GetAccount and of proofs.
    pub async fn connect(
        url: &str,
        rate: f64,
        (account_share, proof_share): (f64, f64),
        connections: Option<usize>,
        firms: Vec<Arc<Reader>>,
        instrument: &str,
        expected_secs: Option<f64>,
    ) -> anyhow::Result<ReadLoad> {
        if firms.is_empty() && account_share + proof_share > 0.0 {
            bail!("GetAccount and proof reads need enterprises");
        }
        if account_share + proof_share > 1.0 {
            bail!("--read-account-share and --read-proof-share add up to more than 1");
        }
        let per_account = rate * (account_share + proof_share) / firms.len().max(1) as f64;
        if per_account > READS_PER_ACCOUNT {
            bail!(
                "{per_account:.0} GetAccount reads a second of each of {} enterprises is above the server's \
                 budget of {READS_PER_ACCOUNT_PER_S} per account: give more --enterprises or a lower \
                 --read-account-share",
                firms.len()
            );
        }
        let window_secs = 2.0 * carbon_ledger::credential::FRESHNESS_MS as f64 / 1000.0;
        let credentials = rate * (account_share + proof_share) * expected_secs.unwrap_or(window_secs).min(window_secs);
        if credentials > SERVER_REMEMBERED_CREDENTIALS {
            tracing::warn!(
                "about {credentials:.0} signed reads within two minutes: the server remembers at most \
                 {SERVER_REMEMBERED_CREDENTIALS} credentials for that long and refuses the rest \
                 (RESOURCE_EXHAUSTED); lower --read-account-share or the run's length"
            );
        }
        let needed = (rate / READS_PER_ADDRESS).ceil() as usize;
        let count = connections.unwrap_or(needed).max(1);
        let loopback = loopback_host(url);
        if !loopback && rate > READS_PER_ADDRESS {
            tracing::warn!(
                "the server is not on loopback: every read comes from this host's one address, whose read \
                 budget ({READS_PER_ADDRESS_PER_S}/s) caps the load; expect RESOURCE_EXHAUSTED above it"
            );
        } else if loopback && count < needed {
            tracing::warn!("{count} read connections (addresses) for {rate}/s: the per-address budget caps them");
        }
        let mut channels = Vec::with_capacity(count);
        let mut addresses = Vec::with_capacity(count);
        for k in 0..count {
            let address = loopback.then(|| loopback_address(k));
            let channel = Endpoint::from_shared(url.to_string())?
                .tcp_nodelay(true)
                .local_address(address)
                .connect()
                .await
                .with_context(|| format!("connecting to {url} from {address:?} for reads"))?;
            channels.push(channel);
            addresses.push(address);
        }
        Ok(ReadLoad {
            rate,
            account_share,
            proof_share,
            channels,
            addresses,
            readers: firms,
            instrument: instrument.to_string(),
        })
    }

    /// Runs the load from `start` until `stop` is set, then waits for the
    /// reads in flight.
    pub async fn run(self, start: Instant, stop: Arc<AtomicBool>) -> ReadOutcome {
        let tally = Arc::new(Mutex::new(ReadTally::new()));
        let in_flight = Arc::new(Semaphore::new(MAX_READS_IN_FLIGHT));
        let mut rng = SplitMix64(0x4ead_5eed);
        let share_ppm = (self.account_share * 1e6) as u64;
        let proof_ppm = share_ppm + (self.proof_share * 1e6) as u64;
        let mut sent = 0u64;
        tokio::time::sleep_until(start.into()).await;
        while !stop.load(Ordering::Relaxed) {
            let due = start + Duration::from_secs_f64(sent as f64 / self.rate);
            tokio::time::sleep_until(due.into()).await;
            let permit = in_flight.clone().acquire_owned().await.expect("never closed");
            let pick = rng.below(1_000_000);
            let read = if pick < share_ppm {
                Read::Account(rng.below(self.readers.len() as u64) as usize)
            } else if pick < proof_ppm {
                Read::Proof(rng.below(self.readers.len() as u64) as usize)
            } else {
                Read::Book
            };
            let channel = self.channels[sent as usize % self.channels.len()].clone();
            let (tally, readers, instrument) = (tally.clone(), self.readers.clone(), self.instrument.clone());
            tokio::spawn(async move {
                let answer = match read {
                    Read::Account(f) => {
                        let reader = &readers[f];
                        let id = reader.account().to_string();
                        let request = reader.request("/carbon.v1.Ledger/GetAccount", pb::GetAccountRequest { id });
                        crate::grpc::ledger(channel).get_account(request).await.map(drop)
                    }
                    Read::Proof(f) => {
                        let reader = &readers[f];
                        let request = reader.request(
                            "/carbon.v1.Ledger/GetInclusionProof",
                            pb::InclusionProofRequest { seq: 0, tree_size: 0 },
                        );
                        crate::grpc::ledger(channel)
                            .get_inclusion_proof(request)
                            .await
                            .map(drop)
                    }
                    Read::Book => crate::grpc::market(channel)
                        .get_book(pb::GetBookRequest { instrument, depth: 10 })
                        .await
                        .map(drop),
                };
                tally
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .record(read, due, answer);
                drop(permit);
            });
            sent += 1;
        }
        // The reads in flight, for as long as they may reasonably take.
        let all = MAX_READS_IN_FLIGHT as u32;
        let _ = tokio::time::timeout(Duration::from_secs(30), in_flight.acquire_many(all)).await;
        let tally = std::mem::replace(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()), ReadTally::new());
        ReadOutcome {
            rate: self.rate,
            account_share: self.account_share,
            connections: self.channels.len(),
            own_addresses: self.addresses.iter().flatten().count(),
            sent,
            elapsed: tally
                .last_answer
                .map_or(Duration::ZERO, |t| t.saturating_duration_since(start)),
            tally,
        }
    }
}

/// True when `url` names this machine over IPv4 loopback (where the bench
/// can choose among 127.0.0.0/8 for each connection's source).
fn loopback_host(url: &str) -> bool {
    let host = url
        .split("://")
        .last()
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "localhost" || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// The `k`-th source address for reads: 127.0.0.2, 127.0.0.3, ...
fn loopback_address(k: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)) + k as u32))
}

/// What the reads saw.
struct ReadTally {
    latency: Histogram<u64>,
    account_latency: Histogram<u64>,
    book_latency: Histogram<u64>,
    proof_latency: Histogram<u64>,
    ok: u64,
    /// Failed reads by gRPC status code.
    failed: BTreeMap<String, u64>,
    last_answer: Option<Instant>,
}

impl ReadTally {
    fn new() -> ReadTally {
        let histogram = || Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("histogram bounds");
        ReadTally {
            latency: histogram(),
            account_latency: histogram(),
            book_latency: histogram(),
            proof_latency: histogram(),
            ok: 0,
            failed: BTreeMap::new(),
            last_answer: None,
        }
    }

    fn record(&mut self, read: Read, due: Instant, answer: Result<(), tonic::Status>) {
        let now = Instant::now();
        let us = (now.saturating_duration_since(due).as_micros() as u64).clamp(1, MAX_LATENCY_US);
        self.latency.record(us).expect("clamped to the bounds");
        match read {
            Read::Account(_) => self.account_latency.record(us),
            Read::Book => self.book_latency.record(us),
            Read::Proof(_) => self.proof_latency.record(us),
        }
        .expect("clamped to the bounds");
        match answer {
            Ok(()) => self.ok += 1,
            Err(status) => *self.failed.entry(format!("{:?}", status.code())).or_default() += 1,
        }
        self.last_answer = Some(now);
    }
}

/// The read load's results, apart from the writes'.
pub struct ReadOutcome {
    rate: f64,
    account_share: f64,
    connections: usize,
    /// Connections from an address of their own (0: the system's choice).
    own_addresses: usize,
    sent: u64,
    elapsed: Duration,
    tally: ReadTally,
}

/// p50, p90, p99, p99.9 and max of a histogram of µs, in ms (the writes'
/// figures of `carbon bench` too).
pub(crate) fn percentiles(h: &Histogram<u64>) -> Vec<(&'static str, f64)> {
    let ms = |us: u64| us as f64 / 1000.0;
    vec![
        ("p50", ms(h.value_at_quantile(0.50))),
        ("p90", ms(h.value_at_quantile(0.90))),
        ("p99", ms(h.value_at_quantile(0.99))),
        ("p99.9", ms(h.value_at_quantile(0.999))),
        ("max", ms(h.max())),
    ]
}

impl ReadOutcome {
    /// Reads answered a second, over the run.
    fn achieved_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            (self.tally.ok + self.tally.failed.values().sum::<u64>()) as f64 / secs
        } else {
            0.0
        }
    }

    pub fn json(&self) -> Value {
        let lat = |h: &Histogram<u64>| -> Value {
            percentiles(h)
                .into_iter()
                .map(|(k, v)| (format!("{k}_ms"), json!(v)))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let t = &self.tally;
        json!({
            "target_rate": self.rate,
            "account_share": self.account_share,
            "connections": self.connections,
            "own_addresses": self.own_addresses,
            "sent": self.sent,
            "ok": t.ok,
            "failed": t.failed,
            "answered_per_sec": self.achieved_per_sec(),
            "latency": lat(&t.latency),
            "get_account": {"count": t.account_latency.len(), "latency": lat(&t.account_latency)},
            "get_book": {"count": t.book_latency.len(), "latency": lat(&t.book_latency)},
            "get_inclusion_proof": {"count": t.proof_latency.len(), "latency": lat(&t.proof_latency)},
            "latency_corrected_for_coordinated_omission": true,
        })
    }

    pub fn print(&self) {
        let t = &self.tally;
        let line = |h: &Histogram<u64>| {
            percentiles(h)
                .iter()
                .map(|(k, v)| format!("{k} {v:.2}"))
                .collect::<Vec<_>>()
                .join("  ")
        };
        println!(
            "  reads:       {} sent at {}/s open loop ({:.0}% GetAccount, signed; the rest GetBook) over {} \
             connections{}",
            self.sent,
            self.rate,
            100.0 * self.account_share,
            self.connections,
            if self.own_addresses > 0 {
                ", each from its own loopback address"
            } else {
                ""
            }
        );
        println!(
            "               {} answered, {:.0}/s{}",
            t.ok,
            self.achieved_per_sec(),
            if t.failed.is_empty() {
                String::new()
            } else {
                format!("; failed: {:?}", t.failed)
            }
        );
        println!("  read ms:     {}", line(&t.latency));
        println!(
            "    account:   {}  ({} reads)",
            line(&t.account_latency),
            t.account_latency.len()
        );
        println!(
            "    book:      {}  ({} reads)",
            line(&t.book_latency),
            t.book_latency.len()
        );
        if !t.proof_latency.is_empty() {
            println!(
                "    proof:     {}  ({} reads)",
                line(&t.proof_latency),
                t.proof_latency.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_servers_are_recognised() {
        assert!(loopback_host("http://127.0.0.1:50051"));
        assert!(loopback_host("http://localhost:1"));
        assert!(loopback_host("127.0.0.9:1"));
        assert!(!loopback_host("http://10.0.0.1:50051"));
        assert!(!loopback_host("https://ledger.example:443"));
    }

    #[test]
    fn read_connections_come_from_distinct_loopback_addresses() {
        let a: Vec<IpAddr> = (0..300).map(loopback_address).collect();
        assert_eq!(a[0], IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
        assert_eq!(a[254], IpAddr::V4(Ipv4Addr::new(127, 0, 1, 0)));
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert_eq!(distinct.len(), 300);
        assert!(a.iter().all(|ip| ip.is_loopback()));
    }
}
