//! The one document state machine every flow goes through, and the one writer of
//! `dte_document.state`. Each move has one document; each change of state is checked
//! against the allowed transitions (the states allowed to make it are in the statement's
//! `WHERE`), timestamped, kept in `dte_document_transition` and logged as one line. The states and the moves they allow
//! are [`DocState`] (`store::state`).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::PgConnection;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use chrono::TimeDelta;

use crate::clock::Timestamp;
use crate::dte::SignedDte;
use crate::error::{AppError, AppResult};
use crate::message::Message;
use crate::store::models::{DocumentRow, DocumentSummary};
use crate::store::schema::dte_sidecar::{dte_document, dte_document_transition};
pub use crate::store::state::DocState;

/// Extra columns a transition sets along with the state.
#[derive(Debug, Default)]
pub struct Change<'a> {
    pub track_id: Option<&'a str>,
    pub sii_code: Option<&'a str>,
    /// The English, for logs and support, with [`Change::said`] beside it.
    pub message: Option<&'a str>,
    /// What a person reads, as a code and its parameters.
    pub said: Option<&'a Message>,
    pub envelope_id: Option<i32>,
    /// `Some(None)` clears the lease.
    pub lease_until: Option<Option<Timestamp>>,
}

/// Moves a document to `to`. Returns false, changing nothing, when its current state may
/// not become `to` (another worker got there first); the caller decides whether that
/// matters.
pub fn transition(
    conn: &mut PgConnection,
    document_id: i32,
    to: DocState,
    reason: &str,
    change: Change<'_>,
    now: Timestamp,
) -> AppResult<bool> {
    Ok(!transition_many(conn, &[document_id], to, reason, change, now)?.is_empty())
}

/// One document [`transition_many`] moved.
#[derive(QueryableByName)]
struct Moved {
    #[diesel(sql_type = diesel::sql_types::Int4)]
    id: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    from_state: String,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    company_id: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    dte_type: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    folio: i64,
}

/// Moves every document of `ids` whose state may become `to`, in one statement, and
/// returns the ones that moved. Each move is recorded and logged on its own.
pub fn transition_many(
    conn: &mut PgConnection,
    ids: &[i32],
    to: DocState,
    reason: &str,
    change: Change<'_>,
    now: Timestamp,
) -> AppResult<Vec<i32>> {
    use diesel::sql_types::{Array, Bool, Int4, Nullable, Text, Timestamp as SqlTimestamp};
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let allowed: Vec<&str> = DocState::sources(to).into_iter().map(DocState::as_str).collect();
    // One round trip: the rows are locked in id order (no deadlock between two callers),
    // moved only from an allowed state, and each move is recorded with the state it left.
    let current: Vec<Moved> = diesel::sql_query(
        "WITH moved AS ( \
           UPDATE dte_sidecar.dte_document d SET state = $1, state_changed_at = $2, \
             track_id = COALESCE($3, d.track_id), sii_code = COALESCE($4, d.sii_code), \
             message = COALESCE($5, d.message), envelope_id = COALESCE($6, d.envelope_id), \
             message_code = COALESCE($12, d.message_code), \
             message_params = CASE WHEN $12 IS NULL THEN d.message_params ELSE $13 END, \
             lease_until = CASE WHEN $7 THEN $8 ELSE d.lease_until END \
           FROM (SELECT id, state FROM dte_sidecar.dte_document WHERE id = ANY($9) AND state = ANY($10) \
                 ORDER BY id FOR UPDATE) old \
           WHERE d.id = old.id AND d.state = ANY($10) \
           RETURNING d.id, old.state AS from_state, d.company_id, d.dte_type, d.folio), \
         logged AS ( \
           INSERT INTO dte_sidecar.dte_document_transition (document_id, from_state, to_state, at, reason) \
           SELECT id, from_state, $1, $2, $11 FROM moved) \
         SELECT id, from_state, company_id, dte_type, folio FROM moved ORDER BY id",
    )
    .bind::<Text, _>(to.as_str())
    .bind::<SqlTimestamp, _>(now)
    .bind::<Nullable<Text>, _>(change.track_id)
    .bind::<Nullable<Text>, _>(change.sii_code)
    .bind::<Nullable<Text>, _>(change.message)
    .bind::<Nullable<Int4>, _>(change.envelope_id)
    .bind::<Bool, _>(change.lease_until.is_some())
    .bind::<Nullable<SqlTimestamp>, _>(change.lease_until.flatten())
    .bind::<Array<Int4>, _>(ids)
    .bind::<Array<Text>, _>(&allowed)
    .bind::<Text, _>(reason)
    .bind::<Nullable<Text>, _>(change.said.map(Message::code))
    .bind::<Nullable<Text>, _>(change.said.map(|said| Value::Object(said.params().clone()).to_string()))
    .load(conn)?;
    let moving: Vec<i32> = current.iter().map(|m| m.id).collect();
    for Moved { id, from_state: from, company_id: company, dte_type, folio } in &current {
        crate::metrics::transition(to.as_str());
        tracing::info!(
            document = id,
            company,
            dte_type = %dte_type,
            folio,
            from = from.as_str(),
            to = to.as_str(),
            reason,
            "document transition"
        );
    }
    Ok(moving)
}

/// The state a new document is stored in.
#[derive(Clone, Copy)]
pub enum Born {
    /// Ready to upload in its envelope, leased to the call that uploads it.
    Sending { envelope_id: i32, lease_until: Timestamp },
    /// Kept for later: the company is in contingency.
    Held,
}

/// A new document of a move, stamped and signed, with the request it was made from.
pub struct NewDocument<'a> {
    pub move_id: i32,
    pub signed: &'a SignedDte,
    pub request_json: &'a [u8],
}

/// Stores new documents of one company, stamped and signed, all born in the same state (one
/// document, or the documents of one envelope), with one statement for the documents and
/// one for their births (`generated`, then that state), whatever their number. Their ids
/// come back in the order given.
pub fn create_all(
    conn: &mut PgConnection,
    company_id: i32,
    documents: &[NewDocument<'_>],
    born: Born,
    now: Timestamp,
) -> AppResult<Vec<i32>> {
    let (state, envelope_id, lease_until, reason) = match born {
        Born::Sending { envelope_id, lease_until } => {
            (DocState::Sending, Some(envelope_id), Some(lease_until), "stored before upload")
        }
        Born::Held => (DocState::Contingency, None, None, "company in contingency: kept for later"),
    };
    let rows: Vec<_> = documents
        .iter()
        .map(|document| {
            let signed = document.signed;
            (
                dte_document::company_id.eq(company_id),
                dte_document::move_id.eq(document.move_id),
                dte_document::dte_type.eq(signed.document_type.code().to_string()),
                dte_document::folio.eq(signed.folio),
                dte_document::state.eq(state.as_str()),
                dte_document::request.eq(String::from_utf8_lossy(document.request_json).into_owned()),
                dte_document::xml_content.eq(&signed.xml),
                dte_document::sha256.eq(hex::encode(Sha256::digest(&signed.xml))),
                dte_document::issue_date.eq(signed.issue_date),
                dte_document::receiver_rut.eq(signed.receiver_rut.to_string()),
                dte_document::total.eq(signed.total),
                dte_document::envelope_id.eq(envelope_id),
                dte_document::lease_until.eq(lease_until),
                dte_document::created_at.eq(now),
                dte_document::state_changed_at.eq(now),
            )
        })
        .collect();
    let inserted: HashMap<i32, i32> = diesel::insert_into(dte_document::table)
        .values(&rows)
        .returning((dte_document::move_id, dte_document::id))
        .get_results::<(i32, i32)>(conn)?
        .into_iter()
        .collect();
    let ids = documents
        .iter()
        .map(|document| {
            inserted.get(&document.move_id).copied().ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("the document of move {} was not stored", document.move_id))
            })
        })
        .collect::<AppResult<Vec<i32>>>()?;
    record_births(conn, &ids, &[(DocState::Generated, "stamped and signed"), (state, reason)], now)?;
    Ok(ids)
}

/// Records how new documents came to their first stored state: `path` lists the states
/// they went through inside the transaction that inserted them (`generated`, then the
/// state their rows were inserted in), all in one statement.
fn record_births(
    conn: &mut PgConnection,
    document_ids: &[i32],
    path: &[(DocState, &str)],
    now: Timestamp,
) -> AppResult<()> {
    let mut steps = Vec::with_capacity(path.len());
    let mut from: Option<DocState> = None;
    for &(state, reason) in path {
        if from.is_some_and(|from| !from.may_become(state)) {
            return Err(AppError::internal(anyhow::anyhow!("a new document cannot go from {from:?} to {state:?}")));
        }
        steps.push((from, state, reason));
        from = Some(state);
    }
    let rows: Vec<_> = document_ids
        .iter()
        .flat_map(|&document_id| {
            steps.iter().map(move |&(from, state, reason)| {
                (
                    dte_document_transition::document_id.eq(document_id),
                    dte_document_transition::from_state.eq(from.map(DocState::as_str)),
                    dte_document_transition::to_state.eq(state.as_str()),
                    dte_document_transition::at.eq(now),
                    dte_document_transition::reason.eq(reason),
                )
            })
        })
        .collect();
    diesel::insert_into(dte_document_transition::table).values(&rows).execute(conn)?;
    for &document_id in document_ids {
        for &(_, state, reason) in &steps {
            crate::metrics::transition(state.as_str());
            tracing::info!(document = document_id, to = state.as_str(), reason, "document transition");
        }
    }
    Ok(())
}

pub fn find_by_move(conn: &mut PgConnection, move_id: i32) -> AppResult<Option<DocumentRow>> {
    Ok(dte_document::table
        .filter(dte_document::move_id.eq(move_id))
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut PgConnection, document_id: i32) -> AppResult<DocumentRow> {
    Ok(dte_document::table.find(document_id).select(DocumentRow::as_select()).first(conn)?)
}

/// The move's document as Odoo is told about it (no request, no XML read).
pub fn summary_by_move(conn: &mut PgConnection, move_id: i32) -> AppResult<Option<DocumentSummary>> {
    Ok(dte_document::table
        .filter(dte_document::move_id.eq(move_id))
        .select(DocumentSummary::as_select())
        .first(conn)
        .optional()?)
}

pub fn summary(conn: &mut PgConnection, document_id: i32) -> AppResult<DocumentSummary> {
    Ok(dte_document::table.find(document_id).select(DocumentSummary::as_select()).first(conn)?)
}

/// What Odoo shows for a document.
pub fn view(document: &DocumentSummary) -> Value {
    let or_false = |v: Option<&str>| v.map_or(Value::Bool(false), |s| json!(s));
    json!({
        "document_id": document.id,
        "move_id": document.move_id,
        "company_id": document.company_id,
        "dte_type": document.dte_type,
        "folio": document.folio,
        "state": document.state,
        "track_id": or_false(document.track_id.as_deref()),
        "sii_code": or_false(document.sii_code.as_deref()),
        "message": or_false(document.message.as_deref()),
        "message_code": or_false(document.message_code.as_deref()),
        "message_params": document
            .message_params
            .as_deref()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .unwrap_or(Value::Bool(false)),
        "state_changed_at": crate::clock::odoo_time(document.state_changed_at),
    })
}

/// Claims each upload whose lease ran out by extending its lease, so that one replica's
/// sweep reconciles it; answers their envelopes. A document another transaction holds (its
/// upload being recorded, another replica's sweep) is skipped, not waited for.
pub fn claim_stale_uploads(conn: &mut PgConnection, now: Timestamp, lease: TimeDelta) -> AppResult<Vec<Option<i32>>> {
    conn.transaction(|conn| {
        let ids: Vec<i32> = dte_document::table
            .filter(dte_document::state.eq(DocState::Sending.as_str()))
            .filter(dte_document::lease_until.lt(now))
            .order(dte_document::id)
            .select(dte_document::id)
            .for_update()
            .skip_locked()
            .load(conn)?;
        Ok(diesel::update(dte_document::table.filter(dte_document::id.eq_any(ids)))
            .set(dte_document::lease_until.eq(now + lease))
            .returning(dte_document::envelope_id)
            .get_results(conn)?)
    })
}
