# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the sidecar says, for the person who reads it.

The sidecar answers in technical English with a code in front (``http-500: the SII
answered with a server error; next retry at 2026-12-01 10:00 UTC``). The accountant reads
her own language in her own time zone: the text is rebuilt here from the code through
Odoo's translations, times are shown in the user's zone, and the code stays in parentheses
for support. A message this addon does not know is shown as it came, with a capital.
"""

import re
from datetime import datetime

from odoo import _, api, models

from .dte_sidecar_message import format_moment

#: ``<code>: <text>`` as the sidecar writes an SII error (``SiiError``'s display).
ERROR_RE = re.compile(
    r"^(?P<code>timeout|connection|unreadable|call-cap|http-\d{3}|STATUS \d+|[A-Z]{3}): (?P<text>.*)$", re.S
)
NEXT_RETRY_RE = re.compile(r";\s*next retry at (?P<at>\d{4}-\d\d-\d\d \d\d:\d\d)(?::\d\d)? UTC\s*$")
PERSON_MUST_ACT = "; the SII refuses it as it is: a person must act"
ABANDONED_RE = re.compile(r"^abandoned after (?P<count>\d+) retries: (?P<rest>.*)$", re.S)


def sentence(text, stop=True):
    """A capital first letter, and a full stop at the end unless ``stop`` is false."""
    text = (text or "").strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if not stop or text[-1] in ".!?)" else text + "."


class DteSidecarClient(models.AbstractModel):
    _inherit = "dte.sidecar.client"

    @api.model
    def _dte_code_texts(self):
        """Sentences for the codes the sidecar puts in front of an SII error."""
        return {
            "timeout": _("The SII did not answer in time"),
            "connection": _("The SII could not be reached"),
            "unreadable": _("The SII's answer could not be read"),
            "call-cap": _(
                "Not sent yet: this server's limit of calls per minute to the SII was reached; "
                "it is retried later"
            ),
            "http-5xx": _("The SII answered with a server error"),
            "http-other": _("The SII answered with an unexpected HTTP status"),
            "STATUS 0": _("Received by the SII; waiting for its verdict"),
            "STATUS 1": _("The sender is not authorised by the SII"),
            "STATUS 2": _("The SII refused the file size"),
            "STATUS 3": _("The SII received a truncated file"),
            "STATUS 5": _("Not authenticated with the SII"),
            "STATUS 6": _("The company is not authorised by the SII"),
            "STATUS 7": _("The SII found the document does not follow its schema"),
            "STATUS 8": _("The SII found an error in the signature"),
            "STATUS 9": _("The SII's system is blocked"),
            "STATUS 99": _("The SII had already received this envelope"),
            "EPR": _("Processed by the SII"),
            "RCH": _("Rejected by the SII"),
        }

    @api.model
    def _dte_code_text(self, code):
        texts = self._dte_code_texts()
        if code in texts:
            return texts[code]
        if code and code.startswith("http-"):
            return texts["http-5xx"] if code[5:6] == "5" else texts["http-other"]
        return None

    @api.model
    def _dte_local_time(self, utc_text):
        """``2026-12-01 10:00`` (UTC, as the sidecar writes it) in the user's time zone."""
        try:
            moment = datetime.strptime(utc_text[:16], "%Y-%m-%d %H:%M")
        except ValueError:
            return utc_text
        return format_moment(self.env, moment)

    @api.model
    def _dte_error_text(self, message):
        """An SII error as the sidecar wrote it (``http-500: ...; next retry at ... UTC``)
        in the user's language, with its code in parentheses."""
        message = (message or "").strip()
        if not message:
            return ""
        tail = []
        abandoned = ABANDONED_RE.match(message)
        if abandoned:
            message = abandoned.group("rest")
            tail.append(_("Abandoned after %(count)s retries.", count=abandoned.group("count")))
        next_retry = NEXT_RETRY_RE.search(message)
        if next_retry:
            message = message[: next_retry.start()]
            tail.append(_("Next retry: %(when)s.", when=self._dte_local_time(next_retry.group("at"))))
        if message.endswith(PERSON_MUST_ACT):
            message = message[: -len(PERSON_MUST_ACT)]
            tail.append(_("The SII refuses it as it is: a person must act."))
        match = ERROR_RE.match(message)
        if match:
            code, text = match.group("code"), match.group("text")
            known = self._dte_code_text(code)
            if known:
                detail = text.split(": ", 1)[1] if code.startswith("STATUS") and ": " in text else ""
                head = f"{known}: {detail}" if detail else known
            else:
                head = text
            head = f"{sentence(head).rstrip('.')} ({code})."
        else:
            head = sentence(message, stop=bool(tail))
        return " ".join([head, *tail]).strip()

    @api.model
    def _dte_document_text(self, state, code, message):
        """The message of a DTE document (``dte_document.message``) for a person."""
        message = (message or "").strip()
        if state in ("failed", "abandoned") and message:
            return self._dte_error_text(message)
        by_state = {
            "accepted": _("Accepted by the SII"),
            "accepted_with_objections": _("Accepted by the SII with objections"),
            "rejected": _("Rejected by the SII"),
        }
        if code == "EPR" and state in by_state:
            return f"{by_state[state]} ({code})."
        if code == "RCH":
            return _("Rejected by the SII: not registered after processing (%(code)s).", code=code)
        if code in ("STATUS 0", "STATUS 99") and message.startswith("received by the SII"):
            if code == "STATUS 99":
                text = _("Received by the SII (an earlier upload of this envelope had reached it)")
            else:
                text = self._dte_code_text(code)
            return f"{text} ({code})."
        if not message:
            return ""
        if ERROR_RE.match(message) or NEXT_RETRY_RE.search(message):
            return self._dte_error_text(message)
        # The SII's own words (its state query answers in Spanish): kept as they are, with
        # a capital.
        return sentence(message, stop=False)
