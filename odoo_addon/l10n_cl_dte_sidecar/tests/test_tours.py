# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The screens as accountants use them: tours in Chromium, in Spanish, against the real
sidecar and its SII simulator (static/tests/tours/dte_tours.js, dte_print.js)."""

import base64
import hashlib
import threading
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.base.models import ir_actions_report

from .common import CERT_PASSWORD, DATA_DIR
from .test_smoke_print import RUN_WKHTMLTOPDF, PrintedDteChecks
from .tour_common import DteTourCase, expected_refusals, screenshot_dir

SENT = ("sent", "accepted", "accepted_with_objections")


@tagged("post_install", "-at_install", "dte_live", "dte_tour")
class TestDteTours(PrintedDteChecks, DteTourCase):

    def _document(self, env, move_id):
        return env["dte.document"].search([("move_id", "=", move_id)], order="id desc", limit=1)

    def _wait_accepted(self, move_ids):
        def accepted(env):
            states = env["account.move"].browse(move_ids).mapped("dte_state")
            return all(state == "accepted" for state in states) and states

        self.assertTrue(self.wait_until(accepted, timeout=60), "the SII did not accept the documents")

    def test_01_settings_register_certificate_and_caf(self):
        """Settings: URL, key and timeout saved; the connection checked; the company
        registered; a certificate and a new CAF (folios 101-200) handed over in the dialog."""
        caf = self._caf_file("33", 101, 200)
        self.dte_tour("/odoo/settings", "dte_setup", self.tour_manager_login, {
            "url": self.sidecar_url,
            "api_key": self.sidecar_key,
            "p12": base64.b64encode((DATA_DIR / "signer-11111111-1.p12").read_bytes()).decode(),
            "password": CERT_PASSWORD,
            "caf": base64.b64encode(caf).decode(),
            "caf_name": "CAF-33-101-200.xml",
        })
        with self.step() as env:
            icp = env["ir.config_parameter"].sudo()
            self.assertEqual(icp.get_param("l10n_cl_dte_sidecar.url"), self.sidecar_url)
            self.assertEqual(icp.get_param("l10n_cl_dte_sidecar.timeout"), "60")
            loaded = env["dte.caf"].search([
                ("company_id", "=", self.live_company_id), ("dte_type", "=", "33"), ("folio_from", "=", 101),
            ])
            self.assertEqual(loaded.mapped("folio_to"), [200])
            actions = env["dte.audit.log"].search([
                ("actor_uid", "=", self.tour_manager_uid),
            ]).mapped("action")
            self.assertTrue({"company.register", "company.update"} & set(actions), actions)
            for action in ("certificate.set", "caf.load"):
                self.assertIn(action, actions)
            # Odoo keeps neither the certificate nor its password.
            self.assertFalse(env["dte.company.upload.wizard"].search([
                "|", ("certificate_file", "!=", False), ("certificate_password", "!=", False),
            ]))

    def test_02_invoice_sent_backed_up_and_accepted(self):
        """An accountant posts and sends an invoice; the SII tab shows it sent, then
        accepted, and its backup is listed."""
        move_id = self.live_invoice(amount=118000.0, quantity=1, post=False)
        self.dte_tour(self.move_url(move_id), "dte_invoice_send", self.tour_accountant_login)
        self._wait_accepted([move_id])
        with self.step() as env:
            document = self._document(env, move_id)
            folio, track_id = str(document.folio), document.track_id
            self.assertEqual(env["dte.backup"].search_count([("move_id", "=", move_id)]), 1)
        self.dte_tour(self.move_url(move_id), "dte_invoice_accepted", self.tour_accountant_login, {
            "folio": folio, "track_id": track_id,
        })

    def test_03_sii_down_retry_queue_and_retry_now(self):
        """The SII answers 500: the invoice waits in the retry queue; "Retry now" while it is
        still down says it failed (not a green notification); once it is back, "Retry now"
        sends it."""
        self.sim_fault("http500")
        try:
            move_id = self.live_invoice(amount=64000.0, quantity=1, post=False)
            self.dte_tour(self.move_url(move_id), "dte_send_fails", self.tour_manager_login)
            with self.step() as env:
                entry = env["dte.failed.queue"].search([("move_id", "=", move_id)])
                self.assertEqual(entry.state, "pending")
                self.assertEqual(entry.error_type, "unavailable")
                folio, failures = entry.folio, len(env["dte.audit.log"].search([
                    ("target_model", "=", "dte.failed.queue"), ("target_id", "=", entry.id),
                ]))
            self.dte_tour("/odoo", "dte_retry_fails", self.tour_manager_login, {"folio": folio})
            with self.step() as env:
                entry = env["dte.failed.queue"].search([("move_id", "=", move_id)])
                self.assertEqual(entry.state, "pending")
                # The manual retry happened (it is in the audit log), and failed.
                self.assertEqual(len(env["dte.audit.log"].search([
                    ("target_model", "=", "dte.failed.queue"), ("target_id", "=", entry.id),
                    ("action", "=", "failed_queue.retry_now"),
                ])), failures + 1)
        finally:
            self.sim_fault(None)
        self.dte_tour("/odoo/action-l10n_cl_dte_sidecar.action_dte_failed_queue", "dte_retry_now",
                      self.tour_manager_login, {"folio": folio})
        with self.step() as env:
            entry = env["dte.failed.queue"].search([("move_id", "=", move_id)])
            self.assertEqual(entry.state, "success")
            self.assertIn(env["account.move"].browse(move_id).dte_state, SENT)
            self.assertEqual(env["dte.backup"].search_count([("move_id", "=", move_id)]), 1)

    def test_04_contingency_full_cycle(self):
        """The contingency dialog: enable, two invoices kept, disable, upload, accepted."""
        # Amounts of their own: Odoo would show other test invoices as possible duplicates.
        move_ids = [
            self.live_invoice(amount=23500.0, quantity=2, post=False),
            self.live_invoice(amount=9900.0, quantity=3, post=False),
        ]
        self.dte_tour("/odoo", "dte_contingency_enable", self.tour_manager_login)
        try:
            for move_id in move_ids:
                self.dte_tour(self.move_url(move_id), "dte_contingency_send", self.tour_accountant_login)
            with self.step() as env:
                pending = env["dte.contingency.pending"].search([("move_id", "in", move_ids)])
                self.assertEqual(len(pending), 2)
                self.assertFalse(any(pending.mapped("uploaded")))
                waiting = env["dte.contingency.pending"].search_count([
                    ("company_id", "=", self.live_company_id), ("uploaded", "=", False),
                ])
            self.dte_tour("/odoo", "dte_contingency_disable_upload", self.tour_manager_login, {
                "pending": waiting,
            })
        finally:
            with self.step(self.live_manager_uid) as env:
                action = env["dte.contingency.wizard"].action_open(env["res.company"].browse(self.live_company_id))
                wizard = env["dte.contingency.wizard"].browse(action["res_id"])
                if wizard.enabled:
                    wizard.action_disable()
        with self.step() as env:
            pending = env["dte.contingency.pending"].search([("move_id", "in", move_ids)])
            self.assertTrue(all(pending.mapped("uploaded")))
        self._wait_accepted(move_ids)
        with self.step() as env:
            self.assertEqual(env["dte.backup"].search_count([("move_id", "in", move_ids)]), 2)
            audit = env["dte.audit.log"].search([
                ("company_id", "=", self.live_company_id), ("target_model", "=", "dte.contingency"),
            ], order="id desc", limit=2)
            self.assertEqual(audit.mapped("action"), ["contingency.disable", "contingency.enable"])
            self.assertEqual(audit.actor_uid.ids, [self.tour_manager_uid])

    def test_05_dashboard(self):
        """The dashboard opens from the menu and shows the sidecar's numbers."""
        with self.step() as env:
            accepted = env["dte.document"].search_count([
                ("company_id", "=", self.live_company_id), ("state", "=", "accepted"),
            ])
            waiting = env["dte.failed.queue"].search_count([
                ("company_id", "=", self.live_company_id), ("state", "in", ("pending", "retrying")),
            ])
        self.assertGreater(accepted, 0)
        self.dte_tour("/odoo", "dte_dashboard", self.tour_manager_login, {
            "accepted": accepted, "waiting": waiting,
        })

    def test_06_print_sent_and_contingency_invoices(self):
        """An accountant presses Print on a sent invoice and on one kept in contingency: the
        web client runs the report action and downloads a PDF; that very PDF carries the
        stored TED as its barcode and the SII box with RUT, type and folio."""
        with self.step() as env:
            env["res.company"].browse(self.live_company_id).dte_sii_office = "Santiago Centro"
        sent = self.live_invoice(amount=31400.0, quantity=1)
        action = self.send(sent)
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        self.print_in_browser(sent, "print_sent", "/Enviado|Aceptado/")

        with self.step(self.live_manager_uid) as env:
            env["dte.sidecar.client"]._call(
                "dte.contingency", "enable_contingency", company_id=self.live_company_id,
                reason="manual", comment="Impresión en contingencia",
            )
        try:
            kept = self.live_invoice(amount=27300.0, quantity=1)
            action = self.send(kept)
            self.assertEqual(action["params"]["type"], "warning", action["params"]["message"])
            self.print_in_browser(kept, "print_contingency", "Contingencia")
            with self.step() as env:
                self.assertEqual(env["account.move"].browse(kept).dte_state, "contingency", "printing uploaded it")
        finally:
            with self.step(self.live_manager_uid) as env:
                client = env["dte.sidecar.client"]
                client._call("dte.contingency", "disable_contingency", company_id=self.live_company_id,
                             comment="Fin de la impresión en contingencia")
                client._call("dte.contingency", "upload_pending_batch", company_id=self.live_company_id)

    def print_in_browser(self, move_id, name, state):
        """Run the print tour on the move's form; check the PDF the browser downloaded."""
        with self.step() as env:
            folio = self._document(env, move_id).folio
        rendered = []
        lock = threading.Lock()
        render_of = self.registry["ir.actions.report"]._render_qweb_pdf

        def render(report, report_ref, res_ids=None, data=None):
            # Odoo renders HTML under --test-enable unless told otherwise: the real PDF,
            # as in production, kept for the checks below.
            content, kind = render_of(report.with_context(force_report_rendering=True), report_ref,
                                      res_ids=res_ids, data=data)
            with lock:
                rendered.append({"report": report_ref, "res_ids": list(res_ids or []), "content": content,
                                 "kind": kind})
            return content, kind

        with patch.object(self.registry["ir.actions.report"], "_render_qweb_pdf", render), \
                patch.object(ir_actions_report, "_run_wkhtmltopdf", RUN_WKHTMLTOPDF):
            self.dte_tour(self.move_url(move_id), "dte_print_invoice", self.tour_accountant_login, {
                "name": name, "state": state, "folio": str(folio),
            })
        self.assertEqual([report["name"] for report in self.tour_reports], [name])
        downloaded = self.tour_reports[0]
        self.assertEqual(len(rendered), 1, [(r["report"], r["res_ids"]) for r in rendered])
        pdf = rendered[0]
        self.assertEqual((pdf["report"], pdf["res_ids"], pdf["kind"]),
                         ("account.report_invoice_with_payments", [move_id], "pdf"))
        # The bytes the browser got are the ones checked here.
        self.assertEqual(downloaded["sha256"], hashlib.sha256(pdf["content"]).hexdigest())
        self.assertEqual(downloaded["size"], len(pdf["content"]))
        text, _sizes, ted, pages, _index = self.check_printed_ted(pdf["content"], move_id, name)
        self.assertIn(b"<TD>33</TD>", ted)
        self.assertIn(f"<F>{folio}</F>".encode(), ted)
        self.check_sii_box(text, move_id, "33")
        # The first page as the customer sees it, beside the tour's screenshots.
        pages[0].save(screenshot_dir() / f"{name}_pdf_page1.png")

    def test_07_run_manually_the_retry_cron(self):
        """Settings > Technical > Scheduled Actions > "DTE: Retry Failed DTEs" > Run Manually
        (Odoo 19's "Run Now"), as a DTE manager: the entry that is due is retried and the
        notification says what was done."""
        move_id = self.failed_invoice()
        with self.step() as env:
            entry = env["dte.failed.queue"].search([("move_id", "=", move_id)])
            self.assertEqual(entry.state, "pending")
            # Its hour has passed (as one hour later).
            env.cr.execute(
                "UPDATE dte_sidecar.dte_failed_queue"
                " SET next_retry_date = (now() AT TIME ZONE 'UTC') - interval '1 minute' WHERE id = %s",
                [entry.id],
            )
            entry_id = entry.id
        self.dte_tour("/odoo/settings?debug=1", "dte_cron_run_manually", self.tour_manager_login)
        # Retried by Run Manually, or just before by the sidecar's own schedule (it retries
        # what is due every minute): the notification gives the counts either way.
        self.assertTrue(self.wait_until(lambda env: env["dte.failed.queue"].browse(entry_id).state == "success"))

    def test_08_refusals_read_in_spanish(self):
        """The sidecar refuses a CAF that overlaps one already loaded (folios 50-150 of type
        33), a certificate with a wrong password, and a retry or an abandon of an entry
        already abandoned: the manager reads each refusal in Spanish, with its code, and no
        English sentence (the tour fails on one); the entry's error and history too."""
        with self.step() as env:
            company_name = env["res.company"].browse(self.live_company_id).name
        with expected_refusals("caf.overlaps", "certificate.unusable"):
            self.dte_tour("/odoo/settings", "dte_refusals_in_spanish", self.tour_manager_login, {
                "company_name": company_name,
                "p12": base64.b64encode((DATA_DIR / "signer-11111111-1.p12").read_bytes()).decode(),
                "caf": base64.b64encode(self._caf_file("33", 50, 150)).decode(),
                "caf_name": "CAF-33-50-150.xml",
                "certificate_code": "certificate.unusable",
            })
        texts = {report["code"]: report["text"] for report in self.tour_reports}
        self.assertEqual(set(texts), {"caf.overlaps", "certificate.unusable"})
        self.assertEqual(texts["caf.overlaps"], "Los folios 50 a 150 del DTE 33 se superponen con un CAF ya cargado "
                                                f"para la empresa {company_name} (caf.overlaps)")
        self.assertEqual(texts["certificate.unusable"],
                         "El certificado no se puede usar: revise el archivo y su contraseña (certificate.unusable)")
        # The retry queue: "Retry now" and "Abandon" on an entry already abandoned, then
        # the entry's error and history, read from the codes the sidecar stored.
        move_id = self.failed_invoice()
        with self.step(self.live_manager_uid) as env:
            entry = env["dte.failed.queue"].search([("move_id", "=", move_id)])
            entry.action_abandon()
            folio = entry.folio
        with expected_refusals("queue.retry_not_pending", "queue.abandon_not_pending"):
            self.dte_tour("/odoo/action-l10n_cl_dte_sidecar.action_dte_failed_queue", "dte_queue_refusals_in_spanish",
                          self.tour_manager_login, {"folio": folio, "company_name": company_name})
        texts = {report["code"]: report["text"] for report in self.tour_reports}
        entry_name = f"DTE 33 N° {folio}"
        self.assertEqual(texts["queue.retry_not_pending"], (
            f"La entrada {entry_name} está en estado Abandonado: solo las entradas pendientes se pueden reintentar "
            "(primero vuelva a encolar una abandonada) (queue.retry_not_pending)"))
        self.assertEqual(texts["queue.abandon_not_pending"], (
            f"La entrada {entry_name} está en estado Abandonado: solo las entradas pendientes se pueden abandonar "
            "(queue.abandon_not_pending)"))
        self.assertEqual(texts["error_text"],
                         "El SII respondió con el estado HTTP 500 (sii.http). Abandonado: no se reintentará.")
        self.assertIn("Envío fallido HTTP 500 El SII respondió con el estado HTTP 500 (sii.http)",
                      texts["retry_history"])
