-- The sidecar keeps its records in a schema of its own. Uninstalling an Odoo addon
-- runs DROP TABLE ... CASCADE / DROP VIEW on every table its `_auto = False` models
-- name in Odoo's schema; tax documents must survive that, so Odoo only ever gets
-- views (see publish_odoo_views below) and the rows live here.
--
-- No foreign keys into Odoo's tables: `company_id` and `move_id` are plain columns
-- checked by the sidecar, so no backup disappears with its invoice.
-- Timestamps are UTC without time zone, as Odoo stores them.

CREATE SCHEMA IF NOT EXISTS dte_sidecar;

-- Companies known to the sidecar (the Odoo res.company id is the key).
CREATE TABLE dte_sidecar.dte_company (
    id INTEGER PRIMARY KEY CHECK (id > 0),
    rut VARCHAR(12) NOT NULL,
    name VARCHAR(100) NOT NULL,
    resolution_number INTEGER NOT NULL DEFAULT 0 CHECK (resolution_number >= 0),
    resolution_date DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE dte_sidecar.dte_backup (
    id SERIAL PRIMARY KEY,
    dte_type VARCHAR(2) NOT NULL CHECK (dte_type IN ('33', '34', '52', '56', '61')),
    folio VARCHAR(50) NOT NULL CHECK (folio ~ '^[1-9][0-9]*$'),
    rut_emisor VARCHAR(12) NOT NULL,
    xml_content BYTEA NOT NULL,
    -- SHA-256 of xml_content: a second copy is checked against it.
    sha256 CHAR(64) NOT NULL,
    track_id VARCHAR(100),
    sent_date TIMESTAMP NOT NULL,
    company_id INTEGER NOT NULL,
    move_id INTEGER NOT NULL,
    display_name VARCHAR(255),
    xml_filename VARCHAR(255),
    CONSTRAINT dte_backup_one_per_document UNIQUE (dte_type, folio, company_id)
);
CREATE INDEX idx_dte_backup_company ON dte_sidecar.dte_backup (company_id);
CREATE INDEX idx_dte_backup_type ON dte_sidecar.dte_backup (dte_type);
CREATE INDEX idx_dte_backup_folio ON dte_sidecar.dte_backup (folio);
CREATE INDEX idx_dte_backup_date ON dte_sidecar.dte_backup (sent_date DESC);
CREATE INDEX idx_dte_backup_track ON dte_sidecar.dte_backup (track_id);

CREATE TABLE dte_sidecar.dte_failed_queue (
    id SERIAL PRIMARY KEY,
    dte_type VARCHAR(2) NOT NULL CHECK (dte_type IN ('33', '34', '52', '56', '61')),
    folio VARCHAR(50) NOT NULL CHECK (folio ~ '^[1-9][0-9]*$'),
    rut_emisor VARCHAR(12) NOT NULL,
    xml_content BYTEA NOT NULL,
    error_type VARCHAR(20) NOT NULL CHECK (error_type IN
        ('timeout', 'connection', 'unavailable', 'validation', 'certificate', 'unknown')),
    error_message TEXT NOT NULL,
    retry_count INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    max_retries INTEGER NOT NULL DEFAULT 5 CHECK (max_retries >= 0),
    failed_date TIMESTAMP NOT NULL,
    last_retry_date TIMESTAMP,
    next_retry_date TIMESTAMP,
    state VARCHAR(20) NOT NULL DEFAULT 'pending' CHECK (state IN
        ('pending', 'retrying', 'success', 'abandoned')),
    success_track_id VARCHAR(100),
    success_date TIMESTAMP,
    -- JSON array, one object per attempt (when, outcome, error).
    retry_history TEXT NOT NULL DEFAULT '[]',
    company_id INTEGER NOT NULL,
    move_id INTEGER NOT NULL,
    display_name VARCHAR(255)
);
CREATE INDEX idx_failed_queue_state ON dte_sidecar.dte_failed_queue (state);
CREATE INDEX idx_failed_queue_next_retry ON dte_sidecar.dte_failed_queue (next_retry_date);
CREATE INDEX idx_failed_queue_company ON dte_sidecar.dte_failed_queue (company_id);
CREATE INDEX idx_failed_queue_type ON dte_sidecar.dte_failed_queue (dte_type);
-- A document is in the queue at most once while it still waits for a retry.
CREATE UNIQUE INDEX dte_failed_queue_one_open_entry
    ON dte_sidecar.dte_failed_queue (dte_type, folio, company_id)
    WHERE state IN ('pending', 'retrying');

CREATE TABLE dte_sidecar.dte_contingency (
    id SERIAL PRIMARY KEY,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    reason VARCHAR(50),
    comment TEXT,
    enabled_date TIMESTAMP,
    enabled_by INTEGER,
    disabled_date TIMESTAMP,
    disabled_by INTEGER,
    company_id INTEGER NOT NULL,
    CONSTRAINT dte_contingency_one_per_company UNIQUE (company_id)
);

CREATE TABLE dte_sidecar.dte_contingency_pending (
    id SERIAL PRIMARY KEY,
    dte_type VARCHAR(2) NOT NULL CHECK (dte_type IN ('33', '34', '52', '56', '61')),
    folio VARCHAR(50) NOT NULL CHECK (folio ~ '^[1-9][0-9]*$'),
    rut_emisor VARCHAR(12) NOT NULL,
    xml_content BYTEA NOT NULL,
    stored_date TIMESTAMP NOT NULL,
    uploaded BOOLEAN NOT NULL DEFAULT FALSE,
    uploaded_date TIMESTAMP,
    track_id VARCHAR(100),
    upload_error TEXT,
    company_id INTEGER NOT NULL,
    move_id INTEGER NOT NULL,
    display_name VARCHAR(255),
    CONSTRAINT dte_contingency_pending_one_per_move UNIQUE (move_id)
);
CREATE INDEX idx_contingency_pending_uploaded ON dte_sidecar.dte_contingency_pending (uploaded);
CREATE INDEX idx_contingency_pending_company ON dte_sidecar.dte_contingency_pending (company_id);
CREATE INDEX idx_contingency_pending_date ON dte_sidecar.dte_contingency_pending (stored_date);

-- Who did what, when, for which company. Rows are never changed or removed.
CREATE TABLE dte_sidecar.dte_audit_log (
    id SERIAL PRIMARY KEY,
    created_at TIMESTAMP NOT NULL,
    company_id INTEGER,
    actor VARCHAR(100) NOT NULL,
    actor_uid INTEGER,
    action VARCHAR(64) NOT NULL,
    target_model VARCHAR(64),
    target_id INTEGER,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_audit_log_company ON dte_sidecar.dte_audit_log (company_id, created_at DESC);

CREATE FUNCTION dte_sidecar.refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dte_audit_log is append-only';
END;
$$;
CREATE TRIGGER dte_audit_log_append_only
    BEFORE UPDATE OR DELETE ON dte_sidecar.dte_audit_log
    FOR EACH ROW EXECUTE FUNCTION dte_sidecar.refuse_audit_change();
CREATE TRIGGER dte_audit_log_no_truncate
    BEFORE TRUNCATE ON dte_sidecar.dte_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.refuse_audit_change();
