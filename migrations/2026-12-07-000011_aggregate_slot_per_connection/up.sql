-- A counter's stripe (its slot) was the writer's backend pid modulo 16, so two of the
-- sidecar's connections could share one. The counters a transaction moves are locked
-- until it commits, and one transaction moves them in the order of its statements: a
-- retry's claim moves the queue's counters, then the documents'; recording an upload moves
-- the documents', then the queue's. Two such transactions on connections sharing a slot
-- waited for each other: a deadlock, which PostgreSQL broke by aborting one of them.
--
-- Each of the sidecar's pooled connections now takes a slot of its own for its life,
-- 17 to 272, held by a session advisory lock, so no two of them ever share a counter
-- row. Any other writer (psql, a one-off command) keeps the pid's slot, 1 to 16.
-- Readers sum the slots as before; the sweep folds past days into slot 0 as before.

CREATE FUNCTION dte_sidecar.claim_aggregate_slot() RETURNS SMALLINT
LANGUAGE plpgsql AS $$
DECLARE
    n INTEGER;
BEGIN
    FOR n IN 17..272 LOOP
        -- 3454 (0x0d7e) is the sidecar's class of two-key advisory locks.
        IF pg_try_advisory_lock(3454, n) THEN
            PERFORM set_config('dte_sidecar.aggregate_slot', n::text, false);
            RETURN n;
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION dte_sidecar.aggregate_slot() RETURNS SMALLINT LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('dte_sidecar.aggregate_slot', true), '')::smallint,
                    (1 + pg_backend_pid() % 16)::smallint);
$$;
