# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The printed DTE, end to end: invoices sent through a real sidecar, printed over real HTTP
by a logged-in accountant (``/report/pdf/...``, wkhtmltopdf), the PDF rasterised with
``pdftoppm -r 300`` and the barcode read back by an independent decoder (zxing-cpp). The
bytes must be the TED the sidecar stored, its FRMT must verify with the CAF key
(``openssl``), and the symbol must have the SII's sizes."""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.http import get_default_session
from odoo.http import root as http_root
from odoo.service import security
from odoo.sql_db import db_connect
from odoo.tests import HttpCase, tagged
from odoo.tests.common import HOST, Opener, get_db_name

from odoo.addons.base.models import ir_actions_report

from .common import CUSTOMER_LANG, DteLiveCommon, customer_values

try:
    import zxingcpp
    from PIL import Image
except ImportError:  # pragma: no cover - the test script installs them
    zxingcpp = None

DPI = 300
MIN_MODULE_MILS = 6.7
MIN_QUIET_ZONE_IN = 0.25
MAX_WIDTH_CM, MAX_HEIGHT_CM = 9.0, 3.0
#: The first ink on the first page (the logo or the SII box) lies within this much of the
#: top of the paper: no blank band where a header would be.
MAX_TOP_BLANK_MM = 20
#: Image encodings that lose detail: the bars' edges must stay sharp.
LOSSY_ENCODINGS = ("jpeg", "jpx")
#: The types as the SII names them, in the box, whatever the customer's language.
SII_TYPE_NAMES = {
    "33": "FACTURA ELECTRÓNICA",
    "34": "FACTURA NO AFECTA O EXENTA ELECTRÓNICA",
    "52": "GUÍA DE DESPACHO ELECTRÓNICA",
    "56": "NOTA DE DÉBITO ELECTRÓNICA",
    "61": "NOTA DE CRÉDITO ELECTRÓNICA",
}
#: A long invoice: more lines than a page holds (the SII allows 60).
LONG_INVOICE_LINES = 60
#: A customer with the characters that TEDs get wrong: Ñ, & and accents.
SPECIAL_NAME = "ÑANDÚ & CÍA. LIMITADA"
SPECIAL_ITEM = "Café & té de Ñuñoa"
SPECIAL_RUT = "96790240-3"
#: wkhtmltopdf as Odoo runs it outside tests (HttpCase wraps it for its test cursor and
#: test lock, which this class does not use).
RUN_WKHTMLTOPDF = ir_actions_report._run_wkhtmltopdf
#: Where the rendered pages are kept for a person to look at.
ARTIFACTS = Path(os.environ.get("DTE_PRINT_ARTIFACTS", Path(tempfile.gettempdir()) / "dte-print"))


def stored_ted(xml):
    """The TED cut from the stored document by hand: ``<TED …</TED>``, ``>\\s+<`` → ``><``."""
    match = re.search(rb"<TED[ >].*?</TED>", xml, re.S)
    return re.sub(rb">\s+<", b"><", match.group(0))


def openssl_verifies_frmt(ted, workdir):
    """FRMT over DD, checked by ``openssl dgst -sha1 -verify`` with the CAF's public key
    (RSAPK of the CAF inside the TED)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers

    modulus = int.from_bytes(base64.b64decode(re.search(rb"<M>(.*?)</M>", ted).group(1)), "big")
    exponent = int.from_bytes(base64.b64decode(re.search(rb"<E>(.*?)</E>", ted).group(1)), "big")
    pem = RSAPublicNumbers(exponent, modulus).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    workdir = Path(workdir)
    (workdir / "caf.pub").write_bytes(pem)
    (workdir / "dd.bin").write_bytes(re.search(rb"<DD>.*</DD>", ted, re.S).group(0))
    frmt = re.search(rb"<FRMT[^>]*>(.*?)</FRMT>", ted, re.S).group(1)
    (workdir / "frmt.sig").write_bytes(base64.b64decode(frmt))
    result = subprocess.run(
        ["openssl", "dgst", "-sha1", "-verify", str(workdir / "caf.pub"), "-signature",
         str(workdir / "frmt.sig"), str(workdir / "dd.bin")],
        capture_output=True, text=True, check=False,
    )
    return result.returncode == 0 and "Verified OK" in result.stdout


def decode_pdf417(image):
    """Every PDF417 zxing-cpp finds in ``image`` (a PIL image)."""
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.PDF417)


def measure(image, barcode):
    """Sizes of the symbol ``barcode`` found in ``image`` (300 dpi): module width from the
    start pattern's 8-module bar, ink extent, and the white margin around it."""
    gray = image.convert("L")
    width, height = gray.size
    pixels = gray.load()
    dark = lambda x, y: pixels[x, y] < 128  # noqa: E731
    points = [barcode.position.top_left, barcode.position.top_right,
              barcode.position.bottom_left, barcode.position.bottom_right]
    x0, x1 = min(p.x for p in points) - 10, max(p.x for p in points) + 10
    y0, y1 = min(p.y for p in points) - 10, max(p.y for p in points) + 10
    xs, ys = [], []
    for y in range(max(y0, 0), min(y1, height)):
        for x in range(max(x0, 0), min(x1, width)):
            if dark(x, y):
                xs.append(x)
                ys.append(y)
    left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
    # The start pattern begins with a bar of 8 modules, on every row.
    starts = []
    for y in range(top + 2, bottom - 1, 3):
        run = 0
        while dark(left + run, y):
            run += 1
        starts.append(run)
    starts.sort()
    module_px = starts[len(starts) // 2] / 8.0
    # White around the symbol: the distance to the nearest ink outside it, per side.
    limit = int(0.5 * DPI)

    def clear(dx, dy):
        for step in range(1, limit):
            if dx:
                x = left - step if dx < 0 else right + step
                if not 0 <= x < width or any(dark(x, y) for y in range(top, bottom + 1)):
                    return step - 1
            else:
                y = top - step if dy < 0 else bottom + step
                if not 0 <= y < height or any(dark(x, y) for x in range(left, right + 1)):
                    return step - 1
        return limit

    quiet = min(clear(-1, 0), clear(1, 0), clear(0, -1), clear(0, 1))
    return {
        "module_mils": module_px / DPI * 1000,
        "width_cm": (right - left + 1) / DPI * 2.54,
        "height_cm": (bottom - top + 1) / DPI * 2.54,
        "quiet_zone_in": quiet / DPI,
    }


class PrintedDteChecks:
    """What the printed-DTE tests check on a PDF an accountant got; mixed into live
    ``HttpCase`` classes (this one and the print tour)."""

    def stored(self, move_id):
        """The signed XML the sidecar stored for the move, straight from its table."""
        with self.step() as env:
            env.cr.execute("SELECT xml_content FROM dte_sidecar.dte_document WHERE move_id = %s", [move_id])
            rows = env.cr.fetchall()
        self.assertEqual(len(rows), 1, f"move {move_id} has no stored DTE")
        return bytes(rows[0][0])

    def rasterise(self, pdf, name):
        """Every page of ``pdf`` at 300 dpi, as PIL images (kept under ARTIFACTS)."""
        with tempfile.TemporaryDirectory() as workdir:
            (Path(workdir) / "doc.pdf").write_bytes(pdf)
            subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "doc.pdf", "page"], cwd=workdir, check=True)
            pages = []
            for page in sorted(Path(workdir).glob("page*.png")):
                kept = ARTIFACTS / f"{name}-{page.name}"
                shutil.copyfile(page, kept)
                pages.append(Image.open(kept))
            (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
        return pages

    def pdf_text(self, pdf):
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "doc.pdf"
            path.write_bytes(pdf)
            return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                                  check=True).stdout

    def pdf_fonts(self, pdf):
        """The names of the fonts the PDF embeds (``pdffonts``), subset prefixes cut."""
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "doc.pdf"
            path.write_bytes(pdf)
            listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
        return {line.split()[0].split("+")[-1] for line in listing.splitlines()[2:] if line.strip()}

    def pdf_images(self, pdf):
        """The images the PDF embeds (``pdfimages -list``): dicts of page, type, width,
        height and enc (the encoding: jpeg, image, jbig2…)."""
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "doc.pdf"
            path.write_bytes(pdf)
            listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True,
                                     check=True).stdout
        images = []
        for line in listing.splitlines()[2:]:
            cols = line.split()
            if len(cols) >= 9:
                images.append({"page": int(cols[0]), "type": cols[2], "width": int(cols[3]),
                               "height": int(cols[4]), "enc": cols[8]})
        return images

    def check_barcode_is_vector(self, pdf, move_id, name):
        """The barcode is drawn as vector paths: no image of the symbol's proportions is in
        the PDF (a bitmap would be JPEG-compressed by wkhtmltopdf, greying the bars' edges),
        and no image of them is lossy."""
        with self.step() as env:
            barcode = env["dte.sidecar.client"]._call("dte.document", "get_ted_barcode", move_id=move_id,
                                                      image_format="svg")
        ratio = barcode["image_width_mm"] / barcode["image_height_mm"]
        images = self.pdf_images(pdf)
        symbols = [image for image in images if image["type"] == "image" and image["height"]
                   and abs(image["width"] / image["height"] - ratio) < 0.03 * ratio]
        self.assertFalse([image for image in symbols if image["enc"] in LOSSY_ENCODINGS],
                         f"{name}: the barcode is a lossy image: {images}")
        self.assertFalse(symbols, f"{name}: the barcode is a bitmap, not vector paths: {images}")
        return images

    def check_no_blank_band_on_top(self, page, name):
        """The first dark pixel of the page (300 dpi) is near the top of the paper."""
        gray = page.convert("L")
        width, height = gray.size
        pixels = gray.load()
        top = next((y for y in range(height) if any(pixels[x, y] < 128 for x in range(0, width, 2))), height)
        top_mm = top / DPI * 25.4
        self.assertLess(top_mm, MAX_TOP_BLANK_MM, f"{name}: {top_mm:.1f} mm of blank paper above the first line")
        return top_mm

    def check_printed_ted(self, pdf, move_id, name):
        """The PDF's one barcode must be the stored TED, verified and of the SII's sizes.
        Returns the PDF's text, the measures, the TED and the pages (the index of the one
        with the barcode last)."""
        pages = self.rasterise(pdf, name)
        found = [(index, code) for index, page in enumerate(pages) for code in decode_pdf417(page)]
        self.assertEqual(len(found), 1, f"{name}: expected one PDF417 in the PDF, found {len(found)}")
        index, code = found[0]
        ted = stored_ted(self.stored(move_id))
        self.assertEqual(code.bytes, ted, f"{name}: the barcode is not the stored TED")
        with tempfile.TemporaryDirectory() as workdir:
            self.assertTrue(openssl_verifies_frmt(code.bytes, workdir), f"{name}: FRMT does not verify")
        fonts = self.pdf_fonts(pdf)
        self.assertTrue(any(font.startswith(("LiberationSans", "Arial")) for font in fonts), f"{name}: {fonts}")
        self.assertFalse([font for font in fonts if "Serif" in font], f"{name}: a serif font stands in for Arial")
        self.check_barcode_is_vector(pdf, move_id, name)
        self.check_no_blank_band_on_top(pages[0], name)
        sizes = measure(pages[index], code)
        self.assertGreaterEqual(sizes["module_mils"], MIN_MODULE_MILS, f"{name}: {sizes}")
        self.assertGreaterEqual(sizes["quiet_zone_in"], MIN_QUIET_ZONE_IN, f"{name}: {sizes}")
        self.assertLessEqual(sizes["width_cm"], MAX_WIDTH_CM, f"{name}: {sizes}")
        self.assertLessEqual(sizes["height_cm"], MAX_HEIGHT_CM, f"{name}: {sizes}")
        self._logger.info("printed %s: %d bytes of TED, %s", name, len(ted), {k: round(v, 3) for k, v in sizes.items()})
        return self.pdf_text(pdf), sizes, ted, pages, index

    def check_sii_box(self, text, move_id, code):
        """The box at the top right (RUT, the type's Spanish name, N° folio, SII office) and
        the legend under the stamp, in the PDF's text."""
        with self.step() as env:
            move = env["account.move"].browse(move_id)
            folio, lang = move.dte_folio, move.partner_id.lang
            english_name = move.l10n_latam_document_type_id.with_context(lang="en_US").name
        self.assertEqual(lang, CUSTOMER_LANG, "the test customer reads Spanish")
        flat = " ".join(text.split())
        self.assertIn("RUT: 76.000.001-9", flat)
        self.assertIn(SII_TYPE_NAMES[code], flat)
        self.assertNotIn(english_name.upper(), flat.upper())
        self.assertRegex(flat, rf"Nº: {folio}\b")
        self.assertIn("S.I.I. - SANTIAGO CENTRO", flat)
        self.assertIn("Timbre Electrónico SII", flat)
        self.assertIn("Res. N° 0 de 2026", flat)
        self.assertIn("Verifique documento: www.sii.cl", flat)
        return flat, folio


@tagged("post_install", "-at_install", "dte_live")
class TestPrintedDte(PrintedDteChecks, DteLiveCommon, HttpCase):
    """An accountant prints sent and contingency invoices of every type."""

    # The reports are rendered with the server's own cursors, which see what the sidecar and
    # the steps commit (the test cursor would not); see setUpClass.
    registry_test_mode = False

    @classmethod
    def setUpClass(cls):
        # HttpCase writes web.base.url in the class's transaction, and that row lock would
        # hold every request of the server's own cursors: commit the same value first, so
        # that its write has nothing to change. wkhtmltopdf fetches the assets from there.
        with db_connect(get_db_name()).cursor() as cr:
            icp = api.Environment(cr, SUPERUSER_ID, {})["ir.config_parameter"]
            icp.set_param("web.base.url", cls.base_url())
            icp.set_param("report.url", cls.base_url())
            cr.commit()  # pylint: disable=invalid-commit  # other cursors must see it
        super().setUpClass()
        # The server may serve requests while the tests hold the registry (as in test mode),
        # but with cursors of its own.
        for patcher in cls._registry_test_mode_patches(cr=cls.cr, registry=cls.registry)[1:]:
            patcher.start()
            cls.addClassCleanup(patcher.stop)
        if zxingcpp is None:
            raise AssertionError("zxing-cpp and Pillow are needed (scripts/test-odoo.sh installs them)")
        for tool in ("pdftoppm", "pdftotext", "pdffonts", "pdfimages", "openssl", "wkhtmltopdf"):
            if not shutil.which(tool):
                raise AssertionError(f"{tool} is not installed")
        with cls.step() as env:
            company = env["res.company"].browse(cls.live_company_id)
            company.dte_sii_office = "Santiago Centro"
            partner = env["res.partner"].search([("vat", "=", SPECIAL_RUT)], limit=1)
            if not partner:
                partner = env["res.partner"].create({**customer_values(env, SPECIAL_NAME), "vat": SPECIAL_RUT})
            cls.special_partner_id = partner.id
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def setUp(self):
        super().setUp()
        self.startPatcher(patch.object(ir_actions_report, "_run_wkhtmltopdf", RUN_WKHTMLTOPDF))

    # Helpers ----------------------------------------------------------------------------

    def login(self, uid):
        """A browser session of user ``uid``, made as ``authenticate`` does but from a
        committed cursor (this class's test cursor does not see the live users)."""
        with self.step() as env:
            user = env["res.users"].browse(uid)
            session = http_root.session_store.new()
            session.update(get_default_session(), db=env.cr.dbname)
            session.uid = uid
            session.login = user.login
            user_env = env(user=uid)
            session.session_token = security.compute_session_token(session, user_env)
            session.context = dict(user_env["res.users"].context_get())
            http_root.session_store.save(session)
        self.session = session
        self.opener = Opener(self)
        self.opener.cookies.set("session_id", session.sid, domain=HOST)

    def make_move(self, doc_xmlid, lines, partner_id=None, move_type="out_invoice", **extra):
        """A posted move of the given l10n_cl document type, made by the accountant."""
        with self.step(self.live_accountant_uid) as env:
            company = env["res.company"].browse(self.live_company_id)
            tax = env["account.tax"].search([
                ("company_id", "=", company.id), ("type_tax_use", "=", "sale"),
                ("l10n_cl_sii_code", "=", 14), ("amount", "=", 19),
            ], limit=1)
            journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "sale")], limit=1)
            move = env["account.move"].with_company(company).create({
                "move_type": move_type,
                "partner_id": partner_id or self.live_partner_id,
                "invoice_date": fields.Date.context_today(env["account.move"]),
                "journal_id": journal.id,
                "l10n_latam_document_type_id": env.ref(doc_xmlid).id,
                "invoice_line_ids": [Command.create({
                    "name": name, "quantity": quantity, "price_unit": price,
                    "tax_ids": [Command.set(tax.ids if taxed else [])],
                }) for name, quantity, price, taxed in lines],
                **extra,
            })
            move.action_post()
            return move.id

    def sent_move(self, doc_xmlid, lines=None, **kwargs):
        move_id = self.make_move(doc_xmlid, lines or [("Servicio de prueba", 2, 5000.0, True)], **kwargs)
        action = self.send(move_id)
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        return move_id

    def print_pdf(self, move_id, report="account.report_invoice_with_payments"):
        """The PDF as the web client's Print gets it: POST /report/download with the page's
        CSRF token. Under --test-enable Odoo renders HTML unless asked for the real PDF."""
        page = self.url_open("/odoo", timeout=60)
        token = re.search(r'csrf_token: "([^"]+)"', page.text)
        self.assertTrue(token, "no CSRF token in the web client page: not logged in?")
        response = self.url_open("/report/download", data={
            "data": json.dumps([f"/report/pdf/{report}/{move_id}", "qweb-pdf"]),
            "context": json.dumps({"force_report_rendering": True}),
            "csrf_token": token.group(1),
        }, timeout=120)
        self.assertEqual(response.status_code, 200, response.text[:500])
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        return response.content

    def assert_printed_ted(self, move_id, name, report="account.report_invoice_with_payments"):
        """Print the move as the accountant and check its stamp (:meth:`check_printed_ted`)."""
        text, sizes, ted, _pages, _index = self.check_printed_ted(self.print_pdf(move_id, report), move_id, name)
        return text, sizes, ted

    def sidecar_png(self, move_id):
        with self.step() as env:
            barcode = env["dte.sidecar.client"]._call("dte.document", "get_ted_barcode", move_id=move_id)
        return barcode, base64.b64decode(barcode["image_base64"])

    # Tests --------------------------------------------------------------------------------

    def test_every_type_prints_its_ted_with_the_sii_legend_and_box(self):
        invoice = self.sent_move("l10n_cl.dc_a_f_dte")
        moves = {
            "33": invoice,
            "34": self.sent_move("l10n_cl.dc_y_f_dte", [("Asesoría exenta", 1, 30000.0, False)]),
            "52": self.sent_move("l10n_cl.dc_gd_dte", dte_dispatch_type="1"),
            "56": self.sent_move("l10n_cl.dc_nd_f_dte", [("Intereses por mora", 1, 1000.0, True)],
                                 reversed_entry_id=invoice),
        }
        with self.step(self.live_accountant_uid) as env:
            reversal = env["account.move.reversal"].with_context(
                active_model="account.move", active_ids=[invoice],
            ).create({
                "reason": "Anula factura",
                "journal_id": env["account.move"].browse(invoice).journal_id.id,
                "l10n_latam_document_type_id": env.ref("l10n_cl.dc_nc_f_dte").id,
            })
            credit_note = env["account.move"].browse(reversal.refund_moves()["res_id"])
            credit_note.action_post()
            moves["61"] = credit_note.id
        action = self.send(moves["61"])
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])

        self.login(self.live_accountant_uid)
        for code, move_id in moves.items():
            with self.subTest(dte_type=code):
                text, _sizes, ted = self.assert_printed_ted(move_id, f"dte-{code}")
                self.assertIn(f"<TD>{code}</TD>".encode(), ted)
                # The box at the top right, and the legend under the stamp.
                flat, folio = self.check_sii_box(text, move_id, code)
                self.assertIn(f"<F>{folio}</F>".encode(), ted)
                self.assertNotIn("CEDIBLE", flat, "the original is not the cedible copy")
                # The sidecar's own PNG decodes to the same bytes.
                barcode, png = self.sidecar_png(move_id)
                png_path = ARTIFACTS / f"dte-{code}-sidecar.png"
                png_path.write_bytes(png)
                image = Image.open(png_path)
                self.assertGreaterEqual(image.info["dpi"][0], 299.9)
                decoded = decode_pdf417(image)
                self.assertEqual([d.bytes for d in decoded], [ted])

        # The cedible copies: 33, 34 and the dispatch guide's transport copy.
        for code, legend in (("33", "CEDIBLE"), ("34", "CEDIBLE"), ("52", "CEDIBLE CON SU FACTURA"), ("61", None)):
            with self.subTest(cedible=code):
                text, _sizes, _ted = self.assert_printed_ted(
                    moves[code], f"dte-{code}-cedible", "l10n_cl_dte_sidecar.report_invoice_cedible",
                )
                flat = " ".join(text.split())
                if legend:
                    self.assertIn(legend, flat)
                    self.assertIn("acuse de recibo", flat)
                    self.assertIn("Recinto:", flat)
                else:
                    self.assertNotIn("CEDIBLE", flat)

    def test_the_ted_with_n_tilde_ampersand_and_accents_reads_back_exactly(self):
        move_id = self.sent_move(
            "l10n_cl.dc_a_f_dte", [(SPECIAL_ITEM, 1, 12000.0, True)], partner_id=self.special_partner_id,
        )
        self.login(self.live_accountant_uid)
        _text, _sizes, ted = self.assert_printed_ted(move_id, "dte-33-special")
        self.assertIn(f"<RSR>{SPECIAL_NAME.replace('&', '&amp;')}</RSR>".encode("latin-1"), ted)
        self.assertIn(f"<IT1>{SPECIAL_ITEM.replace('&', '&amp;')}</IT1>".encode("latin-1"), ted)

    def test_download_xml_serves_the_stored_bytes_as_iso_8859_1(self):
        """Download XML, as the accountant's browser gets it: the signed XML byte for byte
        as the sidecar stored it, typed so that a reader decodes it as its declaration says
        (``text/xml; charset=utf-8`` would turn Ñ and accents into garbage)."""
        move_id = self.sent_move(
            "l10n_cl.dc_a_f_dte", [(SPECIAL_ITEM, 1, 12000.0, True)], partner_id=self.special_partner_id,
        )
        with self.step(self.live_accountant_uid) as env:
            backup = env["dte.backup"].search([("move_id", "=", move_id)])
            self.assertEqual(len(backup), 1)
            action = backup.action_download_xml()
            env.cr.execute("SELECT xml_content FROM dte_sidecar.dte_backup WHERE id = %s", [backup.id])
            stored = bytes(env.cr.fetchone()[0])
        self.assertTrue(stored.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>'), stored[:60])
        self.login(self.live_accountant_uid)
        response = self.url_open(action["url"], timeout=60, allow_redirects=False)
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(response.headers["Content-Type"], "application/xml; charset=ISO-8859-1")
        self.assertTrue(response.headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''DTE"))
        self.assertEqual(response.content, stored)
        self.assertIn(f"<RznSocRecep>{SPECIAL_NAME.replace('&', '&amp;')}</RznSocRecep>",
                      response.content.decode(response.encoding))

    def test_a_long_invoice_prints_its_box_first_and_its_stamp_once_after_the_totals(self):
        """Sixty lines (the most a DTE holds) fill more than a page: the SII box heads the
        first page, and the stamp prints once, whole, below the totals on the last page."""
        lines = [(f"Artículo número {n:02d}", 1, 1000.0 + n, True) for n in range(1, LONG_INVOICE_LINES + 1)]
        move_id = self.sent_move("l10n_cl.dc_a_f_dte", lines)
        self.login(self.live_accountant_uid)
        pdf = self.print_pdf(move_id)
        text, _sizes, _ted, pages, index = self.check_printed_ted(pdf, move_id, "dte-33-long")
        self.assertGreater(len(pages), 1, "sixty lines should not fit on one page")
        self.assertEqual(index, len(pages) - 1, "the stamp is on the last page")
        self.check_sii_box(text, move_id, "33")
        page_texts = [" ".join(page.split()) for page in text.split("\f")[:len(pages)]]
        self.assertEqual(len(page_texts), len(pages))
        for number, page_text in enumerate(page_texts):
            with self.subTest(page=number + 1):
                box = "RUT: 76.000.001-9" in page_text and "FACTURA ELECTRÓNICA" in page_text
                self.assertEqual(box, number == 0, "the SII box heads the first page only")
                self.assertEqual("Timbre Electrónico SII" in page_text, number == index)
        # Odoo's own text is in Lato, which wkhtmltopdf embeds without a text layer: where
        # the lines and totals fall is seen on the page images (kept under ARTIFACTS).

    def test_the_printed_giros_are_the_ones_the_dte_carries(self):
        """The issuer's and the customer's giro (GiroEmis, GiroRecep) are printed, not
        Odoo's industry, which Chilean partners rarely have. Odoo's own text is in Lato,
        without a text layer in the PDF: the report's HTML is read instead."""
        move_id = self.sent_move("l10n_cl.dc_a_f_dte")
        with self.step(self.live_accountant_uid) as env:
            html = env["ir.actions.report"]._render_qweb_html("account.report_invoice_with_payments", [move_id])[0]
            partner = env["account.move"].browse(move_id).partner_id
            self.assertFalse(partner.industry_id)
            customer_giro = partner.l10n_cl_activity_description
            issuer_name = env["res.company"].browse(self.live_company_id).partner_id.name
        text = " ".join(re.sub(r"<[^>]+>", " ", html.decode()).split())
        xml = self.stored(move_id).decode("latin-1")
        self.assertIn(f"<GiroRecep>{customer_giro}</GiroRecep>", xml)
        self.assertIn(f"GIRO: {customer_giro}", text)
        self.assertIn("<GiroEmis>SERVICIOS INFORMATICOS</GiroEmis>", xml)
        self.assertIn(f"{issuer_name} SERVICIOS INFORMATICOS", text)

    def test_contingency_invoice_prints_and_printing_sends_nothing_and_takes_no_folio(self):
        with self.step() as env:
            folios_before = env["dte.sidecar.client"]._call("dte.caf", "folios_left", company_id=self.live_company_id)
        unsent = self.make_move("l10n_cl.dc_a_f_dte", [("Servicio de prueba", 1, 1000.0, True)])
        with self.step(self.live_manager_uid) as env:
            env["dte.sidecar.client"]._call(
                "dte.contingency", "enable_contingency", company_id=self.live_company_id,
                reason="manual", comment="Prueba de impresión",
            )
        try:
            kept = self.make_move("l10n_cl.dc_a_f_dte", [("Servicio en contingencia", 1, 2000.0, True)])
            action = self.send(kept)
            self.assertEqual(action["params"]["type"], "warning", action["params"]["message"])
            with self.step() as env:
                self.assertEqual(env["account.move"].browse(kept).dte_state, "contingency")
                folios_after_send = env["dte.sidecar.client"]._call(
                    "dte.caf", "folios_left", company_id=self.live_company_id,
                )
                env.cr.execute(
                    "SELECT count(*) FROM dte_sidecar.dte_document_transition t "
                    "JOIN dte_sidecar.dte_document d ON d.id = t.document_id WHERE d.move_id = %s", [kept],
                )
                transitions = env.cr.fetchone()[0]
            self.login(self.live_accountant_uid)
            for copy in range(2):
                text, _sizes, _ted = self.assert_printed_ted(kept, f"dte-33-contingency-{copy}")
                self.assertIn("Timbre Electrónico SII", text)
            # An invoice not sent yet prints without a stamp, and printing does not send it.
            unsent_text = self.pdf_text(self.print_pdf(unsent))
            self.assertNotIn("Timbre Electrónico SII", unsent_text)
            with self.step() as env:
                self.assertFalse(env["account.move"].browse(unsent).dte_document_id, "printing sent the invoice")
                self.assertEqual(env["account.move"].browse(kept).dte_state, "contingency", "printing uploaded")
                pending = env["dte.contingency.pending"].search([("move_id", "=", kept)])
                self.assertEqual(len(pending), 1)
                self.assertFalse(pending.uploaded)
                env.cr.execute(
                    "SELECT count(*) FROM dte_sidecar.dte_document_transition t "
                    "JOIN dte_sidecar.dte_document d ON d.id = t.document_id WHERE d.move_id = %s", [kept],
                )
                self.assertEqual(env.cr.fetchone()[0], transitions, "printing changed the document")
                folios_after_print = env["dte.sidecar.client"]._call(
                    "dte.caf", "folios_left", company_id=self.live_company_id,
                )
            self.assertEqual(folios_after_print, folios_after_send, "printing took a folio")
            self.assertNotEqual(folios_before, folios_after_send, "sending takes one folio")
        finally:
            with self.step(self.live_manager_uid) as env:
                client = env["dte.sidecar.client"]
                client._call("dte.contingency", "disable_contingency", company_id=self.live_company_id,
                             comment="Fin de la prueba de impresión")
                client._call("dte.contingency", "upload_pending_batch", company_id=self.live_company_id)
