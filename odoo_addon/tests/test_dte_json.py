# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The document JSON built from a move's plain values, without Odoo."""

import unittest
import unittest.mock
from decimal import Decimal

from test_sidecar_rpc import load_tool

dte_json = load_tool("dte_json")


def values(**overrides):
    base = {
        "dte_type": "33",
        "issue_date": "2026-01-05",
        "due_date": "2026-01-05",
        "payment_method": 1,
        "issuer": {
            "rut": "76.000.001-9", "name": "EMPRESA DE PRUEBA SINTETICA SPA", "giro": "SERVICIOS INFORMATICOS",
            "acteco": [620200], "address": "CALLE FALSA 123", "comuna": "SANTIAGO", "city": "SANTIAGO",
            "email": None, "resolution_number": 0, "resolution_date": "2026-01-02",
        },
        "receiver": {
            "rut": "CL777777777", "name": "CLIENTE & HIJOS LTDA", "giro": "COMERCIO",
            "address": "AV. PRUEBA 456", "comuna": "ÑUÑOA", "city": "SANTIAGO", "email": "",
        },
        "lines": [{
            "name": 'Servicio de prueba "Ñandú" <1>', "description": None, "quantity": 2.0, "uom": None,
            "price_unit": 5000.0, "discount_pct": None, "subtotal": 10000.0, "exempt": False,
        }],
        "totals": {"net": 10000.0, "exempt": 0.0, "vat": 1900.0, "total": 11900.0},
        "references": [],
    }
    base.update(overrides)
    return base


class DteJsonTest(unittest.TestCase):
    def test_invoice_33_in_the_engine_shape(self):
        # Same data as the SII example DTE-T33F1.xml of the synthetic set.
        self.assertEqual(dte_json.build_document(values()), {
            "document_type": 33,
            "issue_date": "2026-01-05",
            "payment_form": 1,
            "issuer": {
                "rut": "76000001-9", "name": "EMPRESA DE PRUEBA SINTETICA SPA",
                "giro": "SERVICIOS INFORMATICOS", "actecos": [620200], "address": "CALLE FALSA 123",
                "comuna": "SANTIAGO", "city": "SANTIAGO", "resolution": {"number": 0, "date": "2026-01-02"},
            },
            "receiver": {
                "rut": "77777777-7", "name": "CLIENTE & HIJOS LTDA", "giro": "COMERCIO",
                "address": "AV. PRUEBA 456", "comuna": "ÑUÑOA", "city": "SANTIAGO",
            },
            "lines": [{
                "name": 'Servicio de prueba "Ñandú" <1>', "quantity": 2, "unit_price": 5000, "amount": 10000,
            }],
            "totals": {"net": 10000, "iva_rate": 19, "iva": 1900, "total": 11900},
        })

    def test_engine_example_33_lines_and_global_discount(self):
        # The lines of the engine's docs/dte-json/33.json, as Odoo books them.
        document = dte_json.build_document(values(
            due_date="2026-02-04", payment_method=2,
            lines=[
                {"name": "Servicio de soporte", "quantity": 2, "price_unit": 5000, "subtotal": 10000},
                {"name": "Licencia anual", "quantity": 1.5, "price_unit": 3333.33, "discount_pct": 10,
                 "subtotal": 4500},
                {"name": "Curso de capacitación", "quantity": 1, "price_unit": 20000, "subtotal": 20000,
                 "exempt": True},
                {"name": "Descuento cliente frecuente", "quantity": 1, "price_unit": -725, "subtotal": -725},
            ],
            totals={"net": 13775, "exempt": 20000, "vat": 2617, "total": 36392},
        ))
        self.assertEqual(document["payment_form"], 2)
        self.assertEqual(document["due_date"], "2026-02-04")
        self.assertEqual(document["lines"], [
            {"name": "Servicio de soporte", "quantity": 2, "unit_price": 5000, "amount": 10000},
            {"name": "Licencia anual", "quantity": "1.5", "unit_price": "3333.33", "discount_amount": 500,
             "discount_percent": 10, "amount": 4500},
            {"exempt": True, "name": "Curso de capacitación", "quantity": 1, "unit_price": 20000, "amount": 20000},
        ])
        self.assertEqual(document["global_adjustments"], [{
            "kind": "discount", "unit": "amount", "value": 725, "description": "Descuento cliente frecuente",
            "applies_to": "taxable",
        }])
        self.assertEqual(document["totals"], {
            "net": 13775, "exempt": 20000, "iva_rate": 19, "iva": 2617, "total": 36392,
        })

    def test_line_arithmetic_always_holds(self):
        # Odoo rounds quantity × price × (1 − discount) once; the engine rounds the gross
        # amount, then the discount. The booked amount wins; the difference is the discount.
        line = {"name": "X", "quantity": 3, "price_unit": 333.335, "discount_pct": 7.5, "subtotal": 925}
        entry = dte_json.build_document(values(lines=[line]))["lines"][0]
        self.assertEqual(dte_json.clp(3 * Decimal("333.335")), 1000)
        self.assertEqual(entry["amount"], 925)
        self.assertEqual(entry["discount_amount"], 75)
        self.assertEqual(entry["discount_percent"], "7.5")
        line = {"name": "Y", "quantity": 7, "price_unit": 99.99, "discount_pct": 3, "subtotal": 678}
        entry = dte_json.build_document(values(lines=[line]))["lines"][0]
        self.assertEqual(entry["discount_amount"], 22)  # round(699.93) − 678
        self.assertNotIn("discount_percent", entry, "3 % of 700 is 21, not 22: the percentage is left out")

    def test_exempt_34(self):
        document = dte_json.build_document(values(
            dte_type="34",
            lines=[{"name": "Asesoría contable exenta", "quantity": 1, "price_unit": 120000,
                    "subtotal": 120000, "exempt": True}],
            totals={"net": 0, "exempt": 120000, "vat": 0, "total": 120000},
        ))
        self.assertEqual(document["totals"], {"exempt": 120000, "total": 120000})
        self.assertTrue(document["lines"][0]["exempt"])

    def test_dispatch_guide_52_has_transfer_and_no_payment_form(self):
        document = dte_json.build_document(values(dte_type="52", dispatch_type="5", due_date="2026-03-01"))
        self.assertEqual(document["transfer"], {"indicator": 5})
        self.assertNotIn("payment_form", document)
        self.assertNotIn("due_date", document)

    def test_credit_note_61_references(self):
        document = dte_json.build_document(values(
            dte_type="61",
            references=[{"doc_type": "33", "folio": "1", "date": "2026-01-05", "code": "1",
                         "reason": "Anula documento de referencia"}],
        ))
        self.assertNotIn("payment_form", document)
        self.assertEqual(document["references"], [{
            "document_type": "33", "folio": "1", "date": "2026-01-05", "code": 1,
            "reason": "Anula documento de referencia",
        }])

    def test_lengths_are_cut_to_the_sii_schema(self):
        document = dte_json.build_document(values(
            receiver={**values()["receiver"], "name": "X" * 150, "giro": "G" * 60},
            lines=[{"name": "N" * 100, "quantity": 1.123456789, "price_unit": 0.5, "subtotal": 1}],
            totals={"net": 1, "exempt": 0, "vat": 0, "total": 1},
        ))
        self.assertEqual(len(document["receiver"]["name"]), 100)
        self.assertEqual(len(document["receiver"]["giro"]), 40)
        line = document["lines"][0]
        self.assertEqual(len(line["name"]), 80)
        self.assertEqual(line["quantity"], "1.123457")
        self.assertEqual(line["unit_price"], "0.5")
        self.assertEqual(line["amount"], 1)
        # round(1.123457 × 0.5) = 1, booked as 1: neither discount nor surcharge.
        self.assertNotIn("discount_amount", line)
        self.assertNotIn("surcharge_amount", line)

    def test_missing_values(self):
        self.assertEqual(dte_json.missing_values(values()), [])
        broken = values(
            dte_type="61",
            issuer={**values()["issuer"], "giro": "", "acteco": [], "rut": "76000001-8"},
            receiver={**values()["receiver"], "giro": None},
            lines=[{"name": "Descuento", "subtotal": -100}],
        )
        self.assertEqual(dte_json.missing_values(broken), [
            "issuer.giro", "issuer.rut_valid", "issuer.acteco", "receiver.giro", "lines", "references",
        ])
        self.assertIn("dispatch_type", dte_json.missing_values(values(dte_type="52")))
        self.assertIn("dte_type", dte_json.missing_values(values(dte_type="39")))

    def test_the_rules_are_the_engines(self):
        # Every field the engine requires is asked for, under the addon's own name.
        engine = set(dte_json.LIMITS["required"])
        asked = {path for _, path in dte_json._REQUIRED if path}
        self.assertEqual(asked, engine)
        self.assertEqual(dte_json.DTE_TYPES, ("33", "34", "52", "56", "61"))
        self.assertEqual(dte_json.TYPES_WITH_REFERENCE, ("56", "61"))
        # A length the engine changes is the length the addon cuts to.
        with unittest.mock.patch.dict(dte_json.LIMITS["max_chars"], {"receiver.name": 7}):
            document = dte_json.build_document(values())
        self.assertEqual(document["receiver"]["name"], "CLIENTE")

    def test_rut(self):
        self.assertEqual(dte_json.format_rut("76.000.001-9"), "76000001-9")
        self.assertEqual(dte_json.format_rut("CL760000019"), "76000001-9")
        self.assertEqual(dte_json.format_rut("11.111.111-k"), "11111111-K")
        self.assertTrue(dte_json.rut_is_valid("76000001-9"))
        self.assertTrue(dte_json.rut_is_valid("77777777-7"))
        self.assertTrue(dte_json.rut_is_valid("60805000-0"))
        self.assertFalse(dte_json.rut_is_valid("76000001-8"))
        self.assertFalse(dte_json.rut_is_valid(""))

    def test_clp_rounding(self):
        self.assertEqual(dte_json.clp(1900.5), 1901)
        self.assertEqual(dte_json.clp(1900.49), 1900)
        self.assertEqual(dte_json.clp(None), 0)

    def test_decode_xml_bytes(self):
        latin = '<?xml version="1.0" encoding="ISO-8859-1"?><RS>ÑUÑOA</RS>'.encode("iso-8859-1")
        self.assertIn("ÑUÑOA", dte_json.decode_xml_bytes(latin))
        self.assertIn("ÑUÑOA", dte_json.decode_xml_bytes("<RS>ÑUÑOA</RS>".encode()))
        self.assertIn("Ñ", dte_json.decode_xml_bytes('<?xml version="1.0"?><RS>Ñ</RS>'.encode("iso-8859-1")))


if __name__ == "__main__":
    unittest.main()
