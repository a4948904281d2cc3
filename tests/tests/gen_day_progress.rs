//! `carbon gen-day` draws a progress bar on a terminal only: piped, its
//! stderr stays silent and its stdout holds nothing but the day.

mod grpc_support;

use std::process::{Command, Stdio};

use grpc_support::carbon_bin;

#[test]
fn piped_gen_day_writes_only_the_day() {
    let out = Command::new(carbon_bin())
        .args(["gen-day", "--commands", "5000", "--seed", "1"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("running carbon gen-day");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "stderr is silent when piped");
    let day = String::from_utf8(out.stdout).unwrap();
    assert_eq!(day.lines().count(), 5000);
    for line in day.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
    }
}

/// On a terminal (a pseudo-terminal from util-linux's `script`) the bar is
/// drawn on stderr; the file is the same as without it.
#[test]
fn gen_day_on_a_terminal_draws_a_progress_bar() {
    let script = std::path::Path::new("/usr/bin/script");
    assert!(
        script.exists(),
        "this test needs util-linux's script (a pseudo-terminal); install bsdutils"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("day.jsonl");
    let command = format!(
        "{} gen-day --commands 100000 --seed 1 --out {}",
        carbon_bin().display(),
        file.display()
    );
    let out = Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("running script");
    assert!(out.status.success(), "{out:?}");
    let terminal = String::from_utf8_lossy(&out.stdout);
    assert!(
        terminal.contains("generating") && terminal.contains("lines"),
        "no progress bar on the terminal: {terminal:?}"
    );
    let piped = Command::new(carbon_bin())
        .args(["gen-day", "--commands", "100000", "--seed", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read(&file).unwrap(),
        piped.stdout,
        "the bar changes nothing in the day"
    );
}
