//! The retry queue of documents whose upload failed. Backoff doubles from one hour:
//! retries at 1, 2, 4, 8 and 16 hours; after `max_retries` the entry is abandoned.
//!
//! This module is the one writer of `dte_failed_queue`: entries are born `pending` here,
//! and every later move of their state ([`QueueState`]) is checked with `may_become` and
//! made by a statement whose `WHERE` carries the state it moves from, so an entry changed
//! meanwhile is not moved. The retry history is written here too ([`super::retry_history`]).

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::company;
use super::retry_history::{Event, History, What};
use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::dte::{Rut, SignedDte};
use crate::error::{AppError, AppResult};
use crate::input::args::{DteType, Folio};
use crate::input::xml_content;
use crate::message::Message;
use crate::store::models::{FailedEntry, NewFailedEntry, PendingDte};
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
    pub const ALL: [ErrorType; 6] =
        [Self::Timeout, Self::Connection, Self::Unavailable, Self::Validation, Self::Certificate, Self::Unknown];

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
        return Err(AppError::validation(Message::not_record_id("move_id")));
    }
    if p.error_message.trim().is_empty() {
        return Err(AppError::validation(Message::queue_error_message_empty()));
    }
    let max = ctx.settings.limits.max_xml_bytes;
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            let xml = xml_content::accept_text("xml_content", &p.xml_content, max)?;
            xml_content::check_identity("xml_content", &xml, p.dte_type.as_str(), &p.folio.to_string())?;
            // The XML a retry will wrap and send: what it could never send is refused now,
            // rather than queued to wait for a person nobody told.
            SignedDte::from_xml(xml.clone())
                .map_err(|e| AppError::validation(Message::xml_not_signed_dte("xml_content", e.to_string())))?;
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
    let history = first_history(now, failure.error_type.as_str(), failure.error_message, None)?;
    insert_or_open(
        conn,
        NewFailedEntry {
            dte_type: failure.dte_type.as_str(),
            folio: &folio,
            rut_emisor: failure.rut_emisor,
            xml_content: failure.xml,
            error_type: failure.error_type.as_str(),
            error_message: failure.error_message,
            error_code: None,
            error_params: None,
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
fn first_history(now: Timestamp, error_type: &str, message: &str, said: Option<&Message>) -> AppResult<String> {
    History::first(Event {
        date: now,
        what: What::Failed {
            retry: None,
            error_type: error_type.to_string(),
            error_message: message.to_string(),
            said: said.map(Message::to_json),
        },
    })
    .to_text()
}

/// A message's parameters as the `*_params` columns hold them (JSON text).
pub fn params_text(said: &Message) -> String {
    Value::Object(said.params().clone()).to_string()
}

/// The entry's history with one more event, as the column holds it.
fn history_with(entry: &FailedEntry, date: Timestamp, what: What) -> AppResult<String> {
    History::read(entry.id, &entry.retry_history).with(Event { date, what }).to_text()
}

/// Inserts a new entry, born `pending`, or — when the document already waits in the
/// queue (one open entry per type, folio and company) — returns that entry, which stands.
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

/// The entry's state (read as its type: a value outside the lifecycle fails the read).
pub fn state_of(entry: &FailedEntry) -> AppResult<QueueState> {
    Ok(entry.state)
}

/// The state `entry` moves from on its way to `to`, when the move is allowed: the
/// statement that makes it carries that state in its `WHERE`, so an entry changed since
/// it was read is not moved (see [`moved`]).
fn move_from(entry: &FailedEntry, to: QueueState) -> AppResult<QueueState> {
    let from = state_of(entry)?;
    if from.may_become(to) {
        Ok(from)
    } else {
        Err(AppError::user(Message::queue_move_refused(entry.id, from.as_str(), to.as_str())))
    }
}

/// Like [`move_from`], for a person's action that starts from one state only.
fn move_only_from(entry: &FailedEntry, from: QueueState, to: QueueState) -> AppResult<QueueState> {
    if state_of(entry)? != from {
        let refused = match from {
            QueueState::Abandoned => Message::queue_requeue_not_abandoned(entry.id, entry.state.as_str()),
            _ => Message::queue_abandon_not_pending(entry.id, entry.state.as_str()),
        };
        return Err(AppError::user(refused));
    }
    move_from(entry, to)
}

/// A statement that was to move one entry moved none: it changed meanwhile.
fn moved<T>(entry_id: i32, to: QueueState, row: Option<T>) -> AppResult<T> {
    row.ok_or_else(|| AppError::user(Message::queue_changed(entry_id, to.as_str())))
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

    /// A document kept in contingency and stored over RPC, without a document of ours.
    pub fn for_pending(row: &'a PendingDte, envelope_id: i32, error: &'a crate::sii::SiiError) -> Self {
        Self {
            document_id: None,
            entry_id: None,
            envelope_id,
            dte_type: &row.dte_type,
            folio: row.folio.clone(),
            rut_emisor: &row.rut_emisor,
            xml: &row.xml_content,
            company_id: row.company_id,
            move_id: row.move_id,
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

/// Records a failed upload in the queue and returns the entry as it now stands:
/// - first failure: a new entry, first retry in one hour;
/// - a failed retry (entry claimed as `retrying`): one more retry counted, the next one
///   after 2^n hours, or `abandoned` after `max_retries`;
/// - a permanent refusal (schema, signature, authorisation): no automatic retry
///   (`next_retry_date` empty) — a person must act.
pub fn record_failure(conn: &mut PgConnection, attempt: &Attempt<'_>, now: Timestamp) -> AppResult<FailedEntry> {
    let permanent = attempt.error.class == crate::sii::ErrorClass::Permanent;
    let message = attempt.error.to_string();
    let said = attempt.error.said();
    let said_params = params_text(&said);
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
        let history = first_history(now, error_type, &message, Some(&said))?;
        return insert_or_open(
            conn,
            NewFailedEntry {
                dte_type: attempt.dte_type,
                folio: &attempt.folio,
                rut_emisor: attempt.rut_emisor,
                xml_content: attempt.xml,
                error_type,
                error_message: &message,
                error_code: Some(said.code()),
                error_params: Some(&said_params),
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
    let (error_type, error_message) = (error_type.to_string(), message.clone());
    let what = if was_retry {
        What::RetryFailed { retry: retry_count, error_type, error_message, said: Some(said.to_json()) }
    } else {
        What::Failed { retry: Some(retry_count), error_type, error_message, said: Some(said.to_json()) }
    };
    let from = move_from(&entry, state)?;
    let row = diesel::update(dte_failed_queue::table.find(entry.id).filter(dte_failed_queue::state.eq(from)))
        .set((
            dte_failed_queue::state.eq(state),
            dte_failed_queue::retry_count.eq(retry_count),
            dte_failed_queue::next_retry_date.eq(next),
            dte_failed_queue::error_type.eq(attempt.error.error_type()),
            dte_failed_queue::error_message.eq(&message),
            dte_failed_queue::error_code.eq(said.code()),
            dte_failed_queue::error_params.eq(&said_params),
            dte_failed_queue::envelope_id.eq(Some(attempt.envelope_id)),
            dte_failed_queue::retry_history.eq(history_with(&entry, now, what)?),
        ))
        .returning(FailedEntry::as_returning())
        .get_result(conn)
        .optional()?;
    moved(entry.id, state, row)
}

/// Closes the open entry of a subject whose upload succeeded.
pub fn close_with_success(
    conn: &mut PgConnection,
    subject: Subject,
    track_id: Option<&str>,
    now: Timestamp,
) -> AppResult<()> {
    let open: Vec<FailedEntry> = open_entry(conn, subject)?.into_iter().collect();
    close_entries(conn, &open, track_id, now)
}

/// Closes, in one statement, the open entries of the documents and of the entries (queued
/// over RPC) whose upload succeeded.
pub fn close_on_success(
    conn: &mut PgConnection,
    document_ids: &[i32],
    entry_ids: &[i32],
    track_id: Option<&str>,
    now: Timestamp,
) -> AppResult<()> {
    if document_ids.is_empty() && entry_ids.is_empty() {
        return Ok(());
    }
    let open: Vec<FailedEntry> = dte_failed_queue::table
        .filter(dte_failed_queue::document_id.eq_any(document_ids).or(dte_failed_queue::id.eq_any(entry_ids)))
        .filter(dte_failed_queue::state.eq_any(QueueState::OPEN))
        .order(dte_failed_queue::id)
        .select(FailedEntry::as_select())
        .for_update()
        .load(conn)?;
    close_entries(conn, &open, track_id, now)
}

/// The one way an entry closes on success: `success`, the retry that succeeded counted
/// like a failed one (or `settled` when no retry of its own did it), its event in the
/// history; all `entries` (open, locked) in one statement.
fn close_entries(
    conn: &mut PgConnection,
    entries: &[FailedEntry],
    track_id: Option<&str>,
    now: Timestamp,
) -> AppResult<()> {
    use diesel::sql_types::{Array, Int4, Nullable, Text, Timestamp as SqlTimestamp};
    if entries.is_empty() {
        return Ok(());
    }
    let to = QueueState::Success;
    let (mut ids, mut from, mut counts, mut last_retries, mut histories) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut retried = 0;
    for entry in entries {
        let was = move_from(entry, to)?;
        // A retry that succeeded is a retry: it counts like a failed one.
        let retrying = was == QueueState::Retrying;
        retried += usize::from(retrying);
        let retry_count = entry.retry_count + i32::from(retrying);
        let track_id = track_id.map(str::to_string);
        // An entry that was not being retried closes without a retry of its own.
        let what = if retrying { What::Success { retry: retry_count, track_id } } else { What::Settled { track_id } };
        ids.push(entry.id);
        from.push(was.as_str());
        counts.push(retry_count);
        last_retries.push(if retrying { Some(now) } else { entry.last_retry_date });
        histories.push(history_with(entry, now, what)?);
    }
    #[derive(diesel::QueryableByName)]
    struct Closed {
        #[diesel(sql_type = Int4)]
        #[allow(dead_code)]
        id: i32,
    }
    let closed: Vec<Closed> = diesel::sql_query(
        "UPDATE dte_sidecar.dte_failed_queue q SET state = $1, success_track_id = $2, success_date = $3, \
           next_retry_date = NULL, retry_count = c.retry_count, last_retry_date = c.last_retry_date, \
           retry_history = c.retry_history \
         FROM unnest($4, $5, $6, $7, $8) AS c(id, was, retry_count, last_retry_date, retry_history) \
         WHERE q.id = c.id AND q.state = c.was RETURNING q.id",
    )
    .bind::<Text, _>(to.as_str())
    .bind::<Nullable<Text>, _>(track_id)
    .bind::<SqlTimestamp, _>(now)
    .bind::<Array<Int4>, _>(&ids)
    .bind::<Array<Text>, _>(&from)
    .bind::<Array<Int4>, _>(&counts)
    .bind::<Array<Nullable<SqlTimestamp>>, _>(&last_retries)
    .bind::<Array<Text>, _>(&histories)
    .load(conn)?;
    if closed.len() != entries.len() {
        // The entries were locked when read: this is a store that changed under a lock.
        return Err(AppError::internal(anyhow::anyhow!(
            "{} of {} queue entries closed on success",
            closed.len(),
            entries.len()
        )));
    }
    crate::metrics::retries("success", retried);
    Ok(())
}

/// A retry claims an entry — and every pending entry travelling in the same envelope —
/// by moving it to `retrying` in one statement, so two workers never retry the same
/// entry. Returns how many were claimed.
pub fn claim_for_retry(conn: &mut PgConnection, entry_id: i32, envelope_id: i32, now: Timestamp) -> AppResult<usize> {
    let to = QueueState::Retrying;
    Ok(diesel::update(
        dte_failed_queue::table
            .filter(dte_failed_queue::state.eq_any(QueueState::sources(to)))
            .filter(dte_failed_queue::envelope_id.eq(envelope_id).or(dte_failed_queue::id.eq(entry_id))),
    )
    .set((dte_failed_queue::state.eq(to), dte_failed_queue::last_retry_date.eq(now)))
    .execute(conn)?)
}

/// Retries that a crashed worker left `retrying` since before `before` go back to
/// `pending`. Returns how many.
pub fn release_stale(conn: &mut PgConnection, before: Timestamp) -> AppResult<usize> {
    let (from, to) = (QueueState::Retrying, QueueState::Pending);
    if !from.may_become(to) {
        return Err(AppError::internal(anyhow::anyhow!("a {from} entry may not become {to}")));
    }
    Ok(diesel::update(
        dte_failed_queue::table
            .filter(dte_failed_queue::state.eq(from))
            .filter(dte_failed_queue::last_retry_date.lt(before)),
    )
    .set(dte_failed_queue::state.eq(to))
    .execute(conn)?)
}

/// An entry queued with only its XML gets the envelope it will be sent in, once.
pub fn attach_envelope(conn: &mut PgConnection, entry_id: i32, envelope_id: i32) -> AppResult<()> {
    diesel::update(dte_failed_queue::table.find(entry_id))
        .set(dte_failed_queue::envelope_id.eq(envelope_id))
        .execute(conn)?;
    Ok(())
}

/// An entry whose stored XML cannot be sent as it is stays for a person, retried no more.
pub fn mark_unsendable(conn: &mut PgConnection, entry: &FailedEntry, said: &Message, now: Timestamp) -> AppResult<()> {
    let message = said.english();
    let what = What::Unsendable { error_message: message.clone(), said: Some(said.to_json()) };
    diesel::update(dte_failed_queue::table.find(entry.id))
        .set((
            dte_failed_queue::next_retry_date.eq(None::<Timestamp>),
            dte_failed_queue::error_type.eq(ErrorType::Validation.as_str()),
            dte_failed_queue::error_message.eq(&message),
            dte_failed_queue::error_code.eq(said.code()),
            dte_failed_queue::error_params.eq(params_text(said)),
            dte_failed_queue::retry_history.eq(history_with(entry, now, what)?),
        ))
        .execute(conn)?;
    Ok(())
}

/// A person gives up on a pending entry: `abandoned`, no next retry.
pub fn abandon(
    conn: &mut PgConnection,
    entry: &FailedEntry,
    by: &str,
    reason: Option<&str>,
    now: Timestamp,
) -> AppResult<()> {
    let to = QueueState::Abandoned;
    let from = move_only_from(entry, QueueState::Pending, to)?;
    let what = What::Abandoned { by: by.to_string(), reason: reason.map(str::to_string) };
    let row = diesel::update(dte_failed_queue::table.find(entry.id).filter(dte_failed_queue::state.eq(from)))
        .set((
            dte_failed_queue::state.eq(to),
            dte_failed_queue::next_retry_date.eq(None::<Timestamp>),
            dte_failed_queue::retry_history.eq(history_with(entry, now, what)?),
        ))
        .returning(dte_failed_queue::id)
        .get_result::<i32>(conn)
        .optional()?;
    moved(entry.id, to, row).map(|_| ())
}

/// A person gives an abandoned entry a fresh set of retries, the first one now.
pub fn requeue(conn: &mut PgConnection, entry: &FailedEntry, by: &str, now: Timestamp) -> AppResult<()> {
    let to = QueueState::Pending;
    let from = move_only_from(entry, QueueState::Abandoned, to)?;
    let what = What::Requeued { by: by.to_string() };
    let row = diesel::update(dte_failed_queue::table.find(entry.id).filter(dte_failed_queue::state.eq(from)))
        .set((
            dte_failed_queue::state.eq(to),
            dte_failed_queue::retry_count.eq(0),
            dte_failed_queue::next_retry_date.eq(now),
            dte_failed_queue::retry_history.eq(history_with(entry, now, what)?),
        ))
        .returning(dte_failed_queue::id)
        .get_result::<i32>(conn)
        .optional();
    match row {
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            Err(AppError::user(Message::queue_already_open(&entry.dte_type, &entry.folio)))
        }
        other => moved(entry.id, to, other?).map(|_| ()),
    }
}

/// Entries read per batch by [`breaches`].
const CHECK_BATCH: i64 = 1000;

/// Every entry whose history breaks the rule ([`History::check`]), one line each, and how
/// many entries were read. The queue is read in batches by id, so a large one is never
/// held in memory whole.
pub fn breaches(conn: &mut PgConnection) -> AppResult<(usize, Vec<String>)> {
    let (mut read, mut found, mut after) = (0, Vec::new(), 0);
    loop {
        let batch: Vec<(i32, i32, String)> = dte_failed_queue::table
            .filter(dte_failed_queue::id.gt(after))
            .order(dte_failed_queue::id)
            .limit(CHECK_BATCH)
            .select((dte_failed_queue::id, dte_failed_queue::retry_count, dte_failed_queue::retry_history))
            .load(conn)?;
        let Some(last) = batch.last() else { return Ok((read, found)) };
        after = last.0;
        read += batch.len();
        for (id, retry_count, text) in batch {
            if let Err(breach) = History::read(id, &text).check(retry_count) {
                found.push(format!("queue entry {id}: {breach}"));
            }
        }
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
