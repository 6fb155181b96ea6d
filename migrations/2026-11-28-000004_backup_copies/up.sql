-- The second copy of every backup lives outside the database (a directory or object
-- storage); the row records when it was written. Rows without a copy are copied by the
-- sweep.
ALTER TABLE dte_sidecar.dte_backup ADD COLUMN copied_at TIMESTAMP;
CREATE INDEX idx_dte_backup_not_copied ON dte_sidecar.dte_backup (id) WHERE copied_at IS NULL;
