# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The specification's TESTING GUIDE, as written, against the real sidecar and its SII
simulator (real HTTP, no mock of the sidecar).

The arrangements run as the web client would, each step committed (the sidecar must see
the invoice); the specification's calls and assertions run in the test's own
transaction, ``self.env``, whose snapshot predates what the sidecar commits: what they
read there is what the API makes visible to its caller (docs/decisions/010).
"""

import base64
import contextlib

from odoo.tests import TransactionCase, tagged

from .common import DteLiveCommon

SENT = ("sent", "accepted", "accepted_with_objections")


class SpecApiCommon(DteLiveCommon):
    """What the specification's tests take for granted."""

    def create_test_invoice(self):
        """An invoice whose DTE the sidecar stamped and signed, sent while the SII was down:
        its signed XML (ISO-8859-1 text, as the specification passes it) is in
        ``self.signed_xml``, its type and folio in ``self.dte_type`` and ``self.folio``.
        The sidecar keeps it in its retry queue, with no backup yet."""
        move_id = self.failed_invoice()
        with self.step() as env:
            env.cr.execute(
                "SELECT dte_type, folio, xml_content FROM dte_sidecar.dte_document WHERE move_id = %s", [move_id],
            )
            self.dte_type, folio, xml = env.cr.fetchone()
            self.assertFalse(env["dte.backup"].search_count([("move_id", "=", move_id)]))
        self.folio = str(folio)
        self.signed_xml = bytes(xml).decode("iso-8859-1")
        self.addCleanup(self._send_what_is_left, move_id)
        return self.env["account.move"].browse(move_id)

    def _send_what_is_left(self, move_id):
        """After the test, the invoice's entry still waiting is sent (the SII is well): no
        entry is left behind, and the sidecar's count of consecutive failed sends (three
        put a company in contingency) starts again."""
        with self.step(self.live_manager_uid) as env:
            entry = env["dte.failed.queue"].search([("move_id", "=", move_id), ("state", "=", "pending")])
            if entry:
                entry.retry_send()

    @contextlib.contextmanager
    def mock_sii_success(self):
        """The SII answers well: the simulator with no fault (the real SII's stand-in over
        real HTTP, not a mock)."""
        self.sim_fault(None)
        yield


@tagged("post_install", "-at_install", "dte_live")
class TestSpecDteBackup(SpecApiCommon, TransactionCase):
    def test_backup_dte_success(self):
        """Test backup automático de DTE exitoso

        As the specification's Test 1, except its XML: ``<DTE>...</DTE>`` is not a document
        the SII would take, and the sidecar checks that the XML is a DTE of the type and
        folio given; a real signed DTE stands in for it, with its own folio in place of
        '12345'.
        """
        # Arrange
        move = self.create_test_invoice()
        xml_content = self.signed_xml

        # Act
        backup = self.env['dte.backup'].backup_dte(
            dte_type='33',
            folio=self.folio,
            xml_content=xml_content,
            track_id='ABC123',
            move_id=move.id
        )

        # Assert
        self.assertTrue(backup.exists())
        self.assertEqual(backup.dte_type, '33')
        self.assertEqual(backup.folio, self.folio)

        # Verify ir.attachment created
        attachment = self.env['ir.attachment'].search([
            ('res_model', '=', 'dte.backup'),
            ('res_id', '=', backup.id)
        ])
        self.assertTrue(attachment.exists())

        # Beyond the specification: the attachment holds the exact bytes (ISO-8859-1, as
        # signed), says XML without claiming a charset, and the backup is the invoice's.
        self.assertEqual(len(attachment), 1)
        self.assertEqual(attachment.raw, xml_content.encode("iso-8859-1"))
        self.assertEqual(attachment.mimetype, "application/xml")
        self.assertEqual(base64.b64decode(backup.xml_file), attachment.raw)
        self.assertEqual(backup.track_id, 'ABC123')
        self.assertEqual(backup.move_id.id, move.id)
        self.assertEqual(backup.company_id, self.env.company)
        self.assertEqual(self.env['dte.backup'].search([('move_id', '=', move.id)]), backup)
        # Calling it again changes nothing: one backup per document, one attachment.
        self.assertEqual(self.env['dte.backup'].backup_dte(
            dte_type='33', folio=self.folio, xml_content=xml_content, track_id='ABC123', move_id=move.id,
        ), backup)
        self.assertEqual(self.env['ir.attachment'].search_count([
            ('res_model', '=', 'dte.backup'), ('res_id', '=', backup.id),
        ]), 1)


@tagged("post_install", "-at_install", "dte_live")
class TestSpecDteFailedQueue(SpecApiCommon, TransactionCase):
    def test_retry_send_success(self):
        """Test reintento exitoso de DTE fallido

        As the specification's Test 2, except its XML (``<DTE>...</DTE>`` can never be
        sent: a real signed DTE stands in for it, with its own folio in place of '12345'),
        and ``mock_sii_success()``, which here is the SII simulator answering well over
        real HTTP.
        """
        # Arrange
        move = self.create_test_invoice()
        failed_dte = self.env['dte.failed.queue'].add_failed_dte(
            dte_type='33',
            folio=self.folio,
            xml_content=self.signed_xml,
            error_type='timeout',
            error_message='SII timeout',
            move_id=move.id
        )
        self.assertTrue(failed_dte.exists())
        self.assertEqual(failed_dte.state, 'pending')

        # Act
        with self.mock_sii_success():
            result = failed_dte.retry_send()

        # Assert
        self.assertTrue(result)
        self.assertEqual(failed_dte.state, 'success')
        self.assertIsNotNone(failed_dte.success_track_id)
        self.assertTrue(failed_dte.success_track_id)

        # Verify backup created
        backup = self.env['dte.backup'].search([
            ('folio', '=', self.folio)
        ])
        self.assertTrue(backup.exists())
        # Beyond the specification: the backup is the retried document's, with the SII's
        # track id, and its XML is attached.
        self.assertEqual(backup.track_id, failed_dte.success_track_id)
        self.assertTrue(self.env['ir.attachment'].search_count([
            ('res_model', '=', 'dte.backup'), ('res_id', '=', backup.id),
        ]))
        with self.step() as env:
            self.assertIn(env["account.move"].browse(move.id).dte_state, SENT)


@tagged("post_install", "-at_install", "dte_live")
class TestSpecDteContingency(SpecApiCommon, TransactionCase):
    def test_contingency_hold_and_upload(self):
        """Contingency through the API of flow 3: get_status, enable_contingency, a send is
        held, disable_contingency, upload_pending_batch, sent.

        The reason is 'manual' rather than the flow's 'sii_unavailable': with that reason
        the sidecar leaves contingency on its own as soon as the SII answers (and the SII
        simulator answers), which would race this test.
        """
        contingency = self.env['dte.contingency']
        company = self.env.company
        status = contingency.get_status(company_id=company.id)
        self.assertFalse(status.get('enabled'))

        status = contingency.enable_contingency(reason='manual', comment='Prueba de contingencia')
        try:
            self.assertTrue(status.get('enabled'))
            self.assertTrue(contingency.search([('company_id', '=', company.id)]).enabled)
            # A send is held: stamped, signed and kept, not sent.
            move_id = self.live_invoice()
            action = self.send(move_id)
            self.assertEqual(action["params"]["type"], "warning", action["params"]["message"])
            with self.step() as env:
                self.assertEqual(env["account.move"].browse(move_id).dte_state, "contingency")
                self.assertFalse(env["dte.backup"].search([("move_id", "=", move_id)]))
            self.assertGreaterEqual(contingency.get_status()['pending_count'], 1)
        finally:
            status = contingency.disable_contingency()
        self.assertFalse(status.get('enabled'))
        self.assertFalse(contingency.search([('company_id', '=', company.id)]).enabled)
        # Disabling uploads nothing by itself: the held documents wait for the upload.
        with self.step() as env:
            held = env['dte.contingency.pending'].search([('move_id', '=', move_id)])
            self.assertEqual(len(held), 1)
            self.assertFalse(held.uploaded)

        report = contingency.upload_pending_batch(batch_size=50)
        self.assertGreaterEqual(report['uploaded'], 1)
        self.assertEqual(report['remaining'], 0)
        pending = self.env['dte.contingency.pending'].search([('move_id', '=', move_id)])
        self.assertEqual(len(pending), 1)
        self.assertTrue(pending.uploaded)
        self.assertTrue(pending.track_id)
        backup = self.env['dte.backup'].search([('move_id', '=', move_id)])
        self.assertEqual(len(backup), 1)
        self.assertEqual(backup.track_id, pending.track_id)
        self.assertTrue(self.env['ir.attachment'].search_count([
            ('res_model', '=', 'dte.backup'), ('res_id', '=', backup.id),
        ]))
        with self.step() as env:
            self.assertIn(env["account.move"].browse(move_id).dte_state, SENT)


@tagged("post_install", "-at_install", "dte_live")
class TestAttachBackupXml(DteLiveCommon, TransactionCase):
    """The backups the sidecar makes on its own get their XML attached by "DTE: Attach
    backup XML", within a minute, at most a batch a run."""

    def test_a_sent_invoice_gets_its_backup_xml_attached(self):
        move_id = self.live_invoice()
        self.send(move_id)
        with self.step() as env:
            self.assertIn(env["account.move"].browse(move_id).dte_state, SENT)
            backup = env["dte.backup"].search([("move_id", "=", move_id)])
            self.assertEqual(len(backup), 1)
            backup_id = backup.id
            self.assertFalse(env["ir.attachment"].search(
                [("res_model", "=", "dte.backup"), ("res_id", "=", backup_id)]
            ))
        with self.step() as env:
            # Every backup still missing its attachment is done, 100 a run.
            while env["dte.backup"]._cron_attach_xml():
                pass
            watermark = int(env["ir.config_parameter"].sudo().get_param("l10n_cl_dte_sidecar.attach_watermark"))
        # The backup is minutes old at most: the watermark stays below it, so a backup with a
        # lower id committed later is still found.
        self.assertLess(watermark, backup_id)
        with self.step(self.live_accountant_uid) as env:
            attachment = env["ir.attachment"].search([("res_model", "=", "dte.backup"), ("res_id", "=", backup_id)])
            self.assertEqual(len(attachment), 1)
            self.assertEqual(attachment.mimetype, "application/xml")
            xml = attachment.raw
            self.assertTrue(xml.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>'), xml[:60])
            self.assertIn(b"<TipoDTE>33</TipoDTE>", xml)
            # On the invoice, in its SII (DTE) tab.
            self.assertEqual(env["account.move"].browse(move_id).dte_backup_attachment_ids, attachment)
        with self.step() as env:
            self.assertEqual(env["dte.backup"]._cron_attach_xml(), 0, "attached once")
