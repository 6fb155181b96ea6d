# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..tools import vocabulary

#: The labels of the sidecar's contingency reasons (the values come from its vocabulary).
CONTINGENCY_REASON_LABELS = {
    "manual": "Manual",
    "sii_unavailable": "SII unavailable",
    "certificate": "Certificate problem",
    "network": "Network problem",
    "other": "Other",
}
CONTINGENCY_REASONS = vocabulary.selection("contingency_reasons", CONTINGENCY_REASON_LABELS)


class DteContingency(models.Model):
    """Contingency switch of each company (view ``dte_contingency``, one row per company)."""

    _name = "dte.contingency"
    _inherit = ["dte.sidecar.view.mixin"]
    _description = "DTE contingency"
    _auto = False
    _log_access = False
    _table = "dte_contingency"
    _order = "company_id"

    enabled = fields.Boolean(string="Contingency active", readonly=True)
    reason = fields.Selection(CONTINGENCY_REASONS, readonly=True)
    comment = fields.Text(readonly=True)
    enabled_date = fields.Datetime(string="Enabled on", readonly=True)
    enabled_by = fields.Many2one("res.users", string="Enabled by", readonly=True)
    disabled_date = fields.Datetime(string="Disabled on", readonly=True)
    disabled_by = fields.Many2one("res.users", string="Disabled by", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)

    def _compute_display_name(self):
        for row in self:
            row.display_name = row.company_id.name or str(row.id)

    def action_open_wizard(self):
        company = self[:1].company_id or self.env.company
        return self.env["dte.contingency.wizard"].action_open(company)

    # The specification's API ------------------------------------------------------------

    @api.model
    def get_status(self, company_id=None):
        """The contingency status of a company (default: the current one), as the sidecar
        reports it: ``{enabled, reason, comment, enabled_date, enabled_by, pending_count,
        company_id, …}``. A DTE user may read it."""
        if not self.env.su:
            self.check_access("read")
        company = self._dte_company(company_id)
        return self._dte_client()._call("dte.contingency", "get_status", company_id=company.id) or {}

    @api.model
    def enable_contingency(self, reason="manual", comment=None, company_id=None):
        """Switch contingency mode on (DTE managers): documents are stamped, signed and
        kept until it is switched off and they are uploaded. Returns the new status."""
        return self._dte_switch("enable_contingency", company_id, reason=reason, comment=comment or None)

    @api.model
    def disable_contingency(self, comment=None, company_id=None):
        """Switch contingency mode off (DTE managers). Documents kept meanwhile stay
        pending until :meth:`upload_pending_batch` (or the sidecar's own drain) sends them.
        Returns the new status."""
        return self._dte_switch("disable_contingency", company_id, comment=comment or None)

    @api.model
    def upload_pending_batch(self, batch_size=50, company_id=None):
        """Upload the documents kept during contingency, in envelopes of at most
        ``batch_size`` documents (DTE managers). Returns the sidecar's report:
        ``{envelopes, uploaded, failed, remaining, …}``; the pending rows, queue entries
        and backups it changed are visible in this transaction."""
        self._dte_check_manager()
        company = self._dte_company(company_id)
        pending = self.env["dte.contingency.pending"]._dte_refresh_where(
            [("company_id", "=", company.id), ("uploaded", "=", False)]
        )
        report = self._dte_client()._call(
            "dte.contingency", "upload_pending_batch", company_id=company.id, batch_size=int(batch_size),
        ) or {}
        pending = pending._dte_refresh()
        uploaded = pending.filtered("uploaded")
        if uploaded:
            backups = self.env["dte.backup"]._dte_refresh_where([("move_id", "in", uploaded.move_id.ids)])
            backups._dte_attach_xml()
        self._dte_refresh_where([("company_id", "=", company.id)])
        return report

    @api.model
    def _dte_switch(self, method, company_id, **params):
        self._dte_check_manager()
        company = self._dte_company(company_id)
        status = self._dte_client()._call("dte.contingency", method, company_id=company.id, **params) or {}
        self._dte_refresh_where([("company_id", "=", company.id)])
        return status
