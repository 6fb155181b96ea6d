//! `account.move.action_send_to_sii`: the specification's flows 1 and 2.
//!
//! The request is checked before anything is written. A short transaction reserves the
//! folio (the next free one, or the caller's, checked); the document is then stamped,
//! signed and validated, and its envelope built and signed, with no transaction or pooled
//! connection held; one transaction stores both with the document in `sending` — all
//! written before any byte goes to the SII. Only then is the envelope uploaded and the
//! outcome recorded (see [`super::upload`]). A failed stamp gives the folio back as a
//! spare; a reservation whose call died is completed by the sweep from its stored
//! request. Calling again for the same move returns the same document, never a second
//! folio.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use chrono::TimeDelta;
use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::oneshot;

use super::upload;
use crate::clock::Timestamp;
use crate::context::AppContext;
use crate::dte::{build_envio, build_signed_dte, Caf, Caratula, DteRequest, Resolution, Rut, SignedDte, Signer};
use crate::error::{AppError, AppResult};
use crate::input::args::{DteType, Folio};
use crate::keys::{engine_error, Keys};
use crate::message::Message;
use crate::owners::audit::Actor;
use crate::owners::document;
use crate::owners::folios::{self, Reservation};
use crate::owners::{company, contingency};
use crate::store::models::{Company, DocumentSummary, NewPendingDte};
use crate::store::schema::dte_sidecar::{dte_certificate, dte_company, dte_contingency};

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

/// How long a call waits for another call issuing the same move before it gives up.
const BUSY_WAIT: Duration = Duration::from_secs(30);
/// How long a reserved folio waits for its document before another call for the move, or
/// the sweep, may take it over. Stamping takes milliseconds; a holder that outlives its
/// lease only loses the race to store (the holder check), so nothing is issued twice.
const RESERVATION_LEASE: TimeDelta = TimeDelta::seconds(60);
/// Lapsed reservations completed per sweep.
const LAPSED_BATCH: i64 = 100;

/// What storing the stamped document left to do.
enum Prepared {
    /// The move already has its document.
    Existing(DocumentSummary),
    /// Stored for later: the company is in contingency.
    Held(DocumentSummary),
    /// Stored and ready to upload.
    ToUpload { document_id: i32, envelope_id: i32, xml: Bytes },
    /// Another call took the reservation over and has not stored its document yet.
    TakenOver,
}

pub async fn action_send_to_sii(ctx: &AppContext, actor: Actor, p: SendParams) -> AppResult<Value> {
    if p.move_id <= 0 {
        return Err(AppError::validation(Message::not_record_id("move_id")));
    }
    let request_json = serde_json::to_string(&p.document).map_err(AppError::internal)?;
    let order = Order::read(p.move_id, p.company_id, p.folio, request_json)?;
    let window = Duration::from_millis(ctx.settings.sii.envelope_window_millis);
    let doc = issue(ctx, &actor, order, BUSY_WAIT, window).await?;
    Ok(document::view(&doc))
}

/// A checked request to issue the DTE of one move.
struct Order {
    move_id: i32,
    company_id: i32,
    folio: Option<Folio>,
    request: DteRequest,
    request_json: String,
    dte_type: DteType,
}

impl Order {
    fn read(move_id: i32, company_id: i32, folio: Option<Folio>, request_json: String) -> AppResult<Self> {
        let request = DteRequest::from_json(request_json.as_bytes()).map_err(|e| engine_error("document", e))?;
        request.validate().map_err(|e| engine_error("document", e))?;
        let dte_type: DteType = request.dte_type().map_err(|e| engine_error("document", e))?;
        Ok(Self { move_id, company_id, folio, request, request_json, dte_type })
    }
}

/// A folio reserved for the order, with what stamping needs.
struct Reserved {
    reservation: Reservation,
    /// The CAF of the reserved folio, opened.
    caf: Arc<Caf>,
    company: Company,
    /// The company's RUT, as read from `company`.
    company_rut: Rut,
    signer: Arc<Signer>,
    /// The row of the company's active certificate, which `signer` opened.
    certificate_id: Option<i32>,
    /// The company was in contingency when the folio was reserved.
    held: bool,
}

impl Reserved {
    /// The envelope just stored for this reservation's company, as its first upload takes it.
    fn fresh(&self, envelope_id: i32, xml: Bytes) -> upload::Fresh {
        upload::Fresh { envelope_id, company: self.company_rut, signer: Arc::clone(&self.signer), xml }
    }
}

/// What the reservation's transaction found.
enum Reservable {
    Existing(Box<DocumentSummary>),
    Busy,
    Ready(Box<Reserved>),
}

/// The stamped and signed document, and its envelope unless it is to be held.
struct Stamped {
    signed: SignedDte,
    envelope: Option<Vec<u8>>,
}

/// Issues the move's DTE: a short transaction reserves the folio, the document is stamped,
/// signed and validated (and its envelope built and signed) with no connection held, and
/// one transaction stores it all in `sending` (or `contingency`) — written before any byte
/// goes to the SII. Only then is the envelope uploaded.
/// `window`: how long the document may wait to share its envelope (zero: it has its own).
async fn issue(
    ctx: &AppContext,
    actor: &Actor,
    order: Order,
    busy_wait: Duration,
    window: Duration,
) -> AppResult<DocumentSummary> {
    ctx.keys.open_signer_ahead(&ctx.db, order.company_id).await?;
    let order = Arc::new(order);
    let upload_lease = TimeDelta::seconds(ctx.settings.jobs.upload_lease_secs);
    let waiting_since = Instant::now();
    let busy = || AppError::user(Message::move_in_progress(order.move_id));
    loop {
        let (keys, o, now) = (Arc::clone(&ctx.keys), Arc::clone(&order), ctx.clock.now());
        let found = ctx
            .db
            .run(move |conn| conn.transaction(|conn| reserve(conn, &keys, &o, now, now + RESERVATION_LEASE)))
            .await?;
        let reserved = match found {
            Reservable::Existing(doc) => return Ok(*doc),
            Reservable::Ready(reserved) => Arc::new(*reserved),
            Reservable::Busy if waiting_since.elapsed() < busy_wait => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Reservable::Busy => return Err(busy()),
        };
        let now = ctx.clock.now();
        let share = !window.is_zero() && !reserved.held;
        let (keys, o, r) = (Arc::clone(&ctx.keys), Arc::clone(&order), Arc::clone(&reserved));
        let stamped = tokio::task::spawn_blocking(move || stamp(&keys, &o, &r, !share, now))
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("stamping task failed: {e}")))?;
        let stamped = match stamped {
            Ok(stamped) => stamped,
            Err(error) => {
                let reservation = reserved.reservation.clone();
                if let Err(e) = ctx.db.run(move |conn| folios::release(conn, &reservation)).await {
                    tracing::error!(error = %e, "could not give back a folio after a failed stamp");
                }
                return Err(error);
            }
        };
        let stamped = match share {
            false => stamped,
            true => match share_envelope(ctx, actor, &order, &reserved, stamped.signed, window).await? {
                Shared::Stored(document_id) => {
                    return ctx.db.run(move |conn| document::summary(conn, document_id)).await
                }
                // The shared envelope could not take it: stored on its own, as without sharing.
                Shared::Alone(signed) => Stamped { signed: Arc::unwrap_or_clone(signed), envelope: None },
            },
        };
        let (keys, o, r, actor) = (Arc::clone(&ctx.keys), Arc::clone(&order), Arc::clone(&reserved), actor.clone());
        let prepared = ctx
            .db
            .run(move |conn| {
                conn.transaction(|conn| store(conn, &keys, &actor, &o, &r, stamped, now, now + upload_lease))
            })
            .await?;
        let document_id = match prepared {
            Prepared::Existing(doc) | Prepared::Held(doc) => return Ok(doc),
            // Another call took the folio over while this one stamped: wait for its document.
            Prepared::TakenOver if waiting_since.elapsed() < busy_wait => continue,
            Prepared::TakenOver => return Err(busy()),
            Prepared::ToUpload { document_id, envelope_id, xml } => {
                upload::upload_fresh(ctx, reserved.fresh(envelope_id, xml), 1).await?;
                document_id
            }
        };
        return ctx.db.run(move |conn| document::summary(conn, document_id)).await;
    }
}

/// A stamped document waiting for the envelope it shares with the company's others.
struct Waiting {
    item: SharedItem,
    done: oneshot::Sender<Shared>,
}

/// What the shared envelope did with a waiting document.
enum Shared {
    /// Stored in the shared envelope, which was then uploaded.
    Stored(i32),
    /// Not taken (the switch moved, a reservation was taken over, a fault): the caller
    /// stores it on its own.
    Alone(Arc<SignedDte>),
}

/// What the sealing transaction stores of one waiting document.
#[derive(Clone)]
struct SharedItem {
    actor: Actor,
    order: Arc<Order>,
    reserved: Arc<Reserved>,
    signed: Arc<SignedDte>,
}

/// Replica, company and certificate: documents share an envelope only within one of each.
type ShareKey = (String, i32, Option<i32>);

/// The envelopes open for documents to join, per [`ShareKey`].
fn open_envelopes() -> &'static Mutex<HashMap<ShareKey, Vec<Waiting>>> {
    static OPEN: OnceLock<Mutex<HashMap<ShareKey, Vec<Waiting>>>> = OnceLock::new();
    OPEN.get_or_init(Mutex::default)
}

fn take_open(key: &ShareKey) -> Vec<Waiting> {
    open_envelopes().lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key).unwrap_or_default()
}

/// Joins the envelope open for the company, or opens one and seals it after `window`
/// (sooner when it is full). Sealing runs in a task of its own, so a caller that goes away
/// does not take the others' documents with it. Until the sealing transaction commits,
/// every document is only a reservation, which the sweep completes if this process dies.
async fn share_envelope(
    ctx: &AppContext,
    actor: &Actor,
    order: &Arc<Order>,
    reserved: &Arc<Reserved>,
    signed: SignedDte,
    window: Duration,
) -> AppResult<Shared> {
    let key: ShareKey = (ctx.instance.clone(), reserved.company.id, reserved.certificate_id);
    let (done, answer) = oneshot::channel();
    let item = SharedItem {
        actor: actor.clone(),
        order: Arc::clone(order),
        reserved: Arc::clone(reserved),
        signed: Arc::new(signed),
    };
    let waiting = Waiting { item, done };
    let (opened, full) = {
        let mut open = open_envelopes().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let batch = open.entry(key.clone()).or_default();
        batch.push(waiting);
        let full = batch.len() >= ctx.settings.sii.max_documents_per_envelope;
        (batch.len() == 1, full.then(|| open.remove(&key).unwrap_or_default()))
    };
    if let Some(batch) = full {
        let ctx = ctx.clone();
        actix_rt::spawn(async move { seal(&ctx, batch).await });
    } else if opened {
        let ctx = ctx.clone();
        actix_rt::spawn(async move {
            tokio::time::sleep(window).await;
            let batch = take_open(&key);
            seal(&ctx, batch).await;
        });
    }
    answer.await.map_err(|_| AppError::internal(anyhow::anyhow!("the shared envelope's task ended early")))
}

/// Signs one envelope for the waiting documents, stores it with all of them in one
/// transaction, uploads it once, and tells each caller. Whatever cannot go this way goes
/// back to its caller, to be stored on its own.
async fn seal(ctx: &AppContext, batch: Vec<Waiting>) {
    let Some(first) = batch.first() else { return };
    let now = ctx.clock.now();
    let lease_until = now + TimeDelta::seconds(ctx.settings.jobs.upload_lease_secs);
    let (keys, signer, company) =
        (Arc::clone(&ctx.keys), Arc::clone(&first.item.reserved.signer), first.item.reserved.company.clone());
    let documents: Vec<SignedDte> = batch.iter().map(|w| (*w.item.signed).clone()).collect();
    let built = tokio::task::spawn_blocking(move || envelope_xml(&keys, &signer, &company, &documents, now)).await;
    let xml = match built {
        Ok(Ok(xml)) => xml,
        Ok(Err(error)) => return alone(batch, &error.to_string()),
        Err(error) => return alone(batch, &error.to_string()),
    };
    let items: Vec<SharedItem> = batch.iter().map(|w| w.item.clone()).collect();
    let stored =
        ctx.db.run(move |conn| conn.transaction(|conn| store_shared(conn, &items, xml, now, lease_until))).await;
    let (envelope_id, xml, document_ids) = match stored {
        Ok(stored) => stored,
        Err(error) => return alone(batch, &error.to_string()),
    };
    let fresh = first.item.reserved.fresh(envelope_id, xml);
    if let Err(error) = upload::upload_fresh(ctx, fresh, document_ids.len()).await {
        // Stored and leased: the sweep reconciles it as an upload whose outcome is unknown.
        tracing::error!(envelope = envelope_id, error = %error, "shared envelope not uploaded");
    }
    for (waiting, document_id) in batch.into_iter().zip(document_ids) {
        let _ = waiting.done.send(Shared::Stored(document_id));
    }
}

fn alone(batch: Vec<Waiting>, why: &str) {
    tracing::info!(documents = batch.len(), why, "documents not shared in an envelope: each is stored on its own");
    for waiting in batch {
        let _ = waiting.done.send(Shared::Alone(waiting.item.signed));
    }
}

/// The sealing transaction: every reservation completed (moves locked in order), the
/// envelope and the documents stored in `sending`. Any reservation taken over, or the
/// company in contingency, undoes it all: each document then goes on its own.
fn store_shared(
    conn: &mut PgConnection,
    items: &[SharedItem],
    xml: Vec<u8>,
    now: Timestamp,
    lease_until: Timestamp,
) -> AppResult<(i32, Bytes, Vec<i32>)> {
    let Some(first) = items.first().map(|item| &item.reserved) else {
        return Err(AppError::internal(anyhow::anyhow!("an empty shared envelope")));
    };
    let company = &first.company;
    if contingency::is_enabled(conn, company.id)? {
        return Err(AppError::user(Message::entered_contingency()));
    }
    let moves: Vec<i32> = items.iter().map(|item| item.order.move_id).collect();
    lock_moves(conn, &moves)?;
    let reservations: Vec<&Reservation> = items.iter().map(|item| &item.reserved.reservation).collect();
    if !folios::complete_all(conn, &reservations)? {
        return Err(AppError::user(Message::folio_taken_over()));
    }
    let xml = Bytes::from(xml);
    let envelope_id = crate::owners::envelope::insert(conn, company.id, &xml, items.len(), now)?;
    let issued: Vec<Issued<'_>> =
        items.iter().map(|item| Issued { actor: &item.actor, order: &item.order, signed: &item.signed }).collect();
    let born = document::Born::Sending { envelope_id, lease_until };
    let document_ids = insert_issued(conn, company, &issued, born, now)?;
    Ok((envelope_id, xml, document_ids))
}

/// The first, short transaction: the move's document if it has one, or a folio reserved.
fn reserve(
    conn: &mut PgConnection,
    keys: &Keys,
    order: &Order,
    now: Timestamp,
    lease_until: Timestamp,
) -> AppResult<Reservable> {
    // One move, one document: concurrent calls for a move take turns here.
    // The reservation commits without waiting for its WAL flush: nothing leaves the
    // sidecar on its strength alone. Whatever follows it outside (an upload, an answer
    // with the document) comes after the store's synchronous commit, which flushes the WAL
    // up to and including it; a server crash that loses it loses the CAF's counter bump
    // with it (one transaction), so the folio is neither lost nor given twice.
    diesel::sql_query("SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock($1, $2)")
        .bind::<diesel::sql_types::Int4, _>(MOVE_LOCK)
        .bind::<diesel::sql_types::Int4, _>(order.move_id)
        .execute(conn)?;
    if let Some(existing) = existing_document(conn, order)? {
        return Ok(Reservable::Existing(Box::new(existing)));
    }
    let IssuingCompany { company, certificate_id, held } = issuing_company(conn, order.company_id)?;
    let company_rut: Rut = company.rut.parse().map_err(AppError::internal)?;
    if order.request.issuer.rut.trim().parse::<Rut>().ok() != Some(company_rut) {
        return Err(AppError::validation(Message::issuer_rut_differs(
            "document.issuer.rut",
            &order.request.issuer.rut,
            company.id,
            &company.rut,
        )));
    }
    let signer = keys.signer_of_row(conn, company.id, certificate_id)?;
    let ask = folios::Ask {
        company_id: company.id,
        move_id: order.move_id,
        dte_type: order.dte_type,
        chosen: order.folio,
        request: &order.request_json,
        now,
        lease_until,
    };
    Ok(match folios::reserve(conn, &ask)? {
        folios::Hold::Busy => Reservable::Busy,
        folios::Hold::Taken(reservation) => {
            let caf = keys.caf_of_row(conn, reservation.caf_id)?;
            Reservable::Ready(Box::new(Reserved {
                reservation,
                caf,
                company,
                company_rut,
                signer,
                certificate_id,
                held,
            }))
        }
    })
}

/// The company, the id of its active certificate and its contingency switch, in one read.
struct IssuingCompany {
    company: Company,
    certificate_id: Option<i32>,
    held: bool,
}

fn issuing_company(conn: &mut PgConnection, company_id: i32) -> AppResult<IssuingCompany> {
    let certificate = dte_certificate::table
        .filter(dte_certificate::company_id.eq(dte_company::id))
        .filter(dte_certificate::active.eq(true))
        .select(dte_certificate::id)
        .single_value();
    let switch = dte_contingency::table
        .filter(dte_contingency::company_id.eq(dte_company::id))
        .select(dte_contingency::enabled)
        .single_value();
    let found: Option<(Company, Option<i32>, Option<bool>)> = dte_company::table
        .find(company_id)
        .select((Company::as_select(), certificate, switch))
        .first(conn)
        .optional()?;
    match found {
        Some((company, certificate_id, held)) => {
            Ok(IssuingCompany { company, certificate_id, held: held.unwrap_or(false) })
        }
        // The same refusal as every other call naming an unknown company.
        None => company::require(conn, company_id).map(|company| IssuingCompany {
            company,
            certificate_id: None,
            held: false,
        }),
    }
}

/// The first key of the advisory lock that makes the calls for one move take turns.
const MOVE_LOCK: i32 = 7412;

fn lock_move(conn: &mut PgConnection, move_id: i32) -> AppResult<()> {
    lock_moves(conn, &[move_id])
}

/// Takes the locks of several moves in one statement, in ascending order, so two calls
/// that lock overlapping moves cannot deadlock.
fn lock_moves(conn: &mut PgConnection, move_ids: &[i32]) -> AppResult<()> {
    diesel::sql_query(
        "SELECT pg_advisory_xact_lock($1, m) FROM (SELECT m FROM unnest($2::int4[]) AS m ORDER BY m) AS moves",
    )
    .bind::<diesel::sql_types::Int4, _>(MOVE_LOCK)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Int4>, _>(move_ids)
    .execute(conn)?;
    Ok(())
}

fn existing_document(conn: &mut PgConnection, order: &Order) -> AppResult<Option<DocumentSummary>> {
    let Some(existing) = document::summary_by_move(conn, order.move_id)? else { return Ok(None) };
    if existing.company_id != order.company_id {
        return Err(AppError::validation(Message::move_other_company(order.move_id, existing.company_id)));
    }
    Ok(Some(existing))
}

/// The CPU work, with no connection held: the TED with the CAF's key, the document's
/// signature and schema check, and the envelope's when the document goes out now.
fn stamp(keys: &Keys, order: &Order, reserved: &Reserved, own_envelope: bool, now: Timestamp) -> AppResult<Stamped> {
    let folio = reserved.reservation.folio.value();
    let signed = build_signed_dte(&order.request, folio, &reserved.caf, &reserved.signer, &keys.schemas, now)
        .map_err(|e| engine_error("document", e))?;
    let envelope = match reserved.held || !own_envelope {
        true => None,
        false => Some(envelope_xml(keys, &reserved.signer, &reserved.company, std::slice::from_ref(&signed), now)?),
    };
    Ok(Stamped { signed, envelope })
}

/// The second transaction: the reservation becomes the document (with its envelope, its
/// transitions and the audit entry), or the held copy when the company is in contingency.
#[allow(clippy::too_many_arguments)]
fn store(
    conn: &mut PgConnection,
    keys: &Keys,
    actor: &Actor,
    order: &Order,
    reserved: &Reserved,
    stamped: Stamped,
    now: Timestamp,
    lease_until: Timestamp,
) -> AppResult<Prepared> {
    lock_move(conn, order.move_id)?;
    let Stamped { signed, envelope } = stamped;
    if !folios::complete(conn, &reserved.reservation)? {
        // The reservation lapsed and another call took the folio over: its document is the one.
        return Ok(match existing_document(conn, order)? {
            Some(doc) => Prepared::Existing(doc),
            None => Prepared::TakenOver,
        });
    }
    let company = &reserved.company;
    // The switch may have moved while the document was stamped; this read decides.
    let held = contingency::is_enabled(conn, company.id)?;
    // The envelope is stored first, so the document is inserted once, in its state.
    let xml = match (held, envelope) {
        (true, _) => None,
        (false, Some(xml)) => Some(Bytes::from(xml)),
        // Reserved in contingency, which has ended since: the envelope is built now.
        (false, None) => {
            Some(Bytes::from(envelope_xml(keys, &reserved.signer, company, std::slice::from_ref(&signed), now)?))
        }
    };
    let envelope = xml
        .map(|xml| crate::owners::envelope::insert(conn, company.id, &xml, 1, now).map(|id| (id, xml)))
        .transpose()?;
    let born = match &envelope {
        Some((envelope_id, _)) => document::Born::Sending { envelope_id: *envelope_id, lease_until },
        None => document::Born::Held,
    };
    let issued = Issued { actor, order, signed: &signed };
    let document_id = insert_issued(conn, company, std::slice::from_ref(&issued), born, now)?
        .first()
        .copied()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a stored document came back without its id")))?;
    let Some((envelope_id, xml)) = envelope else {
        return Ok(Prepared::Held(document::summary(conn, document_id)?));
    };
    Ok(Prepared::ToUpload { document_id, envelope_id, xml })
}

/// An issued document on its way to the store, with the call it came from.
struct Issued<'a> {
    actor: &'a Actor,
    order: &'a Order,
    signed: &'a SignedDte,
}

/// Stores issued documents of one company, all born in the same state, with their audit
/// entries (and their contingency rows when held): a few statements whatever their number.
/// Their reservations are completed and their envelope, if any, stored. Returns their ids
/// in the order given.
fn insert_issued(
    conn: &mut PgConnection,
    company: &Company,
    issued: &[Issued<'_>],
    born: document::Born,
    now: Timestamp,
) -> AppResult<Vec<i32>> {
    let held = matches!(born, document::Born::Held);
    let documents: Vec<document::NewDocument<'_>> = issued
        .iter()
        .map(|one| document::NewDocument {
            move_id: one.order.move_id,
            signed: one.signed,
            request_json: one.order.request_json.as_bytes(),
        })
        .collect();
    let document_ids = document::create_all(conn, company.id, &documents, born, now)?;
    let entries: Vec<(&Actor, crate::owners::audit::Entry<'_>)> = issued
        .iter()
        .zip(&document_ids)
        .map(|(one, &document_id)| {
            let entry = crate::owners::audit::Entry {
                action: "document.send",
                company_id: Some(company.id),
                target_model: Some("dte.document"),
                target_id: Some(document_id),
                details: serde_json::json!({
                    "move_id": one.order.move_id,
                    "dte_type": one.order.dte_type.as_str(),
                    "folio": one.signed.folio,
                    "held": held,
                }),
            };
            (one.actor, entry)
        })
        .collect();
    crate::owners::audit::record_all(conn, now, &entries)?;
    if held {
        let folios: Vec<String> = issued.iter().map(|one| one.signed.folio.to_string()).collect();
        let names: Vec<String> =
            issued.iter().map(|one| format!("DTE {}-{}", one.order.dte_type, one.signed.folio)).collect();
        let rows: Vec<NewPendingDte<'_>> = issued
            .iter()
            .zip(&document_ids)
            .zip(folios.iter().zip(&names))
            .map(|((one, &document_id), (folio, name))| NewPendingDte {
                dte_type: one.order.dte_type.as_str(),
                folio,
                rut_emisor: &company.rut,
                xml_content: &one.signed.xml,
                stored_date: now,
                company_id: company.id,
                move_id: one.order.move_id,
                display_name: name,
                document_id: Some(document_id),
            })
            .collect();
        contingency::hold(conn, &rows)?;
    }
    Ok(document_ids)
}

/// The sweep's part: reservations whose call died between reserving and storing are
/// issued from their stored request, so the folio is never lost. One whose request
/// cannot be issued any more becomes a spare folio.
pub async fn complete_lapsed(ctx: &AppContext) -> AppResult<usize> {
    let now = ctx.clock.now();
    let lapsed = ctx.db.run(move |conn| folios::lapsed(conn, now, LAPSED_BATCH)).await?;
    let mut completed = 0;
    for row in lapsed {
        let (Some(move_id), Some(request_json)) = (row.move_id, row.request.clone()) else { continue };
        let order = match Order::read(move_id, row.company_id, None, request_json) {
            Ok(order) => order,
            Err(error) => {
                tracing::error!(
                    move_id,
                    folio = row.folio,
                    error = %error,
                    "stored request cannot be issued: folio kept as a spare"
                );
                let id = row.id;
                ctx.db.run(move |conn| folios::give_up(conn, id, now)).await?;
                continue;
            }
        };
        tracing::warn!(move_id, folio = row.folio, "issuing a document whose call died after reserving its folio");
        // One by one, each in its own envelope: the sweep does not wait for company.
        match issue(ctx, &Actor::system(), order, Duration::ZERO, Duration::ZERO).await {
            Ok(_) => completed += 1,
            Err(error) => {
                tracing::error!(move_id, folio = row.folio, error = %error, "lapsed reservation not completed")
            }
        }
    }
    Ok(completed)
}

/// The signed EnvioDTE of `documents`, with the company's cover.
pub fn envelope_xml(
    keys: &Keys,
    signer: &Signer,
    company: &Company,
    documents: &[SignedDte],
    now: Timestamp,
) -> AppResult<Vec<u8>> {
    let caratula = Caratula::for_sii(company.rut.parse().map_err(AppError::internal)?, resolution(company)?)
        .map_err(|e| engine_error("company", e))?;
    build_envio(documents, &caratula, signer, &keys.schemas, now).map_err(|e| engine_error("envelope", e))
}

/// The company's SII resolution, which every envelope's cover states.
fn resolution(company: &Company) -> AppResult<Resolution> {
    let date =
        company.resolution_date.ok_or_else(|| AppError::user(Message::company_no_resolution_date(company.id)))?;
    Ok(Resolution { number: u32::try_from(company.resolution_number).unwrap_or(0), date })
}
