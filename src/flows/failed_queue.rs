//! The retry queue of documents whose upload failed. Backoff doubles from one hour:
//! retries at 1, 2, 4, 8 and 16 hours; after `max_retries` the entry is abandoned.

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::args::{DteType, Folio};
use super::{company, xml_content};
use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::dte::Rut;
use crate::error::{AppError, AppResult};
use crate::store::models::{FailedEntry, NewFailedEntry};
use crate::store::schema::dte_sidecar::dte_failed_queue;
use crate::store::state::QueueState;

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
    let history = first_history(now, failure.error_type.as_str(), failure.error_message);
    insert_or_open(
        conn,
        NewFailedEntry {
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
            state: QueueState::Pending.as_str(),
            retry_history: &history,
            company_id: failure.company_id,
            move_id: failure.move_id,
            display_name: &format!("DTE {}-{}", failure.dte_type, folio),
            document_id: None,
            envelope_id: None,
        },
    )
}

/// The history of an entry at its first failure.
fn first_history(now: Timestamp, error_type: &str, message: &str) -> String {
    json!([{ "date": odoo_time(now), "event": "failed", "error_type": error_type, "error_message": message }])
        .to_string()
}

/// Inserts a new entry, or — when the document already waits in the queue (one open
/// entry per type, folio and company) — returns that entry, which stands.
fn insert_or_open(conn: &mut PgConnection, new: NewFailedEntry<'_>) -> AppResult<FailedEntry> {
    let inserted = diesel::insert_into(dte_failed_queue::table)
        .values(&new)
        .on_conflict_do_nothing()
        .returning(FailedEntry::as_returning())
        .get_result(conn)
        .optional()?;
    match inserted {
        Some(entry) => Ok(entry),
        None => Ok(dte_failed_queue::table
            .filter(dte_failed_queue::dte_type.eq(new.dte_type))
            .filter(dte_failed_queue::folio.eq(new.folio))
            .filter(dte_failed_queue::company_id.eq(new.company_id))
            .filter(dte_failed_queue::state.eq_any(QueueState::OPEN))
            .select(FailedEntry::as_select())
            .first(conn)?),
    }
}

/// One failed attempt to upload a document, as the queue records it.
#[derive(Debug)]
pub struct Attempt<'a> {
    pub document_id: Option<i32>,
    /// The queue entry itself, for entries queued over RPC without a document of ours.
    pub entry_id: Option<i32>,
    pub envelope_id: i32,
    pub dte_type: &'a str,
    pub folio: String,
    pub rut_emisor: &'a str,
    pub xml: &'a [u8],
    pub company_id: i32,
    pub move_id: i32,
    pub error: &'a crate::sii::SiiError,
}

impl<'a> Attempt<'a> {
    pub fn for_document(
        doc: &'a crate::store::models::DocumentRow,
        rut: &'a str,
        envelope_id: i32,
        error: &'a crate::sii::SiiError,
    ) -> Self {
        Self {
            document_id: Some(doc.id),
            entry_id: None,
            envelope_id,
            dte_type: &doc.dte_type,
            folio: doc.folio.to_string(),
            rut_emisor: rut,
            xml: &doc.xml_content,
            company_id: doc.company_id,
            move_id: doc.move_id,
            error,
        }
    }

    pub fn for_entry(entry: &'a FailedEntry, envelope_id: i32, error: &'a crate::sii::SiiError) -> Self {
        Self {
            document_id: None,
            entry_id: Some(entry.id),
            envelope_id,
            dte_type: &entry.dte_type,
            folio: entry.folio.clone(),
            rut_emisor: &entry.rut_emisor,
            xml: &entry.xml_content,
            company_id: entry.company_id,
            move_id: entry.move_id,
            error,
        }
    }
}

/// Whose queue entry: one of our documents, or an entry queued over RPC.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    Document(i32),
    Entry(i32),
}

fn open_entry(conn: &mut PgConnection, subject: Subject) -> AppResult<Option<FailedEntry>> {
    let open = dte_failed_queue::table.filter(dte_failed_queue::state.eq_any(QueueState::OPEN));
    let found = match subject {
        Subject::Document(id) => {
            open.filter(dte_failed_queue::document_id.eq(id)).select(FailedEntry::as_select()).for_update().first(conn)
        }
        Subject::Entry(id) => {
            open.filter(dte_failed_queue::id.eq(id)).select(FailedEntry::as_select()).for_update().first(conn)
        }
    };
    Ok(found.optional()?)
}

/// The retry history with one more event.
pub fn history_with(history: &str, event: serde_json::Value) -> String {
    let mut list: Vec<serde_json::Value> = serde_json::from_str(history).unwrap_or_default();
    list.push(event);
    serde_json::Value::Array(list).to_string()
}

fn odoo_time(at: Timestamp) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Records a failed upload in the queue and returns the entry as it now stands:
/// - first failure: a new entry, first retry in one hour;
/// - a failed retry (entry claimed as `retrying`): one more retry counted, the next one
///   after 2^n hours, or `abandoned` after `max_retries`;
/// - a permanent refusal (schema, signature, authorisation): no automatic retry
///   (`next_retry_date` empty) — a person must act.
pub fn record_failure(conn: &mut PgConnection, attempt: &Attempt<'_>, now: Timestamp) -> AppResult<FailedEntry> {
    let permanent = attempt.error.class == crate::sii::ErrorClass::Permanent;
    let message = attempt.error.to_string();
    let error_type = attempt.error.error_type();
    crate::metrics::upload_failure(error_type, attempt.error.class.as_str());
    let subject = match (attempt.document_id, attempt.entry_id) {
        (Some(id), _) => Some(Subject::Document(id)),
        (None, Some(id)) => Some(Subject::Entry(id)),
        (None, None) => None,
    };
    let open = match subject {
        Some(subject) => open_entry(conn, subject)?,
        None => None,
    };
    let Some(entry) = open else {
        let history = first_history(now, error_type, &message);
        return insert_or_open(
            conn,
            NewFailedEntry {
                dte_type: attempt.dte_type,
                folio: &attempt.folio,
                rut_emisor: attempt.rut_emisor,
                xml_content: attempt.xml,
                error_type,
                error_message: &message,
                retry_count: 0,
                max_retries: MAX_RETRIES,
                failed_date: now,
                next_retry_date: (!permanent).then(|| now + backoff(0)),
                state: QueueState::Pending.as_str(),
                retry_history: &history,
                company_id: attempt.company_id,
                move_id: attempt.move_id,
                display_name: &format!("DTE {}-{}", attempt.dte_type, attempt.folio),
                document_id: attempt.document_id,
                envelope_id: Some(attempt.envelope_id),
            },
        );
    };
    let was_retry = entry.state == QueueState::Retrying;
    if was_retry {
        crate::metrics::retries("failed", 1);
    }
    let retry_count = entry.retry_count + i32::from(was_retry);
    let (state, next) = if was_retry && retry_count >= entry.max_retries {
        (QueueState::Abandoned, None)
    } else if permanent {
        (QueueState::Pending, None)
    } else if was_retry {
        (QueueState::Pending, Some(now + backoff(retry_count)))
    } else {
        (QueueState::Pending, entry.next_retry_date)
    };
    let event = json!({
        "date": odoo_time(now),
        "event": if was_retry { "retry_failed" } else { "failed" },
        "retry": retry_count,
        "error_type": error_type,
        "error_message": message,
    });
    Ok(diesel::update(dte_failed_queue::table.find(entry.id))
        .set((
            dte_failed_queue::state.eq(state),
            dte_failed_queue::retry_count.eq(retry_count),
            dte_failed_queue::next_retry_date.eq(next),
            dte_failed_queue::error_type.eq(error_type),
            dte_failed_queue::error_message.eq(&message),
            dte_failed_queue::envelope_id.eq(Some(attempt.envelope_id)),
            dte_failed_queue::retry_history.eq(history_with(&entry.retry_history, event)),
        ))
        .returning(FailedEntry::as_returning())
        .get_result(conn)?)
}

/// Closes the open entry of a subject whose upload succeeded.
pub fn close_with_success(
    conn: &mut PgConnection,
    subject: Subject,
    track_id: Option<&str>,
    now: Timestamp,
) -> AppResult<()> {
    if let Some(entry) = open_entry(conn, subject)? {
        if entry.state == QueueState::Retrying {
            crate::metrics::retries("success", 1);
        }
        // A retry that succeeded is a retry: it counts like a failed one.
        let retry_count = entry.retry_count + i32::from(entry.state == QueueState::Retrying);
        let event = json!({"date": odoo_time(now), "event": "success", "retry": retry_count, "track_id": track_id});
        diesel::update(dte_failed_queue::table.find(entry.id))
            .set((
                dte_failed_queue::state.eq(QueueState::Success),
                dte_failed_queue::retry_count.eq(retry_count),
                dte_failed_queue::success_track_id.eq(track_id),
                dte_failed_queue::success_date.eq(now),
                dte_failed_queue::next_retry_date.eq(None::<Timestamp>),
                dte_failed_queue::last_retry_date.eq(if entry.state == QueueState::Retrying {
                    Some(now)
                } else {
                    entry.last_retry_date
                }),
                dte_failed_queue::retry_history.eq(history_with(&entry.retry_history, event)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Closes the open entries of documents whose upload succeeded, in one statement.
pub fn close_documents_with_success(
    conn: &mut PgConnection,
    document_ids: &[i32],
    track_id: Option<&str>,
    now: Timestamp,
) -> AppResult<()> {
    use diesel::sql_types::{Array, Int4, Nullable, Text, Timestamp as SqlTimestamp};
    #[derive(diesel::QueryableByName)]
    struct Closed {
        #[diesel(sql_type = Text)]
        was: String,
    }
    let closed: Vec<Closed> = diesel::sql_query(
        "WITH open AS (SELECT id, state FROM dte_sidecar.dte_failed_queue \
                       WHERE document_id = ANY($1) AND state IN ('pending', 'retrying') FOR UPDATE) \
         UPDATE dte_sidecar.dte_failed_queue q SET state = 'success', success_track_id = $2, success_date = $3, \
           next_retry_date = NULL, last_retry_date = CASE WHEN open.state = 'retrying' THEN $3 ELSE q.last_retry_date END, \
           retry_count = q.retry_count + CASE WHEN open.state = 'retrying' THEN 1 ELSE 0 END, \
           retry_history = (q.retry_history::jsonb || jsonb_build_array(jsonb_build_object( \
             'date', to_char($3, 'YYYY-MM-DD HH24:MI:SS'), 'event', 'success', \
             'retry', q.retry_count + CASE WHEN open.state = 'retrying' THEN 1 ELSE 0 END, 'track_id', $2)))::text \
         FROM open WHERE q.id = open.id RETURNING open.state AS was",
    )
    .bind::<Array<Int4>, _>(document_ids)
    .bind::<Nullable<Text>, _>(track_id)
    .bind::<SqlTimestamp, _>(now)
    .load(conn)?;
    crate::metrics::retries("success", closed.iter().filter(|c| c.was == QueueState::Retrying).count());
    Ok(())
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
