//! How the SII has been answering each company. After `sii.contingency_after_failures`
//! consecutive transient failures (3 by default, as the specification notes) the company
//! enters contingency with reason `sii_unavailable`; a success resets the count.

use diesel::prelude::*;
use diesel::PgConnection;
use serde_json::json;

use super::audit::Actor;
use super::contingency::{self, Switch};
use crate::clock::Timestamp;
use crate::error::AppResult;
use crate::sii::{ErrorClass, SiiError};
use crate::store::schema::dte_sidecar::dte_sii_health;

/// Records one upload outcome; returns true when it switched the company to contingency.
/// How fresh `last_success_at` is kept: a success within this of the last one recorded
/// changes nothing, so concurrent uploads do not queue on the company's health row.
const SUCCESS_GRANULARITY_SECS: f64 = 1.0;

/// A success resets the failure count. The row is written only when that changes
/// something (failures to reset, or a `last_success_at` older than the granularity): an
/// update whose condition fails takes no row lock, and every upload of a company records
/// its outcome inside its own transaction.
fn record_success(conn: &mut PgConnection, company_id: i32, now: Timestamp) -> AppResult<()> {
    diesel::sql_query(
        "WITH reset AS ( \
           UPDATE dte_sidecar.dte_sii_health SET consecutive_failures = 0, last_success_at = $2 \
           WHERE company_id = $1 AND (consecutive_failures <> 0 OR last_success_at IS NULL \
             OR last_success_at < $2 - make_interval(secs => $3)) RETURNING company_id) \
         INSERT INTO dte_sidecar.dte_sii_health (company_id, consecutive_failures, last_success_at) \
         SELECT $1, 0, $2 WHERE NOT EXISTS (SELECT 1 FROM dte_sidecar.dte_sii_health WHERE company_id = $1) \
         ON CONFLICT (company_id) DO NOTHING",
    )
    .bind::<diesel::sql_types::Int4, _>(company_id)
    .bind::<diesel::sql_types::Timestamp, _>(now)
    .bind::<diesel::sql_types::Double, _>(SUCCESS_GRANULARITY_SECS)
    .execute(conn)?;
    Ok(())
}

pub fn record_outcome(
    conn: &mut PgConnection,
    company_id: i32,
    error: Option<&SiiError>,
    threshold: u32,
    now: Timestamp,
) -> AppResult<bool> {
    use dte_sii_health::dsl as h;
    let Some(e) = error else {
        record_success(conn, company_id, now)?;
        return Ok(false);
    };
    // A call our own cap held back never reached the SII: it tells nothing of its health.
    if e.class != ErrorClass::Transient || e.is_call_cap() {
        return Ok(false);
    }
    diesel::insert_into(h::dte_sii_health)
        .values(h::company_id.eq(company_id))
        .on_conflict(h::company_id)
        .do_nothing()
        .execute(conn)?;
    let failures: i32 = diesel::update(h::dte_sii_health.find(company_id))
        .set((
            h::consecutive_failures.eq(h::consecutive_failures + 1),
            h::last_failure_at.eq(now),
            h::last_error.eq(e.to_string()),
        ))
        .returning(h::consecutive_failures)
        .get_result(conn)?;
    if failures < i32::try_from(threshold).unwrap_or(i32::MAX) {
        return Ok(false);
    }
    let comment = format!("{failures} consecutive failures talking to the SII; last: {e}");
    let switched = contingency::switch(
        conn,
        &Actor::system(),
        company_id,
        Switch::On { reason: "sii_unavailable" },
        Some(&comment),
        now,
    )?;
    if switched {
        tracing::warn!(company = company_id, failures, "the SII is not answering: company switched to contingency");
        super::alerts::raise(
            conn,
            company_id,
            "contingency_auto",
            &json!({"failures": failures, "last_error": e.to_string()}),
            now,
        )?;
    }
    Ok(switched)
}
