# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the sidecar stored, for the person who reads it.

The sidecar stores what it found as a code of its catalogue with its parameters, beside
an English text for logs: ``message_code`` / ``message_params`` on a document,
``error_code`` / ``error_params`` on a queue entry and a kept contingency document, and
``said`` (``{"code", "params"}``) on the events of a queue entry's retry history. The
accountant reads the code's sentence (``dte_sidecar_message.py``) in her own language.
When the next retry comes, or that a person must act, is read from the document's queue
entry (its ``state``, ``next_retry_date`` and ``retry_count``), never from a text.

A row with no code (written before the sidecar stored codes, or queued by Odoo code
through ``add_failed_dte`` in the caller's own words) shows its text as it came, with a
capital. Nothing here parses a text.
"""

import json
import logging

from odoo import _, api, models

from .dte_sidecar_message import format_moment

_logger = logging.getLogger(__name__)

#: Queue states of an entry that is still open (waiting for a retry or being retried).
OPEN_QUEUE_STATES = ("pending", "retrying")


def sentence(text, stop=True):
    """A capital first letter, and a full stop at the end unless ``stop`` is false."""
    text = (text or "").strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if not stop or text[-1] in ".!?)" else text + "."


def stored_params(value):
    """The parameters of a stored code: JSON text (as the columns hold them), a dict (as
    an answer or a history event carries them), or nothing."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def sii_code_of(code, params):
    """The SII's own code in a stored code's parameters (``HTTP 500``, ``STATUS 7``,
    ``RCH``), for the column that shows it; empty when the SII gave none."""
    params = stored_params(params)
    if code == "sii.http" and params.get("status") is not None:
        return f"HTTP {params['status']}"
    if code == "sii.upload_status" and params.get("status") is not None:
        return f"STATUS {params['status']}"
    if code in ("sii.answer", "sii.verdict") and params.get("sii_code"):
        return str(params["sii_code"])
    return ""


class DteSidecarClient(models.AbstractModel):
    _inherit = "dte.sidecar.client"

    @api.model
    def _dte_stored_text(self, code, params, text=""):
        """A stored code with its parameters, as a sentence in the user's language with the
        code in parentheses; with no code, ``text`` as it came, with a capital."""
        if code:
            return self._dte_message_text(code, stored_params(params), english=text or "")
        return sentence(text, stop=False)

    @api.model
    def _dte_schedule_text(self, entry):
        """What comes next for a queue entry (``dte.failed.queue``): its next retry, a
        person who must act, or that it was abandoned; empty otherwise."""
        if not entry:
            return ""
        if entry.state in OPEN_QUEUE_STATES and entry.next_retry_date:
            return _("Next retry: %(when)s.", when=format_moment(self.env, entry.next_retry_date))
        if entry.state == "pending":
            return _("The SII refuses it as it is: a person must act.")
        if entry.state == "abandoned" and entry.retry_count:
            return _("Abandoned after %(count)s retries.", count=entry.retry_count)
        if entry.state == "abandoned":
            return _("Abandoned: it will not be retried.")
        return ""

    @api.model
    def _dte_join(self, *parts):
        """Sentences joined, each ending with a full stop (one alone is left as it is)."""
        parts = [part.strip() for part in parts if part and part.strip()]
        if len(parts) == 1:
            return parts[0]
        return " ".join(part if part[-1] in ".!?" else part + "." for part in parts)

    @api.model
    def _dte_queue_entries(self, document_ids):
        """``{document id: its latest queue entry}`` for these documents (sudo: whoever may
        see a document may see what comes next for it)."""
        document_ids = [doc_id for doc_id in document_ids if doc_id]
        if not document_ids:
            return {}
        entries = {}
        for entry in self.env["dte.failed.queue"].sudo().search(
            [("document_id", "in", document_ids)], order="id desc"
        ):
            entries.setdefault(entry.document_id.id, entry)
        return entries

    @api.model
    def _dte_document_text(self, state, code, params, text="", entry=None):
        """What a document says (its stored code, or its text when it has none), followed,
        for a failed or abandoned upload, by what comes next (from its queue ``entry``)."""
        said = self._dte_stored_text(code, params, text)
        if state in ("failed", "abandoned"):
            return self._dte_join(said, self._dte_schedule_text(entry))
        return said
