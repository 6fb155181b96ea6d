//! Rows of the sidecar's tables as diesel sees them.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::dte_sidecar::{
    dte_audit_log, dte_backup, dte_company, dte_contingency, dte_contingency_pending, dte_failed_queue,
};
use crate::clock::Timestamp;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = dte_company, check_for_backend(diesel::pg::Pg))]
pub struct Company {
    pub id: i32,
    pub rut: String,
    pub name: String,
    pub resolution_number: i32,
    pub resolution_date: Option<NaiveDate>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dte_backup, check_for_backend(diesel::pg::Pg))]
pub struct Backup {
    pub id: i32,
    pub dte_type: String,
    pub folio: String,
    pub rut_emisor: String,
    pub xml_content: Vec<u8>,
    pub sha256: String,
    pub track_id: Option<String>,
    pub sent_date: Timestamp,
    pub company_id: i32,
    pub move_id: i32,
    pub display_name: Option<String>,
    pub xml_filename: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = dte_backup)]
pub struct NewBackup<'a> {
    pub dte_type: &'a str,
    pub folio: &'a str,
    pub rut_emisor: &'a str,
    pub xml_content: &'a [u8],
    pub sha256: &'a str,
    pub track_id: Option<&'a str>,
    pub sent_date: Timestamp,
    pub company_id: i32,
    pub move_id: i32,
    pub display_name: &'a str,
    pub xml_filename: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dte_failed_queue, check_for_backend(diesel::pg::Pg))]
pub struct FailedEntry {
    pub id: i32,
    pub dte_type: String,
    pub folio: String,
    pub rut_emisor: String,
    pub xml_content: Vec<u8>,
    pub error_type: String,
    pub error_message: String,
    pub retry_count: i32,
    pub max_retries: i32,
    pub failed_date: Timestamp,
    pub last_retry_date: Option<Timestamp>,
    pub next_retry_date: Option<Timestamp>,
    pub state: String,
    pub success_track_id: Option<String>,
    pub success_date: Option<Timestamp>,
    pub retry_history: String,
    pub company_id: i32,
    pub move_id: i32,
    pub display_name: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = dte_failed_queue)]
pub struct NewFailedEntry<'a> {
    pub dte_type: &'a str,
    pub folio: &'a str,
    pub rut_emisor: &'a str,
    pub xml_content: &'a [u8],
    pub error_type: &'a str,
    pub error_message: &'a str,
    pub retry_count: i32,
    pub max_retries: i32,
    pub failed_date: Timestamp,
    pub next_retry_date: Option<Timestamp>,
    pub state: &'a str,
    pub retry_history: &'a str,
    pub company_id: i32,
    pub move_id: i32,
    pub display_name: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dte_contingency, check_for_backend(diesel::pg::Pg))]
pub struct Contingency {
    pub id: i32,
    pub enabled: bool,
    pub reason: Option<String>,
    pub comment: Option<String>,
    pub enabled_date: Option<Timestamp>,
    pub enabled_by: Option<i32>,
    pub disabled_date: Option<Timestamp>,
    pub disabled_by: Option<i32>,
    pub company_id: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = dte_contingency_pending, check_for_backend(diesel::pg::Pg))]
pub struct PendingDte {
    pub id: i32,
    pub dte_type: String,
    pub folio: String,
    pub rut_emisor: String,
    pub xml_content: Vec<u8>,
    pub stored_date: Timestamp,
    pub uploaded: bool,
    pub uploaded_date: Option<Timestamp>,
    pub track_id: Option<String>,
    pub upload_error: Option<String>,
    pub company_id: i32,
    pub move_id: i32,
    pub display_name: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = dte_contingency_pending)]
pub struct NewPendingDte<'a> {
    pub dte_type: &'a str,
    pub folio: &'a str,
    pub rut_emisor: &'a str,
    pub xml_content: &'a [u8],
    pub stored_date: Timestamp,
    pub company_id: i32,
    pub move_id: i32,
    pub display_name: &'a str,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = dte_audit_log)]
pub struct NewAuditEntry<'a> {
    pub created_at: Timestamp,
    pub company_id: Option<i32>,
    pub actor: &'a str,
    pub actor_uid: Option<i32>,
    pub action: &'a str,
    pub target_model: Option<&'a str>,
    pub target_id: Option<i32>,
    pub details: String,
}
