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
        cls.env_es = cls._spanish_env()
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

    def _queue_entry(self, **values):
        row = {
            "company_id": self.company.id, "dte_type": "33", "folio": "7", "rut_emisor": "76000001-9",
            "move_id": self.move.id, "xml_content": b"<DTE/>", "error_type": "validation",
            "error_message": "STATUS 7: schema invalid: Folio missing", "retry_count": 0, "max_retries": 5,
            "failed_date": fields.Datetime.now(), "state": "pending", **values,
        }
        return self.env_es["dte.failed.queue"].browse(self.insert_sidecar_row("dte_failed_queue", row))

    def test_stored_codes_read_as_spanish_sentences(self):
        """A queue entry, its history and a document read from their codes; what comes
        next from the entry's state; the English is never read."""
        waiting = self._queue_entry(
            error_code="sii.upload_status", error_params='{"status": "7", "detail": "Error en Folio"}',
            error_message="wholly different English, never shown",
        )
        self.assertEqual(
            waiting.error_text,
            "El SII rechazó el envío (STATUS 7): Error en Folio (sii.upload_status). "
            "El SII lo rechaza tal como está: una persona debe revisarlo.",
        )
        # The sidecar's own cap on calls to the SII: not an SII failure, and said so; the
        # next retry in Santiago's time (UTC-3 in December).
        capped = self._queue_entry(
            folio="8", error_type="unavailable", error_code="sii.call_cap", error_params="{}",
            error_message="not sent yet", next_retry_date="2026-12-08 13:00:00",
        )
        self.assertEqual(
            capped.error_text,
            "Aún no enviado: se alcanzó el límite de llamadas por minuto al SII de este servidor; se reintentará "
            "más tarde (sii.call_cap). Próximo reintento: 8 dic 2026, 10:00.",
        )
        # No code (queued by Odoo code, or written before codes): its text as it came,
        # with a capital, never parsed.
        own = self._queue_entry(folio="9", error_message="http-500: the SII answered HTTP 500",
                                state="abandoned", retry_count=5)
        self.assertEqual(own.error_text, "Http-500: the SII answered HTTP 500. Abandonado después de 5 reintentos.")
        # A refusal about an entry names it as the lists do, not by the sidecar's id.
        self.assertTrue(self.env_es["dte.sidecar.client"]._dte_message_text(
            "queue.retry_not_pending", {"id": own.id, "state": "abandoned"},
        ).startswith("La entrada DTE 33 N° 9 está en estado Abandonado"))
        # The history: an event with its code, an older one without.
        history = (
            '[{"date": "2026-12-07 21:00:00", "event": "failed", "error_type": "unavailable", '
            '"error_message": "the SII answered HTTP 500: Internal Server Error", '
            '"said": {"code": "sii.http", "params": {"status": "500", "detail": "Internal Server Error"}}}, '
            '{"date": "2026-12-07 22:00:00", "event": "retry_failed", "retry": 1, "error_type": "timeout", '
            '"error_message": "timeout: the SII did not answer in time"}]'
        )
        rows = self.env_es["dte.failed.queue"].new({"retry_history": history})._retry_history_rows()
        self.assertEqual([row[1:] for row in rows], [
            ("Envío fallido", "HTTP 500", "El SII respondió con el estado HTTP 500 (sii.http)"),
            ("Reintento 1 fallido", "", "Timeout: the SII did not answer in time"),
        ])
        # A document: its stored code, then its queue entry's next retry.
        document = self.insert_document(self.move, state="failed", folio=7)
        self.env.cr.execute(
            "UPDATE dte_sidecar.dte_document SET message_code = 'sii.http', message = 'anything', "
            "message_params = '{\"status\": \"503\", \"detail\": \"Service Unavailable\"}' WHERE id = %s",
            [document],
        )
        self.env.cr.execute("UPDATE dte_sidecar.dte_failed_queue SET document_id = %s, next_retry_date = "
                            "'2026-12-08 13:00:00', error_code = 'sii.http' WHERE id = %s", [document, capped.id])
        self.env.invalidate_all()
        text = self.env_es["dte.document"].browse(document).message_text
        self.assertEqual(
            text, "El SII respondió con el estado HTTP 503 (sii.http). Próximo reintento: 8 dic 2026, 10:00.",
        )
        self.assertEqual(self.move.with_env(self.env_es).dte_message, text)

    def test_kept_documents_and_alerts_read_from_their_codes(self):
        kept = self.env_es["dte.contingency.pending"].browse(self.insert_sidecar_row("dte_contingency_pending", {
            "company_id": self.company.id, "dte_type": "33", "folio": "4322", "rut_emisor": "76000001-9",
            "move_id": self.move.id, "xml_content": b"<DTE/>", "stored_date": fields.Datetime.now(),
            "uploaded": False, "error_code": "contingency.quarantined", "error_params": '{"detail": "not XML"}',
        }))
        self.assertEqual(kept.error_text, "Apartado: el XML guardado no se puede leer (contingency.quarantined)")
        Alert = self.env_es["dte.alert"]
        cases = [
            ("queue_backlog", '{"count": 1234}',
             "1.234 documentos esperan en la cola de reintentos (más de 10) (queue_backlog)"),
            ("retry_success_low", '{"rate": 66.66666, "total": 3}',
             "Solo el 66,7 % de los documentos reintentados llegó al SII (menos del 80 %) (retry_success_low)"),
            ("folios_low", '{"dte_type": "33", "left": 8, "types": []}',
             "Quedan solo 8 folios del DTE 33: cargue un CAF nuevo (folios_low)"),
            ("no_verdict", '{"track_id": "0005001277", "envelope_id": 3}',
             "El SII lleva días sin dar su veredicto del Track ID 0005001277 (no_verdict)"),
        ]
        for rule, details, expected in cases:
            with self.subTest(rule=rule):
                alert = Alert.browse(self.insert_sidecar_row("dte_alert", {
                    "company_id": self.company.id, "rule": rule, "message": "English for logs",
                    "details": details, "raised_at": fields.Datetime.now(),
                }))
                self.assertEqual(alert.text, expected)
                self.assertEqual(alert.display_name, expected)

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
