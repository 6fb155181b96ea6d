DROP TRIGGER dte_backup_counted_update ON dte_sidecar.dte_backup;
DROP FUNCTION dte_sidecar.backup_recounted();
CREATE TRIGGER dte_backup_counted_update AFTER UPDATE ON dte_sidecar.dte_backup
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dte_sidecar.backups_counted();
