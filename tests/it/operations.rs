//! Operations: the retry schedule played by real apalis workers on a sped-up clock,
//! the job board behind authentication, and `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{TestApp, COMPANY_RUT};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{json, Value};

use dte_sidecar::clock::{ScaledClock, SharedClock};
use dte_sidecar::context::AppContext;
use dte_sidecar::flows::send::{action_send_to_sii, SendParams};
use dte_sidecar::jobs;
use dte_sidecar::owners::audit::Actor;
use dte_sidecar::settings::Secret;
use dte_sidecar::sii::simulator::faults::{Endpoint, FaultMode, Faults};

#[derive(QueryableByName, Debug)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    retry_count: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    retry_history: String,
}

#[actix_rt::test]
async fn apalis_jobs_play_the_whole_schedule_on_a_fast_clock() {
    let app = TestApp::spawn().await;
    // The workers' clock runs from today: so must the CAFs.
    app.clock.set(chrono::Utc::now().naive_utc());
    app.setup_company(1, COMPANY_RUT, 100).await;
    // One business hour passes in a tenth of a real second.
    let clock: SharedClock = Arc::new(ScaledClock::new(36_000.0));
    let mut settings = (*app.ctx.settings).clone();
    settings.jobs.enabled = true;
    settings.jobs.poll_interval_millis = 50;
    settings.jobs.sweep_interval_secs = 30;
    // A lease is business time, an upload real time: the lease must outlast the longest
    // upload (2 s real, 20 business hours here), as 300 s outlasts the 60 s timeout in
    // production, or the sweep takes a retry's upload in flight for one a crash cut.
    settings.jobs.upload_lease_secs = 100_000;
    let pool = jobs::connect(&app.db.url).await.unwrap();
    let ctx = AppContext::from_settings(settings, app.ctx.db.clone(), Arc::clone(&clock))
        .unwrap()
        .with_jobs(jobs::Scheduler::new(&pool, Arc::clone(&clock)));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let workers = actix_rt::spawn(jobs::run_workers(ctx.clone(), pool, async move {
        let _ = stopped.await;
    }));

    app.sim.set_faults(Faults { mode: FaultMode::Http500, only: vec![Endpoint::Upload], ..Faults::default() });
    let sent = action_send_to_sii(
        &ctx,
        Actor::system(),
        SendParams { move_id: 7, company_id: 1, document: app.document(33, COMPANY_RUT), folio: None },
    )
    .await
    .unwrap();
    assert_eq!(sent["state"], "failed");

    let mut conn = app.db.conn();
    let mut row = None;
    for _ in 0..600 {
        let found: Row = diesel::sql_query(
            "SELECT state, retry_count, retry_history FROM dte_sidecar.dte_failed_queue WHERE move_id = 7",
        )
        .get_result(&mut conn)
        .unwrap();
        if found.state == "abandoned" {
            row = Some(found);
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    if row.is_none() {
        #[derive(QueryableByName, Debug)]
        struct Job {
            #[diesel(sql_type = diesel::sql_types::Text)]
            line: String,
        }
        let jobs: Vec<String> = diesel::sql_query(
            "SELECT concat_ws(' ', job_type, status, attempts, run_at, last_result) AS line FROM apalis.jobs",
        )
        .load::<Job>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|j| j.line)
        .collect();
        let entry: Row = diesel::sql_query(
            "SELECT state, retry_count, retry_history FROM dte_sidecar.dte_failed_queue WHERE move_id = 7",
        )
        .get_result(&mut conn)
        .unwrap();
        panic!("not abandoned: {entry:?}\njobs: {jobs:?}");
    }
    let row = row.expect("the entry is abandoned after five retries");
    assert_eq!(row.retry_count, 5);
    let history: Vec<Value> = serde_json::from_str(&row.retry_history).unwrap();
    let dates: Vec<chrono::NaiveDateTime> = history
        .iter()
        .map(|e| chrono::NaiveDateTime::parse_from_str(e["date"].as_str().unwrap(), "%Y-%m-%d %H:%M:%S").unwrap())
        .collect();
    assert_eq!(dates.len(), 6, "{history:?}");
    // Never early: each retry comes at least 1, 2, 4, 8, 16 business hours after the last.
    for (gap, hours) in dates.windows(2).zip([1, 2, 4, 8, 16]) {
        assert!(gap[1] - gap[0] >= chrono::TimeDelta::hours(hours), "retry after {hours} h came early: {history:?}");
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let done: Count =
        diesel::sql_query("SELECT count(*) AS n FROM apalis.jobs WHERE job_type = 'dte-retry' AND status = 'Done'")
            .get_result(&mut conn)
            .unwrap();
    assert!(done.n >= 1, "the retries ran as apalis jobs");
    let _ = stop.send(());
    let _ = workers.await;
}

#[actix_rt::test]
async fn the_job_board_answers_only_with_credentials() {
    let app = TestApp::spawn().await;
    let pool = jobs::connect(&app.db.url).await.unwrap();
    let admin = dte_sidecar::settings::AdminSettings {
        board_user: "ops".into(),
        board_password: Secret::new("board-password-123"),
        ..Default::default()
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    actix_rt::spawn(jobs::board::start(&admin, pool, listener).unwrap());
    let client = awc::Client::default();
    let get = |auth: Option<(&'static str, &'static str)>, path: &'static str| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some((user, password)) = auth {
            request = request.basic_auth(user, password);
        }
        request.send()
    };
    assert_eq!(get(Some(("ops", "board-password-123")), "/api/v1/queues").await.unwrap().status().as_u16(), 200);
    assert_eq!(get(Some(("ops", "board-password-123")), "/").await.unwrap().status().as_u16(), 200);
    // The live log the board's "System Status" reads: a stream, not a 500.
    let events = get(Some(("ops", "board-password-123")), "/api/v1/events").await.unwrap();
    assert_eq!(events.status().as_u16(), 200);
    assert_eq!(
        events.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/event-stream"),
        "the board's events are server-sent events"
    );
    assert_eq!(get(None, "/api/v1/events").await.unwrap().status().as_u16(), 401);
    assert_eq!(get(None, "/api/v1/queues").await.unwrap().status().as_u16(), 401);
    assert_eq!(get(Some(("ops", "wrong")), "/api/v1/queues").await.unwrap().status().as_u16(), 401);
    assert_eq!(get(None, "/").await.unwrap().status().as_u16(), 401);
    let push =
        client.put(format!("{base}/api/v1/queues/dte-retry/tasks")).send_json(&json!({"entry_id": 1})).await.unwrap();
    assert_eq!(push.status().as_u16(), 401, "nobody queues jobs without credentials");
}

#[actix_rt::test]
async fn metrics_expose_documents_queue_retries_latency_and_contingency() {
    let app = TestApp::spawn().await;
    app.setup_company(1, COMPANY_RUT, 100).await;
    app.send(1, 1, 33, COMPANY_RUT).await;
    app.sim.set_faults(Faults { mode: FaultMode::Http500, only: vec![Endpoint::Upload], ..Faults::default() });
    app.send(2, 1, 33, COMPANY_RUT).await;
    app.call("dte.contingency", "enable_contingency", json!([1]), json!({})).await;
    let mut response = awc::Client::default().get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    for series in [
        "dte_documents{state=\"sent\"} 1",
        "dte_documents{state=\"failed\"} 1",
        "dte_failed_queue_entries{state=\"pending\"} 1",
        "dte_contingency_active{company_id=\"1\"} 1",
        "dte_upload_failures_total{error_type=\"unavailable\",class=\"transient\"}",
        "dte_sii_call_seconds_bucket{operation=\"upload\"",
        "dte_document_transitions_total{to=\"sent\"}",
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
}
