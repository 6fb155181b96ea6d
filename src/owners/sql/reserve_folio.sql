-- Draws the next folio of a type from the company's oldest usable CAF and reserves it for
-- a move, in one statement, so the CAF row stays locked for one round trip less.
-- A spare row of the drawn folio (given back earlier) is taken over; a folio that has a
-- document, or is reserved for another move, comes back with no reservation id (used).
-- No row at all: the type has no usable folio left.
-- $1 company_id, $2 dte_type, $3 today, $4 move_id, $5 request, $6 holder,
-- $7 reserved_at, $8 lease_until.
WITH drawn AS (
    UPDATE dte_sidecar.dte_caf SET next_folio = next_folio + 1
    WHERE id = (
        SELECT id FROM dte_sidecar.dte_caf
        WHERE company_id = $1 AND dte_type = $2
          AND next_folio <= folio_to AND (expires_on IS NULL OR expires_on > $3)
        ORDER BY folio_from LIMIT 1 FOR UPDATE)
    RETURNING id, next_folio - 1 AS folio,
        -- A subquery per drawn row, so the folio is looked up in the unique index.
        EXISTS (SELECT 1 FROM dte_sidecar.dte_document d
                WHERE d.company_id = dte_caf.company_id AND d.dte_type = dte_caf.dte_type
                  AND d.folio = dte_caf.next_folio - 1) AS documented),
held AS (
    INSERT INTO dte_sidecar.dte_folio_reservation
        (company_id, move_id, dte_type, folio, caf_id, request, holder, reserved_at, lease_until)
    SELECT $1, $4, $2, drawn.folio, drawn.id, $5, $6, $7, $8
    FROM drawn
    WHERE NOT drawn.documented
    ON CONFLICT (company_id, dte_type, folio) DO UPDATE SET move_id = EXCLUDED.move_id,
        caf_id = EXCLUDED.caf_id, request = EXCLUDED.request, holder = EXCLUDED.holder,
        reserved_at = EXCLUDED.reserved_at, lease_until = EXCLUDED.lease_until
    WHERE dte_folio_reservation.move_id IS NULL
    RETURNING id)
SELECT drawn.id AS caf_id, drawn.folio, held.id AS reservation_id
FROM drawn LEFT JOIN held ON true
