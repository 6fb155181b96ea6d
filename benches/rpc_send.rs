//! `account.move.action_send_to_sii` over `/jsonrpc` against the simulated SII at zero
//! latency: throughput, latency percentiles, SQL statements per send and SII calls per
//! 1,000 sends. The sidecar (2 HTTP workers), the simulator and this driver share the
//! machine's cores.
//! Run: `cargo bench --bench rpc_send` (needs DATABASE_URL, as the tests do).

// A benchmark reads its own set-up: a failure there may panic, and stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "floor/mod.rs"]
mod floor;

use std::time::{Duration, Instant};

use common::{TestApp, COMPANY_RUT};
use futures::stream::{self, StreamExt};

const SENDS: i32 = 2000;
const CONCURRENCY: usize = 16;
/// The targets for this machine.
const TARGET_PER_SECOND: f64 = 500.0;
const TARGET_P99_MS: f64 = 100.0;

/// What `/metrics` has counted so far: SQL statements, and SII calls by operation.
#[derive(Default)]
struct Counted {
    statements: f64,
    sii_calls: Vec<(String, f64)>,
}

impl Counted {
    fn now() -> Self {
        let Some(handle) = dte_sidecar::telemetry::metrics() else { return Self::default() };
        let text = handle.render();
        let mut counted = Self::default();
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let Some((name, value)) = line.rsplit_once(' ') else { continue };
            let value: f64 = value.parse().unwrap_or(0.0);
            if name == "dte_sql_statements_total" {
                counted.statements = value;
            } else if let Some(labels) = name.strip_prefix("dte_sii_call_seconds_count{") {
                let operation = labels
                    .split(',')
                    .find_map(|label| label.strip_prefix("operation=\""))
                    .map(|rest| rest.trim_end_matches(['"', '}']).to_string())
                    .unwrap_or_default();
                match counted.sii_calls.iter_mut().find(|(known, _)| *known == operation) {
                    Some((_, total)) => *total += value,
                    None => counted.sii_calls.push((operation, value)),
                }
            }
        }
        counted
    }

    fn calls(&self, operation: &str) -> f64 {
        self.sii_calls.iter().find(|(known, _)| known == operation).map_or(0.0, |(_, n)| *n)
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn main() {
    // The recorder is process-wide; installing it first lets this run count from the start.
    dte_sidecar::telemetry::metrics();
    // Each document in its own envelope (the default), then sends arriving within 5 ms
    // sharing one (`sii.envelope_window_millis`).
    for window in [0, 5] {
        measure(window);
    }
}

fn measure(window_millis: u64) {
    actix_rt::System::new().block_on(async {
        // No cap on SII calls: this measures the path, not the policy.
        let app = TestApp::spawn_with(|s| {
            s.database.pool_size = 16;
            s.sii.max_calls_per_minute = 0;
            s.sii.envelope_window_millis = window_millis;
        })
        .await;
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

        let before = Counted::now();
        let started = Instant::now();
        let mut latencies: Vec<Duration> =
            stream::iter(1..=SENDS).map(send).buffer_unordered(CONCURRENCY).collect().await;
        let elapsed = started.elapsed();
        let after = Counted::now();
        // The reference, right after, so that it meets the machine as the sidecar did, with
        // envelopes as full as the sidecar's were.
        let uploads = (after.calls("upload") - before.calls("upload")).max(1.0);
        let fate = floor::Fate::Sent { per_envelope: (f64::from(SENDS) / uploads).round() as usize };
        let reference = floor::measure_aside(&app.db.url, fate, SENDS, CONCURRENCY).await;
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        let per_second = f64::from(SENDS) / elapsed.as_secs_f64();
        let p99_ms = pct(0.99).as_secs_f64() * 1e3;
        let sends = f64::from(SENDS);
        println!(
            "action_send_to_sii over /jsonrpc (generate, stamp, sign, validate, store, upload, back up): \
             {SENDS} sends, {CONCURRENCY} in flight, {}",
            match window_millis {
                0 => "each document in its own envelope".to_string(),
                ms => format!("envelopes shared by the sends of a {ms} ms window"),
            }
        );
        println!(
            "  reference: PostgreSQL alone, the {:.1} statements per document a sent document cannot do \
             without, in envelopes of {} (no XML, no signature, no HTTP, no SII; see benches/floor): \
             {:.0} documents/s, p99 {:.1} ms",
            fate.statements(),
            fate.per_store(),
            reference.per_second,
            reference.p99.as_secs_f64() * 1e3
        );
        println!(
            "  throughput: {per_second:.0} documents/s, {:.2} × the reference \
             (target ≥ {TARGET_PER_SECOND:.0}, {:.2} × the reference: {})",
            per_second / reference.per_second,
            TARGET_PER_SECOND / reference.per_second,
            verdict(per_second >= TARGET_PER_SECOND)
        );
        println!(
            "  latency p50: {:.1} ms, p99: {p99_ms:.1} ms (target < {TARGET_P99_MS:.0}: {}), max: {:.1} ms",
            pct(0.50).as_secs_f64() * 1e3,
            verdict(p99_ms < TARGET_P99_MS),
            pct(1.0).as_secs_f64() * 1e3
        );
        println!(
            "  SQL statements per send: {:.1} (BEGIN and COMMIT included)",
            (after.statements - before.statements) / sends
        );
        let mut operations: Vec<&str> = after.sii_calls.iter().map(|(operation, _)| operation.as_str()).collect();
        operations.sort_unstable();
        let per_thousand: Vec<String> = operations
            .iter()
            .map(|operation| {
                format!("{operation} {:.0}", (after.calls(operation) - before.calls(operation)) * 1000.0 / sends)
            })
            .collect();
        let total: f64 = operations.iter().map(|operation| after.calls(operation) - before.calls(operation)).sum();
        println!("  SII calls per 1,000 sends: {:.0} ({})", total * 1000.0 / sends, per_thousand.join(", "));
    });
}
