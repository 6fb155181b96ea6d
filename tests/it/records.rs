//! The specification's records over RPC: backups, the retry queue, contingency and
//! pending documents, and the ORM reads over them.

use crate::common::{dte_xml, error_of, TestApp};
use serde_json::{json, Value};

#[actix_rt::test]
async fn backup_dte_keeps_the_signed_xml_byte_for_byte() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let xml = dte_xml("33", "12345");
    let id = app
        .call(
            "dte.backup",
            "backup_dte",
            json!(["33", "12345", xml, "0001234", 42]),
            json!({"context": {"allowed_company_ids": [1]}}),
        )
        .await;
    let rows = app.call("dte.backup", "read", json!([[id]]), json!({})).await;
    let row = &rows[0];
    assert_eq!(row["dte_type"], "33");
    assert_eq!(row["folio"], "12345");
    assert_eq!(row["rut_emisor"], "76000001-9");
    assert_eq!(row["track_id"], "0001234", "track ids keep their leading zeros");
    assert_eq!(row["company_id"], 1);
    assert_eq!(row["move_id"], 42);
    assert_eq!(row["sent_date"], "2026-03-02 12:00:00");
    assert_eq!(row["display_name"], "DTE 33-12345");
    // Stored in the encoding it declares: ISO-8859-1, as it was signed.
    let stored = base64_decode(row["xml_content"].as_str().unwrap());
    let latin1: Vec<u8> = xml.chars().map(|c| c as u32 as u8).collect();
    assert_eq!(stored, latin1);
    assert_eq!(row["sha256"].as_str().unwrap(), hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&latin1)));
}

#[actix_rt::test]
async fn a_second_backup_of_a_folio_returns_the_first_or_is_refused() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let kwargs = |xml: String, track: &str| {
        json!({"dte_type": 33, "folio": 7, "xml_content": xml,
        "track_id": track, "move_id": 9, "company_id": 1})
    };
    let first = app.call("dte.backup", "backup_dte", json!([]), kwargs(dte_xml("33", "7"), "100")).await;
    let again = app.call("dte.backup", "backup_dte", json!([]), kwargs(dte_xml("33", "7"), "100")).await;
    assert_eq!(first, again, "same XML: the existing backup is returned");
    let other = dte_xml("33", "7").replace("Ñandú", "Otro");
    let answer = app.execute_kw("dte.backup", "backup_dte", json!([]), kwargs(other, "100")).await;
    let (name, message) = error_of(&answer);
    assert_eq!(name, "odoo.exceptions.UserError");
    assert!(message.contains("already backed up") && message.contains("never reused"), "{message}");
    assert_eq!(app.call("dte.backup", "search_count", json!([[]]), json!({})).await, 1);
}

#[actix_rt::test]
async fn twenty_parallel_backups_of_one_folio_make_one_row() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let xml = dte_xml("61", "500");
    let calls = (0..20).map(|_| {
        app.execute_kw("dte.backup", "backup_dte", json!(["61", "500", xml, "77", 5]), json!({"company_id": 1}))
    });
    let answers = futures::future::join_all(calls).await;
    let ids: std::collections::BTreeSet<i64> = answers.iter().map(|a| a["result"].as_i64().expect("an id")).collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(app.call("dte.backup", "search_count", json!([[["folio", "=", "500"]]]), json!({})).await, 1);
}

#[actix_rt::test]
async fn bad_backup_input_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let before = app.table_counts();
    let good = || {
        json!({"dte_type": "33", "folio": "10", "xml_content": dte_xml("33", "10"),
        "track_id": "1", "move_id": 3, "company_id": 1})
    };
    let with = |key: &str, value: Value| {
        let mut args = good();
        args[key] = value;
        args
    };
    let cases = [
        (with("dte_type", json!("39")), "dte_type: expected one of 33, 34, 52, 56, 61"),
        (with("dte_type", json!(true)), "dte_type: invalid type"),
        (with("folio", json!("0")), "folio: expected a positive integer folio"),
        (with("folio", json!("-4")), "folio: expected a positive integer folio"),
        (with("folio", json!("12a")), "folio: expected a positive integer folio"),
        (with("rut_emisor", json!("76000001-8")), "rut_emisor: RUT 76000001-8 has a wrong check digit (expected 9)"),
        (with("rut_emisor", json!("11111111-1")), "rut_emisor: 11111111-1 is not the RUT of company 1"),
        (with("company_id", json!(2)), "company_id: unknown company 2"),
        (with("move_id", json!(0)), "move_id: must be a positive"),
        (with("move_id", json!("x")), "move_id: invalid type"),
        (with("xml_content", json!("<DTE><open></DTE>")), "xml_content: not well-formed XML"),
        (with("xml_content", json!(12)), "xml_content: invalid type"),
        (
            with("xml_content", json!("<!DOCTYPE x SYSTEM \"file:///etc/passwd\"><x/>")),
            "xml_content: a DTD or entity declaration is not accepted",
        ),
        (with("xml_content", json!(dte_xml("33", "11"))), "xml_content: holds DTE 33 folio 11, not DTE 33 folio 10"),
        (with("track_id", json!("1; drop")), "track_id: expected the SII's track id"),
        (with("extra", json!(1)), "unexpected keyword argument 'extra'"),
    ];
    for (args, expected) in cases {
        let answer = app.execute_kw("dte.backup", "backup_dte", json!([]), args.clone()).await;
        let (name, message) = error_of(&answer);
        assert_eq!(name, "odoo.exceptions.ValidationError", "{args}: {answer}");
        assert!(message.contains(expected), "expected '{expected}', got '{message}'");
        let (status, body) = app.json2("dte.backup", "backup_dte", args.clone()).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["message"], message);
    }
    let mut missing = good();
    missing.as_object_mut().unwrap().remove("folio");
    let (name, message) = error_of(&app.execute_kw("dte.backup", "backup_dte", json!([]), missing).await);
    assert_eq!(
        (name.as_str(), message.as_str()),
        ("odoo.exceptions.ValidationError", "dte.backup.backup_dte() missing a required argument: 'folio'")
    );
    let huge = with("xml_content", json!(format!("<x>{}</x>", "a".repeat(5 * 1024 * 1024))));
    let (_, message) = error_of(&app.execute_kw("dte.backup", "backup_dte", json!([]), huge).await);
    assert!(message.contains("xml_content: larger than"), "{message}");
    assert_eq!(app.table_counts(), before);
}

#[actix_rt::test]
async fn add_failed_dte_refuses_what_a_retry_could_never_send() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let before = app.table_counts();
    // The specification's own example: well-formed, but no document the SII would take.
    for xml in ["<DTE>...</DTE>", "<DTE xmlns=\"http://www.sii.cl/SiiDte\"><Documento ID=\"F1T33\"/></DTE>"] {
        let answer = app
            .execute_kw(
                "dte.failed.queue",
                "add_failed_dte",
                json!(["33", "1", xml, "timeout", "SII timeout", 1]),
                json!({"company_id": 1}),
            )
            .await;
        let (name, message) = error_of(&answer);
        assert_eq!(name, "odoo.exceptions.ValidationError", "{answer}");
        assert!(message.contains("xml_content: is not a signed DTE that could be sent to the SII"), "{message}");
    }
    assert_eq!(app.table_counts(), before, "nothing queued");
}

#[actix_rt::test]
async fn add_failed_dte_queues_the_first_retry_in_one_hour_once() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let args = json!(["33", "12345", dte_xml("33", "12345"), "timeout", "SII timeout after 60s", 42]);
    let id = app.call("dte.failed.queue", "add_failed_dte", args.clone(), json!({"company_id": 1})).await;
    let again = app.call("dte.failed.queue", "add_failed_dte", args, json!({"company_id": 1})).await;
    assert_eq!(id, again, "a document waits in the queue once");
    let row = &app.call("dte.failed.queue", "read", json!([[id]]), json!({})).await[0];
    assert_eq!(row["state"], "pending");
    assert_eq!(row["error_type"], "timeout");
    assert_eq!(row["retry_count"], 0);
    assert_eq!(row["max_retries"], 5);
    assert_eq!(row["failed_date"], "2026-03-02 12:00:00");
    assert_eq!(row["next_retry_date"], "2026-03-02 13:00:00");
    assert_eq!(row["last_retry_date"], false);
    let history: Value = serde_json::from_str(row["retry_history"].as_str().unwrap()).unwrap();
    assert_eq!(history[0]["event"], "failed");

    let before = app.table_counts();
    for (error_type, message, expected) in [
        ("meteor", "x", "error_type: expected one of timeout, connection"),
        ("timeout", "  ", "error_message: must say what went wrong"),
    ] {
        let answer = app
            .execute_kw(
                "dte.failed.queue",
                "add_failed_dte",
                json!(["33", "1", dte_xml("33", "1"), error_type, message, 1]),
                json!({"company_id": 1}),
            )
            .await;
        assert!(error_of(&answer).1.contains(expected), "{answer}");
    }
    assert_eq!(app.table_counts(), before);
}

#[actix_rt::test]
async fn contingency_switches_are_audited_with_who_and_when() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let ctx = json!({"context": {"uid": 7, "allowed_company_ids": [1]}});
    let on = app
        .call("dte.contingency", "enable_contingency", json!([1, "sii_unavailable", "SII caído"]), ctx.clone())
        .await;
    assert_eq!(on["enabled"], true);
    assert_eq!(on["reason"], "sii_unavailable");
    assert_eq!(on["comment"], "SII caído");
    assert_eq!(on["enabled_by"], 7);
    assert_eq!(on["enabled_date"], "2026-03-02 12:00:00");
    // Enabling again changes nothing and is not a switch.
    let again = app.call("dte.contingency", "enable_contingency", json!([1, "manual"]), ctx.clone()).await;
    assert_eq!(again, on);
    app.clock.advance(chrono::TimeDelta::hours(3));
    let off = app.call("dte.contingency", "disable_contingency", json!([1, "SII volvió"]), ctx.clone()).await;
    assert_eq!(off["enabled"], false);
    assert_eq!(off["disabled_date"], "2026-03-02 15:00:00");
    assert_eq!(off["disabled_by"], 7);

    let kwargs = json!({
        "order": "id asc",
        "fields": ["action", "actor", "actor_uid", "company_id", "created_at", "details"],
    });
    let log = app.call("dte.audit.log", "search_read", json!([[["action", "ilike", "contingency"]]]), kwargs).await;
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["contingency.enable", "contingency.disable"]);
    assert_eq!(log[0]["actor"], "odoo");
    assert_eq!(log[0]["actor_uid"], 7);
    assert_eq!(log[1]["created_at"], "2026-03-02 15:00:00");
    assert!(log[0]["details"].as_str().unwrap().contains("SII caído"));
    assert_eq!(app.call("dte.contingency", "search_count", json!([[]]), json!({})).await, 1, "one row per company");
}

#[actix_rt::test]
async fn pending_documents_are_created_like_odoo_records_one_per_move() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let encoded = base64_encode(dte_xml("33", "5").as_bytes());
    let vals = json!({
        "dte_type": "33", "folio": "5", "rut_emisor": "76000001-9", "xml_content": encoded,
        "move_id": 11, "company_id": 1,
    });
    let id = app.call("dte.contingency.pending", "create", json!([vals]), json!({})).await;
    assert!(id.as_i64().is_some(), "one dict gives one id: {id}");
    let answer = app.execute_kw("dte.contingency.pending", "create", json!([vals]), json!({})).await;
    let (name, message) = error_of(&answer);
    assert_eq!(name, "odoo.exceptions.ValidationError");
    assert_eq!(message, "move 11 already has a document pending upload");
    let status = app.call("dte.contingency", "get_status", json!([1]), json!({})).await;
    assert_eq!(status["pending_count"], 1);
    let mut not_base64 = vals.clone();
    not_base64["xml_content"] = json!("<DTE/>");
    not_base64["move_id"] = json!(12);
    let answer = app.execute_kw("dte.contingency.pending", "create", json!([[not_base64]]), json!({})).await;
    assert!(error_of(&answer).1.contains("xml_content: expected base64"), "{answer}");
    assert_eq!(app.call("dte.contingency.pending", "search_count", json!([[]]), json!({})).await, 1);
}

#[actix_rt::test]
async fn search_read_speaks_odoo_domains_fields_limit_offset_and_order() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    app.register_company(2, "11111111-1").await;
    for (folio, dte_type, company, track) in
        [(1, "33", 1, Some("10")), (2, "61", 1, None), (3, "33", 1, Some("30")), (4, "34", 2, Some("40"))]
    {
        let mut kwargs = json!({
            "dte_type": dte_type,
            "folio": folio,
            "xml_content": dte_xml(dte_type, &folio.to_string()),
            "move_id": folio,
            "company_id": company,
        });
        if let Some(track) = track {
            kwargs["track_id"] = json!(track);
        }
        app.call("dte.backup", "backup_dte", json!([]), kwargs).await;
        app.clock.advance(chrono::TimeDelta::minutes(1));
    }
    let folios = |rows: &Value| -> Vec<String> {
        rows.as_array().unwrap().iter().map(|r| r["folio"].as_str().unwrap().to_string()).collect()
    };
    let search = |domain: Value, kwargs: Value| app.call("dte.backup", "search_read", json!([domain]), kwargs);

    assert_eq!(folios(&search(json!([]), json!({"order": "folio asc"})).await), ["1", "2", "3", "4"]);
    assert_eq!(folios(&search(json!([]), json!({})).await), ["4", "3", "2", "1"], "default order: newest first");
    assert_eq!(folios(&search(json!([["dte_type", "=", "33"]]), json!({"order": "folio"})).await), ["1", "3"]);
    assert_eq!(folios(&search(json!([["dte_type", "!=", "33"]]), json!({"order": "folio"})).await), ["2", "4"]);
    assert_eq!(folios(&search(json!([["dte_type", "in", ["61", "34"]]]), json!({"order": "folio"})).await), ["2", "4"]);
    assert_eq!(folios(&search(json!([["dte_type", "not in", [33, 34]]]), json!({})).await), ["2"]);
    assert_eq!(
        folios(&search(json!([["move_id", ">", 1], ["move_id", "<=", 3]]), json!({"order": "folio"})).await),
        ["2", "3"]
    );
    assert_eq!(folios(&search(json!([["move_id", ">=", 3]]), json!({"order": "folio"})).await), ["3", "4"]);
    assert_eq!(folios(&search(json!([["move_id", "<", 2]]), json!({})).await), ["1"]);
    assert_eq!(
        folios(&search(json!(["|", ["folio", "=", "1"], ["folio", "=", "4"]]), json!({"order": "folio"})).await),
        ["1", "4"]
    );
    assert_eq!(folios(&search(json!(["&", ["dte_type", "=", "33"], ["track_id", "=", "30"]]), json!({})).await), ["3"]);
    assert_eq!(folios(&search(json!(["!", ["dte_type", "=", "33"]]), json!({"order": "folio"})).await), ["2", "4"]);
    assert_eq!(folios(&search(json!([["track_id", "=", false]]), json!({})).await), ["2"]);
    assert_eq!(folios(&search(json!([["display_name", "ilike", "dte 61"]]), json!({})).await), ["2"]);
    assert_eq!(
        folios(&search(json!([["display_name", "ilike", "%"]]), json!({})).await),
        Vec::<String>::new(),
        "ilike escapes wildcards"
    );
    // =like / =ilike: the pattern as given (Odoo's search boxes send a track id's beginning).
    assert_eq!(folios(&search(json!([["track_id", "=like", "3%"]]), json!({})).await), ["3"]);
    assert_eq!(folios(&search(json!([["track_id", "=like", "0"]]), json!({})).await), Vec::<String>::new());
    assert_eq!(folios(&search(json!([["display_name", "=like", "dte 61%"]]), json!({})).await), Vec::<String>::new());
    assert_eq!(folios(&search(json!([["display_name", "=ilike", "dte 61%"]]), json!({})).await), ["2"]);
    assert_eq!(
        folios(&search(json!([["sent_date", ">=", "2026-03-02 12:02:00"]]), json!({"order": "folio"})).await),
        ["3", "4"]
    );
    assert_eq!(folios(&search(json!([]), json!({"order": "folio", "limit": 2, "offset": 1})).await), ["2", "3"]);
    // Companies the Odoo user works in narrow every read.
    assert_eq!(
        folios(&search(json!([]), json!({"order": "folio", "context": {"allowed_company_ids": [2]}})).await),
        ["4"]
    );

    let rows = search(json!([["folio", "=", "2"]]), json!({"fields": ["folio", "track_id"]})).await;
    assert_eq!(rows, json!([{"id": rows[0]["id"], "folio": "2", "track_id": false}]));
    let ids = app.call("dte.backup", "search", json!([[["dte_type", "=", "33"]]]), json!({"order": "folio"})).await;
    assert_eq!(ids.as_array().unwrap().len(), 2);
    assert_eq!(app.call("dte.backup", "search_count", json!([[["dte_type", "=", "33"]]]), json!({})).await, 2);
    let (status, body) =
        app.json2("dte.backup", "search_read", json!({"domain": [["folio", "=", "4"]], "fields": ["folio"]})).await;
    assert_eq!((status, body[0]["folio"].clone()), (200, json!("4")));

    let answer = app.execute_kw("dte.backup", "read", json!([[ids[0], 99999]]), json!({})).await;
    assert_eq!(error_of(&answer).0, "odoo.exceptions.MissingError");
    let before = app.table_counts();
    for (kwargs, expected) in [
        (json!({"fields": ["password"]}), "fields: invalid field 'password'"),
        (json!({"order": "folio; DROP TABLE dte_backup"}), "order: "),
        (json!({"limit": -1}), "limit: expected a number"),
        (json!({"limit": 10_000_000}), "limit: expected a number"),
        (json!({"offset": -5}), "offset: must not be negative"),
        (json!({"domain": [["folio", "~", "1"]]}), "unsupported operator '~'"),
    ] {
        let answer = app.execute_kw("dte.backup", "search_read", json!([]), kwargs.clone()).await;
        let (name, message) = error_of(&answer);
        assert_eq!(name, "odoo.exceptions.ValidationError", "{kwargs}");
        assert!(message.contains(expected), "{kwargs}: {message}");
    }
    assert_eq!(app.table_counts(), before);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[actix_rt::test]
async fn a_read_of_the_same_id_many_times_answers_it_once() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let args = json!(["33", "12345", dte_xml("33", "12345"), "timeout", "SII timeout", 42]);
    let id = app.call("dte.failed.queue", "add_failed_dte", args, json!({"company_id": 1})).await;
    let other = app
        .call(
            "dte.failed.queue",
            "add_failed_dte",
            json!(["33", "12346", dte_xml("33", "12346"), "timeout", "SII timeout", 43]),
            json!({"company_id": 1}),
        )
        .await;
    let asked: Vec<Value> = std::iter::repeat_n(id.clone(), 9_000).chain([other.clone(), id.clone()]).collect();
    let rows = app.call("dte.failed.queue", "read", json!([asked, ["folio", "xml_content"]]), json!({})).await;
    let ids: Vec<&Value> = rows.as_array().unwrap().iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [&id, &other], "each record once, in the order first asked");
}
