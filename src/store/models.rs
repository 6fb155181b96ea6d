//! Rows of the sidecar's tables as diesel sees them.

use super::state::{DocState, EnvelopeState, QueueState};
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
    pub copied_at: Option<Timestamp>,
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
    pub state: QueueState,
    pub success_track_id: Option<String>,
    pub success_date: Option<Timestamp>,
    pub retry_history: String,
    pub company_id: i32,
    pub move_id: i32,
    pub display_name: Option<String>,
    pub document_id: Option<i32>,
    pub envelope_id: Option<i32>,
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
    pub error_code: Option<&'a str>,
    pub error_params: Option<&'a str>,
    pub retry_count: i32,
    pub max_retries: i32,
    pub failed_date: Timestamp,
    pub next_retry_date: Option<Timestamp>,
    pub state: &'a str,
    pub retry_history: &'a str,
    pub company_id: i32,
    pub move_id: i32,
    pub display_name: &'a str,
    pub document_id: Option<i32>,
    pub envelope_id: Option<i32>,
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
    pub document_id: Option<i32>,
    pub envelope_id: Option<i32>,
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
    pub document_id: Option<i32>,
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

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::dte_sidecar::dte_certificate, check_for_backend(diesel::pg::Pg))]
pub struct CertificateRow {
    pub id: i32,
    pub company_id: i32,
    pub subject_rut: String,
    pub holder_name: String,
    pub not_before: Option<Timestamp>,
    pub not_after: Option<Timestamp>,
    pub fingerprint: String,
    pub sealed_pkcs12: Vec<u8>,
    pub sealed_password: Vec<u8>,
    pub active: bool,
    pub loaded_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = super::schema::dte_sidecar::dte_caf, check_for_backend(diesel::pg::Pg))]
pub struct CafRow {
    pub id: i32,
    pub company_id: i32,
    pub dte_type: String,
    pub folio_from: i64,
    pub folio_to: i64,
    pub next_folio: i64,
    pub authorized_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub idk: i32,
    pub sealed_caf: Vec<u8>,
    pub sha256: String,
    pub loaded_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::dte_sidecar::dte_envelope, check_for_backend(diesel::pg::Pg))]
pub struct EnvelopeRow {
    pub id: i32,
    pub company_id: i32,
    pub xml_content: Vec<u8>,
    pub sha256: String,
    pub document_count: i32,
    pub state: EnvelopeState,
    pub track_id: Option<String>,
    pub upload_attempts: i32,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub uploaded_at: Option<Timestamp>,
    pub next_poll_at: Option<Timestamp>,
    pub poll_count: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::dte_sidecar::dte_document, check_for_backend(diesel::pg::Pg))]
pub struct DocumentRow {
    pub id: i32,
    pub company_id: i32,
    pub move_id: i32,
    pub dte_type: String,
    pub folio: i64,
    pub state: DocState,
    pub request: String,
    pub xml_content: Vec<u8>,
    pub sha256: String,
    pub issue_date: NaiveDate,
    pub receiver_rut: String,
    pub total: i64,
    pub envelope_id: Option<i32>,
    pub track_id: Option<String>,
    pub sii_code: Option<String>,
    pub message: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub state_changed_at: Timestamp,
}

/// What Odoo is told about a document: its row without the request and the XML, which
/// the answer to a send or a status query never shows.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::dte_sidecar::dte_document, check_for_backend(diesel::pg::Pg))]
pub struct DocumentSummary {
    pub id: i32,
    pub company_id: i32,
    pub move_id: i32,
    pub dte_type: String,
    pub folio: i64,
    pub state: DocState,
    pub track_id: Option<String>,
    pub sii_code: Option<String>,
    pub message: Option<String>,
    pub state_changed_at: Timestamp,
    pub message_code: Option<String>,
    pub message_params: Option<String>,
}

/// A folio held for a move while its document is stamped outside any transaction; a row
/// without a move is a spare folio the next allocation takes first.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::dte_sidecar::dte_folio_reservation, check_for_backend(diesel::pg::Pg))]
pub struct ReservationRow {
    pub id: i32,
    pub company_id: i32,
    pub move_id: Option<i32>,
    pub dte_type: String,
    pub folio: i64,
    pub caf_id: i32,
    pub request: Option<String>,
    pub holder: i64,
    pub reserved_at: Timestamp,
    pub lease_until: Timestamp,
}
