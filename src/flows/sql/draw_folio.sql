-- The next folio of a type from the company's oldest usable CAF, the CAF's id and whether
-- a document or a reservation already holds that folio. Only narrow columns come back:
-- the CAF's sealed XML is read once per process (`Keys::caf_of_row`), not per draw.
-- $1 company_id, $2 dte_type, $3 today.
WITH drawn AS (
    UPDATE dte_sidecar.dte_caf SET next_folio = next_folio + 1
    WHERE id = (
        SELECT id FROM dte_sidecar.dte_caf
        WHERE company_id = $1 AND dte_type = $2
          AND next_folio <= folio_to AND (expires_on IS NULL OR expires_on > $3)
        ORDER BY folio_from LIMIT 1 FOR UPDATE)
    RETURNING id, company_id, dte_type, next_folio)
SELECT drawn.id AS caf_id, drawn.next_folio - 1 AS folio,
       EXISTS (SELECT 1 FROM dte_sidecar.dte_document d
               WHERE d.company_id = drawn.company_id AND d.dte_type = drawn.dte_type
                 AND d.folio = drawn.next_folio - 1)
       OR EXISTS (SELECT 1 FROM dte_sidecar.dte_folio_reservation r
                  WHERE r.company_id = drawn.company_id AND r.dte_type = drawn.dte_type
                    AND r.folio = drawn.next_folio - 1 AND r.move_id IS NOT NULL) AS used
FROM drawn
