//! Tamper tests: a market day is replayed into a ledger, the ledger closed,
//! and its journal altered on disk in every way we can think of. The audit
//! (`carbon_ledger::audit::rebuild` with signatures, and the `carbon audit
//! verify` binary) must refuse each altered journal, name exactly the first
//! bad sequence number where one is determined, and never panic.

mod grpc_support;

use grpc_support::carbon_bin;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use carbon_ledger::audit::{rebuild, RebuildError};
use carbon_ledger::checkpoint::Checkpoint;
use carbon_ledger::journal::Journal;
use carbon_ledger::keys::test_key;
use carbon_ledger::merkle::leaf_hash;
use carbon_ledger::replay::replay;
use carbon_ledger::state::signing_message;
use carbon_proto::v1 as pb;
use ed25519_dalek::Signer;
use prost::Message;
use tempfile::TempDir;

const REGISTRY_DAY: &str = include_str!("../market-days/registry-example.jsonl");
const EXCHANGE_DAY: &str = include_str!("../market-days/exchange-example.jsonl");

/// A clean ledger per day, replayed once; each test works on a copy.
fn template(day: &'static str) -> &'static Path {
    static REGISTRY: OnceLock<TempDir> = OnceLock::new();
    static EXCHANGE: OnceLock<TempDir> = OnceLock::new();
    let cell = if std::ptr::eq(day, REGISTRY_DAY) {
        &REGISTRY
    } else {
        &EXCHANGE
    };
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let r = replay(day, dir.path()).expect("the example day replays");
        drop(r); // closes sled
        dir
    })
    .path()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A fresh copy of a replayed ledger, opened.
struct Ledger {
    _dir: TempDir,
    path: PathBuf,
    journal: Journal,
    len: u64,
}

fn ledger(day: &'static str) -> Ledger {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    copy_dir(template(day), &path);
    let journal = Journal::open(&path).unwrap();
    let len = journal.len().unwrap();
    Ledger {
        _dir: dir,
        path,
        journal,
        len,
    }
}

impl Ledger {
    fn raw(&self, seq: u64) -> Vec<u8> {
        self.journal.raw(seq).unwrap().expect("entry exists")
    }

    fn entry(&self, seq: u64) -> pb::JournalEntry {
        pb::JournalEntry::decode(self.raw(seq).as_slice()).unwrap()
    }

    fn envelope(&self, seq: u64) -> pb::SignedCommand {
        match self.entry(seq).input {
            Some(pb::journal_entry::Input::Command(env)) => env,
            _ => panic!("entry {seq} holds no command"),
        }
    }

    fn put(&self, seq: u64, bytes: &[u8]) {
        self.journal.tamper_raw(seq, Some(bytes)).unwrap();
    }

    fn delete(&self, seq: u64) {
        self.journal.tamper_raw(seq, None).unwrap();
    }

    /// The first bad sequence number the audit names (panics if it passes
    /// or fails for another reason).
    fn first_bad(&self) -> u64 {
        self.mismatch().0
    }

    fn mismatch(&self) -> (u64, String) {
        match rebuild(&self.journal, true, |_| {}) {
            Err(RebuildError::Mismatch(m)) => (m.seq, m.what),
            Err(e) => panic!("expected a mismatch, got another error: {e}"),
            Ok(_) => panic!("the tampered journal verified"),
        }
    }

    /// The first command entry at or after `from` whose outcome satisfies `f`.
    fn find(&self, from: u64, f: impl Fn(&pb::Outcome) -> bool) -> u64 {
        (from..self.len)
            .find(|&s| {
                let e = self.entry(s);
                matches!(e.input, Some(pb::journal_entry::Input::Command(_))) && f(&e.outcome.unwrap_or_default())
            })
            .expect("the day has such an entry")
    }
}

/// Where `needle` sits in `hay`.
fn offset_of(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("the part is in the entry's bytes")
}

/// Entry `k`'s raw bytes with the byte at `at` flipped.
fn flipped(raw: &[u8], at: usize) -> Vec<u8> {
    let mut b = raw.to_vec();
    b[at] ^= 0x01;
    b
}

#[test]
fn a_clean_ledger_verifies() {
    for day in [REGISTRY_DAY, EXCHANGE_DAY] {
        let l = ledger(day);
        let r = rebuild(&l.journal, true, |_| {}).expect("the clean ledger verifies");
        assert_eq!(r.tree.len(), l.len);
        // Every command entry's signature was checked.
        assert_eq!(r.signatures_checked, l.len - 1);
        let (_, cp) = r.checkpoint.expect("a signed checkpoint");
        assert_eq!(cp.tree_size, l.len);
    }
}

#[test]
fn one_byte_of_the_payload_altered() {
    let l = ledger(REGISTRY_DAY);
    let k = l.len / 2;
    let raw = l.raw(k);
    let payload = l.envelope(k).payload;
    let at = offset_of(&raw, &payload);
    // The first byte, one in the middle and the last of the signed payload.
    for i in [0, payload.len() / 2, payload.len() - 1] {
        l.put(k, &flipped(&raw, at + i));
        assert_eq!(l.first_bad(), k, "payload byte {i}");
    }
    l.put(k, &raw);
    rebuild(&l.journal, true, |_| {}).expect("restored");
}

#[test]
fn one_byte_of_the_signature_altered() {
    let l = ledger(REGISTRY_DAY);
    let k = l.len / 3;
    let raw = l.raw(k);
    let sig = l.envelope(k).signature;
    let at = offset_of(&raw, &sig);
    for i in [0, 31, 32, 63] {
        l.put(k, &flipped(&raw, at + i));
        let (seq, what) = l.mismatch();
        assert_eq!(seq, k, "signature byte {i}");
        assert!(what.contains("signature"), "{what}");
    }
}

#[test]
fn one_byte_of_the_outcome_altered() {
    let l = ledger(REGISTRY_DAY);
    // A rejected command: its outcome holds a code.
    let k = l.find(1, |o| !o.ok && !o.code.is_empty());
    let raw = l.raw(k);
    let code = l.entry(k).outcome.unwrap().code;
    let at = offset_of(&raw, code.as_bytes());
    l.put(k, &flipped(&raw, at));
    let (seq, what) = l.mismatch();
    assert_eq!(seq, k);
    assert!(what.contains("outcome"), "{what}");

    // An accepted command turned into a rejected one (the `ok` flag).
    let k = l.find(1, |o| o.ok && o.events.is_empty() && o.order.is_none());
    let raw = l.raw(k);
    let mut e = l.entry(k);
    e.outcome = Some(pb::Outcome {
        ok: false,
        code: "NOT_PERMITTED".into(),
        ..Default::default()
    });
    l.put(k, &e.encode_to_vec());
    assert_eq!(l.first_bad(), k);
    l.put(k, &raw);
}

#[test]
fn every_single_byte_flip_names_its_entry() {
    let l = ledger(REGISTRY_DAY);
    // The genesis, a rejected command, an accepted one and the last entry.
    let rejected = l.find(1, |o| !o.ok);
    let accepted = l.find(1, |o| o.ok);
    for k in [0, rejected, accepted, l.len - 1] {
        let raw = l.raw(k);
        for at in 0..raw.len() {
            l.put(k, &flipped(&raw, at));
            let (seq, what) = l.mismatch();
            assert_eq!(seq, k, "entry {k}, byte {at} of {}: {what}", raw.len());
        }
        l.put(k, &raw);
    }
    rebuild(&l.journal, true, |_| {}).expect("restored");
}

#[test]
fn an_entry_deleted() {
    let l = ledger(REGISTRY_DAY);
    let k = l.len / 2;
    l.delete(k);
    let (seq, what) = l.mismatch();
    assert_eq!(seq, k);
    assert!(what.contains("missing"), "{what}");
}

#[test]
fn the_last_entry_deleted() {
    // Nothing follows it, so only the signed checkpoint shows it is gone.
    let l = ledger(REGISTRY_DAY);
    l.delete(l.len - 1);
    let (seq, what) = l.mismatch();
    assert_eq!(seq, l.len - 1);
    assert!(what.contains("missing"), "{what}");
}

#[test]
fn the_genesis_deleted() {
    let l = ledger(REGISTRY_DAY);
    l.delete(0);
    assert_eq!(l.first_bad(), 0);
}

#[test]
fn two_entries_swapped() {
    let l = ledger(REGISTRY_DAY);
    for k in [1, l.len / 2, l.len - 2] {
        let (a, b) = (l.raw(k), l.raw(k + 1));
        l.put(k, &b);
        l.put(k + 1, &a);
        assert_eq!(l.first_bad(), k, "swapped {k} and {}", k + 1);
        l.put(k, &a);
        l.put(k + 1, &b);
    }
}

#[test]
fn an_extra_entry_at_the_end() {
    let l = ledger(REGISTRY_DAY);
    l.put(l.len, &l.raw(l.len / 2));
    assert_eq!(l.first_bad(), l.len);
}

#[test]
fn an_extra_entry_at_the_end_renumbered_and_chained() {
    // The copy made to look like the next entry: right sequence number and
    // previous-entry hash. Its nonce was used already.
    let l = ledger(REGISTRY_DAY);
    let mut e = l.entry(l.len / 2);
    e.seq = l.len;
    e.prev_hash = leaf_hash(&l.raw(l.len - 1)).to_vec();
    l.put(l.len, &e.encode_to_vec());
    let (seq, what) = l.mismatch();
    assert_eq!(seq, l.len);
    assert!(what.contains("REPLAYED"), "{what}");
}

#[test]
fn an_extra_entry_in_the_middle() {
    let l = ledger(REGISTRY_DAY);
    let k = l.len / 2;
    let copy = l.raw(3);
    // Shift k.. up by one and put the copy at k.
    for s in (k..l.len).rev() {
        l.put(s + 1, &l.raw(s));
    }
    l.put(k, &copy);
    assert_eq!(l.first_bad(), k);

    // The same, with the copy renumbered and chained to entry k - 1.
    let mut e = pb::JournalEntry::decode(copy.as_slice()).unwrap();
    e.seq = k;
    e.prev_hash = leaf_hash(&l.raw(k - 1)).to_vec();
    l.put(k, &e.encode_to_vec());
    assert_eq!(l.first_bad(), k);
}

#[test]
fn a_checkpoint_signed_by_another_key() {
    let l = ledger(REGISTRY_DAY);
    let r = rebuild(&l.journal, false, |_| {}).unwrap();
    let (_, cp) = r.checkpoint.unwrap();
    let forged = cp.sign(&cp.origin, &test_key("MALLORY"));
    l.journal.set_checkpoint(&forged).unwrap();
    l.journal.flush().unwrap();
    match rebuild(&l.journal, true, |_| {}) {
        Err(RebuildError::Checkpoint(what)) => assert!(what.contains("signature"), "{what}"),
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("a forged checkpoint verified"),
    }
}

#[test]
fn a_checkpoint_over_another_root() {
    // Signed by the operator (a rogue operator rewriting history), but over
    // a root the journal does not have.
    let l = ledger(REGISTRY_DAY);
    let r = rebuild(&l.journal, false, |_| {}).unwrap();
    let (_, cp) = r.checkpoint.unwrap();
    let operator = test_key(&r.genesis.operator);
    let mut root = cp.root_hash;
    root[0] ^= 1;
    let other = Checkpoint {
        root_hash: root,
        ..cp.clone()
    };
    l.journal.set_checkpoint(&other.sign(&cp.origin, &operator)).unwrap();
    l.journal.flush().unwrap();
    assert!(matches!(
        rebuild(&l.journal, true, |_| {}),
        Err(RebuildError::Checkpoint(_))
    ));

    // One covering more entries than the journal holds: the first one it
    // signed that is missing is named.
    let longer = Checkpoint {
        tree_size: cp.tree_size + 2,
        ..cp.clone()
    };
    l.journal.set_checkpoint(&longer.sign(&cp.origin, &operator)).unwrap();
    l.journal.flush().unwrap();
    assert_eq!(l.first_bad(), l.len);

    // Garbage in place of the note.
    l.journal.set_checkpoint("not\na\ncheckpoint").unwrap();
    l.journal.flush().unwrap();
    assert!(matches!(
        rebuild(&l.journal, true, |_| {}),
        Err(RebuildError::Checkpoint(_))
    ));
}

#[test]
fn a_command_re_signed_by_another_key() {
    // A well-formed envelope whose signature is valid, but not by its actor.
    let l = ledger(REGISTRY_DAY);
    let k = l.len / 2;
    let mut e = l.entry(k);
    let Some(pb::journal_entry::Input::Command(env)) = &mut e.input else {
        panic!()
    };
    let ledger_id = carbon_ledger::merkle::leaf_hash(&l.journal.raw(0).unwrap().unwrap());
    env.signature = test_key("MALLORY")
        .sign(&signing_message(&ledger_id, &env.payload))
        .to_bytes()
        .to_vec();
    l.put(k, &e.encode_to_vec());
    let (seq, what) = l.mismatch();
    assert_eq!(seq, k);
    assert!(what.contains("signature does not verify"), "{what}");
    // Start-up trusts stored signatures: only the chain catches it there,
    // at the next entry, which still chains to the one after it, so the
    // re-signed entry is named.
    match rebuild(&l.journal, false, |_| {}) {
        Err(RebuildError::Mismatch(m)) => {
            assert_eq!(m.seq, k, "{}", m.what);
            assert!(m.what.contains("altered"), "{}", m.what);
        }
        _ => panic!("the chain should break after the re-signed entry"),
    }
}

#[test]
fn the_first_of_several_bad_signatures_across_chunks() {
    // The exchange day spans several signature chunks, verified in parallel.
    let l = ledger(EXCHANGE_DAY);
    assert!(l.len > 2 * carbon_ledger::audit::SIGNATURE_CHUNK as u64);
    let ledger_id = carbon_ledger::merkle::leaf_hash(&l.journal.raw(0).unwrap().unwrap());
    let resign = |k: u64| {
        let mut e = l.entry(k);
        let Some(pb::journal_entry::Input::Command(env)) = &mut e.input else {
            panic!()
        };
        env.signature = test_key("MALLORY")
            .sign(&signing_message(&ledger_id, &env.payload))
            .to_bytes()
            .to_vec();
        e.encode_to_vec()
    };
    let (a, b) = (l.len - 10, 300);
    l.put(a, &resign(a));
    assert_eq!(l.first_bad(), a);
    l.put(b, &resign(b));
    assert_eq!(l.first_bad(), b);
    l.put(b + 1, &resign(b + 1));
    assert_eq!(l.first_bad(), b);
    // A replay failure before them wins.
    let c = l.find(10, |o| !o.ok);
    let raw_c = l.raw(c);
    let mut e = l.entry(c);
    e.outcome.as_mut().unwrap().code = "NOT_PERMITTED_".into();
    l.put(c, &e.encode_to_vec());
    assert_eq!(l.first_bad(), c);
    l.put(c, &raw_c);
    // A replay failure after them loses.
    let d = l.len - 3;
    let mut e = l.entry(d);
    e.outcome = Some(pb::Outcome::default());
    l.put(d, &e.encode_to_vec());
    assert_eq!(l.first_bad(), b);
}

#[test]
fn garbage_never_panics() {
    let l = ledger(REGISTRY_DAY);
    let k = l.len / 2;
    let raw = l.raw(k);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 3],
        raw[..raw.len() / 2].to_vec(),
        [raw.as_slice(), &[0x08, 0x01]].concat(),
    ];
    for _ in 0..64 {
        let len = (next() % 400) as usize;
        cases.push((0..len).map(|_| next() as u8).collect());
    }
    for _ in 0..64 {
        let mut b = raw.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % b.len();
            b[at] = next() as u8;
        }
        cases.push(b);
    }
    for (i, bytes) in cases.iter().enumerate() {
        if bytes == &raw {
            continue;
        }
        l.put(k, bytes);
        assert_eq!(l.first_bad(), k, "case {i}");
        // The same bytes as the genesis.
        let g = l.raw(0);
        l.put(0, bytes);
        assert_eq!(l.first_bad(), 0, "case {i} as the genesis");
        l.put(0, &g);
    }
    l.put(k, &raw);
    rebuild(&l.journal, true, |_| {}).expect("restored");
}

#[test]
fn the_verify_binary_on_a_clean_and_a_tampered_ledger() {
    let l = ledger(EXCHANGE_DAY);
    let path = l.path.clone();
    let len = l.len;
    let k = len / 2;
    let raw = l.raw(k);
    let payload = l.envelope(k).payload;
    let at = offset_of(&raw, &payload) + payload.len() / 2;
    drop(l.journal); // one process at a time may open the folder

    let out = Command::new(carbon_bin())
        .args(["audit", "verify", "--data"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ok"), "{stdout}");
    assert!(stdout.contains(&format!("entries          {len}")), "{stdout}");

    let out = Command::new(carbon_bin())
        .args(["audit", "verify", "--json", "--data"])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], len);

    {
        let j = Journal::open(&path).unwrap();
        j.tamper_raw(k, Some(&flipped(&raw, at))).unwrap();
    }
    let out = Command::new(carbon_bin())
        .args(["audit", "verify", "--data"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&format!("journal entry {k}:")), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = Command::new(carbon_bin())
        .args(["audit", "verify", "--json", "--data"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["seq"], k);
}

#[test]
fn the_small_order_table_is_right() {
    use carbon_ledger::signature::{has_small_order_y, is_canonical_y, SMALL_ORDER_Y};
    use ed25519_dalek::VerifyingKey;
    // Every listed y is a point of small order (a typo would make it
    // another point or none).
    for y in SMALL_ORDER_Y {
        let key = VerifyingKey::from_bytes(&y).expect("a point");
        assert!(key.is_weak(), "{}", hex::encode(y));
        let mut signed = y;
        signed[31] |= 0x80;
        assert!(has_small_order_y(&signed));
        if let Ok(k) = VerifyingKey::from_bytes(&signed) {
            assert!(k.is_weak());
        }
    }
    // Real keys and signature points are not.
    for id in ["ZJ-CEEX", "HZ-E000", "MALLORY"] {
        let key = test_key(id);
        assert!(!has_small_order_y(key.verifying_key().as_bytes()));
        let sig = key.sign(b"m");
        assert!(!has_small_order_y(sig.r_bytes()) && is_canonical_y(sig.r_bytes()));
    }
    // p - 1 is canonical, p and above are not, whatever the sign bit.
    let mut p_minus_1 = [0xff; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    assert!(is_canonical_y(&p_minus_1));
    for low in [0xed, 0xee, 0xff] {
        for top in [0x7f, 0xff] {
            let mut y = p_minus_1;
            y[0] = low;
            y[31] = top;
            assert!(!is_canonical_y(&y), "{}", hex::encode(y));
        }
    }
}

#[test]
fn a_signature_with_a_small_order_r_is_refused() {
    let l = ledger(REGISTRY_DAY);
    let k = l.len / 2;
    for y in carbon_ledger::signature::SMALL_ORDER_Y {
        let mut e = l.entry(k);
        let Some(pb::journal_entry::Input::Command(env)) = &mut e.input else {
            panic!()
        };
        env.signature[..32].copy_from_slice(&y);
        l.put(k, &e.encode_to_vec());
        let (seq, what) = l.mismatch();
        assert_eq!(seq, k);
        assert!(what.contains("signature"), "{what}");
    }
}
