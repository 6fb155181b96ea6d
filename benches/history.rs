//! Six years of history: 10,000,000 backups and 10,000,000 documents over 3 companies,
//! 1,000,000 retry-queue entries (most closed), 200,000 envelopes. Prints p50/p99 of 50
//! calls for what reads history (KPIs, /metrics, list pages, counts, lookups, the sweep's
//! and the retry's selections) and the time of one retention run, and checks with
//! `EXPLAIN` that no big table is scanned whole and that each lookup uses its index (the
//! lookups' plans are printed). The Odoo searches are the SQL Odoo 19 sends for the
//! addon's search views (`folio IN ('…')`, `track_id LIKE '…%'`, `move_id IN (…)`, with
//! the multi-company record rule); the due retries are also timed through the code's own
//! query (`flows::retry::due_entries`: bound values, prepared statements).
//!
//! Run: `cargo bench --bench history` (needs DATABASE_URL, as the tests do). The data is
//! loaded once into a database named after the migrations and the row counts
//! (`HISTORY_DB_PREFIX`, default `dte_history_`), so a second run starts measuring at
//! once. `HISTORY_ROWS` (default 10000000) scales the load, `HISTORY_CALLS` (default 50)
//! the calls per figure; `HISTORY_PORT` picks the HTTP port (default: any free one).

// A benchmark reads its own set-up: a failure there may panic, and stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use dte_sidecar::archive::CopyMeta;
use dte_sidecar::clock::{ManualClock, Timestamp};
use dte_sidecar::context::AppContext;
use dte_sidecar::settings::{Secret, Settings};
use dte_sidecar::store::{self, Db};

const API_KEY: &str = "history-bench-key-0123456789";
const MASTER_KEY: &str = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
/// Calls per figure (`HISTORY_CALLS`, default 50).
fn calls() -> usize {
    std::env::var("HISTORY_CALLS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(50)
}
/// Retention keeps six years; the history reaches two days further back.
const EXTRA_DAYS: i64 = 2;
const BIG_TABLES: [&str; 3] = ["dte_backup", "dte_document", "dte_failed_queue"];

fn now() -> Timestamp {
    NaiveDate::from_ymd_opt(2026, 12, 1).and_then(|d| d.and_hms_opt(12, 0, 0)).expect("date")
}

fn migrations_hash() -> String {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("migrations").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.strip_prefix(&root).unwrap_or(&file).to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).expect("read migration"));
    }
    hex::encode(hasher.finalize())[..12].to_string()
}

#[derive(QueryableByName)]
struct One {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    b: bool,
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

fn exists(conn: &mut PgConnection, sql: &str) -> bool {
    diesel::sql_query(sql).get_result::<One>(conn).map(|r| r.b).unwrap_or(false)
}

fn texts(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql).load::<TextRow>(conn).expect(sql).into_iter().map(|r| r.t).collect()
}

/// A load statement of `benches/sql/` with its `{name}` placeholders filled in.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut sql = template.to_string();
    for (name, value) in values {
        sql = sql.replace(&format!("{{{name}}}"), value);
    }
    let left = sql
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}'))
        .find(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    assert!(left.is_none(), "placeholder {{{}}} not filled in", left.map_or("", |(name, _)| name));
    sql
}

/// The data, with generate_series: secondary indexes dropped during the load and built
/// after it, triggers off (the aggregates are rebuilt from the rows at the end).
/// The statements are in `benches/sql/history_*.sql`.
fn load(url: &str, rows: i64) {
    let started = Instant::now();
    let mut conn = PgConnection::establish(url).expect("connect");
    conn.batch_execute("SET search_path TO dte_sidecar, public; SET TIME ZONE 'UTC'").expect("session");
    let indexes: Vec<(String, String)> = texts(
        &mut conn,
        "SELECT indexname || E'\\t' || indexdef AS t FROM pg_indexes i WHERE schemaname = 'dte_sidecar' \
         AND tablename IN ('dte_backup', 'dte_document', 'dte_failed_queue', 'dte_envelope') \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .into_iter()
    .filter_map(|t| t.split_once('\t').map(|(a, b)| (a.to_string(), b.to_string())))
    .collect();
    for (name, _) in &indexes {
        conn.batch_execute(&format!("DROP INDEX dte_sidecar.{name}")).expect("drop index");
    }
    let now = now();
    let span_secs = (TimeDelta::days(6 * 365 + 1 + EXTRA_DAYS)).num_seconds();
    let envelopes = (rows / 50).max(1);
    let queue = (rows / 10).max(1);
    let now_sql = format!("TIMESTAMP '{}'", now.format("%Y-%m-%d %H:%M:%S"));
    let at = |i: &str| format!("({now_sql} - make_interval(secs => ({span_secs}::float8 * ({rows} - {i}) / {rows})))");
    conn.batch_execute(include_str!("sql/history_setup.sql")).expect("setup");
    conn.batch_execute(
        "INSERT INTO dte_company (id, rut, name, resolution_number, resolution_date, created_at, updated_at) VALUES
           (1, '76000001-9', 'Empresa Uno SpA', 80, '2014-08-22', now(), now()),
           (2, '76000002-7', 'Empresa Dos SpA', 80, '2014-08-22', now(), now()),
           (3, '76000003-5', 'Empresa Tres SpA', 80, '2014-08-22', now(), now());
         INSERT INTO dte_contingency (enabled, company_id) VALUES (false, 1), (false, 2), (false, 3);",
    )
    .expect("companies");
    // Envelopes of 50 documents each, one company each; the last 20 wait for a verdict.
    let company = |i: &str| format!("(1 + (({i} - 1) / 50) % 3)");
    conn.batch_execute(&fill(
        include_str!("sql/history_envelopes.sql"),
        &[("envelopes", &envelopes.to_string()), ("at_e", &at("(e * 50)")), ("now_sql", &now_sql)],
    ))
    .expect("envelopes");
    println!("  envelopes loaded ({:.0?})", started.elapsed());
    conn.batch_execute(&fill(
        include_str!("sql/history_documents.sql"),
        &[("company_i", &company("i")), ("rows", &rows.to_string()), ("at_i", &at("i")), ("now_sql", &now_sql)],
    ))
    .expect("documents");
    println!("  documents loaded ({:.0?})", started.elapsed());
    conn.batch_execute(&fill(
        include_str!("sql/history_backups.sql"),
        &[("company_i", &company("i")), ("rows", &rows.to_string()), ("at_i", &at("i"))],
    ))
    .expect("backups");
    println!("  backups loaded ({:.0?})", started.elapsed());
    // One entry per ten documents: closed (success, abandoned) but for the newest 3,000
    // (pending, half of them due) and 20 a crashed worker left `retrying`.
    let doc = "(q * 10)";
    conn.batch_execute(&fill(
        include_str!("sql/history_queue.sql"),
        &[
            ("doc", doc),
            ("queue", &queue.to_string()),
            ("at_q", &at(doc)),
            ("now_sql", &now_sql),
            ("company_d", &company(doc)),
        ],
    ))
    .expect("queue");
    println!("  queue loaded ({:.0?})", started.elapsed());
    for (name, def) in &indexes {
        let t = Instant::now();
        conn.batch_execute(&format!("SET maintenance_work_mem = '512MB'; {def}")).expect("create index");
        println!("  index {name} ({:.0?})", t.elapsed());
    }
    if exists(&mut conn, "SELECT to_regclass('dte_sidecar.dte_backup_daily') IS NOT NULL AS b") {
        let t = Instant::now();
        dte_sidecar::store::aggregates::rebuild(&mut conn).expect("rebuild aggregates");
        println!("  aggregates rebuilt ({:.0?})", t.elapsed());
    }
    conn.batch_execute(
        "VACUUM (ANALYZE) dte_sidecar.dte_backup, dte_sidecar.dte_document, dte_sidecar.dte_failed_queue, \
         dte_sidecar.dte_envelope",
    )
    .expect("vacuum");
    conn.batch_execute("CREATE TABLE public.history_bench_loaded AS SELECT now() AS at").expect("mark");
    println!("  loaded in {:.0?}", started.elapsed());
}

fn prepare_database(rows: i64) -> String {
    let prefix = std::env::var("HISTORY_DB_PREFIX").unwrap_or_else(|_| "dte_history_".into());
    let name = format!("{prefix}{}_{rows}", migrations_hash());
    let mut admin = PgConnection::establish(&common::admin_url()).expect("admin connection (is DATABASE_URL set?)");
    let ready = exists(&mut admin, &format!("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}') AS b"))
        && {
            let mut c = PgConnection::establish(&common::url_for(&name)).expect("connect");
            exists(&mut c, "SELECT to_regclass('public.history_bench_loaded') IS NOT NULL AS b")
        };
    if ready {
        println!("database {name}: loaded before, reused");
        return name;
    }
    println!("database {name}: loading {rows} backups, {rows} documents, {} queue entries", rows / 10);
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).expect("drop");
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create");
    {
        let mut conn = PgConnection::establish(&common::url_for(&name)).expect("connect");
        store::migrate(&mut conn, "public").expect("migrate");
    }
    load(&common::url_for(&name), rows);
    name
}

struct Figures {
    rows: Vec<(String, f64, f64)>,
    scans: Vec<String>,
}

impl Figures {
    fn record(&mut self, what: &str, mut times: Vec<Duration>) {
        times.sort();
        let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1e3;
        let (p50, p99) = (pct(0.50), pct(0.99));
        println!("  {what:<62} p50 {p50:>9.2} ms   p99 {p99:>9.2} ms");
        self.rows.push((what.to_string(), p50, p99));
    }
}

/// The plan of `sql`; the bench fails when it scans one of the big tables whole, or
/// when `index` is given and the plan does not use it.
fn explain(conn: &mut PgConnection, figures: &mut Figures, what: &str, sql: &str, index: Option<&str>) -> String {
    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let plan: Vec<PlanLine> = diesel::sql_query(format!("EXPLAIN {sql}")).load(conn).expect("explain");
    let plan = plan.into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n");
    for table in BIG_TABLES {
        if plan.lines().any(|l| l.contains("Seq Scan") && l.contains(&format!(" {table} "))) {
            figures.scans.push(format!("{what}: sequential scan of {table}\n{plan}"));
        }
    }
    if let Some(index) = index {
        if !plan.contains(&format!(" using {index} ")) {
            figures.scans.push(format!("{what}: {index} not used\n{plan}"));
        }
    }
    plan
}

fn time_sql(conn: &mut PgConnection, figures: &mut Figures, what: &str, sql: &str) {
    explain(conn, figures, what, sql, None);
    run_sql(conn, figures, what, sql);
}

/// A lookup: its plan is printed and must use `index`.
fn time_lookup(conn: &mut PgConnection, figures: &mut Figures, what: &str, sql: &str, index: &str) {
    let plan = explain(conn, figures, what, sql, Some(index));
    println!("    {}", plan.replace('\n', "\n    "));
    run_sql(conn, figures, what, sql);
}

fn run_sql(conn: &mut PgConnection, figures: &mut Figures, what: &str, sql: &str) {
    let mut times = Vec::with_capacity(calls());
    for _ in 0..calls() {
        let t = Instant::now();
        conn.batch_execute(sql).expect(sql);
        times.push(t.elapsed());
    }
    figures.record(what, times);
}

/// A write the code runs, timed inside a transaction that is rolled back.
fn time_write(conn: &mut PgConnection, figures: &mut Figures, what: &str, sql: &str) {
    explain(conn, figures, what, sql, None);
    let mut times = Vec::with_capacity(calls());
    for _ in 0..calls() {
        let t = Instant::now();
        conn.batch_execute(&format!("BEGIN; {sql}; ROLLBACK")).expect(sql);
        times.push(t.elapsed());
    }
    figures.record(what, times);
}

async fn json2(client: &awc::Client, base: &str, model: &str, method: &str, body: Value) -> Value {
    let mut response = client
        .post(format!("{base}/json/2/{model}/{method}"))
        .insert_header(("Authorization", format!("bearer {API_KEY}")))
        .send_json(&body)
        .await
        .expect("send");
    let status = response.status().as_u16();
    let value: Value = response.json().limit(256 << 20).await.expect("json");
    assert_eq!(status, 200, "{model}.{method}: {value}");
    value
}

async fn time_rpc(
    client: &awc::Client,
    base: &str,
    figures: &mut Figures,
    what: &str,
    model: &str,
    method: &str,
    body: Value,
) {
    json2(client, base, model, method, body.clone()).await;
    let mut times = Vec::with_capacity(calls());
    for _ in 0..calls() {
        let t = Instant::now();
        json2(client, base, model, method, body.clone()).await;
        times.push(t.elapsed());
    }
    figures.record(what, times);
}

fn main() {
    let rows: i64 = std::env::var("HISTORY_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let name = prepare_database(rows);
    let url = common::url_for(&name);
    actix_rt::System::new().block_on(async move {
        let clock = ManualClock::new(now());
        let mut settings = Settings::default();
        settings.database.url = Secret::new(url.clone());
        settings.database.pool_size = 4;
        settings.auth.api_keys.insert("odoo".into(), Secret::new(API_KEY));
        settings.server.workers = 2;
        settings.secrets.master_key = Secret::new(MASTER_KEY);
        settings.jobs.enabled = false;
        settings.sii.schemas_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/sii");
        let scratch = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/history-bench");
        let _ = std::fs::remove_dir_all(&scratch);
        settings.backup.dir = scratch.join("backups");
        let pool = Db::connect(&url, 4, Duration::from_secs(10)).expect("pool");
        let ctx = AppContext::from_settings(settings, pool, Arc::new(clock.clone())).expect("context");
        let port: u16 = std::env::var("HISTORY_PORT").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        actix_rt::spawn(dte_sidecar::server::start(ctx.clone(), listener).expect("start"));
        let client = awc::Client::builder().timeout(Duration::from_secs(600)).finish();
        let mut conn = PgConnection::establish(&url).expect("connect");
        conn.batch_execute("SET search_path TO dte_sidecar, public; SET TIME ZONE 'UTC'").expect("session");
        let mut figures = Figures { rows: Vec::new(), scans: Vec::new() };
        // A folio and a track id as a person would type them (no long runs of zeros).
        let folio = (rows * 7 / 10 + 4321).to_string();
        let track = (5_000_000_000 + 1 + (rows * 7 / 10 + 4321 - 1) / 50).to_string();
        // A queue entry's folio (one per ten documents).
        let queue_folio = ((rows * 7 / 10 + 4321) / 10 * 10).to_string();
        let now_sql = format!("TIMESTAMP '{}'", now().format("%Y-%m-%d %H:%M:%S"));
        println!("{rows} backups, {rows} documents, {} queue entries, 3 companies; {} calls each", rows / 10, calls());

        println!("RPC face (JSON-2 over HTTP):");
        let kpis = json!({"company_id": 1});
        time_rpc(&client, &base, &mut figures, "dte.dashboard.get_kpis(company 1)", "dte.dashboard", "get_kpis", kpis)
            .await;
        {
            let _ = client.get(format!("{base}/metrics")).send().await;
            let mut times = Vec::new();
            for _ in 0..calls() {
                let t = Instant::now();
                let mut r = client.get(format!("{base}/metrics")).send().await.expect("metrics");
                let body = r.body().limit(16 << 20).await.expect("body");
                assert!(std::str::from_utf8(&body).is_ok_and(|b| b.contains("dte_documents")), "metrics");
                times.push(t.elapsed());
            }
            figures.record("GET /metrics", times);
        }
        let list = ["sent_date", "dte_type", "folio", "move_id", "track_id", "company_id"];
        let rpcs = [
            (
                "dte.backup.search_read([], 80, sent_date desc)".to_string(),
                "dte.backup",
                "search_read",
                json!({"domain": [], "fields": list, "limit": 80, "order": "sent_date desc"}),
            ),
            (
                "dte.backup.search_read(company 1, 80, sent_date desc)".to_string(),
                "dte.backup",
                "search_read",
                json!({
                    "domain": [], "fields": list, "limit": 80, "order": "sent_date desc",
                    "context": {"allowed_company_ids": [1]},
                }),
            ),
            (
                format!("dte.backup.search_read(folio ilike {folio}, 80)"),
                "dte.backup",
                "search_read",
                json!({"domain": [["folio", "ilike", folio]], "fields": list, "limit": 80}),
            ),
            ("dte.backup.search_count([])".to_string(), "dte.backup", "search_count", json!({"domain": []})),
            ("dte.document.search_count([])".to_string(), "dte.document", "search_count", json!({"domain": []})),
        ];
        for (what, model, method, body) in rpcs {
            time_rpc(&client, &base, &mut figures, &what, model, method, body).await;
        }
        for model in [
            "dte.backup",
            "dte.document",
            "dte.failed.queue",
            "dte.envelope",
            "dte.contingency.pending",
            "dte.audit.log",
            "dte.alert",
        ] {
            let what = format!("{model}.search_read([], 80) default order");
            let body = json!({"domain": [], "limit": 80, "fields": ["id"]});
            time_rpc(&client, &base, &mut figures, &what, model, "search_read", body).await;
        }
        let lookups = [
            (
                format!("folio lookup: dte.backup folio = {folio}"),
                "dte.backup",
                json!({"domain": [["folio", "=", folio]], "fields": list}),
            ),
            (
                format!("folio lookup: dte.document folio = {folio}"),
                "dte.document",
                json!({"domain": [["folio", "=", folio.parse::<i64>().unwrap_or(1)]], "fields": ["state", "track_id"]}),
            ),
            (
                format!("track-id lookup: dte.backup track_id = {track}"),
                "dte.backup",
                json!({"domain": [["track_id", "=", track]], "fields": list}),
            ),
            (
                format!("track-id lookup: dte.document track_id = {track}"),
                "dte.document",
                json!({"domain": [["track_id", "=", track]], "fields": ["state", "folio"]}),
            ),
            (
                format!("track-id lookup: dte.backup track_id =like {track}%"),
                "dte.backup",
                json!({"domain": [["track_id", "=like", format!("{track}%")]], "fields": list, "limit": 80}),
            ),
            (
                format!("track-id lookup: dte.document track_id =like {track}%"),
                "dte.document",
                json!({
                    "domain": [["track_id", "=like", format!("{track}%")]], "fields": ["state", "folio"], "limit": 80,
                }),
            ),
        ];
        for (what, model, body) in lookups {
            time_rpc(&client, &base, &mut figures, &what, model, "search_read", body).await;
        }

        println!("Odoo's own SQL on the published views (list page of 80, _order, record rule, count up to 10,000):");
        let rule = "(company_id IS NULL OR company_id IN (1, 2, 3))";
        for (view, columns, order) in [
            ("dte_backup", "id, sent_date, dte_type, folio, move_id, track_id, company_id", "sent_date DESC, id DESC"),
            (
                "dte_document",
                "id, created_at, dte_type, folio, move_id, issue_date, total, state, track_id, company_id",
                "created_at DESC, id DESC",
            ),
            (
                "dte_failed_queue",
                "id, failed_date, dte_type, folio, move_id, error_type, retry_count, next_retry_date, state, \
                 company_id",
                "failed_date DESC, id DESC",
            ),
            (
                "dte_contingency_pending",
                "id, stored_date, dte_type, folio, move_id, uploaded, company_id",
                "stored_date DESC, id DESC",
            ),
            ("dte_audit_log", "id, created_at, actor, action, company_id", "created_at DESC, id DESC"),
            ("dte_alert", "id, raised_at, rule, message, company_id", "raised_at DESC, id DESC"),
        ] {
            time_sql(
                &mut conn,
                &mut figures,
                &format!("Odoo list {view}"),
                &format!("SELECT {columns} FROM public.{view} WHERE {rule} ORDER BY {order} LIMIT 80"),
            );
            time_sql(
                &mut conn,
                &mut figures,
                &format!("Odoo list {view}, company 1"),
                &format!(
                    "SELECT {columns} FROM public.{view} WHERE (company_id IS NULL OR company_id IN (1)) \
                     ORDER BY {order} LIMIT 80"
                ),
            );
            time_sql(
                &mut conn,
                &mut figures,
                &format!("Odoo count {view} (limit 10000)"),
                &format!("SELECT count(*) FROM (SELECT 1 FROM public.{view} WHERE {rule} LIMIT 10000) t"),
            );
        }
        // What the search views send (their filter_domain): a folio whole (`=`, which Odoo
        // 19 sends as `IN`), a track id by its beginning (`=like`), an invoice by its id.
        let move_id = folio.parse::<i64>().unwrap_or(1);
        let backups = format!("{rule} ORDER BY sent_date DESC, id DESC LIMIT 80");
        let documents = format!("{rule} ORDER BY created_at DESC, id DESC LIMIT 80");
        let entries = format!("{rule} ORDER BY failed_date DESC, id DESC LIMIT 80");
        for (what, sql, index) in [
            (
                format!("Odoo search backup folio = {folio}"),
                format!("SELECT id, sent_date, folio FROM public.dte_backup WHERE folio IN ('{folio}') AND {backups}"),
                "idx_dte_backup_folio",
            ),
            (
                format!("Odoo search backup track_id =like {track}%"),
                format!(
                    "SELECT id, sent_date, folio FROM public.dte_backup WHERE track_id LIKE '{track}%' AND {backups}"
                ),
                "idx_dte_backup_track",
            ),
            (
                format!("Odoo search backup invoice = {move_id}"),
                format!(
                    "SELECT id, sent_date, folio FROM public.dte_backup WHERE move_id IN ({move_id}) AND {backups}"
                ),
                "idx_dte_backup_move",
            ),
            (
                format!("Odoo search document folio = {folio}"),
                format!(
                    "SELECT id, created_at, folio FROM public.dte_document WHERE folio IN ({folio}) AND {documents}"
                ),
                "idx_document_folio",
            ),
            (
                format!("Odoo search document track_id =like {track}%"),
                format!(
                    "SELECT id, created_at, folio FROM public.dte_document WHERE track_id LIKE '{track}%' \
                     AND {documents}"
                ),
                "idx_document_track",
            ),
            (
                format!("Odoo invoice form: document of move {move_id}"),
                format!(
                    "SELECT id, state, folio, track_id FROM public.dte_document WHERE move_id IN ({move_id}) \
                     ORDER BY id DESC"
                ),
                "dte_document_one_per_move",
            ),
            (
                format!("Odoo search queue folio = {queue_folio}"),
                format!(
                    "SELECT id, failed_date, folio FROM public.dte_failed_queue WHERE folio IN ('{queue_folio}') \
                     AND {entries}"
                ),
                "idx_failed_queue_folio",
            ),
            (
                format!("Odoo search queue invoice = {queue_folio}"),
                format!(
                    "SELECT id, failed_date, folio FROM public.dte_failed_queue WHERE move_id IN ({queue_folio}) \
                     AND {entries}"
                ),
                "idx_failed_queue_move",
            ),
        ] {
            time_lookup(&mut conn, &mut figures, &what, &sql, index);
        }
        // A custom filter "contains" (`ilike`) still works, on the trigram indexes.
        time_sql(
            &mut conn,
            &mut figures,
            &format!("Odoo custom filter backup folio ilike {folio}"),
            &format!(
                "SELECT id, sent_date, folio FROM public.dte_backup WHERE {rule} AND folio ILIKE '%{folio}%' \
                 ORDER BY sent_date DESC, id DESC LIMIT 80"
            ),
        );
        time_sql(
            &mut conn,
            &mut figures,
            &format!("Odoo custom filter backup track_id ilike {track}"),
            &format!(
                "SELECT id, sent_date, folio FROM public.dte_backup WHERE {rule} AND track_id ILIKE '%{track}%' \
                 ORDER BY sent_date DESC, id DESC LIMIT 80"
            ),
        );

        println!("Selections (the statements the code runs; writes rolled back):");
        let lease = 300;
        time_write(
            &mut conn,
            &mut figures,
            "sweep: release retries left `retrying`",
            &format!(
                "UPDATE dte_failed_queue SET state = 'pending' WHERE state = 'retrying' \
                 AND last_retry_date < {now_sql} - interval '{lease} seconds'"
            ),
        );
        time_write(
            &mut conn,
            &mut figures,
            "sweep: claim stale uploads",
            &format!(
                "UPDATE dte_document SET lease_until = {now_sql} WHERE state = 'sending' AND lease_until < {now_sql} \
                 RETURNING envelope_id"
            ),
        );
        let due = format!(
            "SELECT id FROM dte_failed_queue WHERE state = 'pending' AND next_retry_date <= {now_sql} \
             ORDER BY next_retry_date, id LIMIT 100"
        );
        time_lookup(&mut conn, &mut figures, "sweep / retry_due: due retries (100)", &due, "idx_failed_queue_due");
        time_lookup(
            &mut conn,
            &mut figures,
            "retry_due: due retries of company 1",
            &format!(
                "SELECT id FROM dte_failed_queue WHERE state = 'pending' AND next_retry_date <= {now_sql} \
                 AND company_id = ANY('{{1}}') ORDER BY next_retry_date, id LIMIT 100"
            ),
            "idx_failed_queue_due",
        );
        // The same selections as the code sends them (diesel: bound values, prepared
        // statements kept per connection, so PostgreSQL may switch to a generic plan).
        for (what, companies) in [
            ("due retries (100), the code's query", None),
            ("due retries of company 1, the code's query", Some(vec![1_i64])),
        ] {
            let mut times = Vec::with_capacity(calls() + 1);
            for _ in 0..=calls() {
                let t = Instant::now();
                dte_sidecar::flows::retry::due_entries(&mut conn, now(), companies.as_deref(), 100)
                    .expect("due entries");
                times.push(t.elapsed());
            }
            times.remove(0);
            figures.record(what, times);
        }
        time_sql(
            &mut conn,
            &mut figures,
            "sweep: due status polls",
            &format!(
                "SELECT id FROM dte_envelope WHERE state = 'uploaded' AND next_poll_at <= {now_sql} \
                 ORDER BY next_poll_at LIMIT 100"
            ),
        );
        time_sql(
            &mut conn,
            &mut figures,
            "sweep: backups without a second copy",
            "SELECT id FROM dte_backup WHERE copied_at IS NULL ORDER BY id LIMIT 100",
        );
        let cutoff = format!("{now_sql} - interval '6 years'");
        time_sql(
            &mut conn,
            &mut figures,
            "retention: oldest expired backups (500)",
            &format!(
                "SELECT id, sent_date FROM dte_backup WHERE sent_date < {cutoff} ORDER BY sent_date, id LIMIT 500"
            ),
        );

        // Retention: the expired rows get their second copies, are removed by one run, and
        // are put back afterwards so the next run of the bench finds the same history.
        conn.batch_execute(&format!(
            "DROP TABLE IF EXISTS public.history_bench_expired; \
             CREATE TABLE public.history_bench_expired AS SELECT * FROM dte_backup WHERE sent_date < {cutoff}"
        ))
        .expect("keep expired");
        #[derive(QueryableByName)]
        struct Expired {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            company_id: i32,
            #[diesel(sql_type = diesel::sql_types::Text)]
            dte_type: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            folio: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            sha256: String,
            #[diesel(sql_type = diesel::sql_types::Timestamp)]
            sent_date: Timestamp,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            move_id: i32,
            #[diesel(sql_type = diesel::sql_types::Binary)]
            xml_content: Vec<u8>,
        }
        let expired: Vec<Expired> = diesel::sql_query(
            "SELECT company_id, dte_type::text AS dte_type, folio::text AS folio, sha256::text AS sha256, sent_date, \
             move_id, xml_content FROM public.history_bench_expired",
        )
        .load(&mut conn)
        .expect("expired");
        let count = expired.len();
        for row in &expired {
            let meta = CopyMeta {
                company_id: row.company_id,
                dte_type: row.dte_type.clone(),
                folio: row.folio.clone(),
                rut_emisor: "76000001-9".into(),
                sha256: row.sha256.clone(),
                track_id: None,
                sent_date: row.sent_date,
                move_id: row.move_id,
                display_name: None,
                xml_filename: None,
            };
            ctx.archive.put(&meta, &row.xml_content).await.expect("copy");
        }
        let t = Instant::now();
        let answer = json2(&client, &base, "dte.backup", "run_retention", json!({})).await;
        let took = t.elapsed();
        println!("  retention run: {answer} in {:.2} s ({count} backups past six years)", took.as_secs_f64());
        conn.batch_execute(
            "INSERT INTO dte_backup SELECT * FROM public.history_bench_expired ON CONFLICT DO NOTHING; \
             DROP TABLE public.history_bench_expired",
        )
        .expect("put back");
        figures.rows.push((
            format!("retention run ({count} expired)"),
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e3,
        ));
        let _ = std::fs::remove_dir_all(&scratch);

        if exists(&mut conn, "SELECT to_regclass('dte_sidecar.dte_backup_daily') IS NOT NULL AS b") {
            let t = Instant::now();
            let differences = dte_sidecar::store::aggregates::differences(&mut conn).expect("check");
            println!("aggregates check: {} differences ({:.1?})", differences.len(), t.elapsed());
            assert!(differences.is_empty(), "aggregates differ from the rows: {differences:?}");
        }
        println!("\n| call | p50 ms | p99 ms |\n|---|---:|---:|");
        for (what, p50, p99) in &figures.rows {
            println!("| {what} | {p50:.2} | {p99:.2} |");
        }
        if !figures.scans.is_empty() {
            for scan in &figures.scans {
                eprintln!("{scan}");
            }
            panic!("{} plans scan a big table whole or miss their index", figures.scans.len());
        }
        println!("no plan scans a big table whole; every lookup uses its index");
    });
}
