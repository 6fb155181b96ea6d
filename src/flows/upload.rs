//! Uploads an envelope and records what happened to every document in it. First sends,
//! retries, contingency drains and reconciliations all come through here, so there is one
//! place that decides what an SII answer means for a document, its backup, its queue entry
//! and its company.
//!
//! The envelope is uploaded byte for byte as it was stored. If an earlier attempt reached
//! the SII but its answer was lost, the SII recognises the file (STATUS 99) and gives its
//! first track id: the folio is reconciled, never received twice.

use std::sync::Arc;

use actix_web::web::Bytes;
use chrono::TimeDelta;
use diesel::prelude::*;
use diesel::PgConnection;

use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::dte::{Rut, Signer};
use crate::error::{AppError, AppResult};
use crate::input::args::{DteType, Folio};
use crate::message::Message;
use crate::owners::document::{self, Change, DocState};
use crate::owners::failed_queue::{self, Attempt};
use crate::owners::{backup, contingency, envelope, health};
use crate::sii::client::Receipt;
use crate::sii::{ErrorClass, SiiError};
use crate::store::models::{Backup, DocumentRow, EnvelopeRow, FailedEntry, PendingDte};
use crate::store::schema::dte_sidecar::{
    dte_company, dte_contingency_pending, dte_document, dte_envelope, dte_failed_queue,
};
use crate::store::state::QueueState;

/// What an upload came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploaded {
    /// The SII has the envelope under this track id.
    Received { track_id: String },
    /// It failed; the documents are in the retry queue (or need a person).
    Failed(SiiError),
    /// Nothing to do: every document in it had already reached the SII.
    AlreadyDone,
}

/// Jobs to push once the outcome is committed.
#[derive(Debug, Default)]
struct FollowUp {
    retries: Vec<(i32, Timestamp)>,
    poll: Option<(i32, Timestamp)>,
    backups: Vec<Backup>,
}

/// What may ride on an envelope besides its documents: it decides what recording the
/// SII's answer has to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Riders {
    /// Stored a moment ago in the caller's transaction, with its documents in `sending`
    /// (see [`Fresh`]): nothing else rides on it, and none of its documents has a queue
    /// entry or a contingency row yet.
    None,
    /// Stored earlier: entries queued and documents kept over RPC may ride on it, and its
    /// documents may have failed before.
    Possible,
}

pub async fn upload_envelope(ctx: &AppContext, envelope_id: i32, why: &'static str) -> AppResult<Uploaded> {
    let keys = ctx.keys.clone();
    let loaded = ctx
        .db
        .run(move |conn| {
            let envelope: EnvelopeRow =
                dte_envelope::table.find(envelope_id).select(EnvelopeRow::as_select()).first(conn)?;
            let documents = members(conn, envelope_id)?;
            let company_rut: String =
                dte_company::table.find(envelope.company_id).select(dte_company::rut).first(conn)?;
            let signer = keys.signer(conn, envelope.company_id)?;
            Ok((envelope, documents, company_rut, signer))
        })
        .await?;
    let (envelope, documents, company_rut, signer) = loaded;
    // The SII has decided on it: never uploaded again, whatever travels in it (an envelope
    // of documents kept over RPC has no documents of ours to tell).
    if envelope::state_of(&envelope)?.is_final() {
        tracing::warn!(
            envelope = envelope_id,
            state = %envelope.state,
            why,
            "envelope already decided by the SII: not uploaded again"
        );
        return Ok(Uploaded::AlreadyDone);
    }
    if !documents.is_empty() && documents.iter().all(|d| d.state.reached_sii()) {
        return Ok(Uploaded::AlreadyDone);
    }
    let company: Rut = company_rut.parse().map_err(AppError::internal)?;
    let fresh = Fresh { envelope_id, company, signer, xml: Bytes::from(envelope.xml_content) };
    upload_stored(ctx, fresh, envelope.document_count, Riders::Possible, why).await
}

/// An envelope the caller has just stored, in the same transaction as its documents in
/// `sending` under the caller's lease: nobody else can have uploaded it, so what it needs
/// is what the caller holds, and nothing is read back.
pub struct Fresh {
    pub envelope_id: i32,
    pub company: Rut,
    pub signer: Arc<Signer>,
    pub xml: Bytes,
}

/// The first upload of an envelope stored a moment ago (see [`Fresh`]).
pub async fn upload_fresh(ctx: &AppContext, fresh: Fresh, document_count: usize) -> AppResult<Uploaded> {
    upload_stored(ctx, fresh, i32::try_from(document_count).unwrap_or(i32::MAX), Riders::None, "first upload").await
}

async fn upload_stored(
    ctx: &AppContext,
    fresh: Fresh,
    document_count: i32,
    riders: Riders,
    why: &'static str,
) -> AppResult<Uploaded> {
    let Fresh { envelope_id, company, signer, xml } = fresh;
    tracing::info!(envelope = envelope_id, documents = document_count, why, "uploading to the SII");
    let answer = ctx.sii.upload(&signer, company, xml).await;
    let now = ctx.clock.now();
    let first_poll = TimeDelta::seconds(ctx.settings.jobs.first_poll_secs);
    let threshold = ctx.settings.sii.contingency_after_failures;
    // The envelope's documents are all of its company, whose RUT the caller holds.
    let sent = Sent { envelope_id, issuer: company.to_string(), riders };
    let (outcome, follow_up) = ctx
        .db
        .run(move |conn| conn.transaction(|conn| record(conn, &sent, answer, now, first_poll, threshold)))
        .await?;
    if !follow_up.backups.is_empty() {
        backup::copy_rows(ctx, follow_up.backups).await?;
    }
    ctx.follow_up_retries(&follow_up.retries).await;
    if let Some((envelope, at)) = follow_up.poll {
        ctx.follow_up_poll(envelope, at).await;
    }
    Ok(outcome)
}

/// The documents travelling in an envelope.
fn members(conn: &mut PgConnection, envelope_id: i32) -> AppResult<Vec<DocumentRow>> {
    Ok(dte_document::table
        .filter(dte_document::envelope_id.eq(envelope_id))
        .order(dte_document::id)
        .select(DocumentRow::as_select())
        .load(conn)?)
}

/// Pending documents riding on the envelope without a document of ours (stored over RPC).
fn loose_pending(conn: &mut PgConnection, envelope_id: i32) -> AppResult<Vec<PendingDte>> {
    Ok(dte_contingency_pending::table
        .filter(dte_contingency_pending::envelope_id.eq(envelope_id))
        .filter(dte_contingency_pending::document_id.is_null())
        .filter(dte_contingency_pending::uploaded.eq(false))
        .select(PendingDte::as_select())
        .load(conn)?)
}

/// Queue entries riding on the envelope without a document of ours (queued over RPC).
fn loose_entries(conn: &mut PgConnection, envelope_id: i32) -> AppResult<Vec<FailedEntry>> {
    Ok(dte_failed_queue::table
        .filter(dte_failed_queue::envelope_id.eq(envelope_id))
        .filter(dte_failed_queue::document_id.is_null())
        .filter(dte_failed_queue::state.eq_any(QueueState::OPEN))
        .select(FailedEntry::as_select())
        .load(conn)?)
}

/// The envelope whose upload is recorded.
struct Sent {
    envelope_id: i32,
    /// The RUT of the envelope's company, which issued every document in it.
    issuer: String,
    riders: Riders,
}

fn record(
    conn: &mut PgConnection,
    sent: &Sent,
    answer: Result<Receipt, SiiError>,
    now: Timestamp,
    first_poll: TimeDelta,
    contingency_threshold: u32,
) -> AppResult<(Uploaded, FollowUp)> {
    let envelope_id = sent.envelope_id;
    // Locked first (see `envelope::lock`).
    let envelope: EnvelopeRow =
        dte_envelope::table.find(envelope_id).select(EnvelopeRow::as_select()).for_update().first(conn)?;
    let received = match answer {
        Ok(receipt) => Ok((receipt.track_id, None)),
        // The SII already has this very file: reconcile with its first track id.
        Err(e) if e.class == ErrorClass::Duplicate => Ok((e.earlier_track_id.clone().unwrap_or_default(), Some(e))),
        Err(e) => Err(e),
    };
    let mut follow_up = FollowUp::default();
    let documents = members(conn, envelope_id)?;
    let (loose, pending) = match sent.riders {
        Riders::None => (Vec::new(), Vec::new()),
        Riders::Possible => (loose_entries(conn, envelope_id)?, loose_pending(conn, envelope_id)?),
    };
    health::record_outcome(conn, envelope.company_id, received.as_ref().err(), contingency_threshold, now)?;
    match received {
        Ok((track_id, duplicate)) => {
            let track = (!track_id.is_empty()).then_some(track_id.as_str());
            let poll_at = now + first_poll;
            let duplicate_note = duplicate.as_ref().map(ToString::to_string);
            envelope::record_upload(conn, &envelope, track, duplicate_note.as_deref(), poll_at, now)?;
            let message = match &duplicate {
                Some(_) => "received by the SII (an earlier upload of this envelope had reached it)".to_string(),
                None => "received by the SII; waiting for its verdict".to_string(),
            };
            let said = match &duplicate {
                Some(_) => Message::sii_received_earlier(track.unwrap_or_default()),
                None => Message::sii_received(track.unwrap_or_default()),
            };
            let ids: Vec<i32> = documents.iter().map(|d| d.id).collect();
            let moved = document::transition_many(
                conn,
                &ids,
                DocState::Sent,
                "uploaded",
                Change {
                    track_id: track,
                    sii_code: Some(if duplicate.is_some() { "STATUS 99" } else { "STATUS 0" }),
                    message: Some(&message),
                    said: Some(&said),
                    lease_until: Some(None),
                    ..Change::default()
                },
                now,
            )?;
            // Everything the SII now has, however it travelled (our documents that moved,
            // entries queued over RPC, documents kept in contingency over RPC), is backed
            // up, its queue entry closed and its contingency row marked uploaded, once.
            let rut = &sent.issuer;
            let mut reached = Vec::with_capacity(moved.len() + loose.len() + pending.len());
            for d in documents.iter().filter(|d| moved.contains(&d.id)) {
                let (dte_type, folio) = (dte_type(&d.dte_type)?, folio(d.folio)?);
                reached.push(backed_up(dte_type, folio, rut, &d.xml_content, track, d.company_id, d.move_id));
            }
            for e in &loose {
                let (dte_type, folio) = (dte_type(&e.dte_type)?, stored_folio("queue entry", e.id, &e.folio)?);
                reached.push(backed_up(dte_type, folio, &e.rut_emisor, &e.xml_content, track, e.company_id, e.move_id));
            }
            for r in &pending {
                let (dte_type, folio) = (dte_type(&r.dte_type)?, stored_folio("pending", r.id, &r.folio)?);
                reached.push(backed_up(dte_type, folio, &r.rut_emisor, &r.xml_content, track, r.company_id, r.move_id));
            }
            follow_up.backups.extend(backup::store_many(conn, &reached, now)?);
            if sent.riders == Riders::Possible {
                let entries: Vec<i32> = loose.iter().map(|e| e.id).collect();
                failed_queue::close_on_success(conn, &moved, &entries, track, now)?;
                let mut kept: Vec<i32> = dte_contingency_pending::table
                    .filter(dte_contingency_pending::document_id.eq_any(&moved))
                    .select(dte_contingency_pending::id)
                    .load(conn)?;
                kept.extend(pending.iter().map(|r| r.id));
                contingency::mark_uploaded(conn, &kept, track, now)?;
            }
            follow_up.poll = Some((envelope_id, poll_at));
            Ok((Uploaded::Received { track_id }, follow_up))
        }
        Err(error) => {
            envelope::record_upload_failure(conn, &envelope, error.class == ErrorClass::Permanent, &error.to_string())?;
            for doc in &documents {
                let from = Some(doc.state);
                if from.is_some_and(DocState::reached_sii) {
                    continue;
                }
                let attempt = Attempt::for_document(doc, &sent.issuer, envelope_id, &error);
                let entry = failed_queue::record_failure(conn, &attempt, now)?;
                let to = if entry.state == QueueState::Abandoned { DocState::Abandoned } else { DocState::Failed };
                if to == DocState::Abandoned && from == Some(DocState::Sending) {
                    document::transition(conn, doc.id, DocState::Failed, "upload failed", Change::default(), now)?;
                }
                document::transition(
                    conn,
                    doc.id,
                    to,
                    "upload failed",
                    Change {
                        sii_code: Some(&error.code),
                        message: Some(&failure_message(&error, &entry)),
                        said: Some(&error.said()),
                        lease_until: Some(None),
                        ..Change::default()
                    },
                    now,
                )?;
                contingency::record_upload_failure_of_document(conn, doc.id, &error)?;
                if let Some(at) = entry.next_retry_date {
                    follow_up.retries.push((entry.id, at));
                }
            }
            for entry in &loose {
                let attempt = Attempt::for_entry(entry, envelope_id, &error);
                let entry = failed_queue::record_failure(conn, &attempt, now)?;
                if let Some(at) = entry.next_retry_date {
                    follow_up.retries.push((entry.id, at));
                }
            }
            for row in &pending {
                contingency::record_upload_failure(conn, row.id, &error)?;
                let attempt = Attempt::for_pending(row, envelope_id, &error);
                let entry = failed_queue::record_failure(conn, &attempt, now)?;
                if entry.state == QueueState::Pending && entry.retry_count == 0 {
                    if let Some(at) = entry.next_retry_date {
                        follow_up.retries.push((entry.id, at));
                    }
                }
            }
            Ok((Uploaded::Failed(error), follow_up))
        }
    }
}

/// What the accountant reads about a failed upload.
fn failure_message(error: &SiiError, entry: &FailedEntry) -> String {
    match (Some(entry.state), entry.next_retry_date) {
        (Some(QueueState::Abandoned), _) => format!("abandoned after {} retries: {error}", entry.retry_count),
        (_, Some(at)) => format!("{error}; next retry at {} UTC", at.format("%Y-%m-%d %H:%M")),
        (_, None) => format!("{error}; the SII refuses it as it is: a person must act"),
    }
}

fn dte_type(code: &str) -> AppResult<DteType> {
    code.parse().map_err(|_| AppError::internal(anyhow::anyhow!("stored DTE type {code}")))
}

fn folio(value: i64) -> AppResult<Folio> {
    Folio::new(value).ok_or_else(|| AppError::internal(anyhow::anyhow!("stored folio {value}")))
}

/// A folio stored as text (queue entries, pending documents) that must read as one.
fn stored_folio(what: &str, id: i32, text: &str) -> AppResult<Folio> {
    text.parse().map_err(|_| AppError::internal(anyhow::anyhow!("{what} {id} has folio {text}")))
}

/// The backup of a document the SII now has.
fn backed_up<'a>(
    dte_type: DteType,
    folio: Folio,
    rut_emisor: &'a str,
    xml: &'a [u8],
    track_id: Option<&'a str>,
    company_id: i32,
    move_id: i32,
) -> backup::Document<'a> {
    backup::Document { dte_type, folio, rut_emisor, xml, track_id, company_id, move_id }
}
