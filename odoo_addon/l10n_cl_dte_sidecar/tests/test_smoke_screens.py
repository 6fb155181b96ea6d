# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What accountants look at, against the real sidecar: the specification's scheduled
actions, the retry history, the messages in Spanish, the dashboard."""

import contextlib
import json
import logging

from odoo import fields
from odoo.tests import TransactionCase, tagged

from .common import ENGLISH, DteLiveCommon

RETRY_LOGGER = "odoo.addons.l10n_cl_dte_sidecar.models.dte_failed_queue"
BACKUP_LOGGER = "odoo.addons.l10n_cl_dte_sidecar.models.dte_backup"


@contextlib.contextmanager
def captured(logger_name, level=logging.INFO, levels=False):
    """What ``logger_name`` logs meanwhile at ``level`` and above (and still lets through):
    its messages, or ``(level name, message)`` pairs with ``levels``."""
    lines = []

    class Capture(logging.Handler):
        def emit(self, record):
            message = record.getMessage()
            lines.append((record.levelname, message) if levels else message)

    logger, handler = logging.getLogger(logger_name), Capture(level)
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


@tagged("post_install", "-at_install", "dte_live")
class TestSmokeScreens(DteLiveCommon, TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.step() as env:
            env["res.lang"]._activate_lang("es_CL")
            env["ir.module.module"]._load_module_terms(["l10n_cl_dte_sidecar"], ["es_CL"], overwrite=True)
            env["res.users"].browse(cls.live_manager_uid).write({"tz": "America/Santiago"})

    def _failed_entry(self):
        """An invoice the SII could not take (HTTP 500): its queue entry id."""
        move_id = self.failed_invoice()
        with self.step() as env:
            entry = env["dte.failed.queue"].search([("move_id", "=", move_id)])
            self.assertEqual(entry.state, "pending")
            return entry.id

    def test_scheduled_actions_of_the_deployment_checklist(self):
        """Checklist step 4: Settings > Technical > Scheduled Actions holds "DTE: Retry
        Failed DTEs", active, every hour; and the weekly backup clean-up."""
        with self.step() as env:
            crons = env["ir.cron"].search([("name", "ilike", "DTE: Retry Failed DTEs")])
            self.assertEqual(len(crons), 1)
            self.assertTrue(crons.active)
            self.assertEqual((crons.interval_number, crons.interval_type), (1, "hours"))
            cleanup = env.ref("l10n_cl_dte_sidecar.ir_cron_cleanup_old_backups")
            self.assertTrue(cleanup.active)
            self.assertEqual((cleanup.interval_number, cleanup.interval_type), (1, "weeks"))

    def test_run_now_retries_what_is_due_and_leaves_the_rest(self):
        """Checklist step 6: "Run Now" on the cron retries the entries that are due, through
        the sidecar; an entry not due yet is not touched."""
        due_id, later_id = self._failed_entry(), self._failed_entry()
        with self.step() as env:
            later_before = env["dte.failed.queue"].browse(later_id).read(["retry_count", "next_retry_date"])[0]
            # The first entry's hour has passed (as one hour later).
            env.cr.execute(
                "UPDATE dte_sidecar.dte_failed_queue"
                " SET next_retry_date = (now() AT TIME ZONE 'UTC') - interval '1 minute'"
                " WHERE id = %s", [due_id],
            )
        with self.step() as env, captured(RETRY_LOGGER) as logs:
            env.ref("l10n_cl_dte_sidecar.ir_cron_retry_failed_dtes").method_direct_trigger()
        # The cron's log says what it did (this test's entry among whatever else was due).
        self.assertEqual(len(logs), 1, logs)
        self.assertRegex(logs[0], r"^DTE: Retry Failed DTEs: [1-9]\d* due, [1-9]\d* retried: [1-9]\d* succeeded")
        with self.step() as env:
            due = env["dte.failed.queue"].browse(due_id)
            self.assertEqual(due.state, "success")
            self.assertTrue(due.success_track_id)
            # A retry that succeeds is counted (1 / 5), not only the failed ones.
            self.assertEqual(due.retry_count, 1)
            later = env["dte.failed.queue"].browse(later_id)
            self.assertEqual(later.state, "pending")
            self.assertFalse(later.last_retry_date, "not due: not touched")
            self.assertEqual(later.read(["retry_count", "next_retry_date"])[0], later_before)

    def test_cleanup_cron_runs_the_sidecars_retention(self):
        with self.step() as env:
            before = env["dte.backup"].search_count([])
        with self.step() as env, captured(BACKUP_LOGGER) as logs:
            env.ref("l10n_cl_dte_sidecar.ir_cron_cleanup_old_backups").method_direct_trigger()
        self.assertEqual(logs, ["DTE: Cleanup Old Backups: 0 backups older than 6 years removed"])
        with self.step() as env:
            self.assertEqual(env["dte.backup"].search_count([]), before, "nothing is six years old")

    def test_retry_history_and_messages_in_spanish_and_local_time(self):
        entry_id = self._failed_entry()
        with self.step(self.live_manager_uid) as env:
            env = env(context={"lang": "es_CL", "tz": "America/Santiago"})
            entry = env["dte.failed.queue"].browse(entry_id)
            # The error reads from its code in Spanish, keeps the code for support, and
            # says the next retry in Santiago's time, not UTC; no English.
            self.assertEqual(entry.error_code, "sii.http")
            self.assertEqual(json.loads(entry.error_params)["status"], "500")
            self.assertTrue(entry.error_text.startswith("El SII respondió con el estado HTTP 500 (sii.http). "
                                                        "Próximo reintento: "), entry.error_text)
            local = fields.Datetime.context_timestamp(entry, entry.next_retry_date)
            self.assertIn(f"{local.hour}:{local.minute:02d}", entry.error_text)
            # The invoice's message says the same, from its document's code and its entry.
            move = entry.move_id
            self.assertEqual(move.dte_document_id.message_code, "sii.http")
            self.assertEqual(move.dte_message, entry.error_text)
            self.assertNotIn("UTC", move.dte_message)
            # The history is rows, not JSON, read from the event's code.
            rows = entry._retry_history_rows()
            self.assertEqual(len(rows), 1)
            when, outcome, code, message = rows[0]
            self.assertEqual((outcome, code, message),
                             ("Envío fallido", "HTTP 500", "El SII respondió con el estado HTTP 500 (sii.http)"))
            failed = fields.Datetime.context_timestamp(entry, entry.failed_date)
            self.assertIn(f"{failed.hour}:{failed.minute:02d}", when)
            self.assertNotIn("{", entry.retry_history_html)
            self.assertIn("<td>HTTP 500</td>", entry.retry_history_html)
            for text in (entry.error_text, move.dte_message, message):
                self.assertNotRegex(text, ENGLISH)
            entry.action_retry_now()
        with self.step(self.live_manager_uid) as env:
            env = env(context={"lang": "es_CL", "tz": "America/Santiago"})
            entry = env["dte.failed.queue"].browse(entry_id)
            self.assertEqual(entry.state, "success")
            outcomes = [row[1] for row in entry._retry_history_rows()]
            self.assertEqual(outcomes, ["Envío fallido", "Reintento 1 exitoso"])
            self.assertEqual(entry.retry_count, 1)
            document = env["dte.document"].search([("move_id", "=", entry.move_id.id)])
            self.assertRegex(document.message_text, r"^(Recibido por el SII|Veredicto del SII)")
            self.assertRegex(document.message_text, r"\((sii\.received|sii\.received_earlier|sii\.verdict)\)$")
            self.assertNotIn("received by", document.message_text)
            # The manual retry in the audit log: a label, and the entry it was about.
            audit = env["dte.audit.log"].search([("target_model", "=", "dte.failed.queue"),
                                                 ("target_id", "=", entry_id)])
            self.assertEqual(audit.action_label, "Reintento manual")
            self.assertEqual(audit.target_name, f"Entrada de la cola de reintentos: {entry.display_name}")

    def test_dashboard_is_one_record_with_a_title(self):
        with self.step(self.live_manager_uid) as env:
            env = env(context={"lang": "es_CL"})
            first = env["dte.dashboard"].action_open()
            second = env["dte.dashboard"].action_open()
            self.assertEqual(first["res_id"], second["res_id"], "opening again reuses the dashboard")
            dashboard = env["dte.dashboard"].browse(first["res_id"])
            company = env["res.company"].browse(self.live_company_id)
            self.assertEqual(dashboard.display_name, f"Panel DTE: {company.name}")
            self.assertNotIn("dte.dashboard,", second["name"])
            if dashboard.backup_storage_bytes:
                # A few KB of XML are shown in KB, not as 0.00 MB.
                self.assertRegex(dashboard.backup_storage_text, r"^\d+(,\d)? (B|KB|MB)$")
                self.assertNotEqual(dashboard.backup_storage_text, "0,0 MB")
            # Graphs of the sidecar's records, by day.
            report = dashboard.action_open_report_documents()
            self.assertEqual(report["res_model"], "dte.document")
            self.assertEqual(report["views"][0][1], "graph")
            groups = env["dte.document"]._read_group([("company_id", "=", company.id)],
                                                      ["created_at:day", "state"], ["__count"])
            self.assertTrue(groups)


@tagged("post_install", "-at_install")
class TestRetryHistoryEvents(TransactionCase):
    """Every event the sidecar writes in a retry history reads in Spanish (the events'
    shape is the sidecar's `src/flows/retry_history.rs`)."""

    def test_an_entry_closed_without_a_retry_of_its_own_says_so(self):
        history = (
            '[{"date": "2026-12-07 21:00:00", "event": "failed", "error_type": "unavailable", '
            '"error_message": "the SII answered HTTP 500 (http-500)"}, '
            '{"date": "2026-12-07 22:00:00", "event": "settled", "track_id": "0005001277"}]'
        )
        self.env["res.lang"]._activate_lang("es_CL")
        self.env["ir.module.module"]._load_module_terms(["l10n_cl_dte_sidecar"], ["es_CL"], overwrite=True)
        env = self.env(context={"lang": "es_CL", "tz": "America/Santiago"})
        entry = env["dte.failed.queue"].new({"retry_history": history})
        outcomes = [(row[1], row[3]) for row in entry._retry_history_rows()]
        self.assertEqual(outcomes[1], ("Cerrado: el SII ya lo tenía", "Track ID del SII 0005001277."))
        self.assertNotIn("Reintento 0", str(outcomes))
