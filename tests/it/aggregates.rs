//! The maintained aggregates (counts and sizes the KPIs, /metrics, the alerts and
//! `search_count([])` read) agree with the rows whoever writes them: the sidecar's own
//! flows, a transaction killed half-way, many writers at once. `dte-sidecar aggregates
//! check` says so, and fails when they do not.

use crate::common::{self, TestApp, TestDb, COMPANY_RUT};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::TimeDelta;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::json;

use dte_sidecar::sii::simulator::faults::{Endpoint, FaultMode, Faults};
use dte_sidecar::store::aggregates;

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<N>(conn).expect(sql).n
}

fn assert_agree(conn: &mut PgConnection) {
    let differences = aggregates::differences(conn).expect("check");
    assert!(differences.is_empty(), "aggregates differ from the rows: {differences:#?}");
}

fn session(url: &str) -> PgConnection {
    let mut conn = PgConnection::establish(url).expect("connect");
    conn.batch_execute("SET search_path TO dte_sidecar, public; SET TIME ZONE 'UTC'").expect("session");
    conn
}

/// A document row as the send path writes it (unique move and folio per `n`).
fn insert_document(company: i32, n: i64, state: &str) -> String {
    format!(
        "INSERT INTO dte_document (company_id, move_id, dte_type, folio, state, request, xml_content, sha256, \
         issue_date, receiver_rut, total, created_at, state_changed_at) \
         VALUES ({company}, {n}, '{}', {n}, '{state}', '{{}}', convert_to(repeat('<x/>', {}), 'UTF8'), \
         repeat('0', 64), \
         '2026-03-02', '77000000-0', 1000, TIMESTAMP '2026-03-02 12:00:00' - make_interval(days => {}), now())",
        ["33", "34", "52", "56", "61"][(n % 5) as usize],
        1 + n % 50,
        n % 3
    )
}

fn insert_backup(company: i32, n: i64) -> String {
    format!(
        "INSERT INTO dte_backup \
         (dte_type, folio, rut_emisor, xml_content, sha256, track_id, sent_date, company_id, move_id) \
         VALUES ('{}', '{n}', '76000001-9', convert_to(repeat('<y/>', {}), 'UTF8'), repeat('0', 64), '1', \
         TIMESTAMP '2026-03-02 12:00:00' - make_interval(days => {}), {company}, {n})",
        ["33", "34", "52", "56", "61"][(n % 5) as usize],
        1 + n % 70,
        n % 4
    )
}

fn insert_entry(company: i32, n: i64) -> String {
    format!(
        "INSERT INTO dte_failed_queue (dte_type, folio, rut_emisor, xml_content, error_type, error_message, \
         failed_date, next_retry_date, company_id, move_id) \
         VALUES ('{}', '{n}', '76000001-9', '\\x3c612f3e', 'timeout', 'timeout', now(), now(), {company}, {n})",
        ["33", "34", "52", "56", "61"][(n % 5) as usize]
    )
}

#[actix_rt::test]
async fn the_flows_keep_the_aggregates_and_the_kpis_read_them() {
    let app = TestApp::spawn().await;
    app.setup_company(1, COMPANY_RUT, 40).await;
    for move_id in 1..=4 {
        let answer = app.send(move_id, 1, [33, 34, 52, 61][move_id as usize - 1], COMPANY_RUT).await;
        assert!(answer.get("result").is_some(), "{answer}");
    }
    // Two uploads fail: documents `failed`, entries in the retry queue.
    app.sim.set_faults(Faults { mode: FaultMode::Http500, only: vec![Endpoint::Upload], ..Faults::default() });
    app.send(5, 1, 33, COMPANY_RUT).await;
    app.send(6, 1, 33, COMPANY_RUT).await;
    app.sim.set_faults(Faults::default());
    // Backups Odoo hands over, queue entries it reports, a retry that works, an abandon.
    for folio in 100..110 {
        app.call(
            "dte.backup",
            "backup_dte",
            json!(["33", folio.to_string(), common::dte_xml("33", &folio.to_string()), "123", 1000 + folio]),
            json!({"company_id": 1}),
        )
        .await;
    }
    let entry = app
        .call(
            "dte.failed.queue",
            "add_failed_dte",
            json!(["34", "200", common::dte_xml("34", "200"), "timeout", "SII timeout", 2000]),
            json!({"company_id": 1}),
        )
        .await;
    app.call("dte.failed.queue", "abandon", json!([[entry]]), json!({})).await;
    app.clock.advance(TimeDelta::hours(2));
    app.sweep().await;
    let mut conn = app.db.conn();
    assert_agree(&mut conn);

    let kpis = app.call("dte.dashboard", "get_kpis", json!([1]), json!({})).await;
    let bytes =
        count(&mut conn, "SELECT COALESCE(sum(octet_length(xml_content)), 0)::bigint AS n FROM dte_sidecar.dte_backup");
    assert!(bytes > 0);
    assert_eq!(kpis["backup_storage_bytes"], json!(bytes));
    let documents = count(&mut conn, "SELECT count(*) AS n FROM dte_sidecar.dte_document");
    let by_state: i64 = kpis["documents_by_state"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(by_state, documents);
    let open = count(
        &mut conn,
        "SELECT count(*) AS n FROM dte_sidecar.dte_failed_queue WHERE state IN ('pending', 'retrying')",
    );
    assert_eq!(kpis["failed_queue_count"], json!(open));
    let retried = count(&mut conn, "SELECT count(*) AS n FROM dte_sidecar.dte_failed_queue WHERE retry_count > 0");
    assert_eq!(kpis["retried_count"], json!(retried));

    // search_count([]) answers from the aggregates, scoped like every read.
    let backups = count(&mut conn, "SELECT count(*) AS n FROM dte_sidecar.dte_backup");
    assert_eq!(app.call("dte.backup", "search_count", json!([[]]), json!({})).await, json!(backups));
    assert_eq!(app.call("dte.backup", "search_count", json!([[]]), json!({"limit": 3})).await, json!(3));
    assert_eq!(
        app.call("dte.backup", "search_count", json!([[]]), json!({"context": {"allowed_company_ids": [2]}})).await,
        json!(0)
    );
    assert_eq!(app.call("dte.document", "search_count", json!([[]]), json!({})).await, json!(documents));

    // /metrics reports the same counts.
    let mut response = awc::Client::default().get(format!("{}/metrics", app.base)).send().await.unwrap();
    let body = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    let accepted_or_sent: i64 = ["sent", "accepted"]
        .iter()
        .map(|s| kpis["documents_by_state"].get(*s).and_then(|v| v.as_i64()).unwrap_or(0))
        .sum();
    let scraped: f64 = ["sent", "accepted"]
        .iter()
        .filter_map(|s| body.lines().find(|l| l.starts_with(&format!("dte_documents{{state=\"{s}\"}}"))))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(scraped as i64, accepted_or_sent, "{body}");

    // Retention removes rows: their counts and bytes go with them.
    app.clock.advance(TimeDelta::days(365 * 6 + 10));
    let answer = app.call("dte.backup", "run_retention", json!([]), json!({})).await;
    assert!(answer["removed"].as_u64().unwrap() > 0, "{answer}");
    assert_agree(&mut conn);
    let kpis = app.call("dte.dashboard", "get_kpis", json!([1]), json!({})).await;
    let left =
        count(&mut conn, "SELECT COALESCE(sum(octet_length(xml_content)), 0)::bigint AS n FROM dte_sidecar.dte_backup");
    assert_eq!(kpis["backup_storage_bytes"], json!(left));
}

#[test]
fn a_transaction_killed_half_way_counts_nothing() {
    let db = TestDb::new();
    let mut setup = session(&db.url);
    setup.batch_execute(&insert_backup(1, 1)).unwrap();
    setup.batch_execute(&insert_document(1, 1, "sending")).unwrap();
    let before = aggregates::backup_storage(&mut setup, 1).unwrap();

    let mut victim = session(&db.url);
    let pid = count(&mut victim, "SELECT pg_backend_pid()::bigint AS n");
    victim.batch_execute("BEGIN").unwrap();
    for n in 2..=50 {
        victim.batch_execute(&insert_backup(1, n)).unwrap();
        victim.batch_execute(&insert_document(1, n, "sending")).unwrap();
    }
    victim.batch_execute("UPDATE dte_document SET state = 'sent' WHERE move_id = 1").unwrap();
    victim.batch_execute("DELETE FROM dte_backup WHERE move_id = 1").unwrap();
    victim.batch_execute(&insert_entry(1, 7)).unwrap();
    // Its backend dies before COMMIT, as when the sidecar's process or host goes down.
    let killed = count(&mut setup, &format!("SELECT pg_terminate_backend({pid})::int::bigint AS n"));
    assert_eq!(killed, 1);
    assert!(victim.batch_execute("COMMIT").is_err(), "the connection is gone");

    assert_agree(&mut setup);
    assert_eq!(aggregates::backup_storage(&mut setup, 1).unwrap(), before);
    assert_eq!(
        aggregates::documents_by_state(&mut setup, Some(1)).unwrap().into_iter().collect::<Vec<_>>(),
        vec![("sending".to_string(), 1)]
    );
    assert!(aggregates::queue_by_state(&mut setup, None).unwrap().is_empty());
}

#[test]
fn concurrent_writers_leave_exact_counts() {
    let db = TestDb::new();
    let url = db.url.clone();
    let aborted = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..6i64)
        .map(|worker| {
            let url = url.clone();
            let aborted = Arc::clone(&aborted);
            std::thread::spawn(move || {
                let mut conn = session(&url);
                let states = ["sending", "sent", "accepted", "failed", "rejected"];
                for round in 0..40i64 {
                    let n = worker * 10_000 + round;
                    let company = 1 + (n % 3) as i32;
                    let mut statements = vec![
                        "BEGIN".to_string(),
                        insert_document(company, n, "sending"),
                        insert_backup(company, n),
                        insert_entry(company, n),
                        // Others' rows too, in both directions of the state machine.
                        format!(
                            "UPDATE dte_document SET state = '{}' \
                             WHERE move_id IN (SELECT move_id FROM dte_document ORDER BY random() LIMIT 3)",
                            states[(round % 5) as usize]
                        ),
                        format!(
                            "UPDATE dte_failed_queue SET state = '{}', retry_count = retry_count + {} \
                             WHERE id IN (SELECT id FROM dte_failed_queue ORDER BY random() LIMIT 2)",
                            ["success", "abandoned", "retrying"][(round % 3) as usize],
                            round % 2
                        ),
                        "DELETE FROM dte_backup WHERE id IN (SELECT id FROM dte_backup ORDER BY random() LIMIT 1)"
                            .to_string(),
                        format!(
                            "UPDATE dte_backup SET sent_date = sent_date + interval '1 day', \
                             xml_content = xml_content || '\\x20'::bytea \
                             WHERE id IN (SELECT id FROM dte_backup ORDER BY random() LIMIT 1) AND {} = 0",
                            round % 4
                        ),
                    ];
                    statements.push(if round % 4 == 3 { "ROLLBACK".into() } else { "COMMIT".into() });
                    for statement in &statements {
                        if conn.batch_execute(statement).is_err() {
                            // A deadlock on the rows themselves or a lost race: this
                            // transaction is undone, as a writer's would be.
                            let _ = conn.batch_execute("ROLLBACK");
                            aborted.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    let mut conn = session(&url);
    assert_agree(&mut conn);
    let documents = count(&mut conn, "SELECT count(*) AS n FROM dte_document");
    assert!(documents >= 6 * 20, "most transactions committed ({documents} documents, {aborted:?} aborted)");
    let counted: i64 = aggregates::documents_by_state(&mut conn, None).unwrap().values().sum();
    assert_eq!(counted, documents);
}

/// Each column the counters read moves the counts when an update changes it, and the
/// columns they do not read leave them be (a backup's counters fire only for those).
#[test]
fn every_counted_column_moves_the_counts_and_the_others_do_not() {
    let db = TestDb::new();
    let mut conn = session(&db.url);
    for n in 1..=4 {
        conn.batch_execute(&insert_document(1, n, "sending")).unwrap();
        conn.batch_execute(&insert_backup(1, n)).unwrap();
        conn.batch_execute(&insert_entry(1, n)).unwrap();
    }
    let storage = aggregates::backup_storage(&mut conn, 1).unwrap();
    // Columns the counters do not read: the archive copy, a track id, a lease, a message.
    conn.batch_execute(
        "UPDATE dte_backup SET copied_at = now(), track_id = '77'; \
         UPDATE dte_document SET track_id = '77', lease_until = now(), message = 'x'; \
         UPDATE dte_failed_queue SET error_message = 'still down'",
    )
    .unwrap();
    assert_agree(&mut conn);
    assert_eq!(aggregates::backup_storage(&mut conn, 1).unwrap(), storage);
    // Every column they read, one statement each.
    conn.batch_execute(
        "UPDATE dte_document SET company_id = 2 WHERE move_id = 1; \
         UPDATE dte_document SET dte_type = '61' WHERE move_id = 2; \
         UPDATE dte_document SET state = 'accepted' WHERE move_id = 3; \
         UPDATE dte_document SET created_at = created_at - interval '40 days' WHERE move_id = 4; \
         UPDATE dte_backup SET company_id = 2 WHERE move_id = 1; \
         UPDATE dte_backup SET dte_type = '61' WHERE move_id = 2; \
         UPDATE dte_backup SET sent_date = sent_date - interval '40 days' WHERE move_id = 3; \
         UPDATE dte_backup SET xml_content = xml_content || xml_content WHERE move_id = 4; \
         UPDATE dte_failed_queue SET company_id = 2 WHERE move_id = 1; \
         UPDATE dte_failed_queue SET state = 'success' WHERE move_id = 2; \
         UPDATE dte_failed_queue SET retry_count = 3 WHERE move_id = 3",
    )
    .unwrap();
    assert_agree(&mut conn);
    assert_eq!(
        aggregates::documents_by_state(&mut conn, Some(2)).unwrap().into_iter().collect::<Vec<_>>(),
        vec![("sending".to_string(), 1)]
    );
    assert_ne!(aggregates::backup_storage(&mut conn, 1).unwrap(), storage);
}

#[test]
fn the_check_command_fails_on_a_difference_and_rebuild_repairs_it() {
    let db = TestDb::new();
    let mut conn = session(&db.url);
    for n in 1..=5 {
        conn.batch_execute(&insert_backup(2, n)).unwrap();
        conn.batch_execute(&insert_document(2, n, "accepted")).unwrap();
    }
    let run = |action: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_dte-sidecar"))
            .args(["aggregates", action])
            .env("DATABASE_URL", &db.url)
            .env_remove("DTE_CONFIG")
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (code, out) = run("check");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("aggregates agree with the rows"), "{out}");

    // Counters changed behind the triggers' back (a restore from an old dump, a hand edit).
    conn.batch_execute(
        "UPDATE dte_backup_daily SET bytes = bytes + 7 WHERE company_id = 2 AND dte_type = '33'; \
         DELETE FROM dte_document_daily WHERE dte_type = '34'",
    )
    .unwrap();
    let (code, out) = run("check");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("dte_backup_daily 2/33/") && out.contains("bytes"), "{out}");
    assert!(out.contains("dte_document_daily 2/34/accepted/"), "{out}");

    let (code, out) = run("rebuild");
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run("check");
    assert_eq!(code, Some(0), "{out}");
    assert_agree(&mut conn);
}
