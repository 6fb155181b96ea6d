# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

CONTINGENCY_REASONS = [
    ("manual", "Manual"),
    ("sii_unavailable", "SII unavailable"),
    ("certificate", "Certificate problem"),
    ("other", "Other"),
]


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
