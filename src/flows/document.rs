//! The one document state machine every flow goes through. Each move has one document;
//! each change of state is checked against the allowed transitions, timestamped, kept in
//! `dte_document_transition` and logged as one line.
//!
//! ```text
//! generated ─► sending ─► sent ─► accepted | accepted_with_objections | rejected
//!     │           │  ▲
//!     ▼           ▼  │
//! contingency   failed ─► abandoned
//! ```
//! `contingency` and `failed` go back to `sending` when the upload is tried again;
//! `abandoned` goes back to `failed` when a person requeues it.

use diesel::prelude::*;
use diesel::PgConnection;
use serde::Serialize;
use serde_json::{json, Value};

use crate::clock::Timestamp;
use crate::error::AppResult;
use crate::store::models::DocumentRow;
use crate::store::schema::dte_sidecar::{dte_document, dte_document_transition};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocState {
    Generated,
    Contingency,
    Sending,
    Sent,
    Accepted,
    AcceptedWithObjections,
    Rejected,
    Failed,
    Abandoned,
}

impl DocState {
    pub const ALL: [DocState; 9] = [
        Self::Generated,
        Self::Contingency,
        Self::Sending,
        Self::Sent,
        Self::Accepted,
        Self::AcceptedWithObjections,
        Self::Rejected,
        Self::Failed,
        Self::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generated => "generated",
            Self::Contingency => "contingency",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Accepted => "accepted",
            Self::AcceptedWithObjections => "accepted_with_objections",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The SII has decided; nothing will change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Accepted | Self::AcceptedWithObjections | Self::Rejected)
    }

    /// The SII has (or had) the document: it must never be uploaded again.
    pub fn reached_sii(self) -> bool {
        matches!(self, Self::Sent) || self.is_final()
    }

    pub fn may_become(self, to: DocState) -> bool {
        use DocState::*;
        matches!(
            (self, to),
            (Generated, Sending | Contingency)
                | (Contingency, Sending)
                | (Sending, Sending | Sent | Failed)
                | (Failed, Sending | Sent | Failed | Abandoned)
                | (Abandoned, Failed | Sent)
                | (Sent, Accepted | AcceptedWithObjections | Rejected)
        )
    }
}

/// Extra columns a transition sets along with the state.
#[derive(Debug, Default)]
pub struct Change<'a> {
    pub track_id: Option<&'a str>,
    pub sii_code: Option<&'a str>,
    pub message: Option<&'a str>,
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
    let allowed: Vec<&str> = DocState::ALL.iter().filter(|s| s.may_become(to)).map(|s| s.as_str()).collect();
    let current: Vec<(i32, String, i32, String, i64)> = dte_document::table
        .filter(dte_document::id.eq_any(ids))
        .filter(dte_document::state.eq_any(&allowed))
        .select((
            dte_document::id,
            dte_document::state,
            dte_document::company_id,
            dte_document::dte_type,
            dte_document::folio,
        ))
        .order(dte_document::id)
        .for_update()
        .load(conn)?;
    if current.is_empty() {
        return Ok(Vec::new());
    }
    let moving: Vec<i32> = current.iter().map(|c| c.0).collect();
    diesel::sql_query(
        "UPDATE dte_sidecar.dte_document SET state = $1, state_changed_at = $2, \
           track_id = COALESCE($3, track_id), sii_code = COALESCE($4, sii_code), message = COALESCE($5, message), \
           envelope_id = COALESCE($6, envelope_id), lease_until = CASE WHEN $7 THEN $8 ELSE lease_until END \
         WHERE id = ANY($9)",
    )
    .bind::<Text, _>(to.as_str())
    .bind::<SqlTimestamp, _>(now)
    .bind::<Nullable<Text>, _>(change.track_id)
    .bind::<Nullable<Text>, _>(change.sii_code)
    .bind::<Nullable<Text>, _>(change.message)
    .bind::<Nullable<Int4>, _>(change.envelope_id)
    .bind::<Bool, _>(change.lease_until.is_some())
    .bind::<Nullable<SqlTimestamp>, _>(change.lease_until.flatten())
    .bind::<Array<Int4>, _>(&moving)
    .execute(conn)?;
    let rows: Vec<_> = current
        .iter()
        .map(|(id, from, ..)| {
            (
                dte_document_transition::document_id.eq(*id),
                dte_document_transition::from_state.eq(from.as_str()),
                dte_document_transition::to_state.eq(to.as_str()),
                dte_document_transition::at.eq(now),
                dte_document_transition::reason.eq(reason),
            )
        })
        .collect();
    diesel::insert_into(dte_document_transition::table).values(&rows).execute(conn)?;
    for (id, from, company, dte_type, folio) in &current {
        crate::metrics::transition(to.as_str());
        tracing::info!(document = id, company, dte_type = %dte_type, folio, from = from.as_str(), to = to.as_str(), reason, "document transition");
    }
    Ok(moving)
}

/// Records the first state of a new document.
pub fn record_birth(
    conn: &mut PgConnection,
    document_id: i32,
    state: DocState,
    reason: &str,
    now: Timestamp,
) -> AppResult<()> {
    diesel::insert_into(dte_document_transition::table)
        .values((
            dte_document_transition::document_id.eq(document_id),
            dte_document_transition::to_state.eq(state.as_str()),
            dte_document_transition::at.eq(now),
            dte_document_transition::reason.eq(reason),
        ))
        .execute(conn)?;
    crate::metrics::transition(state.as_str());
    tracing::info!(document = document_id, to = state.as_str(), reason, "document transition");
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

/// What Odoo shows for a document.
pub fn view(document: &DocumentRow) -> Value {
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
        "state_changed_at": document.state_changed_at.format("%Y-%m-%d %H:%M:%S").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_that_reached_the_sii_is_never_sent_again() {
        for state in [DocState::Sent, DocState::Accepted, DocState::AcceptedWithObjections, DocState::Rejected] {
            assert!(state.reached_sii());
            assert!(!state.may_become(DocState::Sending), "{state:?}");
        }
        assert!(DocState::Failed.may_become(DocState::Sending));
        assert!(!DocState::Abandoned.may_become(DocState::Sending), "requeue first");
        assert!(!DocState::Generated.may_become(DocState::Sent));
        for state in DocState::ALL {
            assert_eq!(DocState::parse(state.as_str()), Some(state));
        }
    }
}
