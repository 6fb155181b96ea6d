-- A backup's counters read its company, type, day and size, which the flows set once: the
-- updates they make later (the archive copy's `copied_at`, a track id filled in) change
-- no count. The statement trigger over the old and new rows ran its two upserts for every
-- such update all the same (a trigger with transition tables cannot name the columns it
-- is for). A row trigger can: it fires only for a statement that sets a counted column,
-- and its WHEN, checked without calling the function, only for a row whose counted
-- values really change, which no flow does; the rebuild and the tests do.
DROP TRIGGER dte_backup_counted_update ON dte_sidecar.dte_backup;

CREATE FUNCTION dte_sidecar.backup_recounted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dte_sidecar.dte_backup_daily AS a (company_id, dte_type, day, slot, backups, bytes)
    SELECT company_id, dte_type, day, dte_sidecar.aggregate_slot(), sum(n), sum(size)
    FROM (VALUES
        (OLD.company_id, OLD.dte_type, OLD.sent_date::date, -1, -octet_length(OLD.xml_content)::bigint),
        (NEW.company_id, NEW.dte_type, NEW.sent_date::date, 1, octet_length(NEW.xml_content)::bigint)
    ) AS moved (company_id, dte_type, day, n, size)
    GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(size) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (company_id, dte_type, day, slot)
    DO UPDATE SET backups = a.backups + EXCLUDED.backups, bytes = a.bytes + EXCLUDED.bytes;
    INSERT INTO dte_sidecar.dte_backup_totals AS a (company_id, dte_type, slot, backups, bytes)
    SELECT company_id, dte_type, dte_sidecar.aggregate_slot(), sum(n), sum(size)
    FROM (VALUES
        (OLD.company_id, OLD.dte_type, -1, -octet_length(OLD.xml_content)::bigint),
        (NEW.company_id, NEW.dte_type, 1, octet_length(NEW.xml_content)::bigint)
    ) AS moved (company_id, dte_type, n, size)
    GROUP BY 1, 2 HAVING sum(n) <> 0 OR sum(size) <> 0 ORDER BY 1, 2
    ON CONFLICT (company_id, dte_type, slot)
    DO UPDATE SET backups = a.backups + EXCLUDED.backups, bytes = a.bytes + EXCLUDED.bytes;
    RETURN NULL;
END;
$$;

CREATE TRIGGER dte_backup_counted_update
    AFTER UPDATE OF company_id, dte_type, sent_date, xml_content ON dte_sidecar.dte_backup
    FOR EACH ROW
    WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id OR OLD.dte_type IS DISTINCT FROM NEW.dte_type
          OR OLD.sent_date::date IS DISTINCT FROM NEW.sent_date::date
          OR octet_length(OLD.xml_content) IS DISTINCT FROM octet_length(NEW.xml_content))
    EXECUTE FUNCTION dte_sidecar.backup_recounted();
