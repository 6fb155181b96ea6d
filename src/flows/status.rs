//! Status polling: an uploaded envelope is asked about (getEstUp) with a growing pause
//! until the SII decides, and every document in it gets its verdict.

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel::PgConnection;

use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::dte::Rut;
use crate::error::{AppError, AppResult};
use crate::message::Message;
use crate::owners::document::{self, Change, DocState};
use crate::owners::envelope;
use crate::sii::client::DocumentQuery;
use crate::sii::{DocumentPresence, SiiError, TypeCounts, UploadState, Verdict};
use crate::store::models::{DocumentRow, EnvelopeRow};
use crate::store::schema::dte_sidecar::{dte_company, dte_document};

/// Pause before status query number `n + 1`: one minute, doubling, at most an hour.
pub fn poll_backoff(poll_count: i32) -> TimeDelta {
    TimeDelta::minutes((1_i64 << poll_count.clamp(0, 6)).min(60))
}

/// Polls stop after this many queries without a verdict (about four days); an alert asks a
/// person to look.
pub const MAX_POLLS: i32 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// Not due, or another worker has it.
    NotDue,
    /// Not decided yet; asked again at this time.
    Later(Timestamp),
    /// Decided: verdicts recorded.
    Decided,
}

pub async fn poll_envelope(ctx: &AppContext, envelope_id: i32) -> AppResult<Polled> {
    let now = ctx.clock.now();
    let claimed = ctx
        .db
        .run(move |conn| {
            // Claim: move the next poll out of reach of other workers while this one asks.
            let envelope = envelope::claim_poll(conn, envelope_id, now, TimeDelta::minutes(10))?;
            let Some(envelope) = envelope else { return Ok(None) };
            let docs = dte_document::table
                .filter(dte_document::envelope_id.eq(envelope_id))
                .select(DocumentRow::as_select())
                .load(conn)?;
            let rut: String = dte_company::table.find(envelope.company_id).select(dte_company::rut).first(conn)?;
            Ok(Some((envelope, docs, rut)))
        })
        .await;
    let (envelope, docs, rut) = match claimed? {
        Some(found) => found,
        None => return Ok(Polled::NotDue),
    };
    let signer = {
        let keys = ctx.keys.clone();
        let company = envelope.company_id;
        ctx.db.run(move |conn| keys.signer(conn, company)).await?
    };
    let company: Rut = rut.parse().map_err(AppError::internal)?;
    let answer = match &envelope.track_id {
        Some(track_id) => ctx.sii.upload_state(&signer, company, track_id).await,
        // Reconciled without a track id: ask per document.
        None => Ok(UploadState::Processed(Vec::new())),
    };
    let verdicts = match answer {
        Ok(UploadState::Rejected { code, message }) => {
            Ok(docs.iter().map(|d| (d.id, Verdict::Rejected, code.clone(), message.clone())).collect())
        }
        Ok(UploadState::Processed(counts)) => Ok(resolve(ctx, &signer, company, &docs, &counts).await),
        Err(e) => Err(e),
    };
    let now = ctx.clock.now();
    let outcome = ctx.db.run(move |conn| conn.transaction(|conn| record(conn, &envelope, verdicts, now))).await?;
    if let Polled::Later(at) = outcome {
        ctx.follow_up_poll(envelope_id, at).await;
    }
    Ok(outcome)
}

/// Verdicts per document from the per-type counts; where a type's documents fared
/// differently, each one is asked about (getEstDte: received means accepted).
async fn resolve(
    ctx: &AppContext,
    signer: &std::sync::Arc<crate::dte::Signer>,
    company: Rut,
    docs: &[DocumentRow],
    counts: &[TypeCounts],
) -> Vec<(i32, Verdict, String, String)> {
    let mut verdicts = Vec::with_capacity(docs.len());
    for doc in docs {
        // A stored row that does not read is not guessed at (a query with the issuer as
        // receiver, or type 0, would ask about another document): it gets no verdict now,
        // is logged, and the envelope is asked about again until its polls run out.
        let Ok(code) = doc.dte_type.parse::<u16>() else {
            tracing::error!(
                document = doc.id,
                dte_type = %doc.dte_type,
                "stored DTE type does not read: no status query"
            );
            continue;
        };
        let count = counts.iter().find(|c| c.dte_type == code);
        let uniform = count.and_then(|c| match c {
            c if c.informed > 0 && c.accepted == c.informed => Some(Verdict::Accepted),
            c if c.informed > 0 && c.objected == c.informed => Some(Verdict::AcceptedWithObjections),
            c if c.informed > 0 && c.rejected == c.informed => Some(Verdict::Rejected),
            _ => None,
        });
        if let Some(verdict) = uniform {
            verdicts.push((doc.id, verdict, "EPR".to_string(), "processed by the SII".to_string()));
            continue;
        }
        let Ok(receiver) = doc.receiver_rut.parse::<Rut>() else {
            tracing::error!(
                document = doc.id,
                receiver = %doc.receiver_rut,
                "stored receiver RUT does not read: no status query"
            );
            continue;
        };
        let query = DocumentQuery {
            issuer: company,
            receiver,
            dte_type: code,
            folio: doc.folio,
            issue_date: doc.issue_date,
            total: doc.total,
        };
        match ctx.sii.document_state(signer, &query).await {
            Ok(DocumentPresence::Received { code, message }) => {
                let objected = count.is_some_and(|c| c.objected > 0 && c.accepted == 0);
                let verdict = if objected { Verdict::AcceptedWithObjections } else { Verdict::Accepted };
                verdicts.push((doc.id, verdict, code, message));
            }
            Ok(DocumentPresence::NotReceived) => {
                verdicts.push((
                    doc.id,
                    Verdict::Rejected,
                    "RCH".into(),
                    "rejected by the SII (not registered after processing)".into(),
                ));
            }
            Err(e) => tracing::info!(document = doc.id, error = %e, "document status not known yet"),
        }
    }
    verdicts
}

fn record(
    conn: &mut PgConnection,
    envelope: &EnvelopeRow,
    verdicts: Result<Vec<(i32, Verdict, String, String)>, SiiError>,
    now: Timestamp,
) -> AppResult<Polled> {
    let ask_again = |conn: &mut PgConnection, why: &str| -> AppResult<Polled> {
        let polls = envelope.poll_count + 1;
        if polls >= MAX_POLLS {
            envelope::record_poll(conn, envelope.id, polls, None, why)?;
            let details = serde_json::json!({"track_id": envelope.track_id, "envelope_id": envelope.id});
            crate::owners::alerts::raise(conn, envelope.company_id, "no_verdict", &details, now)?;
            return Ok(Polled::NotDue);
        }
        let at = now + poll_backoff(polls);
        envelope::record_poll(conn, envelope.id, polls, Some(at), why)?;
        Ok(Polled::Later(at))
    };
    let verdicts = match verdicts {
        Ok(v) => v,
        Err(e) => return ask_again(conn, &e.to_string()),
    };
    for (document_id, verdict, code, message) in &verdicts {
        let to = match verdict {
            Verdict::Accepted => DocState::Accepted,
            Verdict::AcceptedWithObjections => DocState::AcceptedWithObjections,
            Verdict::Rejected => DocState::Rejected,
        };
        document::transition(
            conn,
            *document_id,
            to,
            "SII verdict",
            Change {
                sii_code: Some(code),
                message: Some(message),
                said: Some(&Message::sii_verdict(code.as_str(), message.as_str())),
                ..Change::default()
            },
            now,
        )?;
    }
    let undecided: i64 = dte_document::table
        .filter(dte_document::envelope_id.eq(envelope.id))
        .filter(dte_document::state.eq(DocState::Sent.as_str()))
        .count()
        .get_result(conn)?;
    if undecided > 0 {
        return ask_again(conn, "some documents have no verdict yet");
    }
    let all_rejected = !verdicts.is_empty() && verdicts.iter().all(|v| v.1 == Verdict::Rejected);
    envelope::record_verdict(conn, envelope.id, all_rejected)?;
    Ok(Polled::Decided)
}
