//! The page's chart, drawn on the server as SVG: an instrument's closing
//! price over the last trading days as a line, the daily volume as bars
//! under it, and, while a day is open, that day's band with its trades as
//! dots (the page's script adds the dots of new trades as they come).
//!
//! Why on the server, in Rust: the chart is then part of the page as it is
//! sent, so it shows without JavaScript and before any script runs, prints,
//! and is tested by `cargo test` like the rest of the server; it changes
//! only when a day opens or closes, when the page fetches it anew. No
//! charting library: a line, bars and a few labels are a hundred lines,
//! and nothing is fetched at run time. Prices are parsed to `f64` for the
//! geometry only; every figure shown is the ledger's own string.

use std::fmt::Write as _;

use super::data::DaySummary;
use super::page::{esc, group};

/// The open day's band and trades, drawn in the chart's last slot.
pub struct Today<'a> {
    pub date: &'a str,
    pub band_low: &'a str,
    pub band_high: &'a str,
    pub reference: &'a str,
    /// Prices of the day's listed trades (block and auction trades may lie
    /// outside the band and set no price: RULEBOOK.md 4).
    pub trades: Vec<&'a str>,
}

const WIDTH: f64 = 720.0;
const LEFT: f64 = 76.0;
const RIGHT: f64 = 12.0;
const PRICE_TOP: f64 = 12.0;
const PRICE_BOTTOM: f64 = 168.0;
const VOLUME_TOP: f64 = 198.0;
const VOLUME_BOTTOM: f64 = 248.0;
const HEIGHT: f64 = 272.0;
/// Most date labels under the chart.
const MAX_DATE_LABELS: usize = 6;

fn price(s: &str) -> f64 {
    s.parse().unwrap_or(0.0)
}

/// A round step for about `n` gridlines over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(0.01);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// `MM-DD` of `YYYY-MM-DD`.
fn short_date(d: &str) -> &str {
    d.get(5..).unwrap_or(d)
}

/// The SVG of one instrument's chart; `days` oldest first, all of `symbol`.
pub fn svg(symbol: &str, days: &[&DaySummary], today: Option<&Today>) -> String {
    let slots = days.len() + usize::from(today.is_some());
    let plot_w = WIDTH - LEFT - RIGHT;
    let slot_w = plot_w / slots.max(1) as f64;
    let x_of = |i: usize| LEFT + (i as f64 + 0.5) * slot_w;

    // The price scale covers every close, and the band and trades of today.
    let mut prices: Vec<f64> = days.iter().map(|d| price(&d.close)).collect();
    if let Some(t) = today {
        prices.extend([price(t.band_low), price(t.band_high)]);
        prices.extend(t.trades.iter().map(|p| price(p)));
    }
    let (lo, hi) = prices
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &p| (lo.min(p), hi.max(p)));
    let (lo, hi) = if prices.is_empty() {
        (0.0, 1.0)
    } else if hi - lo < 0.01 {
        (lo - (lo * 0.02).max(0.05), hi + (hi * 0.02).max(0.05))
    } else {
        (lo - (hi - lo) * 0.08, hi + (hi - lo) * 0.08)
    };
    let step = nice_step(hi - lo, 4.0);
    let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
    let y_of = |p: f64| PRICE_BOTTOM - (p - lo) / (hi - lo) * (PRICE_BOTTOM - PRICE_TOP);
    let max_volume = days.iter().map(|d| d.volume).max().unwrap_or(0);
    let vol_h = |v: i64| {
        if max_volume == 0 {
            0.0
        } else {
            v as f64 / max_volume as f64 * (VOLUME_BOTTOM - VOLUME_TOP)
        }
    };

    let id = esc(symbol);
    let mut s = String::with_capacity(4096);
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-t-{id} chart-d-{id}" data-instrument="{id}"><title id="chart-t-{id}">{title}</title><desc id="chart-d-{id}">{desc}</desc>"#,
        title = esc(&title(symbol, days)),
        desc = esc(&describe(days, today)),
    );

    // Price gridlines and labels.
    s.push_str(r#"<g class="grid">"#);
    let mut p = lo;
    while p <= hi + step / 2.0 {
        let y = y_of(p);
        let _ = write!(
            s,
            r#"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}"/><text x="{tx}" y="{ty:.1}">{p:.2}</text>"#,
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
        );
        p += step;
    }
    let _ = write!(
        s,
        r#"<line x1="{LEFT}" x2="{x2}" y1="{VOLUME_BOTTOM}" y2="{VOLUME_BOTTOM}"/>"#,
        x2 = WIDTH - RIGHT,
    );
    if max_volume > 0 {
        let _ = write!(
            s,
            r#"<text x="{tx}" y="{ty}">{v}</text><text x="{tx}" y="{ty2}">vol</text>"#,
            tx = LEFT - 6.0,
            ty = VOLUME_TOP + 8.0,
            ty2 = VOLUME_BOTTOM,
            v = group(max_volume),
        );
    }
    s.push_str("</g>");

    // Volume bars.
    let bar_w = (slot_w * 0.6).min(28.0);
    s.push_str(r#"<g class="volume">"#);
    for (i, d) in days.iter().enumerate() {
        let h = vol_h(d.volume);
        let _ = write!(
            s,
            r#"<rect class="vol" x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}" data-date="{date}" data-volume="{v}"><title>{date} 成交量 volume {vg}</title></rect>"#,
            x = x_of(i) - bar_w / 2.0,
            y = VOLUME_BOTTOM - h,
            date = esc(&d.date),
            v = d.volume,
            vg = group(d.volume),
        );
    }
    s.push_str("</g>");

    // Today's band, reference and trades.
    if let Some(t) = today {
        let x = x_of(days.len());
        let w = (slot_w * 0.7).min(60.0);
        let (top, bottom) = (y_of(price(t.band_high)), y_of(price(t.band_low)));
        let r = y_of(price(t.reference));
        let _ = write!(
            s,
            r#"<g class="today" data-x0="{x0:.1}" data-w="{w:.1}" data-top="{top:.1}" data-bottom="{bottom:.1}" data-high="{hi_p}" data-low="{lo_p}"><rect class="band" x="{x0:.1}" y="{top:.1}" width="{w:.1}" height="{h:.1}"><title>{date} 价格区间 band {lo_s} – {hi_s}</title></rect><line class="ref" x1="{x0:.1}" x2="{x1:.1}" y1="{r:.1}" y2="{r:.1}"/>"#,
            x0 = x - w / 2.0,
            x1 = x + w / 2.0,
            h = bottom - top,
            hi_p = esc(t.band_high),
            lo_p = esc(t.band_low),
            date = esc(t.date),
            lo_s = esc(t.band_low),
            hi_s = esc(t.band_high),
        );
        let n = t.trades.len();
        for (k, p) in t.trades.iter().enumerate() {
            let _ = write!(
                s,
                r#"<circle class="trade" cx="{cx:.1}" cy="{cy:.1}" r="2.5" data-price="{p}"/>"#,
                cx = x - w / 2.0 + (k as f64 + 0.5) / n as f64 * w,
                cy = y_of(price(p)),
                p = esc(p),
            );
        }
        s.push_str("</g>");
    }

    // The closing line and its points (hollow: a day without listed trades,
    // whose close is the unchanged reference).
    if !days.is_empty() {
        s.push_str(r#"<polyline class="close-line" points=""#);
        for (i, d) in days.iter().enumerate() {
            let _ = write!(s, "{:.1},{:.1} ", x_of(i), y_of(price(&d.close)));
        }
        s.push_str(r#""/><g class="closes">"#);
        for (i, d) in days.iter().enumerate() {
            let traded = d.volume > 0;
            let _ = write!(
                s,
                r#"<circle class="close{hollow}" cx="{cx:.1}" cy="{cy:.1}" r="3.5" data-date="{date}" data-close="{close}"><title>{date} 收盘 close {close}{note}</title></circle>"#,
                hollow = if traded { "" } else { " untraded" },
                cx = x_of(i),
                cy = y_of(price(&d.close)),
                date = esc(&d.date),
                close = esc(&d.close),
                note = if traded { "" } else { " (无成交 no listed trades)" },
            );
        }
        s.push_str("</g>");
    }

    // Date labels: at most MAX_DATE_LABELS, counted back from the last
    // slot, which is always labelled (today's as 今日, its date is in the
    // status line).
    s.push_str(r#"<g class="dates">"#);
    let every = slots.div_ceil(MAX_DATE_LABELS).max(1);
    for i in (0..slots).filter(|i| (slots - 1 - i).is_multiple_of(every)) {
        let (class, text) = match days.get(i) {
            Some(d) => ("", esc(short_date(&d.date))),
            None => (r#" class="today-label""#, "今日".to_string()),
        };
        let _ = write!(
            s,
            r#"<text{class} x="{x:.1}" y="{y}">{text}</text>"#,
            x = x_of(i),
            y = HEIGHT - 6.0,
        );
    }
    s.push_str("</g>");
    if days.is_empty() && today.is_none() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{x}" y="{y}">尚无收盘 No closed trading day yet</text>"#,
            x = WIDTH / 2.0,
            y = (PRICE_TOP + PRICE_BOTTOM) / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

fn title(symbol: &str, days: &[&DaySummary]) -> String {
    format!(
        "{symbol}: closing price (line) and volume (bars), last {} trading days",
        days.len()
    )
}

/// The chart in words, for a screen reader: the table under it has every figure.
fn describe(days: &[&DaySummary], today: Option<&Today>) -> String {
    let mut out = String::new();
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let closes = days.iter().map(|d| (price(&d.close), d.close.as_str()));
        let high = closes
            .clone()
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|c| c.1)
            .unwrap_or("");
        let low = closes.min_by(|a, b| a.0.total_cmp(&b.0)).map(|c| c.1).unwrap_or("");
        let volume: i64 = days.iter().map(|d| d.volume).sum();
        let _ = write!(
            out,
            "Closed from {} on {} to {} on {}; highest close {high}, lowest {low}; volume {} in all. ",
            first.close,
            first.date,
            last.close,
            last.date,
            group(volume)
        );
    } else {
        out.push_str("No closed trading day yet. ");
    }
    if let Some(t) = today {
        let _ = write!(
            out,
            "Today, {}: band {} to {}, reference {}, {} listed trades.",
            t.date,
            t.band_low,
            t.band_high,
            t.reference,
            t.trades.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, close: &str, volume: i64) -> DaySummary {
        DaySummary {
            date: date.into(),
            instrument: "ZJEA-2025".into(),
            reference: "58.00".into(),
            open: None,
            high: None,
            low: None,
            close: close.into(),
            volume,
            turnover: "0.00".into(),
            block_volume: 0,
            auction_volume: 0,
        }
    }

    /// The attribute values of `attr` on elements of `class`, in order.
    fn values(svg: &str, class: &str, attr: &str) -> Vec<String> {
        svg.split(&format!(r#"class="{class}""#))
            .skip(1)
            .filter_map(|rest| {
                let tag = &rest[..rest.find('>')?];
                let at = tag.find(&format!(r#"{attr}=""#))? + attr.len() + 2;
                Some(tag[at..at + tag[at..].find('"')?].to_string())
            })
            .collect()
    }

    #[test]
    fn every_close_is_a_point_and_every_volume_a_bar_higher_for_more() {
        let days = [day("2026-03-02", "58.10", 400), day("2026-03-03", "59.00", 1000)];
        let refs: Vec<&DaySummary> = days.iter().collect();
        let svg = svg("ZJEA-2025", &refs, None);
        assert_eq!(values(&svg, "close", "data-close"), ["58.10", "59.00"]);
        assert_eq!(values(&svg, "vol", "data-volume"), ["400", "1000"]);
        let heights: Vec<f64> = values(&svg, "vol", "height")
            .iter()
            .map(|h| h.parse().unwrap())
            .collect();
        assert!(heights[1] > heights[0] && heights[0] > 0.0, "{heights:?}");
        let ys: Vec<f64> = values(&svg, "close", "cy").iter().map(|h| h.parse().unwrap()).collect();
        assert!(ys[1] < ys[0], "a higher close is drawn higher: {ys:?}");
        assert!(!svg.contains(r#"class="today""#));
        assert!(svg.contains("Closed from 58.10 on 2026-03-02 to 59.00 on 2026-03-03"));
    }

    #[test]
    fn the_open_day_shows_its_band_and_trades_inside_the_scale() {
        let days = [day("2026-03-02", "58.00", 0)];
        let refs: Vec<&DaySummary> = days.iter().collect();
        let today = Today {
            date: "2026-03-03",
            band_low: "52.20",
            band_high: "63.80",
            reference: "58.00",
            trades: vec!["63.80", "52.20"],
        };
        let svg = svg("ZJEA-2025", &refs, Some(&today));
        assert_eq!(values(&svg, "trade", "data-price"), ["63.80", "52.20"]);
        assert!(
            svg.contains(r#"class="close untraded""#),
            "no listed trade, hollow point"
        );
        let cy: Vec<f64> = values(&svg, "trade", "cy").iter().map(|h| h.parse().unwrap()).collect();
        assert!(cy.iter().all(|y| (PRICE_TOP..=PRICE_BOTTOM).contains(y)), "{cy:?}");
        assert!(cy[0] < cy[1]);
        assert!(svg.contains("band 52.20 to 63.80"));
    }

    #[test]
    fn nothing_to_draw_says_so_and_labels_are_escaped() {
        let svg = svg("<x>", &[], None);
        assert!(svg.contains("No closed trading day yet"));
        assert!(!svg.contains("<x>"));
    }
}
