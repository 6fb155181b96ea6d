//! Hostile input over real HTTP, through both doors: every case gets an Odoo-shaped error,
//! the service keeps answering, and the tables stay as they were.

use crate::common::{self, error_of, TestApp, API_KEY, COMPANY_RUT};

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;
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
    // Duplicates within the cap are read once (Odoo would repeat the row for each: 10,000
    // copies of one id were an answer 10,000 rows long).
    let (status, rows) = app.json2("dte.company", "read", json!({"ids": [1, 1, 1], "fields": ["rut"]})).await;
    assert_eq!(status, 200);
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
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
            "UPDATE dte_sidecar.dte_contingency_pending \
             SET xml_content = convert_to('<!DOCTYPE DTE [<!ENTITY a \"aaaa\">\
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

#[actix_rt::test]
async fn an_argument_nested_past_the_parser_limit_is_a_bad_request_on_both_doors() {
    let app = TestApp::spawn().await;
    app.register_company(1, COMPANY_RUT).await;
    let mut deep = json!([]);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let answer = app
        .jsonrpc(json!({"jsonrpc": "2.0", "id": 1, "params": {"service": "object", "method": "execute_kw",
            "args": ["db", 2, API_KEY, "dte.backup", "search", [deep.clone()], {}]}}))
        .await;
    let (name, message) = error_of(&answer);
    assert_eq!(name, "werkzeug.exceptions.BadRequest", "{answer}");
    assert!(message.contains("recursion limit"), "{message}");
    let (status, body) = app.json2("dte.backup", "search", json!({"domain": deep})).await;
    assert_eq!((status, &body["name"]), (400, &json!("werkzeug.exceptions.BadRequest")), "{body}");
    still_serving(&app).await;
}

#[actix_rt::test]
async fn large_bodies_sent_at_once_all_get_their_answer() {
    // More large bodies than the memory budget holds at once: they wait their turn.
    let app = TestApp::spawn_with(|s| s.limits.max_search_limit = 1000).await;
    app.register_company(1, COMPANY_RUT).await;
    let ids = vec![json!(1); 1_500_000];
    let calls = (0..6).map(|i| {
        let app = &app;
        let kwargs = json!({"ids": ids.clone()});
        async move {
            if i % 2 == 0 {
                let (status, body) = app.json2("dte.company", "read", kwargs).await;
                (status, body["message"].as_str().unwrap_or_default().to_string())
            } else {
                let answer = app.execute_kw("dte.company", "read", json!([]), kwargs).await;
                (200, error_of(&answer).1)
            }
        }
    });
    for (status, message) in futures::future::join_all(calls).await {
        assert!((200..500).contains(&status), "{status}");
        assert!(message.contains("1500000 ids is more than the 1000"), "{message}");
    }
    still_serving(&app).await;
}

/// Sessions of the test database waiting for a lock (calls the test holds back).
fn waiting_on_locks(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: Waiting = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .get_result(&mut app.db.conn())
    .unwrap();
    row.n
}

/// Waits (without a deadline that could decide the test) until `n` sessions wait on a lock.
async fn until_waiting(app: &TestApp, n: i64) {
    for _ in 0..3000 {
        if waiting_on_locks(app) >= n {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} calls never reached the locked table");
}

/// Holds an exclusive lock on a table until dropped (as a long migration or a slow
/// statement elsewhere would).
struct TableLock(diesel::PgConnection);

impl TableLock {
    fn take(app: &TestApp, table: &str) -> Self {
        let mut conn = app.db.conn();
        conn.batch_execute(&format!("BEGIN; LOCK TABLE dte_sidecar.{table} IN ACCESS EXCLUSIVE MODE")).unwrap();
        Self(conn)
    }

    fn release(mut self) {
        self.0.batch_execute("ROLLBACK").unwrap();
    }
}

#[actix_rt::test]
async fn readyz_is_not_starved_by_slow_calls_and_scrapes_do_not_starve_calls() {
    let app = TestApp::spawn_with(|s| {
        s.database.pool_size = 2;
        s.database.pool_timeout_secs = 1;
    })
    .await;
    app.register_company(1, COMPANY_RUT).await;

    // Slow calls hold every pooled connection: /readyz still answers from its own.
    let lock = TableLock::take(&app, "dte_contingency");
    let slow =
        futures::future::join_all((0..2).map(|_| app.json2("dte.contingency", "get_status", json!({"company_id": 1}))));
    let probe = async {
        until_waiting(&app, 2).await;
        let ready = app.get("/readyz").await;
        lock.release();
        ready
    };
    let (answers, ready) = futures::future::join(slow, probe).await;
    assert_eq!(ready, (200, json!({"status": "ready"})), "the pool was busy, the database was not");
    assert!(answers.iter().all(|(status, body)| *status == 200 && body["company_id"] == 1), "{answers:?}");

    // A flood of scrapes, one of them stuck on a table they read (the maintained document
    // counts): calls keep their connections.
    let lock = TableLock::take(&app, "dte_document_totals");
    let base = &app.base;
    let scrapes = futures::future::join_all((0..20).map(|_| async move {
        let mut response = awc::Client::default().get(format!("{base}/metrics")).send().await.unwrap();
        (response.status().as_u16(), response.body().await.map(|b| b.len()).unwrap_or(0))
    }));
    let calls = async {
        until_waiting(&app, 1).await;
        let status = app.json2("dte.contingency", "get_status", json!({"company_id": 1})).await;
        let count = app.json2("dte.company", "search_count", json!({"domain": []})).await;
        let ready = app.get("/readyz").await;
        lock.release();
        (status, count, ready)
    };
    let (scraped, (status, count, ready)) = futures::future::join(scrapes, calls).await;
    assert_eq!((status.0, &status.1["company_id"]), (200, &json!(1)), "{status:?}");
    assert_eq!(count, (200, json!(1)));
    assert_eq!(ready.0, 200);
    assert!(scraped.iter().all(|(status, length)| *status == 200 && *length > 0), "{scraped:?}");
    still_serving(&app).await;
}

/// The synthetic signer as a PKCS#12 whose key derivations take the most iterations allowed.
fn costly_pkcs12() -> Vec<u8> {
    let dir = common::engine::scratch_dir("costly-p12");
    let out = dir.join("signer.p12");
    let (ok, output) = common::engine::run_tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-in",
            common::engine::path_str(&common::engine::manifest_path("tests/fixtures/keys/signer-11111111-1-cert.pem")),
            "-inkey",
            common::engine::path_str(&common::engine::manifest_path("tests/fixtures/keys/signer-11111111-1-key.pem")),
            "-passout",
            "pass:1234",
            "-iter",
            &dte_sidecar::dte::MAX_PKCS12_ITERATIONS.to_string(),
            "-out",
            common::engine::path_str(&out),
        ],
    );
    assert!(ok, "openssl pkcs12: {output}");
    std::fs::read(out).unwrap()
}

#[actix_rt::test]
async fn costly_certificate_uploads_do_not_hold_the_pool() {
    let app = TestApp::spawn_with(|s| {
        s.database.pool_size = 2;
        s.database.pool_timeout_secs = 1;
    })
    .await;
    const UPLOADS: i32 = 12;
    for company in 1..=UPLOADS {
        let body = 76_000_000 + company as u32;
        let rut = format!("{body}-{}", dte_sidecar::dte::check_digit(body));
        app.register_company(company, &rut).await;
    }
    let p12 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, costly_pkcs12());
    let done = std::sync::atomic::AtomicI32::new(0);
    let uploads = futures::future::join_all((1..=UPLOADS).map(|company| {
        let (p12, done, app) = (p12.clone(), &done, &app);
        async move {
            let answer = app
                .json2(
                    "dte.company",
                    "set_certificate",
                    json!({"company_id": company, "pkcs12": p12, "password": "1234"}),
                )
                .await;
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            answer
        }
    }));
    // While the uploads derive their keys, the pool serves other calls and the probe.
    let others = async {
        let ready = app.get("/readyz").await;
        let read =
            app.json2("dte.company", "search_read", json!({"domain": [["id", "=", 1]], "fields": ["rut"]})).await;
        (ready, read, done.load(std::sync::atomic::Ordering::SeqCst))
    };
    let (uploaded, (ready, read, finished_meanwhile)) = futures::future::join(uploads, others).await;
    assert_eq!(ready, (200, json!({"status": "ready"})));
    assert_eq!(read, (200, json!([{"id": 1, "rut": "76000001-9"}])));
    assert!(finished_meanwhile < UPLOADS, "the uploads were over before the other calls ran");
    for (status, body) in &uploaded {
        assert_eq!((*status, &body["subject_rut"]), (200, &json!("11111111-1")), "{body}");
    }
    still_serving(&app).await;
}

/// Posts raw bytes to `/jsonrpc`; the parsed answer.
async fn jsonrpc_raw(app: &TestApp, body: Vec<u8>) -> Value {
    let mut response = awc::Client::default()
        .post(format!("{}/jsonrpc", app.base))
        .insert_header(("Content-Type", "application/json"))
        .send_body(body)
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().limit(1 << 20).await.unwrap()
}

#[actix_rt::test]
async fn bodies_json_cannot_represent_or_nest_too_deep_are_bad_requests() {
    let app = TestApp::spawn().await;
    app.register_company(1, COMPANY_RUT).await;
    let before = app.table_counts();
    const BAD: &str = "werkzeug.exceptions.BadRequest";
    let deep = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let envelope = |domain: &str, key: &str| {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"params\":{{\"service\":\"object\",\"method\":\"execute_kw\",\
             \"args\":[\"db\",2,\"{key}\",\"dte.backup\",\"search_count\",[{domain}],{{}}]}}}}"
        )
    };
    // Nested 100 000 deep, with the right key and without: refused, never recursed into
    // (without the key, possibly before the arguments are looked at).
    let answer = jsonrpc_raw(&app, envelope(&deep(100_000), API_KEY).into_bytes()).await;
    assert_eq!(error_of(&answer).0, BAD, "{answer}");
    let answer = jsonrpc_raw(&app, envelope(&deep(100_000), "wrong-key-0123456789abc").into_bytes()).await;
    let refused = error_of(&answer).0;
    assert!(refused == BAD || refused == "odoo.exceptions.AccessDenied", "{answer}");
    let (status, body) = app.json2_raw("dte.backup/search_count", Some(API_KEY), deep(100_000).into_bytes()).await;
    assert_eq!((status, &body["name"]), (400, &json!(BAD)), "{body}");
    let (status, body) = app
        .json2_raw("dte.backup/search_count", Some(API_KEY), format!("{{\"domain\": {}}}", deep(100_000)).into_bytes())
        .await;
    assert_eq!((status, &body["name"]), (400, &json!(BAD)), "{body}");
    // A lone surrogate and invalid UTF-8: no text PostgreSQL could store.
    for text in [&b"\"\\ud800\""[..], &b"\"\xff\xfe\""[..]] {
        let mut body = b"{\"company_id\": 1, \"reason\": \"manual\", \"comment\": ".to_vec();
        body.extend_from_slice(text);
        body.push(b'}');
        let (status, answer) = app.json2_raw("dte.contingency/enable_contingency", Some(API_KEY), body).await;
        assert_eq!((status, &answer["name"]), (400, &json!(BAD)), "{answer}");
    }
    assert_eq!(app.table_counts(), before);
    still_serving(&app).await;
}

#[actix_rt::test]
async fn names_that_would_be_sql_and_numbers_out_of_range_are_validation_errors() {
    let app = TestApp::spawn().await;
    app.register_company(1, COMPANY_RUT).await;
    let before = app.table_counts();
    const VALIDATION: &str = "odoo.exceptions.ValidationError";
    let cases = [
        ("dte.company", "search_read", json!({"fields": ["id) FROM pg_roles --"]}), "invalid field"),
        ("dte.company", "search_read", json!({"order": "id; DROP TABLE dte_sidecar.dte_company"}), "order"),
        ("dte.company", "search_read", json!({"order": "(SELECT 1)"}), "invalid field"),
        ("dte.company", "search_count", json!({"domain": [["id = 1 OR 1=1 --", "=", 1]]}), "domain"),
        ("dte.company", "search_count", json!({"domain": [["id", "= ANY(ARRAY[1]) OR 1=1 --", 1]]}), "domain"),
        ("dte.company", "search_read", json!({"limit": -1}), "limit"),
        ("dte.company", "search_read", json!({"offset": -5}), "offset"),
        ("dte.company", "search_read", json!({"limit": 1e20}), "limit"),
        ("dte.contingency", "get_status", json!({"company_id": 9_999_999_999_i64}), "company_id"),
        ("dte.contingency", "get_status", json!({"company_id": "1; DROP"}), "company_id"),
        (
            "dte.backup",
            "backup_dte",
            json!({"dte_type": "33", "folio": "99999999999999999999", "xml_content": common::dte_xml("33", "1"),
                "track_id": "1", "move_id": 3, "company_id": 1}),
            "folio",
        ),
        ("dte.company", "register", json!({"company_id": 2, "rut": COMPANY_RUT, "name": "a\u{0}b"}), "NUL"),
        ("dte.company", "register", json!({"company_id": 2, "rut": "76000001-9\u{0}", "name": "x"}), "NUL"),
        ("dte.company", "set_certificate", json!({"company_id": 1, "pkcs12": "AAAA", "password": "a\u{0}"}), "NUL"),
    ];
    for (model, method, kwargs, expected) in cases {
        refused_by_both_doors(&app, model, method, kwargs, VALIDATION, expected).await;
    }
    assert_eq!(app.table_counts(), before);
    still_serving(&app).await;
}

#[actix_rt::test]
async fn every_xml_argument_is_held_to_the_same_rules() {
    let app = TestApp::spawn().await;
    app.register_company(1, COMPANY_RUT).await;
    let before = app.table_counts();
    const VALIDATION: &str = "odoo.exceptions.ValidationError";
    let utf7 = "<?xml version=\"1.0\" encoding=\"UTF-7\"?>\
                +ADw-!DOCTYPE x +AFs-+ADw-!ENTITY a \"x\"+AD4-+AF0-+AD4-<x>+ACY-a;</x>";
    let utf16: Vec<u8> =
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?><DTE/>".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let dtd = "<?xml version=\"1.0\"?><!DOCTYPE DTE [<!ENTITY a \"x\">]><DTE>&a;</DTE>";
    let nul = "<DTE>\u{0}</DTE>";
    // CAFs: the same encodings and DTD rules as documents.
    for (caf, expected) in [(utf7, "UTF-7"), (dtd, "DTD"), ("<AUTORIZACION/>", "caf_xml")] {
        refused_by_both_doors(&app, "dte.caf", "load", json!({"company_id": 1, "caf_xml": caf}), VALIDATION, expected)
            .await;
    }
    // Failed-queue entries: what a backup refuses, the queue refuses.
    for (xml, expected) in [(utf7, "UTF-7"), (dtd, "DTD"), (nul, "NUL")] {
        refused_by_both_doors(
            &app,
            "dte.failed.queue",
            "add_failed_dte",
            json!({"dte_type": "33", "folio": "7", "xml_content": xml, "error_type": "timeout",
                "error_message": "x", "move_id": 3, "company_id": 1}),
            VALIDATION,
            expected,
        )
        .await;
    }
    // Contingency documents arrive in base64, so any bytes can be sent: UTF-16 too.
    let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
    for (bytes, expected) in [(utf7.as_bytes(), "UTF-7"), (&utf16[..], "ISO-8859-1 or UTF-8"), (dtd.as_bytes(), "DTD")]
    {
        refused_by_both_doors(
            &app,
            "dte.contingency.pending",
            "create",
            json!({"vals_list": [{"dte_type": "33", "folio": "7", "move_id": 3, "company_id": 1,
                "xml_content": b64(bytes)}]}),
            VALIDATION,
            expected,
        )
        .await;
    }
    assert_eq!(app.table_counts(), before);
    still_serving(&app).await;
}

#[actix_rt::test]
async fn certificates_that_would_set_their_own_cost_are_refused() {
    let dir = common::engine::scratch_dir("costly-certificates");
    let path = |name: &str| common::engine::path_str(&dir.join(name)).to_string();
    let cert = common::engine::manifest_path("tests/fixtures/keys/signer-11111111-1-cert.pem");
    let key = common::engine::manifest_path("tests/fixtures/keys/signer-11111111-1-key.pem");
    let over = (dte_sidecar::dte::MAX_PKCS12_ITERATIONS + 1).to_string();
    let (over_p12, big_key, big_pem, big_p12) = (path("over.p12"), path("big.key"), path("big.pem"), path("big.p12"));
    let tools: [&[&str]; 3] = [
        // One iteration more than allowed.
        &[
            "pkcs12",
            "-export",
            "-in",
            common::engine::path_str(&cert),
            "-inkey",
            common::engine::path_str(&key),
            "-passout",
            "pass:1234",
            "-iter",
            &over,
            "-out",
            &over_p12,
        ],
        // A key larger than the SII issues: the certificate would set what each signature costs.
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:4608",
            "-nodes",
            "-keyout",
            &big_key,
            "-out",
            &big_pem,
            "-days",
            "30",
            "-subj",
            "/CN=USUARIO GRANDE/serialNumber=11111111-1",
        ],
        &["pkcs12", "-export", "-in", &big_pem, "-inkey", &big_key, "-passout", "pass:1234", "-out", &big_p12],
    ];
    for args in tools {
        let (ok, output) = common::engine::run_tool("openssl", args);
        assert!(ok, "openssl {args:?}: {output}");
    }
    // The files are made before the service starts: openssl takes a while.
    let app = TestApp::spawn().await;
    app.register_company(1, COMPANY_RUT).await;
    let before = app.table_counts();
    for (file, expected) in [("over.p12", "key-derivation iterations"), ("big.p12", "4608-bit key is larger")] {
        let p12 =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, std::fs::read(dir.join(file)).unwrap());
        refused_by_both_doors(
            &app,
            "dte.company",
            "set_certificate",
            json!({"company_id": 1, "pkcs12": p12, "password": "1234"}),
            "odoo.exceptions.ValidationError",
            expected,
        )
        .await;
    }
    assert_eq!(app.table_counts(), before);
    still_serving(&app).await;
}

#[actix_rt::test]
async fn an_unreadable_queued_document_is_retried_once_and_then_waits_for_a_person() {
    let app = TestApp::spawn().await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    let entry = app
        .call(
            "dte.failed.queue",
            "add_failed_dte",
            json!([]),
            json!({"dte_type": "33", "folio": "7", "xml_content": common::dte_xml("33", "7"), "error_type": "timeout",
                "error_message": "x", "move_id": 3, "company_id": 1}),
        )
        .await;
    // Stored before the checks were strict: nested entities.
    app.db
        .conn()
        .batch_execute(
            "UPDATE dte_sidecar.dte_failed_queue SET xml_content = convert_to('<!DOCTYPE DTE [<!ENTITY a \"aaaa\">\
             <!ENTITY b \"&a;&a;&a;&a;\">]><DTE>&b;</DTE>', 'UTF8')",
        )
        .unwrap();
    let results = app.call("dte.failed.queue", "retry_send", json!([[entry]]), json!({})).await;
    assert_eq!(results[0]["success"], false, "{results}");
    let row = app
        .call(
            "dte.failed.queue",
            "read",
            json!([[entry], ["state", "next_retry_date", "error_type", "error_message"]]),
            json!({}),
        )
        .await;
    assert_eq!((&row[0]["next_retry_date"], &row[0]["error_type"]), (&json!(false), &json!("validation")), "{row}");
    assert!(row[0]["error_message"].as_str().unwrap_or_default().contains("cannot be sent"), "{row}");
    // No schedule reads it again: not the scheduled retries, not the sweep.
    app.clock.advance(chrono::TimeDelta::days(2));
    let due = app.call("dte.failed.queue", "retry_due", json!([]), json!({})).await;
    assert_eq!(due["due"], 0, "{due}");
    app.sweep().await;
    assert_eq!(app.sim.upload_count(), 0);
    still_serving(&app).await;
}

/// A header no HTTP parser accepts (a NUL byte in `Authorization`): the connection gets an
/// HTTP 400 and the service goes on serving.
#[actix_rt::test]
async fn a_header_with_a_nul_byte_is_refused_and_the_service_goes_on() {
    use std::io::{Read, Write};
    let app = TestApp::spawn().await;
    let address = app.base.trim_start_matches("http://").to_string();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connect");
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).expect("timeout");
        stream
            .write_all(
                b"POST /json/2/dte.dashboard/get_kpis HTTP/1.1\r\nHost: x\r\nAuthorization: bearer a\0b\r\n\
                  Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            )
            .expect("write");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("task");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let kpis = app.execute_kw("dte.dashboard", "get_kpis", json!([1]), json!({})).await;
    assert!(kpis.get("result").is_some() || kpis.get("error").is_some(), "{kpis}");
}

/// An answer over `limits.max_answer_bytes` is refused with its code, through both readers
/// (`read` and `search_read`), and a smaller one is answered.
#[actix_rt::test]
async fn an_answer_over_its_budget_is_refused_with_a_clear_error() {
    let app = TestApp::spawn_with(|s| s.limits.max_answer_bytes = 64 * 1024).await;
    app.register_company(1, COMPANY_RUT).await;
    let padding = "x".repeat(20_000);
    for folio in 1..=6 {
        let xml = common::dte_xml("33", &folio.to_string()).replace("Ñandú", &format!("Ñandú {padding}"));
        let kwargs = json!({"dte_type": 33, "folio": folio, "xml_content": xml, "track_id": "100",
            "move_id": folio, "company_id": 1});
        app.call("dte.backup", "backup_dte", json!([]), kwargs).await;
    }
    let all = app.execute_kw("dte.backup", "search_read", json!([[]]), json!({"fields": ["xml_content"]})).await;
    assert_eq!(all["error"]["data"]["code"], "request.answer_too_large", "{all}");
    assert_eq!(all["error"]["data"]["name"], "odoo.exceptions.UserError", "{all}");
    let read =
        app.execute_kw("dte.backup", "read", json!([[1, 2, 3, 4, 5, 6]]), json!({"fields": ["xml_content"]})).await;
    assert_eq!(read["error"]["data"]["params"]["limit"], 64 * 1024, "{read}");
    let one = app.execute_kw("dte.backup", "read", json!([[1]]), json!({"fields": ["xml_content"]})).await;
    assert!(one["result"][0]["xml_content"].is_string(), "{one}");
    still_serving(&app).await;
}
