INSERT INTO dte_backup (id, dte_type, folio, rut_emisor, xml_content, sha256, track_id, sent_date, company_id,
                        move_id, display_name, xml_filename, copied_at)
SELECT i, kinds.t, i::text, '7600000' || {company_i} || '-' || (ARRAY['9', '7', '5'])[{company_i}], tpl.xml, tpl.sha,
       (5000000000 + 1 + (i - 1) / 50)::text, {at_i}, {company_i}, i, 'DTE ' || kinds.t || ' N° ' || i,
       'DTE_' || kinds.t || '_' || i || '.xml', {at_i}
FROM generate_series(1, {rows}) i JOIN tpl ON tpl.k = i % 64 JOIN kinds ON kinds.k = (i / 7) % 5;
SELECT setval(pg_get_serial_sequence('dte_backup', 'id'), {rows});
