//! `account.move.action_send_to_sii` against the simulated SII: the happy path to a
//! verdict, the retry schedule (1, 2, 4, 8, 16 h on a clock the test moves), recovery,
//! permanent errors, unknown outcomes, and the manual actions.

use crate::common::{self, error_of, TestApp, COMPANY_RUT};

use chrono::TimeDelta;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use dte_sidecar::clock::Clock;
use dte_sidecar::sii::simulator::faults::{Endpoint, FaultMode, Faults};
use dte_sidecar::sii::simulator::state::Outcome;

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    app
}

fn upload_fault(mode: FaultMode) -> Faults {
    Faults { mode, only: vec![Endpoint::Upload], hang_secs: 5, ..Faults::default() }
}

async fn entry_of(app: &TestApp, move_id: i32) -> Value {
    let rows = app
        .call("dte.failed.queue", "search_read", json!([[["move_id", "=", move_id]]]), json!({"order": "id desc"}))
        .await;
    rows[0].clone()
}

async fn document_of(app: &TestApp, move_id: i32) -> Value {
    app.call("account.move", "get_dte_status", json!([[move_id]]), json!({})).await[0].clone()
}

#[actix_rt::test]
async fn happy_path_sent_backed_up_then_accepted() {
    let app = app().await;
    let answer = app.send(10, 1, 33, COMPANY_RUT).await;
    let result = &answer["result"];
    assert_eq!(result["state"], "sent", "{answer}");
    assert_eq!(result["folio"], 1);
    assert_eq!(result["dte_type"], "33");
    let track_id = result["track_id"].as_str().expect("track id").to_string();

    let backups = app.call("dte.backup", "search_read", json!([[["move_id", "=", 10]]]), json!({})).await;
    assert_eq!(backups.as_array().unwrap().len(), 1);
    assert_eq!(backups[0]["track_id"], track_id.as_str());
    assert_eq!(backups[0]["folio"], "1");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 1);

    // The SII decides later: the status poll finds the verdict.
    app.clock.advance(TimeDelta::seconds(61));
    let report = app.sweep().await;
    assert_eq!(report.polled, 1);
    let document = document_of(&app, 10).await;
    assert_eq!(document["state"], "accepted", "{document}");

    // Every state the document went through, with its time.
    let transitions = app
        .call(
            "dte.document.transition",
            "search_read",
            json!([[["document_id", "=", result["document_id"]]]]),
            json!({"fields": ["from_state", "to_state", "at"], "order": "id"}),
        )
        .await;
    let path: Vec<&str> = transitions.as_array().unwrap().iter().map(|t| t["to_state"].as_str().unwrap()).collect();
    assert_eq!(path, ["generated", "sending", "sent", "accepted"]);
    assert_eq!(transitions[3]["at"], "2026-03-02 12:01:01");
}

#[actix_rt::test]
async fn the_same_move_gets_the_same_document_and_each_type_its_own_folios() {
    let app = app().await;
    let first = app.send(20, 1, 33, COMPANY_RUT).await["result"].clone();
    let again = app.send(20, 1, 33, COMPANY_RUT).await["result"].clone();
    assert_eq!(first["document_id"], again["document_id"]);
    assert_eq!(first["folio"], again["folio"]);
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 1, "never uploaded twice");
    for (move_id, dte_type) in [(21, 34), (22, 52), (23, 56), (24, 61), (25, 33)] {
        let answer = app.send(move_id, 1, dte_type, COMPANY_RUT).await;
        assert_eq!(answer["result"]["state"], "sent", "{dte_type}: {answer}");
        let expected_folio = if dte_type == 33 { 2 } else { 1 };
        assert_eq!(answer["result"]["folio"], expected_folio, "{dte_type}");
    }
    // Twenty parallel sends of new moves: twenty distinct folios.
    let sends = (100..120).map(|m| app.send(m, 1, 61, COMPANY_RUT));
    let answers = futures::future::join_all(sends).await;
    let mut folios: Vec<i64> = answers.iter().map(|a| a["result"]["folio"].as_i64().expect("folio")).collect();
    folios.sort_unstable();
    folios.dedup();
    assert_eq!(folios.len(), 20);
}

#[actix_rt::test]
async fn bad_documents_are_refused_before_any_folio_is_used() {
    let app = app().await;
    let mut doc = app.document(33, COMPANY_RUT);
    doc["totals"]["iva"] = json!(1);
    let answer = app.execute_kw("account.move", "action_send_to_sii", json!([30, 1, doc]), json!({})).await;
    let (name, message) = error_of(&answer);
    assert_eq!(name, "odoo.exceptions.ValidationError");
    assert!(message.starts_with("document.totals.iva"), "{message}");
    let mut other_company = app.document(33, COMPANY_RUT);
    other_company["issuer"]["rut"] = json!("11111111-1");
    let (_, message) =
        error_of(&app.execute_kw("account.move", "action_send_to_sii", json!([30, 1, other_company]), json!({})).await);
    assert!(message.contains("document.issuer.rut"), "{message}");
    let (_, message) = error_of(
        &app.execute_kw(
            "account.move",
            "action_send_to_sii",
            json!([30, 1, app.document(33, COMPANY_RUT), 500]),
            json!({}),
        )
        .await,
    );
    assert!(message.contains("folio: 500 is not in any CAF"), "{message}");
    // Nothing was consumed: the next document gets folio 1.
    let answer = app.send(30, 1, 33, COMPANY_RUT).await;
    assert_eq!(answer["result"]["folio"], 1, "{answer}");
    // A folio chosen by the caller is checked and then skipped by the allocator.
    let answer = app
        .execute_kw("account.move", "action_send_to_sii", json!([31, 1, app.document(33, COMPANY_RUT), 2]), json!({}))
        .await;
    assert_eq!(answer["result"]["folio"], 2, "{answer}");
    let (_, message) = error_of(
        &app.execute_kw(
            "account.move",
            "action_send_to_sii",
            json!([32, 1, app.document(33, COMPANY_RUT), 2]),
            json!({}),
        )
        .await,
    );
    assert!(message.contains("folio 2 of DTE 33 is already used"), "{message}");
    assert_eq!(app.send(33, 1, 33, COMPANY_RUT).await["result"]["folio"], 3);
}

#[actix_rt::test]
async fn an_outage_queues_the_document_with_its_error_type() {
    let app = app().await;
    for (move_id, mode, error_type) in [
        (40, FaultMode::Http500, "unavailable"),
        (41, FaultMode::Refuse, "connection"),
        (42, FaultMode::Hang, "timeout"),
    ] {
        app.sim.set_faults(upload_fault(mode));
        if mode == FaultMode::Refuse {
            // Refusing applies to the whole listener.
            app.sim.set_faults(Faults { mode, ..Faults::default() });
            while std::net::TcpStream::connect(app.sim_base.trim_start_matches("http://")).is_ok() {
                actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        let answer = app.send(move_id, 1, 33, COMPANY_RUT).await;
        assert_eq!(answer["result"]["state"], "failed", "{mode:?}: {answer}");
        let entry = entry_of(&app, move_id).await;
        assert_eq!(entry["error_type"], error_type, "{mode:?}");
        assert_eq!(entry["state"], "pending");
        assert_eq!(entry["next_retry_date"], "2026-03-02 13:00:00");
        app.sim.set_faults(Faults::default());
        while std::net::TcpStream::connect(app.sim_base.trim_start_matches("http://")).is_err() {
            actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

#[actix_rt::test]
async fn retries_run_at_1_2_4_8_16_hours_then_the_entry_is_abandoned() {
    let app = app().await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    app.send(50, 1, 33, COMPANY_RUT).await;
    let mut expected_next = app.clock.now() + TimeDelta::hours(1);
    for (retry, hours) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16)] {
        // Not a minute early.
        app.clock.advance(TimeDelta::hours(hours) - TimeDelta::minutes(1));
        assert_eq!(app.sweep().await.retried, 0, "retry {retry} ran early");
        app.clock.advance(TimeDelta::minutes(1));
        assert_eq!(app.clock.now(), expected_next);
        assert_eq!(app.sweep().await.retried, 1, "retry {retry}");
        let entry = entry_of(&app, 50).await;
        assert_eq!(entry["retry_count"], retry);
        assert_eq!(entry["last_retry_date"], expected_next.format("%Y-%m-%d %H:%M:%S").to_string());
        if retry < 5 {
            expected_next += TimeDelta::hours(1 << retry);
            assert_eq!(entry["state"], "pending");
            assert_eq!(entry["next_retry_date"], expected_next.format("%Y-%m-%d %H:%M:%S").to_string());
        } else {
            assert_eq!(entry["state"], "abandoned");
            assert_eq!(entry["next_retry_date"], false);
        }
    }
    assert_eq!(document_of(&app, 50).await["state"], "abandoned");
    let history: Vec<Value> =
        serde_json::from_str(entry_of(&app, 50).await["retry_history"].as_str().unwrap()).unwrap();
    assert_eq!(history.len(), 6, "the first failure and five retries: {history:?}");
    // Abandoned stays abandoned.
    app.clock.advance(TimeDelta::days(3));
    assert_eq!(app.sweep().await.retried, 0);
    assert_eq!(app.sim.upload_count(), 0, "the SII never got it");
}

#[actix_rt::test]
async fn recovery_half_way_succeeds_and_backs_up() {
    let app = app().await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    app.send(60, 1, 61, COMPANY_RUT).await;
    app.clock.advance(TimeDelta::hours(1));
    app.sweep().await;
    assert_eq!(entry_of(&app, 60).await["retry_count"], 1);
    app.sim.set_faults(Faults::default());
    app.clock.advance(TimeDelta::hours(2));
    assert_eq!(app.sweep().await.retried, 1);
    let entry = entry_of(&app, 60).await;
    assert_eq!(entry["state"], "success");
    // The retry that succeeded counts: a failed one, then this one.
    assert_eq!(entry["retry_count"], 2, "{entry}");
    let history: Vec<Value> = serde_json::from_str(entry["retry_history"].as_str().unwrap()).unwrap();
    assert_eq!(
        (history.last().unwrap()["event"].as_str(), history.last().unwrap()["retry"].as_i64()),
        (Some("success"), Some(2))
    );
    assert!(entry["success_track_id"].is_string());
    assert_eq!(entry["success_date"], app.clock.now().format("%Y-%m-%d %H:%M:%S").to_string());
    assert_eq!(document_of(&app, 60).await["state"], "sent");
    let backups = app
        .call(
            "dte.backup",
            "search_count",
            json!([[["move_id", "=", 60], ["track_id", "=", entry["success_track_id"]]]]),
            json!({}),
        )
        .await;
    assert_eq!(backups, 1);
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 61, 1), 1);
}

#[actix_rt::test]
async fn a_permanent_error_is_not_retried_until_a_person_acts() {
    let app = app().await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    let document_id = app.send(70, 1, 33, COMPANY_RUT).await["result"]["document_id"].as_i64().unwrap();
    // The stored envelope gets damaged: its signature no longer holds (STATUS 8).
    app.db
        .conn()
        .batch_execute(&format!(
            "UPDATE dte_sidecar.dte_envelope \
             SET xml_content = convert_to(replace(convert_from(xml_content, 'LATIN1'), '<MntTotal>', '<MntTotal>1'), \
             'LATIN1') \
             WHERE id = (SELECT envelope_id FROM dte_sidecar.dte_document WHERE id = {document_id})"
        ))
        .unwrap();
    app.sim.set_faults(Faults::default());
    app.clock.advance(TimeDelta::hours(1));
    app.sweep().await;
    let entry = entry_of(&app, 70).await;
    assert_eq!(entry["error_type"], "validation", "{entry}");
    assert_eq!(entry["state"], "pending");
    assert_eq!(entry["next_retry_date"], false, "no automatic retry");
    let document = document_of(&app, 70).await;
    assert_eq!(document["state"], "failed");
    assert_eq!(document["sii_code"], "STATUS 8");
    assert!(document["message"].as_str().unwrap().contains("a person must act"));
    // What a person reads travels as a code with its parameters, on the document, on its
    // queue entry and in the entry's history.
    assert_eq!(document["message_code"], "sii.upload_status", "{document}");
    assert_eq!(document["message_params"]["status"], "8", "{document}");
    assert_eq!(entry["error_code"], "sii.upload_status", "{entry}");
    let params: Value = serde_json::from_str(entry["error_params"].as_str().unwrap()).unwrap();
    assert_eq!(params["status"], "8", "{entry}");
    let history: Value = serde_json::from_str(entry["retry_history"].as_str().unwrap()).unwrap();
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(last["said"]["code"], "sii.upload_status", "{history}");
    app.clock.advance(TimeDelta::days(2));
    assert_eq!(app.sweep().await.retried, 0);
}

#[actix_rt::test]
async fn a_lost_answer_is_reconciled_and_the_folio_reaches_the_sii_once() {
    let app = app().await;
    // The SII takes the upload but its answer never comes.
    app.sim.set_faults(Faults {
        mode: FaultMode::AnswerLost,
        only: vec![Endpoint::Upload],
        hang_secs: 4,
        ..Faults::default()
    });
    let answer = app.send(80, 1, 33, COMPANY_RUT).await;
    assert_eq!(answer["result"]["state"], "failed", "{answer}");
    assert_eq!(entry_of(&app, 80).await["error_type"], "timeout");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 1, "the SII has it");
    app.sim.set_faults(Faults::default());
    app.clock.advance(TimeDelta::hours(1));
    app.sweep().await;
    let document = document_of(&app, 80).await;
    assert_eq!(document["state"], "sent", "{document}");
    assert_eq!(document["sii_code"], "STATUS 99", "reconciled with the first upload");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 1, "received exactly once");
    assert_eq!(entry_of(&app, 80).await["state"], "success");
}

#[actix_rt::test]
async fn an_upload_cut_by_a_crash_is_reconciled_by_the_sweep() {
    let app = app().await;
    let sent = app.send(90, 1, 33, COMPANY_RUT).await["result"].clone();
    // As if the process died after the upload reached the SII and before its record:
    // the document is back in `sending` with its lease.
    app.db
        .conn()
        .batch_execute(&format!(
            "UPDATE dte_sidecar.dte_document SET state = 'sending', track_id = NULL, \
             lease_until = '2026-03-02 12:05:00' WHERE id = {}; \
             UPDATE dte_sidecar.dte_envelope SET state = 'created', track_id = NULL \
             WHERE id = (SELECT envelope_id FROM dte_sidecar.dte_document WHERE id = {0})",
            sent["document_id"]
        ))
        .unwrap();
    assert_eq!(app.sweep().await.reconciled, 0, "still within its lease");
    app.clock.advance(TimeDelta::minutes(6));
    assert_eq!(app.sweep().await.reconciled, 1);
    let document = document_of(&app, 90).await;
    assert_eq!((document["state"].as_str(), document["track_id"].clone()), (Some("sent"), sent["track_id"].clone()));
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 1);
}

#[actix_rt::test]
async fn a_retry_cut_by_a_crash_closes_its_entry_as_settled_not_as_retry_zero() {
    let app = app().await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    let sent = app.send(95, 1, 33, COMPANY_RUT).await["result"].clone();
    app.sim.set_faults(Faults::default());
    // As if a retry claimed the entry (and its document) and the process died before its
    // upload was made or recorded.
    app.db
        .conn()
        .batch_execute(&format!(
            "UPDATE dte_sidecar.dte_failed_queue SET state = 'retrying', last_retry_date = '2026-03-02 12:00:00' \
             WHERE document_id = {0}; \
             UPDATE dte_sidecar.dte_document SET state = 'sending', lease_until = '2026-03-02 12:05:00' WHERE id = {0}",
            sent["document_id"]
        ))
        .unwrap();
    app.clock.advance(TimeDelta::minutes(6));
    let report = app.sweep().await;
    assert_eq!((report.released, report.reconciled), (1, 1), "{report:?}");
    let entry = entry_of(&app, 95).await;
    assert_eq!((entry["state"].as_str(), entry["retry_count"].as_i64()), (Some("success"), Some(0)), "{entry}");
    let history: Vec<Value> = serde_json::from_str(entry["retry_history"].as_str().unwrap()).unwrap();
    let events: Vec<&str> = history.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["failed", "settled"], "no retry of its own: not \"success, retry 0\"");
    assert_eq!(history[1]["track_id"], entry["success_track_id"]);
    assert!(history[1].get("retry").is_none());
    assert_eq!(document_of(&app, 95).await["state"], "sent");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 1);
    // The rule `dte-sidecar queue check` holds the queue to: this history keeps it, and the
    // same entry with one retry recorded twice breaks it.
    let mut conn = app.db.conn();
    assert_eq!(dte_sidecar::owners::failed_queue::breaches(&mut conn).unwrap(), (1, Vec::<String>::new()));
    conn.batch_execute(
        "UPDATE dte_sidecar.dte_failed_queue SET retry_count = 2, retry_history = \
         '[{\"date\": \"2026-03-02 12:00:00\", \"event\": \"retry_failed\", \"retry\": 1, \"error_type\": \"timeout\", \"error_message\": \"x\"}, \
           {\"date\": \"2026-03-02 13:00:00\", \"event\": \"retry_failed\", \"retry\": 1, \"error_type\": \"timeout\", \"error_message\": \"x\"}]'",
    )
    .unwrap();
    let (read, breaches) = dte_sidecar::owners::failed_queue::breaches(&mut conn).unwrap();
    assert_eq!(read, 1);
    assert_eq!(breaches.len(), 1);
    assert!(breaches[0].ends_with("event 1 (retry_failed) counts retry 1, expected 2"), "{breaches:?}");
}

#[actix_rt::test]
async fn rejected_and_objected_verdicts_reach_the_document() {
    let app = app().await;
    app.sim.script(COMPANY_RUT, 33, 1, Outcome::Reject);
    app.sim.script(COMPANY_RUT, 33, 2, Outcome::Objected);
    app.send(110, 1, 33, COMPANY_RUT).await;
    app.send(111, 1, 33, COMPANY_RUT).await;
    app.clock.advance(TimeDelta::minutes(2));
    app.sweep().await;
    assert_eq!(document_of(&app, 110).await["state"], "rejected");
    assert_eq!(document_of(&app, 111).await["state"], "accepted_with_objections");
}

#[actix_rt::test]
async fn manual_retry_abandon_and_requeue_are_audited() {
    let app = app().await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    app.send(120, 1, 33, COMPANY_RUT).await;
    app.send(121, 1, 34, COMPANY_RUT).await;
    let first = entry_of(&app, 120).await["id"].as_i64().unwrap();
    let second = entry_of(&app, 121).await["id"].as_i64().unwrap();

    let ctx = json!({"context": {"uid": 9}});
    let results = app.call("dte.failed.queue", "retry_send", json!([[first]]), ctx.clone()).await;
    assert_eq!(results[0]["success"], false);
    assert_eq!(entry_of(&app, 120).await["retry_count"], 1);

    app.call("dte.failed.queue", "abandon", json!([[second], "cliente anuló la venta"]), ctx.clone()).await;
    assert_eq!(document_of(&app, 121).await["state"], "abandoned");
    let answer = app.execute_kw("dte.failed.queue", "retry_send", json!([[second]]), ctx.clone()).await;
    assert_eq!(error_of(&answer).0, "odoo.exceptions.UserError", "an abandoned entry is requeued first");

    app.sim.set_faults(Faults::default());
    app.call("dte.failed.queue", "requeue", json!([[second]]), ctx.clone()).await;
    let requeued = entry_of(&app, 121).await;
    assert_eq!((requeued["state"].as_str(), requeued["retry_count"].as_i64()), (Some("pending"), Some(0)));
    assert_eq!(document_of(&app, 121).await["state"], "failed");
    let results = app.call("dte.failed.queue", "retry_send", json!([[second, first]]), ctx.clone()).await;
    assert_eq!(results[0]["success"], true, "{results}");
    assert_eq!(results[1]["success"], true, "{results}");
    assert_eq!(document_of(&app, 121).await["state"], "sent");

    let log = app
        .call(
            "dte.audit.log",
            "search_read",
            json!([[["action", "ilike", "failed_queue"]]]),
            json!({"order": "id", "fields": ["action", "actor_uid", "target_id"]}),
        )
        .await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "failed_queue.retry_now",
            "failed_queue.abandon",
            "failed_queue.requeue",
            "failed_queue.retry_now",
            "failed_queue.retry_now"
        ]
    );
    assert!(log.as_array().unwrap().iter().all(|r| r["actor_uid"] == 9));
    let missing = app.execute_kw("dte.failed.queue", "retry_send", json!([[999999]]), json!({})).await;
    assert_eq!(error_of(&missing).0, "odoo.exceptions.MissingError");
}

#[actix_rt::test]
async fn a_call_acts_only_for_the_companies_of_its_context() {
    let app = app().await;
    app.send(130, 1, 33, COMPANY_RUT).await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    app.send(131, 1, 33, COMPANY_RUT).await;
    let entry = entry_of(&app, 131).await["id"].clone();
    let backup = app.call("dte.backup", "search", json!([[["move_id", "=", 130]]]), json!({})).await[0].clone();
    let elsewhere = json!({"context": {"allowed_company_ids": [2]}});
    let forbidden = app.execute_kw("dte.contingency", "enable_contingency", json!([1]), elsewhere.clone()).await;
    assert_eq!(error_of(&forbidden).0, "odoo.exceptions.AccessError");
    let (status, _) = app
        .json2("dte.contingency", "get_status", json!({"company_id": 1, "context": {"allowed_company_ids": [2]}}))
        .await;
    assert_eq!(status, 403);
    for (model, method, args) in [
        ("dte.backup", "download_xml", json!([[backup]])),
        ("dte.failed.queue", "retry_send", json!([[entry]])),
        ("dte.failed.queue", "abandon", json!([[entry]])),
    ] {
        let answer = app.execute_kw(model, method, args, elsewhere.clone()).await;
        assert_eq!(error_of(&answer).0, "odoo.exceptions.MissingError", "{model}.{method}");
    }
    let statuses = app.call("account.move", "get_dte_status", json!([[130, 131]]), elsewhere).await;
    assert_eq!(statuses, json!([]));
    assert_eq!(entry_of(&app, 131).await["state"], "pending", "nothing happened");
    // Every send is in the audit log with who sent it.
    let sends = app.call("dte.audit.log", "search_count", json!([[["action", "=", "document.send"]]]), json!({})).await;
    assert_eq!(sends, 2);
}

#[actix_rt::test]
async fn folios_chosen_by_the_caller_count_against_the_stock() {
    let app = app().await;
    for (move_id, folio) in [(140, 1), (141, 2), (142, 5)] {
        let answer = app
            .execute_kw(
                "account.move",
                "action_send_to_sii",
                json!([move_id, 1, app.document(33, COMPANY_RUT), folio]),
                json!({}),
            )
            .await;
        assert_eq!(answer["result"]["folio"], folio, "{answer}");
    }
    let stock = app.call("dte.caf", "folios_left", json!([1]), json!({})).await;
    assert_eq!(stock[0], json!({"dte_type": "33", "folios_left": 97, "low": false}));
    assert_eq!(app.send(143, 1, 33, COMPANY_RUT).await["result"]["folio"], 3);
    let kpis = app.call("dte.dashboard", "get_kpis", json!([1]), json!({})).await;
    assert_eq!(kpis["folios_left"]["33"], 96);
}

#[actix_rt::test]
async fn retry_due_retries_what_is_due_now_and_leaves_the_rest() {
    let app = app().await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    app.send(130, 1, 33, COMPANY_RUT).await;
    app.clock.advance(TimeDelta::minutes(30));
    app.send(131, 1, 33, COMPANY_RUT).await;
    app.sim.set_faults(Faults::default());
    // Nothing is due yet: nothing is touched.
    let report = app.call("dte.failed.queue", "retry_due", json!([]), json!({})).await;
    assert_eq!((report["due"].as_i64(), report["retried"].as_i64()), (Some(0), Some(0)), "{report}");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 0);
    // One hour after the first failure: the first entry is due, the second is not.
    app.clock.advance(TimeDelta::minutes(30));
    let report = app.call("dte.failed.queue", "retry_due", json!([]), json!({})).await;
    assert_eq!(report["due"], 1, "{report}");
    assert_eq!(report["retried"], 1);
    assert_eq!(report["succeeded"], 1);
    assert_eq!(report["failed"], 0);
    let first = entry_of(&app, 130).await;
    assert_eq!((first["state"].as_str(), first["retry_count"].as_i64()), (Some("success"), Some(1)));
    let second = entry_of(&app, 131).await;
    assert_eq!((second["state"].as_str(), second["retry_count"].as_i64()), (Some("pending"), Some(0)));
    assert_eq!(second["last_retry_date"], false, "not touched");
    assert_eq!(document_of(&app, 131).await["state"], "failed");
    // Only the caller's companies.
    app.clock.advance(TimeDelta::minutes(30));
    let elsewhere =
        app.call("dte.failed.queue", "retry_due", json!([]), json!({"context": {"allowed_company_ids": [2]}})).await;
    assert_eq!(elsewhere["due"], 0, "{elsewhere}");
    assert_eq!(entry_of(&app, 131).await["state"], "pending");
    // Bad input changes nothing.
    let answer = app.execute_kw("dte.failed.queue", "retry_due", json!([]), json!({"limit": 100000})).await;
    assert_eq!(error_of(&answer).0, "odoo.exceptions.ValidationError", "{answer}");
    assert_eq!(entry_of(&app, 131).await["state"], "pending");
}

async fn open_rate_alerts(app: &TestApp) -> Value {
    app.call(
        "dte.alert",
        "search_count",
        json!([[["rule", "=", "retry_success_low"], ["resolved_at", "=", false]]]),
        json!({}),
    )
    .await
}

#[actix_rt::test]
async fn the_retry_rate_alerts_only_after_retries_and_resolves_when_they_succeed() {
    let app = app().await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    app.send(140, 1, 33, COMPANY_RUT).await;
    // In the queue, never retried: no rate yet, no alert.
    dte_sidecar::flows::alert_checks::check(&app.ctx).await.unwrap();
    assert_eq!(open_rate_alerts(&app).await, 0, "no retry has run");
    let kpis = app.call("dte.dashboard", "get_kpis", json!([1]), json!({})).await;
    assert_eq!((kpis["retried_count"].as_i64(), kpis["retry_success_rate"].clone()), (Some(0), Value::Null));
    // A retry fails: 0 % of one retried document.
    app.clock.advance(TimeDelta::hours(1));
    assert_eq!(app.sweep().await.retried, 1);
    assert_eq!(open_rate_alerts(&app).await, 1, "0 % of retries succeeded");
    // The next retry succeeds: the rate is 100 % and the alert is resolved at once.
    app.sim.set_faults(Faults::default());
    let entry = entry_of(&app, 140).await["id"].as_i64().unwrap();
    let results = app.call("dte.failed.queue", "retry_send", json!([[entry]]), json!({})).await;
    assert_eq!(results[0]["success"], true, "{results}");
    let kpis = app.call("dte.dashboard", "get_kpis", json!([1]), json!({})).await;
    assert_eq!(kpis["retry_success_rate"], 100.0, "{kpis}");
    assert_eq!(open_rate_alerts(&app).await, 0, "the alert's condition ended");
}

#[actix_rt::test]
async fn a_call_that_dies_after_reserving_its_folio_is_completed_by_the_sweep() {
    use dte_sidecar::input::args::DteType;
    use dte_sidecar::owners::folios::{self, Ask, Hold};
    let app = app().await;
    // As a call leaves it when the process dies between reserving the folio and storing
    // the stamped document: the reservation committed, nothing else.
    let request = app.document(33, COMPANY_RUT).to_string();
    let now = app.clock.now();
    let mut conn = app.db.conn();
    let hold = diesel::Connection::transaction(&mut conn, |conn| {
        folios::reserve(
            conn,
            &Ask {
                company_id: 1,
                move_id: 40,
                dte_type: DteType::new(33).expect("type"),
                chosen: None,
                request: &request,
                now,
                lease_until: now + TimeDelta::minutes(5),
            },
        )
    })
    .expect("reserve");
    let Hold::Taken(reservation) = hold else { panic!("a new move's folio is free") };
    assert_eq!(reservation.folio.value(), 1);

    // The folio stays with its move: other moves get the next ones, and Odoo's retry of
    // the same move inside the lease does not take a second folio.
    assert_eq!(app.send(41, 1, 33, COMPANY_RUT).await["result"]["folio"], 2);
    assert_eq!(app.sweep().await.completed, 0, "still within its lease");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 0);

    app.clock.advance(TimeDelta::minutes(6));
    assert_eq!(app.sweep().await.completed, 1);
    let document = document_of(&app, 40).await;
    assert_eq!((document["state"].as_str(), &document["folio"]), (Some("sent"), &json!(1)), "{document}");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 1, "the reserved folio reached the SII once");
    assert_eq!(app.sweep().await.completed, 0, "nothing left to complete");
    let again = app.send(40, 1, 33, COMPANY_RUT).await["result"].clone();
    assert_eq!(again["document_id"], document["document_id"]);
    assert_eq!(app.send(42, 1, 33, COMPANY_RUT).await["result"]["folio"], 3);
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 1);
}

#[actix_rt::test]
async fn concurrent_calls_for_one_move_share_one_document_and_one_folio() {
    let app = app().await;
    let sends = (0..10).map(|_| app.send(60, 1, 33, COMPANY_RUT));
    let answers = futures::future::join_all(sends).await;
    let ids: Vec<&Value> = answers.iter().map(|a| &a["result"]["document_id"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0] && id.is_number()), "{answers:?}");
    assert!(answers.iter().all(|a| a["result"]["folio"] == 1), "{answers:?}");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, 1), 1);
    assert_eq!(app.send(61, 1, 33, COMPANY_RUT).await["result"]["folio"], 2, "one folio taken for the ten calls");
}

#[actix_rt::test]
async fn a_document_that_cannot_be_stamped_gives_its_folio_back() {
    let app = app().await;
    // A company whose SII resolution is missing: the envelope's cover cannot be written,
    // which is found only while stamping, after the folio was reserved.
    app.register_company(2, "76000002-7").await;
    let p12 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        common::engine::fixture("keys/signer-11111111-1.p12"),
    );
    app.call("dte.company", "set_certificate", json!([2, p12, common::engine::P12_PASSWORD]), json!({})).await;
    let caf = common::mint_caf("76000002-7", 33, 1, 10, app.clock.now().date() - TimeDelta::days(1));
    app.call("dte.caf", "load", json!([2, caf]), json!({})).await;

    let (name, message) = error_of(&app.send(70, 2, 33, "76000002-7").await);
    assert_eq!(name, "odoo.exceptions.UserError");
    assert!(message.contains("no SII resolution date"), "{message}");
    app.call(
        "dte.company",
        "register",
        json!([]),
        json!({"company_id": 2, "rut": "76000002-7", "name": "Empresa 2 SpA",
               "resolution_number": 80, "resolution_date": "2026-01-02"}),
    )
    .await;
    // The folio was not skipped: the next document, of any move, is folio 1.
    let answer = app.send(71, 2, 33, "76000002-7").await;
    assert_eq!((answer["result"]["state"].as_str(), &answer["result"]["folio"]), (Some("sent"), &json!(1)), "{answer}");
    assert_eq!(app.send(70, 2, 33, "76000002-7").await["result"]["folio"], 2);
    assert_eq!(app.sim.arrivals("76000002-7", 33, 1), 1);
}

#[actix_rt::test]
async fn a_document_queued_with_only_its_xml_is_wrapped_once_and_sent_once() {
    let app = app().await;
    // A signed DTE that never reached the SII: issued in contingency, then handed to the
    // queue by its XML alone (as Odoo's add_failed_dte does), its pending copy set aside.
    app.call("dte.contingency", "enable_contingency", json!([1]), json!({})).await;
    let held = app.send(95, 1, 33, COMPANY_RUT).await["result"].clone();
    assert_eq!(held["state"], "contingency", "{held}");
    let xml: String = {
        #[derive(diesel::QueryableByName)]
        struct Xml {
            #[diesel(sql_type = diesel::sql_types::Text)]
            xml: String,
        }
        let row: Xml = diesel::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT convert_from(xml_content, 'ISO-8859-1') AS xml FROM dte_sidecar.dte_contingency_pending",
            ),
            &mut app.db.conn(),
        )
        .unwrap();
        row.xml
    };
    app.db.conn().batch_execute("DELETE FROM dte_sidecar.dte_contingency_pending").unwrap();
    app.call("dte.contingency", "disable_contingency", json!([1]), json!({})).await;
    let entry = app
        .call(
            "dte.failed.queue",
            "add_failed_dte",
            json!(["33", held["folio"].to_string(), xml, "timeout", "SII timeout", 96]),
            json!({"company_id": 1}),
        )
        .await;
    let folio = held["folio"].as_i64().expect("folio");
    let results = app.call("dte.failed.queue", "retry_send", json!([[entry]]), json!({})).await;
    assert_eq!(results[0]["success"], true, "{results}");
    let row = &app.call("dte.failed.queue", "read", json!([[entry], ["state", "envelope_id"]]), json!({})).await[0];
    assert_eq!(row["state"], "success", "{row}");
    assert!(row["envelope_id"].is_number(), "the envelope is kept for any later attempt: {row}");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, folio), 1);
    let (name, message) =
        error_of(&app.execute_kw("dte.failed.queue", "retry_send", json!([[entry]]), json!({})).await);
    assert_eq!(name, "odoo.exceptions.UserError");
    assert!(message.contains("only pending entries can be retried"), "{message}");
    assert_eq!(app.sim.arrivals(COMPANY_RUT, 33, folio), 1, "a closed entry is not sent again");
}

#[actix_rt::test]
async fn calls_over_the_cap_per_minute_wait_then_go_to_the_retry_queue_not_to_contingency() {
    // Seed and token take two calls of the cap, the first upload the third; the cap is
    // per real minute, so every later call in this test finds no slot.
    let app = TestApp::spawn_with(|s| {
        s.sii.max_calls_per_minute = 3;
        s.sii.request_timeout_secs = 1;
        s.sii.contingency_after_failures = 2;
    })
    .await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    let first = app.send(60, 1, 33, COMPANY_RUT).await;
    assert_eq!(first["result"]["state"], "sent", "{first}");
    for move_id in 61..=63 {
        let started = std::time::Instant::now();
        let answer = app.send(move_id, 1, 33, COMPANY_RUT).await;
        assert!(started.elapsed() >= std::time::Duration::from_millis(900), "the call waited for a slot first");
        assert_eq!(answer["result"]["state"], "failed", "{answer}");
        let entry = entry_of(&app, move_id).await;
        assert_eq!(entry["state"], "pending");
        assert_eq!(entry["error_type"], "unavailable");
        assert!(entry["error_message"].as_str().unwrap_or_default().contains("calls per minute"), "{entry}");
    }
    // Nothing went out beyond the cap, and the sidecar's own limit is no SII outage.
    assert_eq!(app.sim.upload_count(), 1);
    let status = app.call("dte.contingency", "get_status", json!([1]), json!({})).await;
    assert_eq!(status["enabled"], false, "{status}");
    let metrics = dte_sidecar::telemetry::metrics().map(|handle| handle.render()).unwrap_or_default();
    assert!(metrics.contains("dte_sii_calls_held_total{operation=\"upload\",outcome=\"not_made\"}"), "{metrics}");
}

/// The state column of a row, read straight from the store.
fn stored_state(app: &TestApp, table: &str, id: i64) -> String {
    #[derive(diesel::QueryableByName)]
    struct State {
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
    }
    let row: State = diesel::RunQueryDsl::get_result(
        diesel::sql_query(format!("SELECT state::text AS state FROM dte_sidecar.{table} WHERE id = {id}")),
        &mut app.db.conn(),
    )
    .unwrap();
    row.state
}

#[actix_rt::test]
async fn an_envelope_the_sii_decided_on_is_never_uploaded_again() {
    let app = app().await;
    // Two documents kept in contingency and handed over by Odoo (over RPC, without a
    // document of ours), drained in one envelope whose upload fails.
    app.call("dte.contingency", "enable_contingency", json!([1]), json!({})).await;
    for move_id in [130, 131, 132] {
        app.send(move_id, 1, 33, COMPANY_RUT).await;
    }
    #[derive(diesel::QueryableByName)]
    struct Kept {
        #[diesel(sql_type = diesel::sql_types::Text)]
        folio: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        move_id: i32,
        #[diesel(sql_type = diesel::sql_types::Text)]
        xml: String,
    }
    let kept: Vec<Kept> = diesel::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT folio::text AS folio, move_id, encode(xml_content, 'base64') AS xml \
             FROM dte_sidecar.dte_contingency_pending ORDER BY id",
        ),
        &mut app.db.conn(),
    )
    .unwrap();
    app.db.conn().batch_execute("DELETE FROM dte_sidecar.dte_contingency_pending").unwrap();
    let vals: Vec<Value> = kept
        .iter()
        .map(|k| {
            json!({"dte_type": "33", "folio": k.folio, "move_id": k.move_id, "company_id": 1,
                "xml_content": k.xml.replace('\n', "")})
        })
        .collect();
    app.call("dte.contingency.pending", "create", json!([vals]), json!({})).await;
    app.call("dte.contingency", "disable_contingency", json!([1]), json!({})).await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    let report = app.call("dte.contingency", "upload_pending_batch", json!([1, 50]), json!({})).await;
    assert_eq!(report["failed_envelopes"], 1, "{report}");
    let mut ids = Vec::new();
    for move_id in [130, 131, 132] {
        ids.push(entry_of(&app, move_id).await["id"].as_i64().unwrap());
    }
    let (first, second, third) = (ids[0], ids[1], ids[2]);
    let envelope = entry_of(&app, 130).await["envelope_id"].as_i64().unwrap();

    // A person gives up on two; the third is retried and takes the envelope to the SII.
    app.call("dte.failed.queue", "abandon", json!([[first, third], "duplicado"]), json!({})).await;
    app.sim.set_faults(Faults::default());
    let results = app.call("dte.failed.queue", "retry_send", json!([[second]]), json!({})).await;
    assert_eq!(results[0]["success"], true, "{results}");
    let uploads = app.sim.upload_count();
    assert_eq!(stored_state(&app, "dte_envelope", envelope), "uploaded");
    // Requeued and retried while the SII has the envelope: closed, nothing uploaded.
    app.call("dte.failed.queue", "requeue", json!([[third]]), json!({})).await;
    let results = app.call("dte.failed.queue", "retry_send", json!([[third]]), json!({})).await;
    assert_eq!(results[0]["success"], true, "{results}");
    assert_eq!(stored_state(&app, "dte_failed_queue", third), "success");
    assert_eq!(app.sim.upload_count(), uploads, "the SII has the envelope: not uploaded again");
    // The SII decides on it.
    app.clock.advance(TimeDelta::hours(1));
    app.sweep().await;
    assert_eq!(stored_state(&app, "dte_envelope", envelope), "processed");

    // Requeued and retried, the abandoned entry finds its envelope decided: it is closed,
    // and the envelope is not uploaded again — by the retry, or by anyone.
    app.call("dte.failed.queue", "requeue", json!([[first]]), json!({})).await;
    let results = app.call("dte.failed.queue", "retry_send", json!([[first]]), json!({})).await;
    assert_eq!(results[0]["success"], true, "{results}");
    assert_eq!(app.sim.upload_count(), uploads, "the retry did not upload the decided envelope");
    assert_eq!(stored_state(&app, "dte_failed_queue", first), "success");
    let envelope_id = i32::try_from(envelope).unwrap();
    let again = dte_sidecar::flows::upload::upload_envelope(&app.ctx, envelope_id, "test").await.unwrap();
    assert_eq!(again, dte_sidecar::flows::upload::Uploaded::AlreadyDone);
    assert_eq!(app.sim.upload_count(), uploads, "a decided envelope is never uploaded again");
    assert_eq!(stored_state(&app, "dte_envelope", envelope), "processed");
}

#[actix_rt::test]
async fn the_writers_refuse_an_illegal_move_even_from_a_stale_read() {
    use diesel::prelude::*;
    use dte_sidecar::owners::{envelope, failed_queue};
    use dte_sidecar::store::models::{EnvelopeRow, FailedEntry};
    use dte_sidecar::store::schema::dte_sidecar::{dte_envelope, dte_failed_queue};

    let app = app().await;
    app.sim.set_faults(upload_fault(FaultMode::Http500));
    app.send(140, 1, 33, COMPANY_RUT).await;
    let id = entry_of(&app, 140).await["id"].as_i64().unwrap();
    let mut conn = app.db.conn();
    let now = app.clock.now();
    let read = |conn: &mut PgConnection| -> FailedEntry {
        dte_failed_queue::table.find(i32::try_from(id).unwrap()).select(FailedEntry::as_select()).first(conn).unwrap()
    };
    // Read as pending, closed meanwhile: the abandon is not written over the success.
    let pending = read(&mut conn);
    conn.batch_execute(&format!("UPDATE dte_sidecar.dte_failed_queue SET state = 'success' WHERE id = {id}")).unwrap();
    let refused = failed_queue::abandon(&mut conn, &pending, "test", None, now).unwrap_err();
    assert!(refused.to_string().contains("changed meanwhile"), "{refused}");
    // Success is final: neither a requeue nor an abandon moves it, and nothing is written.
    let closed = read(&mut conn);
    let refused = failed_queue::requeue(&mut conn, &closed, "test", now).unwrap_err();
    assert!(refused.to_string().contains("only abandoned entries can be requeued"), "{refused}");
    let refused = failed_queue::abandon(&mut conn, &closed, "test", None, now).unwrap_err();
    assert!(refused.to_string().contains("only pending entries can be abandoned"), "{refused}");
    assert_eq!(read(&mut conn).retry_history, pending.retry_history);
    assert_eq!(stored_state(&app, "dte_failed_queue", id), "success");

    // Envelopes: a verdict needs an upload, and a decided envelope is not moved back, even
    // by a writer holding an older read of it.
    let envelope_id = i32::try_from(entry_of(&app, 140).await["envelope_id"].as_i64().unwrap()).unwrap();
    let stale: EnvelopeRow =
        dte_envelope::table.find(envelope_id).select(EnvelopeRow::as_select()).first(&mut conn).unwrap();
    assert_eq!(stale.state.as_str(), "created");
    assert!(!envelope::record_verdict(&mut conn, envelope_id, false).unwrap(), "never uploaded");
    assert_eq!(stored_state(&app, "dte_envelope", i64::from(envelope_id)), "created");
    conn.batch_execute(&format!("UPDATE dte_sidecar.dte_envelope SET state = 'processed' WHERE id = {envelope_id}"))
        .unwrap();
    assert!(envelope::record_upload(&mut conn, &stale, Some("1"), None, now, now).is_err());
    let decided: EnvelopeRow =
        dte_envelope::table.find(envelope_id).select(EnvelopeRow::as_select()).first(&mut conn).unwrap();
    let refused = envelope::record_upload(&mut conn, &decided, Some("1"), None, now, now).unwrap_err();
    assert!(format!("{refused:?}").contains("may not move from processed to uploaded"), "{refused:?}");
    envelope::record_upload_failure(&mut conn, &stale, false, "late failure").unwrap();
    assert_eq!(stored_state(&app, "dte_envelope", i64::from(envelope_id)), "processed");
}

#[actix_rt::test]
async fn a_status_query_is_not_sent_for_a_stored_receiver_that_does_not_read() {
    let app = app().await;
    // Two invoices in one envelope that the SII decides differently, so each one is asked
    // about on its own; the stored receiver of the second one does not read as a RUT.
    app.sim.script(COMPANY_RUT, 33, 1, Outcome::Reject);
    app.call("dte.contingency", "enable_contingency", json!([1]), json!({})).await;
    for move_id in [150, 151] {
        app.send(move_id, 1, 33, COMPANY_RUT).await;
    }
    app.call("dte.contingency", "disable_contingency", json!([1]), json!({})).await;
    let report = app.call("dte.contingency", "upload_pending_batch", json!([1, 50]), json!({})).await;
    assert_eq!((report["envelopes"].as_i64(), report["uploaded"].as_i64()), (Some(1), Some(2)), "{report}");
    app.db
        .conn()
        .batch_execute("UPDATE dte_sidecar.dte_document SET receiver_rut = 'unreadable' WHERE move_id = 151")
        .unwrap();
    app.clock.advance(TimeDelta::minutes(2));
    app.sweep().await;
    assert_eq!(document_of(&app, 150).await["state"], "rejected");
    // Not asked about as if the issuer had received it: no verdict, asked again later.
    assert_eq!(document_of(&app, 151).await["state"], "sent");
    let envelope = document_envelope_of(&app, 151);
    assert_eq!(stored_state(&app, "dte_envelope", envelope), "uploaded");
}

fn document_envelope_of(app: &TestApp, move_id: i32) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Envelope {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        envelope_id: i32,
    }
    let row: Envelope = diesel::RunQueryDsl::get_result(
        diesel::sql_query(format!("SELECT envelope_id FROM dte_sidecar.dte_document WHERE move_id = {move_id}")),
        &mut app.db.conn(),
    )
    .unwrap();
    i64::from(row.envelope_id)
}

#[actix_rt::test]
async fn sends_arriving_together_share_one_envelope_when_a_window_is_set() {
    let app = TestApp::spawn_with(|s| s.sii.envelope_window_millis = 300).await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    let answers = futures::future::join_all((70..76).map(|move_id| app.send(move_id, 1, 33, COMPANY_RUT))).await;
    let mut folios = std::collections::BTreeSet::new();
    let mut track_ids = std::collections::BTreeSet::new();
    for answer in &answers {
        assert_eq!(answer["result"]["state"], "sent", "{answer}");
        folios.insert(answer["result"]["folio"].as_i64().unwrap_or_default());
        track_ids.insert(answer["result"]["track_id"].to_string());
    }
    // Six documents, six folios, one envelope: one upload and one track id for all.
    assert_eq!(folios.len(), 6);
    assert_eq!(app.sim.upload_count(), 1);
    assert_eq!(track_ids.len(), 1, "{track_ids:?}");
    let mut conn = app.db.conn();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |sql: &str, conn: &mut diesel::PgConnection| {
        diesel::RunQueryDsl::get_result::<Count>(diesel::sql_query(sql), conn).unwrap().n
    };
    assert_eq!(count("SELECT count(*) AS n FROM dte_sidecar.dte_envelope", &mut conn), 1);
    assert_eq!(count("SELECT sum(document_count)::bigint AS n FROM dte_sidecar.dte_envelope", &mut conn), 6);
    assert_eq!(count("SELECT count(*) AS n FROM dte_sidecar.dte_backup", &mut conn), 6);
    assert_eq!(count("SELECT count(*) AS n FROM dte_sidecar.dte_folio_reservation", &mut conn), 0);

    // A second call for a move returns its document, not a second folio.
    let again = app.send(70, 1, 33, COMPANY_RUT).await;
    assert_eq!(again["result"]["folio"], answers[0]["result"]["folio"]);

    // In contingency nothing waits for an envelope: each document is kept at once.
    app.call("dte.contingency", "enable_contingency", json!([1, "sii_unavailable"]), json!({})).await;
    let held = futures::future::join_all((80..83).map(|move_id| app.send(move_id, 1, 33, COMPANY_RUT))).await;
    for answer in &held {
        assert_eq!(answer["result"]["state"], "contingency", "{answer}");
    }
    assert_eq!(app.sim.upload_count(), 1);
}
