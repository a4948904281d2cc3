//! `carbon gen-day --commands N --seed S`: a large, valid market-day file
//! (REPLAY.md) for benchmarks: `carbon replay`, `carbon audit verify`, restart.
//!
//! The file is a genesis, the accounts (entities created by their
//! regulators), instruments, cash and issuance, then trading days:
//! `open_day`, mostly limit orders near each instrument's reference price
//! (about one in four crossing the spread), cancels of recent own orders, a
//! few market and ioc orders, and `close_day`. Every account is funded far
//! beyond what it can lock, and every price stays well inside the band, so
//! nearly every order is accepted; cancels of orders that have filled in the
//! meantime are rejected, as they would be in a real market.
//!
//! On a terminal (stderr), a progress bar counts the lines written; piped or
//! redirected, stderr stays silent.
//!
//! Deterministic: the same arguments give the same bytes. The large files
//! themselves are not kept in the repository; generate them:
//!
//! ```sh
//! carbon gen-day --commands 1000000 --seed 1 --out /tmp/day-1m.jsonl
//! ```

use std::io::{BufWriter, IsTerminal as _, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use serde_json::json;

use crate::splitmix::SplitMix64;

const OPERATOR: &str = "ZJ-CEEX";
const REGULATORS: [(&str, &str); 3] = [("ZJ-DEE", "ZJ"), ("HZ-EEB", "HZ"), ("NB-EEB", "NB")];
/// Symbol and reference price in ticks.
const INSTRUMENTS: [(&str, u64); 3] = [("ZJEA-2025", 5800), ("ZJEA-2024", 5500), ("CCER", 4210)];

/// Arguments of `carbon gen-day`.
#[derive(clap::Args)]
pub struct Args {
    /// Lines to write, genesis and setup included.
    #[arg(long, default_value_t = 1_000_000)]
    commands: usize,
    /// The random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Trading accounts (entities).
    #[arg(long, default_value_t = 200)]
    accounts: usize,
    /// Commands per trading day, open_day and close_day included; a large
    /// value keeps one day open and lets resting orders build up.
    #[arg(long, default_value_t = 20_000)]
    day_len: usize,
    /// End with one day of this many commands left open: its open_day and
    /// day limit orders that never cross (buys below, sells above the
    /// reference), so that every one of them is still resting at the end.
    #[arg(long, default_value_t = 0)]
    rest_last: usize,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A calendar date, advanced one day at a time.
struct Date(u32, u32, u32);

impl Date {
    fn advance(&mut self) {
        let leap = self.0.is_multiple_of(4) && (!self.0.is_multiple_of(100) || self.0.is_multiple_of(400));
        let days = match self.1 {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        self.2 += 1;
        if self.2 > days {
            self.2 = 1;
            self.1 += 1;
            if self.1 > 12 {
                self.1 = 1;
                self.0 += 1;
            }
        }
    }

    fn text(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.0, self.1, self.2)
    }
}

/// Where the lines go, and the progress bar that counts them (on a terminal).
struct Out<W: Write> {
    w: W,
    bar: Option<indicatif::ProgressBar>,
}

/// Lines between two moves of the progress bar.
const PROGRESS_EVERY_LINES: usize = 4096;

/// A progress bar for `total` lines on stderr, only when stderr is a terminal.
fn progress_bar(total: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} generating [{bar:40}] {human_pos}/{human_len} lines {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}

fn emit<W: Write>(out: &mut Out<W>, n: &mut usize, v: serde_json::Value) -> anyhow::Result<()> {
    serde_json::to_writer(&mut out.w, &v)?;
    out.w.write_all(b"\n")?;
    *n += 1;
    if let Some(bar) = out.bar.as_ref().filter(|_| n.is_multiple_of(PROGRESS_EVERY_LINES)) {
        bar.set_position(*n as u64);
    }
    Ok(())
}

fn price(ticks: u64) -> String {
    format!("{}.{:02}", ticks / 100, ticks % 100)
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if a.accounts < 2 || a.day_len < 3 {
        bail!("--accounts must be at least 2 and --day-len at least 3");
    }
    let out: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = Out {
        w: BufWriter::with_capacity(1 << 20, out),
        bar: progress_bar(a.commands),
    };
    let mut n = 0usize;
    let mut r = SplitMix64(a.seed ^ 0xc0ba_17da_1e5e_ed00);

    emit(
        &mut w,
        &mut n,
        json!({"cmd": "genesis", "operator": OPERATOR,
               "regulators": REGULATORS.iter().map(|(id, j)| json!({"id": id, "jurisdiction": j})).collect::<Vec<_>>()}),
    )?;
    let accounts: Vec<String> = (0..a.accounts)
        .map(|i| match i % 2 {
            0 => format!("HZ-E{i:04}"),
            _ => format!("NB-E{i:04}"),
        })
        .collect();
    for (i, id) in accounts.iter().enumerate() {
        // Entities, so that every account can be issued allowances.
        let line = match i % 2 {
            0 => json!({"as": "HZ-EEB", "cmd": "create_account", "id": id, "role": "entity"}),
            _ => json!({"as": "NB-EEB", "cmd": "create_account", "id": id, "role": "entity"}),
        };
        emit(&mut w, &mut n, line)?;
    }
    for (s, p) in INSTRUMENTS {
        emit(
            &mut w,
            &mut n,
            json!({"as": OPERATOR, "cmd": "define_instrument", "symbol": s, "reference_price": price(p)}),
        )?;
    }
    for id in &accounts {
        emit(
            &mut w,
            &mut n,
            json!({"as": OPERATOR, "cmd": "deposit", "account": id, "amount": "500000000.00"}),
        )?;
        for (s, _) in INSTRUMENTS {
            emit(
                &mut w,
                &mut n,
                json!({"as": "ZJ-DEE", "cmd": "issue", "instrument": s, "to": id, "qty": 5_000_000}),
            )?;
        }
    }

    // Each account's most recent order ids, for cancels.
    const RECENT: usize = 8;
    let mut recent: Vec<Vec<u64>> = vec![Vec::with_capacity(RECENT); accounts.len()];
    let mut date = Date(2026, 3, 2);
    let mut oid = 0u64;
    let traded = a.commands.saturating_sub(a.rest_last);
    while n < traded {
        emit(
            &mut w,
            &mut n,
            json!({"as": OPERATOR, "cmd": "open_day", "date": date.text()}),
        )?;
        let end = (n + a.day_len - 2).min(traded.saturating_sub(1)).max(n);
        while n < end {
            let k = r.below(accounts.len() as u64) as usize;
            let who = &accounts[k];
            let roll = r.below(100);
            if roll < 15 && !recent[k].is_empty() {
                let i = r.below(recent[k].len() as u64) as usize;
                let id = recent[k].swap_remove(i);
                emit(
                    &mut w,
                    &mut n,
                    json!({"as": who, "cmd": "cancel", "id": format!("o{id}")}),
                )?;
                continue;
            }
            // ZJEA-2025 is the liquid one.
            let (sym, reference) = INSTRUMENTS[[0, 0, 0, 0, 1, 2][r.below(6) as usize]];
            let buy = r.chance(50);
            oid += 1;
            let qty = 1 + r.below(200);
            let side = if buy { "buy" } else { "sell" };
            if roll >= 97 {
                emit(
                    &mut w,
                    &mut n,
                    json!({"as": who, "cmd": "order", "id": format!("o{oid}"), "instrument": sym,
                           "side": side, "type": "market", "tif": "ioc", "qty": qty}),
                )?;
                continue;
            }
            // Within 4% of the reference; buys lean low and sells high so
            // that about a quarter cross.
            let spread = reference * 4 / 100;
            let offset = r.below(spread + 1);
            let ticks = if buy {
                reference - spread + offset * 5 / 4
            } else {
                reference + spread - offset * 5 / 4
            }
            .clamp(reference - spread, reference + spread);
            let tif = if roll >= 94 { "ioc" } else { "day" };
            emit(
                &mut w,
                &mut n,
                json!({"as": who, "cmd": "order", "id": format!("o{oid}"), "instrument": sym,
                       "side": side, "type": "limit", "tif": tif, "price": price(ticks), "qty": qty}),
            )?;
            if tif == "day" {
                if recent[k].len() == RECENT {
                    recent[k].remove(0);
                }
                recent[k].push(oid);
            }
        }
        if n < traded {
            emit(&mut w, &mut n, json!({"as": OPERATOR, "cmd": "close_day"}))?;
            for r in &mut recent {
                r.clear();
            }
        }
        date.advance();
    }
    if n < a.commands {
        emit(
            &mut w,
            &mut n,
            json!({"as": OPERATOR, "cmd": "open_day", "date": date.text()}),
        )?;
        while n < a.commands {
            let who = &accounts[r.below(accounts.len() as u64) as usize];
            let (sym, reference) = INSTRUMENTS[r.below(3) as usize];
            let buy = r.chance(50);
            let away = 1 + r.below(reference * 4 / 100);
            let ticks = if buy { reference - away } else { reference + away };
            oid += 1;
            emit(
                &mut w,
                &mut n,
                json!({"as": who, "cmd": "order", "id": format!("o{oid}"), "instrument": sym,
                       "side": if buy { "buy" } else { "sell" }, "type": "limit", "tif": "day",
                       "price": price(ticks), "qty": 1 + r.below(200)}),
            )?;
        }
    }
    w.w.flush()?;
    if let Some(bar) = w.bar {
        bar.finish_and_clear();
    }
    Ok(())
}
