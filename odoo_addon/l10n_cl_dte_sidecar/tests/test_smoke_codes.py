# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Against the real sidecar: an invoice sent while the SII answers HTTP 500 reads, on the
invoice, in its chatter, in the queue list and in the retry history, in Spanish from the
codes the sidecar stored; a new English wording of the stored rows changes nothing."""

from odoo.tests import TransactionCase, tagged

from .common import ENGLISH, DteLiveCommon

SPANISH = {"lang": "es_CL", "tz": "America/Santiago"}
SII_HTTP_500 = "El SII respondió con el estado HTTP 500 (sii.http)"


@tagged("post_install", "-at_install", "dte_live")
class TestStoredCodesLive(DteLiveCommon, TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.step() as env:
            env["res.lang"]._activate_lang("es_CL")
            env["ir.module.module"]._load_module_terms(["l10n_cl_dte_sidecar"], ["es_CL"], overwrite=True)

    def assertSpanish(self, text):
        self.assertTrue(text)
        self.assertNotRegex(text, ENGLISH, f"English on screen: {text}")

    def test_a_failed_send_reads_in_spanish_from_its_codes(self):
        self.sim_fault("http500")
        try:
            move_id = self.live_invoice()
            with self.step(self.live_accountant_uid) as env:
                action = env(context=SPANISH)["account.move"].browse(move_id).action_send_to_sii()
        finally:
            self.sim_fault(None)
        # The notification and the chatter line written after the send.
        notification = action["params"]["message"]
        self.assertIn(f"{SII_HTTP_500}. Próximo reintento: ", notification)
        self.assertSpanish(notification.split(": ", 1)[1])
        with self.step(self.live_accountant_uid) as env:
            move = env(context=SPANISH)["account.move"].browse(move_id)
            chatter = str(move.message_ids[:1].body)
            self.assertIn("El envío del DTE al SII falló; se reintentará:", chatter)
            self.assertIn(f"{SII_HTTP_500}. Próximo reintento: ", chatter)
            # The invoice's SII tab.
            self.assertEqual(move.dte_state, "failed")
            self.assertTrue(move.dte_message.startswith(f"{SII_HTTP_500}. Próximo reintento: "), move.dte_message)
            self.assertSpanish(move.dte_message)
        with self.step(self.live_manager_uid) as env:
            Queue = env(context=SPANISH)["dte.failed.queue"]
            # The queue list, as the web client reads it.
            listed = Queue.web_search_read([("move_id", "=", move_id)], {"error_text": {}, "queue_status": {}})
            [row] = listed["records"]
            self.assertEqual(row["queue_status"], "pending")
            self.assertTrue(row["error_text"].startswith(f"{SII_HTTP_500}. Próximo reintento: "), row["error_text"])
            self.assertSpanish(row["error_text"])
            entry = Queue.browse(row["id"])
            # The retry history.
            [(_when, outcome, code, message)] = entry._retry_history_rows()
            self.assertEqual((outcome, code, message), ("Envío fallido", "HTTP 500", SII_HTTP_500))
            self.assertIn(f"<td>{SII_HTTP_500}</td>", entry.retry_history_html)
            before = (entry.error_text, entry.move_id.dte_message, entry.retry_history_html)
            # The sidecar words its English otherwise: nothing a person reads changes.
            env.cr.execute(
                "UPDATE dte_sidecar.dte_failed_queue SET error_message = 'A wholly different wording', "
                "retry_history = replace(retry_history, 'the SII answered', 'wholly different words') WHERE id = %s",
                [entry.id],
            )
            env.cr.execute("UPDATE dte_sidecar.dte_document SET message = 'A wholly different wording' "
                           "WHERE move_id = %s", [move_id])
            env.invalidate_all()
            self.assertIn("wholly different", entry.retry_history)
            self.assertEqual((entry.error_text, entry.move_id.dte_message, entry.retry_history_html), before)
            env.cr.rollback()
            env.invalidate_all()
            # A manager abandons it: it says so, and nothing is left due for the other tests.
            entry.action_abandon()
        with self.step(self.live_manager_uid) as env:
            entry = env(context=SPANISH)["dte.failed.queue"].browse(entry.id)
            self.assertEqual(entry.state, "abandoned")
            self.assertEqual(entry.error_text, f"{SII_HTTP_500}. Abandonado: no se reintentará.")
            self.assertEqual(entry.move_id.dte_message, entry.error_text)
