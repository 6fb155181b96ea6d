# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import TransactionCase, tagged

from .common import DteLiveCommon

SENT = ("sent", "accepted", "accepted_with_objections")


@tagged("post_install", "-at_install", "dte_live")
class TestSmokeFailedQueue(DteLiveCommon, TransactionCase):
    """Deployment checklist step 6: the SII is down, the invoice goes to the retry queue;
    the SII is back, "Retry now" sends it and backs it up."""

    def test_checklist_6_failed_queue_and_retry(self):
        self.sim_fault("http500")
        try:
            move_id = self.live_invoice()
            action = self.send(move_id)
            self.assertEqual(action["params"]["type"], "warning", action["params"]["message"])
            with self.step() as env:
                move = env["account.move"].browse(move_id)
                self.assertEqual(move.dte_state, "failed")
                entry = env["dte.failed.queue"].search([("move_id", "=", move_id)])
                self.assertEqual(len(entry), 1)
                self.assertEqual(entry.state, "pending")
                self.assertIn(entry.error_type, ("unavailable", "timeout", "connection"))
                self.assertEqual(entry.folio, move.dte_folio)
                self.assertTrue(entry.error_message)
                self.assertGreater(entry.next_retry_date, entry.failed_date)
                self.assertFalse(env["dte.backup"].search([("move_id", "=", move_id)]))
                entry_id = entry.id
        finally:
            self.sim_fault(None)

        with self.step() as env:
            env["dte.failed.queue"].browse(entry_id).action_retry_now()

        def retried(env):
            entry = env["dte.failed.queue"].browse(entry_id)
            return entry.state == "success" and entry

        self.assertTrue(self.wait_until(retried), "the retry did not succeed")
        with self.step() as env:
            entry = env["dte.failed.queue"].browse(entry_id)
            self.assertTrue(entry.success_track_id)
            self.assertTrue(entry.success_date)
            self.assertGreaterEqual(entry.retry_count, 1)
            self.assertTrue(entry.retry_history)
            move = env["account.move"].browse(move_id)
            self.assertIn(move.dte_state, SENT)
            self.assertEqual(move.dte_track_id, entry.success_track_id)
            backup = env["dte.backup"].search([("move_id", "=", move_id)])
            self.assertEqual(len(backup), 1)
            self.assertEqual(backup.track_id, entry.success_track_id)
            # The manual retry is in the audit log, with the user who asked for it.
            audit = env["dte.audit.log"].search([
                ("target_model", "=", "dte.failed.queue"), ("target_id", "=", entry_id),
            ])
            self.assertTrue(audit, "the retry is in the audit log")
