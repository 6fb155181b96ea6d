//! `backup_dte` over `/jsonrpc`: throughput and latency percentiles.
//! Run: `cargo bench --bench rpc_backup` (needs DATABASE_URL, as the tests do).

// A benchmark reads its own set-up: a failure there may panic, and stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{dte_xml, TestApp};
use futures::stream::{self, StreamExt};
use serde_json::json;

const REQUESTS: usize = 4000;
const CONCURRENCY: usize = 16;

fn main() {
    actix_rt::System::new().block_on(async {
        let app = TestApp::spawn_with(|s| s.database.pool_size = 16).await;
        app.register_company(1, "76000001-9").await;
        let documents: Vec<String> = (1..=REQUESTS + 200).map(|folio| dte_xml("33", &folio.to_string())).collect();
        let send = |folio: usize| {
            let app = &app;
            let xml = documents[folio - 1].clone();
            async move {
                let started = Instant::now();
                let answer = app
                    .execute_kw(
                        "dte.backup",
                        "backup_dte",
                        json!(["33", folio.to_string(), xml, "123", folio]),
                        json!({"company_id": 1}),
                    )
                    .await;
                assert!(answer.get("result").is_some(), "{answer}");
                started.elapsed()
            }
        };
        // Warm the pool and the caches.
        stream::iter(REQUESTS + 1..=REQUESTS + 200)
            .for_each_concurrent(CONCURRENCY, |f| async move {
                send(f).await;
            })
            .await;

        let started = Instant::now();
        let mut latencies: Vec<Duration> =
            stream::iter(1..=REQUESTS).map(send).buffer_unordered(CONCURRENCY).collect().await;
        let elapsed = started.elapsed();
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        println!("backup_dte over /jsonrpc: {REQUESTS} calls, {CONCURRENCY} in flight, 2 HTTP workers");
        println!("  throughput: {:.0} calls/s", REQUESTS as f64 / elapsed.as_secs_f64());
        println!(
            "  latency p50: {:.2} ms, p99: {:.2} ms, max: {:.2} ms",
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            pct(1.0).as_secs_f64() * 1e3
        );
    });
}
