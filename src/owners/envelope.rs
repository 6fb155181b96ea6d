//! The one writer of `dte_envelope`: an envelope is stored once with its frozen bytes
//! (`created`), and every later change of its state goes through here, checked against
//! [`EnvelopeState::may_become`]. Each statement that moves the state carries the states
//! allowed to make the move in its `WHERE`, so a concurrent change cannot slip an illegal
//! move in; a move the envelope may not make is never written.

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel::PgConnection;
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::error::{AppError, AppResult};
use crate::store::models::EnvelopeRow;
use crate::store::schema::dte_sidecar::dte_envelope;
use crate::store::state::EnvelopeState;

/// Stores an envelope's frozen bytes; it is born `created`.
pub fn insert(
    conn: &mut PgConnection,
    company_id: i32,
    xml: &[u8],
    document_count: usize,
    now: Timestamp,
) -> AppResult<i32> {
    let id = diesel::insert_into(dte_envelope::table)
        .values((
            dte_envelope::company_id.eq(company_id),
            dte_envelope::sha256.eq(hex::encode(Sha256::digest(xml))),
            dte_envelope::xml_content.eq(xml),
            dte_envelope::document_count.eq(i32::try_from(document_count).unwrap_or(i32::MAX)),
            dte_envelope::state.eq(EnvelopeState::Created),
            dte_envelope::created_at.eq(now),
        ))
        .returning(dte_envelope::id)
        .get_result(conn)?;
    Ok(id)
}

/// Locks the envelope's row until the transaction ends. Whoever changes what travels in an
/// envelope — a retry's claim, the record of an upload or of a verdict — takes this lock
/// first, so they take the rows behind it (queue entries, documents) one at a time and
/// in one order.
pub fn lock(conn: &mut PgConnection, envelope_id: i32) -> AppResult<()> {
    dte_envelope::table.find(envelope_id).select(dte_envelope::id).for_update().first::<i32>(conn)?;
    Ok(())
}

/// The envelope's state (read as its type: a value outside the lifecycle fails the read).
pub fn state_of(envelope: &EnvelopeRow) -> AppResult<EnvelopeState> {
    Ok(envelope.state)
}

/// An error for a move the envelope may not make.
fn illegal(envelope_id: i32, from: impl std::fmt::Display, to: EnvelopeState) -> AppError {
    AppError::internal(anyhow::anyhow!("envelope {envelope_id} may not move from {from} to {to}"))
}

/// The SII received the envelope (for the first time, or again when a lost answer is
/// reconciled, `duplicate` saying so): `uploaded`, its first status query at `poll_at`.
/// An envelope the SII has decided on is never moved back: that is an error.
pub fn record_upload(
    conn: &mut PgConnection,
    envelope: &EnvelopeRow,
    track_id: Option<&str>,
    duplicate: Option<&str>,
    poll_at: Timestamp,
    now: Timestamp,
) -> AppResult<()> {
    let to = EnvelopeState::Uploaded;
    if !state_of(envelope)?.may_become(to) {
        return Err(illegal(envelope.id, envelope.state, to));
    }
    let moved = diesel::update(
        dte_envelope::table.find(envelope.id).filter(dte_envelope::state.eq_any(EnvelopeState::sources(to))),
    )
    .set((
        dte_envelope::state.eq(to),
        dte_envelope::track_id.eq(track_id),
        dte_envelope::uploaded_at.eq(now),
        dte_envelope::upload_attempts.eq(envelope.upload_attempts + 1),
        dte_envelope::next_poll_at.eq(poll_at),
        dte_envelope::last_error.eq(duplicate),
    ))
    .execute(conn)?;
    if moved == 0 {
        return Err(illegal(envelope.id, "a state changed meanwhile", to));
    }
    Ok(())
}

/// An upload that failed: the envelope is `failed` when the SII refuses it as it is
/// (`permanent`), else stays `created` for a retry. The attempt and its error are counted
/// in any case; an envelope the SII already has (`uploaded` or decided) keeps its state,
/// with a warning, since a failed repeat says nothing about the first upload.
pub fn record_upload_failure(
    conn: &mut PgConnection,
    envelope: &EnvelopeRow,
    permanent: bool,
    error: &str,
) -> AppResult<()> {
    let to = if permanent { EnvelopeState::Failed } else { EnvelopeState::Created };
    let attempts = envelope.upload_attempts + 1;
    let moved = diesel::update(
        dte_envelope::table.find(envelope.id).filter(dte_envelope::state.eq_any(EnvelopeState::sources(to))),
    )
    .set((dte_envelope::state.eq(to), dte_envelope::upload_attempts.eq(attempts), dte_envelope::last_error.eq(error)))
    .execute(conn)?;
    if moved == 0 {
        tracing::warn!(
            envelope = envelope.id,
            from = %envelope.state,
            to = %to,
            "failed upload of an envelope the SII has: its state stays"
        );
        diesel::update(dte_envelope::table.find(envelope.id))
            .set((dte_envelope::upload_attempts.eq(attempts), dte_envelope::last_error.eq(error)))
            .execute(conn)?;
    }
    Ok(())
}

/// Claims an uploaded envelope whose status query is due: its next query is moved out of
/// reach of other workers by `hold` while this one asks. `None` when it is not due or not
/// `uploaded`.
pub fn claim_poll(
    conn: &mut PgConnection,
    envelope_id: i32,
    now: Timestamp,
    hold: TimeDelta,
) -> AppResult<Option<EnvelopeRow>> {
    Ok(diesel::update(
        dte_envelope::table
            .filter(dte_envelope::id.eq(envelope_id))
            .filter(dte_envelope::state.eq(EnvelopeState::Uploaded))
            .filter(dte_envelope::next_poll_at.le(now)),
    )
    .set(dte_envelope::next_poll_at.eq(now + hold))
    .returning(EnvelopeRow::as_returning())
    .get_result(conn)
    .optional()?)
}

/// One more status query without a verdict: the next one at `next` (none: polls stop).
pub fn record_poll(
    conn: &mut PgConnection,
    envelope_id: i32,
    polls: i32,
    next: Option<Timestamp>,
    why: &str,
) -> AppResult<()> {
    diesel::update(dte_envelope::table.find(envelope_id))
        .set((
            dte_envelope::poll_count.eq(polls),
            dte_envelope::next_poll_at.eq(next),
            dte_envelope::last_error.eq(why),
        ))
        .execute(conn)?;
    Ok(())
}

/// The SII has decided on every document of an uploaded envelope: `processed`, or
/// `rejected` when it rejected them all. Returns false, writing nothing, when the
/// envelope is not `uploaded` (another worker decided it first).
pub fn record_verdict(conn: &mut PgConnection, envelope_id: i32, all_rejected: bool) -> AppResult<bool> {
    let to = if all_rejected { EnvelopeState::Rejected } else { EnvelopeState::Processed };
    let moved = diesel::update(
        dte_envelope::table.find(envelope_id).filter(dte_envelope::state.eq_any(EnvelopeState::sources(to))),
    )
    .set((dte_envelope::state.eq(to), dte_envelope::next_poll_at.eq(None::<Timestamp>)))
    .execute(conn)?;
    if moved == 0 {
        tracing::warn!(envelope = envelope_id, to = %to, "verdict not recorded: the envelope is not waiting for one");
    }
    Ok(moved > 0)
}
