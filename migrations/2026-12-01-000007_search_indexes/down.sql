DROP INDEX dte_sidecar.idx_failed_queue_due;
CREATE INDEX idx_failed_queue_due ON dte_sidecar.dte_failed_queue (next_retry_date, id) WHERE state = 'pending';

DROP INDEX dte_sidecar.idx_contingency_pending_folio;
DROP INDEX dte_sidecar.idx_failed_queue_move;
DROP INDEX dte_sidecar.idx_failed_queue_folio;

DROP INDEX dte_sidecar.idx_document_track;
CREATE INDEX idx_document_track ON dte_sidecar.dte_document (track_id);

DROP INDEX dte_sidecar.idx_dte_backup_move;
DROP INDEX dte_sidecar.idx_dte_backup_track;
CREATE INDEX idx_dte_backup_track ON dte_sidecar.dte_backup (track_id);
DROP INDEX dte_sidecar.idx_dte_backup_folio;
CREATE INDEX idx_dte_backup_folio ON dte_sidecar.dte_backup (folio);
