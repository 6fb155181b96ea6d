# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.dte_contingency import CONTINGENCY_REASONS


class DteContingencyWizard(models.TransientModel):
    """Contingency mode of one company: its status, and the three switches the
    specification's flow 3 needs (enable, upload pending, disable), all done by the sidecar."""

    _name = "dte.contingency.wizard"
    _description = "DTE contingency wizard"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    # Current status, as the sidecar reports it.
    enabled = fields.Boolean(string="Contingency active", readonly=True)
    current_reason = fields.Selection(CONTINGENCY_REASONS, string="Reason", readonly=True)
    current_comment = fields.Text(string="Comment", readonly=True)
    enabled_date = fields.Datetime(string="Enabled on", readonly=True)
    enabled_by = fields.Char(string="Enabled by", readonly=True)
    pending_count = fields.Integer(string="Documents pending upload", readonly=True)
    # What to do.
    reason = fields.Selection(CONTINGENCY_REASONS, string="New reason", default="manual")
    comment = fields.Text(string="New comment")
    batch_size = fields.Integer(string="Batch size", default=50)

    _check_batch_size = models.Constraint(
        "CHECK (batch_size > 0)", "The batch size must be positive.",
    )

    @api.model
    def _status_values(self, company):
        status = self.env["dte.sidecar.client"]._call(
            "dte.contingency", "get_status", company_id=company.id
        ) or {}
        reasons = dict(CONTINGENCY_REASONS)
        enabled_by = status.get("enabled_by")
        if isinstance(enabled_by, int) and not isinstance(enabled_by, bool):
            user = self.env["res.users"].sudo().browse(enabled_by).exists()
            enabled_by = user.name if user else str(enabled_by)
        elif isinstance(enabled_by, (list, tuple)) and len(enabled_by) == 2:
            enabled_by = enabled_by[1]  # Odoo's [id, name] form
        enabled = bool(status.get("enabled"))
        return {
            "company_id": company.id,
            "enabled": enabled,
            "current_reason": status.get("reason") if status.get("reason") in reasons else False,
            # The sidecar keeps the comment of the last enabling after contingency ends: it
            # describes a period that is over, so it is shown only while that period lasts.
            "current_comment": (status.get("comment") or False) if enabled else False,
            "enabled_date": _to_datetime(status.get("enabled_date")),
            "enabled_by": enabled_by or False,
            "pending_count": int(status.get("pending_count") or 0),
        }

    @api.model
    def action_open(self, company=None):
        company = company or self.env.company
        wizard = self.create(self._status_values(company))
        return wizard._action_reopen()

    def _action_reopen(self, notification=None):
        self.ensure_one()
        # Complete as the web client runs it: a notification's ``next`` reaches the client
        # as it is, without the server filling in ``views`` as it does for a returned action.
        action = {
            "type": "ir.actions.act_window",
            "name": _("DTE contingency"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(self.env.ref("l10n_cl_dte_sidecar.view_dte_contingency_wizard_form").id, "form")],
            "target": "new",
        }
        if notification:
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "message": notification,
                    "type": "success",
                    "sticky": False,
                    "next": action,
                },
            }
        return action

    def _refresh(self, switched=False):
        values = self._status_values(self.company_id)
        if switched:
            # The comment typed for this switch is in the audit log now; the next switch
            # gets its own.
            values["comment"] = False
        self.write(values)

    def action_refresh(self):
        self.ensure_one()
        self._refresh()
        return self._action_reopen()

    def action_enable(self):
        self.ensure_one()
        self.env["dte.sidecar.view.mixin"]._dte_check_manager()
        if not self.reason:
            raise UserError(_("Choose why contingency mode is enabled."))
        self.env["dte.sidecar.client"]._call(
            "dte.contingency", "enable_contingency",
            company_id=self.company_id.id, reason=self.reason, comment=self.comment or "",
        )
        self._refresh(switched=True)
        return self._action_reopen(_(
            "Contingency mode is ON: documents are stamped and signed, and kept until the SII is back."
        ))

    def action_upload_pending(self):
        self.ensure_one()
        self.env["dte.sidecar.view.mixin"]._dte_check_manager()
        if self.batch_size <= 0:
            raise UserError(_("The batch size must be positive."))
        result = self.env["dte.sidecar.client"]._call(
            "dte.contingency", "upload_pending_batch",
            company_id=self.company_id.id, batch_size=self.batch_size,
        )
        self._refresh()
        uploaded = failed = None
        if isinstance(result, dict):
            uploaded, failed = result.get("uploaded"), result.get("failed")
        elif isinstance(result, int) and not isinstance(result, bool):
            uploaded = result
        if uploaded is None:
            message = _("Pending documents were handed to the sidecar for upload.")
        else:
            message = _(
                "%(uploaded)s documents uploaded, %(failed)s failed, %(left)s still pending.",
                uploaded=uploaded, failed=failed or 0, left=self.pending_count,
            )
        return self._action_reopen(message)

    def action_disable(self):
        self.ensure_one()
        self.env["dte.sidecar.view.mixin"]._dte_check_manager()
        self.env["dte.sidecar.client"]._call(
            "dte.contingency", "disable_contingency",
            company_id=self.company_id.id, comment=self.comment or "",
        )
        self._refresh(switched=True)
        return self._action_reopen(_("Contingency mode is OFF."))


def _to_datetime(value):
    """The sidecar's timestamps (ISO 8601, UTC) as Odoo's naive UTC datetimes."""
    if not value:
        return False
    if not isinstance(value, str):
        return value
    from datetime import datetime, timezone  # noqa: PLC0415

    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return False
    if moment.tzinfo:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0)
