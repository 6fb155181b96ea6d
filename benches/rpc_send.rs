//! `account.move.action_send_to_sii` over `/jsonrpc` against the simulated SII at zero
//! latency: throughput and latency percentiles. The sidecar (2 HTTP workers), the
//! simulator and this driver share the machine's cores.
//! Run: `cargo bench --bench rpc_send` (needs DATABASE_URL, as the tests do).

// A benchmark reads its own set-up: a failure there may panic, and stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{TestApp, COMPANY_RUT};
use futures::stream::{self, StreamExt};

const SENDS: i32 = 2000;
const CONCURRENCY: usize = 16;

fn main() {
    actix_rt::System::new().block_on(async {
        let app = TestApp::spawn_with(|s| s.database.pool_size = 16).await;
        app.setup_company(1, COMPANY_RUT, i64::from(SENDS) + 500).await;
        let send = |move_id: i32| {
            let app = &app;
            async move {
                let started = Instant::now();
                let answer = app.send(move_id, 1, 33, COMPANY_RUT).await;
                assert_eq!(answer["result"]["state"], "sent", "{answer}");
                started.elapsed()
            }
        };
        stream::iter(100_000..100_200)
            .for_each_concurrent(CONCURRENCY, |m| async move {
                send(m).await;
            })
            .await;

        let started = Instant::now();
        let mut latencies: Vec<Duration> =
            stream::iter(1..=SENDS).map(send).buffer_unordered(CONCURRENCY).collect().await;
        let elapsed = started.elapsed();
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        println!(
            "action_send_to_sii over /jsonrpc (generate, stamp, sign, validate, store, upload, back up): \
             {SENDS} sends, {CONCURRENCY} in flight"
        );
        println!("  throughput: {:.0} documents/s", f64::from(SENDS) / elapsed.as_secs_f64());
        println!(
            "  latency p50: {:.1} ms, p99: {:.1} ms, max: {:.1} ms",
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            pct(1.0).as_secs_f64() * 1e3
        );
    });
}
