# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from .common import DteCommon


@tagged("post_install", "-at_install")
class TestSendChatter(DteCommon):
    """What the invoice's chatter says after "Send to SII" tells a document the SII got
    from one whose upload failed, was rejected or is kept for later."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._spanish_env()

    def send(self, answer, lang="en_US"):
        move = self._create_invoice().with_context(lang=lang)
        with self.patch_sidecar({"account.move.action_send_to_sii": answer}):
            move.action_send_to_sii()
        return move.message_ids[:1].body

    def test_a_sent_document_and_a_failed_upload_read_differently(self):
        sent = self.send({"state": "sent", "folio": 1, "track_id": "0123456789"})
        self.assertIn("DTE sent to the SII:", sent)
        self.assertIn("track ID 0123456789", sent)
        failed = self.send({"state": "failed", "folio": 2, "message": "SII unavailable, retried in 1 h"})
        self.assertIn("The upload of the DTE to the SII failed; it will be retried:", failed)
        self.assertNotIn("sent to the SII", failed)
        self.assertNotIn("sent through", failed)
        rejected = self.send({"state": "rejected", "folio": 3, "track_id": "99", "sii_code": "RCH"})
        self.assertIn("The SII rejected the DTE:", rejected)
        abandoned = self.send({"state": "abandoned", "folio": 4})
        self.assertIn("failed and will not be retried", abandoned)
        kept = self.send({"state": "contingency", "folio": 5})
        self.assertIn("DTE issued in contingency", kept)
        unknown = self.send({})
        self.assertIn("did not say what became of the DTE", unknown)

    def test_a_chilean_accountant_reads_it_in_spanish(self):
        sent = self.send({"state": "accepted", "folio": 1, "track_id": "0123456789"}, lang="es_CL")
        self.assertIn("DTE enviado al SII:", sent)
        self.assertIn("Aceptado", sent)
        failed = self.send({"state": "failed", "folio": 2}, lang="es_CL")
        self.assertIn("El envío del DTE al SII falló; se reintentará:", failed)
        self.assertIn("Fallido, se reintentará", failed)
        self.assertNotIn("DTE enviado", failed)
        rejected = self.send({"state": "rejected", "folio": 3}, lang="es_CL")
        self.assertIn("El SII rechazó el DTE:", rejected)
