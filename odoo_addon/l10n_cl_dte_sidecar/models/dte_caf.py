# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .dte_sidecar_view_mixin import DTE_TYPE_SELECTION


class DteCaf(models.Model):
    """Folio ranges (CAF files) the sidecar holds, and how many folios are left
    (view ``dte_caf``; the CAF itself, with its private key, stays sealed in the sidecar)."""

    _name = "dte.caf"
    _inherit = ["dte.sidecar.view.mixin"]
    _description = "DTE folio range (CAF)"
    _auto = False
    _log_access = False
    _table = "dte_caf"
    _order = "company_id, dte_type, folio_from"

    company_id = fields.Many2one("res.company", readonly=True)
    dte_type = fields.Selection(DTE_TYPE_SELECTION, string="DTE type", readonly=True)
    folio_from = fields.Integer(string="From folio", readonly=True, aggregator=False)
    folio_to = fields.Integer(string="To folio", readonly=True, aggregator=False)
    next_folio = fields.Integer(string="Next folio", readonly=True, aggregator=False)
    folios_left = fields.Integer(string="Folios left", readonly=True)
    authorized_on = fields.Date(string="Authorised on", readonly=True)
    expires_on = fields.Date(string="Expires on", readonly=True)
    loaded_at = fields.Datetime(string="Loaded on", readonly=True)

    def _compute_display_name(self):
        for caf in self:
            caf.display_name = f"CAF {caf.dte_type or ''} {caf.folio_from}-{caf.folio_to}"
