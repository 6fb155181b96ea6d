-- CASCADE drops the Odoo views that show these columns; the previous version of
-- publish_odoo_views comes back and the next `migrate` publishes its views again.
DROP TABLE dte_sidecar.dte_cron_tick;
DROP TABLE dte_sidecar.dte_sii_health;
DROP TABLE dte_sidecar.dte_alert CASCADE;
ALTER TABLE dte_sidecar.dte_contingency_pending DROP COLUMN envelope_id CASCADE, DROP COLUMN document_id CASCADE;
ALTER TABLE dte_sidecar.dte_failed_queue DROP COLUMN envelope_id CASCADE, DROP COLUMN document_id CASCADE;
DROP TABLE dte_sidecar.dte_document_transition;
DROP TABLE dte_sidecar.dte_document CASCADE;
DROP TABLE dte_sidecar.dte_envelope;
DROP TABLE dte_sidecar.dte_caf CASCADE;
DROP TABLE dte_sidecar.dte_certificate;

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
               display_name
        FROM dte_sidecar.dte_failed_queue', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_contingency', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_contingency AS
        SELECT id, enabled, reason, comment, enabled_date, enabled_by, disabled_date,
               disabled_by, company_id
        FROM dte_sidecar.dte_contingency', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_contingency_pending', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_contingency_pending AS
        SELECT id, dte_type, folio, rut_emisor, xml_content, stored_date, uploaded,
               uploaded_date, track_id, upload_error, company_id, move_id, display_name
        FROM dte_sidecar.dte_contingency_pending', target_schema);

    EXECUTE format('DROP VIEW IF EXISTS %I.dte_audit_log', target_schema);
    EXECUTE format('CREATE VIEW %I.dte_audit_log AS
        SELECT id, created_at, company_id, actor, actor_uid, action, target_model,
               target_id, details
        FROM dte_sidecar.dte_audit_log', target_schema);
END;
$$;
