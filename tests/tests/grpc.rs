//! The service over real gRPC on loopback: `carbon serve` as a separate
//! process, a tonic client, commands signed with the test keys.

mod grpc_support;

use carbon_ledger::checkpoint;
use carbon_ledger::keys::test_key;
use carbon_ledger::merkle::{leaf_hash, MerkleTree};
use carbon_ledger::replay::sign_command;
use carbon_ledger::state::signing_message;
use carbon_proto::v1 as pb;
use ed25519_dalek::Signer as _;
use grpc_support::*;
use prost::Message;
use serde_json::json;
use tonic::Code as G;

fn transfer(from: &str, to: &str, qty: i64) -> serde_json::Value {
    json!({"as": from, "cmd": "transfer", "instrument": "ZJEA-2025", "to": to, "qty": qty})
}

#[tokio::test]
async fn health_and_reflection_say_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel().await);
    for service in ["", "carbon.v1.Ledger"] {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
    }

    use tonic_reflection::pb::v1 as refl;
    let mut reflection = refl::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = refl::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(refl::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().unwrap();
    let Some(refl::server_reflection_response::MessageResponse::ListServicesResponse(list)) = answer.message_response
    else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"carbon.v1.Ledger"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
}

#[tokio::test]
async fn registry_commands_are_accepted_and_visible() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;

    let steel = account(&mut c, "HZ-STEEL").await;
    assert_eq!(steel.role, pb::Role::Entity as i32);
    assert_eq!(steel.jurisdiction, "HZ");
    assert_eq!(steel.cash_available, "10000.00");
    assert_eq!(holding(&steel, "ZJEA-2025"), (1000, 0, 0));
    assert_eq!(
        steel.public_key,
        test_key("HZ-STEEL").verifying_key().to_bytes().to_vec()
    );

    let seq = accept(&mut c, s.sign(transfer("HZ-STEEL", "NB-POWER", 100))).await;
    assert!(seq > 0);
    accept(
        &mut c,
        s.sign(
            json!({"as": "NB-POWER", "cmd": "retire", "instrument": "ZJEA-2025", "qty": 10, "beneficiary": "NB-POWER"}),
        ),
    )
    .await;
    accept(
        &mut c,
        s.sign(json!({"as": "NB-EEB", "cmd": "freeze", "account": "NB-POWER"})),
    )
    .await;

    let steel = account(&mut c, "HZ-STEEL").await;
    let power = account(&mut c, "NB-POWER").await;
    assert_eq!(holding(&steel, "ZJEA-2025"), (900, 0, 0));
    assert_eq!(holding(&power, "ZJEA-2025"), (90, 0, 0));
    assert!(power.frozen);
    assert!(!steel.frozen);
    assert_eq!(steel.last_nonce, 1);
    assert_eq!(power.last_nonce, 1);

    let supply = c.get_supply(pb::GetSupplyRequest {}).await.unwrap().into_inner();
    assert_eq!(supply.supply.len(), 1);
    let z = &supply.supply[0];
    assert_eq!(
        (z.instrument.as_str(), z.issued, z.retired, z.outstanding),
        ("ZJEA-2025", 1000, 10, 990)
    );
    let list = c
        .list_instruments(pb::ListInstrumentsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.instruments.len(), 1);
    assert_eq!(list.instruments[0].reference_price, "58.20");

    // A frozen account cannot transfer (ACCOUNT_FROZEN is a PERMISSION_DENIED code).
    reject(
        &mut c,
        s.sign(transfer("NB-POWER", "HZ-STEEL", 1)),
        G::PermissionDenied,
        "ACCOUNT_FROZEN",
    )
    .await;

    let ledger = ledger_id(&mut c).await;
    let request = pb::GetAccountRequest { id: "NOBODY".into() };
    let missing = c
        .get_account(signed(OPERATOR, &ledger, "/carbon.v1.Ledger/GetAccount", request))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), G::NotFound);
    assert_eq!(rejection(&missing).code, "UNKNOWN_ACCOUNT");
}

/// Everything a rejection must leave unchanged: every account's view (the
/// actor's nonce aside when `sequenced`), the supply and, when refused
/// before sequencing, the journal's length.
async fn snapshot(
    c: &mut pb::ledger_client::LedgerClient<tonic::transport::Channel>,
) -> (Vec<pb::AccountView>, pb::SupplyView, u64) {
    let mut views = Vec::new();
    for id in ["HZ-STEEL", "NB-POWER", "HZ-EEB", "NB-EEB", OPERATOR] {
        views.push(account(c, id).await);
    }
    let supply = c.get_supply(pb::GetSupplyRequest {}).await.unwrap().into_inner();
    let size = c
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .tree_size;
    (views, supply, size)
}

#[tokio::test]
async fn rejections_map_to_status_codes_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;
    let accepted = s.sign(transfer("HZ-STEEL", "NB-POWER", 5));
    accept(&mut c, accepted.clone()).await;

    // Refused before sequencing: nothing changes, not even the journal.
    let before = snapshot(&mut c).await;

    // BAD_SIGNATURE: signed with another account's key...
    let (_, cmd) = s.command(transfer("HZ-STEEL", "NB-POWER", 1));
    let wrong_key = sign_command(&test_key("NB-POWER"), &test_ledger_id(), &cmd);
    reject(&mut c, wrong_key, G::Unauthenticated, "BAD_SIGNATURE").await;
    // ...or with one bit of the signature flipped, or the wrong length.
    let mut flipped = sign_command(&test_key("HZ-STEEL"), &test_ledger_id(), &cmd);
    flipped.signature[10] ^= 1;
    reject(&mut c, flipped, G::Unauthenticated, "BAD_SIGNATURE").await;
    let mut short = sign_command(&test_key("HZ-STEEL"), &test_ledger_id(), &cmd);
    short.signature.truncate(63);
    reject(&mut c, short, G::Unauthenticated, "BAD_SIGNATURE").await;

    // REPLAYED: the accepted envelope again.
    reject(&mut c, accepted, G::AlreadyExists, "REPLAYED").await;

    // MALFORMED: a payload that is not a Command.
    let garbage = pb::SignedCommand {
        payload: vec![0x0a, 0xff, 0x01, 0x02],
        signature: vec![0; 64],
    };
    reject(&mut c, garbage, G::InvalidArgument, "MALFORMED").await;

    // UNKNOWN_COMMAND comes before BAD_SIGNATURE (RULEBOOK.md 12).
    let empty_body = pb::Command {
        actor: Some("HZ-STEEL".into()),
        nonce: Some(1000),
        body: None,
    };
    let mut bad = sign_command(&test_key("HZ-STEEL"), &test_ledger_id(), &empty_body);
    bad.signature[0] ^= 1;
    reject(&mut c, bad, G::InvalidArgument, "UNKNOWN_COMMAND").await;

    // UNKNOWN_ACCOUNT: an actor the ledger does not know.
    reject(
        &mut c,
        s.sign(transfer("HZ-GHOST", "NB-POWER", 1)),
        G::NotFound,
        "UNKNOWN_ACCOUNT",
    )
    .await;

    // A payload over the limit.
    let huge = pb::SignedCommand {
        payload: vec![0; 64 * 1024 + 1],
        signature: vec![0; 64],
    };
    reject(&mut c, huge, G::InvalidArgument, "MALFORMED").await;

    assert_eq!(snapshot(&mut c).await, before);

    // Sequenced rejections use up the actor's nonce and change nothing else.
    let cases = [
        // An entity may not issue.
        (
            json!({"as": "HZ-STEEL", "cmd": "issue", "instrument": "ZJEA-2025", "to": "HZ-STEEL", "qty": 5}),
            G::PermissionDenied,
            "NOT_PERMITTED",
        ),
        // A city regulator acts only in its own city.
        (
            json!({"as": "NB-EEB", "cmd": "freeze", "account": "HZ-STEEL"}),
            G::PermissionDenied,
            "NOT_PERMITTED",
        ),
        (
            transfer("HZ-STEEL", "NB-POWER", 1_000_000),
            G::FailedPrecondition,
            "INSUFFICIENT_HOLDINGS",
        ),
        (
            transfer("HZ-STEEL", "NB-POWER", 0),
            G::InvalidArgument,
            "INVALID_QUANTITY",
        ),
        (
            json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-STEEL", "role": "entity"}),
            G::AlreadyExists,
            "ACCOUNT_EXISTS",
        ),
        (
            json!({"as": "HZ-STEEL", "cmd": "transfer", "instrument": "CCER", "to": "NB-POWER", "qty": 1}),
            G::NotFound,
            "UNKNOWN_INSTRUMENT",
        ),
    ];
    for (line, grpc, code) in cases {
        let before = snapshot(&mut c).await;
        let (actor, cmd) = s.command(line);
        reject(
            &mut c,
            sign_command(&test_key(&actor), &test_ledger_id(), &cmd),
            grpc,
            code,
        )
        .await;
        let mut after = snapshot(&mut c).await;
        assert_eq!(after.2, before.2 + 1, "{code} is journalled");
        for v in &mut after.0 {
            if v.id == actor {
                assert_eq!(v.last_nonce, cmd.nonce.unwrap(), "{code} uses up the nonce");
                v.last_nonce = before.0.iter().find(|b| b.id == actor).unwrap().last_nonce;
            }
        }
        assert_eq!((after.0, after.1), (before.0, before.1), "{code} changed something");
    }
}

#[tokio::test]
async fn submit_batch_answers_each_command() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;

    let ok = s.sign(transfer("HZ-STEEL", "NB-POWER", 10));
    let (_, cmd) = s.command(transfer("HZ-STEEL", "NB-POWER", 10));
    let mut bad_sig = sign_command(&test_key("HZ-STEEL"), &test_ledger_id(), &cmd);
    bad_sig.signature[5] ^= 0x80;
    let batch = vec![
        ok.clone(),
        bad_sig,
        ok.clone(), // replayed inside the batch
        // An account created in this batch acts in the same batch: its key
        // is not known when the batch is verified, so the node checks it.
        s.sign(json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-CEMENT", "role": "entity"})),
        s.sign(transfer("HZ-STEEL", "HZ-CEMENT", 7)),
        s.sign(transfer("HZ-CEMENT", "NB-POWER", 2)),
        s.sign(transfer("HZ-STEEL", "NB-POWER", 1_000_000)),
        pb::SignedCommand {
            payload: vec![0xff; 3],
            signature: vec![],
        },
    ];
    let results = c
        .submit_batch(pb::SubmitBatchRequest { commands: batch })
        .await
        .unwrap()
        .into_inner()
        .results;
    let got: Vec<(bool, &str, bool)> = results
        .iter()
        .map(|r| {
            let o = r.outcome.as_ref().unwrap();
            (o.ok, o.code.as_str(), r.seq > 0)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (true, "", true),
            (false, "BAD_SIGNATURE", false),
            (false, "REPLAYED", false),
            (true, "", true),
            (true, "", true),
            (true, "", true),
            (false, "INSUFFICIENT_HOLDINGS", true),
            (false, "MALFORMED", false),
        ]
    );
    // Sequenced commands got consecutive journal positions.
    let seqs: Vec<u64> = results.iter().map(|r| r.seq).filter(|&q| q > 0).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    assert_eq!(holding(&account(&mut c, "HZ-STEEL").await, "ZJEA-2025"), (983, 0, 0));
    assert_eq!(holding(&account(&mut c, "HZ-CEMENT").await, "ZJEA-2025"), (5, 0, 0));
    assert_eq!(holding(&account(&mut c, "NB-POWER").await, "ZJEA-2025"), (12, 0, 0));

    // Empty and oversized batches.
    let empty = c
        .submit_batch(pb::SubmitBatchRequest { commands: vec![] })
        .await
        .unwrap()
        .into_inner();
    assert!(empty.results.is_empty());
    let too_many = vec![
        pb::SignedCommand {
            payload: vec![1],
            signature: vec![],
        };
        4097
    ];
    let err = c
        .submit_batch(pb::SubmitBatchRequest { commands: too_many })
        .await
        .unwrap_err();
    assert_eq!(err.code(), G::InvalidArgument, "{err:?}");
}

#[tokio::test]
async fn concurrent_submits_are_all_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;
    // Eight senders, each with its own account and 40 transfers in flight
    // at once: they share batches (group commit) and all are acknowledged.
    const SENDERS: usize = 8;
    const EACH: i64 = 40;
    for i in 0..SENDERS {
        let id = format!("HZ-S{i}");
        accept(
            &mut c,
            s.sign(json!({"as": "HZ-EEB", "cmd": "create_account", "id": id, "role": "entity"})),
        )
        .await;
        accept(
            &mut c,
            s.sign(json!({"as": "HZ-EEB", "cmd": "issue", "instrument": "ZJEA-2025", "to": id, "qty": EACH})),
        )
        .await;
    }
    let mut tasks = Vec::new();
    for i in 0..SENDERS {
        let id = format!("HZ-S{i}");
        let envs: Vec<_> = (0..EACH).map(|_| s.sign(transfer(&id, "NB-POWER", 1))).collect();
        let mut client = c.clone();
        tasks.push(tokio::spawn(async move {
            // Nonces must arrive in order per account: send one after
            // another per account, all accounts at once.
            for e in envs {
                accept(&mut client, e).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        holding(&account(&mut c, "NB-POWER").await, "ZJEA-2025").0,
        SENDERS as i64 * EACH
    );
}

#[tokio::test]
async fn journal_and_checkpoint_verify() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;
    let last = s.sign(transfer("HZ-STEEL", "NB-POWER", 3));
    accept(&mut c, last.clone()).await;
    // A rejected-but-sequenced command is in the journal too.
    let _ = c.submit(s.sign(transfer("HZ-STEEL", "NB-POWER", 0))).await.unwrap_err();

    let cp = c
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    let operator = test_key(OPERATOR).verifying_key();
    let opened = checkpoint::open(&cp.text, ORIGIN, &operator).expect("the checkpoint verifies");
    assert_eq!(opened.tree_size, cp.tree_size);
    assert_eq!(opened.root_hash.to_vec(), cp.root_hash);
    assert_eq!(opened.origin, ORIGIN);
    // Another key does not open it.
    assert!(checkpoint::open(&cp.text, ORIGIN, &test_key("HZ-EEB").verifying_key()).is_err());

    let entries = journal(&mut c, 0).await;
    assert_eq!(entries.len() as u64, cp.tree_size);
    assert!(matches!(entries[0].input, Some(pb::journal_entry::Input::Genesis(_))));
    let mut tree = MerkleTree::new();
    let mut prev = [0u8; 32];
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64);
        assert_eq!(e.prev_hash, prev.to_vec(), "hash chain at {i}");
        prev = leaf_hash(&e.encode_to_vec());
        tree.push(prev);
    }
    assert_eq!(
        tree.root().to_vec(),
        cp.root_hash,
        "the Merkle root of the streamed journal"
    );
    // The envelopes are stored as received.
    let n = entries.len();
    assert_eq!(entries[n - 2].input, Some(pb::journal_entry::Input::Command(last)));
    assert_eq!(entries[n - 1].outcome.as_ref().unwrap().code, "INVALID_QUANTITY");

    let tail = journal(&mut c, 3).await;
    assert_eq!(tail.len(), n - 3);
    assert_eq!(tail[0], entries[3]);
    assert!(journal(&mut c, 1_000).await.is_empty());
}

/// `carbon keygen` and `carbon submit` against a development genesis: the
/// server writes the regulators' keys into DIR/keys.
#[tokio::test]
async fn cli_keygen_and_submit_with_a_development_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let keys = data.join("keys");
    for id in ["ZJ-CEEX", "ZJ-DEE", "HZ-EEB", "NB-EEB"] {
        let path = keys.join(format!("{id}.key"));
        assert!(path.exists(), "{} missing", path.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
        assert!(server.banner.iter().any(|l| l.contains(&format!("{id}.key"))));
    }

    let bin = carbon_bin();
    let entity_key = dir.path().join("steel.key");
    let out = std::process::Command::new(bin)
        .args(["keygen", "--out"])
        .arg(&entity_key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let public_hex = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(public_hex.len(), 64);
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&entity_key).unwrap()).unwrap();
    assert_eq!(file["public_key"], public_hex.as_str());
    assert_eq!(file["secret_key"].as_str().unwrap().len(), 64);

    let submit = |key: &std::path::Path, args: &[&str], json: &str| {
        std::process::Command::new(bin)
            .arg("submit")
            .arg("--key")
            .arg(key)
            .args(["--server", &server.url()])
            .args(args)
            .arg(json)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap()
    };
    let create = format!(r#"{{"cmd":"create_account","id":"HZ-STEEL","role":"entity","public_key":"{public_hex}"}}"#);
    let out = submit(&keys.join("HZ-EEB.key"), &["--actor", "HZ-EEB"], &create);
    assert!(out.status.success(), "{out:?}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["seq"], 1);

    // "as" in the JSON works too; an explicit nonce.
    let out = submit(
        &keys.join("ZJ-CEEX.key"),
        &["--nonce", "7"],
        r#"{"as":"ZJ-CEEX","cmd":"define_instrument","symbol":"ZJEA-2025","reference_price":"60"}"#,
    );
    assert!(out.status.success(), "{out:?}");

    // A rejection: printed with its code, non-zero exit.
    let out = submit(
        &keys.join("ZJ-CEEX.key"),
        &["--actor", "ZJ-CEEX", "--nonce", "7"],
        r#"{"cmd":"define_instrument","symbol":"CCER","reference_price":"60"}"#,
    );
    assert!(!out.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["code"], "REPLAYED");

    // The generated entity key signs for HZ-STEEL.
    let out = submit(
        &entity_key,
        &["--actor", "HZ-STEEL"],
        r#"{"cmd":"retire","instrument":"ZJEA-2025","qty":1,"beneficiary":"x"}"#,
    );
    assert!(!out.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["code"], "INSUFFICIENT_HOLDINGS", "{answer}");
}

// ---------------------------------------------------------------- docs/SIGNING.md

const EXAMPLE_SEED: &str = "f49a30235b8d9ababc710325d7328b9823fbdb2f3a2777421031c5efb61ba7ea";
const EXAMPLE_PUBLIC: &str = "0c526768a0f840a437a13bd630bb888e405af2599872ac54fd92f4192f81ea3c";
const EXAMPLE_PAYLOAD: &str = "0a08485a2d535445454c10017a170a095a4a45412d3230323512084e422d504f5745521864";
/// The example's ledger: an id of 32 bytes of 0x11.
const EXAMPLE_LEDGER: [u8; 32] = [0x11; 32];
const EXAMPLE_MESSAGE: &str = "636172626f6e2d6c65646765722f76322f636f6d6d616e640a\
1111111111111111111111111111111111111111111111111111111111111111\
0a08485a2d535445454c10017a170a095a4a45412d3230323512084e422d504f5745521864";
const EXAMPLE_SIGNATURE: &str =
    "629c80efe19ef84cc67599dc315ce3e85c76e0b4f16c5813e46828133e491c898b296aa6329ef45532d18384e1e15966ddb404a9f0f96ab8edb617379199b10a";

/// The worked example of docs/SIGNING.md, byte for byte; the document must
/// quote these exact strings.
#[test]
fn signing_doc_example_is_exact() {
    let key = test_key("HZ-STEEL");
    let command = pb::Command {
        actor: Some("HZ-STEEL".into()),
        nonce: Some(1),
        body: Some(pb::command::Body::Transfer(pb::Transfer {
            instrument: Some("ZJEA-2025".into()),
            to: Some("NB-POWER".into()),
            qty: Some(100),
        })),
    };
    let payload = command.encode_to_vec();
    let message = signing_message(&EXAMPLE_LEDGER, &payload);
    assert!(message.starts_with(b"carbon-ledger/v2/command\n"));
    let signature = key.sign(&message).to_bytes();
    let env = sign_command(&key, &EXAMPLE_LEDGER, &command);
    assert_eq!(env.payload, payload);
    assert_eq!(env.signature, signature.to_vec());

    let got = [
        hex::encode(key.to_bytes()),
        hex::encode(key.verifying_key().to_bytes()),
        hex::encode(&payload),
        hex::encode(&message),
        hex::encode(signature),
    ];
    let want = [
        EXAMPLE_SEED,
        EXAMPLE_PUBLIC,
        EXAMPLE_PAYLOAD,
        EXAMPLE_MESSAGE,
        EXAMPLE_SIGNATURE,
    ];
    assert_eq!(got, want.map(String::from));

    let doc = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/SIGNING.md"))
        .expect("docs/SIGNING.md");
    for hex in want {
        assert!(doc.contains(hex), "docs/SIGNING.md does not quote {hex}");
    }
    // And the server's check accepts it.
    carbon_ledger::state::verify_signature(&key.verifying_key(), &EXAMPLE_LEDGER, &env).unwrap();
    // On another ledger the same signature is worthless.
    assert!(carbon_ledger::state::verify_signature(&key.verifying_key(), &[0x22; 32], &env).is_err());
}

/// A client whose call timed out resends the same envelope: REPLAYED says
/// only that the nonce is used up; LookupCommand says where the command is
/// and what it did, and NOT_FOUND for a nonce never journalled (review
/// point 6).
#[tokio::test]
async fn a_replayed_command_is_found_by_actor_and_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;
    let env = s.sign(transfer("HZ-STEEL", "NB-POWER", 10));
    let first = c.submit(env.clone()).await.unwrap().into_inner();
    reject(&mut c, env.clone(), G::AlreadyExists, "REPLAYED").await;

    let id = ledger_id(&mut c).await;
    let lookup = |who: &str, nonce: u64| {
        signed(
            who,
            &id,
            "/carbon.v1.Ledger/LookupCommand",
            pb::LookupCommandRequest {
                actor: "HZ-STEEL".into(),
                nonce,
            },
        )
    };
    let nonce = s.nonces["HZ-STEEL"];
    for who in ["HZ-STEEL", "HZ-EEB"] {
        let found = c.lookup_command(lookup(who, nonce)).await.unwrap().into_inner();
        assert_eq!(found.seq, first.seq, "{who}");
        assert_eq!(found.command.as_ref(), Some(&env), "{who}: the envelope as stored");
        assert_eq!(found.outcome, first.outcome, "{who}: the original outcome");
    }
    let never = c.lookup_command(lookup("HZ-STEEL", nonce + 5)).await.unwrap_err();
    assert_eq!(never.code(), G::NotFound, "{never:?}");
    let other = c.lookup_command(lookup("NB-POWER", nonce)).await.unwrap_err();
    assert_eq!(other.code(), G::PermissionDenied, "{other:?}");
}

/// A command signed for another ledger (a staging ledger with the same
/// accounts and keys) is refused: signatures are bound to the ledger id
/// (review point 5).
#[tokio::test]
async fn a_command_signed_for_another_ledger_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut c = server.client().await;
    let mut s = Signer::default();
    small_market(&mut c, &mut s).await;
    assert_eq!(ledger_id(&mut c).await, s.ledger_id, "the test genesis's id");
    let mut staging = Signer {
        nonces: s.nonces.clone(),
        ledger_id: [0x5a; 32],
    };
    let env = staging.sign(transfer("HZ-STEEL", "NB-POWER", 1));
    reject(&mut c, env, G::Unauthenticated, "BAD_SIGNATURE").await;
    // Signed for this ledger, the same command goes through.
    accept(&mut c, s.sign(transfer("HZ-STEEL", "NB-POWER", 1))).await;
}
