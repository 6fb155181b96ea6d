# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Transport to the dte-sidecar's Odoo-compatible ``/json/2`` face.

This module imports nothing from Odoo, so that it can be tested with plain ``unittest``
(see ``odoo_addon/tests/``). The Odoo side (``dte.sidecar.client``) turns the exceptions
raised here into translated ``UserError`` messages.

The API key travels only in the ``Authorization`` header; it is never put in a log line,
an exception message or a repr.
"""

import logging
import re
import time

import requests

_logger = logging.getLogger(__name__)

#: One number: Odoo 19's test harness crashes on a ``(connect, read)`` tuple.
DEFAULT_TIMEOUT = 30

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


class SidecarError(Exception):
    """Base class of every error of the transport."""


class SidecarConfigError(SidecarError):
    """The client is not configured (no URL, no key, bad model or method name)."""


class SidecarTimeout(SidecarError):
    """The sidecar did not answer within the timeout. The call may still have taken effect."""

    def __init__(self, url, timeout):
        super().__init__(f"no answer from {url} within {timeout} s")
        self.url = url
        self.timeout = timeout


class SidecarUnreachable(SidecarError):
    """No connection could be made to the sidecar (refused, DNS, TLS)."""

    def __init__(self, url, reason):
        super().__init__(f"cannot connect to {url}: {reason}")
        self.url = url
        self.reason = reason


class SidecarProtocolError(SidecarError):
    """The sidecar answered something that is not an Odoo-shaped reply."""

    def __init__(self, url, status, detail):
        super().__init__(f"unexpected reply from {url} (HTTP {status}): {detail}")
        self.url = url
        self.status = status
        self.detail = detail


class SidecarRemoteError(SidecarError):
    """The sidecar refused the call with an Odoo-shaped error.

    ``name`` is the dotted exception name (``odoo.exceptions.UserError``), ``message`` the
    sidecar's English rendering (for logs and support only), ``status`` the HTTP status (200
    for the JSON-RPC face). ``code`` and ``params`` are the stable code of the sidecar's
    message catalogue and its parameters (``company.issuer_rut_differs``, ``{"rut": ...}``):
    what a person reads is built from those, never from ``message``. ``retryable`` is true
    when the same call is worth making again in a moment (a database restarting).
    """

    def __init__(self, name, message, status=None, arguments=None, *, code=None, params=None,
                 retryable=False):
        super().__init__(f"{name}: {message}" + (f" ({code})" if code else ""))
        self.name = name or "odoo.exceptions.UserError"
        self.message = message or ""
        self.status = status
        self.arguments = list(arguments or [])
        self.code = code if isinstance(code, str) and code else None
        self.params = dict(params) if isinstance(params, dict) else {}
        self.retryable = retryable is True

    @property
    def short_name(self):
        """``UserError`` for ``odoo.exceptions.UserError``."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def is_access_error(self):
        return self.short_name in ("AccessDenied", "AccessError") or self.status in (401, 403)

    @property
    def is_missing(self):
        return self.short_name == "MissingError" or self.status == 404


def endpoint(base_url, model, method):
    """``http://host:8070`` + ``dte.backup`` + ``download_xml`` → the ``/json/2`` URL."""
    if not base_url or not isinstance(base_url, str):
        raise SidecarConfigError("the sidecar URL is not set")
    base_url = base_url.strip()
    if not base_url.startswith(("http://", "https://")):
        raise SidecarConfigError(f"the sidecar URL must start with http:// or https://: {base_url!r}")
    if not _NAME_RE.match(model or ""):
        raise SidecarConfigError(f"bad model name {model!r}")
    if not _NAME_RE.match(method or "") or "." in method:
        raise SidecarConfigError(f"bad method name {method!r}")
    return f"{base_url.rstrip('/')}/json/2/{model}/{method}"


def parse_error(status, body):
    """The :class:`SidecarRemoteError` described by an error ``body``, or ``None``.

    Two shapes are understood, as Odoo 19 sends them:

    * ``/json/2``: the bare serialised exception ``{"name", "message", "arguments", ...}``
      with a 4xx/5xx status;
    * JSON-RPC: ``{"jsonrpc": "2.0", "error": {"code": 0, "message": "Odoo Server Error",
      "data": {"name", "message", "arguments", ...}}}`` with status 200.

    Beside Odoo's keys the sidecar puts ``code``, ``params`` and, for a call worth
    repeating, ``retryable``; they are kept on the error as they came.
    """
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        data = error.get("data") if isinstance(error.get("data"), dict) else {}
        name = data.get("name") or "odoo.exceptions.UserError"
        message = data.get("message") or error.get("message") or ""
        return _remote_error(str(name), str(message), status, data)
    if "name" in body and "message" in body:
        return _remote_error(str(body["name"]), str(body["message"]), status, body)
    return None


def _remote_error(name, message, status, data):
    return SidecarRemoteError(
        name, message, status, data.get("arguments"),
        code=data.get("code"), params=data.get("params"), retryable=data.get("retryable"),
    )


def call(base_url, api_key, model, method, params=None, *, timeout=DEFAULT_TIMEOUT, session=None):
    """POST ``params`` as named arguments to ``/json/2/<model>/<method>`` and return the result.

    :param timeout: a single number of seconds (connect and read).
    :param session: a ``requests.Session`` or the ``requests`` module (default).
    :raises SidecarConfigError, SidecarTimeout, SidecarUnreachable, SidecarProtocolError,
        SidecarRemoteError:
    """
    url = endpoint(base_url, model, method)
    if not api_key:
        raise SidecarConfigError("the sidecar API key is not set")
    if isinstance(timeout, (tuple, list)) or not timeout or timeout <= 0:
        raise SidecarConfigError(f"the timeout must be one positive number, not {timeout!r}")
    http = session if session is not None else requests
    headers = {"Authorization": "bearer " + api_key, "Accept": "application/json"}
    started = time.monotonic()
    try:
        response = http.post(url, json=params or {}, headers=headers, timeout=timeout)
    except requests.exceptions.Timeout:
        _logger.warning("dte-sidecar %s.%s: no answer within %s s", model, method, timeout)
        raise SidecarTimeout(url, timeout) from None
    except requests.exceptions.ConnectionError as exc:
        reason = type(exc).__name__
        _logger.warning("dte-sidecar %s.%s: cannot connect to %s (%s)", model, method, url, reason)
        raise SidecarUnreachable(url, reason) from None
    except requests.exceptions.RequestException as exc:
        _logger.warning("dte-sidecar %s.%s: request failed (%s)", model, method, type(exc).__name__)
        raise SidecarProtocolError(url, None, type(exc).__name__) from None
    elapsed = time.monotonic() - started
    status = response.status_code
    try:
        body = response.json() if response.content else None
        is_json = True
    except ValueError:
        body, is_json = None, False

    if status >= 400:
        error = parse_error(status, body)
        _logger.info(
            "dte-sidecar %s.%s: HTTP %s in %.3f s (%s)",
            model, method, status, elapsed, error.name if error else "no error body",
        )
        if error is not None:
            raise error
        raise SidecarProtocolError(url, status, _snippet(response))
    if not is_json:
        raise SidecarProtocolError(url, status, "the body is not JSON: " + _snippet(response))
    if isinstance(body, dict) and "jsonrpc" in body:
        # The JSON-RPC face answered (a proxy may route /json/2 there): unwrap it.
        error = parse_error(status, body)
        if error is not None:
            _logger.info("dte-sidecar %s.%s: %s in %.3f s", model, method, error.name, elapsed)
            raise error
        body = body.get("result")
    _logger.debug("dte-sidecar %s.%s: HTTP %s in %.3f s", model, method, status, elapsed)
    return body


def _snippet(response, size=200):
    text = response.text or ""
    text = " ".join(text.split())
    return text[:size] + ("…" if len(text) > size else "")
