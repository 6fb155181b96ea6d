# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The DTE request JSON the sidecar's engine takes, built from plain values.

No Odoo import here: ``account.move._dte_values()`` extracts plain values from the move,
:func:`build_document` shapes them, and both halves are tested apart (the shape with plain
``unittest`` in ``odoo_addon/tests/``).

The shape is the engine's (``docs/dte-json/`` of the engine; Rust types in
``src/dte/model.rs``): ``document_type``, ``issue_date``, ``issuer``, ``receiver``,
``lines``, ``global_adjustments``, ``totals``, ``references``… Unknown fields are refused by
the engine, so nothing else is sent. Amounts are whole pesos (JSON integers); quantities and
prices are exact decimals (integers, or strings such as ``"1.5"``); text is cut to the SII's
lengths (the engine refuses longer text). The engine checks the arithmetic:
``amount = round(quantity × unit_price) − discount_amount + surcharge_amount`` per line,
``iva = round(net × 19 %)`` and ``total = net + exempt + iva``.
"""

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

#: The engine's limits, as ``dte-sidecar engine limits`` prints them (a test of the
#: sidecar keeps this copy equal): text lengths, list sizes, required fields per type.
LIMITS = json.loads((Path(__file__).parent / "engine_limits.json").read_text(encoding="utf-8"))

DTE_TYPES = tuple(str(code) for code in LIMITS["document_types"])
#: Types that must name the document they correct.
TYPES_WITH_REFERENCE = tuple(str(code) for code in LIMITS["required"]["references"])

#: What ``missing_values`` reports, in the order the form shows it: the addon's key of
#: each value and the engine's path of the field it fills (None: the addon's own check).
_REQUIRED = (
    ("issuer.rut", "issuer.rut"),
    ("issuer.name", "issuer.name"),
    ("issuer.giro", "issuer.giro"),
    ("issuer.address", "issuer.address"),
    ("issuer.comuna", "issuer.comuna"),
    ("issuer.rut_valid", None),
    ("issuer.acteco", "issuer.actecos"),
    ("receiver.rut", "receiver.rut"),
    ("receiver.name", "receiver.name"),
    ("receiver.address", "receiver.address"),
    ("receiver.comuna", "receiver.comuna"),
    ("receiver.giro", "receiver.giro"),
    ("receiver.rut_valid", None),
    ("issue_date", "issue_date"),
    ("lines", "lines"),
    ("references", "references"),
    ("dispatch_type", "transfer.indicator"),
)


def clp(amount):
    """Round an amount to whole pesos, half up (the SII's rule), as ``int``."""
    return int(Decimal(str(amount or 0)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def number(value, places=6):
    """A quantity, unit price or percentage as the engine reads an exact decimal: an ``int``
    when whole, else a string with at most ``places`` decimals (no binary rounding)."""
    quantized = Decimal(str(value or 0)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if quantized == quantized.to_integral_value():
        return int(quantized)
    return format(quantized.normalize(), "f")


def format_rut(rut):
    """``76.000.001-9`` / ``CL760000019`` / ``760000019`` → ``76000001-9`` (SII form)."""
    if not rut:
        return ""
    cleaned = "".join(ch for ch in str(rut).upper() if ch.isalnum())
    if cleaned.startswith("CL") and len(cleaned) > 2 and cleaned[2:3].isdigit():
        cleaned = cleaned[2:]
    if len(cleaned) < 2:
        return cleaned
    body, check = cleaned[:-1].lstrip("0"), cleaned[-1]
    return f"{body}-{check}"


def rut_is_valid(rut):
    """Modulo 11 check of a RUT in any usual form."""
    formatted = format_rut(rut)
    if "-" not in formatted:
        return False
    body, check = formatted.split("-")
    if not body.isdigit():
        return False
    total, factor = 0, 2
    for digit in reversed(body):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    expected = 11 - total % 11
    expected = {11: "0", 10: "K"}.get(expected, str(expected))
    return check == expected


def _cut(path, value):
    """The text for the engine's field ``path``, at most as long as the engine takes."""
    if value is None or value is False:
        return None
    text = " ".join(str(value).split())
    return text[: LIMITS["max_chars"][path]]


def _compact(mapping):
    """Drop keys whose value is None, "" or an empty list/dict (recursively for dicts)."""
    result = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            value = _compact(value)
        if value is None or value == "" or value == [] or value == {}:
            continue
        result[key] = value
    return result


def missing_values(values):
    """What must be filled in before the document can be sent, as a list of keys.

    Keys are dotted paths of ``values`` (``issuer.giro``, ``receiver.rut``, ``references``);
    the Odoo side turns them into translated labels.
    """
    missing = []
    dte_type = str(values.get("dte_type") or "")
    if dte_type not in DTE_TYPES:
        missing.append("dte_type")
    for key, path in _REQUIRED:
        if path is None:
            rut = _value(values, key.removesuffix("_valid"))
            if rut and not rut_is_valid(rut):
                missing.append(key)
            continue
        types = [str(code) for code in LIMITS["required"][path]]
        # An unknown type still needs what every type needs.
        needed = dte_type in types if dte_type in DTE_TYPES else len(types) == len(DTE_TYPES)
        if needed and not _present(values, key):
            missing.append(key)
    return missing


def _value(values, key):
    section, _, name = key.rpartition(".")
    return (values.get(section) or {}).get(name) if section else values.get(name)


def _present(values, key):
    if key == "lines":
        return any(clp(line.get("subtotal")) > 0 for line in values.get("lines") or [])
    return bool(_value(values, key))


def _line(line):
    """One ``lines[]`` entry whose arithmetic holds by construction: the amount is the
    booked one, and any difference with round(quantity × price) is its discount (or
    surcharge); the percentage is only sent when the engine would compute the same."""
    amount = clp(line.get("subtotal"))
    entry = {
        "exempt": True if line.get("exempt") else None,
        "name": _cut("lines[].name", line.get("name")),
        "description": _cut("lines[].description", line.get("description")),
        "unit": _cut("lines[].unit", line.get("uom")),
        "amount": amount,
    }
    quantity, price = line.get("quantity"), line.get("price_unit")
    if quantity and price and quantity > 0 and price > 0:
        quantity_d = Decimal(str(number(quantity)))
        price_d = Decimal(str(number(price)))
        gross = clp(quantity_d * price_d)
        entry["quantity"] = number(quantity)
        entry["unit_price"] = number(price)
        difference = gross - amount
        if difference > 0:
            entry["discount_amount"] = difference
            percent = line.get("discount_pct")
            if percent and clp(Decimal(gross) * Decimal(str(number(percent, 2))) / 100) == difference:
                entry["discount_percent"] = number(percent, 2)
        elif difference < 0:
            entry["surcharge_amount"] = -difference
    return _compact(entry)


def build_document(values):
    """The engine's request JSON (a ``dict``) from the plain ``values`` of a move.

    ``values``::

        {"dte_type": "33", "issue_date": "2026-01-05", "due_date": "2026-02-04" or None,
         "payment_method": 1 (cash) | 2 (credit) | None, "dispatch_type": "1".."9" (52),
         "issuer": {"rut", "name", "giro", "acteco": [620200], "address", "comuna", "city",
                    "email", "resolution_number", "resolution_date"},
         "receiver": {"rut", "name", "giro", "address", "comuna", "city", "email"},
         "lines": [{"name", "description", "quantity", "uom", "price_unit", "discount_pct",
                    "subtotal", "exempt"}],      # a negative subtotal is a global discount
         "totals": {"net", "exempt", "vat", "total"},
         "references": [{"doc_type", "folio", "date", "code", "reason"}]}
    """
    dte_type = str(values["dte_type"])
    issuer = values.get("issuer") or {}
    receiver = values.get("receiver") or {}
    totals = values.get("totals") or {}

    lines, adjustments = [], []
    for line in values.get("lines") or []:
        amount = clp(line.get("subtotal"))
        if amount < 0:
            adjustments.append(_compact({
                "kind": "discount",
                "unit": "amount",
                "value": -amount,
                "description": _cut("global_adjustments[].description", line.get("name")),
                "applies_to": "exempt" if line.get("exempt") else "taxable",
            }))
        elif amount > 0:
            lines.append(_line(line))

    resolution = None
    if issuer.get("resolution_date"):
        resolution = {"number": int(issuer.get("resolution_number") or 0), "date": issuer["resolution_date"]}
    net, exempt, iva = clp(totals.get("net")), clp(totals.get("exempt")), clp(totals.get("vat"))
    due_date = values.get("due_date")
    document = {
        "document_type": int(dte_type),
        "issue_date": values.get("issue_date"),
        "payment_form": values.get("payment_method") if dte_type in ("33", "34", "56") else None,
        "due_date": due_date if due_date and due_date != values.get("issue_date") and dte_type != "52" else None,
        "transfer": {"indicator": int(values["dispatch_type"])}
        if dte_type == "52" and values.get("dispatch_type") else None,
        "issuer": {
            "rut": format_rut(issuer.get("rut")),
            "name": _cut("issuer.name", issuer.get("name")),
            "giro": _cut("issuer.giro", issuer.get("giro")),
            "actecos": [int(code) for code in (issuer.get("acteco") or [])][: LIMITS["max_items"]["issuer.actecos"]],
            "email": _cut("issuer.email", issuer.get("email")),
            "address": _cut("issuer.address", issuer.get("address")),
            "comuna": _cut("issuer.comuna", issuer.get("comuna")),
            "city": _cut("issuer.city", issuer.get("city")),
            "resolution": resolution,
        },
        "receiver": {
            "rut": format_rut(receiver.get("rut")),
            "name": _cut("receiver.name", receiver.get("name")),
            "giro": _cut("receiver.giro", receiver.get("giro")),
            "email": _cut("receiver.email", receiver.get("email")),
            "address": _cut("receiver.address", receiver.get("address")),
            "comuna": _cut("receiver.comuna", receiver.get("comuna")),
            "city": _cut("receiver.city", receiver.get("city")),
        },
        "lines": lines,
        "global_adjustments": adjustments,
        "totals": {
            "net": net or None,
            "exempt": exempt or None,
            "iva_rate": 19 if net else None,
            "iva": iva if net else None,
            "total": clp(totals.get("total")),
        },
        "references": [
            _compact({
                "document_type": str(ref.get("doc_type") or ""),
                "folio": _cut("references[].folio", ref.get("folio")),
                "date": ref.get("date"),
                "code": int(ref["code"]) if ref.get("code") else None,
                "reason": _cut("references[].reason", ref.get("reason")),
            })
            for ref in values.get("references") or []
        ],
    }
    document = _compact(document)
    document["totals"].setdefault("total", 0)
    return document


def decode_xml_bytes(data):
    """Text of an XML file given as bytes, honouring its declared encoding (CAF files are
    often ISO-8859-1)."""
    if isinstance(data, str):
        return data
    head = data[:200].decode("ascii", errors="ignore").lower()
    encoding = "utf-8"
    marker = "encoding="
    if marker in head:
        rest = head.split(marker, 1)[1].lstrip()
        if rest[:1] in ("'", '"'):
            encoding = rest[1:].split(rest[0], 1)[0] or "utf-8"
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return data.decode("iso-8859-1")
