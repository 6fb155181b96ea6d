//! Backups of sent documents: one per (type, folio, company), never changed by a second
//! call. A repeated `backup_dte` with the same XML returns the existing backup; with a
//! different XML it is refused, because a folio is never reused.

use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::company;
use crate::dte::Rut;
use crate::input::args::{DteType, Folio};
use crate::input::xml_content;
use crate::message::{Message, Shown};
use chrono::Datelike;

use crate::archive::{CopyKey, CopyMeta};
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
        return Err(AppError::validation(Message::not_record_id("move_id")));
    }
    if let Some(track_id) = &p.track_id {
        check_track_id(track_id)?;
    }
    let max = ctx.settings.limits.max_xml_bytes;
    let now = ctx.clock.now();
    let backup = ctx
        .db
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
            store(conn, &document, now)
        })
        .await?;
    let id = backup.id;
    copy_rows(ctx, vec![backup]).await?;
    Ok(json!(id))
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
        return Err(AppError::user(Message::backup_differs(
            Shown(document.dte_type),
            Shown(folio),
            document.company_id,
            existing.id,
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

/// Keeps many documents at once (an envelope's worth); returns their backups. Any
/// document already backed up goes through [`store`], which returns or refuses it.
pub fn store_many(conn: &mut PgConnection, documents: &[Document<'_>], now: Timestamp) -> AppResult<Vec<Backup>> {
    if documents.is_empty() {
        return Ok(Vec::new());
    }
    let folios: Vec<String> = documents.iter().map(|d| d.folio.to_string()).collect();
    let hashes: Vec<String> = documents.iter().map(|d| hex::encode(Sha256::digest(d.xml))).collect();
    let names: Vec<(String, String)> = documents
        .iter()
        .zip(&folios)
        .map(|(d, folio)| {
            (format!("DTE {}-{folio}", d.dte_type), format!("DTE_{}_{}_{folio}.xml", d.rut_emisor, d.dte_type))
        })
        .collect();
    let rows: Vec<NewBackup<'_>> = documents
        .iter()
        .zip(folios.iter().zip(hashes.iter().zip(&names)))
        .map(|(d, (folio, (sha256, (display_name, filename))))| NewBackup {
            dte_type: d.dte_type.as_str(),
            folio,
            rut_emisor: d.rut_emisor,
            xml_content: d.xml,
            sha256,
            track_id: d.track_id,
            sent_date: now,
            company_id: d.company_id,
            move_id: d.move_id,
            display_name,
            xml_filename: filename,
        })
        .collect();
    let mut backups: Vec<Backup> = diesel::insert_into(dte_backup::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .returning(Backup::as_returning())
        .get_results(conn)?;
    let mut known = Vec::new();
    for (document, folio) in documents.iter().zip(&folios) {
        let done = backups.iter().any(|b| b.dte_type == document.dte_type.as_str() && &b.folio == folio);
        if !done {
            known.push(store(conn, document, now)?);
        }
    }
    backups.extend(known);
    Ok(backups)
}

/// Track ids are the SII's digits; kept as text because they may start with zeros.
pub fn check_track_id(track_id: &str) -> AppResult<()> {
    if track_id.is_empty() || track_id.len() > 100 || !track_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(AppError::validation(Message::backup_track_id()));
    }
    Ok(())
}

/// The copy facts of a backup row.
fn copy_meta(row: &Backup) -> CopyMeta {
    CopyMeta {
        company_id: row.company_id,
        dte_type: row.dte_type.clone(),
        folio: row.folio.clone(),
        rut_emisor: row.rut_emisor.clone(),
        sha256: row.sha256.clone(),
        track_id: row.track_id.clone(),
        sent_date: row.sent_date,
        move_id: row.move_id,
        display_name: row.display_name.clone(),
        xml_filename: row.xml_filename.clone(),
    }
}

fn copy_key(row: &Backup) -> CopyKey {
    CopyKey { company_id: row.company_id, dte_type: row.dte_type.clone(), folio: row.folio.clone() }
}

/// Writes the second copy of the given backups (or of every backup still without one)
/// and records it. A copy that cannot be written now is left for the next sweep.
pub async fn copy_out(ctx: &AppContext, ids: Option<Vec<i32>>) -> AppResult<usize> {
    let rows: Vec<Backup> = ctx
        .db
        .run(move |conn| {
            let query = dte_backup::table.filter(dte_backup::copied_at.is_null()).order(dte_backup::id).into_boxed();
            let query = match ids {
                Some(ids) => query.filter(dte_backup::id.eq_any(ids)),
                None => query.limit(2000),
            };
            Ok(query.select(Backup::as_select()).load(conn)?)
        })
        .await?;
    copy_rows(ctx, rows).await
}

/// [`copy_out`] for backups the caller holds, as it has just stored them: those already
/// copied are left alone.
pub async fn copy_rows(ctx: &AppContext, rows: Vec<Backup>) -> AppResult<usize> {
    use futures::stream::{self, StreamExt};
    let archive = &ctx.archive;
    let copied: Vec<i32> = stream::iter(rows.into_iter().filter(|row| row.copied_at.is_none()))
        .map(|row| async move {
            match archive.put(&copy_meta(&row), &row.xml_content).await {
                Ok(()) => Some(row.id),
                Err(e) => {
                    tracing::warn!(
                        backup = row.id,
                        error = %format!("{e:#}"),
                        "second copy not written; the sweep will try again"
                    );
                    None
                }
            }
        })
        .buffer_unordered(16)
        .filter_map(|id| async move { id })
        .collect()
        .await;
    let count = copied.len();
    if copied.is_empty() {
        return Ok(0);
    }
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            Ok(diesel::update(dte_backup::table.filter(dte_backup::id.eq_any(&copied)))
                .set(dte_backup::copied_at.eq(now))
                .execute(conn)?)
        })
        .await?;
    Ok(count)
}

#[derive(Debug, Default, serde::Serialize, PartialEq, Eq)]
pub struct RestoreReport {
    pub copies: usize,
    pub already_present: usize,
    pub restored: usize,
    /// Copies that could not be restored (unreadable, or XML not matching its SHA-256).
    pub refused: Vec<String>,
}

/// Rebuilds missing backup rows from the second copies, byte for byte.
pub async fn restore(ctx: &AppContext) -> anyhow::Result<RestoreReport> {
    let mut report = RestoreReport::default();
    for key in ctx.archive.list().await? {
        report.copies += 1;
        let Some((meta, xml)) = ctx.archive.get(&key).await? else {
            report.refused.push(format!("{}/{}/{}: facts missing", key.company_id, key.dte_type, key.folio));
            continue;
        };
        if hex::encode(Sha256::digest(&xml)) != meta.sha256 {
            report
                .refused
                .push(format!("{}/{}/{}: XML does not match its SHA-256", key.company_id, key.dte_type, key.folio));
            continue;
        }
        let inserted = ctx
            .db
            .run(move |conn| {
                Ok(diesel::insert_into(dte_backup::table)
                    .values((
                        dte_backup::dte_type.eq(&meta.dte_type),
                        dte_backup::folio.eq(&meta.folio),
                        dte_backup::rut_emisor.eq(&meta.rut_emisor),
                        dte_backup::xml_content.eq(&xml),
                        dte_backup::sha256.eq(&meta.sha256),
                        dte_backup::track_id.eq(&meta.track_id),
                        dte_backup::sent_date.eq(meta.sent_date),
                        dte_backup::company_id.eq(meta.company_id),
                        dte_backup::move_id.eq(meta.move_id),
                        dte_backup::display_name.eq(&meta.display_name),
                        dte_backup::xml_filename.eq(&meta.xml_filename),
                        dte_backup::copied_at.eq(meta.sent_date),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)?)
            })
            .await?;
        if inserted == 1 {
            report.restored += 1;
        } else {
            report.already_present += 1;
        }
    }
    Ok(report)
}

#[derive(Debug, Default, serde::Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    pub rows: usize,
    pub copies: usize,
    pub matching: usize,
    pub problems: Vec<String>,
}

/// Checks every backup row against its copy: both present, the same bytes (SHA-256), and
/// the copy's signatures, TED and CAF valid.
pub async fn verify(ctx: &AppContext) -> anyhow::Result<VerifyReport> {
    let rows: Vec<Backup> =
        ctx.db.run(|conn| Ok(dte_backup::table.order(dte_backup::id).select(Backup::as_select()).load(conn)?)).await?;
    let mut copies: std::collections::BTreeSet<CopyKey> = ctx.archive.list().await?.into_iter().collect();
    let mut report = VerifyReport { rows: rows.len(), copies: copies.len(), ..VerifyReport::default() };
    for row in rows {
        let key = copy_key(&row);
        let name = format!("backup {} (DTE {} folio {} company {})", row.id, row.dte_type, row.folio, row.company_id);
        copies.remove(&key);
        if hex::encode(Sha256::digest(&row.xml_content)) != row.sha256 {
            report.problems.push(format!("{name}: the row's XML does not match its SHA-256"));
            continue;
        }
        let Some((meta, xml)) = ctx.archive.get(&key).await? else {
            report.problems.push(format!("{name}: no second copy"));
            continue;
        };
        let copy_hash = hex::encode(Sha256::digest(&xml));
        if copy_hash != row.sha256 || meta.sha256 != row.sha256 {
            report.problems.push(format!("{name}: the copy differs from the row (SHA-256 {copy_hash})"));
            continue;
        }
        let keys = ctx.keys.clone();
        let checked =
            tokio::task::spawn_blocking(move || crate::dte::verify_document(&xml, &keys.schemas, &keys.trust)).await?;
        match checked {
            Ok(verification) if verification.is_valid() => report.matching += 1,
            Ok(verification) => report.problems.push(format!("{name}: {}", verification.problems().join("; "))),
            Err(e) => report.problems.push(format!("{name}: {e}")),
        }
    }
    for orphan in copies {
        report.problems.push(format!(
            "copy {}/{}/{} has no backup row (run restore)",
            orphan.company_id, orphan.dte_type, orphan.folio
        ));
    }
    Ok(report)
}

/// The weekly cleanup: removes backups sent more than `backup.retention_years` ago, the
/// copy first and then the row, and only where the copy is there and matches — never
/// a copy whose row stays, nor a row that is the only copy left.
/// `run_retention`: the weekly retention, now (Odoo's "Cleanup Old Backups" cron). Applies
/// to every company, as the sidecar's own weekly run does: the period is the sidecar's
/// setting, not the caller's choice. A key bound to companies runs it for those only.
/// Answers what it removed.
pub async fn run_retention(ctx: &AppContext, bound: Option<Vec<i64>>) -> AppResult<Value> {
    let removed = apply_retention_for(ctx, bound).await?;
    let years = ctx.settings.backup.retention_years;
    tracing::info!(removed, retention_years = years, "retention run on request");
    Ok(serde_json::json!({"removed": removed, "retention_years": years}))
}

/// Backups looked at per batch. Each batch is one short read and one short delete, with no
/// transaction held in between: writers never wait behind the clean-up, however much of
/// it there is.
const RETENTION_BATCH: i64 = 500;

#[derive(QueryableByName)]
struct Expired {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    id: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    company_id: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    dte_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    folio: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    sha256: String,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    sent_date: Timestamp,
}

/// Removes the copy of an expired backup when it is there and matches; answers the row
/// to remove with it (none when the copy is missing or differs: the row is kept).
async fn expire_copy(ctx: &AppContext, row: Expired) -> AppResult<Option<i32>> {
    let key = CopyKey { company_id: row.company_id, dte_type: row.dte_type, folio: row.folio };
    let copy = ctx.archive.get(&key).await.map_err(AppError::internal)?;
    if copy.is_none_or(|(_, xml)| hex::encode(Sha256::digest(&xml)) != row.sha256) {
        tracing::warn!(backup = row.id, "past retention but its copy is missing or differs: kept");
        return Ok(None);
    }
    // The copy first, then the row: never a copy whose row stays.
    ctx.archive.delete(&key).await.map_err(AppError::internal)?;
    Ok(Some(row.id))
}

/// Oldest first, in batches, walking on past the rows it keeps (a missing copy) so they
/// never hold back the rest.
pub async fn apply_retention(ctx: &AppContext) -> AppResult<usize> {
    apply_retention_for(ctx, None).await
}

/// The retention over some companies' backups (all when `None`).
async fn apply_retention_for(ctx: &AppContext, companies: Option<Vec<i64>>) -> AppResult<usize> {
    use futures::stream::{self, StreamExt};
    let companies: Option<Vec<i32>> =
        companies.map(|ids| ids.into_iter().filter_map(|id| i32::try_from(id).ok()).collect());
    let years = i32::try_from(ctx.settings.backup.retention_years).unwrap_or(i32::MAX);
    let now = ctx.clock.now();
    let cutoff = now.date().with_year(now.date().year() - years).unwrap_or(now.date()).and_time(now.time());
    let mut after: Option<(Timestamp, i32)> = None;
    let mut removed = 0;
    loop {
        let batch: Vec<Expired> = ctx
            .db
            .run({
                let companies = companies.clone();
                move |conn| {
                    let (at, id) = after.unwrap_or((cutoff, 0));
                    Ok(diesel::sql_query(
                        "SELECT id, company_id, dte_type::text AS dte_type, folio::text AS folio, \
                            sha256::text AS sha256, sent_date \
                     FROM dte_sidecar.dte_backup \
                     WHERE sent_date < $1 AND ($4 OR (sent_date, id) > ($2, $3)) \
                       AND ($6::int4[] IS NULL OR company_id = ANY($6)) \
                     ORDER BY sent_date, id LIMIT $5",
                    )
                    .bind::<diesel::sql_types::Timestamp, _>(cutoff)
                    .bind::<diesel::sql_types::Timestamp, _>(at)
                    .bind::<diesel::sql_types::Integer, _>(id)
                    .bind::<diesel::sql_types::Bool, _>(after.is_none())
                    .bind::<diesel::sql_types::BigInt, _>(RETENTION_BATCH)
                    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Integer>>, _>(
                        companies,
                    )
                    .load(conn)?)
                }
            })
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some((last.sent_date, last.id));
        let outcomes: Vec<AppResult<Option<i32>>> =
            stream::iter(batch).map(|row| expire_copy(ctx, row)).buffer_unordered(16).collect().await;
        let mut ids = Vec::new();
        let mut failure = None;
        for outcome in outcomes {
            match outcome {
                Ok(Some(id)) => ids.push(id),
                Ok(None) => {}
                Err(e) => failure = Some(e),
            }
        }
        let count = ids.len();
        ctx.db
            .run(move |conn| Ok(diesel::delete(dte_backup::table.filter(dte_backup::id.eq_any(&ids))).execute(conn)?))
            .await?;
        removed += count;
        if let Some(e) = failure {
            return Err(e);
        }
    }
    Ok(removed)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadParams {
    pub ids: Vec<i32>,
}

/// `download_xml`: the signed XML of a backup, as Odoo offers a file.
pub async fn download_xml(ctx: &AppContext, actor: super::audit::Actor, p: DownloadParams) -> AppResult<Value> {
    let [id] = p.ids.as_slice() else {
        return Err(AppError::validation(Message::backup_one_at_a_time()));
    };
    let id = *id;
    let row: Backup = ctx
        .db
        .run(move |conn| {
            dte_backup::table
                .find(id)
                .select(Backup::as_select())
                .first(conn)
                .optional()?
                .filter(|row| actor.may_act_for(row.company_id))
                .ok_or_else(|| AppError::missing_record("dte.backup", id))
        })
        .await?;
    use base64::Engine as _;
    Ok(json!({
        "filename": row.xml_filename.unwrap_or_else(|| format!("DTE_{}_{}.xml", row.dte_type, row.folio)),
        "xml_base64": base64::engine::general_purpose::STANDARD.encode(&row.xml_content),
        "sha256": row.sha256,
    }))
}
