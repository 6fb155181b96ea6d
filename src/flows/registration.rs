//! Registering a company: its row, its contingency switch (off), and the audit line, in
//! one transaction.

use chrono::NaiveDate;
use diesel::Connection;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::context::AppContext;
use crate::dte::Rut;
use crate::error::{AppError, AppResult};
use crate::message::Message;
use crate::owners::audit::{self, Actor, Entry};
use crate::owners::{company, contingency};
use crate::store::models::Company;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterParams {
    pub company_id: i32,
    pub rut: Rut,
    pub name: String,
    #[serde(default)]
    pub resolution_number: Option<i32>,
    #[serde(default)]
    pub resolution_date: Option<NaiveDate>,
}

/// Creates or updates a company; its contingency switch comes with it.
pub async fn register(ctx: &AppContext, actor: Actor, p: RegisterParams) -> AppResult<Value> {
    if p.company_id <= 0 {
        return Err(AppError::validation(Message::company_id_invalid()));
    }
    let name = p.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation(Message::company_name_length(100)));
    }
    if matches!(p.resolution_number, Some(n) if n < 0) {
        return Err(AppError::validation(Message::company_resolution_negative()));
    }
    let now = ctx.clock.now();
    ctx.db
        .run(move |conn| {
            conn.transaction(|conn| {
                let company = Company {
                    id: p.company_id,
                    rut: p.rut.to_string(),
                    name,
                    resolution_number: p.resolution_number.unwrap_or(0),
                    resolution_date: p.resolution_date,
                    created_at: now,
                    updated_at: now,
                };
                let existed = company::upsert(conn, &company)?;
                contingency::ensure_switch(conn, company.id)?;
                let action = if existed { "company.update" } else { "company.register" };
                audit::record(
                    conn,
                    now,
                    &actor,
                    Entry {
                        action,
                        company_id: Some(company.id),
                        target_model: Some("dte.company"),
                        target_id: Some(company.id),
                        details: json!({"rut": company.rut, "name": company.name}),
                    },
                )?;
                Ok(json!(company.id))
            })
        })
        .await
}
