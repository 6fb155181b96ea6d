#!/usr/bin/env python3
"""The sidecar's job board (apalis-board) as an admin sees it, in headless Chromium.

Opens the board, answers its basic-authentication challenge as a person does in the
browser's login dialog, and checks that the page renders ("System Status" healthy), that
no request failed (HTTP status of 400 and more other than the challenge, or a network
error) and that no script error was thrown. Saves a screenshot.

Drives Chromium over the DevTools protocol with websocket-client (the package Odoo's own
browser tests use). Run with the Odoo venv's Python from scripts/test-odoo.sh:

    check-board.py --url http://127.0.0.1:18073/ --user ops --password-env DTE__ADMIN__BOARD_PASSWORD \
        --screenshot board.png

Exit status 0 when every check passed.
"""

import argparse
import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

#: Chromium as Odoo's test launcher starts it (odoo/tests/common.py), headless, as root on
#: a machine without network.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-extensions", "--disable-background-networking", "--disable-breakpad",
    "--disable-client-side-phishing-detection", "--disable-crash-reporter",
    "--disable-default-apps", "--disable-translate", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--window-size=1440,900",
    "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
]
START_SECONDS = 20
RENDER_SECONDS = 30


class Page:
    """One tab over the DevTools protocol; events are kept in arrival order."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=5, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events = []

    def send(self, method, **params):
        message_id = next(self.ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        return message_id

    def call(self, method, timeout=10, **params):
        message_id = self.send(method, **params)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.receive(deadline)
            if message and message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise TimeoutError(f"{method}: no answer in {timeout} s")

    def receive(self, deadline):
        self.ws.settimeout(max(0.05, min(1.0, deadline - time.monotonic())))
        try:
            message = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if "method" in message:
            self.events.append(message)
            self.on_event(message)
        return message

    def on_event(self, message):
        """Answered at once: requests paused by the Fetch domain."""


class BoardPage(Page):
    def __init__(self, ws_url, user, password):
        super().__init__(ws_url)
        self.user, self.password = user, password
        self.challenges = 0

    def on_event(self, message):
        method, params = message["method"], message.get("params", {})
        if method == "Fetch.requestPaused":
            self.send("Fetch.continueRequest", requestId=params["requestId"])
        elif method == "Fetch.authRequired":
            # The browser's login dialog, filled in by the admin.
            self.challenges += 1
            self.send("Fetch.continueWithAuth", requestId=params["requestId"], authChallengeResponse={
                "response": "ProvideCredentials", "username": self.user, "password": self.password,
            })


def start_chromium(chromium, profile):
    process = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    port_file = Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}")
        if port_file.exists() and port_file.read_text().strip():
            port = int(port_file.read_text().split()[0])
            return process, port
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"chromium gave no DevTools port in {START_SECONDS} s")


def page_ws_url(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
        targets = json.load(answer)
    return next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")


def check(args, password):
    profile = tempfile.mkdtemp(prefix="dte-board-chromium-")
    process = None
    try:
        process, port = start_chromium(args.chromium, profile)
        page = BoardPage(page_ws_url(port), args.user, password)
        for domain in ("Page", "Network", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.call("Fetch.enable", handleAuthRequests=True, patterns=[{"urlPattern": "*"}])
        page.call("Page.navigate", url=args.url)

        # Render: the status line shows a verdict.
        status = ""
        deadline = time.monotonic() + RENDER_SECONDS
        while time.monotonic() < deadline:
            result = page.call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''",
                               returnByValue=True)
            text = result.get("result", {}).get("value") or ""
            if "System Status" in text and ("Healthy" in text or "Unhealthy" in text):
                status = text
                if "Unhealthy" not in text:
                    break
            page.receive(time.monotonic() + 0.5)
        # Let requests the page started settle before judging them.
        settle = time.monotonic() + 2
        while time.monotonic() < settle:
            page.receive(settle)
        shot = page.call("Page.captureScreenshot", format="png")
        Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
        Path(args.screenshot).write_bytes(base64.b64decode(shot["data"]))

        problems = []
        if not status:
            problems.append(f"the board did not render a system status in {RENDER_SECONDS} s")
        elif "Unhealthy" in status:
            problems.append("the board says: System Status: Unhealthy")
        if page.challenges == 0:
            problems.append("the board let the browser in without asking for credentials")
        responses = 0
        for event in page.events:
            method, params = event["method"], event.get("params", {})
            if method == "Network.responseReceived":
                responses += 1
                response = params["response"]
                if response["status"] >= 400 and response["status"] != 401:
                    problems.append(f"HTTP {response['status']} for {response['url']}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                problems.append(f"request failed: {params.get('errorText')} ({params.get('type')})")
            elif method == "Runtime.exceptionThrown":
                problems.append(f"script error: {params['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                problems.append(f"console error: {params['entry'].get('text')}")
        print(f"board at {args.url}: {responses} responses, {page.challenges} authentication challenge(s) answered")
        verdict = re.search(r"System Status:\s*(\w+)", status)
        print(f"System Status: {verdict.group(1) if verdict else '-'}")
        print(f"screenshot: {args.screenshot}")
        for problem in problems:
            print(f"FAIL: {problem}")
        return not problems
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-env", required=True, help="environment variable holding the password")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()
    password = os.environ.get(args.password_env)
    if not password:
        print(f"{args.password_env} is not set")
        return 2
    return 0 if check(args, password) else 1


if __name__ == "__main__":
    sys.exit(main())
