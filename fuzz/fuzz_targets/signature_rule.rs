//! `carbon_ledger::signature::verify_strict` against ed25519-dalek's own
//! `verify_strict` on arbitrary keys, signatures and messages: they must
//! always agree. Half the inputs reuse a real signature with a few bytes
//! changed, so that the search reaches the accepting side too.
#![no_main]

use carbon_ledger::keys::test_key;
use carbon_ledger::signature::verify_strict;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 1 + 32 + 64 {
        return;
    }
    let (mode, rest) = data.split_at(1);
    let (key, rest) = rest.split_at(32);
    let (sig, message) = rest.split_at(64);
    let (key, mut sig) = if mode[0] & 1 == 0 {
        (key.try_into().unwrap(), <[u8; 64]>::try_from(sig).unwrap())
    } else {
        // A real signature of the message, with the first bytes of `sig`
        // saying which of its bytes to flip.
        let signer = test_key("FUZZ");
        let mut real = signer.sign(message).to_bytes();
        for pair in sig.chunks(2).take(usize::from(mode[0] >> 5)) {
            real[usize::from(pair[0]) % 64] ^= pair[1];
        }
        (signer.verifying_key().to_bytes(), real)
    };
    let Ok(key) = VerifyingKey::from_bytes(&key) else { return };
    sig[63] &= if mode[0] & 2 == 0 { 0xff } else { 0x0f }; // often a canonical s
    let sig = Signature::from_bytes(&sig);
    assert_eq!(
        verify_strict(&key, message, &sig),
        key.verify_strict(message, &sig).is_ok()
    );
});
