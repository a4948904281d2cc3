//! A compliance year over real gRPC: allocation, a report through its
//! states, surrender, the year's close; then what a regulator reads through
//! `carbon.v1.Regulator` and `carbon audit compliance --server`.

mod grpc_support;

use carbon_proto::v1 as pb;
use grpc_support::*;
use serde_json::json;

#[tokio::test]
async fn a_compliance_year_as_regulators_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut client = server.client().await;
    let mut s = Signer::default();
    small_market(&mut client, &mut s).await;
    for line in [
        json!({"as": "HZ-EEB", "cmd": "create_account", "id": "HZ-VER", "role": "verifier"}),
        json!({"as": "ZJ-DEE", "cmd": "define_factor_set", "id": "FS", "grid_tco2_per_mwh": "0.5",
               "fuels": {"coal": {"ncv_gj_per_unit": "20", "carbon_tc_per_gj": "0.03", "oxidation": "0.99"}}}),
        // 10000 MWh of gas at 0.3288: A = 3288, pre = round(2301.6) = 2302.
        json!({"as": "HZ-EEB", "cmd": "allocate_benchmark", "entity": "HZ-STEEL", "year": 2025, "phase": "pre",
               "units": [{"fuel": "gas", "power_mwh": "10000", "heat_gj": "0", "power_benchmark": "0.3288",
                          "heat_benchmark": "0.0533", "load_factor": "0.5"}]}),
        // 1000 * 20 * 0.03 * 0.99 * 44/12 = 2178 t.
        json!({"as": "HZ-STEEL", "cmd": "submit_report", "year": 2025, "factor_set": "FS",
               "fuels": [{"fuel": "coal", "consumption": "1000"}], "electricity_mwh": "0", "power_mwh": "0", "heat_gj": "0"}),
        json!({"as": "HZ-VER", "cmd": "verify_report", "entity": "HZ-STEEL", "year": 2025}),
        json!({"as": "HZ-EEB", "cmd": "confirm_report", "entity": "HZ-STEEL", "year": 2025}),
        json!({"as": "HZ-STEEL", "cmd": "surrender", "year": 2025, "instrument": "ZJEA-2025", "qty": 2000}),
        json!({"as": "ZJ-DEE", "cmd": "close_year", "year": 2025}),
    ] {
        accept(&mut client, s.sign(line)).await;
    }
    let mut regulator = pb::regulator_client::RegulatorClient::new(server.channel().await);

    let id = ledger_id(&mut client).await;
    let report_of = |entity: &str| pb::GetReportRequest {
        entity: entity.into(),
        year: 2025,
    };
    let report = regulator
        .get_report(signed(
            "HZ-EEB",
            &id,
            "/carbon.v1.Regulator/GetReport",
            report_of("HZ-STEEL"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (report.status.as_str(), report.direct, report.verified),
        ("confirmed", 2178, Some(2178))
    );
    assert_eq!(report.history, vec!["submitted", "verified", "confirmed"]);
    let missing = regulator
        .get_report(signed(
            "NB-EEB",
            &id,
            "/carbon.v1.Regulator/GetReport",
            report_of("NB-POWER"),
        ))
        .await;
    assert_eq!(missing.unwrap_err().code(), tonic::Code::NotFound);
    // Another city's regulator may not read it; the entity may, and so may a verifier.
    let other = regulator
        .get_report(signed(
            "NB-EEB",
            &id,
            "/carbon.v1.Regulator/GetReport",
            report_of("HZ-STEEL"),
        ))
        .await;
    assert_eq!(other.unwrap_err().code(), tonic::Code::PermissionDenied);
    for reader in ["HZ-STEEL", "HZ-VER"] {
        let own = regulator
            .get_report(signed(
                reader,
                &id,
                "/carbon.v1.Regulator/GetReport",
                report_of("HZ-STEEL"),
            ))
            .await;
        assert_eq!(own.unwrap().into_inner().verified, Some(2178), "{reader}");
    }

    let year = pb::ListAllocationsRequest { year: 2025 };
    let of_nb = regulator
        .list_allocations(signed("NB-EEB", &id, "/carbon.v1.Regulator/ListAllocations", year))
        .await
        .unwrap()
        .into_inner();
    assert!(of_nb.allocations.is_empty(), "HZ's allocations are not NB's");
    let allocations = regulator
        .list_allocations(signed("HZ-EEB", &id, "/carbon.v1.Regulator/ListAllocations", year))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(allocations.allocations.len(), 1);
    let a = &allocations.allocations[0];
    assert_eq!(
        (a.entity.as_str(), a.method.as_str(), a.pre, a.r#final, a.issued),
        ("HZ-STEEL", "benchmark", Some(2302), None, 2302)
    );

    let table = |j: &str| {
        let mut r = regulator.clone();
        let j = j.to_string();
        async move {
            r.get_compliance_table(pb::ComplianceTableRequest {
                year: 2025,
                jurisdiction: j,
            })
            .await
            .unwrap()
            .into_inner()
            .lines
            .into_iter()
            .map(|l| {
                let row = l.row.unwrap();
                (row.entity, l.jurisdiction, row.status, row.shortfall, row.penalty_min)
            })
            .collect::<Vec<_>>()
        }
    };
    // Shortfall 178 at the reference 58.20 (no close yet): 5x = 51798.00.
    let steel = (
        "HZ-STEEL".to_string(),
        "HZ".to_string(),
        "B".to_string(),
        178,
        "51798.00".to_string(),
    );
    let power = (
        "NB-POWER".to_string(),
        "NB".to_string(),
        "C".to_string(),
        0,
        "0.00".to_string(),
    );
    assert_eq!(table("ZJ").await, vec![steel.clone(), power.clone()]);
    assert_eq!(table("HZ").await, vec![steel]);
    assert_eq!(table("NB").await, vec![power]);
    let open = regulator
        .get_compliance_table(pb::ComplianceTableRequest {
            year: 2026,
            jurisdiction: String::new(),
        })
        .await;
    assert_eq!(open.unwrap_err().code(), tonic::Code::FailedPrecondition);

    // The regulator's command line reads the same table from the server.
    let out = std::process::Command::new(carbon_bin())
        .args([
            "audit",
            "compliance",
            "--year",
            "2025",
            "--csv",
            "--server",
            &server.url(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "entity,jurisdiction,status,obligation,surrendered,shortfall,penalty_min,penalty_max,\
         energy_obligation,energy_surrendered,energy_shortfall,energy_penalty_min,energy_penalty_max\n\
         HZ-STEEL,HZ,B,2178,2000,178,51798.00,103596.00,0,0,0,0.00,0.00\n\
         NB-POWER,NB,C,0,0,0,0.00,0.00,0,0,0,0.00,0.00\n"
    );
}
