# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The scheduled actions before the sidecar is configured, and the one that attaches the
XML of the backups the sidecar makes on its own."""

from odoo.tests import TransactionCase, tagged

from .common import DteCommon, DteLiveCommon
from .test_smoke_screens import BACKUP_LOGGER, RETRY_LOGGER, captured

SENT = ("sent", "accepted", "accepted_with_objections")


@tagged("post_install", "-at_install")
class TestScheduledActionsUnconfigured(DteCommon):
    """Until an API key is set (right after the install), each scheduled action skips with
    one INFO line: no traceback, no failure that would make Odoo deactivate it."""

    def test_they_skip_quietly_without_an_api_key(self):
        self.env["ir.config_parameter"].sudo().set_param("l10n_cl_dte_sidecar.api_key", "")
        with self.patch_sidecar() as sidecar:
            with captured(RETRY_LOGGER) as retry_logs, self.assertNoLogs(RETRY_LOGGER, "WARNING"):
                action = self.env["dte.failed.queue"]._cron_retry_failed_dtes()
            with captured(BACKUP_LOGGER) as backup_logs, self.assertNoLogs(BACKUP_LOGGER, "WARNING"):
                self.env["dte.backup"]._cron_cleanup_old_backups()
                self.env["dte.backup"]._cron_attach_xml()
        sidecar.assert_not_called()
        self.assertEqual(retry_logs, [
            "DTE: Retry Failed DTEs: skipped, the DTE sidecar is not configured yet (no API key)",
        ])
        self.assertEqual(backup_logs, [
            "DTE: Cleanup Old Backups: skipped, the DTE sidecar is not configured yet (no API key)",
            "DTE: Attach backup XML: skipped, the DTE sidecar is not configured yet (no API key)",
        ])
        # Run Manually says so to the person who clicked.
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "warning")

    def test_run_manually_answers_the_notification_of_the_retry(self):
        """Run Manually (``method_direct_trigger``) answers what the cron's code returned."""
        cron = self.env.ref("l10n_cl_dte_sidecar.ir_cron_retry_failed_dtes")
        self.assertEqual(cron.code.strip(), "action = model._cron_retry_failed_dtes()")
        report = {"due": 3, "retried": 3, "succeeded": 2, "failed": 1, "abandoned": 0, "ids": [1, 2, 3]}
        with self.patch_sidecar({"dte.failed.queue.retry_due": report}):
            action = self.env["dte.failed.queue"].with_context(lang="en_US")._cron_retry_failed_dtes()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertEqual(
            action["params"]["message"],
            "Due for a retry: 3. Retried: 3 (sent to the SII: 2; failed again, waiting for their next "
            "retry: 1; abandoned: 0).",
        )


@tagged("post_install", "-at_install", "dte_live")
class TestAttachBackupXml(DteLiveCommon, TransactionCase):
    """The backups the sidecar makes on its own get their XML attached by "DTE: Attach
    backup XML", within a minute, at most a batch a run."""

    def test_a_sent_invoice_gets_its_backup_xml_attached(self):
        move_id = self.live_invoice()
        self.send(move_id)
        with self.step() as env:
            self.assertIn(env["account.move"].browse(move_id).dte_state, SENT)
            backup = env["dte.backup"].search([("move_id", "=", move_id)])
            self.assertEqual(len(backup), 1)
            backup_id = backup.id
            self.assertFalse(env["ir.attachment"].search(
                [("res_model", "=", "dte.backup"), ("res_id", "=", backup_id)]
            ))
        with self.step() as env:
            # Every backup still missing its attachment is done, 100 a run.
            while env["dte.backup"]._cron_attach_xml():
                pass
            watermark = int(env["ir.config_parameter"].sudo().get_param("l10n_cl_dte_sidecar.attach_watermark"))
        # The backup is minutes old at most: the watermark stays below it, so a backup with a
        # lower id committed later is still found.
        self.assertLess(watermark, backup_id)
        with self.step(self.live_accountant_uid) as env:
            attachment = env["ir.attachment"].search([("res_model", "=", "dte.backup"), ("res_id", "=", backup_id)])
            self.assertEqual(len(attachment), 1)
            self.assertEqual(attachment.mimetype, "application/xml")
            xml = attachment.raw
            self.assertTrue(xml.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>'), xml[:60])
            self.assertIn(b"<TipoDTE>33</TipoDTE>", xml)
            # On the invoice, in its SII (DTE) tab.
            self.assertEqual(env["account.move"].browse(move_id).dte_backup_attachment_ids, attachment)
        with self.step() as env:
            self.assertEqual(env["dte.backup"]._cron_attach_xml(), 0, "attached once")
