CREATE OR REPLACE FUNCTION dte_sidecar.aggregate_slot() RETURNS SMALLINT LANGUAGE sql STABLE AS $$
    SELECT (1 + pg_backend_pid() % 16)::smallint;
$$;
DROP FUNCTION dte_sidecar.claim_aggregate_slot();
