-- Six years of history (millions of rows) must not make counters, sizes, list pages or
-- lookups slower. Two parts:
--
-- 1. Maintained aggregates: counts (and backup byte sizes) per company, type, state and
--    day, and the same without the day (totals), kept by triggers in the same
--    transaction as the rows they count. Every writer (the sidecar, a person with psql,
--    a transaction killed half-way) keeps them exact: a rolled-back row rolls its count
--    back with it. The KPIs, /metrics, the alert rules and `search_count([])` read the
--    totals (a few rows per company) instead of scanning history; the daily counters
--    keep the history per day.
--    The triggers run once per statement: one UPSERT per counter the statement moves
--    (none when no counted column changed), on narrow rows (fillfactor 50, so the
--    update stays HOT), in key order, so two statements moving rows in opposite
--    directions cannot deadlock on the counters.
--    Hot rows: every send of a company and type on one day would update the same
--    counter, and its row lock is held until COMMIT (its fsync included), so concurrent
--    senders would queue behind each other. Each counter is therefore striped over 16
--    slots chosen by the writer's backend (slot 0 is the folded total): concurrent
--    connections update different rows. Readers sum the slots; the sweep folds the
--    slots of past days into slot 0 (`compact_aggregates`), so a reader of the daily
--    counters sums at most 16 rows per counter of today and one of any other day.
-- 2. Indexes for what is asked: the list views' default orders (Odoo's `_order`, with
--    and without company scoping), folio and track-id search (trigram indexes serve
--    Odoo's `ilike '%…%'` unchanged; b-trees serve the exact lookups), the sweep's and the
--    retry's due work, retention's oldest-first scan.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE dte_sidecar.dte_document_daily (
    company_id INTEGER NOT NULL,
    dte_type VARCHAR(2) NOT NULL,
    state VARCHAR(30) NOT NULL,
    -- The day the document was created (UTC).
    day DATE NOT NULL,
    slot SMALLINT NOT NULL,
    documents BIGINT NOT NULL,
    PRIMARY KEY (company_id, dte_type, state, day, slot)
) WITH (fillfactor = 50);
CREATE INDEX idx_document_daily_unfolded ON dte_sidecar.dte_document_daily (day) WHERE slot <> 0;

CREATE TABLE dte_sidecar.dte_backup_daily (
    company_id INTEGER NOT NULL,
    dte_type VARCHAR(2) NOT NULL,
    -- The day the backup was sent (UTC).
    day DATE NOT NULL,
    slot SMALLINT NOT NULL,
    backups BIGINT NOT NULL,
    -- Sum of octet_length(xml_content).
    bytes BIGINT NOT NULL,
    PRIMARY KEY (company_id, dte_type, day, slot)
) WITH (fillfactor = 50);
CREATE INDEX idx_backup_daily_unfolded ON dte_sidecar.dte_backup_daily (day) WHERE slot <> 0;

-- The same without the day: what the KPIs and /metrics read (a few rows per company).
CREATE TABLE dte_sidecar.dte_document_totals (
    company_id INTEGER NOT NULL,
    dte_type VARCHAR(2) NOT NULL,
    state VARCHAR(30) NOT NULL,
    slot SMALLINT NOT NULL,
    documents BIGINT NOT NULL,
    PRIMARY KEY (company_id, dte_type, state, slot)
) WITH (fillfactor = 50);

CREATE TABLE dte_sidecar.dte_backup_totals (
    company_id INTEGER NOT NULL,
    dte_type VARCHAR(2) NOT NULL,
    slot SMALLINT NOT NULL,
    backups BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (company_id, dte_type, slot)
) WITH (fillfactor = 50);

CREATE TABLE dte_sidecar.dte_failed_queue_totals (
    company_id INTEGER NOT NULL,
    state VARCHAR(20) NOT NULL,
    -- retry_count > 0: the retry success rate counts these.
    retried BOOLEAN NOT NULL,
    slot SMALLINT NOT NULL,
    entries BIGINT NOT NULL,
    PRIMARY KEY (company_id, state, retried, slot)
) WITH (fillfactor = 50);

-- The writer's stripe of a counter (1 to 16; 0 is the folded total).
CREATE FUNCTION dte_sidecar.aggregate_slot() RETURNS SMALLINT LANGUAGE sql STABLE AS $$
    SELECT (1 + pg_backend_pid() % 16)::smallint;
$$;

-- One trigger function per table, run once per statement over its transition tables:
-- a statement that touches many rows (an envelope's documents accepted, a retention
-- batch) makes one UPSERT per counter it moves, in key order (the daily counters, then
-- the totals), not one per row. (A statement trigger only sees the transition tables
-- its event has, hence the branches.)
CREATE FUNCTION dte_sidecar.documents_counted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dte_sidecar.dte_document_daily AS a (company_id, dte_type, state, day, slot, documents)
        SELECT company_id, dte_type, state, day, dte_sidecar.aggregate_slot(), sum(n)
        FROM (SELECT company_id, dte_type, state, created_at::date AS day, 1 AS n FROM new_rows) moved
        GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (company_id, dte_type, state, day, slot) DO UPDATE SET documents = a.documents + EXCLUDED.documents;
        INSERT INTO dte_sidecar.dte_document_totals AS a (company_id, dte_type, state, slot, documents)
        SELECT company_id, dte_type, state, dte_sidecar.aggregate_slot(), sum(n)
        FROM (SELECT company_id, dte_type, state, created_at::date AS day, 1 AS n FROM new_rows) moved
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, dte_type, state, slot) DO UPDATE SET documents = a.documents + EXCLUDED.documents;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO dte_sidecar.dte_document_daily AS a (company_id, dte_type, state, day, slot, documents)
        SELECT company_id, dte_type, state, day, dte_sidecar.aggregate_slot(), sum(n)
        FROM (SELECT company_id, dte_type, state, created_at::date AS day, -1 AS n FROM old_rows) moved
        GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (company_id, dte_type, state, day, slot) DO UPDATE SET documents = a.documents + EXCLUDED.documents;
        INSERT INTO dte_sidecar.dte_document_totals AS a (company_id, dte_type, state, slot, documents)
        SELECT company_id, dte_type, state, dte_sidecar.aggregate_slot(), sum(n)
        FROM (SELECT company_id, dte_type, state, created_at::date AS day, -1 AS n FROM old_rows) moved
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, dte_type, state, slot) DO UPDATE SET documents = a.documents + EXCLUDED.documents;
    ELSE
        INSERT INTO dte_sidecar.dte_document_daily AS a (company_id, dte_type, state, day, slot, documents)
        SELECT company_id, dte_type, state, day, dte_sidecar.aggregate_slot(), sum(n)
        FROM (
            SELECT company_id, dte_type, state, created_at::date AS day, 1 AS n FROM new_rows
            UNION ALL
            SELECT company_id, dte_type, state, created_at::date AS day, -1 AS n FROM old_rows
        ) moved
        GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (company_id, dte_type, state, day, slot) DO UPDATE SET documents = a.documents + EXCLUDED.documents;
        INSERT INTO dte_sidecar.dte_document_totals AS a (company_id, dte_type, state, slot, documents)
        SELECT company_id, dte_type, state, dte_sidecar.aggregate_slot(), sum(n)
        FROM (
            SELECT company_id, dte_type, state, created_at::date AS day, 1 AS n FROM new_rows
            UNION ALL
            SELECT company_id, dte_type, state, created_at::date AS day, -1 AS n FROM old_rows
        ) moved
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, dte_type, state, slot) DO UPDATE SET documents = a.documents + EXCLUDED.documents;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION dte_sidecar.backups_counted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dte_sidecar.dte_backup_daily AS a (company_id, dte_type, day, slot, backups, bytes)
        SELECT company_id, dte_type, day, dte_sidecar.aggregate_slot(), sum(n), sum(size)
        FROM (SELECT company_id, dte_type, sent_date::date AS day, 1 AS n, octet_length(xml_content)::bigint AS size FROM new_rows) moved
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(size) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, dte_type, day, slot)
        DO UPDATE SET backups = a.backups + EXCLUDED.backups, bytes = a.bytes + EXCLUDED.bytes;
        INSERT INTO dte_sidecar.dte_backup_totals AS a (company_id, dte_type, slot, backups, bytes)
        SELECT company_id, dte_type, dte_sidecar.aggregate_slot(), sum(n), sum(size)
        FROM (SELECT company_id, dte_type, sent_date::date AS day, 1 AS n, octet_length(xml_content)::bigint AS size FROM new_rows) moved
        GROUP BY 1, 2 HAVING sum(n) <> 0 OR sum(size) <> 0 ORDER BY 1, 2
        ON CONFLICT (company_id, dte_type, slot)
        DO UPDATE SET backups = a.backups + EXCLUDED.backups, bytes = a.bytes + EXCLUDED.bytes;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO dte_sidecar.dte_backup_daily AS a (company_id, dte_type, day, slot, backups, bytes)
        SELECT company_id, dte_type, day, dte_sidecar.aggregate_slot(), sum(n), sum(size)
        FROM (SELECT company_id, dte_type, sent_date::date AS day, -1 AS n, -octet_length(xml_content)::bigint AS size FROM old_rows) moved
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(size) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, dte_type, day, slot)
        DO UPDATE SET backups = a.backups + EXCLUDED.backups, bytes = a.bytes + EXCLUDED.bytes;
        INSERT INTO dte_sidecar.dte_backup_totals AS a (company_id, dte_type, slot, backups, bytes)
        SELECT company_id, dte_type, dte_sidecar.aggregate_slot(), sum(n), sum(size)
        FROM (SELECT company_id, dte_type, sent_date::date AS day, -1 AS n, -octet_length(xml_content)::bigint AS size FROM old_rows) moved
        GROUP BY 1, 2 HAVING sum(n) <> 0 OR sum(size) <> 0 ORDER BY 1, 2
        ON CONFLICT (company_id, dte_type, slot)
        DO UPDATE SET backups = a.backups + EXCLUDED.backups, bytes = a.bytes + EXCLUDED.bytes;
    ELSE
        INSERT INTO dte_sidecar.dte_backup_daily AS a (company_id, dte_type, day, slot, backups, bytes)
        SELECT company_id, dte_type, day, dte_sidecar.aggregate_slot(), sum(n), sum(size)
        FROM (
            SELECT company_id, dte_type, sent_date::date AS day, 1 AS n, octet_length(xml_content)::bigint AS size FROM new_rows
            UNION ALL
            SELECT company_id, dte_type, sent_date::date AS day, -1 AS n, -octet_length(xml_content)::bigint AS size FROM old_rows
        ) moved
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(size) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, dte_type, day, slot)
        DO UPDATE SET backups = a.backups + EXCLUDED.backups, bytes = a.bytes + EXCLUDED.bytes;
        INSERT INTO dte_sidecar.dte_backup_totals AS a (company_id, dte_type, slot, backups, bytes)
        SELECT company_id, dte_type, dte_sidecar.aggregate_slot(), sum(n), sum(size)
        FROM (
            SELECT company_id, dte_type, sent_date::date AS day, 1 AS n, octet_length(xml_content)::bigint AS size FROM new_rows
            UNION ALL
            SELECT company_id, dte_type, sent_date::date AS day, -1 AS n, -octet_length(xml_content)::bigint AS size FROM old_rows
        ) moved
        GROUP BY 1, 2 HAVING sum(n) <> 0 OR sum(size) <> 0 ORDER BY 1, 2
        ON CONFLICT (company_id, dte_type, slot)
        DO UPDATE SET backups = a.backups + EXCLUDED.backups, bytes = a.bytes + EXCLUDED.bytes;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION dte_sidecar.failed_entries_counted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO dte_sidecar.dte_failed_queue_totals AS a (company_id, state, retried, slot, entries)
        SELECT company_id, state, retried, dte_sidecar.aggregate_slot(), sum(n)
        FROM (SELECT company_id, state, retry_count > 0 AS retried, 1 AS n FROM new_rows) moved
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, state, retried, slot) DO UPDATE SET entries = a.entries + EXCLUDED.entries;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO dte_sidecar.dte_failed_queue_totals AS a (company_id, state, retried, slot, entries)
        SELECT company_id, state, retried, dte_sidecar.aggregate_slot(), sum(n)
        FROM (SELECT company_id, state, retry_count > 0 AS retried, -1 AS n FROM old_rows) moved
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, state, retried, slot) DO UPDATE SET entries = a.entries + EXCLUDED.entries;
    ELSE
        INSERT INTO dte_sidecar.dte_failed_queue_totals AS a (company_id, state, retried, slot, entries)
        SELECT company_id, state, retried, dte_sidecar.aggregate_slot(), sum(n)
        FROM (
            SELECT company_id, state, retry_count > 0 AS retried, 1 AS n FROM new_rows
            UNION ALL
            SELECT company_id, state, retry_count > 0 AS retried, -1 AS n FROM old_rows
        ) moved
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (company_id, state, retried, slot) DO UPDATE SET entries = a.entries + EXCLUDED.entries;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER dte_document_counted_insert AFTER INSERT ON dte_sidecar.dte_document
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.documents_counted();
CREATE TRIGGER dte_document_counted_update AFTER UPDATE ON dte_sidecar.dte_document
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.documents_counted();
CREATE TRIGGER dte_document_counted_delete AFTER DELETE ON dte_sidecar.dte_document
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.documents_counted();
CREATE TRIGGER dte_backup_counted_insert AFTER INSERT ON dte_sidecar.dte_backup
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.backups_counted();
CREATE TRIGGER dte_backup_counted_update AFTER UPDATE ON dte_sidecar.dte_backup
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.backups_counted();
CREATE TRIGGER dte_backup_counted_delete AFTER DELETE ON dte_sidecar.dte_backup
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.backups_counted();
CREATE TRIGGER dte_failed_queue_counted_insert AFTER INSERT ON dte_sidecar.dte_failed_queue
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.failed_entries_counted();
CREATE TRIGGER dte_failed_queue_counted_update AFTER UPDATE ON dte_sidecar.dte_failed_queue
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.failed_entries_counted();
CREATE TRIGGER dte_failed_queue_counted_delete AFTER DELETE ON dte_sidecar.dte_failed_queue
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.failed_entries_counted();

-- A TRUNCATE empties the counters with the rows.
CREATE FUNCTION dte_sidecar.aggregates_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 0 .. TG_NARGS - 1 LOOP
        EXECUTE format('DELETE FROM dte_sidecar.%I', TG_ARGV[i]);
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TRIGGER dte_document_counted_truncate AFTER TRUNCATE ON dte_sidecar.dte_document
    FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.aggregates_truncated('dte_document_daily', 'dte_document_totals');
CREATE TRIGGER dte_backup_counted_truncate AFTER TRUNCATE ON dte_sidecar.dte_backup
    FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.aggregates_truncated('dte_backup_daily', 'dte_backup_totals');
CREATE TRIGGER dte_failed_queue_counted_truncate AFTER TRUNCATE ON dte_sidecar.dte_failed_queue
    FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.aggregates_truncated('dte_failed_queue_totals');

-- Folds the slots of days before `today` into slot 0 (the retry queue's counters have
-- no day and few rows: all their slots are folded). Returns the rows folded.
CREATE FUNCTION dte_sidecar.compact_aggregates(today DATE) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    folded BIGINT := 0;
    n BIGINT;
BEGIN
    WITH moved AS (
        DELETE FROM dte_sidecar.dte_document_daily WHERE slot <> 0 AND day < today
        RETURNING company_id, dte_type, state, day, documents)
    INSERT INTO dte_sidecar.dte_document_daily AS a (company_id, dte_type, state, day, slot, documents)
    SELECT company_id, dte_type, state, day, 0, sum(documents) FROM moved GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (company_id, dte_type, state, day, slot) DO UPDATE SET documents = a.documents + EXCLUDED.documents;
    GET DIAGNOSTICS n = ROW_COUNT;
    folded := folded + n;
    WITH moved AS (
        DELETE FROM dte_sidecar.dte_backup_daily WHERE slot <> 0 AND day < today
        RETURNING company_id, dte_type, day, backups, bytes)
    INSERT INTO dte_sidecar.dte_backup_daily AS a (company_id, dte_type, day, slot, backups, bytes)
    SELECT company_id, dte_type, day, 0, sum(backups), sum(bytes) FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (company_id, dte_type, day, slot)
    DO UPDATE SET backups = a.backups + EXCLUDED.backups, bytes = a.bytes + EXCLUDED.bytes;
    GET DIAGNOSTICS n = ROW_COUNT;
    folded := folded + n;
    RETURN folded;
END;
$$;

-- What is already there is counted once, under a lock that keeps writers out meanwhile.
LOCK TABLE dte_sidecar.dte_document, dte_sidecar.dte_backup, dte_sidecar.dte_failed_queue IN SHARE MODE;
INSERT INTO dte_sidecar.dte_document_daily (company_id, dte_type, state, day, slot, documents)
    SELECT company_id, dte_type, state, created_at::date, 0, count(*)
    FROM dte_sidecar.dte_document GROUP BY 1, 2, 3, 4;
INSERT INTO dte_sidecar.dte_backup_daily (company_id, dte_type, day, slot, backups, bytes)
    SELECT company_id, dte_type, sent_date::date, 0, count(*), sum(octet_length(xml_content))
    FROM dte_sidecar.dte_backup GROUP BY 1, 2, 3;
INSERT INTO dte_sidecar.dte_document_totals (company_id, dte_type, state, slot, documents)
    SELECT company_id, dte_type, state, 0, sum(documents)
    FROM dte_sidecar.dte_document_daily GROUP BY 1, 2, 3;
INSERT INTO dte_sidecar.dte_backup_totals (company_id, dte_type, slot, backups, bytes)
    SELECT company_id, dte_type, 0, sum(backups), sum(bytes)
    FROM dte_sidecar.dte_backup_daily GROUP BY 1, 2;
INSERT INTO dte_sidecar.dte_failed_queue_totals (company_id, state, retried, slot, entries)
    SELECT company_id, state, retry_count > 0, 0, count(*)
    FROM dte_sidecar.dte_failed_queue GROUP BY 1, 2, 3;

-- Backups. Odoo's list: `sent_date desc, id desc`, all allowed companies or one.
-- Both replace narrower indexes of the same name (sent_date alone, company_id alone),
-- which they serve too; the first also serves retention's oldest-first scan (backwards).
DROP INDEX dte_sidecar.idx_dte_backup_date;
CREATE INDEX idx_dte_backup_date ON dte_sidecar.dte_backup (sent_date DESC, id DESC);
DROP INDEX dte_sidecar.idx_dte_backup_company;
CREATE INDEX idx_dte_backup_company ON dte_sidecar.dte_backup (company_id, sent_date DESC, id DESC);
CREATE INDEX idx_dte_backup_folio_trgm ON dte_sidecar.dte_backup USING gin (folio gin_trgm_ops);
CREATE INDEX idx_dte_backup_track_trgm ON dte_sidecar.dte_backup USING gin (track_id gin_trgm_ops);

-- Documents. Odoo's list: `created_at desc, id desc`; folio is a number (exact search).
CREATE INDEX idx_document_created ON dte_sidecar.dte_document (created_at DESC, id DESC);
CREATE INDEX idx_document_company_created ON dte_sidecar.dte_document (company_id, created_at DESC, id DESC);
CREATE INDEX idx_document_folio ON dte_sidecar.dte_document (folio);
CREATE INDEX idx_document_track ON dte_sidecar.dte_document (track_id);
CREATE INDEX idx_document_track_trgm ON dte_sidecar.dte_document USING gin (track_id gin_trgm_ops);

-- Retry queue. Odoo's list: `failed_date desc, id desc`; due work: pending by next retry;
-- the sweep's release of retries a crashed worker left behind.
CREATE INDEX idx_failed_queue_failed ON dte_sidecar.dte_failed_queue (failed_date DESC, id DESC);
DROP INDEX dte_sidecar.idx_failed_queue_company;
CREATE INDEX idx_failed_queue_company ON dte_sidecar.dte_failed_queue (company_id, failed_date DESC, id DESC);
CREATE INDEX idx_failed_queue_due ON dte_sidecar.dte_failed_queue (next_retry_date, id) WHERE state = 'pending';
CREATE INDEX idx_failed_queue_retrying ON dte_sidecar.dte_failed_queue (last_retry_date) WHERE state = 'retrying';
CREATE INDEX idx_failed_queue_folio_trgm ON dte_sidecar.dte_failed_queue USING gin (folio gin_trgm_ops);

-- Audit log and alerts: Odoo's default orders; the pending documents not uploaded yet
-- (the KPIs and /metrics count them per company).
CREATE INDEX idx_audit_log_created ON dte_sidecar.dte_audit_log (created_at DESC, id DESC);
CREATE INDEX idx_alert_raised ON dte_sidecar.dte_alert (raised_at DESC, id DESC);
CREATE INDEX idx_contingency_pending_open ON dte_sidecar.dte_contingency_pending (company_id) WHERE NOT uploaded;
