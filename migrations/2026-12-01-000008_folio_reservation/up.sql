-- A folio taken for a move before its document is stamped and signed. The reservation is
-- committed first, so the CPU work runs with no transaction or connection held; the
-- document then replaces it in one transaction. A reservation left behind by a crash is
-- completed from its stored request once its lease lapses, so a folio is never lost, and
-- the unique keys make sure it is never given twice. A reservation without a move is a
-- spare: a folio whose stamping failed, which the next allocation of its type takes first.
CREATE TABLE dte_sidecar.dte_folio_reservation (
    id SERIAL PRIMARY KEY,
    company_id INTEGER NOT NULL,
    move_id INTEGER,
    dte_type VARCHAR(2) NOT NULL CHECK (dte_type IN ('33', '34', '52', '56', '61')),
    folio BIGINT NOT NULL,
    caf_id INTEGER NOT NULL,
    request TEXT,
    holder BIGINT NOT NULL,
    reserved_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP NOT NULL,
    CONSTRAINT dte_folio_reservation_one_per_move UNIQUE (move_id),
    CONSTRAINT dte_folio_reservation_folio_once UNIQUE (company_id, dte_type, folio)
);
CREATE INDEX dte_folio_reservation_lapsing ON dte_sidecar.dte_folio_reservation (lease_until);
