#!/usr/bin/env python3
"""Hostile requests against a running sidecar held to a memory limit (scripts/test-memory-limit.sh).

Every case goes through both doors (/jsonrpc and /json/2) and must get an Odoo-shaped error
of the expected kind; meanwhile another client polls /readyz, which must answer 200 every
time, and the cgroup's memory is sampled. After every case the process must still be alive.
Standard library only.

Environment: DTE_BASE (http://127.0.0.1:PORT), DTE_KEY, DTE_PID, DTE_CGROUP (the cgroup
directory), DTE_CGROUP_VERSION (1 or 2), DTE_LIMIT_BYTES, DTE_REPO, DTE_WORK (a scratch dir).
Prints "memory-limit: N passed, N failed"; exits 1 when a check failed.
"""

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

BASE = urlparse(os.environ["DTE_BASE"])
KEY = os.environ["DTE_KEY"]
PID = int(os.environ["DTE_PID"])
CGROUP = os.environ["DTE_CGROUP"]
CGROUP_VERSION = os.environ.get("DTE_CGROUP_VERSION", "1")
LIMIT = int(os.environ["DTE_LIMIT_BYTES"])
REPO = os.environ["DTE_REPO"]
WORK = os.environ["DTE_WORK"]
COMPANY_RUT = "76000001-9"

VALIDATION = "odoo.exceptions.ValidationError"
USER = "odoo.exceptions.UserError"
ACCESS_DENIED = "odoo.exceptions.AccessDenied"
BAD_REQUEST = "werkzeug.exceptions.BadRequest"

passed = 0
failures = []


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
        print(f"  FAIL: {what}", flush=True)


def post(path, body, headers=None, timeout=120):
    """POST raw bytes; returns (status, parsed JSON or None, raw text)."""
    conn = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw), raw
        except ValueError:
            return response.status, None, raw
    except (OSError, http.client.HTTPException) as e:
        return None, None, str(e).encode()
    finally:
        conn.close()


def json2(model, method, kwargs=None, body=None, key=KEY):
    if body is None:
        body = json.dumps(kwargs).encode()
    return post(f"/json/2/{model}/{method}", body, {"Authorization": f"bearer {key}"})


def execute_kw(model, method, kwargs=None, key=KEY, body=None):
    if body is None:
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 7, "params": {
            "service": "object", "method": "execute_kw",
            "args": ["dte", 1, key, model, method, [], kwargs]}}).encode()
    return post("/jsonrpc", body)


def odoo_error_json2(status, body, name, expected):
    return (status is not None and 400 <= status < 500 and isinstance(body, dict)
            and body.get("name") == name and expected in str(body.get("message"))
            and isinstance(body.get("arguments"), list) and "context" in body and "debug" in body)


def odoo_error_jsonrpc(status, body, name, expected):
    if status != 200 or not isinstance(body, dict) or "error" not in body:
        return False
    error = body["error"]
    data = error.get("data", {})
    return (error.get("code") == 0 and error.get("message") == "Odoo Server Error"
            and data.get("name") == name and expected in str(data.get("message")))


def alive():
    try:
        os.kill(PID, 0)
    except OSError:
        return False
    # A zombie still answers kill(0): look at its state.
    with open(f"/proc/{PID}/stat") as f:
        return f.read().split(") ")[-1][0] not in "ZX"


def both_doors(label, model, method, kwargs, name, expected, json2_body=None, jsonrpc_body=None):
    """`expected` is a part of the message, or a pair of them (/json/2, /jsonrpc)."""
    expected_json2, expected_jsonrpc = (expected, expected) if isinstance(expected, str) else expected
    status, body, raw = json2(model, method, kwargs, body=json2_body)
    check(odoo_error_json2(status, body, name, expected_json2),
          f"{label} /json/2: expected {name} '{expected_json2}', got {status} {raw[:300]!r}")
    status, body, raw = execute_kw(model, method, kwargs, body=jsonrpc_body)
    check(odoo_error_jsonrpc(status, body, name, expected_jsonrpc),
          f"{label} /jsonrpc: expected {name} '{expected_jsonrpc}', got {status} {raw[:300]!r}")
    check(alive(), f"{label}: the process died")
    print(f"  ok: {label}", flush=True)


class Watcher(threading.Thread):
    """Polls /readyz on connections of its own, with the chart's readiness timeout (3 s),
    and samples the cgroup's memory."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.polls = 0
        self.failed = []
        self.slowest = 0.0
        self.peak_sampled = 0

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                conn = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=3)
                conn.request("GET", "/readyz")
                response = conn.getresponse()
                body = response.read()
                conn.close()
                if response.status != 200:
                    self.failed.append(f"{response.status} {body[:200]!r}")
            except (OSError, http.client.HTTPException) as e:
                self.failed.append(f"no answer: {e}")
            self.slowest = max(self.slowest, time.monotonic() - started)
            self.polls += 1
            self.peak_sampled = max(self.peak_sampled, usage())
            self.stop.wait(0.1)


def cgroup_read(name):
    try:
        with open(os.path.join(CGROUP, name)) as f:
            return f.read()
    except OSError:
        return ""


def usage():
    text = cgroup_read("memory.usage_in_bytes" if CGROUP_VERSION == "1" else "memory.current").strip()
    return int(text) if text.isdigit() else 0


def peak():
    text = cgroup_read("memory.max_usage_in_bytes" if CGROUP_VERSION == "1" else "memory.peak").strip()
    return int(text) if text.isdigit() else 0


def oom_kills():
    if CGROUP_VERSION == "1":
        lines = cgroup_read("memory.oom_control").splitlines()
        failcnt = cgroup_read("memory.failcnt").strip()
    else:
        lines = cgroup_read("memory.events").splitlines()
        failcnt = next((l.split()[1] for l in lines if l.startswith("max ")), "0")
    kills = next((int(l.split()[1]) for l in lines if l.startswith("oom_kill ")), 0)
    return kills, int(failcnt or 0)


def p12_with_iterations(iterations, name):
    """The synthetic signer's certificate and key in a PKCS#12 with this many iterations."""
    path = os.path.join(WORK, name)
    keys = os.path.join(REPO, "tests", "fixtures", "keys")
    subprocess.run(["openssl", "pkcs12", "-export", "-in", os.path.join(keys, "signer-11111111-1-cert.pem"),
                    "-inkey", os.path.join(keys, "signer-11111111-1-key.pem"), "-passout", "pass:1234",
                    "-iter", str(iterations), "-out", path], check=True)
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def trickle(path):
    """The head of a request and a few bytes of its body, then nothing: cut off by the body timeout."""
    head = (f"POST {path} HTTP/1.1\r\nHost: {BASE.hostname}\r\nAuthorization: bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"company_id\"").encode()
    with socket.create_connection((BASE.hostname, BASE.port), timeout=30) as s:
        s.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer.decode("utf-8", "replace")


def main():
    status, body, raw = json2("dte.company", "register", {"company_id": 1, "rut": COMPANY_RUT, "name": "EMPRESA DEMO SPA"})
    if status != 200:
        print(f"memory-limit: cannot register the company: {status} {raw[:300]!r}")
        return 1
    watcher = Watcher()
    watcher.start()

    # Domains: huge, long, deep, and a NUL byte.
    nots = json.dumps({"domain": ["!"] * 1_000_000 + [["folio", "=", "1"]]})
    both_doors("a million '!' in a domain (4 MB)", "dte.backup", "search_read", json.loads(nots), VALIDATION,
               "more than the 1000")
    both_doors("an implicit '&' of 200000 terms", "dte.backup", "search_count",
               {"domain": [["folio", "=", "1"]] * 200_000}, VALIDATION, "domain:")
    both_doors("'&' nested 150 deep", "dte.backup", "search",
               {"domain": ["&"] * 150 + [["folio", "=", "1"]] * 151}, VALIDATION, "nested deeper")
    both_doors("a NUL byte in a domain value", "dte.backup", "search_read",
               {"domain": [["folio", "=", "1\u0000"]]}, VALIDATION, "NUL character")
    both_doors("a NUL byte in a text argument", "dte.contingency", "enable_contingency",
               {"company_id": 1, "reason": "manual", "comment": "a\u0000b"}, VALIDATION, "comment: text may not")
    # Memory multiplication: a million ids, and JSON nested past the parser's depth limit.
    both_doors("read of a million ids", "dte.company", "read", {"ids": [1] * 1_000_000}, VALIDATION,
               "ids: 1000000 ids is more than")
    deep = b'{"domain": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    deep_rpc = (b'{"jsonrpc":"2.0","method":"call","id":1,"params":{"service":"object","method":"execute_kw",'
                b'"args":["dte",1,"' + KEY.encode() + b'","dte.backup","search",' + b"[" * 100_000
                + b"]" * 100_000 + b",{}]}}")
    both_doors("JSON nested 100000 deep", "dte.backup", "search", None, BAD_REQUEST, "could not parse",
               json2_body=deep, jsonrpc_body=deep_rpc)
    both_doors("a body that is not UTF-8", "dte.backup", "search", None, BAD_REQUEST,
               ("could not parse", "expected a JSON-RPC request object"),
               json2_body=b'{"domain": "\xff\xfe"}', jsonrpc_body=b'{"jsonrpc": "2.0", "id": "\xff\xfe"}')
    # Size: a body over the 8 MB cap, and a large body with a wrong key.
    big = b'{"domain": [' + b'"x",' * 2_300_000 + b'"x"]}'
    big_rpc = (b'{"jsonrpc":"2.0","method":"call","id":1,"params":{"service":"object","method":"execute_kw",'
               b'"args":["dte",1,"' + KEY.encode() + b'","dte.backup","search",[[' + b'"x",' * 2_300_000
               + b'"x"]],{}]}}')
    both_doors("a 9 MB body", "dte.backup", "search", None, USER, "larger than", json2_body=big, jsonrpc_body=big_rpc)
    status, body, raw = json2("dte.backup", "search_read", {"domain": [{"a": [1, 2, {"b": "c"}]}] * 100_000},
                              key="wrong-key-0123456789abcdef")
    check(status == 401 and isinstance(body, dict) and body.get("name") == ACCESS_DENIED,
          f"a large body with a wrong key /json/2: {status} {raw[:200]!r}")
    status, body, raw = execute_kw("dte.backup", "search_read", {"domain": [{"a": [1, 2, {"b": "c"}]}] * 100_000},
                                   key="wrong-key-0123456789abcdef")
    check(odoo_error_jsonrpc(status, body, ACCESS_DENIED, "Access Denied"),
          f"a large body with a wrong key /jsonrpc: {status} {raw[:200]!r}")
    print("  ok: a large body with a wrong key", flush=True)
    # A body that never finishes arriving.
    for path in ["/json/2/dte.contingency/get_status", "/jsonrpc"]:
        answer = trickle(path)
        check("did not arrive within" in answer and BAD_REQUEST in answer, f"a slow body on {path}: {answer[:300]!r}")
    check(alive(), "slow bodies: the process died")
    print("  ok: slow bodies are cut off", flush=True)

    # Markup: DTDs in any disguise, entity bombs, in backups, the retry queue and CAFs.
    def backup(xml):
        return {"dte_type": "33", "folio": "7", "xml_content": xml, "track_id": "1", "move_id": 3, "company_id": 1}

    for label, xml, expected in [
        ("UTF-7 DOCTYPE", '<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE DTE +AFs-+ADw-!ENTITY a "x"+AD4-+AF0-+AD4-'
                          '<DTE>+ACY-a;</DTE>', "encoding UTF-7 is not accepted"),
        ("UTF-16 declared", '<?xml version="1.0" encoding="UTF-16"?><DTE/>', "encoding UTF-16 is not accepted"),
        ("EBCDIC declared", '<?xml version="1.0" encoding="ebcdic-cp-us"?><DTE/>', "is not accepted"),
        ("external DTD", '<!doctype DTE SYSTEM "file:///etc/passwd"><DTE/>', "DTD"),
        ("undeclared entity", "<DTE>&lol;</DTE>", "not well-formed"),
    ]:
        both_doors(f"backup_dte: {label}", "dte.backup", "backup_dte", backup(xml), VALIDATION, expected)
    laughs = '<?xml version="1.0"?><!DOCTYPE DTE [<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10)) + "]><DTE>&l9;</DTE>"
    both_doors("backup_dte: billion laughs", "dte.backup", "backup_dte", backup(laughs), VALIDATION, "DTD")
    # A few MB of nested references, near the 4 MB xml_content cap.
    bomb = '<?xml version="1.0"?><!DOCTYPE DTE [<!ENTITY a "' + "x" * 1000 + '">' + "".join(
        f'<!ENTITY b{i} "{"&a;" * 100}">' for i in range(9000)) + "]><DTE>" + "&b1;" * 1000 + "</DTE>"
    both_doors(f"add_failed_dte: {len(bomb) // 1024} KB of entities", "dte.failed.queue", "add_failed_dte",
               {"dte_type": "33", "folio": "7", "xml_content": bomb, "error_type": "connection",
                "error_message": "x", "move_id": 3, "company_id": 1}, VALIDATION, "DTD")
    pending_bomb = base64.b64encode(laughs.encode()).decode()
    both_doors("contingency pending: billion laughs", "dte.contingency.pending", "create",
               {"vals_list": [{"dte_type": "33", "folio": "7", "xml_content": pending_bomb, "move_id": 3,
                               "company_id": 1}]}, VALIDATION, "DTD")
    caf = '<?xml version="1.0"?><!DOCTYPE AUTORIZACION [<!ENTITY x "y">]><AUTORIZACION>&x;</AUTORIZACION>'
    both_doors("CAF with a DTD", "dte.caf", "load", {"company_id": 1, "caf_xml": caf}, VALIDATION, "DTD")

    # PKCS#12: more iterations than the cap, and a dozen uploads at the cap at once while
    # /readyz is polled (the key derivation must not hold the database pool).
    over = p12_with_iterations(2_000_000, "over.p12")
    both_doors("PKCS#12 asking for 2000000 iterations", "dte.company", "set_certificate",
               {"company_id": 1, "pkcs12": over, "password": "1234"}, VALIDATION, "key-derivation iterations")
    at_cap = p12_with_iterations(1_000_000, "at-cap.p12")
    kwargs = {"company_id": 1, "pkcs12": at_cap, "password": "not-the-password"}

    def upload(i):
        if i % 2:
            status, body, _ = json2("dte.company", "set_certificate", kwargs)
            return odoo_error_json2(status, body, VALIDATION, "wrong password")
        status, body, _ = execute_kw("dte.company", "set_certificate", kwargs)
        return odoo_error_jsonrpc(status, body, VALIDATION, "wrong password")

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(upload, range(12)))
    check(all(outcomes), f"12 concurrent PKCS#12 uploads at the iteration cap: {outcomes}")
    check(alive(), "concurrent PKCS#12 uploads: the process died")
    print("  ok: 12 concurrent PKCS#12 uploads at the iteration cap", flush=True)

    # Many large bodies at once: each is up to 8 MB of small JSON values, a tree many
    # times its size once parsed.
    ids = b'{"ids": [' + b"1," * 4_000_000 + b'1], "fields": ["rut"]}'
    ids_rpc = (b'{"jsonrpc":"2.0","method":"call","id":1,"params":{"service":"object","method":"execute_kw",'
               b'"args":["dte",1,"' + KEY.encode() + b'","dte.company","read",[[' + b"1," * 4_000_000
               + b'1]],{"fields":["rut"]}]}}')

    def flood(i):
        if i % 2:
            status, body, _ = post("/json/2/dte.company/read", ids, {"Authorization": f"bearer {KEY}"})
            return odoo_error_json2(status, body, VALIDATION, "ids is more than")
        status, body, _ = post("/jsonrpc", ids_rpc)
        return odoo_error_jsonrpc(status, body, VALIDATION, "ids is more than")

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(flood, range(16)))
    check(all(outcomes), f"16 concurrent 8 MB reads: {outcomes}")
    check(alive(), "16 concurrent 8 MB reads: the process died")
    print("  ok: 16 concurrent 8 MB bodies", flush=True)

    # The XML-RPC doors: entities, depth, size and a flood of large calls, each a fault.
    def xmlrpc_fault(label, body, expected, path="/xmlrpc/2/object"):
        status, _, raw = post(path, body, {"Content-Type": "text/xml"})
        text = raw.decode(errors="replace")
        check(status == 200 and "<fault>" in text and expected in text,
              f"{label} {path}: expected a fault with '{expected}', got {status} {text[:300]!r}")
        check(alive(), f"{label}: the process died")

    def method_call(inner):
        return (b"<?xml version='1.0'?><methodCall><methodName>execute_kw</methodName><params>" + inner
                + b"</params></methodCall>")

    laughs_rpc = laughs.replace("<DTE>&l9;</DTE>", "").replace("DOCTYPE DTE", "DOCTYPE methodCall").encode() + \
        b"<methodCall><methodName>&l9;</methodName></methodCall>"
    for path in ["/xmlrpc/2/object", "/xmlrpc/object"]:
        xmlrpc_fault("XML-RPC: billion laughs", laughs_rpc, "a DTD or entity declaration is not accepted", path)
        xmlrpc_fault("XML-RPC: values nested 150000 deep",
                     method_call(b"<param>" + b"<value><array><data>" * 150_000 + b"</data></array></value>" * 150_000
                                 + b"</param>"), "nest deeper than", path)
        xmlrpc_fault("XML-RPC: 8 MB of empty values",
                     method_call(b"<param><value><array><data>" + b"<value/>" * 1_000_000 + b"</data></array></value>"
                                 + b"</param>"), "too many nodes", path)
        xmlrpc_fault("XML-RPC: a 9 MB body", method_call(b"<param><value>" + b"x" * 9_000_000 + b"</value></param>"),
                     "larger than", path)
    print("  ok: XML-RPC bodies with entities, depth or size are faults", flush=True)
    ids_xml = method_call(b"".join(b"<param><value><string>%s</string></value></param>" % v for v in
                                   [b"dte", b"1", KEY.encode(), b"dte.company", b"read"])
                          + b"<param><value><array><data>" + b"<value><array><data><value><int>1</int></value>"
                          + b"<value><int>1</int></value>" * 60_000 + b"</data></array></value></data></array></value>"
                          + b"</param>")

    def xml_flood(_):
        status, _, raw = post("/xmlrpc/2/object", ids_xml, {"Content-Type": "text/xml"})
        return status == 200 and b"<fault>" in raw and b"ids is more than" in raw

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(xml_flood, range(8)))
    check(all(outcomes), f"8 concurrent XML-RPC reads of 60001 ids: {outcomes}")
    check(alive(), "concurrent XML-RPC reads: the process died")
    print("  ok: 8 concurrent large XML-RPC calls", flush=True)

    # One id asked 10,000 times (a 70 KB request) is one record answered, four at once.
    xml = ('<?xml version="1.0" encoding="ISO-8859-1"?><DTE><Documento ID="F9T33"><Encabezado><IdDoc>'
           '<TipoDTE>33</TipoDTE><Folio>9</Folio></IdDoc></Encabezado><Relleno>' + "x" * 1_000_000
           + "</Relleno></Documento></DTE>")
    status, body, raw = json2("dte.backup", "backup_dte", {"dte_type": "33", "folio": "9", "xml_content": xml,
                                                           "track_id": "1", "move_id": 9, "company_id": 1})
    check(status == 200 and isinstance(body, int), f"a 1 MB backup: {status} {raw[:200]!r}")

    def same_id(i):
        kwargs = {"ids": [body] * 10_000, "fields": ["xml_content"]}
        if i % 2:
            status, answer, _ = json2("dte.backup", "read", kwargs)
            return status == 200 and isinstance(answer, list) and len(answer) == 1
        status, answer, _ = execute_kw("dte.backup", "read", kwargs)
        return status == 200 and isinstance(answer, dict) and len(answer.get("result", [])) == 1

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(same_id, range(4)))
    check(all(outcomes), f"4 concurrent reads of one 1 MB backup asked 10000 times: {outcomes}")
    check(alive(), "reads of one id asked many times: the process died")
    print("  ok: 4 concurrent reads of one id asked 10000 times", flush=True)

    # The service still serves real calls.
    status, body, raw = json2("dte.contingency", "get_status", {"company_id": 1})
    check(status == 200 and isinstance(body, dict) and body.get("company_id") == 1,
          f"a real call after the suite: {status} {raw[:200]!r}")
    time.sleep(0.5)
    watcher.stop.set()
    watcher.join()
    check(watcher.polls > 0 and not watcher.failed,
          f"/readyz failed {len(watcher.failed)} of {watcher.polls} times: {watcher.failed[:5]}")
    kills, failcnt = oom_kills()
    top = max(peak(), watcher.peak_sampled)
    check(kills == 0, f"the kernel's OOM killer ran {kills} times in the cgroup")
    check(failcnt == 0 and top < LIMIT, f"memory reached the limit: peak {top} of {LIMIT} bytes, failcnt {failcnt}")
    check(alive(), "the process died")
    mib = 1024 * 1024
    print(f"memory-limit: peak {top / mib:.1f} MiB of a {LIMIT / mib:.0f} MiB limit; /readyz answered "
          f"{watcher.polls - len(watcher.failed)} of {watcher.polls} polls, slowest {watcher.slowest:.2f} s")
    print(f"memory-limit: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
