-- Back to the plain views of 2026-11-28-000003_send_pipeline, republished wherever they are.
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

SELECT dte_sidecar.publish_odoo_views(v.schemaname)
  FROM (SELECT DISTINCT schemaname FROM pg_views
         WHERE viewname = 'dte_backup' AND schemaname <> 'dte_sidecar') AS v;

DROP FUNCTION dte_sidecar.odoo_overlay_ids(TEXT);
DROP FUNCTION dte_sidecar.odoo_overlay(TEXT);
