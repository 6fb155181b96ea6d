# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The printed DTE: the TED barcode, its legend and the cedible copy on the invoice report."""

import base64

from odoo import _, models
from odoo.exceptions import UserError

#: wkhtmltopdf, as Odoo runs it, draws a CSS millimetre as 0.75 mm.
WKHTMLTOPDF_MM_CORRECTION = 4 / 3
#: The top margin of a printed DTE, in mm: the margin of the paper, as on the sides.
DTE_MARGIN_TOP_MM = 10
#: Types whose printed copy can be ceded (factoring), and the legend of that copy. The
#: dispatch guide's transport copy goes with its invoice.
CEDIBLE_LEGENDS = {"33": "CEDIBLE", "34": "CEDIBLE", "52": "CEDIBLE CON SU FACTURA"}
#: The types' names as the SII writes them in the box at the top right. They are the same
#: whatever the customer's language (l10n_cl's names are English, Spanish only for es_419).
SII_TYPE_NAMES = {
    "33": "FACTURA ELECTRÓNICA",
    "34": "FACTURA NO AFECTA O EXENTA ELECTRÓNICA",
    "52": "GUÍA DE DESPACHO ELECTRÓNICA",
    "56": "NOTA DE DÉBITO ELECTRÓNICA",
    "61": "NOTA DE CRÉDITO ELECTRÓNICA",
}


class AccountMove(models.Model):
    _inherit = "account.move"

    def _dte_printed_stamp(self):
        """What the printed DTE shows under its barcode, or ``{}`` when the move has no DTE
        yet. The barcode is the TED the sidecar signed and stored, asked of it at each print:
        printing only reads, it never sends and never takes a folio.

        The barcode is an SVG, which wkhtmltopdf draws as vector paths: a bitmap would be
        JPEG-compressed in the PDF (Debian's wkhtmltopdf, on unpatched Qt, ignores
        ``--image-quality``), greying the edges of the bars a reader needs sharp."""
        self.ensure_one()
        if not self.dte_code or not self.dte_document_id:
            return {}
        barcode = self.env["dte.sidecar.client"]._call(
            "dte.document", "get_ted_barcode", move_id=self.id, image_format="svg",
        )
        if not isinstance(barcode, dict) or not (barcode.get("svg") or "").lstrip().startswith("<svg"):
            raise UserError(_("The DTE sidecar did not give the electronic stamp of %(move)s.", move=self.display_name))
        date = barcode.get("resolution_date") or ""
        return {
            "src": "data:image/svg+xml;base64," + base64.b64encode(barcode["svg"].encode()).decode(),
            # wkhtmltopdf, as Odoo runs it (90 dpi, zoomed), draws a CSS millimetre as 0.75 mm
            # (measured on the PDF at 300 dpi): ask for 4/3 so the bars get their real size.
            "width_mm": round(barcode["image_width_mm"] * WKHTMLTOPDF_MM_CORRECTION, 3),
            "height_mm": round(barcode["image_height_mm"] * WKHTMLTOPDF_MM_CORRECTION, 3),
            "folio": barcode.get("folio"),
            "resolution_number": barcode.get("resolution_number") or 0,
            "resolution_year": date[:4],
        }

    def _dte_report_margin_top(self):
        """The top margin (mm) of a print of these moves, or ``False`` for the paper
        format's. The SII box heads the document itself and the layout's header is left
        empty (``layout_header_in_document``): the paper format's top margin, sized for a
        header (52 mm on A4), would leave a blank band above the box."""
        if self and all(move._get_name_invoice_report() == "l10n_cl.report_invoice_document" for move in self):
            return DTE_MARGIN_TOP_MM
        return False

    def _dte_printed_type_name(self):
        """The type's name in the SII box, or ``False`` for a move that is not a DTE."""
        self.ensure_one()
        return SII_TYPE_NAMES.get(self.dte_code or "", False)

    def _dte_cedible_legend(self):
        self.ensure_one()
        return CEDIBLE_LEGENDS.get(self.dte_code or "")

    def _dte_sii_office(self):
        """The SII office of the company, as the box at the top right names it (its city
        when none is set)."""
        self.ensure_one()
        company = self.company_id
        return (company.dte_sii_office or company.partner_id.city or "").strip().upper()
