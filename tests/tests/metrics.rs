//! `carbon serve --metrics`: the operator's Prometheus endpoint, scraped
//! before and after a known load over gRPC and parsed with a real
//! text-format parser (`prometheus-parse`). The counters must move by
//! exactly what the load did: accepted commands, a rejection the rules
//! journal, refusals before sequencing (one on the handler, one at the
//! node), the envelopes the batches carried and the journal's growth.

mod grpc_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use carbon_ledger::keys::test_key;
use carbon_ledger::replay::sign_command;
use carbon_proto::v1 as pb;
use grpc_support::*;
use prometheus_parse::{Scrape, Value};
use serde_json::json;

/// A port free on loopback now (the exporter cannot report the port it
/// picks for 0, so the test picks one; another process taking it in
/// between would fail the start, not pass the test).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET /metrics over HTTP/1.0 (so the body is neither chunked nor kept
/// alive), parsed.
fn scrape(addr: SocketAddr) -> Scrape {
    let mut last_error = None;
    for _ in 0..50 {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
                let mut response = String::new();
                s.read_to_string(&mut response).unwrap();
                let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
                assert!(
                    head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
                    "{head}"
                );
                return Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("the text format parses");
            }
            Err(e) => {
                last_error = Some(e);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    panic!("no metrics on {addr}: {last_error:?}");
}

/// The value of a counter, gauge or untyped sample `name` whose labels
/// include `labels`; 0 when absent.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = s
        .samples
        .iter()
        .filter(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            ref other => panic!("{name} is not a single value: {other:?}"),
        })
        .collect();
    assert!(found.len() <= 1, "{name}{labels:?}: {found:?}");
    found.first().copied().unwrap_or(0.0)
}

/// A histogram's observation count: its `+Inf` bucket, checked against its
/// `_count` sample.
fn histogram_count(s: &Scrape, name: &str) -> f64 {
    let sample = s
        .samples
        .iter()
        .find(|x| x.metric == name)
        .unwrap_or_else(|| panic!("no histogram {name}"));
    let Value::Histogram(buckets) = &sample.value else {
        panic!("{name} is not a histogram: {:?}", sample.value);
    };
    let inf = buckets
        .iter()
        .find(|b| b.less_than == f64::INFINITY)
        .expect("a +Inf bucket")
        .count;
    assert_eq!(
        inf,
        value(s, &format!("{name}_count"), &[]),
        "{name}: +Inf bucket and _count"
    );
    inf
}

fn commands(s: &Scrape, code: &str) -> f64 {
    value(s, "carbon_commands_total", &[("code", code)])
}

fn transfer(s: &mut Signer, qty: i64) -> pb::SignedCommand {
    s.sign(json!({"as": "HZ-STEEL", "cmd": "transfer", "instrument": "ZJEA-2025", "to": "NB-POWER", "qty": qty}))
}

/// Transfers sent in one SubmitBatch (one request: sequenced in one batch).
const BATCHED: usize = 40;

#[tokio::test]
async fn counters_move_with_the_load_put_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = Server::with_test_genesis_and(dir.path(), &["--metrics", &metrics.to_string()]);
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains(&format!("http://{metrics}/metrics"))),
        "{:?}",
        server.banner
    );
    let before = scrape(metrics);
    for name in [
        "carbon_commands_total",
        "carbon_batch_envelopes",
        "carbon_batch_commit_seconds",
        "carbon_journal_entries",
        "carbon_sequencer_queued_envelopes",
        "carbon_open_streams",
    ] {
        assert!(before.docs.contains_key(name), "no HELP for {name}: {:?}", before.docs);
    }
    assert_eq!(value(&before, "carbon_journal_entries", &[]), 1.0, "the genesis only");
    assert_eq!(commands(&before, "ok"), 0.0);

    let mut client = server.client().await;
    let mut s = Signer::default();
    // Five accepted commands, one request each.
    small_market(&mut client, &mut s).await;
    // One request of BATCHED accepted transfers.
    let batch: Vec<pb::SignedCommand> = (0..BATCHED).map(|_| transfer(&mut s, 1)).collect();
    let results = client
        .submit_batch(pb::SubmitBatchRequest { commands: batch })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(
        results.iter().all(|r| r.outcome.as_ref().is_some_and(|o| o.ok)),
        "{results:?}"
    );
    // Rejected by the rules, and journalled.
    reject(
        &mut client,
        transfer(&mut s, 1_000_000),
        tonic::Code::FailedPrecondition,
        "INSUFFICIENT_HOLDINGS",
    )
    .await;
    // Refused on the handler: a known actor, a signature not its own.
    let (_, cmd) = s.command(json!({"as": "HZ-STEEL", "cmd": "transfer", "instrument": "ZJEA-2025",
                                     "to": "NB-POWER", "qty": 1}));
    let mut forged = sign_command(&test_key("HZ-STEEL"), &test_ledger_id(), &cmd);
    forged.signature[7] ^= 0x10;
    reject(&mut client, forged, tonic::Code::Unauthenticated, "BAD_SIGNATURE").await;
    // Refused at the node before sequencing: a nonce used before.
    let (_, used) = s.command(json!({"as": "HZ-STEEL", "cmd": "transfer", "instrument": "ZJEA-2025",
                                      "to": "NB-POWER", "qty": 1}));
    let replayed = pb::Command { nonce: Some(1), ..used };
    reject(
        &mut client,
        sign_command(&test_key("HZ-STEEL"), &test_ledger_id(), &replayed),
        tonic::Code::AlreadyExists,
        "REPLAYED",
    )
    .await;
    // A read on the view.
    account(&mut client, "HZ-STEEL").await;

    let after = scrape(metrics);
    let moved = |f: &dyn Fn(&Scrape) -> f64| f(&after) - f(&before);
    let accepted = (5 + BATCHED) as f64;
    assert_eq!(moved(&|x| commands(x, "ok")), accepted);
    assert_eq!(moved(&|x| commands(x, "INSUFFICIENT_HOLDINGS")), 1.0);
    assert_eq!(moved(&|x| commands(x, "BAD_SIGNATURE")), 1.0);
    assert_eq!(moved(&|x| commands(x, "REPLAYED")), 1.0);
    assert_eq!(moved(&|x| commands(x, "MALFORMED")), 0.0);

    // Every sequenced envelope (not the forged one, refused on its
    // handler) went through a batch; the one SubmitBatch request is one
    // batch at least, each unary Submit another or shares one.
    let sequenced = accepted + 2.0;
    assert_eq!(
        moved(&|x| value(x, "carbon_batch_envelopes_sum", &[])),
        sequenced,
        "envelopes over all batches"
    );
    let batches = moved(&|x| histogram_count(x, "carbon_batch_envelopes"));
    assert!(
        (2.0..=sequenced - BATCHED as f64 + 1.0).contains(&batches),
        "{batches} batches"
    );
    assert_eq!(moved(&|x| histogram_count(x, "carbon_batch_commit_seconds")), batches);
    assert!(moved(&|x| value(x, "carbon_batch_commit_seconds_sum", &[])) > 0.0);

    // The journal: the accepted commands and the journalled rejection.
    assert_eq!(moved(&|x| value(x, "carbon_journal_entries", &[])), accepted + 1.0);
    assert!(moved(&|x| value(x, "carbon_journal_appended_bytes_total", &[])) > 100.0 * (accepted + 1.0));
    assert!(value(&after, "carbon_journal_disk_bytes", &[]) > 0.0);

    // Nothing left queued; this test's connection is open; reads were timed.
    assert_eq!(value(&after, "carbon_sequencer_queued_envelopes", &[]), 0.0);
    assert!(value(&after, "carbon_open_connections", &[]) >= 1.0);
    assert!(moved(&|x| histogram_count(x, "carbon_read_seconds")) >= 1.0);
    assert_eq!(value(&after, "carbon_open_streams", &[("kind", "market")]), 0.0);
}

#[test]
fn metrics_need_a_port() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(carbon_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("give a port"), "{err}");
}
