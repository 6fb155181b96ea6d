//! Contingency mode, automatic contingency, the second backup copy with restore and
//! verify, retention, alerts by mail, and the KPIs — against the simulated SII.

use crate::common::smtp::MailSink;
use crate::common::{self, TestApp, COMPANY_RUT};

use chrono::TimeDelta;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use dte_sidecar::archive::CopyKey;
use dte_sidecar::clock::Clock;
use dte_sidecar::sii::simulator::faults::{Endpoint, FaultMode, Faults};

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    app
}

async fn state_of(app: &TestApp, move_id: i32) -> String {
    let status = app.call("account.move", "get_dte_status", json!([[move_id]]), json!({})).await;
    status[0]["state"].as_str().unwrap_or_default().to_string()
}

/// The specification's deployment checklist, step 7.
#[actix_rt::test]
async fn checklist_step_7_contingency_two_invoices_then_batch_upload() {
    let app = app().await;
    let on =
        app.call("dte.contingency", "enable_contingency", json!([1, "sii_unavailable", "SII caído"]), json!({})).await;
    assert_eq!(on["enabled"], true);
    for move_id in [1, 2] {
        let answer = app.send(move_id, 1, 33, COMPANY_RUT).await;
        assert_eq!(answer["result"]["state"], "contingency", "{answer}");
    }
    assert_eq!(app.sim.upload_count(), 0, "nothing is sent while in contingency");
    let pending = app
        .call(
            "dte.contingency.pending",
            "search_read",
            json!([[["uploaded", "=", false]]]),
            json!({"fields": ["folio", "move_id"]}),
        )
        .await;
    assert_eq!(pending.as_array().unwrap().len(), 2);
    let status = app.call("dte.contingency", "get_status", json!([1]), json!({})).await;
    assert_eq!(status["pending_count"], 2);

    app.call("dte.contingency", "disable_contingency", json!([1, "SII de vuelta"]), json!({})).await;
    let report = app.call("dte.contingency", "upload_pending_batch", json!([1, 50]), json!({})).await;
    assert_eq!(
        (report["envelopes"].as_i64(), report["uploaded"].as_i64(), report["remaining"].as_i64()),
        (Some(1), Some(2), Some(0)),
        "{report}"
    );
    assert_eq!(app.sim.upload_count(), 1, "both documents in one EnvioDTE");
    for move_id in [1, 2] {
        assert_eq!(state_of(&app, move_id).await, "sent");
    }
    for folio in [1, 2] {
        assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, folio), 1);
    }
    let uploaded = app
        .call(
            "dte.contingency.pending",
            "search_count",
            json!([[["uploaded", "=", true], ["track_id", "!=", false]]]),
            json!({}),
        )
        .await;
    assert_eq!(uploaded, 2);
    assert_eq!(app.call("dte.backup", "search_count", json!([[]]), json!({})).await, 2);
}

#[actix_rt::test]
async fn an_interrupted_drain_resumes_without_uploading_twice() {
    let app = TestApp::spawn_with(|s| s.sii.max_documents_per_envelope = 2).await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    app.call("dte.contingency", "enable_contingency", json!([1]), json!({})).await;
    for move_id in 1..=5 {
        app.send(move_id, 1, 61, COMPANY_RUT).await;
    }
    // The drain built its envelopes and died before uploading them.
    let envelopes = dte_sidecar::flows::drain::prepare_batch(&app.ctx, 1, 3).await.unwrap();
    assert_eq!(envelopes.len(), 2, "3 documents, 2 per envelope");
    assert_eq!(app.sim.upload_count(), 0);
    let report = app.call("dte.contingency", "upload_pending_batch", json!([1, 50]), json!({})).await;
    assert_eq!(report["envelopes"], 3, "the two built before and one for the last two: {report}");
    assert_eq!(report["remaining"], 0);
    let again = app.call("dte.contingency", "upload_pending_batch", json!([1, 50]), json!({})).await;
    assert_eq!(again["envelopes"], 0, "{again}");
    for folio in 1..=5 {
        assert_eq!(app.sim.arrivals(COMPANY_RUT, 61, folio), 1, "folio {folio}");
    }
    assert_eq!(app.sim.upload_count(), 3);
}

#[actix_rt::test]
async fn an_outage_switches_to_contingency_and_the_sii_return_drains_it() {
    let app = app().await;
    app.sim.set_faults(Faults { mode: FaultMode::Http500, only: vec![Endpoint::Upload], ..Faults::default() });
    for move_id in 1..=3 {
        assert_eq!(app.send(move_id, 1, 33, COMPANY_RUT).await["result"]["state"], "failed");
    }
    let status = app.call("dte.contingency", "get_status", json!([1]), json!({})).await;
    assert_eq!(
        (status["enabled"].as_bool(), status["reason"].as_str()),
        (Some(true), Some("sii_unavailable")),
        "{status}"
    );
    let alerts = app.call("dte.alert", "search_read", json!([[["rule", "=", "contingency_auto"]]]), json!({})).await;
    assert_eq!(alerts.as_array().unwrap().len(), 1);
    let log =
        app.call("dte.audit.log", "search_read", json!([[["action", "=", "contingency.enable"]]]), json!({})).await;
    assert_eq!(log[0]["actor"], "system");
    // While the SII is down, new invoices are kept locally.
    for move_id in 4..=5 {
        assert_eq!(app.send(move_id, 1, 33, COMPANY_RUT).await["result"]["state"], "contingency");
    }
    // Still down: the probe finds nothing to do.
    app.sim.set_faults(Faults { mode: FaultMode::Http500, ..Faults::default() });
    assert_eq!(app.sweep().await.recovered, 0);
    // The SII is back.
    app.sim.set_faults(Faults::default());
    let report = app.sweep().await;
    assert_eq!(report.recovered, 1, "{report:?}");
    let status = app.call("dte.contingency", "get_status", json!([1]), json!({})).await;
    assert_eq!(status["enabled"], false);
    let drained = app.call("account.move", "get_dte_status", json!([[4, 5]]), json!({})).await;
    assert!(drained.as_array().unwrap().iter().all(|d| d["state"] == "sent"), "{drained}");
    // The three that failed go out with their retries.
    app.clock.advance(TimeDelta::hours(1));
    app.sweep().await;
    for move_id in 1..=5 {
        let state = state_of(&app, move_id).await;
        assert!(state == "sent" || state == "accepted", "move {move_id}: {state}");
    }
    for folio in 1..=5 {
        assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, folio), 1, "folio {folio} reached the SII once");
    }
}

#[actix_rt::test]
async fn the_way_back_can_wait_for_a_person() {
    let app = TestApp::spawn_with(|s| s.sii.auto_leave_contingency = false).await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    app.sim.set_faults(Faults { mode: FaultMode::Http500, only: vec![Endpoint::Upload], ..Faults::default() });
    for move_id in 1..=3 {
        app.send(move_id, 1, 33, COMPANY_RUT).await;
    }
    app.sim.set_faults(Faults::default());
    app.sweep().await;
    let status = app.call("dte.contingency", "get_status", json!([1]), json!({})).await;
    assert_eq!(status["enabled"], true, "a person decides");
}

#[actix_rt::test]
async fn restore_rebuilds_deleted_backups_byte_for_byte_and_verify_flags_tampering() {
    let app = app().await;
    for (move_id, dte_type) in [(1, 33), (2, 34), (3, 61)] {
        app.send(move_id, 1, dte_type, COMPANY_RUT).await;
    }
    let fields = json!({
        "fields": ["dte_type", "folio", "rut_emisor", "xml_content", "sha256", "track_id", "sent_date", "company_id",
                   "move_id", "display_name", "xml_filename"],
        "order": "dte_type",
    });
    let before = app.call("dte.backup", "search_read", json!([[]]), fields.clone()).await;
    assert_eq!(before.as_array().unwrap().len(), 3);
    let report = dte_sidecar::owners::backup::verify(&app.ctx).await.unwrap();
    assert_eq!((report.rows, report.copies, report.matching), (3, 3, 3), "{report:?}");

    app.db.conn().batch_execute("DELETE FROM dte_sidecar.dte_backup").unwrap();
    let restored = dte_sidecar::owners::backup::restore(&app.ctx).await.unwrap();
    assert_eq!((restored.copies, restored.restored, restored.already_present), (3, 3, 0), "{restored:?}");
    let after = app.call("dte.backup", "search_read", json!([[]]), fields).await;
    let without_ids = |rows: &Value| -> Vec<Value> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("id");
                r
            })
            .collect()
    };
    assert_eq!(without_ids(&after), without_ids(&before), "rebuilt byte for byte");
    assert_eq!(dte_sidecar::owners::backup::restore(&app.ctx).await.unwrap().restored, 0);

    let key = CopyKey { company_id: 1, dte_type: "34".into(), folio: "1".into() };
    let (_, xml) = app.ctx.archive.get(&key).await.unwrap().unwrap();
    let tampered = String::from_utf8_lossy(&xml).replacen("<MntTotal>", "<MntTotal>9", 1).into_bytes();
    app.ctx.archive.put_raw_xml(&key, tampered).await.unwrap();
    let report = dte_sidecar::owners::backup::verify(&app.ctx).await.unwrap();
    assert_eq!(report.matching, 2);
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(report.problems[0].contains("DTE 34 folio 1") && report.problems[0].contains("differs"), "{report:?}");
}

#[actix_rt::test]
async fn retention_removes_only_old_backups_whose_copy_is_there() {
    let app = app().await;
    app.send(1, 1, 33, COMPANY_RUT).await;
    app.send(2, 1, 34, COMPANY_RUT).await;
    // The second one's copy is lost.
    app.db.conn().batch_execute("UPDATE dte_sidecar.dte_backup SET copied_at = NULL WHERE dte_type = '34'").unwrap();
    app.ctx.archive.delete(&CopyKey { company_id: 1, dte_type: "34".into(), folio: "1".into() }).await.unwrap();
    app.clock.advance(TimeDelta::days(365 * 6 - 10));
    // Odoo's weekly "Cleanup Old Backups" runs the retention through RPC and logs the answer.
    let answer = app.call("dte.backup", "run_retention", json!([]), json!({})).await;
    assert_eq!(answer, json!({"removed": 0, "retention_years": 6}), "not six years yet");
    app.clock.advance(TimeDelta::days(20));
    let answer = app.call("dte.backup", "run_retention", json!([]), json!({})).await;
    assert_eq!(answer["removed"], 1);
    let left = app.call("dte.backup", "search_read", json!([[]]), json!({"fields": ["dte_type"]})).await;
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["dte_type"], "34", "kept: its copy is gone, the row is the only one left");
    assert!(app
        .ctx
        .archive
        .get(&CopyKey { company_id: 1, dte_type: "33".into(), folio: "1".into() })
        .await
        .unwrap()
        .is_none());
}

#[actix_rt::test]
async fn every_alert_rule_fires_and_is_mailed() {
    let sink = MailSink::start();
    let port = sink.port;
    let app = TestApp::spawn_with(move |s| {
        s.smtp.host = "127.0.0.1".into();
        s.smtp.port = port;
        s.smtp.security = "none".into();
        s.smtp.to = "contabilidad@example.invalid".into();
    })
    .await;
    app.register_company(1, COMPANY_RUT).await;
    app.call(
        "dte.company",
        "register",
        json!([]),
        json!({"company_id": 1, "rut": COMPANY_RUT, "name": "Empresa 1", "resolution_date": "2026-01-02"}),
    )
    .await;
    // 11 documents waiting in the queue, none retried successfully.
    for folio in 1..=11 {
        app.call(
            "dte.failed.queue",
            "add_failed_dte",
            json!([
                "33",
                folio.to_string(),
                common::dte_xml("33", &folio.to_string()),
                "timeout",
                "SII timeout",
                folio
            ]),
            json!({"company_id": 1}),
        )
        .await;
    }
    // Contingency for more than a day.
    app.call("dte.contingency", "enable_contingency", json!([1]), json!({})).await;
    // A CAF with only 10 folios.
    let p12 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        common::engine::fixture("keys/signer-11111111-1.p12"),
    );
    app.call("dte.company", "set_certificate", json!([1, p12, "1234"]), json!({})).await;
    let caf = common::mint_caf(COMPANY_RUT, 52, 1, 10, app.clock.now().date());
    app.call("dte.caf", "load", json!([1, caf]), json!({})).await;
    app.clock.advance(TimeDelta::hours(25));

    let report = app.sweep().await;
    // Nothing was retried yet (the queued XML cannot be sent): no retry rate to alert on.
    assert_eq!(report.alerts, 3, "{report:?}");
    let alerts = app
        .call(
            "dte.alert",
            "search_read",
            json!([[["resolved_at", "=", false]]]),
            json!({"order": "rule", "fields": ["rule", "message", "notified_at"]}),
        )
        .await;
    let rules: Vec<&str> = alerts.as_array().unwrap().iter().map(|a| a["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["contingency_long", "folios_low", "queue_backlog"]);
    assert!(alerts.as_array().unwrap().iter().all(|a| a["notified_at"].is_string()));
    let mail = sink.messages();
    assert_eq!(mail.len(), 3);
    for rule in rules {
        assert!(mail.iter().any(|m| m.contains(rule)), "{rule} mailed");
    }
    // The same hour again: no new alerts, no new mail.
    app.clock.advance(TimeDelta::minutes(30));
    assert_eq!(app.sweep().await.alerts, 0);
    // A rule that stops holding resolves its alert.
    app.call("dte.contingency", "disable_contingency", json!([1]), json!({})).await;
    app.clock.advance(TimeDelta::hours(1));
    app.sweep().await;
    let open: Value = app
        .call(
            "dte.alert",
            "search_count",
            json!([[["rule", "=", "contingency_long"], ["resolved_at", "=", false]]]),
            json!({}),
        )
        .await;
    assert_eq!(open, 0);
    assert_eq!(sink.messages().len(), 3);
}

#[actix_rt::test]
async fn kpis_per_company() {
    let app = app().await;
    app.send(1, 1, 33, COMPANY_RUT).await;
    app.sim.set_faults(Faults { mode: FaultMode::Http500, only: vec![Endpoint::Upload], ..Faults::default() });
    app.send(2, 1, 33, COMPANY_RUT).await;
    app.sim.set_faults(Faults::default());
    app.clock.advance(TimeDelta::hours(1));
    app.sweep().await;
    app.send(3, 1, 34, COMPANY_RUT).await;
    let kpis = app.call("dte.dashboard", "get_kpis", json!([1]), json!({})).await;
    assert_eq!(kpis["failed_queue_count"], 0);
    assert_eq!(kpis["retry_success_rate"], 100.0);
    assert_eq!(kpis["contingency_active"], false);
    assert_eq!(kpis["pending_contingency_count"], 0);
    assert!(kpis["backup_storage_mb"].as_f64().unwrap() > 0.0);
    assert_eq!(kpis["documents_by_state"]["sent"], 2);
    assert_eq!(kpis["documents_by_state"]["accepted"], 1, "{kpis}");
    assert_eq!(kpis["folios_left"]["33"], 98);
}
