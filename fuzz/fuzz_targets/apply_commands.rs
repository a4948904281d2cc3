//! Arbitrary sequences of protobuf commands, correctly signed by one of the
//! market's accounts, applied in order: no panic, and the invariants of
//! RULEBOOK.md 3 hold after every command.
#![no_main]

use carbon_ledger::keys::test_key;
use carbon_ledger::replay::sign_command;
use carbon_proto::v1 as pb;
use libfuzzer_sys::fuzz_target;
use prost::Message;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut state = common::market();
    // Each chunk: one byte picks the actor, one the length, then a Command.
    let mut rest = data;
    let mut nonce = 0u64;
    while rest.len() >= 2 {
        let actor = common::ACTORS[rest[0] as usize % common::ACTORS.len()];
        let len = (rest[1] as usize).min(rest.len() - 2);
        let (chunk, tail) = rest[2..].split_at(len);
        rest = tail;
        let Ok(mut cmd) = pb::Command::decode(chunk) else { continue };
        nonce += 1;
        cmd.actor = Some(actor.into());
        cmd.nonce = Some(nonce);
        let env = sign_command(&test_key(actor), &state.ledger_id, &cmd);
        if let Ok(auth) = state.authenticate(&env, false) {
            let _ = state.apply(&auth);
        }
        state.check_invariants();
    }
});
