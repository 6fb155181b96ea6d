//! Contingency mode per company: while it is on, documents are stamped and signed
//! locally and kept in `dte_contingency_pending`; nothing is sent to the SII.
//! Every switch is written to the audit log.

use base64::Engine as _;
use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Value};

use super::args::{DteType, Folio};
use super::audit::{self, Actor, Entry};
use super::{company, xml_content};
use crate::context::AppContext;
use crate::dte::Rut;
use crate::error::{AppError, AppResult};
use crate::store::models::{Contingency, NewPendingDte, PendingDte};
use crate::store::schema::dte_sidecar::{dte_contingency, dte_contingency_pending};

/// Why a company entered contingency.
pub const REASONS: [&str; 5] = ["manual", "sii_unavailable", "certificate", "network", "other"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyParams {
    pub company_id: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnableParams {
    pub company_id: i32,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableParams {
    pub company_id: i32,
    #[serde(default)]
    pub comment: Option<String>,
}

pub async fn get_status(ctx: &AppContext, p: CompanyParams) -> AppResult<Value> {
    ctx.db
        .run(move |conn| {
            company::require(conn, p.company_id)?;
            status(conn, p.company_id)
        })
        .await
}

pub async fn enable_contingency(ctx: &AppContext, actor: Actor, p: EnableParams) -> AppResult<Value> {
    let reason = p.reason.unwrap_or_else(|| "manual".into());
    if !REASONS.contains(&reason.as_str()) {
        return Err(AppError::field("reason", format!("expected one of {}", REASONS.join(", "))));
    }
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                company::require(conn, p.company_id)?;
                switch(conn, &actor, p.company_id, Switch::On { reason: &reason }, p.comment.as_deref(), now)?;
                status(conn, p.company_id)
            })
        })
        .await
}

pub async fn disable_contingency(ctx: &AppContext, actor: Actor, p: DisableParams) -> AppResult<Value> {
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                company::require(conn, p.company_id)?;
                switch(conn, &actor, p.company_id, Switch::Off, p.comment.as_deref(), now)?;
                status(conn, p.company_id)
            })
        })
        .await
}

pub enum Switch<'a> {
    On { reason: &'a str },
    Off,
}

/// Turns contingency on or off; returns false (and writes nothing) when it already was.
pub fn switch(
    conn: &mut PgConnection,
    actor: &Actor,
    company_id: i32,
    to: Switch<'_>,
    comment: Option<&str>,
    now: crate::clock::Timestamp,
) -> AppResult<bool> {
    let current = row(conn, company_id)?;
    use dte_contingency::dsl as c;
    let (action, reason) = match to {
        Switch::On { .. } if current.enabled => return Ok(false),
        Switch::Off if !current.enabled => return Ok(false),
        Switch::On { reason } => {
            diesel::update(c::dte_contingency.find(current.id))
                .set((
                    c::enabled.eq(true),
                    c::reason.eq(reason),
                    c::comment.eq(comment),
                    c::enabled_date.eq(now),
                    c::enabled_by.eq(actor.uid),
                ))
                .execute(conn)?;
            ("contingency.enable", Some(reason))
        }
        Switch::Off => {
            diesel::update(c::dte_contingency.find(current.id))
                .set((c::enabled.eq(false), c::disabled_date.eq(now), c::disabled_by.eq(actor.uid)))
                .execute(conn)?;
            ("contingency.disable", None)
        }
    };
    audit::record(
        conn,
        now,
        actor,
        Entry {
            action,
            company_id: Some(company_id),
            target_model: Some("dte.contingency"),
            target_id: Some(current.id),
            details: json!({"reason": reason, "comment": comment}),
        },
    )?;
    Ok(true)
}

/// The company's contingency row, locked for the rest of the transaction.
fn row(conn: &mut PgConnection, company_id: i32) -> AppResult<Contingency> {
    diesel::insert_into(dte_contingency::table)
        .values(dte_contingency::company_id.eq(company_id))
        .on_conflict(dte_contingency::company_id)
        .do_nothing()
        .execute(conn)?;
    Ok(dte_contingency::table
        .filter(dte_contingency::company_id.eq(company_id))
        .select(Contingency::as_select())
        .for_update()
        .first(conn)?)
}

pub fn is_enabled(conn: &mut PgConnection, company_id: i32) -> AppResult<bool> {
    Ok(dte_contingency::table
        .filter(dte_contingency::company_id.eq(company_id))
        .select(dte_contingency::enabled)
        .first(conn)
        .optional()?
        .unwrap_or(false))
}

fn status(conn: &mut PgConnection, company_id: i32) -> AppResult<Value> {
    let row = dte_contingency::table
        .filter(dte_contingency::company_id.eq(company_id))
        .select(Contingency::as_select())
        .first(conn)
        .optional()?;
    let pending: i64 = dte_contingency_pending::table
        .filter(dte_contingency_pending::company_id.eq(company_id))
        .filter(dte_contingency_pending::uploaded.eq(false))
        .count()
        .get_result(conn)?;
    let odoo_time = |t: Option<crate::clock::Timestamp>| {
        t.map_or(Value::Bool(false), |t| json!(t.format("%Y-%m-%d %H:%M:%S").to_string()))
    };
    let or_false = |v: Option<Value>| v.unwrap_or(Value::Bool(false));
    Ok(match row {
        Some(r) => json!({
            "company_id": company_id,
            "enabled": r.enabled,
            "reason": or_false(r.reason.map(Value::from)),
            "comment": or_false(r.comment.map(Value::from)),
            "enabled_date": odoo_time(r.enabled_date),
            "enabled_by": or_false(r.enabled_by.map(Value::from)),
            "disabled_date": odoo_time(r.disabled_date),
            "disabled_by": or_false(r.disabled_by.map(Value::from)),
            "pending_count": pending,
        }),
        None => json!({
            "company_id": company_id, "enabled": false, "reason": false, "comment": false,
            "enabled_date": false, "enabled_by": false, "disabled_date": false,
            "disabled_by": false, "pending_count": pending,
        }),
    })
}

/// `dte.contingency.pending.create` values; `xml_content` is base64 as Odoo sends
/// binary fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingValues {
    pub dte_type: DteType,
    pub folio: Folio,
    pub xml_content: String,
    pub move_id: i32,
    pub company_id: i32,
    #[serde(default)]
    pub rut_emisor: Option<Rut>,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Stores documents issued in contingency; returns their ids (one per move).
pub async fn create_pending(ctx: &AppContext, values: Vec<PendingValues>) -> AppResult<Vec<i32>> {
    if values.is_empty() {
        return Err(AppError::field("vals_list", "nothing to create"));
    }
    let max = ctx.settings.limits.max_xml_bytes;
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                let mut ids = Vec::with_capacity(values.len());
                for v in &values {
                    if v.move_id <= 0 {
                        return Err(AppError::field("move_id", "must be a positive Odoo record id"));
                    }
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(v.xml_content.trim())
                        .map_err(|_| AppError::field("xml_content", "expected base64 (a binary field)"))?;
                    let xml = xml_content::accept_bytes("xml_content", raw, max)?;
                    let folio = v.folio.to_string();
                    xml_content::check_identity("xml_content", &xml, v.dte_type.as_str(), &folio)?;
                    let company = company::require(conn, v.company_id)?;
                    let rut = company::issuer_rut(&company, v.rut_emisor)?;
                    let display_name = v.display_name.clone().unwrap_or_else(|| format!("DTE {}-{folio}", v.dte_type));
                    let id: Option<i32> = diesel::insert_into(dte_contingency_pending::table)
                        .values(NewPendingDte {
                            dte_type: v.dte_type.as_str(),
                            folio: &folio,
                            rut_emisor: &rut,
                            xml_content: &xml,
                            stored_date: now,
                            company_id: company.id,
                            move_id: v.move_id,
                            display_name: &display_name,
                            document_id: None,
                        })
                        .on_conflict_do_nothing()
                        .returning(dte_contingency_pending::id)
                        .get_result(conn)
                        .optional()?;
                    let id = id.ok_or_else(|| {
                        AppError::validation(format!("move {} already has a document pending upload", v.move_id))
                    })?;
                    ids.push(id);
                }
                Ok(ids)
            })
        })
        .await
}

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
    let batch_size = p.batch_size.unwrap_or(50);
    if !(1..=100_000).contains(&batch_size) {
        return Err(AppError::field("batch_size", "must be between 1 and 100000"));
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
    serde_json::to_value(report).map_err(AppError::internal)
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

/// Pending documents not uploaded yet.
pub fn unuploaded_count(conn: &mut PgConnection, company_id: i32) -> AppResult<i64> {
    Ok(dte_contingency_pending::table
        .filter(dte_contingency_pending::company_id.eq(company_id))
        .filter(dte_contingency_pending::uploaded.eq(false))
        .count()
        .get_result(conn)?)
}

/// Pending documents not yet given to an envelope (quarantined ones left out).
pub fn pending_count(conn: &mut PgConnection, company_id: i32) -> AppResult<i64> {
    Ok(dte_contingency_pending::table
        .filter(dte_contingency_pending::company_id.eq(company_id))
        .filter(dte_contingency_pending::uploaded.eq(false))
        .filter(dte_contingency_pending::envelope_id.is_null())
        .filter(dte_contingency_pending::quarantine_reason.is_null())
        .count()
        .get_result(conn)?)
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
                .filter(dte_envelope::state.eq("created"))
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
                    diesel::update(dte_contingency_pending::table.find(id))
                        .set((
                            dte_contingency_pending::quarantine_reason.eq(reason),
                            dte_contingency_pending::upload_error.eq(reason),
                        ))
                        .execute(conn)?;
                }
                let mut envelopes = interrupted;
                for chunk in built.chunks {
                    if !chunk.pending.iter().all(|id| free.contains(id)) {
                        continue;
                    }
                    let envelope =
                        super::send::insert_envelope(conn, &built.company, chunk.xml, chunk.pending.len(), now)?;
                    diesel::update(
                        dte_contingency_pending::table.filter(dte_contingency_pending::id.eq_any(&chunk.pending)),
                    )
                    .set(dte_contingency_pending::envelope_id.eq(envelope))
                    .execute(conn)?;
                    super::document::transition_many(
                        conn,
                        &chunk.documents,
                        super::document::DocState::Sending,
                        "contingency drain",
                        super::document::Change {
                            envelope_id: Some(envelope),
                            lease_until: Some(Some(now + lease)),
                            ..super::document::Change::default()
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
    quarantined: Vec<(i32, String)>,
}

struct Chunk {
    pending: Vec<i32>,
    documents: Vec<i32>,
    xml: Vec<u8>,
}

fn build_batch(
    keys: &super::keys::Keys,
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
            Err(e) => quarantined.push((
                row.id,
                format!("quarantined: the stored XML cannot be read ({})", super::keys::engine_error("xml_content", e)),
            )),
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
            let report = upload_pending_batch(
                ctx,
                Actor::system(),
                BatchParams { company_id: company, batch_size: Some(10_000) },
            )
            .await?;
            let failed = report.get("failed_envelopes").and_then(Value::as_u64).unwrap_or(0);
            let remaining = report.get("remaining").and_then(Value::as_i64).unwrap_or(0);
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
                            super::alerts::resolve(conn, company, "contingency_auto", now)
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
