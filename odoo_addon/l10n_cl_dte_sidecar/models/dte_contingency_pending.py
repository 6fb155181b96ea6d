# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

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
    upload_error = fields.Text(string="Upload error (technical)", readonly=True)
    error_code = fields.Char(string="Error code", readonly=True)
    error_params = fields.Text(string="Error parameters", readonly=True)
    error_text = fields.Text(string="Upload error", compute="_compute_error_text")
    company_id = fields.Many2one("res.company", readonly=True)
    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    document_id = fields.Many2one("dte.document", string="DTE document", readonly=True)

    @api.depends("error_code", "error_params", "upload_error")
    @api.depends_context("lang", "tz")
    def _compute_error_text(self):
        """Why the upload failed or the document was set aside, from its stored code (a
        row written before codes: its text as it came, with a capital)."""
        client = self.env["dte.sidecar.client"]
        for row in self:
            row.error_text = client._dte_stored_text(row.error_code, row.error_params, row.upload_error) or False

    def _compute_display_name(self):
        for row in self:
            row.display_name = f"DTE {row.dte_type or ''} N° {row.folio or ''}"

    def action_open_move(self):
        self.ensure_one()
        return self.move_id.get_formview_action()
