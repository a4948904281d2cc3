//! Keys: loading and the deterministic test keys of REPLAY.md.

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

/// The prefix of a test key's seed: `SHA-256("carbon-ledger test key:" + id)`.
pub const TEST_KEY_PREFIX: &str = "carbon-ledger test key:";

/// The test key of an account (REPLAY.md): for replays and examples only.
pub fn test_key(id: &str) -> SigningKey {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(TEST_KEY_PREFIX.as_bytes())
        .chain_update(id.as_bytes())
        .finalize()
        .into();
    SigningKey::from_bytes(&seed)
}

/// Parses a 32-byte key written as 64 hex digits.
pub fn parse_key_hex(s: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(s.trim()).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_keys_are_deterministic_and_distinct() {
        assert_eq!(test_key("HZ-EEB").to_bytes(), test_key("HZ-EEB").to_bytes());
        assert_ne!(test_key("HZ-EEB").to_bytes(), test_key("NB-EEB").to_bytes());
    }

    #[test]
    fn hex_keys_must_be_32_bytes() {
        assert!(parse_key_hex(&"ab".repeat(32)).is_some());
        assert!(parse_key_hex(&"ab".repeat(31)).is_none());
        assert!(parse_key_hex("zz").is_none());
    }
}
