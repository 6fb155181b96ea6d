INSERT INTO dte_failed_queue (id, dte_type, folio, rut_emisor, xml_content, error_type, error_message, retry_count,
                              max_retries, failed_date, last_retry_date, next_retry_date, state, success_track_id,
                              success_date, retry_history, company_id, move_id, display_name, document_id)
SELECT q, kinds.t, {doc}::text, '76000001-9', tpl.xml, 'timeout', 'El SII no respondió a tiempo',
       CASE WHEN q > {queue} - 3020 THEN q % 5 WHEN q % 10 < 7 THEN 1 + q % 3 ELSE 5 END, 5,
       {at_q}, {at_q} + interval '1 hour',
       CASE WHEN q > {queue} - 3020 THEN {now_sql} + make_interval(mins => (q % 240) - 120) END,
       CASE WHEN q > {queue} - 20 THEN 'retrying' WHEN q > {queue} - 3020 THEN 'pending'
            WHEN q % 10 < 7 THEN 'success' ELSE 'abandoned' END,
       CASE WHEN q % 10 < 7 THEN '123' END, CASE WHEN q % 10 < 7 THEN {at_q} + interval '2 hours' END,
       '[]', {company_d}, {doc}, 'DTE ' || kinds.t || ' N° ' || {doc}, {doc}
FROM generate_series(1, {queue}) q JOIN tpl ON tpl.k = 0 JOIN kinds ON kinds.k = ({doc} / 7) % 5;
SELECT setval(pg_get_serial_sequence('dte_failed_queue', 'id'), {queue});
