//! What the retry queue's maintained counts say, for the dashboard and the alert rules
//! alike.

use diesel::PgConnection;

use crate::error::AppResult;
use crate::store::aggregates;
use crate::store::state::QueueState;

/// Retry success rate over the entries that were retried at least once (a retry that
/// succeeded counts as one): `(retried, succeeded, percent)`, no percent before any retry.
/// An entry closed without a retry (its first upload's outcome turned out fine) is no
/// retry and does not weigh on the rate.
pub fn retry_success_rate(conn: &mut PgConnection, company_id: i32) -> AppResult<(i64, i64, Option<f64>)> {
    let retried_by_state = aggregates::retried_by_state(conn, company_id)?;
    let retried: i64 = retried_by_state.values().sum();
    let success = retried_by_state.get(QueueState::Success.as_str()).copied().unwrap_or(0);
    let rate = (retried > 0).then(|| ((success as f64) * 100.0 / (retried as f64) * 100.0).round() / 100.0);
    Ok((retried, success, rate))
}

/// Entries waiting in the retry queue (`pending` or `retrying`).
pub fn open_queue_count(conn: &mut PgConnection, company_id: i32) -> AppResult<i64> {
    let by_state = aggregates::queue_by_state(conn, Some(company_id))?;
    Ok(QueueState::OPEN.iter().filter_map(|s| by_state.get(s.as_str())).sum())
}
