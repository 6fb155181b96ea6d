# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The scheduled actions before the sidecar is configured, and what Run Manually answers
(the one that attaches backup XML is tested live in test_spec_api.py)."""

import logging

from odoo.tests import tagged

from .common import DteCommon
from .test_smoke_screens import BACKUP_LOGGER, RETRY_LOGGER, captured


def records(logger_name):
    """``(level, message)`` of everything ``logger_name`` logs meanwhile."""
    return captured(logger_name, logging.DEBUG, levels=True)


@tagged("post_install", "-at_install")
class TestScheduledActionsUnconfigured(DteCommon):
    """Until an API key is set (right after the install), each scheduled action skips with
    one INFO line: no traceback, no failure that would make Odoo deactivate it."""

    def test_they_skip_quietly_without_an_api_key(self):
        self.env["ir.config_parameter"].sudo().set_param("l10n_cl_dte_sidecar.api_key", "")
        with self.patch_sidecar() as sidecar, records(RETRY_LOGGER) as retry_logs, \
                records(BACKUP_LOGGER) as backup_logs:
            action = self.env["dte.failed.queue"]._cron_retry_failed_dtes()
            self.env["dte.backup"]._cron_cleanup_old_backups()
            self.env["dte.backup"]._cron_attach_xml()
        sidecar.assert_not_called()
        # One INFO line each, nothing else (no warning, no traceback).
        skipped = "skipped, the DTE sidecar is not configured yet (no API key)"
        self.assertEqual(retry_logs, [("INFO", f"DTE: Retry Failed DTEs: {skipped}")])
        self.assertEqual(backup_logs, [
            ("INFO", f"DTE: Cleanup Old Backups: {skipped}"),
            ("INFO", f"DTE: Attach backup XML: {skipped}"),
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
