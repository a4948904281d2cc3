//! The page and its JSON: each handler spends a read, makes one sequencer
//! read through [`data`], and answers with caching headers that fit what
//! it sent. The page and the market change with every batch (`no-cache`);
//! the closed days change only when a day opens or closes (an `ETag`, so a
//! client that has them gets 304); a closed year's compliance table never
//! changes (cached for a day, `immutable`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::data::{self, DaySummary};
use super::{page, App, Refusal, ASSETS};

/// `?year=Y`: a closed compliance year.
#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<i64>,
}

const NO_CACHE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-cache");

/// `GET /`: the page.
pub async fn page(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<YearQuery>,
) -> Result<Response, Refusal> {
    let _busy = app.admit(peer)?;
    let (market, compliance) = app
        .read(move |node| {
            let table = data::compliance(node, q.year).or_else(|| data::compliance(node, None));
            (data::market(node), table)
        })
        .await?;
    let days = app.history(market.days_key()).await?;
    let html = page::render(&market, &days, compliance.as_ref(), &ASSETS);
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8"), NO_CACHE], html).into_response())
}

/// `GET /api/market`: books, latest trades, supply, checkpoint, closed years.
pub async fn market(State(app): State<App>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Result<Response, Refusal> {
    let _busy = app.admit(peer)?;
    let market = app.read(data::market).await?;
    Ok(([NO_CACHE], Json(market)).into_response())
}

/// The closed days, as `/api/days` sends them.
#[derive(Serialize)]
struct Days<'a> {
    /// How many trading days at most (the last ones).
    most: usize,
    /// Every instrument's summary of each day, oldest day first.
    days: &'a [DaySummary],
}

/// Whether the request's `If-None-Match` names `etag`.
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == etag || t.trim() == "*")
}

/// `GET /api/days`: the summaries of the last [`data::HISTORY_DAYS`] closed days.
pub async fn days(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let _busy = app.admit(peer)?;
    let key = app.read(data::days_key).await?;
    let etag = key.etag();
    let cache = [(header::ETAG, etag.clone()), (header::CACHE_CONTROL, "no-cache".into())];
    if matches(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let days = app.history(key).await?;
    Ok((
        cache,
        Json(Days {
            most: data::HISTORY_DAYS,
            days: &days,
        }),
    )
        .into_response())
}

/// `GET /api/compliance[?year=Y]`: a closed year's published table (the
/// latest closed year without `year`).
pub async fn compliance(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<YearQuery>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let _busy = app.admit(peer)?;
    let table = app.read(move |node| data::compliance(node, q.year)).await?;
    let Some(table) = table else {
        return Err(Refusal(
            StatusCode::NOT_FOUND,
            match q.year {
                Some(y) => format!("the year {y} is not closed: its compliance table is published when it is"),
                None => "no compliance year has been closed yet".into(),
            },
        ));
    };
    // A closed year's table never changes; "the latest" changes when a year closes.
    let (etag, cache) = match q.year {
        Some(y) => (format!("\"compliance-{y}\""), "public, max-age=86400, immutable"),
        None => (format!("\"compliance-latest-{}\"", table.year), "no-cache"),
    };
    let headers_out = [(header::ETAG, etag.clone()), (header::CACHE_CONTROL, cache.to_string())];
    if matches(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, headers_out).into_response());
    }
    Ok((headers_out, Json(table)).into_response())
}
