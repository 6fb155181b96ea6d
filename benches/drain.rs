//! Contingency drain: 10,000 documents issued in contingency, then uploaded to the
//! simulated SII in EnvioDTE envelopes. Prints documents/s issued, the time and the number
//! of envelopes of the upload.
//! Run: `cargo bench --bench drain` (needs DATABASE_URL, as the tests do).

// A benchmark reads its own set-up: a failure there may panic, and stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../tests/it/common/mod.rs"]
mod common;
#[path = "floor/mod.rs"]
mod floor;

use std::time::Instant;

use common::{TestApp, COMPANY_RUT};
use futures::stream::{self, StreamExt};
use serde_json::json;

const DOCUMENTS: i32 = 10_000;
/// The issue's target for issuing in contingency on this machine, [`IN_FLIGHT`] calls in flight.
const TARGET_ISSUED_PER_SECOND: f64 = 800.0;
const IN_FLIGHT: usize = 16;

fn main() {
    actix_rt::System::new().block_on(async {
        let app = TestApp::spawn_with(|s| s.database.pool_size = IN_FLIGHT as u32).await;
        app.setup_company(1, COMPANY_RUT, i64::from(DOCUMENTS)).await;
        app.call("dte.contingency", "enable_contingency", json!([1, "sii_unavailable"]), json!({})).await;
        let started = Instant::now();
        stream::iter(1..=DOCUMENTS)
            .for_each_concurrent(IN_FLIGHT, |move_id| {
                let app = &app;
                async move {
                    let answer = app.send(move_id, 1, 33, COMPANY_RUT).await;
                    assert_eq!(answer["result"]["state"], "contingency", "{answer}");
                }
            })
            .await;
        let issuing = started.elapsed().as_secs_f64();
        let per_second = f64::from(DOCUMENTS) / issuing;
        let reference = floor::measure_aside(&app.db.url, floor::Fate::Held, DOCUMENTS, IN_FLIGHT).await;
        println!(
            "issued {DOCUMENTS} documents in contingency in {issuing:.1}s — {per_second:.0} documents/s, \
             {:.2} × the reference (target ≥ {TARGET_ISSUED_PER_SECOND:.0}, {:.2} × the reference: {})",
            per_second / reference.per_second,
            TARGET_ISSUED_PER_SECOND / reference.per_second,
            if per_second >= TARGET_ISSUED_PER_SECOND { "met" } else { "NOT met" }
        );
        println!(
            "  reference: PostgreSQL alone, the {:.0} statements a held document cannot do without \
             (no XML, no signature, no HTTP; see benches/floor): {:.0} documents/s, p99 {:.1} ms",
            floor::Fate::Held.statements(),
            reference.per_second,
            reference.p99.as_secs_f64() * 1e3
        );
        app.call("dte.contingency", "disable_contingency", json!([1]), json!({})).await;

        let started = Instant::now();
        let report = app.call("dte.contingency", "upload_pending_batch", json!([1, DOCUMENTS]), json!({})).await;
        let elapsed = started.elapsed();
        assert_eq!(report["uploaded"], DOCUMENTS, "{report}");
        assert_eq!(report["remaining"], 0);
        println!(
            "drained {} documents in {} envelopes ({} documents each at most) in {:.1}s — {:.0} documents/s",
            report["uploaded"],
            report["envelopes"],
            app.ctx.settings.sii.max_documents_per_envelope,
            elapsed.as_secs_f64(),
            f64::from(DOCUMENTS) / elapsed.as_secs_f64()
        );
        assert_eq!(app.sim.upload_count(), report["envelopes"].as_u64().unwrap_or(0) as usize);
    });
}
