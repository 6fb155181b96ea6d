# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import COMPANY_RUT, CUSTOMER_RUT, DteCommon


@tagged("post_install", "-at_install")
class TestAccountMoveDte(DteCommon):
    """The invoice side: the button, the document JSON, the state read from the sidecar's
    view. The sidecar is replaced by a patch of the addon's own seam."""

    def test_send_to_sii_calls_the_sidecar_with_the_document(self):
        move = self._create_invoice()
        self.assertTrue(move.dte_can_send)
        answer = {"state": "sent", "folio": 1, "track_id": "0123456789", "message": "Upload OK"}
        with self.patch_sidecar({"account.move.action_send_to_sii": answer}) as sidecar:
            action = move.action_send_to_sii()
        sidecar.assert_called_once()
        (model, method), params = sidecar.call_args.args, sidecar.call_args.kwargs
        self.assertEqual((model, method), ("account.move", "action_send_to_sii"))
        self.assertEqual(params["move_id"], move.id)
        self.assertEqual(params["company_id"], self.company.id)
        self.assertEqual(params["folio"], 1, "the invoice's number is the folio")
        document = params["document"]
        self.assertEqual(document["document_type"], 33)
        self.assertEqual(document["issue_date"], "2026-01-05")
        cash = move.invoice_date_due <= move.invoice_date
        self.assertEqual(document["payment_form"], 1 if cash else 2, (move.invoice_date, move.invoice_date_due))
        self.assertEqual(document.get("due_date"), None if cash else str(move.invoice_date_due))
        self.assertEqual(document["issuer"], {
            "rut": COMPANY_RUT, "name": self.company.name, "giro": "SERVICIOS INFORMATICOS",
            "actecos": [620200], "address": "CALLE FALSA 123", "comuna": "SANTIAGO", "city": "SANTIAGO",
            "resolution": {"number": 0, "date": "2026-01-02"},
        })
        self.assertEqual(document["receiver"], {
            "rut": CUSTOMER_RUT, "name": "CLIENTE & HIJOS LTDA", "giro": "COMERCIO",
            "address": "AV. PRUEBA 456", "comuna": "ÑUÑOA", "city": "ÑUÑOA",
        })
        self.assertEqual(document["totals"], {"net": 10000, "iva_rate": 19, "iva": 1900, "total": 11900})
        self.assertEqual(document["lines"], [
            {"name": "Servicio de prueba", "quantity": 2, "unit_price": 5000, "amount": 10000},
        ])
        self.assertNotIn("references", document)
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("0123456789", action["params"]["message"])
        self.assertIn("0123456789", move.message_ids[:1].body)

    def test_failed_send_is_a_warning(self):
        move = self._create_invoice()
        answer = {"state": "failed", "folio": 1, "message": "SII unavailable, retried in 1 h"}
        with self.patch_sidecar({"account.move.action_send_to_sii": answer}):
            action = move.action_send_to_sii()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("retried in 1 h", action["params"]["message"])

    def test_button_only_for_posted_chilean_dte(self):
        draft = self._create_invoice(post=False)
        self.assertEqual(draft.dte_code, "33")
        self.assertFalse(draft.dte_can_send)
        with self.assertRaisesRegex(UserError, "posted"), self.patch_sidecar() as sidecar:
            draft.action_send_to_sii()
        sidecar.assert_not_called()
        posted = self._create_invoice()
        self.assertTrue(posted.dte_can_send)
        self.insert_document(posted, state="accepted")
        posted.invalidate_recordset()
        self.assertFalse(posted.dte_can_send, "an accepted DTE is not sent again")

    def test_exempt_invoice_34(self):
        move = self._create_invoice(doc_type=self.doc_type_34, lines=[
            {"name": "Curso exento", "quantity": 1, "price_unit": 30000.0, "tax": False},
        ])
        document = move._dte_document_json()
        self.assertEqual(document["document_type"], 34)
        self.assertEqual(document["totals"], {"exempt": 30000, "total": 30000})
        self.assertTrue(document["lines"][0]["exempt"])

    def test_credit_note_61_refers_to_the_invoice(self):
        invoice = self._create_invoice()
        self.insert_document(invoice, state="accepted", folio=1)
        reversal = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids,
        ).create({
            "reason": "Anula factura",
            "journal_id": invoice.journal_id.id,
            "l10n_latam_document_type_id": self.doc_type_61.id,
        })
        credit_note = self.env["account.move"].browse(reversal.refund_moves()["res_id"])
        credit_note.action_post()
        self.assertEqual(credit_note.dte_code, "61")
        document = credit_note._dte_document_json()
        self.assertEqual(document["document_type"], 61)
        self.assertEqual(document["references"], [{
            "document_type": "33", "folio": "1", "date": "2026-01-05", "code": 1,
            "reason": credit_note.ref,
        }])
        self.assertIn("Anula factura", credit_note.ref)
        self.assertEqual(document["lines"][0]["amount"], 10000)
        self.assertEqual(document["totals"], {"net": 10000, "iva_rate": 19, "iva": 1900, "total": 11900})
        self.assertNotIn("payment_form", document)

    def test_missing_data_is_named(self):
        self.partner_cl.l10n_cl_activity_description = False
        self.company.dte_acteco = False
        move = self._create_invoice()
        with self.assertRaises(UserError) as caught, self.patch_sidecar() as sidecar:
            move.action_send_to_sii()
        sidecar.assert_not_called()
        message = str(caught.exception)
        self.assertIn("customer activity description", message)
        self.assertIn("Acteco", message)

    def test_dte_users_with_invoicing_rights_send(self):
        """Accountants who are DTE users send; neither invoicing rights alone nor the DTE
        group alone (a reader) is enough."""
        invoicing = self.env.ref("account.group_account_invoice")
        readonly = self.env.ref("account.group_account_readonly")
        accountant_only = new_test_user(
            self.env, login="accountant_no_dte", group_ids=invoicing.ids,
            company_id=self.company.id, company_ids=self.company.ids,
        )
        dte_reader = new_test_user(
            self.env, login="dte_reader", group_ids=(self.group_user | readonly).ids,
            company_id=self.company.id, company_ids=self.company.ids,
        )
        sent = {"state": "sent", "folio": 1, "track_id": "42"}
        for user in (accountant_only, dte_reader):
            move = self._create_invoice()
            with self.subTest(user=user.login):
                self.assertFalse(move.with_user(user).dte_can_send)
                with self.assertRaises(AccessError), self.patch_sidecar() as sidecar:
                    move.with_user(user).action_send_to_sii()
                sidecar.assert_not_called()
        for user in (self.dte_user, self.dte_manager):
            move = self._create_invoice()
            with self.subTest(user=user.login):
                self.assertTrue(move.with_user(user).dte_can_send)
                with self.patch_sidecar({"account.move.action_send_to_sii": sent}) as sidecar:
                    action = move.with_user(user).action_send_to_sii()
                sidecar.assert_called_once()
                self.assertEqual(sidecar.call_args.kwargs["move_id"], move.id)
                self.assertEqual(action["params"]["type"], "success")

    def test_send_follows_the_multi_company_rules(self):
        other = self.env["res.company"].create({"name": "Otra Empresa"})
        user = new_test_user(
            self.env, login="dte_user_other", group_ids=(self.group_user | self.env.ref(
                "account.group_account_invoice")).ids,
            company_id=other.id, company_ids=other.ids,
        )
        move = self._create_invoice()
        with self.assertRaises(AccessError), self.patch_sidecar() as sidecar:
            move.with_user(user).action_send_to_sii()
        sidecar.assert_not_called()

    def test_state_is_read_from_the_sidecar_view(self):
        move = self._create_invoice()
        self.assertFalse(move.dte_state)
        self.insert_document(move, state="rejected", folio=7, track_id="42", message="Firma no valida")
        move.invalidate_recordset()
        self.assertEqual(move.dte_state, "rejected")
        self.assertEqual(move.dte_folio, "7")
        self.assertEqual(move.dte_track_id, "42")
        self.assertEqual(move.dte_message, "Firma no valida")
        self.assertFalse(move.dte_can_send, "the sidecar has the document: no second send")
        Move = self.env["account.move"]
        self.assertIn(move, Move.search([("dte_state", "=", "rejected")]))
        self.assertNotIn(move, Move.search([("dte_state", "=", "accepted")]))
        self.assertNotIn(move, Move.search([("dte_state", "=", False)]))
        other = self._create_invoice()
        self.assertIn(other, Move.search([("dte_state", "=", False)]))

    def test_contingency_banner(self):
        move = self._create_invoice()
        self.assertFalse(move.dte_contingency_active)
        self.insert_sidecar_row("dte_contingency", {
            "company_id": self.company.id, "enabled": True, "reason": "sii_unavailable",
        })
        move.invalidate_recordset()
        self.assertTrue(move.dte_contingency_active)
