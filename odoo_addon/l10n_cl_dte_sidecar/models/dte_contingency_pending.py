# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .dte_sidecar_view_mixin import DTE_TYPE_SELECTION


class DteContingencyPending(models.Model):
    """Documents stamped and signed during contingency, waiting to be uploaded
    (view ``dte_contingency_pending``, one row per invoice)."""

    _name = "dte.contingency.pending"
    _inherit = ["dte.sidecar.view.mixin"]
    _description = "DTE pending from contingency"
    _auto = False
    _log_access = False
    _table = "dte_contingency_pending"
    _order = "stored_date desc, id desc"

    dte_type = fields.Selection(DTE_TYPE_SELECTION, string="DTE type", readonly=True)
    folio = fields.Char(readonly=True)
    rut_emisor = fields.Char(string="Issuer RUT", readonly=True)
    stored_date = fields.Datetime(string="Stored on", readonly=True)
    uploaded = fields.Boolean(readonly=True)
    uploaded_date = fields.Datetime(string="Uploaded on", readonly=True)
    track_id = fields.Char(string="SII track ID", readonly=True)
    upload_error = fields.Text(string="Upload error", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    document_id = fields.Many2one("dte.document", string="DTE document", readonly=True)

    def _compute_display_name(self):
        for row in self:
            row.display_name = f"DTE {row.dte_type or ''} N° {row.folio or ''}"

    def action_open_move(self):
        self.ensure_one()
        return self.move_id.get_formview_action()
