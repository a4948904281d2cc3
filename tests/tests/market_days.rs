//! Every market day under `tests/market-days/` with an expected report is
//! replayed through the ledger (signed, journalled, applied) and its report
//! compared, as parsed JSON, with the expected one. Then the journal the
//! replay wrote is audited in full.

use std::path::{Path, PathBuf};

use carbon_ledger::audit::rebuild;
use carbon_ledger::journal::Journal;
use carbon_ledger::replay::replay;
use serde_json::Value;

fn days() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("market-days");
    let mut days: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/market-days exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .filter(|p| p.with_extension("expected.json").exists())
        .collect();
    days.sort();
    days
}

/// The first difference between two JSON values, as a path.
fn first_difference(path: &str, got: &Value, want: &Value) -> Option<String> {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for k in g.keys().chain(w.keys()) {
                let (a, b) = (g.get(k).unwrap_or(&Value::Null), w.get(k).unwrap_or(&Value::Null));
                if g.contains_key(k) != w.contains_key(k) {
                    return Some(format!("{path}.{k}: present in only one report"));
                }
                if let Some(d) = first_difference(&format!("{path}.{k}"), a, b) {
                    return Some(d);
                }
            }
            None
        }
        (Value::Array(g), Value::Array(w)) => {
            for (i, (a, b)) in g.iter().zip(w).enumerate() {
                if let Some(d) = first_difference(&format!("{path}[{i}]"), a, b) {
                    return Some(d);
                }
            }
            (g.len() != w.len()).then(|| format!("{path}: {} items, expected {}", g.len(), w.len()))
        }
        _ => (got != want).then(|| format!("{path}: got {got}, expected {want}")),
    }
}

#[test]
fn every_market_day_gives_its_expected_report() {
    let days = days();
    assert!(days.len() >= 3, "the example days are there");
    let mut failures = Vec::new();
    for day in &days {
        let text = std::fs::read_to_string(day).unwrap();
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(day.with_extension("expected.json")).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let r = replay(&text, dir.path()).unwrap_or_else(|e| panic!("{}: {e}", day.display()));
        let got = r.report();
        if let Some(d) = first_difference("", &got, &want) {
            failures.push(format!("{}: {d}", day.file_name().unwrap().to_string_lossy()));
            continue;
        }
        // The journal it wrote verifies, signatures and all.
        drop(r);
        let journal = Journal::open(dir.path()).unwrap();
        let rebuilt = rebuild(&journal, true, |_| {}).unwrap_or_else(|e| panic!("{}: {e}", day.display()));
        assert!(rebuilt.checkpoint.is_some());
    }
    assert!(failures.is_empty(), "reports differ:\n{}", failures.join("\n"));
}

#[test]
fn a_file_without_a_genesis_cannot_be_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let text = "# no genesis\n{\"as\": \"ZJ-CEEX\", \"cmd\": \"open_day\", \"date\": \"2026-03-02\"}\n";
    assert!(replay(text, dir.path()).is_err());
}

#[test]
fn a_key_other_than_the_test_key_stops_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    let text = concat!(
        "{\"cmd\": \"genesis\", \"operator\": \"OP\", \"regulators\": [{\"id\": \"HZ-EEB\", \"jurisdiction\": \"HZ\"}]}\n",
        "{\"as\": \"HZ-EEB\", \"cmd\": \"create_account\", \"id\": \"E\", \"role\": \"entity\", ",
        "\"public_key\": \"0000000000000000000000000000000000000000000000000000000000000001\"}\n"
    );
    let err = replay(text, dir.path()).err().expect("refused");
    assert!(err.to_string().contains("line 2"), "{err}");
}
