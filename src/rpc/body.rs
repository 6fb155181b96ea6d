//! Request bodies, read up to the configured cap and within the configured time, and
//! held to a memory budget: a JSON tree can be many times its text (`[1,1,…]` is 16
//! bytes per byte), so the number of large bodies in work at once is bounded, and large
//! ones are parsed off the threads that serve the other connections.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::{http::header, web, HttpRequest};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{AppError, AppResult};
use crate::message::Message;

/// Bodies up to this size are read and parsed right away, outside the budget.
pub const SMALL_BODY_BYTES: usize = 64 * 1024;
/// How long a large body waits for room in the budget before the call is refused.
const BUDGET_WAIT: Duration = Duration::from_secs(60);

/// How a body may be read: at most `limit` bytes, all of them within `timeout`;
/// `declared` is its `Content-Length`, when the request gives one.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub limit: usize,
    pub timeout: Duration,
    pub declared: Option<usize>,
}

impl BodyLimits {
    pub fn from_settings(limits: &crate::settings::LimitSettings, request: &HttpRequest) -> Self {
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        Self { limit: limits.max_body_bytes, timeout: Duration::from_secs(limits.body_timeout_secs), declared }
    }
}

/// Large bodies in work at once, in KiB: room for one body of the largest size. Its tree,
/// not its bytes, is what a memory limit has to hold: 8 MB of `[1,1,…]` is a vector of
/// 4 million values, 200 MB while it grows and more once bound, so two would not fit in
/// 512 MiB beside the rest of the process.
/// Sized for the process by the first settings that read a body.
fn budget(limit: usize) -> &'static (Arc<Semaphore>, u32) {
    static BUDGET: OnceLock<(Arc<Semaphore>, u32)> = OnceLock::new();
    BUDGET.get_or_init(|| {
        let total = kib(limit).max(1);
        (Arc::new(Semaphore::new(total as usize)), total)
    })
}

fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

/// A request body and its room in the budget, kept until the answer is made.
pub struct Body {
    pub bytes: web::Bytes,
    _room: Option<OwnedSemaphorePermit>,
}

/// A parsed body and its room in the budget.
pub struct Json {
    pub value: Value,
    _room: Option<OwnedSemaphorePermit>,
}

/// The raw body. A client that sends slower than the timeout allows is cut off, so a
/// trickle of bytes cannot hold a worker and a buffer forever. A large body (or one of
/// unknown length) first waits for its room in the budget: it is not read before.
pub async fn read_bytes(payload: web::Payload, limits: BodyLimits) -> AppResult<Body> {
    let room = match limits.declared {
        Some(n) if n <= SMALL_BODY_BYTES => None,
        declared => {
            let (semaphore, total) = budget(limits.limit);
            let wanted = kib(declared.unwrap_or(limits.limit).min(limits.limit)).min(*total);
            let permit = tokio::time::timeout(BUDGET_WAIT, Arc::clone(semaphore).acquire_many_owned(wanted))
                .await
                .map_err(|_| AppError::user(Message::busy()))?
                .map_err(|e| AppError::internal(anyhow::anyhow!("body budget closed: {e}")))?;
            Some(permit)
        }
    };
    let bytes = read_within(payload, limits).await?;
    Ok(Body { bytes, _room: room })
}

async fn read_within(mut payload: web::Payload, limits: BodyLimits) -> AppResult<web::Bytes> {
    let read = async {
        // Sized once from the declared length, so a large body is not copied as it grows.
        let mut body = web::BytesMut::with_capacity(limits.declared.unwrap_or(0).min(limits.limit));
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(Message::body_unreadable(e.to_string())))?;
            if body.len() + chunk.len() > limits.limit {
                return Err(AppError::TooLarge { limit: limits.limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    let body = tokio::time::timeout(limits.timeout, read)
        .await
        .map_err(|_| AppError::BadRequest(Message::body_late(limits.timeout.as_secs())))??;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest(Message::body_empty()));
    }
    Ok(body)
}

pub fn parse_error(e: serde_json::Error) -> AppError {
    AppError::BadRequest(Message::body_not_json(e.to_string()))
}

pub async fn read_json(payload: web::Payload, limits: BodyLimits) -> AppResult<Json> {
    let Body { bytes, _room } = read_bytes(payload, limits).await?;
    let value = parse_off_loop(bytes, |bytes| serde_json::from_slice(bytes)).await?;
    Ok(Json { value, _room })
}

/// Parses `text` with `parse`; a large text on a blocking thread, so the connections this
/// worker serves (`/readyz` among them) are not kept waiting.
pub async fn parse_off_loop<T, B>(text: B, parse: fn(&[u8]) -> serde_json::Result<T>) -> AppResult<T>
where
    T: Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    if text.as_ref().len() <= SMALL_BODY_BYTES {
        return parse(text.as_ref()).map_err(parse_error);
    }
    web::block(move || parse(text.as_ref()))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("parse task failed: {e}")))?
        .map_err(parse_error)
}
