//! Request bodies, read up to the configured cap and within the configured time.

use std::time::Duration;

use actix_web::web;
use futures::StreamExt;
use serde_json::Value;

use crate::error::{AppError, AppResult};

/// How a body may be read: at most `limit` bytes, all of them within `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub limit: usize,
    pub timeout: Duration,
}

impl BodyLimits {
    pub fn from_settings(limits: &crate::settings::LimitSettings) -> Self {
        Self { limit: limits.max_body_bytes, timeout: Duration::from_secs(limits.body_timeout_secs) }
    }
}

/// The raw body. A client that sends slower than the timeout allows is cut off, so a
/// trickle of bytes cannot hold a worker and a buffer forever.
pub async fn read_bytes(mut payload: web::Payload, limits: BodyLimits) -> AppResult<web::Bytes> {
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("cannot read the request body: {e}")))?;
            if body.len() + chunk.len() > limits.limit {
                return Err(AppError::TooLarge { limit: limits.limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    let body = tokio::time::timeout(limits.timeout, read).await.map_err(|_| {
        AppError::BadRequest(format!("the request body did not arrive within {} seconds", limits.timeout.as_secs()))
    })??;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest("empty body: expected JSON".into()));
    }
    Ok(body)
}

pub fn parse_error(e: serde_json::Error) -> AppError {
    AppError::BadRequest(format!("could not parse the body as json: {e}"))
}

pub async fn read_json(payload: web::Payload, limits: BodyLimits) -> AppResult<Value> {
    let body = read_bytes(payload, limits).await?;
    serde_json::from_slice(&body).map_err(parse_error)
}
