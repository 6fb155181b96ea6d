//! The safety net (the specification's hourly cron, now run often): whatever is due and
//! was not done by its own job gets done here.
//! 1. Retries that a crashed worker left `retrying` go back to `pending`; folios a crashed
//!    call reserved are issued from the stored request (see [`super::send`]).
//! 2. Uploads whose outcome is unknown (a `sending` document past its lease: the process
//!    died between the upload and its record) are reconciled: the same envelope is sent
//!    again, and the SII either recognises it (STATUS 99, first track id) or takes it for
//!    the first time. A folio is never received twice.
//! 3. Due retries run.
//! 4. Due status queries run.
//! 5. Backups still without their second copy are copied; the counters' stripes of past
//!    days are folded.
//! 6. A company the sidecar put in contingency leaves it once the SII answers again.
//! 7. Once per business hour: the alert rules. Once per business week: retention.

use chrono::{Datelike, TimeDelta, Timelike};
use diesel::prelude::*;
use serde::Serialize;

use super::{retry, status, upload};
use crate::context::AppContext;
use crate::error::AppResult;
use crate::owners::document;
use crate::store::schema::dte_sidecar::dte_envelope;
use crate::store::state::EnvelopeState;

/// Work items handled per sweep and kind (the specification's cron takes 100).
const BATCH: i64 = 100;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub released: usize,
    pub completed: usize,
    pub reconciled: usize,
    pub retried: usize,
    pub polled: usize,
    pub copied: usize,
    pub recovered: usize,
    pub alerts: usize,
    pub expired: usize,
}

pub async fn sweep(ctx: &AppContext) -> AppResult<SweepReport> {
    let now = ctx.clock.now();
    let lease = TimeDelta::seconds(ctx.settings.jobs.upload_lease_secs);
    let (released, stale_envelopes) = ctx
        .db
        .run(move |conn| {
            let released = crate::owners::failed_queue::release_stale(conn, now - lease)?;
            // Claim each stale upload by extending its lease, so one replica reconciles it.
            // A document another transaction holds (its upload being recorded, another
            // replica's sweep) is skipped, not waited for: this sweep or the next sees it.
            let stale = document::claim_stale_uploads(conn, now, lease)?;
            let mut envelopes: Vec<i32> = stale.into_iter().flatten().collect();
            envelopes.sort_unstable();
            envelopes.dedup();
            Ok((released, envelopes))
        })
        .await?;
    let mut report = SweepReport { released, ..SweepReport::default() };
    report.completed = carry_on("reservations", super::send::complete_lapsed(ctx).await).unwrap_or(0);
    for envelope in stale_envelopes {
        tracing::warn!(envelope, "upload outcome unknown: reconciling with the SII");
        if carry_on("reconcile", upload::upload_envelope(ctx, envelope, "reconcile").await).is_some() {
            report.reconciled += 1;
        }
    }
    let (due_entries, due_polls) = ctx
        .db
        .run(move |conn| {
            let entries = retry::due_entries(conn, now, None, BATCH)?;
            let polls: Vec<i32> = dte_envelope::table
                .filter(dte_envelope::state.eq(EnvelopeState::Uploaded))
                .filter(dte_envelope::next_poll_at.le(now))
                .order(dte_envelope::next_poll_at.asc())
                .limit(BATCH)
                .select(dte_envelope::id)
                .load(conn)?;
            Ok((entries, polls))
        })
        .await?;
    for entry in due_entries {
        if carry_on("retry", retry::retry_entry(ctx, entry, false).await).is_some_and(|r| r != retry::Retried::NotDue) {
            report.retried += 1;
        }
    }
    for envelope in due_polls {
        if carry_on("status", status::poll_envelope(ctx, envelope).await).is_some_and(|p| p != status::Polled::NotDue) {
            report.polled += 1;
        }
    }
    report.copied = carry_on("copies", crate::owners::backup::copy_out(ctx, None).await).unwrap_or(0);
    let today = now.date();
    carry_on("aggregates", ctx.db.run(move |conn| crate::store::aggregates::compact(conn, today)).await);
    report.recovered = carry_on("recovery", super::drain::probe_and_recover(ctx).await).unwrap_or(0);
    let hour = now.date().and_hms_opt(now.time().hour(), 0, 0).unwrap_or(now);
    if claim(ctx, "alerts", hour).await? {
        report.alerts = carry_on("alerts", super::alert_checks::check(ctx).await).unwrap_or(0);
    }
    let week = (now.date() - TimeDelta::days(i64::from(now.date().weekday().num_days_from_monday())))
        .and_hms_opt(0, 0, 0)
        .unwrap_or(now);
    if claim(ctx, "retention", week).await? {
        report.expired = carry_on("retention", crate::owners::backup::apply_retention(ctx).await).unwrap_or(0);
    }
    if report != SweepReport::default() {
        tracing::info!(?report, "sweep");
    }
    Ok(report)
}

/// Runs a periodic task once per period across every replica.
async fn claim(ctx: &AppContext, name: &'static str, tick: crate::clock::Timestamp) -> AppResult<bool> {
    let (runner, now) = (ctx.instance.clone(), ctx.clock.now());
    ctx.db.run(move |conn| Ok(crate::store::cron_tick::claim_tick(conn, name, tick, &runner, now)?)).await
}

/// One failed item is logged and the sweep goes on with the rest.
fn carry_on<T>(what: &str, result: AppResult<T>) -> Option<T> {
    result.map_err(|e| tracing::error!(task = what, error = %e, "sweep item failed")).ok()
}
