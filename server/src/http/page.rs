//! The market page as HTML, rendered on the server from the structs of
//! [`data`](super::data): complete and readable without JavaScript (the
//! script then keeps the book, the tape and the status live, and fetches
//! the page again when a day opens or closes). Labels in Chinese and
//! English (`lang` marks the Chinese so that a screen reader switches
//! voice); tables with captions and `th scope`; the charts are [`chart`]'s.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::chart::{self, Today};
use super::data::{Book, Compliance, DaySummary, LiveInstrument, Market, Trade, HISTORY_DAYS};
use super::Assets;

/// `s` with `& < > " '` escaped, for text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An integer with thousands separators: `12,345`.
pub fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A decimal string (`550043.55`) with thousands separators in its whole part.
pub fn group_decimal(s: &str) -> String {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    match whole.parse::<i64>() {
        Ok(n) if frac.is_empty() => group(n),
        Ok(n) => {
            let sign = if n == 0 && whole.starts_with('-') { "-" } else { "" };
            format!("{sign}{}.{frac}", group(n))
        }
        Err(_) => s.to_string(),
    }
}

/// A bilingual label: the Chinese marked as such, then the English.
fn bi(zh: &str, en: &str) -> String {
    format!(r#"<span lang="zh-Hans">{zh}</span> <span class="en">{en}</span>"#)
}

/// A column header (of figures, aligned right).
fn th(zh: &str, en: &str) -> String {
    format!(r#"<th scope="col">{}</th>"#, bi(zh, en))
}

/// A column header of words (aligned left).
fn th_text(zh: &str, en: &str) -> String {
    format!(r#"<th scope="col" class="text">{}</th>"#, bi(zh, en))
}

/// What an instrument is, in both languages, and its unit.
pub fn instrument_name(symbol: &str) -> (&'static str, String, &'static str) {
    let year = symbol.get(5..).unwrap_or("");
    if symbol.starts_with("ZJEA-") {
        ("碳排放配额", format!("Emission allowances, vintage {year}"), "t")
    } else if symbol.starts_with("ZJEU-") {
        ("用能权", format!("Energy-use rights, {year}"), "tce")
    } else if symbol == "CCER" {
        (
            "国家核证自愿减排量",
            "Certified emission reductions (offsets)".into(),
            "t",
        )
    } else {
        ("", String::new(), "")
    }
}

fn mode_label(mode: &str) -> String {
    match mode {
        "listed" => bi("挂牌", "listed"),
        "block" => bi("大宗", "block"),
        "auction" => bi("拍卖", "auction"),
        other => esc(other),
    }
}

fn status_label(status: &str) -> String {
    match status {
        "A" => bi("已履约", "A: met"),
        "B" => bi("未足额清缴", "B: short"),
        "C" => bi("无核定报告", "C: no confirmed report"),
        other => esc(other),
    }
}

/// The state of an instrument's trading, as its status line says it.
pub fn state_label(book: &Book) -> String {
    if book.halted {
        bi("暂停交易", "Halted")
    } else if book.day_open {
        bi("交易中", "Trading")
    } else {
        bi("休市", "Closed")
    }
}

/// The whole page.
pub fn render(market: &Market, days: &[DaySummary], compliance: Option<&Compliance>, assets: &Assets) -> String {
    let mut by_instrument: BTreeMap<&str, Vec<&DaySummary>> = BTreeMap::new();
    for d in days {
        by_instrument.entry(d.instrument.as_str()).or_default().push(d);
    }
    let live = &market.live;
    let mut s = String::with_capacity(64 * 1024);
    let day_status = match (&live.date, &live.last_date) {
        (Some(d), _) => format!("{} {}", bi("交易日开市", "Trading day open:"), esc(d)),
        (None, Some(d)) => format!("{} {}", bi("休市，最近交易日", "Closed; last trading day"), esc(d)),
        (None, None) => bi("尚未开市", "No trading day yet"),
    };
    let _ = write!(
        s,
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>浙江碳市场 Zhejiang carbon market</title>
<link rel="stylesheet" href="{css}">
<link rel="icon" href="{icon}" type="image/svg+xml">
<script src="{js}" defer></script>
</head>
<body data-date="{date}" data-seq="{seq}">
<a class="skip" href="#main">{skip}</a>
<header>
<h1>{h1}</h1>
<p class="sub">{sub}</p>
<p class="day"><span id="day-status">{day_status}</span> <span id="conn" class="conn" role="status">{conn}</span></p>
<nav aria-label="Instruments"><ul>"##,
        css = assets.css,
        icon = assets.icon,
        js = assets.js,
        date = esc(live.date.as_deref().unwrap_or("")),
        seq = live.seq,
        skip = bi("跳到正文", "Skip to content"),
        h1 = bi("浙江省碳市场", "Zhejiang carbon market"),
        sub = bi(
            "杭州 · 宁波 — 公开行情，每笔记录均在签名账本中",
            "Hangzhou · Ningbo — public market data from a signed ledger"
        ),
        conn = bi("静态", "static page"),
    );
    for i in &live.instruments {
        let sym = esc(&i.book.instrument);
        let _ = write!(s, r##"<li><a href="#i-{sym}">{sym}</a></li>"##);
    }
    let _ = write!(
        s,
        r##"<li><a href="#supply">{}</a></li><li><a href="#checkpoint">{}</a></li><li><a href="#compliance">{}</a></li></ul></nav>
</header>
<main id="main">
"##,
        bi("供应", "Supply"),
        bi("检查点", "Checkpoint"),
        bi("履约", "Compliance")
    );
    overview(&mut s, market, &by_instrument);
    for i in &live.instruments {
        let days = by_instrument
            .get(i.book.instrument.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        instrument(&mut s, i, days);
    }
    supply(&mut s, market);
    checkpoint(&mut s, market);
    compliance_section(&mut s, market, compliance);
    let _ = write!(
        s,
        r##"<section class="about" aria-labelledby="about-h"><h2 id="about-h">{h}</h2>
<p>{p1}</p>
<p>{p2}</p>
<p>JSON: <a href="/api/market">/api/market</a> · <a href="/api/days">/api/days</a> · <a href="/api/compliance">/api/compliance</a> · {stream}: <code>/api/stream</code></p>
</section>
</main>
<footer><p>{foot}</p></footer>
</body>
</html>
"##,
        h = bi("关于本页", "About this page"),
        p1 = bi(
            "本页只显示公开数据：行情（不含交易双方）、供应量、签名检查点和已结束年度的履约表。",
            "This page shows public data only: prices and volumes without the parties to any trade, supply, the signed checkpoint and the compliance tables of closed years. Accounts, orders' owners, reports, allocations and alerts are not public."
        ),
        p2 = bi(
            "买卖盘与逐笔成交实时更新，无需刷新。",
            "The book and the trades update live, without a reload; the charts and tables when a day opens or closes."
        ),
        stream = bi("实时流", "live stream (server-sent events)"),
        foot = format_args!(
            "{} {} · {}",
            bi("日志条目", "Journal entries:"),
            group(live.seq as i64),
            bi("碳账本", "Carbon Ledger")
        ),
    );
    s
}

fn overview(s: &mut String, market: &Market, days: &BTreeMap<&str, Vec<&DaySummary>>) {
    let _ = write!(
        s,
        r##"<section id="overview" data-refresh aria-labelledby="overview-h"><h2 id="overview-h">{h}</h2>
<div class="scroll" tabindex="0" role="region" aria-labelledby="overview-cap"><table class="num">
<caption id="overview-cap">{cap}</caption>
<thead><tr>{c1}{c2}{c3}{c4}{c5}{c6}</tr></thead><tbody>
"##,
        h = bi("行情概览", "Market overview"),
        cap = bi(
            "各品种最近收盘价、涨跌与成交量（最近交易日）",
            "Each instrument's last close, its change from the close before, and the last day's volume"
        ),
        c1 = th("品种", "Instrument"),
        c2 = th_text("名称", "Name"),
        c3 = th("收盘", "Last close"),
        c4 = th("涨跌", "Change"),
        c5 = th("成交量", "Volume"),
        c6 = th_text("状态", "Status"),
    );
    for i in &market.live.instruments {
        let sym = &i.book.instrument;
        let (zh, en, unit) = instrument_name(sym);
        let hist = days.get(sym.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let last = hist.last();
        let change = match (hist.len().checked_sub(2).and_then(|k| hist.get(k)), last) {
            (Some(prev), Some(last)) => change(&prev.close, &last.close),
            _ => "—".into(),
        };
        let _ = writeln!(
            s,
            r##"<tr><th scope="row"><a href="#i-{a}">{a}</a></th><td class="text">{name}</td><td>{close}</td><td>{change}</td><td>{vol}</td><td class="text{halted}" data-state="{a}">{state}</td></tr>"##,
            a = esc(sym),
            name = bi(zh, &esc(&en)),
            close = last.map_or("—".into(), |d| esc(&d.close)),
            vol = last.map_or("—".into(), |d| format!("{} {unit}", group(d.volume))),
            state = state_label(&i.book),
            halted = if i.book.halted { " halted" } else { "" },
        );
    }
    s.push_str("</tbody></table></div></section>\n");
}

/// The change from `prev` to `last` with its sign, in the market's colours
/// (red up, green down) and never by colour alone.
fn change(prev: &str, last: &str) -> String {
    let ticks = |p: &str| -> Option<i64> {
        let (w, f) = p.split_once('.').unwrap_or((p, "0"));
        Some(w.parse::<i64>().ok()? * 100 + format!("{f:0<2}").get(..2)?.parse::<i64>().ok()?)
    };
    let (Some(a), Some(b)) = (ticks(prev), ticks(last)) else {
        return "—".into();
    };
    let d = b - a;
    let pct = if a == 0 { 0.0 } else { d as f64 / a as f64 * 100.0 };
    let (class, sign) = match d.signum() {
        1 => ("up", "+"),
        -1 => ("down", "−"),
        _ => ("flat", "±"),
    };
    format!(
        r#"<span class="{class}">{sign}{}.{:02} ({sign}{:.2}%)</span>"#,
        d.abs() / 100,
        d.abs() % 100,
        pct.abs()
    )
}

/// The book's rows: bid and ask levels side by side, best first.
pub fn book_rows(book: &Book) -> String {
    let mut s = String::new();
    let n = book.bids.len().max(book.asks.len());
    if n == 0 {
        let _ = write!(
            s,
            r#"<tr><td colspan="4" class="none">{}</td></tr>"#,
            bi("无挂单", "No resting orders")
        );
    }
    for k in 0..n {
        let cell = |l: Option<&super::data::Level>, price: bool| match l {
            Some(l) if price => esc(&l.price),
            Some(l) => group(l.qty),
            None => String::new(),
        };
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td class="bid">{}</td><td class="ask">{}</td><td>{}</td></tr>"#,
            cell(book.bids.get(k), false),
            cell(book.bids.get(k), true),
            cell(book.asks.get(k), true),
            cell(book.asks.get(k), false),
        );
    }
    s
}

/// The tape's rows, latest first.
pub fn tape_rows(trades: &[Trade]) -> String {
    let mut s = String::new();
    if trades.is_empty() {
        let _ = write!(
            s,
            r#"<tr><td colspan="3" class="none">{}</td></tr>"#,
            bi("暂无成交", "No trades yet")
        );
    }
    for t in trades {
        let _ = write!(
            s,
            r#"<tr><td class="text">{}</td><td>{}</td><td>{}</td></tr>"#,
            mode_label(&t.mode),
            esc(&t.price),
            group(t.qty)
        );
    }
    s
}

fn band_text(book: &Book) -> String {
    if book.day_open {
        format!(
            "{} {} – {} · {} {}",
            bi("涨跌幅限制", "Band of the day:"),
            esc(&book.band_low),
            esc(&book.band_high),
            bi("基准价", "reference"),
            esc(&book.reference)
        )
    } else {
        format!(
            "{} {}",
            bi("基准价（最近收盘）", "Reference (last close):"),
            esc(&book.reference)
        )
    }
}

fn instrument(s: &mut String, i: &LiveInstrument, days: &[&DaySummary]) {
    let b = &i.book;
    let sym = esc(&b.instrument);
    let (zh, en, unit) = instrument_name(&b.instrument);
    let today_trades: Vec<&str> = i
        .trades
        .iter()
        .rev()
        .filter(|t| t.mode == "listed" && b.date.as_deref() == Some(t.date.as_str()))
        .map(|t| t.price.as_str())
        .collect();
    let today = b.date.as_deref().filter(|_| b.day_open).map(|date| Today {
        date,
        band_low: &b.band_low,
        band_high: &b.band_high,
        reference: &b.reference,
        trades: today_trades,
    });
    let tape_date = i.tape_date.as_deref().unwrap_or("");
    let _ = write!(
        s,
        r##"<section class="instrument" id="i-{sym}" aria-labelledby="h-{sym}" data-instrument="{sym}">
<h2 id="h-{sym}">{sym} <span class="name">{name}</span></h2>
<p class="status"><span class="state{halted}" id="state-{sym}" role="status">{state}</span> <span class="band" id="band-{sym}">{band}</span></p>
<div class="panels">
<figure id="chart-{sym}" data-refresh>{svg}<figcaption>{cap}</figcaption></figure>
<div class="book-tape">
<div class="scroll" tabindex="0" role="region" aria-labelledby="book-cap-{sym}"><table class="num book" id="book-{sym}">
<caption id="book-cap-{sym}">{book_cap}</caption>
<thead><tr>{bq}{bp}{ap}{aq}</tr></thead>
<tbody>{book_rows}</tbody></table></div>
<div class="scroll" tabindex="0" role="region" aria-labelledby="tape-cap-{sym}"><table class="num tape" id="tape-{sym}" data-date="{tape_date}">
<caption id="tape-cap-{sym}">{tape_cap} <span class="tape-date">{tape_date}</span></caption>
<thead><tr>{mode}{price}{qty}</tr></thead>
<tbody>{tape_rows}</tbody></table></div>
</div>
</div>
"##,
        name = bi(zh, &format!("{} ({unit})", esc(&en))),
        halted = if b.halted { " halted" } else { "" },
        state = state_label(b),
        band = band_text(b),
        svg = chart::svg(&b.instrument, days, today.as_ref()),
        cap = bi(
            "收盘价（折线）与挂牌成交量（柱），今日价格区间与成交（点）",
            "Closing price (line) and listed volume (bars) by trading day; a hollow point is a day without listed trades; today's band is shaded, with its trades as dots."
        ),
        book_cap = bi("买卖盘", "Order book, best 10 levels"),
        bq = th("买量", "Bid qty"),
        bp = th("买价", "Bid"),
        ap = th("卖价", "Ask"),
        aq = th("卖量", "Ask qty"),
        book_rows = book_rows(b),
        tape_cap = bi("逐笔成交", "Latest trades"),
        tape_date = esc(tape_date),
        mode = th_text("方式", "Mode"),
        price = th("价格", "Price"),
        qty = th("数量", &format!("Qty ({unit})")),
        tape_rows = tape_rows(&i.trades),
    );
    let _ = write!(
        s,
        r##"<div class="scroll days" id="days-{sym}" data-refresh tabindex="0" role="region" aria-labelledby="days-cap-{sym}"><table class="num">
<caption id="days-cap-{sym}">{cap}</caption>
<thead><tr>{c1}{c2}{c3}{c4}{c5}{c6}{c7}{c8}{c9}</tr></thead><tbody>
"##,
        cap = bi(
            "每日行情",
            &format!(
                "Daily summary, last {} trading days (at most {HISTORY_DAYS}), newest first",
                days.len()
            )
        ),
        c1 = th("日期", "Date"),
        c2 = th("开盘", "Open"),
        c3 = th("最高", "High"),
        c4 = th("最低", "Low"),
        c5 = th("收盘", "Close"),
        c6 = th("成交量", &format!("Volume ({unit})")),
        c7 = th("成交额", "Turnover (CNY)"),
        c8 = th("大宗", "Block vol."),
        c9 = th("拍卖", "Auction vol."),
    );
    if days.is_empty() {
        let _ = write!(
            s,
            r#"<tr><td colspan="9" class="none">{}</td></tr>"#,
            bi("尚无收盘", "No closed trading day yet")
        );
    }
    for d in days.iter().rev() {
        let opt = |v: &Option<String>| v.as_deref().map_or("—".into(), esc);
        let _ = writeln!(
            s,
            r#"<tr data-date="{date}"><th scope="row">{date}</th><td>{o}</td><td>{h}</td><td>{l}</td><td>{c}</td><td>{v}</td><td>{t}</td><td>{bv}</td><td>{av}</td></tr>"#,
            date = esc(&d.date),
            o = opt(&d.open),
            h = opt(&d.high),
            l = opt(&d.low),
            c = esc(&d.close),
            v = group(d.volume),
            t = group_decimal(&d.turnover),
            bv = group(d.block_volume),
            av = group(d.auction_volume),
        );
    }
    s.push_str("</tbody></table></div>\n</section>\n");
}

fn supply(s: &mut String, market: &Market) {
    let _ = write!(
        s,
        r##"<section id="supply" data-refresh aria-labelledby="supply-h"><h2 id="supply-h">{h}</h2>
<div class="scroll" tabindex="0" role="region" aria-labelledby="supply-cap"><table class="num">
<caption id="supply-cap">{cap}</caption>
<thead><tr>{c1}{c2}{c3}{c4}{c5}{c6}</tr></thead><tbody>
"##,
        h = bi("供应量", "Supply"),
        cap = bi(
            "各品种发放、清缴、注销、收回与流通量",
            "Units issued, surrendered, retired, clawed back and outstanding"
        ),
        c1 = th("品种", "Instrument"),
        c2 = th("发放", "Issued"),
        c3 = th("清缴", "Surrendered"),
        c4 = th("注销", "Retired"),
        c5 = th("收回", "Clawed back"),
        c6 = th("流通", "Outstanding"),
    );
    for u in &market.supply {
        let _ = writeln!(
            s,
            r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&u.instrument),
            group(u.issued),
            group(u.surrendered),
            group(u.retired),
            group(u.clawed_back),
            group(u.outstanding)
        );
    }
    s.push_str("</tbody></table></div></section>\n");
}

fn checkpoint(s: &mut String, market: &Market) {
    let c = &market.checkpoint;
    let _ = write!(
        s,
        r##"<section id="checkpoint" data-refresh aria-labelledby="checkpoint-h"><h2 id="checkpoint-h">{h}</h2>
<dl class="facts">
<dt>{ts}</dt><dd>{size}</dd>
<dt>{rh}</dt><dd><code class="hash">{root}</code></dd>
<dt>{li}</dt><dd><code class="hash">{id}</code></dd>
</dl>
<details><summary>{note_h}</summary><pre>{note}</pre></details>
<p>{how_h}</p>
<ol class="how">
<li>{step1}</li>
<li><code>carbon audit check --key '{key}' --checkpoint checkpoint.txt</code></li>
<li>{step3}</li>
</ol>
</section>
"##,
        h = bi("签名检查点", "Latest signed checkpoint"),
        ts = bi("树大小", "Tree size (journal entries)"),
        size = group(c.tree_size as i64),
        rh = bi("根哈希", "Root hash (RFC 6962)"),
        root = esc(&c.root_hash),
        li = bi("账本标识", "Ledger id"),
        id = esc(&c.ledger_id),
        note_h = bi("签名记录原文", "The signed note"),
        note = esc(&c.text),
        how_h = bi(
            "如何核验",
            "How to check it: the operator signs a checkpoint after every batch, and anyone can check its signature and that each later one extends it."
        ),
        step1 = bi(
            "将签名记录保存为 checkpoint.txt，然后运行：",
            "Save the signed note as <code>checkpoint.txt</code> and run:"
        ),
        key = esc(&c.verifier_key),
        step3 = bi(
            "验证密钥应从运营方另行获取，而非仅凭本页。之后的检查点须与此一致：carbon audit consistency 或 GetConsistencyProof。",
            "Take the operator's verifier key from the operator, not from this page alone. A later checkpoint must extend this one: <code>carbon audit consistency</code>, or the public <code>GetConsistencyProof</code>."
        ),
    );
}

fn compliance_section(s: &mut String, market: &Market, table: Option<&Compliance>) {
    let _ = writeln!(
        s,
        r##"<section id="compliance" data-refresh aria-labelledby="compliance-h"><h2 id="compliance-h">{h}</h2>"##,
        h = bi("履约情况", "Compliance of closed years"),
    );
    if market.closed_years.len() > 1 {
        s.push_str(r#"<nav aria-label="Compliance years"><ul class="years">"#);
        for y in &market.closed_years {
            let current = table.is_some_and(|t| t.year == *y);
            let _ = write!(
                s,
                r##"<li><a href="?year={y}#compliance"{aria}>{y}</a></li>"##,
                aria = if current { r#" aria-current="page""# } else { "" }
            );
        }
        s.push_str("</ul></nav>");
    }
    let Some(t) = table else {
        let _ = writeln!(
            s,
            "<p>{}</p></section>",
            bi("尚无已结束的履约年度", "No compliance year has been closed yet.")
        );
        return;
    };
    let _ = write!(
        s,
        r##"<div class="scroll" tabindex="0" role="region" aria-labelledby="compliance-cap"><table class="num">
<caption id="compliance-cap">{cap}</caption>
<thead><tr><th scope="col" rowspan="2">{e}</th><th scope="col" class="text" rowspan="2">{j}</th><th scope="col" class="text" rowspan="2">{st}</th><th scope="colgroup" colspan="4">{carbon}</th><th scope="colgroup" colspan="4">{energy}</th></tr>
<tr>{o}{su}{sh}{p}{o2}{su2}{sh2}{p2}</tr></thead><tbody>
"##,
        cap = bi(
            &format!("{} 年度履约表", t.year),
            &format!("Compliance table of {}, as published when the year closed", t.year)
        ),
        e = bi("控排企业", "Entity"),
        j = bi("地区", "City"),
        st = bi("状态", "Status"),
        carbon = bi("碳排放（吨）", "Emissions (t CO₂)"),
        energy = bi("用能（吨标准煤）", "Energy use (tce)"),
        o = th("应缴", "Obligation"),
        su = th("已缴", "Surrendered"),
        sh = th("缺口", "Shortfall"),
        p = th("罚款区间", "Penalty (CNY)"),
        o2 = th("应缴", "Obligation"),
        su2 = th("已缴", "Surrendered"),
        sh2 = th("缺口", "Shortfall"),
        p2 = th("罚款区间", "Penalty (CNY)"),
    );
    for r in &t.rows {
        let penalty = |a: &str, b: &str| {
            if a == "0.00" && b == "0.00" {
                "—".to_string()
            } else {
                format!("{} – {}", group_decimal(a), group_decimal(b))
            }
        };
        let _ = writeln!(
            s,
            r#"<tr class="status-{sc}"><th scope="row">{e}</th><td class="text">{j}</td><td class="text">{st}</td><td>{o}</td><td>{su}</td><td>{sh}</td><td>{p}</td><td>{o2}</td><td>{su2}</td><td>{sh2}</td><td>{p2}</td></tr>"#,
            sc = esc(&r.status),
            e = esc(&r.entity),
            j = esc(&r.jurisdiction),
            st = status_label(&r.status),
            o = group(r.obligation),
            su = group(r.surrendered),
            sh = group(r.shortfall),
            p = penalty(&r.penalty_min, &r.penalty_max),
            o2 = group(r.energy_obligation),
            su2 = group(r.energy_surrendered),
            sh2 = group(r.energy_shortfall),
            p2 = penalty(&r.energy_penalty_min, &r.energy_penalty_max),
        );
    }
    s.push_str("</tbody></table></div>");
    if t.rows_left_out > 0 {
        let _ = write!(
            s,
            r#"<p>{} <a href="/api/compliance?year={}">JSON</a></p>"#,
            bi(
                &format!("另有 {} 行未显示", t.rows_left_out),
                &format!("{} more rows are not shown here.", group(t.rows_left_out as i64))
            ),
            t.year
        );
    }
    s.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(-1234567), "-1,234,567");
        assert_eq!(group_decimal("550043.55"), "550,043.55");
        assert_eq!(group_decimal("0.05"), "0.05");
        assert_eq!(group_decimal("-0.50"), "-0.50");
        assert_eq!(group_decimal("x"), "x");
    }

    #[test]
    fn a_change_has_its_sign_and_percentage() {
        assert!(change("50.00", "55.00").contains("+5.00 (+10.00%)"));
        assert!(change("55.00", "54.45").contains("−0.55 (−1.00%)"));
        assert!(change("55.00", "55.00").contains("flat"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
