//! `dte_cron_tick`: one row per periodic task and tick. Every replica's schedule pushes
//! each tick; the first replica to record the tick runs it, so each tick runs once.

use diesel::prelude::*;

use super::schema::dte_sidecar::dte_cron_tick;
use crate::clock::Timestamp;

/// Records a tick; true when this caller is the one to run it.
pub fn claim_tick(
    conn: &mut PgConnection,
    name: &str,
    tick: Timestamp,
    runner: &str,
    now: Timestamp,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(dte_cron_tick::table)
        .values((
            dte_cron_tick::name.eq(name),
            dte_cron_tick::tick.eq(tick),
            dte_cron_tick::ran_at.eq(now),
            dte_cron_tick::runner.eq(runner),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}
