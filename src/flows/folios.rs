//! CAF files and folios. The sidecar is the authority on folios: it holds the CAFs (with
//! the private keys the TED needs), hands out the next free folio atomically, and
//! refuses a folio outside every loaded CAF or already used.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Int4, Text};
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::args::{DteType, Folio};
use super::audit::{self, Actor, Entry};
use super::company;
use crate::context::AppContext;
use crate::dte::{Caf, Rut};
use crate::error::{AppError, AppResult};
use crate::keys::{engine_error, SEALED_CAF};
use crate::store::models::CafRow;
use crate::store::schema::dte_sidecar::{dte_caf, dte_document};

/// Folios left below which a type is reported as running low.
pub const LOW_STOCK: i64 = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadCafParams {
    pub company_id: i32,
    /// The CAF file as the SII delivers it (XML text).
    pub caf_xml: String,
}

/// Loads a CAF: its SII signature (FRMA) is checked, it must be the company's, not
/// expired, and not overlap a loaded one. The same file again returns the loaded CAF.
pub async fn load_caf(ctx: &AppContext, actor: Actor, mut p: LoadCafParams) -> AppResult<Value> {
    let now = ctx.clock.now();
    let keys = ctx.keys.clone();
    // Parsing and checking the CAF is CPU work: done before a pooled connection is taken.
    let (caf_xml, trust) = (std::mem::take(&mut p.caf_xml), keys.trust.clone());
    let (xml, caf) = tokio::task::spawn_blocking(move || {
        let xml = super::xml_content::accept_text("caf_xml", &caf_xml, 1 << 20)?;
        let caf = Caf::parse(&xml, &trust).map_err(|e| engine_error("caf_xml", e))?;
        Ok::<_, AppError>((xml, caf))
    })
    .await
    .map_err(|e| AppError::internal(anyhow::anyhow!("CAF task failed: {e}")))??;
    ctx.db
        .run(move |conn| {
            let sealer = keys.sealer()?;
            let company = company::require(conn, p.company_id)?;
            let company_rut: Rut = company.rut.parse().map_err(AppError::internal)?;
            caf.check_belongs_to(company_rut, caf.document_type()).map_err(|e| engine_error("caf_xml", e))?;
            caf.check_usable_on(now.date()).map_err(|e| engine_error("caf_xml", e))?;
            let sha256 = hex::encode(Sha256::digest(&xml));
            let dte_type = caf.document_type().code().to_string();
            conn.transaction(|conn| {
                if let Some(existing) = dte_caf::table
                    .filter(dte_caf::sha256.eq(&sha256))
                    .select(CafRow::as_select())
                    .first(conn)
                    .optional()?
                {
                    return Ok(caf_summary(&existing));
                }
                let sealed = sealer.seal(SEALED_CAF, &xml).map_err(AppError::internal)?;
                let inserted = diesel::insert_into(dte_caf::table)
                    .values((
                        dte_caf::company_id.eq(company.id),
                        dte_caf::dte_type.eq(&dte_type),
                        dte_caf::folio_from.eq(caf.first_folio()),
                        dte_caf::folio_to.eq(caf.last_folio()),
                        dte_caf::next_folio.eq(caf.first_folio()),
                        dte_caf::authorized_on.eq(caf.authorized_on()),
                        dte_caf::expires_on.eq(caf.expires_on()),
                        dte_caf::idk.eq(i32::try_from(caf.idk()).unwrap_or(i32::MAX)),
                        dte_caf::sealed_caf.eq(&sealed),
                        dte_caf::sha256.eq(&sha256),
                        dte_caf::loaded_at.eq(now),
                    ))
                    .returning(CafRow::as_returning())
                    .get_result(conn);
                let row = match inserted {
                    Ok(row) => row,
                    Err(diesel::result::Error::DatabaseError(_, info))
                        if info.constraint_name() == Some("dte_caf_no_overlap") =>
                    {
                        return Err(AppError::field(
                            "caf_xml",
                            format!(
                                "folios {}–{} of type {dte_type} overlap a CAF already loaded for company {}",
                                caf.first_folio(),
                                caf.last_folio(),
                                company.id
                            ),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                };
                audit::record(
                    conn,
                    now,
                    &actor,
                    Entry {
                        action: "caf.load",
                        company_id: Some(company.id),
                        target_model: Some("dte.caf"),
                        target_id: Some(row.id),
                        details: json!({"dte_type": dte_type, "folio_from": row.folio_from, "folio_to": row.folio_to}),
                    },
                )?;
                Ok(caf_summary(&row))
            })
        })
        .await
}

fn caf_summary(row: &CafRow) -> Value {
    json!({
        "id": row.id,
        "dte_type": row.dte_type,
        "folio_from": row.folio_from,
        "folio_to": row.folio_to,
        "folios_left": row.folio_to - row.next_folio + 1,
        "authorized_on": row.authorized_on.to_string(),
        "expires_on": row.expires_on.map_or(Value::Bool(false), |d| json!(d.to_string())),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyParams {
    pub company_id: i32,
}

#[derive(QueryableByName)]
struct Stock {
    #[diesel(sql_type = Text)]
    dte_type: String,
    #[diesel(sql_type = BigInt)]
    left: i64,
}

/// Folios left per type in CAFs usable on `today`.
pub fn stock(conn: &mut PgConnection, company_id: i32, today: NaiveDate) -> AppResult<Vec<(String, i64)>> {
    // Folios a caller chose are used without moving `next_folio`: count what is really free.
    let rows: Vec<Stock> = diesel::sql_query(
        "SELECT t.dte_type, COALESCE(sum(c.folio_to - c.next_folio + 1 - ( \
             SELECT count(*) FROM dte_sidecar.dte_document d WHERE d.company_id = c.company_id \
               AND d.dte_type = c.dte_type AND d.folio BETWEEN c.next_folio AND c.folio_to)) \
           FILTER (WHERE c.expires_on IS NULL OR c.expires_on > $2), 0)::bigint AS left \
         FROM unnest(ARRAY['33','34','52','56','61']) AS t(dte_type) \
         LEFT JOIN dte_sidecar.dte_caf c ON c.dte_type = t.dte_type AND c.company_id = $1 \
         GROUP BY t.dte_type ORDER BY t.dte_type",
    )
    .bind::<Int4, _>(company_id)
    .bind::<Date, _>(today)
    .load(conn)?;
    Ok(rows.into_iter().map(|s| (s.dte_type, s.left)).collect())
}

pub async fn folios_left(ctx: &AppContext, p: CompanyParams) -> AppResult<Value> {
    let today = ctx.clock.now().date();
    ctx.db
        .run(move |conn| {
            company::require(conn, p.company_id)?;
            let stock = stock(conn, p.company_id, today)?;
            Ok(Value::Array(
                stock
                    .into_iter()
                    .map(|(t, left)| json!({"dte_type": t, "folios_left": left, "low": left < LOW_STOCK}))
                    .collect(),
            ))
        })
        .await
}

/// A folio bound to the caller's document, and the CAF it belongs to.
#[derive(Debug, Clone)]
pub struct Allocation {
    pub folio: Folio,
    pub caf: CafRow,
}

/// The next free folio of a type, in the caller's transaction: concurrent callers never
/// get the same one (the CAF row is locked until the caller commits, and a rollback
/// gives the folio back). Folios already used through a caller-given number are skipped.
pub fn allocate(
    conn: &mut PgConnection,
    company_id: i32,
    dte_type: DteType,
    today: NaiveDate,
) -> AppResult<Allocation> {
    for _ in 0..1000 {
        let taken: Option<(i32, i64)> = diesel::sql_query(
            "UPDATE dte_sidecar.dte_caf SET next_folio = next_folio + 1 WHERE id = ( \
               SELECT id FROM dte_sidecar.dte_caf WHERE company_id = $1 AND dte_type = $2 \
                 AND next_folio <= folio_to AND (expires_on IS NULL OR expires_on > $3) \
               ORDER BY folio_from LIMIT 1 FOR UPDATE) \
             RETURNING id, next_folio - 1 AS folio",
        )
        .bind::<Int4, _>(company_id)
        .bind::<Text, _>(dte_type.as_str())
        .bind::<Date, _>(today)
        .get_result::<Taken>(conn)
        .optional()?
        .map(|t| (t.id, t.folio));
        let Some((caf_id, folio)) = taken else {
            return Err(AppError::user(format!(
                "no folios left for DTE {dte_type} of company {company_id}: load a new CAF"
            )));
        };
        let used: bool = diesel::select(diesel::dsl::exists(
            dte_document::table
                .filter(dte_document::company_id.eq(company_id))
                .filter(dte_document::dte_type.eq(dte_type.as_str()))
                .filter(dte_document::folio.eq(folio)),
        ))
        .get_result(conn)?;
        if !used {
            let caf = dte_caf::table.find(caf_id).select(CafRow::as_select()).first(conn)?;
            let folio = Folio::new(folio)
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("CAF {caf_id} gave folio {folio}")))?;
            return Ok(Allocation { folio, caf });
        }
    }
    Err(AppError::internal(anyhow::anyhow!("no free folio found after skipping 1000 used ones")))
}

/// Checks a folio the caller chose: inside a loaded, unexpired CAF and never used.
pub fn claim(
    conn: &mut PgConnection,
    company_id: i32,
    dte_type: DteType,
    folio: Folio,
    today: NaiveDate,
) -> AppResult<Allocation> {
    let caf: CafRow = dte_caf::table
        .filter(dte_caf::company_id.eq(company_id))
        .filter(dte_caf::dte_type.eq(dte_type.as_str()))
        .filter(dte_caf::folio_from.le(folio.value()))
        .filter(dte_caf::folio_to.ge(folio.value()))
        .select(CafRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            AppError::field(
                "folio",
                format!("{folio} is not in any CAF of DTE {dte_type} loaded for company {company_id}"),
            )
        })?;
    if caf.expires_on.is_some_and(|end| today >= end) {
        return Err(AppError::field(
            "folio",
            format!(
                "the CAF holding folio {folio} expired on {}",
                caf.expires_on.map(|d| d.to_string()).unwrap_or_default()
            ),
        ));
    }
    let used: bool = diesel::select(diesel::dsl::exists(
        dte_document::table
            .filter(dte_document::company_id.eq(company_id))
            .filter(dte_document::dte_type.eq(dte_type.as_str()))
            .filter(dte_document::folio.eq(folio.value())),
    ))
    .get_result(conn)?;
    if used {
        return Err(AppError::field("folio", format!("folio {folio} of DTE {dte_type} is already used")));
    }
    Ok(Allocation { folio, caf })
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Int4)]
    id: i32,
    #[diesel(sql_type = BigInt)]
    folio: i64,
}
