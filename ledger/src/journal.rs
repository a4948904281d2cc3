//! The journal on sled: entries keyed by big-endian sequence number, and the
//! latest signed checkpoint. Appends are buffered by sled and made durable
//! by one [`Journal::flush`] per batch (group commit).
//!
//! Beside the entries, an index of the surveillance alerts (RULEBOOK.md
//! 14.4) by date, so that a regulator's query for a week of alerts reads
//! that week and not the whole journal. It is derived data, written in the
//! same batch as the entries that hold the alerts, with a watermark saying
//! how far it goes; a ledger whose index is behind (an older ledger, or a
//! crash between the two) is re-indexed from the journal when it opens.
//! Audits never read it.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

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
}

/// The durable journal of one ledger (a sled database in a folder).
pub struct Journal {
    db: sled::Db,
    entries: sled::Tree,
    meta: sled::Tree,
    /// Alert index: date (10 bytes) || seq (8, big-endian) || event index
    /// (4, big-endian) -> the alert's protobuf bytes.
    alerts: sled::Tree,
    /// Flushes left before every flush fails ([`Journal::fail_flushes_after`]);
    /// `u64::MAX`: never.
    flushes_left: AtomicU64,
}

const CHECKPOINT_KEY: &[u8] = b"checkpoint";
/// Meta key: the journal length up to which alerts are indexed.
const ALERTS_INDEXED_KEY: &[u8] = b"alerts_indexed";

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
        Ok(Journal {
            db,
            entries,
            meta,
            alerts,
            flushes_left: AtomicU64::new(u64::MAX),
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

    /// Buffers the watermark of the alert index: entries below `len` are indexed.
    pub fn set_alerts_indexed(&self, len: u64) -> Result<(), StoreError> {
        self.meta.insert(ALERTS_INDEXED_KEY, &len.to_be_bytes())?;
        Ok(())
    }

    /// The watermark of the alert index (0 when there is none).
    pub fn alerts_indexed(&self) -> Result<u64, StoreError> {
        Ok(match self.meta.get(ALERTS_INDEXED_KEY)? {
            Some(v) => u64::from_be_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("alert index watermark".into()))?,
            ),
            None => 0,
        })
    }

    /// Indexes the alerts of every entry from the watermark on and flushes:
    /// what `Node::open` does for a ledger whose index is behind.
    pub fn catch_up_alert_index(&self) -> Result<(), StoreError> {
        let from = self.alerts_indexed()?;
        let len = self.len()?;
        if from >= len {
            return Ok(());
        }
        for r in self.iter(from) {
            let (_, e) = r?;
            if let Some(o) = &e.outcome {
                self.index_alerts(e.seq, o)?;
            }
        }
        self.set_alerts_indexed(len)?;
        self.flush()
    }

    /// A handle on the alert index that other threads may read while the
    /// node writes (sled trees are shared).
    pub fn alert_index(&self) -> AlertIndex {
        AlertIndex(self.alerts.clone())
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

    /// Makes everything appended so far durable (one fsync).
    pub fn flush(&self) -> Result<(), StoreError> {
        let left = self.flushes_left.load(Ordering::Relaxed);
        if left != u64::MAX {
            if left == 0 {
                return Err(StoreError::Injected);
            }
            self.flushes_left.store(left - 1, Ordering::Relaxed);
        }
        self.db.flush()?;
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

/// The journal's alerts by date, readable beside the writer. It may hold
/// alerts of a batch not yet durable: readers keep to the sequence numbers
/// below the journal length the sequencer last reported.
#[derive(Clone)]
pub struct AlertIndex(sled::Tree);

impl AlertIndex {
    /// Indexed alerts of the days `from_date..=to_date` (empty: unbounded),
    /// in date order and, within a day, journal order: `(seq, alert)`.
    pub fn range(
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
        self.0.range(range).map(|r| {
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

fn seq_of(key: &[u8]) -> Result<u64, StoreError> {
    let arr: [u8; 8] = key
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("journal key of {} bytes", key.len())))?;
    Ok(u64::from_be_bytes(arr))
}
