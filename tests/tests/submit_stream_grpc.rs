//! SubmitStream over real gRPC on loopback: many envelopes pipelined on one
//! stream, answered one each, in order, with the results unary Submit gives
//! for the same envelopes on an identical ledger.

mod grpc_support;

use carbon_ledger::keys::test_key;
use carbon_ledger::replay::sign_command;
use carbon_proto::v1 as pb;
use grpc_support::*;
use serde_json::json;
use tokio_stream::wrappers::ReceiverStream;

fn transfer(from: &str, to: &str, qty: i64) -> serde_json::Value {
    json!({"as": from, "cmd": "transfer", "instrument": "ZJEA-2025", "to": to, "qty": qty})
}

fn order(actor: &str, id: String, side: &str, qty: i64) -> serde_json::Value {
    json!({"as": actor, "cmd": "order", "id": id, "instrument": "ZJEA-2025", "side": side,
           "type": "limit", "tif": "day", "price": "58.20", "qty": qty})
}

/// Where the envelopes that must be refused or rejected sit in the run.
const BAD_SIGNATURE_AT: usize = 50;
const MALFORMED_AT: usize = 100;
const REPLAYED_AT: usize = 150;
const INSUFFICIENT_AT: usize = 200;
const OVERSIZED_AT: usize = 250;
/// The envelope sent again at [`REPLAYED_AT`] (accepted the first time).
const REPLAY_OF: usize = 10;
const ENVELOPES: usize = 300;

/// A run of envelopes after `small_market`: a day opened, an account created
/// that acts later in the run, transfers both ways, orders that trade, and
/// in the middle a bad signature, a payload that is not a command, an
/// envelope sent twice, a command the rulebook rejects and one over the
/// payload limit.
fn envelopes(s: &mut Signer) -> Vec<pb::SignedCommand> {
    let mut out = vec![
        s.sign(json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"})),
        s.sign(json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "100000.00"})),
        s.sign(json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-CEMENT", "role": "entity"})),
    ];
    let mut k = 0usize;
    while out.len() < ENVELOPES {
        let i = out.len();
        let env = match i {
            BAD_SIGNATURE_AT => {
                let (_, cmd) = s.command(transfer("HZ-STEEL", "NB-POWER", 1));
                let mut env = sign_command(&test_key("HZ-STEEL"), &test_ledger_id(), &cmd);
                env.signature[7] ^= 0x10;
                env
            }
            MALFORMED_AT => pb::SignedCommand {
                payload: vec![0x0a, 0xff, 0x01, 0x02],
                signature: vec![0; 64],
            },
            REPLAYED_AT => out[REPLAY_OF].clone(),
            INSUFFICIENT_AT => s.sign(transfer("HZ-STEEL", "NB-POWER", 1_000_000)),
            OVERSIZED_AT => pb::SignedCommand {
                payload: vec![0; 64 * 1024 + 1],
                signature: vec![0; 64],
            },
            _ => {
                k += 1;
                // HZ-CEMENT receives two for every one it passes on.
                match k % 10 {
                    0 => s.sign(order("HZ-STEEL", format!("s{k}"), "sell", 2)),
                    5 => s.sign(order("NB-POWER", format!("b{k}"), "buy", 2)),
                    n if n % 2 == 1 => s.sign(transfer("HZ-STEEL", "HZ-CEMENT", 2)),
                    _ => s.sign(transfer("HZ-CEMENT", "NB-POWER", 1)),
                }
            }
        };
        out.push(env);
    }
    out
}

/// Sends every envelope on one stream before reading any answer, reads one
/// answer per envelope with the request side still open, then closes it
/// and expects the stream to end with OK.
async fn submit_streamed(server: &Server, envs: &[pb::SignedCommand]) -> Vec<pb::CommandResult> {
    let mut c = server.client().await;
    let (tx, rx) = tokio::sync::mpsc::channel(envs.len());
    for e in envs {
        tx.send(e.clone()).await.unwrap();
    }
    let mut answers = c
        .submit_stream(ReceiverStream::new(rx))
        .await
        .expect("the stream opens")
        .into_inner();
    let mut results = Vec::with_capacity(envs.len());
    for i in 0..envs.len() {
        let r = answers
            .message()
            .await
            .unwrap_or_else(|s| panic!("answer {i}: {s:?}"))
            .unwrap_or_else(|| panic!("the stream ended after {i} answers"));
        results.push(r);
    }
    drop(tx);
    assert_eq!(answers.message().await.expect("ends with OK"), None, "one answer each");
    results
}

fn code(r: &pb::CommandResult) -> &str {
    r.outcome.as_ref().map_or("NO_OUTCOME", |o| o.code.as_str())
}

#[tokio::test]
async fn pipelined_envelopes_get_in_order_answers_like_submit() {
    // Two identical ledgers: one fed by the stream, one by unary Submit.
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (streamed, unary) = (
        Server::with_test_genesis(dir_a.path()),
        Server::with_test_genesis(dir_b.path()),
    );
    let mut s = Signer::default();
    small_market(&mut streamed.client().await, &mut s).await;
    let mut s_unary = Signer::default();
    let mut u = unary.client().await;
    small_market(&mut u, &mut s_unary).await;
    let envs = envelopes(&mut s);

    let results = submit_streamed(&streamed, &envs).await;
    assert_eq!(results.len(), ENVELOPES);

    // The bad envelopes got their codes and the stream went on.
    let expect = [
        (BAD_SIGNATURE_AT, "BAD_SIGNATURE", false),
        (MALFORMED_AT, "MALFORMED", false),
        (REPLAYED_AT, "REPLAYED", false),
        (INSUFFICIENT_AT, "INSUFFICIENT_HOLDINGS", true),
        (OVERSIZED_AT, "MALFORMED", false),
    ];
    for (at, want, sequenced) in expect {
        let r = &results[at];
        assert!(!r.outcome.as_ref().unwrap().ok, "{at}: {r:?}");
        assert_eq!(code(r), want, "{at}: {r:?}");
        assert_eq!(r.seq > 0, sequenced, "{at}: {r:?}");
    }
    let bad: Vec<usize> = expect.iter().map(|e| e.0).collect();
    for (i, r) in results.iter().enumerate() {
        if !bad.contains(&i) {
            assert_eq!(code(r), "", "{i}: {r:?}");
            assert!(r.outcome.as_ref().unwrap().ok, "{i}: {r:?}");
        }
    }
    // Sequenced in the order sent, at consecutive journal positions.
    let seqs: Vec<u64> = results.iter().map(|r| r.seq).filter(|&q| q > 0).collect();
    assert_eq!(seqs.len(), ENVELOPES - 4);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    // The orders traded: the stream's results carry their events.
    let trades = results
        .iter()
        .flat_map(|r| &r.outcome.as_ref().unwrap().events)
        .filter(|e| matches!(e.kind, Some(pb::event::Kind::Trade(_))))
        .count();
    assert!(trades > 0, "no trade in the run");

    // Durable: every answered command is in the journal.
    let mut c = streamed.client().await;
    let size = c
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .tree_size;
    assert_eq!(size, seqs.last().unwrap() + 1);

    // The same envelopes through unary Submit, one at a time: the same
    // results, and the same journal.
    for (i, (env, r)) in envs.iter().zip(&results).enumerate() {
        match u.submit(env.clone()).await {
            Ok(answer) => assert_eq!(&answer.into_inner(), r, "{i}"),
            Err(status) => {
                assert_eq!(rejection(&status).code, code(r), "{i}: {status:?}");
                assert!(!r.outcome.as_ref().unwrap().ok, "{i}");
                let journalled = status
                    .message()
                    .split("journalled at seq ")
                    .nth(1)
                    .map(|rest| rest.split(' ').next().unwrap().parse::<u64>().unwrap());
                assert_eq!(journalled.unwrap_or(0), r.seq, "{i}: {status:?}");
            }
        }
    }
    let checkpoint = |c: pb::Checkpoint| (c.tree_size, c.root_hash);
    assert_eq!(
        checkpoint(
            c.get_checkpoint(pb::GetCheckpointRequest {})
                .await
                .unwrap()
                .into_inner()
        ),
        checkpoint(
            u.get_checkpoint(pb::GetCheckpointRequest {})
                .await
                .unwrap()
                .into_inner()
        ),
        "the two journals differ"
    );
}
