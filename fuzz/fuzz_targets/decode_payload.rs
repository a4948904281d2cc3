//! Arbitrary bytes as a signed envelope and as a payload: decoding and the
//! checks before sequencing must refuse them cleanly, never panic.
#![no_main]

use carbon_proto::v1 as pb;
use libfuzzer_sys::fuzz_target;
use prost::Message;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let state = common::market();
    if let Ok(env) = pb::SignedCommand::decode(data) {
        let _ = state.authenticate(&env, false);
        let _ = state.authenticate(&env, true);
    }
    let env = pb::SignedCommand { payload: data.to_vec(), signature: vec![0; 64] };
    let _ = state.authenticate(&env, true);
});
