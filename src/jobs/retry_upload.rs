//! A retry of one queue entry, due at its `next_retry_date`.

use apalis::prelude::*;
use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::flows::retry;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetryUpload {
    pub entry_id: i32,
}

pub async fn run(job: RetryUpload, ctx: Data<AppContext>) -> Result<(), BoxDynError> {
    let outcome = retry::retry_entry(&ctx, job.entry_id, false).await.map_err(|e| e.to_string())?;
    tracing::debug!(entry = job.entry_id, ?outcome, "retry job");
    if outcome == retry::Retried::NotDue {
        // Woken before its time (clocks drift): wait for it again.
        if let Some(at) = retry::pending_due_date(&ctx, job.entry_id).await.map_err(|e| e.to_string())? {
            if at > ctx.clock.now() {
                ctx.follow_up_retries(&[(job.entry_id, at)]).await;
            }
        }
    }
    Ok(())
}
