# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import binascii
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .dte_sidecar_view_mixin import DTE_TYPE_SELECTION

_logger = logging.getLogger(__name__)


class DteBackup(models.Model):
    """Signed XML of every DTE the SII took, kept by the sidecar (view ``dte_backup``).

    The XML itself is not in the view: "Download XML" asks the sidecar, which also keeps a
    second copy outside the database and its SHA-256.
    """

    _name = "dte.backup"
    _inherit = ["dte.sidecar.view.mixin"]
    _description = "DTE backup"
    _auto = False
    _log_access = False
    _table = "dte_backup"
    _order = "sent_date desc, id desc"

    dte_type = fields.Selection(DTE_TYPE_SELECTION, string="DTE type", readonly=True)
    folio = fields.Char(readonly=True)
    rut_emisor = fields.Char(string="Issuer RUT", readonly=True)
    track_id = fields.Char(string="SII track ID", readonly=True)
    sent_date = fields.Datetime(string="Sent on", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    xml_filename = fields.Char(string="XML file name", readonly=True)
    sha256 = fields.Char(string="SHA-256", readonly=True)
    # Not in the view: fetched from the sidecar only when asked for (download link).
    xml_file = fields.Binary(string="Signed XML", compute="_compute_xml_file", attachment=False)

    def _compute_display_name(self):
        for backup in self:
            backup.display_name = f"DTE {backup.dte_type or ''} N° {backup.folio or ''}"

    def _compute_xml_file(self):
        for backup in self:
            backup.xml_file = backup._dte_fetch_xml()["xml_base64"]

    def _dte_fetch_xml(self):
        self.ensure_one()
        # The sidecar hands out any backup it is asked for: only ask for one this user may
        # see (multi-company rules).
        self.check_access("read")
        result = self._dte_client()._call("dte.backup", "download_xml", ids=[self.id]) or {}
        if isinstance(result, list):
            result = result[0] if result else {}
        xml_base64 = result.get("xml_base64") or ""
        try:
            base64.b64decode(xml_base64, validate=True)
        except (binascii.Error, ValueError):
            raise UserError(_("The DTE sidecar sent a backup that is not valid base64.")) from None
        if not xml_base64:
            raise UserError(_("The DTE sidecar has no XML for this backup."))
        return {"filename": result.get("filename") or self.xml_filename or f"DTE-{self.dte_type}-{self.folio}.xml",
                "xml_base64": xml_base64}

    def action_download_xml(self):
        self.ensure_one()
        filename = self._dte_fetch_xml()["filename"]
        return {
            "type": "ir.actions.act_url",
            "url": f"/l10n_cl_dte_sidecar/backup/{self.id}/xml/{filename}",
            "target": "download",
        }

    @api.model
    def _cron_cleanup_old_backups(self):
        """Scheduled action "DTE: Cleanup Old Backups": the sidecar's retention, now. It
        removes only backups older than its retention period whose second copy checks out;
        the result goes to the log."""
        report = self._dte_client()._call("dte.backup", "run_retention") or {}
        _logger.info(
            "DTE: Cleanup Old Backups: %s backups older than %s years removed",
            report.get("removed", 0), report.get("retention_years", "?"),
        )
        return report

    def action_open_move(self):
        self.ensure_one()
        return self.move_id.get_formview_action()
