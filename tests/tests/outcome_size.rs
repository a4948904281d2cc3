//! The largest outcome the rules allow reaches every client whole
//! (docs/RULES.md, "Limits on hostile input"): one buy order fills against
//! as many one-tonne sell orders as it has tonnes, every fill a trade and,
//! the parties being one group, a `related_trade` alert, with ids of the
//! longest length. `carbon submit` prints the whole answer (tonic's default
//! 4 MiB would refuse it: an error for an order that executed), and the
//! day's trades come a page at a time, which `carbon market trades`
//! follows to the end.
//!
//! CI fills 11,000 orders (an answer of ~4.24 MB, past 4 MiB); set
//! `CARBON_FULL_OUTCOME=1` to fill 99,999, the rulebook's largest order
//! (~39 MB; a debug server checks every invariant after every command, so
//! resting 99,999 orders takes it long: run it in release,
//! `cargo test --release --test outcome_size`).

mod grpc_support;

use std::process::Command;
use std::time::Instant;

use carbon_proto::v1 as pb;
use grpc_support::*;
use prost::Message;
use serde_json::{json, Value};

/// Most commands of one SubmitBatch; most resting orders of one account.
const BATCH: usize = 4_096;
const RESTING_PER_ACCOUNT: usize = 10_000;
/// The longest price an order may have: the largest reference price
/// (`MAX_PRICE_TICKS`, 10^13 CNY).
const PRICE: &str = "10000000000000.00";
const INSTRUMENT: &str = "ZJEA-2025";
/// The answers' bound of the server and its clients (server/src/limits.rs).
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// An id of the longest length (36), `prefix` padded.
fn long(prefix: &str) -> String {
    format!("{prefix:-<36}")
}

fn fills() -> usize {
    match std::env::var("CARBON_FULL_OUTCOME") {
        Ok(v) if !v.is_empty() && v != "0" => 99_999,
        // 4 MiB / 385 bytes a fill, and a little more.
        _ => 11_000,
    }
}

fn carbon(args: &[&str]) -> Vec<u8> {
    let out = Command::new(carbon_bin()).args(args).output().expect("running carbon");
    assert!(
        out.status.success(),
        "carbon {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn an_order_filling_against_the_most_orders_reaches_its_clients_whole() {
    let fills = fills();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let t0 = Instant::now();
    let mut c = server.client().await;
    let mut s = Signer::default();

    let buyer = long("HZ-BUYER");
    let sellers: Vec<String> = (0..fills.div_ceil(RESTING_PER_ACCOUNT))
        .map(|i| long(&format!("HZ-SELLER-{i}")))
        .collect();
    let group = long("HZ-GROUP");
    let mut setup = vec![
        json!({"as": OPERATOR, "cmd": "define_instrument", "symbol": INSTRUMENT, "reference_price": PRICE}),
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": buyer, "role": "entity"}),
        json!({"as": OPERATOR, "cmd": "deposit", "account": buyer, "amount": "1000000000000000000.00"}),
    ];
    for (i, seller) in sellers.iter().enumerate() {
        let qty = (fills - i * RESTING_PER_ACCOUNT).min(RESTING_PER_ACCOUNT);
        setup.push(json!({"as": "HZ-EEB", "cmd": "create_account", "id": seller, "role": "entity"}));
        setup.push(json!({"as": "HZ-EEB", "cmd": "issue", "instrument": INSTRUMENT, "to": seller, "qty": qty}));
    }
    let mut members = vec![buyer.clone()];
    members.extend(sellers.iter().cloned());
    setup.push(json!({"as": "ZJ-DEE", "cmd": "declare_group", "id": group, "members": members}));
    setup.push(json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"}));
    for line in setup {
        accept(&mut c, s.sign(line)).await;
    }

    // The resting sells, one tonne each, in batches.
    let sells: Vec<pb::SignedCommand> = (0..fills)
        .map(|n| {
            let seller = &sellers[n / RESTING_PER_ACCOUNT];
            s.sign(
                json!({"as": seller, "cmd": "order", "id": format!("S{n:035}"), "instrument": INSTRUMENT,
                          "side": "sell", "type": "limit", "tif": "day", "price": PRICE, "qty": 1}),
            )
        })
        .collect();
    let signed_at = t0.elapsed();
    for chunk in sells.chunks(BATCH) {
        let results = c
            .submit_batch(pb::SubmitBatchRequest {
                commands: chunk.to_vec(),
            })
            .await
            .expect("a batch of sells")
            .into_inner()
            .results;
        assert!(
            results.iter().all(|r| r.outcome.as_ref().is_some_and(|o| o.ok)),
            "a sell was refused"
        );
    }
    let rested = t0.elapsed();

    // The buy that fills against them all, from the command line.
    let key = write_test_key_file(dir.path(), &buyer);
    let buy = json!({"cmd": "order", "id": long("B"), "instrument": INSTRUMENT, "side": "buy",
                     "type": "limit", "tif": "day", "price": PRICE, "qty": fills});
    let out = carbon(&[
        "submit",
        "--key",
        key.to_str().unwrap(),
        "--server",
        &server.url(),
        "--actor",
        &buyer,
        &buy.to_string(),
    ]);
    let answer: Value = serde_json::from_slice(&out).expect("carbon submit prints JSON");
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["order"], json!({"status": "filled", "filled": fills}));
    let events = answer["events"].as_array().unwrap();
    let trades = events.iter().filter(|e| e.get("trade").is_some()).count();
    let alerts = events.iter().filter(|e| e["alert"]["kind"] == "related_trade").count();
    assert_eq!((trades, alerts, events.len()), (fills, fills, 2 * fills));
    let submitted = t0.elapsed();

    // The answer is past what a client accepts by default, within the bound.
    let seq = answer["seq"].as_u64().unwrap();
    let ledger = ledger_id(&mut c).await;
    let mut operator =
        pb::ledger_client::LedgerClient::new(server.channel().await).max_decoding_message_size(MAX_ANSWER_BYTES);
    let entry = operator
        .stream_journal(signed(
            OPERATOR,
            &ledger,
            "/carbon.v1.Ledger/StreamJournal",
            pb::StreamJournalRequest { from_seq: seq },
        ))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap()
        .expect("the buy's journal entry");
    let bytes = pb::CommandResult {
        seq,
        outcome: entry.outcome,
    }
    .encoded_len();
    eprintln!("{fills} fills: an answer of {bytes} bytes");
    assert!(bytes > 4 << 20 && bytes < MAX_ANSWER_BYTES, "{bytes} bytes");

    // The day's trades, a page at a time: the default page, then the next...
    let mut market = pb::market_client::MarketClient::new(server.channel().await);
    let mut request = pb::ListTradesRequest::default();
    let mut pages = Vec::new();
    loop {
        let page = market.list_trades(request.clone()).await.unwrap().into_inner();
        assert_eq!(page.date, "2026-03-02");
        pages.push(page.trades.len());
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(pages.iter().sum::<usize>(), fills);
    assert!(pages.iter().all(|&n| n <= 1_000), "{pages:?}");
    // ...and `carbon market trades` follows them all (the parties shown to a
    // supervisor).
    let zj = write_test_key_file(dir.path(), "ZJ-DEE");
    let out = carbon(&[
        "market",
        "trades",
        "--server",
        &server.url(),
        "--key",
        zj.to_str().unwrap(),
        "--actor",
        "ZJ-DEE",
        "--json",
    ]);
    let listed: Value = serde_json::from_slice(&out).expect("carbon market trades prints JSON");
    let listed = listed["trades"].as_array().unwrap();
    assert_eq!(listed.len(), fills);
    let mut sell_ids: Vec<&str> = listed.iter().map(|t| t["sell_id"].as_str().unwrap()).collect();
    sell_ids.sort_unstable();
    sell_ids.dedup();
    assert_eq!(sell_ids.len(), fills, "every trade once");
    assert!(listed.iter().all(|t| t["buyer"] == buyer.as_str()));
    eprintln!(
        "signed in {signed_at:?}, rested by {rested:?}, bought by {submitted:?}, listed by {:?}",
        t0.elapsed()
    );
}
