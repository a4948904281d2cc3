//! Market supervision over real gRPC (RULEBOOK.md 14): a city regulator
//! follows the alert stream while two related accounts trade with each
//! other and a third places and cancels a dozen orders; the regulator of
//! another city sees none of it but the price move. Read credentials,
//! jurisdiction scoping, halts on the book, and a stream resumed from a
//! journal position.

mod grpc_support;

use std::time::Duration;

use carbon_proto::v1 as pb;
use grpc_support::*;
use prost::Message;
use serde_json::json;
use tonic::transport::Channel;
use tonic::Streaming;

type Supervision = pb::supervision_client::SupervisionClient<Channel>;

/// `message` with `who`'s read credential for a Supervision method.
fn sup_signed<T: Message>(who: &str, ledger_id: &[u8; 32], method: &str, message: T) -> tonic::Request<T> {
    signed(who, ledger_id, &format!("/carbon.v1.Supervision/{method}"), message)
}

fn kind(a: &pb::JournalAlert) -> &'static str {
    a.alert.as_ref().map_or("none", carbon_ledger::state::alert_kind_name)
}

async fn next(s: &mut Streaming<pb::JournalAlert>) -> pb::JournalAlert {
    tokio::time::timeout(Duration::from_secs(10), s.message())
        .await
        .expect("an alert within 10 s")
        .expect("a healthy stream")
        .expect("the stream is open")
}

fn order(actor: &str, id: &str, side: &str, price: &str, qty: i64) -> serde_json::Value {
    json!({"as": actor, "cmd": "order", "id": id, "instrument": "ZJEA-2025", "side": side,
           "type": "limit", "tif": "day", "price": price, "qty": qty})
}

#[tokio::test]
async fn a_regulator_follows_the_alerts_of_its_city_and_another_sees_only_the_price_move() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut ledger = server.client().await;
    let mut sup = Supervision::new(server.channel().await);
    let mut s = Signer::default();
    for line in [
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-SELLER", "role": "entity"}),
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-BUYER", "role": "entity"}),
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-SPOOF", "role": "entity"}),
        json!({"as": "NB-EEB", "cmd": "create_account", "id": "NB-POWER", "role": "entity"}),
        json!({"as": OPERATOR, "cmd": "define_instrument", "symbol": "ZJEA-2025", "reference_price": "50.00"}),
        json!({"as": OPERATOR, "cmd": "deposit", "account": "HZ-BUYER", "amount": "100000.00"}),
        json!({"as": OPERATOR, "cmd": "deposit", "account": "HZ-SPOOF", "amount": "100000.00"}),
        json!({"as": "HZ-EEB", "cmd": "issue", "instrument": "ZJEA-2025", "to": "HZ-SELLER", "qty": 1000}),
        json!({"as": "HZ-EEB", "cmd": "declare_group", "id": "HZ-GRP", "members": ["HZ-SELLER", "HZ-BUYER"]}),
    ] {
        accept(&mut ledger, s.sign(line)).await;
    }
    let id = ledger_id(&mut ledger).await;

    // Who may call: nobody without a credential, no enterprise, no replay.
    let anonymous = sup.get_supervision(pb::GetSupervisionRequest {}).await.unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    let enterprise = sup
        .get_supervision(sup_signed(
            "HZ-BUYER",
            &id,
            "GetSupervision",
            pb::GetSupervisionRequest {},
        ))
        .await
        .unwrap_err();
    assert_eq!(enterprise.code(), tonic::Code::PermissionDenied);
    let once = sup_signed("HZ-EEB", &id, "GetSupervision", pb::GetSupervisionRequest {});
    let (md, ext, msg) = once.into_parts();
    sup.get_supervision(tonic::Request::from_parts(md.clone(), ext, msg))
        .await
        .unwrap();
    let replayed = sup
        .get_supervision(tonic::Request::from_parts(md, Default::default(), msg))
        .await
        .unwrap_err();
    assert_eq!(replayed.code(), tonic::Code::Unauthenticated, "{replayed:?}");

    // Both city regulators follow from now on.
    let from = ledger
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .tree_size;
    let stream = |who: &'static str| {
        let mut sup = sup.clone();
        async move {
            let req = pb::AlertStreamRequest {
                from_seq: from,
                ..Default::default()
            };
            sup.stream_alerts(sup_signed(who, &id, "StreamAlerts", req))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let mut hz = stream("HZ-EEB").await;
    let mut nb = stream("NB-EEB").await;

    accept(
        &mut ledger,
        s.sign(json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"})),
    )
    .await;
    // The related accounts trade with each other, at a price 5% up.
    accept(&mut ledger, s.sign(order("HZ-SELLER", "s1", "sell", "52.50", 100))).await;
    let trade_seq = accept(&mut ledger, s.sign(order("HZ-BUYER", "b1", "buy", "52.50", 100))).await;
    // The third places twelve orders and cancels eleven.
    for i in 0..12 {
        let price = format!("{}.00", 46 + i % 3);
        accept(
            &mut ledger,
            s.sign(order("HZ-SPOOF", &format!("q{i}"), "buy", &price, 1)),
        )
        .await;
    }
    for i in 0..11 {
        accept(
            &mut ledger,
            s.sign(json!({"as": "HZ-SPOOF", "cmd": "cancel", "id": format!("q{i}")})),
        )
        .await;
    }
    let close_seq = accept(&mut ledger, s.sign(json!({"as": OPERATOR, "cmd": "close_day"}))).await;

    let related = next(&mut hz).await;
    assert_eq!((kind(&related), related.seq), ("related_trade", trade_seq));
    let Some(pb::alert::Kind::RelatedTrade(t)) = related.alert.unwrap().kind else {
        unreachable!()
    };
    assert_eq!(
        (t.group.as_str(), t.buyer.as_str(), t.seller.as_str(), t.qty),
        ("HZ-GRP", "HZ-BUYER", "HZ-SELLER", 100)
    );
    let moved = next(&mut hz).await;
    assert_eq!((kind(&moved), moved.seq), ("price_move", close_seq));
    let spoof = next(&mut hz).await;
    assert_eq!(kind(&spoof), "cancel_ratio");
    let Some(pb::alert::Kind::CancelRatio(c)) = spoof.alert.unwrap().kind else {
        unreachable!()
    };
    assert_eq!((c.account.as_str(), c.placed, c.cancelled), ("HZ-SPOOF", 12, 11));

    // Ningbo's regulator: the price move, and nothing else.
    let only = next(&mut nb).await;
    assert_eq!((kind(&only), only.seq), ("price_move", close_seq));
    let quiet = tokio::time::timeout(Duration::from_millis(300), nb.message()).await;
    assert!(quiet.is_err(), "nothing more for NB: {quiet:?}");

    // Queries by date: all three for ZJ, one for NB; by kind and account.
    let list = |who: &'static str, q: pb::AlertQuery| {
        let mut sup = sup.clone();
        async move {
            sup.list_alerts(sup_signed(who, &id, "ListAlerts", q))
                .await
                .unwrap()
                .into_inner()
                .alerts
        }
    };
    let day = pb::AlertQuery {
        from_date: "2026-03-02".into(),
        to_date: "2026-03-02".into(),
        ..Default::default()
    };
    let all = list("ZJ-DEE", day.clone()).await;
    assert_eq!(
        all.iter().map(kind).collect::<Vec<_>>(),
        ["related_trade", "price_move", "cancel_ratio"]
    );
    assert_eq!(
        list("NB-EEB", day.clone()).await.iter().map(kind).collect::<Vec<_>>(),
        ["price_move"]
    );
    let spoofer = pb::AlertQuery {
        account: "HZ-SPOOF".into(),
        ..day.clone()
    };
    assert_eq!(list("HZ-EEB", spoofer).await.len(), 1);
    let before = pb::AlertQuery {
        to_date: "2026-03-01".into(),
        ..Default::default()
    };
    assert!(list("ZJ-DEE", before).await.is_empty());

    // A reconnecting client resumes from a journal position and misses nothing.
    let mut again = sup
        .stream_alerts(sup_signed(
            "ZJ-DEE",
            &id,
            "StreamAlerts",
            pb::AlertStreamRequest {
                from_seq: trade_seq + 1,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kind(&next(&mut again).await), "price_move");
    assert_eq!(kind(&next(&mut again).await), "cancel_ratio");

    // Positions: a city regulator sees its own accounts only.
    let pos = |who: &'static str, account: &str| {
        let mut sup = sup.clone();
        let account = account.to_string();
        async move {
            sup.get_position(sup_signed(who, &id, "GetPosition", pb::PositionRequest { account }))
                .await
        }
    };
    let p = pos("HZ-EEB", "HZ-BUYER").await.unwrap().into_inner();
    assert_eq!((p.position, p.exposure, p.group.as_str()), (100, 100, "HZ-GRP"));
    assert_eq!(
        p.limit,
        Some(1_000_000),
        "an entity without allocation: quota 0 + 1,000,000"
    );
    assert_eq!(
        pos("NB-EEB", "HZ-BUYER").await.unwrap_err().code(),
        tonic::Code::PermissionDenied
    );
    assert_eq!(pos("ZJ-DEE", "NB-POWER").await.unwrap().into_inner().position, 0);
    let groups = sup
        .get_supervision(sup_signed(
            "NB-EEB",
            &id,
            "GetSupervision",
            pb::GetSupervisionRequest {},
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(groups.groups.is_empty(), "HZ's group is not NB's business");

    // A halt shows on the book and refuses orders; resume lifts it.
    let mut market = pb::market_client::MarketClient::new(server.channel().await);
    accept(
        &mut ledger,
        s.sign(json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-03"})),
    )
    .await;
    accept(
        &mut ledger,
        s.sign(json!({"as": "ZJ-DEE", "cmd": "halt", "instrument": "ZJEA-2025"})),
    )
    .await;
    let book = market
        .get_book(pb::GetBookRequest {
            instrument: "ZJEA-2025".into(),
            depth: 5,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(book.halted);
    reject(
        &mut ledger,
        s.sign(order("HZ-BUYER", "b2", "buy", "52.50", 1)),
        tonic::Code::FailedPrecondition,
        "MARKET_HALTED",
    )
    .await;
    accept(
        &mut ledger,
        s.sign(json!({"as": OPERATOR, "cmd": "resume", "instrument": "ZJEA-2025"})),
    )
    .await;
    accept(&mut ledger, s.sign(order("HZ-BUYER", "b2", "buy", "52.50", 1))).await;
}

/// `carbon supervise` as a regulator types it: alerts followed live, a
/// position, the limits in force; and the commands it signs.
#[tokio::test]
async fn a_regulator_follows_alerts_live_from_the_command_line() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut ledger = server.client().await;
    let mut s = Signer::default();
    for line in [
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-SELLER", "role": "entity"}),
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-BUYER", "role": "entity"}),
        json!({"as": OPERATOR, "cmd": "define_instrument", "symbol": "ZJEA-2025", "reference_price": "50.00"}),
        json!({"as": OPERATOR, "cmd": "deposit", "account": "HZ-BUYER", "amount": "100000.00"}),
        json!({"as": "HZ-EEB", "cmd": "issue", "instrument": "ZJEA-2025", "to": "HZ-SELLER", "qty": 1000}),
        json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"}),
    ] {
        accept(&mut ledger, s.sign(line)).await;
    }
    let key = write_test_key_file(dir.path(), "HZ-EEB");
    let cli = |args: &[&str]| {
        let mut c = std::process::Command::new(carbon_bin());
        c.args(["supervise"]).args(args).args([
            "--key",
            key.to_str().unwrap(),
            "--actor",
            "HZ-EEB",
            "--server",
            &server.url(),
        ]);
        c
    };
    // The regulator declares the group from the command line.
    let group = cli(&["group", "HZ-GRP", "HZ-SELLER", "HZ-BUYER"]).output().unwrap();
    assert!(group.status.success(), "{}", String::from_utf8_lossy(&group.stderr));

    let mut follow = cli(&["alerts", "--follow", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    // Give the follower time to subscribe, then trade between the group.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    accept(&mut ledger, s.sign(order("HZ-SELLER", "s1", "sell", "50.00", 10))).await;
    accept(&mut ledger, s.sign(order("HZ-BUYER", "b1", "buy", "50.00", 10))).await;
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the follower prints the alert");
    follow.kill().unwrap();
    follow.wait().unwrap();
    let alert: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(alert["kind"], "related_trade");
    assert_eq!(alert["group"], "HZ-GRP");
    assert_eq!(
        (alert["buyer"].as_str(), alert["qty"].as_i64()),
        (Some("HZ-BUYER"), Some(10))
    );

    let position = cli(&["position", "HZ-BUYER", "--csv"]).output().unwrap();
    assert!(
        position.status.success(),
        "{}",
        String::from_utf8_lossy(&position.stderr)
    );
    assert_eq!(
        String::from_utf8(position.stdout).unwrap(),
        "account,jurisdiction,role,position,exposure,quota,limit,threshold,group\n\
         HZ-BUYER,HZ,entity,10,10,0,1000000,500000,HZ-GRP\n"
    );
    let limits = cli(&["limits", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&limits.stdout).unwrap();
    assert_eq!(v["limits"]["investor"], 1_000_000);
    assert_eq!(v["groups"]["HZ-GRP"], json!(["HZ-SELLER", "HZ-BUYER"]));
    // A city regulator may not set limits: the command is refused.
    let refused = cli(&["limits", "--entity-extra", "5", "--investor", "5"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("NOT_PERMITTED"));
}
