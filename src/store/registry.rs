//! The models the JSON-RPC face exposes to `search_read`, `read` and `search_count`:
//! their Odoo names, tables and fields. A test checks every field against the live
//! columns so this list cannot drift from the migrations.

/// How a column is read, compared and rendered (Odoo field types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Integer,
    Float,
    Char,
    Text,
    Boolean,
    Date,
    Datetime,
    /// Bytes; rendered in base64 as Odoo renders binary fields.
    Binary,
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
}

#[derive(Debug)]
pub struct ModelInfo {
    /// Odoo model name (`dte.backup`).
    pub name: &'static str,
    /// Table in the sidecar's schema.
    pub table: &'static str,
    pub fields: &'static [Field],
    pub default_order: &'static str,
    /// Columns never exposed (sealed secrets).
    pub hidden: &'static [&'static str],
}

/// Odoo's `display_name`, which every model answers; computed where no column holds it.
static DISPLAY_NAME: Field = Field { name: "display_name", kind: FieldKind::Char };

impl ModelInfo {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name).or_else(|| (name == "display_name").then_some(&DISPLAY_NAME))
    }

    /// Every field a read without `fields` returns: the columns, then `display_name`.
    pub fn readable_fields(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.fields.iter().map(|f| f.name).collect();
        if !names.contains(&"display_name") {
            names.push("display_name");
        }
        names
    }

    /// The SQL that computes `display_name` from the row's columns, for the models that
    /// have no such column (None where the column exists).
    pub fn display_name_sql(&self) -> Option<&'static str> {
        if self.fields.iter().any(|f| f.name == "display_name") {
            return None;
        }
        Some(match self.name {
            "dte.company" => "concat(name, ' (', rut, ')')",
            "dte.contingency" => "concat('Contingency, company ', company_id)",
            "dte.audit.log" => "concat(action, ' ', target_model, ' ', target_id)",
            "dte.document" => "concat('DTE ', dte_type, '-', folio)",
            "dte.document.transition" => "concat(from_state, ' -> ', to_state)",
            "dte.envelope" => "concat('EnvioDTE ', id, ' ', track_id)",
            "dte.caf" => "concat('CAF ', dte_type, ' ', folio_from, '-', folio_to)",
            "dte.certificate" => "concat(holder_name, ' (', subject_rut, ')')",
            "dte.alert" => "concat(rule, ' ', raised_at)",
            _ => "id::text",
        })
    }

    pub fn has_company(&self) -> bool {
        self.field("company_id").is_some()
    }

    /// The SQL that gives a row's company, for Odoo's record rules: `company_id`, the
    /// company's own id, or a transition's document's company.
    pub fn company_sql(&self) -> Option<&'static str> {
        match self.name {
            _ if self.has_company() => Some("company_id"),
            "dte.company" => Some("id"),
            "dte.document.transition" => {
                Some("(SELECT d.company_id FROM dte_sidecar.dte_document d WHERE d.id = document_id)")
            }
            _ => None,
        }
    }
}

macro_rules! fields {
    ($($name:ident: $kind:ident),* $(,)?) => {
        &[$(Field { name: stringify!($name), kind: FieldKind::$kind }),*]
    };
}

pub static MODELS: &[ModelInfo] = &[
    ModelInfo {
        name: "dte.company",
        table: "dte_company",
        default_order: "id",
        hidden: &[],
        fields: fields!(id: Integer, rut: Char, name: Char, resolution_number: Integer,
            resolution_date: Date, created_at: Datetime, updated_at: Datetime),
    },
    ModelInfo {
        name: "dte.backup",
        table: "dte_backup",
        default_order: "sent_date desc",
        hidden: &[],
        fields: fields!(id: Integer, dte_type: Char, folio: Char, rut_emisor: Char,
            xml_content: Binary, sha256: Char, track_id: Char, sent_date: Datetime,
            company_id: Integer, move_id: Integer, display_name: Char, xml_filename: Char,
            copied_at: Datetime),
    },
    ModelInfo {
        name: "dte.failed.queue",
        table: "dte_failed_queue",
        default_order: "next_retry_date",
        hidden: &[],
        fields: fields!(id: Integer, dte_type: Char, folio: Char, rut_emisor: Char,
            xml_content: Binary, error_type: Char, error_message: Text, retry_count: Integer,
            max_retries: Integer, failed_date: Datetime, last_retry_date: Datetime,
            next_retry_date: Datetime, state: Char, success_track_id: Char,
            success_date: Datetime, retry_history: Text, company_id: Integer, move_id: Integer,
            display_name: Char, document_id: Integer, envelope_id: Integer, error_code: Char,
            error_params: Text),
    },
    ModelInfo {
        name: "dte.contingency",
        table: "dte_contingency",
        default_order: "company_id",
        hidden: &[],
        fields: fields!(id: Integer, enabled: Boolean, reason: Char, comment: Text,
            enabled_date: Datetime, enabled_by: Integer, disabled_date: Datetime,
            disabled_by: Integer, company_id: Integer),
    },
    ModelInfo {
        name: "dte.contingency.pending",
        table: "dte_contingency_pending",
        default_order: "stored_date",
        hidden: &[],
        fields: fields!(id: Integer, dte_type: Char, folio: Char, rut_emisor: Char,
            xml_content: Binary, stored_date: Datetime, uploaded: Boolean,
            uploaded_date: Datetime, track_id: Char, upload_error: Text, company_id: Integer,
            move_id: Integer, display_name: Char, document_id: Integer, envelope_id: Integer,
            quarantine_reason: Text, error_code: Char, error_params: Text),
    },
    ModelInfo {
        name: "dte.audit.log",
        table: "dte_audit_log",
        default_order: "id desc",
        hidden: &[],
        fields: fields!(id: Integer, created_at: Datetime, company_id: Integer, actor: Char,
            actor_uid: Integer, action: Char, target_model: Char, target_id: Integer,
            details: Text),
    },
    ModelInfo {
        name: "dte.document",
        table: "dte_document",
        default_order: "id desc",
        hidden: &[],
        fields: fields!(id: Integer, company_id: Integer, move_id: Integer, dte_type: Char,
            folio: Integer, state: Char, request: Text, xml_content: Binary, sha256: Char,
            issue_date: Date, receiver_rut: Char, total: Integer, envelope_id: Integer,
            track_id: Char, sii_code: Char, message: Text, lease_until: Datetime,
            created_at: Datetime, state_changed_at: Datetime, message_code: Char,
            message_params: Text),
    },
    ModelInfo {
        name: "dte.document.transition",
        table: "dte_document_transition",
        default_order: "id",
        hidden: &[],
        fields: fields!(id: Integer, document_id: Integer, from_state: Char, to_state: Char,
            at: Datetime, reason: Text),
    },
    ModelInfo {
        name: "dte.envelope",
        table: "dte_envelope",
        default_order: "id desc",
        hidden: &[],
        fields: fields!(id: Integer, company_id: Integer, xml_content: Binary, sha256: Char,
            document_count: Integer, state: Char, track_id: Char, upload_attempts: Integer,
            last_error: Text, created_at: Datetime, uploaded_at: Datetime,
            next_poll_at: Datetime, poll_count: Integer),
    },
    ModelInfo {
        name: "dte.caf",
        table: "dte_caf",
        default_order: "dte_type, folio_from",
        hidden: &["sealed_caf"],
        fields: fields!(id: Integer, company_id: Integer, dte_type: Char, folio_from: Integer,
            folio_to: Integer, next_folio: Integer, authorized_on: Date, expires_on: Date,
            idk: Integer, sha256: Char, loaded_at: Datetime),
    },
    ModelInfo {
        name: "dte.certificate",
        table: "dte_certificate",
        default_order: "id desc",
        hidden: &["sealed_pkcs12", "sealed_password"],
        fields: fields!(id: Integer, company_id: Integer, subject_rut: Char, holder_name: Char,
            not_before: Datetime, not_after: Datetime, fingerprint: Char, active: Boolean,
            loaded_at: Datetime),
    },
    ModelInfo {
        name: "dte.alert",
        table: "dte_alert",
        default_order: "id desc",
        hidden: &[],
        fields: fields!(id: Integer, company_id: Integer, rule: Char, message: Text,
            details: Text, raised_at: Datetime, resolved_at: Datetime, notified_at: Datetime),
    },
];

pub fn model(name: &str) -> Option<&'static ModelInfo> {
    MODELS.iter().find(|m| m.name == name)
}
