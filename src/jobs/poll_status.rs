//! A status query for one uploaded envelope.

use apalis::prelude::*;
use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::flows::status;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PollStatus {
    pub envelope_id: i32,
}

pub async fn run(job: PollStatus, ctx: Data<AppContext>) -> Result<(), BoxDynError> {
    let outcome = status::poll_envelope(&ctx, job.envelope_id).await.map_err(|e| e.to_string())?;
    tracing::debug!(envelope = job.envelope_id, ?outcome, "status job");
    Ok(())
}
