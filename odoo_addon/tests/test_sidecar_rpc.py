# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Tests of the addon's transport to the sidecar that need no Odoo.

``l10n_cl_dte_sidecar/tools/sidecar_rpc.py`` imports nothing from Odoo; it is loaded here
by its path (importing the addon's package would import Odoo). The server is a real HTTP
server on 127.0.0.1 that answers the way Odoo 19 and the sidecar do.
Run: ``python3 -m unittest discover -s odoo_addon/tests -t odoo_addon/tests``.
"""

import importlib.util
import json
import logging
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "l10n_cl_dte_sidecar" / "tools"


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f"dte_sidecar_tools_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rpc = load_tool("sidecar_rpc")
# Keep the expected warnings off the console (assertLogs still sees them).
logging.getLogger(rpc.__name__).addHandler(logging.NullHandler())
logging.getLogger(rpc.__name__).propagate = False
KEY = "k-3f9a-secret-never-logged"


class Handler(BaseHTTPRequestHandler):
    """Answers by path: /json/2/<model>/<method>; the method name picks the behaviour."""

    requests_seen = []

    def _reply(self, status, body=None, raw=None, content_type="application/json"):
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        Handler.requests_seen.append({
            "path": self.path, "auth": self.headers.get("Authorization"),
            "content_type": self.headers.get("Content-Type"), "body": body,
        })
        if self.headers.get("Authorization") != "bearer " + KEY:
            return self._reply(401, {
                "name": "odoo.exceptions.AccessDenied", "message": "Access Denied",
                "arguments": ["Access Denied"], "context": {}, "debug": "",
            })
        method = self.path.rsplit("/", 1)[-1]
        if method == "echo":
            return self._reply(200, {"got": body})
        if method == "none":
            return self._reply(200, None)
        if method == "user_error":
            return self._reply(422, {
                "name": "odoo.exceptions.UserError", "message": "Folio 120 is outside every CAF",
                "arguments": ["Folio 120 is outside every CAF"], "context": {}, "debug": "",
            })
        if method == "coded_error":
            return self._reply(422, {
                "name": "odoo.exceptions.ValidationError",
                "message": "rut_emisor: 76123456-0 is not the RUT of company 1 (76000001-9)",
                "arguments": ["…"], "context": {}, "debug": "",
                "code": "company.issuer_rut_differs",
                "params": {"argument": "rut_emisor", "rut": "76123456-0", "company_id": 1,
                           "company_rut": "76000001-9"},
            })
        if method == "database_lost":
            return self._reply(503, {
                "name": "odoo.exceptions.ServerError", "message": "the database is unavailable; retry in 1 s",
                "arguments": [], "context": {}, "debug": "",
                "code": "server.database_unavailable", "params": {"retry_after_secs": 1}, "retryable": True,
            })
        if method == "missing":
            return self._reply(404, {
                "name": "odoo.exceptions.MissingError", "message": "Record does not exist",
                "arguments": [], "context": {}, "debug": "",
            })
        if method == "jsonrpc_error":
            return self._reply(200, {"jsonrpc": "2.0", "id": None, "error": {
                "code": 0, "message": "Odoo Server Error",
                "data": {"name": "odoo.exceptions.ValidationError", "message": "RUT inválido",
                         "arguments": ["RUT inválido"], "debug": ""},
            }})
        if method == "jsonrpc_result":
            return self._reply(200, {"jsonrpc": "2.0", "id": None, "result": {"state": "sent"}})
        if method == "result_with_error_key":
            return self._reply(200, {"error": "not an error: a field of the result", "state": "failed"})
        if method == "html_502":
            return self._reply(502, raw=b"<html><body>Bad Gateway</body></html>", content_type="text/html")
        if method == "not_json":
            return self._reply(200, raw=b"OK", content_type="text/plain")
        if method == "slow":
            time.sleep(2.5)
            return self._reply(200, True)
        return self._reply(404, {"name": "werkzeug.exceptions.NotFound", "message": f"no method {method}"})

    def log_message(self, *args):
        pass


class SidecarRpcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        cls.url = f"http://127.0.0.1:{cls.server.server_address[1]}"
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        Handler.requests_seen.clear()

    def call(self, method, params=None, **kw):
        return rpc.call(self.url, KEY, "dte.test", method, params, **kw)

    def test_request_shape(self):
        result = rpc.call(self.url + "/", KEY, "account.move", "echo", {"move_id": 7, "document": {"a": "Ñ"}})
        self.assertEqual(result, {"got": {"move_id": 7, "document": {"a": "Ñ"}}})
        seen = Handler.requests_seen[0]
        self.assertEqual(seen["path"], "/json/2/account.move/echo")
        self.assertEqual(seen["auth"], "bearer " + KEY)
        self.assertTrue(seen["content_type"].startswith("application/json"))

    def test_none_result(self):
        self.assertIsNone(self.call("none"))

    def test_user_error_422(self):
        with self.assertRaises(rpc.SidecarRemoteError) as caught:
            self.call("user_error")
        error = caught.exception
        self.assertEqual(error.name, "odoo.exceptions.UserError")
        self.assertEqual(error.short_name, "UserError")
        self.assertEqual(error.message, "Folio 120 is outside every CAF")
        self.assertEqual(error.status, 422)
        self.assertFalse(error.is_access_error)

    def test_code_and_params_are_kept_as_they_came(self):
        with self.assertRaises(rpc.SidecarRemoteError) as caught:
            self.call("coded_error")
        error = caught.exception
        self.assertEqual(error.code, "company.issuer_rut_differs")
        self.assertEqual(error.params["company_id"], 1)
        self.assertEqual(error.params["argument"], "rut_emisor")
        self.assertFalse(error.retryable)
        self.assertIn("company.issuer_rut_differs", str(error))

    def test_lost_database_is_retryable(self):
        with self.assertRaises(rpc.SidecarRemoteError) as caught:
            self.call("database_lost")
        self.assertEqual(caught.exception.status, 503)
        self.assertEqual(caught.exception.code, "server.database_unavailable")
        self.assertTrue(caught.exception.retryable)

    def test_an_error_without_code_has_none(self):
        with self.assertRaises(rpc.SidecarRemoteError) as caught:
            self.call("user_error")
        self.assertIsNone(caught.exception.code)
        self.assertEqual(caught.exception.params, {})
        error = rpc.parse_error(200, {"error": {"code": 0, "message": "x", "data": {
            "name": "odoo.exceptions.UserError", "message": "x", "code": 7, "params": ["not", "a", "dict"],
            "retryable": "yes"}}})
        self.assertIsNone(error.code, "a code is a string")
        self.assertEqual(error.params, {})
        self.assertFalse(error.retryable, "only true is true")

    def test_bad_key_401(self):
        with self.assertRaises(rpc.SidecarRemoteError) as caught:
            rpc.call(self.url, "wrong-key", "dte.test", "echo", {})
        self.assertTrue(caught.exception.is_access_error)
        self.assertEqual(caught.exception.status, 401)

    def test_missing_404(self):
        with self.assertRaises(rpc.SidecarRemoteError) as caught:
            self.call("missing")
        self.assertTrue(caught.exception.is_missing)

    def test_jsonrpc_shaped_error_and_result(self):
        with self.assertRaises(rpc.SidecarRemoteError) as caught:
            self.call("jsonrpc_error")
        self.assertEqual(caught.exception.short_name, "ValidationError")
        self.assertEqual(caught.exception.message, "RUT inválido")
        self.assertEqual(self.call("jsonrpc_result"), {"state": "sent"})

    def test_result_with_an_error_key_is_not_an_error(self):
        self.assertEqual(self.call("result_with_error_key")["state"], "failed")

    def test_html_error_page(self):
        with self.assertRaises(rpc.SidecarProtocolError) as caught:
            self.call("html_502")
        self.assertEqual(caught.exception.status, 502)
        self.assertIn("Bad Gateway", str(caught.exception))

    def test_body_not_json(self):
        with self.assertRaises(rpc.SidecarProtocolError):
            self.call("not_json")

    def test_timeout_is_its_own_error(self):
        started = time.monotonic()
        with self.assertRaises(rpc.SidecarTimeout) as caught:
            self.call("slow", timeout=0.5)
        self.assertLess(time.monotonic() - started, 2.4)
        self.assertEqual(caught.exception.timeout, 0.5)

    def test_connection_refused_is_its_own_error(self):
        probe = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = probe.server_address[1]
        probe.server_close()  # nothing listens there any more
        with self.assertRaises(rpc.SidecarUnreachable):
            rpc.call(f"http://127.0.0.1:{port}", KEY, "dte.test", "echo", {}, timeout=5)

    def test_timeout_must_be_one_number(self):
        with self.assertRaises(rpc.SidecarConfigError):
            self.call("echo", timeout=(3, 30))
        with self.assertRaises(rpc.SidecarConfigError):
            self.call("echo", timeout=0)

    def test_configuration_errors(self):
        with self.assertRaises(rpc.SidecarConfigError):
            rpc.call("", KEY, "dte.test", "echo")
        with self.assertRaises(rpc.SidecarConfigError):
            rpc.call("ftp://host", KEY, "dte.test", "echo")
        with self.assertRaises(rpc.SidecarConfigError):
            rpc.call(self.url, "", "dte.test", "echo")
        with self.assertRaises(rpc.SidecarConfigError):
            rpc.call(self.url, KEY, "dte.test/../x", "echo")
        with self.assertRaises(rpc.SidecarConfigError):
            rpc.call(self.url, KEY, "dte.test", "a.b")
        self.assertEqual(Handler.requests_seen, [], "nothing is sent on a configuration error")

    def test_key_never_in_logs_or_errors(self):
        logger = logging.getLogger(rpc.__name__)
        with self.assertLogs(logger, level=logging.DEBUG) as logs:
            self.call("echo", {})
            for method in ("user_error", "html_502", "not_json"):
                with self.assertRaises(rpc.SidecarError) as caught:
                    self.call(method)
                self.assertNotIn(KEY, str(caught.exception))
                self.assertNotIn(KEY, repr(caught.exception))
            with self.assertRaises(rpc.SidecarTimeout) as caught:
                self.call("slow", timeout=0.3)
            self.assertNotIn(KEY, str(caught.exception))
        self.assertTrue(logs.output)
        self.assertFalse([line for line in logs.output if KEY in line])

    def test_parse_error_shapes(self):
        self.assertIsNone(rpc.parse_error(400, None))
        self.assertIsNone(rpc.parse_error(400, {"state": "x"}))
        error = rpc.parse_error(200, {"error": {"code": 0, "message": "Odoo Server Error"}})
        self.assertEqual(error.short_name, "UserError")
        self.assertEqual(error.message, "Odoo Server Error")


if __name__ == "__main__":
    unittest.main()
