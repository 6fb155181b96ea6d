# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models


class DteAuditLog(models.Model):
    """What was done, by whom and when, as the sidecar recorded it (view ``dte_audit_log``)."""

    _name = "dte.audit.log"
    _inherit = ["dte.sidecar.view.mixin"]
    _description = "DTE audit log"
    _auto = False
    _log_access = False
    _table = "dte_audit_log"
    _order = "created_at desc, id desc"
    _rec_name = "action"

    company_id = fields.Many2one("res.company", readonly=True)
    actor_uid = fields.Many2one("res.users", string="User", readonly=True)
    actor = fields.Char(readonly=True)
    action = fields.Char(string="Action code", readonly=True)
    action_label = fields.Char(string="Action", compute="_compute_labels")
    target_model = fields.Char(string="Target model", readonly=True)
    target_id = fields.Integer(string="Target ID", readonly=True)
    target_name = fields.Char(string="Target", compute="_compute_labels")
    details = fields.Text(readonly=True)
    created_at = fields.Datetime(string="Date", readonly=True)

    @api.model
    def _action_labels(self):
        """The sidecar's action codes, for people (the code stays in ``action``)."""
        return {
            "company.register": _("Company registered in the sidecar"),
            "company.update": _("Company data updated in the sidecar"),
            "certificate.set": _("Signing certificate uploaded"),
            "caf.load": _("CAF file (folio range) loaded"),
            "document.send": _("Document sent to the SII"),
            "failed_queue.retry_now": _("Manual retry"),
            "failed_queue.abandon": _("Document abandoned"),
            "failed_queue.requeue": _("Document put back in the retry queue"),
            "contingency.enable": _("Contingency mode switched on"),
            "contingency.disable": _("Contingency mode switched off"),
            "contingency.upload_pending": _("Upload of the documents kept in contingency"),
        }

    @api.model
    def _target_labels(self):
        return {
            "dte.company": _("Company"),
            "dte.document": _("DTE document"),
            "dte.failed.queue": _("Retry queue entry"),
            "dte.contingency": _("Contingency of the company"),
            "dte.contingency.pending": _("Documents kept in contingency"),
            "dte.caf": _("Folio range (CAF)"),
            "dte.certificate": _("Signing certificate"),
            "dte.backup": _("Backup"),
        }

    @api.depends("action", "target_model", "target_id", "company_id")
    @api.depends_context("lang")
    def _compute_labels(self):
        actions, targets = self._action_labels(), self._target_labels()
        for entry in self:
            entry.action_label = actions.get(entry.action) or entry.action or ""
            kind = targets.get(entry.target_model) or entry.target_model or ""
            if entry.target_id:
                # dte.company rows carry the Odoo company's id.
                model = "res.company" if entry.target_model == "dte.company" else entry.target_model
                record = self.env.get(model) if model else None
                name = ""
                if record is not None and model != self._name:
                    # sudo: the name of what an entry this user may read is about.
                    found = record.sudo().browse(entry.target_id).exists()
                    name = found.display_name if found else ""
                entry.target_name = f"{kind}: {name}" if name else f"{kind} #{entry.target_id}"
            elif entry.action == "contingency.upload_pending":
                entry.target_name = _("All documents of %(company)s kept in contingency",
                                      company=entry.company_id.name or "")
            elif kind:
                entry.target_name = f"{kind}: {entry.company_id.name}" if entry.company_id else kind
            else:
                entry.target_name = entry.company_id.name or ""

    def _compute_display_name(self):
        for entry in self:
            entry.display_name = entry.action_label or entry.action or str(entry.id)
