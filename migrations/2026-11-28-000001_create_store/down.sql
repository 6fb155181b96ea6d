-- CASCADE also drops the views published for Odoo, wherever they were published.
DROP TABLE dte_sidecar.dte_audit_log CASCADE;
DROP FUNCTION dte_sidecar.refuse_audit_change();
DROP TABLE dte_sidecar.dte_contingency_pending CASCADE;
DROP TABLE dte_sidecar.dte_contingency CASCADE;
DROP TABLE dte_sidecar.dte_failed_queue CASCADE;
DROP TABLE dte_sidecar.dte_backup CASCADE;
DROP TABLE dte_sidecar.dte_company CASCADE;
