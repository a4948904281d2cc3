//! Signed tree heads in the C2SP `tlog-checkpoint` format, wrapped in a C2SP
//! `signed-note`.
//!
//! After every batch the operator signs a [`Checkpoint`] (origin, tree size,
//! Merkle root from `crate::merkle`). Using the standard text format means
//! witnesses, monitors and existing transparency-log tooling (for example the
//! Go `sumdb/note` package) can check our tree heads without custom code.
//!
//! Wire format, byte for byte:
//!
//! ```text
//! <origin>\n
//! <tree size, decimal>\n
//! <base64 of the 32-byte root hash>\n
//! \n
//! — <key name> <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>\n
//! ```
//!
//! The first three lines are the body; the signature covers exactly those
//! bytes, final newline included. The key id is the first four bytes of
//! `SHA-256(key name || "\n" || 0x01 || public key)`, and `0x01` is the
//! signed-note algorithm byte for Ed25519.
//!
//! Everything parsed here comes from untrusted input: parsing is strict,
//! returns [`CheckpointError`] for anything unexpected, and never panics.
//! Checkpoint extension lines (optional in the C2SP spec) are rejected: our
//! log never emits them and [`Checkpoint`] has nowhere to keep them.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// Signed-note algorithm byte for Ed25519 keys.
const ALG_ED25519: u8 = 0x01;
/// Prefix of every signature line: U+2014 EM DASH then a space.
const SIG_LINE_PREFIX: &str = "\u{2014} ";
/// Bytes of a key id.
const KEY_ID_LEN_BYTES: usize = 4;
/// Bytes of an Ed25519 signature.
const ED25519_SIG_LEN_BYTES: usize = 64;
/// Most signature lines accepted in one note, as in Go's `sumdb/note`:
/// bounds the work an adversarial note can cause.
const MAX_SIGNATURE_LINES: usize = 100;

/// A tree head: what the operator signs after each batch.
///
/// It commits the operator to the exact contents of the first `tree_size`
/// journal entries, so clients can demand inclusion and consistency proofs
/// against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique name of the log (conventionally a schema-less URL, e.g.
    /// `carbon.example/ledger`). Binds the signature to this log so a tree
    /// head of one log cannot be passed off as another's. Must be non-empty
    /// and contain no control characters (so no newline).
    pub origin: String,
    /// Number of journal entries (Merkle leaves) the tree head covers.
    pub tree_size: u64,
    /// RFC 6962 Merkle root of those `tree_size` leaves.
    pub root_hash: Hash,
}

/// Why a checkpoint, signed note or verifier key was rejected.
///
/// Callers usually only distinguish "forged or tampered" from "garbled", so
/// the variants stay coarse; `Malformed` carries a human-readable reason for
/// logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    /// The input does not follow the signed-note / checkpoint / verifier-key
    /// syntax (the reason says where).
    #[error("malformed checkpoint: {0}")]
    Malformed(String),
    /// The note carries no signature line from the expected key.
    #[error("no signature from the expected key")]
    NoSignature,
    /// A signature line from the expected key does not verify.
    #[error("checkpoint signature does not verify")]
    BadSignature,
}

/// Shorthand for a [`CheckpointError::Malformed`] with a static reason.
fn malformed(reason: &str) -> CheckpointError {
    CheckpointError::Malformed(reason.to_owned())
}

impl Checkpoint {
    /// The checkpoint body: origin, tree size in decimal and base64 root,
    /// each followed by `"\n"`. These are the exact bytes that get signed.
    #[must_use]
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            STANDARD.encode(self.root_hash)
        )
    }

    /// Checks that [`Checkpoint::sign`] would produce a note that
    /// [`open`] accepts, i.e. that `origin` is non-empty and has no control
    /// characters. Lets callers validate configuration once at start-up.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Malformed`] naming the problem with `origin`.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        validate_origin(&self.origin)
    }

    /// Signs the checkpoint and returns the full signed-note text (body, blank
    /// line, one signature line). This is what the operator publishes after
    /// each batch.
    ///
    /// # Panics
    ///
    /// If `origin` fails [`Checkpoint::validate`] or `key_name` fails
    /// [`validate_key_name`]: such a note could never be verified, so this is
    /// treated as a configuration bug rather than silently publishing it.
    /// Both are operator configuration; validate them at start-up.
    #[must_use]
    pub fn sign(&self, key_name: &str, key: &SigningKey) -> String {
        if let Err(err) = self.validate() {
            panic!("cannot sign checkpoint: {err}");
        }
        if let Err(err) = validate_key_name(key_name) {
            panic!("cannot sign checkpoint: {err}");
        }
        sign_text(&self.body(), key_name, key)
    }

    /// Parses a checkpoint body strictly. Only called on bytes whose signature
    /// has already been verified.
    fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let Some(without_last_newline) = body.strip_suffix('\n') else {
            return Err(malformed("body does not end with a newline"));
        };
        let mut lines = without_last_newline.split('\n');
        let (Some(origin), Some(size_text), Some(root_text), None) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("body must have exactly three lines"));
        };
        validate_origin(origin)?;
        let tree_size = parse_tree_size(size_text)?;
        let root_hash = STANDARD
            .decode(root_text)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or_else(|| malformed("root hash is not base64 of 32 bytes"))?;
        Ok(Self {
            origin: origin.to_owned(),
            tree_size,
            root_hash,
        })
    }
}

/// Checks an origin line: non-empty and free of control characters.
fn validate_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(malformed("origin is empty"));
    }
    if origin.chars().any(char::is_control) {
        return Err(malformed("origin contains a control character"));
    }
    Ok(())
}

/// Parses a tree size: ASCII decimal, no sign, no leading zeros except "0",
/// fits in u64.
fn parse_tree_size(text: &str) -> Result<u64, CheckpointError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("tree size is not a decimal number"));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(malformed("tree size has a leading zero"));
    }
    text.parse().map_err(|_| malformed("tree size does not fit in 64 bits"))
}

/// Checks a signed-note key name: non-empty, no whitespace, no `+` (which
/// separates fields of the verifier key string), no control characters.
///
/// Public so that callers can validate the configured key name at start-up
/// instead of discovering the problem when [`Checkpoint::sign`] panics.
///
/// # Errors
///
/// [`CheckpointError::Malformed`] naming the problem with `key_name`.
pub fn validate_key_name(key_name: &str) -> Result<(), CheckpointError> {
    if key_name.is_empty() {
        return Err(malformed("key name is empty"));
    }
    if key_name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(malformed("key name contains whitespace, a control character or '+'"));
    }
    Ok(())
}

/// The 4-byte key id that tags signature lines:
/// first 4 bytes of `SHA-256(key_name || "\n" || 0x01 || public key)`.
///
/// It lets a verifier pick out its own signature among several (e.g. witness
/// cosignatures) without trying every line.
#[must_use]
pub fn key_id(key_name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(key_name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ALG_ED25519]);
    hasher.update(public.as_bytes());
    let digest: [u8; 32] = hasher.finalize().into();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The standard signed-note verifier key string,
/// `key_name + "+" + hex8(key_id) + "+" + base64(0x01 || public key)`.
///
/// This is the one string to publish so that clients and third-party tools
/// can verify our checkpoints; parse it back with [`parse_verifier_key`].
#[must_use]
pub fn verifier_key_string(key_name: &str, public: &VerifyingKey) -> String {
    let mut key_bytes = Vec::with_capacity(1 + public.as_bytes().len());
    key_bytes.push(ALG_ED25519);
    key_bytes.extend_from_slice(public.as_bytes());
    format!(
        "{}+{}+{}",
        key_name,
        hex::encode(key_id(key_name, public)),
        STANDARD.encode(key_bytes)
    )
}

/// Parses a verifier key string (as made by [`verifier_key_string`]) into the
/// key name and Ed25519 public key, so clients can be configured with one
/// copy-pasteable string.
///
/// Strict: the name must pass [`validate_key_name`], the id must be 8 hex
/// digits equal to the id computed from name and key, the key must be
/// canonical padded base64 of `0x01` followed by a valid, non-weak (not small
/// order) Ed25519 point.
///
/// # Errors
///
/// [`CheckpointError::Malformed`] naming the first problem found.
pub fn parse_verifier_key(s: &str) -> Result<(String, VerifyingKey), CheckpointError> {
    let (name, rest) = s
        .split_once('+')
        .ok_or_else(|| malformed("verifier key has no '+' separators"))?;
    let (id_hex, key_b64) = rest
        .split_once('+')
        .ok_or_else(|| malformed("verifier key has only one '+' separator"))?;
    validate_key_name(name)?;
    if id_hex.len() != 2 * KEY_ID_LEN_BYTES {
        return Err(malformed("verifier key id is not 8 hex digits"));
    }
    let mut claimed_id = [0u8; KEY_ID_LEN_BYTES];
    hex::decode_to_slice(id_hex, &mut claimed_id).map_err(|_| malformed("verifier key id is not 8 hex digits"))?;
    let key_bytes = STANDARD
        .decode(key_b64)
        .map_err(|_| malformed("verifier key is not base64"))?;
    let Some((&ALG_ED25519, point)) = key_bytes.split_first() else {
        return Err(malformed("verifier key is not an Ed25519 key"));
    };
    let point: &[u8; 32] = point
        .try_into()
        .map_err(|_| malformed("verifier key is not 32 bytes"))?;
    let public = VerifyingKey::from_bytes(point).map_err(|_| malformed("verifier key is not a valid Ed25519 point"))?;
    if public.is_weak() {
        return Err(malformed("verifier key is a small-order point"));
    }
    if key_id(name, &public) != claimed_id {
        return Err(malformed("verifier key id does not match the key"));
    }
    Ok((name.to_owned(), public))
}

/// Verifies a signed checkpoint note against one trusted key and returns the
/// checkpoint it carries. This is how clients accept a tree head.
///
/// Signature lines from other keys (e.g. witness cosignatures) are ignored,
/// but every line must be well formed and there may be at most 100.
///
/// # Errors
///
/// * [`CheckpointError::NoSignature`] if no signature line carries
///   `key_name` with the key id of `public`;
/// * [`CheckpointError::BadSignature`] if such a line does not verify
///   (checked with `verify_strict`); as in Go's `sumdb/note`, one bad line
///   from our key fails the note even if another line from it verifies;
/// * [`CheckpointError::Malformed`] if `key_name` is invalid, the note is not
///   a well-formed signed note, or (checked only after the signature) the
///   body is not a well-formed three-line checkpoint.
pub fn open(note: &str, key_name: &str, public: &VerifyingKey) -> Result<Checkpoint, CheckpointError> {
    let body = verify_note(note, key_name, public)?;
    Checkpoint::parse_body(body)
}

/// Produces a signed note over arbitrary note text (which must be valid note
/// text ending in a newline). Split from [`Checkpoint::sign`] so the wire
/// format can be tested against the Go `sumdb/note` vector.
fn sign_text(text: &str, key_name: &str, key: &SigningKey) -> String {
    let signature = key.sign(text.as_bytes());
    let mut blob = Vec::with_capacity(KEY_ID_LEN_BYTES + ED25519_SIG_LEN_BYTES);
    blob.extend_from_slice(&key_id(key_name, &key.verifying_key()));
    blob.extend_from_slice(&signature.to_bytes());
    format!("{text}\n{SIG_LINE_PREFIX}{key_name} {}\n", STANDARD.encode(blob))
}

/// Splits a signed note into text and signature lines, checks the signature
/// of (`key_name`, `public`) and returns the signed text. Does not interpret
/// the text.
fn verify_note<'a>(note: &'a str, key_name: &str, public: &VerifyingKey) -> Result<&'a str, CheckpointError> {
    validate_key_name(key_name)?;
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(malformed("note contains a control character"));
    }
    // The signature block starts after the last blank line. Keep the text's
    // own final newline: it is part of the signed bytes.
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| malformed("note has no blank line before its signatures"))?;
    let (text, separator_and_signatures) = note.split_at(split + 1);
    let Some(signature_block) = separator_and_signatures
        .strip_prefix('\n')
        .and_then(|block| block.strip_suffix('\n'))
    else {
        return Err(malformed("note does not end with a signature line"));
    };
    if text.len() <= 1 {
        return Err(malformed("note text is empty"));
    }

    if signature_block.split('\n').count() > MAX_SIGNATURE_LINES {
        return Err(malformed("note has too many signature lines"));
    }

    let wanted_id = key_id(key_name, public);
    let mut verified = false;
    for line in signature_block.split('\n') {
        let (name, id, signature_bytes) = parse_signature_line(line)?;
        if name != key_name || id != wanted_id {
            continue;
        }
        let signature = Signature::from_slice(&signature_bytes).map_err(|_| CheckpointError::BadSignature)?;
        public
            .verify_strict(text.as_bytes(), &signature)
            .map_err(|_| CheckpointError::BadSignature)?;
        verified = true;
    }
    if verified {
        Ok(text)
    } else {
        Err(CheckpointError::NoSignature)
    }
}

/// Parses `"— <name> <base64>"` into the key name, the key id and the
/// signature bytes that follow it (at least one byte; its length is checked
/// only for the key being verified, since other key types differ).
fn parse_signature_line(line: &str) -> Result<(&str, [u8; 4], Vec<u8>), CheckpointError> {
    let rest = line
        .strip_prefix(SIG_LINE_PREFIX)
        .ok_or_else(|| malformed("signature line does not start with an em dash"))?;
    let (name, blob_b64) = rest
        .split_once(' ')
        .ok_or_else(|| malformed("signature line has no space after the key name"))?;
    validate_key_name(name)?;
    let mut blob = STANDARD
        .decode(blob_b64)
        .map_err(|_| malformed("signature is not base64"))?;
    if blob.len() <= KEY_ID_LEN_BYTES {
        return Err(malformed("signature is too short"));
    }
    let signature_bytes = blob.split_off(KEY_ID_LEN_BYTES);
    let id: [u8; 4] = blob.try_into().map_err(|_| malformed("signature is too short"))?;
    Ok((name, id, signature_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, MerkleTree};
    use proptest::prelude::*;

    const KEY_NAME: &str = "carbon.example/ledger";

    fn signing_key(seed_byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed_byte; 32])
    }

    fn sample_checkpoint() -> Checkpoint {
        let mut tree = MerkleTree::new();
        for entry in [b"a".as_slice(), b"b", b"c"] {
            tree.push(leaf_hash(entry));
        }
        Checkpoint {
            origin: "carbon.example/ledger".to_owned(),
            tree_size: tree.len(),
            root_hash: tree.root(),
        }
    }

    /// Splits a one-signature note into (text, blank-line-and-prefix, blob).
    fn signature_blob(note: &str) -> Vec<u8> {
        let line = note.lines().last().expect("has lines");
        let b64 = line.rsplit(' ').next().expect("has blob");
        STANDARD.decode(b64).expect("base64")
    }

    fn replace_blob(note: &str, blob: &[u8]) -> String {
        let cut = note.rfind(' ').expect("has blob");
        format!("{}{}\n", &note[..=cut], STANDARD.encode(blob))
    }

    #[test]
    fn body_has_exact_format() {
        let checkpoint = Checkpoint {
            origin: "example.com/log".to_owned(),
            tree_size: 20852163,
            root_hash: [0u8; 32],
        };
        assert_eq!(
            checkpoint.body(),
            "example.com/log\n20852163\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        );
    }

    #[test]
    fn sign_produces_note_format() {
        let checkpoint = sample_checkpoint();
        let key = signing_key(7);
        let note = checkpoint.sign(KEY_NAME, &key);
        let prefix = format!("{}\n\u{2014} {KEY_NAME} ", checkpoint.body());
        assert!(note.starts_with(&prefix), "{note:?}");
        assert!(note.ends_with('\n'));
        assert_eq!(note.lines().count(), 5);
        let blob = signature_blob(&note);
        assert_eq!(blob.len(), 68);
        assert_eq!(blob[..4], key_id(KEY_NAME, &key.verifying_key()));
    }

    #[test]
    fn sign_open_round_trip() {
        let checkpoint = sample_checkpoint();
        let key = signing_key(7);
        let note = checkpoint.sign(KEY_NAME, &key);
        assert_eq!(open(&note, KEY_NAME, &key.verifying_key()), Ok(checkpoint));

        let empty = Checkpoint {
            origin: "o".to_owned(),
            tree_size: 0,
            root_hash: crate::merkle::empty_root(),
        };
        let note = empty.sign("k", &key);
        assert_eq!(open(&note, "k", &key.verifying_key()), Ok(empty));

        let max = Checkpoint {
            origin: "ünïcödé.example/log".to_owned(),
            tree_size: u64::MAX,
            root_hash: [0xff; 32],
        };
        let note = max.sign(KEY_NAME, &key);
        assert_eq!(open(&note, KEY_NAME, &key.verifying_key()), Ok(max));
    }

    /// golang.org/x/mod/sumdb/note's published example: same key, text and
    /// signature, byte for byte (Ed25519 is deterministic).
    #[test]
    fn matches_go_sumdb_note_vector() {
        let verifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let private_b64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let expected_note = format!(
            "{text}\n\u{2014} PeterNeumann \
             x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );

        let private = STANDARD.decode(private_b64).expect("base64");
        assert_eq!(private[0], ALG_ED25519);
        let seed: [u8; 32] = private[1..].try_into().expect("32-byte seed");
        let key = SigningKey::from_bytes(&seed);
        let public = key.verifying_key();

        assert_eq!(key_id("PeterNeumann", &public), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(verifier_key_string("PeterNeumann", &public), verifier);
        assert_eq!(parse_verifier_key(verifier), Ok(("PeterNeumann".to_owned(), public)));
        assert_eq!(sign_text(text, "PeterNeumann", &key), expected_note);
        assert_eq!(verify_note(&expected_note, "PeterNeumann", &public), Ok(text));
        // A valid signed note, but its text is not a checkpoint.
        assert!(matches!(
            open(&expected_note, "PeterNeumann", &public),
            Err(CheckpointError::Malformed(_))
        ));
    }

    #[test]
    fn altering_any_body_byte_fails() {
        let checkpoint = sample_checkpoint();
        let key = signing_key(7);
        let note = checkpoint.sign(KEY_NAME, &key);
        let body_len = checkpoint.body().len();
        for position in 0..body_len {
            for mask in [0x01u8, 0x20] {
                let mut bytes = note.clone().into_bytes();
                bytes[position] ^= mask;
                let Ok(altered) = String::from_utf8(bytes) else {
                    continue;
                };
                assert!(
                    open(&altered, KEY_NAME, &key.verifying_key()).is_err(),
                    "accepted body altered at byte {position} with mask {mask:#x}"
                );
            }
        }
    }

    #[test]
    fn altering_any_signature_byte_fails() {
        let checkpoint = sample_checkpoint();
        let key = signing_key(7);
        let public = key.verifying_key();
        let note = checkpoint.sign(KEY_NAME, &key);
        let blob = signature_blob(&note);
        // One bit per byte (cycling through bit positions) keeps this cheap in
        // debug builds, where each Ed25519 verification is slow.
        for (position, bit) in (0..blob.len()).zip((0..8).cycle()) {
            let mut bad = blob.clone();
            bad[position] ^= 1 << bit;
            let expected = if position < 4 {
                CheckpointError::NoSignature
            } else {
                CheckpointError::BadSignature
            };
            assert_eq!(
                open(&replace_blob(&note, &bad), KEY_NAME, &public),
                Err(expected),
                "byte {position} bit {bit}"
            );
        }
        // Truncated and extended signatures.
        assert_eq!(
            open(&replace_blob(&note, &blob[..67]), KEY_NAME, &public),
            Err(CheckpointError::BadSignature)
        );
        let mut longer = blob.clone();
        longer.push(0);
        assert_eq!(
            open(&replace_blob(&note, &longer), KEY_NAME, &public),
            Err(CheckpointError::BadSignature)
        );
        // Any change to the signature line's text is rejected too.
        let line_start = note.rfind('\u{2014}').expect("has signature line");
        for position in line_start..note.len() {
            for mask in [0x04u8] {
                let mut bytes = note.clone().into_bytes();
                bytes[position] ^= mask;
                let Ok(altered) = String::from_utf8(bytes) else {
                    continue;
                };
                assert!(
                    open(&altered, KEY_NAME, &public).is_err(),
                    "accepted signature line altered at byte {position}"
                );
            }
        }
    }

    #[test]
    fn wrong_key_or_name_fails() {
        let checkpoint = sample_checkpoint();
        let key = signing_key(7);
        let other = signing_key(8);
        let note = checkpoint.sign(KEY_NAME, &key);
        assert_eq!(
            open(&note, KEY_NAME, &other.verifying_key()),
            Err(CheckpointError::NoSignature)
        );
        assert_eq!(
            open(&note, "someone.else/ledger", &key.verifying_key()),
            Err(CheckpointError::NoSignature)
        );
        // Right key id, wrong signing key: forge the id of `key` onto a
        // signature made by `other`.
        let forged = sign_text(&checkpoint.body(), KEY_NAME, &other);
        let mut blob = signature_blob(&forged);
        blob[..4].copy_from_slice(&key_id(KEY_NAME, &key.verifying_key()));
        assert_eq!(
            open(&replace_blob(&forged, &blob), KEY_NAME, &key.verifying_key()),
            Err(CheckpointError::BadSignature)
        );
        assert!(matches!(
            open(&note, "bad name", &key.verifying_key()),
            Err(CheckpointError::Malformed(_))
        ));
    }

    #[test]
    fn extra_unknown_signature_lines_are_ignored() {
        let checkpoint = sample_checkpoint();
        let key = signing_key(7);
        let witness = signing_key(9);
        let note = checkpoint.sign(KEY_NAME, &key);
        let cosigned = sign_text(&checkpoint.body(), "witness.example/w1", &witness);
        let witness_line = cosigned.lines().last().expect("signature line");
        let our_line = note.lines().last().expect("signature line");
        let body = checkpoint.body();

        let after = format!("{note}{witness_line}\n");
        let before = format!("{body}\n{witness_line}\n{our_line}\n");
        for combined in [&after, &before] {
            assert_eq!(open(combined, KEY_NAME, &key.verifying_key()), Ok(checkpoint.clone()));
            assert_eq!(
                open(combined, "witness.example/w1", &witness.verifying_key()),
                Ok(checkpoint.clone())
            );
        }
        // A garbage blob under an unknown name still has to be well formed
        // base64, but is otherwise ignored.
        let unknown = format!("{note}\u{2014} unknown.example AAAAAAAA\n");
        assert_eq!(open(&unknown, KEY_NAME, &key.verifying_key()), Ok(checkpoint.clone()));
        // Only unknown signatures: no signature from us.
        assert_eq!(
            open(&cosigned, KEY_NAME, &key.verifying_key()),
            Err(CheckpointError::NoSignature)
        );
        // A duplicate of our own valid line is harmless.
        let duplicated = format!("{note}{our_line}\n");
        assert_eq!(open(&duplicated, KEY_NAME, &key.verifying_key()), Ok(checkpoint));
    }

    #[test]
    fn malformed_notes_are_rejected() {
        let checkpoint = sample_checkpoint();
        let key = signing_key(7);
        let public = key.verifying_key();
        let note = checkpoint.sign(KEY_NAME, &key);
        let body = checkpoint.body();
        let our_line = note.lines().last().expect("signature line").to_owned();
        let cases = [
            String::new(),
            "\n".to_owned(),
            "\n\n".to_owned(),
            body.clone(),
            format!("{body}\n"),
            note.trim_end_matches('\n').to_owned(),
            note.replace('\n', "\r\n"),
            format!("{body}\n-{}\n", &our_line[SIG_LINE_PREFIX.len()..]),
            format!("{body}\n{our_line}\n\n"),
            format!("{body}\n{our_line}\nnot a signature\n"),
            format!("{body}\n\u{2014} {KEY_NAME}\n"),
            format!("{body}\n\u{2014} {KEY_NAME} AAA\n"),
            format!("{body}\n\u{2014} {KEY_NAME} AAAA\n"),
            format!("{body}\n\u{2014}  {KEY_NAME} AAAAAAAA\n"),
            format!("{body}\n{}", format!("{our_line}\n").repeat(101)),
            format!("\t{note}"),
        ];
        for case in cases {
            assert!(
                matches!(open(&case, KEY_NAME, &public), Err(CheckpointError::Malformed(_))),
                "accepted {case:?}"
            );
        }
    }

    /// Bodies that are properly signed but violate the checkpoint syntax must
    /// still be rejected, after the signature has been checked.
    #[test]
    fn malformed_bodies_are_rejected_even_when_signed() {
        let key = signing_key(7);
        let public = key.verifying_key();
        let root = STANDARD.encode([7u8; 32]);
        let bad_bodies = [
            format!("\n5\n{root}\n"),
            format!("origin\n\n{root}\n"),
            format!("origin\n05\n{root}\n"),
            format!("origin\n00\n{root}\n"),
            format!("origin\n+5\n{root}\n"),
            format!("origin\n-5\n{root}\n"),
            format!("origin\n 5\n{root}\n"),
            format!("origin\n5 \n{root}\n"),
            format!("origin\n0x5\n{root}\n"),
            format!("origin\n١\n{root}\n"),
            format!("origin\n18446744073709551616\n{root}\n"),
            "origin\n5\n\n".to_owned(),
            format!("origin\n5\n{}\n", STANDARD.encode([7u8; 31])),
            format!("origin\n5\n{}\n", STANDARD.encode([7u8; 33])),
            format!("origin\n5\n{}\n", root.trim_end_matches('=')),
            format!("origin\n5\n{}\n", hex::encode([7u8; 32])),
            format!("origin\n5\n{root}\nextension line\n"),
            "origin\n5\n".to_owned(),
            "origin\n".to_owned(),
        ];
        for body in bad_bodies {
            let note = sign_text(&body, KEY_NAME, &key);
            let result = open(&note, KEY_NAME, &public);
            assert!(
                matches!(result, Err(CheckpointError::Malformed(_))),
                "body {body:?} gave {result:?}"
            );
        }
        let good = sign_text(&format!("origin\n0\n{root}\n"), KEY_NAME, &key);
        assert_eq!(
            open(&good, KEY_NAME, &public),
            Ok(Checkpoint {
                origin: "origin".to_owned(),
                tree_size: 0,
                root_hash: [7u8; 32],
            })
        );
    }

    #[test]
    fn verifier_key_round_trip_and_rejections() {
        let key = signing_key(7);
        let public = key.verifying_key();
        let text = verifier_key_string(KEY_NAME, &public);
        assert_eq!(parse_verifier_key(&text), Ok((KEY_NAME.to_owned(), public)));

        let id = hex::encode(key_id(KEY_NAME, &public));
        let mut key_bytes = vec![ALG_ED25519];
        key_bytes.extend_from_slice(public.as_bytes());
        let key_b64 = STANDARD.encode(&key_bytes);
        let mut wrong_alg = key_bytes.clone();
        wrong_alg[0] = 0x02;
        let small_order_point = {
            // The identity point (0, 1): valid encoding, order 1.
            let mut p = vec![ALG_ED25519, 1];
            p.extend_from_slice(&[0u8; 31]);
            p
        };
        let bad = [
            String::new(),
            KEY_NAME.to_owned(),
            format!("{KEY_NAME}+{id}"),
            format!("+{id}+{key_b64}"),
            format!("bad name+{id}+{key_b64}"),
            format!("{KEY_NAME}+{}+{key_b64}", &id[..7]),
            format!("{KEY_NAME}+{id}0+{key_b64}"),
            format!("{KEY_NAME}+zzzzzzzz+{key_b64}"),
            format!("{KEY_NAME}+00000000+{key_b64}"),
            format!("other.name+{id}+{key_b64}"),
            format!("{KEY_NAME}+{id}+{}", &key_b64[..key_b64.len() - 1]),
            format!("{KEY_NAME}+{id}+{key_b64}="),
            format!("{KEY_NAME}+{id}+{}", STANDARD.encode(&wrong_alg)),
            format!("{KEY_NAME}+{id}+{}", STANDARD.encode(&key_bytes[..32])),
            format!("{KEY_NAME}+{id}+{}", STANDARD.encode(&small_order_point)),
        ];
        for s in bad {
            assert!(
                matches!(parse_verifier_key(&s), Err(CheckpointError::Malformed(_))),
                "accepted {s:?}"
            );
        }
    }

    #[test]
    fn validation_of_configuration() {
        assert!(validate_key_name(KEY_NAME).is_ok());
        for bad in ["", "a b", "a+b", "a\nb", "a\u{a0}b"] {
            assert!(validate_key_name(bad).is_err(), "{bad:?}");
        }
        let mut checkpoint = sample_checkpoint();
        assert!(checkpoint.validate().is_ok());
        checkpoint.origin = "two\nlines".to_owned();
        assert!(checkpoint.validate().is_err());
        checkpoint.origin = String::new();
        assert!(checkpoint.validate().is_err());
    }

    #[test]
    #[should_panic(expected = "cannot sign checkpoint")]
    fn signing_with_invalid_origin_panics() {
        let mut checkpoint = sample_checkpoint();
        checkpoint.origin = "a\nb".to_owned();
        let _ = checkpoint.sign(KEY_NAME, &signing_key(7));
    }

    #[test]
    #[should_panic(expected = "cannot sign checkpoint")]
    fn signing_with_invalid_key_name_panics() {
        let _ = sample_checkpoint().sign("has space", &signing_key(7));
    }

    fn note_alphabet() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "\n",
                "\n\n",
                "\u{2014} ",
                "\u{2014}",
                " ",
                "+",
                "=",
                "0",
                "7",
                "a",
                "Z",
                "/",
                "AAAA",
                KEY_NAME,
                "\r",
                "é",
            ]),
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Arbitrary Unicode never makes `open` or `parse_verifier_key` panic.
        #[test]
        fn open_never_panics_on_random_strings(input in any::<String>()) {
            let key = signing_key(7);
            let _ = open(&input, KEY_NAME, &key.verifying_key());
            let _ = parse_verifier_key(&input);
        }

        /// Strings built from note syntax fragments never make `open` panic.
        #[test]
        fn open_never_panics_on_note_like_strings(input in note_alphabet()) {
            let key = signing_key(7);
            let _ = open(&input, KEY_NAME, &key.verifying_key());
            let _ = parse_verifier_key(&input);
        }

        /// Random edits to a valid note never panic, and anything that still
        /// opens carries exactly the signed checkpoint.
        #[test]
        fn edited_valid_note_never_panics_or_lies(
            position in any::<prop::sample::Index>(),
            removed in 0usize..4,
            inserted in note_alphabet(),
        ) {
            let checkpoint = sample_checkpoint();
            let key = signing_key(7);
            let note = checkpoint.sign(KEY_NAME, &key);
            let mut at = position.index(note.len() + 1);
            while !note.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + removed).min(note.len());
            while !note.is_char_boundary(end) {
                end += 1;
            }
            let edited = format!("{}{}{}", &note[..at], inserted, &note[end..]);
            if let Ok(opened) = open(&edited, KEY_NAME, &key.verifying_key()) {
                prop_assert_eq!(opened, checkpoint);
            }
        }

    }

    proptest! {
        // Ed25519 is slow in debug builds; fewer cases keep `cargo test` fast.
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any valid checkpoint round-trips through sign and open.
        #[test]
        fn sign_open_round_trips(
            origin in "[a-z0-9./:-]{1,40}",
            tree_size in any::<u64>(),
            root_hash in any::<[u8; 32]>(),
            seed in any::<[u8; 32]>(),
        ) {
            let key = SigningKey::from_bytes(&seed);
            let checkpoint = Checkpoint { origin, tree_size, root_hash };
            let note = checkpoint.sign(KEY_NAME, &key);
            prop_assert_eq!(open(&note, KEY_NAME, &key.verifying_key()), Ok(checkpoint));
        }
    }
}
