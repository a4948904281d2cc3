//! The public market page (`carbon serve --http ADDR`, off unless asked
//! for): one HTML page, its JSON, and a stream of server-sent events, over
//! HTTP/1.1 with axum, beside the gRPC server and stopped with it.
//!
//! - `GET /`: the page ([`page`]), rendered on the server, charts included
//!   ([`chart`]); `?year=Y` picks the compliance year shown.
//! - `GET /api/market`, `/api/days`, `/api/compliance[?year=Y]`: the same
//!   data as JSON ([`api`]).
//! - `GET /api/stream`: server-sent events ([`sse`]): a snapshot of the
//!   books and tapes, then every trade, book and day close as the
//!   sequencer's feed publishes them.
//! - `GET /assets/NAME-HASH.EXT`: the stylesheet, the script and the icon,
//!   embedded in the binary (`include_str!`); nothing is fetched from
//!   anywhere at run time.
//!
//! Public data only (docs/ACCESS.md, the anonymous column): every read is
//! in [`data`]. Bounds: each data request spends a read of its client
//! address's budget (the gRPC reads' [`ReadBudget`] limits, its own
//! buckets); at most [`MAX_BUSY`] are answered at once (503 beyond);
//! each has [`REQUEST_TIMEOUT`]; streams are counted as the Market
//! streams are ([`StreamLimits`]: [`MAX_STREAMS`], [`MAX_STREAMS_PER_CLIENT`]).
//! The page's text is compressed (gzip); event streams are not.

mod api;
mod chart;
pub mod data;
mod page;
mod sse;

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use carbon_ledger::journal::JournalReader;
use carbon_ledger::replica::Replica;
use tokio::sync::{watch, Semaphore, SemaphorePermit};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth::ReadBudget;
use crate::limits::StreamLimits;
use crate::view::View;
use data::{DaySummary, DaysKey};

/// Most event streams open at once over the server.
pub const MAX_STREAMS: usize = 512;
/// Most event streams open at once from one client address: a few tabs
/// (a browser opens at most six HTTP/1.1 connections to one host anyway).
pub const MAX_STREAMS_PER_CLIENT: usize = 8;
/// Most data requests (page, JSON) answered at once; more are 503.
pub const MAX_BUSY: usize = 64;
/// Longest a request may take to be answered (not counting a stream's body).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two keep-alive comments on an event stream: proxies keep it
/// open, and a client that went away is found when one fails to go out.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The page's content security policy: its own script, style and icon,
/// nothing else, from nowhere else.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// An embedded file, served under a name that carries its content's hash
/// (so that it may be cached for ever).
struct Asset {
    path: String,
    content_type: &'static str,
    body: &'static str,
}

/// The page's embedded files, by URL.
pub struct Assets {
    pub css: String,
    pub js: String,
    pub icon: String,
}

/// FNV-1a, 64 bits: enough to tell two versions of a file apart.
fn content_hash(s: &str) -> String {
    let h = s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("{:08x}", h >> 32)
}

fn asset(name: &str, ext: &str, content_type: &'static str, body: &'static str) -> Asset {
    Asset {
        path: format!("/assets/{name}-{}.{ext}", content_hash(body)),
        content_type,
        body,
    }
}

static FILES: LazyLock<[Asset; 3]> = LazyLock::new(|| {
    [
        asset(
            "page",
            "css",
            "text/css; charset=utf-8",
            include_str!("assets/page.css"),
        ),
        asset(
            "page",
            "js",
            "text/javascript; charset=utf-8",
            include_str!("assets/page.js"),
        ),
        asset("icon", "svg", "image/svg+xml", include_str!("assets/icon.svg")),
    ]
});

static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets {
    css: FILES[0].path.clone(),
    js: FILES[1].path.clone(),
    icon: FILES[2].path.clone(),
});

/// The closed days last read from the journal, and under what.
struct History {
    key: DaysKey,
    days: Arc<Vec<DaySummary>>,
}

/// What every handler shares: cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Inner>);

struct Inner {
    view: View,
    journal: JournalReader,
    budget: ReadBudget,
    busy: Semaphore,
    streams: StreamLimits,
    /// Read again from the journal when a day opens or closes, one reader
    /// at a time (the lock is held across the read).
    history: tokio::sync::Mutex<Option<History>>,
    /// Turns true when the server stops: streams end.
    stopping: watch::Receiver<bool>,
}

/// An answer that is not the one asked for: a status and why, as text.
#[derive(Debug)]
pub struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.0,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.1 + "\n",
        )
            .into_response()
    }
}

impl App {
    /// The page's state over the read view and the journal; streams end
    /// when `stopping` turns true.
    pub fn new(view: View, journal: JournalReader, stopping: watch::Receiver<bool>) -> App {
        App(Arc::new(Inner {
            view,
            journal,
            budget: ReadBudget::default(),
            busy: Semaphore::new(MAX_BUSY),
            streams: StreamLimits::new("event streams", MAX_STREAMS, MAX_STREAMS_PER_CLIENT),
            history: tokio::sync::Mutex::new(None),
            stopping,
        }))
    }

    /// Spends a read of `peer`'s budget and takes one of the [`MAX_BUSY`] places.
    fn admit(&self, peer: SocketAddr) -> Result<SemaphorePermit<'_>, Refusal> {
        self.0
            .budget
            .spend(Some(peer.ip()), None)
            .map_err(|s| Refusal(StatusCode::TOO_MANY_REQUESTS, s.message().to_string()))?;
        self.0.busy.try_acquire().map_err(|_| {
            Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "the market page is busy; try again in a moment".into(),
            )
        })
    }

    /// Runs one of [`data`]'s reads on the read view.
    async fn read<T>(&self, f: impl FnOnce(&Replica) -> T) -> Result<T, Refusal> {
        self.0.view.read(f).await.map_err(|u| {
            Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the ledger is unavailable: {u}"),
            )
        })
    }

    /// The last [`data::HISTORY_DAYS`] closed days, from the cache when
    /// no day has opened or closed since it was read.
    async fn history(&self, key: DaysKey) -> Result<Arc<Vec<DaySummary>>, Refusal> {
        let mut cached = self.0.history.lock().await;
        if let Some(h) = cached.as_ref().filter(|h| h.key.same_days(&key)) {
            return Ok(h.days.clone());
        }
        let journal = self.0.journal.clone();
        let (operator, durable) = (key.operator.clone(), key.durable);
        let days =
            tokio::task::spawn_blocking(move || data::closed_days(&journal, &operator, durable, data::HISTORY_DAYS))
                .await
                .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
                .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, format!("reading the journal: {e}")))?;
        let days = Arc::new(days);
        *cached = Some(History {
            key,
            days: days.clone(),
        });
        Ok(days)
    }
}

/// An embedded file, or 404.
async fn asset_file(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    let path = format!("/assets/{name}");
    match FILES.iter().find(|a| a.path == path) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.body,
        )
            .into_response(),
        None => Refusal(StatusCode::NOT_FOUND, format!("no file {path}")).into_response(),
    }
}

/// The routes and their layers.
pub fn router(app: App) -> Router {
    let header =
        |name, value: &'static str| SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value));
    Router::new()
        .route("/", get(api::page))
        .route("/api/market", get(api::market))
        .route("/api/days", get(api::days))
        .route("/api/compliance", get(api::compliance))
        .route("/api/stream", get(sse::stream))
        .route("/assets/{name}", get(asset_file))
        .fallback(|| async { Refusal(StatusCode::NOT_FOUND, "nothing here: the page is at /".into()) })
        .with_state(app)
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(header::CONTENT_SECURITY_POLICY, CSP))
}

/// Serves the page on `listener` until `stop` resolves; streams end then
/// too (their [`App`] was made with the same signal), so that the graceful
/// shutdown does not wait for them.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
}
