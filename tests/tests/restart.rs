//! Crash and restart: what the server acknowledged survives SIGKILL, and a
//! restarted server carries on exactly where the journal ends, whether it
//! starts from a snapshot and the journal after it, or from a clean stop's
//! snapshot alone.

mod grpc_support;

use carbon_proto::v1 as pb;
use grpc_support::*;
use pb::ledger_client::LedgerClient;
use serde_json::json;
use tonic::transport::Channel;

/// Everything a client can see of the ledger.
async fn everything(
    c: &mut LedgerClient<Channel>,
    accounts: &[String],
) -> (
    Vec<pb::JournalEntry>,
    Vec<pb::AccountView>,
    pb::SupplyView,
    pb::Checkpoint,
) {
    let mut views = Vec::new();
    for id in accounts {
        views.push(account(c, id).await);
    }
    (
        journal(c, 0).await,
        views,
        c.get_supply(pb::GetSupplyRequest {}).await.unwrap().into_inner(),
        c.get_checkpoint(pb::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner(),
    )
}

#[tokio::test]
async fn acknowledged_commands_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // Snapshots every 40 entries: the restart resumes from one mid-run.
    let server = Server::with_test_genesis_and(dir.path(), &["--snapshot-every", "40"]);
    let data = server.data.clone();
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;

    // N acknowledged commands from several accounts at once, so that they
    // are sequenced in shared batches, plus a batch call.
    const SENDERS: usize = 4;
    const EACH: usize = 25;
    let ids: Vec<String> = (0..SENDERS).map(|i| format!("NB-P{i}")).collect();
    for id in &ids {
        accept(
            &mut c,
            s.sign(json!({"as": "NB-EEB", "cmd": "create_account", "id": id, "role": "entity"})),
        )
        .await;
        accept(
            &mut c,
            s.sign(json!({"as": "NB-EEB", "cmd": "issue", "instrument": "ZJEA-2025", "to": id, "qty": 100})),
        )
        .await;
    }
    let mut tasks = Vec::new();
    for id in &ids {
        let envs: Vec<_> = (0..EACH)
            .map(|_| {
                s.sign(json!({"as": id, "cmd": "transfer", "instrument": "ZJEA-2025", "to": "HZ-STEEL", "qty": 1}))
            })
            .collect();
        // One account's nonces must arrive in order: one task per account.
        let mut client = c.clone();
        tasks.push(tokio::spawn(async move {
            for e in envs {
                accept(&mut client, e).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let batch: Vec<_> = ids
        .iter()
        .map(|id| s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": id, "amount": "12.34"})))
        .collect();
    let results = c
        .submit_batch(pb::SubmitBatchRequest { commands: batch })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(results.iter().all(|r| r.outcome.as_ref().unwrap().ok));

    let mut watched = ids.clone();
    watched.extend(["HZ-STEEL", "HZ-EEB", "NB-EEB", OPERATOR].map(String::from));
    let before = everything(&mut c, &watched).await;
    let expected_commands = 1 + 5 + 2 * SENDERS + SENDERS * EACH + SENDERS;
    // Besides, a mark where each snapshot is taken and an entry recording
    // its digest once encoded (where depends on batching and timing).
    let count = |mark: bool| {
        before
            .0
            .iter()
            .filter(|e| match e.input {
                Some(pb::journal_entry::Input::SnapshotMark(_)) => mark,
                Some(pb::journal_entry::Input::StateDigest(_)) => !mark,
                _ => false,
            })
            .count()
    };
    let (marks, digests) = (count(true), count(false));
    assert!(marks >= 2, "snapshots every 40 entries are marked");
    assert!(
        digests + 1 >= marks,
        "and their digests recorded (the last may be in flight)"
    );
    assert_eq!(before.0.len(), expected_commands + marks + digests);
    drop(c);

    server.kill(); // SIGKILL: no shutdown, no last flush

    let (_, op_key) = write_genesis(dir.path());
    let server = Server::start(&data, &["--operator-key", op_key.to_str().unwrap()]);
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains("opened the ledger") && l.contains("from its snapshot at")),
        "{:?}",
        server.banner
    );
    let mut c = server.client().await;
    let after = everything(&mut c, &watched).await;
    assert_eq!(after.0.len(), before.0.len(), "journal length");
    assert_eq!(after.0, before.0, "journal entries");
    assert_eq!(after.1, before.1, "accounts");
    assert_eq!(after.2, before.2, "supply");
    assert_eq!(
        (after.3.tree_size, &after.3.root_hash),
        (before.3.tree_size, &before.3.root_hash),
        "checkpoint"
    );
    assert_eq!(
        holding(&account(&mut c, "HZ-STEEL").await, "ZJEA-2025").0,
        1000 + (SENDERS * EACH) as i64
    );

    // The nonces carried over: the last one is replayed, the next accepted.
    let mut replay = Signer::default();
    // Sign with NB-P0's last used nonce again.
    replay.nonces.insert("NB-P0".into(), s.nonces["NB-P0"] - 1);
    reject(
        &mut c,
        replay.sign(json!({"as": "NB-P0", "cmd": "transfer", "instrument": "ZJEA-2025", "to": "HZ-STEEL", "qty": 1})),
        tonic::Code::AlreadyExists,
        "REPLAYED",
    )
    .await;
    let seq = accept(
        &mut c,
        s.sign(json!({"as": "NB-P0", "cmd": "transfer", "instrument": "ZJEA-2025", "to": "HZ-STEEL", "qty": 1})),
    )
    .await;
    assert_eq!(seq, before.0.len() as u64, "the next command gets the next seq");
}

/// SIGTERM stops the server cleanly; the same command line (with the
/// genesis file) opens the ledger again and refuses a different genesis.
#[tokio::test]
async fn sigterm_stops_cleanly_and_the_genesis_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::with_test_genesis(dir.path());
    let data = server.data.clone();
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;
    drop(c);

    #[cfg(unix)]
    {
        let pid = server.child.id().to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(ok.success());
        // Wait without blocking the runtime: the client's connection must
        // be able to see the server's GOAWAY.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let status = loop {
            if let Some(st) = server.child.try_wait().unwrap() {
                break st;
            }
            assert!(std::time::Instant::now() < deadline, "carbon serve ignored SIGTERM");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert!(status.success(), "carbon serve exited with {status}");
    }
    drop(server);

    // The same arguments again: the genesis matches the stored one, and the
    // clean stop left a snapshot of everything.
    let server = Server::with_test_genesis(dir.path());
    let entries = 1 + 5 + 1; // the genesis, small_market and the snapshot's state digest
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.contains(&format!("from its snapshot at {entries} entries"))),
        "{:?}",
        server.banner
    );
    let mut c = server.client().await;
    assert_eq!(holding(&account(&mut c, "HZ-STEEL").await, "ZJEA-2025").0, 1000);
    drop(c);
    drop(server);

    // Another genesis is refused.
    let other = dir.path().join("other-genesis.json");
    std::fs::write(
        &other,
        json!({"cmd": "genesis", "operator": OPERATOR,
               "operator_public_key": hex::encode(carbon_ledger::keys::test_key(OPERATOR).verifying_key().to_bytes()),
               "regulators": []})
        .to_string(),
    )
    .unwrap();
    let out = std::process::Command::new(carbon_bin())
        .arg("serve")
        .arg("--data")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0", "--genesis"])
        .arg(&other)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another genesis"),
        "{out:?}"
    );
}
