//! `carbon audit proof`, `consistency`, `checkpoint` and `check` end to end:
//! proofs printed from a data folder verify with `carbon audit check` (which
//! has only the operator's verifier key) and with the library's
//! `merkle::verify_inclusion` / `verify_consistency`; tampered proofs,
//! checkpoints and keys fail.
//!
//! Two ledgers are replayed from the exchange example day: the whole day,
//! and its first part. Replay is deterministic, so the short ledger's
//! journal is a prefix of the long one's and its signed checkpoint is an
//! older tree head of the same log.

mod grpc_support;

use grpc_support::carbon_bin;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use carbon_ledger::checkpoint::{self, Checkpoint};
use carbon_ledger::journal::Journal;
use carbon_ledger::keys::test_key;
use carbon_ledger::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use carbon_ledger::replay::replay;
use serde_json::Value;
use tempfile::TempDir;

const DAY: &str = include_str!("../market-days/exchange-example.jsonl");

/// Lines of the day in the shorter ledger.
const PREFIX_LINES: usize = 300;

struct Fixture {
    _dir: TempDir,
    files: PathBuf,
    /// The whole day.
    long: PathBuf,
    /// Its first `PREFIX_LINES` lines.
    short: PathBuf,
    key: String,
    long_len: u64,
    short_len: u64,
    long_cp: PathBuf,
    short_cp: PathBuf,
}

/// One process at a time may open a data folder: calls on one are serialised.
static DATA_LOCK: Mutex<()> = Mutex::new(());

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let long = dir.path().join("long");
        let short = dir.path().join("short");
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files).unwrap();
        let long_len = replay(DAY, &long).unwrap().node.len();
        let prefix: Vec<&str> = DAY.split('\n').take(PREFIX_LINES).collect();
        let short_len = replay(&prefix.join("\n"), &short).unwrap().node.len();
        assert!(short_len > 1 && short_len < long_len);
        let key = ok(&carbon(&["audit", "checkpoint", "--verifier-key", "--data"], &long));
        let key = key.trim().to_string();
        let long_cp = files.join("long.checkpoint");
        let short_cp = files.join("short.checkpoint");
        std::fs::write(&long_cp, ok(&carbon(&["audit", "checkpoint", "--data"], &long))).unwrap();
        std::fs::write(&short_cp, ok(&carbon(&["audit", "checkpoint", "--data"], &short))).unwrap();
        Fixture {
            _dir: dir,
            files,
            long,
            short,
            key,
            long_len,
            short_len,
            long_cp,
            short_cp,
        }
    })
}

/// Runs `carbon ARGS DATA` on a data folder.
fn carbon(args: &[&str], data: &Path) -> Output {
    let _guard = DATA_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    Command::new(carbon_bin()).args(args).arg(data).output().unwrap()
}

/// Runs `carbon ARGS` with no data folder.
fn carbon_free(args: &[&str]) -> Output {
    Command::new(carbon_bin()).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "carbon failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `carbon audit check` on the given files: Ok(stdout) or Err(stderr).
fn check(key: &str, checkpoint: &Path, extra: &[(&str, &Path)]) -> Result<String, String> {
    let mut cmd = Command::new(carbon_bin());
    cmd.args(["audit", "check", "--key", key, "--checkpoint"])
        .arg(checkpoint);
    for (flag, path) in extra {
        cmd.arg(flag).arg(path);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        assert!(!stderr.is_empty(), "a failed check says why");
        Err(stderr)
    }
}

fn write_json(name: &str, v: &Value) -> PathBuf {
    let path = fixture().files.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(v).unwrap()).unwrap();
    path
}

fn hash(v: &Value) -> Hash {
    hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

/// A checkpoint file opened with the verifier key, as a client would.
fn open_checkpoint(path: &Path) -> Checkpoint {
    let (name, key) = checkpoint::parse_verifier_key(&fixture().key).unwrap();
    checkpoint::open(&std::fs::read_to_string(path).unwrap(), &name, &key).unwrap()
}

fn proof_json(seq: u64, size: Option<u64>, data: &Path) -> Value {
    let seq = seq.to_string();
    let mut args = vec!["audit", "proof", "--seq", &seq];
    let size_text;
    if let Some(s) = size {
        size_text = s.to_string();
        args.extend(["--size", &size_text]);
    }
    args.push("--data");
    serde_json::from_str(&ok(&carbon(&args, data))).unwrap()
}

#[test]
fn the_checkpoints_verify_with_the_key_alone() {
    let f = fixture();
    let out = check(&f.key, &f.long_cp, &[]).unwrap();
    assert!(out.starts_with("ok"), "{out}");
    let cp = open_checkpoint(&f.long_cp);
    assert_eq!(cp.tree_size, f.long_len);
    assert_eq!(open_checkpoint(&f.short_cp).tree_size, f.short_len);
    assert_eq!(cp.origin, f.key.split('+').next().unwrap());
}

#[test]
fn inclusion_proofs_verify_with_check_and_the_library() {
    let f = fixture();
    let cp = open_checkpoint(&f.long_cp);
    for seq in [0, 1, f.long_len / 2, f.long_len - 2, f.long_len - 1] {
        let p = proof_json(seq, None, &f.long);
        assert_eq!(p["seq"], seq);
        assert_eq!(p["tree_size"], f.long_len);
        let entry = hex::decode(p["entry"].as_str().unwrap()).unwrap();
        let leaf = hash(&p["leaf_hash"]);
        assert_eq!(leaf_hash(&entry), leaf);
        assert_eq!(hash(&p["root_hash"]), cp.root_hash);
        assert!(verify_inclusion(
            &leaf,
            seq,
            cp.tree_size,
            &hashes(&p["inclusion_proof"]),
            &cp.root_hash
        ));
        let path = write_json(&format!("inclusion-{seq}.json"), &p);
        let out = check(&f.key, &f.long_cp, &[("--proof", &path)]).unwrap();
        assert!(out.starts_with(&format!("ok: entry {seq} ")), "{out}");
    }
    // The entry in the proof is the journal's, byte for byte.
    let _guard = DATA_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let j = Journal::open(&f.long).unwrap();
    let p: Value = serde_json::from_str(&std::fs::read_to_string(f.files.join("inclusion-1.json")).unwrap()).unwrap();
    assert_eq!(p["entry"].as_str().unwrap(), hex::encode(j.raw(1).unwrap().unwrap()));
}

#[test]
fn an_inclusion_proof_against_an_older_size() {
    let f = fixture();
    let seq = f.short_len / 2;
    let p = proof_json(seq, Some(f.short_len), &f.long);
    assert_eq!(p["tree_size"], f.short_len);
    assert_eq!(p["checkpoint_size"], f.long_len);
    let path = write_json("inclusion-older.json", &p);
    // Against the old checkpoint of that size, directly ...
    let short = open_checkpoint(&f.short_cp);
    assert_eq!(hash(&p["root_hash"]), short.root_hash);
    check(&f.key, &f.short_cp, &[("--proof", &path)]).unwrap();
    // ... and against the latest one through the consistency proof it carries.
    check(&f.key, &f.long_cp, &[("--proof", &path)]).unwrap();
    let long = open_checkpoint(&f.long_cp);
    let leaf = hash(&p["leaf_hash"]);
    assert!(verify_inclusion(
        &leaf,
        seq,
        f.short_len,
        &hashes(&p["inclusion_proof"]),
        &short.root_hash
    ));
    assert!(verify_consistency(
        f.short_len,
        f.long_len,
        &short.root_hash,
        &long.root_hash,
        &hashes(&p["consistency_proof"])
    ));
    // The same proof from the short ledger itself.
    let q = proof_json(seq, None, &f.short);
    assert_eq!(q["inclusion_proof"], p["inclusion_proof"]);
    assert_eq!(q["entry"], p["entry"]);
}

#[test]
fn consistency_proofs_verify_with_check_and_the_library() {
    let f = fixture();
    let from = f.short_len.to_string();
    let c: Value = serde_json::from_str(&ok(&carbon(
        &["audit", "consistency", "--from", &from, "--data"],
        &f.long,
    )))
    .unwrap();
    assert_eq!(c["from"], f.short_len);
    assert_eq!(c["to"], f.long_len);
    let (old, new) = (open_checkpoint(&f.short_cp), open_checkpoint(&f.long_cp));
    assert_eq!(hash(&c["old_root"]), old.root_hash);
    assert_eq!(hash(&c["new_root"]), new.root_hash);
    assert!(verify_consistency(
        old.tree_size,
        new.tree_size,
        &old.root_hash,
        &new.root_hash,
        &hashes(&c["proof"])
    ));
    let path = write_json("consistency.json", &c);
    let out = check(
        &f.key,
        &f.long_cp,
        &[("--consistency", &path), ("--old-checkpoint", &f.short_cp)],
    )
    .unwrap();
    assert!(out.starts_with("ok"), "{out}");

    // Other sizes, checked with the library against the roots printed.
    for (from, to) in [
        (0, f.long_len),
        (1, 2),
        (1, f.long_len),
        (7, 64),
        (64, 65),
        (f.long_len, f.long_len),
    ] {
        let args = [
            "audit",
            "consistency",
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--data",
        ];
        let c: Value = serde_json::from_str(&ok(&carbon(&args, &f.long))).unwrap();
        assert!(
            verify_consistency(
                from,
                to,
                &hash(&c["old_root"]),
                &hash(&c["new_root"]),
                &hashes(&c["proof"])
            ),
            "{from} -> {to}"
        );
    }
}

#[test]
fn tampered_inclusion_proofs_fail() {
    let f = fixture();
    let seq = f.long_len / 3;
    let p = proof_json(seq, None, &f.long);
    let cp = open_checkpoint(&f.long_cp);
    let flip = |h: &Value| {
        let mut b = hash(h);
        b[5] ^= 0x20;
        Value::from(hex::encode(b))
    };
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut q = p.clone();
    q["inclusion_proof"][2] = flip(&p["inclusion_proof"][2]);
    cases.push(("a proof hash", q));
    let mut q = p.clone();
    q["inclusion_proof"].as_array_mut().unwrap().pop();
    cases.push(("a proof hash dropped", q));
    let mut q = p.clone();
    q["seq"] = Value::from(seq + 1);
    cases.push(("the sequence number", q));
    let mut q = p.clone();
    q["tree_size"] = Value::from(f.long_len - 1);
    cases.push(("the tree size", q));
    let mut q = p.clone();
    q["leaf_hash"] = flip(&p["leaf_hash"]);
    q.as_object_mut().unwrap().remove("entry");
    cases.push(("the leaf hash", q));
    let mut q = p.clone();
    let mut entry = hex::decode(p["entry"].as_str().unwrap()).unwrap();
    entry[10] ^= 1;
    q["entry"] = Value::from(hex::encode(entry));
    cases.push(("the entry", q));
    let mut q = p.clone();
    q["inclusion_proof"] = Value::from("not a list");
    cases.push(("garbage", q));
    for (what, q) in cases {
        let path = write_json("tampered-inclusion.json", &q);
        let err = check(&f.key, &f.long_cp, &[("--proof", &path)]).expect_err(what);
        assert!(err.contains("carbon audit:"), "{what}: {err}");
        // The library agrees wherever the proof still parses. (Not for the
        // size: a path can be the same in trees of neighbouring sizes, which
        // is why `check` holds the size to the signed checkpoint's.)
        if let (Some(s), Some(n), Some(l), Some(list)) = (
            q["seq"].as_u64(),
            q["tree_size"].as_u64(),
            q["leaf_hash"].as_str(),
            q["inclusion_proof"].as_array(),
        ) {
            if what != "the entry" && what != "the tree size" {
                let leaf: Hash = hex::decode(l).unwrap().try_into().unwrap();
                let list: Vec<Hash> = list.iter().map(hash).collect();
                assert!(!verify_inclusion(&leaf, s, n, &list, &cp.root_hash), "{what}");
            }
        }
    }
    // An older-size proof whose intermediate root was changed.
    let mut q = proof_json(seq, Some(f.short_len), &f.long);
    q["root_hash"] = flip(&q["root_hash"]);
    let path = write_json("tampered-older.json", &q);
    check(&f.key, &f.long_cp, &[("--proof", &path)]).unwrap_err();
    // Not JSON at all.
    let path = f.files.join("not-json.json");
    std::fs::write(&path, "{ nope").unwrap();
    check(&f.key, &f.long_cp, &[("--proof", &path)]).unwrap_err();
}

#[test]
fn tampered_consistency_proofs_fail() {
    let f = fixture();
    let from = f.short_len.to_string();
    let c: Value = serde_json::from_str(&ok(&carbon(
        &["audit", "consistency", "--from", &from, "--data"],
        &f.long,
    )))
    .unwrap();
    let mut q = c.clone();
    let mut h = hash(&c["proof"][1]);
    h[0] ^= 1;
    q["proof"][1] = Value::from(hex::encode(h));
    let (old, new) = (open_checkpoint(&f.short_cp), open_checkpoint(&f.long_cp));
    assert!(!verify_consistency(
        old.tree_size,
        new.tree_size,
        &old.root_hash,
        &new.root_hash,
        &hashes(&q["proof"])
    ));
    let path = write_json("tampered-consistency.json", &q);
    check(
        &f.key,
        &f.long_cp,
        &[("--consistency", &path), ("--old-checkpoint", &f.short_cp)],
    )
    .unwrap_err();
    // The right proof with the checkpoints the wrong way round.
    let path = write_json("consistency-ok.json", &c);
    check(
        &f.key,
        &f.short_cp,
        &[("--consistency", &path), ("--old-checkpoint", &f.long_cp)],
    )
    .unwrap_err();
    // Without the proof's root fields, the proof alone decides.
    let mut q = q.clone();
    q.as_object_mut().unwrap().remove("old_root");
    q.as_object_mut().unwrap().remove("new_root");
    let path = write_json("tampered-consistency-bare.json", &q);
    check(
        &f.key,
        &f.long_cp,
        &[("--consistency", &path), ("--old-checkpoint", &f.short_cp)],
    )
    .unwrap_err();
}

#[test]
fn a_wrong_key_or_an_edited_checkpoint_fails() {
    let f = fixture();
    let origin = f.key.split('+').next().unwrap();
    let mallory = checkpoint::verifier_key_string(origin, &test_key("MALLORY").verifying_key());
    let err = check(&mallory, &f.long_cp, &[]).unwrap_err();
    assert!(err.contains("signature"), "{err}");
    let err = check("not-a-key", &f.long_cp, &[]).unwrap_err();
    assert!(err.contains("verifier key"), "{err}");

    // The size line of the note changed: the signature no longer covers it.
    let note = std::fs::read_to_string(&f.long_cp).unwrap();
    let edited = note.replacen(&format!("\n{}\n", f.long_len), &format!("\n{}\n", f.long_len + 1), 1);
    assert_ne!(note, edited);
    let path = f.files.join("edited.checkpoint");
    std::fs::write(&path, edited).unwrap();
    check(&f.key, &path, &[]).unwrap_err();

    // A proof checked against an edited checkpoint fails too.
    let p = proof_json(3, None, &f.long);
    let proof = write_json("inclusion-for-edited.json", &p);
    check(&f.key, &path, &[("--proof", &proof)]).unwrap_err();

    // A missing file is an error, not a crash.
    let out = carbon_free(&["audit", "check", "--key", &f.key, "--checkpoint", "/nonexistent/cp"]);
    assert!(!out.status.success());
}
