//! The Odoo-compatible face: both doors, authentication, Odoo's error shapes.

use crate::common::{error_of, TestApp, API_KEY};
use serde_json::{json, Value};

#[actix_rt::test]
async fn common_version_and_login_answer_like_odoo() {
    let app = TestApp::spawn().await;
    let version = app
        .jsonrpc(json!({"jsonrpc": "2.0", "method": "call", "id": 7,
        "params": {"service": "common", "method": "version", "args": []}}))
        .await;
    assert_eq!(version["id"], 7);
    assert_eq!(version["result"]["server_serie"], "19.0");
    assert_eq!(version["result"]["protocol_version"], 1);

    let login = |login: &str, key: &str| {
        json!({"jsonrpc": "2.0", "method": "call", "id": 1,
        "params": {"service": "common", "method": "login", "args": ["db", login, key]}})
    };
    assert_eq!(app.jsonrpc(login("odoo", API_KEY)).await["result"], 1);
    assert_eq!(app.jsonrpc(login("odoo", "wrong-key-0123456789")).await["result"], false);
    assert_eq!(app.jsonrpc(login("someone", API_KEY)).await["result"], false);
}

#[actix_rt::test]
async fn a_wrong_key_is_access_denied_and_nothing_happens() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let before = app.table_counts();
    let answer = app
        .jsonrpc(json!({"jsonrpc": "2.0", "method": "call", "id": 3,
        "params": {"service": "object", "method": "execute_kw",
            "args": ["db", 2, "not-the-key-0123456789", "dte.contingency", "enable_contingency", [1], {}]}}))
        .await;
    assert_eq!(error_of(&answer), ("odoo.exceptions.AccessDenied".into(), "Access Denied".into()));
    assert!(answer.get("result").is_none());

    let (status, body) = app
        .json2_raw("dte.contingency/enable_contingency", Some("nope-0123456789abcdef"), br#"{"company_id":1}"#.to_vec())
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["name"], "odoo.exceptions.AccessDenied");
    let (status, _) = app.json2_raw("dte.contingency/enable_contingency", None, br#"{"company_id":1}"#.to_vec()).await;
    assert_eq!(status, 401);
    assert_eq!(app.table_counts(), before);
    let status = app.call("dte.contingency", "get_status", json!([1]), json!({})).await;
    assert_eq!(status["enabled"], false);
}

#[actix_rt::test]
async fn both_doors_reach_the_same_dispatcher() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let (status, body) = app.json2("dte.contingency", "get_status", json!({"company_id": 1})).await;
    assert_eq!(status, 200);
    assert_eq!(body["company_id"], 1);
    assert_eq!(body["enabled"], false);
    let via_jsonrpc = app.call("dte.contingency", "get_status", json!([1]), json!({})).await;
    assert_eq!(via_jsonrpc, body);
    // The context's current company stands in for a missing company_id.
    let (status, body) =
        app.json2("dte.contingency", "get_status", json!({"context": {"allowed_company_ids": [1]}})).await;
    assert_eq!((status, body["company_id"].clone()), (200, json!(1)));
}

#[actix_rt::test]
async fn malformed_requests_get_odoo_shaped_errors_never_a_500() {
    let app = TestApp::spawn().await;
    // /json/2: bad JSON, a non-object body, unknown model, unknown method, private path.
    let (status, body) = app.json2_raw("dte.backup/backup_dte", Some(API_KEY), b"{not json".to_vec()).await;
    assert_eq!((status, body["name"].as_str()), (400, Some("werkzeug.exceptions.BadRequest")));
    assert!(body["message"].as_str().unwrap_or_default().contains("could not parse the body as json"));
    let (status, _) = app.json2_raw("dte.backup/backup_dte", Some(API_KEY), b"[1,2]".to_vec()).await;
    assert_eq!(status, 400);
    let (status, body) = app.json2("no.such.model", "search_read", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "the model 'no.such.model' does not exist");
    let (status, body) = app.json2("dte.backup", "unlink", json!({"ids": [1]})).await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "The method 'dte.backup.unlink' does not exist");
    let (status, _) = app.json2_raw("dte.backup", Some(API_KEY), b"{}".to_vec()).await;
    assert_eq!(status, 404);

    // /jsonrpc: always 200 with the envelope.
    let mut response = awc::Client::default()
        .post(format!("{}/jsonrpc", app.base))
        .insert_header(("Content-Type", "application/json"))
        .send_body("{\"jsonrpc\": ")
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(error_of(&answer).0, "werkzeug.exceptions.BadRequest");
    let answer = app.execute_kw("dte.backup", "frobnicate", json!([]), json!({})).await;
    assert_eq!(error_of(&answer).0, "werkzeug.exceptions.NotFound");
    let answer = app
        .jsonrpc(json!({"jsonrpc": "2.0", "id": 1, "params": {"service": "db", "method": "drop", "args": []}}))
        .await;
    assert_eq!(error_of(&answer).0, "werkzeug.exceptions.NotFound");
}

#[actix_rt::test]
async fn every_error_carries_its_code_and_parameters_and_the_vocabulary_lists_every_code() {
    let app = TestApp::spawn().await;
    let answer = app.execute_kw("dte.contingency", "enable_contingency", json!([1, "because"]), json!({})).await;
    let data = &answer["error"]["data"];
    assert_eq!(data["code"], "rpc.unknown_choice", "{answer}");
    assert_eq!(data["params"]["argument"], "reason", "{answer}");
    assert_eq!(data["params"]["got"], "because", "{answer}");
    assert_eq!(data["params"]["allowed"][3], "network", "{answer}");
    assert_eq!(data["retryable"], false, "{answer}");
    let vocabulary = app.execute_kw("dte.vocabulary", "get", json!([]), json!({})).await;
    let vocabulary = &vocabulary["result"];
    assert_eq!(vocabulary["contingency_reasons"][3], "network", "{vocabulary}");
    assert_eq!(vocabulary["states"]["contingency_pending"][0], "held", "{vocabulary}");
    let codes: Vec<&str> =
        vocabulary["messages"].as_array().expect("messages").iter().filter_map(|m| m["code"].as_str()).collect();
    for code in ["rpc.unknown_choice", "company.issuer_rut_differs", "server.database_unavailable", "auth.denied"] {
        assert!(codes.contains(&code), "{code} is not published");
    }
}

#[actix_rt::test]
async fn argument_errors_name_the_argument() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let before = app.table_counts();
    let cases = [
        ("get_status", json!([]), json!({}), "missing a required argument: 'company_id'"),
        ("get_status", json!(["one"]), json!({}), "company_id: invalid type: string \"one\""),
        ("get_status", json!([1, 2]), json!({}), "takes 1 positional arguments but 2 were given"),
        ("get_status", json!([1]), json!({"colour": "red"}), "unexpected keyword argument 'colour'"),
        ("get_status", json!([1]), json!({"company_id": 1}), "multiple values for argument 'company_id'"),
        ("get_status", json!([99]), json!({}), "company_id: unknown company 99"),
        ("enable_contingency", json!([1, "because"]), json!({}), "reason: expected one of manual"),
        ("get_status", json!([1]), json!({"context": "x"}), "context: expected an object"),
    ];
    for (method, args, kwargs, expected) in cases {
        let answer = app.execute_kw("dte.contingency", method, args.clone(), kwargs.clone()).await;
        let (name, message) = error_of(&answer);
        assert_eq!(name, "odoo.exceptions.ValidationError", "{method} {args} {kwargs}: {answer}");
        assert!(message.contains(expected), "{method} {args} {kwargs}: {message}");
    }
    assert_eq!(app.table_counts(), before);
}

#[actix_rt::test]
async fn an_oversized_body_is_refused_before_it_is_read_whole() {
    let app = TestApp::spawn_with(|s| {
        s.limits.max_body_bytes = 64 * 1024;
        s.limits.max_xml_bytes = 32 * 1024;
    })
    .await;
    app.register_company(1, "76000001-9").await;
    let before = app.table_counts();
    let big = "x".repeat(100 * 1024);
    let (status, body) = app.json2("dte.backup", "backup_dte", json!({"xml_content": big})).await;
    assert_eq!(status, 413);
    assert_eq!(body["name"], "odoo.exceptions.UserError");
    assert_eq!(body["message"], "Request body larger than 65536 bytes");
    let answer = app.execute_kw("dte.backup", "backup_dte", json!([]), json!({"xml_content": big})).await;
    assert_eq!(error_of(&answer).1, "Request body larger than 65536 bytes");
    assert_eq!(app.table_counts(), before);
}

#[actix_rt::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz").await, (200, json!({"status": "ok"})));
    assert_eq!(app.get("/readyz").await, (200, json!({"status": "ready"})));
}

/// An XML-RPC call as Python's `xmlrpc.client` writes it.
fn method_call(method: &str, params: &[&str]) -> String {
    let params: String = params.iter().map(|p| format!("<param><value>{p}</value></param>")).collect();
    format!(
        "<?xml version='1.0'?>\n<methodCall><methodName>{method}</methodName><params>{params}</params></methodCall>"
    )
}

#[actix_rt::test]
async fn the_xmlrpc_door_answers_like_odoo_on_the_same_dispatcher() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    let (status, version) = app.xmlrpc("common", &method_call("version", &[])).await;
    assert_eq!(status, 200);
    assert!(version.contains("<name>server_serie</name><value><string>19.0</string></value>"), "{version}");
    let login = |key: &str| {
        method_call("login", &["<string>dte</string>", "<string>odoo</string>", &format!("<string>{key}</string>")])
    };
    let (_, uid) = app.xmlrpc("common", &login(API_KEY)).await;
    assert!(uid.contains("<params><param><value><int>1</int></value></param></params>"), "{uid}");
    let (_, refused) = app.xmlrpc("common", &login("wrong-key-0123456789")).await;
    assert!(refused.contains("<boolean>0</boolean>"), "{refused}");

    // execute_kw reaches the dispatcher: the same answer as over JSON-RPC.
    let key = format!("<string>{API_KEY}</string>");
    let status_call = method_call(
        "execute_kw",
        &[
            "<string>dte</string>",
            "<int>1</int>",
            &key,
            "<string>dte.contingency</string>",
            "<string>get_status</string>",
            "<array><data><value><int>1</int></value></data></array>",
        ],
    );
    let (status, answer) = app.xmlrpc("object", &status_call).await;
    assert_eq!(status, 200);
    assert!(answer.contains("<name>enabled</name><value><boolean>0</boolean></value>"), "{answer}");
    assert!(answer.contains("<name>company_id</name><value><int>1</int></value>"), "{answer}");

    // Faults are Odoo's /xmlrpc/2 faults: 3 for a refused key, 2 for a user's error.
    let before = app.table_counts();
    let denied = method_call(
        "execute_kw",
        &[
            "<string>dte</string>",
            "<int>1</int>",
            "<string>not-the-key-0123456789</string>",
            "<string>dte.contingency</string>",
            "<string>enable_contingency</string>",
            "<array><data><value><int>1</int></value></data></array>",
        ],
    );
    let (status, fault) = app.xmlrpc("object", &denied).await;
    assert_eq!(status, 200);
    assert!(
        fault.contains("<fault>") && fault.contains("<name>faultCode</name><value><int>3</int></value>"),
        "{fault}"
    );
    let missing = method_call(
        "execute_kw",
        &[
            "<string>dte</string>",
            "<int>1</int>",
            &key,
            "<string>dte.failed.queue</string>",
            "<string>retry_send</string>",
            "<array><data><value><int>999</int></value></data></array>",
        ],
    );
    let (_, fault) = app.xmlrpc("object", &missing).await;
    assert!(fault.contains("<int>2</int>"), "{fault}");
    assert_eq!(app.table_counts(), before, "nothing changed");

    // Hostile bodies: a DTD, deep nesting, not XML — a fault each, and the door stays up.
    let bomb = "<?xml version='1.0'?><!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>\
        <methodCall><methodName>&b;</methodName></methodCall>";
    let deep = format!(
        "<methodCall><methodName>version</methodName><params><param>{}{}</param></params></methodCall>",
        "<value><array><data>".repeat(50_000),
        "</data></array></value>".repeat(50_000)
    );
    for (body, message) in [
        (bomb.to_string(), "a DTD or entity declaration is not accepted"),
        (deep, "values nest deeper than 32 levels"),
        ("{\"jsonrpc\": \"2.0\"}".to_string(), "the body is not well-formed XML"),
    ] {
        let (status, fault) = app.xmlrpc("common", &body).await;
        assert_eq!(status, 200);
        assert!(fault.contains("<fault>") && fault.contains(message), "{fault}");
    }
    let (_, unknown) = app.xmlrpc("report", &method_call("render_report", &[])).await;
    assert!(unknown.contains("unknown service method report.render_report"), "{unknown}");
    let (_, listed) = app.xmlrpc("db", &method_call("list", &[])).await;
    assert!(listed.contains("<int>3</int>"), "the databases are not listed: {listed}");
}
