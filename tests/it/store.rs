//! The store's promises: Odoo can drop what it maps without losing a row, the audit log
//! cannot be rewritten, the registry matches the tables, migrations run both ways.

use crate::common::{dte_xml, TestApp, TestDb};
use diesel::connection::SimpleConnection;
use diesel::{QueryableByName, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use serde_json::json;

use dte_sidecar::store::{self, registry};

#[derive(QueryableByName, Debug)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut diesel::PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).expect(sql).n
}

#[actix_rt::test]
async fn an_odoo_uninstall_drops_the_views_and_every_row_stays() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    app.call("dte.backup", "backup_dte", json!(["33", "1", dte_xml("33", "1"), "5", 1]), json!({"company_id": 1}))
        .await;
    app.call(
        "dte.failed.queue",
        "add_failed_dte",
        json!(["33", "2", dte_xml("33", "2"), "timeout", "t", 2]),
        json!({"company_id": 1}),
    )
    .await;
    app.call("dte.contingency", "enable_contingency", json!([1]), json!({})).await;
    app.call(
        "dte.contingency.pending",
        "create",
        json!([{"dte_type": "33", "folio": "3", "move_id": 3, "company_id": 1,
        "xml_content": "PERURT48L0RURT4="}]),
        json!({}),
    )
    .await;
    let before = app.table_counts();
    let mut conn = app.db.conn();
    // What Odoo reads: views in its schema over the sidecar's tables.
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM public.dte_backup"), 1);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM public.dte_failed_queue"), 1);
    // What Odoo's uninstall runs for each `_auto = False` model (ir_model._drop_table):
    // DROP VIEW for a view. A careless DROP TABLE ... CASCADE cannot reach the rows either.
    for view in ["dte_backup", "dte_failed_queue", "dte_contingency", "dte_contingency_pending", "dte_audit_log"] {
        let as_table = conn.batch_execute(&format!("DROP TABLE IF EXISTS {view} CASCADE"));
        assert!(as_table.is_err(), "{view} is a view in Odoo's schema, not a table");
        conn.batch_execute(&format!("DROP VIEW {view}")).expect("drop view");
        conn.batch_execute(&format!("DROP TABLE IF EXISTS {view} CASCADE")).expect("nothing left to drop");
    }
    assert_eq!(app.table_counts(), before, "every row is still there");
    // Reinstalling publishes them again.
    store::publish_odoo_views(&mut conn, "public").expect("publish");
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM public.dte_contingency_pending"), 1);
}

#[actix_rt::test]
async fn the_audit_log_is_append_only() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let mut conn = app.db.conn();
    let rows = count(&mut conn, "SELECT count(*) AS n FROM dte_sidecar.dte_audit_log");
    assert!(rows >= 1);
    for statement in [
        "UPDATE dte_sidecar.dte_audit_log SET actor = 'someone else'",
        "DELETE FROM dte_sidecar.dte_audit_log",
        "TRUNCATE dte_sidecar.dte_audit_log",
    ] {
        let err = conn.batch_execute(statement).expect_err(statement).to_string();
        assert!(err.contains("append-only"), "{statement}: {err}");
    }
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM dte_sidecar.dte_audit_log"), rows);
}

#[actix_rt::test]
async fn uniqueness_rules_hold_in_the_database_itself() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let mut conn = app.db.conn();
    let queue_row = |state: &str| {
        format!(
            "INSERT INTO dte_sidecar.dte_failed_queue (dte_type, folio, rut_emisor, xml_content, error_type, \
             error_message, failed_date, state, company_id, move_id) \
             VALUES ('33', '9', '76000001-9', 'x', 'timeout', 'm', now(), '{state}', 1, 9)"
        )
    };
    conn.batch_execute(&queue_row("pending")).expect("first open entry");
    assert!(conn.batch_execute(&queue_row("retrying")).is_err(), "a second open entry for one document");
    conn.batch_execute(&queue_row("abandoned")).expect("closed entries may repeat");
    conn.batch_execute(&queue_row("success")).expect("closed entries may repeat");
    assert!(
        conn.batch_execute("INSERT INTO dte_sidecar.dte_contingency (company_id) VALUES (1)").is_err(),
        "one contingency row per company"
    );
    let backup = "INSERT INTO dte_sidecar.dte_backup \
                  (dte_type, folio, rut_emisor, xml_content, sha256, sent_date, company_id, move_id) \
                  VALUES ('33', '9', '76000001-9', 'x', repeat('0', 64), now(), 1, 9)";
    conn.batch_execute(backup).expect("first backup");
    assert!(conn.batch_execute(backup).is_err(), "one backup per type, folio and company");
    let pending = |folio: &str| {
        format!(
            "INSERT INTO dte_sidecar.dte_contingency_pending \
             (dte_type, folio, rut_emisor, xml_content, stored_date, company_id, move_id) \
             VALUES ('33', '{folio}', '76000001-9', 'x', now(), 1, 77)"
        )
    };
    conn.batch_execute(&pending("1")).expect("first pending");
    assert!(conn.batch_execute(&pending("2")).is_err(), "one pending document per move");
    let other_type = "INSERT INTO dte_sidecar.dte_backup \
                      (dte_type, folio, rut_emisor, xml_content, sha256, sent_date, company_id, move_id) \
                      VALUES ('39', '1', '76000001-9', 'x', repeat('0', 64), now(), 1, 9)";
    assert!(conn.batch_execute(other_type).is_err(), "only the five DTE types");
}

#[test]
fn the_registry_matches_the_tables() {
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        data_type: String,
    }
    let db = TestDb::new();
    let mut conn = db.conn();
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = 'dte_sidecar'",
    )
    .load(&mut conn)
    .expect("columns");
    for model in registry::MODELS {
        let table: Vec<&Column> = columns
            .iter()
            .filter(|c| c.table_name == model.table && !model.hidden.contains(&c.column_name.as_str()))
            .collect();
        assert_eq!(
            table.len(),
            model.fields.len(),
            "{}: every column but the sealed ones is exposed, no more",
            model.name
        );
        for hidden in model.hidden {
            assert!(model.field(hidden).is_none(), "{}.{hidden} must stay hidden", model.name);
        }
        for field in model.fields {
            let column = table
                .iter()
                .find(|c| c.column_name == field.name)
                .unwrap_or_else(|| panic!("{}.{}", model.name, field.name));
            use registry::FieldKind::*;
            let expected: &[&str] = match field.kind {
                Integer => &["integer", "bigint"],
                Float => &["double precision", "numeric"],
                Char => &["character varying", "character"],
                Text => &["text"],
                Boolean => &["boolean"],
                Date => &["date"],
                Datetime => &["timestamp without time zone"],
                Binary => &["bytea"],
            };
            assert!(
                expected.contains(&column.data_type.as_str()),
                "{}.{} is {}",
                model.name,
                field.name,
                column.data_type
            );
        }
    }
}

#[test]
fn migrations_run_down_and_up_again() {
    let db = TestDb::new();
    let mut conn = db.conn();
    conn.batch_execute("SET search_path TO dte_sidecar, public").expect("path");
    conn.revert_all_migrations(store::MIGRATIONS).expect("down");
    let tables = "SELECT count(*) AS n FROM information_schema.tables \
                  WHERE table_schema = 'dte_sidecar' AND table_name LIKE 'dte_%'";
    assert_eq!(count(&mut conn, tables), 0);
    let applied = store::migrate(&mut conn, "public").expect("up again");
    assert!(!applied.is_empty());
    assert!(store::is_ready(&mut conn));
}
