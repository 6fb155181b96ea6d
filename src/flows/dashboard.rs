//! The specification's dashboard KPIs, per company. Counts and sizes come from the
//! maintained aggregates (`store::aggregates`), so they cost the same at any history size.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::context::AppContext;
use crate::error::AppResult;
use crate::owners::queue_stats::{open_queue_count, retry_success_rate};
use crate::owners::{company, contingency, folios};
use crate::store::aggregates;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiParams {
    pub company_id: i32,
}

pub async fn get_kpis(ctx: &AppContext, p: KpiParams) -> AppResult<Value> {
    let today = ctx.clock.now().date();
    ctx.db
        .run(move |conn| {
            company::require(conn, p.company_id)?;
            let (retried, _, rate) = retry_success_rate(conn, p.company_id)?;
            let by_state: Map<String, Value> = aggregates::documents_by_state(conn, Some(p.company_id))?
                .into_iter()
                .map(|(s, n)| (s, json!(n)))
                .collect();
            let (_, bytes) = aggregates::backup_storage(conn, p.company_id)?;
            let stock: Map<String, Value> =
                folios::stock(conn, p.company_id, today)?.into_iter().map(|(t, n)| (t, json!(n))).collect();
            Ok(json!({
                "company_id": p.company_id,
                "failed_queue_count": open_queue_count(conn, p.company_id)?,
                "retry_success_rate": rate,
                "retried_count": retried,
                "contingency_active": contingency::is_enabled(conn, p.company_id)?,
                "pending_contingency_count": contingency::unuploaded_count(conn, p.company_id)?,
                "backup_storage_mb": ((bytes as f64) / 1_048_576.0 * 1000.0).round() / 1000.0,
                "backup_storage_bytes": bytes,
                "documents_by_state": by_state,
                "folios_left": stock,
            }))
        })
        .await
}
