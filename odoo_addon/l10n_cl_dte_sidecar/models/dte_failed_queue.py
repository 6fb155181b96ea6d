# Copyright 2026 dte-sidecar authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging
from datetime import datetime

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.fields import Domain

from ..tools import vocabulary
from .dte_backup import xml_text
from .dte_sidecar_message import format_moment
from .dte_sidecar_text import sentence, sii_code_of
from .dte_sidecar_view_mixin import DTE_TYPE_SELECTION

_logger = logging.getLogger(__name__)

#: The labels of the sidecar's error types and queue states (the values come from its
#: vocabulary).
ERROR_TYPE_LABELS = {
    "timeout": "Timeout",
    "connection": "Connection",
    "unavailable": "SII unavailable",
    "validation": "Validation",
    "certificate": "Certificate",
    "unknown": "Unknown",
}
ERROR_TYPES = vocabulary.selection("error_types", ERROR_TYPE_LABELS)
QUEUE_STATE_LABELS = {
    "pending": "Pending",
    "retrying": "Retrying",
    "success": "Success",
    "abandoned": "Abandoned",
}
QUEUE_STATES = vocabulary.selection("states.queue", QUEUE_STATE_LABELS)
#: What a person reads: a pending entry with no next retry is one the SII refuses as it is
#: (a permanent refusal), which nobody retries until a person acts. ``waiting_person`` is
#: the addon's own status, not a state of the sidecar.
QUEUE_STATUSES = vocabulary.selection(
    "states.queue", QUEUE_STATE_LABELS, extras=[("waiting_person", "Waiting for a person", "pending")],
)
#: The domain of those entries.
WAITING_PERSON_DOMAIN = [("state", "=", "pending"), ("next_retry_date", "=", False)]


def summarize_result(result, env=None, texts=None):
    """A short text for a person out of what the sidecar answered to an action (in the
    user's language when ``env`` is given). ``texts`` gives, by entry id, what a failed
    entry says (read from its stored code): the answer's English is never shown."""
    texts = texts or {}
    if isinstance(result, dict):
        result = [result]
    if isinstance(result, list):
        parts = []
        for item in result:
            if isinstance(item, dict):
                if env is not None and "success" in item:
                    text = env._("Sent to the SII.") if item["success"] else texts.get(item.get("id"), "")
                else:
                    text = item.get("state") or ""
                if item.get("folio"):
                    text = f"{item['folio']}: {text}"
                if text:
                    parts.append(str(text))
        return "; ".join(parts)
    return ""


class DteFailedQueue(models.Model):
    """Uploads that failed and their retry schedule (view ``dte_failed_queue``).

    The sidecar retries on its own (1, 2, 4, 8, 16 h, then abandoned); the buttons ask it to
    retry now, abandon, or requeue an abandoned entry, each written to its audit log.
    """

    _name = "dte.failed.queue"
    _inherit = ["dte.sidecar.view.mixin"]
    _description = "DTE failed queue"
    _auto = False
    _log_access = False
    _table = "dte_failed_queue"
    _order = "failed_date desc, id desc"

    dte_type = fields.Selection(DTE_TYPE_SELECTION, string="DTE type", readonly=True)
    folio = fields.Char(readonly=True)
    rut_emisor = fields.Char(string="Issuer RUT", readonly=True)
    error_type = fields.Selection(ERROR_TYPES, string="Error type", readonly=True)
    error_message = fields.Text(string="Error", readonly=True)
    error_code = fields.Char(string="Error code", readonly=True)
    error_params = fields.Text(string="Error parameters", readonly=True)
    retry_count = fields.Integer(string="Retries", readonly=True)
    max_retries = fields.Integer(string="Maximum retries", readonly=True)
    failed_date = fields.Datetime(string="Failed on", readonly=True)
    last_retry_date = fields.Datetime(string="Last retry", readonly=True)
    next_retry_date = fields.Datetime(string="Next retry", readonly=True)
    state = fields.Selection(QUEUE_STATES, readonly=True)
    queue_status = fields.Selection(
        QUEUE_STATUSES, string="Status", compute="_compute_queue_status", search="_search_queue_status",
        help="Waiting for a person: the SII refuses the document as it is, so it is not retried "
        "on its own; correct it and requeue it, or abandon it.",
    )
    success_track_id = fields.Char(string="SII track ID", readonly=True)
    success_date = fields.Datetime(string="Succeeded on", readonly=True)
    retry_history = fields.Text(string="Retry history (technical)", readonly=True)
    retry_history_html = fields.Html(
        string="Retry history", compute="_compute_retry_history_html", sanitize=True,
    )
    error_text = fields.Text(string="Error message", compute="_compute_error_text")
    company_id = fields.Many2one("res.company", readonly=True)
    move_id = fields.Many2one("account.move", string="Invoice", readonly=True)
    document_id = fields.Many2one("dte.document", string="DTE document", readonly=True)

    def _compute_display_name(self):
        for entry in self:
            entry.display_name = f"DTE {entry.dte_type or ''} N° {entry.folio or ''}"

    @api.depends("state", "next_retry_date")
    def _compute_queue_status(self):
        for entry in self:
            waiting = entry.state == "pending" and not entry.next_retry_date
            entry.queue_status = "waiting_person" if waiting else entry.state

    def _search_queue_status(self, operator, value):
        if operator != "in":
            return NotImplemented  # Odoo 19 turns the other operators into "in" / "not in"
        domains = []
        for status in value:
            if status == "waiting_person":
                domains.append(WAITING_PERSON_DOMAIN)
            elif status == "pending":
                domains.append([("state", "=", "pending"), ("next_retry_date", "!=", False)])
            else:
                domains.append([("state", "=", status)])
        return Domain.OR(domains) if domains else Domain.FALSE

    # The specification's API ------------------------------------------------------------

    @api.model
    def add_failed_dte(self, dte_type, folio, xml_content, error_type, error_message, move_id,
                       rut_emisor=None, company_id=None):
        """Queue a signed DTE the SII did not take, for retries (1, 2, 4, 8, 16 h).

        The sidecar checks the XML (a signed DTE it can send, of this type and folio) and
        keeps the retry schedule; a document already waiting keeps its entry, which is
        returned. The entry is a ``dte.failed.queue`` record readable in this very
        transaction.

        :param str error_type: 'timeout', 'connection', 'unavailable', 'validation',
            'certificate' or 'unknown'
        :param int company_id: default: the invoice's company, else the current company
        :return: the queue entry (``dte.failed.queue``)
        """
        self._dte_check_manager()
        company = self._dte_company(company_id, move_id)
        entry_id = self._dte_client()._call(
            "dte.failed.queue", "add_failed_dte",
            dte_type=str(dte_type), folio=str(folio), xml_content=xml_text(xml_content),
            error_type=error_type, error_message=error_message, move_id=int(move_id),
            rut_emisor=rut_emisor or None, company_id=company.id,
        )
        return self.browse(entry_id)._dte_refresh()

    def retry_send(self):
        """Retry these entries now, through the sidecar. Returns True when every one
        reached the SII (``state`` is then ``'success'`` in this transaction, with its
        ``success_track_id``, and the backup the sidecar made is found by a search), False
        otherwise (the entries stay in the queue with their next retry)."""
        self._dte_check_manager()
        if not self:
            return False
        items = self._dte_retry()
        self._dte_after_change()
        return bool(items) and all(item.get("success") for item in items)

    def _dte_retry(self):
        """Asks the sidecar to retry these entries now: its answer, one item per entry.
        The sidecar acts on any id it is given: only entries this user may see go."""
        self.check_access("read")
        result = self._dte_client()._call("dte.failed.queue", "retry_send", ids=self.ids)
        return [item for item in (result if isinstance(result, list) else [result]) if isinstance(item, dict)]

    def _dte_after_change(self):
        """What the sidecar changed for these entries, visible in this transaction: the
        entries, and the backups of the documents that reached the SII (with their XML
        attached)."""
        entries = self._dte_refresh()
        succeeded = entries.filtered(lambda entry: entry.state == "success")
        if succeeded:
            backups = self.env["dte.backup"]
            for entry in succeeded:
                backups |= backups._dte_refresh_where([
                    ("company_id", "=", entry.company_id.id), ("dte_type", "=", entry.dte_type),
                    ("folio", "=", entry.folio),
                ], limit=1)
            backups._dte_attach_xml()
        return entries

    @api.depends("error_code", "error_params", "error_message", "state", "next_retry_date", "retry_count")
    @api.depends_context("lang", "tz")
    def _compute_error_text(self):
        """The stored code's sentence (an entry queued by Odoo code has none: its own
        words, as they came), then what comes next (from the entry's state)."""
        client = self.env["dte.sidecar.client"]
        for entry in self:
            said = client._dte_stored_text(entry.error_code, entry.error_params, entry.error_message)
            entry.error_text = client._dte_join(said, client._dte_schedule_text(entry))

    @api.depends("retry_history")
    @api.depends_context("lang", "tz")
    def _compute_retry_history_html(self):
        for entry in self:
            entry.retry_history_html = entry._retry_history_table()

    def _retry_history_rows(self):
        """The events of ``retry_history`` (JSON the sidecar writes) as
        ``(when, outcome, sii_code, message)``, in the user's language and time zone."""
        self.ensure_one()
        try:
            events = json.loads(self.retry_history or "[]")
        except ValueError:
            events = []
        if not isinstance(events, list):
            events = []
        client = self.env["dte.sidecar.client"]
        tz = self.env.context.get("tz") or self.env.user.tz or "America/Santiago"
        rows = []
        for event in events:
            if not isinstance(event, dict):
                continue
            when = event.get("date") or ""
            try:
                when = format_moment(self.env(context=dict(self.env.context, tz=tz)),
                                     datetime.strptime(when[:19], "%Y-%m-%d %H:%M:%S"))
            except ValueError:
                when = event.get("date") or ""  # not a time: shown as stored
            kind, retry = event.get("event"), event.get("retry")
            who = event.get("by") or ""
            # What the event said: its code (events written before codes have none: their
            # text as it came, with a capital).
            said = event.get("said") if isinstance(event.get("said"), dict) else {}
            code = sii_code_of(said.get("code"), said.get("params"))
            message = client._dte_stored_text(said.get("code"), said.get("params"), event.get("error_message") or "")
            if kind == "failed":
                outcome = _("Upload failed")
            elif kind == "retry_failed":
                outcome = _("Retry %(count)s failed", count=retry) if retry else _("Retry failed")
            elif kind == "success":
                outcome = _("Retry %(count)s succeeded", count=retry) if retry else _("Sent")
                message = _("SII track ID %(track)s.", track=event["track_id"]) if event.get("track_id") else ""
            elif kind == "settled":
                outcome = _("Closed: the SII already had it")
                message = _("SII track ID %(track)s.", track=event["track_id"]) if event.get("track_id") else ""
            elif kind == "unsendable":
                outcome = _("Cannot be sent")
            elif kind == "abandoned":
                outcome = _("Abandoned by %(who)s", who=who) if who else _("Abandoned")
                message = sentence(event.get("reason") or "", stop=False)
            elif kind == "requeued":
                outcome = _("Requeued by %(who)s", who=who) if who else _("Requeued")
            else:
                outcome = str(kind or "")
            rows.append((when, outcome, code, message))
        return rows

    def _retry_history_table(self):
        rows = self._retry_history_rows()
        if not rows:
            return Markup("<p class='text-muted'>%s</p>") % _("No retries yet.")
        body = Markup("").join(
            Markup("<tr><td class='text-nowrap'>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>") % row for row in rows
        )
        return Markup(
            "<table class='table table-sm o_dte_retry_history'><thead><tr>"
            "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (_("When"), _("Outcome"), _("SII code"), _("Message"), body)

    @api.model
    def _cron_retry_failed_dtes(self):
        """Scheduled action "DTE: Retry Failed DTEs": the sidecar retries now what is due
        (``next_retry_date`` passed) and leaves the rest; the result goes to the log, and
        to a notification when a person runs it (Run Manually)."""
        if not self._dte_client()._dte_is_configured():
            _logger.info("DTE: Retry Failed DTEs: skipped, the DTE sidecar is not configured yet (no API key)")
            return self._dte_notify(
                _("Nothing was retried: the DTE sidecar is not configured yet (no API key)."),
                kind="warning", title=_("DTE: Retry Failed DTEs"), reload=False,
            )
        report = self._dte_client()._call("dte.failed.queue", "retry_due") or {}
        counts = {key: int(report.get(key) or 0) for key in ("due", "retried", "succeeded", "failed", "abandoned")}
        _logger.info(
            "DTE: Retry Failed DTEs: %s due, %s retried: %s succeeded, %s failed, %s abandoned",
            counts["due"], counts["retried"], counts["succeeded"], counts["failed"], counts["abandoned"],
        )
        # The counts even when nothing was due: the sidecar's own schedule may have just
        # retried what this run would have found.
        message = _(
            "Due for a retry: %(due)s. Retried: %(retried)s (sent to the SII: %(succeeded)s; "
            "failed again, waiting for their next retry: %(failed)s; abandoned: %(abandoned)s).",
            **counts,
        )
        kind = "success" if not (counts["failed"] or counts["abandoned"]) else "warning"
        return self._dte_notify(message, kind=kind, title=_("DTE: Retry Failed DTEs"), reload=False)

    def _dte_queue_action(self, method, done_message):
        self._dte_check_manager()
        if not self:
            return False
        # The sidecar acts on any id it is given: only forward the entries this user may
        # see (multi-company rules).
        self.check_access("read")
        result = self._dte_client()._call("dte.failed.queue", method, ids=self.ids)
        detail = summarize_result(result, self.env)
        message = f"{done_message} {detail}".strip() if detail else done_message
        return self._dte_notify(message)

    def action_retry_now(self):
        self._dte_check_manager()
        if not self:
            return False
        items = self._dte_retry()
        failed = [item for item in items if item.get("success") is False]
        if not failed:
            detail = summarize_result(items, self.env)
            done = _("The sidecar retried the selected documents.")
            return self._dte_notify(f"{done} {detail}".strip() if detail else done)
        # A retry that did not reach the SII is a failure the user must see as one, with
        # the SII's reason (the entry's stored code, as the sidecar has it now): the
        # document is still in the queue.
        entries = {entry.id: entry for entry in self.browse([item.get("id") for item in failed])._dte_refresh()}
        reasons = "\n".join(
            f"{entries[item['id']].display_name}: {entries[item['id']].error_text or _('no reason given')}"
            if item.get("id") in entries else _("no reason given")
            for item in failed
        )
        return self._dte_notify(
            _(
                "%(failed)s of %(total)s documents could not be sent to the SII and stay in the queue.\n%(reasons)s",
                failed=len(failed), total=len(items), reasons=reasons,
            ),
            kind="danger",
            title=_("Retry failed"),
        )

    def action_abandon(self):
        return self._dte_queue_action("abandon", _("The selected documents were abandoned."))

    def action_requeue(self):
        return self._dte_queue_action("requeue", _("The selected documents were put back in the queue."))

    def action_open_move(self):
        self.ensure_one()
        return self.move_id.get_formview_action()
