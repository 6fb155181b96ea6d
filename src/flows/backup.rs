//! Backups of sent documents: one per (type, folio, company), never changed by a second
//! call. A repeated `backup_dte` with the same XML returns the existing backup; with a
//! different XML it is refused, because a folio is never reused.

use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::args::{DteType, Folio};
use crate::dte::Rut;
use super::{company, xml_content};
use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::store::models::{Backup, NewBackup};
use crate::store::schema::dte_sidecar::dte_backup;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupDteParams {
    pub dte_type: DteType,
    pub folio: Folio,
    pub xml_content: String,
    pub track_id: Option<String>,
    pub move_id: i32,
    #[serde(default)]
    pub rut_emisor: Option<Rut>,
    pub company_id: i32,
}

/// A signed document to keep.
#[derive(Debug)]
pub struct Document<'a> {
    pub dte_type: DteType,
    pub folio: Folio,
    pub rut_emisor: &'a str,
    pub xml: &'a [u8],
    pub track_id: Option<&'a str>,
    pub company_id: i32,
    pub move_id: i32,
}

pub async fn backup_dte(ctx: &AppContext, p: BackupDteParams) -> AppResult<Value> {
    if p.move_id <= 0 {
        return Err(AppError::field("move_id", "must be a positive Odoo record id"));
    }
    if let Some(track_id) = &p.track_id {
        check_track_id(track_id)?;
    }
    let max = ctx.settings.limits.max_xml_bytes;
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            let xml = xml_content::accept_text("xml_content", &p.xml_content, max)?;
            xml_content::check_identity("xml_content", &xml, p.dte_type.as_str(), &p.folio.to_string())?;
            let company = company::require(conn, p.company_id)?;
            let rut = company::issuer_rut(&company, p.rut_emisor)?;
            let document = Document {
                dte_type: p.dte_type,
                folio: p.folio,
                rut_emisor: &rut,
                xml: &xml,
                track_id: p.track_id.as_deref(),
                company_id: company.id,
                move_id: p.move_id,
            };
            let backup = store(conn, &document, now)?;
            Ok(json!(backup.id))
        })
        .await
}

/// Keeps `document`; returns the backup, new or already there with the same XML.
pub fn store(conn: &mut PgConnection, document: &Document<'_>, now: Timestamp) -> AppResult<Backup> {
    let sha256 = hex::encode(Sha256::digest(document.xml));
    let folio = document.folio.to_string();
    let display_name = format!("DTE {}-{}", document.dte_type, folio);
    let filename = format!("DTE_{}_{}_{}.xml", document.rut_emisor, document.dte_type, folio);
    let inserted = diesel::insert_into(dte_backup::table)
        .values(NewBackup {
            dte_type: document.dte_type.as_str(),
            folio: &folio,
            rut_emisor: document.rut_emisor,
            xml_content: document.xml,
            sha256: &sha256,
            track_id: document.track_id,
            sent_date: now,
            company_id: document.company_id,
            move_id: document.move_id,
            display_name: &display_name,
            xml_filename: &filename,
        })
        .on_conflict_do_nothing()
        .returning(Backup::as_returning())
        .get_result(conn)
        .optional()?;
    if let Some(backup) = inserted {
        return Ok(backup);
    }
    let existing: Backup = dte_backup::table
        .filter(dte_backup::dte_type.eq(document.dte_type.as_str()))
        .filter(dte_backup::folio.eq(&folio))
        .filter(dte_backup::company_id.eq(document.company_id))
        .select(Backup::as_select())
        .first(conn)?;
    if existing.sha256 != sha256 {
        return Err(AppError::user(format!(
            "DTE {} folio {folio} of company {} is already backed up (backup {}) with a different XML; \
             a folio is never reused",
            document.dte_type, document.company_id, existing.id
        )));
    }
    if existing.track_id.is_none() && document.track_id.is_some() {
        return Ok(diesel::update(dte_backup::table.find(existing.id))
            .set(dte_backup::track_id.eq(document.track_id))
            .returning(Backup::as_returning())
            .get_result(conn)?);
    }
    Ok(existing)
}

/// Track ids are the SII's digits; kept as text because they may start with zeros.
pub fn check_track_id(track_id: &str) -> AppResult<()> {
    if track_id.is_empty() || track_id.len() > 100 || !track_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(AppError::field("track_id", "expected the SII's track id (letters, digits, at most 100)"));
    }
    Ok(())
}
