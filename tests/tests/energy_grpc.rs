//! Energy-use rights over real gRPC (RULEBOOK.md 15): `ZJEU` trades listed
//! with T+1, as a block and at auction through the same engine as
//! allowances, is never limited by positions nor counted as a large
//! holding, and meets the energy obligation of a confirmed report; the year
//! closes with both obligations in the regulators' table.

mod grpc_support;

use carbon_proto::v1 as pb;
use grpc_support::*;
use serde_json::json;

fn order(actor: &str, id: &str, instrument: &str, side: &str, price: &str, qty: i64) -> serde_json::Value {
    json!({"as": actor, "cmd": "order", "id": id, "instrument": instrument, "side": side,
           "type": "limit", "tif": "day", "price": price, "qty": qty})
}

#[tokio::test]
async fn energy_rights_trade_on_the_same_engine_and_meet_the_energy_obligation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut ledger = server.client().await;
    let mut s = Signer::default();
    for line in [
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-STEEL", "role": "entity"}),
        json!({"as": "NB-EEB", "cmd": "create_account", "id": "NB-POWER", "role": "entity"}),
        json!({"as": "ZJ-DEE", "cmd": "create_account", "id": "HZ-FUND", "role": "investor", "jurisdiction": "HZ"}),
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-VER", "role": "verifier"}),
        json!({"as": OPERATOR, "cmd": "define_instrument", "symbol": "ZJEA-2025", "reference_price": "58.20"}),
        json!({"as": OPERATOR, "cmd": "define_instrument", "symbol": "ZJEU-2025", "reference_price": "20.00"}),
        json!({"as": OPERATOR, "cmd": "deposit", "account": "NB-POWER", "amount": "5000000.00"}),
        json!({"as": OPERATOR, "cmd": "deposit", "account": "HZ-FUND", "amount": "1000000.00"}),
        json!({"as": "HZ-EEB", "cmd": "issue", "instrument": "ZJEU-2025", "to": "HZ-STEEL", "qty": 200000}),
        json!({"as": "ZJ-DEE", "cmd": "issue", "instrument": "ZJEU-2025", "to": "ZJ-DEE", "qty": 50000}),
        json!({"as": "HZ-EEB", "cmd": "issue", "instrument": "ZJEA-2025", "to": "HZ-STEEL", "qty": 100}),
        // Limits so low that any allowance buying binds.
        json!({"as": OPERATOR, "cmd": "set_position_limits", "entity_extra": 10, "investor": 10}),
        json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"}),
    ] {
        accept(&mut ledger, s.sign(line)).await;
    }

    // Listed: 1,000 tce far past NB-POWER's allowance limit of 10 t.
    accept(
        &mut ledger,
        s.sign(order("HZ-STEEL", "s1", "ZJEU-2025", "sell", "20.00", 1000)),
    )
    .await;
    accept(
        &mut ledger,
        s.sign(order("NB-POWER", "b1", "ZJEU-2025", "buy", "20.00", 1000)),
    )
    .await;
    assert_eq!(
        holding(&account(&mut ledger, "NB-POWER").await, "ZJEU-2025"),
        (0, 0, 1000),
        "T+1"
    );
    // ... while 11 t of allowances are refused.
    accept(
        &mut ledger,
        s.sign(order("HZ-STEEL", "s2", "ZJEA-2025", "sell", "58.20", 11)),
    )
    .await;
    reject(
        &mut ledger,
        s.sign(order("NB-POWER", "b2", "ZJEA-2025", "buy", "58.20", 11)),
        tonic::Code::FailedPrecondition,
        "POSITION_LIMIT_EXCEEDED",
    )
    .await;
    // A block trade and an auction of energy-use rights, unlimited too.
    accept(
        &mut ledger,
        s.sign(
            json!({"as": "HZ-STEEL", "cmd": "block_propose", "id": "blk1", "instrument": "ZJEU-2025",
                      "side": "sell", "counterparty": "NB-POWER", "qty": 100000, "price": "21.00"}),
        ),
    )
    .await;
    accept(
        &mut ledger,
        s.sign(json!({"as": "NB-POWER", "cmd": "block_accept", "proposer": "HZ-STEEL", "id": "blk1"})),
    )
    .await;
    accept(
        &mut ledger,
        s.sign(
            json!({"as": "ZJ-DEE", "cmd": "auction_open", "id": "auc1", "instrument": "ZJEU-2025",
                      "qty": 50000, "reserve_price": "19.00"}),
        ),
    )
    .await;
    accept(
        &mut ledger,
        s.sign(
            json!({"as": "HZ-FUND", "cmd": "auction_bid", "auction": "auc1", "id": "bid1",
                      "price": "19.50", "qty": 20000}),
        ),
    )
    .await;

    // The market data of ZJEU is the allowances' kind: a book, a day's trades.
    let mut market = pb::market_client::MarketClient::new(server.channel().await);
    let trades = market
        .list_trades(pb::ListTradesRequest {
            instrument: "ZJEU-2025".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .trades;
    let modes: Vec<_> = trades.iter().map(|t| (t.mode.as_str(), t.qty)).collect();
    assert_eq!(modes, [("listed", 1000), ("block", 100000)]);

    let close = ledger
        .submit(s.sign(json!({"as": OPERATOR, "cmd": "close_day"})))
        .await
        .unwrap()
        .into_inner();
    let events = close.outcome.unwrap().events;
    let auctioned: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            Some(pb::event::Kind::Trade(t)) => Some((t.mode.as_str(), t.buyer.as_str(), t.qty)),
            _ => None,
        })
        .collect();
    assert_eq!(auctioned, [("auction", "HZ-FUND", 20000)]);
    let large: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            Some(pb::event::Kind::Alert(pb::Alert {
                kind: Some(pb::alert::Kind::LargeHolder(l)),
                ..
            })) => Some((l.account.as_str(), l.position)),
            _ => None,
        })
        .collect();
    // HZ-STEEL's 100 t of allowances pass its threshold of 5; the 101,000 and
    // 20,000 tce of energy-use rights NB-POWER and HZ-FUND hold count for nothing.
    assert_eq!(large, [("HZ-STEEL", 100)]);
    assert_eq!(
        holding(&account(&mut ledger, "NB-POWER").await, "ZJEU-2025"),
        (101000, 0, 0)
    );
    assert_eq!(
        holding(&account(&mut ledger, "HZ-FUND").await, "ZJEU-2025"),
        (20000, 0, 0)
    );

    // MRV: energy lines in the reports; a verifier's own figure for NB-POWER.
    for line in [
        json!({"as": "ZJ-DEE", "cmd": "define_factor_set", "id": "FS", "grid_tco2_per_mwh": "0.5", "fuels": {}}),
        // 1400 t coal (1000.02 tce) + 1000 MWh (122.9 tce) = 1122.92: U = 1123.
        json!({"as": "HZ-STEEL", "cmd": "submit_report", "year": 2025, "factor_set": "FS", "fuels": [],
               "electricity_mwh": "0", "power_mwh": "0", "heat_gj": "0",
               "energy": [{"carrier": "coal", "qty": "1400"}, {"carrier": "electricity", "qty": "1000"}]}),
        json!({"as": "HZ-VER", "cmd": "verify_report", "entity": "HZ-STEEL", "year": 2025}),
        json!({"as": "HZ-EEB", "cmd": "confirm_report", "entity": "HZ-STEEL", "year": 2025}),
        json!({"as": "NB-POWER", "cmd": "submit_report", "year": 2025, "factor_set": "FS", "fuels": [],
               "electricity_mwh": "0", "power_mwh": "0", "heat_gj": "0",
               "energy": [{"carrier": "diesel", "qty": "100"}]}),
        json!({"as": "HZ-VER", "cmd": "verify_report", "entity": "NB-POWER", "year": 2025, "verified_energy": 150}),
        json!({"as": "NB-EEB", "cmd": "confirm_report", "entity": "NB-POWER", "year": 2025}),
        json!({"as": "HZ-STEEL", "cmd": "surrender", "year": 2025, "instrument": "ZJEU-2025", "qty": 1123}),
    ] {
        accept(&mut ledger, s.sign(line)).await;
    }
    reject(
        &mut ledger,
        s.sign(json!({"as": "HZ-STEEL", "cmd": "surrender", "year": 2025, "instrument": "ZJEU-2025", "qty": 1})),
        tonic::Code::FailedPrecondition,
        "EXCEEDS_OBLIGATION",
    )
    .await;
    reject(
        &mut ledger,
        s.sign(json!({"as": "HZ-STEEL", "cmd": "surrender", "year": 2025, "instrument": "ZJEA-2025", "qty": 1})),
        tonic::Code::FailedPrecondition,
        "EXCEEDS_OBLIGATION",
    )
    .await;
    accept(
        &mut ledger,
        s.sign(json!({"as": "ZJ-DEE", "cmd": "close_year", "year": 2025})),
    )
    .await;

    let mut regulator = pb::regulator_client::RegulatorClient::new(server.channel().await);
    let id = ledger_id(&mut ledger).await;
    let request = pb::GetReportRequest {
        entity: "NB-POWER".into(),
        year: 2025,
    };
    let report = regulator
        .get_report(signed("NB-EEB", &id, "/carbon.v1.Regulator/GetReport", request))
        .await
        .unwrap()
        .into_inner();
    // 100 t diesel: 145.71 tce.
    assert_eq!((report.energy, report.verified_energy), (146, Some(150)));
    let rows: Vec<_> = regulator
        .get_compliance_table(pb::ComplianceTableRequest {
            year: 2025,
            jurisdiction: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .lines
        .into_iter()
        .map(|l| {
            let r = l.row.unwrap();
            (
                r.entity,
                r.status,
                r.penalty_min,
                r.energy_obligation,
                r.energy_surrendered,
                r.energy_shortfall,
                r.energy_penalty_min,
                r.energy_penalty_max,
            )
        })
        .collect();
    let row = |e: &str, st: &str, pen: &str, eo: i64, es: i64, short: i64, emin: &str, emax: &str| {
        (
            e.to_string(),
            st.to_string(),
            pen.to_string(),
            eo,
            es,
            short,
            emin.to_string(),
            emax.to_string(),
        )
    };
    assert_eq!(
        rows,
        vec![
            row("HZ-STEEL", "A", "0.00", 1123, 1123, 0, "0.00", "0.00"),
            // Short of energy alone: carbon penalties 0.00, energy at the
            // ZJEU-2025 close of 20.00 (its only close): 150 * 20 * 5 and 10.
            row("NB-POWER", "B", "0.00", 150, 0, 150, "15000.00", "30000.00"),
        ]
    );
}
