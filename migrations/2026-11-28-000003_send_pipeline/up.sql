-- What sending needs: signing certificates and CAF files per company (sealed at rest),
-- the documents with their state machine, the envelopes exactly as uploaded (a retry
-- re-sends the same bytes, so the SII recognises a repeat), and cron ticks (one replica
-- runs each tick).

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE dte_sidecar.dte_certificate (
    id SERIAL PRIMARY KEY,
    company_id INTEGER NOT NULL,
    subject_rut VARCHAR(12) NOT NULL,
    holder_name VARCHAR(255) NOT NULL,
    not_before TIMESTAMP,
    not_after TIMESTAMP,
    fingerprint CHAR(64) NOT NULL,
    -- AES-256-GCM with the master key: the PKCS#12 file and its password.
    sealed_pkcs12 BYTEA NOT NULL,
    sealed_password BYTEA NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    loaded_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX dte_certificate_one_active ON dte_sidecar.dte_certificate (company_id) WHERE active;

CREATE TABLE dte_sidecar.dte_caf (
    id SERIAL PRIMARY KEY,
    company_id INTEGER NOT NULL,
    dte_type VARCHAR(2) NOT NULL CHECK (dte_type IN ('33', '34', '52', '56', '61')),
    folio_from BIGINT NOT NULL CHECK (folio_from > 0),
    folio_to BIGINT NOT NULL,
    -- The next folio to hand out; folio_to + 1 when the CAF is used up.
    next_folio BIGINT NOT NULL,
    authorized_on DATE NOT NULL,
    expires_on DATE,
    idk INTEGER NOT NULL,
    -- AES-256-GCM with the master key: the CAF file, which holds its private key.
    sealed_caf BYTEA NOT NULL,
    sha256 CHAR(64) NOT NULL UNIQUE,
    loaded_at TIMESTAMP NOT NULL,
    CHECK (folio_from <= folio_to),
    CHECK (next_folio BETWEEN folio_from AND folio_to + 1),
    -- Two CAFs of one company and type never share a folio.
    CONSTRAINT dte_caf_no_overlap EXCLUDE USING gist (
        company_id WITH =, dte_type WITH =, int8range(folio_from, folio_to, '[]') WITH &&)
);

CREATE TABLE dte_sidecar.dte_envelope (
    id SERIAL PRIMARY KEY,
    company_id INTEGER NOT NULL,
    -- The signed EnvioDTE, byte for byte as uploaded.
    xml_content BYTEA NOT NULL,
    sha256 CHAR(64) NOT NULL,
    document_count INTEGER NOT NULL CHECK (document_count BETWEEN 1 AND 2000),
    state VARCHAR(20) NOT NULL DEFAULT 'created' CHECK (state IN
        ('created', 'uploaded', 'processed', 'rejected', 'failed')),
    track_id VARCHAR(100),
    upload_attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    uploaded_at TIMESTAMP,
    -- Status polling: when to ask the SII next, and how often it was asked.
    next_poll_at TIMESTAMP,
    poll_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_envelope_poll ON dte_sidecar.dte_envelope (next_poll_at) WHERE state = 'uploaded';

CREATE TABLE dte_sidecar.dte_document (
    id SERIAL PRIMARY KEY,
    company_id INTEGER NOT NULL,
    move_id INTEGER NOT NULL,
    dte_type VARCHAR(2) NOT NULL CHECK (dte_type IN ('33', '34', '52', '56', '61')),
    folio BIGINT NOT NULL CHECK (folio > 0),
    state VARCHAR(30) NOT NULL CHECK (state IN ('generated', 'contingency', 'sending', 'sent',
        'accepted', 'accepted_with_objections', 'rejected', 'failed', 'abandoned')),
    -- The request as Odoo sent it (JSON) and the signed DTE, stored before any upload.
    request TEXT NOT NULL,
    xml_content BYTEA NOT NULL,
    sha256 CHAR(64) NOT NULL,
    issue_date DATE NOT NULL,
    receiver_rut VARCHAR(12) NOT NULL,
    total BIGINT NOT NULL,
    envelope_id INTEGER REFERENCES dte_sidecar.dte_envelope (id),
    track_id VARCHAR(100),
    sii_code VARCHAR(20),
    message TEXT,
    -- While `sending`: until when the uploader holds it; past that, a sweep reconciles.
    lease_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    state_changed_at TIMESTAMP NOT NULL,
    CONSTRAINT dte_document_one_per_move UNIQUE (move_id),
    CONSTRAINT dte_document_folio_once UNIQUE (company_id, dte_type, folio)
);
CREATE INDEX idx_document_state ON dte_sidecar.dte_document (company_id, state);
CREATE INDEX idx_document_envelope ON dte_sidecar.dte_document (envelope_id);
CREATE INDEX idx_document_sending ON dte_sidecar.dte_document (lease_until) WHERE state = 'sending';

CREATE TABLE dte_sidecar.dte_document_transition (
    id SERIAL PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES dte_sidecar.dte_document (id),
    from_state VARCHAR(30),
    to_state VARCHAR(30) NOT NULL,
    at TIMESTAMP NOT NULL,
    reason TEXT
);
CREATE INDEX idx_transition_document ON dte_sidecar.dte_document_transition (document_id, id);

ALTER TABLE dte_sidecar.dte_failed_queue
    ADD COLUMN document_id INTEGER REFERENCES dte_sidecar.dte_document (id),
    ADD COLUMN envelope_id INTEGER REFERENCES dte_sidecar.dte_envelope (id);
ALTER TABLE dte_sidecar.dte_contingency_pending
    ADD COLUMN document_id INTEGER REFERENCES dte_sidecar.dte_document (id),
    ADD COLUMN envelope_id INTEGER REFERENCES dte_sidecar.dte_envelope (id);

-- How the SII has been answering each company: enough consecutive transient failures
-- switch the company to contingency.
CREATE TABLE dte_sidecar.dte_sii_health (
    company_id INTEGER PRIMARY KEY,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_failure_at TIMESTAMP,
    last_success_at TIMESTAMP,
    last_error TEXT
);

-- Alerts for people: at most one open alert per rule and company.
CREATE TABLE dte_sidecar.dte_alert (
    id SERIAL PRIMARY KEY,
    company_id INTEGER NOT NULL,
    rule VARCHAR(40) NOT NULL,
    message TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    raised_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    notified_at TIMESTAMP
);
CREATE UNIQUE INDEX dte_alert_one_open ON dte_sidecar.dte_alert (company_id, rule) WHERE resolved_at IS NULL;

-- One row per cron tick: the replica whose insert wins runs it.
CREATE TABLE dte_sidecar.dte_cron_tick (
    name VARCHAR(50) NOT NULL,
    tick TIMESTAMP NOT NULL,
    ran_at TIMESTAMP NOT NULL,
    runner VARCHAR(100) NOT NULL,
    PRIMARY KEY (name, tick)
);

CREATE OR REPLACE FUNCTION dte_sidecar.publish_odoo_views(target_schema TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    IF target_schema = 'dte_sidecar' THEN
        RAISE EXCEPTION 'Odoo views must not be published into the sidecar''s own schema';
    END IF;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_backup', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_backup AS
        SELECT id, dte_type, folio, rut_emisor, xml_content, sha256, track_id, sent_date,
               company_id, move_id, display_name, xml_filename
        FROM dte_sidecar.dte_backup', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_failed_queue', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_failed_queue AS
        SELECT id, dte_type, folio, rut_emisor, xml_content, error_type, error_message,
               retry_count, max_retries, failed_date, last_retry_date, next_retry_date,
               state, success_track_id, success_date, retry_history, company_id, move_id,
               display_name, document_id
        FROM dte_sidecar.dte_failed_queue', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_contingency', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_contingency AS
        SELECT id, enabled, reason, comment, enabled_date, enabled_by, disabled_date,
               disabled_by, company_id
        FROM dte_sidecar.dte_contingency', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_contingency_pending', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_contingency_pending AS
        SELECT id, dte_type, folio, rut_emisor, xml_content, stored_date, uploaded,
               uploaded_date, track_id, upload_error, company_id, move_id, display_name,
               document_id
        FROM dte_sidecar.dte_contingency_pending', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_audit_log', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_audit_log AS
        SELECT id, created_at, company_id, actor, actor_uid, action, target_model,
               target_id, details
        FROM dte_sidecar.dte_audit_log', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_document', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_document AS
        SELECT id, company_id, move_id, dte_type, folio, state, track_id, sii_code, message,
               issue_date, receiver_rut, total, created_at, state_changed_at
        FROM dte_sidecar.dte_document', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_alert', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_alert AS
        SELECT id, company_id, rule, message, details, raised_at, resolved_at, notified_at
        FROM dte_sidecar.dte_alert', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_caf', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_caf AS
        SELECT id, company_id, dte_type, folio_from, folio_to, next_folio,
               folio_to - next_folio + 1 AS folios_left, authorized_on, expires_on, loaded_at
        FROM dte_sidecar.dte_caf', target_schema);
END;
$$;
