//! Shared by the gRPC end-to-end tests: runs the real `carbon serve` binary
//! on a loopback port and signs commands with the test keys.
//!
//! The tests crate cannot depend on the binary crate, and cargo builds
//! other packages' binaries only on request, so the first test of a run
//! builds `carbon` with `cargo build -p carbon-cli` (a no-op when it is up to
//! date) into the same target directory as the test executable. Set
//! `CARBON_BIN` to use a binary built elsewhere.

#![allow(dead_code)] // each test file uses part of this module

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use carbon_ledger::keys::test_key;
use carbon_ledger::market_day::{parse_line, Line};
use carbon_ledger::replay::sign_command;
use carbon_proto::v1 as pb;
use pb::ledger_client::LedgerClient;
use prost::Message;
use serde_json::json;
use tonic::transport::Channel;

/// The operator and regulators of the test genesis (all with test keys).
pub const OPERATOR: &str = "ZJ-CEEX";
pub const REGULATORS: [(&str, &str); 3] = [("ZJ-DEE", "ZJ"), ("HZ-EEB", "HZ"), ("NB-EEB", "NB")];
/// The checkpoint origin the tests ask for.
pub const ORIGIN: &str = "carbon-ledger.test";

/// The `carbon` binary, built once per test process.
pub fn carbon_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CARBON_BIN") {
            return PathBuf::from(p);
        }
        // target/<profile>/deps/<test> -> target/<profile>/carbon
        let exe = std::env::current_exe().expect("the test executable's path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from target/<profile>/deps");
        let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        // Without the variables `cargo test` sets for the test process: build
        // scripts that watch them (ring's does) would otherwise see another
        // environment than the outer build's and rebuild, twice per run.
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            let set_by_cargo = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_"]
                .iter()
                .any(|p| key.starts_with(p))
                || [
                    "CARGO_PRIMARY_PACKAGE",
                    "CARGO_TARGET_TMPDIR",
                    "CARGO_RUSTC_CURRENT_DIR",
                    "OUT_DIR",
                ]
                .contains(&key);
            if set_by_cargo {
                build.env_remove(key);
            }
        }
        build
            .current_dir(&workspace)
            .args(["build", "--quiet", "-p", "carbon-cli", "--bin", "carbon"])
            .env("CARGO_TARGET_DIR", profile_dir.parent().expect("target dir"));
        match profile {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let status = build.status().expect("running cargo build");
        assert!(status.success(), "cargo build -p carbon-cli failed");
        let bin = profile_dir.join(format!("carbon{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{} was not built", bin.display());
        bin
    })
}

/// Writes a key file (the format of `carbon keygen`) for `id`'s test key.
pub fn write_test_key_file(dir: &Path, id: &str) -> PathBuf {
    let key = test_key(id);
    let path = dir.join(format!("{id}.test.key"));
    let text = json!({
        "secret_key": hex::encode(key.to_bytes()),
        "public_key": hex::encode(key.verifying_key().to_bytes()),
    });
    std::fs::write(&path, text.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

/// Writes the test genesis (replay format, test keys) and the operator's key
/// file into `dir`; returns their paths.
pub fn write_genesis(dir: &Path) -> (PathBuf, PathBuf) {
    let pk = |id: &str| hex::encode(test_key(id).verifying_key().to_bytes());
    let genesis = json!({
        "cmd": "genesis",
        "operator": OPERATOR,
        "operator_public_key": pk(OPERATOR),
        "regulators": REGULATORS.iter().map(|(id, j)| json!({
            "id": id, "jurisdiction": j, "public_key": pk(id),
        })).collect::<Vec<_>>(),
    });
    let path = dir.join("genesis.json");
    std::fs::write(&path, serde_json::to_string_pretty(&genesis).unwrap()).unwrap();
    (path, write_test_key_file(dir, OPERATOR))
}

/// Waits up to `within` for a started `carbon serve` to print `listening
/// on <addr>`; returns the address and what it printed before. Its stdout
/// is drained afterwards so that it never blocks on a full pipe.
pub fn listening(child: &mut Child, within: Duration) -> Option<(String, Vec<String>)> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send((addr.trim().to_string(), std::mem::take(&mut banner)));
                    sent = true;
                } else {
                    banner.push(line);
                }
            }
        }
    });
    rx.recv_timeout(within).ok()
}

/// Runs `carbon` with `args`; panics unless it succeeds; returns stdout.
pub fn carbon(args: &[&str]) -> String {
    let out = Command::new(carbon_bin())
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "carbon {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A running `carbon serve`, killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    /// Everything the server printed on stdout before `listening on`.
    pub banner: Vec<String>,
}

impl Server {
    /// Starts `carbon serve --data <data> --listen 127.0.0.1:0 <extra...>`
    /// and waits until it listens.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(data, extra, &[])
    }

    /// [`Server::start`] with more environment variables (test hooks).
    pub fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(carbon_bin())
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .env("RUST_BACKTRACE", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting carbon serve");
        let (addr, banner) = match listening(&mut child, Duration::from_secs(60)) {
            Some(x) => x,
            None => {
                let _ = child.kill();
                let status = child.wait();
                panic!("carbon serve did not start listening: {status:?}");
            }
        };
        Server {
            child,
            addr: addr.parse().expect("a socket address"),
            data: data.to_path_buf(),
            banner,
        }
    }

    /// Starts a server on a new ledger from the test genesis in `dir`
    /// (`dir/data` is the data folder).
    pub fn with_test_genesis(dir: &Path) -> Server {
        Server::with_test_genesis_and(dir, &[])
    }

    /// [`Server::with_test_genesis`] with more arguments.
    pub fn with_test_genesis_and(dir: &Path, extra: &[&str]) -> Server {
        let (genesis, op_key) = write_genesis(dir);
        let mut args = vec![
            "--genesis",
            genesis.to_str().unwrap(),
            "--operator-key",
            op_key.to_str().unwrap(),
            "--origin",
            ORIGIN,
        ];
        args.extend_from_slice(extra);
        Server::start(&dir.join("data"), &args)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .expect("connecting to the server")
    }

    pub async fn client(&self) -> LedgerClient<Channel> {
        LedgerClient::new(self.channel().await)
    }

    /// SIGKILL, no chance to flush or clean up.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test genesis as the server builds it from `write_genesis`'s file
/// with `--origin ORIGIN`.
pub fn test_genesis() -> pb::Genesis {
    let pk = |id: &str| test_key(id).verifying_key().to_bytes().to_vec();
    pb::Genesis {
        operator: OPERATOR.into(),
        operator_public_key: pk(OPERATOR),
        regulators: REGULATORS
            .iter()
            .map(|(id, j)| pb::GenesisRegulator {
                id: id.to_string(),
                jurisdiction: j.to_string(),
                public_key: pk(id),
            })
            .collect(),
        origin: ORIGIN.into(),
    }
}

/// The ledger id of the test genesis.
pub fn test_ledger_id() -> [u8; 32] {
    carbon_ledger::state::ledger_id_of(&test_genesis())
}

/// Signs commands with the test keys for one ledger (by default the test
/// genesis's), counting nonces per actor.
pub struct Signer {
    pub nonces: HashMap<String, u64>,
    pub ledger_id: [u8; 32],
}

impl Default for Signer {
    fn default() -> Self {
        Signer {
            nonces: HashMap::new(),
            ledger_id: test_ledger_id(),
        }
    }
}

impl Signer {
    /// A signed envelope of a market-day line (`"as"` names the actor);
    /// `create_account` lines get the new account's test key.
    pub fn sign(&mut self, line: serde_json::Value) -> pb::SignedCommand {
        let (actor, command) = self.command(line);
        sign_command(&test_key(&actor), &self.ledger_id, &command)
    }

    /// The unsigned `Command` of a line, with the actor's next nonce.
    pub fn command(&mut self, line: serde_json::Value) -> (String, pb::Command) {
        let mut line = line;
        if line["cmd"] == "create_account" && line.get("public_key").is_none() {
            let id = line["id"].as_str().expect("create_account needs an id").to_string();
            line["public_key"] = hex::encode(test_key(&id).verifying_key().to_bytes()).into();
        }
        let Line::Command { actor, body, .. } = parse_line(&line.to_string()) else {
            panic!("not a command line: {line}");
        };
        let nonce = self.nonces.entry(actor.clone()).or_insert(0);
        *nonce += 1;
        let command = pb::Command {
            actor: Some(actor.clone()),
            nonce: Some(*nonce),
            body: Some(body),
        };
        (actor, command)
    }
}

/// The rulebook code carried in a status's details.
pub fn rejection(status: &tonic::Status) -> pb::Rejection {
    pb::Rejection::decode(status.details()).expect("a Rejection in the status details")
}

/// Submits and expects acceptance; returns the journal sequence number.
pub async fn accept(client: &mut LedgerClient<Channel>, env: pb::SignedCommand) -> u64 {
    match client.submit(env).await {
        Ok(r) => {
            let r = r.into_inner();
            assert!(r.outcome.as_ref().is_some_and(|o| o.ok), "{r:?}");
            r.seq
        }
        Err(s) => panic!("rejected: {s:?}"),
    }
}

/// Submits and expects a rejection with `grpc` and `code`.
pub async fn reject(client: &mut LedgerClient<Channel>, env: pb::SignedCommand, grpc: tonic::Code, code: &str) {
    let s = client.submit(env).await.expect_err(&format!("expected {code}"));
    assert_eq!(s.code(), grpc, "{s:?}");
    assert_eq!(rejection(&s).code, code, "{s:?}");
    assert!(s.message().contains(code), "the code is in the message: {s:?}");
}

/// `message` as a request of `method` (`/carbon.v1.Service/Method`) with
/// `who`'s read credential (its test key), for the ledger `ledger_id`.
pub fn signed<T: Message>(who: &str, ledger_id: &[u8; 32], method: &str, message: T) -> tonic::Request<T> {
    use carbon_ledger::credential::{Credential, ACCOUNT_KEY, SIGNATURE_KEY, TIMESTAMP_KEY};
    // Each credential is taken once: two identical reads need distinct
    // timestamps, so the clock used only moves forward, a millisecond at least.
    static LAST_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let next = |last: u64| clock.max(last + 1);
    let last = LAST_MS
        .fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |l| Some(next(l)),
        )
        .unwrap();
    let now_ms = next(last);
    let c = Credential::sign(&test_key(who), who, ledger_id, method, now_ms, &message.encode_to_vec());
    let mut r = tonic::Request::new(message);
    r.metadata_mut().insert(ACCOUNT_KEY, who.parse().unwrap());
    r.metadata_mut()
        .insert(TIMESTAMP_KEY, c.timestamp_ms.to_string().parse().unwrap());
    r.metadata_mut()
        .insert(SIGNATURE_KEY, c.signature_hex().parse().unwrap());
    r
}

/// The server's ledger id (public, from GetCheckpoint).
pub async fn ledger_id(client: &mut LedgerClient<Channel>) -> [u8; 32] {
    let cp = client
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    cp.ledger_id.as_slice().try_into().expect("a 32-byte ledger id")
}

/// GetAccount, read as the operator.
pub async fn account(client: &mut LedgerClient<Channel>, id: &str) -> pb::AccountView {
    let ledger = ledger_id(client).await;
    client
        .get_account(signed(
            OPERATOR,
            &ledger,
            "/carbon.v1.Ledger/GetAccount",
            pb::GetAccountRequest { id: id.into() },
        ))
        .await
        .unwrap_or_else(|s| panic!("GetAccount {id}: {s:?}"))
        .into_inner()
}

/// The holding of `symbol` in an account view: (available, locked, pending).
pub fn holding(v: &pb::AccountView, symbol: &str) -> (i64, i64, i64) {
    v.holdings
        .iter()
        .find(|b| b.instrument == symbol)
        .map_or((0, 0, 0), |b| (b.available, b.locked, b.pending))
}

/// The whole journal, as streamed to the operator.
pub async fn journal(client: &mut LedgerClient<Channel>, from: u64) -> Vec<pb::JournalEntry> {
    let ledger = ledger_id(client).await;
    let mut stream = client
        .stream_journal(signed(
            OPERATOR,
            &ledger,
            "/carbon.v1.Ledger/StreamJournal",
            pb::StreamJournalRequest { from_seq: from },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(e) = stream.message().await.unwrap() {
        out.push(e);
    }
    out
}

/// A small market: two entities with keys, an instrument, cash and units.
/// HZ-STEEL holds 1000 ZJEA-2025 and 10000.00 CNY; NB-POWER nothing.
pub async fn small_market(client: &mut LedgerClient<Channel>, s: &mut Signer) {
    for line in [
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-STEEL", "role": "entity"}),
        json!({"as": "NB-EEB", "cmd": "create_account", "id": "NB-POWER", "role": "entity"}),
        json!({"as": OPERATOR, "cmd": "define_instrument", "symbol": "ZJEA-2025", "reference_price": "58.20"}),
        json!({"as": OPERATOR, "cmd": "deposit", "account": "HZ-STEEL", "amount": "10000.00"}),
        json!({"as": "HZ-EEB", "cmd": "issue", "instrument": "ZJEA-2025", "to": "HZ-STEEL", "qty": 1000}),
    ] {
        accept(client, s.sign(line)).await;
    }
}
