//! Draining contingency: the documents a company kept while in contingency go to the SII
//! in EnvioDTE envelopes, built and stored before any upload; when the sidecar itself put
//! the company in contingency and the SII answers again, the company leaves it.

use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::message::Message;
use crate::owners::audit::{self, Actor, Entry};
use crate::owners::company;
use crate::owners::contingency::{self, pending_count, switch, Switch};
use crate::store::models::PendingDte;
use crate::store::schema::dte_sidecar::{dte_contingency, dte_contingency_pending};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchParams {
    pub company_id: i32,
    #[serde(default)]
    pub batch_size: Option<i64>,
}

/// `upload_pending_batch`: uploads up to `batch_size` pending documents of a company,
/// many per EnvioDTE (`sii.max_documents_per_envelope`). Envelopes are built and stored
/// before any upload, so an interrupted drain resumes with the same envelopes and uploads
/// nothing twice; envelopes that failed belong to the retry queue from then on.
pub async fn upload_pending_batch(ctx: &AppContext, actor: Actor, p: BatchParams) -> AppResult<Value> {
    serde_json::to_value(drain_batch(ctx, actor, p).await?).map_err(AppError::internal)
}

/// [`upload_pending_batch`], answering with the report itself.
async fn drain_batch(ctx: &AppContext, actor: Actor, p: BatchParams) -> AppResult<DrainReport> {
    let batch_size = p.batch_size.unwrap_or(50);
    if !(1..=100_000).contains(&batch_size) {
        return Err(AppError::validation(Message::out_of_range("batch_size", 1, 100_000)));
    }
    let now = ctx.clock.now();
    let company_id = p.company_id;
    ctx.db
        .run(move |conn| {
            company::require(conn, company_id)?;
            audit::record(
                conn,
                now,
                &actor,
                Entry {
                    action: "contingency.upload_pending",
                    company_id: Some(company_id),
                    target_model: Some("dte.contingency.pending"),
                    target_id: None,
                    details: json!({"batch_size": batch_size}),
                },
            )
        })
        .await?;
    let envelopes = prepare_batch(ctx, company_id, batch_size).await?;
    let mut report = DrainReport { envelopes: envelopes.len(), ..DrainReport::default() };
    for envelope in envelopes {
        match super::upload::upload_envelope(ctx, envelope, "contingency drain").await? {
            super::upload::Uploaded::Received { .. } | super::upload::Uploaded::AlreadyDone => {
                report.uploaded_envelopes += 1
            }
            super::upload::Uploaded::Failed(_) => report.failed_envelopes += 1,
        }
    }
    let counted = ctx
        .db
        .run(move |conn| {
            let remaining = pending_count(conn, company_id)?;
            let (uploaded, failed): (i64, i64) = (
                dte_contingency_pending::table
                    .filter(dte_contingency_pending::company_id.eq(company_id))
                    .filter(dte_contingency_pending::uploaded.eq(true))
                    .filter(dte_contingency_pending::uploaded_date.ge(now))
                    .count()
                    .get_result(conn)?,
                dte_contingency_pending::table
                    .filter(dte_contingency_pending::company_id.eq(company_id))
                    .filter(dte_contingency_pending::uploaded.eq(false))
                    .filter(dte_contingency_pending::upload_error.is_not_null())
                    .count()
                    .get_result(conn)?,
            );
            Ok((remaining, uploaded, failed))
        })
        .await?;
    report.remaining = counted.0;
    report.uploaded = counted.1;
    report.failed = counted.2;
    Ok(report)
}

#[derive(Debug, Default, serde::Serialize)]
pub struct DrainReport {
    pub envelopes: usize,
    pub uploaded_envelopes: usize,
    pub failed_envelopes: usize,
    /// Documents marked uploaded by this drain.
    pub uploaded: i64,
    /// Documents whose upload failed (now in the retry queue).
    pub failed: i64,
    /// Documents still waiting (not yet in an envelope).
    pub remaining: i64,
}

/// Builds and stores the envelopes of the next `batch_size` pending documents, and
/// returns them together with envelopes an interrupted drain built but never tried.
pub async fn prepare_batch(ctx: &AppContext, company_id: i32, batch_size: i64) -> AppResult<Vec<i32>> {
    let now = ctx.clock.now();
    let per_envelope = ctx.settings.sii.max_documents_per_envelope;
    let lease = chrono::TimeDelta::seconds(ctx.settings.jobs.upload_lease_secs);
    ctx.keys.open_signer_ahead(&ctx.db, company_id).await?;
    let keys = ctx.keys.clone();
    let (interrupted, rows, company, signer) = ctx
        .db
        .run(move |conn| {
            use crate::store::schema::dte_sidecar::dte_envelope;
            let company = company::require(conn, company_id)?;
            let interrupted: Vec<i32> = dte_envelope::table
                .filter(dte_envelope::company_id.eq(company_id))
                .filter(dte_envelope::state.eq(crate::store::state::EnvelopeState::Created))
                .filter(dte_envelope::upload_attempts.eq(0))
                .filter(
                    dte_envelope::id.eq_any(
                        dte_contingency_pending::table
                            .filter(dte_contingency_pending::uploaded.eq(false))
                            .select(dte_contingency_pending::envelope_id.assume_not_null()),
                    ),
                )
                .select(dte_envelope::id)
                .load(conn)?;
            let rows: Vec<PendingDte> = unbatched(company_id)
                .order(dte_contingency_pending::id)
                .limit(batch_size)
                .select(PendingDte::as_select())
                .load(conn)?;
            let signer = match rows.is_empty() {
                true => None,
                false => Some(keys.signer(conn, company_id)?),
            };
            Ok((interrupted, rows, company, signer))
        })
        .await?;
    let Some(signer) = signer else { return Ok(interrupted) };
    // Reading the stored XML and signing the envelopes is CPU work: no connection is held.
    let keys = ctx.keys.clone();
    let built = tokio::task::spawn_blocking(move || build_batch(&keys, &signer, &company, rows, per_envelope, now))
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("drain task failed: {e}")))??;
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                let ids: Vec<i32> = built
                    .quarantined
                    .iter()
                    .map(|(id, _)| *id)
                    .chain(built.chunks.iter().flat_map(|c| c.pending.clone()))
                    .collect();
                // Rows another drain took while this one signed are left to it.
                let free: std::collections::HashSet<i32> = dte_contingency_pending::table
                    .filter(dte_contingency_pending::id.eq_any(&ids))
                    .filter(dte_contingency_pending::uploaded.eq(false))
                    .filter(dte_contingency_pending::envelope_id.is_null())
                    .filter(dte_contingency_pending::quarantine_reason.is_null())
                    .select(dte_contingency_pending::id)
                    .for_update()
                    .load::<i32>(conn)?
                    .into_iter()
                    .collect();
                for (id, reason) in built.quarantined.iter().filter(|(id, _)| free.contains(id)) {
                    tracing::warn!(pending = id, company_id, reason = %reason, "pending document quarantined");
                    contingency::quarantine(conn, *id, reason)?;
                }
                let mut envelopes = interrupted;
                for chunk in built.chunks {
                    if !chunk.pending.iter().all(|id| free.contains(id)) {
                        continue;
                    }
                    let envelope =
                        crate::owners::envelope::insert(conn, built.company.id, &chunk.xml, chunk.pending.len(), now)?;
                    contingency::put_in_envelope(conn, &chunk.pending, envelope)?;
                    crate::owners::document::transition_many(
                        conn,
                        &chunk.documents,
                        crate::owners::document::DocState::Sending,
                        "contingency drain",
                        crate::owners::document::Change {
                            envelope_id: Some(envelope),
                            lease_until: Some(Some(now + lease)),
                            ..crate::owners::document::Change::default()
                        },
                        now,
                    )?;
                    envelopes.push(envelope);
                }
                Ok(envelopes)
            })
        })
        .await
}

/// Pending documents of a company not yet in an envelope, uploaded or quarantined.
fn unbatched(company_id: i32) -> dte_contingency_pending::BoxedQuery<'static, diesel::pg::Pg> {
    dte_contingency_pending::table
        .filter(dte_contingency_pending::company_id.eq(company_id))
        .filter(dte_contingency_pending::uploaded.eq(false))
        .filter(dte_contingency_pending::envelope_id.is_null())
        .filter(dte_contingency_pending::quarantine_reason.is_null())
        .into_boxed()
}

/// A drain's envelopes, signed, and the stored documents that could not be read.
struct Batch {
    company: crate::store::models::Company,
    chunks: Vec<Chunk>,
    quarantined: Vec<(i32, Message)>,
}

struct Chunk {
    pending: Vec<i32>,
    documents: Vec<i32>,
    xml: Vec<u8>,
}

fn build_batch(
    keys: &crate::keys::Keys,
    signer: &crate::dte::Signer,
    company: &crate::store::models::Company,
    rows: Vec<PendingDte>,
    per_envelope: usize,
    now: crate::clock::Timestamp,
) -> AppResult<Batch> {
    // A stored document that cannot be read is quarantined with the reason, once; the
    // others go on.
    let mut readable = Vec::with_capacity(rows.len());
    let mut quarantined = Vec::new();
    for row in rows {
        match crate::dte::SignedDte::from_xml(row.xml_content) {
            Ok(signed) => readable.push((row.id, row.document_id, signed)),
            Err(e) => quarantined
                .push((row.id, Message::quarantined(crate::keys::engine_error("xml_content", e).to_string()))),
        }
    }
    let mut chunks = Vec::new();
    for chunk in readable.chunks(per_envelope.max(1)) {
        let signed: Vec<_> = chunk.iter().map(|(_, _, signed)| signed.clone()).collect();
        chunks.push(Chunk {
            pending: chunk.iter().map(|(id, _, _)| *id).collect(),
            documents: chunk.iter().filter_map(|(_, document, _)| *document).collect(),
            xml: super::send::envelope_xml(keys, signer, company, &signed, now)?,
        });
    }
    Ok(Batch { company: company.clone(), chunks, quarantined })
}

/// For companies the sidecar put in contingency itself (reason `sii_unavailable`): when
/// the SII answers again, uploads what is pending and leaves contingency — unless
/// `sii.auto_leave_contingency` is off, then a person decides.
pub async fn probe_and_recover(ctx: &AppContext) -> AppResult<usize> {
    if !ctx.settings.sii.auto_leave_contingency {
        return Ok(0);
    }
    let companies: Vec<i32> = ctx
        .db
        .run(|conn| {
            Ok(dte_contingency::table
                .filter(dte_contingency::enabled.eq(true))
                .filter(dte_contingency::reason.eq("sii_unavailable"))
                .select(dte_contingency::company_id)
                .load(conn)?)
        })
        .await?;
    let mut recovered = 0;
    for company in companies {
        if let Err(e) = ctx.sii.probe().await {
            tracing::info!(company, error = %e, "SII still not answering; staying in contingency");
            continue;
        }
        loop {
            let report =
                drain_batch(ctx, Actor::system(), BatchParams { company_id: company, batch_size: Some(10_000) })
                    .await?;
            let (failed, remaining) = (report.failed_envelopes, report.remaining);
            if failed > 0 {
                tracing::warn!(company, "draining stopped on a failed upload; staying in contingency");
                break;
            }
            if remaining == 0 {
                let now = ctx.clock.now();
                ctx.db
                    .run(move |conn| {
                        conn.transaction(|conn| {
                            switch(
                                conn,
                                &Actor::system(),
                                company,
                                Switch::Off,
                                Some("the SII answers again; pending documents uploaded"),
                                now,
                            )?;
                            crate::owners::alerts::resolve(conn, company, "contingency_auto", now)
                        })
                    })
                    .await?;
                recovered += 1;
                break;
            }
        }
    }
    Ok(recovered)
}
