//! Read credentials: how an account proves who is asking, on any call that
//! is not public, with nothing but its ed25519 key (docs/SIGNING.md).
//!
//! A credential travels in three gRPC metadata entries and signs
//!
//! ```text
//! "carbon-ledger/v1/read\n" || ledger_id (32 bytes) || method || "\n"
//!     || timestamp_ms (ASCII decimal) || "\n" || request (protobuf bytes)
//! ```
//!
//! - the **ledger id** (the leaf hash of the genesis entry, from
//!   `GetCheckpoint`) binds it to one ledger: a staging credential is
//!   useless in production;
//! - the **full method name** (`/carbon.v1.Supervision/ListAlerts`) binds it
//!   to one call, and the **request bytes** to one question;
//! - the **timestamp** bounds its life: the server takes it only within
//!   [`FRESHNESS_MS`] of its own clock, and only once (it remembers the
//!   signatures it took until they would be stale anyway).
//!
//! The prefix differs from the command prefix, so a credential can never
//! pass for a signed command, nor a command's signature for a credential.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// The domain-separation prefix of a read credential.
pub const READ_SIGNING_PREFIX: &[u8] = b"carbon-ledger/v1/read\n";

/// Metadata key: the account that asks.
pub const ACCOUNT_KEY: &str = "carbon-account";
/// Metadata key: the client's clock, Unix milliseconds, ASCII decimal.
pub const TIMESTAMP_KEY: &str = "carbon-timestamp-ms";
/// Metadata key: the signature, 128 lowercase hex digits.
pub const SIGNATURE_KEY: &str = "carbon-signature";

/// How far a credential's timestamp may be from the server's clock, either
/// way (60 s): wide enough for ordinary clock drift, short enough that a
/// captured credential goes stale within a minute.
pub const FRESHNESS_MS: u64 = 60_000;

/// The exact bytes a read credential signs.
pub fn message(ledger_id: &[u8; 32], method: &str, timestamp_ms: u64, request: &[u8]) -> Vec<u8> {
    let ts = timestamp_ms.to_string();
    let mut m = Vec::with_capacity(READ_SIGNING_PREFIX.len() + 32 + method.len() + ts.len() + 2 + request.len());
    m.extend_from_slice(READ_SIGNING_PREFIX);
    m.extend_from_slice(ledger_id);
    m.extend_from_slice(method.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(ts.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(request);
    m
}

/// A credential as it travels: the three metadata values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub account: String,
    pub timestamp_ms: u64,
    pub signature: [u8; 64],
}

impl Credential {
    /// Signs a read of `method` with `request` for `account`.
    pub fn sign(
        key: &SigningKey,
        account: &str,
        ledger_id: &[u8; 32],
        method: &str,
        timestamp_ms: u64,
        request: &[u8],
    ) -> Credential {
        let sig = key.sign(&message(ledger_id, method, timestamp_ms, request));
        Credential {
            account: account.to_string(),
            timestamp_ms,
            signature: sig.to_bytes(),
        }
    }

    /// True when the signature is `key`'s over this read (the strict rule
    /// of `signature::verify_strict`).
    pub fn verify(&self, key: &VerifyingKey, ledger_id: &[u8; 32], method: &str, request: &[u8]) -> bool {
        let sig = Signature::from_bytes(&self.signature);
        crate::signature::verify_strict(key, &message(ledger_id, method, self.timestamp_ms, request), &sig)
    }

    /// The signature's metadata form.
    pub fn signature_hex(&self) -> String {
        hex::encode(self.signature)
    }

    /// Reads a credential from its three metadata values; `Err` says what
    /// is wrong with them.
    pub fn parse(account: &str, timestamp_ms: &str, signature_hex: &str) -> Result<Credential, &'static str> {
        let timestamp_ms = timestamp_ms
            .parse()
            .map_err(|_| "carbon-timestamp-ms is not a decimal number")?;
        let mut signature = [0u8; 64];
        hex::decode_to_slice(signature_hex, &mut signature).map_err(|_| "carbon-signature is not 128 hex digits")?;
        Ok(Credential {
            account: account.to_string(),
            timestamp_ms,
            signature,
        })
    }

    /// Whether the timestamp is within [`FRESHNESS_MS`] of `now_ms`.
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms.abs_diff(self.timestamp_ms) <= FRESHNESS_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_prefix_ledger_method_time_and_request() {
        let m = message(
            &[7; 32],
            "/carbon.v1.Supervision/ListAlerts",
            1_700_000_000_000,
            b"\x08\x01",
        );
        let mut want = b"carbon-ledger/v1/read\n".to_vec();
        want.extend_from_slice(&[7; 32]);
        want.extend_from_slice(b"/carbon.v1.Supervision/ListAlerts\n1700000000000\n\x08\x01");
        assert_eq!(m, want);
    }

    #[test]
    fn a_credential_is_bound_to_ledger_method_and_request() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let vk = key.verifying_key();
        let ledger = [9; 32];
        let method = "/carbon.v1.Supervision/GetPosition";
        let c = Credential::sign(&key, "ZJ-DEE", &ledger, method, 5, b"req");
        assert!(c.verify(&vk, &ledger, method, b"req"));
        assert!(!c.verify(&vk, &[8; 32], method, b"req"), "another ledger");
        assert!(
            !c.verify(&vk, &ledger, "/carbon.v1.Supervision/ListAlerts", b"req"),
            "another method"
        );
        assert!(!c.verify(&vk, &ledger, method, b"reQ"), "another request");
        let other = SigningKey::from_bytes(&[2; 32]).verifying_key();
        assert!(!c.verify(&other, &ledger, method, b"req"), "another key");
        let back = Credential::parse("ZJ-DEE", "5", &c.signature_hex()).unwrap();
        assert_eq!(back, c);
        assert!(Credential::parse("ZJ-DEE", "x", &c.signature_hex()).is_err());
        assert!(Credential::parse("ZJ-DEE", "5", "abc").is_err());
    }

    /// The worked example of docs/SIGNING.md, "Read credentials", byte for
    /// byte; the page must quote these exact strings.
    #[test]
    fn read_credential_doc_example_is_exact() {
        use prost::Message as _;
        let key = crate::keys::test_key("HZ-EEB");
        let request = carbon_proto::v1::PositionRequest {
            account: "HZ-STEEL".into(),
        }
        .encode_to_vec();
        let method = "/carbon.v1.Supervision/GetPosition";
        let c = Credential::sign(&key, "HZ-EEB", &[0x11; 32], method, 1_767_225_600_000, &request);
        let got = [
            hex::encode(key.to_bytes()),
            hex::encode(key.verifying_key().to_bytes()),
            hex::encode(&request),
            hex::encode(message(&[0x11; 32], method, 1_767_225_600_000, &request)),
            c.signature_hex(),
        ];
        let want = [
            "95b45eabe3e08aef37ebaade7ba443b34c97e97f717b2a0dbc50b4f237c90bb9",
            "4ca47d0e6865836043a98630f6922f8c5a97bddc0d0d7363ec31a89e8c7a874b",
            "0a08485a2d535445454c",
            "636172626f6e2d6c65646765722f76312f726561640a11111111111111111111111111111111111111111111111111111111111111112f636172626f6e2e76312e5375706572766973696f6e2f476574506f736974696f6e0a313736373232353630303030300a0a08485a2d535445454c",
            "328425e06e0538ca790987070ab75a70e5e9d1f4f2666559601350f58d7a60a34327c44b7af8a1a8bd30ba8baacf07f594f9989751119408c9d33524e022b804",
        ];
        assert_eq!(got, want.map(String::from));
        assert!(c.verify(&key.verifying_key(), &[0x11; 32], method, &request));
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/SIGNING.md"))
            .expect("docs/SIGNING.md");
        for hex in want {
            assert!(doc.contains(hex), "docs/SIGNING.md does not quote {hex}");
        }
    }

    #[test]
    fn freshness_is_sixty_seconds_either_way() {
        let c = Credential {
            account: "A".into(),
            timestamp_ms: 1_000_000,
            signature: [0; 64],
        };
        assert!(c.is_fresh(1_000_000 + FRESHNESS_MS));
        assert!(!c.is_fresh(1_000_000 + FRESHNESS_MS + 1));
        assert!(c.is_fresh(1_000_000 - FRESHNESS_MS));
        assert!(!c.is_fresh(1_000_000 - FRESHNESS_MS - 1));
    }
}
