//! `carbon bench` works in every mode: a tiny run against the server it
//! starts itself, every order durable, the JSON report well formed. A
//! smoke test for CI, not a measurement.

mod grpc_support;

use std::process::Command;

use grpc_support::carbon_bin;
use serde_json::Value;

fn bench(extra: &[&str]) -> Value {
    let out = Command::new(carbon_bin())
        .args([
            "bench",
            "--orders",
            "400",
            "--enterprises",
            "20",
            "--ceiling-secs",
            "0",
            "--json",
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running carbon bench");
    assert!(
        out.status.success(),
        "carbon bench {extra:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

#[test]
fn every_mode_makes_every_order_durable() {
    for (mode, rate) in [
        ("unary", None),
        ("batch", None),
        ("stream", None),
        ("stream", Some("4000")),
    ] {
        let mut args = vec!["--mode", mode];
        if let Some(r) = rate {
            args.extend(["--rate", r]);
        }
        let report = bench(&args);
        assert_eq!(report["mode"], mode, "{report}");
        assert_eq!(report["sent"], 400, "{report}");
        assert_eq!(report["durable"], 400, "{args:?}: {report}");
        assert_eq!(report["refused"], serde_json::json!({}), "{args:?}: {report}");
        assert!(report["throughput_per_sec"].as_f64().unwrap() > 0.0, "{report}");
        assert_eq!(report["latency_corrected_for_coordinated_omission"], rate.is_some());
        assert!(report["latency"]["p50_ms"].as_f64().unwrap() > 0.0, "{report}");
        assert_eq!(report["warmup_orders"], 40, "a tenth of --orders by default: {report}");
    }
}

/// The warm-up orders reach the server before the timed ones and are not
/// counted in the report.
#[test]
fn the_warm_up_is_sent_but_not_measured() {
    let journal = |warmup: &str| {
        let report = bench(&["--mode", "unary", "--warmup-orders", warmup]);
        assert_eq!(report["sent"], 400, "{report}");
        assert_eq!(report["durable"], 400, "{report}");
        report["journal_entries"].as_u64().unwrap()
    };
    assert_eq!(journal("100") - journal("0"), 100);
}

/// `--read-rate --compare`: the writes alone, then beside open-loop reads
/// (GetAccount with credentials, GetBook) from addresses of their own; no
/// read is refused by the server's read budgets.
#[test]
fn compare_runs_the_writes_alone_then_beside_the_reads() {
    let report = bench(&["--mode", "stream", "--rate", "2000", "--read-rate", "3000", "--compare"]);
    let (alone, beside) = (&report["writes_alone"], &report["writes_beside_reads"]);
    for r in [alone, beside] {
        assert_eq!(r["durable"], 400, "{report}");
        assert_eq!(r["refused"], serde_json::json!({}), "{report}");
    }
    assert_eq!(alone["reads"], Value::Null, "{report}");
    let reads = &beside["reads"];
    assert!(reads["sent"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(reads["ok"], reads["sent"], "every read answered: {report}");
    assert_eq!(reads["failed"], serde_json::json!({}), "{report}");
    assert_eq!(reads["connections"], 2, "one per 1,600 reads a second: {report}");
    assert_eq!(reads["own_addresses"], 2, "{report}");
    assert!(reads["get_account"]["count"].as_u64().unwrap() > 0, "{report}");
    assert!(reads["get_book"]["count"].as_u64().unwrap() > 0, "{report}");
    assert!(reads["latency"]["p99_ms"].as_f64().unwrap() > 0.0, "{report}");
    assert!(report["write_p99_change"].as_f64().is_some(), "{report}");
}

/// `carbon bench replay FILE`: the replay timed against the signing
/// ceiling measured in the same run.
#[test]
fn bench_replay_gives_the_ratio_to_the_signing_ceiling() {
    let day = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("market-days/random-17-mixed.jsonl");
    let out = Command::new(carbon_bin())
        .args(["bench", "replay", "--signing-secs", "0.2", "--json"])
        .arg(&day)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running carbon bench replay");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let lines = std::fs::read_to_string(&day)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    assert_eq!(report["command_lines"], lines, "{report}");
    let (rate, ceiling) = (
        report["commands_per_sec"].as_f64().unwrap(),
        report["ceiling_per_sec"].as_f64().unwrap(),
    );
    assert!(rate > 0.0 && ceiling > 0.0, "{report}");
    assert!(
        (report["ratio"].as_f64().unwrap() - rate / ceiling).abs() < 1e-9,
        "{report}"
    );
}
