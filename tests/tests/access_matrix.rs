//! docs/ACCESS.md, cell by cell, over real gRPC: every method of the server
//! against every kind of caller, each cell checked allowed (with what it
//! shows) or denied with the right status. A method of the server that is
//! missing from the table below makes the test fail, so a new RPC cannot
//! ship without a decision on who may call it.

mod grpc_support;

use std::collections::BTreeSet;

use carbon_proto::v1 as pb;
use grpc_support::*;
use prost::Message;
use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// The kinds of caller of docs/ACCESS.md, and the account each one is here.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    /// The account whose data is asked for (HZ-ACC, an entity).
    Own,
    /// Its city regulator.
    City,
    /// Another city's regulator.
    Other,
    Zj,
    Operator,
    Verifier,
    Auditor,
}

const EVERYONE: [Who; 8] = [
    Who::Anonymous,
    Who::Own,
    Who::City,
    Who::Other,
    Who::Zj,
    Who::Operator,
    Who::Verifier,
    Who::Auditor,
];

impl Who {
    fn account(self) -> Option<&'static str> {
        match self {
            Who::Anonymous => None,
            Who::Own => Some("HZ-ACC"),
            Who::City => Some("HZ-EEB"),
            Who::Other => Some("NB-EEB"),
            Who::Zj => Some("ZJ-DEE"),
            Who::Operator => Some(OPERATOR),
            Who::Verifier => Some("HZ-VER"),
            Who::Auditor => Some("ZJ-AUD"),
        }
    }
}

/// What a call gave: refused with a status, or allowed and showing some
/// number of items (1 for a single view), with or without trading parties.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Got {
    Refused(Code),
    Shown(usize),
    /// Trades with their parties' names.
    Named,
    /// Trades without.
    Unnamed,
}

use Got::*;

/// The expected cell: `no` is UNAUTHENTICATED for the anonymous caller and
/// PERMISSION_DENIED for everyone else.
fn no(who: Who) -> Got {
    if who == Who::Anonymous {
        Refused(Code::Unauthenticated)
    } else {
        Refused(Code::PermissionDenied)
    }
}

fn got<T>(r: Result<T, Status>, shown: impl FnOnce(T) -> Got) -> Got {
    match r {
        Ok(v) => shown(v),
        Err(s) => Refused(s.code()),
    }
}

fn names(trades: &[pb::Trade]) -> Got {
    assert!(!trades.is_empty(), "the test market has a trade");
    if trades
        .iter()
        .all(|t| !t.buyer.is_empty() && !t.seller.is_empty() && !t.buy_id.is_empty())
    {
        Named
    } else if trades
        .iter()
        .all(|t| t.buyer.is_empty() && t.seller.is_empty() && t.buy_id.is_empty() && t.sell_id.is_empty())
    {
        Unnamed
    } else {
        panic!("a trade list half named: {trades:?}")
    }
}

struct Caller {
    channel: Channel,
    ledger_id: [u8; 32],
}

impl Caller {
    fn request<T: Message>(&self, who: Who, method: &str, message: T) -> tonic::Request<T> {
        match who.account() {
            None => tonic::Request::new(message),
            Some(a) => signed(a, &self.ledger_id, method, message),
        }
    }

    /// Calls `method` as `who` against HZ-ACC's data.
    async fn call(&self, method: &str, who: Who) -> Got {
        let ch = self.channel.clone();
        let mut ledger = pb::ledger_client::LedgerClient::new(ch.clone());
        let mut regulator = pb::regulator_client::RegulatorClient::new(ch.clone());
        let mut market = pb::market_client::MarketClient::new(ch.clone());
        let mut sup = pb::supervision_client::SupervisionClient::new(ch.clone());
        macro_rules! r {
            ($m:expr) => {
                self.request(who, method, $m)
            };
        }
        match method {
            "/carbon.v1.Ledger/GetAccount" => got(
                ledger
                    .get_account(r!(pb::GetAccountRequest { id: "HZ-ACC".into() }))
                    .await,
                |_| Shown(1),
            ),
            "/carbon.v1.Ledger/GetSupply" => got(ledger.get_supply(r!(pb::GetSupplyRequest {})).await, |v| {
                Shown(v.into_inner().supply.len())
            }),
            "/carbon.v1.Ledger/ListInstruments" => {
                got(ledger.list_instruments(r!(pb::ListInstrumentsRequest {})).await, |v| {
                    Shown(v.into_inner().instruments.len())
                })
            }
            "/carbon.v1.Ledger/GetCheckpoint" => {
                got(ledger.get_checkpoint(r!(pb::GetCheckpointRequest {})).await, |_| {
                    Shown(1)
                })
            }
            "/carbon.v1.Ledger/GetConsistencyProof" => got(
                ledger
                    .get_consistency_proof(r!(pb::ConsistencyProofRequest {
                        from_size: 1,
                        to_size: 0,
                    }))
                    .await,
                |_| Shown(1),
            ),
            // Entry HZ_ACC_ENTRY is HZ-ACC's own order.
            "/carbon.v1.Ledger/GetInclusionProof" => got(
                ledger
                    .get_inclusion_proof(r!(pb::InclusionProofRequest {
                        seq: HZ_ACC_ENTRY.with(|s| *s.borrow()),
                        tree_size: 0,
                    }))
                    .await,
                |_| Shown(1),
            ),
            // HZ-ACC's first command (its report).
            "/carbon.v1.Ledger/LookupCommand" => got(
                ledger
                    .lookup_command(r!(pb::LookupCommandRequest {
                        actor: "HZ-ACC".into(),
                        nonce: 1,
                    }))
                    .await,
                |_| Shown(1),
            ),
            "/carbon.v1.Ledger/StreamJournal" => got(
                ledger
                    .stream_journal(r!(pb::StreamJournalRequest { from_seq: 0 }))
                    .await,
                |_| Shown(1),
            ),
            "/carbon.v1.Ledger/Submit" => {
                // A signed command needs no read credential: a freeze of
                // nobody is refused by the rulebook (UNKNOWN_ACCOUNT), not
                // by access control.
                let mut s = Signer::default();
                s.nonces.insert("HZ-EEB".into(), 1_000_000 + who as u64);
                let env = s.sign(json!({"as": "HZ-EEB", "cmd": "freeze", "account": "NOBODY"}));
                got(ledger.submit(r!(env)).await, |_| Shown(1))
            }
            "/carbon.v1.Ledger/SubmitBatch" => got(
                ledger
                    .submit_batch(r!(pb::SubmitBatchRequest { commands: vec![] }))
                    .await,
                |v| Shown(v.into_inner().results.len() + 1),
            ),
            "/carbon.v1.Ledger/SubmitStream" => {
                // Streams carry no read credential (each command is signed).
                got(ledger.submit_stream(tokio_stream::iter(Vec::new())).await, |_| Shown(1))
            }
            "/carbon.v1.Regulator/GetReport" => got(
                regulator
                    .get_report(r!(pb::GetReportRequest {
                        entity: "HZ-ACC".into(),
                        year: 2025,
                    }))
                    .await,
                |_| Shown(1),
            ),
            "/carbon.v1.Regulator/ListAllocations" => got(
                regulator
                    .list_allocations(r!(pb::ListAllocationsRequest { year: 2025 }))
                    .await,
                |v| Shown(v.into_inner().allocations.len()),
            ),
            "/carbon.v1.Regulator/GetComplianceTable" => got(
                regulator
                    .get_compliance_table(r!(pb::ComplianceTableRequest {
                        year: 2025,
                        jurisdiction: String::new(),
                    }))
                    .await,
                |v| Shown(v.into_inner().lines.len()),
            ),
            "/carbon.v1.Market/GetBook" => got(
                market
                    .get_book(r!(pb::GetBookRequest {
                        instrument: "ZJEA-2025".into(),
                        depth: 5,
                    }))
                    .await,
                |_| Shown(1),
            ),
            "/carbon.v1.Market/ListTrades" => got(
                market
                    .list_trades(r!(pb::ListTradesRequest {
                        date: "2026-03-02".into(),
                        ..Default::default()
                    }))
                    .await,
                |v| names(&v.into_inner().trades),
            ),
            "/carbon.v1.Market/ListOpenOrders" => got(
                market
                    .list_open_orders(r!(pb::OpenOrdersRequest {
                        account: "HZ-ACC".into(),
                    }))
                    .await,
                |v| Shown(v.into_inner().orders.len()),
            ),
            "/carbon.v1.Market/StreamMarketData" => got(
                market.stream_market_data(r!(pb::MarketDataRequest::default())).await,
                |_| Shown(1),
            ),
            "/carbon.v1.Market/StreamExecutions" => got(
                market
                    .stream_executions(r!(pb::ExecutionsRequest {
                        account: "HZ-ACC".into(),
                    }))
                    .await,
                |_| Shown(1),
            ),
            "/carbon.v1.Supervision/ListAlerts" => got(sup.list_alerts(r!(pb::AlertQuery::default())).await, |v| {
                Shown(v.into_inner().alerts.len())
            }),
            "/carbon.v1.Supervision/StreamAlerts" => {
                got(sup.stream_alerts(r!(pb::AlertStreamRequest::default())).await, |_| {
                    Shown(1)
                })
            }
            "/carbon.v1.Supervision/GetPosition" => got(
                sup.get_position(r!(pb::PositionRequest {
                    account: "HZ-ACC".into(),
                }))
                .await,
                |_| Shown(1),
            ),
            "/carbon.v1.Supervision/ListLargeHolders" => {
                got(sup.list_large_holders(r!(pb::LargeHoldersRequest {})).await, |v| {
                    Shown(v.into_inner().holders.len())
                })
            }
            "/carbon.v1.Supervision/GetSupervision" => {
                got(sup.get_supervision(r!(pb::GetSupervisionRequest {})).await, |v| {
                    Shown(v.into_inner().groups.len())
                })
            }
            other => panic!("no call written for {other}: add it, and its row to the table"),
        }
    }
}

thread_local! {
    static HZ_ACC_ENTRY: std::cell::RefCell<u64> = const { std::cell::RefCell::new(0) };
}

/// The expected cell of every method, for each caller (docs/ACCESS.md).
fn expected(method: &str, who: Who) -> Got {
    use Who::*;
    let supervisor = matches!(who, City | Other | Zj | Operator | Auditor);
    let own_or_governing = matches!(who, Own | City | Zj | Operator | Auditor);
    match method {
        // Public: everyone.
        "/carbon.v1.Ledger/GetSupply" => Shown(2),
        "/carbon.v1.Ledger/ListInstruments" => Shown(2),
        "/carbon.v1.Ledger/GetCheckpoint" | "/carbon.v1.Ledger/GetConsistencyProof" | "/carbon.v1.Market/GetBook" => {
            Shown(1)
        }
        // Three entities, all in the published table of the closed year.
        "/carbon.v1.Regulator/GetComplianceTable" => Shown(3),
        // Commands: signed themselves.
        "/carbon.v1.Ledger/Submit" => Refused(Code::NotFound),
        "/carbon.v1.Ledger/SubmitBatch" | "/carbon.v1.Ledger/SubmitStream" => Shown(1),
        // The account's own data, and its regulators'.
        "/carbon.v1.Ledger/GetAccount"
        | "/carbon.v1.Ledger/LookupCommand"
        | "/carbon.v1.Market/ListOpenOrders"
        | "/carbon.v1.Market/StreamExecutions" => {
            if own_or_governing {
                Shown(1)
            } else {
                no(who)
            }
        }
        "/carbon.v1.Regulator/GetReport" => {
            if own_or_governing || who == Verifier {
                Shown(1)
            } else {
                no(who)
            }
        }
        // Its own entries for an account or a verifier; any for supervisors.
        "/carbon.v1.Ledger/GetInclusionProof" => {
            if who == Own || supervisor {
                Shown(1)
            } else {
                no(who)
            }
        }
        "/carbon.v1.Ledger/StreamJournal" => {
            if supervisor {
                Shown(1)
            } else {
                no(who)
            }
        }
        // HZ-ACC and NB-ACC have allocations: each sees what it governs.
        "/carbon.v1.Regulator/ListAllocations" => match who {
            Own | City | Other => Shown(1),
            Zj | Operator | Auditor => Shown(2),
            Anonymous | Verifier => no(who),
        },
        "/carbon.v1.Market/ListTrades" => {
            if supervisor {
                Named
            } else {
                Unnamed
            }
        }
        "/carbon.v1.Market/StreamMarketData" => Shown(1),
        // Supervision: supervisors only, scoped to their city.
        "/carbon.v1.Supervision/StreamAlerts" | "/carbon.v1.Supervision/GetSupervision" if supervisor => match method {
            "/carbon.v1.Supervision/GetSupervision" => Shown(match who {
                City | Zj | Operator | Auditor => 1, // the HZ group
                _ => 0,
            }),
            _ => Shown(1),
        },
        // One related trade (HZ accounts) and one price move (everyone's).
        "/carbon.v1.Supervision/ListAlerts" if supervisor => Shown(if who == Other { 1 } else { 2 }),
        "/carbon.v1.Supervision/GetPosition" if supervisor => {
            if who == Other {
                Refused(Code::PermissionDenied)
            } else {
                Shown(1)
            }
        }
        "/carbon.v1.Supervision/ListLargeHolders" if supervisor => Shown(0),
        m if m.starts_with("/carbon.v1.Supervision/") => no(who),
        other => panic!("{other} is not in the access table: decide who may call it (docs/ACCESS.md)"),
    }
}

/// Every method of every carbon.v1 service, from the descriptor the server
/// serves over reflection.
fn every_method() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(carbon_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = BTreeSet::new();
    for file in &set.file {
        for service in &file.service {
            for m in &service.method {
                out.insert(format!("/{}.{}/{}", file.package(), service.name(), m.name()));
            }
        }
    }
    out
}

/// The test market: HZ-ACC (an entity) and NB-ACC with allocations,
/// HZ-ACC's report, a related trade on 2026-03-02, a resting order of
/// HZ-ACC (whose journal entry is returned), a closed year 2025, a verifier
/// and an auditor.
async fn market(ledger: &mut pb::ledger_client::LedgerClient<Channel>) -> u64 {
    let mut s = Signer::default();
    let order = |actor: &str, id: &str, side: &str, qty: i64| {
        json!({"as": actor, "cmd": "order", "id": id, "instrument": "ZJEA-2025", "side": side,
               "type": "limit", "tif": "day", "price": "52.50", "qty": qty})
    };
    for line in [
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-ACC", "role": "entity"}),
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-SELL", "role": "entity"}),
        json!({"as": "NB-EEB", "cmd": "create_account", "id": "NB-ACC", "role": "entity"}),
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-VER", "role": "verifier"}),
        json!({"as": "ZJ-DEE", "cmd": "create_account", "id": "ZJ-AUD", "role": "auditor", "jurisdiction": "ZJ"}),
        json!({"as": OPERATOR, "cmd": "define_instrument", "symbol": "ZJEA-2025", "reference_price": "50.00"}),
        json!({"as": OPERATOR, "cmd": "define_instrument", "symbol": "ZJEA-2026", "reference_price": "50.00"}),
        json!({"as": OPERATOR, "cmd": "deposit", "account": "HZ-ACC", "amount": "100000.00"}),
        json!({"as": "HZ-EEB", "cmd": "allocate_grandfather", "entity": "HZ-ACC", "year": 2025, "baseline": 100, "decline": "0"}),
        json!({"as": "NB-EEB", "cmd": "allocate_grandfather", "entity": "NB-ACC", "year": 2025, "baseline": 100, "decline": "0"}),
        json!({"as": "HZ-EEB", "cmd": "issue", "instrument": "ZJEA-2025", "to": "HZ-SELL", "qty": 100}),
        json!({"as": "ZJ-DEE", "cmd": "define_factor_set", "id": "FS", "grid_tco2_per_mwh": "0.5", "fuels": {}}),
        json!({"as": "HZ-ACC", "cmd": "submit_report", "year": 2025, "factor_set": "FS", "fuels": [],
               "electricity_mwh": "0", "power_mwh": "0", "heat_gj": "0"}),
        json!({"as": "HZ-EEB", "cmd": "declare_group", "id": "HZ-GRP", "members": ["HZ-ACC", "HZ-SELL"]}),
        json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-02"}),
        order("HZ-SELL", "s1", "sell", 10),
        order("HZ-ACC", "b1", "buy", 10),
        json!({"as": OPERATOR, "cmd": "close_day"}),
        json!({"as": OPERATOR, "cmd": "open_day", "date": "2026-03-03"}),
    ] {
        accept(ledger, s.sign(line)).await;
    }
    // A resting order of HZ-ACC, whose entry an account may prove.
    let own_entry = accept(ledger, s.sign(order("HZ-ACC", "b2", "buy", 1))).await;
    accept(
        ledger,
        s.sign(json!({"as": "ZJ-DEE", "cmd": "close_year", "year": 2025})),
    )
    .await;
    own_entry
}

#[tokio::test]
async fn every_method_answers_only_the_callers_the_matrix_allows() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut ledger = server.client().await;
    let own_entry = market(&mut ledger).await;
    HZ_ACC_ENTRY.with(|e| *e.borrow_mut() = own_entry);
    let caller = Caller {
        channel: server.channel().await,
        ledger_id: ledger_id(&mut ledger).await,
    };
    let mut failures = Vec::new();
    let methods = every_method();
    assert!(methods.len() >= 23, "{methods:?}");
    for method in &methods {
        for who in EVERYONE {
            let want = expected(method, who);
            let got = caller.call(method, who).await;
            if got != want {
                failures.push(format!("{method} as {who:?}: got {got:?}, want {want:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The auditor signs no command (docs/RULES.md).
    let mut s = Signer::default();
    s.nonces.insert("ZJ-AUD".into(), 100);
    reject(
        &mut ledger,
        s.sign(json!({"as": "ZJ-AUD", "cmd": "transfer", "instrument": "ZJEA-2025", "to": "HZ-ACC", "qty": 1})),
        Code::PermissionDenied,
        "NOT_PERMITTED",
    )
    .await;
}

/// Health and reflection (v1 and v1alpha) answer anyone.
#[tokio::test]
async fn health_and_both_reflection_versions_are_public() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let ch = server.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    let h = health
        .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        h.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    let mut reflection = ServerReflectionClient::new(ch);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("a service list")
    };
    let names: BTreeSet<_> = list.service.into_iter().map(|s| s.name).collect();
    for s in [
        "carbon.v1.Ledger",
        "carbon.v1.Market",
        "carbon.v1.Regulator",
        "carbon.v1.Supervision",
    ] {
        assert!(names.contains(s), "v1alpha reflection lists {s}: {names:?}");
    }
}

/// The command line as each role uses it: it signs its reads where the
/// matrix needs a caller, and calls anonymously where it does not.
#[tokio::test]
async fn the_command_line_reads_as_each_role() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut ledger = server.client().await;
    market(&mut ledger).await;
    let url = server.url();
    let carbon = |args: &[&str], who: Option<&str>| {
        let mut c = std::process::Command::new(carbon_bin());
        c.args(args).args(["--server", &url]);
        if let Some(who) = who {
            let key = write_test_key_file(dir.path(), who);
            c.args(["--key", key.to_str().unwrap(), "--actor", who]);
        }
        let out = c.env("RUST_BACKTRACE", "0").output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // An account reads itself (no history: the journal is its regulators').
    let (ok, out, err) = carbon(&["audit", "account", "HZ-ACC", "--json"], Some("HZ-ACC"));
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["id"], "HZ-ACC");
    // Its city regulator reads it with its history; another city may not.
    let (ok, out, err) = carbon(&["audit", "account", "HZ-ACC", "--json"], Some("HZ-EEB"));
    assert!(ok, "{err}");
    assert!(!serde_json::from_str::<serde_json::Value>(&out).unwrap()["history"]
        .as_array()
        .unwrap()
        .is_empty());
    let (ok, _, err) = carbon(&["audit", "account", "HZ-ACC"], Some("NB-EEB"));
    assert!(!ok && err.contains("PermissionDenied"), "{err}");
    // Open orders: the account's own.
    let (ok, out, err) = carbon(&["order", "list", "--json"], Some("HZ-ACC"));
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()[0]["id"], "b2");
    // Trades: anonymous without names, an auditor with them.
    let (ok, out, err) = carbon(&["market", "trades", "--date", "2026-03-02", "--json"], None);
    assert!(ok, "{err}");
    let public: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(public["trades"][0]["buyer"], "");
    let (ok, out, err) = carbon(&["market", "trades", "--date", "2026-03-02", "--json"], Some("ZJ-AUD"));
    assert!(ok, "{err}");
    let named: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(named["trades"][0]["buyer"], "HZ-ACC");
    // Supervision: the auditor reads alerts; an entity may not.
    let (ok, out, err) = carbon(&["supervise", "alerts", "--json"], Some("ZJ-AUD"));
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (ok, _, err) = carbon(&["supervise", "alerts"], Some("HZ-ACC"));
    assert!(!ok && err.contains("PermissionDenied"), "{err}");
    // The published compliance table needs no key.
    let (ok, out, err) = carbon(&["audit", "compliance", "--year", "2025", "--csv"], None);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 4, "a header and three entities: {out}");
}
