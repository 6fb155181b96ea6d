# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

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
                # HTTP 500 from the SII: the SII is unavailable, a transient error.
                self.assertEqual(entry.error_type, "unavailable")
                self.assertEqual(entry.folio, move.dte_folio)
                self.assertTrue(entry.error_message)
                self.assertGreater(entry.next_retry_date, entry.failed_date)
                self.assertFalse(env["dte.backup"].search([("move_id", "=", move_id)]))
                entry_id = entry.id
        finally:
            self.sim_fault(None)

        # Checklist step 6 says "run the cron now": the sidecar retries on its own one hour
        # later; "Retry now" (a DTE manager) is the same retry, at once.
        with self.step(self.live_manager_uid) as env:
            action = env["dte.failed.queue"].browse(entry_id).action_retry_now()
        self.assertIn("Sent to the SII.", action["params"]["message"])

        def retried(env):
            entry = env["dte.failed.queue"].browse(entry_id)
            return entry.state == "success" and entry

        self.assertTrue(self.wait_until(retried), "the retry did not succeed")
        with self.step() as env:
            entry = env["dte.failed.queue"].browse(entry_id)
            self.assertTrue(entry.success_track_id)
            self.assertTrue(entry.success_date)
            self.assertTrue(entry.last_retry_date)
            # The retry is in the entry's history, and counted: a retry that succeeds is
            # a retry too (1 / 5).
            self.assertEqual(entry.retry_count, 1)
            history = json.loads(entry.retry_history)
            self.assertEqual([event.get("event") for event in history], ["failed", "success"])
            self.assertEqual(history[-1].get("track_id"), entry.success_track_id)
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
            self.assertEqual(audit.mapped("action"), ["failed_queue.retry_now"])
            self.assertEqual(audit.actor_uid.id, self.live_manager_uid)
