# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import contextlib
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..tools import sidecar_rpc
from .common import DATA_DIR, DteCommon

SIDECAR_MODELS = (
    "dte.document", "dte.backup", "dte.failed.queue", "dte.contingency",
    "dte.contingency.pending", "dte.audit.log", "dte.alert", "dte.caf",
)


@tagged("post_install", "-at_install")
class TestSidecarRecords(DteCommon):
    """The read-only models over the sidecar's views and the buttons that ask it to act."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.move = cls._create_invoice()

    def test_views_are_readable_and_read_only(self):
        ids = self.insert_sample_rows(self.company, move_id=self.move.id)
        for model, row_id in ids.items():
            record = self.env[model].with_user(self.dte_user).browse(row_id)
            self.assertEqual(record.company_id, self.company, model)
            # No write access in the ACL, for managers either ...
            manager_records = self.env[model].with_user(self.dte_manager)
            for operation in ("create", "write", "unlink"):
                with self.assertRaises(AccessError, msg=f"{model} {operation}"):
                    manager_records.browse(row_id).check_access(operation)
            # ... and even past the ACL (sudo), the ORM refuses to touch the sidecar's rows.
            records = self.env[model].sudo()
            with self.assertRaisesRegex(UserError, "cannot be changed in Odoo", msg=model):
                records.create({})
            with self.assertRaisesRegex(UserError, "cannot be changed in Odoo", msg=model):
                records.browse(row_id).write({"company_id": self.company.id})
            with self.assertRaisesRegex(UserError, "cannot be changed in Odoo", msg=model):
                records.browse(row_id).unlink()
        backup = self.env["dte.backup"].browse(ids["dte.backup"])
        self.assertEqual(backup.move_id, self.move)
        self.assertEqual(backup.display_name, "DTE 33 N° 1")

    def test_failed_queue_buttons_go_through_the_sidecar(self):
        ids = self.insert_sample_rows(self.company, move_id=self.move.id)
        entry = self.env["dte.failed.queue"].browse(ids["dte.failed.queue"])
        answers = {
            "dte.failed.queue.retry_send": [{"id": entry.id, "success": True, "state": "success",
                                             "track_id": "42", "message": "sent to the SII"}],
            "dte.failed.queue.abandon": True,
            "dte.failed.queue.requeue": True,
        }
        with self.patch_sidecar(answers) as sidecar:
            action = entry.with_user(self.dte_manager).action_retry_now()
            entry.with_user(self.dte_manager).action_abandon()
            entry.with_user(self.dte_manager).action_requeue()
        calls = [(c.args, c.kwargs.get("ids")) for c in sidecar.call_args_list]
        self.assertEqual(calls, [
            (("dte.failed.queue", "retry_send"), [entry.id]),
            (("dte.failed.queue", "abandon"), [entry.id]),
            (("dte.failed.queue", "requeue"), [entry.id]),
        ])
        self.assertIn("Sent to the SII.", action["params"]["message"])
        with self.assertRaises(AccessError), self.patch_sidecar() as sidecar:
            entry.with_user(self.dte_user).action_retry_now()
        sidecar.assert_not_called()

    def test_download_xml(self):
        ids = self.insert_sample_rows(self.company, move_id=self.move.id)
        backup = self.env["dte.backup"].with_user(self.dte_user).browse(ids["dte.backup"])
        xml = b'<?xml version="1.0" encoding="ISO-8859-1"?><DTE version="1.0"/>'
        answer = {"filename": "DTE-33-1.xml", "xml_base64": base64.b64encode(xml).decode()}
        with self.patch_sidecar({"dte.backup.download_xml": answer}) as sidecar:
            action = backup.action_download_xml()
            self.assertEqual(base64.b64decode(backup.xml_file), xml)
        self.assertEqual(sidecar.call_args.kwargs["ids"], [backup.id])
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(action["url"], f"/l10n_cl_dte_sidecar/backup/{backup.id}/xml/DTE-33-1.xml")
        with self.patch_sidecar({"dte.backup.download_xml": {"filename": "x.xml", "xml_base64": "%%%"}}):
            with self.assertRaises(UserError):
                backup.action_download_xml()

    def test_dashboard(self):
        kpis = {
            "failed_queue_count": 3, "retry_success_rate": 66.7, "contingency_active": True,
            "pending_contingency_count": 2, "backup_storage_mb": 1.25,
            "documents_by_state": {"sent": 4, "accepted": 10}, "folios_left": {"33": 96, "61": 12},
        }
        with self.patch_sidecar({"dte.dashboard.get_kpis": kpis}) as sidecar:
            action = self.env["dte.dashboard"].with_user(self.dte_user).action_open()
        self.assertEqual(sidecar.call_args.kwargs["company_id"], self.company.id)
        dashboard = self.env["dte.dashboard"].browse(action["res_id"])
        self.assertEqual(dashboard.failed_queue_count, 3)
        self.assertAlmostEqual(dashboard.retry_success_rate, 66.7)
        self.assertTrue(dashboard.contingency_active)
        self.assertEqual(dashboard.pending_contingency_count, 2)
        self.assertAlmostEqual(dashboard.backup_storage_mb, 1.25)
        self.assertIn("Accepted", dashboard.documents_by_state)
        self.assertIn("96", dashboard.folios_left)
        self.assertIn("61 - Electronic Credit Note", dashboard.folios_left)

    def test_contingency_wizard(self):
        status = {"enabled": False, "reason": None, "comment": None, "enabled_date": None,
                  "enabled_by": None, "pending_count": 0}
        calls = []

        def record(name, answer):
            def _answer(**params):
                calls.append((name, params))
                return answer
            return _answer

        answers = {
            "dte.contingency.get_status": lambda **params: status,
            "dte.contingency.enable_contingency": record("enable", True),
            "dte.contingency.upload_pending_batch": record("upload", {"uploaded": 2, "failed": 0}),
            "dte.contingency.disable_contingency": record("disable", True),
        }
        with self.patch_sidecar(answers):
            action = self.env["dte.contingency.wizard"].with_user(self.dte_manager).action_open()
            wizard = self.env["dte.contingency.wizard"].with_user(self.dte_manager).browse(action["res_id"])
            self.assertFalse(wizard.enabled)
            wizard.write({"reason": "sii_unavailable", "comment": "SII caído"})
            status.update(enabled=True, reason="sii_unavailable", comment="SII caído",
                          enabled_date="2026-01-05T12:00:00Z", enabled_by=self.dte_manager.id, pending_count=2)
            wizard.action_enable()
            self.assertTrue(wizard.enabled)
            self.assertEqual(wizard.current_comment, "SII caído")
            # The comment went with the switch: the next switch gets its own.
            self.assertFalse(wizard.comment)
            self.assertEqual(wizard.enabled_by, "DTE manager")
            self.assertEqual(str(wizard.enabled_date), "2026-01-05 12:00:00")
            self.assertEqual(wizard.pending_count, 2)
            status.update(pending_count=0)
            result = wizard.action_upload_pending()
            self.assertIn("2 documents uploaded", result["params"]["message"])
            status.update(enabled=False)
            wizard.write({"comment": "SII disponible"})
            wizard.action_disable()
            self.assertFalse(wizard.enabled)
            # The sidecar still reports the comment of the period that ended: not shown.
            self.assertEqual(status["comment"], "SII caído")
            self.assertFalse(wizard.current_comment)
        self.assertEqual(calls, [
            ("enable", {"company_id": self.company.id, "reason": "sii_unavailable", "comment": "SII caído"}),
            ("upload", {"company_id": self.company.id, "batch_size": 50}),
            ("disable", {"company_id": self.company.id, "comment": "SII disponible"}),
        ])
        with self.patch_sidecar(answers):
            action = self.env["dte.contingency.wizard"].with_user(self.dte_user).action_open()
            wizard = self.env["dte.contingency.wizard"].with_user(self.dte_user).browse(action["res_id"])
            with self.assertRaises(AccessError):
                wizard.action_enable()

    def test_register_company_and_upload_secrets(self):
        with self.patch_sidecar({"dte.company.register": True}) as sidecar:
            self.company.with_user(self.dte_manager).action_dte_register()
        params = sidecar.call_args.kwargs
        self.assertEqual(sidecar.call_args.args, ("dte.company", "register"))
        self.assertEqual({k: v for k, v in params.items() if k != "context"}, {
            "company_id": self.company.id, "rut": "76000001-9", "name": self.company.name,
            "resolution_number": 0, "resolution_date": "2026-01-02",
        })
        p12 = (DATA_DIR / "signer-11111111-1.p12").read_bytes()
        caf = (DATA_DIR / "CAF-SYNTHETIC-76000001-9-T33-F1-100.xml").read_bytes()
        wizard = self.env["dte.company.upload.wizard"].with_user(self.dte_manager).create({
            "company_id": self.company.id,
            "certificate_file": base64.b64encode(p12),
            "certificate_password": "1234",
            "caf_file": base64.b64encode(caf),
            "caf_filename": "caf.xml",
        })
        answers = {"dte.company.set_certificate": True, "dte.caf.load": True}
        with self.patch_sidecar(answers) as sidecar:
            wizard.action_upload()
        cert_call, caf_call = sidecar.call_args_list
        self.assertEqual(cert_call.args, ("dte.company", "set_certificate"))
        self.assertEqual(base64.b64decode(cert_call.kwargs["pkcs12"]), p12)
        self.assertEqual(cert_call.kwargs["password"], "1234")
        self.assertEqual(caf_call.args, ("dte.caf", "load"))
        self.assertIn("<RE>76000001-9</RE>", caf_call.kwargs["caf_xml"])
        self.assertFalse(wizard.certificate_password, "the password is not kept")
        self.assertFalse(wizard.certificate_file)
        self.assertFalse(wizard.caf_file)

    def test_client_turns_errors_into_readable_messages(self):
        client = self.env["dte.sidecar.client"]
        target = "odoo.addons.l10n_cl_dte_sidecar.models.dte_sidecar_client.sidecar_rpc.call"
        url = "http://127.0.0.1:8070/json/2/x/y"
        cases = [
            (sidecar_rpc.SidecarTimeout(url, 30), UserError, "did not answer within 30"),
            (sidecar_rpc.SidecarUnreachable(url, "ConnectionError"), UserError, "Cannot reach"),
            (sidecar_rpc.SidecarRemoteError("odoo.exceptions.UserError", "Folio 7 is not in any CAF", 422),
             UserError, "Folio 7 is not in any CAF"),
            (sidecar_rpc.SidecarRemoteError("odoo.exceptions.AccessDenied", "bad key", 401),
             AccessError, "refused the API key"),
            (sidecar_rpc.SidecarProtocolError(url, 502, "Bad Gateway"), UserError, "HTTP 502"),
        ]
        logger = "odoo.addons.l10n_cl_dte_sidecar.models.dte_sidecar_client"
        for error, expected, text in cases:
            with self.subTest(error=type(error).__name__), patch(target, side_effect=error):
                # An unexpected answer is logged as a warning (expected here).
                logs = self.assertLogs(logger, level="WARNING") \
                    if isinstance(error, sidecar_rpc.SidecarProtocolError) else contextlib.nullcontext()
                with logs as captured, self.assertRaisesRegex(expected, text) as caught:
                    client._call("dte.contingency", "get_status", company_id=1)
                self.assertNotIn("test-key-not-secret", str(caught.exception))
                if captured:
                    self.assertFalse([line for line in captured.output if "test-key-not-secret" in line])

    def test_client_sends_key_url_and_context(self):
        target = "odoo.addons.l10n_cl_dte_sidecar.models.dte_sidecar_client.sidecar_rpc.call"
        with patch(target, return_value={"enabled": False}) as call:
            result = self.env["dte.sidecar.client"]._call("dte.contingency", "get_status", company_id=5)
        self.assertEqual(result, {"enabled": False})
        url, key, model, method, params = call.call_args.args
        self.assertEqual((url, key, model, method), (
            "http://127.0.0.1:8070", "test-key-not-secret", "dte.contingency", "get_status",
        ))
        self.assertEqual(params["company_id"], 5)
        self.assertEqual(params["context"]["uid"], self.env.uid)
        self.assertIsInstance(call.call_args.kwargs["timeout"], (int, float))

    def test_missing_key_is_explained(self):
        self.env["ir.config_parameter"].sudo().set_param("l10n_cl_dte_sidecar.api_key", "")
        with self.assertRaisesRegex(UserError, "API key is not set"):
            self.env["dte.sidecar.client"]._call("dte.contingency", "get_status", company_id=1)

    def test_api_key_setting_is_for_managers_only(self):
        Settings = self.env["res.config.settings"]
        self.assertIn("dte_sidecar_api_key", Settings.with_user(self.dte_manager).fields_get())
        self.assertNotIn("dte_sidecar_api_key", Settings.with_user(self.dte_user).fields_get())

    def test_alerts_become_activities_for_managers(self):
        ids = self.insert_sample_rows(self.company, move_id=self.move.id)
        alert = self.env["dte.alert"].browse(ids["dte.alert"])
        self.env["dte.alert"]._cron_sync_activities()
        Activity = self.env["mail.activity"].sudo()
        activities = Activity.search([("res_model", "=", "dte.alert"), ("res_id", "=", alert.id)])
        self.assertIn(self.dte_manager, activities.user_id)
        self.assertNotIn(self.dte_user, activities.user_id, "DTE users are not managers")
        self.assertIn("More than 10 documents", activities[:1].summary)
        # Running again does not duplicate them.
        self.env["dte.alert"]._cron_sync_activities()
        self.assertEqual(
            Activity.search_count([("res_model", "=", "dte.alert"), ("res_id", "=", alert.id)]),
            len(activities),
        )
        self.env.cr.execute("UPDATE dte_sidecar.dte_alert SET resolved_at = now() WHERE id = %s", [alert.id])
        self.env.invalidate_all()
        self.env["dte.alert"]._cron_sync_activities()
        self.assertFalse(Activity.search([("res_model", "=", "dte.alert"), ("res_id", "=", alert.id)]))
