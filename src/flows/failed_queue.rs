//! The retry queue of documents whose upload failed. Backoff doubles from one hour:
//! retries at 1, 2, 4, 8 and 16 hours; after `max_retries` the entry is abandoned.

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::args::{DteType, Folio};
use crate::dte::Rut;
use super::{company, xml_content};
use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::store::models::{FailedEntry, NewFailedEntry};
use crate::store::schema::dte_sidecar::dte_failed_queue;

/// Retries before an entry is abandoned.
pub const MAX_RETRIES: i32 = 5;

/// Wait before retry number `retry_count + 1`: 2^retry_count hours.
pub fn backoff(retry_count: i32) -> TimeDelta {
    TimeDelta::hours(1_i64 << retry_count.clamp(0, 16))
}

/// Why an upload failed, as the specification classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorType {
    Timeout,
    Connection,
    Unavailable,
    Validation,
    Certificate,
    Unknown,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connection => "connection",
            Self::Unavailable => "unavailable",
            Self::Validation => "validation",
            Self::Certificate => "certificate",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddFailedParams {
    pub dte_type: DteType,
    pub folio: Folio,
    pub xml_content: String,
    pub error_type: ErrorType,
    pub error_message: String,
    pub move_id: i32,
    #[serde(default)]
    pub rut_emisor: Option<Rut>,
    pub company_id: i32,
}

/// A failed document to queue.
#[derive(Debug)]
pub struct Failure<'a> {
    pub dte_type: DteType,
    pub folio: Folio,
    pub rut_emisor: &'a str,
    pub xml: &'a [u8],
    pub error_type: ErrorType,
    pub error_message: &'a str,
    pub company_id: i32,
    pub move_id: i32,
}

pub async fn add_failed_dte(ctx: &AppContext, p: AddFailedParams) -> AppResult<Value> {
    if p.move_id <= 0 {
        return Err(AppError::field("move_id", "must be a positive Odoo record id"));
    }
    if p.error_message.trim().is_empty() {
        return Err(AppError::field("error_message", "must say what went wrong"));
    }
    let max = ctx.settings.limits.max_xml_bytes;
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            let xml = xml_content::accept_text("xml_content", &p.xml_content, max)?;
            xml_content::check_identity("xml_content", &xml, p.dte_type.as_str(), &p.folio.to_string())?;
            let company = company::require(conn, p.company_id)?;
            let rut = company::issuer_rut(&company, p.rut_emisor)?;
            let entry = enqueue(
                conn,
                &Failure {
                    dte_type: p.dte_type,
                    folio: p.folio,
                    rut_emisor: &rut,
                    xml: &xml,
                    error_type: p.error_type,
                    error_message: &p.error_message,
                    company_id: company.id,
                    move_id: p.move_id,
                },
                now,
            )?;
            Ok(json!(entry.id))
        })
        .await
}

/// Queues `failure` for its first retry in one hour. A document already waiting in the
/// queue keeps its entry, which is returned instead.
pub fn enqueue(conn: &mut PgConnection, failure: &Failure<'_>, now: Timestamp) -> AppResult<FailedEntry> {
    let folio = failure.folio.to_string();
    let history = json!([{
        "date": now.format("%Y-%m-%d %H:%M:%S").to_string(),
        "event": "failed",
        "error_type": failure.error_type.as_str(),
        "error_message": failure.error_message,
    }])
    .to_string();
    let inserted = diesel::insert_into(dte_failed_queue::table)
        .values(NewFailedEntry {
            dte_type: failure.dte_type.as_str(),
            folio: &folio,
            rut_emisor: failure.rut_emisor,
            xml_content: failure.xml,
            error_type: failure.error_type.as_str(),
            error_message: failure.error_message,
            retry_count: 0,
            max_retries: MAX_RETRIES,
            failed_date: now,
            next_retry_date: Some(now + backoff(0)),
            state: "pending",
            retry_history: &history,
            company_id: failure.company_id,
            move_id: failure.move_id,
            display_name: &format!("DTE {}-{}", failure.dte_type, folio),
        })
        .on_conflict_do_nothing()
        .returning(FailedEntry::as_returning())
        .get_result(conn)
        .optional()?;
    match inserted {
        Some(entry) => Ok(entry),
        None => Ok(dte_failed_queue::table
            .filter(dte_failed_queue::dte_type.eq(failure.dte_type.as_str()))
            .filter(dte_failed_queue::folio.eq(&folio))
            .filter(dte_failed_queue::company_id.eq(failure.company_id))
            .filter(dte_failed_queue::state.eq_any(["pending", "retrying"]))
            .select(FailedEntry::as_select())
            .first(conn)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_hour() {
        let hours: Vec<i64> = (0..5).map(|n| backoff(n).num_hours()).collect();
        assert_eq!(hours, [1, 2, 4, 8, 16]);
    }
}
