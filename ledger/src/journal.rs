//! The journal on sled: entries keyed by big-endian sequence number, and the
//! latest signed checkpoint. Appends are buffered by sled and made durable
//! by one [`Journal::flush`] per batch (group commit).
//!
//! Beside the entries, two indexes: the surveillance alerts (RULEBOOK.md
//! 14.4) by date, so that a regulator's query for a week of alerts reads
//! that week and not the whole journal; and every journalled command by
//! its actor and nonce, so that a client whose call timed out can ask what
//! became of its command. They are derived data, written in the same batch
//! as the entries, with a watermark saying how far they go; a ledger whose
//! indexes are behind (an older ledger, or a crash between the two) is
//! re-indexed from the journal when it opens. Audits never read them.
//!
//! sled has no read-only mode: opening a database writes to its folder
//! (recovery rewrites the end of the log, and every open leaves a `snap.*`
//! file), and fails on read-only media. [`Journal::open_copy`] is how an
//! audit reads a ledger without writing to it: sled opens a private copy.
//!
//! sled's own `flush` does not make the journal durable, nor does sled sync
//! the folders it creates: [`Durability`] does what it leaves out.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use carbon_proto::v1 as pb;
use prost::Message;

/// Storage failed. The node treats it as fatal: it stops answering rather
/// than acknowledge anything that may not be durable.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    #[error("journal entry {seq} does not decode: {err}")]
    Decode { seq: u64, err: prost::DecodeError },
    #[error("{0}")]
    Corrupt(String),
    /// A failure made on purpose by [`Journal::fail_flushes_after`] (tests only).
    #[error("storage: injected flush failure (test hook)")]
    Injected,
    /// [`Journal::open_copy`]: reading or copying the ledger's files failed.
    #[error("{0}")]
    Copy(String),
    /// [`Journal::open_copy`]: another process holds the ledger open.
    #[error("could not acquire lock on {0}: the ledger is open in another process")]
    Locked(String),
    /// Syncing sled's files or the ledger's folders failed ([`Durability`]).
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
}

/// The durable journal of one ledger (a sled database in a folder).
pub struct Journal {
    db: sled::Db,
    entries: sled::Tree,
    meta: sled::Tree,
    /// Alert index: date (10 bytes) || seq (8, big-endian) || event index
    /// (4, big-endian) -> the alert's protobuf bytes.
    alerts: sled::Tree,
    /// Command index: actor || 0 || nonce (8, big-endian) -> seq (8, big-endian).
    commands: sled::Tree,
    /// Flushes left before every flush fails ([`Journal::fail_flushes_after`]);
    /// `u64::MAX`: never.
    flushes_left: AtomicU64,
    /// The syncs sled leaves out; `None` for [`Journal::open_copy`]'s
    /// throwaway copy. Shared with the [`Sidecar`]s.
    durability: Option<Arc<Durability>>,
    /// [`Journal::open_copy`]'s private folder, removed on drop. Declared
    /// last: fields drop in order, so sled (which joins its flusher thread
    /// when its last handle goes) is closed before the folder is removed.
    _copy: Option<tempfile::TempDir>,
}

const CHECKPOINT_KEY: &[u8] = b"checkpoint";
/// Meta key: what a replicated ledger applied last ([`Journal::set_replicated`]).
const REPLICATED_KEY: &[u8] = b"replicated";
/// Meta key: the journal length up to which alerts and commands are indexed.
const INDEXED_KEY: &[u8] = b"indexed";

/// How long [`Journal::open`] waits for sled's lock on the folder.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How sled says the folder is locked (it gives no error kind for it).
const LOCK_ERROR: &str = "could not acquire lock";

/// sled's page cache. Its default (1 GiB) fills with journal pages while a
/// ledger is rebuilt at start and stays resident; the journal is written
/// once and read rarely (audits, journal streams), so a small cache costs
/// nothing on the hot path and keeps the server's memory bounded.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl Journal {
    /// Opens (or creates) the journal in `dir`.
    ///
    /// sled locks the folder while a database is open, and releases the
    /// lock from a background thread after the last handle is dropped, so a
    /// process that closes a journal and opens it again at once (the server
    /// reads the stored genesis first; tests reopen ledgers) can find it
    /// still locked for a moment. The lock is retried for up to
    /// [`LOCK_WAIT`]; a folder another process holds stays an error.
    pub fn open(dir: &Path) -> Result<Journal, StoreError> {
        Journal::open_in(dir, None)
    }

    /// Opens a private copy of the journal in `dir`, never writing to `dir`:
    /// what an audit does, so that it works on read-only media (an
    /// auditor's copy, a write-once archive) and leaves the folder exactly
    /// as it found it.
    ///
    /// sled's files (`conf`, `db`, `snap.*`, `blobs/`; not the ledger's
    /// own `*.snapshot` files, which an audit ignores) are copied into a new
    /// folder under the system's temporary folder (`TMPDIR`), which needs
    /// room for them, and sled opens that; the copy is removed when the
    /// journal is dropped. While copying, the database file is held under a
    /// shared lock, the kind that conflicts with sled's own: a ledger a
    /// running server holds is refused ([`StoreError::Locked`], after
    /// [`LOCK_WAIT`]) rather than copied half-written, and a server cannot
    /// open the ledger until the copy is complete. Writes to the returned
    /// journal change the copy only.
    pub fn open_copy(dir: &Path) -> Result<Journal, StoreError> {
        let copy_err = |what: String| move |e: std::io::Error| StoreError::Copy(format!("{what}: {e}"));
        let db_path = dir.join("db");
        let db = std::fs::File::open(&db_path).map_err(copy_err(format!("opening {}", db_path.display())))?;
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        // Qualified: newer std has inherent `File` locks of the same names.
        while let Err(e) = fs2::FileExt::try_lock_shared(&db) {
            if e.kind() != fs2::lock_contended_error().kind() {
                return Err(copy_err(format!("locking {}", db_path.display()))(e));
            }
            if std::time::Instant::now() >= deadline {
                return Err(StoreError::Locked(db_path.display().to_string()));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let copy = tempfile::Builder::new()
            .prefix("carbon-audit-")
            .tempdir()
            .map_err(copy_err(format!(
                "creating a private folder for a copy of the ledger in {}",
                std::env::temp_dir().display()
            )))?;
        copy_sled_files(dir, copy.path()).map_err(copy_err(format!(
            "copying the ledger in {} to {}",
            dir.display(),
            copy.path().display()
        )))?;
        // The copy is complete: a server may open the ledger again.
        drop(db);
        let path = copy.path().to_path_buf();
        Journal::open_in(&path, Some(copy))
    }

    fn open_in(dir: &Path, copy: Option<tempfile::TempDir>) -> Result<Journal, StoreError> {
        let config = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(CACHE_BYTES);
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let db = loop {
            match config.open() {
                Err(sled::Error::Io(e))
                    if e.to_string().contains(LOCK_ERROR) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other?,
            }
        };
        let entries = db.open_tree("journal")?;
        let meta = db.open_tree("meta")?;
        let alerts = db.open_tree("alerts")?;
        let commands = db.open_tree("commands")?;
        let durability = match copy {
            None => Some(Arc::new(Durability::open(dir)?)),
            Some(_) => None,
        };
        Ok(Journal {
            db,
            entries,
            meta,
            alerts,
            commands,
            flushes_left: AtomicU64::new(u64::MAX),
            durability,
            _copy: copy,
        })
    }

    /// Number of entries (the next sequence number).
    pub fn len(&self) -> Result<u64, StoreError> {
        Ok(match self.entries.last()? {
            Some((k, _)) => seq_of(&k)? + 1,
            None => 0,
        })
    }

    /// True when nothing was ever written.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.entries.is_empty())
    }

    /// Buffers one serialized entry; durable after the next [`flush`](Self::flush).
    pub fn append(&self, seq: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.entries.insert(seq.to_be_bytes(), bytes)?;
        Ok(())
    }

    /// Buffers the index entries of the alerts among `outcome`'s events
    /// (entry `seq`).
    pub fn index_alerts(&self, seq: u64, outcome: &pb::Outcome) -> Result<(), StoreError> {
        for (n, e) in outcome.events.iter().enumerate() {
            if let Some(pb::event::Kind::Alert(a)) = &e.kind {
                let mut key = Vec::with_capacity(a.date.len() + 12);
                key.extend_from_slice(a.date.as_bytes());
                key.extend_from_slice(&seq.to_be_bytes());
                key.extend_from_slice(&(n as u32).to_be_bytes());
                self.alerts.insert(key, a.encode_to_vec())?;
            }
        }
        Ok(())
    }

    /// Buffers the index entry of a journalled command: `actor`'s `nonce`
    /// is entry `seq`.
    pub fn index_command(&self, actor: &str, nonce: u64, seq: u64) -> Result<(), StoreError> {
        self.commands.insert(command_key(actor, nonce), &seq.to_be_bytes())?;
        Ok(())
    }

    /// Buffers the watermark of the indexes: entries below `len` are indexed.
    pub fn set_indexed(&self, len: u64) -> Result<(), StoreError> {
        self.meta.insert(INDEXED_KEY, &len.to_be_bytes())?;
        Ok(())
    }

    /// The watermark of the indexes (0 when there is none).
    pub fn indexed(&self) -> Result<u64, StoreError> {
        Ok(match self.meta.get(INDEXED_KEY)? {
            Some(v) => u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("index watermark".into()))?,
            ),
            None => 0,
        })
    }

    /// Indexes every entry from the watermark on and flushes: what
    /// `Node::open` does for a ledger whose indexes are behind.
    pub fn catch_up_indexes(&self) -> Result<(), StoreError> {
        let from = self.indexed()?;
        let len = self.len()?;
        if from >= len {
            return Ok(());
        }
        for r in self.iter(from) {
            let (_, e) = r?;
            if let Some(o) = &e.outcome {
                self.index_alerts(e.seq, o)?;
            }
            if let Some(pb::journal_entry::Input::Command(env)) = &e.input {
                // Journalled commands decoded once already (they passed the
                // form checks); one that does not is not indexable.
                if let Ok(pb::Command {
                    actor: Some(actor),
                    nonce: Some(nonce),
                    ..
                }) = pb::Command::decode(env.payload.as_slice())
                {
                    self.index_command(&actor, nonce, e.seq)?;
                }
            }
        }
        self.set_indexed(len)?;
        self.flush()
    }

    /// A handle for reading entries and indexes from other threads while
    /// the node writes (sled trees are shared).
    pub fn reader(&self) -> JournalReader {
        JournalReader {
            db: self.db.clone(),
            entries: self.entries.clone(),
            alerts: self.alerts.clone(),
            commands: self.commands.clone(),
        }
    }

    /// Buffers the latest signed checkpoint.
    pub fn set_checkpoint(&self, note: &str) -> Result<(), StoreError> {
        self.meta.insert(CHECKPOINT_KEY, note.as_bytes())?;
        Ok(())
    }

    /// The latest signed checkpoint, if any.
    pub fn checkpoint(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .meta
            .get(CHECKPOINT_KEY)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Buffers what a replicated ledger has applied up to now (opaque to
    /// the journal: the consensus layer's position, written with the
    /// entries it produced and made durable by the same flush).
    pub fn set_replicated(&self, marker: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(REPLICATED_KEY, marker)?;
        Ok(())
    }

    /// The marker last made durable by [`Journal::set_replicated`], if any.
    pub fn replicated(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(REPLICATED_KEY)?.map(|v| v.to_vec()))
    }

    /// Removes every entry from `len` on and flushes: what a replicated
    /// ledger does at start-up with entries a crash left past its
    /// consensus marker (never acknowledged: the flush that would have
    /// made them so did not complete). Their index records are left: the
    /// same commands are applied again at the same positions.
    pub fn truncate(&self, len: u64) -> Result<u64, StoreError> {
        let mut removed = 0;
        for r in self.entries.range(len.to_be_bytes()..).keys() {
            self.entries.remove(r?)?;
            removed += 1;
        }
        if self.indexed()? > len {
            self.set_indexed(len)?;
        }
        self.flush()?;
        Ok(removed)
    }

    /// A tree of its own in the journal's database, made durable by the
    /// same syncs: where a replicated ledger keeps its consensus log.
    pub fn sidecar(&self, name: &str) -> Result<Sidecar, StoreError> {
        assert!(
            !["journal", "meta", "alerts", "commands"].contains(&name),
            "a sidecar never shares the journal's own trees"
        );
        Ok(Sidecar {
            db: self.db.clone(),
            tree: self.db.open_tree(name)?,
            durability: self.durability.clone(),
        })
    }

    /// Makes everything appended so far durable: sled writes it out, then
    /// its log is synced (one `fdatasync`; see [`Durability`]).
    pub fn flush(&self) -> Result<(), StoreError> {
        let left = self.flushes_left.load(Ordering::Relaxed);
        if left != u64::MAX {
            if left == 0 {
                return Err(StoreError::Injected);
            }
            self.flushes_left.store(left - 1, Ordering::Relaxed);
        }
        self.db.flush()?;
        if let Some(d) = &self.durability {
            d.sync()?;
        }
        Ok(())
    }

    /// Fault injection, for tests only: the next `n` flushes succeed and
    /// every later one fails with [`StoreError::Injected`] (without
    /// flushing), as a full or broken disk would. What was appended may still
    /// reach the disk later (sled writes in the background too), or not.
    /// `carbon serve` sets it from `CARBON_FAULT_FAIL_FLUSH_AFTER`.
    #[doc(hidden)]
    pub fn fail_flushes_after(&self, n: u64) {
        self.flushes_left.store(n, Ordering::Relaxed);
    }

    /// The raw bytes of entry `seq`.
    pub fn raw(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries.get(seq.to_be_bytes())?.map(|v| v.to_vec()))
    }

    /// Overwrites entry `seq` with other bytes: for tamper tests only.
    #[doc(hidden)]
    pub fn tamper_raw(&self, seq: u64, bytes: Option<&[u8]>) -> Result<(), StoreError> {
        match bytes {
            Some(b) => self.entries.insert(seq.to_be_bytes(), b)?,
            None => self.entries.remove(seq.to_be_bytes())?,
        };
        self.flush()
    }

    /// Entries from `from` on, in order, as (key sequence number, raw bytes).
    pub fn iter_raw(&self, from: u64) -> impl Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + '_ {
        self.entries.range(from.to_be_bytes()..).map(|r| {
            let (k, v) = r?;
            Ok((seq_of(&k)?, v.to_vec()))
        })
    }

    /// Entries from `from` on, decoded.
    pub fn iter(&self, from: u64) -> impl Iterator<Item = Result<(Vec<u8>, pb::JournalEntry), StoreError>> + '_ {
        self.iter_raw(from).map(|r| {
            let (seq, raw) = r?;
            let e = pb::JournalEntry::decode(raw.as_slice()).map_err(|err| StoreError::Decode { seq, err })?;
            Ok((raw, e))
        })
    }
}

/// The key of a command in the command index.
fn command_key(actor: &str, nonce: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(actor.len() + 9);
    key.extend_from_slice(actor.as_bytes());
    key.push(0);
    key.extend_from_slice(&nonce.to_be_bytes());
    key
}

/// A tree beside the journal in its database ([`Journal::sidecar`]), with
/// the journal's durability: sled's flush, then the syncs sled leaves out.
/// Exists so that a consensus log lives in the ledger's folder and is made
/// durable the way the journal is, without the journal knowing its format.
#[derive(Clone)]
pub struct Sidecar {
    db: sled::Db,
    tree: sled::Tree,
    durability: Option<Arc<Durability>>,
}

impl Sidecar {
    /// The tree (writes are durable after [`Sidecar::flush`]).
    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// Makes every write so far durable (the journal's too: one database).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        if let Some(d) = &self.durability {
            d.sync()?;
        }
        Ok(())
    }
}

/// The journal's entries and indexes, readable beside the writer. They may
/// hold a batch not yet durable: readers keep to the sequence numbers below
/// the journal length the sequencer last reported.
#[derive(Clone)]
pub struct JournalReader {
    /// For [`JournalReader::size_on_disk`] only.
    db: sled::Db,
    entries: sled::Tree,
    alerts: sled::Tree,
    commands: sled::Tree,
}

impl JournalReader {
    /// Bytes of sled's files (the journal, its indexes and the checkpoint):
    /// a `stat` of the database file and of each blob file. For an
    /// occasional sample, not for every batch.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// The raw bytes of entry `seq`.
    pub fn raw(&self, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries.get(seq.to_be_bytes())?.map(|v| v.to_vec()))
    }

    /// Entries `from..until`, in order, as (sequence number, raw bytes).
    /// Callers keep `until` at or below the durable length.
    pub fn range_raw(&self, from: u64, until: u64) -> impl Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + '_ {
        self.entries
            .range(from.to_be_bytes()..until.max(from).to_be_bytes())
            .map(|r| {
                let (k, v) = r?;
                Ok((seq_of(&k)?, v.to_vec()))
            })
    }

    /// The journal position of `actor`'s command with `nonce`, if one was journalled.
    pub fn command(&self, actor: &str, nonce: u64) -> Result<Option<u64>, StoreError> {
        self.commands
            .get(command_key(actor, nonce))?
            .map(|v| seq_of(&v))
            .transpose()
    }

    /// The journal positions of `actor`'s commands, latest nonce first,
    /// from the command index (an id holds no NUL, so `actor` and a NUL
    /// prefix only its own keys).
    pub fn commands_of(&self, actor: &str) -> impl Iterator<Item = Result<u64, StoreError>> + '_ {
        let start = command_key(actor, 0);
        let end = command_key(actor, u64::MAX);
        self.commands.range(start..=end).rev().map(|r| seq_of(&r?.1))
    }

    /// Indexed alerts of the days `from_date..=to_date` (empty: unbounded),
    /// in date order and, within a day, journal order: `(seq, alert)`.
    pub fn alerts(
        &self,
        from_date: &str,
        to_date: &str,
    ) -> impl Iterator<Item = Result<(u64, pb::Alert), StoreError>> + '_ {
        let start = from_date.as_bytes().to_vec();
        // Every key of `to_date` sorts below `to_date` followed by 0xff.
        let end = if to_date.is_empty() {
            vec![0xff; 11]
        } else {
            let mut e = to_date.as_bytes().to_vec();
            e.push(0xff);
            e
        };
        let range = if start > end { end.clone()..end } else { start..end };
        self.alerts.range(range).map(|r| {
            let (k, v) = r?;
            let at = k
                .len()
                .checked_sub(12)
                .ok_or_else(|| StoreError::Corrupt("alert key".into()))?;
            let seq = seq_of(&k[at..at + 8])?;
            let a = pb::Alert::decode(v.as_ref()).map_err(|err| StoreError::Decode { seq, err })?;
            Ok((seq, a))
        })
    }
}

/// What sled (0.34) leaves undone for its writes to survive a power cut,
/// done by the journal:
///
/// - `Db::flush` writes sled's log (`db`) and, on Linux, waits on
///   `sync_file_range`, which neither writes the file's metadata (its size:
///   the log grows) nor flushes the drive's write cache. Only sled's
///   background thread calls `fsync`, every 500 ms; a batch acknowledged
///   in between is lost with the power. [`Durability::sync`] calls
///   `fdatasync` on the log after every `Db::flush`.
/// - A value or tree node larger than about 128 KiB goes to a file of its
///   own in `blobs/`, written and never synced. Every flush syncs the
///   blob files it has not synced yet, and the folder.
/// - sled creates the ledger's folder (`create_dir_all`), `db`, `conf` and
///   `blobs/` and syncs no directory, so a power cut may take the names
///   themselves: a new ledger could vanish whole. [`Durability::open`]
///   syncs `conf`, `blobs/`, the folder and every folder above it.
///
/// The power-loss tests (`tests/tests/power_loss.rs`) run the journal on a
/// file system that drops everything not synced this way.
struct Durability {
    blobs: PathBuf,
    /// sled's log.
    log: File,
    /// Blob files synced, with the length they had then (sled writes one
    /// in several calls: a file seen mid-write is synced again).
    synced_blobs: Mutex<HashMap<OsString, u64>>,
}

/// `fsync` of a file or folder, naming it in the error.
fn sync_path(path: &Path, data_only: bool) -> std::io::Result<()> {
    File::open(path)
        .and_then(|f| if data_only { f.sync_data() } else { f.sync_all() })
        .map_err(|e| std::io::Error::new(e.kind(), format!("syncing {}: {e}", path.display())))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    sync_path(dir, false)
}

impl Durability {
    /// Called once sled has opened (or created) the database in `dir`.
    fn open(dir: &Path) -> std::io::Result<Durability> {
        let log_path = dir.join("db");
        let log = File::open(&log_path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("opening {}: {e}", log_path.display())))?;
        sync_path(&dir.join("conf"), false)?;
        let d = Durability {
            blobs: dir.join("blobs"),
            log,
            synced_blobs: Mutex::new(HashMap::new()),
        };
        d.sync_blobs()?; // any a crash left unsynced
        sync_dir(&d.blobs)?;
        sync_dir(dir)?;
        // The folder's own name, and those above it (sled creates every
        // missing one). Beyond the parent, a folder that cannot be read is
        // not an error: it was there before.
        let absolute = std::path::absolute(dir)?;
        for (n, ancestor) in absolute.ancestors().skip(1).enumerate() {
            match sync_dir(ancestor) {
                Err(e) if n == 0 => return Err(e),
                Err(e) => tracing::debug!("not synced: {e}"),
                Ok(()) => {}
            }
        }
        Ok(d)
    }

    /// After sled's flush: the log and any new blob files are synced.
    fn sync(&self) -> std::io::Result<()> {
        // The blobs first: the log is what points to them.
        self.sync_blobs()?;
        self.log.sync_data()
    }

    fn sync_blobs(&self) -> std::io::Result<()> {
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|e| e.into_inner());
        let mut now = HashMap::with_capacity(synced.len());
        let mut any = false;
        let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
        for item in std::fs::read_dir(&self.blobs)? {
            let item = item?;
            // sled removes the blobs it no longer needs, maybe right now.
            let len = match item.metadata() {
                Ok(m) => m.len(),
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e),
            };
            let name = item.file_name();
            if synced.get(&name) != Some(&len) {
                match sync_path(&item.path(), true) {
                    Err(e) if gone(&e) => continue,
                    other => other?,
                }
                any = true;
            }
            now.insert(name, len);
        }
        if any {
            sync_dir(&self.blobs)?;
        }
        *synced = now;
        Ok(())
    }
}

/// Copies sled's files in `from` (`conf`, `db`, `snap.*`, `blobs/`) into
/// the empty folder `to`, writable by their owner whatever their modes were
/// (an archive's files may be read-only; sled opens them for writing).
fn copy_sled_files(from: &Path, to: &Path) -> std::io::Result<()> {
    fn copy_file(from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::copy(from, to)?;
        let mut perms = std::fs::metadata(to)?.permissions();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            perms.set_mode(0o600);
        }
        #[cfg(not(unix))]
        #[allow(clippy::permissions_set_readonly_false)] // not unix: no world-writable bits
        perms.set_readonly(false);
        std::fs::set_permissions(to, perms)
    }
    for item in std::fs::read_dir(from)? {
        let item = item?;
        let name = item.file_name();
        let Some(text) = name.to_str() else { continue };
        let kind = item.file_type()?;
        if kind.is_file() && (text == "conf" || text == "db" || text.starts_with("snap.")) {
            copy_file(&item.path(), &to.join(&name))?;
        } else if kind.is_dir() && text == "blobs" {
            std::fs::create_dir(to.join(&name))?;
            for blob in std::fs::read_dir(item.path())? {
                let blob = blob?;
                if blob.file_type()?.is_file() {
                    copy_file(&blob.path(), &to.join(&name).join(blob.file_name()))?;
                }
            }
        }
    }
    Ok(())
}

fn seq_of(key: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] = key
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("journal key of {} bytes", key.len())))?;
    Ok(u64::from_be_bytes(arr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// Every file under `dir` with its bytes.
    fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for item in std::fs::read_dir(&d).unwrap() {
                let path = item.unwrap().path();
                if path.is_dir() {
                    out.insert(path.strip_prefix(dir).unwrap().join(""), Vec::new());
                    todo.push(path);
                } else {
                    out.insert(
                        path.strip_prefix(dir).unwrap().to_path_buf(),
                        std::fs::read(&path).unwrap(),
                    );
                }
            }
        }
        out
    }

    fn entry(seq: u64) -> Vec<u8> {
        pb::JournalEntry {
            seq,
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn written(dir: &Path, n: u64) {
        let j = Journal::open(dir).unwrap();
        for seq in 0..n {
            j.append(seq, &entry(seq)).unwrap();
        }
        j.set_checkpoint("a checkpoint").unwrap();
        j.flush().unwrap();
    }

    /// Opening the journal in place writes to its folder (sled's own
    /// recovery and snapshot files); a copy reads the same entries and
    /// leaves the folder byte for byte as it was, even when written to.
    #[test]
    fn open_copy_never_writes_to_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        written(dir.path(), 100);
        let before = contents(dir.path());
        for _ in 0..2 {
            let j = Journal::open_copy(dir.path()).unwrap();
            assert_eq!(j.len().unwrap(), 100);
            assert_eq!(j.raw(42).unwrap().unwrap(), entry(42));
            assert_eq!(j.checkpoint().unwrap().as_deref(), Some("a checkpoint"));
            // Writes reach the copy only.
            j.append(100, &entry(100)).unwrap();
            j.catch_up_indexes().unwrap();
            j.flush().unwrap();
            drop(j);
            assert_eq!(contents(dir.path()), before, "open_copy changed the folder");
        }
        // The folder's own journal does not hold what was written to copies.
        assert_eq!(Journal::open(dir.path()).unwrap().len().unwrap(), 100);
        // ... and opening it in place is what writes (the reason for the copy).
        assert_ne!(
            contents(dir.path()),
            before,
            "sled no longer writes on open: open_copy may be needless"
        );
    }

    /// A ledger another handle holds (a running server) is refused, not
    /// copied half-written.
    #[test]
    fn open_copy_refuses_a_ledger_held_open() {
        let dir = tempfile::tempdir().unwrap();
        written(dir.path(), 3);
        let held = Journal::open(dir.path()).unwrap();
        match Journal::open_copy(dir.path()) {
            Err(StoreError::Locked(path)) => assert!(path.ends_with("db"), "{path}"),
            Err(e) => panic!("another error: {e}"),
            Ok(_) => panic!("a held ledger was copied"),
        }
        drop(held);
        assert_eq!(Journal::open_copy(dir.path()).unwrap().len().unwrap(), 3);
    }

    /// The copy is removed with the journal.
    #[test]
    fn open_copy_removes_its_copy() {
        let dir = tempfile::tempdir().unwrap();
        written(dir.path(), 3);
        let j = Journal::open_copy(dir.path()).unwrap();
        let copy = j._copy.as_ref().unwrap().path().to_path_buf();
        assert!(copy.join("db").is_file());
        drop(j);
        assert!(!copy.exists(), "{} left behind", copy.display());
    }

    /// An actor's commands come back latest nonce first, and only its own:
    /// not those of an actor whose id it begins, nor of one that begins it.
    #[test]
    fn commands_of_an_actor_latest_first() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        for (actor, nonce, seq) in [
            ("OP", 1, 3),
            ("OP", 1_700_000_000_000_000, 9),
            ("OP", 7, 5),
            ("OPX", 8, 6),
            ("O", 9, 7),
        ] {
            j.index_command(actor, nonce, seq).unwrap();
        }
        let r = j.reader();
        let of = |a: &str| r.commands_of(a).collect::<Result<Vec<_>, _>>().unwrap();
        assert_eq!(of("OP"), [9, 5, 3]);
        assert_eq!(of("OPX"), [6]);
        assert_eq!(of("O"), [7]);
        assert_eq!(of("NOBODY"), Vec::<u64>::new());
    }

    #[test]
    fn truncate_removes_the_entries_from_a_length_on() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        for seq in 0..5u64 {
            j.append(seq, &[seq as u8]).unwrap();
        }
        j.set_indexed(5).unwrap();
        j.flush().unwrap();
        assert_eq!(j.truncate(3).unwrap(), 2);
        assert_eq!(j.len().unwrap(), 3);
        assert_eq!(j.indexed().unwrap(), 3);
        assert_eq!(j.raw(2).unwrap(), Some(vec![2]));
        assert_eq!(j.truncate(3).unwrap(), 0, "nothing past the end");
    }
}
