//! Caps on long-lived calls: how many may be open over the whole server,
//! how many from one client address (whatever its ports and connections: a
//! client that opens sixteen connections is still one client; an IPv6
//! client is its /64, [`client_key`]), and, for a call opened with a read
//! credential, how many by one account (whatever its addresses), so that
//! neither one client nor one account can take every slot. The Market
//! streams share one [`StreamLimits`]; alert streams and SubmitStream calls
//! have their own. A call holds its [`StreamSlot`] for as long as it runs;
//! dropping the slot frees every place it holds.
//!
//! (The bytes of one answer are bounded too: [`MAX_ANSWER_BYTES`].)

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::connections::client_key;

/// Most bytes of one message the server sends, and that every client the
/// project ships (`carbon`: submit, order, market, audit, supervise, bench)
/// accepts: 64 MiB. docs/RULES.md, "Limits on hostile input", has the
/// napkin maths; in short, the largest outcome of one command the rules
/// allow is an order of 99,999 t filling against 99,999 orders of 1 t, each
/// fill a trade and, between members of one group, a `related_trade` alert
/// (RULEBOOK.md 14.4): at most 389 bytes a fill with the longest ids and
/// prices, 38.9 MB in all (checked by `tests::worst_outcomes_fit`), which
/// its answer (`CommandResult`), its journal entry and its execution update
/// carry whole.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// The open calls of one kind, over the server, per client address and per
/// account. Exists because HTTP/2's own limit is per connection only and
/// counts short calls too; long-lived calls hold memory and tasks, so they
/// are counted here.
pub struct StreamLimits {
    /// What is counted, for the refusal's message ("streams").
    what: &'static str,
    open: Arc<Semaphore>,
    per_client: Counts<IpAddr>,
    per_account: Counts<String>,
    /// The calls open, for the operator's metrics ([`StreamLimits::metered`]).
    gauge: metrics::Gauge,
}

/// One admitted call's place in its [`StreamLimits`]: held by the call's
/// tasks, released when the last of them drops it.
pub struct StreamSlot {
    _open: OwnedSemaphorePermit,
    _client: Option<Place<IpAddr>>,
    _account: Option<Place<String>>,
    _counted: Counted,
}

/// One call counted on an open-calls gauge; uncounted when dropped.
struct Counted(metrics::Gauge);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

impl StreamLimits {
    /// At most `max_open` calls over the server, `max_per_client` from one
    /// client address; no limit per account (see [`StreamLimits::per_account`]).
    pub fn new(what: &'static str, max_open: usize, max_per_client: usize) -> Self {
        StreamLimits {
            what,
            open: Arc::new(Semaphore::new(max_open)),
            per_client: Counts::new(max_per_client),
            per_account: Counts::new(usize::MAX),
            gauge: metrics::Gauge::noop(),
        }
    }

    /// Counts the open calls on the operator's metrics as `kind`
    /// ([`crate::telemetry::OPEN_STREAMS`]).
    pub fn metered(mut self, kind: &'static str) -> Self {
        self.gauge = crate::telemetry::open_streams(kind);
        self
    }

    /// Also at most `max` calls opened with one account's read credential.
    pub fn per_account(mut self, max: usize) -> Self {
        self.per_account = Counts::new(max);
        self
    }

    /// A slot for a new anonymous call from `peer`: [`StreamLimits::admit_as`].
    pub fn admit(&self, peer: Option<SocketAddr>) -> Result<StreamSlot, Status> {
        self.admit_as(peer, None)
    }

    /// A slot for a new call from `peer` by `account` (when it has a read
    /// credential), or RESOURCE_EXHAUSTED when the server, the client
    /// address or the account has no room. A call whose peer is unknown is
    /// not counted per address.
    pub fn admit_as(&self, peer: Option<SocketAddr>, account: Option<&str>) -> Result<StreamSlot, Status> {
        let client = peer
            .map(|p| {
                self.per_client
                    .take(client_key(p.ip()))
                    .ok_or_else(|| self.refused("from this client address", self.per_client.max))
            })
            .transpose()?;
        let account = account
            .map(|a| {
                self.per_account
                    .take(a.to_string())
                    .ok_or_else(|| self.refused(&format!("by {a}"), self.per_account.max))
            })
            .transpose()?;
        let open = self
            .open
            .clone()
            .try_acquire_owned()
            .map_err(|_| Status::resource_exhausted(format!("too many open {}", self.what)))?;
        self.gauge.increment(1.0);
        Ok(StreamSlot {
            _open: open,
            _client: client,
            _account: account,
            _counted: Counted(self.gauge.clone()),
        })
    }

    fn refused(&self, whose: &str, max: usize) -> Status {
        Status::resource_exhausted(format!("too many open {} {whose} (at most {max})", self.what))
    }
}

/// Open calls per key (a client address, an account), at most `max` each.
struct Counts<K> {
    max: usize,
    map: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    fn new(max: usize) -> Self {
        Counts {
            max,
            map: Arc::default(),
        }
    }

    /// A place for one more call of `key`, or `None` when it has `max`.
    fn take(&self, key: K) -> Option<Place<K>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key.clone()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Place {
            key,
            counts: self.map.clone(),
        })
    }
}

/// One call counted against its key; uncounted when dropped.
struct Place<K: Hash + Eq> {
    key: K,
    counts: Arc<Mutex<HashMap<K, usize>>>,
}

impl<K: Hash + Eq> Drop for Place<K> {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carbon_proto::v1 as pb;
    use prost::Message;

    #[test]
    fn an_account_is_counted_whatever_its_address() {
        let l = StreamLimits::new("streams", 100, 3).per_account(2);
        let a: SocketAddr = "192.0.2.1:1000".parse().unwrap();
        let b: SocketAddr = "192.0.2.2:1000".parse().unwrap();
        let s1 = l.admit_as(Some(a), Some("HZ-STEEL")).unwrap();
        let _s2 = l.admit_as(Some(b), Some("HZ-STEEL")).unwrap();
        let refused = l.admit_as(Some(b), Some("HZ-STEEL")).err().unwrap();
        assert!(refused.message().contains("by HZ-STEEL (at most 2)"), "{refused:?}");
        // Its address still has room, anonymously or for another account.
        let _s3 = l.admit_as(Some(b), None).unwrap();
        let _s4 = l.admit_as(Some(b), Some("NB-POWER")).unwrap();
        let refused = l.admit_as(Some(b), None).err().unwrap();
        assert!(
            refused.message().contains("from this client address (at most 3)"),
            "{refused:?}"
        );
        // A refusal takes no place; an ended call gives its places back.
        drop(s1);
        let _s5 = l.admit_as(Some(a), Some("HZ-STEEL")).unwrap();
    }

    /// The longest strings the rules allow in a trade or an alert: ids of
    /// 36 characters (RULEBOOK.md 1), a symbol of 9 (`ZJEA-2025`), and a
    /// price of 17 (the band's top over the largest reference price,
    /// `MAX_PRICE_TICKS`).
    fn id(c: char) -> String {
        c.to_string().repeat(36)
    }

    fn longest_trade(mode: &str) -> pb::Trade {
        pb::Trade {
            date: "2025-12-31".into(),
            mode: mode.into(),
            instrument: "ZJEA-2025".into(),
            price: "11000000000000.00".into(),
            qty: 99_999,
            buyer: id('b'),
            buy_id: id('o'),
            seller: id('s'),
            sell_id: id('p'),
        }
    }

    fn related(t: &pb::Trade) -> pb::Event {
        pb::Event {
            kind: Some(pb::event::Kind::Alert(pb::Alert {
                date: t.date.clone(),
                kind: Some(pb::alert::Kind::RelatedTrade(pb::RelatedTradeAlert {
                    group: id('g'),
                    instrument: t.instrument.clone(),
                    mode: "listed".into(),
                    price: t.price.clone(),
                    qty: t.qty,
                    buyer: t.buyer.clone(),
                    seller: t.seller.clone(),
                })),
            })),
        }
    }

    /// The largest outcome of one order (RULEBOOK.md 5: at most 99,999 t,
    /// so at most 99,999 fills, each a trade and a `related_trade` alert),
    /// in every message that carries one whole, with a margin for the
    /// command itself (64 KiB of payload) in the journal entry.
    #[test]
    fn worst_outcomes_fit() {
        const FILLS: usize = 99_999;
        let trade = pb::Event {
            kind: Some(pb::event::Kind::Trade(longest_trade("listed"))),
        };
        let alert = related(&longest_trade("listed"));
        let per_fill = trade.encoded_len() + alert.encoded_len() + 2 * 3; // field tag and length of each
        assert!(per_fill <= 389, "{per_fill} bytes a fill");
        let outcome = pb::Outcome {
            ok: true,
            code: String::new(),
            order: Some(pb::OrderResult {
                status: "filled".into(),
                filled: FILLS as i64,
            }),
            events: std::iter::repeat_n([trade, alert], FILLS).flatten().collect(),
        };
        let answer = pb::CommandResult {
            seq: u64::MAX,
            outcome: Some(outcome.clone()),
        }
        .encoded_len();
        let update = pb::ExecutionUpdate {
            seq: u64::MAX,
            kind: Some(pb::execution_update::Kind::Ack(pb::CommandAck {
                command: "order".into(),
                id: id('o'),
                outcome: Some(outcome.clone()),
            })),
        }
        .encoded_len();
        let entry = pb::JournalEntry {
            seq: u64::MAX,
            prev_hash: vec![0; 32],
            input: Some(pb::journal_entry::Input::Command(pb::SignedCommand {
                payload: vec![0; 64 * 1024],
                signature: vec![0; 64],
            })),
            outcome: Some(outcome),
        }
        .encoded_len();
        eprintln!("{per_fill} bytes a fill; answer {answer}, execution update {update}, journal entry {entry}");
        for (what, bytes) in [
            ("answer", answer),
            ("execution update", update),
            ("journal entry", entry),
        ] {
            assert!(bytes <= 39_000_000 + 70_000, "the {what} takes {bytes} bytes");
            assert!(bytes < MAX_ANSWER_BYTES, "the {what} takes {bytes} bytes");
        }
        // A full auction's close (RULEBOOK.md 7, MAX_BIDS_PER_AUCTION
        // trades, no related_trade alerts): the share of one auction in a
        // close_day.
        let auction = pb::Outcome {
            ok: true,
            events: vec![
                pb::Event {
                    kind: Some(pb::event::Kind::Trade(longest_trade("auction"))),
                };
                carbon_ledger::state::MAX_BIDS_PER_AUCTION
            ],
            ..Default::default()
        }
        .encoded_len();
        eprintln!("a full auction's close: {auction} bytes");
        assert!(auction <= 2_140_000, "{auction} bytes an auction");
    }
}
