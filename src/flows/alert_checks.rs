//! The specification's alert rules, checked: each rule that holds raises its alert, each
//! that no longer holds resolves it (`alerts`).

use diesel::prelude::*;
use diesel::PgConnection;
use serde_json::Value;

use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::error::AppResult;
use crate::owners::alerts::{notify, raise, resolve};
use crate::owners::queue_stats::{open_queue_count, retry_success_rate};

/// The retry success rule for one company: raised when retries were made and under 80 %
/// of them succeeded; resolved otherwise. Before any retry there is no rate to alert on.
/// Returns whether a new alert was raised.
pub fn check_retry_rate(conn: &mut PgConnection, company_id: i32, now: Timestamp) -> AppResult<bool> {
    let (retried, _, rate) = retry_success_rate(conn, company_id)?;
    match rate {
        Some(rate) if retried > 0 && rate < 80.0 => {
            let details = serde_json::json!({"rate": rate, "total": retried});
            Ok(raise(conn, company_id, "retry_success_low", &details, now)?.is_some())
        }
        _ => {
            resolve(conn, company_id, "retry_success_low", now)?;
            Ok(false)
        }
    }
}

/// The hourly check of the specification's alert rules, for every company, then mail for
/// alerts not yet sent. Rules: more than 10 entries waiting in the retry queue; retry
/// success rate under 80 %; contingency on for more than 24 hours; folios running low
/// (types with a CAF loaded).
pub async fn check(ctx: &AppContext) -> AppResult<usize> {
    use crate::store::schema::dte_sidecar::{dte_caf, dte_company, dte_contingency};
    let now = ctx.clock.now();
    let today = now.date();
    let raised = ctx
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let companies: Vec<i32> = dte_company::table.select(dte_company::id).load(conn)?;
                let mut raised = 0;
                let mut rate_alerts = 0;
                let mut rule =
                    |conn: &mut PgConnection, company: i32, name: &str, holds: bool, details: Value| -> AppResult<()> {
                        if holds {
                            raised += usize::from(raise(conn, company, name, &details, now)?.is_some());
                        } else {
                            resolve(conn, company, name, now)?;
                        }
                        Ok(())
                    };
                for company in companies {
                    let waiting = open_queue_count(conn, company)?;
                    rule(conn, company, "queue_backlog", waiting > 10, serde_json::json!({"count": waiting}))?;
                    rate_alerts += usize::from(check_retry_rate(conn, company, now)?);
                    let since: Option<Option<Timestamp>> = dte_contingency::table
                        .filter(dte_contingency::company_id.eq(company))
                        .filter(dte_contingency::enabled.eq(true))
                        .select(dte_contingency::enabled_date)
                        .first(conn)
                        .optional()?;
                    let hours = since.flatten().map(|at| (now - at).num_hours());
                    rule(
                        conn,
                        company,
                        "contingency_long",
                        hours.is_some_and(|h| h > 24),
                        serde_json::json!({"hours": hours}),
                    )?;
                    let used_types: Vec<String> = dte_caf::table
                        .filter(dte_caf::company_id.eq(company))
                        .select(dte_caf::dte_type)
                        .distinct()
                        .load(conn)?;
                    let low: Vec<(String, i64)> = crate::owners::folios::stock(conn, company, today)?
                        .into_iter()
                        .filter(|(t, left)| used_types.contains(t) && *left < crate::owners::folios::LOW_STOCK)
                        .collect();
                    let worst = low.iter().min_by_key(|(_, left)| *left);
                    rule(
                        conn,
                        company,
                        "folios_low",
                        worst.is_some(),
                        serde_json::json!({
                            "dte_type": worst.map(|(t, _)| t.clone()),
                            "left": worst.map(|(_, n)| *n),
                            "types": low
                                .iter()
                                .map(|(t, n)| serde_json::json!({"dte_type": t, "left": n}))
                                .collect::<Vec<_>>(),
                        }),
                    )?;
                }
                Ok(raised + rate_alerts)
            })
        })
        .await?;
    notify(ctx).await?;
    Ok(raised)
}
