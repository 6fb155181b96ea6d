-- What Odoo's search views send for a folio, a track id or an invoice, served by b-trees:
-- a folio is looked up whole (`folio = '4321'`), a track id by its beginning
-- (`track_id LIKE '5000140087%'`, Odoo's `=like` with `self + '%'`), an invoice by its
-- id (`move_id IN (…)`). Odoo's default `ilike '%…%'` on these fields cannot use a b-tree
-- and, at millions of rows, not a trigram index either in the time a search should take.
--
-- A LIKE prefix uses a b-tree only under the C collation; Odoo's databases usually have
-- another (en_US.UTF-8, C.UTF-8), so the folio and track-id indexes use the pattern
-- operator class, which serves `=` and `= ANY` too. Nothing orders by these columns.

DROP INDEX dte_sidecar.idx_dte_backup_folio;
CREATE INDEX idx_dte_backup_folio ON dte_sidecar.dte_backup (folio varchar_pattern_ops);
DROP INDEX dte_sidecar.idx_dte_backup_track;
CREATE INDEX idx_dte_backup_track ON dte_sidecar.dte_backup (track_id varchar_pattern_ops);
CREATE INDEX idx_dte_backup_move ON dte_sidecar.dte_backup (move_id);

DROP INDEX dte_sidecar.idx_document_track;
CREATE INDEX idx_document_track ON dte_sidecar.dte_document (track_id varchar_pattern_ops);

CREATE INDEX idx_failed_queue_folio ON dte_sidecar.dte_failed_queue (folio varchar_pattern_ops);
CREATE INDEX idx_failed_queue_move ON dte_sidecar.dte_failed_queue (move_id);

CREATE INDEX idx_contingency_pending_folio ON dte_sidecar.dte_contingency_pending (folio varchar_pattern_ops);

-- The due retries of some companies (Odoo's "Run now" with its allowed companies): the
-- due index carries the company, so the scan stops at the first 100 of those companies
-- in order, reading no row, instead of fetching every due row of every company and
-- sorting them (at 10 M documents, hundreds of scattered heap pages per call).
DROP INDEX dte_sidecar.idx_failed_queue_due;
CREATE INDEX idx_failed_queue_due ON dte_sidecar.dte_failed_queue (next_retry_date, id) INCLUDE (company_id)
    WHERE state = 'pending';
