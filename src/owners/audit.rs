//! The append-only audit log: switches and manual actions, with who, what, when and
//! for which company.

use diesel::prelude::*;
use diesel::PgConnection;
use serde_json::Value;

use crate::clock::Timestamp;
use crate::error::AppResult;
use crate::store::models::NewAuditEntry;
use crate::store::schema::dte_sidecar::dte_audit_log;

/// Who is acting: the API client, and the Odoo user behind it when Odoo says so.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Name of the API key (`odoo`), or `system` for the sidecar's own jobs.
    pub name: String,
    /// The Odoo user id from the call's context.
    pub uid: Option<i32>,
    /// The companies the caller acts for (Odoo's `allowed_company_ids`); all when none.
    pub companies: Option<Vec<i64>>,
}

impl Actor {
    pub fn system() -> Self {
        Self { name: "system".into(), uid: None, companies: None }
    }

    /// Whether the caller may see and act on records of `company_id`.
    pub fn may_act_for(&self, company_id: i32) -> bool {
        self.companies.as_ref().is_none_or(|ids| ids.contains(&i64::from(company_id)))
    }
}

/// One entry, written in the caller's transaction.
#[derive(Debug)]
pub struct Entry<'a> {
    pub action: &'a str,
    pub company_id: Option<i32>,
    pub target_model: Option<&'a str>,
    pub target_id: Option<i32>,
    pub details: Value,
}

pub fn record(conn: &mut PgConnection, now: Timestamp, actor: &Actor, entry: Entry<'_>) -> AppResult<()> {
    record_all(conn, now, &[(actor, entry)])
}

/// Several entries in one statement, written in the caller's transaction.
pub fn record_all(conn: &mut PgConnection, now: Timestamp, entries: &[(&Actor, Entry<'_>)]) -> AppResult<()> {
    let rows: Vec<NewAuditEntry<'_>> = entries
        .iter()
        .map(|(actor, entry)| NewAuditEntry {
            created_at: now,
            company_id: entry.company_id,
            actor: &actor.name,
            actor_uid: actor.uid,
            action: entry.action,
            target_model: entry.target_model,
            target_id: entry.target_id,
            details: entry.details.to_string(),
        })
        .collect();
    diesel::insert_into(dte_audit_log::table).values(&rows).execute(conn)?;
    Ok(())
}
