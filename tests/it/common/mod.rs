//! Test harness: a database per test (copied from a migrated template), the whole app
//! served over real HTTP on 127.0.0.1, and a client that speaks both RPC doors.
#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use dte_sidecar::clock::{Clock, ManualClock, Timestamp};
use dte_sidecar::context::AppContext;
use dte_sidecar::settings::{Secret, Settings, TrustedKeySetting};
use dte_sidecar::sii::simulator::caf_issuer::{issue_caf, CafRequest};
use dte_sidecar::sii::simulator::{Simulator, SimulatorConfig};
use dte_sidecar::store::{self, Db};

pub const API_KEY: &str = "test-key-0123456789abcdef";
pub const MASTER_KEY: &str = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
/// The company of the synthetic keys (its CAFs, its signer's certificate).
pub const COMPANY_RUT: &str = "76000001-9";

/// Where tests may create databases: `DATABASE_URL` (a role with CREATEDB).
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn url_for(database: &str) -> String {
    let admin = admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (admin.clone(), String::new()),
    };
    let root = base.rsplit_once('/').map_or(base.as_str(), |(root, _)| root).to_string();
    format!("{root}/{database}{query}")
}

/// A database of its own, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> Self {
        let template = ensure_template();
        let name = format!("dte_test_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::establish(&admin_url()).expect("admin connection");
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut admin)
            .expect("create test database");
        Self { url: url_for(&name), name }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("test connection")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

/// A migrated template named after the migrations' content, made once for all tests
/// (an advisory lock keeps parallel test processes from racing).
fn ensure_template() -> String {
    let mut hasher = Sha256::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).expect("read migration"));
    }
    let template = format!("dte_tpl_{}", &hex::encode(hasher.finalize())[..16]);
    let mut admin = PgConnection::establish(&admin_url()).expect("admin connection (is DATABASE_URL set?)");
    diesel::sql_query("SELECT pg_advisory_lock(7411)").execute(&mut admin).expect("lock");
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let exists: Exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<diesel::sql_types::Text, _>(&template)
        .get_result(&mut admin)
        .expect("look for template");
    if !exists.exists {
        let building = format!("{template}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(&mut admin)
            .expect("drop");
        diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin).expect("create template");
        {
            let mut conn = PgConnection::establish(&url_for(&building)).expect("template connection");
            store::migrate(&mut conn, "public").expect("migrate template");
        }
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {template}"))
            .execute(&mut admin)
            .expect("rename");
    }
    diesel::sql_query("SELECT pg_advisory_unlock(7411)").execute(&mut admin).expect("unlock");
    template
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub fn start_time() -> Timestamp {
    NaiveDate::from_ymd_opt(2026, 3, 2).and_then(|d| d.and_hms_opt(12, 0, 0)).expect("date")
}

/// The whole app on a random port, with the simulated SII on two more.
pub struct TestApp {
    pub db: TestDb,
    pub base: String,
    pub clock: ManualClock,
    pub ctx: AppContext,
    pub sim: Simulator,
    pub sim_base: String,
    client: awc::Client,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_full(
            adjust,
            SimulatorConfig { processing_delay: chrono::TimeDelta::seconds(30), ..SimulatorConfig::default() },
        )
        .await
    }

    pub async fn spawn_full(adjust: impl FnOnce(&mut Settings), sim_config: SimulatorConfig) -> Self {
        // As the binary does: before the first database connection initialises OpenSSL.
        dte_sidecar::dte::initialise();
        let db = TestDb::new();
        let clock = ManualClock::new(start_time());
        let schemas = engine::schemas();
        let trust = engine::test_trust();
        let sim = Simulator::new(sim_config, Arc::new(clock.clone()), Arc::new(schemas), Arc::new(trust));
        let sii_listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let sim_admin = TcpListener::bind("127.0.0.1:0").expect("bind");
        let sim_base = format!("http://{}", sii_listener.local_addr().expect("addr"));
        actix_rt::spawn(sim.clone().serve(sii_listener, sim_admin));

        let mut settings = Settings::default();
        settings.database.url = Secret::new(db.url.clone());
        settings.database.pool_size = 8;
        settings.auth.api_keys.insert("odoo".into(), Secret::new(API_KEY));
        settings.server.workers = 2;
        settings.secrets.master_key = Secret::new(MASTER_KEY);
        settings.sii.simulator_url = sim_base.clone();
        settings.sii.request_timeout_secs = 2;
        settings.sii.connect_timeout_secs = 2;
        settings.jobs.enabled = false;
        settings.sii.schemas_dir = engine::manifest_path("schemas/sii");
        settings.sii.extra_caf_keys = vec![TrustedKeySetting {
            idk: 100,
            path: engine::manifest_path("tests/fixtures/keys/FAKE-SII-IDK100-public.pem"),
        }];
        settings.backup.dir = engine::scratch_dir("backups");
        adjust(&mut settings);
        let pool =
            Db::connect(&db.url, settings.database.pool_size, Duration::from_secs(settings.database.pool_timeout_secs))
                .expect("pool");
        let ctx = AppContext::from_settings(settings, pool, Arc::new(clock.clone())).expect("context");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = dte_sidecar::server::start(ctx.clone(), listener).expect("start");
        actix_rt::spawn(server);
        let client = awc::Client::builder().timeout(Duration::from_secs(60)).finish();
        wait_for_port(&sim_base).await;
        Self { db, base, clock, ctx, sim, sim_base, client }
    }

    /// A company ready to issue: registered with its resolution, the synthetic signer's
    /// certificate, and CAFs for every type (folios 1..=folios) issued by the simulated SII.
    pub async fn setup_company(&self, id: i32, rut: &str, folios: i64) {
        self.call(
            "dte.company",
            "register",
            json!([]),
            json!({"company_id": id, "rut": rut, "name": format!("Empresa {id} SpA"),
            "resolution_number": 0, "resolution_date": "2026-01-02"}),
        )
        .await;
        let p12 = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            engine::fixture("keys/signer-11111111-1.p12"),
        );
        self.call("dte.company", "set_certificate", json!([id, p12, engine::P12_PASSWORD]), json!({})).await;
        for dte_type in [33u16, 34, 52, 56, 61] {
            let caf = mint_caf(rut, dte_type, 1, folios, self.clock.now().date() - chrono::TimeDelta::days(1));
            self.call("dte.caf", "load", json!([id, caf]), json!({})).await;
        }
    }

    /// The example document of a type, issued by `rut` today.
    pub fn document(&self, dte_type: u16, rut: &str) -> Value {
        let mut doc: Value = serde_json::from_slice(
            &std::fs::read(engine::manifest_path(&format!("docs/dte-json/{dte_type}.json"))).expect("example"),
        )
        .expect("json");
        doc["issuer"]["rut"] = json!(rut);
        doc["issue_date"] = json!(self.clock.now().date().to_string());
        doc
    }

    /// `account.move.action_send_to_sii` for a move; the answer or the error envelope.
    pub async fn send(&self, move_id: i32, company_id: i32, dte_type: u16, rut: &str) -> Value {
        self.execute_kw(
            "account.move",
            "action_send_to_sii",
            json!([move_id, company_id, self.document(dte_type, rut)]),
            json!({}),
        )
        .await
    }

    /// `object.execute_kw` over `/jsonrpc`; the whole envelope.
    pub async fn execute_kw(&self, model: &str, method: &str, args: Value, kwargs: Value) -> Value {
        self.jsonrpc(json!({
            "jsonrpc": "2.0", "method": "call", "id": 1,
            "params": {"service": "object", "method": "execute_kw",
                       "args": ["odoo", 2, API_KEY, model, method, args, kwargs]}
        }))
        .await
    }

    /// The result of an `execute_kw` that must succeed.
    pub async fn call(&self, model: &str, method: &str, args: Value, kwargs: Value) -> Value {
        let answer = self.execute_kw(model, method, args, kwargs).await;
        match answer.get("result") {
            Some(result) => result.clone(),
            None => panic!("{model}.{method} failed: {answer}"),
        }
    }

    pub async fn jsonrpc(&self, body: Value) -> Value {
        let mut response = self.client.post(format!("{}/jsonrpc", self.base)).send_json(&body).await.expect("send");
        assert_eq!(response.status().as_u16(), 200, "/jsonrpc always answers 200");
        response.json::<Value>().limit(64 << 20).await.expect("json")
    }

    /// `POST /json/2/<model>/<method>` with the test key.
    pub async fn json2(&self, model: &str, method: &str, body: Value) -> (u16, Value) {
        self.json2_raw(&format!("{model}/{method}"), Some(API_KEY), body.to_string().into_bytes()).await
    }

    pub async fn json2_raw(&self, path: &str, key: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut request = self.client.post(format!("{}/json/2/{path}", self.base)).content_type("application/json");
        if let Some(key) = key {
            request = request.insert_header(("Authorization", format!("bearer {key}")));
        }
        let mut response = request.send_body(body).await.expect("send");
        let status = response.status().as_u16();
        let body = response.body().limit(64 << 20).await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// `POST /xmlrpc/2/<service>` with an XML body: the status and the answer's text.
    pub async fn xmlrpc(&self, service: &str, body: &str) -> (u16, String) {
        let mut response = self
            .client
            .post(format!("{}/xmlrpc/2/{service}", self.base))
            .content_type("text/xml")
            .send_body(body.to_string())
            .await
            .expect("send");
        let status = response.status().as_u16();
        let body = response.body().limit(64 << 20).await.expect("body");
        (status, String::from_utf8(body.to_vec()).expect("utf-8"))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let mut response = self.client.get(format!("{}{path}", self.base)).send().await.expect("send");
        let status = response.status().as_u16();
        let body = response.body().await.expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Runs the sweep once (tests drive time by hand, so no job workers run).
    pub async fn sweep(&self) -> dte_sidecar::flows::sweep::SweepReport {
        dte_sidecar::flows::sweep::sweep(&self.ctx).await.expect("sweep")
    }

    pub async fn register_company(&self, id: i32, rut: &str) {
        self.call("dte.company", "register", json!([id, rut, format!("Empresa {id} SpA")]), json!({})).await;
    }

    /// Row counts of every sidecar table: bad input must leave them as they were.
    pub fn table_counts(&self) -> Vec<(String, i64)> {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            rows: i64,
        }
        let mut conn = self.db.conn();
        let sql = [
            "dte_company",
            "dte_backup",
            "dte_failed_queue",
            "dte_contingency",
            "dte_contingency_pending",
            "dte_audit_log",
        ]
        .iter()
        .map(|t| format!("SELECT '{t}' AS name, count(*) AS rows FROM dte_sidecar.{t}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
        let rows: Vec<Count> = diesel::sql_query(sql).load(&mut conn).expect("counts");
        rows.into_iter().map(|c| (c.name, c.rows)).collect()
    }
}

/// The Odoo exception name and message of an error envelope.
pub fn error_of(answer: &Value) -> (String, String) {
    let data = &answer["error"]["data"];
    assert_eq!(answer["error"]["code"], 0, "{answer}");
    assert_eq!(answer["error"]["message"], "Odoo Server Error", "{answer}");
    (data["name"].as_str().unwrap_or_default().to_string(), data["message"].as_str().unwrap_or_default().to_string())
}

/// A CAF for any company, signed like the simulated SII signs them (the fake SII key).
pub fn mint_caf(rut: &str, dte_type: u16, from: i64, to: i64, authorized_on: chrono::NaiveDate) -> String {
    let key = openssl::pkey::PKey::private_key_from_pem(&engine::fixture("keys/FAKE-SII-IDK100-private.pem"))
        .expect("fake SII key");
    issue_caf(
        &key,
        100,
        &CafRequest {
            rut: rut.into(),
            name: "EMPRESA DE PRUEBA SPA".into(),
            dte_type,
            folio_from: from,
            folio_to: to,
            authorized_on,
        },
    )
    .expect("caf")
}

async fn wait_for_port(base: &str) {
    let address = base.trim_start_matches("http://").to_string();
    for _ in 0..500 {
        if std::net::TcpStream::connect(&address).is_ok() {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{base} never listened");
}

/// A minimal DTE-shaped XML for the store tests, with the fields a retry reads to send it
/// (the engine's own tests cover real signatures).
pub fn dte_xml(dte_type: &str, folio: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<DTE xmlns=\"http://www.sii.cl/SiiDte\" version=\"1.0\">\
<Documento ID=\"F{folio}T{dte_type}\"><Encabezado><IdDoc><TipoDTE>{dte_type}</TipoDTE><Folio>{folio}</Folio>\
<FchEmis>2026-03-02</FchEmis></IdDoc><Emisor><RUTEmisor>76000001-9</RUTEmisor></Emisor>\
<Receptor><RUTRecep>66666666-6</RUTRecep><RznSocRecep>Comercial Ñandú &amp; Cía</RznSocRecep></Receptor>\
<Totales><MntTotal>1190</MntTotal></Totales></Encabezado></Documento></DTE>"
    )
}
pub mod engine;
pub mod smtp;
