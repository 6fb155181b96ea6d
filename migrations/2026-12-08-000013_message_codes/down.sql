-- The views of 2026-12-07-000010_odoo_view_overlay, then the columns go.
CREATE OR REPLACE FUNCTION dte_sidecar.publish_odoo_views(target_schema TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    -- The views with an overlay, and their columns (the same on both sides of UNION ALL).
    overlaid CONSTANT TEXT[][] := ARRAY[
        ['dte_backup', 'id, dte_type, folio, rut_emisor, xml_content, sha256, track_id, sent_date,
               company_id, move_id, display_name, xml_filename'],
        ['dte_failed_queue', 'id, dte_type, folio, rut_emisor, xml_content, error_type, error_message,
               retry_count, max_retries, failed_date, last_retry_date, next_retry_date,
               state, success_track_id, success_date, retry_history, company_id, move_id,
               display_name, document_id'],
        ['dte_contingency', 'id, enabled, reason, comment, enabled_date, enabled_by, disabled_date,
               disabled_by, company_id'],
        ['dte_contingency_pending', 'id, dte_type, folio, rut_emisor, xml_content, stored_date, uploaded,
               uploaded_date, track_id, upload_error, company_id, move_id, display_name,
               document_id']
    ];
    i INTEGER;
BEGIN
    IF target_schema = 'dte_sidecar' THEN
        RAISE EXCEPTION 'Odoo views must not be published into the sidecar''s own schema';
    END IF;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', target_schema);

    FOR i IN 1 .. array_length(overlaid, 1) LOOP
        EXECUTE format('DROP VIEW IF EXISTS %I.%I', target_schema, overlaid[i][1]);
        -- The id filter is outside the UNION ALL, so that PostgreSQL flattens it (a leg with
        -- its own WHERE is planned apart, and an ORDER BY ... LIMIT would sort the table).
        EXECUTE format('CREATE VIEW %1$I.%2$I AS
            SELECT %3$s FROM (
                SELECT %3$s, false AS from_overlay FROM dte_sidecar.%2$I
                UNION ALL
                SELECT %3$s, true FROM jsonb_populate_recordset(NULL::dte_sidecar.%2$I, dte_sidecar.odoo_overlay(%4$L))
            ) AS rows
            WHERE rows.from_overlay OR rows.id <> ALL ((SELECT dte_sidecar.odoo_overlay_ids(%4$L))::integer[])',
            target_schema, overlaid[i][1], overlaid[i][2], overlaid[i][1]);
    END LOOP;

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

ALTER TABLE dte_sidecar.dte_document DROP COLUMN message_code, DROP COLUMN message_params;
ALTER TABLE dte_sidecar.dte_failed_queue DROP COLUMN error_code, DROP COLUMN error_params;
ALTER TABLE dte_sidecar.dte_contingency_pending DROP COLUMN error_code, DROP COLUMN error_params;
