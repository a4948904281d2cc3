//! Every read the market page makes of the ledger, and nothing else: a few
//! functions of the read view's replica (run through `View::read`, like
//! every gRPC read) and one of the journal, each returning plain
//! serializable structs, kept to the service's own views
//! (`feed::book_pb`, `supply_pb`, `checkpoint_view`,
//! `views::compliance_table`).
//!
//! What is read is public (docs/ACCESS.md, anonymous column): books,
//! trades without their parties, supply, the signed checkpoint and the
//! compliance tables of closed years. No account, order owner, report,
//! allocation or alert is read here.
//!
//! Every read is bounded: [`BOOK_DEPTH`] levels a side, the last
//! [`TAPE_ROWS`] trades of an instrument (looking at no more than
//! [`TAPE_SCANNED`] of the day's trades), [`HISTORY_DAYS`] closed trading
//! days (looking at no more than [`OPERATOR_COMMANDS_SCANNED`] of the
//! operator's commands), [`MAX_COMPLIANCE_ROWS`] rows of one year.

use carbon_ledger::instrument::Family;
use carbon_ledger::journal::{JournalReader, StoreError};
use carbon_ledger::replica::Replica;
use carbon_ledger::views;
use carbon_proto::v1 as pb;
use prost::Message;
use serde::Serialize;

/// Book levels per side on the page and in its stream.
pub const BOOK_DEPTH: usize = 10;
/// Trades per instrument on the page's tape (latest first).
pub const TAPE_ROWS: usize = 20;
/// Most of a day's trades one tape read looks at, from the latest back,
/// for an instrument that traded little in a busy day.
pub const TAPE_SCANNED: usize = 200_000;
/// Closed trading days in the charts and summary tables: the last 30, about
/// six weeks of trading, read from the journal.
pub const HISTORY_DAYS: usize = 30;
/// Most of the operator's journalled commands (newest first) one history
/// read looks at to find [`HISTORY_DAYS`] closes: the operator's commands
/// are few (days, instruments, deposits), and the read runs off the
/// sequencer, once per close.
pub const OPERATOR_COMMANDS_SCANNED: usize = 50_000;
/// Most rows of one year's compliance table on the page and in its JSON.
pub const MAX_COMPLIANCE_ROWS: usize = 10_000;

/// One price level of a book.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Level {
    pub price: String,
    pub qty: i64,
    pub orders: u32,
}

/// An instrument's book and the band of the day, as `feed::book_pb` has it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Book {
    pub instrument: String,
    /// Best first.
    pub bids: Vec<Level>,
    /// Best first.
    pub asks: Vec<Level>,
    /// The band reference of the open day (the last close otherwise).
    pub reference: String,
    pub band_low: String,
    pub band_high: String,
    pub day_open: bool,
    /// The open day, if any.
    pub date: Option<String>,
    /// Trading is halted (RULEBOOK.md 14.2).
    pub halted: bool,
}

impl Book {
    /// The page's form of a wire book (the feed carries these).
    pub fn from_pb(b: &pb::BookView, depth: usize) -> Book {
        let level = |l: &pb::Level| Level {
            price: l.price.clone(),
            qty: l.qty,
            orders: l.orders,
        };
        Book {
            instrument: b.instrument.clone(),
            bids: b.bids.iter().take(depth).map(level).collect(),
            asks: b.asks.iter().take(depth).map(level).collect(),
            reference: b.reference.clone(),
            band_low: b.band_low.clone(),
            band_high: b.band_high.clone(),
            day_open: b.day_open,
            date: b.date.clone(),
            halted: b.halted,
        }
    }
}

/// A trade as the public sees it: no buyer, seller or order ids.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Trade {
    pub date: String,
    /// `listed`, `block` or `auction`.
    pub mode: String,
    pub instrument: String,
    pub price: String,
    pub qty: i64,
}

impl Trade {
    /// The public part of a wire trade.
    pub fn from_pb(t: &pb::Trade) -> Trade {
        Trade {
            date: t.date.clone(),
            mode: t.mode.clone(),
            instrument: t.instrument.clone(),
            price: t.price.clone(),
            qty: t.qty,
        }
    }
}

/// What changes while a day trades: an instrument's book and latest trades.
#[derive(Clone, Debug, Serialize)]
pub struct LiveInstrument {
    pub book: Book,
    /// The day of `trades`: the open day, or the latest day with trades.
    pub tape_date: Option<String>,
    /// The instrument's latest trades of that day, latest first.
    pub trades: Vec<Trade>,
}

/// The live part of the market: what the page's stream starts from.
#[derive(Clone, Debug, Serialize)]
pub struct Live {
    /// The journal's length when read: every feed entry below it is in here.
    pub seq: u64,
    /// The open day, if any.
    pub date: Option<String>,
    /// The latest day ever opened.
    pub last_date: Option<String>,
    pub instruments: Vec<LiveInstrument>,
}

/// One instrument's supply counters.
#[derive(Clone, Debug, Serialize)]
pub struct Supply {
    pub instrument: String,
    pub issued: i64,
    pub surrendered: i64,
    pub retired: i64,
    pub clawed_back: i64,
    pub outstanding: i64,
}

/// The latest signed checkpoint, and what checks it.
#[derive(Clone, Debug, Serialize)]
pub struct Checkpoint {
    /// The signed note (C2SP signed note, tlog checkpoint).
    pub text: String,
    pub tree_size: u64,
    /// Lowercase hex.
    pub root_hash: String,
    /// Lowercase hex: the leaf hash of the genesis entry.
    pub ledger_id: String,
    /// The operator's verifier key (`name+id+key`), which `carbon audit
    /// check --key` takes. Published for convenience: a verifier should get
    /// it from the operator by another way than this page.
    pub verifier_key: String,
}

/// The market as the page shows it at one moment: one sequencer read.
#[derive(Clone, Debug, Serialize)]
pub struct Market {
    #[serde(flatten)]
    pub live: Live,
    pub supply: Vec<Supply>,
    pub checkpoint: Checkpoint,
    /// The closed compliance years, latest first.
    pub closed_years: Vec<i64>,
    /// The operator's account id (the journal's close-of-day commands are its).
    #[serde(skip)]
    pub operator: String,
}

/// One entity's published line of a closed compliance year.
#[derive(Clone, Debug, Serialize)]
pub struct ComplianceRow {
    pub entity: String,
    pub jurisdiction: String,
    /// `A` met, `B` short, `C` not covered (RULEBOOK.md 11).
    pub status: String,
    pub obligation: i64,
    pub surrendered: i64,
    pub shortfall: i64,
    pub penalty_min: String,
    pub penalty_max: String,
    pub energy_obligation: i64,
    pub energy_surrendered: i64,
    pub energy_shortfall: i64,
    pub energy_penalty_min: String,
    pub energy_penalty_max: String,
}

/// The published compliance table of a closed year.
#[derive(Clone, Debug, Serialize)]
pub struct Compliance {
    pub year: i64,
    /// Every entity's row, at most [`MAX_COMPLIANCE_ROWS`].
    pub rows: Vec<ComplianceRow>,
    /// Rows left out past [`MAX_COMPLIANCE_ROWS`].
    pub rows_left_out: usize,
}

/// One instrument's closed trading day (RULEBOOK.md 4), from the journal.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DaySummary {
    pub date: String,
    pub instrument: String,
    pub reference: String,
    pub open: Option<String>,
    pub high: Option<String>,
    pub low: Option<String>,
    pub close: String,
    pub volume: i64,
    pub turnover: String,
    pub block_volume: i64,
    pub auction_volume: i64,
}

impl DaySummary {
    /// The page's form of a wire summary.
    pub fn from_pb(d: &pb::DaySummary) -> DaySummary {
        DaySummary {
            date: d.date.clone(),
            instrument: d.instrument.clone(),
            reference: d.reference.clone(),
            open: d.open.clone(),
            high: d.high.clone(),
            low: d.low.clone(),
            close: d.close.clone(),
            volume: d.volume,
            turnover: d.turnover.clone(),
            block_volume: d.block_volume,
            auction_volume: d.auction_volume,
        }
    }
}

/// What the cached history of closed days depends on: it is read again
/// when a day opens or closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaysKey {
    /// The operator's account id (the journal's close-of-day commands are its).
    pub operator: String,
    /// The journal's length when read: the history is read below it.
    pub durable: u64,
    pub last_date: Option<String>,
    /// The open day, if any.
    pub open: Option<String>,
}

impl DaysKey {
    /// Whether a history read under `self` is still the history under `other`.
    pub fn same_days(&self, other: &DaysKey) -> bool {
        self.last_date == other.last_date && self.open == other.open
    }

    /// An entity tag for the history (HTTP `ETag`).
    pub fn etag(&self) -> String {
        format!(
            "\"days-{}-{}\"",
            self.last_date.as_deref().unwrap_or("none"),
            if self.open.is_some() { "open" } else { "closed" }
        )
    }
}

impl Market {
    /// The key of the history this market's page shows.
    pub fn days_key(&self) -> DaysKey {
        DaysKey {
            operator: self.operator.clone(),
            durable: self.live.seq,
            last_date: self.live.last_date.clone(),
            open: self.live.date.clone(),
        }
    }
}

/// The key of the history of closed days. On the sequencer.
pub fn days_key(node: &Replica) -> DaysKey {
    let state = node.state();
    DaysKey {
        operator: state.accounts[state.operator as usize].id.clone(),
        durable: node.len(),
        last_date: state.last_date.clone(),
        open: state.day.clone(),
    }
}

/// The live part: every instrument's book and latest trades, allowances
/// first. On the sequencer.
pub fn live(node: &Replica) -> Live {
    let state = node.state();
    let tape = state.trade_tape.back();
    // Allowances first, then energy-use rights, then offsets; by symbol within.
    let mut symbols: Vec<&String> = state.instruments.keys().collect();
    symbols.sort_by_key(|s| (Family::of(s), s.as_str()));
    let instruments = symbols
        .into_iter()
        .filter_map(|symbol| {
            let book = crate::feed::book_pb(node, symbol, BOOK_DEPTH)?;
            let trades = tape
                .map(|(_, trades)| {
                    trades
                        .iter()
                        .rev()
                        .take(TAPE_SCANNED)
                        .filter(|t| t.instrument == *symbol)
                        .take(TAPE_ROWS)
                        .map(|t| Trade::from_pb(&t.to_pb()))
                        .collect()
                })
                .unwrap_or_default();
            Some(LiveInstrument {
                book: Book::from_pb(&book, BOOK_DEPTH),
                tape_date: tape.map(|(d, _)| d.clone()),
                trades,
            })
        })
        .collect();
    Live {
        seq: node.len(),
        date: state.day.clone(),
        last_date: state.last_date.clone(),
        instruments,
    }
}

/// The whole page's market: [`live`], supply, checkpoint, closed years. On the sequencer.
pub fn market(node: &Replica) -> Market {
    let state = node.state();
    let cp = crate::service::checkpoint_view(node);
    let operator = &state.accounts[state.operator as usize];
    Market {
        live: live(node),
        supply: crate::service::supply_pb(state)
            .supply
            .into_iter()
            .map(|s| Supply {
                instrument: s.instrument,
                issued: s.issued,
                surrendered: s.surrendered,
                retired: s.retired,
                clawed_back: s.clawed_back,
                outstanding: s.outstanding,
            })
            .collect(),
        checkpoint: Checkpoint {
            text: cp.text,
            tree_size: cp.tree_size,
            root_hash: hex::encode(cp.root_hash),
            ledger_id: hex::encode(cp.ledger_id),
            verifier_key: carbon_ledger::checkpoint::verifier_key_string(node.origin(), &operator.public_key),
        },
        closed_years: state.closed_years.keys().rev().copied().collect(),
        operator: operator.id.clone(),
    }
}

/// The published compliance table of `year` (the latest closed year when
/// `None`); `None` when that year is not closed. On the sequencer.
pub fn compliance(node: &Replica, year: Option<i64>) -> Option<Compliance> {
    let state = node.state();
    let year = year.or_else(|| state.closed_years.keys().next_back().copied())?;
    let lines = views::compliance_table(state, year, None)?;
    let rows_left_out = lines.len().saturating_sub(MAX_COMPLIANCE_ROWS);
    let rows = lines
        .into_iter()
        .take(MAX_COMPLIANCE_ROWS)
        .map(|l| {
            let r = l.row.to_pb();
            ComplianceRow {
                entity: r.entity,
                jurisdiction: l.jurisdiction,
                status: r.status,
                obligation: r.obligation,
                surrendered: r.surrendered,
                shortfall: r.shortfall,
                penalty_min: r.penalty_min,
                penalty_max: r.penalty_max,
                energy_obligation: r.energy_obligation,
                energy_surrendered: r.energy_surrendered,
                energy_shortfall: r.energy_shortfall,
                energy_penalty_min: r.energy_penalty_min,
                energy_penalty_max: r.energy_penalty_max,
            }
        })
        .collect();
    Some(Compliance {
        year,
        rows,
        rows_left_out,
    })
}

/// The day summaries of the last `days` closed trading days, oldest first,
/// read from the journal below `durable` (the journal's length as the
/// sequencer last reported it): the outcomes of the operator's accepted
/// `close_day` commands, found through the command index, newest first.
/// Off the sequencer (sled reads; run it on the blocking pool).
pub fn closed_days(
    journal: &JournalReader,
    operator: &str,
    durable: u64,
    days: usize,
) -> Result<Vec<DaySummary>, StoreError> {
    let mut closes: Vec<Vec<DaySummary>> = Vec::new();
    for seq in journal.commands_of(operator).take(OPERATOR_COMMANDS_SCANNED) {
        if closes.len() >= days {
            break;
        }
        let seq = seq?;
        if seq >= durable {
            continue;
        }
        let Some(raw) = journal.raw(seq)? else { continue };
        let entry = pb::JournalEntry::decode(raw.as_slice()).map_err(|err| StoreError::Decode { seq, err })?;
        let Some(outcome) = entry.outcome.filter(|o| o.ok) else {
            continue;
        };
        let summaries: Vec<DaySummary> = outcome
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                Some(pb::event::Kind::Day(d)) => Some(DaySummary::from_pb(d)),
                _ => None,
            })
            .collect();
        if !summaries.is_empty() {
            closes.push(summaries);
        }
    }
    Ok(closes.into_iter().rev().flatten().collect())
}

#[cfg(test)]
mod tests {
    use carbon_ledger::journal::Journal;

    use super::*;

    /// A journal entry whose outcome closes `date` (one summary), or is
    /// another command of the operator's (no summary), or was rejected.
    fn entry(seq: u64, date: Option<&str>, ok: bool) -> Vec<u8> {
        let events = date
            .map(|d| pb::Event {
                kind: Some(pb::event::Kind::Day(pb::DaySummary {
                    date: d.into(),
                    instrument: "ZJEA-2025".into(),
                    close: "58.00".into(),
                    ..Default::default()
                })),
            })
            .into_iter()
            .collect();
        pb::JournalEntry {
            seq,
            outcome: Some(pb::Outcome {
                ok,
                events,
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn the_last_closes_below_the_durable_length_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let days = [
            (Some("2026-03-02"), true),
            (None, true), // a deposit
            (Some("2026-03-03"), true),
            (Some("2026-03-04"), false), // a refused close
            (Some("2026-03-05"), true),
            (Some("2026-03-06"), true), // not durable yet
        ];
        for (seq, (date, ok)) in days.into_iter().enumerate() {
            let seq = seq as u64;
            j.append(seq, &entry(seq, date, ok)).unwrap();
            // Nonces far apart, as clients that use the clock make them.
            j.index_command("OP", 1_000_000 + seq * 7_919, seq).unwrap();
        }
        j.index_command("SOMEONE", 1, 2).unwrap();
        let r = j.reader();
        let dates = |n: usize| -> Vec<String> {
            closed_days(&r, "OP", 5, n)
                .unwrap()
                .into_iter()
                .map(|d| d.date)
                .collect()
        };
        assert_eq!(dates(30), ["2026-03-02", "2026-03-03", "2026-03-05"]);
        assert_eq!(dates(2), ["2026-03-03", "2026-03-05"]);
        assert_eq!(closed_days(&r, "NOBODY", 5, 30).unwrap(), vec![]);
    }
}
