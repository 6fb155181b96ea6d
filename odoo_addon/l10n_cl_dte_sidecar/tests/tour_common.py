# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the addon's tours share: users who work in Spanish, the real sidecar, and
screenshots taken when a tour asks for them.

The tours click in headless Chromium (Odoo's ``HttpCase.start_tour``) against the real
sidecar and SII simulator. The sidecar writes through its own connection, so the web
client's requests must be real, committed transactions, as in production: the registry
hands out real cursors (``registry_test_mode = False``; only its lock and signalling are
patched as test mode does) and everything a tour needs is committed before the test's own
transaction starts. What the tours do stays in the
throwaway database that ``scripts/test-odoo.sh`` makes.

A tour reads what its test hands over with ``tourData()``. A tour step
``screenshot(name)`` (static/tests/tours/dte_tour_utils.js) logs
``dte-screenshot:<name>``; the test saves the page as ``<name>.png`` under
``DTE_SCREENSHOT_DIR`` (or Odoo's screenshots folder) and lets the tour go on. A line
``dte-tour-report:<json>`` hands the test what the page saw (``self.tour_reports``).
"""

import base64
import json
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import HttpCase, new_test_user
from odoo.tests.common import ChromeBrowser, ChromeBrowserException, get_db_name
from odoo.tools import config

from .common import DteLiveCommon

_logger = logging.getLogger(__name__)

LANG = "es_CL"
TZ = "America/Santiago"
SCREENSHOT_MARK = "dte-screenshot:"
#: A tour's report to its test: ``dte-tour-report:<json>`` (dte_print.js logs what a
#: download answered); the test reads them in ``self.tour_reports``.
REPORT_MARK = "dte-tour-report:"


@contextmanager
def expected_refusals(*codes):
    """The sidecar's refusals a tour meets on purpose: Odoo logs each one the web client
    shows as a warning of ``odoo.http``; those ending with one of ``codes`` in parentheses
    (and only those) are left out of the log, which must otherwise hold no warning."""
    endings = tuple(f"({code})" for code in codes)

    class Refusals(logging.Filter):
        def filter(self, record):
            return not (record.levelno == logging.WARNING and record.getMessage().rstrip().endswith(endings))

    logger, refusals = logging.getLogger("odoo.http"), Refusals()
    logger.addFilter(refusals)
    try:
        yield
    finally:
        logger.removeFilter(refusals)


def screenshot_dir():
    folder = os.environ.get("DTE_SCREENSHOT_DIR")
    path = Path(folder) if folder else Path(config["screenshots"]) / get_db_name() / "dte"
    path.mkdir(parents=True, exist_ok=True)
    return path


class DteTourCase(DteLiveCommon, HttpCase):
    """Base of the tours: a DTE manager and an accountant, both in es_CL."""

    registry_test_mode = False
    browser_size = "1440x900"
    tour_manager_login = "dte_tour_manager"
    tour_accountant_login = "dte_tour_accountant"

    @classmethod
    def setUpClass(cls):
        if cls.sidecar_url and cls.sidecar_key:
            # Before the test's own cursor exists, so that it sees these users.
            cls._prepare_tour_users()
        super().setUpClass()
        # What test mode does besides handing out the test's cursor: the server thread
        # running the tests holds the registry lock, which the web client's requests need.
        cls.startClassPatcher(patch.object(Registry, "_lock", DummyRLock()))
        cls.startClassPatcher(patch.object(cls.registry, "setup_signaling", return_value=None))
        cls.startClassPatcher(patch.object(cls.registry, "check_signaling", return_value=cls.registry))

    @classmethod
    def _prepare_tour_users(cls):
        with cls.step() as env:
            icp = env["ir.config_parameter"].sudo()
            # Committed now, so that HttpCase finds it set and the test's cursor does not
            # hold a lock on it while the web client's requests run.
            icp.set_param("web.base.url", cls.base_url())
            icp.set_param("web.base.url.freeze", "True")
            env["res.lang"]._activate_lang(LANG)
            env["ir.module.module"]._load_module_terms(["l10n_cl_dte_sidecar"], [LANG], overwrite=True)
            company = env.ref("base.main_company")
            cls.tour_manager_uid = cls._tour_user(
                env, cls.tour_manager_login, "Marcela Rojas",
                env.ref("l10n_cl_dte_sidecar.group_dte_manager") | env.ref("account.group_account_manager")
                | env.ref("base.group_system"),
                company,
            )
            cls.tour_accountant_uid = cls._tour_user(
                env, cls.tour_accountant_login, "Juan Pérez",
                env.ref("l10n_cl_dte_sidecar.group_dte_user") | env.ref("account.group_account_invoice"),
                company,
            )

    @classmethod
    def _tour_user(cls, env, login, name, groups, company):
        user = env["res.users"].with_context(active_test=False).search([("login", "=", login)], limit=1)
        if not user:
            user = new_test_user(
                env, login=login, name=name, group_ids=groups.ids, lang=LANG, tz=TZ,
                company_id=company.id, company_ids=company.ids,
            )
        return user.id

    def _wait_remaining_requests(self, timeout=10):
        """Wait for the tour's last requests, not for the bus websockets of earlier tours:
        outside test mode Odoo does not end those, and each tour would wait 10 s for them."""
        deadline = time.monotonic() + timeout
        for thread in threading.enumerate():
            url = getattr(thread, "url", "") or ""
            if thread.name.startswith("odoo.service.http.request.") and "/websocket" not in url:
                thread.join(max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    _logger.info("request still running after the tour: %s", url)

    # Running a tour --------------------------------------------------------------------

    tour_reports = ()

    def dte_tour(self, url, tour, login, data=None, timeout=120):
        """Run ``tour`` from ``url`` as ``login``; ``data`` reaches the tour's steps through
        ``tourData()``. It is handed to every page of the tab over the DevTools protocol,
        not in the tour's start code, which Odoo logs (it may hold the API key)."""
        self.tour_reports = []
        with self._tour_browser(data or {}):
            self.start_tour(url, tour, login=login, timeout=timeout)

    @contextmanager
    def _tour_browser(self, data):
        handle_console_of = ChromeBrowser._handle_console
        navigate_of = ChromeBrowser.navigate_to
        folder = screenshot_dir()

        def handle_console(browser, type, args=None, stackTrace=None, **kw):  # noqa: A002
            first = args[0] if args else {}
            text = first.get("value") if isinstance(first, dict) else None
            if type == "log" and isinstance(text, str) and text.startswith(SCREENSHOT_MARK):
                name = re.sub(r"[^\w-]", "_", text[len(SCREENSHOT_MARK):]) or "page"
                self._save_screenshot(browser, folder / f"{name}.png", name)
                return None
            if type == "log" and isinstance(text, str) and text.startswith(REPORT_MARK):
                self.tour_reports.append(json.loads(text[len(REPORT_MARK):]))
                return None
            return handle_console_of(browser, type, args=args, stackTrace=stackTrace, **kw)

        def navigate_to(browser, url, wait_stop=False):
            # The web client shows times in the browser's time zone: the accountant's.
            browser._websocket_request("Emulation.setTimezoneOverride", params={"timezoneId": TZ})
            browser._websocket_request("Page.addScriptToEvaluateOnNewDocument", params={
                "source": f"window.dteTourData = {json.dumps(data)};",
            })
            return navigate_of(browser, url, wait_stop=wait_stop)

        with patch.object(ChromeBrowser, "_handle_console", handle_console), \
                patch.object(ChromeBrowser, "navigate_to", navigate_to):
            yield

    @staticmethod
    def _save_screenshot(browser, path, name):
        def saved(future):
            try:
                data = future.result(timeout=0)["data"]
                path.write_bytes(base64.b64decode(data))
            except Exception as exc:  # noqa: BLE001
                if not browser._result.done():
                    browser._result.set_exception(ChromeBrowserException(f"screenshot {name}: {exc}"))
                return
            _logger.info("screenshot: %s", path)
            browser._websocket_send("Runtime.evaluate", params={
                "expression": f"document.body.dataset.dteShot = {json.dumps(name)}",
            })

        future = browser._websocket_send("Page.captureScreenshot", with_future=True)
        future.add_done_callback(saved)

    # Helpers -------------------------------------------------------------------------

    @staticmethod
    def move_url(move_id):
        return f"/odoo/action-account.action_move_out_invoice_type/{move_id}"
