//! An audit never writes to what it audits (issue 14, point 8): every
//! `carbon audit` subcommand that reads a data folder works on a read-only
//! bind mount of it (an auditor's copy, a write-once archive), prints what
//! it prints on the writable folder, and leaves the folder byte for byte as
//! it was (file names, contents, modes and modification times), checked
//! after every subcommand.
//!
//! sled cannot open a database without writing to its folder, so the audit
//! opens a private copy (`Journal::open_copy`); before that, every audit
//! failed here with "Read-only file system".
//!
//! Mounting needs root (CI runs as root). Run as another user, the test
//! fails saying so rather than pass without checking anything.

mod grpc_support;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use carbon_ledger::replay::replay;
use grpc_support::carbon_bin;

/// A compliance year closed (the compliance table), with trades.
const COMPLIANCE_YEAR: &str = include_str!("../market-days/compliance-year.jsonl");
/// A trading day that raises surveillance alerts.
const SUPERVISION: &str = include_str!("../market-days/supervision-example.jsonl");

/// The effective user id, from /proc.
fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// `target`, a read-only bind mount of a folder, unmounted when dropped.
struct ReadOnlyMount {
    target: PathBuf,
}

impl ReadOnlyMount {
    fn new(source: &Path, target: &Path) -> ReadOnlyMount {
        std::fs::create_dir_all(target).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("mount").args(args).output().expect("running mount");
            assert!(
                out.status.success(),
                "mount {args:?} failed (this test needs root and a mount it may change): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let (s, t) = (source.to_str().unwrap(), target.to_str().unwrap());
        run(&["--bind", s, t]);
        let mount = ReadOnlyMount {
            target: target.to_path_buf(),
        };
        run(&["-o", "remount,bind,ro", t]);
        // Really read-only, even for root.
        let probe = std::fs::write(target.join("probe"), b"x").expect_err("the mount is read-only");
        assert_eq!(probe.raw_os_error(), Some(30), "{probe}"); // EROFS
        mount
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let out = Command::new("umount").arg(&self.target).output();
        if !matches!(&out, Ok(o) if o.status.success()) {
            eprintln!("umount {} failed: {out:?}", self.target.display());
        }
    }
}

/// What a folder holds: every entry under it with its mode, modification
/// time and (files) bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, (u32, i64, i64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for item in std::fs::read_dir(&d).unwrap() {
            let path = item.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let bytes = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            if meta.is_dir() {
                todo.push(path.clone());
            }
            out.insert(
                path.strip_prefix(dir).unwrap().to_path_buf(),
                (meta.mode(), meta.mtime(), meta.mtime_nsec(), bytes),
            );
        }
    }
    out
}

fn carbon(args: &[&str], data: &Path) -> Output {
    Command::new(carbon_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(args: &[&str], data: &Path, out: &Output) -> String {
    assert!(
        out.status.success(),
        "carbon {args:?} --data {} failed: {}{}",
        data.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Runs `args` on the read-only mount and on the writable folder: both
/// succeed with the same output (when `same_output`), and the folder is
/// unchanged after each. Returns the output.
fn audit(
    args: &[&str],
    same_output: bool,
    folder: &Path,
    ro: &Path,
    before: &BTreeMap<PathBuf, (u32, i64, i64, Vec<u8>)>,
) -> String {
    let on_ro = ok(args, ro, &carbon(args, ro));
    assert!(
        contents(folder) == *before,
        "carbon {args:?} on the read-only mount changed the folder"
    );
    let on_rw = ok(args, folder, &carbon(args, folder));
    assert!(
        contents(folder) == *before,
        "carbon {args:?} wrote to the folder it audits"
    );
    if same_output {
        assert_eq!(on_ro, on_rw, "carbon {args:?}: read-only and writable outputs differ");
    }
    on_ro
}

#[test]
fn every_audit_subcommand_reads_a_read_only_ledger_without_writing() {
    assert_eq!(
        euid(),
        Some(0),
        "this test mounts a read-only bind of a ledger, which needs root (CI runs as root); \
         run it as root: it checks nothing otherwise"
    );
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    for (name, day, account) in [
        ("compliance-year", COMPLIANCE_YEAR, "A1"),
        ("supervision", SUPERVISION, "HZ-E000"),
    ] {
        let folder = dir.path().join(name);
        let entries = replay(day, &folder).unwrap().node.len();
        assert!(entries > 10, "{name}: {entries} entries");
        let ro_path = dir.path().join(format!("{name}.ro"));
        let _mount = ReadOnlyMount::new(&folder, &ro_path);
        let ro = ro_path.as_path();
        let before = contents(&folder);
        assert!(before.contains_key(Path::new("db")), "{:?}", before.keys());

        let verified = audit(&["audit", "verify"], false, &folder, ro, &before);
        assert!(verified.starts_with("ok: "), "{verified}");
        let json = audit(
            &["audit", "verify", "--json", "--no-signatures"],
            false,
            &folder,
            ro,
            &before,
        );
        assert!(json.contains("\"ok\": true"), "{json}");
        let shown = audit(&["audit", "account", account], true, &folder, ro, &before);
        assert!(shown.contains(account), "{shown}");
        audit(&["audit", "account", account, "--json"], true, &folder, ro, &before);
        let supply = audit(&["audit", "supply"], true, &folder, ro, &before);
        assert!(supply.contains("ZJEA-2025"), "{supply}");
        audit(&["audit", "supply", "--json"], true, &folder, ro, &before);
        let key = audit(&["audit", "checkpoint", "--verifier-key"], true, &folder, ro, &before);
        let note = audit(&["audit", "checkpoint"], true, &folder, ro, &before);
        let proof = audit(&["audit", "proof", "--seq", "3"], true, &folder, ro, &before);
        let consistency = audit(&["audit", "consistency", "--from", "5"], true, &folder, ro, &before);
        if name == "compliance-year" {
            let table = audit(&["audit", "compliance", "--year", "2025"], true, &folder, ro, &before);
            assert!(table.contains("A1"), "{table}");
            audit(
                &["audit", "compliance", "--year", "2025", "--json"],
                true,
                &folder,
                ro,
                &before,
            );
        } else {
            // A failing audit writes nothing either.
            let args = ["audit", "compliance", "--year", "2025"];
            let (on_ro, on_rw) = (carbon(&args, ro), carbon(&args, &folder));
            assert!(!on_ro.status.success() && !on_rw.status.success());
            let said = |o: &Output| String::from_utf8_lossy(&o.stderr).replace(ro.to_str().unwrap(), "DIR");
            assert_eq!(said(&on_ro), said(&on_rw).replace(folder.to_str().unwrap(), "DIR"));
            assert!(said(&on_ro).contains("not closed"), "{}", said(&on_ro));
            assert!(
                contents(&folder) == before,
                "a failed carbon {args:?} wrote to the folder"
            );
        }
        audit(&["audit", "alerts"], true, &folder, ro, &before);
        let alerts = audit(&["audit", "alerts", "--json"], true, &folder, ro, &before);
        if name == "supervision" {
            assert!(
                alerts.contains("\"kind\""),
                "the supervision day raises alerts: {alerts}"
            );
        }

        // `check` reads only the files it is given: the saved outputs check out.
        let save = |what: &str, text: &str| {
            let p = files.join(format!("{name}.{what}"));
            std::fs::write(&p, text).unwrap();
            p
        };
        let note_file = save("checkpoint", &note);
        let proof_file = save("proof.json", &proof);
        let consistency: serde_json::Value = serde_json::from_str(&consistency).unwrap();
        assert_eq!(consistency["from"], 5, "{consistency}");
        for extra in [vec![], vec!["--proof".to_string(), proof_file.display().to_string()]] {
            let out = Command::new(carbon_bin())
                .args(["audit", "check", "--key", key.trim(), "--checkpoint"])
                .arg(&note_file)
                .args(&extra)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "check {extra:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(contents(&folder) == before, "{name}: the folder changed");
    }
}
