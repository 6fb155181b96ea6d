# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import binascii
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .dte_sidecar_view_mixin import DTE_TYPE_SELECTION

_logger = logging.getLogger(__name__)

#: Where the scheduled action "DTE: Attach backup XML" has got to (a backup id).
PARAM_ATTACH_WATERMARK = "l10n_cl_dte_sidecar.attach_watermark"
#: Backups attached per run of that action (it runs every minute).
ATTACH_BATCH = 100
#: A backup older than this has been committed for sure: the watermark never passes a
#: younger one, whose lower id may commit after a higher one.
ATTACH_SETTLE_MINUTES = 10
#: What an SII document is, without claiming a charset: its bytes are ISO-8859-1 and its
#: XML declaration says so.
XML_MIMETYPE = "application/xml"


def xml_text(xml_content):
    """``xml_content`` as the text the sidecar takes: bytes are decoded by the encoding
    their XML declaration names (ISO-8859-1 for SII documents), else as UTF-8."""
    if isinstance(xml_content, str):
        return xml_content
    if isinstance(xml_content, (bytes, bytearray, memoryview)):
        raw = bytes(xml_content)
        head = raw[:100].lower()
        encoding = "iso-8859-1" if b"iso-8859-1" in head or b"latin-1" in head else "utf-8"
        return raw.decode(encoding)
    return xml_content


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

    # The specification's API ------------------------------------------------------------

    @api.model
    def backup_dte(self, dte_type, folio, xml_content, track_id, move_id, rut_emisor=None, company_id=None):
        """Back up a signed DTE the SII took, and attach its XML (the "double backup").

        The sidecar keeps the XML (its database and a second copy outside it) and checks
        it; the backup is returned as a ``dte.backup`` record readable in this very
        transaction, and its XML is attached to it (``ir.attachment``) at once.

        :param str dte_type: '33', '34', '52', '56' or '61'
        :param str folio: the document's folio
        :param str xml_content: the signed XML (ISO-8859-1 text, or its bytes)
        :param str track_id: the SII's track id
        :param int move_id: the invoice (``account.move``)
        :param str rut_emisor: the issuer's RUT (default: the company's)
        :param int company_id: default: the invoice's company, else the current company
        :return: the backup (``dte.backup``)
        """
        self._dte_check_manager()
        company = self._dte_company(company_id, move_id)
        backup_id = self._dte_client()._call(
            "dte.backup", "backup_dte",
            dte_type=str(dte_type), folio=str(folio), xml_content=xml_text(xml_content),
            track_id=track_id or None, move_id=int(move_id), rut_emisor=rut_emisor or None,
            company_id=company.id,
        )
        backup = self.browse(backup_id)._dte_refresh()
        backup._dte_attach_xml()
        return backup

    def _dte_attach_xml(self):
        """Attach each backup's XML (its exact bytes, as the sidecar keeps them) unless
        already attached; returns the attachments made."""
        attachments = self.env["ir.attachment"]
        if not self:
            return attachments
        # As the superuser: an XML attachment made by a user who may not edit views is
        # stored as text/plain by Odoo. The bytes come from the sidecar, not from the user,
        # and Odoo serves attachments with "Content-Security-Policy: default-src 'none'".
        attachment_model = self.env["ir.attachment"].with_user(api.SUPERUSER_ID)
        done = set(attachment_model.search(
            [("res_model", "=", self._name), ("res_id", "in", self.ids)]
        ).mapped("res_id"))
        for backup in self.sudo():
            if backup.id in done:
                continue
            xml = backup._dte_fetch_xml()
            attachments |= attachment_model.create({
                "name": xml["filename"],
                "res_model": self._name,
                "res_id": backup.id,
                "raw": base64.b64decode(xml["xml_base64"]),
                "mimetype": XML_MIMETYPE,
            })
        return attachments

    @api.model
    def _cron_attach_xml(self, limit=ATTACH_BATCH):
        """Scheduled action "DTE: Attach backup XML" (every minute): the backups the
        sidecar made on its own (a retry, a contingency upload) get their XML attached.

        Bounded work: only backups above a watermark (a backup id) are looked at, at most
        ``limit`` of them. The watermark only passes backups older than
        ``ATTACH_SETTLE_MINUTES``: ids are drawn before commit, so a lower id may become
        visible after a higher one; a young backup is looked at again until it settles.
        """
        client = self._dte_client()
        if not client._dte_is_configured():
            _logger.info("DTE: Attach backup XML: skipped, the DTE sidecar is not configured yet (no API key)")
            return 0
        icp = self.env["ir.config_parameter"].sudo()
        watermark = int(icp.get_param(PARAM_ATTACH_WATERMARK) or 0)
        cr = self.env.cr
        cr.execute(
            """SELECT b.id, b.sent_date < (now() AT TIME ZONE 'UTC') - make_interval(mins => %s) AS settled
                 FROM dte_backup b
                WHERE b.id > %s
                  AND NOT EXISTS (SELECT 1 FROM ir_attachment a
                                   WHERE a.res_model = 'dte.backup' AND a.res_id = b.id)
                ORDER BY b.id
                LIMIT %s""",
            [ATTACH_SETTLE_MINUTES, watermark, limit],
        )
        missing = cr.fetchall()
        attached = failed = 0
        for backup_id, _settled in missing:
            try:
                with cr.savepoint():
                    attached += len(self.browse(backup_id)._dte_attach_xml())
            except UserError as error:
                failed += 1
                _logger.warning("DTE: Attach backup XML: backup %s: %s", backup_id, error)
        # The new watermark: below the first young backup still missing, and never past
        # a backup that has not settled yet.
        cr.execute(
            """SELECT max(id) FROM dte_backup
                WHERE id > %s AND sent_date < (now() AT TIME ZONE 'UTC') - make_interval(mins => %s)""",
            [watermark, ATTACH_SETTLE_MINUTES],
        )
        settled_max = cr.fetchone()[0] or watermark
        if len(missing) == limit:  # more to do: do not pass what this batch did not reach
            settled_max = min(settled_max, missing[-1][0])
        unsettled = [backup_id for backup_id, settled in missing if not settled]
        if unsettled:
            settled_max = min(settled_max, unsettled[0] - 1)
        if settled_max > watermark:
            icp.set_param(PARAM_ATTACH_WATERMARK, str(settled_max))
        if attached or failed:
            _logger.info("DTE: Attach backup XML: %s attached, %s failed", attached, failed)
        return attached

    def init(self):
        result = super().init()
        # A first install, or a reinstall after an uninstall removed the attachments:
        # attach every backup again, from the first.
        self.env.cr.execute("SELECT 1 FROM ir_attachment WHERE res_model = 'dte.backup' LIMIT 1")
        if not self.env.cr.fetchone():
            self.env["ir.config_parameter"].sudo().set_param(PARAM_ATTACH_WATERMARK, "0")
        return result

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
        if not self._dte_client()._dte_is_configured():
            _logger.info("DTE: Cleanup Old Backups: skipped, the DTE sidecar is not configured yet (no API key)")
            return {}
        report = self._dte_client()._call("dte.backup", "run_retention") or {}
        _logger.info(
            "DTE: Cleanup Old Backups: %s backups older than %s years removed",
            report.get("removed", 0), report.get("retention_years", "?"),
        )
        return report

    def action_open_move(self):
        self.ensure_one()
        return self.move_id.get_formview_action()


class AccountMove(models.Model):
    _inherit = "account.move"

    dte_backup_attachment_ids = fields.Many2many(
        "ir.attachment", string="Signed XML backups", compute="_compute_dte_backup_attachment_ids",
        groups="l10n_cl_dte_sidecar.group_dte_user",
        help="The signed XML of this invoice's DTE backups, as the sidecar keeps them.",
    )

    def _compute_dte_backup_attachment_ids(self):
        backups = self.env["dte.backup"].search([("move_id", "in", self.ids)]) if self.ids else self.env["dte.backup"]
        attachments = self.env["ir.attachment"].search([
            ("res_model", "=", "dte.backup"), ("res_id", "in", backups.ids),
        ]) if backups else self.env["ir.attachment"]
        move_of = {backup.id: backup.move_id.id for backup in backups}
        for move in self:
            move.dte_backup_attachment_ids = attachments.filtered(lambda a, move=move: move_of.get(a.res_id) == move.id)
