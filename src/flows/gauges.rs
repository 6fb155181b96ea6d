//! `/metrics` in Prometheus' text format. Counters and the SII latency histogram are kept
//! as things happen (`crate::metrics`); the gauges (documents by state, queue depth,
//! contingency) are read from the database at scrape time (the counts from the maintained
//! aggregates), so every replica reports the same shared truth.

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Int4};

use crate::context::AppContext;
use crate::owners::document::DocState;
use crate::store::aggregates::Labelled;
use crate::store::state::QueueState;

#[derive(QueryableByName)]
struct CompanyFlag {
    #[diesel(sql_type = Int4)]
    company_id: i32,
    #[diesel(sql_type = Bool)]
    enabled: bool,
}

pub async fn render(ctx: web::Data<AppContext>) -> HttpResponse {
    let Some(handle) = crate::telemetry::metrics() else {
        return HttpResponse::ServiceUnavailable().body("metrics are not available");
    };
    let read = ctx
        .db
        .scrape(|conn| {
            // From the maintained aggregates: a scrape costs the same at any history size.
            let states = crate::store::aggregates::documents_by_state(conn, None)?;
            let queue = crate::store::aggregates::queue_by_state(conn, None)?;
            let contingency: Vec<CompanyFlag> =
                diesel::sql_query("SELECT company_id, enabled FROM dte_sidecar.dte_contingency").load(conn)?;
            let pending: Vec<Labelled> = diesel::sql_query(
                "SELECT company_id::text AS label, count(*) AS n FROM dte_sidecar.dte_contingency_pending \
                 WHERE NOT uploaded GROUP BY company_id",
            )
            .load(conn)?;
            Ok((states, queue, contingency, pending))
        })
        .await;
    if let Some((states, queue, contingency, pending)) = read {
        for state in DocState::ALL {
            let n = states.get(state.as_str()).copied().unwrap_or(0);
            metrics::gauge!("dte_documents", "state" => state.as_str()).set(n as f64);
        }
        for state in QueueState::ALL {
            let n = queue.get(state.as_str()).copied().unwrap_or(0);
            metrics::gauge!("dte_failed_queue_entries", "state" => state.as_str()).set(n as f64);
        }
        for flag in contingency {
            metrics::gauge!("dte_contingency_active", "company_id" => flag.company_id.to_string())
                .set(if flag.enabled { 1.0 } else { 0.0 });
        }
        for company in pending {
            metrics::gauge!("dte_contingency_pending", "company_id" => company.label).set(company.n as f64);
        }
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(handle.render())
}
