//! Folio allocation: the sidecar is the authority on folios.

use crate::common::{self, engine, error_of, TestApp};

use serde_json::json;

use dte_sidecar::clock::Clock;
use dte_sidecar::input::args::DteType;
use dte_sidecar::owners::folios;

/// The SII manual's CAF: company 97975000-5, type 33, folios 1–200, signed with the SII's
/// real certification key (IDK 100) and authorised on 2003-09-04.
const MANUAL_RUT: &str = "97975000-5";

#[actix_rt::test]
async fn two_hundred_concurrent_requests_on_one_caf_get_two_hundred_folios() {
    let app = TestApp::spawn_with(|s| s.database.pool_size = 16).await;
    app.clock.set(chrono::NaiveDate::from_ymd_opt(2003, 10, 1).and_then(|d| d.and_hms_opt(9, 0, 0)).unwrap());
    app.call(
        "dte.company",
        "register",
        json!([]),
        json!({"company_id": 5, "rut": MANUAL_RUT, "name": "Empresa del manual", "resolution_date": "2003-09-01"}),
    )
    .await;
    let caf =
        String::from_utf8_lossy(&engine::fixture("official/CAF-97975000-5-T33-F1-200-IDK100_SII-manual-example.xml"))
            .into_owned();
    let loaded = app.call("dte.caf", "load", json!([5, caf]), json!({})).await;
    assert_eq!((loaded["folio_from"].as_i64(), loaded["folio_to"].as_i64()), (Some(1), Some(200)), "{loaded}");

    // Each move asks the sidecar's own reservation step for its folio, all at once.
    let now = app.clock.now();
    let reserve = |move_id: i32| {
        app.ctx.db.run(move |conn| {
            diesel::Connection::transaction(conn, |conn| {
                let ask = folios::Ask {
                    company_id: 5,
                    move_id,
                    dte_type: DteType::new(33).unwrap(),
                    chosen: None,
                    request: "{}",
                    now,
                    lease_until: now + chrono::TimeDelta::seconds(60),
                };
                match folios::reserve(conn, &ask)? {
                    folios::Hold::Taken(reservation) => Ok(reservation.folio.value()),
                    folios::Hold::Busy => panic!("move {move_id} has no other call"),
                }
            })
        })
    };
    let mut folios: Vec<i64> =
        futures::future::join_all((1..=200).map(reserve)).await.into_iter().map(|r| r.expect("a folio")).collect();
    folios.sort_unstable();
    assert_eq!(folios, (1..=200).collect::<Vec<_>>(), "200 distinct folios, none lost");
    let exhausted = reserve(201).await;
    assert!(exhausted.unwrap_err().to_string().contains("no folios left for DTE 33 of company 5"));
}

#[actix_rt::test]
async fn cafs_of_another_company_expired_or_overlapping_are_refused() {
    let app = TestApp::spawn().await;
    app.setup_company(1, common::COMPANY_RUT, 100).await;
    app.register_company(2, "11111111-1").await;
    let before = app.table_counts();
    let today = app.clock.now().date();
    let cases = [
        (2, common::mint_caf(common::COMPANY_RUT, 33, 1, 10, today), "caf.RE: the CAF belongs to 76000001-9"),
        (1, common::mint_caf(common::COMPANY_RUT, 33, 50, 150, today), "overlap a CAF already loaded"),
        (1, common::mint_caf(common::COMPANY_RUT, 61, 500, 510, today - chrono::TimeDelta::days(200)), "expired"),
        (1, "<AUTORIZACION><CAF/></AUTORIZACION>".to_string(), "caf_xml"),
        (
            1,
            common::mint_caf(common::COMPANY_RUT, 33, 900, 910, today).replace("<TD>33</TD>", "<TD>34</TD>"),
            "caf.FRMA",
        ),
    ];
    for (company, caf, expected) in cases {
        let answer = app.execute_kw("dte.caf", "load", json!([company, caf]), json!({})).await;
        let (name, message) = error_of(&answer);
        assert_eq!(name, "odoo.exceptions.ValidationError", "{expected}: {answer}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
    assert_eq!(app.table_counts(), before);
    // The same file twice is the same CAF.
    let caf = common::mint_caf(common::COMPANY_RUT, 52, 200, 210, today);
    let first = app.call("dte.caf", "load", json!([1, caf]), json!({})).await;
    let again = app.call("dte.caf", "load", json!([1, caf]), json!({})).await;
    assert_eq!(first["id"], again["id"]);
    // A certificate with a wrong password is refused without echoing it.
    let p12 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        engine::fixture("keys/signer-11111111-1.p12"),
    );
    let answer =
        app.execute_kw("dte.company", "set_certificate", json!([1, p12, "not-the-password-42"]), json!({})).await;
    let (_, message) = error_of(&answer);
    assert!(message.starts_with("certificate:") && !message.contains("not-the-password-42"), "{message}");
    // Sealed keys never come back over RPC.
    let answer = app.execute_kw("dte.caf", "search_read", json!([[]]), json!({"fields": ["sealed_caf"]})).await;
    assert!(error_of(&answer).1.contains("invalid field 'sealed_caf'"));
}
