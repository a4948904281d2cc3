//! The Raft log, in the ledger's own sled database (a [`Sidecar`] tree
//! beside the journal), made durable by the journal's syncs.
//!
//! Keys are log indexes, big-endian; values the entries in postcard. The
//! vote and the last purged log id live in a second tree. Appends are
//! inserted at once (in order) and flushed on the blocking pool: openraft
//! is told through its callback when they are durable, and only then
//! counts them toward a commit. A vote is flushed before the call returns.

// openraft's traits fix the error type (`StorageError`, large): the
// helpers here return what the trait methods must.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use carbon_ledger::journal::Sidecar;
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};

use super::types::{log_error, Entry, Ledger, LogId, StorageError, Vote};

const VOTE_KEY: &[u8] = b"vote";
const PURGED_KEY: &[u8] = b"purged";

/// The Raft log of one member. Cheap to clone (sled trees are shared).
#[derive(Clone)]
pub struct LogStore {
    log: Sidecar,
    meta: Sidecar,
}

impl LogStore {
    pub fn new(log: Sidecar, meta: Sidecar) -> LogStore {
        LogStore { log, meta }
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError> {
        match self.meta.tree().get(key).map_err(log_error)? {
            Some(v) => Ok(Some(postcard::from_bytes(&v).map_err(log_error)?)),
            None => Ok(None),
        }
    }

    fn put<T: serde::Serialize>(&self, key: &[u8], value: &T) -> Result<(), StorageError> {
        let bytes = postcard::to_allocvec(value).map_err(log_error)?;
        self.meta.tree().insert(key, bytes).map_err(log_error)?;
        Ok(())
    }

    /// Flushes on the blocking pool (sled's flush and an fdatasync block).
    async fn flush(&self) -> Result<(), StorageError> {
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || log.flush())
            .await
            .map_err(log_error)?
            .map_err(log_error)
    }

    fn last_entry(&self) -> Result<Option<LogId>, StorageError> {
        match self.log.tree().last().map_err(log_error)? {
            Some((_, v)) => Ok(Some(postcard::from_bytes::<Entry>(&v).map_err(log_error)?.log_id)),
            None => Ok(None),
        }
    }
}

fn key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

impl RaftLogReader<Ledger> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i + 1,
            Bound::Unbounded => 0,
        };
        let mut out = Vec::new();
        for item in self.log.tree().range(key(start)..) {
            let (k, v) = item.map_err(log_error)?;
            let index = u64::from_be_bytes(k.as_ref().try_into().map_err(log_error)?);
            if !range.contains(&index) {
                break;
            }
            let entry: Entry = postcard::from_bytes(&v).map_err(log_error)?;
            debug_assert_eq!(entry.log_id.index, index);
            out.push(entry);
        }
        Ok(out)
    }
}

impl RaftLogStorage<Ledger> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<Ledger>, StorageError> {
        let purged: Option<LogId> = self.get(PURGED_KEY)?;
        let last = self.last_entry()?.or(purged);
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.put(VOTE_KEY, vote)?;
        self.flush().await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.get(VOTE_KEY)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<Ledger>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        for entry in entries {
            let bytes = postcard::to_allocvec(&entry).map_err(log_error)?;
            self.log
                .tree()
                .insert(key(entry.log_id.index), bytes)
                .map_err(log_error)?;
        }
        // Durable before openraft counts them: the callback says so. A
        // later flush covers every earlier insert, so callbacks that
        // arrive out of order still tell the truth.
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || {
            let flushed = log.flush().map_err(std::io::Error::other);
            callback.log_io_completed(flushed);
        });
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        for k in self.log.tree().range(key(log_id.index)..).keys() {
            self.log.tree().remove(k.map_err(log_error)?).map_err(log_error)?;
        }
        self.flush().await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.put(PURGED_KEY, &log_id)?;
        for k in self.log.tree().range(..=key(log_id.index)).keys() {
            self.log.tree().remove(k.map_err(log_error)?).map_err(log_error)?;
        }
        self.flush().await
    }
}
