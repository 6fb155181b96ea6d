# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared fixtures of the addon's tests.

Two kinds of tests live here:

* :class:`DteCommon`: ordinary ``TransactionCase`` tests (through Odoo's
  ``AccountTestInvoicingCommon`` with a Chilean company). They never reach a sidecar: they
  patch the addon's own seam, ``dte.sidecar.client._call``, or put rows in the sidecar's
  tables inside the test transaction (rolled back at the end).
* :class:`DteLiveCommon`: smoke tests against a REAL sidecar on 127.0.0.1 (started by
  ``scripts/test-odoo.sh``; its URL and key come from ``DTE_SIDECAR_URL`` and
  ``DTE_SIDECAR_API_KEY``). The sidecar writes through its own connection, and Odoo's
  cursors are REPEATABLE READ, so a test transaction would never see what the sidecar
  commits after it started (and the sidecar would not see an uncommitted invoice). These
  tests therefore work as the web client does: every step in its own committed
  transaction (:meth:`DteLiveCommon.step`). The database is a throwaway one made by the
  script; what they commit stays there, which the uninstall check then counts.
"""

import base64
import contextlib
import hashlib
import os
import re
import time
import unittest
from pathlib import Path
from unittest.mock import patch

import requests

from odoo import Command, api, fields
from odoo.sql_db import db_connect
from odoo.tests import new_test_user
from odoo.tests.common import get_db_name

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

DATA_DIR = Path(__file__).resolve().parent / "data"
#: The synthetic CAF files and certificate are made for this RUT.
COMPANY_RUT = "76000001-9"
CUSTOMER_RUT = "77777777-7"
CERT_PASSWORD = "1234"
#: The customers' language: what is printed for them must be Spanish whatever it is, and
#: Odoo renders an invoice in its customer's language.
CUSTOMER_LANG = "es_CL"


def company_values():
    return {
        "vat": COMPANY_RUT,
        "l10n_cl_activity_description": "SERVICIOS INFORMATICOS",
        "dte_acteco": "620200",
        "street": "CALLE FALSA 123",
        "city": "SANTIAGO",
        "dte_resolution_number": 0,
        "dte_resolution_date": "2026-01-02",
    }


def customer_values(env, name="CLIENTE & HIJOS LTDA"):
    env["res.lang"]._activate_lang(CUSTOMER_LANG)
    return {
        "name": name,
        "lang": CUSTOMER_LANG,
        "is_company": True,
        "country_id": env.ref("base.cl").id,
        "l10n_latam_identification_type_id": env.ref("l10n_cl.it_RUT").id,
        "l10n_cl_sii_taxpayer_type": "1",
        "vat": CUSTOMER_RUT,
        "l10n_cl_activity_description": "COMERCIO",
        "street": "AV. PRUEBA 456",
        "city": "ÑUÑOA",
    }


#: Words of an English sentence that a Spanish one never holds (as the refusal tour's).
ENGLISH = re.compile(
    r"\b(the|is|are|not|of|and|already|must|cannot|expected|unknown|invalid|answered|retry|sent|failed|"
    r"waiting|next)\b",
    re.IGNORECASE,
)


class DteCommon(AccountTestInvoicingCommon):
    """A Chilean company, a customer, a DTE user and a DTE manager; no sidecar."""

    @classmethod
    @AccountTestInvoicingCommon.setup_country("cl")
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.company.write(company_values())
        cls.partner_cl = cls.env["res.partner"].create(customer_values(cls.env))
        cls.vat_tax = cls.env["account.tax"].search([
            ("company_id", "=", cls.company.id),
            ("type_tax_use", "=", "sale"),
            ("l10n_cl_sii_code", "=", 14),
            ("amount", "=", 19),
        ], limit=1)
        cls.doc_type_33 = cls.env.ref("l10n_cl.dc_a_f_dte")
        cls.doc_type_34 = cls.env.ref("l10n_cl.dc_y_f_dte")
        cls.doc_type_61 = cls.env.ref("l10n_cl.dc_nc_f_dte")
        cls.group_user = cls.env.ref("l10n_cl_dte_sidecar.group_dte_user")
        cls.group_manager = cls.env.ref("l10n_cl_dte_sidecar.group_dte_manager")
        invoicing = cls.env.ref("account.group_account_invoice")
        cls.dte_user = new_test_user(
            cls.env, login="dte_user", name="DTE reader",
            group_ids=(cls.group_user | invoicing).ids,
            company_id=cls.company.id, company_ids=cls.company.ids,
        )
        cls.dte_manager = new_test_user(
            cls.env, login="dte_manager", name="DTE manager",
            group_ids=(cls.group_manager | invoicing).ids,
            company_id=cls.company.id, company_ids=cls.company.ids,
        )
        cls.env.user.group_ids |= cls.group_manager
        icp = cls.env["ir.config_parameter"].sudo()
        icp.set_param("l10n_cl_dte_sidecar.url", "http://127.0.0.1:8070")
        icp.set_param("l10n_cl_dte_sidecar.api_key", "test-key-not-secret")

    @classmethod
    def _spanish_env(cls):
        """es_CL active with this addon's terms: the environment of a Chilean accountant
        (Spanish, Santiago's time)."""
        cls.env["res.lang"]._activate_lang("es_CL")
        cls.env["ir.module.module"]._load_module_terms(["l10n_cl_dte_sidecar"], ["es_CL"], overwrite=True)
        return cls.env(context={"lang": "es_CL", "tz": "America/Santiago"})

    # Invoices -----------------------------------------------------------------------

    @classmethod
    def _create_invoice(cls, doc_type=None, lines=None, post=True, move_type="out_invoice", partner=None,
                        date="2026-01-05"):
        lines = lines or [{"name": "Servicio de prueba", "quantity": 2, "price_unit": 5000.0, "tax": True}]
        move = cls.env["account.move"].create({
            "move_type": move_type,
            "partner_id": (partner or cls.partner_cl).id,
            "invoice_date": date,
            "journal_id": cls.company_data["default_journal_sale"].id,
            "l10n_latam_document_type_id": (doc_type or cls.doc_type_33).id,
            "invoice_line_ids": [
                Command.create({
                    "name": line["name"],
                    "quantity": line["quantity"],
                    "price_unit": line["price_unit"],
                    "tax_ids": [Command.set(cls.vat_tax.ids if line.get("tax") else [])],
                })
                for line in lines
            ],
        })
        if post:
            move.action_post()
        return move

    # The seam ------------------------------------------------------------------------

    @contextlib.contextmanager
    def patch_sidecar(self, answers=None, side_effect=None):
        """Patch ``dte.sidecar.client._call``; ``answers`` maps ``"model.method"`` to the
        result (or a callable taking the named arguments). Yields the mock."""
        answers = answers or {}

        def fake_call(model, method, **params):
            answer = answers.get(f"{model}.{method}")
            return answer(**params) if callable(answer) else answer

        with patch.object(
            self.registry["dte.sidecar.client"], "_call", autospec=False,
            side_effect=side_effect or fake_call,
        ) as mock:
            yield mock

    # Rows of the sidecar, inside the test transaction ----------------------------------

    def insert_sidecar_row(self, table, values):
        """Insert a row in the sidecar's own table ``dte_sidecar.<table>`` (rolled back
        with the test); return its id. Only for read-side tests (views, rules)."""
        columns = list(values)
        self.env.cr.execute(
            "INSERT INTO dte_sidecar.{} ({}) VALUES ({}) RETURNING id".format(  # noqa: S608
                table, ", ".join(columns), ", ".join(["%s"] * len(columns))
            ),
            [values[c] for c in columns],
        )
        row_id = self.env.cr.fetchone()[0]
        self.env.invalidate_all()
        return row_id

    def insert_sample_rows(self, company, move_id=0, folio="1"):
        """One row per sidecar table for ``company``; returns ``{model: id}``.

        Written against the sidecar's own tables (``migrations/`` of the sidecar), with the
        columns its NOT NULL and CHECK constraints require.
        """
        now = fields.Datetime.now()
        sha = hashlib.sha256(f"{company.id}-{folio}".encode()).hexdigest()
        base = {"company_id": company.id}
        doc = {"dte_type": "33", "folio": folio, "rut_emisor": COMPANY_RUT, "move_id": move_id}
        rows = {
            "dte.document": ("dte_document", self._document_values(company, move_id, int(folio))),
            "dte.backup": ("dte_backup", {
                **base, **doc, "xml_content": b"<DTE/>", "sha256": sha, "track_id": "T-" + folio,
                "sent_date": now,
            }),
            "dte.failed.queue": ("dte_failed_queue", {
                **base, **doc, "xml_content": b"<DTE/>", "error_type": "timeout",
                "error_message": "SII timeout", "retry_count": 0, "max_retries": 5,
                "failed_date": now, "next_retry_date": now, "state": "pending",
            }),
            "dte.contingency": ("dte_contingency", {
                **base, "enabled": True, "reason": "manual", "enabled_date": now,
            }),
            "dte.contingency.pending": ("dte_contingency_pending", {
                **base, **doc, "xml_content": b"<DTE/>", "stored_date": now, "uploaded": False,
            }),
            "dte.audit.log": ("dte_audit_log", {
                **base, "actor": "odoo", "action": "contingency.enable", "target_model": "dte.contingency",
                "target_id": 1, "created_at": now,
            }),
            "dte.alert": ("dte_alert", {
                **base, "rule": "queue_backlog", "message": "12 documents wait for a retry", "raised_at": now,
            }),
            "dte.caf": ("dte_caf", {
                **base, "dte_type": "33", "folio_from": 1, "folio_to": 100, "next_folio": 4,
                "authorized_on": "2026-01-02", "idk": 100, "sealed_caf": b"sealed", "sha256": sha,
                "loaded_at": now,
            }),
        }
        return {model: self.insert_sidecar_row(table, values) for model, (table, values) in rows.items()}

    @staticmethod
    def _document_values(company, move_id, folio, state="sent", track_id=None, message=None):
        now = fields.Datetime.now()
        return {
            "company_id": company.id, "move_id": move_id, "dte_type": "33", "folio": folio,
            "state": state, "request": "{}", "xml_content": b"<DTE/>",
            "sha256": hashlib.sha256(f"doc-{company.id}-{move_id}-{folio}".encode()).hexdigest(),
            "issue_date": "2026-01-05", "receiver_rut": CUSTOMER_RUT, "total": 11900,
            "track_id": track_id or f"T-{folio}", "message": message,
            "created_at": now, "state_changed_at": now,
        }

    def insert_document(self, move, state="sent", folio=1, track_id="1234567890", message=None):
        values = self._document_values(move.company_id, move.id, folio, state, track_id, message)
        values["dte_type"] = move.l10n_latam_document_type_id.code
        return self.insert_sidecar_row("dte_document", values)


class DteLiveCommon:
    """Mixin for smoke tests against a real sidecar; use with ``TransactionCase``.

    Environment: ``DTE_SIDECAR_URL``, ``DTE_SIDECAR_API_KEY`` (required; the tests are
    skipped, saying so, when they are missing), ``DTE_SII_SIM_ADMIN_URL`` (the SII
    simulator's admin face, to play an outage).
    """

    sidecar_url = os.environ.get("DTE_SIDECAR_URL")
    sidecar_key = os.environ.get("DTE_SIDECAR_API_KEY")
    sim_admin_url = os.environ.get("DTE_SII_SIM_ADMIN_URL")
    _company_ready = False
    #: Who acts in the smoke tests: an accountant who is a DTE user sends invoices; a DTE
    #: manager registers the company, retries and switches contingency.
    live_accountant_login = "dte_live_accountant"
    live_manager_login = "dte_live_manager"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not (cls.sidecar_url and cls.sidecar_key):
            raise unittest.SkipTest("no sidecar: DTE_SIDECAR_URL / DTE_SIDECAR_API_KEY not set")
        try:
            requests.get(cls.sidecar_url.rstrip("/") + "/healthz", timeout=10)
        except requests.RequestException as exc:
            raise AssertionError(f"the sidecar at {cls.sidecar_url} does not answer: {exc}") from None
        with cls.step() as env:
            icp = env["ir.config_parameter"].sudo()
            icp.set_param("l10n_cl_dte_sidecar.url", cls.sidecar_url)
            icp.set_param("l10n_cl_dte_sidecar.api_key", cls.sidecar_key)
            icp.set_param("l10n_cl_dte_sidecar.timeout", "60")
            company = env.ref("base.main_company")
            company.write(company_values())
            partner = env["res.partner"].search([("vat", "=", CUSTOMER_RUT)], limit=1)
            if not partner:
                partner = env["res.partner"].create(customer_values(env))
            cls.live_company_id = company.id
            cls.live_partner_id = partner.id
            invoicing = env.ref("account.group_account_invoice")
            cls.live_accountant_uid = cls._live_user(
                env, cls.live_accountant_login, "DTE accountant",
                env.ref("l10n_cl_dte_sidecar.group_dte_user") | invoicing, company,
            )
            cls.live_manager_uid = cls._live_user(
                env, cls.live_manager_login, "DTE manager",
                env.ref("l10n_cl_dte_sidecar.group_dte_manager") | invoicing, company,
            )
        if not DteLiveCommon._company_ready:
            cls._register_company()
            DteLiveCommon._company_ready = True

    @classmethod
    def _live_user(cls, env, login, name, groups, company):
        """A user of ``company`` with ``groups``, made once per database; returns its id."""
        user = env["res.users"].with_context(active_test=False).search([("login", "=", login)], limit=1)
        if not user:
            user = new_test_user(
                env, login=login, name=name, group_ids=groups.ids,
                company_id=company.id, company_ids=company.ids,
            )
        return user.id

    @classmethod
    @contextlib.contextmanager
    def step(cls, uid=None):
        """A new, real transaction (as one request of the web client) of user ``uid``
        (the superuser by default), committed at the end."""
        # The database by name: tours prepare their users before the test's own cursor exists.
        with db_connect(get_db_name()).cursor() as cr:
            env = api.Environment(cr, uid or api.SUPERUSER_ID, {"lang": "en_US"})
            yield env
            env.flush_all()
            cr.commit()  # pylint: disable=invalid-commit  # other cursors must see it

    @classmethod
    def _register_company(cls):
        """Register the company, hand over the certificate and the five CAF files through
        the addon's own buttons and wizard, as a DTE manager."""
        with cls.step(cls.live_manager_uid) as env:
            env["res.company"].browse(cls.live_company_id).action_dte_register()
        with cls.step(cls.live_manager_uid) as env:
            wizard = env["dte.company.upload.wizard"].create({
                "company_id": cls.live_company_id,
                "certificate_file": base64.b64encode((DATA_DIR / "signer-11111111-1.p12").read_bytes()),
                "certificate_filename": "signer-11111111-1.p12",
                "certificate_password": CERT_PASSWORD,
            })
            wizard.action_upload()
        for code in ("33", "34", "52", "56", "61"):
            with cls.step(cls.live_manager_uid) as env:
                env["dte.company.upload.wizard"].create({
                    "company_id": cls.live_company_id,
                    "caf_file": base64.b64encode(cls._caf_file(code)),
                    "caf_filename": f"CAF-{code}.xml",
                }).action_upload()

    @classmethod
    def _caf_file(cls, code, folio_from=1, folio_to=100):
        """A CAF for folios 1-100 (or the range given) dated today, signed by the simulator's
        (fake) SII key; the shipped synthetic file (1-100) when there is no simulator (it may
        have expired: CAFs of 33, 56 and 61 last six months)."""
        if not cls.sim_admin_url:
            return (DATA_DIR / f"CAF-SYNTHETIC-76000001-9-T{code}-F1-100.xml").read_bytes()
        response = requests.post(cls.sim_admin_url.rstrip("/") + "/caf", json={
            "rut": COMPANY_RUT, "name": "EMPRESA DE PRUEBA SINTETICA SPA", "dte_type": int(code),
            "folio_from": folio_from, "folio_to": folio_to, "authorized_on": fields.Date.to_string(fields.Date.today()),
        }, timeout=10)
        response.raise_for_status()
        return response.content

    @classmethod
    def live_invoice(cls, amount=5000.0, quantity=2, post=True):
        """Create (and post, unless ``post`` is false) a type 33 invoice in its own
        transaction, as the accountant; return its id."""
        with cls.step(cls.live_accountant_uid) as env:
            company = env["res.company"].browse(cls.live_company_id)
            tax = env["account.tax"].search([
                ("company_id", "=", company.id), ("type_tax_use", "=", "sale"),
                ("l10n_cl_sii_code", "=", 14), ("amount", "=", 19),
            ], limit=1)
            journal = env["account.journal"].search([
                ("company_id", "=", company.id), ("type", "=", "sale"),
            ], limit=1)
            move = env["account.move"].with_company(company).create({
                "move_type": "out_invoice",
                "partner_id": cls.live_partner_id,
                "invoice_date": fields.Date.context_today(env["account.move"]),
                "journal_id": journal.id,
                "l10n_latam_document_type_id": env.ref("l10n_cl.dc_a_f_dte").id,
                "invoice_line_ids": [Command.create({
                    "name": "Servicio de prueba",
                    "quantity": quantity,
                    "price_unit": amount,
                    "tax_ids": [Command.set(tax.ids)],
                })],
            })
            if post:
                move.action_post()
            return move.id

    @classmethod
    def wait_until(cls, check, timeout=30.0, interval=0.5):
        """Call ``check(env)`` in fresh transactions until it returns something true (the
        sidecar may finish work in a background job); return that value."""
        deadline = time.monotonic() + timeout
        while True:
            with cls.step() as env:
                value = check(env)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    @classmethod
    def send(cls, move_id):
        """"Send to SII" on the invoice, as the accountant (a DTE user, not a manager)."""
        with cls.step(cls.live_accountant_uid) as env:
            return env["account.move"].browse(move_id).action_send_to_sii()

    @classmethod
    def failed_invoice(cls):
        """An invoice sent while the SII answers HTTP 500: its move id. Its DTE, stamped
        and signed, waits in the sidecar's retry queue."""
        cls.sim_fault("http500")
        try:
            move_id = cls.live_invoice()
            cls.send(move_id)
        finally:
            cls.sim_fault(None)
        return move_id

    # The simulator's control face -----------------------------------------------------

    @classmethod
    def sim_fault(cls, mode):
        """Make the SII simulator fail every upload with ``mode`` (its fault names:
        ``http500``, ``refuse``, ``hang``…), or behave again with ``None``."""
        if not cls.sim_admin_url:
            raise AssertionError("DTE_SII_SIM_ADMIN_URL is not set: cannot drive the SII simulator")
        faults = {"mode": mode, "only": ["upload"]} if mode else {}
        response = requests.put(cls.sim_admin_url.rstrip("/") + "/faults", json=faults, timeout=10)
        response.raise_for_status()
