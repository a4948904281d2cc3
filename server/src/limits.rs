//! Caps on long-lived calls: how many may be open over the whole server,
//! and how many on one connection (one client address and port), so that
//! one client cannot take every slot. The Market streams share one
//! [`StreamLimits`]; SubmitStream calls have their own. A call holds its
//! [`StreamSlot`] for as long as it runs; dropping the slot frees both
//! places.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

/// The open calls of one kind, over the server and per connection. Exists
/// because HTTP/2's own limit is per connection only and counts short calls
/// too; long-lived calls hold memory and tasks, so they are counted here.
pub struct StreamLimits {
    /// What is counted, for the refusal's message ("streams").
    what: &'static str,
    open: Arc<Semaphore>,
    max_per_connection: usize,
    per_connection: Arc<Mutex<HashMap<SocketAddr, usize>>>,
}

/// One admitted call's place in its [`StreamLimits`]: held by the call's
/// tasks, released when the last of them drops it.
pub struct StreamSlot {
    _open: OwnedSemaphorePermit,
    _connection: Option<ConnectionSlot>,
}

impl StreamLimits {
    /// At most `max_open` calls over the server, `max_per_connection` on one connection.
    pub fn new(what: &'static str, max_open: usize, max_per_connection: usize) -> Self {
        StreamLimits {
            what,
            open: Arc::new(Semaphore::new(max_open)),
            max_per_connection,
            per_connection: Arc::default(),
        }
    }

    /// A slot for a new call from `peer`, or RESOURCE_EXHAUSTED when the
    /// connection or the server has no room. A call whose peer is unknown
    /// is counted only against the server's limit.
    pub fn admit(&self, peer: Option<SocketAddr>) -> Result<StreamSlot, Status> {
        let connection = peer
            .map(|p| ConnectionSlot::take(&self.per_connection, p, self.max_per_connection, self.what))
            .transpose()?;
        let open = self
            .open
            .clone()
            .try_acquire_owned()
            .map_err(|_| Status::resource_exhausted(format!("too many open {}", self.what)))?;
        Ok(StreamSlot {
            _open: open,
            _connection: connection,
        })
    }
}

/// One call counted against its connection; uncounted when dropped.
struct ConnectionSlot {
    peer: SocketAddr,
    counts: Arc<Mutex<HashMap<SocketAddr, usize>>>,
}

impl ConnectionSlot {
    fn take(
        counts: &Arc<Mutex<HashMap<SocketAddr, usize>>>,
        peer: SocketAddr,
        max: usize,
        what: &str,
    ) -> Result<ConnectionSlot, Status> {
        let mut map = counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(peer).or_insert(0);
        if *n >= max {
            return Err(Status::resource_exhausted(format!(
                "too many open {what} on this connection (at most {max})"
            )));
        }
        *n += 1;
        Ok(ConnectionSlot {
            peer,
            counts: counts.clone(),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.peer);
            }
        }
    }
}
