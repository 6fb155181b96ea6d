"""Odoo RPC clients from PyPI, used as their users use them, against the real sidecar.

Each client and protocol logs in, discovers the models, searches and reads with and
without the optional arguments, calls every method of the README's table and gets an
Odoo error as its own exception type. scripts/test-clients.sh starts the sidecar and the
SII simulator and runs this file; the environment names them:

    DTE_HOST, DTE_PORT   the sidecar
    DTE_KEY              the API key of client "odoo"
    DTE_OTHER_KEY        the API key of client "ops"
    DTE_SIM_ADMIN_URL    the SII simulator's admin face (it issues CAFs)
    DTE_REPO             the repository (fixtures, example documents)
"""

import base64
import datetime
import json
import os
import unittest
import urllib.request
import xmlrpc.client
from pathlib import Path

import odoolib
import odoolib.tools
import odooly
import odoorpc

HOST = os.environ.get("DTE_HOST", "127.0.0.1")
PORT = int(os.environ.get("DTE_PORT", "8070"))
KEY = os.environ.get("DTE_KEY", "")
OTHER_KEY = os.environ.get("DTE_OTHER_KEY", "")
SIM_ADMIN = os.environ.get("DTE_SIM_ADMIN_URL", "http://127.0.0.1:8072")
REPO = Path(os.environ.get("DTE_REPO", Path(__file__).resolve().parents[2]))
DB = "dte_sidecar"
RUT = "76000001-9"
CERT_PASSWORD = "1234"

# The README's table: each method's parameters in positional order. The json2 door
# takes named arguments only; its adapters name the positional ones with this.
SIGNATURES = {
    "register": ["company_id", "rut", "name", "resolution_number", "resolution_date"],
    "set_certificate": ["company_id", "pkcs12", "password"],
    "load": ["company_id", "caf_xml"],
    "folios_left": ["company_id"],
    "action_send_to_sii": ["move_id", "company_id", "document", "folio"],
    "get_dte_status": ["move_ids"],
    "backup_dte": ["dte_type", "folio", "xml_content", "track_id", "move_id", "rut_emisor", "company_id"],
    "download_xml": ["ids"],
    "add_failed_dte": [
        "dte_type", "folio", "xml_content", "error_type", "error_message", "move_id", "rut_emisor", "company_id",
    ],
    "retry_send": ["ids"],
    "retry_due": ["limit"],
    "run_retention": [],
    "get_ted_barcode": ["document_id", "move_id", "image_format"],
    "abandon": ["ids", "reason"],
    "requeue": ["ids"],
    "get_status": ["company_id"],
    "enable_contingency": ["company_id", "reason", "comment"],
    "disable_contingency": ["company_id", "comment"],
    "upload_pending_batch": ["company_id", "batch_size"],
    "create": ["vals_list"],
    "get_kpis": ["company_id"],
    "search_read": ["domain", "fields", "offset", "limit", "order"],
    "read": ["ids", "fields"],
    "search": ["domain", "offset", "limit", "order"],
    "search_count": ["domain", "limit"],
    "name_search": ["name", "domain", "operator", "limit"],
    "fields_get": ["allfields", "attributes"],
    "context_get": [],
}

RECORD_MODELS = [
    "dte.backup", "dte.failed.queue", "dte.contingency", "dte.contingency.pending", "dte.audit.log",
    "dte.document", "dte.document.transition", "dte.envelope", "dte.caf", "dte.certificate", "dte.alert",
    "dte.company",
]


def named(method, args, kwargs):
    # A method the table does not list is taken as a record method: ids first.
    names = SIGNATURES.get(method, ["ids"])
    if len(args) > len(names):
        raise TypeError(f"{method}() takes {len(names)} positional arguments")
    return {**dict(zip(names, args)), **kwargs}


def signed_xml(dte_type, folio):
    """A DTE-shaped XML with the fields a retry reads to send it."""
    return (
        f'<DTE version="1.0"><Documento ID="F{folio}T{dte_type}"><Encabezado><IdDoc>'
        f"<TipoDTE>{dte_type}</TipoDTE><Folio>{folio}</Folio><FchEmis>2026-03-02</FchEmis></IdDoc>"
        f"<Emisor><RUTEmisor>{RUT}</RUTEmisor></Emisor><Receptor><RUTRecep>66666666-6</RUTRecep></Receptor>"
        f"<Totales><MntTotal>1190</MntTotal></Totales></Encabezado></Documento></DTE>"
    )


def rows(result):
    """`read`'s records as a list: some clients answer one record as a dict."""
    return [result] if isinstance(result, dict) else result


def caf_from_simulator(dte_type):
    body = json.dumps({
        "rut": RUT, "name": "EMPRESA DE PRUEBA SINTETICA SPA", "dte_type": dte_type,
        "folio_from": 1, "folio_to": 100, "authorized_on": datetime.date.today().isoformat(),
    }).encode()
    request = urllib.request.Request(
        SIM_ADMIN.rstrip("/") + "/caf", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode("latin-1")


def invoice():
    document = json.loads((REPO / "docs" / "dte-json" / "33.json").read_text(encoding="utf-8"))
    document["issue_date"] = datetime.date.today().isoformat()
    document["due_date"] = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    return document


class ClientScenario:
    """The scenario every client runs; subclasses say how their client is used."""

    company_id = 0  # one company per client and protocol: their records never mix
    error_types = ()  # the client's own exception type(s) for an Odoo error

    # --- what each client does its own way ---
    def login(self):
        """Logs in with the key; returns the uid."""
        raise NotImplementedError

    def login_fails(self):
        """Logs in as "odoo" with the other client's key; must fail the client's way."""
        raise NotImplementedError

    def context(self):
        raise NotImplementedError

    def call(self, model, method, *args, **kwargs):
        raise NotImplementedError

    def error_name(self, exc):
        """The Odoo exception name the client reports."""
        raise NotImplementedError

    # --- the scenario ---
    @classmethod
    def setUpClass(cls):
        cls.move_base = cls.company_id * 1000
        cls.state = {}

    def assertOdooError(self, name, method, *args, **kwargs):  # noqa: N802
        with self.assertRaises(self.error_types) as caught:
            method(*args, **kwargs)
        self.assertIn(name, self.error_name(caught.exception))
        return caught.exception

    def test_01_login_and_own_user(self):
        uid = self.login()
        self.assertEqual(uid, 1)
        context = self.context()
        self.assertEqual(context["uid"], 1)
        self.assertEqual(context["lang"], "en_US")
        self.assertEqual(context["tz"], "UTC")
        me = rows(self.call("res.users", "read", [uid], ["name", "login", "lang", "tz"]))
        self.assertEqual(me[0]["name"], "odoo")
        self.assertEqual(me[0]["login"], "odoo")
        self.assertEqual(me[0]["tz"], "UTC")
        self.assertEqual(self.call("res.users", "search", []), [1])
        self.login_fails()

    def test_02_discover_models_and_fields(self):
        self.login()
        models = self.call("ir.model", "search_read", [], ["model", "name", "transient"])
        names = {m["model"] for m in models}
        for model in RECORD_MODELS + ["account.move", "dte.dashboard", "res.users", "ir.model"]:
            self.assertIn(model, names)
        backup_model = self.call("ir.model", "search_read", [("model", "=", "dte.backup")], ["name"])
        self.assertEqual(backup_model[0]["name"], "DTE Backup")
        self.assertEqual(self.call("ir.model", "search_count", [("model", "ilike", "dte.contingency")]), 2)
        fields = self.call("dte.backup", "fields_get")
        self.assertEqual(fields["folio"]["type"], "char")
        self.assertEqual(fields["sent_date"]["type"], "datetime")
        self.assertEqual(fields["xml_content"]["type"], "binary")
        self.assertEqual(fields["dte_type"]["string"], "DTE Type")
        self.assertTrue(fields["folio"]["readonly"])
        self.assertIn("display_name", fields)
        narrowed = self.call("dte.caf", "fields_get", ["folio_from"], ["type", "string"])
        self.assertEqual(narrowed, {"folio_from": {"type": "integer", "string": "Folio From"}})
        self.assertNotIn("sealed_caf", self.call("dte.caf", "fields_get"))
        for model in RECORD_MODELS:
            self.assertIn("id", self.call(model, "fields_get", attributes=["type"]))
        self.assertEqual(self.call("account.move", "fields_get"), {})

    def test_03_company_certificate_and_cafs(self):
        self.login()
        company = self.company_id
        self.assertEqual(
            self.call("dte.company", "register", company, RUT, f"Empresa {company}", 0, "2026-01-02"), company)
        pkcs12 = base64.b64encode((REPO / "tests" / "fixtures" / "keys" / "signer-11111111-1.p12").read_bytes())
        certificate = self.call("dte.company", "set_certificate", company, pkcs12.decode(), CERT_PASSWORD)
        self.assertEqual(certificate["subject_rut"], "11111111-1")
        loaded = self.call("dte.caf", "load", company_id=company, caf_xml=caf_from_simulator(33))
        self.assertEqual((loaded["folio_from"], loaded["folio_to"]), (1, 100))
        left = self.call("dte.caf", "folios_left", company)
        self.assertIn("33", json.dumps(left))

    def test_04_send_and_status(self):
        self.login()
        move = self.move_base + 1
        sent = self.call("account.move", "action_send_to_sii", move, self.company_id, invoice())
        self.assertEqual(sent["state"], "sent", sent)
        self.assertEqual(sent["folio"], 1)
        again = self.call("account.move", "action_send_to_sii", move, self.company_id, invoice(), False)
        self.assertEqual(again["document_id"], sent["document_id"], "the same document, never a second send")
        status = self.call("account.move", "get_dte_status", [move])
        self.assertEqual(status[0]["folio"], 1)
        self.assertEqual(self.call("account.move", "get_dte_status", move)[0]["move_id"], move)
        stamp = self.call("dte.document", "get_ted_barcode", move_id=move, image_format="svg")
        self.assertEqual((stamp["document_id"], stamp["folio"]), (sent["document_id"], 1))
        self.assertIn("<svg", stamp["svg"])

    def test_05_search_and_read_with_and_without_optional_arguments(self):
        self.login()
        context = {"allowed_company_ids": [self.company_id]}
        mine = [("company_id", "=", self.company_id)]
        every = self.call("dte.document", "search_read", mine)
        self.assertEqual(len(every), 1)
        self.assertEqual(every[0]["display_name"], "DTE 33-1")
        self.assertIn("state", every[0])
        only = self.call("dte.document", "search_read", mine, ["folio", "state"], 0, False, False)
        self.assertEqual(set(only[0]), {"id", "folio", "state"})
        named_args = self.call("dte.document", "search_read", domain=mine, fields=["folio"], offset=0, limit=None,
                               order=None)
        self.assertEqual(named_args, [{"id": every[0]["id"], "folio": 1}])
        scoped = self.call("dte.document", "search_read", [], ["folio"], context=context)
        self.assertEqual([r["folio"] for r in scoped], [1])
        its_transitions = [("document_id", "=", every[0]["id"])]
        transitions = self.call("dte.document.transition", "search", its_transitions)
        self.assertGreaterEqual(len(transitions), 2)
        self.assertEqual(transitions, sorted(transitions), "dte.document.transition's order is by id")
        last = self.call("dte.document.transition", "search", its_transitions, 0, 1, "id desc")
        self.assertEqual(last, [transitions[-1]])
        rest = self.call("dte.document.transition", "search", its_transitions, offset=1, limit=False, order=False)
        self.assertEqual(rest, transitions[1:])
        self.assertEqual(self.call("dte.document.transition", "search", its_transitions, 1, None, None),
                         transitions[1:])
        self.assertEqual(self.call("dte.document", "search_count", mine), 1)
        self.assertEqual(self.call("dte.document.transition", "search_count", [], 1), 1)
        doc_id = every[0]["id"]
        full = rows(self.call("dte.document", "read", [doc_id]))
        self.assertEqual(full[0]["folio"], 1)
        self.assertIn("display_name", full[0])
        self.assertEqual(set(rows(self.call("dte.document", "read", [doc_id], []))[0]), set(full[0]))
        self.assertEqual(rows(self.call("dte.document", "read", doc_id, ["folio"])), [{"id": doc_id, "folio": 1}])
        pairs = self.call("dte.document", "name_search", "33-1", mine)
        self.assertEqual(pairs, [[doc_id, "DTE 33-1"]])
        self.assertEqual(self.call("dte.document", "name_search", "no such", mine, "ilike", 5), [])
        self.assertEqual(len(self.call("dte.company", "name_search", f"Empresa {self.company_id}")), 1)
        for model in RECORD_MODELS:
            self.assertIsInstance(self.call(model, "search_read", [], ["display_name"], 0, 1), list)

    def test_06_backup(self):
        self.login()
        folio = 9000 + self.company_id
        backup_id = self.call("dte.backup", "backup_dte", "33", str(folio), signed_xml(33, folio), "0123456",
                              self.move_base + 2, False, self.company_id)
        self.assertIsInstance(backup_id, int)
        download = self.call("dte.backup", "download_xml", [backup_id])
        self.assertIn(f"<Folio>{folio}</Folio>", base64.b64decode(download["xml_base64"]).decode())
        self.assertEqual(self.call("dte.backup", "download_xml", backup_id)["sha256"], download["sha256"])
        retention = self.call("dte.backup", "run_retention")
        self.assertEqual((retention["removed"], retention["retention_years"]), (0, 6), "nothing is six years old")
        self.assertOdooError("UserError", self.call, "dte.backup", "backup_dte", "33", str(folio),
                             signed_xml(33, folio).replace("<DTE ", "<DTE  "), "0123456", self.move_base + 2,
                             None, self.company_id)

    def test_07_failed_queue(self):
        self.login()
        folio = 9100 + self.company_id
        entry = self.call("dte.failed.queue", "add_failed_dte", "33", folio, signed_xml(33, folio), "timeout",
                          "SII timeout after 60s", self.move_base + 3, company_id=self.company_id)
        self.assertIsInstance(entry, int)
        self.assertTrue(self.call("dte.failed.queue", "abandon", entry, "sent on paper"))
        state = rows(self.call("dte.failed.queue", "read", [entry], ["state"]))[0]["state"]
        self.assertEqual(state, "abandoned")
        self.assertTrue(self.call("dte.failed.queue", "requeue", [entry]))
        self.assertEqual(rows(self.call("dte.failed.queue", "read", entry, ["state"]))[0]["state"], "pending")
        retried = self.call("dte.failed.queue", "retry_send", [entry])
        self.assertEqual([r["id"] for r in retried], [entry])
        self.assertOdooError("UserError", self.call, "dte.failed.queue", "requeue", [entry])
        # The hourly cron's handle: the entry just retried is not due again yet.
        due = self.call("dte.failed.queue", "retry_due", 10)
        self.assertNotIn(entry, due["ids"])

    def test_08_contingency(self):
        self.login()
        company = self.company_id
        self.assertFalse(self.call("dte.contingency", "get_status", company)["enabled"])
        enabled = self.call("dte.contingency", "enable_contingency", company, "sii_unavailable", "SII no responde")
        self.assertTrue(enabled["enabled"])
        kept = self.call("account.move", "action_send_to_sii", self.move_base + 4, company, invoice())
        self.assertEqual(kept["state"], "contingency", kept)
        self.assertFalse(self.call("dte.contingency", "disable_contingency", company, None)["enabled"])
        batch = self.call("dte.contingency", "upload_pending_batch", company, 50)
        self.assertEqual(batch["uploaded"], 1, batch)
        self.assertEqual(self.call("dte.contingency", "upload_pending_batch", company)["remaining"], 0)
        folio = 9200 + company
        pending = self.call("dte.contingency.pending", "create", {
            "dte_type": "33", "folio": str(folio), "move_id": self.move_base + 5, "company_id": company,
            "xml_content": base64.b64encode(signed_xml(33, folio).encode()).decode(),
        })
        self.assertIsInstance(pending, int)
        row = rows(self.call("dte.contingency.pending", "read", [pending], ["folio", "uploaded", "display_name"]))[0]
        self.assertEqual((row["folio"], row["uploaded"]), (str(folio), False))

    def test_09_dashboard(self):
        self.login()
        kpis = self.call("dte.dashboard", "get_kpis", self.company_id)
        for key in ("failed_queue_count", "retry_success_rate", "contingency_active", "pending_contingency_count",
                    "backup_storage_mb", "documents_by_state", "folios_left"):
            self.assertIn(key, kpis)
        self.assertFalse(kpis["contingency_active"])

    def test_10_errors_are_the_clients_own(self):
        self.login()
        self.assertOdooError("ValidationError", self.call, "dte.company", "register", self.company_id,
                             "76000001-8", "RUT inválido")
        self.assertOdooError("MissingError", self.call, "dte.backup", "read", [999999], ["folio"])
        self.assertOdooError("ValidationError", self.call, "dte.backup", "search_read",
                             [("no_such_field", "=", 1)])
        self.assertOdooError("ValidationError", self.call, "dte.backup", "search", [("folio", "child_of", 1)])
        # A prefix search (what the search boxes send) is an operator the sidecar takes.
        self.assertIsInstance(self.call("dte.backup", "search", [("track_id", "=like", "5%")]), list)
        self.assertOdooError("AccessError", self.call, "dte.contingency", "get_status", 999,
                             context={"allowed_company_ids": [self.company_id]})
        self.assertOdooError("NotFound", self.call, "dte.backup", "unlink", [1])
        self.assertOdooError("NotFound", self.call, "res.partner", "search_read", [])
        self.assertOdooError("MissingError", self.call, "res.users", "read", [2], ["name"])


# --- odoo-client-lib (odoolib), the client Odoo publishes ------------------------------

class OdooLibJsonRpc(ClientScenario, unittest.TestCase):
    company_id = 1
    error_types = (odoolib.tools.JsonRPCException,)

    def connection(self, key=KEY):
        return odoolib.get_connection(hostname=HOST, protocol="jsonrpc", port=PORT, database=DB, login="odoo",
                                      password=key)

    def login(self):
        self.conn = self.connection()
        self.conn.check_login()
        return self.conn.user_id

    def login_fails(self):
        with self.assertRaises(odoolib.tools.AuthenticationError):
            self.connection(OTHER_KEY).check_login()

    def context(self):
        return self.conn.get_user_context()

    def call(self, model, method, *args, **kwargs):
        return getattr(self.conn.get_model(model), method)(*args, **kwargs)

    def error_name(self, exc):
        return exc.error["data"]["name"]

    def test_11_the_clients_own_helpers(self):
        self.login()
        documents = self.conn.get_model("dte.document")
        # search_read is the client's: search(domain, offset, limit or False, order or False), then read.
        found = documents.search_read([("company_id", "=", self.company_id), ("folio", "=", 1)], ["folio"])
        self.assertEqual([r["folio"] for r in found], [1])
        self.assertEqual(documents.read(found[0]["id"], ["folio"])["folio"], 1, "one id reads one record")


class OdooLibXmlRpc(OdooLibJsonRpc):
    """odoo-client-lib as its README shows it: no `protocol` argument, so XML-RPC."""

    company_id = 6
    error_types = (xmlrpc.client.Fault,)

    def connection(self, key=KEY):
        return odoolib.get_connection(hostname=HOST, port=PORT, database=DB, login="odoo", password=key)

    def login_fails(self):
        with self.assertRaises(odoolib.tools.AuthenticationError):
            self.connection(OTHER_KEY).check_login()

    def call(self, model, method, *args, **kwargs):
        # XML-RPC carries no None: Odoo's callers send False, as Odoo marshals None.
        args = [False if a is None else a for a in args]
        kwargs = {k: False if v is None else v for k, v in kwargs.items()}
        return getattr(self.conn.get_model(model), method)(*args, **kwargs)

    def error_name(self, exc):
        # /xmlrpc (the client's path) names a user's or access error in the code ("warning --
        # UserError", "AccessDenied"); anything else (an unknown model or method) is Odoo's
        # application error, whose code is its message.
        code = str(exc.faultCode)
        return code if code.startswith("warning -- ") or code == "AccessDenied" else f"NotFound ServerError: {code}"


class PythonXmlRpc(ClientScenario, unittest.TestCase):
    """Python's own xmlrpc.client, as in Odoo's external API documentation."""

    company_id = 7
    error_types = (xmlrpc.client.Fault,)
    # /xmlrpc/2 faults carry Odoo's integer codes: 2 warnings, 3 access denied, 4 access errors.
    # 1 is Odoo's application error: an unknown model or method is one there.
    FAULT_NAMES = {1: "NotFound ServerError", 2: "UserError ValidationError MissingError", 3: "AccessDenied",
                   4: "AccessError"}

    def login(self):
        url = f"http://{HOST}:{PORT}"
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
        self.assertEqual(common.version()["server_version"], "19.0")
        self.uid = common.authenticate(DB, "odoo", KEY, {})
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")
        return self.uid

    def login_fails(self):
        common = xmlrpc.client.ServerProxy(f"http://{HOST}:{PORT}/xmlrpc/2/common")
        self.assertFalse(common.authenticate(DB, "odoo", OTHER_KEY, {}))
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self.models.execute_kw(DB, self.uid, OTHER_KEY + "-wrong", "dte.backup", "search", [[]])
        self.assertEqual(caught.exception.faultCode, 3)

    def context(self):
        return self.call("res.users", "context_get")

    def call(self, model, method, *args, **kwargs):
        args = [False if a is None else a for a in args]
        kwargs = {k: False if v is None else v for k, v in kwargs.items()}
        return self.models.execute_kw(DB, self.uid, KEY, model, method, list(args), kwargs)

    def error_name(self, exc):
        return self.FAULT_NAMES.get(exc.faultCode, str(exc.faultCode))


class OdooLibJson2(OdooLibJsonRpc):
    company_id = 2
    error_types = (ValueError, odoolib.tools.AuthenticationError)

    def connection(self, key=KEY):
        return odoolib.get_connection(hostname=HOST, protocol="json2", port=PORT, database=DB, password=key)

    def login(self):
        self.conn = self.connection()
        self.assertTrue(self.conn.check_login())
        return self.conn.get_user_context()["uid"]

    def login_fails(self):
        self.assertFalse(self.connection(OTHER_KEY + "-wrong").check_login())

    def call(self, model, method, *args, **kwargs):
        # The json2 door takes named arguments (positional ones would need /doc-bearer).
        params = named(method, args, kwargs)
        model_proxy = self.conn.get_model(model)
        return getattr(model_proxy, method)(**params)

    def error_name(self, exc):
        return str(exc)

    def test_11_the_clients_own_helpers(self):
        self.login()
        documents = self.conn.get_model("dte.document")
        found = documents.search_read(domain=[("company_id", "=", self.company_id), ("folio", "=", 1)], fields=["folio"])
        self.assertEqual([r["folio"] for r in found], [1])
        self.assertEqual(documents.read(ids=[found[0]["id"]], fields=["folio"])["folio"], 1)


# --- OdooRPC -----------------------------------------------------------------------------

class OdooRpcJsonRpc(ClientScenario, unittest.TestCase):
    company_id = 3
    error_types = (odoorpc.error.RPCError,)

    def login(self):
        self.odoo = odoorpc.ODOO(HOST, port=PORT)
        self.assertEqual(self.odoo.version, "19.0")
        self.odoo.login(DB, "odoo", KEY)
        return self.odoo.env.uid

    def login_fails(self):
        with self.assertRaises(odoorpc.error.RPCError):
            odoorpc.ODOO(HOST, port=PORT).login(DB, "odoo", OTHER_KEY)

    def context(self):
        return self.odoo.env.context

    def call(self, model, method, *args, **kwargs):
        return getattr(self.odoo.env[model], method)(*args, **kwargs)

    def error_name(self, exc):
        return exc.info["data"]["name"]

    def test_11_the_clients_own_helpers(self):
        self.login()
        env = self.odoo.env
        self.assertEqual(env.user.name, "odoo")
        self.assertEqual(env.user.tz, "UTC")
        self.assertIn("dte.backup", env)
        self.assertNotIn("res.partner", env)
        Document = env["dte.document"]
        ids = Document.search([("company_id", "=", self.company_id), ("folio", "=", 1)])
        document = Document.browse(ids[0])
        self.assertEqual(document.folio, 1)
        self.assertEqual(document.display_name, "DTE 33-1")
        self.assertIsInstance(document.issue_date, datetime.date)
        Queue = env["dte.failed.queue"]
        entry = Queue.add_failed_dte("33", 9300, signed_xml(33, 9300), "connection", "no route to the SII",
                                     self.move_base + 6, company_id=self.company_id)
        record = Queue.browse(entry)
        self.assertEqual(record.state, "pending")
        self.assertTrue(record.abandon("sent on paper"))
        self.assertTrue(record.requeue())


# --- Odooly ------------------------------------------------------------------------------

class OdoolyJsonRpc(ClientScenario, unittest.TestCase):
    company_id = 4
    error_types = (odooly.ServerError,)

    def login(self):
        self.client = odooly.Client(f"http://{HOST}:{PORT}/jsonrpc", db=DB, user="odoo", password=KEY)
        return self.client.env.uid

    def login_fails(self):
        with self.assertRaises(odooly.Error):
            odooly.Client(f"http://{HOST}:{PORT}/jsonrpc", db=DB + "-other", user="odoo", password=OTHER_KEY)

    def context(self):
        return self.client.env.context

    def call(self, model, method, *args, **kwargs):
        env = self.client.env
        context = kwargs.pop("context", None)
        if context is not None:
            env = env(context={**env.context, **context})
        if not args and "domain" in kwargs and method in ("search", "search_read", "search_count"):
            # Odooly's execute always sends the domain first, positionally.
            args = (kwargs.pop("domain"),)
        return env.execute(model, method, *args, **kwargs)

    def error_name(self, exc):
        return exc.args[0]["data"]["name"]

    def test_11_the_clients_own_helpers(self):
        self.login()
        env = self.client.env
        self.assertEqual(env.user.login, "odoo")
        self.assertIn("dte.backup", env.models("dte."))
        Document = env["dte.document"]
        found = Document.search([("company_id", "=", self.company_id), ("folio", "=", 1)])
        self.assertEqual(found.read("folio"), [1])
        self.assertEqual(Document.browse(found.ids[0]).display_name, "DTE 33-1")
        self.assertEqual(Document.search_count([("company_id", "=", self.company_id)]), 2)
        self.assertEqual(len(Document.search_read([("company_id", "=", self.company_id)], ["folio"])), 2)


class OdoolyJson2(OdoolyJsonRpc):
    company_id = 5
    error_types = (odooly.ServerError,)
    # The methods Odooly names itself on the json2 door; others need Odoo's /doc-bearer
    # (api_doc), which the sidecar does not serve, so they are called with named arguments.
    odooly_named = {name for name, _ in odooly._base_method_params}

    def login(self):
        self.client = odooly.Client(f"http://{HOST}:{PORT}", db=DB, user="odoo", api_key=KEY)
        self.assertEqual(self.client.env._execute_kw._protocol_name, "JSON-2")
        return self.client.env.uid

    def login_fails(self):
        with self.assertRaises((odooly.Error, odooly.ServerError)):
            odooly.Client(f"http://{HOST}:{PORT}", db=DB + "-other", user="odoo", api_key=OTHER_KEY + "-wrong")

    def call(self, model, method, *args, **kwargs):
        if args and method not in self.odooly_named:
            kwargs, args = named(method, args, kwargs), ()
        return super().call(model, method, *args, **kwargs)


if __name__ == "__main__":
    unittest.main()
