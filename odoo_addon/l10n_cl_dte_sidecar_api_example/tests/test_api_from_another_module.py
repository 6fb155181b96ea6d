# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, tagged

from odoo.addons.l10n_cl_dte_sidecar.tests.test_spec_api import SpecApiCommon


@tagged("post_install", "-at_install", "dte_live")
class TestApiFromAnotherModule(SpecApiCommon, TransactionCase):
    """Another module backs up a signed DTE through the addon's API, with no company given,
    and reads what it got in its own transaction."""

    def test_backup_dte_without_company_then_read_it(self):
        move = self.create_test_invoice()
        manager = self.env(user=self.live_manager_uid)
        backup = manager["dte.backup"].backup_dte(
            dte_type=self.dte_type,
            folio=self.folio,
            xml_content=self.signed_xml,
            track_id="ABC123",
            move_id=move.id,
        )
        # The same transaction reads it: the record, a search, a count, its attachment.
        self.assertEqual(backup._name, "dte.backup")
        self.assertTrue(backup.exists())
        self.assertEqual(
            backup.read(["folio", "track_id", "company_id"])[0],
            {"id": backup.id, "folio": self.folio, "track_id": "ABC123",
             "company_id": (self.live_company_id, manager.company.display_name)},
        )
        self.assertEqual(manager["dte.backup"].search([("move_id", "=", move.id)]), backup)
        self.assertEqual(manager["dte.backup"].search_count([("folio", "=", self.folio), ("dte_type", "=", "33")]), 1)
        attachment = manager["ir.attachment"].search([("res_model", "=", "dte.backup"), ("res_id", "=", backup.id)])
        self.assertEqual(attachment.raw, self.signed_xml.encode("iso-8859-1"))
        # A refused call is an Odoo error naming the argument, and leaves what this
        # transaction sees as it was.
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            manager["dte.backup"].backup_dte(
                dte_type="99", folio=self.folio, xml_content=self.signed_xml, track_id="ABC123", move_id=move.id,
            )
        self.assertTrue(backup.exists())

    def test_a_dte_user_may_read_but_not_act(self):
        user = self.env(user=self.live_accountant_uid)
        self.assertIsInstance(user["dte.contingency"].get_status(), dict)
        with self.assertRaises(AccessError):
            user["dte.backup"].backup_dte(
                dte_type="33", folio="1", xml_content="<DTE/>", track_id="ABC123", move_id=1,
            )
        with self.assertRaises(AccessError):
            user["dte.contingency"].enable_contingency(reason="manual")
