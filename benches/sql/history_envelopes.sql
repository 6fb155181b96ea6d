INSERT INTO dte_envelope (id, company_id, xml_content, sha256, document_count, state, track_id, upload_attempts,
                          created_at, uploaded_at, next_poll_at, poll_count)
SELECT e, 1 + (e - 1) % 3, tpl.xml, tpl.sha, 50,
       CASE WHEN e > {envelopes} - 20 THEN 'uploaded' ELSE 'processed' END,
       (5000000000 + e)::text, 1, {at_e}, {at_e},
       CASE WHEN e > {envelopes} - 20 THEN {now_sql} - interval '1 minute' END, 2
FROM generate_series(1, {envelopes}) e JOIN tpl ON tpl.k = e % 4;
SELECT setval(pg_get_serial_sequence('dte_envelope', 'id'), {envelopes});
