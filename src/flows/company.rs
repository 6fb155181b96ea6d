//! Companies the sidecar issues documents for (keyed by Odoo's res.company id).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;
use serde_json::{json, Value};

use super::audit::{self, Actor, Entry};
use crate::context::AppContext;
use crate::dte::Rut;
use crate::error::{AppError, AppResult};
use crate::message::{Message, Shown};
use crate::store::models::Company;
use crate::store::schema::dte_sidecar::{dte_company, dte_contingency};

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

/// Creates or updates a company; its contingency row comes with it.
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
                let existing = find(conn, p.company_id)?;
                let company = Company {
                    id: p.company_id,
                    rut: p.rut.to_string(),
                    name,
                    resolution_number: p.resolution_number.unwrap_or(0),
                    resolution_date: p.resolution_date,
                    created_at: existing.as_ref().map_or(now, |c| c.created_at),
                    updated_at: now,
                };
                if let Some(old) = &existing {
                    if old.rut != company.rut {
                        return Err(AppError::validation(Message::company_rut_fixed(old.id, &old.rut)));
                    }
                }
                diesel::insert_into(dte_company::table)
                    .values(&company)
                    .on_conflict(dte_company::id)
                    .do_update()
                    .set(&company)
                    .execute(conn)?;
                diesel::insert_into(dte_contingency::table)
                    .values(dte_contingency::company_id.eq(company.id))
                    .on_conflict(dte_contingency::company_id)
                    .do_nothing()
                    .execute(conn)?;
                let action = if existing.is_some() { "company.update" } else { "company.register" };
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

pub fn find(conn: &mut PgConnection, company_id: i32) -> AppResult<Option<Company>> {
    Ok(dte_company::table.find(company_id).select(Company::as_select()).first(conn).optional()?)
}

/// The company, or an error naming `company_id`.
pub fn require(conn: &mut PgConnection, company_id: i32) -> AppResult<Company> {
    find(conn, company_id)?.ok_or_else(|| AppError::validation(Message::company_unknown(company_id)))
}

/// The issuer RUT of a document: the company's, which a given `rut_emisor` must match.
pub fn issuer_rut(company: &Company, given: Option<Rut>) -> AppResult<String> {
    match given {
        Some(rut) if rut.to_string() != company.rut => {
            Err(AppError::validation(Message::issuer_rut_differs("rut_emisor", Shown(rut), company.id, &company.rut)))
        }
        _ => Ok(company.rut.clone()),
    }
}
