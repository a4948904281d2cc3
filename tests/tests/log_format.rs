//! `--log-format json`: every line `carbon serve` logs on stderr is one JSON
//! object with a timestamp, a level and a message, for log shippers; the
//! default stays the human format.

mod grpc_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use grpc_support::{carbon_bin, write_genesis, ORIGIN};

/// Starts `carbon serve` on the test genesis with an operator key file others
/// may read (allowed: a warning), waits until it serves, kills it and returns
/// what it wrote on stderr, line by line.
fn serve_stderr(extra: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, key) = write_genesis(dir.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut child = Command::new(carbon_bin())
        .args(extra)
        .arg("serve")
        .arg("--data")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0", "--origin", ORIGIN, "--allow-exposed-key"])
        .arg("--genesis")
        .arg(&genesis)
        .arg("--operator-key")
        .arg(&key)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting carbon serve");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("serving carbon.v1.Ledger") {
                let _ = tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let served = rx.recv_timeout(Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = reader.join().unwrap();
    assert!(served.is_ok(), "carbon serve never said it was serving: {lines:?}");
    lines
}

#[test]
fn json_log_lines_carry_timestamp_level_and_message() {
    let lines = serve_stderr(&["--log-format", "json"]);
    assert!(lines.len() >= 2, "{lines:?}");
    let mut levels = Vec::new();
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        let timestamp = v["timestamp"]
            .as_str()
            .unwrap_or_else(|| panic!("no timestamp: {line}"));
        // RFC 3339, UTC: 2026-12-02T12:36:02.761932Z
        assert!(
            timestamp.len() >= 20 && timestamp.as_bytes()[10] == b'T' && timestamp.ends_with('Z'),
            "{line}"
        );
        let level = v["level"].as_str().unwrap_or_else(|| panic!("no level: {line}"));
        assert!(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level), "{line}");
        let message = v["message"].as_str().unwrap_or_else(|| panic!("no message: {line}"));
        assert!(!message.is_empty(), "{line}");
        assert!(v["target"].as_str().is_some_and(|t| t.starts_with("carbon")), "{line}");
        levels.push((level.to_string(), message.to_string()));
    }
    assert!(
        levels
            .iter()
            .any(|(l, m)| l == "WARN" && m.contains("may be read by others")),
        "the exposed key's warning: {levels:?}"
    );
    assert!(
        levels
            .iter()
            .any(|(l, m)| l == "INFO" && m.starts_with("serving carbon.v1.Ledger on http://127.0.0.1:")),
        "{levels:?}"
    );
}

#[test]
fn the_default_log_format_is_for_people() {
    let lines = serve_stderr(&[]);
    let warning = lines
        .iter()
        .find(|l| l.contains("may be read by others"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(serde_json::from_str::<serde_json::Value>(warning).is_err(), "{warning}");
    assert!(warning.contains(" WARN "), "{warning}");
    // Piped, so no colours: a log file holds no escape sequences.
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:?}");
}
