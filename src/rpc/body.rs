//! Request bodies, read up to the configured cap.

use actix_web::web;
use futures::StreamExt;
use serde_json::Value;

use crate::error::{AppError, AppResult};

pub async fn read_json(mut payload: web::Payload, limit: usize) -> AppResult<Value> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest("empty body: expected JSON".into()));
    }
    serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("could not parse the body as json: {e}")))
}
