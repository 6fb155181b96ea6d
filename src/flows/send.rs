//! `account.move.action_send_to_sii`: the specification's flows 1 and 2.
//!
//! The request is checked before anything is written. Then, in one transaction, the folio
//! is allocated (or the caller's checked), the document is stamped, signed and validated,
//! its envelope built and signed, and both are stored with the document in `sending` —
//! all written before any byte goes to the SII. Only then is the envelope uploaded and the
//! outcome recorded (see [`super::upload`]). A failed stamp rolls the folio back.
//! Calling again for the same move returns the same document, never a second folio.

use std::sync::Arc;

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::args::{DteType, Folio};
use super::audit::Actor;
use super::document::{self, DocState};
use super::{company, contingency, folios, upload};
use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::dte::{build_envio, build_signed_dte, Caratula, DteRequest, Resolution, Rut, SignedDte, Signer};
use crate::error::{AppError, AppResult};
use crate::keys::{engine_error, Keys};
use crate::store::models::{Company, DocumentRow, NewPendingDte};
use crate::store::schema::dte_sidecar::{dte_contingency_pending, dte_document, dte_envelope};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendParams {
    pub move_id: i32,
    pub company_id: i32,
    /// The document as the engine reads it (see `docs/dte-json/`).
    pub document: Value,
    /// A folio the caller has chosen; by default the sidecar allocates the next free one.
    #[serde(default)]
    pub folio: Option<Folio>,
}

/// What the first transaction left to do.
enum Prepared {
    /// The move already has its document.
    Existing(DocumentRow),
    /// Stored for later: the company is in contingency.
    Held(DocumentRow),
    /// Stored and ready to upload.
    ToUpload { document_id: i32, envelope_id: i32 },
}

pub async fn action_send_to_sii(ctx: &AppContext, actor: Actor, p: SendParams) -> AppResult<Value> {
    if p.move_id <= 0 {
        return Err(AppError::field("move_id", "must be a positive Odoo record id"));
    }
    let request_json = serde_json::to_vec(&p.document).map_err(AppError::internal)?;
    let request = DteRequest::from_json(&request_json).map_err(|e| engine_error("document", e))?;
    request.validate().map_err(|e| engine_error("document", e))?;
    let dte_type: DteType = request.dte_type().map_err(|e| engine_error("document", e))?;
    let now = ctx.clock.now();
    let keys = Arc::clone(&ctx.keys);
    let lease = TimeDelta::seconds(ctx.settings.jobs.upload_lease_secs);
    ctx.keys.open_signer_ahead(&ctx.db, p.company_id).await?;
    let prepared = ctx
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                prepare(
                    conn,
                    Order {
                        keys: &keys,
                        actor: &actor,
                        p: &p,
                        request: &request,
                        request_json: &request_json,
                        dte_type,
                        now,
                        lease,
                    },
                )
            })
        })
        .await?;
    let document_id = match prepared {
        Prepared::Existing(doc) | Prepared::Held(doc) => return Ok(document::view(&doc)),
        Prepared::ToUpload { document_id, envelope_id } => {
            upload::upload_envelope(ctx, envelope_id, "first upload").await?;
            document_id
        }
    };
    let doc = ctx.db.run(move |conn| document::get(conn, document_id)).await?;
    Ok(document::view(&doc))
}

/// Everything the first transaction works from.
struct Order<'a> {
    keys: &'a Keys,
    actor: &'a Actor,
    p: &'a SendParams,
    request: &'a DteRequest,
    request_json: &'a [u8],
    dte_type: DteType,
    now: Timestamp,
    lease: TimeDelta,
}

fn prepare(conn: &mut PgConnection, order: Order<'_>) -> AppResult<Prepared> {
    let Order { keys, actor, p, request, request_json, dte_type, now, lease } = order;
    // One move, one document: a second call waits for the first and returns its document.
    diesel::sql_query("SELECT pg_advisory_xact_lock(7412, $1)")
        .bind::<diesel::sql_types::Int4, _>(p.move_id)
        .execute(conn)?;
    if let Some(existing) = document::find_by_move(conn, p.move_id)? {
        if existing.company_id != p.company_id {
            return Err(AppError::field(
                "move_id",
                format!("move {} belongs to company {}", p.move_id, existing.company_id),
            ));
        }
        return Ok(Prepared::Existing(existing));
    }
    let company = company::require(conn, p.company_id)?;
    let company_rut: Rut = company.rut.parse().map_err(AppError::internal)?;
    if request.issuer.rut.trim().parse::<Rut>().ok() != Some(company_rut) {
        return Err(AppError::field(
            "document.issuer.rut",
            format!("{} is not the RUT of company {} ({})", request.issuer.rut, company.id, company.rut),
        ));
    }
    let signer = keys.signer(conn, company.id)?;
    let today = now.date();
    let allocation = match p.folio {
        Some(folio) => folios::claim(conn, company.id, dte_type, folio, today)?,
        None => folios::allocate(conn, company.id, dte_type, today)?,
    };
    let caf = keys.caf(&allocation.caf)?;
    let signed = build_signed_dte(request, allocation.folio.value(), &caf, &signer, &keys.schemas, now)
        .map_err(|e| engine_error("document", e))?;
    let held = contingency::is_enabled(conn, company.id)?;
    let document_id = insert_document(
        conn,
        &company,
        p.move_id,
        &signed,
        request_json,
        if held { DocState::Contingency } else { DocState::Sending },
        now,
    )?;
    super::audit::record(
        conn,
        now,
        actor,
        super::audit::Entry {
            action: "document.send",
            company_id: Some(company.id),
            target_model: Some("dte.document"),
            target_id: Some(document_id),
            details: serde_json::json!({"move_id": p.move_id, "dte_type": dte_type.as_str(), "folio": signed.folio, "held": held}),
        },
    )?;
    if held {
        diesel::insert_into(dte_contingency_pending::table)
            .values(NewPendingDte {
                dte_type: dte_type.as_str(),
                folio: &signed.folio.to_string(),
                rut_emisor: &company.rut,
                xml_content: &signed.xml,
                stored_date: now,
                company_id: company.id,
                move_id: p.move_id,
                display_name: &format!("DTE {dte_type}-{}", signed.folio),
                document_id: Some(document_id),
            })
            .execute(conn)?;
        return Ok(Prepared::Held(document::get(conn, document_id)?));
    }
    let envelope_id = store_envelope(conn, keys, &signer, &company, &[signed], now)?;
    diesel::update(dte_document::table.find(document_id))
        .set((dte_document::envelope_id.eq(envelope_id), dte_document::lease_until.eq(now + lease)))
        .execute(conn)?;
    Ok(Prepared::ToUpload { document_id, envelope_id })
}

fn insert_document(
    conn: &mut PgConnection,
    company: &Company,
    move_id: i32,
    signed: &SignedDte,
    request_json: &[u8],
    state: DocState,
    now: Timestamp,
) -> AppResult<i32> {
    let id: i32 = diesel::insert_into(dte_document::table)
        .values((
            dte_document::company_id.eq(company.id),
            dte_document::move_id.eq(move_id),
            dte_document::dte_type.eq(signed.document_type.code().to_string()),
            dte_document::folio.eq(signed.folio),
            dte_document::state.eq(DocState::Generated.as_str()),
            dte_document::request.eq(String::from_utf8_lossy(request_json).into_owned()),
            dte_document::xml_content.eq(&signed.xml),
            dte_document::sha256.eq(hex::encode(Sha256::digest(&signed.xml))),
            dte_document::issue_date.eq(signed.issue_date),
            dte_document::receiver_rut.eq(signed.receiver_rut.to_string()),
            dte_document::total.eq(signed.total),
            dte_document::created_at.eq(now),
            dte_document::state_changed_at.eq(now),
        ))
        .returning(dte_document::id)
        .get_result(conn)?;
    document::record_birth(conn, id, DocState::Generated, "stamped and signed", now)?;
    if state != DocState::Generated {
        let reason = if state == DocState::Contingency {
            "company in contingency: kept for later"
        } else {
            "stored before upload"
        };
        document::transition(conn, id, state, reason, document::Change::default(), now)?;
    }
    Ok(id)
}

/// Builds, signs and stores an EnvioDTE for `documents`; the same bytes are uploaded on
/// every attempt, so the SII recognises a repeat (STATUS 99) instead of taking a folio twice.
pub fn store_envelope(
    conn: &mut PgConnection,
    keys: &Keys,
    signer: &Signer,
    company: &Company,
    documents: &[SignedDte],
    now: Timestamp,
) -> AppResult<i32> {
    let caratula = Caratula::for_sii(company.rut.parse().map_err(AppError::internal)?, resolution(company)?)
        .map_err(|e| engine_error("company", e))?;
    let xml = build_envio(documents, &caratula, signer, &keys.schemas, now).map_err(|e| engine_error("envelope", e))?;
    let id = diesel::insert_into(dte_envelope::table)
        .values((
            dte_envelope::company_id.eq(company.id),
            dte_envelope::sha256.eq(hex::encode(Sha256::digest(&xml))),
            dte_envelope::xml_content.eq(xml),
            dte_envelope::document_count.eq(i32::try_from(documents.len()).unwrap_or(i32::MAX)),
            dte_envelope::created_at.eq(now),
        ))
        .returning(dte_envelope::id)
        .get_result(conn)?;
    Ok(id)
}

/// The company's SII resolution, which every envelope's cover states.
fn resolution(company: &Company) -> AppResult<Resolution> {
    let date = company.resolution_date.ok_or_else(|| {
        AppError::user(format!("company {} has no SII resolution date; register it (dte.company.register)", company.id))
    })?;
    Ok(Resolution { number: u32::try_from(company.resolution_number).unwrap_or(0), date })
}
