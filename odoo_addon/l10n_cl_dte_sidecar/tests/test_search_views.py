# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The track id in the search boxes of the backups, the retry queue and the documents: a
whole track id or its beginning, never Odoo's default "contains" (``ilike '%…%'``), which
at ten million rows reads every row."""

from lxml import etree

from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import DteCommon

#: model, its list and search views, and the column that holds its SII track id.
TRACK_ID_SCREENS = [
    ("dte.backup", "view_dte_backup_list", "view_dte_backup_search", "track_id"),
    ("dte.document", "view_dte_document_list", "view_dte_document_search", "track_id"),
    ("dte.failed.queue", "view_dte_failed_queue_list", "view_dte_failed_queue_search", "success_track_id"),
]


@tagged("post_install", "-at_install")
class TestTrackIdSearch(DteCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.move = cls._create_invoice()

    def arch(self, model, view):
        return etree.fromstring(self.env[model].get_view(self.env.ref(f"l10n_cl_dte_sidecar.{view}").id)["arch"])

    def test_every_list_with_a_track_id_is_searched_by_its_beginning(self):
        rows = self.insert_sample_rows(self.company, move_id=self.move.id, folio="4321")
        track = "5000140087"
        for table, model in (("dte_backup", "dte.backup"), ("dte_document", "dte.document")):
            self.env.cr.execute(f"UPDATE dte_sidecar.{table} SET track_id = %s WHERE id = %s",  # noqa: S608
                                [track, rows[model]])
        self.env.cr.execute(
            "UPDATE dte_sidecar.dte_failed_queue SET state = 'success', success_track_id = %s, success_date = now() "
            "WHERE id = %s", [track, rows["dte.failed.queue"]],
        )
        self.env.invalidate_all()
        for model, list_view, search_view, name in TRACK_ID_SCREENS:
            with self.subTest(model=model):
                self.assertTrue(self.arch(model, list_view).xpath(f"//field[@name='{name}']"),
                                f"the {model} list shows no track id")
                fields_ = self.arch(model, search_view).xpath(f"//search/field[@name='{name}']")
                self.assertEqual(len(fields_), 1, f"the {model} search box cannot look a track id up")
                filter_domain = fields_[0].get("filter_domain")
                self.assertTrue(filter_domain, f"{model}.{name} would be searched with ilike")

                def found(typed, model=model, name=name, filter_domain=filter_domain):
                    domain = safe_eval(filter_domain, {"self": typed, "raw_value": typed})
                    query = self.env[model]._search(domain).select().code
                    self.assertIn(f'"{name}" LIKE', query)
                    self.assertNotIn("ILIKE", query.upper())
                    return rows[model] in self.env[model].search(domain).ids

                self.assertTrue(found(track), "the whole track id")
                self.assertTrue(found(track[:6]), "its beginning")
                self.assertFalse(found(track[3:]), "a piece of its middle is not a prefix")
                self.assertFalse(found(track + "X"), "a longer one")
