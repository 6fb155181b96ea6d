//! A key bound to companies (`[auth.key_companies]`) never reads or acts for another
//! company, whatever its calls' context says; `context.uid` is recorded as the caller
//! asserts it. Over real HTTP, both doors.

use crate::common::{self, error_of, TestApp, COMPANY_RUT};

use base64::Engine as _;
use dte_sidecar::settings::Secret;
use serde_json::{json, Value};

const TENANT_KEY: &str = "tenant-one-key-0123456789abcdef";
const ACCESS: &str = "odoo.exceptions.AccessError";
const MISSING: &str = "odoo.exceptions.MissingError";

fn rut(body: u32) -> String {
    format!("{body}-{}", dte_sidecar::dte::check_digit(body))
}

/// `execute_kw` with the bound key; the whole envelope.
async fn as_tenant(app: &TestApp, model: &str, method: &str, args: Value, kwargs: Value) -> Value {
    app.jsonrpc(json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": "object",
        "method": "execute_kw", "args": ["odoo", 3, TENANT_KEY, model, method, args, kwargs]}}))
        .await
}

/// The result of a call with the bound key that must succeed, through `/json/2`.
async fn tenant_result(app: &TestApp, model: &str, method: &str, kwargs: Value) -> Value {
    let (status, body) =
        app.json2_raw(&format!("{model}/{method}"), Some(TENANT_KEY), kwargs.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{model}.{method}: {body}");
    body
}

/// Both doors refuse the call with the bound key with the Odoo exception `name`.
async fn tenant_refused(app: &TestApp, model: &str, method: &str, kwargs: Value, name: &str) {
    let (status, body) =
        app.json2_raw(&format!("{model}/{method}"), Some(TENANT_KEY), kwargs.to_string().into_bytes()).await;
    assert_eq!(body["name"], name, "/json/2 {model}.{method} {kwargs}: {status} {body}");
    assert!((400..500).contains(&status), "/json/2 {model}.{method}: {status}");
    let answer = as_tenant(app, model, method, json!([]), kwargs.clone()).await;
    assert_eq!(error_of(&answer).0, name, "/jsonrpc {model}.{method} {kwargs}: {answer}");
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[actix_rt::test]
async fn a_key_bound_to_company_1_never_reads_or_acts_for_company_2() {
    let app = TestApp::spawn_with(|s| {
        s.auth.api_keys.insert("tenant1".into(), Secret::new(TENANT_KEY));
        s.auth.key_companies.insert("tenant1".into(), vec![1]);
    })
    .await;
    let other_rut = rut(76_000_002);
    app.setup_company(1, COMPANY_RUT, 100).await;
    app.setup_company(2, &other_rut, 100).await;
    // Each company has a sent document (with its backup and transitions), a queued failure
    // and a pending contingency document, made with the unbound key.
    assert_eq!(app.send(101, 1, 33, COMPANY_RUT).await["result"]["state"], "sent");
    assert_eq!(app.send(201, 2, 33, &other_rut).await["result"]["state"], "sent");
    let mut failed = Vec::new();
    let mut pending = Vec::new();
    for (company, move_id, folio) in [(1, 102, "90"), (2, 202, "91")] {
        failed.push(
            app.call(
                "dte.failed.queue",
                "add_failed_dte",
                json!([]),
                json!({"dte_type": "33", "folio": folio, "xml_content": common::dte_xml("33", folio),
                    "error_type": "timeout", "error_message": "SII timeout", "move_id": move_id,
                    "company_id": company}),
            )
            .await,
        );
        let folio = format!("8{company}");
        pending.push(
            app.call(
                "dte.contingency.pending",
                "create",
                json!([{"dte_type": "33", "folio": folio, "move_id": move_id + 1, "company_id": company,
                    "xml_content": b64(common::dte_xml("33", &folio).as_bytes())}]),
                json!({}),
            )
            .await,
        );
    }
    let backup_2 = app.call("dte.backup", "search", json!([[["company_id", "=", 2]]]), json!({})).await;
    let document_2 = app.call("dte.document", "search", json!([[["company_id", "=", 2]]]), json!({})).await;
    assert_eq!((backup_2.as_array().map(Vec::len), document_2.as_array().map(Vec::len)), (Some(1), Some(1)));
    let before = app.table_counts();

    // Reads: every model answers company 1's rows only, with or without a domain naming 2.
    for model in [
        "dte.backup",
        "dte.failed.queue",
        "dte.contingency",
        "dte.contingency.pending",
        "dte.audit.log",
        "dte.document",
        "dte.envelope",
        "dte.caf",
        "dte.certificate",
        "dte.alert",
    ] {
        let rows = tenant_result(&app, model, "search_read", json!({"domain": [], "fields": ["company_id"]})).await;
        assert!(rows.as_array().is_some_and(|rows| rows.iter().all(|r| r["company_id"] == 1)), "{model}: {rows}");
        let count = tenant_result(&app, model, "search_count", json!({"domain": [["company_id", "=", 2]]})).await;
        assert_eq!(count, 0, "{model}");
        let names = tenant_result(&app, model, "name_search", json!({"name": ""})).await;
        let all = app.call(model, "name_search", json!([]), json!({"context": {"allowed_company_ids": [1]}})).await;
        assert_eq!(names, all, "{model}");
    }
    let companies = tenant_result(&app, "dte.company", "search_read", json!({"fields": ["rut"]})).await;
    assert_eq!(companies, json!([{"id": 1, "rut": COMPANY_RUT}]));
    let transitions =
        tenant_result(&app, "dte.document.transition", "search_read", json!({"fields": ["document_id"]})).await;
    assert!(!transitions.as_array().unwrap().is_empty());
    assert!(transitions.as_array().unwrap().iter().all(|t| t["document_id"] != document_2[0]), "{transitions}");
    // A read by id of company 2's records finds nothing to answer with.
    for (model, id) in [("dte.backup", &backup_2[0]), ("dte.document", &document_2[0]), ("dte.company", &json!(2))] {
        tenant_refused(&app, model, "read", json!({"ids": [id], "fields": ["id"]}), MISSING).await;
    }

    // A context naming company 2, alone or beside 1, is refused outright.
    for allowed in [json!([2]), json!([1, 2])] {
        let context = json!({"allowed_company_ids": allowed});
        tenant_refused(&app, "dte.backup", "search_read", json!({"domain": [], "context": context}), ACCESS).await;
        tenant_refused(&app, "dte.document", "read", json!({"ids": [1], "context": context}), ACCESS).await;
        tenant_refused(&app, "dte.contingency", "get_status", json!({"context": context}), ACCESS).await;
    }

    // Acting for company 2 by naming it, whatever the context.
    for context in [json!(null), json!({"allowed_company_ids": [1]}), json!({"uid": 2})] {
        let company_2 = |mut kwargs: Value| {
            kwargs["company_id"] = json!(2);
            kwargs["context"] = context.clone();
            kwargs
        };
        let document = app.document(33, &other_rut);
        tenant_refused(
            &app,
            "account.move",
            "action_send_to_sii",
            company_2(json!({"move_id": 301, "document": document})),
            ACCESS,
        )
        .await;
        tenant_refused(&app, "dte.contingency", "enable_contingency", company_2(json!({"reason": "manual"})), ACCESS)
            .await;
        tenant_refused(&app, "dte.contingency", "disable_contingency", company_2(json!({})), ACCESS).await;
        tenant_refused(&app, "dte.contingency", "upload_pending_batch", company_2(json!({})), ACCESS).await;
        tenant_refused(&app, "dte.contingency", "get_status", company_2(json!({})), ACCESS).await;
        tenant_refused(&app, "dte.dashboard", "get_kpis", company_2(json!({})), ACCESS).await;
        tenant_refused(&app, "dte.caf", "folios_left", company_2(json!({})), ACCESS).await;
        tenant_refused(&app, "dte.caf", "load", company_2(json!({"caf_xml": "<AUTORIZACION/>"})), ACCESS).await;
        tenant_refused(
            &app,
            "dte.company",
            "set_certificate",
            company_2(json!({"pkcs12": "AAAA", "password": "x"})),
            ACCESS,
        )
        .await;
        tenant_refused(&app, "dte.company", "register", company_2(json!({"rut": other_rut, "name": "Otra"})), ACCESS)
            .await;
        tenant_refused(
            &app,
            "dte.backup",
            "backup_dte",
            company_2(json!({"dte_type": "33", "folio": "50", "xml_content": common::dte_xml("33", "50"),
                "track_id": "1", "move_id": 302})),
            ACCESS,
        )
        .await;
        tenant_refused(
            &app,
            "dte.failed.queue",
            "add_failed_dte",
            company_2(json!({"dte_type": "33", "folio": "51", "xml_content": common::dte_xml("33", "51"),
                "error_type": "timeout", "error_message": "x", "move_id": 303})),
            ACCESS,
        )
        .await;
        let vals = json!([{"dte_type": "33", "folio": "52", "move_id": 304, "company_id": 2,
            "xml_content": b64(common::dte_xml("33", "52").as_bytes())}]);
        tenant_refused(
            &app,
            "dte.contingency.pending",
            "create",
            json!({"vals_list": vals, "context": context}),
            ACCESS,
        )
        .await;
    }
    // Acting on company 2's records by id: as if they did not exist.
    tenant_refused(&app, "dte.failed.queue", "retry_send", json!({"ids": [failed[1]]}), MISSING).await;
    tenant_refused(&app, "dte.failed.queue", "abandon", json!({"ids": [failed[1]]}), MISSING).await;
    tenant_refused(&app, "dte.failed.queue", "requeue", json!({"ids": [failed[1]]}), MISSING).await;
    tenant_refused(&app, "dte.backup", "download_xml", json!({"ids": [backup_2[0]]}), MISSING).await;
    tenant_refused(&app, "dte.document", "get_ted_barcode", json!({"move_id": 201}), MISSING).await;
    assert_eq!(app.table_counts(), before, "nothing refused changed anything");
    let statuses = tenant_result(&app, "account.move", "get_dte_status", json!({"move_ids": [101, 201]})).await;
    assert_eq!(
        statuses.as_array().map(|s| s.iter().map(|d| d["move_id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(101)])
    );

    // Without a company_id the key acts for its own company, and only for it.
    let status = tenant_result(&app, "dte.contingency", "get_status", json!({})).await;
    assert_eq!(status["company_id"], 1);
    let kpis = tenant_result(&app, "dte.dashboard", "get_kpis", json!({})).await;
    assert_eq!((kpis["company_id"].clone(), kpis["failed_queue_count"].clone()), (json!(1), json!(1)), "{kpis}");
    let due = tenant_result(&app, "dte.failed.queue", "retry_due", json!({})).await;
    assert_eq!(due["due"], 0, "{due}");
    app.clock.advance(chrono::TimeDelta::hours(2));
    let due = tenant_result(&app, "dte.failed.queue", "retry_due", json!({})).await;
    assert_eq!(due["due"], 1, "only company 1's entry is due for this key: {due}");
    assert!(!due["ids"].as_array().is_some_and(|ids| ids.contains(&failed[1])), "{due}");
    let entry_2 = app.call("dte.failed.queue", "read", json!([[failed[1]], ["retry_count"]]), json!({})).await;
    assert_eq!(entry_2[0]["retry_count"], 0);
    let vals = json!({"dte_type": "33", "folio": "53", "move_id": 305,
        "xml_content": b64(common::dte_xml("33", "53").as_bytes())});
    let id = tenant_result(&app, "dte.contingency.pending", "create", json!({"vals_list": vals})).await;
    let row = app.call("dte.contingency.pending", "read", json!([[id], ["company_id"]]), json!({})).await;
    assert_eq!(row[0]["company_id"], 1);

    // The weekly retention run by the bound key touches company 1's backups only.
    app.clock.advance(chrono::TimeDelta::days(365 * 7));
    let removed = tenant_result(&app, "dte.backup", "run_retention", json!({})).await;
    assert_eq!(removed["removed"], 1, "{removed}");
    let left = app.call("dte.backup", "search_read", json!([[]]), json!({"fields": ["company_id"]})).await;
    assert_eq!(
        left.as_array().map(|rows| rows.iter().map(|r| r["company_id"].clone()).collect::<Vec<_>>()),
        Some(vec![json!(2)])
    );
}

#[actix_rt::test]
async fn context_uid_is_recorded_as_the_caller_asserts_it_and_must_be_a_user_id() {
    let app = TestApp::spawn_with(|s| {
        s.auth.api_keys.insert("tenant1".into(), Secret::new(TENANT_KEY));
        s.auth.key_companies.insert("tenant1".into(), vec![1]);
    })
    .await;
    app.register_company(1, COMPANY_RUT).await;
    let status = tenant_result(
        &app,
        "dte.contingency",
        "enable_contingency",
        json!({"reason": "manual", "comment": "prueba", "context": {"uid": 7}}),
    )
    .await;
    assert_eq!((status["enabled"].clone(), status["enabled_by"].clone()), (json!(true), json!(7)));
    let audit = app
        .call(
            "dte.audit.log",
            "search_read",
            json!([[["action", "=", "contingency.enable"]]]),
            json!({"fields": ["actor", "actor_uid", "company_id"]}),
        )
        .await;
    assert_eq!(audit.as_array().map(Vec::len), Some(1), "{audit}");
    // The key's name is what the sidecar knows; the uid is what the caller says.
    assert_eq!(
        (&audit[0]["actor"], &audit[0]["actor_uid"], &audit[0]["company_id"]),
        (&json!("tenant1"), &json!(7), &json!(1))
    );
    let before = app.table_counts();
    for uid in [json!("admin"), json!(1.5), json!(i64::from(i32::MAX) + 1), json!([7])] {
        tenant_refused(
            &app,
            "dte.contingency",
            "disable_contingency",
            json!({"comment": "x", "context": {"uid": uid}}),
            "odoo.exceptions.ValidationError",
        )
        .await;
    }
    assert_eq!(app.table_counts(), before);
}
