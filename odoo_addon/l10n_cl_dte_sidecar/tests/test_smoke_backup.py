# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import hashlib

from odoo.tests import TransactionCase, tagged

from .common import DteLiveCommon

SENT = ("sent", "accepted", "accepted_with_objections")


@tagged("post_install", "-at_install", "dte_live")
class TestSmokeBackup(DteLiveCommon, TransactionCase):
    """Deployment checklist step 5, against the real sidecar and its SII simulator:
    create an invoice, send it, find its backup."""

    def test_checklist_5_backup(self):
        move_id = self.live_invoice()
        action = self.send(move_id)
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])

        # The accountant who sent it finds the backup and downloads its XML.
        with self.step(self.live_accountant_uid) as env:
            move = env["account.move"].browse(move_id)
            self.assertIn(move.dte_state, SENT)
            self.assertTrue(move.dte_track_id)
            folio, track_id = move.dte_folio, move.dte_track_id
            self.assertEqual(folio, str(int(move.l10n_latam_document_number)))
            backup = env["dte.backup"].search([("move_id", "=", move_id)])
            self.assertEqual(len(backup), 1)
            self.assertEqual(backup.dte_type, "33")
            self.assertEqual(backup.folio, folio)
            self.assertEqual(backup.track_id, track_id)
            self.assertEqual(backup.company_id, move.company_id)
            self.assertEqual(len(backup.sha256 or ""), 64)
            download = backup.action_download_xml()
            self.assertEqual(download["type"], "ir.actions.act_url")
            xml = base64.b64decode(backup.xml_file)
            self.assertIn(b"<TipoDTE>33</TipoDTE>", xml)
            self.assertIn(f"<Folio>{folio}</Folio>".encode(), xml)
            self.assertIn(b"<RUTRecep>77777777-7</RUTRecep>", xml)
            self.assertEqual(hashlib.sha256(xml).hexdigest(), backup.sha256)

        # Sending again returns the same document: no second folio, no second backup.
        self.send(move_id)
        with self.step() as env:
            self.assertEqual(env["account.move"].browse(move_id).dte_folio, folio)
            self.assertEqual(env["dte.backup"].search_count([("move_id", "=", move_id)]), 1)
            self.assertEqual(env["dte.document"].search_count([("move_id", "=", move_id)]), 1)
