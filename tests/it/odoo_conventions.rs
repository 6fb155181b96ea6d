//! Odoo's calling conventions and the little of Odoo a client needs to log in and
//! discover: False/None as "not given", one id or a list, Odoo 19's search signatures,
//! `res.users`, `ir.model`, `fields_get`, `name_search`, `display_name`, `execute`.

use crate::common::{error_of, TestApp, API_KEY};
use serde_json::{json, Value};

fn service(service: &str, method: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": service, "method": method, "args": args}})
}

#[actix_rt::test]
async fn version_login_and_authenticate_answer_as_odoo_19() {
    let app = TestApp::spawn().await;
    let version = app.jsonrpc(service("common", "version", json!([]))).await["result"].clone();
    assert_eq!(
        version,
        json!({"server_version": "19.0", "server_version_info": [19, 0, 0, "final", 0, ""],
               "server_serie": "19.0", "protocol_version": 1})
    );
    let mut response = awc::Client::new()
        .post(format!("{}/web/webclient/version_info", app.base))
        .send_json(&json!({"jsonrpc": "2.0", "method": "call", "id": 4, "params": {}}))
        .await
        .expect("send");
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["result"], version);
    assert_eq!(answer["id"], 4);
    let (status, body) = app.get("/doc-bearer/dte.backup.json").await;
    assert_eq!((status, body["name"].as_str()), (404, Some("werkzeug.exceptions.NotFound")));

    let uid = app.jsonrpc(service("common", "authenticate", json!(["db", "odoo", API_KEY, {}]))).await;
    assert_eq!(uid["result"], 1);
    let refused = app.jsonrpc(service("common", "authenticate", json!(["db", "odoo", "wrong-0123456789", {}]))).await;
    assert_eq!(refused["result"], false);
    let short = app.jsonrpc(service("common", "authenticate", json!(["db", "odoo", API_KEY]))).await;
    assert!(error_of(&short).1.contains("takes 4 positional arguments but 3 were given"), "{short}");
    let long = app.jsonrpc(service("common", "login", json!(["db", "odoo", API_KEY, {}]))).await;
    assert!(error_of(&long).1.contains("takes 3 positional arguments"), "{long}");
}

#[actix_rt::test]
async fn false_and_none_mean_not_given_and_one_id_stands_for_a_list() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    app.register_company(2, "76000001-9").await;
    // odoo-client-lib's search_read: search(domain, offset, limit or False, order or False).
    let ids = app.call("dte.company", "search", json!([[], 0, false, false]), json!({"context": {}})).await;
    assert_eq!(ids, json!([1, 2]));
    let ids = app.call("dte.company", "search", json!([[], null, 1, null]), json!({"context": false})).await;
    assert_eq!(ids, json!([1]));
    let rows = app.call("dte.company", "read", json!([ids, []]), json!({})).await;
    assert_eq!(rows[0]["display_name"], "Empresa 1 SpA (76000001-9)");
    assert_eq!(rows[0]["rut"], "76000001-9");
    let one = app.call("dte.company", "read", json!([2, ["name"]]), json!({"load": "_classic_write"})).await;
    assert_eq!(one, json!([{"id": 2, "name": "Empresa 2 SpA"}]));
    let rows = app
        .call("dte.company", "search_read", json!([false, false, false, false, false]), json!({"load": false}))
        .await;
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    assert_eq!(app.call("dte.company", "search_count", json!([[], false]), json!({})).await, 2);
    // The first company of the context stands in for a company_id given as False.
    let status = app
        .call("dte.contingency", "get_status", json!([false]), json!({"context": {"allowed_company_ids": [2]}}))
        .await;
    assert_eq!(status["company_id"], 2);
    // search and search_count take a domain, as in Odoo 19.
    let missing = app.execute_kw("dte.company", "search", json!([]), json!({})).await;
    assert!(error_of(&missing).1.contains("missing a required argument: 'domain'"), "{missing}");
    let (status, body) = app.json2("dte.company", "search_count", json!({})).await;
    assert_eq!((status, body["name"].as_str()), (422, Some("odoo.exceptions.ValidationError")));
}

#[actix_rt::test]
async fn res_users_is_the_calling_client_and_context_get_its_context() {
    let app = TestApp::spawn().await;
    let context = app.call("res.users", "context_get", json!([]), json!({})).await;
    assert_eq!(context, json!({"lang": "en_US", "tz": "UTC", "uid": 1}));
    let (status, body) = app.json2("res.users", "context_get", json!({})).await;
    assert_eq!((status, body), (200, context));
    let me = app.call("res.users", "read", json!([[1], ["name", "login", "lang", "tz"]]), json!({})).await;
    assert_eq!(me, json!([{"id": 1, "name": "odoo", "login": "odoo", "lang": "en_US", "tz": "UTC"}]));
    assert_eq!(app.call("res.users", "search", json!([[["login", "=", "odoo"]]]), json!({})).await, json!([1]));
    let other = app.execute_kw("res.users", "read", json!([[2]]), json!({})).await;
    assert_eq!(error_of(&other).0, "odoo.exceptions.MissingError");
    let write = app.execute_kw("res.users", "write", json!([[1], {"name": "x"}]), json!({})).await;
    assert_eq!(error_of(&write).0, "werkzeug.exceptions.NotFound");
}

#[actix_rt::test]
async fn ir_model_and_fields_get_describe_the_sidecars_models() {
    let app = TestApp::spawn().await;
    let models = app.call("ir.model", "search_read", json!([[], ["model", "name"]]), json!({})).await;
    let names: Vec<&str> = models.as_array().into_iter().flatten().filter_map(|m| m["model"].as_str()).collect();
    for expected in ["account.move", "dte.backup", "dte.caf", "dte.dashboard", "ir.model", "res.users"] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert!(!names.contains(&"res.partner"));
    // odoorpc's `model in env`: ir.model search through object.execute.
    let found = app
        .jsonrpc(service(
            "object",
            "execute",
            json!(["db", 1, API_KEY, "ir.model", "search", [["model", "=", "dte.failed.queue"]]]),
        ))
        .await;
    assert_eq!(found["result"].as_array().map(Vec::len), Some(1), "{found}");

    let fields = app.call("dte.caf", "fields_get", json!([]), json!({})).await;
    assert_eq!(fields["folio_from"]["type"], "integer");
    assert_eq!(fields["expires_on"]["type"], "date");
    assert_eq!(fields["loaded_at"]["type"], "datetime");
    assert_eq!(fields["dte_type"]["string"], "DTE Type");
    assert_eq!(fields["display_name"]["type"], "char");
    assert_eq!(fields["folio_from"]["readonly"], true);
    assert!(fields.get("sealed_caf").is_none(), "sealed columns are never described");
    let some = app.call("dte.caf", "fields_get", json!([["idk"], ["type"]]), json!({})).await;
    assert_eq!(some, json!({"idk": {"type": "integer"}}));
    assert_eq!(app.call("account.move", "fields_get", json!([]), json!({})).await, json!({}));
}

#[actix_rt::test]
async fn name_search_and_display_name_on_the_record_models() {
    let app = TestApp::spawn().await;
    app.register_company(1, "76000001-9").await;
    app.register_company(2, "76000001-9").await;
    let pairs = app.call("dte.company", "name_search", json!(["empresa 2"]), json!({})).await;
    assert_eq!(pairs, json!([[2, "Empresa 2 SpA (76000001-9)"]]));
    let pairs = app.call("dte.company", "name_search", json!([]), json!({"limit": 1})).await;
    assert_eq!(pairs.as_array().map(Vec::len), Some(1));
    let none =
        app.call("dte.company", "name_search", json!(["Empresa", [["id", "=", 3]], "ilike", 10]), json!({})).await;
    assert_eq!(none, json!([]));
    let exact =
        app.call("dte.company", "name_search", json!(["Empresa 1 SpA (76000001-9)", false, "="]), json!({})).await;
    assert_eq!(exact, json!([[1, "Empresa 1 SpA (76000001-9)"]]));
    let by_name = app
        .call("dte.company", "search_read", json!([[["display_name", "ilike", "2 spa"]], ["display_name"]]), json!({}))
        .await;
    assert_eq!(by_name, json!([{"id": 2, "display_name": "Empresa 2 SpA (76000001-9)"}]));
    let ordered = app.call("dte.company", "search", json!([[], 0, 5, "display_name desc"]), json!({})).await;
    assert_eq!(ordered, json!([2, 1]));
    let contingency = app.call("dte.contingency", "search_read", json!([[], ["display_name"]]), json!({})).await;
    assert_eq!(contingency[0]["display_name"], "Contingency, company 1");
    let count =
        app.call("dte.contingency", "search_count", json!([[["display_name", "ilike", "company 2"]]]), json!({})).await;
    assert_eq!(count, 1);
}
