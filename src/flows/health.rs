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
pub fn record_outcome(
    conn: &mut PgConnection,
    company_id: i32,
    error: Option<&SiiError>,
    threshold: u32,
    now: Timestamp,
) -> AppResult<bool> {
    use dte_sii_health::dsl as h;
    diesel::insert_into(h::dte_sii_health)
        .values(h::company_id.eq(company_id))
        .on_conflict(h::company_id)
        .do_nothing()
        .execute(conn)?;
    match error {
        None => {
            diesel::update(h::dte_sii_health.find(company_id))
                .set((h::consecutive_failures.eq(0), h::last_success_at.eq(now)))
                .execute(conn)?;
            Ok(false)
        }
        Some(e) if e.class == ErrorClass::Transient => {
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
                tracing::warn!(
                    company = company_id,
                    failures,
                    "the SII is not answering: company switched to contingency"
                );
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
        Some(_) => Ok(false),
    }
}
