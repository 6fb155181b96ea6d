# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import DteCommon
from .test_sidecar_records import SIDECAR_MODELS


@tagged("post_install", "-at_install")
class TestMultiCompany(DteCommon):
    """Two companies, two users: a user of company B sees none of company A's records."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.company_b = cls.setup_other_company(name="Empresa B")["company"]
        groups = (cls.group_manager | cls.env.ref("account.group_account_invoice")).ids
        cls.user_a = new_test_user(
            cls.env, login="dte_user_a", group_ids=groups,
            company_id=cls.company_a.id, company_ids=cls.company_a.ids,
        )
        cls.user_b = new_test_user(
            cls.env, login="dte_user_b", group_ids=groups,
            company_id=cls.company_b.id, company_ids=cls.company_b.ids,
        )
        cls.user_ab = new_test_user(
            cls.env, login="dte_user_ab", group_ids=groups,
            company_id=cls.company_b.id, company_ids=(cls.company_a | cls.company_b).ids,
        )

    def test_user_of_company_b_sees_none_of_company_a(self):
        # move_id is a plain column in the sidecar: any distinct number will do here.
        rows_a = self.insert_sample_rows(self.company_a, move_id=910011, folio="11")
        rows_b = self.insert_sample_rows(self.company_b, move_id=910021, folio="21")
        self.assertEqual(set(rows_a), set(SIDECAR_MODELS), "every model has a rule to test")
        for model in SIDECAR_MODELS:
            with self.subTest(model=model):
                seen_by_b = self.env[model].with_user(self.user_b).search([])
                self.assertIn(rows_b[model], seen_by_b.ids)
                self.assertNotIn(rows_a[model], seen_by_b.ids)
                self.assertEqual(seen_by_b.company_id, self.company_b)
                with self.assertRaises(AccessError):
                    self.env[model].with_user(self.user_b).browse(rows_a[model]).read(["company_id"])
                seen_by_a = self.env[model].with_user(self.user_a).search([])
                self.assertIn(rows_a[model], seen_by_a.ids)
                self.assertNotIn(rows_b[model], seen_by_a.ids)
                # A user of both companies sees only the companies that are active.
                only_b = self.env[model].with_user(self.user_ab).with_context(
                    allowed_company_ids=self.company_b.ids
                ).search([])
                self.assertNotIn(rows_a[model], only_b.ids)
                both = self.env[model].with_user(self.user_ab).with_context(
                    allowed_company_ids=(self.company_b | self.company_a).ids
                ).search([])
                self.assertIn(rows_a[model], both.ids)
                self.assertIn(rows_b[model], both.ids)

    def test_rules_are_global_and_protected_from_updates(self):
        rules = self.env["ir.rule"].search([("model_id.model", "in", SIDECAR_MODELS)])
        self.assertEqual(set(rules.model_id.mapped("model")), set(SIDECAR_MODELS))
        self.assertTrue(all(rule["global"] for rule in rules))
        data = self.env["ir.model.data"].search([("model", "=", "ir.rule"), ("res_id", "in", rules.ids)])
        self.assertTrue(data and all(data.mapped("noupdate")))

    def test_buttons_only_reach_the_sidecar_for_visible_records(self):
        """The sidecar acts on any id it is given: the addon forwards only ids the user may
        see, so a manager of company B cannot retry, abandon or download company A's."""
        rows_a = self.insert_sample_rows(self.company_a, move_id=910031, folio="31")
        entry = self.env["dte.failed.queue"].with_user(self.user_b).browse(rows_a["dte.failed.queue"])
        backup = self.env["dte.backup"].with_user(self.user_b).browse(rows_a["dte.backup"])
        for action in (entry.action_retry_now, entry.action_abandon, entry.action_requeue,
                       backup.action_download_xml):
            with self.subTest(action=action.__name__), self.patch_sidecar() as sidecar:
                with self.assertRaises(AccessError):
                    action()
                sidecar.assert_not_called()
