# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, fields, models

from .dte_sidecar_client import DEFAULT_URL, PARAM_API_KEY, PARAM_TIMEOUT, PARAM_URL


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    dte_sidecar_url = fields.Char(
        string="DTE sidecar URL", config_parameter=PARAM_URL, default=DEFAULT_URL,
        help="Where the dte-sidecar service listens, for example http://127.0.0.1:8070.",
    )
    dte_sidecar_api_key = fields.Char(
        string="DTE sidecar API key", config_parameter=PARAM_API_KEY,
        groups="l10n_cl_dte_sidecar.group_dte_manager",
        help="The key the sidecar knows Odoo by (DTE__AUTH__API_KEYS__ODOO on the sidecar).",
    )
    dte_sidecar_timeout = fields.Integer(
        string="DTE sidecar timeout (s)", config_parameter=PARAM_TIMEOUT, default=30,
        help="Seconds to wait for the sidecar's answer.",
    )
    dte_company_acteco = fields.Char(related="company_id.dte_acteco", readonly=False)
    dte_company_resolution_number = fields.Integer(related="company_id.dte_resolution_number", readonly=False)
    dte_company_resolution_date = fields.Date(related="company_id.dte_resolution_date", readonly=False)

    def action_dte_check_connection(self):
        self.env["dte.sidecar.view.mixin"]._dte_check_manager()
        status = self.env["dte.sidecar.client"]._call(
            "dte.contingency", "get_status", company_id=self.env.company.id
        ) or {}
        if status.get("enabled"):
            message = _("The DTE sidecar answers. The company is in contingency mode.")
        else:
            message = _("The DTE sidecar answers. The company is not in contingency mode.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": "success", "sticky": False},
        }

    def action_dte_register_company(self):
        return self.env.company.action_dte_register()

    def action_dte_open_upload_wizard(self):
        return self.env.company.action_dte_open_upload_wizard()
