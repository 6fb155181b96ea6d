# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import dte_json


class DteCompanyUploadWizard(models.TransientModel):
    """Hand the signing certificate and CAF files to the sidecar, which keeps them.

    Odoo keeps neither: the file and password fields are emptied as soon as they have been
    forwarded (the wizard row itself is only visible to the user who made it and is
    vacuumed by Odoo).
    """

    _name = "dte.company.upload.wizard"
    _description = "Upload DTE certificate and CAF files"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    certificate_file = fields.Binary(string="Certificate (.p12 / .pfx)", attachment=False)
    certificate_filename = fields.Char(string="Certificate file name")
    certificate_password = fields.Char(string="Certificate password")
    caf_file = fields.Binary(string="CAF file (.xml)", attachment=False)
    caf_filename = fields.Char(string="CAF file name")

    def _wipe_secrets_in_new_transaction(self):
        with self.env.registry.cursor() as cr:
            cr.execute(SQL(
                "UPDATE %s SET certificate_file = NULL, certificate_password = NULL, caf_file = NULL "
                "WHERE id IN %s",
                SQL.identifier(self._table), tuple(self.ids),
            ))

    def action_upload(self):
        self.ensure_one()
        self.env["dte.sidecar.view.mixin"]._dte_check_manager()
        if not self.certificate_file and not self.caf_file:
            raise UserError(_("Choose a certificate or a CAF file to upload."))
        client = self.env["dte.sidecar.client"]
        done = []
        try:
            if self.certificate_file:
                client._call(
                    "dte.company", "set_certificate",
                    company_id=self.company_id.id,
                    pkcs12=self.certificate_file.decode() if isinstance(self.certificate_file, bytes)
                    else self.certificate_file,
                    password=self.certificate_password or "",
                )
                done.append(_("certificate"))
            if self.caf_file:
                caf_xml = dte_json.decode_xml_bytes(base64.b64decode(self.caf_file))
                if "<AUTORIZACION" not in caf_xml:
                    raise UserError(_("%(file)s is not a CAF file.", file=self.caf_filename or _("The file")))
                client._call("dte.caf", "load", company_id=self.company_id.id, caf_xml=caf_xml)
                done.append(_("CAF file"))
        except Exception:
            # This transaction is about to be rolled back: wipe the secrets in another one.
            self._wipe_secrets_in_new_transaction()
            raise
        self.write({"certificate_file": False, "certificate_password": False, "caf_file": False})
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": _("Sent to the DTE sidecar: %(what)s.", what=", ".join(done)),
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
