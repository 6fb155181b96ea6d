//! The specification's dashboard KPIs, per company.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Int4, Text};
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{company, contingency, folios};
use crate::context::AppContext;
use crate::error::AppResult;
use crate::store::schema::dte_sidecar::dte_failed_queue;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiParams {
    pub company_id: i32,
}

/// Retry success rate over the entries that were retried at least once (a retry that
/// succeeded counts as one): `(retried, succeeded, percent)`, no percent before any retry.
/// An entry closed without a retry (its first upload's outcome turned out fine) is no
/// retry and does not weigh on the rate.
pub fn retry_success_rate(conn: &mut PgConnection, company_id: i32) -> AppResult<(i64, i64, Option<f64>)> {
    let retried_entries = dte_failed_queue::table
        .filter(dte_failed_queue::company_id.eq(company_id))
        .filter(dte_failed_queue::retry_count.gt(0));
    let retried: i64 = retried_entries.count().get_result(conn)?;
    let success: i64 = retried_entries.filter(dte_failed_queue::state.eq("success")).count().get_result(conn)?;
    let rate = (retried > 0).then(|| ((success as f64) * 100.0 / (retried as f64) * 100.0).round() / 100.0);
    Ok((retried, success, rate))
}

pub fn open_queue_count(conn: &mut PgConnection, company_id: i32) -> AppResult<i64> {
    Ok(dte_failed_queue::table
        .filter(dte_failed_queue::company_id.eq(company_id))
        .filter(dte_failed_queue::state.eq_any(["pending", "retrying"]))
        .count()
        .get_result(conn)?)
}

#[derive(QueryableByName)]
struct StateCount {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

pub async fn get_kpis(ctx: &AppContext, p: KpiParams) -> AppResult<Value> {
    let today = ctx.clock.now().date();
    ctx.db
        .run(move |conn| {
            company::require(conn, p.company_id)?;
            let (retried, _, rate) = retry_success_rate(conn, p.company_id)?;
            let states: Vec<StateCount> = diesel::sql_query(
                "SELECT state, count(*) AS n FROM dte_sidecar.dte_document WHERE company_id = $1 GROUP BY state ORDER BY state",
            )
            .bind::<Int4, _>(p.company_id)
            .load(conn)?;
            let storage: Bytes = diesel::sql_query(
                "SELECT COALESCE(sum(octet_length(xml_content)), 0)::bigint AS bytes FROM dte_sidecar.dte_backup WHERE company_id = $1",
            )
            .bind::<Int4, _>(p.company_id)
            .get_result(conn)?;
            let by_state: Map<String, Value> = states.into_iter().map(|s| (s.state, json!(s.n))).collect();
            let stock: Map<String, Value> = folios::stock(conn, p.company_id, today)?.into_iter().map(|(t, n)| (t, json!(n))).collect();
            Ok(json!({
                "company_id": p.company_id,
                "failed_queue_count": open_queue_count(conn, p.company_id)?,
                "retry_success_rate": rate,
                "retried_count": retried,
                "contingency_active": contingency::is_enabled(conn, p.company_id)?,
                "pending_contingency_count": contingency::unuploaded_count(conn, p.company_id)?,
                "backup_storage_mb": ((storage.bytes as f64) / 1_048_576.0 * 1000.0).round() / 1000.0,
                "backup_storage_bytes": storage.bytes,
                "documents_by_state": by_state,
                "folios_left": stock,
            }))
        })
        .await
}
