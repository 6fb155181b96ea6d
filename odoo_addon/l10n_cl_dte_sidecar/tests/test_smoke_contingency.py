# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import TransactionCase, tagged

from .common import DteLiveCommon

SENT = ("sent", "accepted", "accepted_with_objections")


@tagged("post_install", "-at_install", "dte_live")
class TestSmokeContingency(DteLiveCommon, TransactionCase):
    """Deployment checklist step 7: open the wizard, enable contingency, two invoices are
    kept as pending, disable, upload the batch, both are sent."""

    def _wizard(self, env):
        action = env["dte.contingency.wizard"].action_open(env["res.company"].browse(self.live_company_id))
        return env["dte.contingency.wizard"].browse(action["res_id"])

    def test_checklist_7_contingency(self):
        with self.step(self.live_manager_uid) as env:
            wizard = self._wizard(env)
            self.assertFalse(wizard.enabled)
            wizard.write({"reason": "manual", "comment": "Prueba de contingencia"})
            wizard.action_enable()
            self.assertTrue(wizard.enabled)
        try:
            move_ids = [self.live_invoice(), self.live_invoice(amount=7000.0, quantity=1)]
            with self.step() as env:
                self.assertTrue(env["account.move"].browse(move_ids[0]).dte_contingency_active)
                status = self._wizard(env)
                self.assertEqual(status.current_reason, "manual")
                self.assertTrue(status.enabled_date)
            for move_id in move_ids:
                action = self.send(move_id)
                self.assertEqual(action["params"]["type"], "warning", action["params"]["message"])
            with self.step() as env:
                pending = env["dte.contingency.pending"].search([("move_id", "in", move_ids)])
                self.assertEqual(len(pending), 2)
                self.assertFalse(any(pending.mapped("uploaded")))
                self.assertEqual(set(env["account.move"].browse(move_ids).mapped("dte_state")), {"contingency"})
                self.assertFalse(env["dte.backup"].search([("move_id", "in", move_ids)]))
                self.assertGreaterEqual(self._wizard(env).pending_count, 2)
        finally:
            with self.step(self.live_manager_uid) as env:
                wizard = self._wizard(env)
                if wizard.enabled:
                    wizard.write({"comment": "SII disponible"})
                    wizard.action_disable()
        with self.step(self.live_manager_uid) as env:
            wizard = self._wizard(env)
            self.assertFalse(wizard.enabled)
            wizard.write({"batch_size": 50})
            wizard.action_upload_pending()

        def all_uploaded(env):
            pending = env["dte.contingency.pending"].search([("move_id", "in", move_ids)])
            return len(pending) == 2 and all(pending.mapped("uploaded")) and pending

        self.assertTrue(self.wait_until(all_uploaded), "the pending documents were not uploaded")
        with self.step() as env:
            pending = env["dte.contingency.pending"].search([("move_id", "in", move_ids)])
            self.assertTrue(all(pending.mapped("track_id")))
            moves = env["account.move"].browse(move_ids)
            self.assertTrue(set(moves.mapped("dte_state")) <= set(SENT), moves.mapped("dte_state"))
            self.assertEqual(env["dte.backup"].search_count([("move_id", "in", move_ids)]), 2)
            self.assertFalse(moves[0].dte_contingency_active)
            self.assertEqual(self._wizard(env).pending_count, 0)
            # Every switch is in the audit log, with the manager who made it.
            audit = env["dte.audit.log"].search([
                ("company_id", "=", self.live_company_id), ("target_model", "=", "dte.contingency"),
            ], order="id desc", limit=2)
            self.assertEqual(audit.mapped("action"), ["contingency.disable", "contingency.enable"])
            self.assertEqual(audit.actor_uid.ids, [self.live_manager_uid])
            status = self._wizard(env)
            self.assertEqual(status.enabled_by, "DTE manager")
