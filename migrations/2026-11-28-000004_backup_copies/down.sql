ALTER TABLE dte_sidecar.dte_backup DROP COLUMN copied_at;
