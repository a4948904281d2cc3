//! The public market page (`carbon serve --http`): in a real browser
//! (Debian's chromium, headless, driven by chromedriver over WebDriver with
//! fantoccini), and its JSON and event stream over plain HTTP.
//!
//! The browser test replays a market day over gRPC, loads the page, checks
//! that the charts, the summary tables, the tapes, the supply and the
//! compliance table show what the day's expected report says, then trades
//! over gRPC and watches the book, the tape and a halt change on the page
//! without a reload. It saves `target/market-page.png`. It needs
//! `chromium` and `chromium-driver` (`.ci/run` installs them); without
//! them it fails and says so.

mod grpc_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use carbon_ledger::keys::test_key;
use carbon_ledger::market_day::{parse_line, Line};
use carbon_proto::v1 as pb;
use fantoccini::{Client, ClientBuilder};
use grpc_support::*;
use serde_json::{json, Value};

/// The market day the browser test replays: ten trading days of
/// allowances and energy-use rights, with closed compliance years.
const MARKET_DAY: &str = "random-89-energy";

/// The market page's address, as `carbon serve` printed it before `listening on`.
fn page_addr(server: &Server) -> SocketAddr {
    server
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("market page on http://"))
        .and_then(|a| a.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no market page address in {:?}", server.banner))
}

/// An HTTP answer, as read off the socket.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends a GET and reads its head, leaving the body on the socket.
fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, BufReader<TcpStream>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req += &format!("{n}: {v}\r\n");
    }
    s.write_all(format!("{req}\r\n").as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').expect("a header line");
        headers.push((n.trim().to_string(), v.trim().to_string()));
    }
    (status, headers, r)
}

/// A whole GET (HTTP/1.1, the connection closed after it).
fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    let (status, headers, mut r) = open(addr, path, headers);
    let mut raw = Vec::new();
    r.read_to_end(&mut raw).unwrap();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(&raw) } else { raw };
    Reply { status, headers, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let at = raw.windows(2).position(|w| w == b"\r\n").expect("a chunk size");
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..at]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[at + 2..at + 2 + size]);
        raw = &raw[at + 2 + size + 2..];
    }
}

/// An open event stream (`/api/stream`), read event by event.
struct Events(BufReader<TcpStream>);

impl Events {
    fn open(addr: SocketAddr) -> Result<Events, u16> {
        let (status, headers, r) = open(addr, "/api/stream", &[]);
        if status != 200 {
            return Err(status);
        }
        let ct = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-type"));
        assert_eq!(ct.map(|(_, v)| v.as_str()), Some("text/event-stream"));
        Ok(Events(r))
    }

    /// The next event's name and data (keep-alive comments skipped). The
    /// stream is chunked: chunk sizes are lines of hex digits alone.
    fn next(&mut self) -> (String, Value) {
        let (mut name, mut data) = (String::new(), String::new());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(self.0.read_line(&mut line).unwrap() > 0, "the stream ended");
            let l = line.trim_end_matches(['\r', '\n']);
            if let Some(v) = l.strip_prefix("event:") {
                name = v.trim().to_string();
            } else if let Some(v) = l.strip_prefix("data:") {
                data += v.trim_start();
            } else if l.is_empty() && !name.is_empty() {
                return (name, serde_json::from_str(&data).unwrap());
            }
        }
    }

    /// The next event called `name`, skipping others.
    fn next_named(&mut self, name: &str) -> Value {
        loop {
            let (n, v) = self.next();
            if n == name {
                return v;
            }
        }
    }
}

/// Submits every line as one batch and returns the results' codes ("" when accepted).
async fn submit_all(
    ledger: &mut pb::ledger_client::LedgerClient<tonic::transport::Channel>,
    envs: Vec<pb::SignedCommand>,
) -> Vec<String> {
    let r = ledger
        .submit_batch(pb::SubmitBatchRequest { commands: envs })
        .await
        .unwrap()
        .into_inner();
    r.results
        .into_iter()
        .map(|r| r.outcome.map(|o| o.code).unwrap_or_default())
        .collect()
}

fn order(actor: &str, id: &str, instrument: &str, side: &str, price: &str, qty: i64) -> Value {
    json!({"as": actor, "cmd": "order", "id": id, "instrument": instrument, "side": side,
           "type": "limit", "tif": "day", "price": price, "qty": qty})
}

/// A small day over gRPC: HZ-STEEL sells 40 of its 1000 ZJEA-2025 to NB-POWER at 58.00.
async fn one_day(server: &Server) -> (pb::ledger_client::LedgerClient<tonic::transport::Channel>, Signer) {
    let mut ledger = server.client().await;
    let mut s = Signer::default();
    small_market(&mut ledger, &mut s).await;
    for line in [
        json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "20000.00"}),
        json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"}),
        order("HZ-STEEL", "s1", "ZJEA-2025", "sell", "58.00", 100),
        order("NB-POWER", "b1", "ZJEA-2025", "buy", "58.00", 40),
        json!({"as": OPERATOR, "cmd": "close_day"}),
    ] {
        accept(&mut ledger, s.sign(line)).await;
    }
    (ledger, s)
}

/// The JSON endpoints and the page over plain HTTP: content types, caching
/// headers, no party named, and 304 for what the client has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_and_json_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis_and(dir.path(), &["--http", "127.0.0.1:0"]);
    let addr = page_addr(&server);
    let _day = one_day(&server).await;

    let page = get(addr, "/", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page
        .header("content-security-policy")
        .is_some_and(|c| c.contains("default-src 'none'")));
    let html = page.text();
    for want in [
        "ZJEA-2025",
        "碳排放配额",
        r#"data-close="58.00""#,
        r#"data-volume="40""#,
        "<caption",
    ] {
        assert!(html.contains(want), "the page lacks {want}");
    }
    for party in ["HZ-STEEL", "NB-POWER"] {
        assert!(!html.contains(party), "the public page names {party}");
    }
    let gz = get(addr, "/", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert!(
        gz.body.len() < page.body.len() / 2,
        "{} of {}",
        gz.body.len(),
        page.body.len()
    );

    // Assets: embedded, named by their content, cached for ever.
    let css = html
        .split('"')
        .find(|s| s.starts_with("/assets/page-") && s.ends_with(".css"))
        .expect("a stylesheet link");
    let css = get(addr, css, &[]);
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(get(addr, "/assets/page-00000000.css", &[]).status, 404);

    let market = get(addr, "/api/market", &[]);
    assert_eq!(market.status, 200);
    assert_eq!(market.header("content-type"), Some("application/json"));
    assert_eq!(market.header("cache-control"), Some("no-cache"));
    assert!(!market.text().contains("HZ-STEEL") && !market.text().contains("NB-POWER"));
    let m = market.json();
    let zjea = &m["instruments"][0];
    assert_eq!(zjea["book"]["instrument"], "ZJEA-2025");
    assert_eq!(
        zjea["trades"],
        json!([{"date": "2026-03-02", "mode": "listed", "instrument": "ZJEA-2025", "price": "58.00", "qty": 40}])
    );
    assert_eq!(m["supply"][0]["outstanding"], 1000);
    assert_eq!(m["checkpoint"]["tree_size"], m["seq"]);

    let days = get(addr, "/api/days", &[]);
    assert_eq!(days.status, 200);
    assert_eq!(days.header("cache-control"), Some("no-cache"));
    let etag = days.header("etag").expect("an ETag").to_string();
    let d = days.json();
    assert_eq!(d["days"][0]["close"], "58.00");
    assert_eq!(d["days"][0]["volume"], 40);
    assert_eq!(d["days"][0]["turnover"], "2320.00");
    let again = get(addr, "/api/days", &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    let none = get(addr, "/api/compliance", &[]);
    assert_eq!(none.status, 404);
    assert_eq!(none.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(get(addr, "/api/compliance?year=x", &[]).status, 400);
    assert_eq!(get(addr, "/nowhere", &[]).status, 404);
}

/// The event stream: a snapshot first, then trades (no parties) and books
/// as they happen; a client that closes its stream frees its place; and a
/// stream open at SIGTERM does not keep the server up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_follows_the_market_and_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::with_test_genesis_and(dir.path(), &["--http", "127.0.0.1:0"]);
    let addr = page_addr(&server);
    let (mut ledger, mut s) = one_day(&server).await;

    let (status, headers, _) = open(addr, "/api/stream", &[]);
    assert_eq!(status, 200);
    let header = |n: &str| {
        headers
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("cache-control").as_deref(), Some("no-cache"));
    assert_eq!(header("content-encoding"), None, "event streams are not compressed");

    let mut events = Events::open(addr).unwrap();
    let snapshot = events.next_named("snapshot");
    assert_eq!(snapshot["date"], Value::Null);
    assert_eq!(snapshot["instruments"][0]["trades"][0]["price"], "58.00");
    for line in [
        json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-03"}),
        order("HZ-STEEL", "s2", "ZJEA-2025", "sell", "59.00", 30),
        order("NB-POWER", "b2", "ZJEA-2025", "buy", "59.00", 10),
    ] {
        accept(&mut ledger, s.sign(line)).await;
    }
    let book = events.next_named("book");
    assert_eq!(book["book"]["day_open"], true);
    let trade = events.next_named("trade");
    assert_eq!(
        trade["trade"],
        json!({"date": "2026-03-03", "mode": "listed", "instrument": "ZJEA-2025", "price": "59.00", "qty": 10})
    );
    assert!(trade["seq"].as_u64().unwrap() >= snapshot["seq"].as_u64().unwrap());
    let book = events.next_named("book");
    assert_eq!(
        book["book"]["asks"],
        json!([{"price": "59.00", "qty": 20, "orders": 1}])
    );

    // Streams per client address are bounded; closing one frees its place.
    let mut open_streams = vec![events];
    while open_streams.len() < 8 {
        let mut e = Events::open(addr).expect("a stream within the limit");
        e.next_named("snapshot");
        open_streams.push(e);
    }
    assert_eq!(Events::open(addr).err(), Some(429), "the ninth stream of one address");
    drop(open_streams.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = loop {
        match Events::open(addr) {
            Ok(e) => break e,
            Err(429) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(code) => panic!("a closed stream's place was not freed: {code}"),
        }
    };
    last.next_named("snapshot");
    open_streams.push(last);

    // SIGTERM with streams open: the server stops all the same.
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(st) = server.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "carbon serve did not stop with streams open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "carbon serve exited with {status}");
}

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: apt-get install chromium chromium-driver (.ci/run does)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(st) = child.try_wait().unwrap() {
                panic!("chromedriver exited: {st}");
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn browser(&self, profile: &Path) -> Client {
        let mut args = vec![
            "--headless=new".to_string(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--hide-scrollbars".into(),
            "--window-size=1280,1800".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if unsafe { libc::geteuid() } == 0 {
            args.push("--no-sandbox".into());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), json!({ "args": args }));
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a chromium session (is chromium installed?)")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The workspace's target folder (the test runs from target/<profile>/deps).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// Runs `script` in the page and returns what it returns.
async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Waits until `script` returns true in the page (a loaded CI machine may be slow).
async fn until(c: &Client, what: &str, script: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if js(c, script).await == json!(true) {
            return;
        }
        assert!(Instant::now() < deadline, "the page never showed {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of every cell of the rows of `selector`'s body, row by row.
async fn rows(c: &Client, selector: &str) -> Vec<Vec<String>> {
    let v = js(
        c,
        &format!(
            "return [...document.querySelectorAll({:?})].filter(r => !r.querySelector('td.none'))\
             .map(r => [...r.cells].map(c => c.textContent.trim()));",
            format!("{selector} tbody tr")
        ),
    )
    .await;
    serde_json::from_value(v).unwrap()
}

fn group(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn group_money(s: &str) -> String {
    let (w, f) = s.split_once('.').unwrap();
    format!("{}.{f}", group(w.parse().unwrap()))
}

/// The market page in a browser: the replayed days on the chart and in the
/// tables, then live trading without a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_page_in_a_browser() {
    let t0 = Instant::now();
    let days_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("market-days");
    let text = std::fs::read_to_string(days_dir.join(format!("{MARKET_DAY}.jsonl"))).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(days_dir.join(format!("{MARKET_DAY}.expected.json"))).unwrap())
            .unwrap();

    // A server on the day's genesis (test keys), with the page.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (_, genesis_line) = lines.next().unwrap();
    let mut genesis: Value = serde_json::from_str(genesis_line).unwrap();
    let pk = |id: &str| hex::encode(test_key(id).verifying_key().to_bytes());
    genesis["operator_public_key"] = pk(OPERATOR).into();
    for r in genesis["regulators"].as_array_mut().unwrap() {
        r["public_key"] = pk(r["id"].as_str().unwrap()).into();
    }
    let genesis_path = dir.path().join("genesis.json");
    std::fs::write(&genesis_path, genesis.to_string()).unwrap();
    let op_key = write_test_key_file(dir.path(), OPERATOR);
    let server = Server::start(
        &dir.path().join("data"),
        &[
            "--genesis",
            genesis_path.to_str().unwrap(),
            "--operator-key",
            op_key.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--http",
            "127.0.0.1:0",
        ],
    );
    let addr = page_addr(&server);
    let mut ledger = server.client().await;
    let mut s = Signer {
        nonces: Default::default(),
        ledger_id: ledger_id(&mut ledger).await,
    };

    // The market day, over gRPC, each line answered as the report says.
    let want_codes: std::collections::HashMap<u64, String> = expected["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let mut envs = Vec::new();
    let mut numbers = Vec::new();
    for (i, line) in lines {
        if let Line::Rejected(_) = parse_line(line) {
            continue; // never reaches a server
        }
        envs.push(s.sign(serde_json::from_str(line).unwrap()));
        numbers.push(i as u64 + 1);
    }
    let codes = submit_all(&mut ledger, envs).await;
    for (n, code) in numbers.iter().zip(&codes) {
        assert_eq!(Some(code), want_codes.get(n), "line {n}");
    }
    let replayed = t0.elapsed();

    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let c = driver.browser(profile.path()).await;
    c.goto(&format!("http://{addr}/")).await.unwrap();
    until(
        &c,
        "the live connection",
        "return document.getElementById('conn').classList.contains('on');",
    )
    .await;
    js(&c, "window.notReloaded = true; return null;").await;

    // Each instrument's chart and daily table hold every closed day of the report.
    let days = expected["days"].as_array().unwrap();
    let symbols: Vec<String> = serde_json::from_value(
        js(
            &c,
            "return [...document.querySelectorAll('section.instrument')].map(s => s.dataset.instrument);",
        )
        .await,
    )
    .unwrap();
    assert_eq!(
        symbols,
        ["ZJEA-2024", "ZJEA-2025", "ZJEA-2026", "ZJEU-2024", "ZJEU-2025", "CCER"]
    );
    let last_trade_day = expected["trades"].as_array().unwrap().last().unwrap()["date"].clone();
    for sym in &symbols {
        let mine: Vec<&Value> = days.iter().filter(|d| d["instrument"] == sym.as_str()).collect();
        let chart = js(
            &c,
            &format!(
                "const s = document.querySelector('svg[data-instrument=\"{sym}\"]');\
                 return [[...s.querySelectorAll('circle.close')].map(e => e.dataset.close),\
                         [...s.querySelectorAll('rect.vol')].map(e => Number(e.dataset.volume))];"
            ),
        )
        .await;
        let closes: Vec<&Value> = mine.iter().map(|d| &d["close"]).collect();
        let volumes: Vec<&Value> = mine.iter().map(|d| &d["volume"]).collect();
        assert_eq!(
            chart[0].as_array().unwrap().iter().collect::<Vec<_>>(),
            closes,
            "{sym} closes"
        );
        assert_eq!(
            chart[1].as_array().unwrap().iter().collect::<Vec<_>>(),
            volumes,
            "{sym} volumes"
        );

        let table = rows(&c, &format!("#days-{sym}")).await;
        let want: Vec<Vec<String>> = mine
            .iter()
            .rev()
            .map(|d| {
                let opt = |v: &Value| v.as_str().unwrap_or("—").to_string();
                vec![
                    opt(&d["date"]),
                    opt(&d["open"]),
                    opt(&d["high"]),
                    opt(&d["low"]),
                    opt(&d["close"]),
                    group(d["volume"].as_i64().unwrap()),
                    group_money(d["turnover"].as_str().unwrap()),
                    group(d["block_volume"].as_i64().unwrap()),
                    group(d["auction_volume"].as_i64().unwrap()),
                ]
            })
            .collect();
        assert_eq!(table, want, "{sym} daily summary");

        // The tape: the latest trades of the last day with trades, latest first.
        let tape: Vec<Vec<String>> = rows(&c, &format!("#tape-{sym}")).await;
        let want: Vec<Vec<String>> = expected["trades"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["instrument"] == sym.as_str() && t["date"] == last_trade_day)
            .rev()
            .take(20)
            .map(|t| {
                let mode = match t["mode"].as_str().unwrap() {
                    "listed" => "挂牌 listed",
                    "block" => "大宗 block",
                    _ => "拍卖 auction",
                };
                vec![
                    mode.to_string(),
                    t["price"].as_str().unwrap().to_string(),
                    group(t["qty"].as_i64().unwrap()),
                ]
            })
            .collect();
        assert_eq!(tape, want, "{sym} tape");
    }

    // Supply, and the latest closed year's compliance table.
    let supply = rows(&c, "#supply").await;
    let want: Vec<Vec<String>> = expected["supply"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(symbol, u)| {
            let mut row = vec![symbol.clone()];
            row.extend(
                ["issued", "surrendered", "retired", "clawed_back", "outstanding"]
                    .map(|k| group(u[k].as_i64().unwrap())),
            );
            row
        })
        .collect();
    let mut supply_sorted = supply.clone();
    supply_sorted.sort();
    let mut want_sorted = want;
    want_sorted.sort();
    assert_eq!(supply_sorted, want_sorted, "supply");
    let compliance = rows(&c, "#compliance").await;
    let latest = expected["compliance"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["year"] == 2026);
    let want: Vec<(String, String)> = latest
        .map(|r| {
            (
                r["entity"].as_str().unwrap().to_string(),
                group(r["obligation"].as_i64().unwrap()),
            )
        })
        .collect();
    let got: Vec<(String, String)> = compliance.iter().map(|r| (r[0].clone(), r[3].clone())).collect();
    assert_eq!(got, want, "the 2026 compliance table");

    // Live: a new day, two traders of our own, an order that rests and one that trades.
    let sym = "ZJEA-2024";
    let mut lines = vec![
        json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-17"}),
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-PAGE-S", "role": "entity"}),
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-PAGE-B", "role": "entity"}),
        json!({"as": OPERATOR, "cmd": "deposit", "account": "HZ-PAGE-B", "amount": "100000.00"}),
        json!({"as": "HZ-EEB", "cmd": "issue", "instrument": sym, "to": "HZ-PAGE-S", "qty": 2000}),
    ];
    for (id, price, qty) in [("s1", "52.40", 300), ("s2", "52.60", 500), ("s3", "53.10", 800)] {
        lines.push(order("HZ-PAGE-S", id, sym, "sell", price, qty));
    }
    lines.push(order("HZ-PAGE-B", "b1", sym, "buy", "51.90", 400));
    for line in lines {
        accept(&mut ledger, s.sign(line)).await;
    }
    let ask = format!("#book-{sym} tbody tr:first-child td.ask");
    until(
        &c,
        "the resting sell orders",
        &format!(
            "const a = document.querySelector('{ask}'); return !!a && a.textContent === '52.40' \
             && document.querySelector('#book-{sym} tbody tr:first-child').cells[3].textContent === '300';"
        ),
    )
    .await;
    until(
        &c,
        "the open day's band on the chart",
        &format!("return !!document.querySelector('#chart-{sym} g.today');"),
    )
    .await;
    until(
        &c,
        "the day's status",
        &format!("return document.getElementById('state-{sym}').textContent.includes('Trading');"),
    )
    .await;

    for (id, qty) in [("b2", 120), ("b3", 250)] {
        accept(&mut ledger, s.sign(order("HZ-PAGE-B", id, sym, "buy", "52.60", qty))).await;
    }
    until(
        &c,
        "the new trades on the tape",
        &format!(
            "const r = [...document.querySelectorAll('#tape-{sym} tbody tr')].slice(0, 3)\
             .map(r => r.cells[1].textContent + ' ' + r.cells[2].textContent);\
             return r.join('|') === '52.60 70|52.40 180|52.40 120';"
        ),
    )
    .await;
    until(
        &c,
        "the book after the trades",
        &format!(
            "const r = document.querySelector('#book-{sym} tbody tr:first-child').cells;\
             return r[2].textContent === '52.60' && r[3].textContent === '430' && r[1].textContent === '51.90';"
        ),
    )
    .await;
    until(
        &c,
        "the trades as dots on the chart",
        &format!("return document.querySelectorAll('#chart-{sym} circle.trade').length === 3;"),
    )
    .await;

    // A halt is shown at once, in words.
    accept(
        &mut ledger,
        s.sign(json!({"as": "ZJ-DEE", "cmd": "halt", "instrument": "ZJEU-2024"})),
    )
    .await;
    until(
        &c,
        "the halt",
        "const e = document.getElementById('state-ZJEU-2024');\
         return e.classList.contains('halted') && e.textContent.includes('Halted');",
    )
    .await;
    assert_eq!(
        js(&c, "return window.notReloaded === true;").await,
        json!(true),
        "the page was reloaded"
    );

    // Accessible: every table has a caption and scoped headers; the page
    // fits a phone's width (tables scroll inside their own regions).
    let bare = js(
        &c,
        "return document.querySelectorAll('table:not(:has(caption)), th:not([scope])').length;",
    )
    .await;
    assert_eq!(bare, json!(0), "tables without a caption or headers without a scope");
    let png = c.screenshot().await.unwrap();
    let shot = target_dir().join("market-page.png");
    std::fs::write(&shot, &png).unwrap();
    c.set_window_size(390, 844).await.unwrap();
    until(
        &c,
        "a page as narrow as a phone",
        "return document.documentElement.scrollWidth <= window.innerWidth;",
    )
    .await;
    c.close().await.unwrap();
    eprintln!(
        "market page test: replay {replayed:?}, all {:?}; screenshot {}",
        t0.elapsed(),
        shot.display()
    );
}
