//! Alerts for people. Rules raise them (`alert_checks` and the flows that notice a fault); a
//! rule that no longer holds resolves its alert.
//! At most one open alert per rule and company, so an hourly check does not pile them up.

use diesel::prelude::*;
use diesel::PgConnection;
use serde_json::Value;

use crate::clock::Timestamp;
use crate::error::AppResult;
use crate::store::schema::dte_sidecar::dte_alert;

/// Every rule that raises alerts.
pub const RULES: [&str; 6] =
    ["contingency_auto", "queue_backlog", "retry_success_low", "contingency_long", "folios_low", "no_verdict"];

/// What each rule says, in English for logs; people read it from the rule and its details.
pub fn describe(rule: &str, details: &Value) -> String {
    let n = |key: &str| details.get(key).map(ToString::to_string).unwrap_or_default();
    match rule {
        "contingency_auto" => {
            format!("The SII did not answer {} times in a row: contingency mode was switched on.", n("failures"))
        }
        "queue_backlog" => format!("{} documents wait in the retry queue (more than 10).", n("count")),
        "retry_success_low" => format!("Only {}% of retried documents succeeded (below 80%).", n("rate")),
        "contingency_long" => format!("Contingency mode has been on for {} hours (more than 24).", n("hours")),
        "folios_low" => format!(
            "Only {} folios of DTE {} are left.",
            n("left"),
            details.get("dte_type").and_then(Value::as_str).unwrap_or("?")
        ),
        "no_verdict" => format!("The SII has given no verdict on track id {} for days.", n("track_id")),
        other => format!("Alert {other}"),
    }
}

/// Raises an alert unless the same one is open; returns its id when it is new.
pub fn raise(
    conn: &mut PgConnection,
    company_id: i32,
    rule: &str,
    details: &Value,
    now: Timestamp,
) -> AppResult<Option<i32>> {
    let id = diesel::insert_into(dte_alert::table)
        .values((
            dte_alert::company_id.eq(company_id),
            dte_alert::rule.eq(rule),
            dte_alert::message.eq(describe(rule, details)),
            dte_alert::details.eq(details.to_string()),
            dte_alert::raised_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .returning(dte_alert::id)
        .get_result(conn)
        .optional()?;
    if id.is_some() {
        tracing::warn!(company = company_id, rule, "alert raised");
    }
    Ok(id)
}

/// Resolves the open alert of a rule, if any.
pub fn resolve(conn: &mut PgConnection, company_id: i32, rule: &str, now: Timestamp) -> AppResult<()> {
    diesel::update(
        dte_alert::table
            .filter(dte_alert::company_id.eq(company_id))
            .filter(dte_alert::rule.eq(rule))
            .filter(dte_alert::resolved_at.is_null()),
    )
    .set(dte_alert::resolved_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Mails every open alert not mailed yet (when SMTP is configured).
pub async fn notify(ctx: &crate::context::AppContext) -> AppResult<usize> {
    let Some(mailer) = &ctx.mailer else { return Ok(0) };
    let pending: Vec<(i32, i32, String, String)> = ctx
        .db
        .run(|conn| {
            Ok(dte_alert::table
                .filter(dte_alert::notified_at.is_null())
                .filter(dte_alert::resolved_at.is_null())
                .order(dte_alert::id)
                .select((dte_alert::id, dte_alert::company_id, dte_alert::rule, dte_alert::message))
                .load(conn)?)
        })
        .await?;
    let mut sent = 0;
    for (id, company, rule, message) in pending {
        let subject = format!("[dte-sidecar] Alerta DTE empresa {company}: {rule}");
        if let Err(e) = mailer.send(&subject, &format!("{message}\n\nCompany {company}, rule {rule}.\n")).await {
            tracing::warn!(alert = id, error = %e, "alert mail not sent; will try again");
            continue;
        }
        let now = ctx.clock.now();
        ctx.db
            .run(move |conn| {
                Ok(diesel::update(dte_alert::table.find(id)).set(dte_alert::notified_at.eq(now)).execute(conn)?)
            })
            .await?;
        sent += 1;
    }
    Ok(sent)
}
