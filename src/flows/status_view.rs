//! `account.move.get_dte_status`: what Odoo shows on invoices, read from the documents
//! themselves (never a copy that can drift).

use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::context::AppContext;
use crate::error::AppResult;
use crate::owners::document;
use crate::store::models::DocumentSummary;
use crate::store::schema::dte_sidecar::dte_document;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovesParams {
    pub move_ids: Vec<i32>,
}

/// One entry per move that has a document; moves without one are left out.
pub async fn get_dte_status(ctx: &AppContext, actor: crate::owners::audit::Actor, p: MovesParams) -> AppResult<Value> {
    ctx.db
        .run(move |conn| {
            let rows: Vec<DocumentSummary> = dte_document::table
                .filter(dte_document::move_id.eq_any(&p.move_ids))
                .order(dte_document::move_id)
                .select(DocumentSummary::as_select())
                .load(conn)?;
            Ok(Value::Array(rows.iter().filter(|d| actor.may_act_for(d.company_id)).map(document::view).collect()))
        })
        .await
}
