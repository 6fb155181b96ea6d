# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


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

    company_id = fields.Many2one("res.company", string="Company", readonly=True)
    actor_uid = fields.Many2one("res.users", string="User", readonly=True)
    actor = fields.Char(string="Actor", readonly=True)
    action = fields.Char(readonly=True)
    target_model = fields.Char(string="Target model", readonly=True)
    target_id = fields.Integer(string="Target ID", readonly=True)
    details = fields.Text(readonly=True)
    created_at = fields.Datetime(string="Date", readonly=True)
