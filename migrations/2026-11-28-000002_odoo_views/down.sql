DROP FUNCTION dte_sidecar.publish_odoo_views(TEXT);
