//! `carbon serve` refuses an operator key file that others than its owner
//! may read (issue 14, point 15), when creating a ledger and when opening
//! one, with a message saying what to do; `--allow-exposed-key` lets it
//! start anyway (development).

#![cfg(unix)]

mod grpc_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use grpc_support::*;

/// Runs `carbon serve ARGS` expecting it to stop by itself, refusing to
/// start; returns what it printed on stderr. A server that starts instead
/// is killed and the test fails.
fn refused(data: &Path, args: &[&str]) -> String {
    let out_dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (out_dir.path().join("stdout"), out_dir.path().join("stderr"));
    let mut child = Command::new(carbon_bin())
        .arg("serve")
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "carbon serve started with an exposed operator key: {}",
                std::fs::read_to_string(&stdout).unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = std::fs::read_to_string(&stdout).unwrap();
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(!status.success(), "carbon serve exited 0: {out}{err}");
    assert!(!out.contains("listening on"), "{out}");
    err
}

fn expose(key: &Path, mode: u32) {
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn says_why(err: &str, key: &Path) {
    for what in [
        &key.display().to_string(),
        "may be read by others than its owner (mode 644)",
        "chmod 600",
        "--allow-exposed-key",
    ] {
        assert!(err.contains(what), "no {what:?} in: {err}");
    }
}

#[test]
fn an_exposed_operator_key_stops_the_server_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, key) = write_genesis(dir.path());
    let data = dir.path().join("data");
    let create = [
        "--genesis",
        genesis.to_str().unwrap(),
        "--operator-key",
        key.to_str().unwrap(),
        "--origin",
        ORIGIN,
    ];

    // Creating a ledger: refused, and nothing created.
    expose(&key, 0o644);
    says_why(&refused(&data, &create), &key);
    assert!(!data.join("db").exists(), "a ledger was created");

    // With the key made private the ledger is created; exposed again, the
    // ledger is not opened.
    expose(&key, 0o600);
    drop(Server::start(&data, &create));
    expose(&key, 0o644);
    let open = ["--operator-key", key.to_str().unwrap()];
    says_why(&refused(&data, &open), &key);

    // The override starts it (with a warning) and it serves.
    let with_override = ["--operator-key", key.to_str().unwrap(), "--allow-exposed-key"];
    let server = Server::start(&data, &with_override);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = server.client().await;
        let mut s = Signer::default();
        small_market(&mut c, &mut s).await;
    });
    drop(server);

    // A development ledger's own key files are private: it starts again
    // without the flag.
    let dev = dir.path().join("dev");
    drop(Server::start(&dev, &[]));
    let dev_key = dev.join("keys").join(format!("{OPERATOR}.key"));
    assert_eq!(std::fs::metadata(&dev_key).unwrap().permissions().mode() & 0o777, 0o600);
    drop(Server::start(&dev, &[]));
}
