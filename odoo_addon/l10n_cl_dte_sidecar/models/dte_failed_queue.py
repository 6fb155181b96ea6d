# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, fields, models

from .dte_sidecar_view_mixin import DTE_TYPE_SELECTION

ERROR_TYPES = [
    ("timeout", "Timeout"),
    ("connection", "Connection"),
    ("unavailable", "SII unavailable"),
    ("validation", "Validation"),
    ("certificate", "Certificate"),
    ("unknown", "Unknown"),
]
QUEUE_STATES = [
    ("pending", "Pending"),
    ("retrying", "Retrying"),
    ("success", "Success"),
    ("abandoned", "Abandoned"),
]


def summarize_result(result):
    """A short text for a person out of what the sidecar answered to an action."""
    if isinstance(result, dict):
        result = [result]
    if isinstance(result, list):
        parts = []
        for item in result:
            if isinstance(item, dict):
                text = item.get("message") or item.get("state") or ""
                if item.get("folio"):
                    text = f"{item['folio']}: {text}"
                if text:
                    parts.append(str(text))
        return "; ".join(parts)
    return ""


class DteFailedQueue(models.Model):
    """Uploads that failed and their retry schedule (view ``dte_failed_queue``).

    The sidecar retries on its own (1, 2, 4, 8, 16 h, then abandoned); the buttons ask it to
    retry now, abandon, or requeue an abandoned entry, each written to its audit log.
    """

    _name = "dte.failed.queue"
    _inherit = ["dte.sidecar.view.mixin"]
    _description = "DTE failed queue"
    _auto = False
    _log_access = False
    _table = "dte_failed_queue"
    _order = "failed_date desc, id desc"

    dte_type = fields.Selection(DTE_TYPE_SELECTION, string="DTE type", readonly=True)
    folio = fields.Char(readonly=True)
    rut_emisor = fields.Char(string="Issuer RUT", readonly=True)
    error_type = fields.Selection(ERROR_TYPES, string="Error type", readonly=True)
    error_message = fields.Text(string="Error", readonly=True)
    retry_count = fields.Integer(string="Retries", readonly=True)
    max_retries = fields.Integer(string="Maximum retries", readonly=True)
    failed_date = fields.Datetime(string="Failed on", readonly=True)
    last_retry_date = fields.Datetime(string="Last retry", readonly=True)
    next_retry_date = fields.Datetime(string="Next retry", readonly=True)
    state = fields.Selection(QUEUE_STATES, readonly=True)
    success_track_id = fields.Char(string="SII track ID", readonly=True)
    success_date = fields.Datetime(string="Succeeded on", readonly=True)
    retry_history = fields.Text(string="Retry history", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    document_id = fields.Many2one("dte.document", string="DTE document", readonly=True)

    def _compute_display_name(self):
        for entry in self:
            entry.display_name = f"DTE {entry.dte_type or ''} N° {entry.folio or ''}"

    def _dte_queue_action(self, method, done_message):
        self._dte_check_manager()
        if not self:
            return False
        # The sidecar acts on any id it is given: only forward the entries this user may
        # see (multi-company rules).
        self.check_access("read")
        result = self._dte_client()._call("dte.failed.queue", method, ids=self.ids)
        detail = summarize_result(result)
        message = f"{done_message} {detail}".strip() if detail else done_message
        return self._dte_notify(message)

    def action_retry_now(self):
        self._dte_check_manager()
        if not self:
            return False
        self.check_access("read")
        result = self._dte_client()._call("dte.failed.queue", "retry_send", ids=self.ids)
        items = [item for item in (result if isinstance(result, list) else [result]) if isinstance(item, dict)]
        failed = [item for item in items if item.get("success") is False]
        if not failed:
            detail = summarize_result(result)
            done = _("The sidecar retried the selected documents.")
            return self._dte_notify(f"{done} {detail}".strip() if detail else done)
        # A retry that did not reach the SII is a failure the user must see as one, with
        # the SII's reason: the document is still in the queue.
        names = {entry.id: entry.display_name for entry in self}
        reasons = "\n".join(
            f"{names.get(item.get('id'), '')}: {item.get('message') or _('no reason given')}".strip(": ")
            for item in failed
        )
        return self._dte_notify(
            _(
                "%(failed)s of %(total)s documents could not be sent to the SII and stay in the queue.\n%(reasons)s",
                failed=len(failed), total=len(items), reasons=reasons,
            ),
            kind="danger",
            title=_("Retry failed"),
        )

    def action_abandon(self):
        return self._dte_queue_action("abandon", _("The selected documents were abandoned."))

    def action_requeue(self):
        return self._dte_queue_action("requeue", _("The selected documents were put back in the queue."))

    def action_open_move(self):
        self.ensure_one()
        return self.move_id.get_formview_action()
