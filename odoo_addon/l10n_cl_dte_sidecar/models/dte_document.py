# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..tools import vocabulary
from .dte_sidecar_view_mixin import DTE_TYPE_SELECTION

#: The labels of the sidecar's document states (the values come from its vocabulary).
DOCUMENT_STATE_LABELS = {
    "generated": "Generated",
    "contingency": "Contingency",
    "sending": "Sending",
    "sent": "Sent",
    "accepted": "Accepted",
    "accepted_with_objections": "Accepted with objections",
    "rejected": "Rejected",
    "failed": "Failed, will retry",
    "abandoned": "Abandoned",
}
DOCUMENT_STATES = vocabulary.selection("states.document", DOCUMENT_STATE_LABELS)


class DteDocument(models.Model):
    """The sidecar's document state machine, one row per invoice (view ``dte_document``)."""

    _name = "dte.document"
    _inherit = ["dte.sidecar.view.mixin"]
    _description = "DTE document"
    _auto = False
    _log_access = False
    _table = "dte_document"
    _order = "created_at desc, id desc"

    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    dte_type = fields.Selection(DTE_TYPE_SELECTION, string="DTE type", readonly=True)
    folio = fields.Integer(readonly=True, aggregator=False)
    state = fields.Selection(DOCUMENT_STATES, readonly=True)
    track_id = fields.Char(string="SII track ID", readonly=True)
    sii_code = fields.Char(string="SII status code", readonly=True)
    message = fields.Text(string="Message from the sidecar", readonly=True)
    message_code = fields.Char(string="Message code", readonly=True)
    message_params = fields.Text(string="Message parameters", readonly=True)
    message_text = fields.Text(string="Message", compute="_compute_message_text")
    issue_date = fields.Date(string="Issue date", readonly=True)
    receiver_rut = fields.Char(string="Receiver RUT", readonly=True)
    total = fields.Integer(string="Total (CLP)", readonly=True, aggregator="sum")
    state_changed_at = fields.Datetime(string="State changed on", readonly=True)
    created_at = fields.Datetime(string="Created on", readonly=True)

    @api.depends("state", "message_code", "message_params", "message")
    @api.depends_context("lang", "tz")
    def _compute_message_text(self):
        client = self.env["dte.sidecar.client"]
        entries = client._dte_queue_entries(self.ids)
        for document in self:
            document.message_text = client._dte_document_text(
                document.state, document.message_code, document.message_params, document.message,
                entries.get(document.id),
            )

    def _compute_display_name(self):
        for document in self:
            document.display_name = f"DTE {document.dte_type or ''} N° {document.folio or ''}"

    def action_open_move(self):
        self.ensure_one()
        return self.move_id.get_formview_action()
