# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Download XML over real HTTP: the bytes the sidecar keeps, with a type that says how to
read them (RFC 7303: ``text/xml; charset=utf-8`` would make a reader decode ISO-8859-1
bytes as UTF-8)."""

import base64
import hashlib

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..controllers.main import xml_content_type
from .common import DteCommon

#: A backup as the SII's documents are: ISO-8859-1, with Ñ, accents and an ampersand.
LATIN1_XML = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
    "<DTE version=\"1.0\"><Documento><Encabezado><Receptor>"
    "<RznSocRecep>ÑANDÚ &amp; CÍA. LIMITADA</RznSocRecep><CiudadRecep>ÑUÑOA</CiudadRecep>"
    "</Receptor></Encabezado></Documento></DTE>\n"
).encode("latin-1")


@tagged("post_install", "-at_install")
class TestBackupDownload(DteCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.move = cls._create_invoice()

    def setUp(self):
        super().setUp()
        self.backup_id = self.insert_sample_rows(self.company, move_id=self.move.id, folio="77")["dte.backup"]
        self.answer = {"filename": "DTE-33-77.xml", "xml_base64": base64.b64encode(LATIN1_XML).decode()}

    def download(self, url, login="dte_user"):
        self.authenticate(login, login)
        return self.url_open(url, timeout=30, allow_redirects=False)

    def test_the_button_downloads_the_bytes_as_iso_8859_1_xml(self):
        backup = self.env["dte.backup"].with_user(self.dte_user).browse(self.backup_id)
        with self.patch_sidecar({"dte.backup.download_xml": self.answer}):
            action = backup.action_download_xml()
            response = self.download(action["url"])
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(action["target"], "download")
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(response.headers["Content-Type"], "application/xml; charset=ISO-8859-1")
        self.assertNotIn("utf-8", response.headers["Content-Type"].lower())
        self.assertEqual(response.content, LATIN1_XML, "the bytes must be served unchanged")
        self.assertEqual(hashlib.sha256(response.content).hexdigest(), hashlib.sha256(LATIN1_XML).hexdigest())
        self.assertEqual(response.headers["Content-Disposition"], "attachment; filename*=UTF-8''DTE-33-77.xml")
        self.assertEqual(response.headers["X-Content-Type-Options"], "nosniff")
        # A reader that follows the type gets the accented letters back.
        self.assertIn("ÑANDÚ &amp; CÍA.", response.content.decode(response.encoding))

    def test_no_access_no_bytes(self):
        other = self.setup_other_company()["company"]
        outsider = new_test_user(
            self.env, login="dte_outsider", group_ids=(self.group_user | self.env.ref("base.group_user")).ids,
            company_id=other.id, company_ids=other.ids,
        )
        self.assertFalse(self.env["dte.backup"].with_user(outsider).search([("id", "=", self.backup_id)]))
        # odoo.http logs the refusals (403, 404) as warnings.
        with self.patch_sidecar({"dte.backup.download_xml": self.answer}) as sidecar, mute_logger("odoo.http"):
            forbidden = self.download(f"/l10n_cl_dte_sidecar/backup/{self.backup_id}/xml", login="dte_outsider")
            missing = self.download("/l10n_cl_dte_sidecar/backup/987654321/xml")
        sidecar.assert_not_called()
        self.assertEqual(forbidden.status_code, 403)
        self.assertNotIn(b"RznSocRecep", forbidden.content)
        self.assertEqual(missing.status_code, 404)
        self.authenticate(None, None)
        anonymous = self.url_open(f"/l10n_cl_dte_sidecar/backup/{self.backup_id}/xml", timeout=30,
                                  allow_redirects=False)
        self.assertIn(anonymous.status_code, (302, 303), "an anonymous visitor is sent to the login page")

    def test_the_type_follows_the_xml_declaration(self):
        self.assertEqual(xml_content_type(LATIN1_XML), "application/xml; charset=ISO-8859-1")
        self.assertEqual(xml_content_type(b"<?xml version='1.0' encoding='UTF-8'?><a/>"),
                         "application/xml; charset=UTF-8")
        self.assertEqual(xml_content_type(b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><a/>'),
                         "application/xml; charset=utf-8")
        self.assertEqual(xml_content_type(b'<?xml version="1.0"?><a/>'), "application/xml")
        self.assertEqual(xml_content_type(b"<a/>"), "application/xml")
