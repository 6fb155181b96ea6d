INSERT INTO dte_document (id, company_id, move_id, dte_type, folio, state, request, xml_content, sha256, issue_date,
                          receiver_rut, total, envelope_id, track_id, sii_code, message, lease_until, created_at,
                          state_changed_at)
SELECT i, {company_i}, i, kinds.t, i,
       CASE WHEN i > {rows} - 20 THEN 'sending'
            WHEN i % 1000 < 940 THEN 'accepted' WHEN i % 1000 < 970 THEN 'accepted_with_objections'
            WHEN i % 1000 < 985 THEN 'rejected' WHEN i % 1000 < 995 THEN 'sent'
            WHEN i % 1000 < 998 THEN 'failed' WHEN i % 1000 < 999 THEN 'abandoned' ELSE 'contingency' END,
       '{}', tpl.xml, tpl.sha, {at_i}::date, '77000000-0', 1190 * (1 + i % 97),
       1 + (i - 1) / 50, (5000000000 + 1 + (i - 1) / 50)::text, 'EPR', NULL,
       CASE WHEN i > {rows} - 20 THEN {now_sql} - interval '1 hour' END, {at_i}, {at_i}
FROM generate_series(1, {rows}) i JOIN tpl ON tpl.k = i % 64 JOIN kinds ON kinds.k = (i / 7) % 5;
SELECT setval(pg_get_serial_sequence('dte_document', 'id'), {rows});
