//! Contingency mode per company: while it is on, documents are stamped and signed
//! locally and kept in `dte_contingency_pending`; nothing is sent to the SII.
//! Every switch is written to the audit log. The way back, uploading what was kept, is
//! `drain`.

use base64::Engine as _;
use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Value};

use super::audit::{self, Actor, Entry};
use super::company;
use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::dte::Rut;
use crate::error::{AppError, AppResult};
use crate::input::args::{DteType, Folio};
use crate::input::xml_content;
use crate::message::Message;
use crate::owners::failed_queue::params_text;
use crate::sii::SiiError;
use crate::store::models::{Contingency, NewPendingDte};
use crate::store::schema::dte_sidecar::{dte_contingency, dte_contingency_pending};
use crate::store::state::PendingState;

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

/// Documents issued while the company is in contingency, kept to be uploaded later.
pub fn hold(conn: &mut PgConnection, rows: &[NewPendingDte<'_>]) -> AppResult<()> {
    diesel::insert_into(dte_contingency_pending::table).values(rows).execute(conn)?;
    Ok(())
}

/// A held document whose stored XML cannot be sent: kept aside for a person. The reason is
/// its upload error too, so that lists show it.
pub fn quarantine(conn: &mut PgConnection, id: i32, reason: &Message) -> AppResult<()> {
    moved_from(conn, Kept::Ids(&[id]), PendingState::Quarantined)?;
    let english = reason.english();
    diesel::update(dte_contingency_pending::table.find(id))
        .set((
            dte_contingency_pending::quarantine_reason.eq(&english),
            dte_contingency_pending::upload_error.eq(&english),
            dte_contingency_pending::error_code.eq(reason.code()),
            dte_contingency_pending::error_params.eq(params_text(reason)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Held documents a drain put in `envelope`.
pub fn put_in_envelope(conn: &mut PgConnection, ids: &[i32], envelope: i32) -> AppResult<()> {
    moved_from(conn, Kept::Ids(ids), PendingState::Enveloped)?;
    diesel::update(dte_contingency_pending::table.filter(dte_contingency_pending::id.eq_any(ids)))
        .set(dte_contingency_pending::envelope_id.eq(envelope))
        .execute(conn)?;
    Ok(())
}

/// The upload of a kept document failed; the retry queue carries it on. One the SII
/// already has stays uploaded.
pub fn record_upload_failure(conn: &mut PgConnection, id: i32, error: &SiiError) -> AppResult<()> {
    let ids = moved_from(conn, Kept::Ids(&[id]), PendingState::Failed)?;
    write_upload_failure(conn, &ids, error)
}

/// [`record_upload_failure`] for the kept row of a document, if it has one.
pub fn record_upload_failure_of_document(conn: &mut PgConnection, document_id: i32, error: &SiiError) -> AppResult<()> {
    let ids = moved_from(conn, Kept::OfDocument(document_id), PendingState::Failed)?;
    write_upload_failure(conn, &ids, error)
}

fn write_upload_failure(conn: &mut PgConnection, ids: &[i32], error: &SiiError) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let said = error.said();
    diesel::update(dte_contingency_pending::table.filter(dte_contingency_pending::id.eq_any(ids)))
        .set((
            dte_contingency_pending::upload_error.eq(error.to_string()),
            dte_contingency_pending::error_code.eq(said.code()),
            dte_contingency_pending::error_params.eq(params_text(&said)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Kept documents the SII now has.
pub fn mark_uploaded(conn: &mut PgConnection, ids: &[i32], track_id: Option<&str>, now: Timestamp) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    moved_from(conn, Kept::Ids(ids), PendingState::Uploaded)?;
    let not_yet = dte_contingency_pending::id.eq_any(ids).and(dte_contingency_pending::uploaded.eq(false));
    diesel::update(dte_contingency_pending::table.filter(not_yet))
        .set((
            dte_contingency_pending::uploaded.eq(true),
            dte_contingency_pending::uploaded_date.eq(now),
            dte_contingency_pending::track_id.eq(track_id),
            dte_contingency_pending::upload_error.eq(None::<String>),
            dte_contingency_pending::error_code.eq(None::<String>),
            dte_contingency_pending::error_params.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Which kept documents a move is about.
enum Kept<'a> {
    Ids(&'a [i32]),
    OfDocument(i32),
}

/// Refuses a move [`PendingState::may_become`] does not allow, for any of the rows, naming
/// the row: a write that would break the lifecycle is a fault of the code, never done.
/// Answers the rows to move: those not uploaded yet (a row already uploaded is left as it
/// is, as when an upload is recorded twice).
fn moved_from(conn: &mut PgConnection, which: Kept<'_>, to: PendingState) -> AppResult<Vec<i32>> {
    let rows = dte_contingency_pending::table.filter(dte_contingency_pending::uploaded.eq(false)).into_boxed();
    let rows = match which {
        Kept::Ids(ids) => rows.filter(dte_contingency_pending::id.eq_any(ids)),
        Kept::OfDocument(document_id) => rows.filter(dte_contingency_pending::document_id.eq(document_id)),
    };
    let rows: Vec<(i32, Option<i32>, bool, bool)> = rows
        .select((
            dte_contingency_pending::id,
            dte_contingency_pending::envelope_id,
            dte_contingency_pending::quarantine_reason.is_not_null(),
            dte_contingency_pending::upload_error.is_not_null(),
        ))
        .load(conn)?;
    let mut moving = Vec::with_capacity(rows.len());
    for (id, envelope_id, quarantined, failed) in rows {
        let from = PendingState::of(false, envelope_id, quarantined, failed);
        if !from.may_become(to) {
            return Err(AppError::internal(anyhow::anyhow!("kept document {id} is {from}: it may not become {to}")));
        }
        moving.push(id);
    }
    Ok(moving)
}

/// A company's switch, off, unless it has one already.
pub fn ensure_switch(conn: &mut PgConnection, company_id: i32) -> AppResult<()> {
    diesel::insert_into(dte_contingency::table)
        .values(dte_contingency::company_id.eq(company_id))
        .on_conflict(dte_contingency::company_id)
        .do_nothing()
        .execute(conn)?;
    Ok(())
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
        return Err(AppError::validation(Message::unknown_choice("reason", reason.as_str(), &REASONS[..])));
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
    let odoo_time =
        |t: Option<crate::clock::Timestamp>| t.map_or(Value::Bool(false), |t| json!(crate::clock::odoo_time(t)));
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
        return Err(AppError::validation(Message::contingency_nothing()));
    }
    let max = ctx.settings.limits.max_xml_bytes;
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                let mut ids = Vec::with_capacity(values.len());
                for v in &values {
                    if v.move_id <= 0 {
                        return Err(AppError::validation(Message::not_record_id("move_id")));
                    }
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(v.xml_content.trim())
                        .map_err(|_| AppError::validation(Message::xml_not_base64("xml_content")))?;
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
                    let id = id.ok_or_else(|| AppError::validation(Message::contingency_already_pending(v.move_id)))?;
                    ids.push(id);
                }
                Ok(ids)
            })
        })
        .await
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
