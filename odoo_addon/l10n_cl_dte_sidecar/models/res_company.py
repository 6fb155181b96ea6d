# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools import dte_json


class ResCompany(models.Model):
    _inherit = "res.company"

    dte_acteco = fields.Char(
        string="Economic activity codes (Acteco)",
        help="The SII's economic activity codes of the company, up to four, separated by commas "
        "(for example 620200).",
    )
    dte_resolution_number = fields.Integer(
        string="SII resolution number", help="Number of the SII resolution that authorises electronic invoicing "
        "(0 in certification)."
    )
    dte_resolution_date = fields.Date(string="SII resolution date")
    dte_sii_office = fields.Char(
        string="SII office",
        help="The SII unit the company belongs to, printed under the box at the top right of "
        "every DTE (for example SANTIAGO CENTRO). Empty: the company's city.",
    )

    @api.constrains("dte_acteco")
    def _check_dte_acteco(self):
        for company in self:
            if company.dte_acteco and not re.fullmatch(r"\s*\d{5,6}(\s*,\s*\d{5,6}){0,3}\s*", company.dte_acteco):
                raise ValidationError(_(
                    "Economic activity codes must be up to four numbers of 5 or 6 digits separated by commas."
                ))

    def _dte_acteco_codes(self):
        self.ensure_one()
        return [int(code) for code in re.findall(r"\d+", self.dte_acteco or "")][:4]

    def _dte_register_values(self):
        """What ``dte.company.register`` takes. The rest of the issuer's data (giro, Acteco,
        address) travels with every document, so a change in Odoo needs no new registration."""
        self.ensure_one()
        missing = [label for label, value in (
            (_("RUT (Tax ID)"), self.vat),
            (_("SII resolution date"), self.dte_resolution_date),
        ) if not value]
        if missing:
            raise UserError(_(
                "Fill in the company's %(fields)s before registering it in the DTE sidecar.",
                fields=", ".join(missing),
            ))
        if not dte_json.rut_is_valid(self.vat):
            raise UserError(_("The company's RUT %(rut)s is not valid.", rut=self.vat))
        return {
            "company_id": self.id,
            "rut": dte_json.format_rut(self.vat),
            "name": self.name,
            "resolution_number": self.dte_resolution_number or 0,
            "resolution_date": fields.Date.to_string(self.dte_resolution_date),
        }

    def action_dte_register(self):
        """Register (or update) the company in the sidecar."""
        self.env["dte.sidecar.view.mixin"]._dte_check_manager()
        client = self.env["dte.sidecar.client"]
        for company in self:
            client._call("dte.company", "register", **company._dte_register_values())
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": _("The company is registered in the DTE sidecar."),
                "type": "success",
                "sticky": False,
            },
        }

    def action_dte_open_upload_wizard(self):
        self.ensure_one()
        self.env["dte.sidecar.view.mixin"]._dte_check_manager()
        return {
            "type": "ir.actions.act_window",
            "name": _("Upload certificate and CAF files"),
            "res_model": "dte.company.upload.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_company_id": self.id},
        }
