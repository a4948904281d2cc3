//! A flush that fails stops the node: the batch whose flush failed is never
//! acknowledged (`submit` returns an error), every later submit is refused,
//! and a node reopened on the same folder holds everything acknowledged
//! before, and possibly (not necessarily) the failed batch.

use carbon_ledger::journal::Journal;
use carbon_ledger::keys::test_key;
use carbon_ledger::market_day::{parse_line, Line};
use carbon_ledger::node::{Node, NodeError};
use carbon_ledger::replay::sign_command;
use carbon_proto::v1 as pb;

const OPERATOR: &str = "ZJ-CEEX";

fn genesis() -> pb::Genesis {
    pb::Genesis {
        operator: OPERATOR.into(),
        operator_public_key: test_key(OPERATOR).verifying_key().to_bytes().to_vec(),
        regulators: vec![pb::GenesisRegulator {
            id: "HZ-EEB".into(),
            jurisdiction: "HZ".into(),
            public_key: test_key("HZ-EEB").verifying_key().to_bytes().to_vec(),
        }],
        origin: "carbon-ledger.test".into(),
    }
}

/// The operator defines instrument `symbol` with `nonce`.
fn define(symbol: &str, nonce: u64) -> (pb::SignedCommand, bool) {
    let line =
        format!(r#"{{"as":"{OPERATOR}","cmd":"define_instrument","symbol":"{symbol}","reference_price":"58.20"}}"#);
    let Line::Command { actor, body, .. } = parse_line(&line) else {
        panic!("not a command: {line}");
    };
    let command = pb::Command {
        actor: Some(actor),
        nonce: Some(nonce),
        body: Some(body),
    };
    let ledger_id = carbon_ledger::state::ledger_id_of(&genesis());
    (sign_command(&test_key(OPERATOR), &ledger_id, &command), false)
}

#[test]
fn a_failed_flush_stops_the_node_and_nothing_unflushed_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::create(dir.path(), genesis(), test_key(OPERATOR)).unwrap();
    node.journal().fail_flushes_after(1);

    let ok = node.submit(vec![define("ZJEA-2025", 1)]).unwrap();
    assert_eq!(ok[0].seq, Some(1));
    assert!(ok[0].result.is_ok());

    // The second flush fails: the batch is not acknowledged.
    let failed = node.submit(vec![define("ZJEA-2026", 2), define("ZJEA-2027", 3)]);
    assert!(
        matches!(failed, Err(NodeError::Failed(ref why)) if why.contains("injected")),
        "{failed:?}"
    );
    // Everything later is refused, even a command that would be accepted.
    let later = node.submit(vec![define("ZJEA-2028", 4)]);
    assert!(matches!(later, Err(NodeError::Failed(_))), "{later:?}");
    drop(node);

    // Reopened: the acknowledged command is there; the failed batch is
    // there whole or not at all, and the refused command never is.
    let node = Node::open(dir.path(), test_key(OPERATOR)).unwrap();
    let len = node.len();
    assert!(len == 2 || len == 4, "journal length {len}");
    let state = node.state();
    assert!(state.instruments.contains_key("ZJEA-2025"));
    assert_eq!(state.instruments.contains_key("ZJEA-2026"), len == 4);
    assert!(!state.instruments.contains_key("ZJEA-2028"));
    assert_eq!(
        state.account(OPERATOR).unwrap().last_nonce,
        if len == 4 { 3 } else { 1 }
    );
}

#[test]
fn the_hook_counts_flushes_and_is_off_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    for _ in 0..3 {
        journal.flush().unwrap();
    }
    journal.fail_flushes_after(2);
    journal.flush().unwrap();
    journal.flush().unwrap();
    assert!(journal.flush().is_err());
    assert!(journal.flush().is_err());
}
