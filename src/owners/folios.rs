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

use super::audit::{self, Actor, Entry};
use super::company;
use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::dte::{Caf, Rut};
use crate::error::{AppError, AppResult};
use crate::input::args::{DteType, Folio};
use crate::keys::{engine_error, SEALED_CAF};
use crate::message::{Message, Shown};
use crate::store::models::{CafRow, ReservationRow};
use crate::store::schema::dte_sidecar::{dte_caf, dte_document, dte_folio_reservation};

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
        let xml = crate::input::xml_content::accept_text("caf_xml", &caf_xml, 1 << 20)?;
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
                        return Err(AppError::validation(Message::caf_overlaps(
                            Shown(caf.first_folio()),
                            Shown(caf.last_folio()),
                            Shown(dte_type),
                            company.id,
                        )));
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

/// Checks a folio the caller chose: inside a loaded, unexpired CAF, never used and not
/// reserved for another move (a spare is free to take). Gives the CAF's id.
fn claim(
    conn: &mut PgConnection,
    company_id: i32,
    dte_type: DteType,
    folio: Folio,
    today: NaiveDate,
) -> AppResult<i32> {
    let (caf_id, expires_on): (i32, Option<NaiveDate>) = dte_caf::table
        .filter(dte_caf::company_id.eq(company_id))
        .filter(dte_caf::dte_type.eq(dte_type.as_str()))
        .filter(dte_caf::folio_from.le(folio.value()))
        .filter(dte_caf::folio_to.ge(folio.value()))
        .select((dte_caf::id, dte_caf::expires_on))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::validation(Message::folio_no_caf(Shown(folio), Shown(dte_type), company_id)))?;
    if expires_on.is_some_and(|end| today >= end) {
        return Err(AppError::validation(Message::caf_expired(
            Shown(folio),
            expires_on.map(|d| d.to_string()).unwrap_or_default(),
        )));
    }
    if is_used(conn, company_id, dte_type, folio.value())? {
        return Err(AppError::validation(Message::folio_used(Shown(dte_type), Shown(folio))));
    }
    Ok(caf_id)
}

/// Whether a folio has a document, or is reserved for a move.
fn is_used(conn: &mut PgConnection, company_id: i32, dte_type: DteType, folio: i64) -> AppResult<bool> {
    let documented: bool = diesel::select(diesel::dsl::exists(
        dte_document::table
            .filter(dte_document::company_id.eq(company_id))
            .filter(dte_document::dte_type.eq(dte_type.as_str()))
            .filter(dte_document::folio.eq(folio)),
    ))
    .get_result(conn)?;
    if documented {
        return Ok(true);
    }
    Ok(diesel::select(diesel::dsl::exists(
        dte_folio_reservation::table
            .filter(dte_folio_reservation::company_id.eq(company_id))
            .filter(dte_folio_reservation::dte_type.eq(dte_type.as_str()))
            .filter(dte_folio_reservation::folio.eq(folio))
            .filter(dte_folio_reservation::move_id.is_not_null()),
    ))
    .get_result(conn)?)
}

/// A folio held for one move while its document is stamped and signed with no
/// transaction open. [`complete`] turns it into the document; [`release`] makes it a spare.
#[derive(Debug, Clone)]
pub struct Reservation {
    pub id: i32,
    /// Who holds it: a call that finds its holder changed has been taken over.
    pub holder: i64,
    pub folio: Folio,
    /// The CAF the folio belongs to (see `Keys::caf_of_row`).
    pub caf_id: i32,
}

/// What a call asking a folio for a move gets.
pub enum Hold {
    Taken(Reservation),
    /// Another live call holds the move's reservation.
    Busy,
}

/// A request for a move's folio.
pub struct Ask<'a> {
    pub company_id: i32,
    pub move_id: i32,
    pub dte_type: DteType,
    /// The caller's own folio; by default the next free one.
    pub chosen: Option<Folio>,
    /// The document request, kept so a reservation left by a crash can be completed.
    pub request: &'a str,
    pub now: Timestamp,
    pub lease_until: Timestamp,
}

/// Reserves a folio for a move, in the caller's transaction, to be committed before the
/// document is signed. A reservation of the same move whose lease lapsed (its call died)
/// is taken over with its folio; one that does not fit the request any more becomes a
/// spare. A spare of the type is used before a new folio is drawn from the CAFs.
pub fn reserve(conn: &mut PgConnection, ask: &Ask<'_>) -> AppResult<Hold> {
    let holder: i64 = rand::random();
    let held: Option<ReservationRow> = dte_folio_reservation::table
        .filter(dte_folio_reservation::move_id.eq(ask.move_id))
        .select(ReservationRow::as_select())
        .for_update()
        .first(conn)
        .optional()?;
    if let Some(held) = held {
        if held.lease_until >= ask.now {
            return Ok(Hold::Busy);
        }
        let fits = held.company_id == ask.company_id
            && held.dte_type == ask.dte_type.as_str()
            && ask.chosen.is_none_or(|folio| folio.value() == held.folio);
        if fits {
            return take(conn, held.id, held.caf_id, held.folio, holder, ask).map(Hold::Taken);
        }
        release_row(conn, held.id)?;
    }
    let folio = match ask.chosen {
        Some(folio) => folio,
        None => {
            if let Some(row) = spare(conn, ask)? {
                let folio = checked_folio(row.caf_id, row.folio)?;
                return take(conn, row.id, row.caf_id, folio.value(), holder, ask).map(Hold::Taken);
            }
            return draw(conn, ask, holder).map(Hold::Taken);
        }
    };
    let caf_id = claim(conn, ask.company_id, ask.dte_type, folio, ask.now.date())?;
    // A spare row of this folio (a caller's chosen folio given back earlier) is taken
    // over in the same statement; a row held for another move is a used folio.
    let id: Option<i32> = diesel::sql_query(
        "INSERT INTO dte_sidecar.dte_folio_reservation \
           (company_id, move_id, dte_type, folio, caf_id, request, holder, reserved_at, lease_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (company_id, dte_type, folio) DO UPDATE SET move_id = EXCLUDED.move_id, \
           caf_id = EXCLUDED.caf_id, request = EXCLUDED.request, holder = EXCLUDED.holder, \
           reserved_at = EXCLUDED.reserved_at, lease_until = EXCLUDED.lease_until \
         WHERE dte_folio_reservation.move_id IS NULL \
         RETURNING id",
    )
    .bind::<Int4, _>(ask.company_id)
    .bind::<Int4, _>(ask.move_id)
    .bind::<Text, _>(ask.dte_type.as_str())
    .bind::<BigInt, _>(folio.value())
    .bind::<Int4, _>(caf_id)
    .bind::<Text, _>(ask.request)
    .bind::<BigInt, _>(holder)
    .bind::<diesel::sql_types::Timestamp, _>(ask.now)
    .bind::<diesel::sql_types::Timestamp, _>(ask.lease_until)
    .get_result::<Reserved>(conn)
    .optional()
    .map_err(|e| unique_as_used(e, folio, ask.dte_type))?
    .map(|row| row.id);
    let Some(id) = id else { return Err(used_folio(folio, ask.dte_type)) };
    Ok(Hold::Taken(Reservation { id, holder, folio, caf_id }))
}

/// Draws the next free folio of a type from the CAFs and reserves it, one statement per
/// folio drawn: concurrent callers never get the same one (the CAF row stays locked until
/// the caller commits, and a rollback gives the folio back). Folios that already have a
/// document, or are reserved through a caller-given number, are skipped.
fn draw(conn: &mut PgConnection, ask: &Ask<'_>, holder: i64) -> AppResult<Reservation> {
    for _ in 0..1000 {
        let drawn: Option<Drawn> = diesel::sql_query(include_str!("sql/reserve_folio.sql"))
            .bind::<Int4, _>(ask.company_id)
            .bind::<Text, _>(ask.dte_type.as_str())
            .bind::<Date, _>(ask.now.date())
            .bind::<Int4, _>(ask.move_id)
            .bind::<Text, _>(ask.request)
            .bind::<BigInt, _>(holder)
            .bind::<diesel::sql_types::Timestamp, _>(ask.now)
            .bind::<diesel::sql_types::Timestamp, _>(ask.lease_until)
            .get_result(conn)
            .optional()?;
        let Some(drawn) = drawn else {
            return Err(AppError::user(Message::folios_exhausted(Shown(&ask.dte_type), ask.company_id)));
        };
        if let Some(id) = drawn.reservation_id {
            return Ok(Reservation {
                id,
                holder,
                folio: checked_folio(drawn.caf_id, drawn.folio)?,
                caf_id: drawn.caf_id,
            });
        }
    }
    Err(AppError::internal(anyhow::anyhow!("no free folio found after skipping 1000 used ones")))
}

/// One folio drawn from a CAF by [`draw`]; no reservation when the folio was used.
#[derive(QueryableByName)]
struct Drawn {
    #[diesel(sql_type = Int4)]
    caf_id: i32,
    #[diesel(sql_type = BigInt)]
    folio: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<Int4>)]
    reservation_id: Option<i32>,
}

/// Binds a reservation row to the asking call.
fn take(
    conn: &mut PgConnection,
    id: i32,
    caf_id: i32,
    folio: i64,
    holder: i64,
    ask: &Ask<'_>,
) -> AppResult<Reservation> {
    diesel::update(dte_folio_reservation::table.find(id))
        .set((
            dte_folio_reservation::move_id.eq(ask.move_id),
            dte_folio_reservation::request.eq(ask.request),
            dte_folio_reservation::holder.eq(holder),
            dte_folio_reservation::reserved_at.eq(ask.now),
            dte_folio_reservation::lease_until.eq(ask.lease_until),
        ))
        .execute(conn)?;
    Ok(Reservation { id, holder, folio: checked_folio(caf_id, folio)?, caf_id })
}

/// The lowest spare folio of the type whose CAF is still valid, locked for the caller.
fn spare(conn: &mut PgConnection, ask: &Ask<'_>) -> AppResult<Option<ReservationRow>> {
    let usable = dte_caf::table
        .filter(dte_caf::expires_on.is_null().or(dte_caf::expires_on.gt(ask.now.date())))
        .select(dte_caf::id);
    Ok(dte_folio_reservation::table
        .filter(dte_folio_reservation::company_id.eq(ask.company_id))
        .filter(dte_folio_reservation::dte_type.eq(ask.dte_type.as_str()))
        .filter(dte_folio_reservation::move_id.is_null())
        .filter(dte_folio_reservation::caf_id.eq_any(usable))
        .order(dte_folio_reservation::folio.asc())
        .select(ReservationRow::as_select())
        .for_update()
        .skip_locked()
        .first(conn)
        .optional()?)
}

/// Ends a reservation as its document is stored, in the same transaction. False when the
/// caller no longer holds it (its lease lapsed and another call took it over).
pub fn complete(conn: &mut PgConnection, reservation: &Reservation) -> AppResult<bool> {
    complete_all(conn, &[reservation])
}

/// [`complete`] for the reservations of one envelope, in one statement: true when every
/// one was still held by its caller. The caller undoes its transaction otherwise.
pub fn complete_all(conn: &mut PgConnection, reservations: &[&Reservation]) -> AppResult<bool> {
    let ids: Vec<i32> = reservations.iter().map(|r| r.id).collect();
    let holders: Vec<i64> = reservations.iter().map(|r| r.holder).collect();
    let deleted: Vec<(i32, i64)> = diesel::delete(
        dte_folio_reservation::table
            .filter(dte_folio_reservation::id.eq_any(&ids))
            .filter(dte_folio_reservation::holder.eq_any(&holders)),
    )
    .returning((dte_folio_reservation::id, dte_folio_reservation::holder))
    .get_results(conn)?;
    // Each pair checked, not only the two sets: a row whose holder is another
    // reservation's of the batch is not ours, and undoes the batch.
    let ours = deleted.iter().all(|&(id, holder)| reservations.iter().any(|r| r.id == id && r.holder == holder));
    Ok(ours && deleted.len() == reservations.len())
}

/// Gives a reserved folio up after its document could not be stamped: it becomes a spare,
/// so the next allocation of its type uses it and no folio is skipped.
pub fn release(conn: &mut PgConnection, reservation: &Reservation) -> AppResult<()> {
    diesel::update(
        dte_folio_reservation::table
            .filter(dte_folio_reservation::id.eq(reservation.id))
            .filter(dte_folio_reservation::holder.eq(reservation.holder)),
    )
    .set((dte_folio_reservation::move_id.eq(None::<i32>), dte_folio_reservation::request.eq(None::<String>)))
    .execute(conn)?;
    Ok(())
}

fn release_row(conn: &mut PgConnection, id: i32) -> AppResult<()> {
    diesel::update(dte_folio_reservation::table.find(id))
        .set((dte_folio_reservation::move_id.eq(None::<i32>), dte_folio_reservation::request.eq(None::<String>)))
        .execute(conn)?;
    Ok(())
}

/// Reservations whose call died before storing the document, oldest first.
pub fn lapsed(conn: &mut PgConnection, now: Timestamp, limit: i64) -> AppResult<Vec<ReservationRow>> {
    Ok(dte_folio_reservation::table
        .filter(dte_folio_reservation::move_id.is_not_null())
        .filter(dte_folio_reservation::lease_until.lt(now))
        .order(dte_folio_reservation::lease_until.asc())
        .limit(limit)
        .select(ReservationRow::as_select())
        .load(conn)?)
}

/// Makes a lapsed reservation whose stored request cannot be issued a spare.
pub fn give_up(conn: &mut PgConnection, id: i32, now: Timestamp) -> AppResult<bool> {
    let released = diesel::update(
        dte_folio_reservation::table
            .filter(dte_folio_reservation::id.eq(id))
            .filter(dte_folio_reservation::lease_until.lt(now)),
    )
    .set((dte_folio_reservation::move_id.eq(None::<i32>), dte_folio_reservation::request.eq(None::<String>)))
    .execute(conn)?;
    Ok(released == 1)
}

fn checked_folio(caf_id: i32, folio: i64) -> AppResult<Folio> {
    Folio::new(folio).ok_or_else(|| AppError::internal(anyhow::anyhow!("CAF {caf_id} gave folio {folio}")))
}

#[derive(QueryableByName)]
struct Reserved {
    #[diesel(sql_type = Int4)]
    id: i32,
}

fn unique_as_used(error: diesel::result::Error, folio: Folio, dte_type: DteType) -> AppError {
    match error {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            used_folio(folio, dte_type)
        }
        other => other.into(),
    }
}

fn used_folio(folio: Folio, dte_type: DteType) -> AppError {
    AppError::validation(Message::folio_used(Shown(dte_type), Shown(folio)))
}
