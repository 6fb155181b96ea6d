# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The screens over the sidecar's rows (put in its tables inside the test transaction):
what a person reads instead of codes, counts and empty sections."""

from lxml import etree

from odoo import fields
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from ..models.dte_sidecar_message import format_size
from .common import DteCommon


@tagged("post_install", "-at_install")
class TestScreens(DteCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("es_CL")
        cls.env["ir.module.module"]._load_module_terms(["l10n_cl_dte_sidecar"], ["es_CL"], overwrite=True)
        cls.env_es = cls.env(context={"lang": "es_CL", "tz": "America/Santiago"})
        cls.move = cls._create_invoice()

    def test_document_data_of_an_invoice_33_is_not_empty(self):
        """The "Document data" group of the SII tab shows what the DTE says."""
        arch = etree.fromstring(self.env["account.move"].get_view(
            self.env.ref("account.view_move_form").id)["arch"])
        group = arch.xpath("//page[@name='dte_sidecar']//group[@string='Document data']")
        self.assertEqual(len(group), 1)
        values = {"dte_code": "33", "state": "posted"}
        visible = [
            field.get("name") for field in group[0].iter("field")
            if not safe_eval(field.get("invisible") or "False", values)
        ]
        self.assertGreaterEqual(len(visible), 3, visible)
        for name in visible:
            self.assertTrue(self.move[name], f"{name} is empty on a posted type 33 invoice")
        self.assertEqual(self.move.dte_receiver_rut, "77777777-7")
        self.assertEqual(self.move.dte_issue_date, self.move.invoice_date)
        self.assertEqual(self.move.dte_amount_total, 11900)

    def test_uninstall_dialog_counts_the_sidecars_rows(self):
        self.insert_sample_rows(self.company, move_id=self.move.id)
        self.env.cr.execute("SELECT count(*) FROM dte_alert")
        [alerts] = self.env.cr.fetchone()
        self.assertGreaterEqual(alerts, 1)
        model = self.env["ir.model"]._get("dte.alert")
        model.invalidate_recordset(["count"])
        self.assertEqual(model.count, alerts)

    def test_audit_log_reads_as_actions_not_codes(self):
        upload = self.insert_sidecar_row("dte_audit_log", {
            "company_id": self.company.id, "actor": "odoo", "action": "contingency.upload_pending",
            "target_model": "dte.contingency.pending", "target_id": None, "details": '{"batch_size": 50}',
            "created_at": fields.Datetime.now(),
        })
        entry = self.env_es["dte.audit.log"].browse(upload)
        self.assertEqual(entry.action_label, "Envío de los documentos guardados en contingencia")
        self.assertEqual(entry.target_name, f"Todos los documentos de {self.company.name} guardados en contingencia")
        self.assertNotIn("0", entry.target_name.replace(self.company.name, ""))
        self.assertEqual(entry.display_name, entry.action_label)
        register = self.insert_sidecar_row("dte_audit_log", {
            "company_id": self.company.id, "actor": "odoo", "action": "company.register",
            "target_model": "dte.company", "target_id": self.company.id, "details": "{}",
            "created_at": fields.Datetime.now(),
        })
        entry = self.env_es["dte.audit.log"].browse(register)
        self.assertEqual(entry.action_label, "Empresa registrada en el servicio DTE")
        self.assertEqual(entry.target_name, f"Empresa: {self.company.name}")

    def test_contingency_periods_over_time(self):
        def audit(action, at):
            return self.insert_sidecar_row("dte_audit_log", {
                "company_id": self.company.id, "actor": "odoo", "action": action,
                "target_model": "dte.contingency", "target_id": 1, "details": '{"reason": "manual"}',
                "created_at": at,
            })
        first = audit("contingency.enable", "2026-01-05 10:00:00")
        audit("contingency.disable", "2026-01-05 13:30:00")
        second = audit("contingency.enable", "2026-01-07 08:00:00")
        periods = self.env["dte.contingency.period"].search([("company_id", "=", self.company.id)])
        self.assertEqual(periods.ids, [second, first])
        closed = periods.filtered(lambda p: p.id == first)
        self.assertEqual(closed.ended_at, fields.Datetime.to_datetime("2026-01-05 13:30:00"))
        self.assertAlmostEqual(closed.duration_hours, 3.5)
        self.assertEqual(closed.reason, "manual")
        self.assertTrue(periods.filtered(lambda p: p.id == second).ongoing)
        by_day = self.env["dte.contingency.period"]._read_group(
            [("company_id", "=", self.company.id)], ["started_at:day"], ["__count"])
        self.assertEqual(len(by_day), 2)

    def test_backup_storage_in_a_unit_that_fits(self):
        self.assertEqual(format_size(self.env_es, 4813), "4,7 KB")
        self.assertEqual(format_size(self.env_es, 512), "512 B")
        self.assertEqual(format_size(self.env_es, 5 * 1024 * 1024), "5,0 MB")
        self.assertEqual(format_size(self.env_es, 1500 * 1024 ** 3), "1.500,0 GB")
        self.assertEqual(format_size(self.env, 4813), "4.7 KB", "in English, as English writes it")
        kpis = {"failed_queue_count": 0, "retry_success_rate": None, "retried_count": 0,
                "backup_storage_mb": 0.005, "backup_storage_bytes": 4813,
                "documents_by_state": {}, "folios_left": {}}
        with self.patch_sidecar({"dte.dashboard.get_kpis": kpis}):
            action = self.env_es["dte.dashboard"].action_open()
        dashboard = self.env_es["dte.dashboard"].browse(action["res_id"])
        self.assertEqual(dashboard.backup_storage_text, "4,7 KB")
        # Before any retry there is no rate to show.
        self.assertEqual(dashboard.retry_success_text, "Sin reintentos aún")

    def test_dashboard_numbers_in_the_users_language(self):
        kpis = {"failed_queue_count": 0, "retry_success_rate": 100.0, "retried_count": 1234,
                "backup_storage_bytes": 18 * 1024, "documents_by_state": {"accepted": 2500},
                "folios_left": {"33": 1200}}
        with self.patch_sidecar({"dte.dashboard.get_kpis": kpis}):
            action = self.env_es["dte.dashboard"].action_open()
        dashboard = self.env_es["dte.dashboard"].browse(action["res_id"])
        self.assertEqual(dashboard.retry_success_text, "100,0 % de 1.234 reintentados")
        self.assertEqual(dashboard.backup_storage_text, "18,0 KB")
        self.assertIn(">2.500<", dashboard.documents_by_state)
        self.assertIn(">1.200<", dashboard.folios_left)

    def test_sidecar_errors_read_as_spanish_sentences(self):
        client = self.env_es["dte.sidecar.client"]
        self.assertEqual(
            client._dte_error_text(
                "STATUS 7: schema invalid: Folio missing; the SII refuses it as it is: a person must act"),
            "El SII indica que el documento no cumple su esquema: Folio missing (STATUS 7). "
            "El SII lo rechaza tal como está: una persona debe revisarlo.",
        )
        self.assertEqual(client._dte_error_text("timeout: the SII did not answer in time"),
                         "El SII no respondió a tiempo (timeout).")
        # The sidecar's own cap on calls to the SII: not an SII failure, and said so.
        self.assertEqual(
            client._dte_error_text(
                "call-cap: upload not sent: this sidecar's cap of 1200 calls per minute to the SII is reached"),
            "Aún no enviado: se alcanzó el límite de llamadas por minuto al SII de este servidor; "
            "se reintentará más tarde (call-cap).",
        )
        # Unknown text: as it came, with a capital.
        self.assertEqual(client._dte_error_text("something new"), "Something new")

    def test_search_boxes_look_folios_and_track_ids_up_as_a_btree_serves(self):
        """At millions of rows a "contains" search reads every row: the search boxes look a
        folio up whole and a track id by its beginning, the SQL the sidecar's indexes serve
        (its history bench runs ``EXPLAIN`` on the same SQL at ten million rows)."""
        rows = self.insert_sample_rows(self.company, move_id=self.move.id, folio="4321")
        cases = [
            # model, search view, field, typed, found by, not found by, SQL it sends
            ("dte.backup", "view_dte_backup_search", "folio", "4321", "4321", "432", '"folio" IN'),
            ("dte.backup", "view_dte_backup_search", "track_id", "T-43", "T-4321", "4321", '"track_id" LIKE'),
            ("dte.document", "view_dte_document_search", "track_id", "T-43", "T-4321", "4321", '"track_id" LIKE'),
            ("dte.failed.queue", "view_dte_failed_queue_search", "folio", "4321", "4321", "21", '"folio" IN'),
            ("dte.contingency.pending", "view_dte_contingency_pending_search", "folio", "4321", "4321", "43",
             '"folio" IN'),
        ]
        for model, view, name, typed, whole, part, sql in cases:
            with self.subTest(model=model, field=name):
                Model = self.env[model]
                arch = etree.fromstring(Model.get_view(
                    self.env.ref(f"l10n_cl_dte_sidecar.{view}").id, "search")["arch"])
                [field] = arch.xpath(f"//search/field[@name='{name}']")
                filter_domain = field.get("filter_domain")
                self.assertTrue(filter_domain, f"{model}.{name} would search with ilike")
                domains = {
                    value: safe_eval(filter_domain, {"self": value, "raw_value": value})
                    for value in (typed, whole, part)
                }
                self.assertIn(rows[model], Model.search(domains[typed]).ids)
                self.assertIn(rows[model], Model.search(domains[whole]).ids)
                self.assertNotIn(rows[model], Model.search(domains[part]).ids)
                query = Model._search(domains[typed]).select().code
                self.assertIn(sql, query)
                self.assertNotIn("ILIKE", query.upper())
