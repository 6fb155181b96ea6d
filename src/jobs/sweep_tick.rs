//! The periodic sweep, an apalis-cron schedule piped into its own queue. Every replica's
//! schedule pushes each tick; the first replica to record the tick in `dte_cron_tick`
//! runs it, so each tick runs once.

use apalis::prelude::*;
use apalis_cron::Tick;

use crate::context::AppContext;
use crate::flows::sweep;
use crate::store::cron_tick::claim_tick;

/// The cron expression (with seconds) for a sweep every `secs` seconds (the settings
/// check refuses an interval it cannot express).
pub use crate::settings::sweep_schedule as schedule;

pub async fn run(tick: Tick, ctx: Data<AppContext>) -> Result<(), BoxDynError> {
    let at = i64::try_from(tick.get_timestamp())
        .ok()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.naive_utc());
    let Some(tick_at) = at else { return Ok(()) };
    let runner = ctx.instance.clone();
    let now = ctx.clock.now();
    let mine = ctx
        .db
        .run(move |conn| claim_tick(conn, "sweep", tick_at, &runner, now).map_err(Into::into))
        .await
        .map_err(|e| e.to_string())?;
    if mine {
        sweep::sweep(&ctx).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
