//! Power loss: `carbon serve` runs on `powercut-fs` (src/bin/powercut-fs), a
//! FUSE file system that keeps every write, creation, rename and removal
//! in memory until it is synced (`fsync`/`fdatasync` of the file, `fsync`
//! of its directory), and drops all of it when the test cuts the power.
//!
//! The SIGKILL test (`crash`) cannot see a missing fsync: the operating
//! system keeps its page cache when a process dies, so what was written and
//! never synced survives. Here it does not.
//!
//! - `a_power_cut_keeps_only_what_was_synced`: the harness itself, over
//!   a real mount: what was synced survives a cut, nothing else does.
//! - `a_flushed_journal_survives_a_power_cut`: `Journal::flush`'s promise,
//!   with the power cut the moment it returns (small entries, and entries
//!   large enough to go to sled's blob files).
//! - `acknowledged_commands_survive_power_cuts`: four clients send signed
//!   commands; the power is cut at a random moment; the server is killed,
//!   the file system unmounted and mounted again (only what was synced is
//!   left); then `carbon audit verify` passes on what the cut left, the
//!   server opens it, and every command it ever acknowledged is in its
//!   journal exactly once, at its sequence number. `CARBON_POWER_CUTS` sets
//!   the number of cuts (default 3; a long run uses 20:
//!   `CARBON_POWER_CUTS=20 cargo test -p carbon-tests --test power_loss`),
//!   `CARBON_POWER_SEED` the seed of the cut moments.
//!
//! FUSE needs Linux, `/dev/fuse` and root (or `fusermount3`): without them
//! these tests fail, loudly; they never pass without having cut the power.
#![cfg(target_os = "linux")]

mod crash_support;
mod grpc_support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carbon_ledger::journal::Journal;
use crash_support::*;
use grpc_support::*;

/// A mounted `powercut-fs`; unmounted (a power cut) when dropped.
struct PowerFs {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// What it printed on stderr, and the thread that gathers it.
    stderr: Arc<Mutex<String>>,
    stderr_thread: Option<std::thread::JoinHandle<()>>,
    mountpoint: PathBuf,
}

impl PowerFs {
    /// Mounts the disk `disk` (a folder) on `mountpoint`; panics, saying
    /// why, if FUSE cannot be used here.
    fn mount(disk: &Path, mountpoint: &Path) -> PowerFs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_powercut-fs"))
            .arg(disk)
            .arg(mountpoint)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting powercut-fs");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (err_pipe, err_text) = (child.stderr.take().unwrap(), stderr.clone());
        let stderr_thread = std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines() {
                let Ok(line) = line else { break };
                eprintln!("{line}");
                let mut text = err_text.lock().unwrap_or_else(|e| e.into_inner());
                text.push_str(&line);
                text.push('\n');
            }
        });
        let mut fs = PowerFs {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            stderr_thread: Some(stderr_thread),
            mountpoint: mountpoint.canonicalize().unwrap(),
        };
        match fs.lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line == "ready" => {}
            other => {
                // All it said: it has exited (or is made to), closing stderr.
                if fs.child.wait_timeout(Duration::from_secs(5)).is_none() {
                    let _ = fs.child.kill();
                    let _ = fs.child.wait();
                }
                if let Some(t) = fs.stderr_thread.take() {
                    let _ = t.join();
                }
                fs.stdin = None; // nothing to unmount
                panic!(
                    "powercut-fs could not mount {} ({other:?}): {}\n\
                     The power-loss tests need FUSE: Linux, /dev/fuse (here: {}), and root \
                     (or fusermount3, Debian package fuse3, for another user).",
                    mountpoint.display(),
                    fs.stderr.lock().unwrap_or_else(|e| e.into_inner()).trim(),
                    if Path::new("/dev/fuse").exists() {
                        "present"
                    } else {
                        "missing"
                    },
                );
            }
        }
        assert!(
            is_mounted(&fs.mountpoint),
            "powercut-fs said ready but {} is not a mount point",
            fs.mountpoint.display()
        );
        fs
    }

    /// Sends a command; returns its answer.
    fn command(&mut self, cmd: &str) -> String {
        let stdin = self.stdin.as_mut().expect("powercut-fs is running");
        writeln!(stdin, "{cmd}").expect("writing to powercut-fs");
        stdin.flush().unwrap();
        let answer = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("powercut-fs did not answer {cmd:?}: {e}"));
        assert!(answer.starts_with(cmd), "powercut-fs answered {cmd:?} with {answer:?}");
        answer
    }

    /// Cuts the power: what was not synced is gone, and every operation on
    /// the mount fails from now on. Returns what was dropped.
    fn cut(&mut self) -> String {
        self.command("cut")
    }

    /// Unmounts (a power cut too: only what was synced stays on the disk).
    fn unmount(mut self) {
        self.stop();
        assert!(
            !is_mounted(&self.mountpoint),
            "{} is still mounted",
            self.mountpoint.display()
        );
    }

    fn stop(&mut self) {
        drop(self.stdin.take()); // the end of its input: it unmounts and exits
        match self.child.wait_timeout(Duration::from_secs(30)) {
            Some(status) => assert!(status.success() || std::thread::panicking(), "powercut-fs: {status}"),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                detach(&self.mountpoint);
                if !std::thread::panicking() {
                    panic!("powercut-fs did not unmount within 30 s");
                }
            }
        }
    }
}

impl Drop for PowerFs {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.stop();
        }
    }
}

trait WaitTimeout {
    fn wait_timeout(&mut self, limit: Duration) -> Option<std::process::ExitStatus>;
}

impl WaitTimeout for Child {
    fn wait_timeout(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Whether `path` (canonical) is a mount point, by /proc/self/mountinfo.
fn is_mounted(path: &Path) -> bool {
    let path = path.to_str().expect("a UTF-8 path");
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path))
}

/// `umount -l`, for a file system whose process did not end by itself.
fn detach(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; umount2 keeps no pointer.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
}

/// A disk and a mount point in a temporary folder.
fn disk_and_mountpoint(tmp: &Path) -> (PathBuf, PathBuf) {
    let (disk, mnt) = (tmp.join("disk"), tmp.join("mnt"));
    std::fs::create_dir(&disk).unwrap();
    std::fs::create_dir(&mnt).unwrap();
    (disk, mnt)
}

fn sync_dir(dir: &Path) {
    std::fs::File::open(dir).unwrap().sync_all().unwrap();
}

fn write(path: &Path, bytes: &[u8]) -> std::fs::File {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
    f
}

/// The harness: through a real mount, a cut keeps what was synced and
/// nothing else; `sync_file_range` (what sled calls) syncs nothing; after
/// a cut every operation fails.
#[test]
fn a_power_cut_keeps_only_what_was_synced() {
    let tmp = tempfile::tempdir().unwrap();
    let (disk, mnt) = disk_and_mountpoint(tmp.path());
    let mut fs = PowerFs::mount(&disk, &mnt);

    // Durable names, with and without synced bytes.
    let synced = write(&mnt.join("synced"), b"durable");
    synced.sync_data().unwrap();
    drop(write(&mnt.join("named"), b""));
    let ranged = write(&mnt.join("ranged"), b"");
    let renamed = write(&mnt.join("renamed"), b"old name");
    renamed.sync_all().unwrap();
    drop(write(&mnt.join("removed"), b""));
    std::fs::create_dir(mnt.join("sub")).unwrap();
    let inner = write(&mnt.join("sub/inner"), b"in a new folder");
    inner.sync_all().unwrap();
    sync_dir(&mnt.join("sub"));
    sync_dir(&mnt);

    // Then, none of it made durable:
    write(&mnt.join("synced"), b" and more").sync_data().ok(); // synced: survives
    write(&mnt.join("synced"), b", unsynced");
    write(&mnt.join("named"), b"never synced");
    let unnamed = write(&mnt.join("unnamed"), b"synced, its name not");
    unnamed.sync_all().unwrap();
    write(&mnt.join("ranged"), b"only sync_file_range");
    // SAFETY: a valid open descriptor; the call only takes integers.
    let rc = unsafe {
        libc::sync_file_range(
            ranged.as_raw_fd(),
            0,
            0,
            libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER,
        )
    };
    assert_eq!(rc, 0, "sync_file_range: {}", std::io::Error::last_os_error());
    std::fs::rename(mnt.join("renamed"), mnt.join("new name")).unwrap();
    std::fs::remove_file(mnt.join("removed")).unwrap();
    assert_eq!(
        std::fs::read(mnt.join("synced")).unwrap(),
        b"durable and more, unsynced"
    );

    let dropped = fs.cut();
    eprintln!("{dropped}");
    assert!(dropped.contains("dirs=1"), "{dropped}");
    let err = std::fs::read(mnt.join("synced")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    let mut late = synced;
    assert_eq!(
        late.write_all(b"after the cut").unwrap_err().raw_os_error(),
        Some(libc::EIO)
    );
    drop((late, ranged, renamed, inner, unnamed));
    fs.unmount();

    let fs = PowerFs::mount(&disk, &mnt);
    let read = |name: &str| std::fs::read(mnt.join(name)).ok();
    assert_eq!(read("synced").as_deref(), Some(&b"durable and more"[..]));
    assert_eq!(read("named").as_deref(), Some(&b""[..]));
    assert_eq!(read("ranged").as_deref(), Some(&b""[..]), "sync_file_range synced");
    assert_eq!(read("unnamed"), None);
    assert_eq!(read("renamed").as_deref(), Some(&b"old name"[..]));
    assert_eq!(read("new name"), None);
    assert!(mnt.join("removed").exists());
    assert_eq!(read("sub/inner").as_deref(), Some(&b"in a new folder"[..]));
    fs.unmount();
}

/// The value stored at `seq`: `len` bytes that depend on both.
fn value(seq: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng(seq);
    (0..len).map(|_| rng.next() as u8).collect()
}

/// `Journal::flush` returns once what was appended is durable: the power
/// is cut right after it, before sled's background writer could sync
/// anything on its own. Entries of 12 KiB (a sled node of 16 of them is
/// past its blob threshold, about 128 KiB) and one of 300 KiB go to sled's
/// blob files.
#[test]
fn a_flushed_journal_survives_a_power_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let (disk, mnt) = disk_and_mountpoint(tmp.path());
    let mut fs = PowerFs::mount(&disk, &mnt);
    let dir = mnt.join("ledger");
    let len = |seq: u64| match seq {
        0..100 => 100,
        100..140 => 12 * 1024,
        140 => 300 * 1024,
        _ => 200,
    };
    const FLUSHED: u64 = 160;
    {
        let journal = Journal::open(&dir).unwrap();
        for batch in [0..50, 50..100, 100..141, 141..FLUSHED] {
            for seq in batch {
                journal.append(seq, &value(seq, len(seq))).unwrap();
            }
            journal.set_checkpoint("a checkpoint").unwrap();
            journal.flush().unwrap();
        }
        journal.append(FLUSHED, b"appended, never flushed").unwrap();
        eprintln!("{}", fs.cut());
    } // sled's own last flush fails: the disk is gone
    fs.unmount();

    let fs = PowerFs::mount(&disk, &mnt);
    {
        let journal = Journal::open(&dir).expect("the journal opens after the cut");
        let n = journal.len().unwrap();
        assert!(
            n >= FLUSHED,
            "only {n} of the {FLUSHED} flushed entries survived the cut"
        );
        for seq in 0..FLUSHED {
            let got = journal.raw(seq).unwrap();
            assert!(
                got.as_deref() == Some(&value(seq, len(seq))[..]),
                "entry {seq} ({} bytes) did not survive the cut: {:?} bytes",
                len(seq),
                got.map(|g| g.len())
            );
        }
        assert_eq!(journal.checkpoint().unwrap().as_deref(), Some("a checkpoint"));
    }
    fs.unmount();
}

/// The power test proper: see the module's doc.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_commands_survive_power_cuts() {
    let cuts = env_u64("CARBON_POWER_CUTS", 3);
    let seed = env_u64("CARBON_POWER_SEED", 0x90E4_C075_0000_0001);
    eprintln!("power-loss test: {cuts} cuts, seed {seed:#x} (CARBON_POWER_CUTS, CARBON_POWER_SEED)");
    let mut rng = Rng(seed);

    let tmp = tempfile::tempdir().unwrap();
    let (disk, mnt) = disk_and_mountpoint(tmp.path());
    let (genesis, op_key) = write_genesis(tmp.path());
    let mut fs = PowerFs::mount(&disk, &mnt);
    let data = mnt.join("data");
    // Frequent snapshots, so cuts also land while one is being written
    // and restarts resume from one.
    const SNAPSHOTS: [&str; 2] = ["--snapshot-every", "50"];
    let op_key = op_key.to_str().unwrap();
    let mut server = Server::start(
        &data,
        &[
            "--genesis",
            genesis.to_str().unwrap(),
            "--operator-key",
            op_key,
            "--origin",
            ORIGIN,
            SNAPSHOTS[0],
            SNAPSHOTS[1],
        ],
    );
    crash_market(&mut server.client().await).await;

    let acks = Arc::new(Mutex::new(Vec::<Ack>::new()));
    let mut clients = Client::all();
    for round in 0..cuts {
        let load = Load::start(&server, clients, &acks).await;
        // Up to 800 ms: past sled's own background sync (every 500 ms).
        tokio::time::sleep(Duration::from_millis(50 + rng.below(750))).await;
        let dropped = fs.cut();
        server.kill(); // it may be stuck on the dead disk, or still answering
        let acked;
        (clients, acked) = load.stop().await;
        fs.unmount();
        fs = PowerFs::mount(&disk, &mnt); // the power is back: only what was synced

        // What the cut left verifies, opens, and holds every acknowledgement.
        audit_verify(&data);
        server = Server::start(&data, &["--operator-key", op_key, SNAPSHOTS[0], SNAPSHOTS[1]]);
        assert!(
            server.banner.iter().any(|l| l.contains("opened the ledger")),
            "{:?}",
            server.banner
        );
        let entries = journal(&mut server.client().await, 0).await;
        let acks = acks.lock().unwrap().clone();
        let commands = check_acks(&entries, &acks);
        eprintln!(
            "cut {round}: {acked} acknowledged before it, dropped unsynced {}; \
             after it {} entries, {commands} commands, every one of the {} acknowledged",
            dropped.trim_start_matches("cut "),
            entries.len(),
            acks.len()
        );
    }
    let acks = acks.lock().unwrap().len();
    assert!(acks >= cuts as usize, "too few commands were acknowledged: {acks}");
    server.kill();
    fs.unmount();
}

fn audit_verify(data: &Path) {
    carbon(&["audit", "verify", "--data", data.to_str().unwrap()]);
}
