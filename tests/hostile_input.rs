//! Hostile input over real HTTP, through both doors: every case gets an Odoo-shaped error,
//! the service keeps answering, and the tables stay as they were.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{error_of, TestApp, API_KEY, COMPANY_RUT};
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

/// Both doors answer `call` with the same Odoo exception; the message holds `expected`.
async fn refused_by_both_doors(app: &TestApp, model: &str, method: &str, kwargs: Value, name: &str, expected: &str) {
    let (status, body) = app.json2(model, method, kwargs.clone()).await;
    assert_eq!(body["name"], name, "/json/2 {model}.{method}: {status} {body}");
    assert!(body["message"].as_str().unwrap_or_default().contains(expected), "/json/2: {body}");
    assert!((400..500).contains(&status), "/json/2 answered {status}");
    let answer = app.execute_kw(model, method, json!([]), kwargs).await;
    let (got, message) = error_of(&answer);
    assert_eq!(got, name, "/jsonrpc {model}.{method}: {answer}");
    assert!(message.contains(expected), "/jsonrpc: {message}");
}

async fn still_serving(app: &TestApp) {
    assert_eq!(app.get("/healthz").await.0, 200);
    assert_eq!(app.get("/readyz").await, (200, json!({"status": "ready"})));
    let status = app.call("dte.contingency", "get_status", json!([1]), json!({})).await;
    assert_eq!(status["company_id"], 1);
}

#[actix_rt::test]
async fn huge_and_deep_domains_are_refused_and_the_service_stays_up() {
    let app = TestApp::spawn().await;
    app.register_company(1, COMPANY_RUT).await;
    let before = app.table_counts();
    const VALIDATION: &str = "odoo.exceptions.ValidationError";

    // A million '!' (about 4 MB of JSON): once enough to overflow the stack.
    let mut nots = vec![json!("!"); 1_000_000];
    nots.push(json!(["folio", "=", "1"]));
    refused_by_both_doors(&app, "dte.backup", "search_read", json!({"domain": nots}), VALIDATION, "more than the 1000")
        .await;
    // A long implicit '&' chain, and a deep explicit one.
    let chain = vec![json!(["folio", "=", "1"]); 200_000];
    refused_by_both_doors(&app, "dte.backup", "search_count", json!({"domain": chain}), VALIDATION, "domain:").await;
    let mut ands = vec![json!("&"); 150];
    ands.extend(std::iter::repeat_n(json!(["folio", "=", "1"]), 151));
    refused_by_both_doors(&app, "dte.backup", "search", json!({"domain": ands}), VALIDATION, "nested deeper").await;
    // The largest allowed still answers.
    let allowed = vec![json!(["folio", "!=", "x"]); 1000];
    let (status, rows) = app.json2("dte.backup", "search_read", json!({"domain": allowed})).await;
    assert_eq!((status, rows), (200, json!([])));

    // A NUL character cannot reach PostgreSQL: a ValidationError naming the argument.
    refused_by_both_doors(
        &app,
        "dte.backup",
        "search_read",
        json!({"domain": [["folio", "=", "1\u{0}"]]}),
        VALIDATION,
        "domain: text may not contain a NUL character",
    )
    .await;
    refused_by_both_doors(
        &app,
        "dte.contingency",
        "enable_contingency",
        json!({"company_id": 1, "reason": "manual", "comment": "a\u{0}b"}),
        VALIDATION,
        "comment: text may not contain a NUL character",
    )
    .await;
    assert_eq!(app.table_counts(), before);
    still_serving(&app).await;
}

#[actix_rt::test]
async fn a_read_of_millions_of_ids_is_capped() {
    let app = TestApp::spawn_with(|s| s.limits.max_search_limit = 1000).await;
    app.register_company(1, COMPANY_RUT).await;
    let before = app.table_counts();
    let ids = vec![json!(1); 1_000_000];
    refused_by_both_doors(
        &app,
        "dte.company",
        "read",
        json!({"ids": ids}),
        "odoo.exceptions.ValidationError",
        "ids: 1000000 ids is more than the 1000 one read may ask for",
    )
    .await;
    // Duplicates within the cap answer one row per id asked, as Odoo does.
    let (status, rows) = app.json2("dte.company", "read", json!({"ids": [1, 1, 1], "fields": ["rut"]})).await;
    assert_eq!(status, 200);
    assert_eq!(rows.as_array().map(Vec::len), Some(3));
    assert_eq!(app.table_counts(), before);
    still_serving(&app).await;
}

#[actix_rt::test]
async fn the_key_is_checked_before_arguments_are_read_and_alike_on_both_doors() {
    let app = TestApp::spawn().await;
    app.register_company(1, COMPANY_RUT).await;
    let before = app.table_counts();
    // A large body with a wrong key: refused as Access Denied, whatever it holds.
    let big = vec![json!({"a": [1, 2, 3, {"b": "c"}]}); 100_000];
    let answer = app
        .jsonrpc(json!({"jsonrpc": "2.0", "id": 5, "params": {"service": "object", "method": "execute_kw",
            "args": ["db", 2, "wrong-key-0123456789abc", "dte.backup", "search_read", [big], {}]}}))
        .await;
    assert_eq!(error_of(&answer), ("odoo.exceptions.AccessDenied".into(), "Access Denied".into()));
    assert_eq!(answer["id"], 5);
    // No key at all, a key that is not text.
    for key in [json!(null), json!(12345), json!(["k"])] {
        let answer = app
            .jsonrpc(json!({"jsonrpc": "2.0", "id": 1, "params": {"service": "object", "method": "execute_kw",
                "args": ["db", 2, key, "dte.contingency", "get_status", [1], {}]}}))
            .await;
        assert_eq!(error_of(&answer).0, "odoo.exceptions.AccessDenied");
    }
    // One rule on both doors: whitespace around the key is not part of it.
    let padded = format!("  {API_KEY}\t");
    let answer = app
        .jsonrpc(json!({"jsonrpc": "2.0", "id": 1, "params": {"service": "object", "method": "execute_kw",
            "args": ["db", 2, padded, "dte.contingency", "get_status", [1], {}]}}))
        .await;
    assert_eq!(answer["result"]["company_id"], 1, "{answer}");
    let (status, body) = app
        .json2_raw("dte.contingency/get_status", Some(&format!(" {API_KEY}")), br#"{"company_id": 1}"#.to_vec())
        .await;
    assert_eq!((status, &body["company_id"]), (200, &json!(1)), "{body}");
    // A body that is JSON but not a request object.
    let mut response = awc::Client::default()
        .post(format!("{}/jsonrpc", app.base))
        .insert_header(("Content-Type", "application/json"))
        .send_body("[1, 2, 3]")
        .await
        .unwrap();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(error_of(&answer).0, "werkzeug.exceptions.BadRequest");
    assert_eq!(app.table_counts(), before);
    still_serving(&app).await;
}

/// Sends the head of a request and a few bytes of its body, then stops; the answer must
/// come once the body timeout has passed.
fn trickle(base: &str, path: &str) -> (Duration, String) {
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: bearer {API_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"company_id\""
    );
    let started = Instant::now();
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    let _ = stream.read(&mut buffer).map(|n| answer.extend_from_slice(&buffer[..n]));
    (started.elapsed(), String::from_utf8_lossy(&answer).into_owned())
}

#[actix_rt::test]
async fn a_slow_body_is_cut_off_after_the_body_timeout() {
    let app = TestApp::spawn_with(|s| s.limits.body_timeout_secs = 1).await;
    app.register_company(1, COMPANY_RUT).await;
    for path in ["/json/2/dte.contingency/get_status", "/jsonrpc"] {
        let base = app.base.clone();
        let (took, answer) = actix_rt::task::spawn_blocking(move || trickle(&base, path)).await.unwrap();
        assert!(took < Duration::from_secs(10), "{path}: answered after {took:?}");
        assert!(answer.contains("did not arrive within 1 seconds"), "{path}: {answer}");
        assert!(answer.contains("werkzeug.exceptions.BadRequest"), "{path}: {answer}");
    }
    still_serving(&app).await;
}

fn backup_kwargs(xml: &str) -> Value {
    json!({"dte_type": "33", "folio": "7", "xml_content": xml, "track_id": "1", "move_id": 3, "company_id": 1})
}

#[actix_rt::test]
async fn markup_cannot_be_smuggled_into_a_backup_or_a_caf() {
    let app = TestApp::spawn().await;
    app.register_company(1, COMPANY_RUT).await;
    let before = app.table_counts();
    const VALIDATION: &str = "odoo.exceptions.ValidationError";
    let cases = [
        // UTF-7: '+ADw-' is '<', so no byte check sees the DOCTYPE.
        (
            "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-!DOCTYPE DTE +AFs-+ADw-!ENTITY a \"x\"+AD4-+AF0-+AD4-\
             <DTE>+ACY-a;</DTE>",
            "encoding UTF-7 is not accepted",
        ),
        ("<?xml version=\"1.0\" encoding=\"UTF-16\"?><DTE/>", "encoding UTF-16 is not accepted"),
        ("<?xml version=\"1.0\" encoding=\"ebcdic-cp-us\"?><DTE/>", "is not accepted"),
        ("<!doctype DTE SYSTEM \"file:///etc/passwd\"><DTE/>", "DTD"),
        ("<DTE>&lol;</DTE>", "not well-formed"),
    ];
    for (xml, expected) in cases {
        refused_by_both_doors(&app, "dte.backup", "backup_dte", backup_kwargs(xml), VALIDATION, expected).await;
    }
    // Nested entities (a "billion laughs"): refused before anything expands.
    let mut laughs = String::from("<?xml version=\"1.0\"?><!DOCTYPE DTE [<!ENTITY l0 \"lol\">");
    for level in 1..10 {
        laughs.push_str(&format!("<!ENTITY l{level} \"{}\">", format!("&l{};", level - 1).repeat(10)));
    }
    laughs.push_str("]><DTE>&l9;</DTE>");
    refused_by_both_doors(&app, "dte.backup", "backup_dte", backup_kwargs(&laughs), VALIDATION, "DTD").await;
    refused_by_both_doors(
        &app,
        "dte.failed.queue",
        "add_failed_dte",
        json!({"dte_type": "33", "folio": "7",
        "xml_content": laughs, "error_type": "connection", "error_message": "x", "move_id": 3, "company_id": 1}),
        VALIDATION,
        "DTD",
    )
    .await;
    let caf = "<?xml version=\"1.0\"?><!DOCTYPE AUTORIZACION [<!ENTITY x \"y\">]><AUTORIZACION>&x;</AUTORIZACION>"
        .to_string();
    refused_by_both_doors(&app, "dte.caf", "load", json!({"company_id": 1, "caf_xml": caf}), VALIDATION, "DTD").await;
    assert_eq!(app.table_counts(), before);
    still_serving(&app).await;
}

#[actix_rt::test]
async fn an_unreadable_pending_document_is_quarantined_and_the_others_are_sent() {
    let app = TestApp::spawn().await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    app.call("dte.contingency", "enable_contingency", json!([1]), json!({})).await;
    for move_id in [1, 2, 3] {
        let answer = app.send(move_id, 1, 33, COMPANY_RUT).await;
        assert_eq!(answer["result"]["state"], "contingency", "{answer}");
    }
    // An entry stored before the checks were strict: a DTD with nested entities.
    app.db
        .conn()
        .batch_execute(
            "UPDATE dte_sidecar.dte_contingency_pending SET xml_content = convert_to('<!DOCTYPE DTE [<!ENTITY a \"aaaa\">\
             <!ENTITY b \"&a;&a;&a;&a;\">]><DTE>&b;</DTE>', 'UTF8') WHERE move_id = 1",
        )
        .unwrap();
    app.call("dte.contingency", "disable_contingency", json!([1]), json!({})).await;
    let report = app.call("dte.contingency", "upload_pending_batch", json!([1, 50]), json!({})).await;
    assert_eq!((report["envelopes"].as_i64(), report["uploaded"].as_i64()), (Some(1), Some(2)), "{report}");
    assert_eq!(report["remaining"], 0, "the quarantined document is not waiting any more: {report}");
    let quarantined = app
        .call(
            "dte.contingency.pending",
            "search_read",
            json!([[["move_id", "=", 1]]]),
            json!({"fields": ["uploaded", "upload_error"]}),
        )
        .await;
    assert_eq!(quarantined[0]["uploaded"], false);
    let reason = quarantined[0]["upload_error"].as_str().unwrap_or_default();
    assert!(reason.starts_with("quarantined: the stored XML cannot be read"), "{reason}");
    // Never read again: the next batch has nothing to do and sends nothing.
    let uploads = app.sim.upload_count();
    let again = app.call("dte.contingency", "upload_pending_batch", json!([1, 50]), json!({})).await;
    assert_eq!(again["envelopes"], 0, "{again}");
    assert_eq!(app.sim.upload_count(), uploads);
    still_serving(&app).await;
}
