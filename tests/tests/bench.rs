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
