DROP TABLE dte_sidecar.dte_audit_log;
DROP FUNCTION dte_sidecar.refuse_audit_change();
DROP TABLE dte_sidecar.dte_contingency_pending;
DROP TABLE dte_sidecar.dte_contingency;
DROP TABLE dte_sidecar.dte_failed_queue;
DROP TABLE dte_sidecar.dte_backup;
DROP TABLE dte_sidecar.dte_company;
