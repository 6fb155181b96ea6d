//! Companies the sidecar issues documents for (keyed by Odoo's res.company id).

use diesel::prelude::*;
use diesel::PgConnection;

use crate::dte::Rut;
use crate::error::{AppError, AppResult};
use crate::message::{Message, Shown};
use crate::store::models::Company;
use crate::store::schema::dte_sidecar::dte_company;

/// Creates or updates a company, as given; answers whether it existed before. A company's
/// RUT does not change.
pub fn upsert(conn: &mut PgConnection, company: &Company) -> AppResult<bool> {
    let existing = find(conn, company.id)?;
    if let Some(old) = &existing {
        if old.rut != company.rut {
            return Err(AppError::validation(Message::company_rut_fixed(old.id, &old.rut)));
        }
    }
    let company =
        Company { created_at: existing.as_ref().map_or(company.created_at, |c| c.created_at), ..company.clone() };
    diesel::insert_into(dte_company::table)
        .values(&company)
        .on_conflict(dte_company::id)
        .do_update()
        .set(&company)
        .execute(conn)?;
    Ok(existing.is_some())
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
